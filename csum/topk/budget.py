"""Integer summary budgets: ``ceil(ratio * T)`` computed exactly. Pure Python / array code.

``jnp.ceil(0.15 * 100)`` is 16 in float32 (0.15 * 100 rounds to 15.000001), and a float64
product is wrong too for some lengths (0.15 is not a binary fraction). The ratio is read as
the fraction p / q that it was written as (0.15 -> 3 / 20), and the budget is the integer
``ceil(p * T / q)``, computed without overflow in int32 as
``(T // q) * p + ceil((T % q) * p / q)``.
"""

from __future__ import annotations

from fractions import Fraction

MAX_DENOMINATOR = 10_000
"""Largest q of a ratio p / q (e.g. 0.1234 = 617 / 5000); keeps ``(T % q) * p`` in int32."""


def ratio_fraction(ratio: float) -> Fraction:
    """The summary ratio as the fraction it was written as (0.15 -> 3/20).

    Raises:
        ValueError: a ratio outside (0, 1], or one that is no fraction p / q with
            q <= ``MAX_DENOMINATOR`` (at most four decimals, or a simple fraction like 1/3).
    """
    r = float(ratio)
    if not 0.0 < r <= 1.0:
        raise ValueError(f"summary ratio must be in (0, 1], got {ratio}")
    frac = Fraction(r).limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - r) > 1e-12 * r:
        raise ValueError(
            f"summary ratio {ratio} is not a fraction p/q with q <= "
            f"{MAX_DENOMINATOR} (use at most four decimals)"
        )
    return frac


def summary_budget(ratio: float, length):
    """``ceil(ratio * length)`` in exact integer arithmetic.

    Args:
        ratio: summary ratio in (0, 1] (see ``ratio_fraction``).
        length: a Python int, or an int NumPy / JAX array of any shape (e.g. a batch's
            valid lengths [B], traced under jit).

    Returns:
        The budget, of the type and shape of ``length`` (0 where the length is 0).
    """
    frac = ratio_fraction(ratio)
    p, q = frac.numerator, frac.denominator
    return (length // q) * p + ((length % q) * p + q - 1) // q
