"""csum.model.residual: a backbone as a gated residual on the collection contrast."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from scipy.stats import rankdata

import backbones
from backbones.registry import Outputs
from csum.model.residual import ContrastResidual


def _inputs(B=2, T=12, D=8, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=(B, T, D)), jnp.float32)
    c = jnp.asarray(rng.normal(size=(B, T, 1)), jnp.float32)
    mask = jnp.asarray(np.arange(T)[None] < np.array([[T], [T - 4]]))
    return (x, c), mask


def _wrapped(name="vslstm", gain=10.0, seed=0):
    inner = backbones.build(
        name, (8, 1), rngs=nnx.Rngs(seed, params=seed, dropout=seed + 1), dropout=0.0, hidden=16
    )
    return ContrastResidual(inner, channel=1, gain=gain)


def test_starts_at_the_contrast_ranking():
    """With the gate at 0 the scores are sigmoid(c): the contrast's ranking of every video,
    whatever the backbone's weights; 0 at padding."""
    features, mask = _inputs()
    model = _wrapped()
    model.eval()
    s = np.asarray(model(features, mask))
    c = np.asarray(features[1][..., 0])
    m = np.asarray(mask)
    for b in range(2):
        np.testing.assert_allclose(s[b][m[b]], 1 / (1 + np.exp(-c[b][m[b]])), rtol=1e-6)
        np.testing.assert_array_equal(rankdata(s[b][m[b]]), rankdata(c[b][m[b]]))
    assert (s[~m] == 0).all()


def test_gate_moves_and_the_backbone_enters():
    """The loss reaches the gate at once (its gradient is the backbone's centred scores
    against the loss's gradient), and the backbone's parameters once the gate is open."""
    features, mask = _inputs()
    model = _wrapped()
    model.eval()
    target = jnp.asarray(np.random.default_rng(1).normal(size=mask.shape), jnp.float32)

    def loss(m):
        return jnp.sum(jnp.where(mask, m(features, mask) * target, 0.0))

    grads = nnx.grad(loss)(model)
    assert abs(float(grads.gate[...])) > 0
    inner = jax.tree.leaves(nnx.state(grads.inner, nnx.Param))
    assert all(float(jnp.abs(g).max()) == 0 for g in inner)  # closed gate: no signal yet
    model.gate[...] = jnp.asarray(0.1, jnp.float32)
    grads = nnx.grad(loss)(model)
    inner = jax.tree.leaves(nnx.state(grads.inner, nnx.Param))
    assert any(float(jnp.abs(g).max()) > 0 for g in inner)


def test_the_residual_is_bounded_by_the_gate():
    """However the backbone saturates, a clip moves by at most gain * |gate| (pre-sigmoid)."""
    features, mask = _inputs()
    model = _wrapped(gain=2.0)
    model.eval()
    model.gate[...] = jnp.asarray(0.25, jnp.float32)
    s = np.asarray(model(features, mask), np.float64)
    m = np.asarray(mask)
    moved = np.log(s[m]) - np.log1p(-s[m]) - np.asarray(features[1][..., 0])[m]
    assert np.abs(moved).max() <= 0.5 + 1e-5


def test_padding_changes_neither_scores_nor_gradients():
    features, mask = _inputs()
    model = _wrapped()
    model.eval()
    model.gate[...] = jnp.asarray(0.05, jnp.float32)
    pad = 20
    longer = tuple(jnp.pad(f, ((0, 0), (0, pad), (0, 0)), constant_values=7.0) for f in features)
    long_mask = jnp.pad(mask, ((0, 0), (0, pad)))
    short, long = model(features, mask), model(longer, long_mask)
    np.testing.assert_allclose(np.asarray(long)[:, :12], np.asarray(short), rtol=1e-6, atol=1e-7)

    def loss(m, f, k):
        return jnp.sum(jnp.where(k, m(f, k), 0.0) ** 2)

    g1 = nnx.grad(loss)(model, features, mask)
    g2 = nnx.grad(loss)(model, longer, long_mask)
    np.testing.assert_allclose(float(g1.gate[...]), float(g2.gate[...]), rtol=1e-5)


def test_jit_equals_eager_and_outputs_pass_through():
    features, mask = _inputs()
    model = _wrapped()
    model.eval()
    model.gate[...] = jnp.asarray(0.2, jnp.float32)
    eager = model(features, mask)
    jitted = nnx.jit(lambda m, f, k: m(f, k))(model, features, mask)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-6, atol=1e-7)

    class Named(nnx.Module):  # a backbone that names its outputs (a multimodal system)
        def __call__(self, features, mask):
            return Outputs(jnp.full(mask.shape, 0.5), saliency=jnp.ones(mask.shape))

    wrapped = ContrastResidual(Named(), channel=1)
    out = wrapped(features, mask)
    assert isinstance(out, Outputs) and out.saliency is not None
    np.testing.assert_allclose(
        np.asarray(out.scores)[0], np.asarray(jax.nn.sigmoid(features[1][0, :, 0])), rtol=1e-6
    )


def test_the_default_csum_config_builds_the_residual_and_the_supervised_one_does_not():
    from csum.model.summarizer import ModelSpec, build_summarizer
    from experiments.config_loader import apply_overrides, load_config

    csum = load_config("tvsum_vslstm:synthetic,quick")
    assert isinstance(
        build_summarizer(ModelSpec.from_config(csum), (8, 1), seed=0).backbone, ContrastResidual
    )
    apply_overrides(csum, {"backbone.contrast_input": "false"})  # nothing to start from
    assert not isinstance(
        build_summarizer(ModelSpec.from_config(csum), (8,), seed=0).backbone, ContrastResidual
    )
    supervised = load_config("tvsum_vslstm_supervised:synthetic,quick")
    assert not isinstance(
        build_summarizer(ModelSpec.from_config(supervised), (8, 1), seed=0).backbone,
        ContrastResidual,
    )
    paper = load_config("tvsum_msva:synthetic,paper")
    assert not paper.backbone.residual
