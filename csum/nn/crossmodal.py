"""Cross-modal attention patterns of the multimodal papers, as pure masked functions.

* ``alignment_mask``: A2Summ's alignment-guided self-attention mask (``000_…``, section
  3.3): video steps and sentences are one sequence; within a modality every valid pair
  attends, across modalities only a sentence and the steps of its time window;
  ``alignment_rows`` builds any block of its rows (for chunked attention).
* ``window_sums``: each step's sum of the vectors of the sentences whose window holds it
  (A2Summ's segment embedding of a frame), in memory linear in the video's length.
* ``context_query_attention``: the context-query attention of the moment localization
  module of ``003_…`` (supplement, Eqs. 1-2), after QANet / VSLNet: the text-to-video
  attention ``T = RowNorm(C) ColNorm(C)^T V`` and the video-to-text attention
  ``T_bar = RowNorm(C) Q`` from the similarity ``C`` of video steps and query tokens.

No Flax, no config: the layers that use them hold the parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def alignment_mask(spans: jax.Array, video_mask: jax.Array, text_mask: jax.Array) -> jax.Array:
    """A2Summ's attention mask over the concatenated sequence [video steps; sentences].

    ``A[i, j] = 1`` when i and j are valid and of the same modality, or when one is
    sentence k and the other a step in k's window ``[start_k, end_k)`` (the paper's
    ``A[N + k, t_s:t_e] = 1``, and its transpose: the step attends to its sentence).

    Args:
        spans: [..., M, 2] int each sentence's step window, start inclusive, end exclusive.
        video_mask: [..., N] bool valid steps.
        text_mask: [..., M] bool valid sentences.

    Returns:
        [..., N + M, N + M] bool.
    """
    n, m = video_mask.shape[-1], text_mask.shape[-1]
    return alignment_rows(spans, video_mask, text_mask, jnp.arange(n + m))


def alignment_rows(
    spans: jax.Array, video_mask: jax.Array, text_mask: jax.Array, rows: jax.Array
) -> jax.Array:
    """Rows ``rows`` of ``alignment_mask``, built without the rest of it: memory
    O(len(rows) x (N + M)), so attention over hours of video can take the mask block by
    block (``csum.nn.attention``'s ``rows``).

    Args:
        spans, video_mask, text_mask: as ``alignment_mask``.
        rows: [R] int row indices; a row past N + M - 1 is all False.

    Returns:
        [..., R, N + M] bool.
    """
    n, m = video_mask.shape[-1], text_mask.shape[-1]
    steps = jnp.arange(n)
    t = jnp.clip(rows, 0, n - 1)  # the row's step, for video rows
    k = jnp.clip(rows - n, 0, m - 1)  # the row's sentence, for text rows
    lead = video_mask.shape[:-1] + (rows.shape[0],)

    def widen(keys, size):  # [..., size] -> [..., R, size]
        return jnp.broadcast_to(keys[..., None, :], lead + (size,))

    # a video row: every valid step, and the sentences whose window holds the step
    holds = (t[:, None] >= spans[..., None, :, 0]) & (t[:, None] < spans[..., None, :, 1])
    video_row = jnp.concatenate([widen(video_mask, n), holds & text_mask[..., None, :]], -1)
    video_row = video_row & video_mask[..., t][..., None]
    # a text row: the steps of the sentence's window, and every valid sentence
    span = jnp.take(spans, k, axis=-2)  # [..., R, 2]
    inside = (steps >= span[..., 0:1]) & (steps < span[..., 1:2])  # [..., R, N]
    text_row = jnp.concatenate([inside & video_mask[..., None, :], widen(text_mask, m)], -1)
    text_row = text_row & text_mask[..., k][..., None]
    is_video, real = rows < n, rows < n + m
    return jnp.where(is_video[:, None], video_row, text_row & real[:, None])


def window_sums(entries: jax.Array, spans: jax.Array, live: jax.Array, T: int) -> jax.Array:
    """Each step's sum of the entries of the sentences whose window holds it.

    A running sum over the steps of +entry at each window's start and -entry at its end,
    so memory is O(T + M) (a [B, M, T] membership matrix would be quadratic in the
    length of a transcribed video).

    Args:
        entries: [M, C] one vector per sentence.
        spans: [B, M, 2] int windows (start inclusive, end exclusive).
        live: [B, M] bool sentences that count (real, not padding).
        T: steps.

    Returns:
        [B, T, C] float32.
    """
    B, M = live.shape
    start, end = jnp.clip(spans[..., 0], 0, T), jnp.clip(spans[..., 1], 0, T)
    live = live & (start < end)
    add = jnp.where(live[..., None], entries.astype(jnp.float32)[None], 0.0)  # [B, M, C]
    rows = jnp.arange(B)[:, None]
    delta = jnp.zeros((B, T + 1, entries.shape[-1]), jnp.float32)
    delta = delta.at[rows, start].add(add).at[rows, end].add(-add)
    return jnp.cumsum(delta, axis=1)[:, :T]


def context_query_attention(
    video: jax.Array,
    query: jax.Array,
    video_mask: jax.Array,
    query_mask: jax.Array,
    scale: float | None = None,
):
    """The two attentions of ``003_…``'s context-query attention layer.

    ``C = V Q^T * scale`` (the paper: "the matrix product"; the scale, 1/sqrt(d) by
    default, is our choice, as in scaled dot-product attention), ``RowNorm`` a softmax
    over the valid query tokens of each step, ``ColNorm`` a softmax over the valid steps
    of each token.

    Args:
        video: [B, N, d] step features V (projected to the query's width).
        query: [B, M, d] token features Q.
        video_mask: [B, N] bool; query_mask: [B, M] bool.
        scale: similarity scale (default 1/sqrt(d)).

    Returns:
        ``(T, T_bar)``, each [B, N, d]: Eq. 1 ``RowNorm(C) ColNorm(C)^T V`` and Eq. 2
        ``RowNorm(C) Q``; 0 at padded steps. The layer's output is
        ``FFN([V, T_bar, V * T, V * T_bar])`` (Eq. 3).
    """
    scale = video.shape[-1] ** -0.5 if scale is None else scale
    sim = jnp.einsum("bnd,bmd->bnm", video.astype(jnp.float32), query.astype(jnp.float32))
    sim = sim * scale
    both = video_mask[:, :, None] & query_mask[:, None, :]
    row = masked_softmax(sim, both, axis=2)  # over tokens
    col = masked_softmax(sim, both, axis=1)  # over steps
    t = jnp.einsum("bnm,bkm,bkd->bnd", row, col, video.astype(jnp.float32))
    t_bar = jnp.einsum("bnm,bmd->bnd", row, query.astype(jnp.float32))
    return t, t_bar


def masked_softmax(x: jax.Array, mask: jax.Array, axis: int) -> jax.Array:
    """Softmax of ``x`` over ``axis`` among ``mask``; 0 where masked and on empty lines."""
    x = jnp.where(mask, x, -jnp.inf)
    top = jnp.max(x, axis=axis, keepdims=True)
    e = jnp.where(mask, jnp.exp(x - jnp.where(jnp.isfinite(top), top, 0.0)), 0.0)
    total = jnp.sum(e, axis=axis, keepdims=True)
    return e / jnp.where(total > 0, total, 1.0)
