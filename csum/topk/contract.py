"""The contract every top-k operator shares: outputs, padding, registry, batching.

See ``csum.topk`` for the contract itself. Pure jax.numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from csum.registry import Registry
from csum.topk.argsort import stable_argsort

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


def vmap_leading(fn: Callable[..., TopK] | None = None, *, sequential: bool = False):
    """Lifts a single-video operator (x [T, D], scores [T], mask [T]) to any leading dims.

    ``budget`` (an int array of the leading shape, or a scalar) and ``key`` are passed on
    per video when given; a batch of B videos splits the key into ``split(key, B)``, a
    single video uses it as is.

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

    def wrapped(x, scores, k, *, mask=None, budget=None, key=None, **hyper):
        if mask is None:
            mask = jnp.ones(scores.shape, bool)
        lead = scores.shape[:-1]
        T, D = x.shape[-2:]
        args = [x.reshape(-1, T, D), scores.reshape(-1, T), mask.reshape(-1, T)]
        names = []
        if budget is not None:  # one traced budget per video
            args.append(jnp.broadcast_to(jnp.asarray(budget, jnp.int32), lead).reshape(-1))
            names.append("budget")
        if key is not None:  # a stochastic operator: one independent key per video
            # A single video uses the key itself, so video b of a batch draws exactly what
            # it draws alone with key split(key, B)[b].
            args.append(key[None] if not lead else jax.random.split(key, args[1].shape[0]))
            names.append("key")

        def one(xi, si, mi, *extra):
            return fn(xi, si, mi, k, **dict(zip(names, extra, strict=True)), **hyper)

        flat = over_videos(one, *args)
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
    order = stable_argsort(key)
    return TopK(features[order], scores[order], positions[order])
