"""A user's path without traps: each trap found by trying the toolkit as a new user, replayed.

* ``experiments.summarize`` where no input can be decoded: one line, exit 2, nothing written;
* ``summarize --model`` of a run that does not exist: exit 2 before anything is written;
* a refused rerun into a folder of another collection changes no file there;
* ``csum.load(run)`` refuses sources the run was not trained on (never a score) and scores
  features, h5 files and videos in one call, as the run's own evaluation scored them;
* ``csum.model.contrast`` is importable as an attribute after a plain ``import csum``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from csum.data.errors import DataError
from csum.video.synthetic import Scene, write_video

SCENES = [
    Scene(3.0, (220, 40, 40), "flat", 440.0),
    Scene(2.5, (40, 200, 60), "stripes"),
    Scene(3.5, (40, 60, 220), "checker", 880.0),
    Scene(3.0, (230, 230, 60), "noise"),
]


def _summarize(argv):
    from experiments.summarize import main

    return main(argv)


def _files(folder) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_summarize_with_nothing_readable_is_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "text.mp4").write_text("not a video\n")
    (tmp_path / "in" / "cut.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    out = tmp_path / "out"
    code = _summarize([str(tmp_path / "in"), f"--out={out}", f"--cache={tmp_path / 'c'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "none of the 2 video file(s) could be read" in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3  # each file, then the summary line; each one on its own line
    assert all(line.startswith("error:") for line in err.splitlines() if "error:" in line)
    assert not out.exists()


def test_summarize_with_a_missing_model_writes_nothing(tmp_path, capsys):
    write_video(tmp_path / "a.mp4", SCENES, fps=25)
    out = tmp_path / "out"
    code = _summarize(
        [
            str(tmp_path / "a.mp4"),
            f"--out={out}",
            "--model=/no/such/run",
            f"--cache={tmp_path / 'c'}",
        ]
    )
    assert code == 2
    assert "/no/such/run" in capsys.readouterr().err
    assert not out.exists()


def test_a_refused_rerun_changes_nothing(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, scenes in (("a", SCENES), ("b", SCENES[::-1]), ("c", SCENES[1:] + SCENES[:1])):
        write_video(folder / f"{name}.mp4", scenes, fps=25, audio=False)
    out, cache = tmp_path / "out", f"--cache={tmp_path / 'c'}"
    argv = ["--epochs=1", "--extractor=colour", cache, "--no-highlights"]
    argv.append("--config.train.progress=false")
    assert _summarize([str(folder), f"--out={out}", *argv]) == 0
    before = _files(out)
    (folder / "c.mp4").unlink()  # another collection: 2 videos where the model has 3
    assert _summarize([str(folder), f"--out={out}", *argv]) == 2
    assert "holds a model trained on other videos" in capsys.readouterr().err
    assert _files(out) == before


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synthetic_dir):
    """A quick CSUM-VASNet run with the contrast input: (workdir, config)."""
    from experiments.run import main, prepare

    work = tmp_path_factory.mktemp("user") / "run"
    args = [
        "--config=summe_vasnet:synthetic,quick",
        f"--config.workdir={work}",
        f"--config.data.synthetic_dir={synthetic_dir}",
        "--config.train.progress=false",
        "--config.train.epochs=2",
        "--config.data.folds=(0,)",
    ]
    assert main(args) == 0
    config = prepare("summe_vasnet:synthetic,quick", {"data.synthetic_dir": str(synthetic_dir)})
    return work, config


def test_a_loaded_run_refuses_sources_it_was_not_trained_on(trained):
    import jax.numpy as jnp

    import csum

    work, _ = trained
    run = csum.load(work)
    assert run.in_dims == (*run.base_dims, 1) and run.contrast_input
    rng = np.random.default_rng(0)
    good = tuple(rng.normal(size=(40, d)).astype(np.float32) for d in run.base_dims)
    assert run.score(good).shape == (40,)
    # too few, too many, a wrong width
    wrong = [good[:-1], (*good, good[0]), (good[0][:, :7], *good[1:])]
    nan = list(good)
    nan[-1] = np.full_like(good[-1], np.nan)
    for bad in (*wrong, tuple(nan)):
        with pytest.raises(DataError) as err:
            run.score(bad)
        assert "\n" not in str(err.value)
    # the backbone called directly, as docs/usage.md shows it, with the sources it is given
    for sources in (good[:1], good):  # without the contrast source
        with pytest.raises(DataError, match=r"model\.json"):
            run.backbone(tuple(jnp.asarray(s)[None] for s in sources), jnp.ones((1, 40), bool))
    full = run.inputs([_video(good)])[0].features
    scores = run.backbone(tuple(jnp.asarray(s)[None] for s in full), jnp.ones((1, 40), bool))
    assert np.shape(scores if not hasattr(scores, "scores") else scores.scores)[-1] == 40


def _video(sources, key="v"):
    from csum.data.records import Video

    T = len(sources[0])
    return Video(
        key=key,
        features=tuple(sources),
        n_frames=15 * T,
        picks=np.arange(T) * 15,
        change_points=np.array([[0, 15 * T - 1]]),
        user_summary=None,
    )


def test_score_in_one_call_matches_the_runs_evaluation(trained, tmp_path, reevaluate):
    """run.score on the raw test videos (a list, an h5 file of them, one array) gives the
    scores that reproduce the run's own test metrics of the fold (``reevaluate`` scores the
    list with ``run.score``)."""
    import csum
    from csum.data.eccv16 import write_eccv16
    from csum.summarization.data import load_dataset

    work, config = trained
    got, want = reevaluate(work, config), json.loads((work / "fold_0" / "result.json").read_text())
    for m in ("f1", "kendall_tau", "spearman_rho"):
        assert abs(got[m] - want[m]) <= 1e-6, (m, got, want)
    splits = json.loads((work / "results.json").read_text())["split_file"]
    data = load_dataset(config)
    videos = [data[k] for k in json.loads(Path(splits).read_text())[0]["test_keys"]]
    run = csum.load(work)
    scores = run.score(videos)
    write_eccv16(tmp_path / "test.h5", videos)
    from_file = run.score(tmp_path / "test.h5")
    one = run.score(videos[0].features)
    for v in videos:  # other padded lengths and batches: float rounding only
        np.testing.assert_allclose(from_file[v.key], scores[v.key], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(one, scores[videos[0].key], rtol=1e-4, atol=1e-5)
    with pytest.raises(DataError, match="not a video file"):
        run.score(tmp_path / "test.txt" if (tmp_path / "test.txt").write_text("x") else "")


def test_submodules_are_attributes_after_a_plain_import():
    code = (
        "import csum; print(csum.model.contrast.for_run.__name__, csum.load.__name__, "
        "csum.topk.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["for_run", "load", "csum.topk"]
    proc = subprocess.run(
        [sys.executable, "-c", "import csum; csum.nope"], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "no attribute 'nope'" in proc.stderr


def test_quick_means_one_thing_and_every_hint_runs():
    """'quick' is a synthetic smoke run in every config family; the synthetic hint of every
    config is a --config that loads, on the synthetic data."""
    from csum.data.errors import synthetic_hint
    from experiments.config_loader import known_configs, load_config

    for name in known_configs():
        assert load_config(f"{name}:quick").data.synthetic, name
        for spec in (name, f"{name}:quick"):
            hint = synthetic_hint(load_config(spec).name)
            assert load_config(hint.split("--config=")[1]).data.synthetic, hint


PLUGIN = """
import jax.numpy as jnp
from flax import nnx

