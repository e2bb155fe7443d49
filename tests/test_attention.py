"""csum.nn.attention: the chunked path equals the dense one (values, dropout, gradients)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import backbones
from csum.nn.attention import choose_impl, dot_product_attention

KEY_WORDS = jnp.array([123456789, 987654321], jnp.uint32)


def _inputs(shape_batch, T, d=8, seed=0):
    rng = np.random.default_rng(seed)
    q, k, v = (jnp.asarray(rng.normal(size=(*shape_batch, T, d)), jnp.float32) for _ in "qkv")
    lengths = np.array([T, T - 11, 7])[: shape_batch[0]]
    mask = jnp.asarray(np.arange(T)[None, :] < lengths[:, None])
    return q, k, v, mask


def _valid(y, mask):
    """Outputs at real query steps (padded queries are never read downstream)."""
    m = mask.reshape(mask.shape[0], *([1] * (y.ndim - 3)), mask.shape[-1], 1)
    return jnp.where(m, y, 0.0)


@pytest.mark.parametrize("batch", [(3,), (3, 2)], ids=["single-head", "multi-head"])
@pytest.mark.parametrize("aperture", [0, 5, 40])
@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_chunked_equals_dense(batch, aperture, rate):
    # T = 50 with chunks of 8: a ragged last block, and bands narrower and wider than T.
    q, k, v, mask = _inputs(batch, 50)
    words = KEY_WORDS if rate else None

    def run(impl, q, k, v):
        y = dot_product_attention(
            q,
            k,
            v,
            mask,
            aperture=aperture,
            dropout_rate=rate,
            dropout_words=words,
            impl=impl,
            chunk=8,
        )
        return _valid(y, mask)

    dense, chunked = run("dense", q, k, v), run("chunked", q, k, v)
    np.testing.assert_allclose(chunked, dense, rtol=1e-5, atol=1e-5)

    def loss(impl):
        return lambda q, k, v: jnp.sum(jnp.sin(run(impl, q, k, v)))

    g_dense = jax.grad(loss("dense"), argnums=(0, 1, 2))(q, k, v)
    g_chunk = jax.grad(loss("chunked"), argnums=(0, 1, 2))(q, k, v)
    for a, b in zip(g_chunk, g_dense, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_chunked_under_jit_and_grad_memory_is_linear():
    # The compiled training-style program's temporaries grow linearly with T on the chunked
    # path (the dense one quadratically): XLA's own buffer assignment, no timing involved.
    def temp_bytes(impl, T):
        q, k, v, mask = _inputs((1,), T, d=16)

        def loss(q, k, v, mask):
            return jnp.sum(dot_product_attention(q, k, v, mask, impl=impl, chunk=256))

        compiled = jax.jit(jax.grad(loss)).lower(q, k, v, mask).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    small, large = temp_bytes("chunked", 2048), temp_bytes("chunked", 8192)
    assert large < 6 * small  # linear: 4x, with slack for fixed costs
    assert temp_bytes("dense", 8192) > 8 * temp_bytes("dense", 2048)  # quadratic: 16x


def test_auto_picks_by_size_and_rejects_unknown():
    kw = dict(dense_max=64, dropout_on=True, dtype=jnp.float32, head_dim=32)
    assert choose_impl("auto", 64, 64, **kw) == "dense"
    assert choose_impl("auto", 65, 64, **kw) == "chunked"  # no GPU here, or dropout on
    # With an aperture the band pays once it halves the keys a block reads.
    assert choose_impl("auto", 64, 64, band=40, **kw) == "dense"
    assert choose_impl("auto", 64, 64, band=30, **kw) == "chunked"
    with pytest.raises(ValueError, match="attention impl must be one of"):
        choose_impl("flash", 8, 8, **kw)


@pytest.mark.parametrize("name", ["vasnet", "msva", "transformer"])
def test_backbones_long_path_equals_dense(name):
    # The same weights scored densely and in chunks, in training mode (dropout on).
    rng = np.random.default_rng(1)
    feats = (jnp.asarray(rng.normal(size=(2, 300, 16)), jnp.float32),)
    mask = jnp.asarray(np.arange(300)[None, :] < np.array([[300], [233]]))
    scores = {}
    for impl in ("dense", "chunked"):
        kw = {"aperture": 50} if name == "msva" else {}
        model = backbones.build(
            name, (16,), rngs=nnx.Rngs(0), attention=impl, attention_chunk=64, **kw
        )
        nnx.reseed(model, dropout=7)
        scores[impl] = model(feats, mask)
    np.testing.assert_allclose(scores["chunked"], scores["dense"], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(jax.default_backend() != "gpu", reason="cuDNN attention needs an NVIDIA GPU")
def test_cudnn_matches_chunked():
    # bfloat16 inputs on both paths; the kernels sum in different orders, so the tolerance
    # is bfloat16's (8 bits of mantissa: relative steps of 2^-8).
    q, k, v, mask = _inputs((2, 4), 1000, d=64)
    run = {
        impl: _valid(dot_product_attention(q, k, v, mask, impl=impl, dtype=jnp.bfloat16), mask)
        for impl in ("chunked", "cudnn")
    }
    np.testing.assert_allclose(run["cudnn"], run["chunked"], rtol=2e-2, atol=2e-2)


def test_attention_kwargs_are_validated():
    from experiments.config_loader import ConfigError, apply_overrides, load_config
    from experiments.validation import validate

    config = load_config("tvsum_vasnet:synthetic")
    apply_overrides(config, {"backbone.kwargs.attention": "flash"})
    with pytest.raises(ConfigError, match="attention='flash': expected one of auto, dense"):
        validate(config)


def _checker(t, s):
    """A structured mask with no band: row t allows key s when (t // 3 + s // 5) is even."""
    return (t[:, None] // 3 + s[None, :] // 5) % 2 == 0


@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_structured_mask_chunked_equals_dense(rate):
    # The mask comes as rows (csum.nn.attention's ``rows``); the chunked path asks for its
    # blocks' rows only, including rows past T in the ragged last block.
    q, k, v, mask = _inputs((3, 2), 50)
    words = KEY_WORDS if rate else None

    def rows(r):
        return jnp.broadcast_to(_checker(r, jnp.arange(50)), (3, r.shape[0], 50))

    def run(impl, q, k, v):
        y = dot_product_attention(
            q, k, v, mask, rows=rows, dropout_rate=rate, dropout_words=words, impl=impl, chunk=8
        )
        return _valid(y, mask)

    # known answer: the dense path with the mask folded into the logits by hand
    logits = jnp.einsum("bhtd,bhsd->bhts", q, k)
    allowed = _checker(jnp.arange(50), jnp.arange(50))[None, None] & mask[:, None, None]
    want = jnp.einsum("bhts,bhsd->bhtd", jax.nn.softmax(jnp.where(allowed, logits, -1e9)), v)
    if not rate:
        np.testing.assert_allclose(run("dense", q, k, v), _valid(want, mask), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run("chunked", q, k, v), run("dense", q, k, v), rtol=1e-5, atol=1e-5)

    def grads(impl):
        return jax.grad(lambda q, k, v: jnp.sum(jnp.sin(run(impl, q, k, v))), argnums=(0, 1, 2))(
            q, k, v
        )

    for a, b in zip(grads("chunked"), grads("dense"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="aperture or a structured mask"):
        dot_product_attention(q, k, v, mask, rows=rows, aperture=3)


def _a2summ_inputs(B, T, M, seed=0):
    rng = np.random.default_rng(seed)
    feats = (jnp.asarray(rng.normal(size=(B, T, 16)), jnp.float32),)
    mask = jnp.asarray(np.arange(T)[None, :] < np.array([T, T - T // 4])[:B, None])
    text = jnp.asarray(rng.normal(size=(B, M, 8)), jnp.float32)
    text_mask = jnp.asarray(np.arange(M)[None, :] < np.array([M, M - 2])[:B, None])
    edges = np.linspace(0, T, M + 1).astype(int)
    spans = jnp.asarray(np.broadcast_to(np.stack([edges[:-1], edges[1:]], 1), (B, M, 2)))
    return feats, mask, text, text_mask, spans


def test_a2summ_long_path_equals_dense():
    # A2Summ's alignment mask is never built whole on the chunked path: the same weights
    # give the same frame and sentence scores (dropout on).
    inputs = _a2summ_inputs(2, 150, 12)
    out = {}
    for impl in ("dense", "chunked"):
        model = backbones.build(
            "a2summ",
            (16,),
            rngs=nnx.Rngs(0),
            text_dim=8,
            dim=16,
            attention=impl,
            attention_chunk=32,
        )
        nnx.reseed(model, dropout=7)
        o = nnx.jit(lambda m, *x: m(*x))(model, *inputs)
        out[impl] = (o.scores, o.sentences)
    for a, b in zip(out["chunked"], out["dense"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["a2summ", "mhms"])
def test_transcript_backbones_training_memory_is_linear(name):
    # The compiled forward and backward pass (dropout on) of a video with its transcript,
    # one sentence per 16 steps: XLA's temporaries grow 4x from 512 to 2,048 steps when
    # memory is linear (16x for A2Summ's dense mask, 14x measured for MHMS's decoder
    # before its steps were rematerialised).
    kwargs = {
        "a2summ": dict(dim=16, attention="auto", attention_dense_max=256, attention_chunk=128),
        "mhms": dict(hidden=16, align=8),
    }[name]
    model = backbones.build(name, (16,), rngs=nnx.Rngs(0), text_dim=8, **kwargs)
    grad = nnx.jit(nnx.grad(lambda m, *inputs: jnp.sum(m(*inputs).scores)))

    def temp_bytes(T):
        compiled = grad.lower(model, *_a2summ_inputs(1, T, T // 16)).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    assert temp_bytes(2048) < 5 * temp_bytes(512)
