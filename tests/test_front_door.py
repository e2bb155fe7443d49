"""The front door: --help of every command, whole-config validation, named checkpoints."""

import importlib
import json
import pkgutil
from pathlib import Path

import ml_collections
import numpy as np
import pytest

import benchmarks
from experiments.config_loader import ConfigError, apply_overrides, known_configs, load_config
from experiments.console import main as console
from experiments.validate import RULES, leaves, validate

ENTRY_POINTS = ["experiments.run", "experiments.table1", "experiments.study"]
BENCHMARKS = sorted(
    m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name != "trained"
)


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


HIGHLIGHT_ARGS = {
    "youtube": ("", ":synthetic", ":quick,audio,finetuned", ":msva,supervised"),
    "tvsum": ("", ":synthetic", ":quick,scratch", ":vslstm"),
}
SUMMARY_ARGS = ("", ":synthetic", ":stock,quick", ":small")
QUERY_ARGS = {
    "qvhighlights_visionary": ("", ":synthetic", ":quick,finetuned", ":csum"),
    "qvhighlights_transformer": ("", ":quick"),
    "qvhighlights_crosstask_lm": ("", ":quick,finetuned"),
    "transcripts_a2summ": ("", ":synthetic", ":quick,finetuned", ":csum"),
    "transcripts_mhms": ("", ":quick,finetuned"),
    "transcripts_transformer": ("", ":quick"),
}


def config_args(name: str) -> tuple[str, ...]:
    if name in QUERY_ARGS:
        return QUERY_ARGS[name]
    if name.startswith("youtube_"):
        return HIGHLIGHT_ARGS["youtube"]
    return HIGHLIGHT_ARGS["tvsum"] if name.startswith("tvsum_highlights_") else SUMMARY_ARGS


@pytest.mark.parametrize("name", known_configs())
def test_every_config_leaf_has_a_rule_and_passes(name):
    for arg in config_args(name):
        config = load_config(name + arg)
        validate(config)
        keys = set(leaves(config)) - {"backbone.kwargs"}
        assert keys <= set(RULES), keys - set(RULES)
        if arg == ":small":  # small synthetic videos, every fold and the full epochs
            assert config.data.synthetic and config.data.synthetic_overrides.dim == 128
            assert config.data.folds == () and config.train.epochs == 20


def test_highlight_config_words():
    config = load_config("youtube_skiing:synthetic,audio,finetuned")
    assert (config.task, config.highlights.regime, config.highlights.audio) == (
        "highlights",
        "finetuned",
        True,
    )
    assert config.backbone.name == "transformer" and config.backbone.kwargs.audio
    assert config.train.epochs == 20 and config.highlights.finetune.epochs == 50
    assert load_config("tvsum_highlights_bk:msva").highlights.domain == "BK"
    for spec, expected in [
        ("youtube_dog:msva,audio", "'audio' needs a backbone with an audio stream"),
        ("tvsum_highlights_bk:audio", "TVSum highlights have no audio stream"),
        ("youtube_dog:finetuned,scratch", "one backbone and one regime"),
        ("youtube_dog:stock", "unknown config argument(s) ['stock']"),
    ]:
        with pytest.raises(ConfigError) as err:
            load_config(spec)
        assert expected in str(err.value) and "\n" not in str(err.value)


def _set(config, key, bad):
    """Applies a bad value the way a user would: through --config.KEY=VALUE."""
    if isinstance(bad, dict):  # a mapping field: an unknown sub-key
        ((sub, value),) = bad.items()
        apply_overrides(config, {f"{key}.{sub}": str(value)})
    else:
        apply_overrides(config, {key: str(bad) if not isinstance(bad, str) else bad})


def _sweep() -> list[tuple[str, str]]:
    """(config, key) pairs: every key with a bad value, on configs that have the key."""
    # A key shared by every config is swept on one summarization and one highlight config
    # (its rule is the same object for all); highlight keys on both highlight sources.
    summaries, highlights = ["tvsum_msva"], ["youtube_dog", "tvsum_highlights_vt"]
    queries = ["qvhighlights_visionary"]

    def configs(key):
        if key.startswith("highlights."):
            return highlights
        if key.startswith("queries.") or key == "loss.moment_weight":
            return queries
        if key.startswith("transcripts.") or key in ("loss.beta", "loss.lam", "loss.ratio"):
            return ["transcripts_a2summ"]
        if key == "loss.ot_weight":
            return ["transcripts_mhms"]
        return summaries + highlights[:1]

    return [
        (name, key)
        for key in sorted(k for k, r in RULES.items() if r.bad is not None)
        for name in configs(key)
    ]


