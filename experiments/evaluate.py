"""Evaluate a prediction file against ground truth with a benchmark's standard protocol.

    python -m experiments.evaluate --format=qvhighlights --submission=S.jsonl --gt=GT.jsonl
        [--out=M.json]
    python -m experiments.evaluate --format=youtube --submission=S.jsonl --gt=labels.json
    python -m experiments.evaluate --format=tvsum --submission=S.jsonl --gt=labels.json

``qvhighlights``: moment retrieval (mAP over tIoU 0.5:0.05:0.95, mAP@0.5/0.75, R1@0.5/0.7,
by moment length) and highlight detection (HL-mAP and HL-Hit@1 at minimum saliency
Fair/Good/VeryGood) of a submission jsonl (``qid``, ``pred_relevant_windows``,
``pred_saliency_scores``) against QVHighlights-format ground truth
(``csum.highlights.qvhighlights``). Files may be gzipped (``.gz``). Prints the ``brief``
metrics and writes every metric, in the nested layout of the published metrics files, to
``--out`` when it is given (nothing is written without it: the submission may sit in a
folder that is not the user's, such as the repository's test data).

``youtube``: UMT's YouTube Highlights clip AP of each video's ``pred_saliency_scores``
(rows keyed by ``vid``, or ``qid``) against the ``match`` labels of a UMT label JSON
(``--gt``), mean per domain (the labels' ``domain``) and over domains. ``tvsum``: the
same with TVSum's top-5 mAP over the label JSON's ``anno`` annotator scores. A highlight
run (``experiments.run --config=youtube_*`` or ``tvsum_highlights_*``) writes such a
submission, ``predictions_{regime}.jsonl``, in its work directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from experiments.cli import make_parser, run_command

FORMATS = ("qvhighlights", "youtube", "tvsum")


def umt_clip_ap(submission: list[dict], labels: dict, kind: str = "youtube") -> dict:
    """UMT's clip protocols on a label JSON in UMT's layout, mean per domain and over
    domains (percent, two decimals): YouTube Highlights, clip AP of each video's
    ``pred_saliency_scores`` against ``match > 0`` (``csum.highlights.metrics.trapezoid_ap``);
    TVSum, top-5 mAP over the ``anno`` annotators (``tvsum_top5_ap``)."""
    import numpy as np

    from csum.highlights.metrics import trapezoid_ap, tvsum_top5_ap
    from csum.highlights.qvhighlights import SubmissionError

    field = "match" if kind == "youtube" else "anno"

    per_domain: dict[str, list[float]] = {}
    for row in submission:
        vid = row.get("vid", row.get("qid"))
        if vid not in labels:
            raise SubmissionError(f"submission: video {vid!r} is not in the label file")
        if "pred_saliency_scores" not in row:
            raise SubmissionError(f"submission: video {vid!r} has no key 'pred_saliency_scores'")
        if field not in labels[vid]:
            raise SubmissionError(f"labels: video {vid!r} has no key {field!r} ({kind} labels)")
        truth = np.asarray(labels[vid][field], np.float64)
        scores = np.asarray(row["pred_saliency_scores"], np.float64)
        n = min(len(truth), len(scores))
        ap = (
            trapezoid_ap(truth[:n] > 0, scores[:n])
            if kind == "youtube"
            else float(tvsum_top5_ap(truth[:n], scores[:n]).mean())
        )
        per_domain.setdefault(labels[vid].get("domain", ""), []).append(ap)
    means = {d: float(np.mean(v)) for d, v in per_domain.items()}
    out = {d: float(f"{100 * v:.2f}") for d, v in means.items()}
    out["Avg"] = float(f"{100 * np.mean(list(means.values())):.2f}")
    return {"brief": out}


def build_parser():
    parser = make_parser("python -m experiments.evaluate", __doc__, overrides=False)
    parser.add_argument(
        "--format", choices=FORMATS, default="qvhighlights", help="the benchmark protocol"
    )
    parser.add_argument(
        "--submission", required=True, metavar="S.jsonl", help="predictions (jsonl, optionally .gz)"
    )
    parser.add_argument(
        "--gt", required=True, metavar="GT.jsonl", help="ground truth (jsonl, optionally .gz)"
    )
    parser.add_argument(
        "--out",
        default="",
        metavar="M.json",
        help="where to write every metric as JSON (default: print the brief ones only)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:
        from csum.files import write_text
        from csum.highlights import qvhighlights

        submission = qvhighlights.read_jsonl(args.submission)
        if args.format in ("youtube", "tvsum"):
            gt = Path(args.gt)
            if not gt.is_file():
                raise qvhighlights.SubmissionError(f"{gt}: no such file")
            metrics = umt_clip_ap(submission, json.loads(gt.read_text()), args.format)
        else:
            metrics = qvhighlights.evaluate(submission, qvhighlights.read_jsonl(args.gt))
        width = max(len(k) for k in metrics["brief"])
        for key, value in metrics["brief"].items():
            print(f"{key:<{width}}  {value:6.2f}")
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            write_text(out, json.dumps(metrics, indent=4) + "\n")
            print(f"metrics: {out}")
        return 0

    return run_command(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
