"""The attention modules of the backbones: VASNet-style single-head self-attention (Fajtl et
al., 2018; VASNet and MSVA) and multi-head attention (the transformer).

Both compute through ``csum.nn.attention.dot_product_attention``, so long videos take its
memory-bounded chunked path (or cuDNN's fused kernel) automatically; ``impl``, ``chunk``
and ``dense_max`` select it by hand.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from csum.nn.attention import dot_product_attention
from csum.nn.dropout import Dropout
from csum.nn.layers import dense


class SelfAttention(nnx.Module):
    """Single-head attention with optional local aperture, as in VASNet and MSVA.

    ``y = W_o (softmax(0.06 * (x W_q)(x W_k)^T) (x W_v))``; no biases; dropout on the
    attention weights. Keys at padded steps get no weight, so padding never reaches a real
    step.

    Args:
        dim: input and output width D.
        rngs: parameter and dropout RNGs.
        aperture: if > 0, a query attends only to keys with |i - j| < aperture.
        query_scale: the fixed query scale of the reference (0.06, instead of 1/sqrt(D)).
        dropout: dropout rate on the attention weights.
        dtype: matmul compute dtype (e.g. bfloat16); accumulation and softmax stay float32.
        impl, chunk, dense_max: the attention path (``csum.nn.attention``).
    """

    def __init__(
        self,
        dim: int,
        *,
        rngs: nnx.Rngs,
        aperture: int = 0,
        query_scale: float = 0.06,
        dropout: float = 0.5,
        dtype=jnp.float32,
        impl: str = "auto",
        chunk: int = 512,
        dense_max: int = 4096,
    ):
        def linear():
            return dense(dim, dim, use_bias=False, dtype=dtype, rngs=rngs)

        self.q, self.k, self.v, self.out = linear(), linear(), linear(), linear()
        self.dropout = Dropout(dropout, rngs=rngs)
        self.aperture = aperture
        self.query_scale = query_scale
        self.dtype = dtype
        self.path = dict(impl=impl, chunk=chunk, dense_max=dense_max)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        """Args: x [B, T, D], mask [B, T] bool. Returns: [B, T, D]."""
        q = self.q(x) * self.query_scale
        y = dot_product_attention(
            q,
            self.k(x),
            self.v(x),
            mask,
            aperture=self.aperture,
            dropout_rate=self.dropout.rate,
            dropout_words=self.dropout.words(),
            dtype=self.dtype,
            **self.path,
        )
        return self.out(y)


class MultiHeadAttention(nnx.Module):
    """Scaled dot-product attention with ``heads`` heads, from queries x to a context.

    ``y = W_o concat_h(softmax(q_h k_h^T / sqrt(d_h)) v_h)``, q from ``x``, k and v from
    ``context`` (self-attention when it is ``x``); keys where ``context_mask`` is False get
    no weight. Biases on every projection, as ``torch.nn.MultiheadAttention`` (UMT).

    Args:
        dim: model width (a multiple of ``heads``).
        rngs: parameter and dropout RNGs.
        heads: number of heads.
        dropout: dropout rate on the attention weights.
        dtype: matmul compute dtype; softmax and accumulation stay float32.
        impl, chunk, dense_max: the attention path (``csum.nn.attention``).
    """

    def __init__(
        self,
        dim: int,
        *,
        rngs: nnx.Rngs,
        heads: int = 8,
        dropout: float = 0.1,
        dtype=jnp.float32,
        impl: str = "auto",
        chunk: int = 512,
        dense_max: int = 4096,
    ):
        if dim % heads:
            raise ValueError(f"attention width {dim} is not a multiple of heads={heads}")

        def linear():
            return dense(dim, dim, dtype=dtype, rngs=rngs)

        self.q, self.k, self.v, self.out = linear(), linear(), linear(), linear()
        self.dropout = Dropout(dropout, rngs=rngs)
        self.heads = heads
        self.dtype = dtype
        self.path = dict(impl=impl, chunk=chunk, dense_max=dense_max)

    def __call__(self, x: jax.Array, context: jax.Array, context_mask: jax.Array) -> jax.Array:
        """Args: x [B, T, D], context [B, S, D], context_mask [B, S]. Returns: [B, T, D]."""
        B, T, D = x.shape
        S, H = context.shape[1], self.heads

        def split(y, n):  # [B, n, D] -> [B, H, n, D / H]
            return y.reshape(B, n, H, D // H).transpose(0, 2, 1, 3)

        q = split(self.q(x) * (D // H) ** -0.5, T)
        k, v = split(self.k(context), S), split(self.v(context), S)
        y = dot_product_attention(
            q,
            k,
            v,
            context_mask,
            dropout_rate=self.dropout.rate,
            dropout_words=self.dropout.words(),
            dtype=self.dtype,
            **self.path,
        )
        return self.out(y.transpose(0, 2, 1, 3).reshape(B, T, D))
