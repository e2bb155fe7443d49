"""Contrastive loss over videos and their summaries (SPEC section 4, paper Eq. 1). Pure JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp

_NEG = -1e9  # logit for excluded pairs; finite so that fully masked rows stay NaN-free


def ntxent(videos: jax.Array, summaries: jax.Array, valid: jax.Array, tau: float,
           bank: jax.Array | None = None,
           bank_valid: jax.Array | None = None) -> jax.Array:  # fmt: skip
    """NT-Xent (SimCLR) loss over a batch of videos and their summaries (Eq. 1).

    The 2B embeddings ``[u_1..u_B, v_1..v_B]`` (video b and its summary) form the anchors.
    The positive of ``u_b`` is ``v_b`` and vice versa; every other valid embedding is a
    negative. Similarity is the plain inner product ``<a, c>`` of the mean window embeddings,
    i.e. ``dist_n`` of Eq. 4::

        loss = mean_a [ -<a, p(a)>/tau + log sum_{c != a} exp(<a, c>/tau) ]

    Args:
        videos: [B, E] mean window embedding u_b of each video.
        summaries: [B, E] mean window embedding v_b of each summary.
        valid: [B] bool, False for batch slots that hold no video (padding of the batch);
            they are neither anchors nor negatives.
        tau: temperature.
        bank: optional [N, E] more negatives for every anchor (the mean window embeddings
            of other videos, e.g. every training video: ``csum.banks.video_bank``); no
            gradient flows into them.
        bank_valid: [N] bool, False for bank rows that must not count (padding, and the
            batch's own videos, which are already anchors).

    Returns:
        Scalar loss averaged over valid anchors.
    """
    B = videos.shape[0]
    e = jnp.concatenate([videos, summaries], axis=0).astype(jnp.float32)
    ok = jnp.concatenate([valid, valid])
    logits = e @ e.T / tau
    allowed = ok[None, :] & ~jnp.eye(2 * B, dtype=bool)
    logits = jnp.where(allowed, logits, _NEG)
    positive = jnp.concatenate([jnp.arange(B, 2 * B), jnp.arange(B)])
    pos_logit = jnp.take_along_axis(logits, positive[:, None], axis=1)[:, 0]
    if bank is not None:
        extra = e @ jax.lax.stop_gradient(bank).astype(jnp.float32).T / tau
        logits = jnp.concatenate([logits, jnp.where(bank_valid[None, :], extra, _NEG)], axis=1)
    per_anchor = jax.nn.logsumexp(logits, axis=1) - pos_logit
    return jnp.sum(jnp.where(ok, per_anchor, 0)) / jnp.maximum(jnp.sum(ok), 1)


def window_nce(windows: jax.Array, index: jax.Array, bank: jax.Array, bank_owner: jax.Array,
               tau: float) -> jax.Array:  # fmt: skip
    """Multi-positive InfoNCE of each window of a video against every video's windows.

    Eq. 1 contrasts whole summaries with the few other videos of a batch. Here a window
    ``z`` of video b is the anchor; the windows of its own video are its positives and
    the windows of every other video of the collection (a bank) its negatives::

        loss(z) = -log( sum_{w in b} exp(<z, w>/tau) / sum_{w in bank} exp(<z, w>/tau) )

    At a small tau the two sums are kernel densities of the window within its video and
    within the whole collection, and the loss is minus the log of their ratio: a window
    whose content recurs in other videos (stock footage, a backdrop that five of fifty
    videos share) is expensive, one that only its own video has is cheap.

    Args:
        windows: [B, W, E] unit-norm window embeddings of B videos.
        index: [B] int, each video's number in ``bank_owner``.
        bank: [M, E] unit-norm window embeddings of every video of the collection, these
            B included; no gradient flows into them.
        bank_owner: [M] int, the video of each bank row, -1 for padding rows.
        tau: temperature.

    Returns:
        [B, W] loss of every window (>= 0; padded windows give finite garbage, mask them).
    """
    z = windows.astype(jnp.float32)
    logits = jnp.einsum("bwe,me->bwm", z, jax.lax.stop_gradient(bank).astype(jnp.float32)) / tau
    present = bank_owner >= 0
    own = present[None, :] & (bank_owner[None, :] == index[:, None])  # [B, M]
    everyone = jax.nn.logsumexp(jnp.where(present[None, None, :], logits, _NEG), axis=-1)
    return everyone - jax.nn.logsumexp(jnp.where(own[:, None, :], logits, _NEG), axis=-1)
