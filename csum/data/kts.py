"""Kernel temporal segmentation (KTS, Potapov et al., ECCV 2014) of step features into shots.

The eccv16 datasets cut every video into shots with KTS's ``cpd_auto``: among all
segmentations of the step sequence into m + 1 contiguous segments, the one with the least
within-segment kernel scatter, with m chosen by

    m* = argmin_m  S_m / N + vmax * m / (2 N) * (log(N / m) + 1),        (cpd_auto penalty)

where S_m is the least total scatter with m change points, N the number of steps, and the
scatter of a segment s is ``sum_t k(x_t, x_t) - (1/|s|) sum_{t, u in s} k(x_t, x_u)``.

The segmentation for the chosen m comes from ``ruptures.KernelCPD`` (linear kernel, the
same scatter cost, an exact dynamic programme in C). ruptures has no call that returns S_m
for every m, which the penalty needs, so ``segment_costs`` computes that table here, with
the same dynamic programme vectorised over segment ends, and stops as soon as the penalty
alone exceeds the best criterion found (S_m >= 0, and the penalty grows with m).
"""

from __future__ import annotations

import math

import numpy as np
import ruptures

SAMPLE_RATE = 15
"""Frames per step of the eccv16 files (30 fps video at 2 fps)."""


def scatter_matrix(x: np.ndarray) -> np.ndarray:
    """Within-segment scatter of every segment under the linear kernel.

    Args:
        x: [N, D] step features.

    Returns:
        [N + 1, N + 1] float64 ``J`` with ``J[a, b]`` the scatter of steps ``a .. b - 1``
        for ``a < b`` and ``inf`` elsewhere (so that ``J[a, b]`` is "a segment from ``a`` to
        the change point ``b``").
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, 0)])  # [N+1, D]
    sq = np.concatenate([[0.0], np.cumsum((x * x).sum(1))])  # [N+1]
    gram = csum @ csum.T
    norms = np.diag(gram)
    # ||csum[b] - csum[a]||^2 = ||sum of the segment||^2 = sum_{t,u} k(x_t, x_u).
    block = norms[None, :] + norms[:, None] - 2.0 * gram
    length = np.arange(n + 1)[None, :] - np.arange(n + 1)[:, None]
    valid = length > 0
    scatter = sq[None, :] - sq[:, None] - block / np.where(valid, length, 1)
    # Rounding can leave a one-step segment at -1e-13; a scatter is never negative.
    return np.where(valid, np.maximum(scatter, 0.0), np.inf)


def penalty(m: np.ndarray | int, n: int, vmax: float = 1.0) -> np.ndarray:
    """cpd_auto's penalty of m change points in a sequence of n steps (0 for m = 0)."""
    m = np.asarray(m, np.float64)
    safe = np.maximum(m, 1.0)
    return np.where(m > 0, vmax * safe / (2.0 * n) * (np.log(n / safe) + 1.0), 0.0)


def segment_costs(x: np.ndarray, max_cp: int, vmax: float = 1.0) -> np.ndarray:
    """S_m, the least total scatter with m change points, for m = 0 .. max_cp.

    Entries beyond the point where the penalty alone exceeds the best criterion found are
    ``inf``: no such m can be chosen by cpd_auto.

    Args:
        x: [N, D] step features.
        max_cp: largest number of change points considered (at most N - 1).
        vmax: cpd_auto's penalty weight (only used for the early stop).

    Returns:
        [max_cp + 1] float64 costs.
    """
    n = x.shape[0]
    max_cp = min(int(max_cp), n - 1)
    scatter = scatter_matrix(x)
    costs = np.full(max_cp + 1, np.inf)
    best = scatter[0].copy()  # best[b]: least cost of steps 0 .. b - 1 with k change points
    costs[0] = best[n]
    criterion = costs[0] / n
    for k in range(1, max_cp + 1):
        if penalty(k, n, vmax) >= criterion:
            break
        # A segmentation of 0 .. b - 1 with k change points ends in a segment a .. b - 1.
        best = np.min(best[:, None] + scatter, axis=0)
        costs[k] = best[n]
        criterion = min(criterion, costs[k] / n + float(penalty(k, n, vmax)))
    return costs


def cpd_auto(x: np.ndarray, max_cp: int | None = None, vmax: float = 1.0) -> np.ndarray:
    """Change points of a step sequence with the number chosen by cpd_auto's penalty.

    Args:
        x: [N, D] step features (normalise them first; see ``kts_change_points``).
        max_cp: most change points considered; default N - 1 (no cap, as DSNet's tools).
        vmax: penalty weight; 1 in every eccv16-style dataset tool.

    Returns:
        Sorted int array of the first step of every segment but the first (length m*).
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    if n < 2:
        return np.zeros(0, np.int64)
    max_cp = n - 1 if max_cp is None else max_cp
    costs = segment_costs(x, max_cp, vmax)
    m = int(np.argmin(costs / n + penalty(np.arange(len(costs)), n, vmax)))
    if m == 0:
        return np.zeros(0, np.int64)
    algo = ruptures.KernelCPD(kernel="linear", min_size=1, jump=1).fit(x)
    return np.asarray(algo.predict(n_bkps=m)[:-1], np.int64)


def kts_change_points(
    features: np.ndarray,
    n_frames: int,
    *,
    sample_rate: int = SAMPLE_RATE,
    max_cp: int | None = None,
    vmax: float = 1.0,
    normalize: bool = True,
) -> np.ndarray:
    """Shots of a video, in frames, from its step features (the eccv16 ``change_points``).

    Step ``i`` is frame ``i * sample_rate``; a change point at step ``c`` starts a shot at
    frame ``c * sample_rate``; the last shot ends on the last frame.

    Args:
        features: [n_steps, D] step features.
        n_frames: frames of the video.
        sample_rate: frames per step.
        max_cp: see ``cpd_auto``.
        vmax: see ``cpd_auto``.
        normalize: L2-normalise each step first, so the penalty (calibrated for unit-norm
            descriptors) means the same for every feature extractor.

    Returns:
        [n_shots, 2] int64 inclusive frame bounds.
    """
    x = np.asarray(features, np.float64)
    if normalize:
        x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-10)
    starts = cpd_auto(x, max_cp, vmax) * sample_rate
    starts = starts[starts < n_frames]
    bounds = np.concatenate([[0], starts, [n_frames]]).astype(np.int64)
    return np.stack([bounds[:-1], bounds[1:] - 1], axis=1)


def uniform_shots(n_frames: int, length: int) -> np.ndarray:
    """[n_shots, 2] inclusive frame bounds of consecutive shots of ``length`` frames.

    The last shot takes the remainder (merged into the previous one when shorter than half
    a shot), so every frame belongs to exactly one shot.
    """
    length = max(1, int(length))
    n_shots = max(1, math.floor(n_frames / length + 0.5))
    starts = np.arange(n_shots, dtype=np.int64) * length
    ends = np.append(starts[1:] - 1, n_frames - 1)
    return np.stack([starts, ends], axis=1)
