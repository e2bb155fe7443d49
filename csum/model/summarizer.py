"""The trainable pair of CSUM: score predictor g (a backbone) and window projector h."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import backbones
from csum.data.sources import as_source
from csum.model.residual import ContrastResidual
from csum.nn.projector import WindowProjector


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

    def __init__(
        self,
        backbone: nnx.Module,
        projector: WindowProjector,
        contrast_sources: tuple[int, ...],
        contrast_dim: int,
        seed: int = 0,
        normalize: str = "none",
    ):
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
    ``csum.data.sources.VideoSource``) is never held whole.
    """

    source = as_source(videos)

    def rows(i):
        v = source.load(i)
        return np.concatenate(
            [np.asarray(v.features[s], np.float64) for s in model.contrast_sources], axis=-1
        )

    total, count = 0.0, 0
    for i in range(len(source)):
        x = rows(i)
        total, count = total + x.sum(0), count + len(x)
    mean = total / count
    squares = sum(((rows(i) - mean) ** 2).sum(0) for i in range(len(source)))
    model.x_mean[...] = jnp.asarray(mean, jnp.float32)
    model.x_scale[...] = jnp.asarray(1.0 / np.maximum(np.sqrt(squares / count), 1e-6), jnp.float32)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything that builds a Summarizer besides the data's feature sizes and a seed.

    A run's ``model.json`` stores it (``to_dict``), so a trained run is rebuilt without its
    config (``csum.training.rundir``).

    Attributes:
        backbone: the backbone's registered name.
        backbone_kwargs: its keyword arguments.
        compute_dtype: dtype of the matrix products (``"float32"`` or ``"bfloat16"``).
        contrast_input: the model takes each clip's collection contrast as a last one-wide
            source (before an audio stream; ``csum.model.contrast``).
        residual: start the scores at the collection contrast (``csum.model.residual``),
            when the data carries its one-wide channel.
        residual_gain: how far the residual's gate can move.
        projector_sources: the feature sources (indices) that form X.
        projector_window: n, the window length of Eq. 4.
        projector_hidden: width of the projector's hidden layer.
        projector_embed: width of its embedding.
        normalize: ``"none"`` or ``"standardize"`` (``Summarizer``).
    """

    backbone: str
    backbone_kwargs: Mapping[str, Any]
    compute_dtype: str
    contrast_input: bool
    residual: bool
    residual_gain: float
    projector_sources: tuple[int, ...]
    projector_window: int
    projector_hidden: int
    projector_embed: int
    normalize: str

    @classmethod
    def from_config(cls, config: Mapping) -> ModelSpec:
        """The spec that a run config (a ConfigDict, or its JSON read back) describes.

        The contrast residual is for the CSUM regime only: a regime trained on labels must
        be free to move far from the contrast, which the gate's bound would prevent (and its
        loss may read the backbone's own outputs, e.g. dppLSTM's diversity).
        """
        backbone, projector = config["backbone"], config["projector"]
        residual = bool(
            backbone.get("residual", False)
            and backbone.get("contrast_input", False)
            and config["train"]["regime"] == "csum"
        )
        return cls(
            backbone=backbone["name"],
            backbone_kwargs=dict(backbone["kwargs"]),
            compute_dtype=config["compute_dtype"],
            contrast_input=bool(backbone.get("contrast_input", False)),
            residual=residual,
            residual_gain=float(backbone.get("residual_gain", 1.0)),
            projector_sources=tuple(int(s) for s in projector["sources"]),
            projector_window=projector["window"],
            projector_hidden=projector["hidden"],
            projector_embed=projector["embed"],
            normalize=projector["normalize"],
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict (``from_dict`` reads it back)."""
        d = dataclasses.asdict(self)
        d["backbone_kwargs"] = dict(self.backbone_kwargs)
        d["projector_sources"] = list(self.projector_sources)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> ModelSpec:
        """The spec that ``to_dict`` wrote."""
        return cls(**{**d, "projector_sources": tuple(d["projector_sources"])})


def build_summarizer(spec: ModelSpec, in_dims, seed: int) -> Summarizer:
    """Builds the Summarizer that ``spec`` describes for sources of sizes ``in_dims``."""
    dtype = jnp.dtype(spec.compute_dtype)
    # A default stream too, so that a backbone may draw any stream it needs (e.g. "carry").
    rngs = nnx.Rngs(seed, params=seed, dropout=seed + 1)
    backbone = backbones.build(
        spec.backbone, in_dims, rngs=rngs, dtype=dtype, **spec.backbone_kwargs
    )
    # The scores start at the contrast (csum.model.residual) when the model is built for
    # the contrast's one-wide source (the last, or the last but one before an audio
    # stream). Built for the data's own sources alone (a benchmark, a model of the
    # features), there is nothing to start from: the backbone alone.
    audio = bool(spec.backbone_kwargs.get("audio", False))
    channel = len(in_dims) - (2 if audio else 1)
    if spec.residual and channel >= 0 and in_dims[channel] == 1:
        backbone = ContrastResidual(backbone, channel, spec.residual_gain)
    sources = spec.projector_sources
    bad = [s for s in sources if not 0 <= s < len(in_dims)]
    if bad:
        raise ValueError(
            f"projector.sources {sources} names sources absent from the data "
            f"({len(in_dims)} feature keys)"
        )
    projector = WindowProjector(
        sum(in_dims[s] for s in sources),
        rngs=rngs,
        window=spec.projector_window,
        hidden=spec.projector_hidden,
        embed=spec.projector_embed,
        dtype=dtype,
    )
    return Summarizer(
        backbone,
        projector,
        sources,
        sum(in_dims[s] for s in sources),
        seed=seed + 2,
        normalize=spec.normalize,
    )


def base_dims(spec: ModelSpec, in_dims) -> tuple[int, ...]:
    """The widths of the sources a caller gives: ``in_dims`` without the contrast source."""
    dims = list(in_dims)
    if spec.contrast_input:
        del dims[len(dims) - (2 if spec.backbone_kwargs.get("audio", False) else 1)]
    return tuple(dims)
