"""Banks of extra negatives built from every training video (``loss.negatives``).

``video_bank``: each video's mean window embedding (``negatives="all"``); ``window_bank``:
every clip's window InfoNCE against every training video's windows
(``negatives="windows"``, ``csum.objectives.contrastive.window_nce``). Both are computed on the host
from the model's projector between training steps, never inside one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np
from flax import nnx

from csum.data.batching import eval_batches
from csum.data.records import Video
from csum.data.sources import as_source, eval_stream
from csum.model.summarizer import Summarizer
from csum.nn.windows import clip_mean, safe_normalize
from csum.objectives.contrastive import window_nce


@nnx.jit
def _embed(model: Summarizer, features, mask) -> jax.Array:
    return model.projector(model.contrast_features(features), mask)


def video_bank(
    model: Summarizer, videos, batch_size: int, buckets: Sequence[int], quantum: int = 64
):
    """Every video's mean window embedding u (Eq. 4) under the current projector.

    With ``loss.negatives="all"`` these are the extra negatives of every step: each
    summary is contrasted with every training video, not only the 7 others of its batch,
    so content that the video shares with any other video (stock footage, a category's
    backdrop) is what the summary learns to leave out. With the projector frozen (the
    default) they are exact constants; with a trained projector they are refreshed every
    epoch (a memory bank, up to one epoch stale).

    Args:
        model: the Summarizer (its projector and contrast features are used).
        videos: the training videos, a list or a ``csum.data.sources.VideoSource`` (read a
            batch at a time: the bank is N rows of E floats, whatever the videos' length).
        batch_size: videos per embedding batch.
        buckets: padded lengths.
        quantum: the bank's rows are padded to a multiple of this.

    Returns:
        (embeddings [N', E] float32, present [N'] bool), N' = N rounded up to ``quantum``
        so that the train step compiles once for any fold size; row i is video i.
    """
    source = as_source(videos)
    rows = -(-len(source) // quantum) * quantum
    out, present = None, np.zeros((rows,), bool)
    for positions, _, batch in eval_stream(source, batch_size, buckets):
        u = np.asarray(_embed(model, batch.features, batch.mask))
        if out is None:
            out = np.zeros((rows, u.shape[-1]), np.float32)
        out[positions] = u[: len(positions)]
        present[positions] = True
    return jax.numpy.asarray(out), jax.numpy.asarray(present)


@nnx.jit
def _embed_windows(model: Summarizer, features, mask):
    z, valid = model.projector.embed_windows(model.contrast_features(features), mask)
    return safe_normalize(z.astype(jax.numpy.float32)), valid


@functools.partial(jax.jit, static_argnames=("n", "T", "chunk"))
def _clip_nce(windows, valid, index, bank, owner, tau, n: int, T: int, chunk: int = 256):
    # One video at a time, and its windows ``chunk`` at a time (each window's loss is its
    # own): the logits of a batch, [B, W, M], or of one long video, [W, M], would not fit
    # (a pair of 65,536-step videos: 34 GB); a chunk's are [chunk, M].
    def one(args):
        z, v, i = args

        def per_window(w):
            return window_nce(w[None, None], i[None], bank, owner, tau)[0, 0]

        return clip_mean(jax.lax.map(per_window, z, batch_size=chunk), v, n, T)

    return jax.lax.map(one, (windows, valid, index))


def similarity_spread(windows: np.ndarray, sample: int = 2048) -> float:
    """Standard deviation of the cosine similarity between two different windows.

    The window InfoNCE's temperature is ``loss.tau`` times this spread, so that its kernel
    has the same resolution whatever the features: the similarities of one data set's
    windows may span 0.2-0.9 and another's 0.95-0.99 (a bandwidth in units of the data's
    scale, as the median heuristic sets a kernel density's). Estimated on at most
    ``sample`` windows taken evenly from the bank (deterministic).

    Args:
        windows: [M, E] unit-norm window embeddings.
        sample: how many windows to compare pairwise.

    Returns:
        The spread (> 0; 1 when there are fewer than two windows or all are equal).
    """
    pick = windows[
        np.unique(np.linspace(0, len(windows) - 1, min(sample, len(windows))).astype(int))
    ]
    sims = (pick.astype(np.float64) @ pick.T.astype(np.float64))[~np.eye(len(pick), dtype=bool)]
    spread = float(sims.std()) if sims.size else 0.0
    return spread if spread > 1e-6 else 1.0


def window_bank(
    model: Summarizer,
    videos: Sequence[Video],
    batch_size: int,
    buckets: Sequence[int],
    tau: float,
    quantum: int = 4096,
):
    """Every training clip's window InfoNCE against every training video's windows.

    What ``loss.negatives="windows"`` trains on (``csum.objectives.contrastive.csum_loss``): each
    window of each training video is embedded by the projector, and its loss
    ``csum.objectives.contrastive.window_nce`` against the bank of all those windows (its own
    video's positive, every other video's negative) is spread to the clips it covers
    (``csum.nn.windows.clip_mean``). With the projector frozen (the default) these are constants,
    computed once per fold; with a trained projector they are recomputed every epoch (no gradient
    reaches it through them).

    Args:
        model: the Summarizer (its projector and contrast features are used).
        videos: the fold's training videos; row i of the result is ``videos[i]``.
        batch_size: videos per embedding batch.
        buckets: padded lengths.
        tau: temperature in units of the spread of window similarities
            (``similarity_spread``).
        quantum: the bank's rows are padded to a multiple of this (one compile per fold
            size class).

    Returns:
        [N, T_max] float32 per-clip loss (0 past each video's end), T_max the bucket of
        the longest video.
    """
    index, embedded = window_index(model, videos, batch_size, buckets, tau, quantum)
    return jax.numpy.asarray(clip_losses(model, index, embedded, len(videos)))


class WindowIndex(NamedTuple):
    """Every training window's embedding, the bank that ``window_nce`` contrasts with.

    Attributes:
        bank: [M, E] float32 unit-norm window embeddings, M padded to a multiple of the
            quantum (padding rows: zeros, owner -1).
        owner: [M] int32, the training video of each row (its position in the list).
        tau: the absolute temperature, ``loss.tau`` times the windows' similarity spread.
    """

    bank: np.ndarray
    owner: np.ndarray
    tau: float


def window_index(
    model: Summarizer,
    videos: Sequence[Video],
    batch_size: int,
    buckets: Sequence[int],
    tau: float,
    quantum: int = 4096,
):
    """Embeds every window of ``videos`` under the projector (eval batches).

    Args:
        model: the Summarizer (its projector and contrast features are used).
        videos: the videos; the index's row owners are their positions in this list.
        batch_size: videos per embedding batch.
        buckets: padded lengths.
        tau: temperature in units of the windows' similarity spread.
        quantum: the bank's rows are padded to a multiple of this.

    Returns:
        ``(WindowIndex, embedded)``, ``embedded`` a list of ``(positions, batch, z, valid)``
        per eval batch (``z`` [B, W, E], ``valid`` [B, W]), for ``clip_losses``.
    """
    position = {id(v): i for i, v in enumerate(videos)}
    embedded = []
    for group, batch in eval_batches(videos, batch_size, buckets):
        z, valid = jax.device_get(_embed_windows(model, batch.features, batch.mask))
        embedded.append(([position[id(v)] for v in group], batch, z, valid))
    parts, owners = [], []
    for positions, _, z, valid in embedded:
        for b, p in enumerate(positions):
            parts.append(z[b][valid[b]])
            owners.append(np.full(int(valid[b].sum()), p, np.int32))
    bank, owner = np.concatenate(parts), np.concatenate(owners)
    tau = tau * similarity_spread(bank)
    rows = -(-len(bank) // quantum) * quantum
    bank = np.pad(bank, ((0, rows - len(bank)), (0, 0)))
    owner = np.pad(owner, (0, rows - len(owner)), constant_values=-1)
    return WindowIndex(bank.astype(np.float32), owner.astype(np.int32), float(tau)), embedded


def clip_losses(model: Summarizer, index: WindowIndex, embedded, n_videos: int) -> np.ndarray:
    """[n_videos, T_max] float32 per-clip window InfoNCE (0 past each video's end) of the
    ``embedded`` videos (``window_index``) against ``index``, whose rows they own."""
    bank, owner = jax.numpy.asarray(index.bank), jax.numpy.asarray(index.owner)
    width = max(batch.mask.shape[1] for _, batch, _, _ in embedded)
    out = np.zeros((n_videos, width), np.float32)
    n = model.projector.window
    for positions, batch, z, valid in embedded:
        slots = np.array(positions + [-1] * (len(z) - len(positions)), np.int32)
        T = batch.mask.shape[1]
        losses = np.asarray(_clip_nce(z, valid, slots, bank, owner, index.tau, n, T))
        for b, p in enumerate(positions):
            steps = int(batch.length[b])
            out[p, :steps] = losses[b, :steps]
    return out
