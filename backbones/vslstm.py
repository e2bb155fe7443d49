"""vsLSTM: bidirectional LSTM score predictor (Zhang et al., ECCV 2016)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.registry import BACKBONES
from csum.nn.dropout import Dropout
from csum.nn.layers import bilstm, dense


@BACKBONES.register("vslstm")
class VsLSTM(nnx.Module):
    """BiLSTM over the (concatenated) sources; an MLP scores ``[x_t, h_fwd_t, h_bwd_t]``.

    The backward LSTM starts at each video's last real step (``seq_lengths``), so trailing
    padding never reaches a real step. Head: Linear(D + 2H -> H) -> tanh -> Linear(H -> 1)
    -> sigmoid, the one-hidden-layer MLP of the reference.

    Args:
        in_dims: feature size of each source (they are concatenated).
        rngs: parameter and dropout RNGs.
        hidden: LSTM state size H per direction (256 in the reference).
        dropout: dropout on the MLP input.
        dtype: matmul compute dtype; parameters are float32.
    """

    def __init__(
        self, in_dims, *, rngs: nnx.Rngs, hidden: int = 256, dropout: float = 0.5, dtype=jnp.float32
    ):
        D = sum(in_dims)
        self.lstm = bilstm(D, hidden, rngs=rngs)
        self.mlp_hidden = dense(D + 2 * hidden, hidden, dtype=dtype, rngs=rngs)
        self.mlp_out = nnx.Linear(hidden, 1, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def trunk(self, features, mask: jax.Array) -> jax.Array:
        """[B, T, D + 2H]: each step's features beside both LSTM states (after dropout)."""
        x = jnp.concatenate(features, axis=-1)
        lengths = jnp.sum(mask, axis=-1).astype(jnp.int32)
        h = self.lstm(x, seq_lengths=lengths)
        return self.dropout(jnp.concatenate([x, h], axis=-1))

    def score_head(self, z: jax.Array, mask: jax.Array) -> jax.Array:
        """[B, T] scores in (0, 1) from the trunk output, 0 at padding."""
        scores = jax.nn.sigmoid(self.mlp_out(jnp.tanh(self.mlp_hidden(z)))[..., 0])
        return jnp.where(mask, scores, 0.0)

    def __call__(self, features, mask: jax.Array) -> jax.Array:
        """Args: features: S arrays [B, T, D_s]; mask [B, T]. Returns: scores [B, T]."""
        return self.score_head(self.trunk(features, mask), mask)
