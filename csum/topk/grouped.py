"""Weighted sums of equal-size groups of feature rows, with a scatter-free custom VJP.

The kernel behind successive halving's single pass over the features. Pure jax.numpy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_UNROLL = 16
"""Group members summed per step of the forward loop (one fused gather-multiply-add each)."""

_BLOCK = 2048
"""(group, member) entries per block of the backward's weight gradient."""


@jax.custom_vjp
def grouped_sum(x, index, inverse, w):
    """out[j] = sum_g w[j, g] * x[index[j, g]]: weighted sums of equal-size groups of rows.

    Forward: a loop over the group axis, ``_UNROLL`` members per step, each step written as
    ``out + w[:, g, None] * x[index[:, g]]`` so that XLA fuses the row gather into the
    multiply-add. The rows stream through once and no [T, D] or [k, G, D] temporary exists:
    on XLA:CPU a fresh buffer costs its page faults (about 55 ms for [65,536, 1024]
    float32), more than the arithmetic. The fused loop runs at about 1.5x the read floor,
    a gather followed by a contraction at 6x (``benchmarks/topk_speed.py``).

    Backward: d w[j, g] = <x[index[j, g]], g[j]> is a reduction over D, which XLA:CPU will
    not fuse with a gather, so it runs over blocks of ``_BLOCK`` entries whose gathered rows
    (8 MiB) stay in cache. d x is built in the rows' own order from the inverse
    permutation, one pass straight into the output buffer. No scatter is emitted (XLA:CPU
    scatters row by row).

    Args:
        x: [T, D] rows.
        index: [k, G] int rows; each row < T appears once, the rest is clamped padding
            whose weight is 0.
        inverse: [T] int, the flat position of row t in ``index``.
        w: [k, G] float weights.

    Returns:
        [k, D] in the dtype of ``w`` (float32 or wider: the accumulation type).
    """
    k, G = index.shape
    u = min(_UNROLL, G)

    def members(b, out):
        idx = jax.lax.dynamic_slice_in_dim(index, b * u, u, axis=1)
        wb = jax.lax.dynamic_slice_in_dim(w, b * u, u, axis=1)
        for j in range(u):
            out = out + wb[:, j, None] * x[idx[:, j]].astype(w.dtype)
        return out

    out = jnp.zeros((k, x.shape[1]), w.dtype)
    return members(0, out) if u == G else jax.lax.fori_loop(0, G // u, members, out)


def _grouped_sum_fwd(x, index, inverse, w):
    return grouped_sum(x, index, inverse, w), (x, index, inverse, w)


def _weight_grad(x, index, g):
    """[k, G] <x[index[j, m]], g[j]>, over [kb, gb] blocks of (group, member) entries."""
    k, G = index.shape
    gb = min(G, _BLOCK)
    kb = min(k, max(1, _BLOCK // G))
    nk, ng = -(-k // kb), G // gb
    index = jnp.pad(index, ((0, nk * kb - k), (0, 0)))
    g = jnp.pad(g, ((0, nk * kb - k), (0, 0)))

    def block(b):
        row, col = (b // ng) * kb, (b % ng) * gb
        idx = jax.lax.dynamic_slice(index, (row, col), (kb, gb))
        g_b = jax.lax.dynamic_slice_in_dim(g, row, kb)
        # A contraction, not a product reduced over D (several times slower on XLA:CPU).
        return jnp.einsum("kgd,kd->kg", x[idx].astype(g.dtype), g_b)

    out = jax.lax.map(block, jnp.arange(nk * ng))  # [nk * ng, kb, gb]
    return out.reshape(nk, ng, kb, gb).transpose(0, 2, 1, 3).reshape(nk * kb, G)[:k]


def _grouped_sum_bwd(res, g):
    x, index, inverse, w = res
    G = w.shape[1]
    # Row t sits at flat position inverse[t] = (slot, member): its gradient is w * g[slot].
    row_w = w.reshape(-1)[inverse][:, None]
    g_x = (row_w * g[inverse // G]).astype(x.dtype)  # one pass, into the output buffer
    return g_x, None, None, _weight_grad(x, index, g.astype(w.dtype))


grouped_sum.defvjp(_grouped_sum_fwd, _grouped_sum_bwd)


def inverse_rows(order, T: int):
    """[T] position of each original row t < T in the permutation ``order``."""
    m = order.shape[0]
    return jnp.zeros((m,), jnp.int32).at[order].set(jnp.arange(m, dtype=jnp.int32))[:T]
