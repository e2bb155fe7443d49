"""The window projector h of the clip-contrastive distance (the CSUM paper, Eq. 4)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from csum.nn import precision, windows
from csum.nn.layers import dense


class WindowProjector(nnx.Module):
    """Embeds every window of ``n`` consecutive clips and averages the unit embeddings.

    h applied to a flattened window [n * D] is exactly a 1-D convolution with kernel n over
    time, so the first layer is ``Conv(D -> hidden, kernel n, VALID)``, then ReLU and a
    linear layer to the embedding size. The convolution is computed as the sum of n
    shifted products ``sum_o (x @ K[o])[:, o:o+W]`` so that it runs in the mixed precision of
    ``csum.nn.precision`` (XLA:CPU's convolution has no fast bf16 path); it equals
    ``lax.conv_general_dilated`` with a VALID padding (tested). Each window embedding is
    L2-normalised (safely) and the sequence is represented by the mean over its valid
    windows; the inner product of two such means is ``dist_n`` of Eq. 4. With ``n = 1`` it
    reduces to Eq. 3 on projected clips.

    Args:
        in_dim: clip feature size D.
        rngs: parameter RNGs.
        window: sub-video length n.
        hidden: width of the convolution.
        embed: embedding size.
        dtype: matmul compute dtype; parameters and the normalisation are float32.
    """

    def __init__(
        self,
        in_dim: int,
        *,
        rngs: nnx.Rngs,
        window: int = 10,
        hidden: int = 256,
        embed: int = 128,
        dtype=jnp.float32,
    ):
        self.window = window
        self.dtype = dtype
        fan_in = nnx.initializers.lecun_normal(in_axis=(0, 1), out_axis=2)
        self.kernel = nnx.Param(fan_in(rngs.params(), (window, in_dim, hidden)))
        self.bias = nnx.Param(jnp.zeros((hidden,)))
        self.out = dense(hidden, embed, dtype=dtype, rngs=rngs)

    def conv(self, x: jax.Array) -> jax.Array:
        """VALID temporal convolution: [B, T, D] -> [B, T - n + 1, hidden]."""
        W = x.shape[1] - self.window + 1
        # Each tap multiplies the whole sequence and its output is shifted: slicing the
        # narrow outputs instead of the wide inputs avoids n input copies (2x faster here).
        x = x.astype(self.dtype)
        y = sum(
            precision.einsum("btd,dh->bth", x, self.kernel[o], self.dtype)[:, o : o + W]
            for o in range(self.window)
        )
        return y + self.bias

    def embed_windows(self, x: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Every window's embedding, unnormalised.

        Args:
            x: [B, T, D] features.
            mask: [B, T] bool (valid first).

        Returns:
            z [B, W, embed] with W = max(T, n) - n + 1, and its window mask [B, W] bool.
        """
        x, mask = windows.pad_to_window(x, mask, self.window)
        return self.out(jax.nn.relu(self.conv(x))), windows.window_mask(mask, self.window)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        """Args: x [B, T, D], mask [B, T] bool (valid first). Returns: [B, embed] mean."""
        return windows.mean_embedding(*self.embed_windows(x, mask))
