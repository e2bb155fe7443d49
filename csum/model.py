"""The trainable pair of CSUM: score predictor g (a backbone) and window projector h."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import backbones
from backbones.registry import outputs
from csum import topk
from csum.data.batching import Batch
from csum.losses import ntxent
from csum.projector import WindowProjector
from csum.residual import ContrastResidual


class FeatureStats(nnx.Variable):
    """Fixed statistics of the contrast features, set from the training videos (not trained)."""


NORMALIZE = ("none", "standardize")
"""``projector.normalize``: how X is normalised before the projector (``Summarizer``)."""


class Summarizer(nnx.Module):
    """Backbone g plus projector h; only these are trained (the features f are frozen).

    Args:
        backbone: a module with the backbone contract (features, mask) -> scores [B, T].
        projector: the window projector h.
        contrast_sources: which feature sources (concatenated) form X, the clips that the
            top-k selects and h embeds.
        contrast_dim: the size of X.
        seed: seed of the top-k noise stream.
        normalize: ``"none"``, or ``"standardize"``: X enters the contrastive distance as
            ``(x - mean) / std`` per feature, with the statistics of the training videos
            (``set_contrast_stats``). Rectified CNN features share a large positive mean,
            so every window embedding of every video points the same way and the
            contrast between videos is a small difference of large numbers; centring
            removes the shared part (``docs/studies/learning.md``).
    """

    def __init__(self, backbone: nnx.Module, projector: WindowProjector,
                 contrast_sources: tuple[int, ...], contrast_dim: int, seed: int = 0,
                 normalize: str = "none"):  # fmt: skip
        if normalize not in NORMALIZE:
            raise ValueError(f"projector.normalize must be one of {NORMALIZE}, not {normalize!r}")
        self.backbone = backbone
        self.projector = projector
        self.contrast_sources = tuple(contrast_sources)
        self.normalize = normalize
        self.x_mean = FeatureStats(jnp.zeros((contrast_dim,), jnp.float32))
        self.x_scale = FeatureStats(jnp.ones((contrast_dim,), jnp.float32))
        # Noise of a stochastic top-k operator; training reseeds it every step from
        # (seed, fold, step), like dropout, so a resumed run draws the same noise.
        self.topk_rngs = nnx.Rngs(topk=seed)

    def contrast_features(self, features) -> jax.Array:
        """[B, T, D_c]: the sources that the summary is selected from and compared in."""
        x = jnp.concatenate([features[i] for i in self.contrast_sources], axis=-1)
        if self.normalize == "none":
            return x
        return ((x.astype(jnp.float32) - self.x_mean[...]) * self.x_scale[...]).astype(x.dtype)


def set_contrast_stats(model: Summarizer, videos) -> None:
    """Sets X's per-feature mean and 1/std from every step of ``videos`` (the training set).

    Two passes over the videos in float64 (the mean, then the squared deviations from it),
    one video at a time, so that a collection read from disk (``videos`` a
    ``csum.data.stream.VideoSource``) is never held whole.
    """
    from csum.data.stream import as_source

    source = as_source(videos)

    def rows(i):
        v = source.load(i)
        return np.concatenate([np.asarray(v.features[s], np.float64)
                               for s in model.contrast_sources], axis=-1)  # fmt: skip

    total, count = 0.0, 0
    for i in range(len(source)):
        x = rows(i)
        total, count = total + x.sum(0), count + len(x)
    mean = total / count
    squares = sum(((rows(i) - mean) ** 2).sum(0) for i in range(len(source)))
    model.x_mean[...] = jnp.asarray(mean, jnp.float32)
    model.x_scale[...] = jnp.asarray(1.0 / np.maximum(np.sqrt(squares / count), 1e-6), jnp.float32)


def build_summarizer(config, in_dims, seed: int) -> Summarizer:
    """Builds the Summarizer described by ``config`` for sources of sizes ``in_dims``."""
    dtype = jnp.dtype(config.compute_dtype)
    # A default stream too, so that a backbone may draw any stream it needs (e.g. "carry").
    rngs = nnx.Rngs(seed, params=seed, dropout=seed + 1)
    backbone = backbones.build(
        config.backbone.name, in_dims, rngs=rngs, dtype=dtype, **config.backbone.kwargs
    )
    # The CSUM regime's scores start at the contrast (csum.residual), when the model is
    # built for the contrast's one-wide source (the last, or the last but one before an
    # audio stream). Built for the data's own sources alone (a benchmark, a model of the
    # features), there is nothing to start from; a regime trained on labels must be free
    # to move far from the contrast, which the gate's bound would prevent (and its loss
    # may read the backbone's own outputs, e.g. dppLSTM's diversity): the backbone alone.
    audio = bool(config.backbone.kwargs.get("audio", False))
    channel = len(in_dims) - (2 if audio else 1)
    if (config.backbone.get("residual", False) and config.backbone.contrast_input
            and config.train.regime == "csum" and channel >= 0
            and in_dims[channel] == 1):  # fmt: skip
        backbone = ContrastResidual(backbone, channel, config.backbone.residual_gain)
    sources = tuple(config.projector.sources)
    bad = [s for s in sources if not 0 <= s < len(in_dims)]
    if bad:
        raise ValueError(f"projector.sources {sources} names sources absent from the data "
                         f"({len(in_dims)} feature keys)")  # fmt: skip
    projector = WindowProjector(
        sum(in_dims[s] for s in sources), rngs=rngs, window=config.projector.window,
        hidden=config.projector.hidden, embed=config.projector.embed, dtype=dtype,
    )  # fmt: skip
    return Summarizer(backbone, projector, sources, sum(in_dims[s] for s in sources),
                      seed=seed + 2, normalize=config.projector.normalize)  # fmt: skip


SCORES = ("raw", "standardized")
"""``topk.scores``: what the top-k sees, the backbone's scores as they are, or each video's
scores standardised (``standardize_scores``)."""


def standardize_scores(scores: jax.Array, mask: jax.Array, eps: float = 1e-6) -> jax.Array:
    """Each video's scores as ``(s - mean) / std`` over its valid clips (padding: 0).

    The soft top-k's sharpness ``alpha`` then acts on the spread of the scores, not on the
    level and range that a sigmoid head happens to output. With raw scores, training drove
    the sigmoid of several backbones into saturation (every score 1.0 to four decimals;
    ``docs/learning.md``): the pairwise weights turned to 1/2, the summary to a blur, and
    the gradient through the sigmoid to zero. A standardised input is invariant to shifts
    and scales of the scores, so nothing rewards that drift.

    Args:
        scores: [B, T] scores.
        mask: [B, T] bool validity.
        eps: added to the variance.

    Returns:
        [B, T] standardised scores.
    """
    n = jnp.maximum(jnp.sum(mask, axis=-1, keepdims=True), 1)
    s = jnp.where(mask, scores.astype(jnp.float32), 0.0)
    mean = jnp.sum(s, axis=-1, keepdims=True) / n
    var = jnp.sum(jnp.where(mask, (s - mean) ** 2, 0.0), axis=-1, keepdims=True) / n
    return jnp.where(mask, (s - mean) * jax.lax.rsqrt(var + eps), 0.0)


def csum_loss(model: Summarizer, batch: Batch, *, ratio: float, tau: float, operator: str,
              operator_kwargs: dict, bank=None, scores: str = "raw",
              negatives: str = "batch") -> jax.Array:  # fmt: skip
    """The unsupervised CSUM objective on one padded batch (SPEC sections 1-4).

    scores = g(features); S = soft top-k of X by scores, each video with its own budget
    ``k_b = ceil(ratio * T_b)`` (exact integers, ``csum.topk.summary_budget``) inside the
    bucket's static ``k = ceil(ratio * T)`` outputs, so every video's summary and gradient
    are those it would get alone, whatever bucket it is padded to. Then, by ``negatives``:

    * ``"batch"`` (the paper) or ``"all"``: NT-Xent (Eq. 1, ``ntxent``) between the mean
      window embeddings of each video and of its summary, against the other videos and
      summaries of the batch (``"all"``: and every training video's embedding);
    * ``"windows"``: the mean over the summary's clips of each clip's window InfoNCE
      against every training video's windows (``csum.losses.window_nce``, precomputed per
      clip by ``csum.banks.window_bank``). The top-k then selects the per-clip losses
      themselves (a 1-wide feature), so the loss is linear in the soft selection: it is
      the loss of the *real* clips the summary holds, weighted by how much it holds them,
      and a blur of many clips (which resembles no real window and has a small loss of
      its own) cannot lower it (``docs/learning.md``).

    Args:
        model: the Summarizer.
        batch: a padded ``Batch``.
        ratio: summary length ratio.
        tau: NT-Xent temperature (``"windows"``: unused here, baked into the bank).
        operator: top-k operator name (``csum.topk`` registry).
        operator_kwargs: its hyperparameters (e.g. alpha); a stochastic operator also gets
            a fresh key from the model's ``topk`` stream.
        bank: with ``negatives="all"``, ``(embeddings [N, E], present [N] bool)`` of
            every training video (``csum.banks.video_bank``), more negatives for every
            anchor, the rows of the batch's own videos (``batch.index``) left out; with
            ``negatives="windows"``, [N, T_max] float32, every training video's per-clip
            window InfoNCE (``csum.banks.window_bank``), row ``batch.index``.
        scores: ``"raw"`` or ``"standardized"`` (``standardize_scores``): what the top-k
            ranks.
        negatives: ``"batch"``, ``"all"`` or ``"windows"`` (above).

    Returns:
        Scalar loss.
    """
    if scores not in SCORES:
        raise ValueError(f"topk.scores must be one of {SCORES}, not {scores!r}")
    ranked = outputs(model.backbone, batch.features, batch.mask, batch.streams).scores
    if scores == "standardized":
        ranked = standardize_scores(ranked, batch.mask)
    T = batch.mask.shape[1]
    k = topk.summary_budget(ratio, T)
    budget = topk.summary_budget(ratio, batch.length)
    if operator in topk.STOCHASTIC:
        operator_kwargs = {**operator_kwargs, "key": model.topk_rngs.topk()}
    if operator == "successive_halving":  # every budget here needs at most this many rounds
        operator_kwargs = {**operator_kwargs, "max_depth": topk.depth_bound(ratio)}
    select = functools.partial(topk.get(operator), scores=ranked, k=k, mask=batch.mask,
                               budget=budget, **operator_kwargs)  # fmt: skip
    if negatives == "windows":
        clip_loss = jnp.take(bank, jnp.maximum(batch.index, 0), axis=0)[:, :T]
        held = select(jnp.where(batch.mask, clip_loss, 0.0)[..., None]).features[..., 0]
        per_video = jnp.sum(held, axis=-1) / jnp.maximum(budget, 1)  # padding outputs are 0
        return jnp.sum(jnp.where(batch.valid, per_video, 0)) / jnp.maximum(jnp.sum(batch.valid), 1)
    x = model.contrast_features(batch.features)
    selected = select(x)
    videos = model.projector(x, batch.mask)
    # Outputs beyond a budget are padding and come last: the summary mask is a prefix.
    summaries = model.projector(selected.features, topk.valid_outputs(selected))
    if bank is None:
        return ntxent(videos, summaries, batch.valid, tau)
    embeddings, present = bank
    rows = jnp.arange(embeddings.shape[0])
    in_batch = jnp.any(rows[:, None] == batch.index[None, :], axis=1)
    return ntxent(videos, summaries, batch.valid, tau, embeddings, present & ~in_batch)
