"""Validating a whole config before any data is read or any step runs.

Every leaf of every config has a rule here (``rules`` the library; ``summaries``,
``highlights`` and ``multimodal`` the rules of each task's fields): the set of allowed names, or a
numeric range. ``validate(config)`` checks them all and raises ``ConfigError`` with one line that
names the key, the value and what is allowed, so that a typo costs nothing: no data loaded, nothing
written to the work directory, no JAX traceback once an operator is first used.

A new config field needs a rule (``tests/test_config_validation.py`` fails otherwise). Keyword
arguments of the backbone (``backbone.kwargs``) are checked against the backbone's own
constructor signature, so a backbone that a user registers is covered too.
"""

from __future__ import annotations

import inspect
from typing import Any

from experiments.config_loader import ConfigError
from experiments.validation import highlights, multimodal, summaries
from experiments.validation.rules import COUNT, Rule, _names, one_of

RULES: dict[str, Rule] = {**summaries.RULES, **highlights.RULES, **multimodal.RULES}
"""Every config leaf's rule, by dotted key (``backbone.kwargs`` is checked apart)."""

MAPPINGS = (
    "backbone.kwargs",
    "data.synthetic_overrides",
    "highlights.synthetic_overrides",
    "queries.synthetic_overrides",
    "transcripts.synthetic_overrides",
)
"""Config nodes checked as a whole, not leaf by leaf."""


def leaves(config, prefix: str = "") -> dict[str, Any]:
    """``{dotted key: value}`` of every leaf, stopping at ``backbone.kwargs`` and
    ``data.synthetic_overrides`` (mappings checked as a whole)."""
    out = {}
    for key, value in config.items():
        dotted = prefix + key
        if hasattr(value, "items") and dotted not in MAPPINGS:
            out.update(leaves(value, dotted + "."))
        else:
            out[dotted] = value
    return out


BACKBONE_KWARG_RULES: dict[str, Rule] = {
    "attention": one_of(_names("csum.nn.attention", "IMPLS")),
    "attention_chunk": COUNT,
    "attention_dense_max": COUNT,
}
"""Rules for the backbone arguments that several backbones share (the attention path)."""


def _check_backbone_kwargs(config) -> None:
    import backbones

    cls = backbones.BACKBONES.get(config.backbone.name)
    # A subclass that passes **kwargs on takes its bases' arguments too.
    named, takes_any = [], True
    for base in cls.__mro__:
        if "__init__" not in vars(base) or not takes_any:
            continue
        params = inspect.signature(base.__init__).parameters
        named += [
            n
            for n, p in params.items()
            if p.kind is p.KEYWORD_ONLY and n != "rngs" and n not in named
        ]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for key in config.backbone.kwargs:
        if not takes_any and key not in named:
            raise ConfigError(
                f"--config.backbone.kwargs.{key}: backbone "
                f"{config.backbone.name!r} takes {', '.join(named)}"
            )
        rule = BACKBONE_KWARG_RULES.get(key)
        value = config.backbone.kwargs[key]
        if rule is not None and not rule.check(value, config):
            raise ConfigError(f"--config.backbone.kwargs.{key}={value!r}: expected {rule.allowed}")


def validate(config) -> None:
    """Checks every leaf of ``config`` (a config built by ``experiments.configs``).

    Raises:
        ConfigError: one line for the first bad value, naming the key, the value and what
            is allowed; also for a key that has no rule (a config field added without one).
    """
    for key, value in leaves(config).items():
        if key == "backbone.kwargs":
            continue  # checked against the backbone's signature below
        rule = RULES.get(key)
        if rule is None:
            if key.startswith("topk.") and key.count(".") == 2:
                continue  # a user-registered operator's hyperparameters: its own to check
            raise ConfigError(
                f"config key {key!r} has no validation rule (experiments/validation/)"
            )
        if not rule.check(value, config):
            shown = value.to_dict() if hasattr(value, "to_dict") else value
            raise ConfigError(f"--config.{key}={shown!r}: expected {rule.allowed}")
    _check_backbone_kwargs(config)
    from csum.summarization.collection import check_stream
    from csum.training.spec import TrainSpec
    from csum.training.step import check_regime

    try:
        check_stream(config)
        check_regime(TrainSpec.from_config(config))
        if config.task == "transcripts":
            from csum.multimodal.transcripts import check_regime as check_transcripts

            check_transcripts(config)
    except ValueError as err:
        raise ConfigError(str(err)) from None
