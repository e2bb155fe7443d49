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

Operators (``get(name)`` returns one from the registry; ``DEFAULTS`` holds each one's
hyperparameters, which the configs copy):

* ``successive_halving``: the default, CSUM's Eq. 6 relaxation inside the tournament of
  Pietruszka et al. (AAAI 2021). Hyperparameter ``alpha``.
* ``sinkhorn``: entropic optimal transport of the scores onto a "top" and a "rest" anchor
  (Xie et al., NeurIPS 2020). Hyperparameters ``epsilon`` and ``iterations``.
* ``perturbed``: the expectation of the exact top-k under Gaussian score noise (Berthet et
  al., NeurIPS 2020; its top-k form of Cordonnier et al., CVPR 2021). Hyperparameters
  ``sigma`` and ``samples``.
* ``hard``: exact top-k, for ablations and inference.

Sinkhorn's plan gives each clip a soft membership a_i in [0, 1] with sum_i a_i = k, not k
outputs. ``_slots`` lays the memberships along time into k slots of unit mass: clip i
fills the interval [c_i, c_i + a_i) with c_i = sum_{t<i} a_t, and slot j receives the part
inside [j, j + 1). Slots are in temporal order by construction, a 0/1 membership puts each
chosen clip alone in its slot (the hard top-k), and the map costs O(T D) with no T x k
plan (the k+1-anchor transport of Cuturi et al. 2019 would need T x (k+1): 6 GB at
T = 100,000, k = 15,000).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from csum.hashing import hash_normal
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

DEFAULT_EPSILON = 2.0 / DEFAULT_ALPHA
"""Sinkhorn's regularisation: its memberships are sigmoids of slope 2 / epsilon in the score,
so 0.1 matches the slope of successive halving's pairwise weights at the default alpha."""

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

    def wrapped(x, scores, k, *, mask=None, key=None, **hyper):
        if mask is None:
            mask = jnp.ones(scores.shape, bool)
        lead = scores.shape[:-1]
        T, D = x.shape[-2:]
        args = [x.reshape(-1, T, D), scores.reshape(-1, T), mask.reshape(-1, T)]
        if key is None:
            flat = jax.vmap(lambda xi, si, mi: fn(xi, si, mi, k, **hyper))(*args)
        else:  # a stochastic operator: one independent key per video
            keys = jax.random.split(key, args[1].shape[0])
            flat = jax.vmap(lambda xi, si, mi, ki: fn(xi, si, mi, k, key=ki, **hyper))(*args, keys)
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


_UNROLL = 16
"""Group members summed per step of the forward loop (one fused gather-multiply-add each)."""

_BLOCK = 2048
"""(group, member) entries per block of the backward's weight gradient."""


@jax.custom_vjp
def _grouped_sum(x, index, inverse, w):
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
    return _grouped_sum(x, index, inverse, w), (x, index, inverse, w)


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


_grouped_sum.defvjp(_grouped_sum_fwd, _grouped_sum_bwd)


