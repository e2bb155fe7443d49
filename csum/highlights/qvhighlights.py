"""QVHighlights evaluation: moment retrieval and query-based highlight detection.

The standard protocol of the benchmark (Lei et al., NeurIPS 2021), written from its rules:

* **Moment retrieval.** Per query, the first 10 predicted windows (in the submission's
  order) are scored by ActivityNet detection AP (``metrics.detection_ap``) at tIoU
  0.5:0.05:0.95; MR-mAP is the mean over queries, per threshold and averaged over them.
  R1@t: the first predicted window's tIoU with the ground-truth window it overlaps most
  reaches t. Both are also reported by moment length (ground-truth windows of length in
  (0, 10] s "short", (10, 30] "middle", (30, 150] "long"; a query enters a length class
  with only its windows of that class, and only if it has one).
* **Highlight detection.** A video has ``int(duration / 2)`` 2-second clips; clips that no
  annotator marked score 0 for all three annotators. For a minimum saliency m (Fair 2,
  Good 3, VeryGood 4) a clip is positive for an annotator whose score reaches m.
  HL-mAP: ``metrics.ranking_ap`` of the predicted saliency per (query, annotator), the
  predictions cut or zero-padded to the clip count, averaged. HL-Hit@1: the top-scored
  clip (first on ties) is positive for at least one annotator.

Every number is reported as a percentage rounded to two decimals, in the nested layout of
the published metrics files (``evaluate``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from csum.highlights.metrics import detection_ap, ranking_ap, temporal_iou

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
LENGTH_RANGES = {"short": (0, 10), "middle": (10, 30), "long": (30, 150), "full": None}
"""Moment length classes, (min, max] in seconds; ``full`` keeps every query unchanged."""
SALIENCY_LEVELS = {"Fair": 2, "Good": 3, "VeryGood": 4}
CLIP_SECONDS = 2
MAX_PRED_WINDOWS = 10


class SubmissionError(ValueError):
    """A submission or ground-truth file that cannot be evaluated (one line)."""


def read_jsonl(path) -> list[dict]:
    """Reads a jsonl file (gzip when the name ends in .gz); one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise SubmissionError(f"{path}: line {n} is not JSON ({e.msg})") from None
    if not rows:
        raise SubmissionError(f"{path}: no entries")
    return rows


def _require(rows: Sequence[dict], keys: Sequence[str], what: str) -> None:
    for row in rows:
        missing = [k for k in keys if k not in row]
        if missing:
            raise SubmissionError(
                f"{what}: qid {row.get('qid')!r} has no key "
                f"{missing[0]!r} (expected {', '.join(keys)})"
            )


def _pct(value) -> float:
    return float(f"{100 * value:.2f}")


def in_length_range(submission: list[dict], gt: list[dict], name: str):
    """The queries of a length class, each with only its ground-truth windows of it."""
    bounds = LENGTH_RANGES[name]
    if bounds is None:
        return submission, gt
    low, high = bounds
    kept = []
    for row in gt:
        windows = [w for w in row["relevant_windows"] if low < w[1] - w[0] <= high]
        if windows:
            kept.append({**row, "relevant_windows": windows})
    qids = {row["qid"] for row in kept}
    return [row for row in submission if row["qid"] in qids], kept


def moment_map(submission: list[dict], gt: list[dict]) -> dict[str, float]:
    """MR-mAP per tIoU threshold and ``average`` (percent)."""
    windows = {row["qid"]: row["relevant_windows"] for row in gt}
    aps = []
    for row in submission:
        pred = np.asarray(row["pred_relevant_windows"][:MAX_PRED_WINDOWS], np.float64)
        pred = pred.reshape(-1, 3) if pred.size else np.zeros((0, 3))
        aps.append(detection_ap(windows[row["qid"]], pred[:, :2], pred[:, 2], IOU_THRESHOLDS))
    per_threshold = np.mean(aps, axis=0)
    out = {str(t): _pct(v) for t, v in zip(IOU_THRESHOLDS, per_threshold, strict=True)}
    out["average"] = _pct(np.mean(per_threshold))
    return out


def moment_recall_at_1(submission: list[dict], gt: list[dict]) -> dict[str, float]:
    """MR-R1 per tIoU threshold (percent): the first predicted window against the
    ground-truth window it overlaps most."""
    windows = {row["qid"]: row["relevant_windows"] for row in gt}
    ious = []
    for row in submission:
        first = np.asarray(row["pred_relevant_windows"][0][:2], np.float64)
        ious.append(float(temporal_iou(first, windows[row["qid"]]).max()))
    ious = np.asarray(ious)
    return {str(t): _pct(np.mean(ious >= t)) for t in IOU_THRESHOLDS}


