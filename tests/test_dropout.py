"""The hashed dropout: rate, independence, determinism, scaling, eval mode and gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from csum.nn.dropout import Dropout, dropout
from csum.nn.hashing import fmix32, hash_bits

WORDS = jnp.array([12345, 678], jnp.uint32)


def test_fmix32_known_values_and_bijection():
    # Known outputs of the C reference fmix32 (smhasher), e.g. fmix32(1) = 0x514E28B7.
    x = jnp.array([0, 1, 0xFFFFFFFF], jnp.uint32)
    np.testing.assert_array_equal(np.asarray(fmix32(x)), [0, 0x514E28B7, 0x81F16F39])
    y = np.asarray(fmix32(jnp.arange(1 << 16, dtype=jnp.uint32)))
    assert len(np.unique(y)) == 1 << 16


def test_hash_bits_are_distinct_and_keyed():
    a = np.asarray(hash_bits(WORDS, (64, 1024)))
    # Pairs collide with probability 2^-32: about 0.5 expected among 65,536 elements.
    assert len(np.unique(a)) >= a.size - 8
    line = np.asarray(hash_bits(WORDS, (1 << 16,)))
    assert len(np.unique(line)) == line.size  # 1-D: a bijection of the index
    b = np.asarray(hash_bits(jnp.array([12345, 679], jnp.uint32), (64, 1024)))
    assert np.mean(a == b) < 1e-3


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_drop_rate_and_scale(rate):
    x = jnp.ones((1000, 1000))
    y = np.asarray(dropout(x, rate, WORDS))
    dropped = y == 0
    assert abs(dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / y.size)
    np.testing.assert_allclose(y[~dropped], 1 / (1 - rate), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.01  # expectation is preserved


def test_bits_do_not_depend_on_the_extent_of_any_axis():
    big = np.asarray(hash_bits(WORDS, (3, 50, 40)))
    np.testing.assert_array_equal(np.asarray(hash_bits(WORDS, (2, 30, 40))), big[:2, :30])
    np.testing.assert_array_equal(np.asarray(hash_bits(WORDS, (3, 50, 7))), big[:, :, :7])


def test_neighbouring_masks_are_uncorrelated():
    keep = np.asarray(dropout(jnp.ones((512, 1024)), 0.5, WORDS) > 0, np.float64)
    for a, b in [(keep[:, 1:], keep[:, :-1]), (keep[1:], keep[:-1])]:
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01


def test_jit_equals_eager_and_rate_zero_is_identity():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(7, 33)), jnp.float32)
    np.testing.assert_array_equal(
        jax.jit(dropout, static_argnums=1)(x, 0.3, WORDS), dropout(x, 0.3, WORDS)
    )
    assert dropout(x, 0.0, WORDS) is x
    with pytest.raises(ValueError, match="rate"):
        dropout(x, 1.0, WORDS)


def test_gradient_is_the_scaled_mask():
    x = jnp.ones((50, 40))
    g = jax.grad(lambda v: jnp.sum(dropout(v, 0.25, WORDS)))(x)
    y = dropout(x, 0.25, WORDS)
    np.testing.assert_allclose(g, y)  # d/dx (mask * x / (1 - p)) = mask / (1 - p)


def test_module_follows_train_eval_and_rng_stream():
    layer = Dropout(0.5, rngs=nnx.Rngs(dropout=0))
    x = jnp.ones((8, 16))
    a, b = layer(x), layer(x)
    assert not np.array_equal(a, b)  # a fresh key per call
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)
    layer.train()
    nnx.reseed(layer, dropout=3)
    c = layer(x)
    nnx.reseed(layer, dropout=3)
    np.testing.assert_array_equal(layer(x), c)  # reseeding reproduces the mask


def test_hash_normal_is_finite_standard_normal():
    from csum.nn.hashing import bits_to_normal, hash_normal

    # The extreme bit patterns map to finite values (a 24-bit uniform would round to 1.0).
    ends = np.asarray(bits_to_normal(jnp.array([0, 0xFFFFFFFF], jnp.uint32)))
    assert np.isfinite(ends).all() and ends[0] == -ends[1] and 5.0 < ends[1] < 5.4
    z = np.asarray(hash_normal(WORDS, (1 << 20,)))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    # Element i's draw does not depend on the array's length (padding changes no draw).
    np.testing.assert_array_equal(np.asarray(hash_normal(WORDS, (100,))), z[:100])