def _inverse_rows(order, T: int):
    """[T] position of each original row t < T in the permutation ``order``."""
    m = order.shape[0]
    return jnp.zeros((m,), jnp.int32).at[order].set(jnp.arange(m, dtype=jnp.int32))[:T]


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
    inverse = _inverse_rows(members.reshape(-1), T)
    features = _grouped_sum(x, index, inverse, jnp.where(valid, weights, 0).astype(acc))
    # Padding beyond T sits at positions T, T+1, ...; it only matters for padding-only outputs.
    positions = jnp.sum(weights * members.astype(s.dtype), axis=1)
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


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _sinkhorn_membership(scores, mask, k: int, epsilon: float, iterations: int, solver: str):
    """[T] soft membership a_i in [0, 1], sum a = min(k, n valid); masked clips 0.

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
    kf = jnp.minimum(jnp.float32(k), n)
    if solver == "newton":
        lam = _newton_threshold(s, mask, kf, epsilon, iterations)
    elif solver == "sinkhorn":
        lam = _sinkhorn_iterations(s, mask, n, kf, epsilon, iterations)
    else:
        raise ValueError(f"sinkhorn solver must be 'newton' or 'sinkhorn', not {solver!r}")
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
    a = _sinkhorn_membership(scores, mask, k, epsilon, iterations, solver)
    return a, (a, mask)


def _sinkhorn_membership_bwd(k, epsilon, iterations, solver, res, g_a):
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
    return g_s, None


_sinkhorn_membership.defvjp(_sinkhorn_membership_fwd, _sinkhorn_membership_bwd)


def _slots(x, scores, membership, k: int) -> TopK:
    """Lays soft memberships along time into k unit slots (module docstring).

    Clip i covers [c_i, c_i + a_i) with c_i the exclusive cumulative sum; since a_i <= 1
    it meets at most slots floor(c_i) and floor(c_i) + 1. A slot with less than half a
    clip of mass (only when fewer than k clips are valid) is a padding-only output.
    """
    a = membership
    start = jnp.cumsum(a) - a
    first = jnp.floor(start)
    w0 = jnp.minimum(start + a, first + 1.0) - start
    w1 = a - w0
    slot0 = first.astype(jnp.int32)
    weights = jnp.concatenate([w0, w1])
    slots = jnp.concatenate([slot0, slot0 + 1])
    weights = jnp.where(slots < k, weights, 0.0)
    slots = jnp.minimum(slots, k - 1)
    T = scores.shape[0]
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    feats = jnp.concatenate([xf, xf]) * weights[:, None].astype(xf.dtype)
    mass = jax.ops.segment_sum(weights, slots, num_segments=k)
    features = jax.ops.segment_sum(feats, slots, num_segments=k)
    valid = mass > 0.5
    s = jnp.where(jnp.isfinite(scores), scores, 0.0).astype(jnp.float32)
    out_s = jax.ops.segment_sum(weights * jnp.concatenate([s, s]), slots, num_segments=k)
    index = jnp.arange(T, dtype=jnp.float32)
    pos = jax.ops.segment_sum(weights * jnp.concatenate([index, index]), slots, num_segments=k)
    safe = jnp.where(valid, mass, 1.0)
    return TopK(
        jnp.where(valid[:, None], features, 0.0),
        jnp.where(valid, out_s / safe, PAD_SCORE),
        jnp.where(valid, pos / safe, T + jnp.arange(k, dtype=jnp.float32)),
    )


@OPERATORS.register("sinkhorn")
@_vmap_leading
def sinkhorn(
    x,
    scores,
    mask,
    k: int,
    epsilon: float = DEFAULT_EPSILON,
    iterations: int = 30,
    solver: str = "newton",
) -> TopK:
    """Sinkhorn (entropic optimal transport) soft top-k (Xie et al. 2020), in k slots.

    The memberships a = n P[:, top] of the entropic plan between the clips and the anchors
    {1 (top, mass k/n), 0 (rest)} under cost (s_i - y_j)^2, regularised by ``epsilon``:
    a_i = sigmoid((2 s_i - 1 + lam) / epsilon) with lam such that sum_i a_i = k, the fixed
    point of the Sinkhorn iterations (see ``_sinkhorn_membership`` for the two solvers).
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

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    a = _sinkhorn_membership(scores, mask, k, float(epsilon), int(iterations), solver)
    return _slots(x, scores, a, k)


DEFAULT_SIGMA = 0.05
"""Std of the perturbed operator's Gaussian score noise (scores live in [0, 1]): two clips
0.05 apart swap places in about a quarter of the samples."""


def _noisy_topk(x, s, mask, k: int, sigma: float, key):
    """One sample: the exact top-k of s + sigma z, in temporal order, invalid picks last.

    Returns:
        (idx [k] int, chosen [k] bool, z [T]).
    """
    T = s.shape[0]
    # Noise keyed by clip index (not drawn for a [T] shape), so padding changes no draw.
    z = hash_normal(jax.random.bits(key, (2,), jnp.uint32), (T,))
    noisy = jnp.where(mask, s.astype(jnp.float32) + sigma * z, PAD_SCORE)
    _, idx = jax.lax.top_k(noisy, k)
    chosen = mask[idx]
    order = jnp.argsort(jnp.where(chosen, idx, T + idx))
    return idx[order], chosen[order], z


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _perturbed_expectation(x, s, mask, k: int, sigma: float, samples: int, key):
    """Monte-Carlo E_z[Y(s + sigma z)] applied to (x, s, time), Y the sorted top-k one-hots.

    Returns:
        (features [k, D] float32, scores [k], positions [k], mass [k]) summed over samples and
        divided by ``samples``; ``mass`` is the fraction of samples whose slot held a clip.
    """
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    sf = s.astype(jnp.float32)

    def body(carry, key_n):
        idx, chosen, _ = _noisy_topk(x, s, mask, k, sigma, key_n)
        c = chosen.astype(jnp.float32)
        f, sc, pos, mass = carry
        return (f + xf[idx] * c[:, None], sc + sf[idx] * c, pos + idx * c, mass + c), None

    zeros = jnp.zeros((k,), jnp.float32)
    init = (jnp.zeros((k, x.shape[1]), xf.dtype), zeros, zeros, zeros)
    sums, _ = jax.lax.scan(body, init, jax.random.split(key, samples))
    return tuple(v / samples for v in sums)


