"""The rule library of config validation: a ``Rule`` is a check of one value and the
line that says what is allowed."""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from typing import Any, NamedTuple


class Rule(NamedTuple):
    """One key's constraint.

    Attributes:
        check: ``check(value, config) -> bool``.
        allowed: what is allowed, in words (for the error line).
        bad: a value that breaks the rule (for the sweep test).
    """

    check: Callable[[Any, Any], bool]
    allowed: str
    bad: Any


class _Lazy(str):
    """An ``allowed`` text computed when shown (registries fill up at import time)."""

    def __new__(cls, fn):
        obj = super().__new__(cls, "")
        obj.fn = fn
        return obj

    def __str__(self):
        return self.fn()


def one_of(names: tuple | Callable[[], tuple], bad: str = "bogus") -> Rule:
    """A name from a fixed list, or from a registry (looked up when checked)."""

    def now() -> tuple:
        return tuple(names() if callable(names) else names)

    return Rule(lambda v, c: v in now(), _Lazy(lambda: "one of " + ", ".join(map(str, now()))), bad)


def number(
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    bad: Any = None,
) -> Rule:
    """A finite number in a range (open or closed at either end)."""

    def check(v, c):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return False
        if integer and not float(v).is_integer():
            return False
        above = v > low if low_open else v >= low
        below = v < high if high_open else v <= high
        return above and below

    kind = "an integer" if integer else "a number"
    if low > -math.inf and high < math.inf:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        allowed = f"{kind} in {left}{low:g}, {high:g}{right}"
    elif low > -math.inf:
        allowed = f"{kind} {'>' if low_open else '>='} {low:g}"
    else:
        allowed = kind
    if bad is None:
        bad = low if low_open else (low - 1 if low > -math.inf else math.nan)
    return Rule(check, allowed, bad)


def text(bad: str = "") -> Rule:
    """A non-empty string."""
    return Rule(lambda v, c: isinstance(v, str) and bool(v.strip()), "a non-empty string", bad)


def any_text() -> Rule:
    """Any string, possibly empty (a path checked when it is read; no bad value here)."""
    return Rule(lambda v, c: isinstance(v, str), "a string", None)


def flag() -> Rule:
    return Rule(lambda v, c: isinstance(v, bool), "true or false", "maybe")


def _backbones():
    import backbones

    return tuple(backbones.BACKBONES.names())


def _operators():
    from csum import topk

    return tuple(topk.OPERATORS.names())


def _names(module: str, attr: str) -> Callable[[], tuple]:
    def get():

        return tuple(getattr(importlib.import_module(module), attr))

    return get


POSITIVE = number(0, low_open=True)
COUNT = number(1, integer=True, bad=0)


def _fields(module: str, name: str) -> set[str]:

    return {f.name for f in dataclasses.fields(getattr(importlib.import_module(module), name))}
