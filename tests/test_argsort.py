"""csum.topk.argsort.stable_argsort equals jnp.argsort(stable=True), exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from csum.topk.argsort import PACKED_MAX, ordered_bits, stable_argsort
from csum.topk.contract import PAD_SCORE


def _check(v):
    v32 = np.asarray(v, np.float32)
    v32 = np.where(np.abs(v32) < np.finfo(np.float32).tiny, 0.0, v32)  # subnormals are 0
    want = np.argsort(v32, axis=-1, kind="stable")
    np.testing.assert_array_equal(np.asarray(stable_argsort(v)), want)
    np.testing.assert_array_equal(np.asarray(jax.jit(stable_argsort)(v)), want)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 8192, PACKED_MAX, PACKED_MAX + 1])
def test_random_scores(n):
    _check(jax.random.uniform(jax.random.key(n), (n,)))


def test_ties_signs_and_infinities_keep_index_order():
    v = jnp.array(
        [0.5, -0.0, 0.0, PAD_SCORE, 0.5, -jnp.inf, jnp.inf, -1e-38, 1e-38, PAD_SCORE, -3.0, 0.0]
    )
    _check(v)
    _check(-v)
    _check(jnp.zeros(100))  # all equal: the identity
    _check(jnp.repeat(jnp.arange(50.0)[::-1], 7))  # runs of equal values


def test_narrow_dtypes_and_leading_dims():
    v = jax.random.normal(jax.random.key(1), (3, 4, 257)).astype(jnp.bfloat16)  # many ties
    _check(v)
    batched = jax.vmap(stable_argsort)(v.reshape(12, 257))
    np.testing.assert_array_equal(np.asarray(batched).reshape(3, 4, 257), stable_argsort(v))
    _check(jnp.array([True, False, True, False]))


def test_ordered_bits_is_monotone():
    v = jnp.array([-jnp.inf, PAD_SCORE, -2.0, -1e-30, 0.0, 1e-30, 0.25, 1.0, 3e38, jnp.inf])
    bits = np.asarray(ordered_bits(v)).astype(np.int64)
    assert (np.diff(bits) > 0).all()
    assert ordered_bits(jnp.array([-0.0]))[0] == ordered_bits(jnp.array([0.0]))[0]


def test_subnormals_count_as_zero_like_jnp_argsort():
    v = jnp.array([1e-38, 0.0, -1e-38, -0.0, 2e-45, 1e-30, -1e-30])
    _check(v)
    np.testing.assert_array_equal(
        np.asarray(jax.jit(stable_argsort)(v)), np.asarray(jnp.argsort(v, stable=True))
    )
