"""A2Summ and MHMS on videos with transcripts: a2summ's loss ignores padding, each system
learns both summaries, a video-only baseline runs, and bad inputs are one line."""

import numpy as np
import pytest

from csum.data.batching import collate
from csum.training.spec import TrainSpec
from experiments.config_loader import ConfigError, apply_overrides, load_config


def _small_config():
    config = load_config("transcripts_a2summ:quick")
    apply_overrides(
        config,
        {
            "backbone.kwargs.dim": "16",
            "backbone.kwargs.heads": "4",
            "backbone.kwargs.dropout": "0.0",
            "train.regime": "a2summ",
        },
    )
    return config


def test_a2summ_loss_ignores_padding(tmp_path):
    from flax import nnx

    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.multimodal.synthetic import MultimodalSpec, generate, write
    from csum.multimodal.transcripts import read_videos
    from csum.training.step import regime_loss

    paths = write(*generate(MultimodalSpec(videos=6), seed=2), tmp_path)
    videos, texts = read_videos(tmp_path, ["mm0000", "mm0001"])
    assert paths["labels"].is_file() and len(texts["mm0000"]) == len(videos[0].streams["text"])
    config = _small_config()
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    loss = regime_loss(TrainSpec.from_config(config))
    small, large = collate(videos, 2, [64]), collate(videos, 3, [128])
    value = nnx.jit(lambda m, b: loss(m, b))
    a, b = float(value(model, small)), float(value(model, large))
    assert np.isfinite(a) and abs(a - b) < 1e-4 * max(1.0, abs(a))


def test_a2summ_regime_needs_the_a2summ_backbone():
    from experiments.validation import validate

    config = load_config("transcripts_transformer:quick")
    apply_overrides(config, {"train.regime": "a2summ"})
    with pytest.raises(ConfigError, match="needs the a2summ backbone"):
        validate(config)


@pytest.mark.parametrize("system", ["a2summ", "mhms"])
def test_system_learns_both_summaries(system, tmp_path):
    from csum.multimodal.transcripts import run_transcripts

    config = load_config(f"transcripts_{system}:quick")
    apply_overrides(
        config,
        {
            "workdir": str(tmp_path / "run"),
            "data.synthetic_dir": str(tmp_path),
            "train.progress": "false",
        },
    )
    result = run_transcripts(config)
    m, r = result["metrics"], result["random"]
    # 7 val videos; ROUGE-1 of the picked key sentences is far above random picks
    assert m["R-1"] > r["R-1"] + 20 and m["R-L"] > r["R-L"] + 20
    assert m["video-AP"] > r["video-AP"]
    if system == "mhms":  # its cover frame, beside random's on the same candidates
        assert {"cover-R@1", "cover-MAP"} <= set(m) and {"cover-R@1", "cover-MAP"} <= set(r)


def test_video_only_baseline_runs_on_the_transcript_videos(tmp_path):
    from csum.multimodal.transcripts import run_transcripts

    config = load_config("transcripts_transformer:quick")
    apply_overrides(
        config,
        {
            "workdir": str(tmp_path / "run"),
            "train.epochs": "1",
            "transcripts.finetune.epochs": "2",
            "data.synthetic_dir": str(tmp_path),
            "train.progress": "false",
        },
    )
    result = run_transcripts(config)
    # no sentence scores, no cover: the video metrics only, for the run and for random
    assert set(result["metrics"]) == set(result["random"]) - {"R-1", "R-2", "R-L"}
    assert set(result["metrics"]) == {"video-cos", "video-AP"}
