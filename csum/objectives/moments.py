"""Moment retrieval as per-clip centre detection: targets, loss and decoding (pure JAX).

UMT (Liu et al. 2022, section 3.4) and the query-based transformer of ``004_…`` predict
moments without anchors: for every clip, how likely a moment is centred there, how wide it
is and where exactly its centre lies. csum's head does the same, CenterNet-style (Zhou et
al. 2019), in clip units:

* ``moments[..., 0]``: the logit that a moment's centre falls in the clip;
* ``moments[..., 1]``: the moment's log-width, ``log(end - start)`` (clips);
* ``moments[..., 2]``: the centre's offset from the clip's middle, in [-0.5, 0.5).

A ground-truth moment [s, e) (steps, end exclusive) has centre ``c = (s + e) / 2``; its
clip is ``floor(c)``. The centre target is a Gaussian of standard deviation ``width / 6``
around that clip (max over the video's moments), trained with CenterNet's penalty-reduced
focal loss (its Eq. 1, alpha 2, beta 4); width and offset are trained with L1 at the
centre clips only. Decoding keeps the local maxima of the centre probability (a 3-clip
max-pool, CenterNet's NMS) and reads each one's window.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def centre_targets(moments: jax.Array, moment_mask: jax.Array, steps: int):
    """Per-clip training targets of a batch of moment sets.

    Args:
        moments: [B, M, 2] step spans (start inclusive, end exclusive), float or int.
        moment_mask: [B, M] bool, True for real moments.
        steps: T, the padded length.

    Returns:
        ``(heat [B, T] in [0, 1] with 1 exactly at centre clips, log_width [B, T],
        offset [B, T], is_centre [B, T] bool)``; width and offset are those of the moment
        centred in the clip (the widest, when several are).
    """
    m = moments.astype(jnp.float32)
    start, end = m[..., 0], m[..., 1]
    width = jnp.maximum(end - start, 1.0)
    centre = (start + end) / 2
    clip = jnp.clip(jnp.floor(centre), 0, steps - 1)  # [B, M]
    t = jnp.arange(steps, dtype=jnp.float32)
    sigma = jnp.maximum(width / 6, 0.5)
    gauss = jnp.exp(-0.5 * ((t[None, None] - clip[..., None]) / sigma[..., None]) ** 2)
    gauss = jnp.where(moment_mask[..., None], gauss, 0.0)
    heat = jnp.max(gauss, axis=1)
    hit = (t[None, None] == clip[..., None]) & moment_mask[..., None]  # [B, M, T]
    is_centre = jnp.any(hit, axis=1)
    chosen = jnp.where(hit, width[..., None], 0.0)
    best = jnp.argmax(chosen, axis=1)  # [B, T]: the widest moment centred in the clip
    take = lambda x: jnp.take_along_axis(x, best, axis=1)  # noqa: E731
    log_width = jnp.log(take(jnp.broadcast_to(width, moment_mask.shape)))
    offset = take(centre - clip) - 0.5
    return heat, log_width, offset, is_centre


def centre_focal_loss(
    logits: jax.Array, heat: jax.Array, mask: jax.Array, alpha: float = 2.0, beta: float = 4.0
) -> jax.Array:
    """CenterNet's penalty-reduced focal loss (Zhou et al. 2019, Eq. 1), per video.

    Args:
        logits: [B, T] centre logits.
        heat: [B, T] Gaussian targets (1 at centres).
        mask: [B, T] bool real clips.
        alpha, beta: the focusing exponents.

    Returns:
        [B] loss of each video, normalised by its number of centres (at least one).
    """
    x = logits.astype(jnp.float32)
    p = jax.nn.sigmoid(x)
    log_p, log_q = jax.nn.log_sigmoid(x), jax.nn.log_sigmoid(-x)
    centre = heat >= 1.0
    pos = (1 - p) ** alpha * log_p
    neg = (1 - heat) ** beta * p**alpha * log_q
    per_clip = -jnp.where(centre, pos, neg)
    n = jnp.maximum(jnp.sum(centre & mask, axis=-1), 1)
    return jnp.sum(jnp.where(mask, per_clip, 0.0), axis=-1) / n


def moment_loss(
    pred: jax.Array, moments: jax.Array, moment_mask: jax.Array, mask: jax.Array, valid: jax.Array
) -> jax.Array:
    """Centre focal loss plus L1 on log-width and offset at the centres, batch mean.

    Args:
        pred: [B, T, 3] the head's output (module docstring).
        moments, moment_mask: the ground truth (``centre_targets``).
        mask: [B, T] bool real clips; valid: [B] bool real videos.

    Returns:
        Scalar loss over the valid videos (0 when none has a moment).
    """
    heat, log_width, offset, is_centre = centre_targets(moments, moment_mask, mask.shape[1])
    focal = centre_focal_loss(pred[..., 0], heat, mask)
    at = is_centre & mask
    l1 = jnp.abs(pred[..., 1] - log_width) + jnp.abs(pred[..., 2] - offset)
    reg = jnp.sum(jnp.where(at, l1, 0.0), axis=-1) / jnp.maximum(jnp.sum(at, axis=-1), 1)
    has = valid & jnp.any(moment_mask, axis=-1)
    per_video = jnp.where(has, focal + reg, 0.0)
    return jnp.sum(per_video) / jnp.maximum(jnp.sum(has), 1)


def decode(pred: jax.Array, mask: jax.Array, top: int) -> tuple[jax.Array, jax.Array]:
    """The ``top`` best moments of each video from the head's output.

    Args:
        pred: [B, T, 3] head output.
        mask: [B, T] bool real clips.
        top: moments returned per video (fewer real ones: their scores are -inf).

    Returns:
        ``(spans [B, top, 2] in clips, clipped to [0, n_clips], scores [B, top])``, best
        first; a score is the centre probability of a local maximum.
    """
    p = jnp.where(mask, jax.nn.sigmoid(pred[..., 0].astype(jnp.float32)), -1.0)
    pooled = jax.lax.reduce_window(p, -jnp.inf, jax.lax.max, (1, 3), (1, 1), "SAME")
    peak = (p >= pooled) & mask
    score = jnp.where(peak, p, -jnp.inf)
    top = min(top, mask.shape[1])
    best, clip = jax.lax.top_k(score, top)
    take = lambda x: jnp.take_along_axis(x, clip, axis=1)  # noqa: E731
    centre = clip.astype(jnp.float32) + 0.5 + take(pred[..., 2].astype(jnp.float32))
    half = jnp.exp(take(pred[..., 1].astype(jnp.float32))) / 2
    n = jnp.sum(mask, axis=-1, keepdims=True).astype(jnp.float32)
    spans = jnp.stack([jnp.clip(centre - half, 0, n), jnp.clip(centre + half, 0, n)], -1)
    return spans, best
