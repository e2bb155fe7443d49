"""csum.nn.ot: IPOT against exact transport (linear programming), masks, gradients, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog

from csum.nn.ot import cosine_cost, ipot, transport_cost


def exact_ot(cost, a, b):
    """The optimal transport cost by linear programming (scipy's HiGHS)."""
    n, m = cost.shape
    rows = np.kron(np.eye(n), np.ones(m))  # sum_j T_ij = a_i
    cols = np.kron(np.ones(n), np.eye(m))  # sum_i T_ij = b_j
    res = linprog(
        cost.ravel(),
        A_eq=np.vstack([rows, cols]),
        b_eq=np.r_[a, b],
        bounds=(0, None),
        method="highs",
    )
    assert res.success
    return res.fun


def test_by_hand_two_by_two():
    cost = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    plan = ipot(cost, jnp.array([0.5, 0.5]), jnp.array([0.5, 0.5]))
    np.testing.assert_allclose(plan, [[0.5, 0.0], [0.0, 0.5]], atol=1e-6)
    # moving mass: a = (1, 0) must go half to each column at cost 0.5
    plan = ipot(cost, jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
    np.testing.assert_allclose(plan, [[0.5, 0.5], [0.0, 0.0]], atol=1e-6)
    assert float(transport_cost(cost, plan)) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_reaches_the_exact_transport_cost(seed):
    """IPOT converges to the exact optimum (Sinkhorn would stay entropy-biased): after
    1000 proximal steps the plan's marginals hold to float32 rounding (1e-5) and its cost
    is the LP optimum's to 1e-4 of the cost scale."""
    rng = np.random.default_rng(seed)
    n, m = rng.integers(3, 7, size=2)
    cost = rng.uniform(0, 2, size=(n, m))
    a, b = rng.uniform(0.2, 1, n), rng.uniform(0.2, 1, m)
    a, b = a / a.sum(), b / b.sum()
    plan = np.asarray(ipot(jnp.asarray(cost), jnp.asarray(a), jnp.asarray(b), outer=1000))
    np.testing.assert_allclose(plan.sum(1), a, atol=1e-5)
    np.testing.assert_allclose(plan.sum(0), b, atol=1e-5)
    assert (plan >= 0).all()
    assert float((cost * plan).sum()) == pytest.approx(exact_ot(cost, a, b), abs=1e-4)


def test_padding_changes_neither_the_plan_nor_its_gradient():
    rng = np.random.default_rng(0)
    cost = jnp.asarray(rng.uniform(0, 2, size=(4, 5)), jnp.float32)
    a, b = jnp.full(4, 0.25), jnp.full(5, 0.2)
    padded = jnp.asarray(rng.uniform(0, 50, size=(6, 8)), jnp.float32).at[:4, :5].set(cost)
    pa, pb = jnp.zeros(6).at[:4].set(a), jnp.zeros(8).at[:5].set(b)
    plan, big = ipot(cost, a, b), ipot(padded, pa, pb)
    np.testing.assert_allclose(big[:4, :5], plan, rtol=1e-6, atol=1e-7)
    assert float(jnp.abs(big[4:]).max()) == 0.0 and float(jnp.abs(big[:, 5:]).max()) == 0.0

    def loss(c, x, y):
        return transport_cost(c, ipot(c, x, y, outer=50))

    g, gp = jax.grad(loss)(cost, a, b), jax.grad(loss)(padded, pa, pb)
    np.testing.assert_allclose(gp[:4, :5], g, rtol=1e-5, atol=1e-7)
    assert float(jnp.abs(gp[4:]).max()) == 0.0 and float(jnp.abs(gp[:, 5:]).max()) == 0.0


def test_gradient_matches_finite_differences_and_jit_matches_eager():
    rng = np.random.default_rng(1)
    cost = jnp.asarray(rng.uniform(0, 1, size=(3, 4)), jnp.float32)
    a, b = jnp.array([0.5, 0.3, 0.2]), jnp.full(4, 0.25)

    def loss(c):
        return transport_cost(c, ipot(c, a, b, beta=1.0, outer=20))

    grad = np.asarray(jax.grad(loss)(cost))
    eps = 1e-2  # float32: a central difference's error is O(eps^2) + O(1e-7 / eps)
    for i in range(3):
        for j in range(4):
            e = jnp.zeros_like(cost).at[i, j].set(eps)
            fd = (float(loss(cost + e)) - float(loss(cost - e))) / (2 * eps)
            assert fd == pytest.approx(grad[i, j], abs=2e-3)
    np.testing.assert_allclose(jax.jit(loss)(cost), loss(cost), rtol=1e-6)


def test_batched_problems_and_cosine_cost():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))
    cost = cosine_cost(jnp.asarray(x), jnp.asarray(y))
    assert cost.shape == (2, 3, 5)
    want = (
        1
        - (x[0] / np.linalg.norm(x[0], axis=1, keepdims=True))
        @ (y[0] / np.linalg.norm(y[0], axis=1, keepdims=True)).T
    )
    np.testing.assert_allclose(cost[0], want, atol=1e-5)
    a, b = jnp.full((2, 3), 1 / 3), jnp.full((2, 5), 0.2)
    both = ipot(cost, a, b)
    for k in range(2):
        np.testing.assert_allclose(both[k], ipot(cost[k], a[k], b[k]), rtol=1e-5, atol=1e-7)
