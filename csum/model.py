"""The trainable pair of CSUM: score predictor g (a backbone) and window projector h."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

import backbones
from csum import topk
from csum.data.batching import Batch
from csum.losses import ntxent
from csum.projector import WindowProjector


class Summarizer(nnx.Module):
    """Backbone g plus projector h; only these are trained (the features f are frozen).

    Args:
        backbone: a module with the backbone contract (features, mask) -> scores [B, T].
        projector: the window projector h.
        contrast_sources: which feature sources (concatenated) form X, the clips that the
            top-k selects and h embeds.
    """

    def __init__(self, backbone: nnx.Module, projector: WindowProjector,
                 contrast_sources: tuple[int, ...], seed: int = 0):  # fmt: skip
        self.backbone = backbone
        self.projector = projector
        self.contrast_sources = tuple(contrast_sources)
        # Noise of a stochastic top-k operator; training reseeds it every step from
        # (seed, fold, step), like dropout, so a resumed run draws the same noise.
        self.topk_rngs = nnx.Rngs(topk=seed)

    def contrast_features(self, features) -> jax.Array:
        """[B, T, D_c]: the sources that the summary is selected from and compared in."""
        return jnp.concatenate([features[i] for i in self.contrast_sources], axis=-1)


def build_summarizer(config, in_dims, seed: int) -> Summarizer:
    """Builds the Summarizer described by ``config`` for sources of sizes ``in_dims``."""
    dtype = jnp.dtype(config.compute_dtype)
    # A default stream too, so that a backbone may draw any stream it needs (e.g. "carry").
    rngs = nnx.Rngs(seed, params=seed, dropout=seed + 1)
    backbone = backbones.build(
        config.backbone.name, in_dims, rngs=rngs, dtype=dtype, **config.backbone.kwargs
    )
    sources = tuple(config.projector.sources)
    bad = [s for s in sources if not 0 <= s < len(in_dims)]
    if bad:
        raise ValueError(f"projector.sources {sources} names sources absent from the data "
                         f"({len(in_dims)} feature keys)")  # fmt: skip
    projector = WindowProjector(
        sum(in_dims[s] for s in sources), rngs=rngs, window=config.projector.window,
        hidden=config.projector.hidden, embed=config.projector.embed, dtype=dtype,
    )  # fmt: skip
    return Summarizer(backbone, projector, sources, seed=seed + 2)


def csum_loss(model: Summarizer, batch: Batch, *, ratio: float, tau: float, operator: str,
              operator_kwargs: dict) -> jax.Array:  # fmt: skip
    """The unsupervised CSUM objective on one padded batch (SPEC sections 1-4).

    scores = g(features); S = soft top-k of X by scores, each video with its own budget
    ``k_b = ceil(ratio * T_b)`` (exact integers, ``csum.topk.summary_budget``) inside the
    bucket's static ``k = ceil(ratio * T)`` outputs, so every video's summary and gradient
    are those it would get alone, whatever bucket it is padded to; then NT-Xent between
    the mean window embeddings of each video and of its summary.

    Args:
        model: the Summarizer.
        batch: a padded ``Batch``.
        ratio: summary length ratio.
        tau: NT-Xent temperature.
        operator: top-k operator name (``csum.topk`` registry).
        operator_kwargs: its hyperparameters (e.g. alpha); a stochastic operator also gets
            a fresh key from the model's ``topk`` stream.

    Returns:
        Scalar loss.
    """
    scores = model.backbone(batch.features, batch.mask)
    x = model.contrast_features(batch.features)
    k = topk.summary_budget(ratio, x.shape[1])
    budget = topk.summary_budget(ratio, batch.length)
    if operator in topk.STOCHASTIC:
        operator_kwargs = {**operator_kwargs, "key": model.topk_rngs.topk()}
    selected = topk.get(operator)(x, scores, k, mask=batch.mask, budget=budget, **operator_kwargs)
    videos = model.projector(x, batch.mask)
    # Outputs beyond a budget are padding and come last: the summary mask is a prefix.
    summaries = model.projector(selected.features, topk.valid_outputs(selected))
    return ntxent(videos, summaries, batch.valid, tau)
