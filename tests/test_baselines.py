"""Human and random baselines: hand-computed cases and the published figures."""

import json

import numpy as np
import pytest

from csum.data.records import Video
from csum.metrics.evaluation import VARIANTS
from csum.summarization import baselines


def _three_users():
    # A and B select the first half, C the second.
    users = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]], float)
    return Video("v", (), 4, np.arange(4), np.array([[0, 1], [2, 3]]), users)


def test_human_leave_one_out_hand_computed():
    v = _three_users()
    # avg: A against {B, C} = (1 + 0) / 2, B the same, C against {A, B} = 0.
    avg = baselines.human_video(v, "avg")
    assert avg["f1"] == pytest.approx(1 / 3)
    assert baselines.human_video(v, "max")["f1"] == pytest.approx(2 / 3)
    # Correlations of the selections: (A, B) = 1, (A, C) = (B, C) = -1; mean -1/3.
    assert avg["kendall_tau"] == pytest.approx(-1 / 3)
    assert avg["spearman_rho"] == pytest.approx(-1 / 3)
    assert baselines.human_video(v, "avg", VARIANTS["f1_max"])["f1"] == pytest.approx(2 / 3)
    # MSVA: A against the others' mean [.5, .5, .5, .5] is constant -> 0; C against [1,1,0,0].
    msva = baselines.human_video(v, "avg", VARIANTS["msva_correlation"])
    assert msva["kendall_tau"] == pytest.approx(-1 / 3)


def test_random_baseline_is_seeded():
    v = _three_users()
    a = baselines.random_baseline([v], "avg", 0.5, seeds=4)
    assert a == baselines.random_baseline([v], "avg", 0.5, seeds=4)
    assert a != baselines.random_baseline([v], "avg", 0.5, seeds=4, base_seed=1)
    assert set(a) == {"mean", "std"} and all(s >= 0 for s in a["std"].values())


def test_tvsum_human_correlation_is_otanis():
    # Otani et al. (CVPR 2019), Table 1, human on TVSum: tau 0.177, rho 0.204.
    human = baselines.human_baseline(baselines.annotation_videos("tvsum"), "avg")
    assert human["kendall_tau"] == pytest.approx(0.177, abs=5e-4)
    assert human["spearman_rho"] == pytest.approx(0.204, abs=5e-4)


def test_summe_human_f1_matches_the_literature():
    # Human F1 on SumMe: 54.0 with max over users (Otani et al.), 31.1 with mean (Gygli).
    videos = baselines.annotation_videos("summe")
    assert baselines.human_baseline(videos, "max")["f1"] == pytest.approx(0.54, abs=0.005)
    assert baselines.human_baseline(videos, "avg")["f1"] == pytest.approx(0.311, abs=0.001)


def test_cli_prints_named_rows(tmp_path, capsys, check_human_row):
    out = tmp_path / "b.json"
    assert baselines.main(["--dataset", "summe", "--seeds", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "uniform 2-second shots" in text
    check_human_row(text)
    rows = json.loads(out.read_text())["rows"]
    assert rows[0]["protocol"] == "standard" and rows[0]["random"]["std"]["f1"] > 0
    assert baselines.main(["--dataset", "summe", "--protocol", "bogus"]) == 2
    assert "unknown evaluation protocol variant 'bogus'" in capsys.readouterr().err


def test_variable_shots_tile_the_video():
    rng = np.random.default_rng(0)
    shots = baselines.variable_shots(5000, 90.0, rng)
    assert shots[0, 0] == 0 and shots[-1, 1] == 4999
    np.testing.assert_array_equal(shots[1:, 0], shots[:-1, 1] + 1)
    lengths = shots[:, 1] - shots[:, 0] + 1
    assert lengths[:-1].min() >= 15 and lengths.max() <= 900
    assert 50 < np.median(lengths) < 160
    with pytest.raises(ValueError, match="shots must be"):
        baselines.annotation_videos("summe", shots="kts")


def test_variable_shots_raise_random_f1_towards_human():
    # Otani et al.: on TVSum, whose user summaries are built on the shots, KTS-like shot
    # lengths let a random summary score about the F1 of a human one; uniform shots do
    # not. (10 videos, to keep the test short.)
    gap = {}
    for shots in ("uniform", "variable"):
        videos = baselines.annotation_videos("tvsum", shots=shots)[:10]
        human = baselines.human_baseline(videos, "avg")
        gap[shots] = human["f1"] - baselines.random_baseline(videos, "avg", seeds=2)["mean"]["f1"]
    assert gap["uniform"] > 0.08 and abs(gap["variable"]) < 0.04
