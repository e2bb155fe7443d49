"""Fixed sine-cosine position encodings (no parameters).

* ``sinusoidal_positions``: Vaswani et al. (2017), 1-D, the UMT-style transformer's.
* ``sincos_2d``: the 2-D variant of "Better plain ViT baselines" (Beyer et al. 2022),
  which the query-based highlight transformer of ``004_…`` (section 2.3) uses instead: a
  grid position (y, x) gets ``[sin(y w), cos(y w), sin(x w), cos(x w)]`` with
  ``w_i = 1 / temperature^(i / (dim/4 - 1))``, a quarter of the width each.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sinusoidal_positions(length: int, dim: int) -> jax.Array:
    """[length, dim] fixed positions (Vaswani et al. 2017): sin on even, cos on odd columns."""
    pos = jnp.arange(length, dtype=jnp.float32)[:, None]
    freq = jnp.exp(-jnp.log(10000.0) * jnp.arange(0, dim, 2, dtype=jnp.float32) / dim)
    table = jnp.zeros((length, dim), jnp.float32)
    table = table.at[:, 0::2].set(jnp.sin(pos * freq))
    return table.at[:, 1::2].set(jnp.cos(pos * freq[: dim // 2]))


def sincos_2d(height: int, width: int, dim: int, temperature: float = 10000.0) -> jax.Array:
    """[height * width, dim] 2-D sine-cosine positions, row-major over the grid.

    Args:
        height, width: the grid (a clip sequence of length T laid out as (1, T) gives each
            clip its x position; the y quarter-blocks are then constant).
        dim: width, a multiple of 4.
        temperature: the frequencies' base.
    """
    if dim % 4:
        raise ValueError(f"sincos_2d: dim must be a multiple of 4, got {dim}")
    y, x = jnp.meshgrid(
        jnp.arange(height, dtype=jnp.float32), jnp.arange(width, dtype=jnp.float32), indexing="ij"
    )
    quarter = dim // 4
    omega = 1.0 / temperature ** (jnp.arange(quarter, dtype=jnp.float32) / max(quarter - 1, 1))
    y, x = y.reshape(-1)[:, None] * omega, x.reshape(-1)[:, None] * omega
    return jnp.concatenate([jnp.sin(y), jnp.cos(y), jnp.sin(x), jnp.cos(x)], axis=1)
