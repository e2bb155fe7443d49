"""Highlight and moment metrics: hand-computed answers, ties, empty label sets, and the
published QVHighlights metrics file reproduced number for number."""

import json
from pathlib import Path

import numpy as np
import pytest

from csum.highlights.metrics import (
    detection_ap,
    lower_median,
    ranking_ap,
    temporal_iou,
    trapezoid_ap,
    tvsum_top5_ap,
)
from csum.highlights.qvhighlights import SubmissionError, evaluate, read_jsonl
from experiments.evaluate import main

QVH = Path(__file__).parent / "data" / "qvhighlights"


def test_temporal_iou_by_hand():
    iou = temporal_iou([[0, 10], [20, 30]], [[5, 15], [30, 40], [0, 10]])
    np.testing.assert_allclose(iou, [[5 / 15, 0, 1], [0, 0, 0]])


def test_ranking_ap_by_hand():
    # Ranked labels 1 0 1 0: recall 1/2 at precision 1, recall 1 at precision 2/3.
    assert ranking_ap([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
    # A tie enters as one group: {clip 0, clip 1} gives recall 1/2 at precision 1/2, then
    # recall 1 at 2/3; interpolation lifts the first level to 2/3.
    assert ranking_ap([1, 0, 1], [0.5, 0.5, 0.2]) == pytest.approx(2 / 3)
    assert ranking_ap([0, 0, 0], [3, 2, 1]) == 0.0
    assert ranking_ap([1, 1], [0, 5]) == 1.0
    # Order-invariant: permuting clips together with their scores changes nothing.
    rng = np.random.default_rng(0)
    y, s = rng.random(50) > 0.7, rng.random(50)
    p = rng.permutation(50)
    assert ranking_ap(y, s) == pytest.approx(ranking_ap(y[p], s[p]))


def test_trapezoid_ap_by_hand():
    # Points (0, 1) (1/2, 1) (1/2, 1/2) (1, 2/3) (1, 1/2): area 1/2 + (1/2)(1/2 + 2/3)/2.
    assert trapezoid_ap([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 7 / 24)
    assert trapezoid_ap([0, 0], [0.9, 0.1]) == 0.0
    assert trapezoid_ap([1, 1, 0], [3, 2, 1]) == pytest.approx(1.0)
    # Top 2 of (1, 0, 1, 0): one positive among them, found first: AP 1.
    assert trapezoid_ap([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], top=2) == pytest.approx(1.0)
    # Ties keep the clip order: the later positive of a tie ranks second.
    assert trapezoid_ap([0, 1], [0.5, 0.5]) == trapezoid_ap([0, 1], [0.9, 0.1])


def test_trapezoid_ap_of_a_negative_first_pair():
    # Ranked 0 then 1: the first point is (0, 0), area 0; the second (1, 1/2): (1)(0 + 1/2)/2.
    assert trapezoid_ap([0, 1], [0.9, 0.1]) == pytest.approx(0.25)


def test_tvsum_top5_uses_each_annotators_lower_median():
    assert lower_median([1, 2, 3, 4]) == 2 and lower_median([3, 1, 2]) == 2
    annotations = np.array([[1, 5], [2, 4], [3, 3], [4, 2], [5, 1], [6, 1]], np.float64)
    scores = np.arange(6.0)  # ranks clip 5 first
    ap = tvsum_top5_ap(annotations, scores)
    # Annotator 0: labels > 3 are clips 3, 4, 5 = the three best-ranked: AP 1.
    # Annotator 1: labels > 2 (lower median of 1,1,2,3,4,5) are clips 0, 1, 2; among the
    # top 5 (clips 5..1) only clips 2, 1 at ranks 4, 5: points (0,0)(0,0)(0,0)(1/2,1/4)(1,2/5).
    want1 = 0.5 * (0 + 0.25) / 2 + 0.5 * (0.25 + 0.4) / 2
    np.testing.assert_allclose(ap, [1.0, want1])


def test_detection_ap_by_hand():
    gt = [[0, 10], [20, 30]]
    # Perfect predictions in any score order: AP 1 at every threshold.
    np.testing.assert_allclose(detection_ap(gt, [[20, 30], [0, 10]], [0.2, 0.9], [0.5, 0.9]), 1)
    # A false positive first, then one hit of two ground truths: precision 1/2 at recall
    # 1/2, area 1/4.
    ap = detection_ap(gt, [[40, 50], [0, 10]], [0.9, 0.8], [0.5])
    np.testing.assert_allclose(ap, [0.25])
    # Two predictions on the same ground truth: the second is a false positive.
    ap = detection_ap([[0, 10]], [[0, 10], [0, 9]], [0.9, 0.8], [0.5])
    np.testing.assert_allclose(ap, [1.0])
    # tIoU 5/15 reaches 0.3, not 0.5.
    np.testing.assert_allclose(detection_ap([[0, 10]], [[5, 15]], [1.0], [0.3, 0.5]), [1, 0])
    assert not detection_ap([], [[0, 1]], [1.0], [0.5]).any()
    assert not detection_ap([[0, 1]], np.zeros((0, 2)), [], [0.5]).any()


def test_published_qvhighlights_metrics_are_reproduced_exactly(tmp_path, capsys):
    out = tmp_path / "m.json"
    code = main(
        [
            f"--submission={QVH / 'sample_val_preds.jsonl.gz'}",
            f"--gt={QVH / 'highlight_val_release.jsonl.gz'}",
            f"--out={out}",
        ]
    )
    assert code == 0
    got = json.loads(out.read_text())
    want = json.loads((QVH / "sample_val_preds_metrics_raw.json").read_text())
    assert got == want  # every number, every key
    assert list(got) == list(want) and list(got["brief"]) == list(want["brief"])
    assert "MR-full-mAP            32.20" in capsys.readouterr().out


def _gt(qid=1):
    return {
        "qid": qid,
        "duration": 10,
        "relevant_windows": [[2, 6]],
        "relevant_clip_ids": [1, 2],
        "saliency_scores": [[4, 3, 2], [1, 1, 1]],
    }


def test_highlight_metrics_by_hand():
    # 5 clips; clip 1 scores (4, 3, 2), clip 2 (1, 1, 1); the rest 0.
    sub = [{"qid": 1, "pred_saliency_scores": [0, 9, 1, 0, 0]}]
    m = evaluate(sub, [_gt()])
    assert m["HL-min-Fair"] == {"HL-mAP": 100.0, "HL-Hit1": 100.0}
    # VeryGood: only annotator 0 has a positive (clip 1, ranked first): AP 1, 0, 0.
    assert m["HL-min-VeryGood"] == {"HL-mAP": 33.33, "HL-Hit1": 100.0}
    # Scores shorter than the video are zero-padded; longer ones are cut.
    short = evaluate([{"qid": 1, "pred_saliency_scores": [0, 9]}], [_gt()])
    assert short["HL-min-Fair"]["HL-Hit1"] == 100.0
    late = evaluate([{"qid": 1, "pred_saliency_scores": [0, 0, 0, 0, 0, 9]}], [_gt()])
    assert late["HL-min-Fair"]["HL-Hit1"] == 0.0  # the top clip is past the video's end


def test_bad_submissions_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SubmissionError, match="query ids differ"):
        evaluate([{"qid": 2, "pred_saliency_scores": [1]}], [_gt()])
    with pytest.raises(SubmissionError, match="no key 'pred_saliency_scores'"):
        evaluate([{"qid": 1, "pred_saliency_scores": [1]}, {"qid": 2}], [_gt(), _gt(2)])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qid": 1}\nnot json\n')
    with pytest.raises(SubmissionError, match="line 2 is not JSON"):
        read_jsonl(bad)
    assert main([f"--submission={bad}", f"--gt={bad}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_tvsum_clip_scores_average_each_clips_frames():
    from csum.data.annotations import Annotation
    from csum.highlights.tvsum import clip_scores, human_top5_ap

    # 2.5 fps: 5 frames per 2-second clip; 12 frames = clips of 5, 5 and 2 frames.
    frames = np.array([[1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 5, 5]] * 2, np.float64)
    frames[1] *= 2
    got = clip_scores(Annotation("v", "VT", frames, fps=2.5))
    np.testing.assert_allclose(got, [[1, 2], [12 / 5, 24 / 5], [5, 10]])
    # Two annotators who agree on the order: each ranks the other's highlights first.
    scores = np.array([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]], np.float64)
    np.testing.assert_allclose(human_top5_ap(scores), [1.0, 1.0])


def test_highlight_baselines_command(tmp_path, capsys):
    from experiments.highlight_baselines import main as baselines_main

    assert baselines_main(["--draws=2", f"--out={tmp_path}"]) == 0
    result = json.loads((tmp_path / "highlights_tvsum_baselines.json").read_text())
    assert set(result["per_category"]) == {
        "VT",
        "VU",
        "GA",
        "MS",
        "PK",
        "PR",
        "FM",
        "BK",
        "BT",
        "DS",
    }
    mean = result["mean"]
    assert mean["human_all"] > mean["random_all"] + 0.2  # people agree; chance does not
    assert "| mean |" in capsys.readouterr().out
    assert baselines_main(["--draws=0", f"--out={tmp_path}"]) == 2


def test_evaluate_without_out_writes_nothing(tmp_path, capsys):
    import shutil

    for name in ("sample_val_preds.jsonl.gz", "highlight_val_release.jsonl.gz"):
        shutil.copy(QVH / name, tmp_path / name)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert (
        main(
            [
                f"--submission={tmp_path / 'sample_val_preds.jsonl.gz'}",
                f"--gt={tmp_path / 'highlight_val_release.jsonl.gz'}",
            ]
        )
        == 0
    )
    assert "MR-full-mAP            32.20" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == before
