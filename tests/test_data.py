"""The eccv16 reader's validation, the synthetic generator, splits and batching."""

import shutil

import h5py
import numpy as np
import pytest

from csum.data import synthetic
from csum.data.batching import bucket_for, collate, default_buckets, train_batches
from csum.data.eccv16 import load_eccv16
from csum.data.errors import DataError
from csum.data.splits import default_split_file, load_splits
from csum.data.synthetic import FEATURE_KEYS


def _broken(tmp_path, small_h5, edit):
    path = tmp_path / "broken.h5"
    shutil.copy(small_h5, path)
    with h5py.File(path, "a") as f:
        edit(f["video_3"])
    return path


def _set(key, index, value):
    def edit(g):
        g[key][index] = value

    return edit


def _replace(key, value):
    def edit(g):
        del g[key]
        g[key] = value

    return edit


@pytest.mark.parametrize(
    "edit,pattern",
    [
        (
            lambda g: g.__delitem__("change_points"),
            r"video 'video_3': key 'change_points': missing key",
        ),
        (_set("features", (5, 0), np.nan), r"video 'video_3': key 'features': NaN values"),
        (_set("features", (1, 1), np.inf), r"key 'features': infinite values"),
        (_replace("features", np.zeros((0, 32), np.float32)), r"key 'features': empty video"),
        (
            _replace("features", np.zeros((4, 32), np.float32)),
            r"key 'features': too short: 4 steps",
        ),
        (
            _replace("features_rgb", np.zeros((50, 16), np.float32)),
            r"key 'features_rgb': feature size 16, expected 32",
        ),
        (_replace("picks", np.arange(3)), r"key 'picks': 3 picks for"),
        (_replace("change_points", np.array([[0, 10], [5, 20]])), r"sorted and disjoint"),
    ],
)
def test_bad_input_gives_one_line_naming_file_video_key(tmp_path, small_h5, edit, pattern):
    path = _broken(tmp_path, small_h5, edit)
    with pytest.raises(DataError, match=pattern) as err:
        load_eccv16(path, FEATURE_KEYS, min_steps=10)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))


def test_missing_file_and_separate_feature_file(tmp_path, small_h5):
    with pytest.raises(DataError, match="file not found"):
        load_eccv16(tmp_path / "nope.h5")
    other = tmp_path / "flow.h5"
    with h5py.File(small_h5, "r") as src, h5py.File(other, "w") as dst:
        for vid in src:
            dst[f"{vid}/flow"] = src[vid]["features_flow"][::2]  # half the rate
    videos = load_eccv16(small_h5, ("features", f"{other}:flow"))
    v = videos["video_1"]
    assert v.features[1].shape == v.features[0].shape  # resampled to the first source


def test_reader_round_trip(small_h5, small_videos):
    assert list(small_videos)[:3] == ["video_1", "video_2", "video_3"]
    v = small_videos["video_2"]
    assert v.dims == (32, 32, 32) and v.user_summary.shape[1] == v.n_frames
    assert v.user_scores.shape == (20, v.n_frames) and v.n_steps == len(v.picks)


