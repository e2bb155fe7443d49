"""Perturbed-optimizer soft top-k (Berthet et al. 2020; Cordonnier et al. 2021)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from csum.nn.hashing import hash_normal
from csum.topk.contract import OPERATORS, PAD_SCORE, TopK, vmap_leading

DEFAULT_SIGMA = 0.05
"""Std of the perturbed operator's Gaussian score noise (scores live in [0, 1]): two clips
0.05 apart swap places in about a quarter of the samples."""


def _noisy_topk(x, s, mask, budget, k: int, sigma: float, key):
    """One sample: the exact top-k of s + sigma z, in temporal order, invalid picks last.

    Only the ``budget`` best picks count (``lax.top_k`` returns them best first), so the
    sample equals the top-``budget`` of the same noisy scores.

    Returns:
        (idx [k] int, chosen [k] bool, z [T]).
    """
    T = s.shape[0]
    # Noise keyed by clip index (not drawn for a [T] shape), so padding changes no draw.
    z = hash_normal(jax.random.bits(key, (2,), jnp.uint32), (T,))
    noisy = jnp.where(mask, s.astype(jnp.float32) + sigma * z, PAD_SCORE)
    _, idx = jax.lax.top_k(noisy, k)
    chosen = mask[idx] & (jnp.arange(k) < budget)
    order = jnp.argsort(jnp.where(chosen, idx, T + idx))
    return idx[order], chosen[order], z


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6))
def _perturbed_expectation(x, s, mask, budget, k: int, sigma: float, samples: int, key):
    """Monte-Carlo E_z[Y(s + sigma z)] applied to (x, s, time), Y the sorted top-k one-hots.

    Returns:
        (features [k, D] float32, scores [k], positions [k], mass [k]) summed over samples and
        divided by ``samples``; ``mass`` is the fraction of samples whose slot held a clip.
    """
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    sf = s.astype(jnp.float32)

    def body(carry, key_n):
        idx, chosen, _ = _noisy_topk(x, s, mask, budget, k, sigma, key_n)
        c = chosen.astype(jnp.float32)
        f, sc, pos, mass = carry
        return (f + xf[idx] * c[:, None], sc + sf[idx] * c, pos + idx * c, mass + c), None

    zeros = jnp.zeros((k,), jnp.float32)
    init = (jnp.zeros((k, x.shape[1]), xf.dtype), zeros, zeros, zeros)
    sums, _ = jax.lax.scan(body, init, jax.random.split(key, samples))
    return tuple(v / samples for v in sums)


def _perturbed_fwd(x, s, mask, budget, k, sigma, samples, key):
    out = _perturbed_expectation(x, s, mask, budget, k, sigma, samples, key)
    return out, (x, s, mask, budget, key)


def _perturbed_bwd(k, sigma, samples, res, cotangents):
    """Berthet et al.'s estimator, with a leave-one-out baseline; O(T + k D + samples k) memory.

    d/ds E[F(s + sigma z)] = E[F(s + sigma z) z] / sigma. With L_n the cotangent-weighted
    output of sample n, sum_n (L_n - mean_{m != n} L_m) z_n / (N sigma) is unbiased and
    lower in variance than sum_n L_n z_n / (N sigma). The outputs' direct dependence on x
    and on s (through the selected clips' features and scores) adds E[Y]^T g.

    The x cotangent E[Y]^T g_f runs in its own loop over the samples' picks (kept from
    the first loop: [samples, k] indices, not features), so that XLA drops the whole loop
    and the picks when only the scores need a gradient (the training case).
    """
    x, s, mask, budget, key = res
    g_f, g_s, g_p, _ = cotangents
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    sf = s.astype(jnp.float32)
    T = s.shape[0]
    keys = jax.random.split(key, samples)

    def score_body(carry, key_n):
        idx, chosen, z = _noisy_topk(x, s, mask, budget, k, sigma, key_n)
        c = chosen.astype(jnp.float32)
        # The weighting by c is a dot product on purpose: written as c * sum(g_f x[idx], -1)
        # and batched by vmap, XLA:CPU fuses it into a loop 14x slower (10.7 s against
        # 0.8 s for 100 samples at T = 65,536).
        rows = jnp.einsum("kd,kd->k", g_f, xf[idx]) + g_s * sf[idx] + g_p * idx
        value = jnp.dot(c, rows)
        lz, lsum, zsum, gs = carry
        gs = gs.at[idx].add(g_s * c)
        return (lz + value * z, lsum + value, zsum + z, gs), (idx, chosen)

    def feature_body(gx, picks):
        idx, chosen = picks
        # A scatter of the k picked rows: it touches k rows, where a gather-add over every
        # clip would touch T (1.1 s against 1.8 s for 100 samples at T = 65,536).
        return gx.at[idx].add(g_f * chosen[:, None].astype(g_f.dtype)), None

    t_zeros = jnp.zeros((T,), jnp.float32)
    init = (t_zeros, jnp.float32(0), t_zeros, t_zeros)
    (lz, lsum, zsum, gs), picks = jax.lax.scan(score_body, init, keys)
    gx, _ = jax.lax.scan(feature_body, jnp.zeros(xf.shape, g_f.dtype), picks)
    n = samples
    score_grad = (n / (n - 1) * lz - lsum * zsum / (n - 1)) / (n * sigma) + gs / n
    # A masked clip's score never enters a draw, so its true derivative is 0; the estimator
    # would give it noise (its z_n times L_n), which would reach the backbone's parameters
    # through the padding and make padding change training.
    score_grad = jnp.where(mask, score_grad, 0.0)
    return gx.astype(x.dtype) / n, score_grad.astype(s.dtype), None, None, None


_perturbed_expectation.defvjp(_perturbed_fwd, _perturbed_bwd)


@OPERATORS.register("perturbed")
@vmap_leading
def perturbed(
    x,
    scores,
    mask,
    k: int,
    sigma: float = DEFAULT_SIGMA,
    samples: int = 100,
    key=None,
    budget=None,
) -> TopK:
    """Perturbed-optimizer soft top-k (Berthet et al. 2020; Cordonnier et al. 2021).

    Output slot j is E_z[x_(j)(s + sigma z)], where x_(j)(s') is the j-th of the k clips
    with the highest s', in temporal order, and z is standard Gaussian: a Monte-Carlo mean
    over ``samples`` draws. Its gradient is Berthet et al.'s E[F z] / sigma estimator (a
    custom VJP that redraws the same samples; memory O(T + k D + samples k), never
    O(samples T)).

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
        budget: optional traced int, this video's own number of outputs (<= k): each
            sample keeps its ``budget`` best noisy picks, so a padded video gets the draws,
            outputs and gradients it would get alone with ``k = budget`` (same key).

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
    budget = jnp.int32(k) if budget is None else jnp.asarray(budget, jnp.int32)
    features, out_s, pos, mass = _perturbed_expectation(
        x, scores, mask, budget, k, float(sigma), int(samples), key
    )
    valid = mass > 0.5
    return TopK(
        jnp.where(valid[:, None], features, 0.0),
        jnp.where(valid, out_s, PAD_SCORE),
        jnp.where(valid, pos, T + jnp.arange(k, dtype=jnp.float32)),
    )
