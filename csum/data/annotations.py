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
        fps: frame rate when the file gives it (SumMe's FPS; TVSum's .mat: frames over
            its ``length`` in seconds), else None (TVSum's tsv).
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
                raise DataError(
                    path, f"line {line_no}: expected 3 tab-separated columns, got {len(parts)}"
                )
            vid, category, scores = parts
            values = np.array(scores.split(","), dtype=np.float64)
            rows.setdefault(vid, (category, []))[1].append(values)
    out = []
    for vid, (category, users) in rows.items():
        lengths = {len(u) for u in users}
        if len(lengths) != 1:
            raise DataError(
                path,
                f"annotators disagree on the frame count {sorted(lengths)}",
                video=vid,
                key="scores",
            )
        out.append(Annotation(vid, category, np.stack(users)))
    return out


def _mat_string(f: h5py.File, ref) -> str:
    return "".join(map(chr, f[ref][:].ravel()))


def read_tvsum_mat(path: str | Path = ANNOTATION_DIR / "ydata-tvsum50.mat") -> list[Annotation]:
    """Reads TVSum's ``ydata-tvsum50.mat`` (v7.3) into annotations in file order.

    Same videos, order and scores as the tsv, plus each video's frame rate.
    """
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
            seconds = float(np.asarray(f[g["length"][i, 0]][:]).ravel()[0])
            if scores.shape[1] != n_frames:
                raise DataError(
                    path,
                    f"user_anno has {scores.shape[1]} frames, nframes says {n_frames}",
                    video=name,
                    key="user_anno",
                )
            category = _mat_string(f, g["category"][i, 0])
            out.append(Annotation(name, category, scores, fps=n_frames / seconds))
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
            raise DataError(
                path,
                f"user_score has {selected.shape[1]} frames, nFrames says {n_frames}",
                video=path.stem,
                key="user_score",
            )
        out.append(Annotation(path.stem, "", selected, float(np.asarray(m["FPS"]).ravel()[0])))
    return out


def read_annotations(dataset: str) -> list[Annotation]:
    """The shipped annotations of ``"tvsum"`` (the .mat, in eccv16 order) or ``"summe"``."""
    if dataset == "tvsum":
        return read_tvsum_mat()
    if dataset == "summe":
        return read_summe()
    raise ValueError(f"no annotations for dataset {dataset!r}; known: tvsum, summe")


def tvsum_entry(key: str, name: str, annotations: list[Annotation], file) -> Annotation:
    """The TVSum annotation of an eccv16 video: by YouTube id if its ``video_name`` is
    one, else by position (``video_i`` is the i-th TVSum entry).

    Raises:
        DataError: the key is not ``video_<i>`` with i in 1..50 and the name is no id.
    """
    by_name = {a.name: a for a in annotations}
    if name in by_name:
        return by_name[name]
    head, _, index = key.rpartition("_")
    if head != "video" or not index.isdigit() or not 1 <= int(index) <= len(annotations):
        raise DataError(
            file,
            f"cannot match to a TVSum video: expected key video_1 .. "
            f"video_{len(annotations)} or a YouTube id as video_name",
            key,
            "video_name",
        )
    return annotations[int(index) - 1]


def attach_tvsum_scores(videos: dict, file, annotations: list[Annotation] | None = None) -> dict:
    """Adds TVSum's raw per-annotator frame scores to videos of an eccv16 TVSum file.

    The eccv16 file keeps only binary user summaries; Otani's rank correlation needs the
    1..5 scores, so they are attached by video (see ``tvsum_entry``). Videos that already
    carry ``user_scores`` keep them.

    Args:
        videos: ``{key: Video}`` as ``load_eccv16`` returns.
        file: the eccv16 file (for error messages).
        annotations: TVSum annotations; the shipped ones by default.

    Returns:
        The videos, each with ``user_scores`` [20, n_frames].

    Raises:
        DataError: a video that matches no TVSum entry, or whose frame count differs from
            its entry's (then the file is not TVSum, or its videos are in another order).
    """
    annotations = read_tvsum_mat() if annotations is None else annotations
    out = {}
    for key, video in videos.items():
        if video.user_scores is None:
            entry = tvsum_entry(key, video.name, annotations, file)
            if entry.n_frames != video.n_frames:
                raise DataError(
                    file,
                    f"n_frames is {video.n_frames} but TVSum video "
                    f"{entry.name} has {entry.n_frames} annotated frames; not "
                    f"the TVSum eccv16 file, or its videos are reordered",
                    key,
                    "n_frames",
                )
            video = dataclasses.replace(video, user_scores=entry.user_scores.astype(np.float32))
        out[key] = video
    return out
