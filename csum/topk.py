"""Differentiable top-k selection of clips (SPEC section 2). Pure jax.numpy, no Flax.

Every operator shares one contract so that a config can pick one by name::

    select(x, scores, k, *, mask=None, **hyper) -> TopK(features, scores, positions)

    x:      [..., T, D] clip features.
    scores: [..., T] clip scores.
    mask:   [..., T] bool, False marks padding, which is never selected.
    k:      static int, the number of outputs.

Outputs are ``[..., k, D]``, ``[..., k]`` and ``[..., k]`` (a soft time index), in temporal
order. When a video has fewer than ``k`` valid clips, the outputs that hold only padding
come last, with score ``PAD_SCORE`` and zero features (``valid_outputs`` finds them).

Operators: ``successive_halving`` (the default, CSUM's Eq. 6 relaxation inside the
tournament of Pietruszka et al., AAAI 2021) and ``hard`` (exact top-k, for ablations and
inference). ``get(name)`` returns one from the registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from csum.registry import Registry

PAD_SCORE = -1e9
"""Score given to padding and masked clips: loses every comparison, and exp(alpha * PAD_SCORE)
underflows to exactly 0, so padding receives exactly zero weight in any pair it joins."""

DEFAULT_ALPHA = 20.0
"""Sharpness of the pairwise softmax, chosen by ``benchmarks/alpha_sweep.py`` (CSUM-MSVA on a
validation draw of the synthetic data, alphas 5/20/50/200): alpha = 20 gave the best
Spearman rho at both tau = 0.1 and tau = 0.5 and the best or second-best F1 (README,
"Choice of alpha"). Scores are sigmoids in (0, 1); alpha = 20 splits a pair 73/27 at a
score gap of 0.05, so clips near the selection boundary keep useful gradients."""

_MAX_GAP = 60.0

OPERATORS: Registry[Callable[..., TopK]] = Registry("top-k operator")


class TopK(NamedTuple):
    """Output of a top-k operator, in temporal order.

    Attributes:
        features: [..., k, D] selected (soft) features.
        scores: [..., k] their (soft) scores; ``PAD_SCORE`` for padding-only outputs.
        positions: [..., k] float soft time index of each output.
    """

    features: jax.Array
    scores: jax.Array
    positions: jax.Array


def get(name: str) -> Callable[..., TopK]:
    """Returns the top-k operator registered under ``name``."""
    return OPERATORS.get(name)


def valid_outputs(topk: TopK) -> jax.Array:
    """[..., k] bool: True where an output holds at least one valid clip."""
    return topk.scores > PAD_SCORE / 2


def budget_mask(scores: jax.Array, budget: jax.Array) -> jax.Array:
    """Keeps each video's ``budget`` highest-scored outputs.

    A padded batch selects a static ``k_max``; each video's own budget
    ``k_b = ceil(ratio * T_b)`` is realised by dropping its ``k_max - k_b`` lowest-scored
    outputs (SPEC section 2). Padding-only outputs score ``PAD_SCORE``, so they go first.

    Args:
        scores: [..., k] output scores.
        budget: [...] int number of outputs to keep per video.

    Returns:
        [..., k] bool mask of kept outputs.
    """
    order = jnp.argsort(-scores, axis=-1, stable=True)
    rank = jnp.argsort(order, axis=-1)
    return (rank < budget[..., None]) & (scores > PAD_SCORE / 2)


def _vmap_leading(fn: Callable[..., TopK]) -> Callable[..., TopK]:
    """Lifts a single-video operator (x [T, D], scores [T], mask [T]) to any leading dims."""

    def wrapped(x, scores, k, *, mask=None, **hyper):
        if mask is None:
            mask = jnp.ones(scores.shape, bool)
        lead = scores.shape[:-1]
        T, D = x.shape[-2:]
        flat = jax.vmap(lambda xi, si, mi: fn(xi, si, mi, k, **hyper))(
            x.reshape(-1, T, D), scores.reshape(-1, T), mask.reshape(-1, T)
        )
        return TopK(
            flat.features.reshape(*lead, k, D),
            flat.scores.reshape(*lead, k),
            flat.positions.reshape(*lead, k),
        )

    wrapped.__doc__ = fn.__doc__
    wrapped.__name__ = fn.__name__
    return wrapped


def _temporal_order(features, scores, positions) -> TopK:
    """Sorts k outputs by position, padding-only outputs last.

    The permutation is piecewise constant in the inputs: no gradient flows through it.
    """
    invalid = scores <= PAD_SCORE / 2
    key = jnp.where(invalid, jnp.inf, positions)
    order = jnp.argsort(key, stable=True)
    return TopK(features[order], scores[order], positions[order])


def halving_depth(T: int, k: int) -> int:
    """Number of halving rounds, ``ceil(log2(T / k))`` (0 when k >= T)."""
    if k < 1:
        raise ValueError(f"top-k needs k >= 1, got k={k}")
    return max(0, math.ceil(math.log2(T / k)))


@OPERATORS.register("successive_halving")
@_vmap_leading
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
    slot = jnp.arange(m)
    weight = jnp.ones((m,), s.dtype)
    for r in range(d):
        c = m >> r
        order = jnp.argsort(-s, stable=True)
        best, worst = order[: c // 2], order[::-1][: c // 2]
        pair_s = jnp.stack([s[best], s[worst]], axis=-1)
        # softmax over two items == sigmoid of the scaled difference. Clipping at +-60 is
        # exact in float32 (sigmoid(60) rounds to 1) and keeps the huge padding gaps
        # (alpha * 1e9) out of exp, whose fused form under jit returned NaN gradients.
        gap = jnp.clip(alpha * (pair_s[:, 0] - pair_s[:, 1]), -_MAX_GAP, _MAX_GAP)
        w_best = jax.nn.sigmoid(gap)
        pair_w = jnp.stack([w_best, 1 - w_best], axis=-1)
        rank = jnp.zeros((c,), jnp.int32).at[order].set(jnp.arange(c, dtype=jnp.int32))
        new_index = jnp.minimum(rank, c - 1 - rank)
        item_w = jnp.zeros((c,), s.dtype).at[best].set(pair_w[:, 0]).at[worst].set(pair_w[:, 1])
        weight = weight * item_w[slot]
        slot = new_index[slot]
        s = jnp.sum(pair_w * pair_s, axis=-1)
    w = weight[:T] * mask
    # Accumulate in at least float32 even when the features are stored in bfloat16.
    x = jnp.where(mask[:, None], x, 0).astype(jnp.promote_types(x.dtype, jnp.float32))
    features = jax.ops.segment_sum(w[:, None].astype(x.dtype) * x, slot[:T], num_segments=k)
    # Padding beyond T sits at positions T, T+1, ...; it only matters for padding-only outputs.
    positions = jax.ops.segment_sum(weight * jnp.arange(m, dtype=s.dtype), slot, num_segments=k)
    return _temporal_order(features, s, positions)


@OPERATORS.register("hard")
@_vmap_leading
def hard(x, scores, mask, k: int, gradient: str = "straight_through") -> TopK:
    """Exact top-k (ties broken by the lower index), for ablations and inference.

    Args:
        x: [T, D] features.
        scores: [T] scores.
        mask: [T] bool validity.
        k: static number of outputs; when k > T the extra outputs are padding-only.
        gradient: ``"straight_through"`` passes d(feature_i)/d(s_i) = x_i for each selected
            clip (the identity estimator of the 0/1 indicator); ``"none"`` stops it.

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    if gradient not in ("straight_through", "none"):
        raise ValueError(
            f"hard top-k gradient must be 'straight_through' or 'none', not {gradient!r}"
        )
    T = scores.shape[0]
    s = jnp.where(mask, scores, PAD_SCORE)
    if k > T:
        s = jnp.concatenate([s, jnp.full((k - T,), PAD_SCORE, s.dtype)])
        x = jnp.concatenate([x, jnp.zeros((k - T, x.shape[1]), x.dtype)])
        mask = jnp.concatenate([mask, jnp.zeros((k - T,), bool)])
    top_s, idx = jax.lax.top_k(s, k)
    chosen = mask[idx]
    indicator = jnp.ones_like(top_s)
    if gradient == "straight_through":
        indicator = indicator + top_s - jax.lax.stop_gradient(top_s)
    picked = x[idx].astype(jnp.promote_types(x.dtype, jnp.float32))
    features = jnp.where(chosen[:, None], picked * indicator[:, None].astype(picked.dtype), 0)
    out_s = jnp.where(chosen, top_s, PAD_SCORE)
    return _temporal_order(features, out_s, idx.astype(s.dtype))
