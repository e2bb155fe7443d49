"""Resolving ``--config=NAME[:ARG]`` and applying ``--config.a.b=value`` overrides."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import ml_collections

CONFIG_DIR = Path(__file__).parent / "configs"
BUILDERS = ("__init__", "common", "highlight_common", "multimodal_common")
"""Modules of the configs folder that build configs but are not named configs."""


OPEN_NODES = ("kwargs", "synthetic_overrides")
"""Config nodes that take fields their defaults do not have."""


class ConfigError(ValueError):
    """A config name, argument or override that cannot be applied (one-line message)."""


def known_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.py") if p.stem not in BUILDERS)


def load_config(spec: str) -> ml_collections.ConfigDict:
    """Loads ``NAME[:ARG]``; a bare NAME is ``experiments/configs/NAME.py``, else a path."""
    name, _, arg = spec.partition(":")
    path = Path(name) if name.endswith(".py") else CONFIG_DIR / f"{name}.py"
    if not path.is_file():
        raise ConfigError(
            f"unknown config {name!r} (no {path}); known: {', '.join(known_configs())}"
        )
    module_spec = importlib.util.spec_from_file_location(f"csum_config_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    try:
        return module.get_config(arg or None)
    except ValueError as err:
        raise ConfigError(f"config {name!r}: {err}") from None


def _parse(value: str, current):
    """Parses an override string into the type of the field it replaces."""
    if isinstance(current, bool):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"expected true/false, got {value!r}")
        return value.lower() in ("true", "1")
    if isinstance(current, str):
        return value
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise ValueError(f"cannot parse {value!r}") from None
    if isinstance(current, tuple) and isinstance(parsed, list | tuple | int | str):
        return tuple(parsed) if isinstance(parsed, list | tuple) else (parsed,)
    if isinstance(current, float) and isinstance(parsed, int):
        return float(parsed)
    return parsed


def apply_overrides(config: ml_collections.ConfigDict, overrides: dict[str, str]) -> None:
    """Sets ``a.b = value`` for each override; unknown fields list the known ones.

    Fields are typed by their defaults. New fields may be added only under an
    ``OPEN_NODES`` node (hyperparameters of a backbone or top-k operator, fields of a
    synthetic generator's spec; ``experiments.validation`` checks them). Overriding
    ``backbone.name`` first resets ``backbone.kwargs`` to the new backbone's defaults (none for a
    backbone that a user registered), since one backbone's keyword arguments rarely fit another.
    """
    ordered = sorted(overrides.items(), key=lambda kv: kv[0] != "backbone.name")
    for dotted, value in ordered:
        *parents, leaf = dotted.split(".")
        node = config
        for i, part in enumerate(parents):
            if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
                raise ConfigError(f"unknown config field {'.'.join(parents[: i + 1])!r}")
            node = node[part]
        try:
            if leaf in node:
                node[leaf] = _parse(value, node[leaf])
            elif parents and parents[-1] in OPEN_NODES:
                with node.unlocked():
                    node[leaf] = _literal(value)
            else:
                known = ", ".join(sorted(node.keys()))
                raise ConfigError(f"unknown config field {dotted!r}; known here: {known}")
        except (ValueError, TypeError) as err:
            raise ConfigError(f"--config.{dotted}: {err}") from None
        if dotted == "backbone.name":
            from experiments.configs.common import backbone_kwargs

            with config.backbone.unlocked():
                config.backbone.kwargs = ml_collections.ConfigDict(backbone_kwargs(value))


def _literal(value: str):
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