def clip_labels(row: dict) -> np.ndarray:
    """[int(duration / 2), 3] annotator saliency per 2-second clip (0 where unmarked)."""
    labels = np.zeros((int(row["duration"] / CLIP_SECONDS), 3))
    ids = np.asarray(row["relevant_clip_ids"], np.int64)
    if len(ids):
        if ids.max() >= len(labels) or ids.min() < 0:
            raise SubmissionError(
                f"ground truth: qid {row['qid']!r} has relevant clip "
                f"{int(ids.max())} beyond its {len(labels)} clips"
            )
        labels[ids] = np.asarray(row["saliency_scores"], np.float64).reshape(len(ids), -1)
    return labels


def highlight_metrics(submission: list[dict], gt: list[dict]) -> dict[str, dict[str, float]]:
    """HL-mAP and HL-Hit1 at each minimum saliency (percent)."""
    labels = {row["qid"]: clip_labels(row) for row in gt}
    out = {}
    for name, level in SALIENCY_LEVELS.items():
        aps, hits = [], []
        for row in submission:
            positive = labels[row["qid"]] >= level  # [n_clips, 3]
            scores = np.asarray(row["pred_saliency_scores"], np.float64)
            top = int(np.argmax(scores)) if len(scores) else len(positive)
            hits.append(float(positive[top].any()) if top < len(positive) else 0.0)
            fitted = np.zeros(len(positive))
            n = min(len(scores), len(positive))
            fitted[:n] = scores[:n]
            aps.extend(ranking_ap(positive[:, a], fitted) for a in range(positive.shape[1]))
        out[f"HL-min-{name}"] = {"HL-mAP": _pct(np.mean(aps)), "HL-Hit1": _pct(np.mean(hits))}
    return out


def evaluate(submission: list[dict], gt: list[dict]) -> dict:
    """Every QVHighlights metric of a submission, in the published nested layout.

    Args:
        submission: rows with ``qid`` and ``pred_relevant_windows`` ([[start, end,
            score], ...]) and/or ``pred_saliency_scores`` (one per 2-second clip).
        gt: rows with ``qid``, ``duration``, ``relevant_windows``, ``relevant_clip_ids``
            and ``saliency_scores`` ([n_relevant, 3], 0..4).

    Returns:
        ``{"brief": {...}, "HL-min-Fair": ..., "full": {"MR-mAP": ..., "MR-R1": ...},
        "long": ..., "middle": ..., "short": ...}`` (only the parts the submission has).

    Raises:
        SubmissionError: the query ids differ, or a needed key is missing.
    """
    pred_ids, gt_ids = {r.get("qid") for r in submission}, {r.get("qid") for r in gt}
    if pred_ids != gt_ids:
        extra, missing = sorted(pred_ids - gt_ids, key=str), sorted(gt_ids - pred_ids, key=str)
        raise SubmissionError(
            f"the submission's query ids differ from the ground truth's "
            f"({len(missing)} missing, e.g. {missing[:1]}; {len(extra)} "
            f"unknown, e.g. {extra[:1]})"
        )
    metrics, brief = {}, {}
    if "pred_relevant_windows" in submission[0]:
        _require(submission, ("pred_relevant_windows",), "submission")
        _require(gt, ("relevant_windows",), "ground truth")
        empty = next((r["qid"] for r in submission if not r["pred_relevant_windows"]), None)
        if empty is not None:
            raise SubmissionError(f"submission: qid {empty!r} has no predicted window")
        for name in LENGTH_RANGES:
            sub, ref = in_length_range(submission, gt, name)
            metrics[name] = {"MR-mAP": moment_map(sub, ref), "MR-R1": moment_recall_at_1(sub, ref)}
        brief.update(
            {
                "MR-full-R1@0.5": metrics["full"]["MR-R1"]["0.5"],
                "MR-full-R1@0.7": metrics["full"]["MR-R1"]["0.7"],
                "MR-full-mAP": metrics["full"]["MR-mAP"]["average"],
                "MR-full-mAP@0.5": metrics["full"]["MR-mAP"]["0.5"],
                "MR-full-mAP@0.75": metrics["full"]["MR-mAP"]["0.75"],
                "MR-long-mAP": metrics["long"]["MR-mAP"]["average"],
                "MR-middle-mAP": metrics["middle"]["MR-mAP"]["average"],
                "MR-short-mAP": metrics["short"]["MR-mAP"]["average"],
            }
        )
    if "pred_saliency_scores" in submission[0]:
        _require(submission, ("pred_saliency_scores",), "submission")
        _require(gt, ("duration", "relevant_clip_ids", "saliency_scores"), "ground truth")
        highlights = highlight_metrics(submission, gt)
        metrics.update(highlights)
        for name, values in highlights.items():
            brief.update({f"{name}-{key.split('-')[1]}": v for key, v in values.items()})
    if not brief:
        raise SubmissionError(
            "submission: rows have neither pred_relevant_windows nor pred_saliency_scores"
        )
    return {"brief": brief, **dict(sorted(metrics.items()))}
