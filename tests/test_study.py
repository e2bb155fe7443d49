"""The ablation-study runner: a :quick run of each study, resumption, bad input."""

import json
import types

import numpy as np
import pytest

import experiments.study as study_module
from experiments.study import main


# window_size takes the same path with 5 values (78 s); topk_operators stands for both.
@pytest.mark.parametrize("study,n", [("topk_operators", 3)])
def test_quick_study_writes_table_json_and_plot(tmp_path, synthetic_dir, study, n, capsys):
    argv = [
        f"--study={study}:quick",
        f"--out={tmp_path}",
        "--config.train.epochs=1",
        f"--config.data.synthetic_dir={synthetic_dir}",
    ]
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
    err = capsys.readouterr().err
    assert (
        "unknown study 'nope'; known: contrast, learning, objective, residual, topk_operators, "
        "window_size" in err
    )
    assert main(["--study=window_size:fast"]) == 2
    assert "unknown study argument 'fast'" in capsys.readouterr().err


def test_variants_study_writes_curves_and_oracle_rows(tmp_path, synthetic_dir, monkeypatch):
    """A one-factor-at-a-time study (the form of ``learning``): named override sets on a
    base config, learning curves from metrics.jsonl, random and oracle rows."""
    fake = types.SimpleNamespace(
        BASES=("tvsum_msva:stock",),
        OVERRIDES={"train.epochs": "2"},
        VARIANTS={
            "frozen": {},
            "trained h": {"projector.trainable": "true", "loss.negatives": "batch"},
        },
    )
    monkeypatch.setattr(study_module, "load_study", lambda name: fake)
    argv = [
        "--study=learning:quick",
        f"--out={tmp_path}",
        f"--config.data.synthetic_dir={synthetic_dir}",
    ]
    assert main(argv) == 0
    result = json.loads((tmp_path / "learning.json").read_text())
    assert [s["variant"] for s in result["summary"]] == ["frozen", "trained h"]
    assert all(
        len(r["curve"]) == 2 and "val_spearman_rho" in r["curve"][-1] for r in result["runs"]
    )
    assert all("oracle" in s and "random" in s for s in result["summary"])
    table = (tmp_path / "learning.md").read_text()
    assert "| frozen |" in table and "*oracle*" in table
    assert (tmp_path / "learning.png").stat().st_size > 1000


def test_label_free_ceiling_rows(tmp_path, synthetic_dir):
    """benchmarks.label_free_ceiling on one draw and fold: every row of every table, the
    room is the ceiling minus the contrast, and random scores have no rank correlation."""
    from benchmarks.label_free_ceiling import ROWS, TABLES
    from benchmarks.label_free_ceiling import main as ceiling

    with pytest.raises(SystemExit) as exit_:
        ceiling(
            ["--data-seeds=1", "--folds=0", f"--out={tmp_path}", f"--synthetic-dir={synthetic_dir}"]
        )
    assert exit_.value.code == 0
    result = json.loads((tmp_path / "label_free_ceiling.json").read_text())
    assert list(result["tables"]) == [f"{d}_{f}" for d, f in TABLES]
    table = (tmp_path / "label_free_ceiling.md").read_text()
    for name, rows in result["tables"].items():
        assert list(rows) == list(ROWS)
        assert abs(rows["random"]["spearman_rho_mean"]) < 0.05, name
        room = rows["kind ceiling"]["spearman_rho_mean"] - rows["contrast"]["spearman_rho_mean"]
        assert f"{room:+.3f}" in table.splitlines()[-1]


def test_content_graph_propagation_known_answers():
    """a = 0 returns the scores; two groups of identical clips, dissimilar to each other,
    end with each group's scores tied at their mean as a -> 1."""
    from benchmarks.label_free_ceiling import content_graph

    rng = np.random.default_rng(0)
    c = rng.normal(size=8)
    x = np.zeros((8, 2))
    x[:4, 0], x[4:, 1] = 1.0, 1.0  # centred, the groups' cosine is -1, cut to 0
    np.testing.assert_allclose(content_graph(c, x, k=3, a=0.0), c, rtol=1e-12)
    # each group is a complete graph of 4 (k = 3), regular, so S = (J - I)/3 inside it;
    # whose eigenvector of eigenvalue 1 is the constant: as a -> 1, (1 - a)(I - a S)^-1 c
    # tends to the projection of c on it, the group mean (error O(1 - a))
    out = content_graph(c, x, k=3, a=1 - 1e-7)
    for g in (slice(0, 4), slice(4, 8)):
        np.testing.assert_allclose(out[g], c[g].mean(), atol=1e-5)
