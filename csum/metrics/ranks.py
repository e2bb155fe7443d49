"""Rank statistics of one score vector against several at once (NumPy/SciPy only).

The Otani et al. protocol (``csum.metrics.evaluation.rank_correlation``) correlates a prediction
with each of a video's annotators. SciPy's ``kendalltau`` and ``spearmanr`` score one pair
per call, and their per-call overhead, not their arithmetic, was most of an evaluation's
time; these score every annotator in one pass and agree with SciPy to float rounding.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's values as codes 0..D-1 in ascending order (equal values, equal code).

    Args:
        values: [U, n] float.

    Returns:
        ([U, n] int64 codes, D: the largest number of distinct values in a row).
    """
    order = np.argsort(values, axis=1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=1)
    new = np.concatenate([np.zeros((len(values), 1), bool), np.diff(ranked, axis=1) > 0], 1)
    codes = np.empty_like(order)
    np.put_along_axis(codes, order, np.cumsum(new, axis=1), axis=1)
    return codes, int(codes.max()) + 1


_CONTINGENCY_MAX = 1 << 23
"""Largest [U, distinct x, distinct y] count table ``kendall_tau_b`` builds (64 MiB of int64);
past it, each annotator goes through ``scipy.stats.kendalltau``."""


def kendall_tau_b(x, ys) -> np.ndarray:
    """Kendall's tau-b of one ranking against each of several, exactly as SciPy counts it.

    With ``C`` the table of how many frames have each (x value, y value) pair,
    concordant pairs are ``P = sum C[i, j] C[i', j']`` over ``i < i', j < j'`` and
    discordant ones ``Q`` the same over ``i < i', j > j'`` (two cumulative sums of ``C``);
    ``tau_b = (P - Q) / sqrt((n0 - n1)(n0 - n2))`` with ``n0 = n(n-1)/2`` and ``n1, n2``
    the pairs tied in x and in y. The counts are integers, so this agrees with
    ``scipy.stats.kendalltau`` to float rounding; a table too large for memory falls back
    to it.

    Args:
        x: [n] values (not constant).
        ys: [U, n] values, no row constant.

    Returns:
        [U] tau-b of ``x`` against each row of ``ys``.
    """
    x, ys = np.asarray(x, np.float64), np.asarray(ys, np.float64)
    gx, nx = _dense_codes(x[None])
    gy, ny = _dense_codes(ys)
    u = len(ys)
    if u * nx * ny > _CONTINGENCY_MAX:
        return np.array([stats.kendalltau(x, y)[0] for y in ys])
    flat = (np.arange(u)[:, None] * nx + gx) * ny + gy
    table = np.bincount(flat.ravel(), minlength=u * nx * ny).reshape(u, nx, ny)
    # later[u, i, j]: frames with x code > i, any y; split by y code below / above j.
    after_x = np.cumsum(table[:, ::-1], axis=1)[:, ::-1] - table  # x code > i, y code j
    above = np.cumsum(after_x[:, :, ::-1], axis=2)[:, :, ::-1] - after_x  # y code > j
    below = np.cumsum(after_x, axis=2) - after_x  # y code < j
    concordant = (table * above).sum(axis=(1, 2))
    discordant = (table * below).sum(axis=(1, 2))
    n = x.shape[0]
    pairs = n * (n - 1) // 2
    tied_x = (table.sum(axis=2) * (table.sum(axis=2) - 1) // 2).sum(axis=1)
    tied_y = (table.sum(axis=1) * (table.sum(axis=1) - 1) // 2).sum(axis=1)
    return (concordant - discordant) / np.sqrt((pairs - tied_x) * (pairs - tied_y))


def spearman_rho(x, ys) -> np.ndarray:
    """Spearman's rho of one score vector against each of several: Pearson's correlation
    of their average ranks, as ``scipy.stats.spearmanr``.

    Args:
        x: [n] values (not constant).
        ys: [U, n] values, no row constant.

    Returns:
        [U] rho of ``x`` against each row of ``ys``.
    """
    rx = stats.rankdata(np.asarray(x, np.float64))
    ry = stats.rankdata(np.asarray(ys, np.float64), axis=1)
    rx, ry = rx - rx.mean(), ry - ry.mean(axis=1, keepdims=True)
    return (ry @ rx) / np.sqrt((rx @ rx) * (ry * ry).sum(axis=1))
