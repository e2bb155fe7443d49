"""UMT-style transformer: modality encoders, bottleneck fusion, query conditioning, saliency.

After UMT (Liu et al., "UMT: Unified Multi-modal Transformers for Joint Video Moment
Retrieval and Highlight Detection", CVPR 2022). UMT's moment decoder (a query generator
and a DETR-like decoder) is replaced by an optional anchor-free moment head, one clip at a
time (``moments=True``, ``csum.objectives.moments``); ``visionary`` is the query-based
model of ``004_…`` built from the same parts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.attention import MultiHeadAttention
from backbones.registry import BACKBONES, Outputs
from csum.nn.dropout import Dropout
from csum.nn.layers import dense
from csum.nn.positions import sincos_2d, sinusoidal_positions


class EncoderLayer(nnx.Module):
    """Transformer layer, post-norm ``x = LN(x + attn(x, ctx)); x = LN(x + FFN(x))`` (UMT)
    or pre-norm ``x = x + attn(LN(x), ctx); x = x + FFN(LN(x))`` (``004_…``, section 3.1).

    Args:
        dim: width; heads, ffn: heads and feed-forward width; dropout: rate on attention
        weights and on each residual branch; dtype: matmul compute dtype; path: the
        attention path (``impl``, ``chunk``, ``dense_max`` of ``csum.nn.attention``).
        pre_norm: the pre-norm form.
        memory: persistent memory slots (Sukhbaatar et al. 2019; ``004_…``, section 2.3):
            learned key-value vectors that self-attention reads beside the sequence's own
            clips, a context that every video shares. 0: none.
    """

    def __init__(
        self,
        dim: int,
        *,
        rngs: nnx.Rngs,
        heads: int,
        ffn: int,
        dropout: float,
        dtype=jnp.float32,
        path=None,
        pre_norm: bool = False,
        memory: int = 0,
    ):
        self.attention = MultiHeadAttention(
            dim, heads=heads, dropout=dropout, dtype=dtype, rngs=rngs, **(path or {})
        )
        self.norm_attention = nnx.LayerNorm(dim, rngs=rngs)
        self.ffn_in = dense(dim, ffn, dtype=dtype, rngs=rngs)
        self.ffn_out = dense(ffn, dim, dtype=dtype, rngs=rngs)
        self.norm_ffn = nnx.LayerNorm(dim, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)
        self.pre_norm = pre_norm
        self.memory = (
            nnx.Param(0.02 * jax.random.normal(rngs.params(), (memory, dim))) if memory else None
        )

    def __call__(self, x, context=None, context_mask=None, *, mask):
        """x [B, T, D] with ``mask`` [B, T]; context (default: x itself) [B, S, D]."""
        ffn = lambda h: self.ffn_out(self.dropout(jax.nn.relu(self.ffn_in(h))))  # noqa: E731
        if self.pre_norm:
            q = self.norm_attention(x)
            x = x + self.dropout(self.attend(q, context, context_mask, mask))
            return x + self.dropout(ffn(self.norm_ffn(x)))
        x = self.norm_attention(x + self.dropout(self.attend(x, context, context_mask, mask)))
        return self.norm_ffn(x + self.dropout(ffn(x)))

    def attend(self, x, context, context_mask, mask):
        if context is None:  # self-attention, over the persistent memory too
            context, context_mask = x, mask
            if self.memory is not None:
                B, n = x.shape[0], self.memory.shape[0]
                slots = jnp.broadcast_to(self.memory[...].astype(x.dtype), (B, n, x.shape[-1]))
                context = jnp.concatenate([x, slots], axis=1)
                context_mask = jnp.concatenate([mask, jnp.ones((B, n), bool)], axis=1)
        return self.attention(x, context, context_mask)


POSITIONS = ("sinusoidal", "sincos2d")
"""``positions``: UMT's 1-D sinusoids, or ``004_…``'s 2-D sine-cosine table
(``csum.nn.positions.sincos_2d``, the clips laid out as a 1 x T grid)."""


def position_table(kind: str, length: int, dim: int) -> jax.Array:
    """[length, dim] positions of one of ``POSITIONS``."""
    if kind == "sincos2d":
        return sincos_2d(1, length, dim)
    return sinusoidal_positions(length, dim)


class ModalityEncoder(nnx.Module):
    """Input projection, positions and ``layers`` self-attention layers (a final LayerNorm
    in the pre-norm form)."""

    def __init__(
        self,
        in_dim: int,
        dim: int,
        *,
        rngs: nnx.Rngs,
        layers: int,
        heads: int,
        ffn: int,
        dropout: float,
        dtype=jnp.float32,
        path=None,
        positions: str = "sinusoidal",
        pre_norm: bool = False,
        memory: int = 0,
    ):
        if positions not in POSITIONS:
            raise ValueError(f"positions={positions!r}: expected one of {POSITIONS}")
        self.project = dense(in_dim, dim, dtype=dtype, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.layers = nnx.List(
            [
                EncoderLayer(
                    dim,
                    heads=heads,
                    ffn=ffn,
                    dropout=dropout,
                    dtype=dtype,
                    path=path,
                    pre_norm=pre_norm,
                    memory=memory,
                    rngs=rngs,
                )
                for _ in range(layers)
            ]
        )
        self.final_norm = nnx.LayerNorm(dim, rngs=rngs) if pre_norm else None
        self.dropout = Dropout(dropout, rngs=rngs)
        self.positions = positions

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        h = self.norm(self.project(self.dropout(x)))
        h = h + position_table(self.positions, x.shape[1], h.shape[-1])
        for layer in self.layers:
            h = layer(h, mask=mask)
        return h if self.final_norm is None else self.final_norm(h)


@BACKBONES.register("transformer")
class Transformer(nnx.Module):
    """UMT-style saliency transformer over video (and optional audio) clip features.

    1. Each modality (video: the visual sources concatenated; audio: the last source when
       ``audio=True``) is projected to ``dim``, given sinusoidal positions and encoded by
       ``layers`` self-attention layers (UMT's uni-modal encoders).
    2. Fusion (UMT's bottleneck transformer): ``bottleneck`` learned tokens attend to every
       modality's clips, then each modality's clips attend to the tokens, so modalities
       exchange information only through the bottleneck. With video alone the same layer
       acts as a global-context summary of the video.
    3. Optional text-query conditioning (``query_dim`` > 0): the query's tokens are encoded
       like a modality and the fused clips attend to them (UMT's query-guided clip
       features). Without a query the step is skipped.
    4. Saliency head: Linear(dim -> dim), ReLU, Linear(dim -> 1), sigmoid, on the sum of
       the modalities' fused clip features.

    Sizes follow UMT's public configs: dim 256, 8 heads, feed-forward 1024, one layer per
    encoder, 4 bottleneck tokens, dropout 0.1 (UMT uses 0.5 on its inputs for some
    datasets; the input dropout here is the same ``dropout``). Deviation: post-norm layers
    throughout, and the moment decoder is not built (see the module docstring).

    Args:
        in_dims: feature size of each source.
        rngs: parameter and dropout RNGs.
        dim, heads, ffn, layers, dropout: transformer sizes (above).
        bottleneck: number of fusion tokens.
        audio: treat the last source as audio (needs at least two sources).
        query_dim: text-query token size; 0 builds no query branch. With one, the
            backbone reads the ``query`` stream (``csum.data.streams``).
        positions: ``"sinusoidal"`` or ``"sincos2d"`` (``POSITIONS``).
        norm: ``"post"`` (UMT) or ``"pre"`` layer normalisation (``EncoderLayer``).
        memory: persistent memory slots of the uni-modal encoders (``EncoderLayer``).
        moments: also predict moments (``csum.objectives.moments``): the backbone then
            returns ``Outputs`` with ``saliency`` logits and ``moments`` [B, T, 3].
        dtype: matmul compute dtype; parameters are float32.
        attention, attention_chunk, attention_dense_max: the attention path
            (``csum.nn.attention``: "auto", "dense", "chunked" or "cudnn").
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        dim: int = 256,
        heads: int = 8,
        ffn: int = 1024,
        layers: int = 1,
        bottleneck: int = 4,
        dropout: float = 0.1,
        audio: bool = False,
        query_dim: int = 0,
        positions: str = "sinusoidal",
        norm: str = "post",
        memory: int = 0,
        moments: bool = False,
        dtype=jnp.float32,
        attention: str = "auto",
        attention_chunk: int = 512,
        attention_dense_max: int = 4096,
    ):
        in_dims = tuple(in_dims)
        if audio and len(in_dims) < 2:
            raise ValueError(
                f"transformer(audio=True) needs a video and an audio source, got "
                f"{len(in_dims)} source(s)"
            )
        video_dims = in_dims[:-1] if audio else in_dims
        if norm not in ("post", "pre"):
            raise ValueError(f"transformer norm={norm!r}: expected 'post' or 'pre'")
        path = dict(impl=attention, chunk=attention_chunk, dense_max=attention_dense_max)
        pre_norm = norm == "pre"
        sizes = dict(
            layers=layers,
            heads=heads,
            ffn=ffn,
            dropout=dropout,
            dtype=dtype,
            path=path,
            positions=positions,
            pre_norm=pre_norm,
        )
        self.audio = audio
        self.streams = ("query",) if query_dim else ()
        self.video = ModalityEncoder(sum(video_dims), dim, rngs=rngs, memory=memory, **sizes)
        self.audio_encoder = (
            ModalityEncoder(in_dims[-1], dim, rngs=rngs, memory=memory, **sizes) if audio else None
        )
        n_modalities = 2 if audio else 1
        self.tokens = nnx.Param(0.02 * jax.random.normal(rngs.params(), (bottleneck, dim)))
        layer = dict(
            heads=heads,
            ffn=ffn,
            dropout=dropout,
            dtype=dtype,
            path=path,
            rngs=rngs,
            pre_norm=pre_norm,
        )
        self.gather = EncoderLayer(dim, **layer)
        self.scatter = nnx.List([EncoderLayer(dim, **layer) for _ in range(n_modalities)])
        self.query = ModalityEncoder(query_dim, dim, rngs=rngs, **sizes) if query_dim else None
        self.conditioning = EncoderLayer(dim, **layer) if query_dim else None
        self.head_hidden = dense(dim, dim, dtype=dtype, rngs=rngs)
        self.head_out = nnx.Linear(dim, 1, rngs=rngs)
        self.moment_hidden = dense(dim, dim, dtype=dtype, rngs=rngs) if moments else None
        self.moment_out = nnx.Linear(dim, 3, rngs=rngs) if moments else None

    def __call__(self, features, mask: jax.Array, query=None, query_mask=None):
        """Scores clips, optionally conditioned on a text query.

        Args:
            features: S arrays [B, T, D_s] (the last one audio when ``audio=True``).
            mask: [B, T] bool.
            query: optional [B, L, query_dim] text-token features.
            query_mask: [B, L] bool (default: all True).

        Returns:
            [B, T] scores in (0, 1), 0 at padding; with ``moments``, ``Outputs`` of those
            scores, their ``saliency`` logits and the ``moments`` [B, T, 3] head.
        """
        video = features[:-1] if self.audio else features
        streams = [self.video(jnp.concatenate(video, axis=-1), mask)]
        if self.audio_encoder is not None:
            streams.append(self.audio_encoder(features[-1], mask))
        B = mask.shape[0]
        # Bottleneck fusion: tokens read every modality, then each modality reads the tokens.
        clips = jnp.concatenate(streams, axis=1)
        clip_mask = jnp.concatenate([mask] * len(streams), axis=1)
        tokens = jnp.broadcast_to(self.tokens[...], (B, *self.tokens.shape))
        token_mask = jnp.ones(tokens.shape[:2], bool)
        tokens = self.gather(tokens, clips, clip_mask, mask=token_mask)
        h = sum(
            layer(s, tokens, token_mask, mask=mask)
            for layer, s in zip(self.scatter, streams, strict=True)
        )
        if query is not None and self.query is not None:
            query_mask = jnp.ones(query.shape[:2], bool) if query_mask is None else query_mask
            q = self.query(query, query_mask)
            h = self.conditioning(h, q, query_mask, mask=mask)
        logits = self.head_out(jax.nn.relu(self.head_hidden(h)))[..., 0].astype(jnp.float32)
        scores = jnp.where(mask, jax.nn.sigmoid(logits), 0.0)
        if self.moment_out is None:
            return scores
        moments = self.moment_out(jax.nn.relu(self.moment_hidden(h))).astype(jnp.float32)
        return Outputs(
            scores,
            saliency=jnp.where(mask, logits, 0.0),
            moments=jnp.where(mask[..., None], moments, 0.0),
        )


@BACKBONES.register("visionary")
class Visionary(Transformer):
    """The query-based moment retrieval and highlight detection transformer of ``004_…``
    (VisionaryVids): UMT's video and audio encoders, bottleneck fusion and query
    conditioning (``Transformer``), with the paper's changes: 2-D sine-cosine positions
    (section 2.2), persistent memory in the uni-modal encoders' self-attention (section
    2.3), pre-norm layers (section 3.1), and a moment head (UMT's anchor-free centre,
    width and offset per clip, ``csum.objectives.moments``). The paper trains it with Lion
    (``train.optimizer=lion``, section 2.4). The paper does not give the number of memory
    slots; 4 here.
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        positions: str = "sincos2d",
        norm: str = "pre",
        memory: int = 4,
        moments: bool = True,
        **kwargs,
    ):
        super().__init__(
            in_dims,
            rngs=rngs,
            positions=positions,
            norm=norm,
            memory=memory,
            moments=moments,
            **kwargs,
        )
