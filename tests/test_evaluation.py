"""Known answers for the evaluation protocol."""

import numpy as np
import pytest
from scipy import stats

from csum.data.records import Video
from csum.metrics import evaluation, ranks
from csum.summarization import baselines


def test_knapsack_known_answers():
    assert evaluation.knapsack([60, 100, 120], [10, 20, 30], 50) == [1, 2]
    assert len(evaluation.knapsack([1, 1, 1], [2, 2, 2], 5)) == 2  # any two of three ties
    assert evaluation.knapsack([5, 4, 3], [4, 3, 2], 5) == [1, 2]  # 7 beats 5
    assert evaluation.knapsack([5], [6], 5) == []
    assert evaluation.knapsack([], [], 10) == []


def test_knapsack_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = 7
        v, w, cap = rng.random(n), rng.integers(1, 10, n), int(rng.integers(5, 30))
        best = max(
            (sum(v[i] for i in range(n) if m >> i & 1), m)
            for m in range(2**n)
            if sum(w[i] for i in range(n) if m >> i & 1) <= cap
        )[0]
        chosen = evaluation.knapsack(v, w, cap)
        assert sum(w[chosen]) <= cap
        np.testing.assert_allclose(sum(v[chosen]), best)


def test_step_to_frame_scores_holds_until_next_pick():
    out = evaluation.step_to_frame_scores([1.0, 2.0, 3.0], [0, 3, 5], 7)
    np.testing.assert_array_equal(out, [1, 1, 1, 2, 2, 3, 3])


def test_keyshot_summary_hand_computed():
    # 20 frames, shots [0-4], [5-9], [10-19]; capacity floor(0.5 * 20) = 10.
    cps = np.array([[0, 4], [5, 9], [10, 19]])
    picks = np.array([0, 5, 10, 15])
    summary = evaluation.keyshot_summary([0.9, 0.1, 0.5, 0.5], cps, 20, picks, ratio=0.5)
    # values 0.9 (w 5), 0.1 (w 5), 0.5 (w 10): best within 10 is shots 0 + 1 (1.0) vs 2 (0.5)
    np.testing.assert_array_equal(summary, np.arange(20) < 10)


def test_f1_avg_and_max():
    pred = np.array([1, 1, 0, 0], bool)
    users = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])
    assert evaluation.f1_score(pred, users, "max") == 1.0
    assert evaluation.f1_score(pred, users, "avg") == 0.5
    # precision 1/2, recall 1/1 -> F1 2/3
    np.testing.assert_allclose(evaluation.f1_score(pred, np.array([[1, 0, 0, 0]]), "avg"), 2 / 3)
    with pytest.raises(ValueError, match="mode"):
        evaluation.f1_score(pred, users, "mean")


def test_rank_correlation_is_otani():
    rng = np.random.default_rng(0)
    pred = rng.random(50)
    users = np.stack([pred + rng.normal(0, 0.3, 50), rng.random(50)])
    tau, rho = evaluation.rank_correlation(pred, users)
    taus = [stats.kendalltau(stats.rankdata(-pred), stats.rankdata(-u))[0] for u in users]
    rhos = [stats.spearmanr(pred, u)[0] for u in users]
    np.testing.assert_allclose([tau, rho], [np.mean(taus), np.mean(rhos)])
    assert evaluation.rank_correlation(pred, pred[None]) == pytest.approx((1.0, 1.0))
    assert evaluation.rank_correlation(np.ones(50), users) == (0.0, 0.0)  # undefined -> 0


def _scipy_tau_rho(x, ys):
    taus = [stats.kendalltau(stats.rankdata(-x), stats.rankdata(-y))[0] for y in ys]
    return np.array(taus), np.array([stats.spearmanr(x, y)[0] for y in ys])


