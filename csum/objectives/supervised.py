"""The supervised "default training regime" of the backbones (paper Table 1's comparison rows).

Each backbone's original loss on labels, sharing CSUM's trainer, data and evaluation:

* every backbone: mean squared error between its scores and the video's min-max-normalised
  ``gtscore`` (vsLSTM, VASNet and MSVA train this way; Zhang et al. 2016 Eq. 3, Fajtl et
  al. 2018, Ghauri et al. 2021);
* dppLSTM adds the negative log-likelihood of the ground-truth keyframes under its DPP
  (Zhang et al. 2016 Eq. 6), weighted by ``loss.dpp_weight``.

The labels themselves are prepared once per video on the host (``csum.data.labels``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from backbones.registry import outputs
from csum.objectives.registry import LOSSES, LossSpec


def mse(scores: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean squared error over the real steps of the batch.

    Args:
        scores: [B, T]; target: [B, T]; mask: [B, T] bool (False at padding and in empty
            slots).

    Returns:
        Scalar.
    """
    se = jnp.where(mask, (scores - target) ** 2, 0.0)
    return jnp.sum(se) / jnp.maximum(jnp.sum(mask), 1)


def _cholesky(a: jax.Array) -> jax.Array:
    """Lower Cholesky factor of SPD [..., n, n] matrices, by n rank-one updates in XLA ops.

    Not ``jnp.linalg.cholesky``: its LAPACK custom call, inside one program with dppLSTM's
    LSTM scans, deadlocked the XLA:CPU runtime (jax 0.10.2: every thread idle, the second
    or third step never returned). Plain XLA ops cost O(n^3) the same way, and n here is
    the diversity width (``phi_dim``), not the video length.
    """
    n = a.shape[-1]
    rows = jnp.arange(n)

    def column(j, carry):
        a, chol = carry
        col = jax.lax.dynamic_index_in_dim(a, j, axis=-1, keepdims=False)  # [..., n]
        pivot = jax.lax.dynamic_index_in_dim(col, j, axis=-1, keepdims=True)
        c = jnp.where(rows >= j, col * jax.lax.rsqrt(pivot), 0.0)
        chol = jax.lax.dynamic_update_index_in_dim(chol, c, j, axis=-1)
        return a - c[..., :, None] * c[..., None, :], chol

    return jax.lax.fori_loop(0, n, column, (a, jnp.zeros_like(a)))[1]


def _triangular_inverse(chol: jax.Array) -> jax.Array:
    """L^{-1} of lower-triangular [..., n, n] matrices, by forward substitution (XLA ops)."""
    n = chol.shape[-1]
    eye = jnp.eye(n, dtype=chol.dtype)

    def row(i, inv):
        l_i = jax.lax.dynamic_index_in_dim(chol, i, axis=-2, keepdims=False)  # [..., n]
        # Row i of L^{-1}: (e_i - sum_{k < i} L_ik X_k) / L_ii; rows k >= i of inv are 0.
        rest = jnp.einsum("...k,...kn->...n", l_i, inv)
        x = (eye[i] - rest) / jax.lax.dynamic_index_in_dim(l_i, i, axis=-1, keepdims=True)
        return jax.lax.dynamic_update_index_in_dim(inv, x, i, axis=-2)

    return jax.lax.fori_loop(0, n, row, jnp.zeros_like(chol))


@jax.custom_vjp
def logdet_spd(a: jax.Array) -> jax.Array:
    """log det of symmetric positive-definite [..., n, n] matrices; gradient A^{-1}.

    Returns:
        [...] log determinants.
    """
    chol = _cholesky(a)
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def _logdet_fwd(a):
    chol = _cholesky(a)
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1), chol


def _logdet_bwd(chol, g):
    inv = _triangular_inverse(chol)
    a_inv = jnp.einsum("...kn,...km->...nm", inv, inv)  # A^{-1} = L^{-T} L^{-1}
    return (g[..., None, None] * a_inv,)


logdet_spd.defvjp(_logdet_fwd, _logdet_bwd)


