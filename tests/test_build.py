"""The eccv16 builder on the real annotations: round trip, attach, and bad input."""

import dataclasses
import math

import h5py
import numpy as np
import pytest

from csum.data import build
from csum.data.annotations import attach_tvsum_scores, read_summe, read_tvsum_mat
from csum.data.eccv16 import load_eccv16, write_eccv16
from csum.data.errors import DataError
from csum.metrics.evaluation import evaluate_video, keyshot_summary
from csum.summarization import baselines


@pytest.fixture(scope="module")
def tvsum():
    anns = read_tvsum_mat()
    return [anns[i] for i in (1, 9, 23)]  # 4688, 5971, 3802 frames


@pytest.fixture(scope="module")
def summe():
    return read_summe()[:2]


def _scene_features(n_frames, seed, dim=16):
    """Features of ceil(n_frames / 15) steps: scenes of about 4 s plus noise."""
    rng = np.random.default_rng(seed)
    n = math.ceil(n_frames / 15)
    cuts = np.sort(rng.choice(np.arange(1, n), n // 8, replace=False))
    scene = np.repeat(rng.normal(size=(len(cuts) + 1, dim)), np.diff(np.r_[0, cuts, n]), 0)
    return (scene + 0.2 * rng.normal(size=(n, dim))).astype(np.float32)


def _npy_dir(path, annotations):
    path.mkdir()
    for i, a in enumerate(annotations):
        np.save(path / f"{a.name}.npy", _scene_features(a.n_frames, i))
    return path


def test_tvsum_round_trip(tmp_path, tvsum):
    out = build.build_dataset(
        "tvsum", _npy_dir(tmp_path / "f", tvsum), tmp_path / "t.h5", annotations=tvsum
    )
    videos = load_eccv16(out)
    assert list(videos) == ["video_1", "video_2", "video_3"]
    for a, v in zip(tvsum, videos.values(), strict=True):
        assert v.name == a.name and v.n_frames == a.n_frames
        np.testing.assert_array_equal(v.picks, np.arange(0, a.n_frames, 15))
        np.testing.assert_array_equal(v.user_scores, a.user_scores)
        cps, n_steps = v.change_points, v.n_steps  # KTS shots tile the video
        assert cps[0, 0] == 0 and cps[-1, 1] == a.n_frames - 1
        np.testing.assert_array_equal(cps[1:, 0], cps[:-1, 1] + 1)
        assert n_steps // 16 <= len(cps) <= n_steps // 4
        # Each user summary is that annotator's keyshot summary on the KTS shots.
        frames = np.arange(a.n_frames)
        for u in (0, 19):
            expected = keyshot_summary(a.user_scores[u], cps, a.n_frames, frames)
            np.testing.assert_array_equal(v.user_summary[u] > 0, expected)
        # Within capacity; below it where a few long shots cannot fill 15 %.
        assert (v.user_summary.sum(1) <= math.floor(0.15 * a.n_frames)).all()
        assert v.user_summary.mean() > 0.12
        assert v.gtscore.min() == 0 and v.gtscore.max() == 1
        with h5py.File(out) as f:
            np.testing.assert_array_equal(f[v.key]["n_frame_per_seg"], cps[:, 1] - cps[:, 0] + 1)
    # Evaluate from the file: the annotators' mean score is a good summary, random is not.
    mean_score = [evaluate_video(v.gtscore, v, "avg") for v in videos.values()]
    rng = np.random.default_rng(0)
    rand = [evaluate_video(rng.random(v.n_steps), v, "avg") for v in videos.values()]
    assert np.mean([m["spearman_rho"] for m in mean_score]) > 0.3
    assert np.mean([m["f1"] for m in mean_score]) > np.mean([m["f1"] for m in rand])


def test_h5_source_matches_npy_source(tmp_path, tvsum, summe):
    # TVSum from an h5 without video_name: matched by position (video_i = i-th entry).
    src = tmp_path / "feats.h5"
    with h5py.File(src, "w") as f:
        for i, a in enumerate(tvsum):
            f[f"video_{[2, 10, 24][i]}/features"] = _scene_features(a.n_frames, i)
    anns = read_tvsum_mat()
    from_h5 = build.features_from_h5(src, tvsum, "tvsum")
    assert [x.shape[0] for x in from_h5] == [math.ceil(a.n_frames / 15) for a in tvsum]
    with pytest.raises(DataError, match="no group for this video"):
        build.features_from_h5(src, anns[:1], "tvsum")
    # SumMe from an h5 whose groups are named by video_name, in another order.
    src = tmp_path / "summe.h5"
    with h5py.File(src, "w") as f:
        for i, a in enumerate(reversed(summe)):
            f[f"video_{i + 1}/features"] = np.full((3, 2), i, np.float32)
            f[f"video_{i + 1}/video_name"] = a.name
    got = build.features_from_h5(src, summe, "summe")
    assert [int(x[0, 0]) for x in got] == [1, 0]


def test_summe_round_trip(tmp_path, summe):
    out = build.build_dataset(
        "summe", _npy_dir(tmp_path / "f", summe), tmp_path / "s.h5", annotations=summe
    )
    videos = list(load_eccv16(out).values())
    for a, v in zip(summe, videos, strict=True):
        np.testing.assert_array_equal(v.user_summary, a.user_scores > 0)
        assert v.user_scores is None
    human = baselines.human_baseline(videos, "max")
    assert 0.3 < human["f1"] < 0.9


def test_builder_errors_name_file_video_and_key(tmp_path, tvsum):
    a = tvsum[0]
    feats = tmp_path / "f"
    feats.mkdir()
    with pytest.raises(DataError, match=f"video '{a.name}'.*no features file {a.name}.npy"):
        build.build_dataset("tvsum", feats, tmp_path / "o.h5", annotations=[a])
    np.save(feats / f"{a.name}.npy", np.zeros((10, 4), np.float32))
    with pytest.raises(DataError, match=r"10 feature steps, expected ceil\(4688 frames / 15\)"):
        build.build_dataset("tvsum", feats, tmp_path / "o.h5", annotations=[a])
    x = _scene_features(a.n_frames, 0)
    x[5, 1] = np.nan
    np.save(feats / f"{a.name}.npy", x)
    with pytest.raises(DataError, match="NaN values"):
        build.build_dataset("tvsum", feats, tmp_path / "o.h5", annotations=[a])
    with pytest.raises(DataError, match="features not found"):
        build.build_dataset("tvsum", tmp_path / "nope", tmp_path / "o.h5", annotations=[a])
    assert (
        build.main(
            [
                "--dataset",
                "tvsum",
                "--features",
                str(tmp_path / "nope"),
                "--out",
                str(tmp_path / "o.h5"),
            ]
        )
        == 2
    )


def test_attach_tvsum_scores_checks_frames(tmp_path, tvsum):
    anns = read_tvsum_mat()
    shots = [[0, 99], [100, anns[1].n_frames - 1]]
    video = build.annotated_video(anns[1], "summe", "video_2", shots)  # no user_scores
    video = dataclasses.replace(video, name="")  # an eccv16 TVSum file names no video
    attached = attach_tvsum_scores({"video_2": video}, "x.h5", anns)["video_2"]
    np.testing.assert_array_equal(attached.user_scores, anns[1].user_scores)
    with pytest.raises(
        DataError,
        match=r"x.h5: video 'video_3': key 'n_frames': n_frames is "
        r"4688 but TVSum video J0nA4VgnoCo has 14019 annotated frames",
    ):
        attach_tvsum_scores({"video_3": video}, "x.h5", anns)
    with pytest.raises(DataError, match="cannot match to a TVSum video"):
        attach_tvsum_scores({"clip_a": video}, "x.h5", anns)


def test_real_tvsum_loader_attaches_raw_scores(tmp_path):
    # An eccv16-style TVSum file (no user_scores, no video names) as users have it.
    from csum.summarization.data import load_dataset
    from experiments.config_loader import load_config

    anns = read_tvsum_mat()[:2]
    videos = []
    for i, a in enumerate(anns):
        shots = [[0, a.n_frames // 2], [a.n_frames // 2 + 1, a.n_frames - 1]]
        v = build.annotated_video(
            a, "tvsum", f"video_{i + 1}", shots, (_scene_features(a.n_frames, i),)
        )
        videos.append(dataclasses.replace(v, user_scores=None, name=""))
    write_eccv16(tmp_path / "eccv16_dataset_tvsum_google_pool5.h5", videos)
    config = load_config("tvsum_msva")
    config.data.dir = str(tmp_path)
    loaded = load_dataset(config)
    for a, v in zip(anns, loaded.values(), strict=True):
        np.testing.assert_array_equal(v.user_scores, a.user_scores)


def test_cli_builds_all_of_summe_and_baselines_read_it(tmp_path, capsys, check_human_row):
    feats = _npy_dir(tmp_path / "f", read_summe())
    out = tmp_path / "eccv16_dataset_summe_google_pool5.h5"
    assert build.main(["--dataset", "summe", "--features", str(feats), "--out", str(out)]) == 0
    assert len(load_eccv16(out)) == 25
    assert baselines.main(["--dataset", "summe", "--h5", str(out), "--seeds", "1"]) == 0
    text = capsys.readouterr().out
    assert f"KTS shots of {out}" in text
    check_human_row(text)
