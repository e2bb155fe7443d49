"""The in-memory record of one annotated video, as the eccv16 layout stores it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from csum.data.labels import gt_keyframes, minmax_target


@dataclass(frozen=True)
class Video:
    """One video: step features plus the frame-level annotations used for evaluation.

    Attributes:
        key: the h5 group name (``video_i``).
        features: one [n_steps, D_s] float32 array per feature source, same n_steps; empty
            for a video known by its annotations alone (baselines need no features).
        n_frames: number of frames of the original video.
        picks: [n_steps] int frame index of each step (2 fps in the eccv16 files).
        change_points: [n_segments, 2] int inclusive frame bounds of each shot (KTS).
        user_summary: [U, n_frames] binary user summaries, or None (an unlabelled video).
        gtscore: [n_steps] float mean importance, or None.
        user_scores: [U, n_frames] per-annotator frame scores (TVSum), or None.
        name: the original video name (``video_name``), or the key.
        streams: named inputs beside the visual sources (``csum.data.streams``), e.g.
            ``query`` [L, D_q]; empty for video-only data.
        targets: named labels beside ``gtscore`` (``csum.data.streams``), e.g.
            ``saliency`` [n_steps], ``moments`` [M, 2]; empty for video-only data.
    """

    key: str
    features: tuple[np.ndarray, ...]
    n_frames: int
    picks: np.ndarray
    change_points: np.ndarray
    user_summary: np.ndarray | None
    gtscore: np.ndarray | None = None
    user_scores: np.ndarray | None = None
    name: str = ""
    streams: Mapping[str, np.ndarray] = field(default_factory=dict)
    targets: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return int(len(self.picks))

    @cached_property
    def labels(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Supervised targets: (min-max gtscore [n_steps] float32, keyframes [n_steps] bool),
        or None for a video without ``gtscore`` (computed once; ``csum.data.labels``)."""

        if self.gtscore is None:
            return None
        keyframes = gt_keyframes(self.gtscore, self.change_points, self.n_frames, self.picks)
        return minmax_target(self.gtscore), keyframes

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(int(f.shape[1]) for f in self.features)


def cast_features(videos: list[Video], dtype) -> list[Video]:
    """The videos with their features stored in ``dtype`` (e.g. the run's compute dtype).

    Features are frozen inputs that every product consumes in the compute dtype, so
    storing them that way once, on load, halves host-to-device traffic and removes the
    per-step casts (the rounding is the one each product would apply anyway).
    """
    dtype = np.dtype(dtype)
    return [replace(v, features=tuple(f.astype(dtype) for f in v.features)) for v in videos]
