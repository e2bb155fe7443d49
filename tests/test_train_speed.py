"""benchmarks.train_speed's comparison with PyTorch: its rows without PyTorch, the parsing of
a row, and (where PyTorch is installed) that each reference in benchmarks.torch_backbones
is csum's network: with csum's weights it scores a padded batch as csum does, and (dppLSTM)
gives the same diversity features and supervised loss."""

import sys

import numpy as np
import pytest

from benchmarks import train_speed

B, T, DIMS = 2, 40, (16, 16)


def test_rows_without_pytorch_say_not_measured(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    for backbone in train_speed.TORCH_BACKBONES:
        row = train_speed.measure_torch(backbone, 1)
        assert row == train_speed.torch_missing(backbone) and "not measured" in row
        assert train_speed.seconds_per_epoch(row) is None


def test_seconds_per_epoch_reads_the_steady_state_cell():
    row = "| msva | supervised | float32 | 3 x 1024 | 40 | 711 | 4 (2) | 12.34 (min 12.00) | 44 |"
    assert train_speed.seconds_per_epoch(row) == 12.34


def _copy(torch, linear, layer):
    """nnx.Linear kernel [in, out] -> torch weight [out, in] (and the bias)."""
    linear.weight.data = torch.from_numpy(np.asarray(layer.kernel[...]).T.copy())
    if linear.bias is not None:
        linear.bias.data = torch.from_numpy(np.asarray(layer.bias[...]).copy())


def _copy_norm(torch, norm, layer):
    norm.weight.data = torch.from_numpy(np.asarray(layer.scale[...]).copy())
    norm.bias.data = torch.from_numpy(np.asarray(layer.bias[...]).copy())


def _copy_lstm(torch, lstm, bilstm):
    """flax's OptimizedLSTMCell (gates i, f, g, o; no input bias) -> torch's LSTM."""
    for suffix, rnn in (("", bilstm.forward_rnn), ("_reverse", bilstm.backward_rnn)):
        cell = rnn.cell
        params = {
            "weight_ih": np.asarray(cell.dense_i.kernel[...]).T,
            "weight_hh": np.asarray(cell.dense_h.kernel[...]).T,
            "bias_ih": np.zeros(cell.dense_h.bias.shape, np.float32),
            "bias_hh": np.asarray(cell.dense_h.bias[...]),
        }
        for name, value in params.items():
            getattr(lstm, f"{name}_l0{suffix}").data = torch.from_numpy(value.copy())


def _batch():
    rng = np.random.default_rng(0)
    features = [rng.normal(size=(B, T, d)).astype(np.float32) for d in DIMS]
    mask = np.arange(T)[None, :] < np.array([[T], [25]])
    return features, mask


def _pair(name, torch):
    """(csum's backbone, the PyTorch reference with its weights), small and without dropout."""
    from flax import nnx

    from backbones.registry import BACKBONES
    from benchmarks import torch_backbones

    kwargs = {
        "msva": dict(hidden=12, head=10, aperture=7),
        "vasnet": dict(aperture=0),
        "vslstm": dict(hidden=6),
        "dpplstm": dict(hidden=6, phi_dim=5),
        "transformer": dict(dim=16, heads=4, ffn=24, layers=2, bottleneck=3),
    }[name]
    ours = BACKBONES.get(name)(DIMS, rngs=nnx.Rngs(0), dropout=0.0, **kwargs)
    theirs = torch_backbones.REFERENCES[name](DIMS, dropout=0.0, **kwargs)
    if name == "msva":
        for s in range(len(DIMS)):
            for layer in ("q", "k", "v", "out"):
                _copy(torch, getattr(theirs.attention[s], layer), getattr(ours.attention[s], layer))
            _copy_norm(torch, theirs.norms[s], ours.norms[s])
        for layer in ("ka", "kb", "kc", "kd"):
            _copy(torch, getattr(theirs, layer), getattr(ours, layer))
        _copy_norm(torch, theirs.norm_head, ours.norm_head)
    elif name == "vasnet":
        for layer in ("q", "k", "v", "out"):
            _copy(torch, getattr(theirs.attention, layer), getattr(ours.attention, layer))
        for layer in ("ka", "kd"):
            _copy(torch, getattr(theirs, layer), getattr(ours, layer))
        _copy_norm(torch, theirs.norm_y, ours.norm_y)
        _copy_norm(torch, theirs.norm_ka, ours.norm_ka)
    elif name == "transformer":
        _copy(torch, theirs.project, ours.video.project)
        _copy_norm(torch, theirs.norm, ours.video.norm)
        layers = [*zip(theirs.layers, ours.video.layers, strict=True)]
        layers += [(theirs.gather, ours.gather), (theirs.scatter, ours.scatter[0])]
        for t, o in layers:
            qkv = [np.asarray(getattr(o.attention, n).kernel[...]).T for n in "qkv"]
            t.attention.in_proj_weight.data = torch.from_numpy(np.concatenate(qkv).copy())
            bias = [np.asarray(getattr(o.attention, n).bias[...]) for n in "qkv"]
            t.attention.in_proj_bias.data = torch.from_numpy(np.concatenate(bias).copy())
            _copy(torch, t.attention.out_proj, o.attention.out)
            _copy(torch, t.ffn_in, o.ffn_in)
            _copy(torch, t.ffn_out, o.ffn_out)
            _copy_norm(torch, t.norm_attention, o.norm_attention)
            _copy_norm(torch, t.norm_ffn, o.norm_ffn)
        theirs.tokens.data = torch.from_numpy(np.asarray(ours.tokens[...]).copy())
        _copy(torch, theirs.head_hidden, ours.head_hidden)
        _copy(torch, theirs.head_out, ours.head_out)
    else:
        _copy_lstm(torch, theirs.lstm, ours.lstm)
        layers = ("mlp_hidden", "mlp_out") + (
            ("phi_hidden", "phi_out") if name == "dpplstm" else ()
        )
        for layer in layers:
            _copy(torch, getattr(theirs, layer), getattr(ours, layer))
    ours.eval()
    theirs.eval()
    return ours, theirs


@pytest.mark.parametrize("name", list(train_speed.TORCH_BACKBONES))
def test_pytorch_reference_is_csums_network(name):
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp

    from benchmarks import torch_backbones

    assert tuple(torch_backbones.REFERENCES) == train_speed.TORCH_BACKBONES
    ours, theirs = _pair(name, torch)
    features, mask = _batch()
    want = np.asarray(ours([jnp.asarray(f) for f in features], jnp.asarray(mask)))
    with torch.no_grad():
        got = theirs([torch.from_numpy(f) for f in features], torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(got[mask], want[mask], rtol=1e-4, atol=1e-5)
    assert (got[~mask] == 0).all() and (want[~mask] == 0).all()


def test_pytorch_dpplstm_loss_is_csums():
    """Scores, diversity features and the supervised loss with its DPP term."""
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp

    from benchmarks import torch_backbones
    from csum.objectives.supervised import dpp_nll, mse

    ours, theirs = _pair("dpplstm", torch)
    features, mask = _batch()
    rng = np.random.default_rng(1)
    target = rng.uniform(size=(B, T)).astype(np.float32)
    keyframes = (rng.uniform(size=(B, T)) < 0.2) & mask
    valid, length = np.array([True, True]), mask.sum(axis=1).astype(np.int32)

    scores, phi = ours.scores_and_diversity([jnp.asarray(f) for f in features], jnp.asarray(mask))
    nll = dpp_nll(scores, phi, jnp.asarray(keyframes), jnp.asarray(mask))
    want = float(mse(scores, jnp.asarray(target), jnp.asarray(mask)) + jnp.mean(nll / length))
    with torch.no_grad():
        got = torch_backbones.supervised_loss(
            theirs,
            [torch.from_numpy(f) for f in features],
            torch.from_numpy(mask),
            torch.from_numpy(valid),
            torch.from_numpy(target),
            torch.from_numpy(keyframes),
            torch.from_numpy(length),
            1.0,
        ).item()
    assert got == pytest.approx(want, rel=1e-4)
