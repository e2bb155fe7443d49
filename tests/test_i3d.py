"""The NNX I3D port: the known answer on the I3D sample clip, and its reference module.

Tolerances: the logits are sums of ~10^4 float32 products per layer over ~60 layers, so
two correct implementations that order the sums differently (another CPU's kernels, other
fusions) may differ by about sqrt(n) * 2^-24 * |logit| ~ 1e-4; we allow 1e-3 absolute on
logits of magnitude ~18 and 1e-4 relative L2 on Mixed_5c. The known answer is given to two
decimals for the logit and four for the probability.
"""

import numpy as np
import pytest

from benchmarks.i3d_reference import labels, port_outputs, read_clip, reference_outputs


@pytest.fixture(scope="module")
def clip():
    video = read_clip()
    assert video.shape == (79, 224, 224, 3) and video.min() >= -1 and video.max() <= 1
    return video


@pytest.fixture(scope="module")
def port(clip):
    return port_outputs(clip)


def test_known_answer_on_the_sample_clip(port):
    logits, mixed = port
    names = labels()
    assert len(names) == 400 and logits.shape == (400,)
    top = int(np.argmax(logits))
    p = np.exp(logits - logits.max())
    p /= p.sum()
    assert names[top] == "playing cricket"
    assert logits[top] == pytest.approx(17.64, abs=0.006)
    assert p[top] == pytest.approx(0.9886, abs=6e-5)
    assert mixed.shape == (10, 7, 7, 1024)  # 79 frames -> ceil(79 / 8) time steps


def test_port_matches_the_reference_module(clip, port):
    logits, mixed = port
    ref_logits, ref_mixed = reference_outputs(clip)
    assert np.abs(logits - ref_logits).max() <= 1e-3
    assert np.linalg.norm(mixed - ref_mixed) / np.linalg.norm(ref_mixed) <= 1e-4


def test_features_are_mixed_5c_averaged(clip):
    from flax import nnx

    from csum.video.i3d import load_i3d

    model = load_i3d()
    short = clip[None, :16]
    feats = np.asarray(nnx.jit(lambda m, v: m.features(v))(model, short))
    mixed = np.asarray(nnx.jit(lambda m, v: m.mixed_5c(v))(model, short))
    assert feats.shape == (1, 1024)
    np.testing.assert_allclose(feats[0], mixed[0].mean(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "shape, kernel, stride",
    [
        ((2, 16, 20, 18, 3), (7, 7, 7), (2, 2, 2)),  # the stem: time folded into channels
        ((1, 9, 11, 13, 5), (3, 3, 3), (1, 1, 1)),  # odd sizes, folded (3 x 5 channels)
        ((1, 7, 8, 6, 96), (3, 3, 3), (1, 1, 1)),  # many channels: a sum over time steps
        ((2, 5, 7, 7, 40), (1, 1, 1), (1, 1, 1)),
        ((1, 79, 5, 5, 2), (7, 3, 3), (2, 1, 2)),  # the sample clip's odd length
    ],
)
def test_framewise_convolution_is_the_3d_convolution(shape, kernel, stride):
    import jax

    from csum.video.i3d import conv3d, xla_conv3d

    kx, kk = jax.random.split(jax.random.key(0))
    x = jax.random.normal(kx, shape)
    k = jax.random.normal(kk, (*kernel, shape[-1], 8))
    want = np.asarray(xla_conv3d(x, k, stride))
    got = np.asarray(jax.jit(conv3d, static_argnums=2)(x, k, stride))
    assert got.shape == want.shape
    # Each output sums n = kernel volume x channels unit-variance products (magnitude
    # ~sqrt(n)); two float32 summation orders typically differ by ~n * 2^-24 (6e-5 at
    # n = 1029). We allow 1e-4 * sqrt(n), over 50x that, and far below a wrong tap (~1).
    n = np.prod(kernel) * shape[-1]
    np.testing.assert_allclose(got, want, atol=1e-4 * np.sqrt(n), rtol=0)


def test_conv_flops_counts_every_unit():
    """The analytic count against one taken from the traced network's units."""
    import jax

    from csum.video import i3d

    model = i3d.I3D(rngs=i3d.nnx.Rngs(0), init=i3d.nnx.initializers.zeros)
    counted = []
    normalise = i3d.Unit3D.normalise

    def counting(self, y):
        counted.append(2 * np.prod(y.shape) * np.prod(self.kernel.shape[:-1]))
        return normalise(self, y)

    i3d.Unit3D.normalise = counting
    try:
        jax.eval_shape(
            lambda v: model.features(v), jax.ShapeDtypeStruct((1, 16, 224, 224, 3), "f4")
        )
    finally:
        i3d.Unit3D.normalise = normalise
    assert len(counted) == 57
    assert sum(counted) == i3d.conv_flops(16)
