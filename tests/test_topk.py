"""Known answers and invariances of the top-k operators."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from csum import topk
from csum.registry import UnknownNameError
from csum.topk.grouped import grouped_sum, inverse_rows
from csum.topk.sinkhorn import sinkhorn_membership
from csum.topk.slots import slot_sum

OPS = ["successive_halving", "sinkhorn", "perturbed", "hard"]
SHARP = {  # each operator's sharp limit, for scores with gaps of at least 1
    "successive_halving": {"alpha": 200.0},
    "sinkhorn": {"epsilon": 0.01},
    "perturbed": {"sigma": 1e-3},
    "hard": {},
}


def _data(T, D=5, seed=0):
    x = jax.random.normal(jax.random.key(seed), (T, D))
    s = jax.random.uniform(jax.random.key(seed + 1), (T,))
    return x, s


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize(
    "T,k", [(1, 1), (7, 3), (13, 2), (17, 17), (31, 5), (100, 15), (6, 5), (5, 9)]
)
def test_exactly_k_outputs(name, T, k):
    x, s = _data(T)
    out = topk.get(name)(x, s, k)
    assert out.features.shape == (k, 5) and out.scores.shape == (k,) and out.positions.shape == (k,)
    assert int(topk.valid_outputs(out).sum()) == min(k, T)


@pytest.mark.parametrize("name", OPS[:3])
@pytest.mark.parametrize("T,k", [(13, 2), (31, 5), (100, 15), (17, 17), (64, 8), (6, 5)])
def test_sharp_limit_equals_hard_topk(name, T, k):
    x, _ = _data(T)
    s = jnp.asarray(np.random.default_rng(T).permutation(T), jnp.float32)  # gaps of 1
    soft = topk.get(name)(x, s, k, **SHARP[name])
    hard = topk.hard(x, s, k)
    np.testing.assert_allclose(soft.features, hard.features, atol=1e-5)
    np.testing.assert_allclose(soft.positions, hard.positions, atol=1e-4)
    np.testing.assert_allclose(hard.positions, np.sort(np.argsort(-np.asarray(s))[:k]))


def test_hand_computed_two_items():
    x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    s = jnp.array([0.2, 0.5])
    out = topk.successive_halving(x, s, 1, alpha=2.0)
    w = jax.nn.softmax(2.0 * jnp.array([0.2, 0.5]))
    np.testing.assert_allclose(out.features[0], w, rtol=1e-6)
    np.testing.assert_allclose(out.scores[0], w @ s, rtol=1e-6)
    np.testing.assert_allclose(out.positions[0], w[1], rtol=1e-6)


@pytest.mark.parametrize("name", OPS)
def test_masked_items_never_selected(name):
    x, s = _data(40)
    s = s.at[30:].set(10.0)  # the best scores sit in padding
    mask = jnp.arange(40) < 30
    out = topk.get(name)(x, s, 6, mask=mask)
    assert float(out.positions.max()) < 30
    assert bool(topk.valid_outputs(out).all())
    # fewer valid clips than k: the extra outputs are padding-only, zero and last
    few = topk.get(name)(x, s, 6, mask=jnp.arange(40) < 4)
    valid = np.asarray(topk.valid_outputs(few))
    np.testing.assert_array_equal(valid, [True] * 4 + [False] * 2)
    np.testing.assert_array_equal(np.asarray(few.features)[~valid], 0)
    assert float(few.positions[valid].max()) < 4


@pytest.mark.parametrize("name", OPS)
def test_padding_content_changes_nothing(name):
    x, s = _data(20)
    mask = jnp.arange(20) < 14
    a = topk.get(name)(x, s, 3, mask=mask)
    b = topk.get(name)(x.at[14:].set(99.0), s.at[14:].set(5.0), 3, mask=mask)
    c = topk.get(name)(x[:14], s[:14], 3)
    for u, v in [(a, b), (a, c)]:
        np.testing.assert_allclose(u.features, v.features, atol=1e-6)
        np.testing.assert_allclose(u.scores, v.scores, atol=1e-6)
    # Nor the gradients: padding gets none, and the real clips get the unpadded video's.
    probe = jax.random.normal(jax.random.key(5), (3, x.shape[1]))

    def grads(x, s, mask=None):
        def loss(x, s):
            out = topk.get(name)(x, s, 3, mask=mask)
            return jnp.sum(out.features * probe) + jnp.sum(jnp.where(out.scores > 0, out.scores, 0))

        return jax.grad(loss, (0, 1))(x, s)

    g_pad, g_cut = grads(x, s, mask), grads(x[:14], s[:14])
    for padded, cut in zip(g_pad, g_cut, strict=True):
        assert float(jnp.abs(padded[14:]).max()) == 0.0
        np.testing.assert_allclose(padded[:14], cut, atol=1e-5)


@pytest.mark.parametrize("name", OPS)
def test_temporal_order(name):
    x, s = _data(50)
    out = topk.get(name)(x, s, 9)  # default (soft) hyperparameters
    assert bool(jnp.all(jnp.diff(out.positions) >= 0))


@pytest.mark.parametrize("name", OPS)
def test_permuting_inputs_keeps_outputs_in_time_order(name):
    # The outputs follow the (permuted) input's time axis, never the score order.
    x, _ = _data(30)
    s = jnp.asarray(np.random.default_rng(1).permutation(30), jnp.float32)
    for seed in range(3):
        p = np.random.default_rng(seed).permutation(30)
        out = topk.get(name)(x[p], s[p], 7, **SHARP[name])
        expected = np.sort(np.argsort(-np.asarray(s[p]))[:7])
        np.testing.assert_allclose(out.features, x[p][expected], atol=1e-4)


@pytest.mark.parametrize("name", OPS)
def test_batched_equals_per_video_and_jit_equals_eager(name):
    x = jax.random.normal(jax.random.key(0), (2, 3, 24, 4))
    s = jax.random.uniform(jax.random.key(1), (2, 3, 24))
    mask = jnp.arange(24) < jnp.array([[24, 10, 3], [17, 24, 1]])[..., None]
    op = topk.get(name)
    batched = op(x, s, 5, mask=mask)
    jitted = jax.jit(op, static_argnums=2)(x, s, 5, mask=mask)
    np.testing.assert_allclose(batched.features, jitted.features, atol=1e-5)
    if name != "perturbed":  # its key is split per video
        single = op(x[1, 2], s[1, 2], 5, mask=mask[1, 2])
        np.testing.assert_allclose(batched.features[1, 2], single.features, atol=1e-5)


@pytest.mark.parametrize(
    "name,hyper,eps,tol",
    [
        ("successive_halving", {"alpha": 3.0}, 1e-3, 2e-2),
        # sinkhorn: the implicit (fixed-point) gradient against differences of the converged
        # smoothed objective, with a moderate epsilon.
        ("sinkhorn", {"epsilon": 0.3, "iterations": 60}, 1e-2, 3e-2),
    ],
)
def test_gradient_matches_finite_differences(name, hyper, eps, tol):
    x, s = _data(12, D=3)
    mask = jnp.arange(12) < 10
    c = jax.random.normal(jax.random.key(7), (4, 3))

    def f(s):
        out = topk.get(name)(x, s, 4, mask=mask, **hyper)
        return jnp.sum(out.features * c) + jnp.sum(out.scores)

    g = jax.grad(f)(s)
    assert bool(jnp.all(jnp.isfinite(g)))
    assert float(jnp.abs(g[10:]).max()) == 0.0  # masked scores get no gradient
    for i in [0, 3, 7, 9]:
        e = jnp.zeros(12).at[i].set(eps)
        fd = (f(s + e) - f(s - e)) / (2 * eps)
        np.testing.assert_allclose(g[i], fd, rtol=tol, atol=tol / 10)


@pytest.mark.parametrize(
    "k,G,T",
    # one unrolled step; a loop of steps; more groups than a block holds (padded blocks);
    # groups wider than a block; rows beyond T clamped (padding with weight 0)
    [(3, 4, 12), (5, 64, 320), (3000, 2, 6000), (2, 4096, 8192), (4, 8, 29)],
)
def test_grouped_sum_and_its_vjp_against_the_dense_contraction(k, G, T):
    """The fused kernel's value and both cotangents equal those of the [k, G, D] einsum."""
    rng = np.random.default_rng(k + G)
    D = 3
    rows = rng.permutation(k * G)
    index = jnp.asarray(np.minimum(rows, T - 1).reshape(k, G), jnp.int32)
    w = jnp.asarray(rng.uniform(size=(k, G)) * (rows < T).reshape(k, G), jnp.float32)
    x = jnp.asarray(rng.normal(size=(T, D)), jnp.float32)
    inverse = inverse_rows(jnp.asarray(rows, jnp.int32), T)
    g = jnp.asarray(rng.normal(size=(k, D)), jnp.float32)

    def kernel(x, w):
        return grouped_sum(x, index, inverse, w)

    def dense(x, w):
        # Only real rows enter d x: clamped padding carries weight 0 either way.
        return jnp.einsum("kgd,kg->kd", x[index], w)

    out, vjp = jax.vjp(jax.jit(kernel), x, w)
    ref, vjp_ref = jax.vjp(dense, x, w)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    for got, want in zip(vjp(g), vjp_ref(g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "T,k,sharp",
    [(7, 3, False), (600, 90, False), (600, 90, True), (1000, 10, True), (300, 400, False)],
)
def test_slot_sum_and_its_vjp_against_the_segment_sum(T, k, sharp):
    """The blocked scatter-free kernel equals the two-slot segment sum it replaces (values
    and both cotangents), for soft and near-0/1 memberships and for slots beyond k."""
    rng = np.random.default_rng(T + k)
    a = rng.uniform(size=T)
    if sharp:
        a = (a < min(k, T) / T).astype(np.float64) * (1 - 1e-7) + 1e-9
    start = np.cumsum(a) - a
    slot = jnp.asarray(np.floor(start), jnp.int32)
    w0 = jnp.asarray(np.minimum(start + a, np.floor(start) + 1) - start, jnp.float32)
    w1 = jnp.asarray(a, jnp.float32) - w0
    x = jnp.asarray(rng.normal(size=(T, 3)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(k, 3)), jnp.float32)

    def dense(x, w0, w1):
        ids = jnp.concatenate([slot, slot + 1])
        w = jnp.concatenate([w0, w1]) * (ids < k)
        rows = jnp.concatenate([x, x]) * w[:, None]
        return jax.ops.segment_sum(rows, jnp.minimum(ids, k - 1), num_segments=k)

    out, vjp = jax.vjp(jax.jit(lambda x, w0, w1: slot_sum(x, slot, w0, w1, k)), x, w0, w1)
    ref, vjp_ref = jax.vjp(dense, x, w0, w1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)
    for got, want in zip(vjp(g), vjp_ref(g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_gradients_finite_under_jit_with_heavy_padding():
    x, s = _data(192, D=8)
    mask = jnp.arange(192) < 100
    g = jax.jit(
        jax.grad(lambda s: (topk.successive_halving(x, s, 29, mask=mask).features ** 2).sum())
    )(s)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_hard_gradient_modes():
    x, s = _data(10)
    f = lambda s, mode: topk.hard(x, s, 3, gradient=mode).features.sum()  # noqa: E731
    g = jax.grad(f)(s, "straight_through")
    chosen = np.asarray(topk.hard(x, s, 3).positions).astype(int)
    np.testing.assert_allclose(np.asarray(g)[chosen], np.asarray(x.sum(1))[chosen], rtol=1e-6)
    assert float(jnp.abs(jax.grad(f)(s, "none")).max()) == 0.0


def test_registry():
    assert topk.get("hard") is topk.hard
    with pytest.raises(UnknownNameError, match="known: hard, perturbed, sinkhorn, successive_"):
        topk.get("sinkhorn_typo")
    assert set(topk.DEFAULTS) == set(OPS)


def test_sinkhorn_membership_is_the_sinkhorn_fixed_point():
    # Newton on the scalar dual equation and the log-domain Sinkhorn iterations agree, and
    # the memberships sum to k.
    x, s = _data(40)
    newton = topk.sinkhorn(x, s, 6, epsilon=0.1)
    iterated = topk.sinkhorn(x, s, 6, epsilon=0.1, solver="sinkhorn", iterations=300)
    np.testing.assert_allclose(newton.features, iterated.features, atol=1e-4)
    a = sinkhorn_membership(s, jnp.ones(40, bool), 6, 0.1, 30, "newton")
    np.testing.assert_allclose(float(a.sum()), 6.0, rtol=1e-5)
    # Hand check: two clips, k = 1: a_0 = sigmoid((lam + 2 s_0 - 1)/eps) with a_0 + a_1 = 1
    # gives lam = 1 - s_0 - s_1 and a_0 = sigmoid((s_0 - s_1) / eps).
    a2 = sinkhorn_membership(jnp.array([0.7, 0.4]), jnp.ones(2, bool), 1, 0.2, 30, "newton")
    np.testing.assert_allclose(a2, jax.nn.sigmoid(jnp.array([0.3, -0.3]) / 0.2), rtol=1e-5)


def test_perturbed_gradient_matches_the_gaussian_smoothing():
    # Two clips, k = 1: P(clip 0 wins) = Phi((s0 - s1) / (sigma sqrt 2)), so the first output
    # feature [1, 0] . out has value P and derivative phi(.) / (sigma sqrt 2) in s0.
    from scipy import stats

    x = jnp.eye(2)
    s = jnp.array([0.52, 0.5])
    sigma, scale = 0.05, 0.05 * np.sqrt(2)

    def f(s):
        out = topk.perturbed(x, s, 1, sigma=sigma, samples=20000, key=jax.random.key(1))
        return out.features[0, 0]

    np.testing.assert_allclose(f(s), stats.norm.cdf(0.02 / scale), atol=0.01)
    g = jax.grad(f)(s)
    np.testing.assert_allclose(g[0], stats.norm.pdf(0.02 / scale) / scale, rtol=0.05)
    np.testing.assert_allclose(g[1], -g[0], rtol=0.05)


@pytest.mark.parametrize("k", [2, 3])
def test_perturbed_gradient_matches_finite_differences_for_k_above_one(k):
    # The operator's score gradient estimates the gradient of the Gaussian-smoothed objective
    # F(s) = E[f(top-k(s + sigma Z))]. Central differences of F with common noise are
    # unbiased for F's differences; with sigma = 0.5 the smoothed F is flat on the scale of
    # eps = 0.1 (third-order error (eps / sigma)^2 / 6 < 1 %). The Monte-Carlo error of
    # either side is about 1 / (sigma sqrt(samples)) = 0.006 per unit of f's range.
    T = 6
    x = jax.random.normal(jax.random.key(0), (T, 3))
    c = jax.random.normal(jax.random.key(1), (k, 3))
    s = jnp.array([0.3, -0.2, 0.5, 0.1, -0.4, 0.0])
    mask = jnp.arange(T) < 5  # the last clip is padding: no gradient
    hyper = {"sigma": 0.5, "samples": 200_000}

    def f(s, key):
        out = topk.perturbed(x, s, k, mask=mask, key=key, **hyper)
        return jnp.sum(out.features * c)

    g = jax.grad(f)(s, jax.random.key(2))
    assert float(g[5]) == 0.0
    eps = 0.1
    for i in range(5):
        e = jnp.zeros(T).at[i].set(eps)
        fd = (f(s + e, jax.random.key(3)) - f(s - e, jax.random.key(3))) / (2 * eps)
        np.testing.assert_allclose(g[i], fd, atol=0.05)
    assert float(jnp.abs(g[:5]).max()) > 0.2  # the check is not vacuous


def test_perturbed_feature_gradient_is_the_mean_selection_transposed():
    # Given its noise, the operator is linear in x: features = P x with P = E[Y] [k, T], the
    # mean of the samples' sorted one-hot selections. Run on x = I_T, it returns P itself,
    # so the x cotangent of any probe G must be P^T G (with padding clips getting none).
    T, k = 12, 4
    s = jax.random.uniform(jax.random.key(0), (T,))
    mask = jnp.arange(T) < 10
    G = jax.random.normal(jax.random.key(1), (k, 5))
    x = jax.random.normal(jax.random.key(2), (T, 5))
    hyper = {"sigma": 0.2, "samples": 64, "key": jax.random.key(3)}
    P = topk.perturbed(jnp.eye(T), s, k, mask=mask, **hyper).features
    g_x, g_s = jax.grad(
        lambda x, s: jnp.sum(topk.perturbed(x, s, k, mask=mask, **hyper).features * G), (0, 1)
    )(x, s)
    np.testing.assert_allclose(g_x, P.T @ G, atol=1e-5)
    assert float(jnp.abs(g_x[10:]).max()) == 0.0 and float(jnp.abs(g_s[10:]).max()) == 0.0
    assert float(jnp.abs(P).sum()) > 0 and bool(jnp.isfinite(g_s).all())


@pytest.mark.parametrize("name", OPS[:3])
def test_float32_stable_at_100k_clips(name):
    T, k = 100_000, 15_000
    x = jax.random.normal(jax.random.key(0), (T, 4))
    s = jax.random.uniform(jax.random.key(1), (T,))
    hyper = {"samples": 4} if name == "perturbed" else {}
    op = jax.jit(lambda x, s: topk.get(name)(x, s, k, **hyper))
    out = op(x, s)
    g = jax.grad(lambda s: jnp.sum(op(x, s).features[:, 0]))(s)
    assert bool(jnp.isfinite(out.features).all()) and bool(jnp.isfinite(g).all())
    assert bool(topk.valid_outputs(out).all())
    assert bool(jnp.all(jnp.diff(out.positions) >= 0))


@pytest.mark.parametrize("name", OPS[:3])
def test_sharp_limit_selects_the_hard_topk_at_100k_clips(name):
    """At T = 100,000 in float32, each operator's sharp limit selects exactly the hard
    top-k's clips, in time order, with their features."""
    T, k = 100_000, 15_000
    x = jax.random.normal(jax.random.key(0), (T, 4))
    s = jnp.asarray(np.random.default_rng(0).permutation(T), jnp.float32)  # gaps of 1
    hyper = {**SHARP[name], **({"samples": 2} if name == "perturbed" else {})}
    soft = jax.jit(lambda x, s: topk.get(name)(x, s, k, **hyper))(x, s)
    want = np.sort(np.argsort(-np.asarray(s))[:k])
    # positions are blends of clip indices up to 1e5 in float32 (a unit in the last place
    # is 2**-7 there): the selection is their rounding, and it must be exact
    np.testing.assert_array_equal(np.rint(np.asarray(soft.positions)), want)
    # a slot's membership comes from float32 running sums over up to k clips, exact to
    # k * eps relative: a slot may blend in that much of a neighbour (twice, for margin)
    tol = 2 * k * np.finfo(np.float32).eps * float(jnp.abs(x).max())
    np.testing.assert_allclose(soft.features, np.asarray(x)[want], atol=tol)