def _perturbed_fwd(x, s, mask, k, sigma, samples, key):
    return _perturbed_expectation(x, s, mask, k, sigma, samples, key), (x, s, mask, key)


def _perturbed_bwd(k, sigma, samples, res, cotangents):
    """Berthet et al.'s estimator, with a leave-one-out baseline; O(T + k D) memory.

    d/ds E[F(s + sigma z)] = E[F(s + sigma z) z] / sigma. With L_n the cotangent-weighted
    output of sample n, sum_n (L_n - mean_{m != n} L_m) z_n / (N sigma) is unbiased and
    lower in variance than sum_n L_n z_n / (N sigma). The outputs' direct dependence on x
    and on s (through the selected clips' features and scores) adds E[Y]^T g.
    """
    x, s, mask, key = res
    g_f, g_s, g_p, _ = cotangents
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    sf = s.astype(jnp.float32)
    T = s.shape[0]

    def body(carry, key_n):
        idx, chosen, z = _noisy_topk(x, s, mask, k, sigma, key_n)
        c = chosen.astype(jnp.float32)
        value = jnp.sum(c * (jnp.sum(g_f * xf[idx], axis=-1) + g_s * sf[idx] + g_p * idx))
        lz, lsum, zsum, gx, gs = carry
        gx = gx.at[idx].add(g_f * c[:, None].astype(g_f.dtype))
        gs = gs.at[idx].add(g_s * c)
        return (lz + value * z, lsum + value, zsum + z, gx, gs), None

    t_zeros = jnp.zeros((T,), jnp.float32)
    init = (t_zeros, jnp.float32(0), t_zeros, jnp.zeros(xf.shape, g_f.dtype), t_zeros)
    (lz, lsum, zsum, gx, gs), _ = jax.lax.scan(body, init, jax.random.split(key, samples))
    n = samples
    score_grad = (n / (n - 1) * lz - lsum * zsum / (n - 1)) / (n * sigma) + gs / n
    return gx.astype(x.dtype) / n, score_grad.astype(s.dtype), None, None


_perturbed_expectation.defvjp(_perturbed_fwd, _perturbed_bwd)


@OPERATORS.register("perturbed")
@_vmap_leading
def perturbed(
    x,
    scores,
    mask,
    k: int,
    sigma: float = DEFAULT_SIGMA,
    samples: int = 100,
    key=None,
) -> TopK:
    """Perturbed-optimizer soft top-k (Berthet et al. 2020; Cordonnier et al. 2021).

    Output slot j is E_z[x_(j)(s + sigma z)], where x_(j)(s') is the j-th of the k clips
    with the highest s', in temporal order, and z is standard Gaussian: a Monte-Carlo mean
    over ``samples`` draws. Its gradient is Berthet et al.'s E[F z] / sigma estimator (a
    custom VJP that redraws the same samples; memory O(T + k D), never O(samples T)).

    Args:
        x: [T, D] features (leading batch dims are handled by a vmap wrapper, which splits
            ``key`` into one key per video).
        scores: [T] scores.
        mask: [T] bool validity.
        k: static number of outputs.
        sigma: noise std, in score units.
        samples: Monte-Carlo draws (at least 2, for the leave-one-out baseline).
        key: PRNG key; None uses a fixed key (the same noise every call). Training passes a
            fresh key per step.

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    if samples < 2:
        raise ValueError(f"perturbed top-k needs samples >= 2, got {samples}")
    key = jax.random.key(0) if key is None else key
    T = scores.shape[0]
    if k > T:  # as for the hard operator: the extra outputs hold only padding
        scores = jnp.concatenate([scores, jnp.zeros((k - T,), scores.dtype)])
        x = jnp.concatenate([x, jnp.zeros((k - T, x.shape[1]), x.dtype)])
        mask = jnp.concatenate([mask, jnp.zeros((k - T,), bool)])
    features, out_s, pos, mass = _perturbed_expectation(
        x, scores, mask, k, float(sigma), int(samples), key
    )
    valid = mass > 0.5
    return TopK(
        jnp.where(valid[:, None], features, 0.0),
        jnp.where(valid, out_s, PAD_SCORE),
        jnp.where(valid, pos, T + jnp.arange(k, dtype=jnp.float32)),
    )


DEFAULTS = {
    "successive_halving": {"alpha": DEFAULT_ALPHA},
    "sinkhorn": {"epsilon": DEFAULT_EPSILON, "iterations": 30, "solver": "newton"},
    "perturbed": {"sigma": DEFAULT_SIGMA, "samples": 100},
    "hard": {"gradient": "straight_through"},
}
"""Every operator's hyperparameters and defaults; the configs hold a copy under
``topk.<name>`` and pass the chosen operator's to it."""

STOCHASTIC = frozenset({"perturbed"})
"""Operators that take a ``key``."""
