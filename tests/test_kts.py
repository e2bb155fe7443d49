"""Kernel temporal segmentation: scatter, the dynamic programme, cpd_auto's choice, shots."""

import itertools

import numpy as np
import pytest
import ruptures

from csum.data import kts


def test_scatter_hand_computed():
    # Steps 0 and 2 (1-D): each alone has scatter 0; together 0 + 4 - (0 + 2)^2 / 2 = 2.
    j = kts.scatter_matrix(np.array([[0.0], [2.0]]))
    assert j[0, 1] == 0 and j[1, 2] == 0 and j[0, 2] == pytest.approx(2.0)
    assert np.isinf(j[1, 1]) and np.isinf(j[2, 0])


def _brute_force(x, m):
    n = len(x)
    j = kts.scatter_matrix(x)
    return min(
        sum(j[a, b] for a, b in itertools.pairwise((0, *cuts, n)))
        for cuts in itertools.combinations(range(1, n), m)
    )


def test_costs_match_brute_force_and_ruptures():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 3))
    costs = kts.segment_costs(x, 4, vmax=0.0)  # vmax 0: no early stop
    for m in range(5):
        np.testing.assert_allclose(costs[m], _brute_force(x, m), rtol=1e-10)
    x = rng.normal(size=(60, 5)) + np.repeat(rng.normal(size=(4, 5)) * 3, 15, 0)
    costs = kts.segment_costs(x, 8, vmax=0.0)
    algo = ruptures.KernelCPD(kernel="linear", min_size=1, jump=1).fit(x)
    for m in range(1, 9):
        cost = algo.cost.sum_of_costs(algo.predict(n_bkps=m))
        np.testing.assert_allclose(costs[m], cost, rtol=1e-9)


def test_cpd_auto_minimises_the_penalised_criterion():
    # The early stop must not change the choice: compare with every m evaluated.
    rng = np.random.default_rng(1)
    x = np.repeat(rng.normal(size=(6, 8)), [5, 9, 3, 12, 7, 4], 0) + 0.3 * rng.normal(size=(40, 8))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    full = kts.segment_costs(x, 39, vmax=0.0)
    criterion = full / 40 + kts.penalty(np.arange(40), 40)
    cps = kts.cpd_auto(x)
    assert len(cps) == int(np.argmin(criterion))
    np.testing.assert_array_equal(cps, [5, 14, 17, 29, 36])


def test_cpd_auto_known_answers():
    blocks = np.repeat(np.eye(4)[:2], 20, 0)  # two orthogonal unit blocks of 20 steps
    np.testing.assert_array_equal(kts.cpd_auto(blocks), [20])
    assert len(kts.cpd_auto(np.ones((30, 4)))) == 0
    assert len(kts.cpd_auto(np.ones((1, 4)))) == 0


def test_kts_change_points_in_frames():
    x = np.repeat(np.eye(8)[:3], [10, 7, 13], 0) * 5.0  # scale: normalised away
    cps = kts.kts_change_points(x, 30 * 15 - 4)
    np.testing.assert_array_equal(cps, [[0, 149], [150, 254], [255, 445]])


def test_uniform_shots_cover_every_frame():
    np.testing.assert_array_equal(kts.uniform_shots(100, 30), [[0, 29], [30, 59], [60, 99]])
    np.testing.assert_array_equal(
        kts.uniform_shots(110, 30), [[0, 29], [30, 59], [60, 89], [90, 109]]
    )
    np.testing.assert_array_equal(kts.uniform_shots(7, 30), [[0, 6]])
