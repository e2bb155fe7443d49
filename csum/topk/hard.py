"""Exact top-k with an optional straight-through gradient (ablations, inference)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from csum.topk.contract import OPERATORS, PAD_SCORE, TopK, temporal_order, vmap_leading

GRADIENTS = ("straight_through", "none")
"""``gradient`` of ``hard``: the straight-through estimator, or none."""


@OPERATORS.register("hard")
@vmap_leading
def hard(x, scores, mask, k: int, gradient: str = "straight_through", budget=None) -> TopK:
    """Exact top-k (ties broken by the lower index), for ablations and inference.

    Args:
        x: [T, D] features.
        scores: [T] scores.
        mask: [T] bool validity.
        k: static number of outputs; when k > T the extra outputs are padding-only.
        gradient: ``"straight_through"`` passes d(feature_i)/d(s_i) = x_i for each selected
            clip (the identity estimator of the 0/1 indicator); ``"none"`` stops it.
        budget: optional traced int, this video's own number of outputs (<= k): only its
            ``budget`` best clips are selected, the rest of the k outputs are padding.

    Returns:
        ``TopK`` with [k, D], [k], [k] in temporal order.
    """
    if gradient not in GRADIENTS:
        raise ValueError(f"hard top-k gradient must be one of {GRADIENTS}, not {gradient!r}")
    T = scores.shape[0]
    s = jnp.where(mask, scores, PAD_SCORE)
    if k > T:
        s = jnp.concatenate([s, jnp.full((k - T,), PAD_SCORE, s.dtype)])
        x = jnp.concatenate([x, jnp.zeros((k - T, x.shape[1]), x.dtype)])
        mask = jnp.concatenate([mask, jnp.zeros((k - T,), bool)])
    top_s, idx = jax.lax.top_k(s, k)
    chosen = mask[idx] if budget is None else mask[idx] & (jnp.arange(k) < budget)
    indicator = jnp.ones_like(top_s)
    if gradient == "straight_through":
        indicator = indicator + top_s - jax.lax.stop_gradient(top_s)
    picked = x[idx].astype(jnp.promote_types(x.dtype, jnp.float32))
    features = jnp.where(chosen[:, None], picked * indicator[:, None].astype(picked.dtype), 0)
    out_s = jnp.where(chosen, top_s, PAD_SCORE)
    return temporal_order(features, out_s, idx.astype(s.dtype))
