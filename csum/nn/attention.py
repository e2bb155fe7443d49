"""Masked dot-product attention with three interchangeable paths: dense, chunked, cuDNN.

    y_t = sum_s softmax_s(q_t . k_s  over the allowed s) v_s           (Vaswani et al. 2017)

where key s is allowed for query t when s is a real (unpadded) step, with an aperture
a > 0 when |t - s| < a (VASNet's local attention), and with a structured mask (``rows``,
e.g. A2Summ's alignment mask) when the mask's row t allows s: the mask is a function that
computes any block of rows, so the chunked path never builds it whole. Disallowed logits
are set to -1e9 (finite, so a row without any allowed key gets uniform weights instead of
NaN). Optional dropout multiplies the weights, with the hashed mask of ``csum.nn.dropout``.

* ``dense`` materialises the [..., T, S] weights: the fastest path for short videos, and
  memory quadratic in T (a 65,536-step video would need 16 GiB per head).
* ``chunked`` runs a ``lax.scan`` over blocks of ``chunk`` queries; with an aperture each
  block reads only the keys within reach (a band of chunk + 2(a - 1) keys). Each block is
  rematerialised in the backward pass (``jax.checkpoint``), so training memory is
  O(chunk x keys) instead of O(T x keys): linear in T for global attention, constant per
  step with an aperture. Its values, dropout masks (the hash is offset to each block's
  place) and gradients equal the dense path's up to float rounding.
* ``cudnn`` is ``jax.nn.dot_product_attention``'s fused (flash) kernel on NVIDIA GPUs.
  It has no attention dropout and no aperture here, needs 16-bit inputs and a head size
  the kernel supports, and padding must be a suffix (as in csum's batches): it is used for
  inference and for dropout-free models with global attention.

``impl="auto"`` takes dense up to ``dense_max``**2 weights per head, then cuDNN where it applies
and chunked elsewhere. This module is pure jax.numpy; the Flax modules live in
``backbones.attention``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from csum.nn import precision
from csum.nn.dropout import dropout as apply_dropout

MASKED = -1e9  # finite, so a row with no allowed key gives uniform weights, not NaN
IMPLS = ("auto", "dense", "chunked", "cudnn")


def choose_impl(
    impl: str,
    n_queries: int,
    n_keys: int,
    *,
    dense_max: int,
    dropout_on: bool,
    dtype,
    head_dim: int,
    band: int = 0,
    structured: bool = False,
) -> str:
    """The path ``impl="auto"`` takes for a call of this size (see the module docstring):
    dense while the weights have at most ``dense_max**2`` entries per head and, with an
    aperture, while the chunked path's key band (``band`` keys per block) would not halve
    the keys each query block reads."""
    if impl not in IMPLS:
        raise ValueError(f"attention impl must be one of {IMPLS}, got {impl!r}")
    if impl != "auto":
        return impl
    if n_queries * n_keys <= dense_max**2 and not (band and 2 * band < n_keys):
        return "dense"
    if not structured and cudnn_applies(
        dropout_on=dropout_on, dtype=dtype, head_dim=head_dim, aperture=band
    ):
        return "cudnn"
    return "chunked"


def cudnn_applies(*, dropout_on: bool, dtype, head_dim: int, aperture: int = 0) -> bool:
    """Whether the fused cuDNN kernel can run this attention on the default backend
    (global attention only: a local aperture takes the chunked path's key band)."""
    return (
        jax.default_backend() == "gpu"
        and not dropout_on
        and head_dim <= 128
        and aperture == 0
        and jnp.dtype(dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
    )


def _specs(n_batch: int) -> tuple[str, str]:
    b = "bhg"[:n_batch]
    return f"{b}td,{b}sd->{b}ts", f"{b}ts,{b}sd->{b}td"


def _allowed(key_mask, t0, s0, n_t, n_s, aperture, rows=None):
    """[..., n_t, n_s] bool: key allowed for query (keys real, within the aperture, and
    allowed by the structured mask's rows t0 ... t0 + n_t - 1)."""
    allowed = key_mask[..., None, :]
    if rows is not None:
        block = rows(t0 + jnp.arange(n_t, dtype=jnp.int32))  # [B, n_t, S]
        allowed = allowed & block.reshape(
            block.shape[0], *([1] * (key_mask.ndim - 2)), *block.shape[1:]
        )
    if aperture > 0:
        t = t0 + jnp.arange(n_t)[:, None]
        s = s0 + jnp.arange(n_s)[None, :]
        allowed = allowed & (jnp.abs(t - s) < aperture)
    return allowed


def _block(q, k, v, key_mask, t0, s0, *, aperture, rate, words, dtype, rows=None):
    """Attention of one block of queries (starting at step t0) to keys starting at s0."""
    n_batch = q.ndim - 2
    logit_spec, out_spec = _specs(n_batch)
    logits = precision.einsum(logit_spec, q, k, dtype)
    allowed = _allowed(key_mask, t0, s0, q.shape[-2], k.shape[-2], aperture, rows)
    weights = jax.nn.softmax(jnp.where(allowed, logits, MASKED), axis=-1)
    if words is not None:
        weights = apply_dropout(weights, rate, words, (0,) * n_batch + (t0, s0))
    return precision.einsum(out_spec, weights, v, dtype)


def dot_product_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    key_mask: jax.Array,
    *,
    aperture: int = 0,
    dropout_rate: float = 0.0,
    dropout_words=None,
    impl: str = "auto",
    chunk: int = 512,
    dense_max: int = 4096,
    dtype=jnp.float32,
    rows=None,
) -> jax.Array:
    """Attention from queries to keys with padding, an optional aperture and dropout.

    Args:
        q: [*batch, T, d] queries, already scaled (batch: 1 or 2 axes, e.g. [B] or [B, H]).
        k: [*batch, S, d] keys.
        v: [*batch, S, d_v] values.
        key_mask: [B, S] bool, True at real keys (broadcast over any head axis).
        aperture: if > 0, query t sees only keys with |t - s| < aperture (needs S == T).
        dropout_rate: drop probability of each attention weight.
        dropout_words: [2] uint32 mask key (``Dropout.words``), or None for no dropout.
        impl: "auto", "dense", "chunked" or "cudnn" (module docstring).
        chunk: queries per block of the chunked path.
        dense_max: "auto" runs densely while T x S <= dense_max**2.
        dtype: matmul input dtype; softmax and accumulation stay float32.
        rows: optional structured mask: a function of query indices [n] int32 (traced;
            indices past T may occur in the chunked path's last block) to the mask's rows
            [B, n, S] bool (True: allowed), applied with ``key_mask``. It takes the place
            of a [B, T, S] mask, which the chunked path never builds; no cuDNN path.

    Returns:
        [*batch, T, d_v] float32.
    """
    n_batch = q.ndim - 2
    if n_batch not in (1, 2):
        raise ValueError(f"attention needs q of shape [B, T, d] or [B, H, T, d], got {q.shape}")
    if aperture > 0 and q.shape[-2] != k.shape[-2]:
        raise ValueError("an attention aperture needs as many queries as keys")
    key_mask = key_mask.reshape(key_mask.shape[0], *([1] * (n_batch - 1)), key_mask.shape[-1])
    band = chunk + 2 * (aperture - 1) if aperture > 0 else 0
    if rows is not None and aperture > 0:
        raise ValueError("attention takes an aperture or a structured mask (rows), not both")
    path = choose_impl(
        impl,
        q.shape[-2],
        k.shape[-2],
        dense_max=dense_max,
        band=band,
        dropout_on=dropout_words is not None and dropout_rate > 0,
        dtype=dtype,
        head_dim=q.shape[-1],
        structured=rows is not None,
    )
    words = dropout_words if dropout_rate > 0 else None
    block = functools.partial(
        _block, aperture=aperture, rate=dropout_rate, words=words, dtype=dtype, rows=rows
    )
    if path == "dense":
        return block(q, k, v, key_mask, 0, 0)
    if path == "cudnn":
        if words is not None or aperture > 0 or rows is not None:
            raise ValueError(
                "the cuDNN attention path has no attention dropout, no "
                "aperture and no structured mask; use impl='chunked'"
            )
        return _cudnn(q, k, v, key_mask, dtype=dtype)
    return _chunked(block, q, k, v, key_mask, aperture=aperture, chunk=chunk)


def _chunked(block, q, k, v, key_mask, *, aperture, chunk):
    T, S = q.shape[-2], k.shape[-2]
    chunk = min(chunk, T)
    n = -(-T // chunk)
    pad_t = n * chunk - T
    q = jnp.pad(q, [(0, 0)] * (q.ndim - 2) + [(0, pad_t), (0, 0)])
    q_blocks = jnp.moveaxis(q.reshape(*q.shape[:-2], n, chunk, q.shape[-1]), -3, 0)
    reach = aperture - 1
    band = aperture > 0 and chunk + 2 * reach < S
    if band:
        # Keys padded by the reach on the left and up to the last block's end on the right,
        # so every block reads one fixed-width window: keys [t0 - reach, t0 + chunk + reach).
        width = chunk + 2 * reach
        right = n * chunk + reach - S

        def pad_keys(x):
            return jnp.pad(x, [(0, 0)] * (x.ndim - 2) + [(reach, right), (0, 0)])

        k_p, v_p = pad_keys(k), pad_keys(v)
        mask_p = jnp.pad(key_mask, [(0, 0)] * (key_mask.ndim - 1) + [(reach, right)])

    @functools.partial(jax.checkpoint, prevent_cse=False)
    def one(q_block, t0):
        if not band:
            return block(q_block, k, v, key_mask, t0, 0)
        window = functools.partial(jax.lax.dynamic_slice_in_dim, start_index=t0, slice_size=width)
        kw = window(k_p, axis=k_p.ndim - 2)
        vw = window(v_p, axis=v_p.ndim - 2)
        mw = window(mask_p, axis=mask_p.ndim - 1)
        return block(q_block, kw, vw, mw, t0, t0 - reach)

    starts = jnp.arange(n, dtype=jnp.int32) * chunk
    _, y = jax.lax.scan(lambda c, xs: (c, one(*xs)), None, (q_blocks, starts))
    y = jnp.moveaxis(y, 0, -3)
    return y.reshape(*y.shape[:-3], n * chunk, y.shape[-1])[..., :T, :]


def _cudnn(q, k, v, key_mask, *, dtype):
    """jax.nn.dot_product_attention's cuDNN kernel; padding as per-video key lengths."""
    if q.ndim == 3:
        q, k, v = q[:, None], k[:, None], v[:, None]
        squeeze = True
    else:
        squeeze = False
    key_mask = key_mask.reshape(key_mask.shape[0], key_mask.shape[-1])
    lengths = key_mask.sum(-1).astype(jnp.int32)
    # jax wants [B, T, H, d]; the scale is already in q.
    to_bthd = functools.partial(jnp.transpose, axes=(0, 2, 1, 3))
    y = jax.nn.dot_product_attention(
        to_bthd(q).astype(dtype),
        to_bthd(k).astype(dtype),
        to_bthd(v).astype(dtype),
        scale=1.0,
        key_value_seq_lengths=lengths,
        implementation="cudnn",
    )
    y = to_bthd(y).astype(jnp.float32)
    return y[:, 0] if squeeze else y
