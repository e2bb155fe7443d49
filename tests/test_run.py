"""The run entry end to end: every config's quick run, errors, and exact resume."""

import json
import re
from pathlib import Path

import pytest

from csum.summarization.experiment import run_experiment
from experiments.config_loader import apply_overrides, known_configs, load_config
from experiments.run import main

CONFIGS = [n for n in known_configs() if load_config(n).task == "summarize"]
"""Summarization configs (highlight configs run in tests/test_highlight_run.py)."""
BACKBONE_NAMES = ("vslstm", "dpplstm", "vasnet", "msva", "transformer")
METRIC_KEYS = {"f1", "kendall_tau", "spearman_rho"}
RHO_MARGIN = 0.15
"""Every quick CSUM run's test rho above random scores' by this much: the regime starts at
its contrast input (about 0.4-0.5 rho on the quick draw), whatever the init seed. Two
epochs of a supervised regime promise no margin; its numbers are checked against the
independent evaluation only."""


def _args(tmp_path, synthetic_dir, name, *extra):
    return [
        f"--config={name}:synthetic,quick",
        f"--config.workdir={tmp_path / name}",
        f"--config.data.synthetic_dir={synthetic_dir}",
        "--config.train.progress=false",
        *extra,
    ]


def test_every_backbone_has_both_regimes_on_both_datasets():
    want = {
        f"{d}_{b}{r}"
        for d in ("tvsum", "summe")
        for b in BACKBONE_NAMES
        for r in ("", "_supervised")
    }
    assert want <= set(CONFIGS)
    for name in want:
        config = load_config(f"{name}:synthetic,quick")
        assert config.train.regime == ("supervised" if "supervised" in name else "csum")
        assert config.backbone.name in name


RUN_CONFIGS = [n for n in CONFIGS if n.startswith("tvsum_") and not n.endswith("_supervised")]
RUN_CONFIGS += ["tvsum_dpplstm_supervised", "summe_vslstm_supervised"]
"""Every backbone runs CSUM on TVSum's shape end to end. The supervised loss is one code
path for every backbone (each backbone's outputs and gradients are tested in
test_backbones): it runs with dppLSTM's DPP term on TVSum and on SumMe, whose configs differ
from TVSum's only in data and F1 mode (each config is loaded and validated in
test_front_door)."""


@pytest.mark.parametrize("name", RUN_CONFIGS)
def test_quick_run_of_every_config(tmp_path, synthetic_dir, name, capsys, reevaluate):
    assert main(_args(tmp_path, synthetic_dir, name)) == 0
    results = json.loads((tmp_path / name / "results.json").read_text())
    assert set(results["mean"]) == METRIC_KEYS and len(results["folds"]) == 1
    contrast = load_config(f"{name}:synthetic,quick").backbone.contrast_input
    assert set(results["baselines"]) == {"random", "uniform", "oracle"} | (
        {"contrast"} if contrast else set()
    )
    share = results["oracle_share"]["f1"]
    b = results["baselines"]
    expect = (results["mean"]["f1"] - b["random"]["f1"]) / (b["oracle"]["f1"] - b["random"]["f1"])
    assert abs(share - expect) < 1e-9
    for m in [results["mean"], *results["baselines"].values()]:
        assert 0 <= m["f1"] <= 1 and -1 <= m["spearman_rho"] <= 1
    lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1]
    assert (tmp_path / name / "config.json").is_file()
    assert "mean" in capsys.readouterr().out
    # the numbers: the saved model, loaded and evaluated apart, gives the reported fold
    # metrics (float rounding of other padded batches only), and they beat random scores
    config = load_config(f"{name}:synthetic,quick")
    apply_overrides(config, {"data.synthetic_dir": str(synthetic_dir)})
    again = reevaluate(tmp_path / name, config)
    for m in METRIC_KEYS:
        assert abs(again[m] - results["folds"][0][m]) <= 1e-4, (m, again, results["folds"][0])
    if config.train.regime == "csum":  # starts at its contrast input (csum.model.residual)
        assert results["mean"]["spearman_rho"] > b["random"]["spearman_rho"] + RHO_MARGIN


def _error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_missing_eccv16_file(tmp_path, capsys):
    code = main(["--config=tvsum_msva", f"--config.data.dir={tmp_path}"])
    err = _error_line(capsys)
    assert code == 2
    assert "eccv16_dataset_tvsum_google_pool5.h5" in err and str(tmp_path) in err
    assert "--config=tvsum_msva:synthetic" in err


