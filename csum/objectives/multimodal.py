"""The multimodal systems' own training losses, registered in ``csum.objectives.LOSSES``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from backbones.registry import outputs, settings
from csum.nn.ot import cosine_cost, ipot, transport_cost
from csum.objectives.alignment import (
    focal_loss,
    hard_negatives,
    inter_sample_loss,
    intra_sample_loss,
)
from csum.objectives.moments import moment_loss
from csum.objectives.registry import LOSSES, LossSpec


def soft_bce_with_logits(logits: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean binary cross-entropy with logits over the ``mask``ed entries (soft targets)."""
    x = logits.astype(jnp.float32)
    ce = -(target * jax.nn.log_sigmoid(x) + (1 - target) * jax.nn.log_sigmoid(-x))
    return jnp.sum(jnp.where(mask, ce, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def query_loss(model, batch, moment_weight: float = 1.0) -> jax.Array:
    """Query-based highlight detection and moment retrieval (UMT; ``004_…``, section 2).

    Saliency: binary cross-entropy with logits of each clip's relevance to the query
    (``targets["saliency"]``, the annotators' mean 0-4 score over 4) over the real clips;
    moments: ``csum.objectives.moments.moment_loss`` on ``targets["moments"]``.

    Args:
        model: a Summarizer whose backbone outputs ``saliency`` and ``moments``.
        batch: a ``Batch`` with the ``query`` stream and those targets.
        moment_weight: weight of the moment term.
    """
    out = outputs(model.backbone, batch.features, batch.mask, batch.streams)
    mask = batch.mask & batch.valid[:, None]
    t = batch.targets
    loss = soft_bce_with_logits(out.saliency, t["saliency"], mask)
    return loss + moment_weight * moment_loss(
        out.moments, t["moments"], t["moments_mask"], mask, batch.valid
    )


def a2summ_loss(
    model, batch, beta: float = 0.1, lam: float = 1.0, ratio: int = 16, expand: int = 1
) -> jax.Array:
    """A2Summ's objective (``000_…``, Eq. 9): ``L_cls + beta L_inter + lambda L_intra``.

    ``L_cls`` (Eqs. 4-5): the focal loss of the frame scores against the key frames
    (``targets["saliency"] > 0.5``, ``csum.multimodal.transcripts.key_steps``) plus that of
    the sentence scores against ``text_labels``.
    ``L_inter`` (Eq. 6): the [CLS] embeddings of each video-text pair against the batch's
    other pairs. ``L_intra`` (Eq. 8): key frames against key sentences within each pair,
    the top ``n / ratio`` non-key frames and sentences by predicted score (outside the key
    segments widened by ``expand``) as hard negatives; mean over the valid pairs. Eq. 7's
    temperature is the backbone's learned one.

    Args:
        model: a Summarizer whose backbone is ``a2summ`` (or returns the same extras).
        batch: a ``Batch`` with the ``text`` stream and the ``text_labels`` and
            ``saliency`` targets.
        beta, lam: the weights of Eq. 9 (the paper's TVSum values by default).
        ratio: the paper's r; expand: the widening of key segments.
    """
    out = outputs(model.backbone, batch.features, batch.mask, batch.streams)
    mask = batch.mask & batch.valid[:, None]
    text_mask = batch.streams["text_mask"] & batch.valid[:, None]
    key_frames = (batch.targets["saliency"] > 0.5) & mask
    key_sentences = (batch.targets["text_labels"] > 0) & text_mask
    cls = focal_loss(out.scores, key_frames, mask) + focal_loss(
        out.sentences, key_sentences, text_mask
    )
    x, tau = out.extras, out.extras["tau"]
    inter = inter_sample_loss(x["cls_video"], x["cls_text"], batch.valid, tau)
    hard = jax.vmap(hard_negatives, in_axes=(0, 0, 0, None, None))
    stop = jax.lax.stop_gradient  # the selection is by score; no gradient flows through it
    hard_f = hard(stop(out.scores), key_frames, mask, ratio, expand)
    hard_s = hard(stop(out.sentences), key_sentences, text_mask, ratio, expand)
    intra = jax.vmap(intra_sample_loss, in_axes=(0, 0, 0, 0, 0, 0, None))(
        x["frames"], x["sentence_states"], key_frames, key_sentences, hard_f, hard_s, tau
    )
    intra = jnp.sum(jnp.where(batch.valid, intra, 0.0)) / jnp.maximum(jnp.sum(batch.valid), 1)
    return cls + beta * inter + lam * intra


def mhms_loss(
    model, batch, ot_weight: float = 0.1, tau: float = 0.1, beta: float = 0.5, outer: int = 50
) -> jax.Array:
    """MHMS's modules trained together (``001_…``, sections 3.1-3.5 and 5.1).

    * segmentation: binary cross-entropy with logits of the boundary after every step but
      a video's last against ``targets["scene_ends"]``, and of the boundary after every
      sentence but the last against ``targets["text_ends"]`` (Eqs. 2-3's ``s_i``);
    * summarization: binary cross-entropy with logits of the step scores against the key
      frames (``targets["saliency"] > 0.5``) and of the sentence scores against
      ``text_labels``;
    * alignment: image-text matching of each video's key clips (their mean embedding)
      against its key sentences', with the batch's other videos as negatives (A2Summ's
      ``inter_sample_loss``, temperature ``tau``), regularised by ``ot_weight`` times the
      OT distance between the key clips and the key sentences (Eqs. 10-12; IPOT with
      ``beta`` and ``outer`` steps). The plan is held fixed in the gradient, which flows
      through the cost (as UNITER's WRA does): the plan is a solver's output, not a
      quantity to learn through ``outer`` steps.

    Args:
        model: a Summarizer whose backbone is ``mhms`` (or returns the same extras).
        batch: a ``Batch`` with the ``text`` stream and the ``saliency``, ``text_labels``,
            ``scene_ends`` and ``text_ends`` targets.
    """

    out = outputs(model.backbone, batch.features, batch.mask, batch.streams)
    x, t = out.extras, batch.targets
    mask = batch.mask & batch.valid[:, None]
    text_mask = batch.streams["text_mask"] & batch.valid[:, None]
    # a boundary after position k exists when position k + 1 is real
    after = lambda m: m & jnp.concatenate([m[:, 1:], jnp.zeros_like(m[:, :1])], 1)  # noqa: E731
    segmentation = soft_bce_with_logits(x["boundaries"], t["scene_ends"], after(mask))
    segmentation += soft_bce_with_logits(x["text_boundaries"], t["text_ends"], after(text_mask))
    key_frames = (t["saliency"] > 0.5) & mask
    key_sentences = (t["text_labels"] > 0) & text_mask
    summaries = soft_bce_with_logits(out.saliency, key_frames.astype(jnp.float32), mask)
    summaries += soft_bce_with_logits(
        x["sentence_logits"], key_sentences.astype(jnp.float32), text_mask
    )

    def pooled(z, m):
        return jnp.sum(jnp.where(m[..., None], z, 0), 1) / jnp.maximum(m.sum(1), 1)[:, None]

    both = batch.valid & key_frames.any(1) & key_sentences.any(1)
    video, text = pooled(x["clips"], key_frames), pooled(x["sentence_states"], key_sentences)
    matching = inter_sample_loss(video, text, both, tau)
    cost = cosine_cost(x["clips"].astype(jnp.float32), x["sentence_states"].astype(jnp.float32))
    plan = jax.lax.stop_gradient(
        ipot(jax.lax.stop_gradient(cost), key_frames, key_sentences, beta=beta, outer=outer)
    )
    ot = jnp.sum(jnp.where(both, transport_cost(cost, plan), 0.0)) / jnp.maximum(both.sum(), 1)
    return segmentation + summaries + matching + ot_weight * ot


@LOSSES.register("query")
def _query(spec: LossSpec):
    """``query_loss``; the backbone must predict moments (``moments=True``)."""
    kwargs = settings(spec.backbone, spec.backbone_kwargs)
    if not (kwargs.get("moments", False) and kwargs.get("query_dim", 0)):
        raise ValueError(
            f"train.regime=query needs a backbone that reads a query and "
            f"predicts moments (backbone.kwargs.query_dim > 0 and "
            f"backbone.kwargs.moments=true, as in 'visionary'); "
            f"{spec.backbone!r} is built with query_dim="
            f"{kwargs.get('query_dim')}, moments="
            f"{kwargs.get('moments')}"
        )
    weight = float(spec.loss.get("moment_weight", 1.0))
    return lambda model, batch, bank=None: query_loss(model, batch, weight)


@LOSSES.register("a2summ")
def _a2summ(spec: LossSpec):
    """``a2summ_loss``; the backbone must read a transcript and score sentences."""
    if spec.backbone != "a2summ":
        raise ValueError(
            f"train.regime=a2summ needs the a2summ backbone (frame and "
            f"sentence scores, [CLS] embeddings), not "
            f"{spec.backbone!r}"
        )
    weights = {k: spec.loss.get(k, d) for k, d in (("beta", 0.1), ("lam", 1.0), ("ratio", 16))}
    weights["ratio"] = int(weights["ratio"])
    return lambda model, batch, bank=None: a2summ_loss(model, batch, **weights)


@LOSSES.register("mhms")
def _mhms(spec: LossSpec):
    """``mhms_loss``; the backbone must be ``mhms`` (boundaries, alignment space)."""
    if spec.backbone != "mhms":
        raise ValueError(
            f"train.regime=mhms needs the mhms backbone (boundary logits, "
            f"alignment embeddings), not {spec.backbone!r}"
        )
    weight = float(spec.loss.get("ot_weight", 0.1))
    return lambda model, batch, bank=None: mhms_loss(model, batch, weight)
