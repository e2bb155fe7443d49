"""Scoring videos with a trained backbone: jitted, batched by length bucket."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from flax import nnx

from backbones.registry import outputs
from csum.data.records import Video
from csum.data.sources import as_source, eval_stream


@nnx.jit
def _scores(backbone, features, mask, streams):
    return outputs(backbone, features, mask, streams).scores


def iter_scores(
    backbone, videos, batch_size: int, buckets: Sequence[int]
) -> Iterator[tuple[str, np.ndarray]]:
    """Each video's step scores in evaluation mode (no dropout), a batch at a time.

    Args:
        backbone: a backbone module.
        videos: videos to score: a list, or a ``csum.data.sources.VideoSource`` (read a
            batch at a time, so that a collection's scores can be written as they come).
        batch_size: videos per padded batch.
        buckets: allowed padded lengths (one compile per bucket at most).

    Yields:
        ``(video.key, [n_steps] float64 scores)``, in ``eval_order``.
    """
    backbone.eval()
    try:
        for _, group, batch in eval_stream(as_source(videos), batch_size, buckets):
            scores = np.asarray(_scores(backbone, batch.features, batch.mask, batch.streams))
            for b, v in enumerate(group):
                yield v.key, scores[b, : v.n_steps].astype(np.float64)
    finally:
        backbone.train()


def predict_scores(
    backbone, videos: Sequence[Video], batch_size: int, buckets: Sequence[int]
) -> dict[str, np.ndarray]:
    """Step scores of each video in evaluation mode (no dropout).

    Args:
        backbone: a backbone module.
        videos: videos to score.
        batch_size: videos per padded batch.
        buckets: allowed padded lengths (one compile per bucket at most).

    Returns:
        ``{video.key: [n_steps] float scores}``.
    """
    return dict(iter_scores(backbone, videos, batch_size, buckets))
