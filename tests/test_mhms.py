"""MHMS (001_…): segment labels, Eq. 3, candidates and the OT cover choice by hand; its
loss ignores padding; its regime needs its backbone. (A run learns: test_transcripts_run.)"""

import numpy as np
import pytest

from csum.data.batching import collate
from csum.multimodal.mhms import alignment_costs, candidates, scene_ends, segments, text_ends
from csum.training.spec import TrainSpec
from experiments.config_loader import ConfigError, apply_overrides, load_config


def test_scene_and_text_ends_by_hand():
    shots = np.array([[0, 3], [3, 5], [5, 9]])
    np.testing.assert_array_equal(scene_ends(shots, 9), [0, 0, 1, 0, 1, 0, 0, 0, 0])
    # midpoints 1, 2.5, 4.5, 6, 8.5: scenes 0, 0, 1, 2, 2
    spans = np.array([[0, 2], [2, 3], [4, 5], [5, 7], [8, 9]])
    np.testing.assert_array_equal(text_ends(spans, shots), [0, 1, 1, 0, 0])
    np.testing.assert_array_equal(scene_ends(np.array([[0, 4]]), 4), [0, 0, 0, 0])


def test_eq3_segments_and_candidates_by_hand():
    # cut after positions whose probability exceeds tau; the last position never cuts
    assert segments(np.array([0.1, 0.9, 0.5, 0.2, 0.7, 0.99]), 0.5) == [(0, 2), (2, 5), (5, 6)]
    assert segments(np.zeros(4), 0.5) == [(0, 4)]
    assert segments(np.ones(3), 0.5) == [(0, 1), (1, 2), (2, 3)]
    scores = np.array([0.2, 0.4, 0.4, 0.1, 0.3, 0.9])
    np.testing.assert_array_equal(candidates(scores, [(0, 3), (3, 5), (5, 6)]), [1, 4, 5])


def test_alignment_costs_by_hand():
    # one sentence that says what keyframe 0 shows: all its mass goes there at cost 0;
    # keyframe 1 is orthogonal (cost 1), keyframe 2 opposite (cost 2)
    frames = np.array([[1.0, 0.0], [0.0, 3.0], [-2.0, 0.0]])
    np.testing.assert_allclose(
        alignment_costs(frames, np.array([[5.0, 0.0]])), [0, 1, 2], atol=1e-5
    )
    # two sentences, two frames: the plan pairs each frame with its own sentence
    costs = alignment_costs(np.eye(2), np.array([[0.0, 1.0], [1.0, 0.1]]))
    np.testing.assert_allclose(costs, [1 - 1 / np.sqrt(1.01), 0.0], atol=1e-4)


def _config(**extra):
    config = load_config("transcripts_mhms:quick")
    apply_overrides(
        config,
        {
            "backbone.kwargs.hidden": "16",
            "backbone.kwargs.align": "8",
            "backbone.kwargs.dropout": "0.0",
            "train.regime": "mhms",
            **extra,
        },
    )
    return config


def test_mhms_loss_ignores_padding_in_value_and_gradient(tmp_path):
    import jax
    from flax import nnx

    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.multimodal.synthetic import MultimodalSpec, generate, write
    from csum.multimodal.transcripts import read_videos
    from csum.training.step import regime_loss

    write(*generate(MultimodalSpec(videos=6, max_scenes=3, max_clips=4), seed=2), tmp_path)
    videos, _ = read_videos(tmp_path, ["mm0000", "mm0001"])
    assert {"scene_ends", "text_ends"} <= set(videos[0].targets)
    config = _config()
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    loss = regime_loss(TrainSpec.from_config(config))
    small, large = collate(videos, 2, [16]), collate(videos, 3, [32])
    step = nnx.jit(nnx.value_and_grad(lambda m, batch: loss(m, batch)))
    (a, ga), (b, gb) = step(model, small), step(model, large)
    assert np.isfinite(float(a)) and abs(float(a) - float(b)) < 1e-4 * max(1.0, abs(float(a)))
    leaves = jax.tree.leaves(nnx.state(ga.backbone, nnx.Param))
    assert all(np.abs(np.asarray(g)).max() > 0 for g in leaves)  # every module learns
    for x, y in zip(leaves, jax.tree.leaves(nnx.state(gb.backbone, nnx.Param)), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-4)


def test_system_regimes_need_their_backbones():
    from experiments.validation import validate

    config = load_config("transcripts_a2summ:quick")
    apply_overrides(config, {"train.regime": "mhms"})
    with pytest.raises(ConfigError, match="needs the mhms backbone"):
        validate(config)
    config = load_config("transcripts_a2summ:quick")
    apply_overrides(config, {"transcripts.regime": "mhms"})
    with pytest.raises(ConfigError, match="regime='mhms' needs the backbone 'mhms'"):
        validate(config)
