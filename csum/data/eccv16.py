"""Reader and writer of the eccv16 h5 layout, validating every video on load.

Layout (one group per video ``video_i``): ``features`` [n_steps, 1024] float32,
``gtscore`` [n_steps], ``user_summary`` [n_users, n_frames] (absent from an unlabelled
collection: ``optional_labels``), ``change_points``
[n_segments, 2] inclusive frame bounds, ``n_frame_per_seg``, ``n_frames``, ``picks``
[n_steps], ``n_steps``, ``video_name``; optionally ``user_scores`` [n_users, n_frames].

Several feature sources (MSVA: GoogLeNet, I3D-RGB, I3D-flow) are either several keys of one
group (``"features_rgb"``) or the same key in another file with the same video groups
(``"/path/i3d_flow.h5:features"``). Sources shorter or longer than the first are resampled
to its length by linear interpolation along time.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from csum.data.errors import DataError
from csum.data.records import Video
from csum.files import atomic

REQUIRED = ("n_frames", "picks", "change_points", "user_summary")


def _source(spec: str, main: Path) -> tuple[Path, str]:
    """Splits a feature spec ``[file.h5:]key`` into (file, key)."""
    if ":" in spec:
        file, key = spec.rsplit(":", 1)
        return Path(file), key
    return main, spec


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of [T, D] features to [length, D] along time."""
    if x.shape[0] == length:
        return x
    src = np.linspace(0.0, 1.0, x.shape[0]) if x.shape[0] > 1 else np.zeros(1)
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, x[:, j]) for j in range(x.shape[1])], 1).astype(x.dtype)


def _read(group: h5py.Group, key: str, file: Path, video: str) -> np.ndarray:
    if key not in group:
        raise DataError(file, f"missing key (has: {', '.join(sorted(group.keys()))})", video, key)
    return np.asarray(group[key][()])


def check_shape(x, file, video, key, min_steps, expected_dim) -> None:
    """Checks the shape and dtype of one video's features (an array, or an h5 dataset
    before it is read): [n_steps >= min_steps, expected_dim] floats, or a DataError."""
    if x.ndim != 2:
        raise DataError(file, f"expected [n_steps, D] features, got shape {x.shape}", video, key)
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(file, f"expected float features, got {x.dtype}", video, key)
    if x.shape[0] == 0:
        raise DataError(file, "empty video (0 steps)", video, key)
    if x.shape[0] < min_steps:
        raise DataError(
            file, f"too short: {x.shape[0]} steps, need at least {min_steps}", video, key
        )
    if expected_dim is not None and x.shape[1] != expected_dim:
        raise DataError(file, f"feature size {x.shape[1]}, expected {expected_dim}", video, key)


def check_features(x, file, video, key, min_steps, expected_dim):
    """[n_steps, D] finite float features of one video as float32, or a DataError."""
    check_shape(x, file, video, key, min_steps, expected_dim)
    bad = ~np.isfinite(x)
    if bad.any():
        step = int(np.argwhere(bad)[0, 0])
        kind = "NaN" if np.isnan(x).any() else "infinite"
        raise DataError(file, f"{kind} values ({int(bad.sum())}, first at step {step})", video, key)
    return x.astype(np.float32)


def _check_annotations(g, file, video, n_steps, optional_labels=False) -> dict:
    """Reads and checks n_frames, picks, change points and user summaries of one video
    (``user_summary`` None when absent and ``optional_labels``)."""
    n_frames = int(_read(g, "n_frames", file, video))
    if n_frames <= 0:
        raise DataError(file, f"n_frames must be positive, got {n_frames}", video, "n_frames")
    picks = _read(g, "picks", file, video).astype(np.int64).reshape(-1)
    if picks.shape[0] != n_steps:
        raise DataError(file, f"{picks.shape[0]} picks for {n_steps} feature steps", video, "picks")
    if (np.diff(picks) <= 0).any() or picks[0] < 0 or picks[-1] >= n_frames:
        raise DataError(
            file, f"picks must increase strictly within [0, {n_frames}) frames", video, "picks"
        )
    cps = _read(g, "change_points", file, video).astype(np.int64)
    if cps.ndim != 2 or cps.shape[1] != 2 or cps.shape[0] == 0:
        raise DataError(file, f"expected [n_segments, 2], got {cps.shape}", video, "change_points")
    if (cps[:, 0] > cps[:, 1]).any() or cps.min() < 0 or cps.max() >= n_frames:
        raise DataError(
            file, f"segments must satisfy 0 <= start <= end < {n_frames}", video, "change_points"
        )
    if (cps[1:, 0] <= cps[:-1, 1]).any():
        raise DataError(file, "segments must be sorted and disjoint", video, "change_points")
    out = {"n_frames": n_frames, "picks": picks, "change_points": cps, "user_summary": None}
    if "user_summary" in g or not optional_labels:
        users = _read(g, "user_summary", file, video)
        if users.ndim != 2 or users.shape[1] != n_frames:
            raise DataError(
                file, f"expected [n_users, {n_frames}], got {users.shape}", video, "user_summary"
            )
        out["user_summary"] = users
    if "user_scores" in g:
        scores = np.asarray(g["user_scores"][()], np.float32)
        if scores.ndim != 2 or scores.shape[1] != n_frames:
            raise DataError(
                file, f"expected [n_users, {n_frames}], got {scores.shape}", video, "user_scores"
            )
        out["user_scores"] = scores
    if "gtscore" in g:
        out["gtscore"] = np.asarray(g["gtscore"][()], np.float32).reshape(-1)
    return out


