"""data.stream: an unlabelled collection of h5 shards trains a batch at a time, with the
same losses and scores as the same collection loaded whole."""

import dataclasses
import json

import pytest

from csum.data.eccv16 import write_eccv16
from csum.data.synthetic import FEATURE_KEYS
from experiments.run import main

KEYS = FEATURE_KEYS[:2]


@pytest.fixture(scope="module")
def collection(small_videos, tmp_path_factory):
    """The small set without labels: one file, and the same videos in two shards."""
    root = tmp_path_factory.mktemp("collection")
    videos = [
        dataclasses.replace(
            v, user_summary=None, user_scores=None, gtscore=None, features=v.features[:2]
        )
        for v in small_videos.values()
    ]
    write_eccv16(root / "whole.h5", videos, KEYS)
    write_eccv16(root / "shards" / "part_0.h5", videos[:5], KEYS)
    write_eccv16(root / "shards" / "part_1.h5", videos[5:], KEYS)
    return root


def _argv(root, workdir, *extra):
    return [
        "--config=tvsum_vslstm:synthetic,quick",
        f"--config.workdir={workdir}",
        f"--config.data.feature_keys={KEYS}",
        "--config.backbone.contrast_input=false",
        "--config.loss.negatives=all",
        "--config.projector.normalize=standardize",
        "--config.data.folds=()",
        "--config.train.epochs=2",
        "--config.train.progress=false",
        *extra,
    ]


def test_streamed_shards_train_as_the_whole_collection_in_memory(
    collection, tmp_path, monkeypatch, capsys
):
    whole = tmp_path / "whole"
    assert main(_argv(collection, whole, f"--config.data.file={collection / 'whole.h5'}")) == 0
    # the streamed run never loads a data set whole
    import csum.summarization.experiment

    def refuse(*args, **kwargs):
        raise AssertionError("data.stream loaded the data set whole")

    monkeypatch.setattr(csum.summarization.experiment, "load_dataset", refuse)
    streamed = tmp_path / "streamed"
    argv = _argv(
        collection,
        streamed,
        f"--config.data.file={collection / 'shards' / '*.h5'}",
        "--config.data.stream=true",
    )
    assert main(argv) == 0, capsys.readouterr().err
    assert "12 unlabelled videos" in capsys.readouterr().out

    def losses(workdir):
        lines = (workdir / "metrics.jsonl").read_text().splitlines()
        return [json.loads(x)["loss"] for x in lines]

    assert len(losses(whole)) == 2 and losses(streamed) == losses(whole)
    scores = json.loads((streamed / "scores.json").read_text())
    assert scores == json.loads((whole / "scores.json").read_text()) and len(scores) == 12
    assert json.loads((streamed / "results.json").read_text())["n_videos"] == 12


@pytest.mark.parametrize(
    "extra,pattern",
    [
        (["--config.loss.negatives=windows"], "data.stream=true needs loss.negatives batch or all"),
        (["--config.backbone.contrast_input=true"], "needs backbone.contrast_input=false"),
        (["--config.train.regime=supervised"], "needs train.regime=csum"),
        (["--config.data.file="], "needs data.file"),
        (["--config.data.folds=(0,)"], "no data.folds"),
    ],
)
def test_what_a_stream_cannot_do_is_one_line(collection, tmp_path, extra, pattern, capsys):
    argv = _argv(
        collection,
        tmp_path / "w",
        f"--config.data.file={collection / 'whole.h5'}",
        "--config.data.stream=true",
        *extra,
    )
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and pattern in err, err
    assert not (tmp_path / "w").exists()  # refused before anything was written


def test_bad_shards_are_one_line(collection, small_videos, tmp_path, capsys):
    videos = [dataclasses.replace(v, features=v.features[:2]) for v in small_videos.values()]
    narrow = dataclasses.replace(
        videos[0], key="video_99", features=(videos[0].features[0][:, :8], videos[0].features[1])
    )
    cases = {
        "narrow": (
            [[videos[1]], [narrow]],
            "*.h5",
            "part_1.h5: video 'video_99': key 'features': feature size 8, expected 32",
        ),
        "twice": (
            [[videos[1]], [videos[1]]],
            "*.h5",
            "part_1.h5: video 'video_2': video key also in",
        ),
        "none": ([[videos[1]]], "none_*.h5", "none_*.h5: no file matches"),
    }
    for name, (shards, pattern, message) in cases.items():
        for i, part in enumerate(shards):
            write_eccv16(tmp_path / name / f"part_{i}.h5", part, KEYS)
        argv = _argv(
            collection,
            tmp_path / "w",
            f"--config.data.file={tmp_path / name / pattern}",
            "--config.data.stream=true",
        )
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and message in err, err


def test_contrast_statistics_read_a_video_at_a_time(small_videos):
    # X's mean and 1/std (projector.normalize=standardize), from two passes over a source,
    # are those of every step of every video stacked (float64, then float32).
    import numpy as np

    from csum.data.sources import MemorySource
    from csum.model.summarizer import ModelSpec, build_summarizer, set_contrast_stats
    from experiments.config_loader import apply_overrides, load_config

    config = load_config("tvsum_vslstm:synthetic,quick")
    apply_overrides(config, {"projector.normalize": "standardize"})
    videos = list(small_videos.values())
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    set_contrast_stats(model, MemorySource(videos))
    x = np.concatenate([np.asarray(v.features[0], np.float64) for v in videos])
    np.testing.assert_allclose(np.asarray(model.x_mean[...]), x.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.x_scale[...]), 1 / x.std(0), rtol=1e-6)
