"""UMT-style transformer: modality encoders, bottleneck fusion, query conditioning, saliency.

After UMT (Liu et al., "UMT: Unified Multi-modal Transformers for Joint Video Moment
Retrieval and Highlight Detection", CVPR 2022), reduced to what scores clips: its moment
decoder (query generator and decoder) predicts spans, which summaries do not use, and is
left out.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.attention import MultiHeadAttention
from backbones.registry import BACKBONES
from csum.dropout import Dropout
from csum.layers import dense
from csum.positions import sinusoidal_positions


class EncoderLayer(nnx.Module):
    """Post-norm transformer layer: ``x = LN(x + attn(x, ctx)); x = LN(x + FFN(x))``.

    Args:
        dim: width; heads, ffn: heads and feed-forward width; dropout: rate on attention
        weights and on each residual branch; dtype: matmul compute dtype; path: the
        attention path (``impl``, ``chunk``, ``dense_max`` of ``csum.attention``).
    """

    def __init__(self, dim: int, *, rngs: nnx.Rngs, heads: int, ffn: int, dropout: float,
                 dtype=jnp.float32, path=None):  # fmt: skip
        self.attention = MultiHeadAttention(dim, heads=heads, dropout=dropout, dtype=dtype,
                                            rngs=rngs, **(path or {}))  # fmt: skip
        self.norm_attention = nnx.LayerNorm(dim, rngs=rngs)
        self.ffn_in = dense(dim, ffn, dtype=dtype, rngs=rngs)
        self.ffn_out = dense(ffn, dim, dtype=dtype, rngs=rngs)
        self.norm_ffn = nnx.LayerNorm(dim, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, x, context=None, context_mask=None, *, mask):
        """x [B, T, D] with ``mask`` [B, T]; context (default: x itself) [B, S, D]."""
        if context is None:
            context, context_mask = x, mask
        x = self.norm_attention(x + self.dropout(self.attention(x, context, context_mask)))
        h = self.ffn_out(self.dropout(jax.nn.relu(self.ffn_in(x))))
        return self.norm_ffn(x + self.dropout(h))


class ModalityEncoder(nnx.Module):
    """Input projection, sinusoidal positions and ``layers`` self-attention layers."""

    def __init__(self, in_dim: int, dim: int, *, rngs: nnx.Rngs, layers: int, heads: int,
                 ffn: int, dropout: float, dtype=jnp.float32, path=None):  # fmt: skip
        self.project = dense(in_dim, dim, dtype=dtype, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.layers = nnx.List(
            [EncoderLayer(dim, heads=heads, ffn=ffn, dropout=dropout, dtype=dtype, path=path,
                          rngs=rngs)
             for _ in range(layers)]
        )  # fmt: skip
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        h = self.norm(self.project(self.dropout(x)))
        h = h + sinusoidal_positions(x.shape[1], h.shape[-1])
        for layer in self.layers:
            h = layer(h, mask=mask)
        return h


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
        query_dim: text-query token size; 0 builds no query branch.
        dtype: matmul compute dtype; parameters are float32.
        attention, attention_chunk, attention_dense_max: the attention path
            (``csum.attention``: "auto", "dense", "chunked" or "cudnn").
    """

    def __init__(self, in_dims, *, rngs: nnx.Rngs, dim: int = 256, heads: int = 8,
                 ffn: int = 1024, layers: int = 1, bottleneck: int = 4, dropout: float = 0.1,
                 audio: bool = False, query_dim: int = 0, dtype=jnp.float32,
                 attention: str = "auto", attention_chunk: int = 512,
                 attention_dense_max: int = 4096):  # fmt: skip
        in_dims = tuple(in_dims)
        if audio and len(in_dims) < 2:
            raise ValueError(f"transformer(audio=True) needs a video and an audio source, got "
                             f"{len(in_dims)} source(s)")  # fmt: skip
        video_dims = in_dims[:-1] if audio else in_dims
        path = dict(impl=attention, chunk=attention_chunk, dense_max=attention_dense_max)
        sizes = dict(layers=layers, heads=heads, ffn=ffn, dropout=dropout, dtype=dtype,
                     path=path)  # fmt: skip
        self.audio = audio
        self.video = ModalityEncoder(sum(video_dims), dim, rngs=rngs, **sizes)
        self.audio_encoder = (
            ModalityEncoder(in_dims[-1], dim, rngs=rngs, **sizes) if audio else None
        )
        n_modalities = 2 if audio else 1
        self.tokens = nnx.Param(0.02 * jax.random.normal(rngs.params(), (bottleneck, dim)))
        layer = dict(heads=heads, ffn=ffn, dropout=dropout, dtype=dtype, path=path, rngs=rngs)
        self.gather = EncoderLayer(dim, **layer)
        self.scatter = nnx.List([EncoderLayer(dim, **layer) for _ in range(n_modalities)])
        self.query = ModalityEncoder(query_dim, dim, rngs=rngs, **sizes) if query_dim else None
        self.conditioning = EncoderLayer(dim, **layer) if query_dim else None
        self.head_hidden = dense(dim, dim, dtype=dtype, rngs=rngs)
        self.head_out = nnx.Linear(dim, 1, rngs=rngs)

    def __call__(self, features, mask: jax.Array, query=None, query_mask=None) -> jax.Array:
        """Scores clips, optionally conditioned on a text query.

        Args:
            features: S arrays [B, T, D_s] (the last one audio when ``audio=True``).
            mask: [B, T] bool.
            query: optional [B, L, query_dim] text-token features.
            query_mask: [B, L] bool (default: all True).

        Returns:
            [B, T] scores in (0, 1), 0 at padding.
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
        h = sum(layer(s, tokens, token_mask, mask=mask)
                for layer, s in zip(self.scatter, streams, strict=True))  # fmt: skip
        if query is not None and self.query is not None:
            query_mask = jnp.ones(query.shape[:2], bool) if query_mask is None else query_mask
            q = self.query(query, query_mask)
            h = self.conditioning(h, q, query_mask, mask=mask)
        scores = jax.nn.sigmoid(self.head_out(jax.nn.relu(self.head_hidden(h)))[..., 0])
        return jnp.where(mask, scores, 0.0)
