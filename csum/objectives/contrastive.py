"""CSUM's objective without labels: summaries contrasted with their videos (paper Eq. 1).

``ntxent`` and ``window_nce`` are the pure contrastive losses; ``csum_loss`` selects the
summary with the differentiable top-k and applies one of them; the ``csum`` regime of
``LOSSES`` binds it.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from backbones.registry import outputs
from csum import topk
from csum.data.batching import Batch
from csum.objectives.registry import LOSSES, LossSpec

_NEG = -1e9  # logit for excluded pairs; finite so that fully masked rows stay NaN-free


def ntxent(
    videos: jax.Array,
    summaries: jax.Array,
    valid: jax.Array,
    tau: float,
    bank: jax.Array | None = None,
    bank_valid: jax.Array | None = None,
) -> jax.Array:
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
            of other videos, e.g. every training video: ``csum.model.banks.video_bank``); no
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


def window_nce(
    windows: jax.Array, index: jax.Array, bank: jax.Array, bank_owner: jax.Array, tau: float
) -> jax.Array:
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


SCORES = ("raw", "standardized")
"""``topk.scores``: what the top-k sees, the backbone's scores as they are, or each video's
scores standardised (``standardize_scores``)."""


def standardize_scores(scores: jax.Array, mask: jax.Array, eps: float = 1e-6) -> jax.Array:
    """Each video's scores as ``(s - mean) / std`` over its valid clips (padding: 0).

    The soft top-k's sharpness ``alpha`` then acts on the spread of the scores, not on the
    level and range that a sigmoid head happens to output. With raw scores, training drove
    the sigmoid of several backbones into saturation (every score 1.0 to four decimals;
    ``docs/learning.md``): the pairwise weights turned to 1/2, the summary to a blur, and
    the gradient through the sigmoid to zero. A standardised input is invariant to shifts
    and scales of the scores, so nothing rewards that drift.

    Args:
        scores: [B, T] scores.
        mask: [B, T] bool validity.
        eps: added to the variance.

    Returns:
        [B, T] standardised scores.
    """
    n = jnp.maximum(jnp.sum(mask, axis=-1, keepdims=True), 1)
    s = jnp.where(mask, scores.astype(jnp.float32), 0.0)
    mean = jnp.sum(s, axis=-1, keepdims=True) / n
    var = jnp.sum(jnp.where(mask, (s - mean) ** 2, 0.0), axis=-1, keepdims=True) / n
    return jnp.where(mask, (s - mean) * jax.lax.rsqrt(var + eps), 0.0)


def csum_loss(
    model,
    batch: Batch,
    *,
    ratio: float,
    tau: float,
    operator: str,
    operator_kwargs: dict,
    bank=None,
    scores: str = "raw",
    negatives: str = "batch",
) -> jax.Array:
    """The unsupervised CSUM objective on one padded batch (the CSUM paper, Eqs. 1-4).

    scores = g(features); S = soft top-k of X by scores, each video with its own budget
    ``k_b = ceil(ratio * T_b)`` (exact integers, ``csum.topk.summary_budget``) inside the
    bucket's static ``k = ceil(ratio * T)`` outputs, so every video's summary and gradient
    are those it would get alone, whatever bucket it is padded to. Then, by ``negatives``:

    * ``"batch"`` (the paper) or ``"all"``: NT-Xent (Eq. 1, ``ntxent``) between the mean
      window embeddings of each video and of its summary, against the other videos and
      summaries of the batch (``"all"``: and every training video's embedding);
    * ``"windows"``: the mean over the summary's clips of each clip's window InfoNCE
      against every training video's windows (``csum.objectives.contrastive.window_nce``,
      precomputed per clip by ``csum.model.banks.window_bank``). The top-k then selects the per-clip
      losses themselves (a 1-wide feature), so the loss is linear in the soft selection: it is the
      loss of the *real* clips the summary holds, weighted by how much it holds them, and a blur of
      many clips (which resembles no real window and has a small loss of its own) cannot lower it
      (``docs/learning.md``).

    Args:
        model: a ``csum.model.summarizer.Summarizer`` (its backbone, contrast features
            and projector).
        batch: a padded ``Batch``.
        ratio: summary length ratio.
        tau: NT-Xent temperature (``"windows"``: unused here, baked into the bank).
        operator: top-k operator name (``csum.topk`` registry).
        operator_kwargs: its hyperparameters (e.g. alpha); a stochastic operator also gets
            a fresh key from the model's ``topk`` stream.
        bank: with ``negatives="all"``, ``(embeddings [N, E], present [N] bool)`` of
            every training video (``csum.model.banks.video_bank``), more negatives for every
            anchor, the rows of the batch's own videos (``batch.index``) left out; with
            ``negatives="windows"``, [N, T_max] float32, every training video's per-clip
            window InfoNCE (``csum.model.banks.window_bank``), row ``batch.index``.
        scores: ``"raw"`` or ``"standardized"`` (``standardize_scores``): what the top-k
            ranks.
        negatives: ``"batch"``, ``"all"`` or ``"windows"`` (above).

    Returns:
        Scalar loss.
    """
    if scores not in SCORES:
        raise ValueError(f"topk.scores must be one of {SCORES}, not {scores!r}")
    ranked = outputs(model.backbone, batch.features, batch.mask, batch.streams).scores
    if scores == "standardized":
        ranked = standardize_scores(ranked, batch.mask)
    T = batch.mask.shape[1]
    k = topk.summary_budget(ratio, T)
    budget = topk.summary_budget(ratio, batch.length)
    if operator in topk.STOCHASTIC:
        operator_kwargs = {**operator_kwargs, "key": model.topk_rngs.topk()}
    if operator == "successive_halving":  # every budget here needs at most this many rounds
        operator_kwargs = {**operator_kwargs, "max_depth": topk.depth_bound(ratio)}
    select = functools.partial(
        topk.get(operator), scores=ranked, k=k, mask=batch.mask, budget=budget, **operator_kwargs
    )
    if negatives == "windows":
        clip_loss = jnp.take(bank, jnp.maximum(batch.index, 0), axis=0)[:, :T]
        held = select(jnp.where(batch.mask, clip_loss, 0.0)[..., None]).features[..., 0]
        per_video = jnp.sum(held, axis=-1) / jnp.maximum(budget, 1)  # padding outputs are 0
        return jnp.sum(jnp.where(batch.valid, per_video, 0)) / jnp.maximum(jnp.sum(batch.valid), 1)
    x = model.contrast_features(batch.features)
    selected = select(x)
    videos = model.projector(x, batch.mask)
    # Outputs beyond a budget are padding and come last: the summary mask is a prefix.
    summaries = model.projector(selected.features, topk.valid_outputs(selected))
    if bank is None:
        return ntxent(videos, summaries, batch.valid, tau)
    embeddings, present = bank
    rows = jnp.arange(embeddings.shape[0])
    in_batch = jnp.any(rows[:, None] == batch.index[None, :], axis=1)
    return ntxent(videos, summaries, batch.valid, tau, embeddings, present & ~in_batch)


@LOSSES.register("csum")
def _csum(spec: LossSpec):
    """CSUM's contrastive objective without labels (``csum_loss``)."""
    return functools.partial(
        csum_loss,
        ratio=spec.ratio,
        tau=spec.loss["tau"],
        operator=spec.operator,
        operator_kwargs=dict(spec.operator_kwargs),
        scores=spec.scores,
        negatives=spec.loss["negatives"],
    )
