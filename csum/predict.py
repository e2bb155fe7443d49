"""Scoring videos with a trained backbone: jitted, batched by length bucket."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from flax import nnx

from backbones.registry import outputs
from csum.data.batching import eval_batches
from csum.data.video import Video


@nnx.jit
def _scores(backbone, features, mask, streams):
    return outputs(backbone, features, mask, streams).scores


def predict_scores(backbone, videos: Sequence[Video], batch_size: int,
                   buckets: Sequence[int]) -> dict[str, np.ndarray]:  # fmt: skip
    """Step scores of each video in evaluation mode (no dropout).

    Args:
        backbone: a backbone module.
        videos: videos to score.
        batch_size: videos per padded batch.
        buckets: allowed padded lengths (one compile per bucket at most).

    Returns:
        ``{video.key: [n_steps] float scores}``.
    """
    backbone.eval()
    out = {}
    for group, batch in eval_batches(videos, batch_size, buckets):
        scores = np.asarray(_scores(backbone, batch.features, batch.mask, batch.streams))
        for b, v in enumerate(group):
            out[v.key] = scores[b, : v.n_steps].astype(np.float64)
    backbone.train()
    return out
