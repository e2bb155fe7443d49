"""Optimal transport by the inexact proximal point method (IPOT), masked and differentiable.

MHMS (``001_…``, section 3.3) aligns the keyframes of a video with the sentences of its
transcript by optimal transport and solves it with IPOT (Xie et al., "A Fast Proximal Point
Method for Computing Exact Wasserstein Distance", UAI 2019). IPOT replaces Sinkhorn's
fixed entropic term by a proximal term around the previous plan:

    T^{t+1} = argmin_{T in Pi(a, b)} <C, T> + beta * KL(T || T^t),

each step solved inexactly by ``inner`` Sinkhorn-Knopp scalings of the kernel
``Q = exp(-C / beta) * T^t``. Unlike Sinkhorn, the plan converges to an *exact* optimal
transport plan as the outer steps go on (for any beta), so the transport cost is the
Wasserstein distance itself, not an entropy-biased one.

Everything is batched and masked: invalid rows or columns (padding) get zero mass and
change neither the plan's valid block nor its gradient. Pure JAX; no Flax, no config.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def ipot(
    cost: jax.Array,
    a: jax.Array,
    b: jax.Array,
    *,
    beta: float = 0.5,
    outer: int = 100,
    inner: int = 1,
) -> jax.Array:
    """Optimal transport plan between histograms ``a`` and ``b`` under ``cost``.

    Args:
        cost: [..., n, m] transport costs.
        a: [..., n] source masses (non-negative; padding rows 0). ``a`` and ``b`` should
            have the same total; each is normalised to sum 1 (a zero total stays zero).
        b: [..., m] target masses (padding columns 0).
        beta: proximal step size, in units of the cost (smaller: closer to a greedy
            plan per step, slower to mix; the paper's and IPOT's default scale is 0.5 for
            costs in [0, 2], e.g. cosine distances).
        outer: proximal steps.
        inner: Sinkhorn-Knopp scalings per step (IPOT's default 1).

    Returns:
        [..., n, m] the plan T with row sums ``a`` and column sums ``b`` (normalised), 0 on
        padding.
    """
    cost = jnp.asarray(cost, jnp.float32)
    a = _normalise(jnp.asarray(a, jnp.float32))
    b = _normalise(jnp.asarray(b, jnp.float32))
    support = (a[..., :, None] > 0) & (b[..., None, :] > 0)
    # Shift each problem's cost by its minimum over the support: the plan is unchanged
    # (the marginals are fixed) and exp(-C / beta) does not underflow for large costs.
    low = jnp.min(jnp.where(support, cost, jnp.inf), axis=(-2, -1), keepdims=True)
    low = jnp.where(jnp.isfinite(low), low, 0.0)
    kernel = jnp.where(support, jnp.exp(-(cost - low) / beta), 0.0)

    def step(carry, _):
        plan, v = carry
        q = kernel * plan
        for _ in range(inner):
            u = _scale(a, jnp.einsum("...nm,...m->...n", q, v))
            v = _scale(b, jnp.einsum("...nm,...n->...m", q, u))
        return (u[..., :, None] * q * v[..., None, :], v), None

    start = support.astype(jnp.float32)
    (plan, _), _ = jax.lax.scan(step, (start, (b > 0).astype(jnp.float32)), None, length=outer)
    return plan


def transport_cost(cost: jax.Array, plan: jax.Array) -> jax.Array:
    """[...] ``<C, T>``: the plan's total cost (the Wasserstein distance at the optimum)."""
    return jnp.sum(jnp.where(plan > 0, cost * plan, 0.0), axis=(-2, -1))


def cosine_cost(x: jax.Array, y: jax.Array, eps: float = 1e-8) -> jax.Array:
    """[..., n, m] ``1 - cos(x_i, y_j)`` between rows of x [..., n, d] and y [..., m, d]:
    MHMS's cost between keyframe and sentence embeddings, in [0, 2]."""
    x = x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)
    y = y / jnp.maximum(jnp.linalg.norm(y, axis=-1, keepdims=True), eps)
    return 1.0 - jnp.einsum("...nd,...md->...nm", x, y)


def _scale(mass: jax.Array, current: jax.Array) -> jax.Array:
    """``mass / current`` where there is mass, 0 elsewhere; both branches finite, so that
    padding (no mass, no kernel) passes a zero gradient, not 0/0."""
    has = mass > 0
    return jnp.where(has, mass / jnp.where(has, jnp.maximum(current, 1e-30), 1.0), 0.0)


def _normalise(w: jax.Array) -> jax.Array:
    total = jnp.sum(w, axis=-1, keepdims=True)
    return jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 0.0)
