"""Mixed-precision matrix products: low-precision inputs, float32 accumulation and output.

On CPUs with AMX/AVX-512-BF16 (and on GPUs) a bfloat16 x bfloat16 product accumulated in
float32 runs several times faster than float32, but only when the product is *asked* for
a float32 result: XLA:CPU measured 1.8 TFLOP/s for bf16 -> f32 against 0.22 TFLOP/s for
bf16 -> bf16 and 0.3 TFLOP/s for f32 (``benchmarks/train_speed.py``, README). JAX's
automatic transpose of such a product upcasts the operands to float32, so the backward
pass would lose the gain; the custom VJPs below keep the two backward products in the
same bf16 -> f32 form. Parameters, softmax, normalisation and losses stay float32.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def _materialize(x: jax.Array, perm: tuple[int, ...]) -> jax.Array:
    """``jnp.transpose(x, perm)`` forced into memory in the new order.

    XLA would otherwise fold the transpose into the consumer's operand layout, and
    XLA:CPU's batched product with the contracted axis not innermost in either operand runs
    about 5x slower than the same product in row-major form (measured 44 ms against 9 ms
    for the [8, 768, 768] x [8, 768, 1024] attention backward). Reshaping to 2-D behind an
    optimization barrier makes the new order physical.
    """
    y = jnp.transpose(x, perm)
    return jax.lax.optimization_barrier(y.reshape(-1, y.shape[-1])).reshape(y.shape)


def _einsum(spec: str, a, b, dtype):
    a, b = a.astype(dtype), b.astype(dtype)
    inputs, out = spec.split("->")
    sa, sb = inputs.split(",")
    batch = set(sa) & set(sb) & set(out)
    summed = (set(sa) & set(sb)) - set(out)

    def trailing(s: str) -> bool:
        return set(s[len(s) - len(summed) :]) == summed

    if batch and summed and not trailing(sa) and not trailing(sb):
        # Batched "A^T B" (attention backward): move the summed axes of the smaller operand
        # last, physically, so that the product runs in its fast row-major form.
        if a.size <= b.size:
            order = [c for c in sa if c not in summed] + [c for c in sa if c in summed]
            a, sa = _materialize(a, tuple(sa.index(c) for c in order)), "".join(order)
        else:
            order = [c for c in sb if c not in summed] + [c for c in sb if c in summed]
            b, sb = _materialize(b, tuple(sb.index(c) for c in order)), "".join(order)
    return jnp.einsum(f"{sa},{sb}->{out}", a, b, preferred_element_type=jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 3))
def mixed_einsum(spec: str, a: jax.Array, b: jax.Array, dtype) -> jax.Array:
    """Two-operand einsum with ``dtype`` inputs and a float32 result.

    Every index summed over must appear in both operands (true of matmuls and attention),
    which makes each backward product another einsum of the same kind.

    Args:
        spec: e.g. ``"btd,bsd->bts"``.
        a, b: operands (any float dtype; cast to ``dtype``).
        dtype: compute dtype, e.g. ``jnp.bfloat16``.

    Returns:
        float32 result.
    """
    return _einsum(spec, a, b, dtype)


def _fwd(spec, a, b, dtype):
    # Empty arrays carry the operands' dtypes (residuals must be arrays) so that each
    # cotangent comes back in its operand's dtype.
    tags = (jnp.zeros((0,), a.dtype), jnp.zeros((0,), b.dtype))
    return _einsum(spec, a, b, dtype), (a.astype(dtype), b.astype(dtype), *tags)


def _bwd(spec, dtype, res, g):
    a, b, a_tag, b_tag = res
    a_dtype, b_dtype = a_tag.dtype, b_tag.dtype
    inputs, out = spec.split("->")
    sa, sb = inputs.split(",")
    da = _einsum(f"{out},{sb}->{sa}", g, b, dtype).astype(a_dtype)
    db = _einsum(f"{sa},{out}->{sb}", a, g, dtype).astype(b_dtype)
    return da, db


mixed_einsum.defvjp(_fwd, _bwd)


def einsum(spec: str, a: jax.Array, b: jax.Array, dtype) -> jax.Array:
    """``mixed_einsum`` when ``dtype`` is below float32, else a plain float32 einsum."""
    if jnp.dtype(dtype) == jnp.float32:
        return jnp.einsum(spec, a, b, preferred_element_type=jnp.float32)
    return mixed_einsum(spec, a, b, jnp.dtype(dtype))


@functools.cache
def dot_general_for(dtype):
    """A ``dot_general`` for ``nnx.Linear(dot_general=...)`` computing in ``dtype``.

    Cached per dtype: the function is a static attribute of every layer, so a fresh
    closure per layer would make each newly built model (one per fold) a new jit cache
    entry and recompile every train-step shape.

    Handles the dense-layer pattern (contract the last input axis with the kernel's first,
    no batch axes) through ``mixed_einsum``; anything else falls back to ``lax``.
    """
    if jnp.dtype(dtype) == jnp.float32:
        return jax.lax.dot_general

    def dot_general(
        lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, **kwargs
    ):
        (lc, rc), (lb, rb) = dimension_numbers
        dense = tuple(lc) == (lhs.ndim - 1,) and tuple(rc) == (0,) and rhs.ndim == 2
        if dense and not lb and not rb:
            return mixed_einsum("...k,kn->...n", lhs, rhs, jnp.dtype(dtype))
        return jax.lax.dot_general(
            lhs, rhs, dimension_numbers, precision, preferred_element_type, **kwargs
        )

    return dot_general
