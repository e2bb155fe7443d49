"""Highlight data in UMT's layout, the synthetic generator, and the highlight command."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from csum.data.errors import DataError
from csum.highlights.data import read_umt, write_umt
from csum.highlights.synthetic import DOMAINS, HighlightSpec, ensure_highlights, generate

TINY = {"videos_per_domain": 3, "min_clips": 20, "max_clips": 40}


def test_generator_is_deterministic_and_round_trips(tmp_path):
    spec = HighlightSpec(**TINY)
    a, splits = generate(spec, seed=3)
    b, _ = generate(spec, seed=3)
    assert [v.key for v in a] == [v.key for v in b]
    assert all(np.array_equal(x.visual, y.visual) for x, y in zip(a, b, strict=True))
    assert set(splits) == set(DOMAINS) and all(len(s["val"]) == 1 for s in splits.values())
    share = np.mean(np.concatenate([v.labels for v in a]))
    assert 0.05 < share < 0.5  # highlights are a minority of the clips
    write_umt(a, tmp_path / "l.json", tmp_path / "v", tmp_path / "a")
    back = read_umt(tmp_path / "l.json", tmp_path / "v", tmp_path / "a")
    v = back[a[0].key]
    np.testing.assert_array_equal(v.visual, a[0].visual)
    np.testing.assert_array_equal(v.labels, a[0].labels)
    assert v.domain == a[0].domain and v.audio.shape[0] == v.n_clips
    video = v.as_video(audio=True)
    assert video.n_steps == v.n_clips and len(video.features) == 2


def test_reader_concatenates_flow_cuts_to_the_shortest_stream_and_reads_tvsum(tmp_path):
    labels = {"a": {"anno": np.arange(20 * 6).reshape(6, 20).tolist(), "domain": "VT"}}
    (tmp_path / "l.json").write_text(json.dumps(labels))
    np.save(tmp_path / "a_rgb.npy", np.ones((6, 4), np.float32))
    np.save(tmp_path / "a_opt.npy", np.zeros((5, 2), np.float32))
    v = read_umt(tmp_path / "l.json", tmp_path, kind="tvsum")["a"]
    assert v.visual.shape == (5, 6) and v.anno.shape == (5, 20) and v.audio is None
    np.testing.assert_allclose(v.labels, v.anno.mean(1))
    assert v.highlights.sum() == 2  # above the median of 5 increasing means


@pytest.mark.parametrize(
    "break_it, match",
    [
        (
            lambda d: (d / "a_rgb.npy").unlink(),
            "a_rgb.npy: video 'a': key 'rgb': feature file not found",
        ),
        (lambda d: np.save(d / "a_rgb.npy", np.full((4, 2), np.nan)), "NaN or inf"),
        (
            lambda d: (d / "l.json").write_text('{"a": {"anno": []}}'),
            "key 'match': expected youtube labels",
        ),
        (lambda d: (d / "l.json").write_text("{"), "not JSON"),
    ],
)
def test_bad_highlight_files_are_one_line_errors(tmp_path, break_it, match):
    (tmp_path / "l.json").write_text(json.dumps({"a": {"match": [0, 1, 1, 0]}}))
    np.save(tmp_path / "a_rgb.npy", np.ones((4, 2), np.float32))
    break_it(tmp_path)
    with pytest.raises(DataError, match=match) as err:
        read_umt(tmp_path / "l.json", tmp_path)
    assert "\n" not in str(err.value)


def test_highlight_command_trains_without_labels_and_reuses_a_model(tmp_path, capsys):
    from experiments.highlights import main

    paths = ensure_highlights(tmp_path / "cache", seed=0, **TINY)
    out = tmp_path / "out"
    argv = [
        f"--features={paths['video_dir']}",
        f"--audio-dir={paths['audio_dir']}",
        "--epochs=2",
        f"--out={out}",
        "--config.train.progress=false",
    ]
    assert main(argv) == 0
    rows = [json.loads(line) for line in (out / "highlights.jsonl").read_text().splitlines()]
    labels = json.loads(paths["labels"].read_text())
    assert sorted(r["vid"] for r in rows) == sorted(labels)  # every video, no label read
    for r in rows:
        n = len(labels[r["vid"]]["match"])
        assert len(r["pred_saliency_scores"]) == n
        covered = sum(b - a for a, b, _ in r["pred_relevant_windows"]) / 2.0
        assert 0 < covered <= 0.15 * n + 1  # the label-free Theta keeps about --ratio
        assert all(0 <= a < b <= 2.0 * n for a, b, _ in r["pred_relevant_windows"])
    # the trained model scores again through --model: the same scores
    again = tmp_path / "again"
    assert (
        main(
            [
                f"--features={paths['video_dir']}",
                f"--audio-dir={paths['audio_dir']}",
                f"--model={out / 'model'}",
                f"--out={again}",
            ]
        )
        == 0
    )
    assert (again / "highlights.jsonl").read_text() == (out / "highlights.jsonl").read_text()
    capsys.readouterr()
    # a model for other feature sizes, one video, or no features: one line, exit 2
    assert (
        main([f"--features={paths['video_dir']}", f"--model={out / 'model'}", f"--out={again}"])
        == 2
    )
    err = capsys.readouterr().err
    assert "1 source(s) of widths (128,)" in err and "takes 2 of widths (128, 32)" in err
    one = tmp_path / "one"
    one.mkdir()
    (one / "v_rgb.npy").write_bytes((paths["video_dir"] / "dog_000_rgb.npy").read_bytes())
    assert main([f"--features={one}", f"--out={tmp_path / 'o'}"]) == 2
    assert "at least 2 videos" in capsys.readouterr().err
    assert main([f"--features={tmp_path / 'nothing'}"]) == 2
    assert "feature folder not found" in capsys.readouterr().err


def test_saliency_bce_by_hand_and_masked():
    import jax.numpy as jnp

    from csum.objectives.supervised import saliency_bce

    scores = jnp.array([[0.8, 0.3, 0.5]])
    target = jnp.array([[1.0, 0.0, 1.0]])
    mask = jnp.array([[True, True, False]])  # the third clip is padding
    want = -(np.log(0.8) + np.log(0.7)) / 2
    assert float(saliency_bce(scores, target, mask)) == pytest.approx(want, rel=1e-5)


def _qvh_files(tmp_path, rows, n_clips=75, dims=(4, 3)):
    import gzip

    folders = []
    for i, d in enumerate(dims):
        folder = tmp_path / f"feat{i}"
        folder.mkdir(exist_ok=True)
        for r in rows:
            x = np.random.default_rng(i).normal(size=(n_clips, d))
            if i == 0:
                np.savez(folder / f"{r['vid']}.npz", features=x)
            else:
                np.save(folder / f"{r['vid']}.npy", x)
        folders.append(folder)
    text = tmp_path / "text"
    text.mkdir(exist_ok=True)
    for r in rows:
        np.savez(text / f"qid{r['qid']}.npz", last_hidden_state=np.ones((5, 2)))
    path = tmp_path / "ann.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path, folders, text


def test_qvhighlights_reader_by_hand(tmp_path):
    from csum.highlights.queries import read_queries

    row = {
        "qid": 7,
        "query": "a dog runs",
        "vid": "v_1",
        "duration": 150,
        "relevant_windows": [[4, 8]],
        "relevant_clip_ids": [2, 3, 80],
        "saliency_scores": [[1, 2, 0], [4, 4, 3], [2, 2, 2]],
    }
    path, folders, text = _qvh_files(tmp_path, [row], n_clips=76)
    (q,) = read_queries(path, folders, text)
    # duration 150 s: 75 clips (features have 76); widths 4 + 3 concatenated
    assert q.clips.shape == (75, 7) and q.tokens.shape == (5, 2) and q.vid == "v_1"
    np.testing.assert_array_equal(q.saliency[2:4], [[1, 2, 0], [4, 4, 3]])
    assert q.saliency.sum() == 1 + 2 + 4 + 4 + 3  # clip 80 lies beyond the video
    assert np.flatnonzero(q.relevant(2)).tolist() == [2, 3]
    assert np.flatnonzero(q.relevant(4)).tolist() == [3]
    np.testing.assert_array_equal(q.windows, [[4, 8]])


def test_qvhighlights_reader_errors_are_one_line(tmp_path):
    from csum.highlights.queries import read_queries

    row = {"qid": 1, "query": "q", "vid": "v", "duration": 20}
    path, folders, text = _qvh_files(tmp_path, [row], n_clips=10)
    assert read_queries(path, folders[0])[0].tokens is None  # test queries: no labels
    (folders[1] / "v.npy").unlink()
    for args, match in [
        ((path, folders), "clip features not found"),
        ((path, folders[0], tmp_path), "text features not found"),
        ((tmp_path / "none.jsonl", folders[0]), "no such file"),
    ]:
        with pytest.raises(DataError, match=match) as err:
            read_queries(*args)
        assert "\n" not in str(err.value)
    (tmp_path / "b").mkdir()
    bad, _, _ = _qvh_files(tmp_path / "b", [{"qid": 1, "vid": "v", "duration": 4}])
    with pytest.raises(DataError, match=r"line 1 lacks \['query'\]"):
        read_queries(bad, folders[0])


def test_synthetic_sizes_are_the_real_benchmarks():
    from csum.highlights.synthetic import REAL_SIZES

    real = json.loads(
        (Path(__file__).parents[1] / "csum/highlights/splits/youtube_highlights.json").read_text()
    )
    assert {d: (len(s["train"]), len(s["val"])) for d, s in real.items()} == REAL_SIZES


def test_hidden_state_matches_the_labels_and_streams():
    from csum.highlights.synthetic import generate_with_truth

    spec = HighlightSpec(**TINY, label_noise=0.0)
    videos, _, truth = generate_with_truth(spec, seed=2)
    hl = np.concatenate([truth[v.key]["highlight"] for v in videos])
    shown = np.concatenate([truth[v.key]["shown"] for v in videos])
    cheer = np.concatenate([truth[v.key]["cheer"] for v in videos])
    labels = np.concatenate([v.labels for v in videos])
    np.testing.assert_array_equal(labels, hl)  # no label noise: labels are the kinds
    assert not (shown & ~hl).any() and (hl & ~shown).any()  # some highlights do not show
    # The cheer is the audio stream's only content: two audio clusters, cheer or not.
    audio = np.concatenate([v.audio for v in videos])
    centre = audio[cheer].mean(0) - audio[~cheer].mean(0)
    side = (audio - (audio[cheer].mean(0) + audio[~cheer].mean(0)) / 2) @ centre
    np.testing.assert_array_equal(side > 0, cheer)
    # The picture of a hidden highlight is drawn like ordinary footage: at visible=1
    # every highlight shows.
    _, _, all_shown = generate_with_truth(dataclasses.replace(spec, visible=1.0), seed=2)
    assert all((t["shown"] == t["highlight"]).all() for t in all_shown.values())


def test_bayes_ceiling_orders_the_streams():
    from benchmarks.highlight_ceiling import ceiling, posteriors

    spec = HighlightSpec(**TINY)
    t = {
        "highlight": np.array([1, 1, 0, 0], bool),
        "shown": np.array([1, 0, 0, 0], bool),
        "cheer": np.array([0, 1, 1, 0], bool),
    }
    p = posteriors(spec, t)
    # by hand: hidden prior 0.2 * 0.3 = 0.06 against 0.8; cheer ratio 0.7 / 0.15
    odds = 0.06 / 0.8 * np.array([0.3 / 0.85, 0.7 / 0.15, 0.7 / 0.15, 0.3 / 0.85])
    np.testing.assert_allclose(p["both"], [1.0, *(odds / (1 + odds))[1:]])
    np.testing.assert_allclose(p["picture"], [1.0] + [0.06 / 0.86] * 3)
    np.testing.assert_allclose(p["sound"][1], 0.14 / (0.14 + 0.12))
    spec = HighlightSpec(videos_per_domain=6, min_clips=40, max_clips=80)
    c = ceiling(spec, seed=0, draws=2)
    assert c["kinds"]["Avg"] >= c["both"]["Avg"] > c["picture"]["Avg"] > c["random"]["Avg"]
    assert c["both"]["Avg"] > c["sound"]["Avg"] > c["random"]["Avg"]
    full = ceiling(dataclasses.replace(spec, visible=1.0), seed=0, draws=2)
    assert full["picture"]["Avg"] == pytest.approx(full["kinds"]["Avg"])