@pytest.mark.parametrize("name,key", _sweep())
def test_bad_value_of_every_key_is_one_config_error(name, key):
    config = load_config(f"{name}:synthetic")
    with pytest.raises(ConfigError) as err:
        _set(config, key, RULES[key].bad)
        validate(config)
    message = str(err.value)
    assert "\n" not in message and key.split(".")[-1] in message


@pytest.mark.parametrize(
    "override,expected",
    [
        ("topk.sinkhorn.solver=lbfgs", "expected one of newton, sinkhorn"),
        ("topk.perturbed.samples=1", "expected an integer >= 2"),
        ("train.epochs=0", "expected an integer >= 1"),
        ("topk.ratio=1.5", "expected a number in (0, 1)"),
        ("eval.f1_mode=bogus", "expected one of avg, max"),
        ("eval.protocol=f1_avg+nope", "expected standard or +-joined names of"),
        ("projector.sources=(0,5)", "< len(data.feature_keys)"),
        ("backbone.kwargs.hiden=3", "backbone 'msva' takes hidden, head, aperture"),
        ("compute_dtype=float64", "expected one of float32, bfloat16"),
    ],
)
def test_bad_values_fail_before_any_work(tmp_path, override, expected, capsys):
    from experiments.run import main

    workdir = tmp_path / "run"
    argv = [
        "--config=tvsum_msva:synthetic,quick",
        f"--config.workdir={workdir}",
        f"--config.data.synthetic_dir={tmp_path / 'data'}",
        f"--config.{override}",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and expected in err, err
    assert not workdir.exists() and not (tmp_path / "data").exists()  # nothing read or written


@pytest.mark.parametrize(
    "argv,expected",
    [
        (
            ["--study=nope"],
            "unknown study 'nope'; known: contrast, learning, objective, residual, topk_operators, window_size",
        ),
        (["--study=window_size:fast"], "unknown study argument 'fast'"),
        (["--study=window_size", "--seeds=a"], "--seeds='a': expected comma-separated integers"),
        (["--study=window_size", "--config.topk.ratio=2"], "--config.topk.ratio=2.0"),
    ],
)
def test_study_errors_before_any_run(tmp_path, argv, expected, capsys):
    from experiments.study import main

    assert main([*argv, f"--out={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and expected in err, err
    assert not list(tmp_path.iterdir())


def test_table1_validates_every_config_first(tmp_path, capsys):
    from experiments.table1 import main

    # The transformer's supervised config is the last one; a DPP weight is only valid for
    # dppLSTM, so the table must refuse before the first backbone trains.
    argv = [
        "--synthetic",
        "--quick",
        f"--out={tmp_path}",
        "--config.loss.dpp_weight=1.0",
        "--regimes=supervised",
    ]
    assert main(argv) == 2
    assert "needs a backbone with DPP diversity features" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# --- checkpoints by name ----------------------------------------------------------------


def _model(seed=0):
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.optim import OptimizerSpec, make_optimizer_for

    config = load_config("tvsum_vslstm:synthetic,quick")
    apply_overrides(config, {"data.feature_keys": "('features',)"})
    model = build_summarizer(ModelSpec.from_config(config), (16,), seed=seed)
    return config, model, make_optimizer_for(OptimizerSpec.from_config(config), model)


def _params(model):
    import jax
    from flax import nnx

    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param).to_pure_dict())]


def test_checkpoint_is_a_named_mapping_and_round_trips(tmp_path):
    from csum.training.checkpoint import Checkpointer

    _, model, opt = _model(seed=0)
    ckpt = Checkpointer(tmp_path / "ckpt")
    ckpt.save(3, model, opt)
    ckpt.wait()
    stored = ckpt.read()
    assert set(stored) == {"params", "opt"}
    assert set(stored["params"]) == {"backbone", "projector"}
    kernel = stored["params"]["projector"]["kernel"]
    assert kernel.shape == (1, 16, 256)  # window x features x hidden, by name
    _, other, other_opt = _model(seed=1)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_params(model), _params(other), strict=True)
    )
    assert ckpt.restore(other, other_opt) == 3
    assert all(np.array_equal(a, b) for a, b in zip(_params(model), _params(other), strict=True))
    ckpt.close()


