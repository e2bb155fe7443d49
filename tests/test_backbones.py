"""Backbone contract: shapes and range, mask invariance, jit, gradients, registry."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import backbones
from backbones.registry import outputs
from csum.registry import UnknownNameError

KWARGS = {
    "msva": {"aperture": 4, "hidden": 16, "head": 8},
    "vslstm": {"hidden": 8},
    "dpplstm": {"hidden": 8, "phi_dim": 5},
    "vasnet": {},
    "vasnet_aperture": {"aperture": 3},
    "transformer": {"dim": 16, "heads": 4, "ffn": 32},
    "transformer_audio": {"dim": 16, "heads": 4, "ffn": 32, "audio": True},
    "visionary": {"dim": 16, "heads": 4, "ffn": 32, "query_dim": 5},
    "visionary_audio": {"dim": 16, "heads": 4, "ffn": 32, "query_dim": 5, "audio": True},
    "crosstask_sm": {"dim": 16, "heads": 4},
    "crosstask_lm": {"dim": 16, "heads": 4, "query_dim": 5},
    "a2summ": {"dim": 16, "heads": 4, "text_dim": 5, "layers": 2},
    "mhms": {"hidden": 8, "heads": 4, "text_dim": 5, "align": 8, "window": 2},
}
NAMES = list(KWARGS)
QUERY = {
    "query": jax.random.normal(jax.random.key(9), (2, 4, 5)),
    "query_mask": jnp.array([[True] * 4, [True, True, False, False]]),
    "text": jax.random.normal(jax.random.key(8), (2, 3, 5)),
    "text_mask": jnp.array([[True] * 3, [True, True, False]]),
    "text_spans": jnp.array([[[0, 4], [4, 9], [9, 12]], [[0, 3], [3, 7], [0, 0]]]),
}
"""Every named stream (each backbone is handed the ones it reads)."""


def _call(model, feats, mask):
    """The backbone through the input contract (its streams when it reads some)."""
    return outputs(model, feats, mask, QUERY)


def _close(a, b, atol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, atol=atol)


def _build(name, dims=(6, 6), **extra):
    registered = name if name in backbones.BACKBONES else name.rsplit("_", 1)[0]
    return backbones.build(registered, dims, rngs=nnx.Rngs(0), **KWARGS[name], **extra)


def _inputs(B=2, T=12, dims=(6, 6)):
    feats = tuple(jax.random.normal(jax.random.key(i), (B, T, d)) for i, d in enumerate(dims))
    mask = jnp.arange(T)[None] < jnp.array([[T], [7]])
    return feats, mask


@pytest.mark.parametrize("name", NAMES)
def test_shape_range_mask_invariance_and_jit(name):
    model = _build(name)
    model.eval()
    feats, mask = _inputs()
    out = _call(model, feats, mask)
    s = out.scores
    assert s.shape == (2, 12)
    assert bool(jnp.all((s[mask] > 0) & (s[mask] < 1))) and float(jnp.abs(s[~mask]).max()) == 0
    polluted = tuple(f.at[1, 7:].set(1e3) for f in feats)
    _close(_call(model, polluted, mask), out, 1e-5)  # every named output, not scores alone
    short = jax.tree.map(lambda x: x[1:], QUERY)
    shorter = outputs(model, tuple(f[1:, :7] for f in feats), mask[1:, :7], short)
    for name, a in shorter._asdict().items():
        b = getattr(out, name)
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
            if x.ndim == 0:  # a parameter read out (a2summ's temperature)
                np.testing.assert_allclose(x, y, atol=1e-6)
                continue
            steps = y.shape[1] == 12 and x.shape[1] == 7  # a per-step output: cut to 7
            np.testing.assert_allclose(x[0], y[1, :7] if steps else y[1], atol=1e-5)
    jitted = nnx.jit(lambda m, f, k: _call(m, f, k).scores)(model, feats, mask)
    np.testing.assert_allclose(jitted, s, atol=1e-5)


def _objective(model, feats, mask):
    """A loss that touches every head: dppLSTM's diversity features too."""
    if hasattr(model, "scores_and_diversity"):
        s, phi = model.scores_and_diversity(feats, mask)
        return jnp.sum(s * jnp.arange(12)) + jnp.sum(phi[..., 0] * jnp.arange(12))
    out = _call(model, feats, mask)
    moments = 0.0 if out.moments is None else jnp.sum(out.moments * jnp.arange(36).reshape(12, 3))
    sentences = 0.0 if out.sentences is None else jnp.sum(out.sentences * jnp.arange(3))
    extras = sum(jnp.sum(x) for x in jax.tree.leaves(out.extras))  # what a system's loss reads
    return jnp.sum(out.scores * jnp.arange(12)) + moments + sentences + extras


