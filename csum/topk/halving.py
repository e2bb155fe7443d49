"""Successive-halving soft top-k (Pietruszka et al., AAAI 2021; CSUM Eq. 6). Pure jax.numpy."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from csum.topk.contract import OPERATORS, PAD_SCORE, TopK, temporal_order, vmap_leading
from csum.topk.grouped import grouped_sum, inverse_rows

DEFAULT_ALPHA = 20.0
"""Sharpness of the pairwise softmax, chosen by ``benchmarks/alpha_sweep.py`` (CSUM-MSVA on a
validation draw of the synthetic data, alphas 5/20/50/200): alpha = 20 gave the best
Spearman rho at both tau = 0.1 and tau = 0.5 and the best or second-best F1 (README,
"Choice of alpha"). Scores are sigmoids in (0, 1); alpha = 20 splits a pair 73/27 at a
score gap of 0.05, so clips near the selection boundary keep useful gradients."""


_MAX_GAP = 60.0


def halving_depth(T: int, k: int) -> int:
    """Number of halving rounds, ``ceil(log2(T / k))`` (0 when k >= T)."""
    if k < 1:
        raise ValueError(f"top-k needs k >= 1, got k={k}")
    return max(0, math.ceil(math.log2(T / k)))


@OPERATORS.register("successive_halving")
@vmap_leading
def successive_halving(x, scores, mask, k: int, alpha: float = DEFAULT_ALPHA) -> TopK:
    """Successive-halving soft top-k (Pietruszka et al. 2021; CSUM Eq. 6 per comparison).

    The T items are padded to ``m = k * 2**d`` with ``d = ceil(log2(T / k))`` (padding
    scores ``PAD_SCORE``), then ``d`` rounds each sort the surviving items by score, pair the
    i-th best with the i-th worst and merge each pair with weights
    ``w = softmax(alpha * [s_a, s_b])`` (Eq. 6 over two items): new score ``w . s``, new
    feature ``w . x``, new position ``w . pos``. Exactly ``k`` items remain.

    Every merged quantity is linear in the originals, so the tournament runs on the scores
    alone while tracking, for each original clip, which surviving item holds it (``slot``)
    and with what accumulated weight; the features are combined once at the end by a
    segment sum. Time O(T log T) (one sort per round) plus one O(T D) pass over ``x``;
    memory O(T D); no T x T or T x k intermediate.

    softmax(alpha * s) is shift invariant, unlike the ``base ** s`` of the original public
    code, so the sharpness does not depend on the absolute score level.

    Args:
        x: [T, D] features (leading batch dims are handled by a vmap wrapper).
        scores: [T] scores.
        mask: [T] bool validity.
        k: static number of outputs.
        alpha: inverse width of each pairwise softmax.

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    T = scores.shape[0]
    d = halving_depth(T, k)
    m = k * 2**d
    s = jnp.where(mask, scores, PAD_SCORE)
    s = jnp.concatenate([s, jnp.full((m - T,), PAD_SCORE, s.dtype)])
    # members[i]: the original items that surviving item i holds; weights[i]: with what
    # accumulated weight. Each round merges pair i (the i-th best with the i-th worst) into
    # item i, so the groups stay equal-sized: [m / 2**r, 2**r] after round r.
    members = jnp.arange(m, dtype=jnp.int32)[:, None]
    weights = jnp.ones((m, 1), s.dtype)
    for r in range(d):
        c = m >> r
        order = jnp.argsort(-s, stable=True)
        best, worst = order[: c // 2], order[::-1][: c // 2]
        s_best, s_worst = s[best], s[worst]
        # softmax over two items == sigmoid of the scaled difference. Clipping at +-60 is
        # exact in float32 (sigmoid(60) rounds to 1) and keeps the huge padding gaps
        # (alpha * 1e9) out of exp, whose fused form under jit returned NaN gradients.
        w_best = jax.nn.sigmoid(jnp.clip(alpha * (s_best - s_worst), -_MAX_GAP, _MAX_GAP))
        members = jnp.concatenate([members[best], members[worst]], axis=1)
        weights = jnp.concatenate(
            [w_best[:, None] * weights[best], (1 - w_best)[:, None] * weights[worst]], axis=1
        )
        s = w_best * s_best + (1 - w_best) * s_worst
    # The features are combined once, from the [k, 2**d] groups: a row gather and a
    # weighted sum, with no scatter (XLA:CPU scatters row by row).
    acc = jnp.promote_types(x.dtype, jnp.float32)  # accumulate in >= float32 (bf16 inputs)
    real = members < T
    valid = real & mask[jnp.minimum(members, T - 1)]
    index = jnp.minimum(members, T - 1)
    inverse = inverse_rows(members.reshape(-1), T)
    features = grouped_sum(x, index, inverse, jnp.where(valid, weights, 0).astype(acc))
    # Padding beyond T sits at positions T, T+1, ...; it only matters for padding-only outputs.
    positions = jnp.sum(weights * members.astype(s.dtype), axis=1)
    return temporal_order(features, s, positions)
