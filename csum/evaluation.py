"""Summary evaluation protocols (SPEC section 6). NumPy/SciPy only, no JAX.

Keyshot F1, the protocol of every anchor:

1. step scores -> frame scores: each step's score is held until the next pick;
2. shot score = mean frame score inside each KTS segment (``change_points``);
3. 0/1 knapsack over shots (weights = shot lengths, capacity = floor(ratio * n_frames));
4. F1 against each user summary; TVSum averages over users (``mode="avg"``), SumMe takes the
   best user (``mode="max"``).

Rank correlation follows Otani et al. (CVPR 2019): the predicted frame scores against *each*
annotator's frame scores, Kendall's tau of the ranks and Spearman's rho, averaged over
annotators. All metrics are fractions in [0, 1] (or [-1, 1]), never percentages.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def knapsack(values, weights, capacity: int) -> list[int]:
    """Exact 0/1 knapsack by dynamic programming over integer capacities.

    Args:
        values: [N] item values (float).
        weights: [N] positive integer item weights.
        capacity: integer capacity.

    Returns:
        Sorted indices of the chosen items, maximising the total value with total weight
        <= capacity. Ties keep the earlier item out (the DP only switches on a strict gain).
    """
    values = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.int64)
    capacity = int(capacity)
    if capacity <= 0 or len(values) == 0:
        return []
    best = np.zeros(capacity + 1)
    take = np.zeros((len(values), capacity + 1), bool)
    for i, (v, w) in enumerate(zip(values, weights, strict=True)):
        if w > capacity or w <= 0:
            continue
        candidate = best[: capacity + 1 - w] + v
        better = candidate > best[w:] + 1e-12
        take[i, w:] = better
        best[w:] = np.where(better, candidate, best[w:])
    chosen, c = [], capacity
    for i in range(len(values) - 1, -1, -1):
        if take[i, c]:
            chosen.append(i)
            c -= int(weights[i])
    return sorted(chosen)


def step_to_frame_scores(step_scores, picks, n_frames: int) -> np.ndarray:
    """Holds each step's score from its pick until the next pick.

    Args:
        step_scores: [n_steps] scores.
        picks: [n_steps] increasing frame index of each step.
        n_frames: number of frames.

    Returns:
        [n_frames] float frame scores (frames before the first pick take the first score).
    """
    step_scores = np.asarray(step_scores, np.float64)
    picks = np.asarray(picks, np.int64)
    idx = np.searchsorted(picks, np.arange(n_frames), side="right") - 1
    return step_scores[np.clip(idx, 0, len(step_scores) - 1)]


def keyshot_summary(
    step_scores,
    change_points,
    n_frames: int,
    picks,
    ratio: float = 0.15,
) -> np.ndarray:
    """Binary keyshot summary of a video from its step scores.

    Args:
        step_scores: [n_steps] predicted importance per step.
        change_points: [n_segments, 2] inclusive frame bounds of each shot.
        n_frames: number of frames.
        picks: [n_steps] frame index of each step.
        ratio: summary length as a fraction of the video; capacity = floor(ratio * n_frames).

    Returns:
        bool [n_frames]: True on frames of the chosen shots.
    """
    frame_scores = step_to_frame_scores(step_scores, picks, n_frames)
    cps = np.asarray(change_points, np.int64)
    lengths = cps[:, 1] - cps[:, 0] + 1
    shot_values = np.array([frame_scores[a : b + 1].mean() for a, b in cps])
    chosen = knapsack(shot_values, lengths, math.floor(ratio * n_frames))
    summary = np.zeros(n_frames, bool)
    for i in chosen:
        summary[cps[i, 0] : cps[i, 1] + 1] = True
    return summary


def f1_score(summary, user_summary, mode: str) -> float:
    """F1 of a binary summary against every user summary, combined over users.

    Args:
        summary: [n_frames] bool predicted summary.
        user_summary: [U, n_frames] binary user summaries.
        mode: ``"avg"`` (TVSum: mean over users) or ``"max"`` (SumMe: best user).

    Returns:
        F1 as a fraction in [0, 1]. A user with an empty overlap contributes 0.
    """
    if mode not in ("avg", "max"):
        raise ValueError(f"f1_score mode must be 'avg' or 'max', not {mode!r}")
    pred = np.asarray(summary, bool)
    users = np.asarray(user_summary) > 0
    if users.ndim != 2 or users.shape[1] != pred.shape[0]:
        raise ValueError(f"user_summary must be [U, {pred.shape[0]}], got {users.shape}")
    overlap = (users & pred[None]).sum(axis=1).astype(np.float64)
    precision = overlap / max(pred.sum(), 1)
    recall = overlap / np.maximum(users.sum(axis=1), 1)
    denom = precision + recall
    f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    return float(f1.mean() if mode == "avg" else f1.max())


def rank_correlation(frame_scores, user_scores) -> tuple[float, float]:
    """Otani et al. (2019) rank correlation against each annotator, averaged over them.

    Kendall's tau is ``kendalltau(rankdata(-pred), rankdata(-user))`` (tau-b, ties
    averaged), Spearman's rho is ``spearmanr(pred, user)``. An annotator (or a prediction)
    that is constant has no defined correlation; it counts as 0 rather than NaN.

    Args:
        frame_scores: [n_frames] predicted scores.
        user_scores: [U, n_frames] each annotator's frame scores.

    Returns:
        (tau, rho), each averaged over annotators.
    """
    pred = np.asarray(frame_scores, np.float64)
    users = np.asarray(user_scores, np.float64)
    if users.ndim != 2 or users.shape[1] != pred.shape[0]:
        raise ValueError(f"user_scores must be [U, {pred.shape[0]}], got {users.shape}")
    taus, rhos = [], []
    pred_rank = stats.rankdata(-pred)
    for user in users:
        if np.ptp(user) == 0 or np.ptp(pred) == 0:
            taus.append(0.0)
            rhos.append(0.0)
            continue
        taus.append(stats.kendalltau(pred_rank, stats.rankdata(-user))[0])
        rhos.append(stats.spearmanr(pred, user)[0])
    return float(np.mean(taus)), float(np.mean(rhos))


def evaluate_video(step_scores, video, mode: str, ratio: float = 0.15) -> dict[str, float]:
    """F1 and rank correlations of one video's step scores.

    Args:
        step_scores: [n_steps] predicted scores.
        video: a ``csum.data.Video`` (needs change_points, n_frames, picks, user_summary and
            optionally user_scores; without user_scores the user summaries are used as each
            annotator's frame scores, as for SumMe).
        mode: F1 combination over users, ``"avg"`` or ``"max"``.
        ratio: summary length ratio.

    Returns:
        ``{"f1", "kendall_tau", "spearman_rho"}`` as fractions.
    """
    summary = keyshot_summary(step_scores, video.change_points, video.n_frames, video.picks, ratio)
    f1 = f1_score(summary, video.user_summary, mode)
    users = video.user_scores if video.user_scores is not None else video.user_summary
    frame_scores = step_to_frame_scores(step_scores, video.picks, video.n_frames)
    tau, rho = rank_correlation(frame_scores, users)
    return {"f1": f1, "kendall_tau": tau, "spearman_rho": rho}


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    """Key-wise mean of metric dicts (over videos, or over folds)."""
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
