"""Backbone contract: shapes and range, mask invariance, jit, gradients, registry."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import backbones
from csum.registry import UnknownNameError

KWARGS = {"msva": {"aperture": 4, "hidden": 16, "head": 8}, "vslstm": {"hidden": 8}}


def _inputs(B=2, T=12, dims=(6, 6)):
    feats = tuple(jax.random.normal(jax.random.key(i), (B, T, d)) for i, d in enumerate(dims))
    mask = jnp.arange(T)[None] < jnp.array([[T], [7]])
    return feats, mask


@pytest.mark.parametrize("name", ["msva", "vslstm"])
def test_shape_range_mask_invariance_and_jit(name):
    model = backbones.build(name, (6, 6), rngs=nnx.Rngs(0), **KWARGS[name])
    model.eval()
    feats, mask = _inputs()
    s = model(feats, mask)
    assert s.shape == (2, 12)
    assert bool(jnp.all((s[mask] > 0) & (s[mask] < 1))) and float(jnp.abs(s[~mask]).max()) == 0
    polluted = tuple(f.at[1, 7:].set(1e3) for f in feats)
    np.testing.assert_allclose(model(polluted, mask), s, atol=1e-6)
    shorter = model(tuple(f[1:, :7] for f in feats), mask[1:, :7])
    np.testing.assert_allclose(shorter[0], s[1, :7], atol=1e-5)
    np.testing.assert_allclose(nnx.jit(lambda m, f, k: m(f, k))(model, feats, mask), s, atol=1e-5)


@pytest.mark.parametrize("name", ["msva", "vslstm"])
def test_gradient_reaches_every_parameter(name):
    model = backbones.build(name, (6, 6), rngs=nnx.Rngs(0), **KWARGS[name], dropout=0.0)
    feats, mask = _inputs()
    grads = nnx.grad(lambda m: jnp.sum(m(feats, mask) * jnp.arange(12)))(model)
    for path, g in jax.tree_util.tree_leaves_with_path(nnx.state(grads, nnx.Param)):
        assert bool(jnp.all(jnp.isfinite(g))), path
        assert float(jnp.abs(g).max()) > 0, f"no gradient reaches {jax.tree_util.keystr(path)}"


def test_msva_sources_of_other_width_and_one_source():
    feats, mask = _inputs(dims=(6, 4, 9))
    model = backbones.build("msva", (6, 4, 9), rngs=nnx.Rngs(0), **KWARGS["msva"])
    assert model(feats, mask).shape == (2, 12)
    one = backbones.build("msva", (6,), rngs=nnx.Rngs(0), **KWARGS["msva"])
    assert one(feats[:1], mask).shape == (2, 12)


def test_bfloat16_compute_close_to_float32():
    feats, mask = _inputs()
    m32 = backbones.build("msva", (6, 6), rngs=nnx.Rngs(0), **KWARGS["msva"])
    m16 = backbones.build("msva", (6, 6), rngs=nnx.Rngs(0), **KWARGS["msva"], dtype=jnp.bfloat16)
    m32.eval(), m16.eval()
    np.testing.assert_allclose(m16(feats, mask), m32(feats, mask), atol=0.02)


def test_registry_errors():
    with pytest.raises(UnknownNameError, match="unknown backbone 'msvaa'; known: msva, vslstm"):
        backbones.build("msvaa", (6,), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="already registered"):
        backbones.BACKBONES.register("msva")(object)
