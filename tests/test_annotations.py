"""Readers of the original TVSum and SumMe annotations shipped in csum/data/anno."""

import gzip

import numpy as np
import pytest

from csum.data.annotations import ANNOTATION_DIR, read_summe, read_tvsum_mat, read_tvsum_tsv
from csum.data.errors import DataError


@pytest.fixture(scope="module")
def tvsum_tsv():
    return read_tvsum_tsv()


def test_tvsum_tsv_counts_order_and_values(tvsum_tsv):
    assert len(tvsum_tsv) == 50
    first = tvsum_tsv[0]
    # The documented eccv16 order: video_1 is AwmHb44_ouw, 10597 frames (707 steps at 2 fps).
    assert (first.name, first.category, first.user_scores.shape) == (
        "AwmHb44_ouw",
        "VT",
        (20, 10597),
    )
    assert int(np.ceil(first.n_frames / 15)) == 707
    assert all(a.user_scores.shape[0] == 20 for a in tvsum_tsv)
    scores = np.concatenate([a.user_scores.ravel() for a in tvsum_tsv])
    assert scores.min() == 1 and scores.max() == 5
    assert len({a.category for a in tvsum_tsv}) == 10


def test_tvsum_mat_agrees_with_tsv(tvsum_tsv):
    mat = read_tvsum_mat()
    assert [a.name for a in mat] == [a.name for a in tvsum_tsv]
    assert [a.category for a in mat] == [a.category for a in tvsum_tsv]
    for a, b in zip(mat, tvsum_tsv, strict=True):
        np.testing.assert_array_equal(a.user_scores, b.user_scores)


def test_summe_counts_and_selection_rate():
    summe = read_summe()
    assert len(summe) == 25
    assert all(15 <= a.user_scores.shape[0] <= 18 for a in summe)
    assert all(set(np.unique(a.user_scores)) <= {0.0, 1.0} for a in summe)
    rate = np.mean([a.user_scores.mean() for a in summe])
    assert 0.10 < rate < 0.16  # about 13 % of frames selected (data README)
    air = next(a for a in summe if a.name == "Air_Force_One")
    assert air.user_scores.shape == (15, 4494) and air.fps > 0


def test_bad_tsv_names_file_and_video(tmp_path):
    path = tmp_path / "bad.tsv.gz"
    with gzip.open(path, "wt") as f:
        f.write("vidA\tVT\t1,2,3\nvidA\tVT\t1,2\n")
    with pytest.raises(DataError, match=r"bad\.tsv\.gz: video 'vidA': key 'scores'"):
        read_tvsum_tsv(path)
    with pytest.raises(DataError, match="not found"):
        read_tvsum_tsv(tmp_path / "missing.tsv")


def test_summe_missing_key(tmp_path):
    import scipy.io

    scipy.io.savemat(tmp_path / "clip.mat", {"user_score": np.zeros((10, 2)), "FPS": 30.0})
    with pytest.raises(DataError, match=r"clip\.mat: video 'clip': key 'nFrames'"):
        read_summe(tmp_path)
    assert ANNOTATION_DIR.is_dir()