def load_eccv16(
    path,
    feature_keys: Sequence[str] = ("features",),
    *,
    min_steps: int = 1,
    expected_dims: Sequence[int] | None = None,
    optional_labels: bool = False,
) -> dict[str, Video]:
    """Loads and validates every video of an eccv16-layout h5 file.

    Args:
        path: the h5 file.
        feature_keys: one spec per feature source, ``key`` or ``other_file.h5:key``.
        min_steps: shortest accepted video, in steps.
        expected_dims: feature size of each source; by default the size most videos of
            the file have, so that the error names a video that differs from the others.
        optional_labels: accept a file without ``user_summary`` (an unlabelled
            collection, e.g. written by ``experiments.summarize``): every video's
            ``user_summary`` is then None. A file where some videos have it and others
            do not is still an error.

    Returns:
        ``{video_key: Video}`` in the file's order.

    Raises:
        DataError: one line naming file, video and key for any missing key, wrong shape or
            size, non-finite value, empty or too-short video, or inconsistent annotations.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    dims = list(expected_dims) if expected_dims is not None else None
    files: dict[Path, h5py.File] = {}
    try:
        for spec in feature_keys:
            file, _ = _source(spec, path)
            if file not in files:
                if not file.is_file():
                    raise DataError(file, "feature file not found")
                files[file] = h5py.File(file, "r")
        main = files.setdefault(path, h5py.File(path, "r"))
        if dims is None:
            dims = _common_dims(files, main, feature_keys, path)
        videos = {}
        for vid in sorted(main.keys(), key=natural_order):
            feats = []
            for s, spec in enumerate(feature_keys):
                file, key = _source(spec, path)
                if vid not in files[file]:
                    raise DataError(file, "video missing from this feature file", vid)
                x = _read(files[file][vid], key, file, vid)
                want = dims[s] if dims is not None else None
                feats.append(check_features(x, file, vid, key, min_steps, want))
            if dims is None:
                dims = [f.shape[1] for f in feats]
            feats = [feats[0]] + [resample(f, feats[0].shape[0]) for f in feats[1:]]
            g = main[vid]
            ann = _check_annotations(g, path, vid, feats[0].shape[0], optional_labels)
            name = g["video_name"][()] if "video_name" in g else vid
            name = name.decode() if isinstance(name, bytes) else str(name)
            videos[vid] = Video(key=vid, features=tuple(feats), name=name, **ann)
    except OSError as err:
        raise DataError(path, f"cannot read h5 file ({err})") from None
    finally:
        for f in files.values():
            f.close()
    if not videos:
        raise DataError(path, "no video groups in file")
    labelled = [v.user_summary is not None for v in videos.values()]
    if any(labelled) and not all(labelled):
        vid = next(v.key for v in videos.values() if v.user_summary is None)
        raise DataError(
            path, "missing key (other videos of the file have user summaries)", vid, "user_summary"
        )
    return videos


def _common_dims(files, main, feature_keys, path) -> list[int] | None:
    """Each source's most common feature width over the file's videos (read from the
    datasets' shapes; ties go to the first video's), or None when a source has none."""

    out = []
    for spec in feature_keys:
        file, key = _source(spec, path)
        widths = [
            files[file][vid][key].shape[-1]
            for vid in sorted(main.keys(), key=natural_order)
            if vid in files[file] and key in files[file][vid] and files[file][vid][key].ndim == 2
        ]
        if not widths:
            return None
        out.append(collections.Counter(widths).most_common(1)[0][0])
    return out


def natural_order(key: str):
    """Sort key putting video_2 before video_10."""
    head, _, tail = key.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (key, -1)


def write_eccv16(path, videos: Sequence[Video], feature_keys: Sequence[str] = ("features",)):
    """Writes videos in the eccv16 layout (atomically: a temporary file, then a rename).

    Args:
        path: destination h5 file.
        videos: the videos; ``features[s]`` is written under ``feature_keys[s]``.
        feature_keys: h5 key of each source.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp, h5py.File(tmp, "w") as f:
        for v in videos:
            g = f.create_group(v.key)
            for key, x in zip(feature_keys, v.features, strict=True):
                g[key] = x.astype(np.float32)
            g["n_frames"] = v.n_frames
            g["n_steps"] = v.n_steps
            g["picks"] = v.picks
            g["change_points"] = v.change_points
            g["n_frame_per_seg"] = v.change_points[:, 1] - v.change_points[:, 0] + 1
            if v.user_summary is not None:
                g["user_summary"] = v.user_summary.astype(np.float32)
            if v.gtscore is not None:
                g["gtscore"] = v.gtscore
                g["gtsummary"] = (v.gtscore >= np.quantile(v.gtscore, 0.85)).astype(np.float32)
            if v.user_scores is not None:
                g["user_scores"] = v.user_scores
            g["video_name"] = v.name or v.key
