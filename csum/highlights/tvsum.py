"""TVSum highlight detection: clip labels from the real annotations, and its baselines.

The protocol (UMT, Liu et al. CVPR 2022; CSUM section 4.3) cuts every TVSum video into
2-second clips, trains per category on 4 videos and tests on the 5th
(``splits/tvsum_highlight.json``), and scores a clip ranking by top-5 mAP
(``csum.highlights.metrics.tvsum_top5_ap``: per annotator, the clips above that
annotator's median are the highlights; AP over the 5 best-ranked clips; mean over the test
videos, then over the 20 annotators).

Clip labels here are built from the original per-frame annotations (``csum.data``'s
copies): a clip covers the frames of its 2 seconds at the video's frame rate (the last
clip keeps the remaining frames), and an annotator's clip score is the mean of their frame
scores over it. TVSum's annotators scored 2-second segments, so a clip's frames mostly
carry one score.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from csum.data.annotations import Annotation, read_tvsum_mat
from csum.highlights.metrics import tvsum_top5_ap

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
CATEGORIES = ("VT", "VU", "GA", "MS", "PK", "PR", "FM", "BK", "BT", "DS")
"""TVSum's ten categories, in the dataset's order."""


def splits() -> dict[str, dict[str, list[str]]]:
    """``{category: {"train": [4 YouTube ids], "val": [1 id]}}``."""
    return json.loads((SPLITS_DIR / "tvsum_highlight.json").read_text())


def clip_scores(annotation: Annotation, clip_seconds: float = 2.0) -> np.ndarray:
    """[n_clips, n_annotators] mean annotator score per clip.

    Args:
        annotation: a TVSum video with its frame rate (``read_tvsum_mat``).
        clip_seconds: clip length.

    Returns:
        ``ceil(n_frames / frames_per_clip)`` rows.
    """
    bounds = clip_bounds(annotation.n_frames, annotation.fps, clip_seconds)
    return clip_means(annotation.user_scores.T, bounds)


def clip_bounds(n_frames: int, fps: float, clip_seconds: float = 2.0) -> np.ndarray:
    """[n_clips + 1] frame bounds of consecutive ``clip_seconds`` clips (the last clip
    keeps the remaining frames; none is empty)."""
    per_clip = fps * clip_seconds
    n_clips = math.ceil(n_frames / per_clip)
    bounds = np.minimum(np.round(np.arange(n_clips + 1) * per_clip).astype(int), n_frames)
    return np.unique(np.r_[bounds, n_frames])


def clip_means(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """[n_clips, ...] mean of ``rows`` [n_frames, ...] over each clip ``bounds[i]:bounds[i+1]``."""
    return np.stack([rows[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])


def human_top5_ap(scores: np.ndarray) -> np.ndarray:
    """Leave-one-annotator-out top-5 AP of one video: each annotator's labels against the
    mean of the other annotators' clip scores as the ranking.

    Args:
        scores: [n_clips, U] clip scores.

    Returns:
        [U] AP.
    """
    U = scores.shape[1]
    out = np.zeros(U)
    for u in range(U):
        others = np.delete(scores, u, axis=1).mean(axis=1)
        out[u] = tvsum_top5_ap(scores[:, u : u + 1], others)[0]
    return out


def random_top5_ap(scores: np.ndarray, rng: np.random.Generator, draws: int) -> np.ndarray:
    """Mean over ``draws`` uniform random rankings of the top-5 AP per annotator: [U]."""
    return np.mean([tvsum_top5_ap(scores, rng.random(len(scores))) for _ in range(draws)], 0)


def baselines(draws: int = 100, seed: int = 0) -> dict:
    """Human (leave-one-annotator-out) and random top-5 mAP per category.

    Both on the protocol's test video of each category (``val``) and on all 5 of its
    videos. Per category: mean over videos, then over annotators.

    Returns:
        ``{"per_category": {cat: {"human_val", "random_val", "human_all", "random_all"}},
        "mean": {...}}`` (fractions).
    """
    videos = {a.name: a for a in read_tvsum_mat()}
    rng = np.random.default_rng(seed)
    table = {}
    for category, split in splits().items():
        rows = {"val": split["val"], "all": split["train"] + split["val"]}
        entry = {}
        for part, ids in rows.items():
            clips = [clip_scores(videos[i]) for i in ids]
            entry[f"human_{part}"] = float(np.mean([human_top5_ap(c) for c in clips], 0).mean())
            entry[f"random_{part}"] = float(
                np.mean([random_top5_ap(c, rng, draws) for c in clips], 0).mean()
            )
        table[category] = entry
    keys = next(iter(table.values())).keys()
    return {
        "per_category": table,
        "mean": {k: float(np.mean([t[k] for t in table.values()])) for k in keys},
    }
