"""The multimodal systems' own training losses, registered in ``csum.objectives.LOSSES``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from backbones.registry import outputs
from csum.multimodal.moments import moment_loss


def soft_bce_with_logits(logits: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean binary cross-entropy with logits over the ``mask``ed entries (soft targets)."""
    x = logits.astype(jnp.float32)
    ce = -(target * jax.nn.log_sigmoid(x) + (1 - target) * jax.nn.log_sigmoid(-x))
    return jnp.sum(jnp.where(mask, ce, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def query_loss(model, batch, moment_weight: float = 1.0) -> jax.Array:
    """Query-based highlight detection and moment retrieval (UMT; ``004_…``, section 2).

    Saliency: binary cross-entropy with logits of each clip's relevance to the query
    (``targets["saliency"]``, the annotators' mean 0-4 score over 4) over the real clips;
    moments: ``csum.multimodal.moments.moment_loss`` on ``targets["moments"]``.

    Args:
        model: a Summarizer whose backbone outputs ``saliency`` and ``moments``.
        batch: a ``Batch`` with the ``query`` stream and those targets.
        moment_weight: weight of the moment term.
    """
    out = outputs(model.backbone, batch.features, batch.mask, batch.streams)
    mask = batch.mask & batch.valid[:, None]
    t = batch.targets
    loss = soft_bce_with_logits(out.saliency, t["saliency"], mask)
    return loss + moment_weight * moment_loss(out.moments, t["moments"], t["moments_mask"],
                                              mask, batch.valid)  # fmt: skip


def _register():
    from csum.objectives import LOSSES

    @LOSSES.register("query")
    def _query(config):
        """``query_loss``; the backbone must predict moments (``moments=True``)."""
        from backbones.registry import settings

        kwargs = settings(config.backbone.name, config.backbone.kwargs)
        if not (kwargs.get("moments", False) and kwargs.get("query_dim", 0)):
            raise ValueError(f"train.regime=query needs a backbone that reads a query and "
                             f"predicts moments (backbone.kwargs.query_dim > 0 and "
                             f"backbone.kwargs.moments=true, as in 'visionary'); "
                             f"{config.backbone.name!r} is built with query_dim="
                             f"{kwargs.get('query_dim')}, moments="
                             f"{kwargs.get('moments')}")  # fmt: skip
        weight = float(config.loss.get("moment_weight", 1.0))
        return lambda model, batch, bank=None: query_loss(model, batch, weight)


_register()
