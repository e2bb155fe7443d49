"""Sinkhorn (entropic optimal transport) soft top-k (Xie et al., NeurIPS 2020), in k slots.

Pure jax.numpy. The slot layout is described in ``csum.topk``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from csum.topk.contract import OPERATORS, PAD_SCORE, TopK, vmap_leading
from csum.topk.halving import DEFAULT_ALPHA
from csum.topk.slots import slot_sum

DEFAULT_EPSILON = 2.0 / DEFAULT_ALPHA
"""Sinkhorn's regularisation: its memberships are sigmoids of slope 2 / epsilon in the score,
so 0.1 matches the slope of successive halving's pairwise weights at the default alpha."""


SOLVERS = ("newton", "sinkhorn")
"""Solvers of the Sinkhorn fixed point (``sinkhorn_membership``)."""


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def sinkhorn_membership(scores, mask, k, epsilon: float, iterations: int, solver: str):
    """[T] soft membership a_i in [0, 1], sum a = min(k, n valid); masked clips 0.

    ``k`` may be a Python int or a traced int (a per-video budget): the memberships depend
    on the valid scores and on min(k, n) alone, so a padded video gets exactly the
    memberships it would get alone.

    The entropic plan between the clips (mass 1/n each) and the anchors y = (1, 0) ("top",
    mass k/n; "rest", mass (n - k)/n) under cost C_ij = (s_i - y_j)^2. Its rows give
    a_i = n P_i,top = sigmoid((lam + C_i,rest - C_i,top) / eps) = sigmoid((lam + 2 s_i - 1)
    / eps), where lam = g_top - g_rest is the difference of the anchors' dual potentials,
    and the columns ask sum_i a_i = k. So the fixed point of the Sinkhorn iterations is
    one scalar equation in lam:

    * ``solver="newton"`` solves it by Newton's method safeguarded by bisection (the
      equation is increasing in lam), which reaches float32 precision for any epsilon;
    * ``solver="sinkhorn"`` runs the log-domain Sinkhorn iterations themselves (each O(T)),
      which converge ever more slowly as epsilon shrinks (kept to compare).
    """
    s = scores.astype(jnp.float32)
    n = jnp.maximum(jnp.sum(mask), 1).astype(jnp.float32)
    kf = jnp.minimum(jnp.asarray(k, jnp.float32), n)
    if solver == "newton":
        lam = _newton_threshold(s, mask, kf, epsilon, iterations)
    elif solver == "sinkhorn":
        lam = _sinkhorn_iterations(s, mask, n, kf, epsilon, iterations)
    else:
        raise ValueError(f"sinkhorn solver must be one of {SOLVERS}, not {solver!r}")
    a = jax.nn.sigmoid((lam + 2.0 * s - 1.0) / epsilon)
    # k >= n: every valid clip is selected (the rest anchor has no mass).
    return jnp.where(mask, jnp.where(kf >= n, 1.0, a), 0.0)


def _newton_threshold(s, mask, kf, epsilon, iterations):
    """lam with sum_valid sigmoid((lam + 2 s_i - 1) / eps) = k, by safeguarded Newton."""
    valid_s = jnp.where(mask, s, 0.0)
    top = jnp.max(jnp.where(mask, s, -jnp.inf))
    bottom = jnp.min(jnp.where(mask, s, jnp.inf))
    # At lo every sigmoid is below e^-40 (sum < k), at hi above 1 - e^-40 (sum >= k).
    lo0, hi0 = 1.0 - 2.0 * top - 40.0 * epsilon, 1.0 - 2.0 * bottom + 40.0 * epsilon

    def body(_, carry):
        lam, lo, hi = carry
        a = jnp.where(mask, jax.nn.sigmoid((lam + 2.0 * valid_s - 1.0) / epsilon), 0.0)
        excess = jnp.sum(a) - kf
        slope = jnp.sum(a * (1.0 - a)) / epsilon
        lo = jnp.where(excess < 0, lam, lo)
        hi = jnp.where(excess >= 0, lam, hi)
        step = lam - excess / jnp.maximum(slope, 1e-30)
        inside = (step > lo) & (step < hi) & (slope > 0)
        return jnp.where(inside, step, 0.5 * (lo + hi)), lo, hi

    lam, _, _ = jax.lax.fori_loop(0, iterations, body, (0.5 * (lo0 + hi0), lo0, hi0))
    return lam


def _sinkhorn_iterations(s, mask, n, kf, epsilon, iterations):
    """lam = g_top - g_rest after ``iterations`` log-domain Sinkhorn iterations."""
    cost = jnp.stack([(s - 1.0) ** 2, s**2], axis=-1)  # [T, 2]: top, rest
    log_mu = jnp.where(mask, -jnp.log(n), -jnp.inf)
    log_nu = jnp.log(jnp.stack([kf, jnp.maximum(n - kf, 0.5)]) / n)

    def body(_, g):
        f = epsilon * (log_mu - jax.nn.logsumexp((g[None, :] - cost) / epsilon, axis=-1))
        z = jnp.where(mask[:, None], (f[:, None] - cost) / epsilon, -jnp.inf)
        return epsilon * (log_nu - jax.nn.logsumexp(z, axis=0))

    g = jax.lax.fori_loop(0, iterations, body, jnp.zeros((2,), jnp.float32))
    return g[0] - g[1]


