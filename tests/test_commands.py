"""Every command's front door: --help (options and the names it accepts) of each command
and benchmark, and the csum console script."""

import importlib

import pytest

from experiments.console import benchmark_names
from experiments.console import main as console

ENTRY_POINTS = ["experiments.run", "experiments.table1", "experiments.study"]
BENCHMARKS = benchmark_names()


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_help_lists_options_and_names(module, capsys):
    assert importlib.import_module(module).main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--config.a.b=V" in out and "options:" in out
    assert "tvsum_msva " in out and "Unsupervised CSUM with the msva backbone on TVSum." in out
    if module != "experiments.study":
        # (names checked one by one: a plugin test may have registered one more)
        assert all(f"{b}," in out or f"{b}\n" in out for b in ("dpplstm", "msva", "vasnet"))
        assert (
            "backbones (--config.backbone.name): a2summ, crosstask_lm, crosstask_sm, dpplstm, mhms, "
            in out
        )
    else:
        assert "learning, objective, residual, topk_operators, window_size" in out


@pytest.mark.parametrize(
    "module",
    [
        "experiments.evaluate",
        "experiments.highlights",
        "experiments.table2",
        "experiments.summarize",
        "experiments.highlight_baselines",
        "experiments.multimodal",
    ],
)
def test_highlight_commands_have_help(module, capsys):
    assert importlib.import_module(module).main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "options:" in out and "--out" in out


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_help_exits_zero(name, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", [name, "--help"])
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(f"benchmarks.{name}").main()
    assert exit_.value.code == 0
    assert f"python -m benchmarks.{name}" in capsys.readouterr().out


def test_console_script_dispatches_and_lists(capsys):
    assert console(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("run", "table1", "study", "bench")) and "budget_cost" in out
    assert console(["train"]) == 2
    assert "unknown command 'train'" in capsys.readouterr().err
    assert console(["run", "--config=tvsum_msva", "--config.topk.ratio=0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --config.topk.ratio=0.0: expected a number in (0, 1)"
    )
