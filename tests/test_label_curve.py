"""experiments.label_curve: the statistics by hand, the label draws, and the command at its
smallest (resumable, every row and file)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from csum.metrics import label_curves as lc


def test_interval_is_the_student_t_interval_by_hand():
    mean, low, high = lc.interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2}, s = 1
    assert mean == 2.0 and low == pytest.approx(2 - half) and high == pytest.approx(2 + half)
    assert lc.interval([0.7]) == (0.7, 0.7, 0.7)


def test_labelled_sets_are_nested_and_seeded():
    keys = [f"video_{i}" for i in range(40)]
    sets = [lc.labelled_keys(keys, n, seed=0, fold=1) for n in (1, 2, 4, 40)]
    assert all(a == b[: len(a)] for a, b in zip(sets, sets[1:], strict=False))
    assert sorted(sets[-1]) == sorted(keys)
    assert lc.labelled_keys(keys, 4, 0, 1) == sets[2]
    assert lc.labelled_keys(keys, 4, 1, 1) != sets[2]


def test_labelled_runs_take_the_all_labels_steps():
    # 20 epochs of 40 videos in batches of 8: 100 steps
    assert [lc.labelled_epochs(20, 8, 40, n) for n in (1, 8, 9, 16, 40)] == [100, 100, 50, 50, 20]
    assert lc.label_counts([0, 1, 4, "all", 64, 4], 40) == [0, 1, 4, 40]
    # saved about as often as the all-labels run: every 5 of 100 passes, every one of 20
    assert lc.labelled_settings(20, 8, 40, 1) == {"epochs": 100, "checkpoint_every": 5}
    assert lc.labelled_settings(20, 8, 40, 40) == {"epochs": 20, "checkpoint_every": 1}


def test_crossings_on_a_table_by_hand():
    def cell(mean, half=0.01):
        return {"f1": [mean, mean - half, mean + half]}

    table = {
        "csum": {"0": cell(0.50)},
        "supervised": {"1": cell(0.30), "2": cell(0.45), "4": cell(0.52)},
        "finetuned": {"1": cell(0.48), "2": cell(0.50), "4": cell(0.52)},
    }
    got = lc.crossings(table, "f1")
    assert got == {"supervised_matches_csum": 4, "finetuned_beats_supervised": [1, 2]}
    table["csum"]["0"] = cell(0.9)
    assert lc.crossings(table, "f1")["supervised_matches_csum"] is None


def test_paired_differences_by_hand():
    def point(method, n, fold, seed, f1):
        return {"method": method, "n": n, "fold": fold, "seed": seed, "f1": f1}

    points = [
        point("supervised", 1, 0, 0, 0.40),
        point("finetuned", 1, 0, 0, 0.50),
        point("supervised", 1, 1, 0, 0.30),
        point("finetuned", 1, 1, 0, 0.32),
        point("supervised", 2, 0, 0, 0.60),
        point("csum", 0, 0, None, 0.9),
    ]
    got = lc.paired_differences(points, "f1")
    assert list(got) == ["1"]  # n = 2 has no pair
    assert got["1"] == pytest.approx(list(lc.interval([0.10, 0.02])))


def test_label_curve_command_at_its_smallest(tmp_path, synthetic_dir, capsys):
    from experiments.label_curve import main

    argv = [
        "--quick",
        "--config=summe_vasnet:stock,small",
        "--labels=0,1,all",
        f"--out={tmp_path}",
        f"--config.data.synthetic_dir={synthetic_dir}",
        "--config.train.epochs=2",
    ]
    assert main(argv) == 0
    stem = tmp_path / "label_curve_summe_vasnet_small_stock"
    result = json.loads(stem.with_suffix(".json").read_text())
    assert set(result["table"]) == set(lc.METHODS)
    n_all = result["n_train"]
    assert set(result["table"]["supervised"]) == {"1", str(n_all)}
    for cells in result["table"].values():
        for cell in cells.values():
            for m in lc.METRICS:
                low, mean, high = cell[m][1], cell[m][0], cell[m][2]
                assert low <= mean <= high and np.isfinite([low, high]).all()
    # 2 label seeds x 2 counts x 2 labelled methods + 3 rows without labels, one fold
    assert len(result["points"]) == 2 * 2 * 2 + 3
    assert stem.with_suffix(".png").stat().st_size > 10_000
    assert "| contrast | 0 |" in stem.with_suffix(".md").read_text()
    # rerun: read back, the same numbers
    capsys.readouterr()
    assert main(argv) == 0
    assert json.loads(stem.with_suffix(".json").read_text()) == result
    assert "labels done" not in capsys.readouterr().out
    assert main([*argv[:-1], "--config=summe_vasnet_supervised:stock,small"]) == 2
    assert "expected a CSUM summarization config" in capsys.readouterr().err
    assert main([*argv, "--labels=0,one"]) == 2


def test_highlight_curve_at_its_smallest(tmp_path, synthetic_dir, capsys):
    """The highlight curve pools two domains; its ``csum`` point is the saved model's own
    clip AP, recomputed apart from the curve (``csum.load`` on the phase folder)."""
    import csum
    from csum.highlights.experiment import clip_ap, load_highlights
    from experiments.label_curve import main
    from experiments.run import prepare

    words = [
        f"--config.data.synthetic_dir={synthetic_dir}",
        "--config.train.epochs=1",
        "--config.highlights.finetune.epochs=1",
    ]
    argv = [
        "--quick",
        "--config=youtube_dog:quick",
        "--domains=dog,skiing",
        "--labels=0,2",
        "--label-seeds=0",
        f"--out={tmp_path}",
        *words,
    ]
    assert main(argv) == 0
    stem = tmp_path / "label_curve_youtube_dog_skiing_quick"
    result = json.loads(stem.with_suffix(".json").read_text())
    assert result["metrics"] == ["ap"] and result["folds"] == ["dog", "skiing"]
    assert set(result["by_domain"]) == {"dog", "skiing"} and set(result["paired"]["ap"]) == {"2"}
    assert result["counts"] == [0, 2] and result["n_train"] >= 2  # the largest domain's size
    assert set(result["table"]) == set(lc.METHODS)
    # per domain: 3 rows without labels and 2 labelled ones at n = 2, one seed
    assert len(result["points"]) == 2 * (3 + 2)
    assert all(0 <= p["ap"] <= 1 for p in result["points"])
    assert "| csum | 0 |" in stem.with_suffix(".md").read_text()
    assert stem.with_suffix(".png").stat().st_size > 10_000
    config = prepare("youtube_dog:quick", {"data.synthetic_dir": str(synthetic_dir)})
    videos, split = load_highlights(config)
    run = csum.load(stem / "runs" / "dog" / "seed_0" / "csum")
    scores = run.score([videos[k].as_video() for k in split["val"]])
    again = np.mean([clip_ap(config, videos[k], scores[k]) for k in split["val"]])
    (point,) = [p for p in result["points"] if p["method"] == "csum" and p["fold"] == "dog"]
    assert point["ap"] == pytest.approx(again, abs=1e-6)
    capsys.readouterr()
    assert main(argv) == 0  # resumed: read back
    assert "labels done" not in capsys.readouterr().out
    assert main([*argv, "--domains=cat"]) == 2
    assert "unknown domain(s) ['cat']" in capsys.readouterr().err
    assert main([*argv, "--folds=0"]) == 2


def test_combine_writes_one_overview_of_written_curves(tmp_path, capsys):
    from experiments.label_curve import main

    def point(method, n, fold, seed, value):
        return {"method": method, "n": n, "fold": fold, "seed": seed, "ap": value}

    files = []
    for name, gain in (("a", 0.10), ("b", -0.01)):
        points = [
            point(m, 0, f, s, 0.3 + 0.01 * s)
            for m in lc.UNLABELLED
            for f in ("x", "y")
            for s in (0, 1)
        ]
        for n in (1, 2, 4):
            for f, s in ((f, s) for f in ("x", "y") for s in (0, 1)):
                base = 0.2 + 0.05 * n + 0.01 * s
                points += [
                    point("supervised", n, f, s, base),
                    point("finetuned", n, f, s, base + gain + 0.002 * s),
                ]
        result = lc.curve_result(name, [0, 1], ["x", "y"], 4, [0, 1, 2, 4], points, ("ap",))
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(result))
    assert main([f"--combine={files[0]},{files[1]}", f"--out={tmp_path}"]) == 0
    rows = (tmp_path / "label_curves.md").read_text().splitlines()
    assert len(rows) == 4 and rows[2].startswith("| a | clip AP % |")
    # a: +10 points at every count, excluded 0 (*); b: -1 point, also excluded
    assert rows[2].count("*") == 3 and "10.1 [" in rows[2] and rows[3].count("-0.9 [") == 3
    assert (tmp_path / "label_curves.png").stat().st_size > 10_000
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    capsys.readouterr()
    assert main([f"--combine={bad}", f"--out={tmp_path}"]) == 2
    assert "not a label-curve json" in capsys.readouterr().err
