"""The input contract: named streams and targets, their padding, and the models that read them."""

import json
from dataclasses import replace

import jax
import numpy as np
import pytest

from csum.data.batching import collate
from csum.data.records import Video
from csum.data.streams import collate_named, padded_length
from csum.training.spec import TrainSpec
from experiments.config_loader import ConfigError, apply_overrides, load_config


def _video(key, n, query_len=None, moments=None):
    steps = np.arange(n)
    streams = {} if query_len is None else {"query": np.ones((query_len, 5), np.float32)}
    targets = (
        {}
        if moments is None
        else {
            "saliency": np.linspace(0, 1, n, dtype=np.float32),
            "moments": np.asarray(moments, np.float32),
        }
    )
    return Video(
        key,
        (np.ones((n, 4), np.float32),),
        n,
        steps,
        np.stack([steps, steps], 1),
        None,
        streams=streams,
        targets=targets,
    )


def test_named_streams_pad_on_their_own_axis():
    batch = collate([_video("a", 5, 3, [[0, 2]]), _video("b", 9, 11, [[1, 4], [6, 9]])], 3, [16])
    q, qm = batch.streams["query"], batch.streams["query_mask"]
    assert q.shape == (3, 16, 5) and padded_length(11) == 16
    assert qm.sum(1).tolist() == [3, 11, 0] and float(q[0, 3:].sum()) == 0
    m, mm = batch.targets["moments"], batch.targets["moments_mask"]
    assert m.shape == (3, 8, 2) and mm.sum(1).tolist() == [1, 2, 0]
    np.testing.assert_array_equal(m[1, :2], [[1, 4], [6, 9]])
    assert (
        batch.targets["saliency"].shape == (3, 16) and batch.targets["saliency"][0, 5:].sum() == 0
    )


def test_video_only_batches_carry_no_streams():
    batch = collate([_video("a", 5)], 2, [8])
    assert batch.streams == {} and batch.targets == {}
    assert jax.tree.leaves(batch.streams) == []


def test_mixed_or_unknown_streams_are_one_line_errors():
    with pytest.raises(ValueError, match="different streams"):
        collate([_video("a", 5, 3), _video("b", 5)], 2, [8])
    with pytest.raises(ValueError, match="unknown stream or target"):
        collate_named([{"bogus": np.ones((2, 2))}], 1, 8)


def test_query_configs_check_backbone_and_regime():
    """A query-free backbone cannot train the query loss; a wrong query size is named."""
    from experiments.validation import validate

    config = load_config("qvhighlights_transformer:quick")
    apply_overrides(config, {"train.regime": "query"})
    with pytest.raises(ConfigError, match="needs a backbone that reads a query"):
        validate(config)
    with pytest.raises(ValueError, match="reads no query"):
        load_config("qvhighlights_transformer:finetuned")


def test_query_dim_mismatch_is_named(tmp_path):
    from csum.data.errors import DataError
    from csum.multimodal.retrieval import check_inputs

    config = load_config("qvhighlights_visionary:quick")
    apply_overrides(config, {"backbone.kwargs.query_dim": "7"})
    with pytest.raises(DataError, match="query tokens are 5-d; set --config.backbone.kwargs"):
        check_inputs(config, [_video("3", 5, 2)])


def test_query_loss_ignores_padding():
    """The system's loss on two queries equals their loss padded into a wider batch."""
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.step import regime_loss

    config = load_config("qvhighlights_visionary:quick")
    apply_overrides(
        config,
        {
            "backbone.kwargs.query_dim": "5",
            "backbone.kwargs.dim": "16",
            "backbone.kwargs.ffn": "32",
            "backbone.kwargs.heads": "4",
            "backbone.kwargs.dropout": "0.0",
            "train.regime": "query",
        },
    )
    model = build_summarizer(ModelSpec.from_config(config), (4,), seed=0)
    loss = regime_loss(TrainSpec.from_config(config))
    rng = np.random.default_rng(0)
    videos = [_video("a", 6, 3, [[1, 3]]), _video("b", 10, 4, [[2, 7]])]
    videos = [
        replace(v, features=(rng.normal(size=(v.n_steps, 4)).astype(np.float32),)) for v in videos
    ]
    small, large = collate(videos, 2, [16]), collate(videos, 4, [32])
    np.testing.assert_allclose(loss(model, small), loss(model, large), rtol=1e-5)
    json.dumps(float(loss(model, small)))  # a finite Python float
    assert np.isfinite(float(loss(model, small)))


@pytest.mark.parametrize("backbone", ["visionary", "a2summ", "mhms"])
def test_csum_pretrains_multimodal_backbones_and_ignores_padding(backbone, tmp_path):
    """CSUM's loss reaches a multimodal backbone through its streams; padding (more slots,
    a longer bucket, longer token axes) changes neither the loss nor its gradient."""
    import jax
    from flax import nnx

    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.multimodal.synthetic import MultimodalSpec, generate, write
    from csum.multimodal.transcripts import read_videos
    from csum.training.step import regime_loss

    write(*generate(MultimodalSpec(videos=6), seed=4), tmp_path)
    videos, _ = read_videos(tmp_path, ["mm0000", "mm0001", "mm0002"])
    if backbone == "visionary":  # one query on each video instead of its transcript
        rng = np.random.default_rng(0)
        videos = [
            replace(v, streams={"query": rng.normal(size=(3 + i, 32)).astype(np.float32)})
            for i, v in enumerate(videos)
        ]
        config = load_config("qvhighlights_visionary:quick")
    else:
        config = load_config(f"transcripts_{backbone}:quick")
    size = {"hidden": "16", "align": "8"} if backbone == "mhms" else {"dim": "16"}
    apply_overrides(
        config,
        {
            **{f"backbone.kwargs.{k}": v for k, v in size.items()},
            "backbone.kwargs.heads": "4",
            "backbone.kwargs.dropout": "0.0",
            "train.regime": "csum",
            "loss.negatives": "batch",
            "topk.name": "sinkhorn",
        },
    )
    if backbone == "visionary":
        apply_overrides(config, {"backbone.kwargs.ffn": "32"})
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    loss = regime_loss(TrainSpec.from_config(config))
    small, large = collate(videos, 3, [64]), collate(videos, 5, [128])
    step = nnx.jit(nnx.value_and_grad(lambda m, batch: loss(m, batch)))
    (a, ga), (b, gb) = step(model, small), step(model, large)
    assert np.isfinite(float(a)) and abs(float(a) - float(b)) < 1e-4
    grads = [np.abs(np.asarray(g)).max() for g in jax.tree.leaves(nnx.state(ga, nnx.Param))]
    assert max(grads) > 0
    # the same gradient up to float32 rounding, which the top-k's iterations and XLA's
    # fusion of two differently shaped programs amplify: relative to its norm
    flat = lambda g: np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)])  # noqa: E731
    assert np.linalg.norm(flat(ga) - flat(gb)) <= 1e-3 * np.linalg.norm(flat(ga))
