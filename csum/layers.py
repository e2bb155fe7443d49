"""Flax layers that compute their products through ``csum.precision``."""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from csum.precision import dot_general_for


def dense(in_features: int, out_features: int, *, rngs: nnx.Rngs, use_bias: bool = True,
          dtype=jnp.float32) -> nnx.Linear:  # fmt: skip
    """A float32-parameter ``nnx.Linear`` whose product runs in ``dtype`` (float32 out).

    The layer itself stays float32 (no input promotion), so weight gradients come back in
    float32; only the product's operands are cast, inside ``dot_general_for(dtype)``.
    """
    return nnx.Linear(in_features, out_features, use_bias=use_bias,
                      dot_general=dot_general_for(dtype), rngs=rngs)  # fmt: skip
