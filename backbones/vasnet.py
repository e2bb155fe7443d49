"""VASNet: video summarization with self-attention (Fajtl et al., ACCV 2018 workshops)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.attention import SelfAttention
from backbones.registry import BACKBONES
from csum.nn.dropout import Dropout
from csum.nn.layers import dense


@BACKBONES.register("vasnet")
class VASNet(nnx.Module):
    """One soft self-attention over all steps, a residual, then a two-layer score head.

    ``y = LN(dropout(attn(x) + x))``;
    ``score = sigmoid(kd(LN(dropout(relu(ka(y))))))`` with ka: D -> D and kd: D -> 1, the
    widths of the reference (D = 1024 for GoogLeNet features).

    Choices written down: several sources are concatenated into one D (the reference has
    one source); standard LayerNorm (the reference divides by std + eps, a LayerNorm
    without its variance bias); ``aperture`` > 0 restricts attention to a local window (the
    reference's ``apperture`` argument, off by default there too).

    Args:
        in_dims: feature size of each source (they are concatenated).
        rngs: parameter and dropout RNGs.
        aperture: attention window in steps; 0 for global attention.
        dropout: dropout rate (attention weights and the head), 0.5 in the reference.
        dtype: matmul compute dtype; parameters are float32.
        attention, attention_chunk, attention_dense_max: the attention path
            (``csum.nn.attention``: "auto", "dense", "chunked" or "cudnn").
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        aperture: int = 0,
        dropout: float = 0.5,
        dtype=jnp.float32,
        attention: str = "auto",
        attention_chunk: int = 512,
        attention_dense_max: int = 4096,
    ):
        D = sum(in_dims)
        self.attention = SelfAttention(
            D,
            aperture=aperture,
            dropout=dropout,
            dtype=dtype,
            impl=attention,
            chunk=attention_chunk,
            dense_max=attention_dense_max,
            rngs=rngs,
        )
        self.norm_y = nnx.LayerNorm(D, rngs=rngs)
        self.ka = dense(D, D, dtype=dtype, rngs=rngs)
        self.norm_ka = nnx.LayerNorm(D, rngs=rngs)
        self.kd = nnx.Linear(D, 1, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, features, mask: jax.Array) -> jax.Array:
        """Args: features: S arrays [B, T, D_s]; mask [B, T]. Returns: scores [B, T]."""
        x = jnp.concatenate(features, axis=-1)
        y = self.norm_y(self.dropout(self.attention(x, mask) + x))
        h = self.norm_ka(self.dropout(jax.nn.relu(self.ka(y))))
        scores = jax.nn.sigmoid(self.kd(h)[..., 0])
        return jnp.where(mask, scores, 0.0)
