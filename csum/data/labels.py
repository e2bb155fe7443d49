"""Supervised labels of a video, prepared once on the host (numpy).

The targets of the supervised regime (``csum.objectives.supervised``): the min-max-normalised
``gtscore`` every backbone regresses, and the ground-truth keyframes of dppLSTM's DPP term.
"""

from __future__ import annotations

import numpy as np

from csum.metrics.evaluation import keyshot_summary


def minmax_target(gtscore: np.ndarray) -> np.ndarray:
    """[n] gtscore rescaled to [0, 1] per video (all zeros when it is constant)."""
    g = np.asarray(gtscore, np.float32)
    span = float(g.max() - g.min()) if g.size else 0.0
    return (g - g.min()) / span if span > 0 else np.zeros_like(g)


def gt_keyframes(
    gtscore: np.ndarray,
    change_points: np.ndarray,
    n_frames: int,
    picks: np.ndarray,
    ratio: float = 0.15,
) -> np.ndarray:
    """[n_steps] bool: the ground-truth keyframes that dppLSTM's DPP term maximises.

    The keyshot summary of ``gtscore`` (the evaluation's own knapsack at ``ratio``), then
    in each chosen shot its highest-scored step. One frame per shot keeps the set diverse
    by construction: neighbouring steps of one shot are near duplicates, whose DPP
    probability is ~0 (det of nearly equal rows), so a whole-shot target would be
    unlearnable. Zhang et al. likewise train the DPP on sparse keyframes.
    """
    picks = np.asarray(picks)
    chosen_frames = keyshot_summary(gtscore, change_points, n_frames, picks, ratio)
    in_summary = chosen_frames[np.minimum(picks, n_frames - 1)]
    shot = np.searchsorted(np.asarray(change_points)[:, 1], picks, side="left")
    steps = np.flatnonzero(in_summary)
    out = np.zeros(len(picks), bool)
    if steps.size:
        # Within each shot, the step of highest gtscore (ties: the earliest).
        order = np.lexsort((steps, -np.asarray(gtscore)[steps], shot[steps]))
        ranked = steps[order]
        first = np.r_[True, shot[ranked][1:] != shot[ranked][:-1]]
        out[ranked[first]] = True
    return out
