"""A user's own eccv16 files by path: any file, generated splits, the augmented and transfer
settings, and one line for a missing file."""

import json
from pathlib import Path

import pytest


@pytest.mark.parametrize("scores", [True, False], ids=["tvsum_like", "summe_like"])
def test_any_eccv16_file_by_path(tmp_path, small_videos, scores, capsys):
    import dataclasses

    from csum.data.eccv16 import write_eccv16
    from experiments.run import main

    # A user's own file: other video names, 12 videos, with or without per-user scores.
    videos = [
        dataclasses.replace(
            v,
            key=f"clip_{i:02d}",
            features=v.features[:1],
            user_scores=v.user_scores if scores else None,
        )
        for i, v in enumerate(small_videos.values())
    ]
    path = tmp_path / "my_videos.h5"
    write_eccv16(path, videos)
    workdir = tmp_path / "run"
    argv = [
        "--config=tvsum_vasnet:quick",
        f"--config.data.file={path}",
        "--config.eval.f1_mode=auto",
        f"--config.workdir={workdir}",
        "--config.train.progress=false",
        "--config.data.folds=(0,1,2,3,4)",
        "--config.train.epochs=1",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    folds = json.loads((workdir / "splits.json").read_text())
    tests = [k for f in folds for k in f["test_keys"]]
    assert len(folds) == 5 and sorted(tests) == sorted(v.key for v in videos)  # each once
    assert all(set(f["train_keys"]) == {v.key for v in videos} - set(f["test_keys"]) for f in folds)
    config = json.loads((workdir / "config.json").read_text())
    assert config["eval"]["f1_mode"] == ("avg" if scores else "max")
    results = json.loads((workdir / "results.json").read_text())
    assert len(results["folds"]) == 5 and results["f1_mode"] == config["eval"]["f1_mode"]


def test_missing_file_by_path_is_one_line(tmp_path, capsys):
    from experiments.run import main

    argv = [
        "--config=tvsum_vasnet",
        f"--config.data.file={tmp_path / 'nope.h5'}",
        f"--config.workdir={tmp_path / 'run'}",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'nope.h5'}: eccv16 file not found (--config.data.file)", err


def test_make_splits_is_reproducible_and_partitions():
    from csum.data.splits import make_splits

    keys = [f"v{i}" for i in range(23)]
    a, b = make_splits(keys, 5, seed=0), make_splits(list(reversed(keys)), 5, seed=0)
    assert a == b and a != make_splits(keys, 5, seed=1)
    sizes = sorted(len(f["test_keys"]) for f in a)
    assert sizes == [4, 4, 5, 5, 5]
    assert sorted(k for f in a for k in f["test_keys"]) == sorted(keys)
    with pytest.raises(ValueError, match="n_folds"):
        make_splits(keys[:3], 5)


@pytest.mark.parametrize("setting", ["augmented", "transfer"])
def test_augmented_and_transfer_settings(tmp_path, setting, capsys):
    from experiments.run import main

    workdir = tmp_path / "run"
    argv = [
        f"--config=summe_vasnet:synthetic,quick,{setting}",
        f"--config.workdir={workdir}",
        f"--config.data.synthetic_dir={tmp_path / 'data'}",
        "--config.train.progress=false",
        "--config.train.epochs=1",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    fold = json.loads((workdir / "fold_0" / "result.json").read_text())
    splits = json.loads(
        (
            Path(__file__).resolve().parents[1]
            / "csum"
            / "data"
            / "splits"
            / "summe_random_non_overlap_splits.json"
        ).read_text()
    )
    own, other = len(splits[0]["train_keys"]), 50  # the TVSum-like preset's 50 videos
    assert fold["n_train"] + fold["n_val"] == (other if setting == "transfer" else own + other)
    assert fold["n_test"] == len(splits[0]["test_keys"])  # the data set's own test fold


def test_missing_other_data_set_is_one_line(tmp_path, capsys):
    from experiments.run import main

    missing = tmp_path / "eccv16_dataset_ovp_google_pool5.h5"
    argv = [
        "--config=summe_vasnet:synthetic,quick,augmented",
        f"--config.workdir={tmp_path / 'run'}",
        f"--config.data.synthetic_dir={tmp_path / 'data'}",
        f"--config.data.others=('{missing}',)",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {missing}: eccv16 file not found; data.setting=augmented"), err
    assert not (tmp_path / "run").exists()
