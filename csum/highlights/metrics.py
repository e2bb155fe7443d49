"""Highlight detection and moment retrieval metrics. Pure numpy.

Three families, each the established protocol of its benchmark:

* ``ranking_ap``: average precision of a clip ranking against binary labels, each distinct
  recall level weighted equally with its interpolated precision (QVHighlights HL-mAP;
  the video2gif / Moment-DETR rule).
* ``trapezoid_ap``: average precision of a ranking with the trapezoidal rule, one point per
  clip (UMT's YouTube Highlights protocol; over the 5 best clips with per-annotator
  median labels, ``tvsum_top5_ap``, its TVSum protocol).
* ``detection_ap``: ActivityNet temporal detection AP of scored windows against
  ground-truth windows at a tIoU threshold (QVHighlights moment retrieval, and segment mAP
  of extracted highlights).
"""

from __future__ import annotations

import numpy as np


def temporal_iou(a, b) -> np.ndarray:
    """tIoU of every window of ``a`` with every window of ``b``.

    Args:
        a: [N, 2] (start, end).
        b: [M, 2] (start, end).

    Returns:
        [N, M] intersection over union (0 for disjoint windows).
    """
    a, b = np.asarray(a, np.float64).reshape(-1, 2), np.asarray(b, np.float64).reshape(-1, 2)
    inter = np.clip(
        np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    union = (a[:, None, 1] - a[:, None, 0]) + (b[None, :, 1] - b[None, :, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _pr_points(labels: np.ndarray, scores: np.ndarray):
    """Precision and recall at every distinct score threshold, highest threshold first.

    Tied scores enter together (one point per distinct score).
    """
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each tie group
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return tp / (tp + fp), tp / max(y.sum(), 1)


def ranking_ap(labels, scores) -> float:
    """Mean interpolated precision over the distinct recall levels of a ranking.

    For every distinct score threshold (ties enter together) that raises recall, the
    interpolated precision ``max_{r' >= r} P(r')``; AP is their unweighted mean. With
    distinct scores this is the usual non-interpolated AP up to interpolation. A list whose
    labels are all 0 scores 0, all 1 scores 1. This is QVHighlights' HL-mAP per (query,
    annotator).

    Args:
        labels: [n] binary labels.
        scores: [n] predicted scores.

    Returns:
        AP in [0, 1].
    """
    y = np.asarray(labels, np.float64) > 0
    s = np.asarray(scores, np.float64)
    if y.all() or not y.any():
        return float(y.all())
    precision, recall = _pr_points(y.astype(np.float64), s)
    # Recall is kept in float32, as the reference tooling compares recall levels in it.
    recall = recall.astype(np.float32)
    interpolated = np.maximum.accumulate(precision[::-1])[::-1]
    levels = np.r_[True, np.diff(recall) != 0] & (recall > 0)
    return float(np.mean(interpolated[levels]))


def trapezoid_ap(labels, scores, top: int | None = None) -> float:
    """Average precision of a ranking with the trapezoidal rule, one point per clip.

    Clips are ranked by decreasing score (ties: the earlier clip first). Walking down the
    ranking from (recall 0, precision 1), each clip adds the trapezoid between the
    previous point and its own (recall, precision). With ``top=k`` only the k best clips
    are kept and recall counts the positives among them (TVSum top-5 mAP). A list with no
    positive label scores 0. This is UMT's YouTube Highlights (``top=None``) and TVSum
    (``top=5``) protocol.

    Args:
        labels: [n] binary labels.
        scores: [n] predicted scores.
        top: keep the ``top`` best-scored clips only.

    Returns:
        AP in [0, 1].
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    y = (np.asarray(labels, np.float64) > 0)[order][:top].astype(np.float64)
    if not y.any():
        return 0.0
    hits = np.cumsum(y)
    recall = np.r_[0.0, hits / hits[-1]]
    precision = np.r_[1.0, hits / np.arange(1, len(y) + 1)]
    return float(np.sum((recall[1:] - recall[:-1]) * (precision[1:] + precision[:-1]) / 2))


def lower_median(x) -> float:
    """The lower of the two middle values for an even count (``sorted(x)[(n - 1) // 2]``)."""
    x = np.sort(np.asarray(x, np.float64))
    return float(x[(len(x) - 1) // 2])


def tvsum_top5_ap(annotations, scores, top: int = 5) -> np.ndarray:
    """TVSum highlight AP of one video, per annotator.

    Each annotator's clip scores are made binary by "above that annotator's (lower) median
    over the video's clips", and the predicted ranking is scored by ``trapezoid_ap`` over
    its ``top`` best clips. The benchmark number (top-5 mAP) is the mean over a
    category's test videos, then over the 20 annotators.

    Args:
        annotations: [n_clips, n_annotators] importance scores.
        scores: [n_clips] predicted scores.
        top: clips kept from the top of the ranking.

    Returns:
        [n_annotators] AP.
    """
    a = np.asarray(annotations, np.float64)
    return np.array(
        [trapezoid_ap(a[:, u] > lower_median(a[:, u]), scores, top) for u in range(a.shape[1])]
    )


def detection_ap(gt_windows, pred_windows, pred_scores, thresholds) -> np.ndarray:
    """ActivityNet temporal detection AP of one query (or video) at each tIoU threshold.

    Predictions are taken in decreasing score (ties in their given order). Each is a true
    positive at a threshold when its best-overlapping ground-truth window not yet matched
    reaches the threshold (ground truths tried in decreasing tIoU, ties by the later
    window first; a prediction whose next candidate is below the threshold is a false
    positive). AP is the area under the precision-recall curve with precision made
    monotone from the right (the ActivityNet rule).

    Args:
        gt_windows: [G, 2] ground-truth (start, end).
        pred_windows: [P, 2] predicted (start, end).
        pred_scores: [P] confidence.
        thresholds: tIoU thresholds.

    Returns:
        [len(thresholds)] AP (zeros when there is no prediction or no ground truth).
    """
    thresholds = np.asarray(thresholds, np.float64)
    gt = np.asarray(gt_windows, np.float64).reshape(-1, 2)
    pred = np.asarray(pred_windows, np.float64).reshape(-1, 2)
    ap = np.zeros(len(thresholds))
    if len(pred) == 0 or len(gt) == 0:
        return ap
    order = np.argsort(-np.asarray(pred_scores, np.float64), kind="stable")
    iou = temporal_iou(pred[order], gt)  # [P, G]
    tp = np.zeros((len(thresholds), len(pred)))
    taken = np.zeros((len(thresholds), len(gt)), bool)
    for i in range(len(pred)):
        candidates = np.lexsort((-np.arange(len(gt)), -iou[i]))  # best tIoU, later first
        for t, threshold in enumerate(thresholds):
            for g in candidates:
                if iou[i, g] < threshold:
                    break
                if not taken[t, g]:
                    taken[t, g], tp[t, i] = True, 1
                    break
    tp_c = np.cumsum(tp, axis=1)
    fp_c = np.cumsum(1 - tp, axis=1)
    recall, precision = tp_c / len(gt), tp_c / (tp_c + fp_c)
    for t in range(len(thresholds)):
        r = np.r_[0.0, recall[t], 1.0]
        p = np.r_[0.0, precision[t], 0.0]
        p = np.maximum.accumulate(p[::-1])[::-1]
        steps = np.flatnonzero(r[1:] != r[:-1]) + 1
        ap[t] = np.sum((r[steps] - r[steps - 1]) * p[steps])
    return ap
