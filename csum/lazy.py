"""A package's submodules as attributes on first use (PEP 562), so that after a plain
``import csum`` every ``csum.a.b`` resolves without importing the whole package up front
(``import csum.topk`` must not pull in the model and backbones)."""

from __future__ import annotations

import importlib


def submodule(package: str, name: str):
    """``package.name`` imported, for the package's module-level ``__getattr__``.

    Raises:
        AttributeError: ``name`` is private or no submodule of ``package``.
    """
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{package}.{name}":
                raise
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
