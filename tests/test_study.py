"""The ablation-study runner: a :quick run of each study, resumption, bad input."""

import json

import pytest

from experiments.study import main


@pytest.mark.parametrize("study,n", [("topk_operators", 3), ("window_size", 5)])
def test_quick_study_writes_table_json_and_plot(tmp_path, synthetic_dir, study, n, capsys):
    argv = [f"--study={study}:quick", f"--out={tmp_path}", "--config.train.epochs=1",
            f"--config.data.synthetic_dir={synthetic_dir}"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads((tmp_path / f"{study}.json").read_text())
    assert len(result["summary"]) == n and result["seeds"] == [0]
    assert all(0 < s["f1_mean"] < 1 and s["f1_std"] == 0 for s in result["summary"])
    table = (tmp_path / f"{study}.md").read_text()
    assert (tmp_path / f"{study}.png").stat().st_size > 1000
    if study == "topk_operators":
        assert "| sinkhorn |" in table and "63.4 ± 0.3" in table
    # Rerunning reuses every finished run (each has its own workdir) and gives the same table.
    assert main(argv) == 0
    assert (tmp_path / f"{study}.md").read_text() == table


def test_study_errors_are_one_line(tmp_path, capsys):
    assert main(["--study=nope", f"--out={tmp_path}"]) == 2
    assert "unknown study 'nope'; known: topk_operators, window_size" in capsys.readouterr().err
    assert main(["--study=window_size:fast"]) == 2
    assert "unknown study argument 'fast'" in capsys.readouterr().err
