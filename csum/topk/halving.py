"""Successive-halving soft top-k (Pietruszka et al., AAAI 2021; CSUM Eq. 6). Pure jax.numpy."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from csum.topk.argsort import stable_argsort
from csum.topk.budget import ratio_fraction
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
def successive_halving(
    x, scores, mask, k: int, alpha: float = DEFAULT_ALPHA, budget=None, max_depth=None
) -> TopK:
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
        budget: optional traced int, this video's own number of outputs (clipped to
            [0, min(k, n valid)]). The tournament then has the video's own depth
            ``ceil(log2(n / budget))`` over its ``n`` valid clips, exactly as if it ran
            alone with ``k = budget`` (``_budget_tournament``); outputs beyond the budget are
            padding.
        max_depth: optional static bound on every video's depth with ``budget`` (the
            rounds run; default ``ceil(log2 T)``, enough for any budget >= 1). Budgets
            ``ceil(ratio * n)`` need at most ``depth_bound(ratio)`` rounds; a smaller
            bound than a video needs leaves it more than its budget's outputs unmerged.

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    if budget is not None:
        return _budget_tournament(x, scores, mask, k, alpha, budget, max_depth)
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
        order = stable_argsort(-s)
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


def _pair_weight(alpha, s_best, s_worst):
    """softmax over two items == sigmoid of the scaled difference.

    Clipping at +-60 is exact in float32 (sigmoid(60) rounds to 1) and keeps the huge
    padding gaps (alpha * 1e9) out of exp, whose fused form under jit returned NaN gradients.
    """
    return jax.nn.sigmoid(jnp.clip(alpha * (s_best - s_worst), -_MAX_GAP, _MAX_GAP))


def depth_bound(ratio: float) -> int:
    """Rounds that any budget ``ceil(ratio * n)`` needs: the least d with 2^d >= 1 / ratio.

    ``k_b >= ratio * n`` gives ``n / k_b <= q / p`` for ratio = p / q, so the video's depth
    ``ceil(log2(n / k_b))`` is at most that d (integers only).
    """
    frac = ratio_fraction(ratio)
    d = 0
    while (frac.numerator << d) < frac.denominator:
        d += 1
    return d


def _budget_tournament(x, scores, mask, k: int, alpha: float, budget, max_depth=None) -> TopK:
    """Successive halving with a traced per-video budget (one video; vmapped by the caller).

    The video alone, with its ``n`` valid clips and ``k_b = budget``, would be padded to
    ``m = k_b 2^d`` items, ``d = ceil(log2(n / k_b))`` (d is the least integer with
    ``k_b 2^d >= n``, computed in integers), and run ``d`` rounds over ``c = m / 2^r`` items.
    Here the same rounds run inside the static [T] array: the valid clips first (their
    own order), the ``m - n`` padding items of round 0 virtual (pairing a clip with one
    gives it weight exactly 1), and every round beyond a video's own depth an identity.
    The static number of rounds is ``max_depth`` (default ``ceil(log2 T)``, enough for any
    budget >= 1); a round costs one sort of T scores. Each clip tracks the item that holds
    it (``owner``) and its accumulated weight, so features and positions are one segment
    sum at the end: O(T log^2 T + T D) time, O(T D) memory.
    """
    T = scores.shape[0]
    n = jnp.sum(mask).astype(jnp.int32)
    kb = jnp.clip(jnp.asarray(budget, jnp.int32), 0, jnp.minimum(k, n))
    rounds = halving_depth(T, 1) if max_depth is None else min(int(max_depth), halving_depth(T, 1))
    depth = sum(((kb << r) < n).astype(jnp.int32) for r in range(rounds))
    m = kb << depth
    # Items: the valid clips first, in time order; clip t is held by item owner[t].
    compact = stable_argsort(~mask)
    s = jnp.where(mask, scores, PAD_SCORE)[compact]
    owner = inverse_rows(compact, T)
    weight = mask.astype(s.dtype)
    i = jnp.arange(T, dtype=jnp.int32)
    for r in range(rounds):
        c = m >> r
        half = c // 2
        real = jnp.where(r == 0, n, c)  # items that are clips (round 0 pads virtually)
        order = stable_argsort(-s)
        rank = inverse_rows(order, T)
        worst_rank = c - 1 - i
        paired = (i < half) & (worst_rank < real)
        s_best = s[order]
        s_worst = jnp.where(paired, s[order[jnp.clip(worst_rank, 0, T - 1)]], PAD_SCORE)
        w = _pair_weight(alpha, s_best, s_worst)
        merged = jnp.where(i < half, w * s_best + (1 - w) * s_worst, PAD_SCORE)
        # Item p goes to slot rank (the better of its pair) or c - 1 - rank (the worse).
        best = rank < half
        worse = ~best & (rank < real)
        partner = jnp.clip(c - 1 - rank, 0, T - 1)
        new = jnp.where(best, rank, jnp.where(worse, partner, 0))
        mult = jnp.where(best, w[jnp.clip(rank, 0, T - 1)], jnp.where(worse, 1 - w[partner], 0))
        active = r < depth
        weight = jnp.where(active, weight * mult[owner], weight)
        owner = jnp.where(active, new[owner], owner)
        s = jnp.where(active, merged, s)
    acc = jnp.promote_types(x.dtype, jnp.float32)  # accumulate in >= float32 (bf16 inputs)
    slot = jnp.where(mask, owner, k)  # out of range: dropped by the segment sum
    features = jax.ops.segment_sum(weight[:, None].astype(acc) * x.astype(acc), slot, k)
    positions = jax.ops.segment_sum(weight * i.astype(s.dtype), slot, k)
    j = jnp.arange(k)
    inside = j < kb
    if k > T:
        s = jnp.concatenate([s, jnp.full((k - T,), PAD_SCORE, s.dtype)])
    out_s = jnp.where(inside, s[:k], PAD_SCORE)
    positions = jnp.where(inside, positions, T + j.astype(s.dtype))
    return temporal_order(jnp.where(inside[:, None], features, 0), out_s, positions)