def _sinkhorn_membership_fwd(scores, mask, k, epsilon, iterations, solver):
    a = sinkhorn_membership(scores, mask, k, epsilon, iterations, solver)
    return a, (a, mask)


def _sinkhorn_membership_bwd(epsilon, iterations, solver, res, g_a):
    """Implicit gradient at the fixed point: O(T), nothing of the iterations is stored.

    a_i = sigmoid(z_i) with z_i = (lam + 2 s_i - 1) / eps, and lam moves so that
    sum_i a_i = k stays true: d lam = -2 sum_l a'_l ds_l / sum_l a'_l, a' = a (1 - a). So
    dL/ds_j = (2 a'_j / eps) (gbar_j - sum_i gbar_i a'_i / sum_i a'_i).
    """
    a, mask = res
    slope = jnp.where(mask, a * (1.0 - a), 0.0)
    total = jnp.sum(slope)
    safe = jnp.where(total > 0, total, 1.0)
    g_s = 2.0 * slope / epsilon * (g_a - jnp.sum(g_a * slope) / safe)
    return g_s, None, None


sinkhorn_membership.defvjp(_sinkhorn_membership_fwd, _sinkhorn_membership_bwd)


def _slots(x, scores, membership, k: int) -> TopK:
    """Lays soft memberships along time into k unit slots (module docstring).

    Clip i covers [c_i, c_i + a_i) with c_i the exclusive cumulative sum; since a_i <= 1
    it meets at most slots floor(c_i) and floor(c_i) + 1. A slot with less than half a
    clip of mass (only when fewer than k clips are valid) is a padding-only output.
    """
    # Clip i covers [start_i, end_i). XLA's cumsum is a parallel scan whose rounding can make
    # it dip by an ulp; the running maximum keeps the intervals ordered, which the slot
    # kernel relies on (its slots must not decrease).
    end = jax.lax.cummax(jnp.cumsum(membership))
    start = jnp.concatenate([jnp.zeros((1,), end.dtype), end[:-1]])
    first = jnp.floor(start)
    w0 = jnp.minimum(end, first + 1.0) - start
    w1 = (end - start) - w0
    slot0 = first.astype(jnp.int32)
    T = scores.shape[0]
    s = jnp.where(jnp.isfinite(scores), scores, 0.0).astype(jnp.float32)
    # Mass, score and time ride along as three more columns of one slot sum.
    extra = jnp.stack([jnp.ones_like(s), s, jnp.arange(T, dtype=jnp.float32)], axis=1)
    mass, out_s, pos = slot_sum(extra, slot0, w0, w1, k).T
    acc = jnp.promote_types(x.dtype, jnp.float32)  # accumulate in >= float32 (bf16 inputs)
    features = slot_sum(x, slot0, w0.astype(acc), w1.astype(acc), k)
    valid = mass > 0.5
    safe = jnp.where(valid, mass, 1.0)
    return TopK(
        jnp.where(valid[:, None], features, 0.0),
        jnp.where(valid, out_s / safe, PAD_SCORE),
        jnp.where(valid, pos / safe, T + jnp.arange(k, dtype=jnp.float32)),
    )


@OPERATORS.register("sinkhorn")
@vmap_leading(sequential=True)  # its slot kernel slices at per-video offsets
def sinkhorn(
    x,
    scores,
    mask,
    k: int,
    epsilon: float = DEFAULT_EPSILON,
    iterations: int = 30,
    solver: str = "newton",
    budget=None,
) -> TopK:
    """Sinkhorn (entropic optimal transport) soft top-k (Xie et al. 2020), in k slots.

    The memberships a = n P[:, top] of the entropic plan between the clips and the anchors
    {1 (top, mass k/n), 0 (rest)} under cost (s_i - y_j)^2, regularised by ``epsilon``:
    a_i = sigmoid((2 s_i - 1 + lam) / epsilon) with lam such that sum_i a_i = k, the fixed
    point of the Sinkhorn iterations (see ``sinkhorn_membership`` for the two solvers).
    Outputs are the memberships laid into k slots in temporal order (module docstring).
    The backward pass is the implicit gradient at the fixed point (O(T), no unrolled
    iterations). Scores are expected in [0, 1], as every backbone gives them.

    Args:
        x: [T, D] features (leading batch dims are handled by a vmap wrapper).
        scores: [T] scores.
        mask: [T] bool validity.
        k: static number of outputs.
        epsilon: entropic regularisation; the sigmoid's slope is 2 / epsilon, so the default
            0.1 is as sharp as successive halving's pairs at alpha = 20.
        iterations: solver iterations (each O(T)); 30 safeguarded Newton steps reach
            float32 precision (tested); the literal Sinkhorn solver needs thousands at
            small epsilon.
        solver: ``"newton"`` (default) or ``"sinkhorn"``.
        budget: optional traced int, this video's own number of outputs (<= k): the
            memberships then sum to the budget and only the first ``budget`` slots fill,
            exactly as if the video ran alone with ``k = budget``.

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    kb = k if budget is None else jnp.minimum(jnp.asarray(budget, jnp.int32), k)
    a = sinkhorn_membership(scores, mask, kb, float(epsilon), int(iterations), solver)
    return _slots(x, scores, a, k)
