"""A2Summ's losses (``000_…``, section 3.4), as pure masked functions.

* ``focal_loss``: the per-step classification loss of Eq. 5 (a focal binary
  cross-entropy on key frames and key sentences), ``L_cls = L_video + L_text``;
* ``inter_sample_loss``: Eq. 6, CLIP-style: each video's [CLS] embedding against every
  text [CLS] of the batch (its own pair positive), and the reverse;
* ``hard_negatives`` and ``intra_sample_loss``: Eq. 8: within one video-text pair, key
  frames against key sentences, with the highest-scored non-key steps (outside the key
  segments widened by ``expand`` steps) as hard negatives, and the reverse.

``contrast`` is Eq. 7, the contrastive term all three share. No Flax, no config.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def focal_loss(
    p: jax.Array,
    y: jax.Array,
    mask: jax.Array,
    alpha: float = 0.25,
    gamma: float = 2.0,
    eps: float = 1e-6,
) -> jax.Array:
    """Eq. 5: ``-alpha (1-p)^gamma log p`` on positives, ``-(1-alpha) p^gamma log(1-p)``
    on negatives, mean over valid steps.

    Args:
        p: [..., N] predicted probabilities; y: [..., N] 0/1 labels; mask: [..., N] bool.
        alpha, gamma: the focal weights (RetinaNet's defaults; A2Summ does not state its).
        eps: clip of p away from 0 and 1.

    Returns:
        [] the mean over every valid step of the batch.
    """
    p = jnp.clip(p.astype(jnp.float32), eps, 1 - eps)
    pos = -alpha * (1 - p) ** gamma * jnp.log(p)
    neg = -(1 - alpha) * p**gamma * jnp.log(1 - p)
    per = jnp.where(y > 0, pos, neg)
    return jnp.sum(jnp.where(mask, per, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def contrast(
    z: jax.Array, positive: jax.Array, negatives: jax.Array, negative_mask: jax.Array, tau: float
) -> jax.Array:
    """Eq. 7: ``-log(e^{z.z+/tau} / (e^{z.z+/tau} + sum_k e^{z.z-_k/tau}))``.

    Args:
        z: [..., E]; positive: [..., E]; negatives: [..., K, E]; negative_mask: [..., K].
        tau: temperature.

    Returns:
        [...] the loss of each anchor.
    """
    pos = jnp.sum(z * positive, axis=-1) / tau
    neg = jnp.einsum("...e,...ke->...k", z, negatives) / tau
    neg = jnp.where(negative_mask, neg, -jnp.inf)
    return jax.nn.logsumexp(jnp.concatenate([pos[..., None], neg], axis=-1), axis=-1) - pos


def inter_sample_loss(
    cls_video: jax.Array, cls_text: jax.Array, valid: jax.Array, tau: float
) -> jax.Array:
    """Eq. 6 on L2-normalised [CLS] embeddings (cosine similarity, as CLIP).

    Args:
        cls_video, cls_text: [B, E]; valid: [B] bool (padding pairs are no anchors and no
            negatives); tau: temperature.

    Returns:
        [] the mean over valid pairs of both directions' losses, summed (Eq. 6's two
        expectations).
    """
    v, t = _unit(cls_video), _unit(cls_text)
    eye = jnp.eye(v.shape[0], dtype=bool)
    others = valid[None, :] & ~eye  # row j: the other valid pairs
    n = jnp.maximum(jnp.sum(valid), 1)
    b = jnp.broadcast_to
    v2t = contrast(v, t, b(t, (v.shape[0], *t.shape)), others, tau)
    t2v = contrast(t, v, b(v, (t.shape[0], *v.shape)), others, tau)
    return (jnp.sum(jnp.where(valid, v2t, 0.0)) + jnp.sum(jnp.where(valid, t2v, 0.0))) / n


def hard_negatives(
    scores: jax.Array, labels: jax.Array, mask: jax.Array, ratio: int, expand: int = 1
) -> jax.Array:
    """A2Summ's hard negatives of one sequence (Fig. 3a): the ``floor(n / ratio)``
    highest-scored valid steps outside the key segments widened by ``expand`` steps on
    each side (adjacent frames look like key frames; the paper does not give the width).

    Args:
        scores: [N] predicted scores; labels: [N] 0/1 key steps; mask: [N] bool valid.
        ratio: the paper's r (16 on SumMe and TVSum).
        expand: steps added on each side of every key segment.

    Returns:
        [N] bool.
    """
    key = labels > 0
    widened = key
    for shift in range(1, expand + 1):
        widened = widened | jnp.roll(key, shift).at[:shift].set(False)
        widened = widened | jnp.roll(key, -shift).at[-shift:].set(False)
    free = mask & ~widened
    k = jnp.sum(mask) // ratio
    order = jnp.argsort(jnp.where(free, -scores, jnp.inf))  # best free steps first
    rank = jnp.zeros_like(order).at[order].set(jnp.arange(order.shape[0]))
    return free & (rank < k)


def intra_sample_loss(
    frames: jax.Array,
    sentences: jax.Array,
    key_frames: jax.Array,
    key_sentences: jax.Array,
    hard_frames: jax.Array,
    hard_sentences: jax.Array,
    tau: float,
) -> jax.Array:
    """Eq. 8 for one video-text pair, on L2-normalised embeddings.

    Every (key frame, key sentence) pair is a positive pair; a key frame's negatives are
    the hard-negative frames, a key sentence's the hard-negative sentences. The
    expectation is the mean over the pairs; 0 when a pair has no key frame or sentence.

    Args:
        frames: [N, E]; sentences: [M, E]; key_frames, hard_frames: [N] bool;
        key_sentences, hard_sentences: [M] bool; tau: temperature.

    Returns:
        [] the loss.
    """
    f, s = _unit(frames), _unit(sentences)

    def side(anchor, other, anchor_key, other_key, hard):
        sim = anchor @ other.T / tau  # [A, O] anchor . positive
        neg = jnp.where(hard[None, :], anchor @ anchor.T / tau, -jnp.inf)  # [A, A]
        neg_lse = jax.nn.logsumexp(neg, axis=-1)  # [A]: log sum_k e^{z.z-_k/tau}
        loss = jnp.logaddexp(sim, neg_lse[:, None]) - sim
        pairs = anchor_key[:, None] & other_key[None, :]
        return jnp.sum(jnp.where(pairs, loss, 0.0)) / jnp.maximum(jnp.sum(pairs), 1)

    return side(f, s, key_frames, key_sentences, hard_frames) + side(
        s, f, key_sentences, key_frames, hard_sentences
    )


def _unit(x: jax.Array, eps: float = 1e-8) -> jax.Array:
    x = x.astype(jnp.float32)
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)
