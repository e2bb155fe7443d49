"""Readers for the original TVSum and SumMe annotation files (shipped in ``csum/data/anno``).

* TVSum (Song et al., 2015): 50 videos x 20 annotators, a 1..5 importance score for every
  frame. Two equivalent files: ``ydata-tvsum50-anno.tsv`` (one row per video and
  annotator: YouTube id, category code, comma-separated frame scores) and
  ``ydata-tvsum50.mat`` (MATLAB v7.3, group ``tvsum50``). Their order is the order of the
  eccv16 files: ``video_i`` is the i-th TVSum video.
* SumMe (Gygli et al., 2014): 25 videos, one ``GT/<name>.mat`` each, whose ``user_score``
  [n_frames, n_users] is > 0 where that user selected the frame.

Every reader returns plain NumPy records; an unreadable or inconsistent file raises
``DataError`` naming the file, the video and the key.
"""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from csum.data.errors import DataError

ANNOTATION_DIR = Path(__file__).resolve().parent / "anno"
"""Where the repository keeps its copies of the annotation files (see its README)."""


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One video's human annotation.

    Attributes:
        name: YouTube id (TVSum) or file stem (SumMe).
        category: TVSum category code (e.g. ``"VT"``), or ``""``.
        user_scores: [U, n_frames] float per-annotator frame scores: TVSum 1..5; SumMe 0/1
            selections.
        fps: frame rate when the file gives it (SumMe), else None.
    """

    name: str
    category: str
    user_scores: np.ndarray
    fps: float | None = None

    @property
    def n_frames(self) -> int:
        return int(self.user_scores.shape[1])


def read_tvsum_tsv(
    path: str | Path = ANNOTATION_DIR / "ydata-tvsum50-anno.tsv.gz",
) -> list[Annotation]:
    """Reads TVSum's tsv (plain or gzip), grouping rows by video in file order.

    Returns:
        50 annotations in the file's (= eccv16) order, each with [20, n_frames] scores.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    if not path.is_file():
        raise DataError(path, "TVSum annotation tsv not found")
    rows: dict[str, tuple[str, list[np.ndarray]]] = {}
    with opener(path, "rt") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise DataError(path, f"line {line_no}: expected 3 tab-separated columns, "
                                f"got {len(parts)}")  # fmt: skip
            vid, category, scores = parts
            values = np.array(scores.split(","), dtype=np.float64)
            rows.setdefault(vid, (category, []))[1].append(values)
    out = []
    for vid, (category, users) in rows.items():
        lengths = {len(u) for u in users}
        if len(lengths) != 1:
            raise DataError(path, f"annotators disagree on the frame count {sorted(lengths)}",
                            video=vid, key="scores")  # fmt: skip
        out.append(Annotation(vid, category, np.stack(users)))
    return out


def _mat_string(f: h5py.File, ref) -> str:
    return "".join(map(chr, f[ref][:].ravel()))


def read_tvsum_mat(path: str | Path = ANNOTATION_DIR / "ydata-tvsum50.mat") -> list[Annotation]:
    """Reads TVSum's ``ydata-tvsum50.mat`` (v7.3) into annotations in file order."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "TVSum annotation .mat not found")
    out = []
    with h5py.File(path, "r") as f:
        if "tvsum50" not in f:
            raise DataError(path, "no group 'tvsum50' (not ydata-tvsum50.mat?)", key="tvsum50")
        g = f["tvsum50"]
        for i in range(g["video"].shape[0]):
            name = _mat_string(f, g["video"][i, 0])
            scores = np.asarray(f[g["user_anno"][i, 0]][:], np.float64)
            n_frames = int(np.asarray(f[g["nframes"][i, 0]][:]).ravel()[0])
            if scores.shape[1] != n_frames:
                raise DataError(path, f"user_anno has {scores.shape[1]} frames, nframes says "
                                f"{n_frames}", video=name, key="user_anno")  # fmt: skip
            out.append(Annotation(name, _mat_string(f, g["category"][i, 0]), scores))
    return out


def read_summe(directory: str | Path = ANNOTATION_DIR / "summe_gt") -> list[Annotation]:
    """Reads every SumMe ``GT/*.mat`` file, sorted by file name.

    The eccv16 SumMe file's ``video_i`` order is not checked against this order here; match
    videos by ``video_name`` (data README).

    Returns:
        25 annotations with [n_users, n_frames] 0/1 selections and the video's fps.
    """
    directory = Path(directory)
    files = sorted(directory.glob("*.mat"))
    if not files:
        raise DataError(directory, "no SumMe GT .mat files")
    out = []
    for path in files:
        try:
            m = scipy.io.loadmat(path)
        except Exception as e:  # scipy raises several types for a corrupt file
            raise DataError(path, f"not a readable .mat file ({e})") from None
        for key in ("user_score", "nFrames", "FPS"):
            if key not in m:
                raise DataError(path, "missing key", video=path.stem, key=key)
        selected = (np.asarray(m["user_score"]) > 0).T.astype(np.float64)
        n_frames = int(np.asarray(m["nFrames"]).ravel()[0])
        if selected.shape[1] != n_frames:
            raise DataError(path, f"user_score has {selected.shape[1]} frames, nFrames says "
                            f"{n_frames}", video=path.stem, key="user_score")  # fmt: skip
        out.append(Annotation(path.stem, "", selected, float(np.asarray(m["FPS"]).ravel()[0])))
    return out
