"""Highlight data sets in UMT's layout: readers, a writer, and the link to the trainer.

The layout of YouTube Highlights and TVSum highlights as UMT (Liu et al., CVPR 2022)
distributes them, per data set:

* a label JSON keyed by video id: YouTube Highlights ``{"match": [n_clips]}`` (a clip is a
  highlight when ``match > 0``), TVSum ``{"anno": [n_clips, 20]}`` annotator scores; an
  optional ``"domain"`` names the video's domain (category);
* visual features ``{video_dir}/{vid}_rgb.npy`` [n_clips, D] and optionally
  ``{vid}_opt.npy`` (optical flow, concatenated to the RGB features);
* audio features ``{audio_dir}/{vid}.npy`` [n_clips, D_a] (optional).

Streams of different lengths are cut to the shortest, as UMT does. Every missing or
malformed file is a one-line ``DataError`` naming the file, the video and the key.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from csum.data.errors import DataError
from csum.data.records import Video

KINDS = ("youtube", "tvsum")
"""Label kinds: binary ``match`` (YouTube Highlights) or ``anno`` scores (TVSum)."""


@dataclasses.dataclass(frozen=True)
class HighlightVideo:
    """One video of a highlight data set.

    Attributes:
        key: video id.
        domain: its domain (YouTube Highlights) or category (TVSum), or "".
        visual: [n_clips, D] visual features (RGB, with optical flow concatenated).
        audio: [n_clips, D_a] audio features, or None.
        labels: [n_clips] float: 1/0 highlight labels (YouTube), or the mean annotator
            score (TVSum).
        anno: [n_clips, U] annotator scores (TVSum), or None.
    """

    key: str
    domain: str
    visual: np.ndarray
    audio: np.ndarray | None
    labels: np.ndarray
    anno: np.ndarray | None = None

    @property
    def n_clips(self) -> int:
        return int(len(self.labels))

    @property
    def highlights(self) -> np.ndarray:
        """[n_clips] bool: ``match > 0`` (YouTube), above the median mean score (TVSum)."""
        if self.anno is None:
            return self.labels > 0
        return self.labels > np.median(self.labels)

    def as_video(self, audio: bool = False) -> Video:
        """The video as the summarization trainer sees it: one step per clip, each clip a
        one-step shot, the highlight labels as ``gtscore`` and as the one user summary.

        Args:
            audio: also pass the audio stream as a second feature source.
        """
        n = self.n_clips
        features = (self.visual,) + ((self.audio,) if audio and self.audio is not None else ())
        steps = np.arange(n, dtype=np.int64)
        return Video(
            key=self.key,
            features=features,
            n_frames=n,
            picks=steps,
            change_points=np.stack([steps, steps], axis=1),
            user_summary=self.highlights[None].astype(np.float32),
            gtscore=self.labels.astype(np.float32),
            name=self.key,
        )


def _load_array(path: Path, key: str, video: str) -> np.ndarray:
    if not path.is_file():
        raise DataError(path, "feature file not found", video=video, key=key)
    try:
        x = np.load(path)
    except (ValueError, OSError) as e:
        raise DataError(path, f"unreadable .npy ({e})", video=video, key=key) from None
    if x.ndim != 2 or not np.isfinite(x).all():
        what = f"shape {x.shape}" if x.ndim != 2 else "NaN or inf values"
        raise DataError(
            path, f"expected a finite [n_clips, D] array, got {what}", video=video, key=key
        )
    return x.astype(np.float32)


def read_umt(
    label_path, video_dir, audio_dir=None, kind: str = "youtube", videos: list[str] | None = None
) -> dict[str, HighlightVideo]:
    """Reads a highlight data set in UMT's layout.

    Args:
        label_path: the label JSON.
        video_dir: folder of ``{vid}_rgb.npy`` (and optional ``{vid}_opt.npy``).
        audio_dir: folder of ``{vid}.npy`` audio features, or None.
        kind: ``"youtube"`` (``match`` labels) or ``"tvsum"`` (``anno`` scores).
        videos: only these ids (default: every id of the label file).

    Returns:
        ``{vid: HighlightVideo}`` in the label file's order.

    Raises:
        DataError: a missing file, key or video, or a malformed array (one line).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown highlight label kind {kind!r}; known: {', '.join(KINDS)}")
    label_path, video_dir = Path(label_path), Path(video_dir)
    if not label_path.is_file():
        raise DataError(label_path, "label file not found")
    try:
        labels = json.loads(label_path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(label_path, f"not JSON ({e.msg})") from None
    wanted = list(labels) if videos is None else videos
    out = {}
    for vid in wanted:
        if vid not in labels:
            raise DataError(label_path, "no labels for this video", video=vid)
        entry = labels[vid]
        field = "match" if kind == "youtube" else "anno"
        if field not in entry:
            raise DataError(label_path, f"expected {kind} labels", video=vid, key=field)
        raw = np.asarray(entry[field], np.float64)
        if (kind == "youtube" and raw.ndim != 1) or (kind == "tvsum" and raw.ndim != 2):
            raise DataError(label_path, f"unexpected label shape {raw.shape}", video=vid, key=field)
        visual = _load_array(video_dir / f"{vid}_rgb.npy", "rgb", vid)
        flow = video_dir / f"{vid}_opt.npy"
        streams = [visual] + ([_load_array(flow, "opt", vid)] if flow.is_file() else [])
        audio = None
        if audio_dir is not None:
            audio = _load_array(Path(audio_dir) / f"{vid}.npy", "audio", vid)
        lengths = [len(raw), *(len(s) for s in streams)]
        n = min(lengths + ([len(audio)] if audio is not None else []))
        if n < 2:
            raise DataError(label_path, f"{n} clips; at least 2 are needed", video=vid)
        visual = np.concatenate([s[:n] for s in streams], axis=1)
        anno = raw[:n] if kind == "tvsum" else None
        mean = anno.mean(axis=1) if anno is not None else raw[:n]
        out[vid] = HighlightVideo(
            vid,
            str(entry.get("domain", "")),
            visual,
            None if audio is None else audio[:n],
            mean,
            anno,
        )
    return out


def read_features(video_dir, audio_dir=None) -> dict[str, HighlightVideo]:
    """Every video of a feature folder in UMT's layout, without labels (for scoring).

    Args:
        video_dir: folder of ``{vid}_rgb.npy`` (and optional ``{vid}_opt.npy``).
        audio_dir: folder of ``{vid}.npy`` audio features, or None.

    Returns:
        ``{vid: HighlightVideo}`` sorted by id; ``labels`` are zeros (unknown).

    Raises:
        DataError: no feature file, or a missing or malformed one (one line).
    """
    video_dir = Path(video_dir)
    if not video_dir.is_dir():
        raise DataError(video_dir, "feature folder not found")
    ids = sorted(p.name.removesuffix("_rgb.npy") for p in video_dir.glob("*_rgb.npy"))
    if not ids:
        raise DataError(video_dir, "no {vid}_rgb.npy feature files")
    out = {}
    for vid in ids:
        streams = [_load_array(video_dir / f"{vid}_rgb.npy", "rgb", vid)]
        flow = video_dir / f"{vid}_opt.npy"
        if flow.is_file():
            streams.append(_load_array(flow, "opt", vid))
        audio = None
        if audio_dir is not None:
            audio = _load_array(Path(audio_dir) / f"{vid}.npy", "audio", vid)
        n = min([len(s) for s in streams] + ([len(audio)] if audio is not None else []))
        if n < 2:
            raise DataError(
                video_dir / f"{vid}_rgb.npy", f"{n} clips; at least 2 are needed", video=vid
            )
        visual = np.concatenate([s[:n] for s in streams], axis=1)
        out[vid] = HighlightVideo(
            vid, "", visual, None if audio is None else audio[:n], np.zeros(n)
        )
    dims = {v.visual.shape[1] for v in out.values()}
    if len(dims) > 1:
        raise DataError(video_dir, f"videos have different feature sizes {sorted(dims)}")
    return out


def write_umt(videos: list[HighlightVideo], label_path, video_dir, audio_dir=None) -> None:
    """Writes videos in UMT's layout (``match`` labels, or ``anno`` when present)."""
    label_path, video_dir = Path(label_path), Path(video_dir)
    video_dir.mkdir(parents=True, exist_ok=True)
    label_path.parent.mkdir(parents=True, exist_ok=True)
    labels = {}
    for v in videos:
        entry = {"domain": v.domain}
        if v.anno is not None:
            entry["anno"] = v.anno.tolist()
        else:
            entry["match"] = [int(x) for x in v.labels]
        labels[v.key] = entry
        np.save(video_dir / f"{v.key}_rgb.npy", v.visual)
        if audio_dir is not None and v.audio is not None:
            Path(audio_dir).mkdir(parents=True, exist_ok=True)
            np.save(Path(audio_dir) / f"{v.key}.npy", v.audio)
    label_path.write_text(json.dumps(labels))