@pytest.mark.parametrize("seed", range(6))
def test_batched_tau_b_and_rho_equal_scipy_with_ties(seed, monkeypatch):
    # Frame scores repeat (a step's score is held over its frames; annotators score 1..5),
    # so ties are the rule: the tie corrections of tau-b must count them as SciPy does.
    rng = np.random.default_rng(seed)
    n, u = int(rng.integers(5, 300)), int(rng.integers(1, 6))
    x = np.repeat(rng.normal(size=n), rng.integers(1, 4, n)) if seed % 2 else rng.random(n)
    ys = rng.integers(1, 6, (u, x.size)).astype(float)
    ys[0] = x + rng.normal(0, 0.5, x.size) if seed % 3 else ys[0]
    want = _scipy_tau_rho(x, ys)
    np.testing.assert_allclose(evaluation.kendall_tau_b(x, ys), want[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(evaluation.spearman_rho(x, ys), want[1], rtol=0, atol=1e-12)
    monkeypatch.setattr(ranks, "_CONTINGENCY_MAX", 1)  # too large: SciPy per annotator
    np.testing.assert_allclose(evaluation.kendall_tau_b(x, ys), want[0], rtol=0, atol=1e-12)


def test_tau_b_hand_computed():
    # x = (1, 2, 2, 3), y = (1, 3, 2, 2): pairs (12 C)(13 C)(14 C)(23 tie x)(24 D)(34 tie y)
    # P = 3, Q = 1, n0 = 6, one pair tied in x, one in y: tau_b = 2 / sqrt(5 * 5) = 0.4.
    assert evaluation.kendall_tau_b([1, 2, 2, 3], [[1, 3, 2, 2]])[0] == pytest.approx(0.4)


def test_a_constant_annotator_counts_zero_beside_the_others():
    pred = np.arange(6.0)
    users = np.array([np.arange(6.0), np.full(6, 2.0)])
    assert evaluation.rank_correlation(pred, users) == pytest.approx((0.5, 0.5))


def _video():
    n = 30
    return Video(
        key="v",
        features=(np.zeros((6, 2), np.float32),),
        n_frames=n,
        picks=np.arange(0, n, 5),
        change_points=np.array([[0, 9], [10, 19], [20, 29]]),
        user_summary=np.array([np.arange(n) < 10, np.arange(n) >= 20]).astype(float),
        user_scores=None,
    )


def test_evaluate_video_and_baselines():
    v = _video()
    m = evaluation.evaluate_video([1, 1, 0, 0, 0, 0], v, "max", ratio=0.34)
    assert m["f1"] == 1.0 and set(m) == {"f1", "kendall_tau", "spearman_rho"}
    u = baselines.uniform_scores(v, ratio=0.34)
    np.testing.assert_array_equal(u, [1, 0, 1, 0, 1, 0])  # ceil(0.34 * 6) = 3 steps
    r = baselines.random_scores(v, np.random.default_rng(0))
    assert r.shape == (6,) and r.min() >= 0 and r.max() < 1


def _annotated(n_frames, change_points, user_summary, step=1):
    picks = np.arange(0, n_frames, step)
    return Video("v", (), n_frames, picks, np.asarray(change_points), np.asarray(user_summary))


def test_int_shot_values_truncate_like_ortools():
    # Two 10-frame shots, room for one. As floats the second is better; as int(1000 v)
    # both are 123 and the tie goes to the earlier shot.
    cps, scores, picks = [[0, 9], [10, 19]], np.repeat([0.1234, 0.1239], 10), np.arange(20)
    standard = evaluation.keyshot_summary(scores, cps, 20, picks, 0.5)
    truncated = evaluation.keyshot_summary(scores, cps, 20, picks, 0.5, shot_values="int")
    np.testing.assert_array_equal(np.flatnonzero(standard), np.arange(10, 20))
    np.testing.assert_array_equal(np.flatnonzero(truncated), np.arange(0, 10))


def test_capacity_from_last_shot_end():
    # The shots end at frame 79 of 100: floor(0.15 * 100) = 15 fits the 15-frame shot,
    # int(0.15 * 80) = 12 fits nothing.
    cps, scores = [[0, 13], [14, 28], [29, 79]], np.r_[np.zeros(14), np.ones(15), np.zeros(71)]
    picks = np.arange(100)
    standard = evaluation.keyshot_summary(scores, cps, 100, picks)
    last = evaluation.keyshot_summary(scores, cps, 100, picks, capacity="last_shot")
    np.testing.assert_array_equal(np.flatnonzero(standard), np.arange(14, 29))
    assert not last.any()


def test_msva_correlation_hand_computed():
    # Ranks of [1, 1, 0, 0] and of the mean user [1, .5, 0, 0]: Pearson of the centred
    # ranks [1, 1, -1, -1] and [1.5, .5, -1, -1] is 4 / sqrt(4 * 4.5); tau-b has 4
    # concordant pairs, 0 discordant, 2 pairs tied in x and 1 in y: 4 / sqrt(4 * 5).
    tau, rho = evaluation.msva_correlation([1, 1, 0, 0], [[1, 1, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_allclose(rho, 4 / np.sqrt(18))
    np.testing.assert_allclose(tau, 4 / np.sqrt(20))
    assert evaluation.msva_correlation([1, 1, 1, 1], [[1, 0, 0, 0]]) == (0.0, 0.0)


def test_protocol_variants_in_evaluate_video():
    # One 2-frame shot per user summary: the prediction picks shot 0 (frames 0-1).
    video = _annotated(20, [[0, 1], [2, 3], [4, 19]], [[1, 1] + [0] * 18, [0, 0, 1, 1] + [0] * 16])
    scores = np.r_[1.0, 1.0, np.zeros(18)]
    standard = evaluation.evaluate_video(scores, video, "avg")
    as_max = evaluation.evaluate_video(scores, video, "avg", protocol=evaluation.VARIANTS["f1_max"])
    assert standard["f1"] == pytest.approx(0.5) and as_max["f1"] == pytest.approx(1.0)
    msva = evaluation.evaluate_video(
        scores, video, "avg", protocol=evaluation.VARIANTS["msva_correlation"]
    )
    summary = evaluation.keyshot_summary(scores, video.change_points, 20, video.picks)
    assert (msva["kendall_tau"], msva["spearman_rho"]) == pytest.approx(
        evaluation.msva_correlation(summary, video.user_summary)
    )
    assert msva["kendall_tau"] != pytest.approx(standard["kendall_tau"])


def test_protocol_names_parse_back():
    assert evaluation.STANDARD.name == "standard"
    assert evaluation.parse_protocol("standard") == evaluation.STANDARD
    for name, variant in evaluation.VARIANTS.items():
        assert variant.name == name
        assert evaluation.parse_protocol(name) == variant
    combo = evaluation.parse_protocol("int_shot_values,capacity_last_shot+msva_correlation")
    assert combo.name == "int_shot_values+capacity_last_shot+msva_correlation"
    assert evaluation.parse_protocol(combo.name) == combo
    with pytest.raises(ValueError, match="known: standard, int_shot_values"):
        evaluation.parse_protocol("int_values")
    with pytest.raises(ValueError, match="f1_mode twice"):
        evaluation.parse_protocol("f1_avg+f1_max")
    with pytest.raises(ValueError, match="Protocol.capacity"):
        evaluation.Protocol(capacity="last")