@pytest.mark.parametrize(
    "argv,pattern",
    [
        (["--config=tvsum_nope"], "unknown config 'tvsum_nope'"),
        (["--config=tvsum_msva:fast"], "unknown config argument"),
        (["--config=tvsum_msva", "--config.train.epoch=3"], "unknown config field 'train.epoch'"),
        (["--config=tvsum_msva", "--config.train.epochs=abc"], "--config.train.epochs"),
        ([], "the following arguments are required: --config"),
    ],
)
def test_config_errors_are_one_line(argv, pattern, capsys):
    assert main(argv) == 2
    assert pattern in _error_line(capsys)


def test_unknown_backbone_is_one_line(tmp_path, synthetic_dir, capsys):
    assert main(_args(tmp_path, synthetic_dir, "tvsum_msva", "--config.backbone.name=lstm")) == 2
    assert (
        "--config.backbone.name='lstm': expected one of a2summ, crosstask_lm, crosstask_sm, "
        "dpplstm, mhms, msva, transformer, vasnet, visionary, vslstm" in (_error_line(capsys))
    )


@pytest.mark.parametrize(
    "extra,pattern",
    [
        (
            ["--config.train.regime=self"],
            "--config.train.regime='self': expected one of a2summ, csum, mhms, query, saliency, supervised",
        ),
        (
            ["--config.train.regime=supervised", "--config.loss.dpp_weight=1.0"],
            "needs a backbone with DPP diversity features (dpplstm), not 'msva'",
        ),
        (["--import=no_such_module_xyz"], "--import=no_such_module_xyz: ModuleNotFoundError"),
        (
            ["--config.loss.negatives=some"],
            "--config.loss.negatives='some': expected one of batch, all",
        ),
    ],
)
def test_regime_and_import_errors_are_one_line(tmp_path, synthetic_dir, extra, pattern, capsys):
    assert main(_args(tmp_path, synthetic_dir, "tvsum_msva", *extra)) == 2
    assert pattern in _error_line(capsys)


def test_supervised_regime_without_gtscore_is_one_line(tmp_path, small_videos, capsys):
    import dataclasses

    from csum.data.eccv16 import write_eccv16

    unlabelled = [
        dataclasses.replace(v, gtscore=None, features=v.features[:1]) for v in small_videos.values()
    ]
    write_eccv16(tmp_path / "eccv16_dataset_summe_google_pool5.h5", unlabelled)
    argv = [
        "--config=summe_vasnet_supervised",
        f"--config.data.dir={tmp_path}",
        f"--config.workdir={tmp_path / 'run'}",
    ]
    assert main(argv) == 2
    err = _error_line(capsys)
    assert "eccv16_dataset_summe_google_pool5.h5: video 'video_1': key 'gtscore'" in err
    assert "train.regime=supervised needs gtscore for every video; 12 have none" in err


def test_plugin_backbone_from_readme(tmp_path, synthetic_dir, monkeypatch, capsys):
    """The plugin example of docs/usage.md, verbatim, in a module outside the package, trained by
    name with an existing config."""
    readme = (Path(__file__).resolve().parents[1] / "docs" / "usage.md").read_text()
    block = re.search(r"<!-- plugin-example.*?```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "my_backbones.py").write_text(block)
    monkeypatch.syspath_prepend(str(tmp_path))
    name = re.search(r'register\("(\w+)"\)', block).group(1)
    argv = _args(
        tmp_path,
        synthetic_dir,
        "tvsum_vslstm",
        "--import=my_backbones",
        f"--config.backbone.name={name}",
        "--config.backbone.kwargs.hidden=8",
    )
    assert main(argv) == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "tvsum_vslstm" / "config.json").read_text())
    assert saved["backbone"] == {
        "name": name,
        "kwargs": {"hidden": 8},
        "contrast_input": True,
        "residual": True,
        "residual_gain": 1.0,
    }
    results = json.loads((tmp_path / "tvsum_vslstm" / "results.json").read_text())
    assert 0 <= results["mean"]["f1"] <= 1


def _config(tmp_path, synthetic_dir, workdir, **overrides):
    config = load_config("tvsum_vslstm:synthetic,quick")
    apply_overrides(
        config,
        {
            "workdir": str(tmp_path / workdir),
            "train.epochs": "3",
            "data.synthetic_dir": str(synthetic_dir),
            "train.progress": "false",
            **overrides,
        },
    )
    return config


