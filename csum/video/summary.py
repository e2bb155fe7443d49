"""From step scores to a watchable summary: shots, the keyshot choice, never empty. Numpy.

Shots come from KTS on the step features (``csum.data.kts.cpd_auto``, the eccv16 files'
segmentation), mapped to frames through each step's pick. The features are centred on the
video's mean step before the L2 normalisation that KTS's penalty assumes: KTS's cost is
blind to a shift, but the normalisation is not, and without centring a descriptor whose
every step shares a large common part (a colour histogram, ReLU features) leaves the
scenes too close on the unit sphere for any cut to pay its penalty. The summary is the standard
keyshot choice (``csum.metrics.evaluation.keyshot_summary``'s knapsack: the shots of highest mean
score within ``ratio`` of the frames). When no shot fits the budget (every shot is longer
than it), the best shot is trimmed to the budget around its best-scoring step, so that a
summary is never empty.
"""

from __future__ import annotations

import math

import numpy as np

from csum.data.kts import cpd_auto
from csum.metrics.evaluation import knapsack, step_to_frame_scores


def shots(features: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """[n_shots, 2] inclusive frame bounds from KTS on centred, L2-normalised step features."""
    x = np.asarray(features, np.float64)
    x = x - x.mean(axis=0)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-10)
    starts = np.asarray(picks, np.int64)[cpd_auto(x)] if len(x) > 2 else np.zeros(0, np.int64)
    bounds = np.unique(np.concatenate([[0], starts, [n_frames]])).astype(np.int64)
    return np.stack([bounds[:-1], bounds[1:] - 1], axis=1)


def select(step_scores, change_points, picks, n_frames: int, ratio: float) -> np.ndarray:
    """[m, 2] inclusive frame ranges of the summary, in time order, never empty.

    Args:
        step_scores: [n_steps] scores.
        change_points: [n_shots, 2] inclusive shot bounds.
        picks: [n_steps] frame of each step.
        n_frames: frames of the video.
        ratio: summary length as a share of the frames.
    """
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must be in (0, 1), not {ratio}")
    frame_scores = step_to_frame_scores(step_scores, picks, n_frames)
    cps = np.asarray(change_points, np.int64)
    lengths = cps[:, 1] - cps[:, 0] + 1
    values = np.array([frame_scores[a : b + 1].mean() for a, b in cps])
    budget = max(1, math.floor(ratio * n_frames))
    chosen = knapsack(values, lengths, budget)
    if chosen:
        return cps[chosen]
    a, b = cps[int(np.argmax(values))]  # every shot is longer than the budget: trim one
    centre = a + int(np.argmax(frame_scores[a : b + 1]))
    start = int(np.clip(centre - budget // 2, a, b + 1 - budget))
    return np.array([[start, start + budget - 1]], np.int64)
