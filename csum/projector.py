"""The window projector h of the clip-contrastive distance (SPEC section 3, Eq. 4)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from csum import windows


class WindowProjector(nnx.Module):
    """Embeds every window of ``n`` consecutive clips and averages the unit embeddings.

    h applied to a flattened window [n * D] is exactly a 1-D convolution with kernel n over
    time, so the first layer is ``Conv(D -> hidden, kernel n, VALID)``, then ReLU and a
    linear layer to the embedding size. Each window embedding is L2-normalised (safely) and
    the sequence is represented by the mean over its valid windows; the inner product of two
    such means is ``dist_n`` of Eq. 4. With ``n = 1`` it reduces to Eq. 3 on projected clips.

    Args:
        in_dim: clip feature size D.
        rngs: parameter RNGs.
        window: sub-video length n.
        hidden: width of the convolution.
        embed: embedding size.
        dtype: matmul compute dtype; parameters and the normalisation are float32.
    """

    def __init__(self, in_dim: int, *, rngs: nnx.Rngs, window: int = 10, hidden: int = 256,
                 embed: int = 128, dtype=jnp.float32):  # fmt: skip
        self.window = window
        self.conv = nnx.Conv(in_dim, hidden, (window,), padding="VALID", dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(hidden, embed, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        """Args: x [B, T, D], mask [B, T] bool (valid first). Returns: [B, embed] mean."""
        x, mask = windows.pad_to_window(x, mask, self.window)
        z = self.out(jax.nn.relu(self.conv(x)))
        return windows.mean_embedding(z, windows.window_mask(mask, self.window))
