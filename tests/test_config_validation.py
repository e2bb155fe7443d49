"""Whole-config validation before any work: every config leaf has a rule, every bad value
is one ``ConfigError`` line, and the commands refuse before they write anything."""

import ml_collections
import pytest

from experiments.config_loader import ConfigError, apply_overrides, known_configs, load_config
from experiments.validation import RULES, leaves, validate

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
