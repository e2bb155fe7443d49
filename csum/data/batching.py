"""Padding videos into fixed-shape batches over a few length buckets.

jit compiles once per input shape, so compiling per video length is the classic JAX
performance bug. Every batch here has ``batch_size`` slots (unused ones flagged invalid) and
a time length drawn from a short geometric list of buckets: the number of compiled shapes
is at most the number of buckets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from csum.data.records import Video
from csum.data.streams import collate_named


class Batch(NamedTuple):
    """A padded batch of videos (a pytree of arrays).

    Attributes:
        features: one [B, T, D_s] float array per source (the videos' storage dtype),
            zero at padding.
        mask: [B, T] bool, True at real steps (valid steps come first).
        length: [B] int32 number of real steps (0 for an empty slot).
        valid: [B] bool, False for slots that hold no video.
        target: [B, T] float32 min-max-normalised gtscore (the supervised regime's
            regression target); 0 at padding and for videos without gtscore.
        keyframes: [B, T] bool ground-truth keyframes (dppLSTM's DPP term).
        index: [B] int32 position of each slot's video in the list it was batched from
            (training: the fold's training videos), -1 for empty slots; it lets a loss
            exclude a batch's own videos from a bank of all videos' embeddings.
        streams: named inputs beside the visual sources, ``{name: [B, L, ...]}`` with
            ``{name}_mask`` (``csum.data.streams``); empty for video-only data.
        targets: named labels (``csum.data.streams``); empty for video-only data.
    """

    features: tuple[np.ndarray, ...]
    mask: np.ndarray
    length: np.ndarray
    valid: np.ndarray
    target: np.ndarray
    keyframes: np.ndarray
    index: np.ndarray
    streams: dict = {}  # noqa: RUF012  (never mutated: collate builds a new dict)
    targets: dict = {}  # noqa: RUF012


def default_buckets(max_len: int, quantum: int = 64, growth: float = 1.125) -> list[int]:
    """Geometric bucket lengths (multiples of ``quantum``) up to at least ``max_len``.

    Padding waste is bounded by the growth factor (12.5 % by default) while the number of
    buckets grows only logarithmically with the longest video.
    """
    buckets = [quantum]
    while buckets[-1] < max_len:
        buckets.append(
            max(buckets[-1] + quantum, quantum * math.ceil(buckets[-1] * growth / quantum))
        )
    return buckets


def bucket_for(length: int, buckets: Sequence[int]) -> int:
    """Smallest bucket that holds ``length`` steps (the last bucket's multiple beyond it)."""
    for b in buckets:
        if length <= b:
            return b
    return buckets[-1] * math.ceil(length / buckets[-1])


def collate(
    videos: Sequence[Video],
    batch_size: int,
    buckets: Sequence[int],
    index: Sequence[int] | None = None,
    steps: int | None = None,
) -> Batch:
    """Pads up to ``batch_size`` videos to the bucket of the longest one.

    Args:
        videos: 1..batch_size videos with the same feature sizes.
        batch_size: number of slots B.
        buckets: allowed time lengths.
        index: each video's position in the list it comes from (default: -1, unknown).
        steps: the padded length T, when the batch is one process's rows of a larger batch
            (whose longest video sets the bucket); default: the bucket of these videos.

    Returns:
        A ``Batch``; slots beyond ``len(videos)`` are empty and invalid.
    """
    if not 0 < len(videos) <= batch_size:
        raise ValueError(f"collate needs 1..{batch_size} videos, got {len(videos)}")
    T = bucket_for(max(v.n_steps for v in videos), buckets)
    if steps is not None:
        if steps < T:
            raise ValueError(f"collate: steps={steps} is shorter than the bucket {T}")
        T = steps
    # Padded features keep the storage dtype of the videos (float32, or bfloat16 when the
    # run stores them in its compute dtype: see ``csum.data.records.cast_features``).
    feats = [np.zeros((batch_size, T, x.shape[-1]), x.dtype) for x in videos[0].features]
    mask = np.zeros((batch_size, T), bool)
    length = np.zeros((batch_size,), np.int32)
    target = np.zeros((batch_size, T), np.float32)
    keyframes = np.zeros((batch_size, T), bool)
    for b, v in enumerate(videos):
        for s, x in enumerate(v.features):
            feats[s][b, : v.n_steps] = x
        mask[b, : v.n_steps] = True
        length[b] = v.n_steps
        if v.labels is not None:
            target[b, : v.n_steps], keyframes[b, : v.n_steps] = v.labels
    valid = length > 0
    slots = np.full((batch_size,), -1, np.int32)
    if index is not None:
        slots[: len(videos)] = index
    streams = collate_named([v.streams for v in videos], batch_size, T)
    targets = collate_named([v.targets for v in videos], batch_size, T)
    return Batch(tuple(feats), mask, length, valid, target, keyframes, slots, streams, targets)


def plan_epoch(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, jitter: float = 0.1
) -> list[np.ndarray]:
    """One epoch's batches as index arrays: sorted by ``length * exp(U(-jitter, jitter))``,
    cut into ``batch_size`` groups, groups in random order. Used by ``train_batches`` and,
    for collections read lazily, ``csum.data.sources``."""
    lengths = np.asarray(lengths, np.float64)
    order = np.argsort(lengths * np.exp(rng.uniform(-jitter, jitter, len(lengths))), kind="stable")
    chunks = [order[s : s + batch_size] for s in range(0, len(lengths), batch_size)]
    return [chunks[c] for c in rng.permutation(len(chunks))]


def train_batches(
    videos: Sequence[Video],
    batch_size: int,
    buckets: Sequence[int],
    rng: np.random.Generator,
    jitter: float = 0.1,
) -> list[Batch]:
    """One epoch of batches of similar length, in random order (every video once).

    Videos are sorted by ``length * exp(U(-jitter, jitter))`` and cut into batches, whose
    order is then shuffled. Grouping by length keeps padding low (attention cost grows with
    the square of the padded length: random batches of TVSum-like videos padded every video
    to ~1.6x its length), while the jitter changes each batch's members from epoch to epoch
    so that every video meets varied negatives in the contrastive loss.

    Args:
        videos: training videos.
        batch_size: slots per batch (the last batch may be partial; its empty slots are
            flagged invalid).
        buckets: allowed padded lengths.
        rng: the epoch's generator (data order is a pure function of it).
        jitter: log-scale noise on the sort key; 0 sorts strictly by length.

    Returns:
        The epoch's batches.
    """
    plan = plan_epoch(np.array([v.n_steps for v in videos]), batch_size, rng, jitter)
    return [collate([videos[i] for i in chunk], batch_size, buckets, index=chunk) for chunk in plan]


def eval_order(lengths, batch_size: int) -> list[np.ndarray]:
    """The inference order: video positions sorted by length (stably, so that ties keep
    their order), ``batch_size`` at a time, to waste little padding.

    Args:
        lengths: [N] each video's number of steps.
        batch_size: videos per group.

    Returns:
        Groups of positions, [<= batch_size] int each.
    """
    order = np.argsort(np.asarray(lengths, np.int64), kind="stable")
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def eval_batches(
    videos: Sequence[Video], batch_size: int, buckets: Sequence[int]
) -> list[tuple[list[Video], Batch]]:
    """Batches for inference in ``eval_order`` (``csum.data.sources.eval_stream`` reads
    the same batches from a collection a group at a time)."""
    groups = [[videos[i] for i in g] for g in eval_order([v.n_steps for v in videos], batch_size)]
    return [(g, collate(g, batch_size, buckets)) for g in groups]
