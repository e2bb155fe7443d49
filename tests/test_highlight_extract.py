"""Highlight extraction: smoothing, segments above Theta, the top highlight, Theta choice."""

import numpy as np
import pytest

from csum.highlights.extract import (
    choose_theta,
    runs,
    segment_map,
    segments,
    smooth,
    top_highlight,
)


def test_runs_by_hand():
    np.testing.assert_array_equal(runs([0, 1, 1, 0, 1]), [[1, 3], [4, 5]])
    assert runs([0, 0]).shape == (0, 2)
    np.testing.assert_array_equal(runs([1, 1]), [[0, 2]])


def test_smooth_keeps_constants_and_mass():
    np.testing.assert_allclose(smooth(np.full(9, 3.0), 2.0), 3.0)
    x = np.zeros(41)
    x[20] = 1
    assert smooth(x, 2.0).sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(smooth(x, 0), x)
    with pytest.raises(ValueError, match="sigma"):
        smooth(x, -1)


def test_segments_and_top_highlight_by_hand():
    s = np.array([0.1, 0.8, 0.9, 0.2, 0.7, 0.1])
    spans, value = segments(s, 0.5)
    np.testing.assert_array_equal(spans, [[1, 3], [4, 5]])  # best (mean 0.85) first
    np.testing.assert_allclose(value, [0.85, 0.7])
    assert top_highlight(s, 0.5) == (1, 3)
    assert top_highlight(s, 0.95) == (2, 3)  # the top clip alone


def test_segment_map_and_theta_choice():
    rng = np.random.default_rng(0)
    labels, scores = [], []
    for _ in range(6):
        y = np.zeros(60)
        a = rng.integers(5, 40)
        y[a : a + rng.integers(5, 15)] = 1
        labels.append(y)
        scores.append(y * 0.6 + 0.2 + 0.05 * rng.random(60))  # highlights score 0.8-0.85
    perfect = [segments(y, 0.5) for y in labels]
    assert segment_map(perfect, labels) == pytest.approx(1.0)
    theta = choose_theta(scores, labels, sigma=0.0)
    assert theta < 0.8  # below every highlight clip (0.8-0.85)
    assert segment_map([segments(s, theta) for s in scores], labels) == pytest.approx(1.0)
    assert segment_map([segments(s, 0.9) for s in scores], labels) == 0.0
