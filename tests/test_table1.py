"""The Table 1 runner: a quick table over backbones and regimes, resumption, bad input."""

import json

from experiments.table1 import main


def test_quick_table_writes_json_and_markdown_and_resumes(tmp_path, synthetic_dir, capsys):
    argv = [
        "--dataset=tvsum",
        "--synthetic",
        "--quick",
        "--backbones=vasnet,vslstm",
        f"--out={tmp_path}",
        "--config.train.epochs=1",
        f"--config.data.synthetic_dir={synthetic_dir}",
    ]
    assert main(argv) == 0
    result = json.loads((tmp_path / "table1_tvsum.json").read_text())
    cells = {(s["backbone"], s["regime"]) for s in result["summary"]}
    assert cells == {(b, r) for b in ("vasnet", "vslstm") for r in ("csum", "supervised")}
    assert all(0 < s["f1_mean"] < 1 and s["n_seeds"] == 1 for s in result["summary"])
    table = (tmp_path / "table1_tvsum.md").read_text()
    # The paper's F1 beside ours: VASNet CSUM 62.7, supervised 61.4 on TVSum.
    assert table.count("| vasnet |") == 1 and "| 62.7 |" in table and "| 61.4 |" in table
    assert (tmp_path / "table1_tvsum" / "tvsum_vasnet_supervised" / "seed_0").is_dir()
    # What training adds to its input: each run's metric minus its contrast row, paired.
    assert "csum: training adds (F1 / rho)" in table
    for s in result["summary"]:
        run = next(
            r
            for r in result["runs"]
            if (r["backbone"], r["regime"]) == (s["backbone"], s["regime"])
        )
        assert abs(s["adds"]["f1_mean"] - (run["f1"] - run["contrast"]["f1"])) < 1e-12
        assert s["adds"]["f1_std"] == 0.0  # one run
    # Rerunning reuses every finished run and writes the same table.
    assert main(argv) == 0
    assert (tmp_path / "table1_tvsum.md").read_text() == table


def test_table1_errors_are_one_line(tmp_path, capsys):
    for argv, pattern in [
        (["--dataset=youtube"], "argument --dataset: invalid choice: 'youtube'"),
        (["--regimes=csum,semi"], "--regimes='csum,semi': expected names from csum, supervised"),
        (["--backbones=msva,lstm"], "unknown backbone 'lstm'"),
        (["--epochs=3"], "unrecognized argument '--epochs=3'"),
        (["--seeds=0,x"], "--seeds='0,x': expected comma-separated integers"),
    ]:
        assert main([*argv, f"--out={tmp_path}"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and pattern in err and "\n" not in err, err
    assert not list(tmp_path.iterdir())  # nothing written
