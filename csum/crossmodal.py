"""Cross-modal attention patterns of the multimodal papers, as pure masked functions.

* ``alignment_mask``: A2Summ's alignment-guided self-attention mask (``000_…``, section
  3.3): video steps and sentences are one sequence; within a modality every valid pair
  attends, across modalities only a sentence and the steps of its time window.
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
    n = video_mask.shape[-1]
    steps = jnp.arange(n)
    inside = (steps >= spans[..., :, 0:1]) & (steps < spans[..., :, 1:2])  # [..., M, N]
    cross = inside & text_mask[..., :, None] & video_mask[..., None, :]
    vv = video_mask[..., :, None] & video_mask[..., None, :]
    tt = text_mask[..., :, None] & text_mask[..., None, :]
    top = jnp.concatenate([vv, jnp.swapaxes(cross, -1, -2)], axis=-1)
    bottom = jnp.concatenate([cross, tt], axis=-1)
    return jnp.concatenate([top, bottom], axis=-2)


def context_query_attention(video: jax.Array, query: jax.Array, video_mask: jax.Array,
                            query_mask: jax.Array, scale: float | None = None):  # fmt: skip
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
