"""Flax layers that compute their products through ``csum.nn.precision``."""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from csum.nn.precision import dot_general_for


def dense(
    in_features: int, out_features: int, *, rngs: nnx.Rngs, use_bias: bool = True, dtype=jnp.float32
) -> nnx.Linear:
    """A float32-parameter ``nnx.Linear`` whose product runs in ``dtype`` (float32 out).

    The layer itself stays float32 (no input promotion), so weight gradients come back in
    float32; only the product's operands are cast, inside ``dot_general_for(dtype)``.
    """
    return nnx.Linear(
        in_features, out_features, use_bias=use_bias, dot_general=dot_general_for(dtype), rngs=rngs
    )


def bilstm(in_features: int, hidden: int, *, rngs: nnx.Rngs) -> nnx.Bidirectional:
    """A bidirectional LSTM [B, T, in] -> [B, T, 2 * hidden] (forward, then backward state).

    Call it with ``seq_lengths`` [B]: the backward LSTM then starts at each sequence's last
    real step, so trailing padding never reaches a real step. The recurrence stays float32
    (a few hundred wide steps gain nothing from bf16).
    """

    def rnn(reverse: bool) -> nnx.RNN:
        cell = nnx.OptimizedLSTMCell(in_features, hidden, rngs=rngs)
        return nnx.RNN(cell, reverse=reverse, keep_order=True, rngs=rngs)

    return nnx.Bidirectional(rnn(False), rnn(True), rngs=rngs)