def test_synthetic_is_deterministic_and_annotated():
    spec = synthetic.PRESETS["summe"]
    import dataclasses

    spec = dataclasses.replace(spec, n_videos=3, dim=8)
    a, b = synthetic.generate(spec, seed=1), synthetic.generate(spec, seed=1)
    for u, w in zip(a, b, strict=True):
        np.testing.assert_array_equal(u.features[0], w.features[0])
        np.testing.assert_array_equal(u.user_summary, w.user_summary)
    c = synthetic.generate(spec, seed=2)
    assert not np.array_equal(a[0].features[0][:10], c[0].features[0][:10])
    v = a[0]
    assert v.user_scores is None and v.user_summary.shape[0] == 15
    assert 0.05 < v.user_summary.mean() < 0.2  # SumMe-like users pick ~13 %
    assert v.n_steps == -(-v.n_frames // 15)  # ceil(n_frames / 15) steps at 2 fps


def test_shot_kinds_are_the_generators_own():
    """One kind per shot, drawn by the same generator run (the videos' arrays unchanged),
    and the users' scores follow the kinds' importance ranges."""
    import dataclasses

    for family, order in (
        ("category", ("event", "background", "generic")),
        ("stock", ("own", "stock")),
    ):
        spec = dataclasses.replace(
            synthetic.PRESETS["tvsum"],
            n_videos=6,
            dim=8,
            family=family,
            min_seconds=60,
            max_seconds=120,
        )
        videos, kinds = synthetic.generate(spec, seed=4), synthetic.shot_kinds(spec, seed=4)
        again = synthetic.generate(spec, seed=4)
        np.testing.assert_array_equal(videos[0].features[0], again[0].features[0])
        by_kind = {k: [] for k in order}
        for v in videos:
            assert len(kinds[v.key]) == len(v.change_points)
            for (a, b), kind in zip(v.change_points, kinds[v.key], strict=True):
                by_kind[kind].append(v.user_scores[:, a : b + 1].mean())
        means = [np.mean(by_kind[k]) for k in order if by_kind[k]]
        assert means == sorted(means, reverse=True), (family, means)
        lo, hi = synthetic._KIND_IMPORTANCE[order[0]]
        assert synthetic.KIND_MIDPOINT[order[0]] == (lo + hi) / 2


def test_presets_match_the_benchmarks():
    tv, sm = synthetic.PRESETS["tvsum"], synthetic.PRESETS["summe"]
    assert (tv.n_videos, tv.n_users, tv.min_seconds, tv.max_seconds) == (50, 20, 120, 600)
    assert (sm.n_videos, sm.n_users) == (25, 15)


def test_splits(tmp_path):
    folds = load_splits(default_split_file("tvsum"), {f"video_{i}" for i in range(1, 51)})
    assert len(folds) == 5
    tested = sorted(k for f in folds for k in f["test_keys"])
    assert len(tested) == 50 and len(set(tested)) == 50  # every video tested once
    with pytest.raises(DataError, match="absent from the dataset: video_50"):
        load_splits(default_split_file("tvsum"), {f"video_{i}" for i in range(1, 50)})
    bad = tmp_path / "s.json"
    bad.write_text("{}")
    with pytest.raises(DataError, match="non-empty JSON list"):
        load_splits(bad)


def test_buckets_bound_compiles_and_padding(small_videos):
    buckets = default_buckets(1200)
    assert buckets[-1] >= 1200 and len(buckets) < 20
    for n in [1, 63, 64, 65, 700, 1200]:
        b = bucket_for(n, buckets)
        assert b >= n and (n < 256 or b <= 1.2 * n)
    videos = list(small_videos.values())
    shapes = set()
    for epoch in range(5):
        for batch in train_batches(videos, 4, buckets, np.random.default_rng(epoch)):
            shapes.add(batch.mask.shape)
            assert batch.features[0].shape[:2] == batch.mask.shape
            for row, n in zip(batch.mask, batch.length, strict=True):
                assert row.sum() == n and row[:n].all()
    assert len(shapes) <= len(buckets)
    seen = sorted(
        n
        for b in train_batches(videos, 5, buckets, np.random.default_rng(0))
        for n in b.length
        if n
    )
    assert seen == sorted(v.n_steps for v in videos)  # every video exactly once


def test_collate_pads_with_zeros_and_invalid_slots(small_videos):
    v = list(small_videos.values())[:2]
    batch = collate(v, 3, [64, 512])
    assert batch.valid.tolist() == [True, True, False]
    assert float(np.abs(batch.features[0][0, v[0].n_steps :]).max(initial=0)) == 0.0


def test_synthetic_cache_name_tracks_the_resolved_spec(tmp_path):
    small = {"n_videos": 2, "dim": 8, "min_seconds": 20, "max_seconds": 30}
    a = synthetic.ensure_synthetic(tmp_path, "summe", seed=0, **small)
    b = synthetic.ensure_synthetic(tmp_path, "summe", seed=0, **small)
    c = synthetic.ensure_synthetic(tmp_path, "summe", seed=0, **small, drift=0.3)
    assert a == b and a != c  # same spec reuses the file; any other field gets its own


def test_features_stored_in_bfloat16_are_padded_in_bfloat16(small_videos):
    import jax.numpy as jnp

    from csum.data.records import cast_features

    videos = list(small_videos.values())[:3]
    stored = cast_features(videos, jnp.bfloat16)
    batch = collate(stored, 4, default_buckets(1000))
    assert all(f.dtype == jnp.bfloat16 for f in batch.features)
    v = videos[0]
    np.testing.assert_array_equal(
        batch.features[1][0, : v.n_steps], v.features[1].astype(jnp.bfloat16)
    )
    assert not np.asarray(batch.features[1][0, v.n_steps :], np.float32).any()
