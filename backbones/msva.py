"""MSVA: multi-source visual attention (Ghauri et al., ICIP 2021), 1..S feature sources."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.attention import SelfAttention
from backbones.registry import BACKBONES
from csum.nn.dropout import Dropout
from csum.nn.layers import dense


@BACKBONES.register("msva")
class MSVA(nnx.Module):
    """Per-source VASNet attention, fused by summation, then an MLP score head.

    For each source s: ``y_s = LN_s(dropout(attn_s(x_s) + x_s))``; ``y = sum_s y_s``;
    ``score = sigmoid(kd(LN(dropout(relu(kc(kb(ka(y))))))))`` with widths
    D -> 365 -> 365 -> 512 -> 1, as the reference implementation (which, unlike the paper's
    wording, has no nonlinearity between ka, kb and kc; we follow the code).

    Choices written down: one attention per source (the paper; the public code shares one
    attention across sources, set ``share_attention=True`` for that); sources whose width
    differs from the first are first mapped to it by a bias-free linear layer (the reference
    only fuses equal widths); standard LayerNorm (the reference divides by std + eps).
    Sources must already have a common length (the data reader resamples them).

    Args:
        in_dims: feature size of each source.
        rngs: parameter and dropout RNGs.
        hidden: width of ka and kb.
        head: width of kc.
        aperture: attention window (MSVA default 250 steps); 0 for global attention.
        dropout: dropout rate.
        share_attention: one attention module for all sources, as the public code.
        dtype: matmul compute dtype; parameters are float32.
        attention, attention_chunk, attention_dense_max: the attention path
            (``csum.nn.attention``: "auto", "dense", "chunked" or "cudnn").
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        hidden: int = 365,
        head: int = 512,
        aperture: int = 250,
        dropout: float = 0.5,
        share_attention: bool = False,
        dtype=jnp.float32,
        attention: str = "auto",
        attention_chunk: int = 512,
        attention_dense_max: int = 4096,
    ):
        D = in_dims[0]
        n_attn = 1 if share_attention else len(in_dims)
        self.adapters = nnx.List(
            [
                dense(d, D, use_bias=False, dtype=dtype, rngs=rngs) if d != D else None
                for d in in_dims
            ]
        )
        self.attention = nnx.List(
            [
                SelfAttention(
                    D,
                    aperture=aperture,
                    dropout=dropout,
                    dtype=dtype,
                    impl=attention,
                    chunk=attention_chunk,
                    dense_max=attention_dense_max,
                    rngs=rngs,
                )
                for _ in range(n_attn)
            ]
        )
        self.norms = nnx.List([nnx.LayerNorm(D, rngs=rngs) for _ in range(n_attn)])
        self.ka = dense(D, hidden, dtype=dtype, rngs=rngs)
        self.kb = dense(hidden, hidden, dtype=dtype, rngs=rngs)
        self.kc = dense(hidden, head, dtype=dtype, rngs=rngs)
        self.norm_head = nnx.LayerNorm(head, rngs=rngs)
        self.kd = nnx.Linear(head, 1, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, features, mask: jax.Array) -> jax.Array:
        """Args: features: S arrays [B, T, D_s]; mask [B, T]. Returns: scores [B, T]."""
        fused = 0.0
        for s, x in enumerate(features):
            if self.adapters[s] is not None:
                x = self.adapters[s](x)
            i = 0 if len(self.attention) == 1 else s
            y = self.attention[i](x, mask) + x
            fused = fused + self.norms[i](self.dropout(y))
        h = self.kc(self.kb(self.ka(fused)))
        h = self.norm_head(self.dropout(jax.nn.relu(h)))
        scores = jax.nn.sigmoid(self.kd(h)[..., 0])
        return jnp.where(mask, scores, 0.0)
