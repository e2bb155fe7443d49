"""Training one fold: jitted steps over padded batches, sparse checkpoints, JSONL metrics."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from csum.data.records import Video
from csum.data.sources import MemorySource, VideoSource, as_source, stream_batches
from csum.model.banks import video_bank, window_bank
from csum.model.summarizer import Summarizer, set_contrast_stats
from csum.training import distributed, parallel, rundir
from csum.training.checkpoint import Checkpointer
from csum.training.optim import make_optimizer_for
from csum.training.spec import TrainSpec
from csum.training.step import step_key


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says where and why."""


def negatives_bank(spec: TrainSpec, model: Summarizer, videos, buckets):
    """The bank of extra negatives that ``loss.negatives`` asks for (None for "batch"):
    ``window_bank`` or ``video_bank`` over ``videos`` (a list, or a ``VideoSource``: the
    window bank is every clip of every video, so it needs the videos in memory), computed
    in eval mode."""
    if spec.regime != "csum" or spec.negatives == "batch":
        return None
    model.eval()  # the projector has no dropout; eval mode for any that would
    if spec.negatives == "windows":
        if not isinstance(videos, MemorySource | list | tuple):
            raise ValueError(
                "loss.negatives=windows needs the videos in memory "
                "(data.stream=true trains with batch or all)"
            )
        videos = videos.videos if isinstance(videos, MemorySource) else videos
        bank = window_bank(model, videos, spec.eval_batch_size, buckets, spec.loss.loss["tau"])
    else:
        bank = video_bank(model, videos, spec.eval_batch_size, buckets)
    model.train()
    return bank


def train_fold(
    spec: TrainSpec,
    model: Summarizer,
    videos: Sequence[Video] | VideoSource,
    fold: int,
    workdir: Path,
    step_fn: Callable,
    buckets: Sequence[int],
    on_epoch_end: Callable[[int, int], None] | None = None,
    validate: Callable[[Summarizer], dict] | None = None,
) -> list[dict]:
    """Trains ``model`` on ``videos`` for ``spec.epochs`` epochs, resuming if possible.

    Data order comes from ``(seed, fold, epoch)`` and dropout keys from ``(seed, fold,
    step)``, and parameters plus optimizer state are checkpointed after every
    ``spec.checkpoint_every`` epochs (and the last), so an interrupted run that is
    restarted redoes the epochs since and ends with exactly the parameters of an
    uninterrupted one. No epoch is selected by any test metric: the last epoch is the result.

    Args:
        spec: the run's settings.
        model: a freshly built Summarizer (overwritten by the checkpoint when resuming).
        videos: training videos: a list, or a ``csum.data.sources.VideoSource`` read a batch
            at a time (a collection larger than memory, ``data.stream``).
        fold: fold index (for keys, paths and logs).
        workdir: the run's work directory.
        step_fn: from ``make_train_step``.
        buckets: padded lengths.
        on_epoch_end: called as ``on_epoch_end(fold, epoch)`` after each saved epoch.
        validate: ``validate(model) -> dict`` of metrics on held-out training videos (never
            the test fold), added to each epoch's record every ``train.val_every`` epochs
            and at the last one.

    Returns:
        The per-epoch metric records of this fold (also appended to metrics.jsonl).
    """
    source = as_source(videos)
    if model.normalize != "none":  # statistics of this fold's training videos
        set_contrast_stats(model, source)
    optimizer = make_optimizer_for(spec.optimizer, model)
    ckpt = Checkpointer(rundir.checkpoints(workdir, fold))
    start = ckpt.restore(model, optimizer)
    primary = distributed.is_primary()  # files are written by one process
    if primary:
        rundir.drop_stale_metrics(workdir, fold, start)
    steps_per_epoch = math.ceil(len(source) / spec.batch_size)
    mesh, rows, place = None, None, None
    devices = parallel.resolve_devices(spec.devices, spec.batch_size)
    if devices > 1:  # data parallel: batches split along B, state replicated
        mesh = parallel.make_mesh(devices)
        parallel.replicate_state(model, optimizer, mesh=mesh)
        rows = parallel.local_rows(mesh, spec.batch_size)
        place = functools.partial(parallel.shard_rows, mesh=mesh, batch_size=spec.batch_size)
    records, bank, bound = [], None, None
    bar = tqdm(
        range(start, spec.epochs),
        desc=f"fold {fold}",
        unit="epoch",
        initial=start,
        total=spec.epochs,
        leave=False,
        disable=not spec.progress,
    )
    try:
        for epoch in bar:
            tic = time.perf_counter()
            rng = np.random.default_rng([spec.seed, fold, epoch])
            if (
                spec.regime == "csum"
                and spec.negatives != "batch"
                and (bank is None or spec.optimizer.projector_trainable)
            ):
                if bound is not None:
                    bound.sync()
                local = model if mesh is None else parallel.local_copy(model)
                bank = negatives_bank(spec, local, source, buckets)
                if mesh is not None:
                    bank = parallel.replicate(bank, mesh)
            losses = []
            # Batches are collated a step ahead in a thread; with several processes each
            # collates (and, from a lazy source, reads) only the rows its devices hold.
            batches = stream_batches(source, spec.batch_size, buckets, rng, rows=rows, place=place)
            # The state is split once and written back only where the model is read
            # (bank, validation, checkpoint): a sync costs as much as a small step.
            if bound is None:
                bound = step_fn.bind(model, optimizer)
            for i, batch in enumerate(batches):
                key = step_key(spec.seed, fold, epoch * steps_per_epoch + i)
                losses.append(bound(batch, bank, key))
            losses = np.asarray(jax.device_get(losses), np.float64)
            if not np.isfinite(losses).all():
                bad = int(np.flatnonzero(~np.isfinite(losses))[0])
                raise TrainingError(
                    f"fold {fold} epoch {epoch} step {bad}: loss is {losses[bad]}; lower "
                    f"train.lr (now {spec.optimizer.lr}) or raise loss.tau "
                    f"(now {spec.loss.loss['tau']})"
                )
            record = {
                "fold": fold,
                "epoch": epoch,
                "loss": float(losses.mean()),
                "seconds": time.perf_counter() - tic,
                "steps": len(losses),
            }
            last = epoch + 1 == spec.epochs
            saved = (epoch + 1) % spec.checkpoint_every == 0 or last
            validating = validate is not None and ((epoch + 1) % spec.val_every == 0 or last)
            if saved or validating:
                bound.sync()
            if validating:
                record.update(validate(model if mesh is None else parallel.local_copy(model)))
            # Epochs of a few steps (a handful of labelled videos) would spend their time
            # saving; an interrupted run redoes the epochs after its last checkpoint, and
            # since every batch and key is a function of (seed, fold, epoch, step), it
            # redoes them exactly.
            if saved:
                ckpt.save(epoch + 1, model, optimizer)
            if primary:
                rundir.append_metrics(workdir, record)
            records.append(record)
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            if saved and on_epoch_end is not None:
                ckpt.wait()  # the callback may stop the run: let it see a landed checkpoint
                on_epoch_end(fold, epoch)
    finally:
        ckpt.close()
    if mesh is not None:  # evaluation runs per process on whole videos
        parallel.localize(model, optimizer)
    return records
