"""Query-based moment retrieval and highlight detection learns, and its predictions evaluate
with experiments.evaluate to the numbers the run reports."""

import json

import pytest

from experiments.config_loader import apply_overrides, load_config


@pytest.fixture(scope="module")
def visionary_run(tmp_path_factory):
    from csum.multimodal.retrieval import run_queries

    root = tmp_path_factory.mktemp("queries")
    config = load_config("qvhighlights_visionary:quick")
    # 30 epochs of the query loss, not quick's 15: after 15 the moment head is barely
    # trained and its MR-mAP sits within a point of random's on some processors
    apply_overrides(
        config,
        {
            "workdir": str(root / "run"),
            "data.synthetic_dir": str(root),
            "train.progress": "false",
            "queries.finetune.epochs": "30",
        },
    )
    return run_queries(config), root / "run"


def test_visionary_beats_random_on_both_tasks(visionary_run):
    result, _ = visionary_run
    m, r = result["metrics"], result["random"]
    # 14 val queries: margins well beyond what random predictions reach on them
    assert m["HL-min-VeryGood-mAP"] > r["HL-min-VeryGood-mAP"] + 5
    assert m["MR-full-mAP"] > r["MR-full-mAP"] + 2


def test_predictions_evaluate_to_the_reported_numbers(visionary_run, tmp_path, capsys):
    from experiments.evaluate import main

    result, workdir = visionary_run
    out = tmp_path / "m.json"
    code = main(
        [
            "--format=qvhighlights",
            f"--submission={workdir}/predictions_query.jsonl",
            f"--gt={result['gt']}",
            f"--out={out}",
        ]
    )
    assert code == 0
    assert json.loads(out.read_text())["brief"] == result["metrics"]


def test_multimodal_command_writes_a_table_per_system(tmp_path, capsys):
    from experiments.multimodal import main

    out = tmp_path / "o.json"
    code = main(
        [
            "--quick",
            "--systems=crosstask",
            f"--out={tmp_path}",
            f"--json={out}",
            f"--config.data.synthetic_dir={tmp_path / 'data'}",
            "--config.train.epochs=1",
            "--config.queries.finetune.epochs=2",
            "--config.train.progress=false",
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    table = result["systems"]["crosstask"]
    assert set(table["rows"]) == {
        "crosstask_lm, own loss",
        "crosstask_lm, CSUM then own loss",
        "query-free transformer, saliency",
    }
    for metric in table["metrics"]:
        assert isinstance(table["random"][metric], float)
    assert table["rows"]["query-free transformer, saliency"]["MR-full-mAP"] is None
    printed = capsys.readouterr().out
    assert "| random |" in printed and (tmp_path / "multimodal_table.md").is_file()


def test_multimodal_report_keeps_the_tables_it_did_not_rerun(tmp_path):
    from experiments.multimodal import kept_tables

    path = tmp_path / "multimodal_table.json"
    old = {
        "data": "synthetic",
        "overrides": {"seed": "1"},
        "systems": {"visionary": {"rows": 1}, "a2summ": {"rows": 2}, "gone": {}},
    }
    path.write_text(json.dumps(old))
    assert kept_tables(path, "synthetic", {"seed": "1"}, ["a2summ"]) == {"visionary": {"rows": 1}}
    # another data set or other overrides: nothing is kept
    assert kept_tables(path, "synthetic, quick", {"seed": "1"}, ["a2summ"]) == {}
    assert kept_tables(path, "synthetic", {}, ["a2summ"]) == {}
    assert kept_tables(tmp_path / "none.json", "synthetic", {}, []) == {}
