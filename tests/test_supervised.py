"""The supervised regime: labels, MSE, the DPP likelihood and its log-determinant."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from csum.data.labels import gt_keyframes, minmax_target
from csum.objectives.supervised import dpp_nll, logdet_spd, mse


def test_minmax_target():
    np.testing.assert_allclose(minmax_target(np.array([2.0, 4.0, 3.0])), [0, 1, 0.5])
    np.testing.assert_array_equal(minmax_target(np.array([0.3, 0.3])), [0, 0])


def test_gt_keyframes_hand_computed():
    # 3 shots of 10 frames, one step every 5 frames (2 steps per shot); capacity 15% of 30
    # frames = 4 frames: too small for any shot. At ratio 0.4 (12 frames) one shot fits:
    # the knapsack takes the shot of highest mean gtscore (shot 1), and its keyframe is the
    # step with the highest score in it (step 3).
    change_points = np.array([[0, 9], [10, 19], [20, 29]])
    picks = np.arange(0, 30, 5)
    gtscore = np.array([0.1, 0.2, 0.8, 0.9, 0.5, 0.4])
    assert not gt_keyframes(gtscore, change_points, 30, picks).any()
    np.testing.assert_array_equal(
        gt_keyframes(gtscore, change_points, 30, picks, ratio=0.4), [0, 0, 0, 1, 0, 0]
    )
    # At 0.7 (21 frames) two shots fit: shots 1 and 2, one keyframe each.
    np.testing.assert_array_equal(
        gt_keyframes(gtscore, change_points, 30, picks, ratio=0.7), [0, 0, 0, 1, 1, 0]
    )


def test_mse_ignores_padding():
    scores = jnp.array([[0.5, 1.0, 9.0], [0.0, 9.0, 9.0]])
    target = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    mask = jnp.array([[True, True, False], [True, False, False]])
    assert float(mse(scores, target, mask)) == pytest.approx((0.25 + 0 + 1) / 3)


def test_logdet_value_and_gradient_against_numpy():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 6, 6))
    a = jnp.asarray(m @ m.transpose(0, 2, 1) + 0.5 * np.eye(6), jnp.float32)
    np.testing.assert_allclose(logdet_spd(a), np.linalg.slogdet(np.asarray(a))[1], rtol=1e-5)
    g = jax.grad(lambda a: jnp.sum(logdet_spd(a) * jnp.arange(1.0, 4.0)))(a)
    want = np.arange(1.0, 4.0)[:, None, None] * np.linalg.inv(np.asarray(a, np.float64))
    np.testing.assert_allclose(g, want, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(jax.jit(logdet_spd)(a), logdet_spd(a), rtol=1e-6)


def _brute_force_nll(q, phi, y, jitter):
    """-log det(L_Y + jitter I) + log det(L + I) with the T x T kernel, in float64."""
    L = (q[:, None] * phi) @ (q[:, None] * phi).T
    sub = L[np.ix_(y, y)] + jitter * np.eye(int(y.sum()))
    return np.linalg.slogdet(L + np.eye(len(q)))[1] - np.linalg.slogdet(sub)[1]


def test_dpp_nll_equals_the_full_kernel_formula_and_ignores_padding():
    rng = np.random.default_rng(1)
    T, F = 7, 4
    q = rng.uniform(0.2, 0.9, size=T)
    phi = rng.normal(size=(T, F))
    phi /= np.linalg.norm(phi, axis=1, keepdims=True)
    y = np.array([1, 0, 0, 1, 0, 1, 0], bool)
    want = _brute_force_nll(q, phi, y, 1e-3)
    got = dpp_nll(
        jnp.asarray(q)[None], jnp.asarray(phi)[None], jnp.asarray(y)[None], jnp.ones((1, T), bool)
    )
    np.testing.assert_allclose(got[0], want, rtol=1e-3)
    # Padding: 3 more steps with junk, masked out (and marked selected, which must not count).
    pad = 3
    qp = np.r_[q, [0.7] * pad]
    phip = np.r_[phi, rng.normal(size=(pad, F))]
    yp = np.r_[y, [True] * pad]
    mask = np.r_[[True] * T, [False] * pad]
    padded = dpp_nll(
        jnp.asarray(qp)[None],
        jnp.asarray(phip)[None],
        jnp.asarray(yp)[None],
        jnp.asarray(mask)[None],
    )
    np.testing.assert_allclose(padded, got, rtol=1e-5)


def test_dpp_probabilities_sum_to_one():
    """sum over all subsets Y of det(L_Y + j I) / det(L + I) = det(L + (1 + j) I) / det(L + I).

    (With j = 0 the probabilities sum to 1.) The exact right side is computed in float64.
    The float32 code takes det(L_Y + j I) in the F x F feature space, where a set of K < F
    clips leaves F - K eigenvalues equal to j: its log-determinant is accurate to about
    eps32 / j = 6e-5 relative per set, so the sum of 16 terms is held to 2e-3 (at j = 1e-6
    the same computation was off by 1.5e-3 on one processor and 1e-3 on another).
    """
    rng = np.random.default_rng(2)
    T, F, j = 4, 3, 1e-3
    q = rng.uniform(0.3, 0.9, size=(1, T))
    phi = rng.normal(size=(1, T, F))
    phi = phi / np.linalg.norm(phi, axis=-1, keepdims=True)
    L = (q[0, :, None] * phi[0]) @ (q[0, :, None] * phi[0]).T
    exact = np.linalg.det(L + (1 + j) * np.eye(T)) / np.linalg.det(L + np.eye(T))
    q32, phi32 = jnp.asarray(q, jnp.float32), jnp.asarray(phi, jnp.float32)
    mask = jnp.ones((1, T), bool)
    total = 0.0
    for bits in itertools.product([False, True], repeat=T):
        y = jnp.asarray(bits)[None]
        total += float(jnp.exp(-dpp_nll(q32, phi32, y, mask, jitter=j))[0])
    assert total == pytest.approx(exact, rel=2e-3)
    assert exact == pytest.approx(1.0, abs=5e-3)  # the jitter's own effect is small


def test_dpp_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    T, F = 6, 3
    q = jnp.asarray(rng.uniform(0.3, 0.9, size=(1, T)))
    phi = rng.normal(size=(1, T, F))
    phi = jnp.asarray(phi / np.linalg.norm(phi, axis=-1, keepdims=True))
    y = jnp.asarray([[1, 0, 1, 0, 0, 1]], bool)
    mask = jnp.ones((1, T), bool)

    def f(q):
        return dpp_nll(q, phi, y, mask)[0]

    g = jax.grad(f)(q)
    eps = 1e-3
    for i in range(T):
        e = jnp.zeros_like(q).at[0, i].set(eps)
        fd = (f(q + e) - f(q - e)) / (2 * eps)
        np.testing.assert_allclose(g[0, i], fd, rtol=2e-2, atol=2e-3)
