"""The contract every top-k operator shares: outputs, padding, registry, batching.

See ``csum.topk`` for the contract itself. Pure jax.numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from csum.registry import Registry

PAD_SCORE = -1e9
"""Score given to padding and masked clips: loses every comparison, and exp(alpha * PAD_SCORE)
underflows to exactly 0, so padding receives exactly zero weight in any pair it joins."""


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


OPERATORS: Registry[Callable[..., TopK]] = Registry("top-k operator")
"""Every operator, by name (``get``)."""


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


def vmap_leading(fn: Callable[..., TopK] | None = None, *, sequential: bool = False):
    """Lifts a single-video operator (x [T, D], scores [T], mask [T]) to any leading dims.

    Args:
        fn: the single-video operator (the decorator may also be called with options only).
        sequential: run the videos one after another (``jax.lax.map``) instead of batching
            them with ``jax.vmap``. For an operator whose kernel loops with dynamic slices
            (Sinkhorn's slot layout), vmap turns each slice at a per-video offset into a
            scatter, and the batch runs 1.3 to 3.8x slower than the same videos in turn
            (``benchmarks/topk_speed.py``, B = 8).
    """
    if fn is None:
        return lambda f: vmap_leading(f, sequential=sequential)

    def over_videos(f, *args):
        if sequential:
            return jax.lax.map(lambda a: f(*a), args)
        return jax.vmap(f)(*args)

    def wrapped(x, scores, k, *, mask=None, key=None, **hyper):
        if mask is None:
            mask = jnp.ones(scores.shape, bool)
        lead = scores.shape[:-1]
        T, D = x.shape[-2:]
        args = [x.reshape(-1, T, D), scores.reshape(-1, T), mask.reshape(-1, T)]
        if key is None:
            flat = over_videos(lambda xi, si, mi: fn(xi, si, mi, k, **hyper), *args)
        else:  # a stochastic operator: one independent key per video
            keys = jax.random.split(key, args[1].shape[0])
            flat = over_videos(
                lambda xi, si, mi, ki: fn(xi, si, mi, k, key=ki, **hyper), *args, keys
            )
        return TopK(
            flat.features.reshape(*lead, k, D),
            flat.scores.reshape(*lead, k),
            flat.positions.reshape(*lead, k),
        )

    wrapped.__doc__ = fn.__doc__
    wrapped.__name__ = fn.__name__
    return wrapped


def temporal_order(features, scores, positions) -> TopK:
    """Sorts k outputs by position, padding-only outputs last.

    The permutation is piecewise constant in the inputs: no gradient flows through it.
    """
    invalid = scores <= PAD_SCORE / 2
    key = jnp.where(invalid, jnp.inf, positions)
    order = jnp.argsort(key, stable=True)
    return TopK(features[order], scores[order], positions[order])