@pytest.mark.parametrize(
    "op",
    [
        {"topk.name": "successive_halving"},
        # perturbed: its noise must also be drawn again exactly after the resumption.
        {"topk.name": "perturbed"},
        # the supervised regime, with dppLSTM's DPP term, shares the same resumption.
        {"train.regime": "supervised", "backbone.name": "dpplstm", "loss.dpp_weight": "1.0"},
    ],
    ids=["successive_halving", "perturbed", "dpplstm_supervised"],
)
def test_interrupted_run_resumes_to_identical_results(tmp_path, synthetic_dir, op):
    full = run_experiment(_config(tmp_path, synthetic_dir, "full", **op))

    def interrupt(fold, epoch):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(_config(tmp_path, synthetic_dir, "cut", **op), on_epoch_end=interrupt)
    cut = tmp_path / "cut"
    assert len((cut / "metrics.jsonl").read_text().splitlines()) == 2
    resumed = run_experiment(_config(tmp_path, synthetic_dir, "cut", **op))
    assert resumed["folds"] == full["folds"] and resumed["mean"] == full["mean"]
    losses = [json.loads(x)["loss"] for x in (cut / "metrics.jsonl").read_text().splitlines()]
    full_losses = [
        json.loads(x)["loss"]
        for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    ]
    assert losses == full_losses


def test_sparse_checkpoints_change_no_number_and_resume_exactly(
    tmp_path, synthetic_dir, monkeypatch
):
    """``train.checkpoint_every=2`` of 4 epochs, killed after the unsaved third epoch's
    record was written: the resumed run drops that record, redoes the epoch from the
    checkpoint of the second, and ends with every number of a run saved every epoch."""
    from csum.training import rundir

    full = run_experiment(_config(tmp_path, synthetic_dir, "full", **{"train.epochs": "4"}))
    sparse = {"train.epochs": "4", "train.checkpoint_every": "2"}
    append = rundir.append_metrics

    def killed_after_epoch_2(workdir, record):
        append(workdir, record)
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(rundir, "append_metrics", killed_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_config(tmp_path, synthetic_dir, "cut", **sparse))
    monkeypatch.setattr(rundir, "append_metrics", append)
    cut = tmp_path / "cut"
    assert len((cut / "metrics.jsonl").read_text().splitlines()) == 3
    steps = sorted(
        int(p.name) for p in (cut / "fold_0" / "checkpoints").iterdir() if p.name.isdigit()
    )
    assert steps == [2]  # epochs 1 and 3 were not saved
    resumed = run_experiment(_config(tmp_path, synthetic_dir, "cut", **sparse))
    assert resumed["folds"] == full["folds"] and resumed["mean"] == full["mean"]

    def losses(run):
        return [json.loads(x)["loss"] for x in (run / "metrics.jsonl").read_text().splitlines()]

    assert losses(cut) == losses(tmp_path / "full")


def test_same_seed_same_numbers_and_config_guard(tmp_path, synthetic_dir):
    a = run_experiment(_config(tmp_path, synthetic_dir, "a", **{"train.epochs": "1"}))
    b = run_experiment(_config(tmp_path, synthetic_dir, "b", **{"train.epochs": "1"}))
    assert a["mean"] == b["mean"]
    from csum.data.errors import DataError

    with pytest.raises(DataError, match="another config"):
        run_experiment(_config(tmp_path, synthetic_dir, "a", **{"loss.tau": "0.5"}))


@pytest.mark.parametrize("name", ["tvsum_msva", "tvsum_vslstm"])
def test_models_of_different_folds_share_compiled_steps(name):
    # Every static part of the model and optimizer graph must be equal between two builds
    # (e.g. no fresh closures), or each fold recompiles every train-step shape.
    from flax import nnx

    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.optim import OptimizerSpec, make_optimizer

    config = load_config(f"{name}:synthetic,quick")
    dims = (16,) * len(config.data.feature_keys)

    def graph(seed):
        model = build_summarizer(ModelSpec.from_config(config), dims, seed=seed)
        return nnx.graphdef(
            (
                model,
                nnx.Optimizer(
                    model, make_optimizer(OptimizerSpec.from_config(config)), wrt=nnx.Param
                ),
            )
        )

    assert graph(0) == graph(1)
