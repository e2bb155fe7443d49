"""Reference scorers that need no training: random and uniform step scores."""

from __future__ import annotations

import math

import numpy as np

from csum.data.video import Video


def random_scores(video: Video, rng: np.random.Generator) -> np.ndarray:
    """[n_steps] i.i.d. U(0, 1) step scores."""
    return rng.random(video.n_steps)


def uniform_scores(video: Video, ratio: float = 0.15) -> np.ndarray:
    """[n_steps] scores that select ``ceil(ratio * n_steps)`` evenly spaced steps.

    The step nearest each of the evenly spaced times scores 1, every other step 0: a
    uniform-sampling summary, with no knowledge of the content.
    """
    n = video.n_steps
    k = max(1, math.ceil(ratio * n))
    scores = np.zeros(n)
    scores[np.round((np.arange(k) + 0.5) * n / k - 0.5).astype(int)] = 1.0
    return scores