import backbones


@backbones.BACKBONES.register("user_linear")
class UserLinear(nnx.Module):
    def __init__(self, in_dims, *, rngs, **_):
        self.linear = nnx.Linear(sum(in_dims), 1, rngs=rngs)

    def __call__(self, features, mask, *args, **kwargs):
        x = jnp.concatenate([f.astype(jnp.float32) for f in features], axis=-1)
        return nnx.sigmoid(self.linear(x)[..., 0])
"""


@pytest.mark.parametrize(
    "command",
    ["run", "table1", "study", "table2", "highlights", "summarize", "multimodal", "evaluate"],
)
def test_every_command_takes_import(command, tmp_path, monkeypatch, capsys):
    """--import is processed by every command (a module that fails to import is one line
    naming it, exit 2), and an unknown backbone's message names --import."""
    import importlib

    from experiments.console import COMMANDS

    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('boom')\n")
    main = importlib.import_module(COMMANDS[command][0]).main
    assert main(["--import=broken_plugin", "--help"]) == 0  # listed in --help
    assert "--import MODULE" in capsys.readouterr().out
    required = {
        "run": ["--config=tvsum_msva:quick"],
        "summarize": ["x.mp4"],
        "highlights": ["--features=x"],
        "study": ["--study=residual"],
        "evaluate": ["--submission=x", "--gt=y"],
    }
    code = main(["--import=broken_plugin", *required.get(command, [])])
    assert code == 2
    assert "--import=broken_plugin: RuntimeError: boom" in capsys.readouterr().err


def test_a_users_backbone_through_run_title_and_load(tmp_path, synthetic_dir, monkeypatch, capsys):
    """A backbone of the user's module: trained by experiments.run --import, the table
    titled by it, and loaded by csum.load in a fresh interpreter that never imported it."""
    from backbones.registry import BACKBONES
    from experiments.run import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_backbones.py").write_text(PLUGIN)
    work = tmp_path / "run"
    argv = [
        "--import=user_backbones",
        "--config=tvsum_msva:quick",
        "--config.backbone.name=user_linear",
        f"--config.workdir={work}",
        f"--config.data.synthetic_dir={synthetic_dir}",
        "--config.train.epochs=1",
        "--config.train.progress=false",
    ]
    try:
        assert main(argv) == 0
    finally:
        BACKBONES._items.pop("user_linear", None)  # other tests see the built-in registry
    assert "tvsum_msva:quick [backbone user_linear]" in capsys.readouterr().out
    code = (
        "import csum, numpy as np\n"
        f"run = csum.load({str(work)!r})\n"
        "x = tuple(np.ones((30, d), np.float32) for d in run.base_dims)\n"
        "print(type(run.model.backbone.inner).__name__, run.score(x).shape)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["UserLinear", "(30,)"]
    (tmp_path / "user_backbones.py").unlink()
    out = subprocess.run(
        [sys.executable, "-m", "experiments.summarize", "x.mp4", "--backbone=user_linear"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 2 and "--import=MODULE" in out.stderr


def test_mixed_feature_widths_name_the_odd_video(tmp_path):
    """The odd video is named even when it comes first (the expected width is the one most
    videos of the file have)."""
    from csum.data.eccv16 import load_eccv16, write_eccv16

    rng = np.random.default_rng(0)
    videos = [
        _video((rng.normal(size=(20, 7 if i == 0 else 16)).astype(np.float32),), f"v{i}")
        for i in range(3)
    ]
    write_eccv16(tmp_path / "mixed.h5", videos)
    with pytest.raises(DataError, match=r"video 'v0'.*feature size 7, expected 16"):
        load_eccv16(tmp_path / "mixed.h5", optional_labels=True)
