"""Video files to summaries: decoding on the step grid, features, shots, the summarize command.

Every video here is written by the test itself with PyAV (``csum.video.synthetic``):
scenes of distinct colours and patterns, hard cuts and a fade, a tone on some scenes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from csum.data.errors import DataError
from csum.video.decode import probe, steps
from csum.video.features import EXTRACTORS, extract, mel_filters
from csum.video.summary import select, shots
from csum.video.synthetic import Scene, write_video

SCENES = [
    Scene(3.0, (220, 40, 40), "flat", 440.0),
    Scene(2.5, (40, 200, 60), "stripes"),
    Scene(3.5, (40, 60, 220), "checker", 880.0),
    Scene(3.0, (230, 230, 60), "noise"),
    Scene(4.0, (120, 40, 160), "stripes", 440.0),
]
FPS = 25


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("videos") / "scenes.mp4"
    starts = write_video(path, SCENES, fps=FPS, fade_frames=8)
    return path, starts


def test_steps_follow_the_2fps_grid(clip):
    path, _ = clip
    info = probe(path)
    assert info.has_audio and info.fps == FPS and info.duration == pytest.approx(16.0, abs=0.1)
    stats = {}
    got = list(steps(path, size=(24, 32), window=3, stats=stats))
    assert len(got) == 32 and stats["n_frames"] == 16 * FPS
    # step k is the first frame at or after k * 0.5 s: frame ceil(12.5 k)
    assert [s.pick for s in got] == [math.ceil(12.5 * k) for k in range(32)]
    assert got[5].frames.shape == (3, 24, 32, 3) and got[5].frames.dtype == np.uint8
    red = got[1].frames[-1].reshape(-1, 3).mean(axis=0)  # 0.5 s: inside the red scene
    assert red[0] > 150 and red[1] < 90 and red[2] < 90


def test_variable_frame_rate_picks(tmp_path):
    from fractions import Fraction

    import av

    path = tmp_path / "vfr.mkv"
    gaps = np.random.default_rng(0).uniform(0.02, 0.9, 40)  # some gaps span two steps
    ms = np.round(np.cumsum(np.r_[0.0, gaps]) * 1000).astype(int)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=1000)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for i, t in enumerate(ms):
            f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 5 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = int(t), Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    got = list(steps(path, size=(8, 8)))
    times = ms / 1000.0
    assert len(got) == int(times[-1] // 0.5) + 1
    for st in got:  # the first frame at or after the grid time
        assert st.pick == int(np.flatnonzero(times >= st.seconds - 1e-6)[0]), st.seconds


def test_every_extractor_call_has_the_batch_shape(clip):
    """32 steps in batches of 5: the short last batch is padded (one compile of a jitted
    network), and the features are those of the steps alone."""
    path, _ = clip
    colour = EXTRACTORS.build("colour")
    shapes = []

    class Recording:
        size, window, dim = colour.size, colour.window, colour.dim

        def __call__(self, frames):
            shapes.append(frames.shape[0])
            return colour(frames)

    f = extract(path, Recording(), audio=False, batch=5)
    assert shapes == [5] * 7 and f.features.shape == (32, 129) and len(f.picks) == 32
    one = extract(path, colour, audio=False, batch=1)
    np.testing.assert_array_equal(f.features, one.features)
    np.testing.assert_array_equal(f.picks, one.picks)


def test_colour_features_and_audio_bands(clip):
    path, _ = clip
    f = extract(path, EXTRACTORS.build("colour"))
    assert f.features.shape == (32, 129) and f.audio.shape == (32, 32) and f.n_frames == 400
    np.testing.assert_allclose(f.features[:, :64].sum(axis=1), 1.0, atol=1e-6)  # histograms
    loud = f.audio.max(axis=1)
    # tones on scenes 0 (0-3 s), 2 (5.5-9 s) and 4 (12-16 s); silence on 1 and 3
    tone = np.r_[np.ones(6), np.zeros(5), np.ones(7), np.zeros(6), np.ones(8)].astype(bool)
    inner = np.ones(32, bool)
    inner[[5, 6, 10, 11, 17, 18, 23, 24]] = False  # steps that straddle a scene change
    assert loud[tone & inner].min() > loud[~tone & inner].max() + 5
    # 440 Hz and 880 Hz fall in different mel bands
    assert np.argmax(f.audio[2]) < np.argmax(f.audio[14])
    fb = mel_filters(400, 16000, 32)
    assert fb.shape == (32, 201) and (fb >= 0).all() and (fb.max(axis=1) > 0.5).all()


def test_shots_fall_on_the_cuts(clip):
    path, starts = clip
    f = extract(path, EXTRACTORS.build("colour"), audio=False)
    cps = shots(f.features, f.picks, f.n_frames)
    found = cps[1:, 0]
    # every cut (or fade start) found within one step (12.5 frames; a fade spans 8 more)
    for cut in starts[1:]:
        assert np.min(np.abs(found - cut)) <= 13 + 8, (found, starts)
    assert cps[0, 0] == 0 and cps[-1, 1] == f.n_frames - 1
    assert (cps[1:, 0] == cps[:-1, 1] + 1).all()


def test_select_is_never_empty_and_keeps_the_budget():
    picks = np.arange(0, 100, 10)
    cps = np.array([[0, 49], [50, 99]])  # two 50-frame shots, budget 15 frames
    scores = np.linspace(0.1, 1, 10)
    (r,) = select(scores, cps, picks, 100, 0.15)
    assert r[1] - r[0] + 1 == 15 and r[0] >= 50 and r[1] <= 99  # the best shot, trimmed
    cps = np.array([[0, 9], [10, 19], [20, 99]])
    got = select(scores, cps, picks, 100, 0.25)
    assert got.tolist() == [[0, 9], [10, 19]]  # the knapsack: shots that fit
    with pytest.raises(ValueError, match="ratio"):
        select(scores, cps, picks, 100, 1.5)


def _check_budget_rule(record: dict) -> None:
    """The summary is the keyshot knapsack exactly: selected shots within floor(ratio *
    n_frames) frames whose total shot-mean score no other subset of shots beats (brute
    force), or, when no shot fits, one trimmed shot of exactly the budget."""
    import itertools

    from csum.metrics.evaluation import step_to_frame_scores

    steps, n = record["steps"], record["n_frames"]
    frames = step_to_frame_scores(np.array(steps["scores"]), np.array(steps["picks"]), n)
    shots = [(s["start_frame"], s["end_frame"]) for s in record["shots"]]
    lengths = [b - a + 1 for a, b in shots]
    values = [frames[a : b + 1].mean() for a, b in shots]
    budget = max(1, math.floor(record["ratio"] * n))
    chosen = [i for i, s in enumerate(record["shots"]) if s["selected"]]
    fits = [i for i in range(len(shots)) if lengths[i] <= budget]
    if not fits:  # one shot trimmed to the budget
        ((a, b),) = record["summary"]
        assert round((b - a) * record["fps"]) == budget
        return
    assert chosen and sum(lengths[i] for i in chosen) <= budget
    best = max(
        sum(values[i] for i in subset)
        for r in range(1, len(shots) + 1)
        for subset in itertools.combinations(range(len(shots)), r)
        if sum(lengths[i] for i in subset) <= budget
    )
    assert sum(values[i] for i in chosen) == pytest.approx(best, rel=1e-12)
    seconds = sum(lengths[i] for i in chosen) / record["fps"]
    assert record["summary_seconds"] == pytest.approx(seconds, rel=1e-9)


def _run(argv):
    from experiments.summarize import main

    return main(argv)


def test_summarize_a_collection_end_to_end(clip, tmp_path, capsys):
    import av

    path, _ = clip
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(path.read_bytes())
    write_video(folder / "b.mkv", SCENES[::-1], fps=30, audio=False)
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    out = tmp_path / "out"
    argv = [
        str(folder),
        f"--out={out}",
        "--epochs=2",
        "--extractor=colour",
        f"--cache={tmp_path / 'cache'}",
        "--config.train.progress=false",
    ]
    assert _run(argv) == 2  # one file failed, the others were summarized
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "broken.mp4" in err
    for name, audio in (("a", True), ("b", False)):
        record = json.loads((out / name / "summary.json").read_text())
        _check_budget_rule(record)
        with av.open(str(out / name / "summary.mp4")) as c:
            frames = sum(1 for _ in c.decode(c.streams.video[0]))
            assert bool(c.streams.audio) == audio
        assert frames == pytest.approx(record["summary_seconds"] * record["fps"], abs=2)
        assert (out / name / "scores.png").stat().st_size > 1000
        assert (
            len(list((out / name / "keyframes").glob("*.png")))
            == sum(s["selected"] for s in record["shots"])
            or len(record["summary"]) == 1
        )
        assert len(record["steps"]["scores"]) == len(record["steps"]["picks"])
        assert record["highlights"]["segments"] and record["extractor"] == "colour"
    index = (out / "index.html").read_text()
    assert "a/summary.mp4" in index and "failed" in index
    before = (out / "a" / "summary.json").stat().st_mtime_ns
    assert _run(argv) == 2  # rerun: done videos are skipped
    assert (out / "a" / "summary.json").stat().st_mtime_ns == before
    capsys.readouterr()
    (folder / "broken.mp4").unlink()  # another collection: the old model is not resumed
    write_video(folder / "c.mp4", SCENES[:3], fps=25)
    assert _run(argv) == 2
    assert "holds a model trained on other videos" in capsys.readouterr().err


def test_one_video_and_bad_names(clip, tmp_path, capsys):
    path, _ = clip
    out = tmp_path / "one"
    assert (
        _run(
            [
                str(path),
                f"--out={out}",
                "--epochs=1",
                "--extractor=colour",
                f"--cache={tmp_path / 'c'}",
                "--config.train.progress=false",
                "--no-highlights",
            ]
        )
        == 0
    )
    record = json.loads((out / "scenes" / "summary.json").read_text())
    assert record["highlights"]["segments"] == [] and record["summary"]
    assert _run([str(path), "--extractor=nope", f"--out={out}"]) == 2
    assert "unknown feature extractor 'nope'" in capsys.readouterr().err
    assert _run([str(tmp_path / "missing.mp4"), f"--out={out}"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_unreadable_and_streamless_files_are_one_line(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="unreadable video") as err:
        probe(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="no such file"):
        list(steps(tmp_path / "none.mp4"))
    one = tmp_path / "one.mp4"
    write_video(one, [Scene(0.04, (10, 10, 10))], fps=25, audio=False)  # a single frame
    with pytest.raises(DataError, match="1 step") as err:
        extract(one, EXTRACTORS.build("colour"))
    assert "one.mp4" in str(err.value) and "\n" not in str(err.value)


def test_i3d_extractor_on_a_video(tmp_path):
    path = tmp_path / "short.mp4"
    write_video(
        path,
        [Scene(1.0, (200, 30, 30), "stripes"), Scene(1.0, (30, 30, 200))],
        fps=25,
        size=(64, 96),
        audio=False,
    )
    extractor = EXTRACTORS.build("i3d")
    f = extract(path, extractor, audio=False, batch=4)
    assert f.features.shape == (4, 1024) and f.audio is None
    assert np.isfinite(f.features).all() and (f.features >= 0).all()  # averaged ReLU outputs
    # the red and the blue scene look different to I3D
    assert np.linalg.norm(f.features[0] - f.features[3]) > 0.1 * np.linalg.norm(f.features[0])


def test_rotation_metadata_turns_frames_upright():
    from types import SimpleNamespace

    from csum.video.decode import _rotation, _upright

    stream = SimpleNamespace(metadata={})
    # a phone held upright: stored landscape, display matrix -90 (counter-clockwise)
    assert _rotation(stream, SimpleNamespace(rotation=-90)) == 90
    assert _rotation(stream, SimpleNamespace(rotation=90)) == 270
    assert _rotation(stream, SimpleNamespace(rotation=180)) == 180
    assert _rotation(SimpleNamespace(metadata={"rotate": "90"}), SimpleNamespace(rotation=0)) == 90
    assert _rotation(stream, SimpleNamespace(rotation=0)) == 0
    stored = np.zeros((2, 3, 3), np.uint8)
    stored[0, 0] = 255  # top-left of the stored frame
    up = _upright(stored, 90)  # turned clockwise: it becomes the top-right
    assert up.shape == (3, 2, 3) and up[0, -1, 0] == 255


def test_a_processed_collection_is_a_data_set_for_experiments_run(clip, tmp_path, capsys):
    """summarize writes DIR/collection.h5 (eccv16, no labels); experiments.run trains CSUM
    on it without evaluating; the run then summarizes through --model."""
    from csum.data.eccv16 import load_eccv16
    from experiments.run import main as run

    path, _ = clip
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(path.read_bytes())
    write_video(folder / "b.mp4", SCENES[::-1], fps=25)
    out, cache = tmp_path / "out", f"--cache={tmp_path / 'cache'}"
    assert (
        _run(
            [
                str(folder),
                f"--out={out}",
                "--epochs=1",
                cache,
                "--config.train.progress=false",
                "--no-highlights",
            ]
        )
        == 0
    )
    videos = load_eccv16(out / "collection.h5", optional_labels=True)
    assert sorted(videos) == ["a", "b"] and all(v.user_summary is None for v in videos.values())
    with pytest.raises(DataError, match="user_summary"):  # a labelled reader refuses it
        load_eccv16(out / "collection.h5")
    work = tmp_path / "run"
    argv = [
        "--config=tvsum_vslstm",
        f"--config.data.file={out / 'collection.h5'}",
        "--config.data.feature_keys=('features',)",
        "--config.train.epochs=2",
        "--config.train.progress=false",
        f"--config.workdir={work}",
    ]
    assert run(argv) == 0
    printed = capsys.readouterr().out
    assert "2 unlabelled videos" in printed and "no metrics" in printed
    results = json.loads((work / "results.json").read_text())
    assert results["unlabelled"] and results["n_videos"] == 2
    scores = json.loads((work / "scores.json").read_text())
    assert {k: len(s) for k, s in scores.items()} == {k: v.n_steps for k, v in videos.items()}
    assert (work / "fold_0" / "contrast.npz").is_file()
    assert run(argv) == 0  # a rerun resumes the finished run: the same scores
    assert json.loads((work / "scores.json").read_text()) == scores
    capsys.readouterr()
    # a labelled regime or chosen folds: one line, exit 2
    assert run([*argv, "--config.train.regime=supervised"]) == 2
    assert "needs labels" in capsys.readouterr().err
    assert run([*argv, "--config.data.folds=(0,)"]) == 2
    assert "no folds" in capsys.readouterr().err
    # the trained run, loaded, scores the same videos as the run did (the contrast input
    # recomputed from its saved index; other padded lengths: float rounding only)
    import csum
    from csum.data.batching import default_buckets
    from csum.training.predict import predict_scores

    run = csum.load(work)
    model = run.model
    inputs = run.inputs(list(videos.values()))
    again = predict_scores(model.backbone, inputs, 2, default_buckets(64))
    for k in videos:
        np.testing.assert_allclose(again[k], scores[k], rtol=1e-4, atol=1e-5)
    # and summarizes them through --model
    assert (
        _run(
            [
                str(folder),
                f"--out={tmp_path / 'again'}",
                f"--model={work}",
                cache,
                "--no-highlights",
            ]
        )
        == 0
    )
    assert (tmp_path / "again" / "a" / "summary.mp4").is_file()
