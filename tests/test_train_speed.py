"""benchmarks.train_speed's comparison with PyTorch: its row without PyTorch, the parsing of
a row, and (where PyTorch is installed) that the reference is the same network as csum's
MSVA: with csum's weights it scores a padded batch as csum does."""

import sys

import numpy as np
import pytest

from benchmarks import train_speed


def test_row_without_pytorch_says_not_measured(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert train_speed.measure_torch(1) == train_speed.TORCH_MISSING
    assert train_speed.seconds_per_epoch(train_speed.TORCH_MISSING) is None


def test_seconds_per_epoch_reads_the_steady_state_cell():
    row = "| msva | supervised | float32 | 3 x 1024 | 40 | 711 | 4 (2) | 12.34 (min 12.00) | 44 |"
    assert train_speed.seconds_per_epoch(row) == 12.34


def test_pytorch_reference_is_csums_msva():
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp
    from flax import nnx

    from backbones.msva import MSVA
    from benchmarks import torch_msva

    dims, B, T = (16, 16), 2, 40
    ours = MSVA(dims, rngs=nnx.Rngs(0), hidden=12, head=10, aperture=7, dropout=0.0)
    theirs = torch_msva.MSVA(dims, hidden=12, head=10, aperture=7, dropout=0.0)

    def copy(linear, layer):  # nnx.Linear kernel [in, out] -> torch weight [out, in]
        linear.weight.data = torch.from_numpy(np.asarray(layer.kernel[...]).T.copy())
        if linear.bias is not None:
            linear.bias.data = torch.from_numpy(np.asarray(layer.bias[...]).copy())

    def copy_norm(norm, layer):
        norm.weight.data = torch.from_numpy(np.asarray(layer.scale[...]).copy())
        norm.bias.data = torch.from_numpy(np.asarray(layer.bias[...]).copy())

    for s in range(len(dims)):
        for name in ("q", "k", "v", "out"):
            copy(getattr(theirs.attention[s], name), getattr(ours.attention[s], name))
        copy_norm(theirs.norms[s], ours.norms[s])
    for name in ("ka", "kb", "kc", "kd"):
        copy(getattr(theirs, name), getattr(ours, name))
    copy_norm(theirs.norm_head, ours.norm_head)

    rng = np.random.default_rng(0)
    features = [rng.normal(size=(B, T, d)).astype(np.float32) for d in dims]
    mask = np.arange(T)[None, :] < np.array([[T], [25]])
    ours.eval()
    theirs.eval()
    want = np.asarray(ours([jnp.asarray(f) for f in features], jnp.asarray(mask)))
    with torch.no_grad():
        got = theirs([torch.from_numpy(f) for f in features], torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