@pytest.mark.parametrize("name", NAMES)
def test_gradient_reaches_every_parameter(name):
    model = _build(name, dropout=0.0)
    feats, mask = _inputs()
    grads = nnx.jit(nnx.grad(_objective))(model, feats, mask)
    for path, g in jax.tree_util.tree_leaves_with_path(nnx.state(grads, nnx.Param)):
        assert bool(jnp.all(jnp.isfinite(g))), path
        assert float(jnp.abs(g).max()) > 0, f"no gradient reaches {jax.tree_util.keystr(path)}"


def test_dpplstm_scores_equal_vslstm_trunk_and_diversity_is_unit_and_masked():
    model = _build("dpplstm")
    model.eval()
    feats, mask = _inputs()
    s, phi = model.scores_and_diversity(feats, mask)
    np.testing.assert_allclose(s, model(feats, mask), atol=1e-6)
    norms = jnp.linalg.norm(phi, axis=-1)
    np.testing.assert_allclose(norms[mask], 1.0, atol=1e-5)
    assert float(jnp.abs(phi[~mask]).max()) == 0


def test_transformer_query_conditioning():
    """A query changes the scores, padded query tokens change nothing, no query = none."""
    model = _build("transformer", query_dim=5)
    model.eval()
    feats, mask = _inputs()
    query = jax.random.normal(jax.random.key(9), (2, 4, 5))
    q_mask = jnp.array([[True] * 4, [True, True, False, False]])
    s = model(feats, mask, query, q_mask)
    assert float(jnp.abs(s - model(feats, mask)).max()) > 1e-4
    polluted = query.at[1, 2:].set(1e3)
    np.testing.assert_allclose(model(feats, mask, polluted, q_mask), s, atol=1e-6)
    with pytest.raises(ValueError, match="needs a video and an audio source"):
        backbones.build("transformer", (6,), rngs=nnx.Rngs(0), audio=True)


def test_sinusoidal_positions_known_values():
    from csum.nn.positions import sinusoidal_positions

    p = sinusoidal_positions(3, 4)
    np.testing.assert_allclose(p[0], [0, 1, 0, 1], atol=1e-7)
    np.testing.assert_allclose(p[2], [np.sin(2), np.cos(2), np.sin(0.02), np.cos(0.02)], atol=1e-6)


def test_sincos_2d_known_values():
    from csum.nn.positions import sincos_2d

    p = sincos_2d(2, 3, 8)  # quarter 2: omega = (1, 1/10000)
    assert p.shape == (6, 8)
    y, x = 1.0, 2.0  # row-major: entry 5 is (y=1, x=2)
    omega = np.array([1.0, 1e-4])
    want = np.r_[np.sin(y * omega), np.cos(y * omega), np.sin(x * omega), np.cos(x * omega)]
    np.testing.assert_allclose(p[5], want, atol=1e-6)
    np.testing.assert_allclose(p[0], [0, 0, 1, 1, 0, 0, 1, 1], atol=1e-7)
    with pytest.raises(ValueError, match="multiple of 4"):
        sincos_2d(1, 3, 6)


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
    known = (
        "a2summ, crosstask_lm, crosstask_sm, dpplstm, mhms, msva, transformer, vasnet, "
        "visionary, vslstm"
    )
    with pytest.raises(UnknownNameError, match=f"unknown backbone 'msvaa'; known: {known}"):
        backbones.build("msvaa", (6,), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="already registered"):
        backbones.BACKBONES.register("msva")(object)
