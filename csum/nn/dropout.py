"""Dropout from a counter-based hash: the mask costs one fused elementwise pass.

Attention dropout needs B x T x T random draws per source and step. On XLA:CPU the
``RngBitGenerator`` behind ``jax.random.bernoulli`` (even with ``rbg`` keys) produced
about 0.2 G draws per second, which made the dropout masks a fifth of an MSVA training
step; ``benchmarks/train_speed.py`` measured 28 ms for one [8, 768, 768] mask against
2 ms for the hash below. Dropout needs independent-looking Bernoulli bits, not
cryptographic ones, so each element's bits are a keyed hash of its multi-index
(``csum.nn.hashing.hash_bits``: MurmurHash3's finaliser, axis by axis, keyed by two words
drawn from the step's dropout key). An element's bits do not depend on the extent of any
axis, so a video padded to a longer bucket keeps the dropout mask of its real steps.
Keep probabilities have a resolution of 2^-32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from csum.nn.hashing import hash_bits


def dropout(x: jax.Array, rate: float, words: jax.Array, offsets=None) -> jax.Array:
    """Zeroes each element with probability ``rate`` and scales the rest by 1 / (1 - rate).

    Args:
        x: any float array.
        rate: drop probability in [0, 1).
        words: [2] uint32 keys (see ``hash_bits``).
        offsets: where ``x`` starts in the array whose mask it shares (see ``hash_bits``).

    Returns:
        Array like ``x``.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if rate == 0.0:
        return x
    threshold = jnp.uint32(min(round(rate * 2.0**32), 2**32 - 1))
    keep = hash_bits(words, x.shape, offsets) >= threshold
    return jnp.where(keep, x * (1.0 / (1.0 - rate)), jnp.zeros((), x.dtype))


class Dropout(nnx.Dropout):
    """``nnx.Dropout`` with the hashed mask of ``dropout``.

    Same constructor, ``deterministic`` flag (so ``model.eval()`` / ``model.train()`` work)
    and RNG stream; each call draws two uint32 words from the stream's next key.
    ``broadcast_dims`` is not supported.
    """

    def __call__(
        self, inputs: jax.Array, *, deterministic: bool | None = None, rngs=None
    ) -> jax.Array:
        if self.broadcast_dims:
            raise NotImplementedError("csum.nn.dropout.Dropout does not broadcast masks")
        words = self.words(deterministic=deterministic, rngs=rngs)
        return inputs if words is None else dropout(inputs, self.rate, words)

    def words(self, *, deterministic: bool | None = None, rngs=None) -> jax.Array | None:
        """The two uint32 words of this call's mask, or None when dropout is off.

        For callers that apply the mask themselves in pieces (``csum.nn.attention``'s chunked
        path): ``dropout(x, rate, words, offsets)`` on each piece.
        """
        deterministic = self.deterministic if deterministic is None else deterministic
        if deterministic or self.rate == 0.0:
            return None
        rngs = self.rngs if rngs is None else rngs
        if rngs is None:
            raise ValueError("Dropout in training mode needs an RNG stream (pass rngs=)")
        if isinstance(rngs, nnx.Rngs):
            key = rngs[self.rng_collection]()
        elif isinstance(rngs, nnx.RngStream):
            key = rngs()
        else:
            key = rngs  # a key array
        return jax.random.bits(key, (2,), jnp.uint32)
