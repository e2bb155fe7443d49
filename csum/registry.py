"""The one registry pattern used for everything pluggable (backbones, top-k operators).

A registry maps a name to a factory. Registration is a decorator that refuses duplicate
names, and lookups of an unknown name fail with the list of known names, so a typo in a
config is a one-line error rather than a ``KeyError`` deep in a traceback::

    BACKBONES = Registry("backbone")

    @BACKBONES.register("msva")
    class MSVA(nnx.Module): ...

    model = BACKBONES.build("msva", in_dims=(1024,), rngs=nnx.Rngs(0))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=Callable[..., Any])


class UnknownNameError(KeyError):
    """Raised when a registry is asked for a name it does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line.
        return str(self.args[0])


class Registry(Generic[T]):
    """A name -> factory table for one kind of pluggable component.

    Args:
        kind: what the registry holds ("backbone", "top-k operator"), used in messages.
        hint: appended to the message for an unknown name (how to register one's own).
    """

    def __init__(self, kind: str, hint: str = ""):
        self.kind, self.hint = kind, hint
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Returns a decorator that registers its argument under ``name``.

        Raises:
            ValueError: if ``name`` is already registered (two components would silently
                shadow each other otherwise).
        """

        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(
                    f"{self.kind} {name!r} is already registered "
                    f"(by {self._items[name].__module__}); pick another name"
                )
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Returns the factory registered under ``name``.

        Raises:
            UnknownNameError: naming the unknown key and listing every known one.
        """
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "(none)"
            hint = f"; {self.hint}" if self.hint else ""
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}{hint}") from None

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Calls the factory registered under ``name`` with the given arguments."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
