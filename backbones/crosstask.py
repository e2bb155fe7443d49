"""The two modules of joint video summarization and moment localization (``003_…``).

Jiang and Mu, "Joint Video Summarization and Moment Localization by Cross-Task Sample
Transfer" (CVPR 2022), supplementary sections A and B:

* ``crosstask_sm``, the summarization module (SM, supplement Fig. 1): a linear layer,
  multi-head self-attention and a fully connected layer, each with a residual and layer
  normalisation, then the importance map (one sigmoid score per step). The figure shows no
  positions; none are added (self-attention over the steps, as in VASNet).
* ``crosstask_lm``, the localization module (LM, supplement Fig. 2): linear projections of
  the video and of the query tokens, a convolution and multi-head self-attention on each
  (residuals, layer normalisation), the context-query attention layer (Eqs. 1-3,
  ``csum.nn.crossmodal.context_query_attention``), then the query-conditioned importance map
  and, for moment retrieval, the anchor-free moment head that ``visionary`` uses
  (``csum.objectives.moments``).

Not specified in the supplement, and chosen here: the convolution's kernel (5, depthwise
as in QANet, the layer's source [3]), sinusoidal positions in the LM (QANet's encoder
has them), the feed-forward network of Eq. 3 (two layers, ReLU), and the span
prediction: the main paper is not available here, so its span head is replaced by the
moment head shared with ``visionary`` (one decoder and one loss for every query model).
The cross-task sample transfer of the main paper (collaborative teaching between SM and LM
through propagated importance maps) is described only by the supplement's Fig. 3 caption
and is not built.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.registry import BACKBONES, Outputs
from backbones.transformer import EncoderLayer
from csum.nn.crossmodal import context_query_attention
from csum.nn.dropout import Dropout
from csum.nn.layers import dense
from csum.nn.positions import sinusoidal_positions


def _sizes(dim, heads, dropout, dtype):
    return dict(heads=heads, ffn=2 * dim, dropout=dropout, dtype=dtype)


@BACKBONES.register("crosstask_sm")
class CrossTaskSM(nnx.Module):
    """The summarization module SM (module docstring).

    Args:
        in_dims: feature size of each source (concatenated).
        rngs: parameter and dropout RNGs.
        dim: hidden size H; heads: attention heads; dropout: rate.
        dtype: matmul compute dtype.
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        dim: int = 128,
        heads: int = 4,
        dropout: float = 0.1,
        dtype=jnp.float32,
    ):
        self.project = dense(sum(in_dims), dim, dtype=dtype, rngs=rngs)
        self.layer = EncoderLayer(dim, rngs=rngs, **_sizes(dim, heads, dropout, dtype))
        self.head = nnx.Linear(dim, 1, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, features, mask: jax.Array) -> jax.Array:
        """features: S arrays [B, T, D_s]; mask [B, T] -> [B, T] scores, 0 at padding."""
        h = self.project(self.dropout(jnp.concatenate(features, axis=-1)))
        h = self.layer(h, mask=mask)
        scores = jax.nn.sigmoid(self.head(h)[..., 0].astype(jnp.float32))
        return jnp.where(mask, scores, 0.0)


class ConvBlock(nnx.Module):
    """``x + DepthwiseConv(LN(x))`` over time, padding kept out (QANet's conv layer)."""

    def __init__(self, dim: int, *, rngs: nnx.Rngs, kernel: int = 5):
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.conv = nnx.Conv(
            dim, dim, kernel_size=(kernel,), feature_group_count=dim, padding="SAME", rngs=rngs
        )

    def __call__(self, x, mask):
        h = jnp.where(mask[..., None], self.norm(x), 0.0)  # padding never enters a window
        return jnp.where(mask[..., None], x + jax.nn.relu(self.conv(h)), 0.0)


@BACKBONES.register("crosstask_lm")
class CrossTaskLM(nnx.Module):
    """The localization module LM (module docstring); reads the ``query`` stream.

    Args:
        in_dims: feature size of each visual source (concatenated).
        rngs: parameter and dropout RNGs.
        query_dim: query token size.
        dim: hidden size H; heads: attention heads; dropout: rate; kernel: convolution.
        moments: build the moment head (returns ``Outputs``).
        dtype: matmul compute dtype.
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        query_dim: int,
        dim: int = 128,
        heads: int = 4,
        dropout: float = 0.1,
        kernel: int = 5,
        moments: bool = True,
        dtype=jnp.float32,
    ):
        self.streams = ("query",)
        sizes = _sizes(dim, heads, dropout, dtype)
        self.project_video = dense(sum(in_dims), dim, dtype=dtype, rngs=rngs)
        self.project_query = dense(query_dim, dim, dtype=dtype, rngs=rngs)
        self.conv_video = ConvBlock(dim, kernel=kernel, rngs=rngs)
        self.conv_query = ConvBlock(dim, kernel=kernel, rngs=rngs)
        self.attend_video = EncoderLayer(dim, rngs=rngs, **sizes)
        self.attend_query = EncoderLayer(dim, rngs=rngs, **sizes)
        self.fuse_hidden = dense(4 * dim, dim, dtype=dtype, rngs=rngs)  # Eq. 3's FFN
        self.fuse_out = dense(dim, dim, dtype=dtype, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.head = nnx.Linear(dim, 1, rngs=rngs)
        self.moment_hidden = dense(dim, dim, dtype=dtype, rngs=rngs) if moments else None
        self.moment_out = nnx.Linear(dim, 3, rngs=rngs) if moments else None
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, features, mask: jax.Array, query=None, query_mask=None):
        """Scores steps by their relevance to the query.

        Args:
            features: S arrays [B, T, D_s]; mask: [B, T] bool.
            query: [B, L, query_dim] token features; query_mask: [B, L] bool.

        Returns:
            ``Outputs``: scores [B, T] in (0, 1), their ``saliency`` logits and (with
            ``moments``) the moment head [B, T, 3]; 0 at padding.
        """
        if query is None:
            raise ValueError("crosstask_lm reads a query: give the 'query' stream")
        query_mask = jnp.ones(query.shape[:2], bool) if query_mask is None else query_mask
        v = self.project_video(self.dropout(jnp.concatenate(features, axis=-1)))
        v = v + sinusoidal_positions(v.shape[1], v.shape[-1]).astype(v.dtype)
        q = self.project_query(self.dropout(query))
        q = q + sinusoidal_positions(q.shape[1], q.shape[-1]).astype(q.dtype)
        v = self.attend_video(self.conv_video(v, mask), mask=mask)
        q = self.attend_query(self.conv_query(q, query_mask), mask=query_mask)
        t, t_bar = context_query_attention(v, q, mask, query_mask)  # Eqs. 1-2
        v32 = v.astype(jnp.float32)
        fused = jnp.concatenate([v32, t_bar, v32 * t, v32 * t_bar], axis=-1).astype(v.dtype)
        s = self.fuse_out(self.dropout(jax.nn.relu(self.fuse_hidden(fused))))  # Eq. 3
        s = self.norm(v + s)
        logits = self.head(s)[..., 0].astype(jnp.float32)
        scores = jnp.where(mask, jax.nn.sigmoid(logits), 0.0)
        moments = None
        if self.moment_out is not None:
            moments = self.moment_out(jax.nn.relu(self.moment_hidden(s))).astype(jnp.float32)
            moments = jnp.where(mask[..., None], moments, 0.0)
        return Outputs(scores, saliency=jnp.where(mask, logits, 0.0), moments=moments)
