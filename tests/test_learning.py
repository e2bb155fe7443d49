"""Training learns: held-out rank correlation rises well above the untrained model's.

These tests fail when learning breaks (a wrong sign, a dead gradient, padding that eats
the signal, a projector that makes the selection irrelevant). They train on a tiny
synthetic "stock" set (shared stock footage vs each video's own scenes, own scenes
important) and score videos that training never saw.
"""

from __future__ import annotations

import pytest

from csum.data.batching import default_buckets
from csum.data.eccv16 import load_eccv16
from csum.data.synthetic import ensure_synthetic
from csum.metrics.evaluation import evaluate_video, mean_metrics
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.training.predict import predict_scores
from csum.training.spec import TrainSpec
from csum.training.step import make_train_step
from csum.training.trainer import train_fold
from experiments.config_loader import apply_overrides, load_config

DATA = {"n_videos": 24, "dim": 128, "min_seconds": 40, "max_seconds": 90, "family": "stock"}
CATEGORY = {
    "n_videos": 30,
    "dim": 128,
    "min_seconds": 40,
    "max_seconds": 90,
    "family": "category",
    "n_categories": 5,
}


@pytest.fixture(scope="module")
def category_videos(synthetic_dir):
    path = ensure_synthetic(synthetic_dir, "tvsum", seed=11, **CATEGORY)
    videos = list(load_eccv16(path, ("features",)).values())
    return videos[:20], videos[20:]


@pytest.fixture(scope="module")
def stock_videos(synthetic_dir):
    path = ensure_synthetic(synthetic_dir, "tvsum", seed=11, **DATA)
    videos = list(load_eccv16(path, ("features",)).values())
    return videos[:16], videos[16:]


def _held_out_rho(model, config, videos, buckets) -> float:
    scores = predict_scores(model.backbone, videos, 8, buckets)
    rows = [evaluate_video(scores[v.key], v, "avg", 0.15) for v in videos]
    return mean_metrics(rows)["spearman_rho"]


def _train(tmp_path, videos, spec, **overrides):
    config = load_config(spec)
    apply_overrides(
        config,
        {
            "workdir": str(tmp_path),
            "train.progress": "false",
            "train.epochs": "12",
            "data.feature_keys": "('features',)",
            **overrides,
        },
    )
    train, test = videos
    buckets = default_buckets(max(v.n_steps for v in train + test))
    model = build_summarizer(ModelSpec.from_config(config), train[0].dims, seed=0)
    before = _held_out_rho(model, config, test, buckets)
    spec = TrainSpec.from_config(config)
    train_fold(spec, model, train, 0, tmp_path, make_train_step(spec), buckets)
    return before, _held_out_rho(model, config, test, buckets)


# Each bar below was set from the held-out rho over init seeds 0-4 of the model (the test
# runs seed 0), so that it holds on any seed and processor and still fails a model that
# does not learn.


def test_csum_learns_without_labels(tmp_path, stock_videos):
    """CSUM-MSVA with the default recipe (window InfoNCE) on the features alone. Over init
    seeds 0-4: after 0.44-0.55, a gain of 0.43-0.67 over the untrained model. The paper's
    recipe (config word "paper") reaches 0.21 and fails it."""
    before, after = _train(
        tmp_path,
        stock_videos,
        "tvsum_msva:stock",
        **{"train.epochs": "15", "backbone.contrast_input": "false"},
    )
    assert after > before + 0.3 and after > 0.3, (before, after)


def test_supervised_regime_learns(tmp_path, stock_videos):
    """Over init seeds 0-4: after 0.57-0.59, a gain of 0.40-0.82."""
    before, after = _train(
        tmp_path, stock_videos, "tvsum_vslstm_supervised:stock", **{"backbone.name": "vslstm"}
    )
    assert after > before + 0.3 and after > 0.4, (before, after)


def _with_contrast(tmp_path, stock_videos, spec, **overrides):
    """(held-out rho before training, after, of the contrast alone) of ``spec`` with the
    collection contrast as a last source (csum.summarization.experiment.add_contrast)."""
    from csum.metrics.evaluation import as_quantiles
    from csum.summarization.experiment import add_contrast

    config = load_config(spec)
    apply_overrides(
        config,
        {"workdir": str(tmp_path), "train.progress": "false", "train.epochs": "8", **overrides},
    )
    train, test = stock_videos
    buckets = default_buckets(max(v.n_steps for v in train + test))
    model = build_summarizer(ModelSpec.from_config(config), (*train[0].dims, 1), seed=0)
    train, _, test = add_contrast(config, model, train, [], test, buckets, None)
    assert test[0].dims == (*stock_videos[1][0].dims, 1)
    alone = mean_metrics(
        [evaluate_video(as_quantiles(v.features[-1][:, 0]), v, "avg", 0.15) for v in test]
    )["spearman_rho"]
    before = _held_out_rho(model, config, test, buckets)
    spec = TrainSpec.from_config(config)
    train_fold(spec, model, train, 0, tmp_path, make_train_step(spec), buckets)
    return before, _held_out_rho(model, config, test, buckets), alone


def test_a_backbone_learns_to_use_the_contrast_input(tmp_path, stock_videos):
    """The backbone alone (no residual): the untrained model ignores the contrast source
    (random weights), the trained one must rank held-out clips well; a dead gradient
    leaves it where it began. Over init seeds 0-4: after 0.55-0.61, a gain of 0.43-0.89."""
    before, after, _ = _with_contrast(
        tmp_path, stock_videos, "tvsum_vslstm:stock", **{"backbone.residual": "false"}
    )
    assert after > before + 0.3 and after > 0.4, (before, after)


def test_training_does_not_subtract_from_the_contrast(tmp_path, category_videos):
    """The default recipe (csum.model.residual): the untrained model ranks held-out clips as the
    contrast does (the same rho), and training must not take it below: not by more than
    0.005, the rank noise of reordering clips whose importance is an independent draw
    (a clip of one kind of scene against another of the same kind;
    benchmarks.label_free_ceiling). On this set the residual ends between 0.0001 below and
    0.0002 above the contrast over init seeds 0-4, and MSVA trained alone on the contrast source (``backbone.residual=false``,
    the previous default) 0.020 below it, which this test rejects."""
    before, after, alone = _with_contrast(
        tmp_path,
        category_videos,
        "tvsum_msva:synthetic",
        **{"data.feature_keys": "('features',)", "train.epochs": "12"},
    )
    assert abs(before - alone) < 1e-9, (before, alone)
    assert after >= alone - 0.005, (after, alone)
