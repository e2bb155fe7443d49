"""QVHighlights queries with their clip and text features, from the user's files.

The annotation jsonl (Lei et al., NeurIPS 2021) has one query per line: ``qid``,
``query`` (text), ``vid``, ``duration`` (s), ``relevant_windows`` ([[start, end], ...] s),
``relevant_clip_ids`` (2-second clip indices) and ``saliency_scores`` (one row of three
annotators' 0-4 scores per relevant clip). Features come in the layout that Moment-DETR
distributes and most QVHighlights code reads:

* clip features per video, ``{vid}.npz`` (key ``features``) or ``{vid}.npy``, [n_clips, D],
  in one or more folders (e.g. SlowFast and CLIP), concatenated along D after cutting
  every stream to the shortest;
* text features per query, ``qid{qid}.npz`` (key ``last_hidden_state``, [n_tokens, D_t])
  or ``{qid}.npy``, optional.

A video has ``int(duration / 2)`` clips in the evaluation (``csum.highlights.qvhighlights``);
a query's clips beyond the feature length are dropped here, with the label rows that go
with them. Every missing or malformed file is one ``DataError`` line naming the file, the
query and the key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from csum.data.errors import DataError
from csum.data.records import Video
from csum.highlights.qvhighlights import CLIP_SECONDS, SubmissionError, read_jsonl

FIELDS = ("qid", "query", "vid", "duration")
"""Keys every annotation line must have (test files may lack the label keys)."""


@dataclasses.dataclass(frozen=True)
class Query:
    """One QVHighlights query on its video.

    Attributes:
        qid: query id.
        text: the query sentence.
        vid: video id.
        duration: video duration in seconds.
        clips: [n_clips, D] clip features (every folder's, concatenated).
        tokens: [n_tokens, D_t] text features, or None.
        windows: [m, 2] relevant windows in seconds (empty for test queries).
        saliency: [n_clips, 3] annotators' 0-4 scores (0 where no one marked the clip).
    """

    qid: int
    text: str
    vid: str
    duration: float
    clips: np.ndarray
    tokens: np.ndarray | None
    windows: np.ndarray
    saliency: np.ndarray

    @property
    def n_clips(self) -> int:
        return int(len(self.clips))

    def as_video(self) -> Video:
        """The query on its video as the trainer sees it: one step per clip, the query's
        tokens as the ``query`` stream, its clips' mean saliency over 4 (annotators' 0-4
        scores) as the ``saliency`` target and as ``gtscore``, its windows as the
        ``moments`` target in clips (``csum.data.streams``). The key is the qid.

        Raises:
            DataError: a query without text features.
        """
        if self.tokens is None:
            raise DataError(f"qid {self.qid}", "no text features (give the text folder)")
        n = self.n_clips
        steps = np.arange(n, dtype=np.int64)
        saliency = (self.saliency.mean(axis=1) / 4).astype(np.float32)
        moments = np.clip(self.windows / CLIP_SECONDS, 0, n).astype(np.float32)
        return Video(
            key=str(self.qid),
            features=(self.clips,),
            n_frames=n,
            picks=steps,
            change_points=np.stack([steps, steps], axis=1),
            user_summary=None,
            gtscore=saliency,
            name=self.vid,
            streams={"query": self.tokens},
            targets={"saliency": saliency, "moments": moments},
        )

    def relevant(self, minimum: int = 2) -> np.ndarray:
        """[n_clips] bool: some annotator scored the clip ``>= minimum`` (Fair = 2)."""
        return (self.saliency >= minimum).any(axis=1)


def read_array(folder: Path, stem: str, npz_key: str, what: str, qid) -> np.ndarray | None:
    """``folder/stem.npz`` (array ``npz_key``) or ``folder/stem.npy`` as float32 [n, D];
    None when neither exists; one ``DataError`` line (naming ``qid``, the query or video)
    for an unreadable, non-2-D or non-finite array."""
    for path in (folder / f"{stem}.npz", folder / f"{stem}.npy"):
        if not path.is_file():
            continue
        try:
            if path.suffix == ".npz":
                with np.load(path) as z:
                    if npz_key not in z:
                        raise DataError(
                            path,
                            f"no array {npz_key!r} (has {sorted(z.files)})",
                            video=str(qid),
                            key=npz_key,
                        )
                    x = z[npz_key]
            else:
                x = np.load(path)
        except (ValueError, OSError) as e:
            raise DataError(path, f"unreadable {what} ({e})", video=str(qid)) from None
        if x.ndim != 2 or not np.isfinite(x).all():
            shape = f"shape {x.shape}" if x.ndim != 2 else "NaN or inf values"
            raise DataError(
                path,
                f"expected a finite [n, D] {what} array, got {shape}",
                video=str(qid),
                key=npz_key,
            )
        return x.astype(np.float32)
    return None


def read_queries(annotations, video_dirs, text_dir=None) -> list[Query]:
    """Reads a QVHighlights annotation jsonl with the features of its videos and queries.

    Args:
        annotations: the jsonl (``.gz`` allowed).
        video_dirs: one folder or a list of folders of clip features (concatenated).
        text_dir: folder of text features per query, or None.

    Returns:
        The queries in the file's order.

    Raises:
        DataError: a missing key, feature file or text file, or a malformed array.
    """
    one = isinstance(video_dirs, str | Path)
    folders = [Path(video_dirs)] if one else [Path(d) for d in video_dirs]
    try:
        rows = read_jsonl(annotations)
    except SubmissionError as err:
        raise DataError(annotations, str(err).split(": ", 1)[-1]) from None
    out = []
    for n, row in enumerate(rows, 1):
        missing = [k for k in FIELDS if k not in row]
        if missing:
            raise DataError(annotations, f"line {n} lacks {missing}", key=missing[0])
        qid, vid = row["qid"], str(row["vid"])
        streams = []
        for folder in folders:
            x = read_array(folder, vid, "features", "clip feature", qid)
            if x is None:
                raise DataError(
                    folder / f"{vid}.npz", "clip features not found (.npz or .npy)", video=vid
                )
            streams.append(x)
        n_clips = min(min(len(s) for s in streams), int(float(row["duration"]) // CLIP_SECONDS))
        if n_clips < 2:
            raise DataError(annotations, f"{n_clips} clips; at least 2 are needed", video=vid)
        clips = np.concatenate([s[:n_clips] for s in streams], axis=1)
        tokens = None
        if text_dir is not None:
            for stem in (f"qid{qid}", str(qid)):
                tokens = (
                    read_array(Path(text_dir), stem, "last_hidden_state", "text feature", qid)
                    if tokens is None
                    else tokens
                )
            if tokens is None:
                raise DataError(
                    Path(text_dir) / f"qid{qid}.npz", "text features not found", video=str(qid)
                )
        saliency = np.zeros((n_clips, 3), np.float64)
        ids = row.get("relevant_clip_ids", [])
        scores = np.asarray(row.get("saliency_scores", []), np.float64)
        scores = scores.reshape(0, 3) if not len(ids) and not scores.size else scores
        if scores.shape != (len(ids), 3):
            raise DataError(
                annotations,
                f"saliency_scores has shape {scores.shape}, expected "
                f"({len(ids)}, 3): three annotators per relevant clip",
                video=str(qid),
                key="saliency_scores",
            )
        for clip, s in zip(ids, scores, strict=True):
            if 0 <= clip < n_clips:
                saliency[clip] = s
        windows = np.asarray(row.get("relevant_windows", []), np.float64).reshape(-1, 2)
        out.append(
            Query(
                qid,
                str(row["query"]),
                vid,
                float(row["duration"]),
                clips,
                tokens,
                windows,
                saliency,
            )
        )
    return out