def test_old_flat_checkpoint_is_converted(tmp_path):
    import jax
    import orbax.checkpoint as ocp

    from csum.training.checkpoint import Checkpointer, CheckpointError, _pure

    _, model, opt = _model(seed=0)
    leaves = [np.asarray(x) for x in jax.tree.leaves(_pure(model, opt))]
    manager = ocp.CheckpointManager((tmp_path / "old").absolute())
    manager.save(2, args=ocp.args.StandardSave({"leaves": leaves}))  # the format-1 layout
    manager.wait_until_finished()
    manager.close()
    ckpt = Checkpointer(tmp_path / "old")
    assert ckpt.layout(2) == 1
    with pytest.raises(CheckpointError, match="old flat checkpoint"):
        ckpt.read()
    _, other, other_opt = _model(seed=1)
    assert ckpt.restore(other, other_opt) == 2
    assert all(np.array_equal(a, b) for a, b in zip(_params(model), _params(other), strict=True))
    ckpt.close()


def test_checkpoint_of_another_model_is_one_line(tmp_path):
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.checkpoint import Checkpointer, CheckpointError
    from csum.training.optim import OptimizerSpec, make_optimizer_for

    config, model, opt = _model()
    ckpt = Checkpointer(tmp_path / "ckpt")
    ckpt.save(1, model, opt)
    ckpt.wait()
    wider = build_summarizer(ModelSpec.from_config(config), (32,), seed=0)
    with pytest.raises(
        CheckpointError,
        match=r"params/backbone/.*/kernel has shape \(16, 1024\), the model \(32, 1024\)",
    ):
        ckpt.restore(wider, make_optimizer_for(OptimizerSpec.from_config(config), wider))
    ckpt.close()


def test_load_rebuilds_a_trained_model_from_its_workdir(tmp_path, synthetic_dir):
    import csum
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.summarization.experiment import load_dataset, run_experiment
    from csum.training.checkpoint import Checkpointer, CheckpointError
    from csum.training.optim import OptimizerSpec, make_optimizer_for

    config = load_config("tvsum_vasnet:synthetic,quick")
    apply_overrides(
        config,
        {
            "workdir": str(tmp_path / "run"),
            "train.progress": "false",
            "data.synthetic_dir": str(synthetic_dir),
            "train.epochs": "1",
        },
    )
    run_experiment(config)
    loaded = csum.load(tmp_path / "run").model
    # The trainer's own way back to the fold-0 model: its config, its data, its optimizer
    # (sizes: the data's sources plus the collection contrast, backbone.contrast_input).
    dims = (*next(iter(load_dataset(config).values())).dims, 1)
    fresh = build_summarizer(ModelSpec.from_config(config), dims, seed=config.seed)
    trained = build_summarizer(ModelSpec.from_config(config), dims, seed=config.seed)
    Checkpointer(tmp_path / "run" / "fold_0" / "checkpoints").restore(
        trained, make_optimizer_for(OptimizerSpec.from_config(config), trained)
    )
    pairs = list(zip(_params(loaded), _params(trained), strict=True))
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_params(fresh), _params(trained), strict=True)
    )
    with pytest.raises(CheckpointError, match="no config.json"):
        csum.load(tmp_path)
    with pytest.raises(CheckpointError, match="fold 3 has no checkpoint"):
        csum.load(tmp_path / "run", fold=3)


def test_validate_rejects_a_field_without_rule():
    config = load_config("tvsum_msva")
    with config.unlocked():
        config.train.new_knob = 3
    with pytest.raises(ConfigError, match="'train.new_knob' has no validation rule"):
        validate(config)


def test_leaves_walks_nested_configs():
    config = ml_collections.ConfigDict({"a": {"b": 1, "c": {"d": 2}}, "e": 3})
    assert leaves(config) == {"a.b": 1, "a.c.d": 2, "e": 3}


# --- any eccv16 file by path ----------------------------------------------------------


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
