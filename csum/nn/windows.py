"""Sub-video windows for the clip-contrastive distance (the CSUM paper, Eq. 4).

Pure jax.numpy. The learned projector (``csum/nn/projector.py``) embeds every window of ``n``
consecutive clips; this module says which windows are valid and averages their normalised
embeddings. Because the expected inner product over window pairs is bilinear,

    dist_n(S, X) = E_i E_j <z(S_i:i+n), z(X_j:j+n)> = <mean_i z(S_i:i+n), mean_j z(X_j:j+n)>,

so each sequence needs only its mean window embedding.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def safe_normalize(v: jax.Array, eps: float = 1e-12) -> jax.Array:
    """L2-normalises the last axis as ``v * rsqrt(sum(v * v) + eps)``.

    A plain ``v / norm(v)`` has a NaN gradient at v = 0, and padded windows are zero.
    """
    return v * jax.lax.rsqrt(jnp.sum(v * v, axis=-1, keepdims=True) + eps)


def pad_to_window(x: jax.Array, mask: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
    """Zeroes masked clips and pads the time axis to at least ``n`` steps.

    Args:
        x: [..., T, D] features.
        mask: [..., T] bool validity.
        n: window length.

    Returns:
        x [..., max(T, n), D] with zeros at masked and padded steps, and its mask.
    """
    x = jnp.where(mask[..., None], x, 0)
    T = x.shape[-2]
    if n > T:
        pad = [(0, 0)] * (x.ndim - 2) + [(0, n - T), (0, 0)]
        x = jnp.pad(x, pad)
        mask = jnp.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, n - T)])
    return x, mask


def window_mask(mask: jax.Array, n: int) -> jax.Array:
    """Validity of each length-``n`` window.

    A window is valid when all its clips are valid. A sequence with fewer than ``n`` valid
    clips instead contributes exactly one window, its first, zero-padded (valid clips are
    expected first, as the batching and the top-k compaction produce them).

    Args:
        mask: [..., T] bool validity with T >= n (see ``pad_to_window``).
        n: window length.

    Returns:
        [..., T - n + 1] bool.
    """
    counts = jnp.cumsum(jnp.pad(mask.astype(jnp.int32), [(0, 0)] * (mask.ndim - 1) + [(1, 0)]), -1)
    in_window = counts[..., n:] - counts[..., :-n]
    full = in_window == n
    short = jnp.sum(mask, axis=-1) < n
    first = jnp.arange(full.shape[-1]) == 0
    return full | (short[..., None] & first)


def mean_embedding(z: jax.Array, wmask: jax.Array) -> jax.Array:
    """Mean of the L2-normalised window embeddings over valid windows.

    Args:
        z: [..., W, E] window embeddings (unnormalised).
        wmask: [..., W] bool window validity.

    Returns:
        [..., E] mean normalised embedding (zero when no window is valid).
    """
    z = safe_normalize(z.astype(jnp.float32)) * wmask[..., None]
    count = jnp.maximum(jnp.sum(wmask, axis=-1, keepdims=True), 1)
    return jnp.sum(z, axis=-2) / count


def clip_mean(values: jax.Array, wmask: jax.Array, n: int, T: int) -> jax.Array:
    """Each clip's mean of ``values`` over the valid windows that cover it.

    Window w covers clips w .. w + n - 1. A clip that no valid window covers gets 0.

    Args:
        values: [..., W] one value per window.
        wmask: [..., W] bool window validity.
        n: window length.
        T: number of clips (W = max(T, n) - n + 1).

    Returns:
        [..., T] float32.
    """
    v = jnp.where(wmask, values.astype(jnp.float32), 0.0)
    c = wmask.astype(jnp.float32)
    width = T + n - 1  # pad so that clip t sums windows t - n + 1 .. t
    pad = [(0, 0)] * (v.ndim - 1) + [(n - 1, width - (n - 1) - v.shape[-1] + 1)]
    cv = jnp.cumsum(jnp.pad(v, pad), -1)
    cc = jnp.cumsum(jnp.pad(c, pad), -1)
    total = cv[..., n - 1 : n - 1 + T] - jnp.pad(cv, [(0, 0)] * (v.ndim - 1) + [(1, 0)])[..., :T]
    count = cc[..., n - 1 : n - 1 + T] - jnp.pad(cc, [(0, 0)] * (v.ndim - 1) + [(1, 0)])[..., :T]
    return jnp.where(count > 0, total / jnp.maximum(count, 1), 0.0)
