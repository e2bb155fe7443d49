"""Training on an unlabelled collection: a data set without user summaries.

``experiments.summarize`` writes the videos it has processed as an eccv16 file without
``user_summary`` (``DIR/collection.h5``). ``experiments.run --config.data.file=that`` then
trains CSUM on the whole collection, with everything a run has (validated config,
checkpoints, resume, metrics.jsonl, several devices), but nothing to evaluate: there are
no folds, no validation and no test metrics. The run writes each video's scores
(``scores.json``) and can score new videos with ``experiments.summarize --model=WORKDIR``.

A collection larger than memory trains with ``data.stream=true``: ``data.file`` is then a
path or a glob of h5 shards (``DIR/*.h5``), read a batch at a time through
``csum.data.sources.H5Source`` (features only; labels, if any, are not read). Memory is
bounded by the prefetched batches and the model, whatever the collection's size: the
in-batch negatives (``loss.negatives=batch``) or one embedding per video (``all``) are
the contrastive negatives, and the scores are written as they are computed. What needs
every video in memory is refused before anything is read (``check_stream``).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Callable
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from csum.data.errors import DataError
from csum.data.records import Video
from csum.data.sources import H5Source, VideoSource, as_source
from csum.model import contrast
from csum.model.summarizer import build_summarizer
from csum.summarization.report import run_title
from csum.training import distributed
from csum.training.predict import iter_scores
from csum.training.spec import TrainSpec
from csum.training.trainer import train_fold


def is_unlabelled(videos: dict[str, Video]) -> bool:
    """Whether no video has user summaries (``load_eccv16(optional_labels=True)`` has
    already refused a file that mixes labelled and unlabelled videos)."""
    return all(v.user_summary is None for v in videos.values())


def check_unlabelled(config, path) -> None:
    """What an unlabelled collection cannot do, as one line each: a labelled regime,
    other data sets, chosen folds."""
    if config.train.regime != "csum":
        regime = config.train.regime
        raise DataError(
            path,
            f"no user summaries: train.regime={regime} needs labels; an "
            "unlabelled collection trains with train.regime=csum",
        )
    if config.data.setting != "canonical":
        raise DataError(
            path,
            f"no user summaries: data.setting={config.data.setting} mixes "
            "in labelled data sets; an unlabelled collection trains alone",
        )
    if config.data.folds or config.data.splits:
        raise DataError(
            path,
            "no user summaries: an unlabelled collection has no folds "
            "(unset data.folds and data.splits)",
        )


def check_stream(config) -> None:
    """What ``data.stream=true`` cannot do, as one line each (ValueError): it trains CSUM on
    an unlabelled collection from ``data.file``, without anything that needs every video
    in memory."""
    if not config.data.stream:
        return
    rules = [
        (bool(config.data.file), "data.file (a path or a glob of h5 shards, e.g. 'DIR/*.h5')"),
        (
            config.train.regime == "csum",
            f"train.regime=csum, not {config.train.regime!r} (a streamed collection has no labels)",
        ),
        (
            config.loss.negatives in ("batch", "all"),
            f"loss.negatives batch or all, not "
            f"{config.loss.negatives!r} (the window bank holds every clip of every video)",
        ),
        (
            not config.backbone.contrast_input,
            "backbone.contrast_input=false (the contrast index holds every window of every video)",
        ),
        (
            config.data.setting == "canonical",
            f"data.setting=canonical, not {config.data.setting!r}",
        ),
        (
            not (config.data.folds or config.data.splits),
            "no data.folds or data.splits (a collection has no folds)",
        ),
    ]
    for ok, need in rules:
        if not ok:
            raise ValueError(f"data.stream=true needs {need}")


def stream_source(config) -> H5Source:
    """The collection of ``data.file`` (a path or a glob of h5 shards), checked for shape
    and read a video at a time in the run's storage dtype."""

    pattern = str(Path(config.data.file).expanduser())
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise DataError(
            pattern,
            "no file matches (data.file with data.stream=true: an h5 file or a glob of shards)",
        )
    return H5Source(
        paths,
        tuple(config.data.feature_keys),
        config.data.min_steps,
        np.dtype(jnp.dtype(config.compute_dtype)),
    )


def write_scores(path: Path, scores) -> None:
    """Writes ``{key: [scores]}`` JSON from an iterator of ``(key, scores)``, one video at a
    time (a collection's scores need not fit in memory)."""
    with open(path, "w") as f:
        f.write("{")
        for i, (key, s) in enumerate(scores):
            f.write(
                ("" if i == 0 else ", ")
                + json.dumps(key)
                + ": "
                + json.dumps([float(x) for x in s])
            )
        f.write("}\n")


def train_collection(
    config,
    spec: TrainSpec,
    videos: dict[str, Video] | VideoSource,
    in_dims,
    buckets,
    workdir: Path,
    step_fn,
    on_epoch_end: Callable[[int, int], None] | None = None,
):
    """Trains one model on every video and writes ``scores.json`` and ``results.json``.

    Args:
        config: the run's config (``train.regime=csum``).
        spec: its training settings.
        videos: the collection (``is_unlabelled``), base sources only: in memory, or a
            ``VideoSource`` read a batch at a time (``data.stream``).
        in_dims: the model's source sizes (with the contrast source when
            ``backbone.contrast_input``).
        buckets: padded lengths.
        workdir: the run's folder; the model is its fold 0 (``csum.load(workdir)``).
        step_fn: the jitted training step.
        on_epoch_end: progress callback.

    Returns:
        results.json's dict: ``{"config", "unlabelled": True, "n_videos", "final_loss",
        "scores"}``.
    """
    train = as_source(list(videos.values()) if isinstance(videos, dict) else videos)
    model = build_summarizer(spec.model, in_dims, seed=spec.seed)
    primary = distributed.is_primary()
    if config.backbone.contrast_input:  # in memory only (check_stream)
        folders = [workdir / "fold_0"] if primary else []
        (attached,) = contrast.attach(
            model, train.videos, (), config.eval.batch_size, buckets, config.loss.tau, folders
        )
        train = as_source(attached)
    records = train_fold(spec, model, train, 0, workdir, step_fn, buckets, on_epoch_end)
    results = {
        "config": run_title(config),
        "unlabelled": True,
        "n_videos": len(train),
        "final_loss": records[-1]["loss"] if records else None,
        "scores": "scores.json",
    }
    if primary:
        # the backbone's scores as they are (experiments.summarize ranks them for the knapsack)
        scores = iter_scores(model.backbone, train, config.eval.batch_size, buckets)
        write_scores(workdir / "scores.json", scores)
        (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def format_unlabelled(results: dict, workdir) -> str:
    """What an unlabelled run printed: what it trained and how to use it."""
    loss = results["final_loss"]
    loss = "already trained" if loss is None else f"final loss {loss:.4f}"
    return (
        f"{results['config']}: CSUM trained on {results['n_videos']} unlabelled videos "
        f"({loss}); no labels, so no metrics. Scores: "
        f"{Path(workdir) / results['scores']}; summaries of these or other videos: "
        f"python -m experiments.summarize PATH... --model={workdir}"
    )