def dpp_nll(
    quality: jax.Array, phi: jax.Array, selected: jax.Array, mask: jax.Array, jitter: float = 1e-3
) -> jax.Array:
    """-log P(Y) of a DPP with kernel L = diag(q) (Phi Phi^T) diag(q), per video.

    P(Y) = det(L_Y) / det(L + I) (Kulesza and Taskar 2012, Eq. 2.2; Zhang et al. 2016 Eq. 6),
    with ``jitter`` I added to L_Y: a set with two identical diversity features would
    otherwise have probability 0 and an infinite loss. Both determinants are taken in the
    F x F space of the diversity features (Sylvester's identity det(I_m + B B^T) =
    det(I_F + B^T B), with B = diag(q) Phi restricted to the set): with B_Y of K rows,

        log det(L + I)           = log det(I_F + B^T B),
        log det(L_Y + jitter I_K) = (K - F) log(jitter) + log det(jitter I_F + B_Y^T B_Y),

    so the cost is O(T F^2 + F^3) whatever the video length, shapes stay static, and
    padding (q = 0) adds nothing to either sum.

    Args:
        quality: [B, T] quality q in (0, 1) (the scores).
        phi: [B, T, F] unit diversity features.
        selected: [B, T] bool ground-truth set Y.
        mask: [B, T] bool real steps.
        jitter: added to the diagonal of L_Y.

    Returns:
        [B] negative log-likelihoods (0 for an empty slot).
    """
    F = phi.shape[-1]
    b = jnp.where(mask, quality, 0.0)[..., None].astype(jnp.float32) * phi.astype(jnp.float32)
    y = selected & mask
    b_y = jnp.where(y[..., None], b, 0.0)
    eye = jnp.eye(F, dtype=jnp.float32)
    # One batched factorisation of both matrices: the loop's steps are the cost.
    everything, chosen = logdet_spd(
        jnp.stack(
            [
                eye + jnp.einsum("btf,btg->bfg", b, b),
                jitter * eye + jnp.einsum("btf,btg->bfg", b_y, b_y),
            ]
        )
    )
    k = jnp.sum(y, axis=-1).astype(jnp.float32)
    return everything - (k - F) * jnp.log(jitter) - chosen


def supervised_loss(model, batch, *, dpp_weight: float) -> jax.Array:
    """MSE to the normalised gtscore, plus dppLSTM's DPP term when ``dpp_weight`` > 0.

    The DPP term is each video's negative log-likelihood divided by its number of steps
    (log det grows with the video's length, the MSE does not), averaged over the batch.

    Args:
        model: a Summarizer (only its backbone is used; a DPP needs the backbone's
            ``scores_and_diversity``).
        batch: a padded ``Batch`` with ``target`` and ``keyframes``.
        dpp_weight: weight of the DPP term.

    Returns:
        Scalar loss.
    """
    mask = batch.mask & batch.valid[:, None]
    if dpp_weight > 0:
        scores, phi = model.backbone.scores_and_diversity(batch.features, batch.mask)
    else:
        scores = outputs(model.backbone, batch.features, batch.mask, batch.streams).scores
    loss = mse(scores, batch.target, mask)
    if dpp_weight > 0:
        nll = dpp_nll(scores, phi, batch.keyframes, mask)
        per_step = nll / jnp.maximum(batch.length, 1)
        loss = loss + dpp_weight * jnp.sum(jnp.where(batch.valid, per_step, 0.0)) / jnp.maximum(
            jnp.sum(batch.valid), 1
        )
    return loss


def saliency_bce(
    scores: jax.Array, target: jax.Array, mask: jax.Array, eps: float = 1e-6
) -> jax.Array:
    """UMT's saliency loss: binary cross-entropy of per-clip highlight labels, masked.

    The backbones output probabilities (a sigmoid head), so this is the cross-entropy on
    them, clipped to [eps, 1 - eps]; inside the clip it equals binary cross-entropy with
    logits on the head's logit.

    Args:
        scores: [B, T] probabilities.
        target: [B, T] labels in [0, 1].
        mask: [B, T] bool (False at padding and in empty slots).

    Returns:
        Scalar mean over the real clips.
    """
    p = jnp.clip(scores.astype(jnp.float32), eps, 1 - eps)
    ce = -(target * jnp.log(p) + (1 - target) * jnp.log1p(-p))
    return jnp.sum(jnp.where(mask, ce, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def saliency_loss(model, batch) -> jax.Array:
    """``saliency_bce`` of the backbone's scores against the batch's labels (``target``)."""
    mask = batch.mask & batch.valid[:, None]
    scores = outputs(model.backbone, batch.features, batch.mask, batch.streams).scores
    return saliency_bce(scores, batch.target, mask)


@LOSSES.register("supervised")
def _supervised(spec: LossSpec):
    """The backbones' own summarization loss on ``gtscore`` (``supervised_loss``)."""
    weight = spec.loss["dpp_weight"]
    return lambda model, batch, bank=None: supervised_loss(model, batch, dpp_weight=weight)


@LOSSES.register("saliency")
def _saliency(spec: LossSpec):
    """UMT's saliency loss on per-clip highlight labels (``saliency_loss``)."""
    return lambda model, batch, bank=None: saliency_loss(model, batch)
