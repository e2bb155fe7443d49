"""Runs of several phases (pre-training, then fine-tuning), one phase folder each.

The task drivers (summaries, highlights, transcripts, queries) share this: each phase is the
run's config with another ``train.regime`` and ``train`` settings, turned into a
``csum.training.spec.TrainSpec`` once; its folder gets the phase's resolved ``config.json``
and ``model.json`` (``csum.training.rundir``), so that ``csum.load(folder)`` returns the
phase's model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from csum.data.batching import default_buckets
from csum.data.records import Video
from csum.model.summarizer import Summarizer, build_summarizer
from csum.training import rundir
from csum.training.spec import TrainSpec
from csum.training.step import make_train_step
from csum.training.trainer import train_fold


def phase_config(config, regime: str, workdir: Path, settings: Mapping | None = None):
    """The config of one phase: a copy of ``config`` with ``train.regime = regime``,
    ``workdir``, and ``settings`` (``epochs``, ``lr``, ``weight_decay``, ``batch_size``
    and/or ``optimizer``) over ``train``'s. ``config`` itself is not changed."""
    c = config.copy_and_resolve_references()
    with c.unlocked():
        c.train.regime = regime
        c.workdir = str(workdir)
        for key, value in dict(settings or {}).items():
            c.train[key] = value
    return c


def resolved(config) -> dict:
    """The config as plain JSON data (what ``config.json`` holds)."""
    return json.loads(config.to_json_best_effort())


def train_phase(
    config,
    regime: str,
    videos: Sequence[Video],
    workdir: Path,
    model: Summarizer | None = None,
    settings: Mapping | None = None,
) -> Summarizer:
    """Trains (or resumes) one phase on ``videos``; returns the model, which a run of
    several phases hands to the next.

    Args:
        config: the run's config.
        regime: the phase's loss (``csum.objectives.LOSSES``).
        videos: training videos.
        workdir: the phase folder (its checkpoints, metrics and configs).
        model: the model to go on training (default: a fresh one).
        settings: the phase's ``train`` settings (``phase_config``).
    """
    c = phase_config(config, regime, workdir, settings)
    spec = TrainSpec.from_config(c)
    rundir.write_config(workdir, resolved(c), replace=True)
    rundir.write_model(workdir, videos[0].dims, spec.model, spec.optimizer, spec.seed)
    buckets = default_buckets(
        max(v.n_steps for v in videos), spec.bucket_quantum, spec.bucket_growth
    )
    if model is None:
        model = build_summarizer(spec.model, videos[0].dims, seed=spec.seed)
    train_fold(spec, model, videos, 0, workdir, make_train_step(spec), buckets)
    return model
