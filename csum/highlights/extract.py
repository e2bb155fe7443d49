"""Highlights from clip scores: Gaussian smoothing, a threshold Theta, segments. Pure numpy.

CSUM section 4.3 treats a highlight as a top-1 summary with its context: the clip scores
are smoothed with a Gaussian to enforce temporal continuity, and the parts whose smoothed
score exceeds a threshold Theta form the highlight; Theta is chosen to maximise mAP on a
holdout set (``choose_theta``), never on the test videos.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from csum.highlights.metrics import detection_ap

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def smooth(scores, sigma: float) -> np.ndarray:
    """Gaussian smoothing along time (sigma in clips; edges reflected; 0 = unchanged)."""
    s = np.asarray(scores, np.float64)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, not {sigma}")
    return gaussian_filter1d(s, sigma, mode="reflect") if sigma > 0 and len(s) > 1 else s


def runs(mask) -> np.ndarray:
    """[n, 2] (start, end) clip index ranges, end exclusive, of the True runs of ``mask``."""
    m = np.r_[False, np.asarray(mask, bool), False].astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    return edges.reshape(-1, 2)


def segments(scores, theta: float, sigma: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Every segment whose smoothed score is above ``theta``, scored by its mean.

    Args:
        scores: [n_clips] clip scores.
        theta: threshold on the smoothed scores.
        sigma: Gaussian width in clips.

    Returns:
        ([m, 2] (start, end) clip ranges, end exclusive; [m] segment scores), best first.
    """
    s = smooth(scores, sigma)
    spans = runs(s > theta)
    value = np.array([s[a:b].mean() for a, b in spans])
    order = np.argsort(-value, kind="stable")
    return spans[order], value[order]


def top_highlight(scores, theta: float, sigma: float = 0.0) -> tuple[int, int]:
    """The highlight: the top-scoring clip plus its contiguous neighbours above ``theta``.

    Returns:
        (start, end) clip range, end exclusive (the top clip alone when even it is not
        above Theta).
    """
    s = smooth(scores, sigma)
    top = int(np.argmax(s))
    start, end = top, top + 1
    while start > 0 and s[start - 1] > theta:
        start -= 1
    while end < len(s) and s[end] > theta:
        end += 1
    return start, end


def segment_map(
    predictions: Sequence[tuple[np.ndarray, np.ndarray]], labels: Sequence[np.ndarray]
) -> float:
    """Segment mAP over tIoU 0.5:0.05:0.95 of extracted highlights against the ground-truth
    highlight segments (the runs of positive clips), averaged over videos.

    Args:
        predictions: per video, (segments [m, 2], scores [m]) from ``segments``.
        labels: per video, [n_clips] binary clip labels.

    Returns:
        mAP in [0, 1] (a video without positive clips counts 0).
    """
    aps = [
        detection_ap(runs(np.asarray(y) > 0), spans, value, IOU_THRESHOLDS).mean()
        for (spans, value), y in zip(predictions, labels, strict=True)
    ]
    return float(np.mean(aps)) if aps else 0.0


def choose_theta(
    scores: Sequence[np.ndarray], labels: Sequence[np.ndarray], sigma: float, candidates: int = 41
) -> float:
    """Theta maximising segment mAP on holdout videos (never the test videos).

    Candidates are the quantiles 0, 1/(c-1), ..., 1 of all holdout smoothed scores; ties
    go to the lowest Theta.

    Args:
        scores: per holdout video, [n_clips] clip scores.
        labels: per holdout video, [n_clips] binary labels.
        sigma: Gaussian width in clips.
        candidates: number of quantiles tried.

    Returns:
        Theta.
    """
    pooled = np.concatenate([smooth(s, sigma) for s in scores])
    grid = np.unique(np.quantile(pooled, np.linspace(0, 1, candidates)))
    best, best_map = float(grid[0]), -1.0
    for theta in grid:
        value = segment_map([segments(s, theta, sigma) for s in scores], labels)
        if value > best_map + 1e-12:
            best, best_map = float(theta), value
    return best


def budget_theta(scores, ratio: float, sigma: float = 0.0) -> float:
    """A label-free Theta for one video: the ``1 - ratio`` quantile of its smoothed scores,
    so that about ``ratio`` of its clips lie in highlight segments (CSUM's summary budget,
    when no labelled holdout exists to choose Theta on)."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be in (0, 1), not {ratio}")
    return float(np.quantile(smooth(scores, sigma), 1.0 - ratio))
