"""Validating a whole config before any data is read or any step runs.

Every leaf of every config has a rule here: the set of allowed names, or a numeric range.
``validate(config)`` checks them all and raises ``ConfigError`` with one line that names the
key, the value and what is allowed, so that a typo costs nothing: no data loaded, nothing
written to the work directory, no JAX traceback once an operator is first used.

A new config field needs a rule (``tests/test_validate.py`` fails otherwise). Keyword
arguments of the backbone (``backbone.kwargs``) are checked against the backbone's own
constructor signature, so a backbone that a user registers is covered too.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from experiments.config_loader import ConfigError


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


def _sources(v, c) -> bool:
    n = len(c.data.feature_keys)
    return bool(v) and all(isinstance(s, int) and 0 <= s < n for s in v)


def _folds(v, c) -> bool:
    return all(isinstance(f, int) and f >= 0 for f in v)


def _keys(v, c) -> bool:
    return bool(v) and all(isinstance(k, str) and k for k in v)


def _synthetic_overrides(v, c) -> bool:
    from csum.data.synthetic import SyntheticSpec

    fields = {f.name for f in dataclasses.fields(SyntheticSpec)}
    return set(v.keys()) <= fields


def _protocol(v, c) -> bool:
    from csum.metrics.evaluation import parse_protocol

    try:
        parse_protocol(v)
    except ValueError:
        return False
    return True


def _protocols() -> str:
    from csum.metrics.evaluation import VARIANTS

    return "standard or +-joined names of " + ", ".join(VARIANTS)


def _backbones():
    import backbones

    return tuple(backbones.BACKBONES.names())


def _operators():
    from csum import topk

    return tuple(topk.OPERATORS.names())


def _names(module: str, attr: str) -> Callable[[], tuple]:
    def get():
        import importlib

        return tuple(getattr(importlib.import_module(module), attr))

    return get


POSITIVE = number(0, low_open=True)
COUNT = number(1, integer=True, bad=0)

RULES: dict[str, Rule] = {
    "name": text(),
    "seed": number(0, integer=True, bad=-1),
    "workdir": text(),
    "compute_dtype": one_of(("float32", "bfloat16")),
    "data.dataset": one_of(("tvsum", "summe")),
    "data.dir": any_text(),
    "data.file": any_text(),
    "data.setting": one_of(_names("csum.summarization.experiment", "SETTINGS")),
    "data.others": Rule(
        lambda v, c: all(isinstance(p, str) and p for p in v), "a tuple of eccv16 file paths", ("",)
    ),
    "data.synthetic": flag(),
    "data.synthetic_dir": text(),
    "data.synthetic_seed": number(0, integer=True, bad=-1),
    "data.synthetic_family": one_of(_names("csum.data.synthetic", "FAMILIES")),
    "data.synthetic_overrides": Rule(_synthetic_overrides, "fields of SyntheticSpec", {"bogus": 1}),
    "data.feature_keys": Rule(_keys, "a non-empty tuple of feature names", ()),
    "data.splits": any_text(),
    "data.folds": Rule(_folds, "a tuple of fold indices >= 0 (empty: all folds)", (-1,)),
    "data.min_steps": COUNT,
    "data.stream": flag(),
    "backbone.name": one_of(_backbones),
    "backbone.contrast_input": flag(),
    "backbone.residual": flag(),
    "backbone.residual_gain": POSITIVE,
    "projector.window": COUNT,
    "projector.hidden": COUNT,
    "projector.embed": COUNT,
    "projector.trainable": flag(),
    "projector.normalize": one_of(_names("csum.model.summarizer", "NORMALIZE")),
    "projector.sources": Rule(
        _sources,
        _Lazy(lambda: "a non-empty tuple of source indices < len(data.feature_keys)"),
        (7,),
    ),
    "topk.name": one_of(_operators),
    "topk.ratio": number(0, 1, low_open=True, high_open=True, bad=1.5),
    "topk.scores": one_of(_names("csum.objectives.contrastive", "SCORES")),
    "topk.successive_halving.alpha": POSITIVE,
    "topk.sinkhorn.epsilon": POSITIVE,
    "topk.sinkhorn.iterations": COUNT,
    "topk.sinkhorn.solver": one_of(_names("csum.topk.sinkhorn", "SOLVERS")),
    "topk.perturbed.sigma": POSITIVE,
    "topk.perturbed.samples": number(2, integer=True, bad=1),
    "topk.hard.gradient": one_of(_names("csum.topk.hard", "GRADIENTS")),
    "loss.negatives": one_of(_names("csum.training.step", "NEGATIVES")),
    "loss.tau": POSITIVE,
    "loss.dpp_weight": number(0),
    "train.regime": one_of(_names("csum.objectives", "LOSSES")),
    "train.epochs": COUNT,
    "train.batch_size": COUNT,
    "train.devices": Rule(
        lambda v, c: isinstance(v, int) and v >= 0 and (v == 0 or c.train.batch_size % v == 0),
        "an integer >= 0 (0: all devices) that divides train.batch_size",
        3,
    ),
    "distributed.enabled": Rule(
        lambda v, c: isinstance(v, bool) and (not v or c.task == "summarize"),
        "true or false (true only for summarization configs; highlight runs use one host)",
        "maybe",
    ),
    "distributed.coordinator": Rule(
        lambda v, c: isinstance(v, str) and (v == "" or v.rpartition(":")[2].isdigit()),
        "host:port, or empty (from the environment)",
        "localhost",
    ),
    "distributed.num_processes": number(0, integer=True, bad=-1),
    "distributed.process_id": Rule(
        lambda v, c: (
            isinstance(v, int)
            and v >= -1
            and (c.distributed.num_processes == 0 or v < c.distributed.num_processes)
        ),
        "an integer in [0, distributed.num_processes), or -1 (from the environment)",
        -2,
    ),
    "train.optimizer": one_of(_names("csum.training.optim", "OPTIMIZERS")),
    "train.lr": POSITIVE,
    "train.weight_decay": number(0),
    "train.max_grad_norm": POSITIVE,
    "train.bucket_quantum": COUNT,
    "train.bucket_growth": number(1),
    "train.progress": flag(),
    "train.val_fraction": number(0, 1, high_open=True, bad=1.0),
    "train.val_every": COUNT,
    "train.checkpoint_every": COUNT,
    "eval.f1_mode": one_of(lambda: (*_names("csum.metrics.evaluation", "F1_MODES")(), "auto")),
    "eval.scores": one_of(lambda: (*_names("csum.metrics.evaluation", "SCORE_FORMS")(), "auto")),
    "eval.batch_size": COUNT,
    "eval.random_seeds": COUNT,
    "eval.protocol": Rule(_protocol, _Lazy(_protocols), "bogus"),
    "task": one_of(("summarize", "highlights", "queries", "transcripts")),
    "highlights.source": one_of(_names("csum.highlights.experiment", "SOURCES")),
    "highlights.domain": text(),
    "highlights.regime": one_of(_names("csum.highlights.experiment", "REGIMES")),
    "highlights.audio": Rule(
        lambda v, c: isinstance(v, bool) and (not v or c.backbone.kwargs.get("audio", False)),
        "true only with a backbone that has an audio stream (backbone.kwargs.audio=true)",
        "maybe",
    ),
    "highlights.labels": any_text(),
    "highlights.video_dir": any_text(),
    "highlights.audio_dir": any_text(),
    "highlights.splits": any_text(),
    "highlights.synthetic_overrides": Rule(
        lambda v, c: set(v) <= _highlight_spec_fields(c.highlights.source),
        "fields of HighlightSpec (youtube) or SyntheticSpec (tvsum)",
        {"bogus": 1},
    ),
    "highlights.holdout": number(0, 1, low_open=True, high_open=True, bad=1.0),
    "highlights.sigma": number(0, bad=-1.0),
    "highlights.random_draws": COUNT,
    "highlights.finetune.epochs": COUNT,
    "highlights.finetune.lr": POSITIVE,
    "highlights.finetune.weight_decay": number(0),
    "highlights.finetune.batch_size": COUNT,
    "loss.moment_weight": number(0),
    "queries.regime": one_of(_names("csum.multimodal.retrieval", "REGIMES")),
    "queries.train": any_text(),
    "queries.val": any_text(),
    "queries.video_dir": any_text(),
    "queries.text_dir": any_text(),
    "queries.synthetic_overrides": Rule(
        lambda v, c: set(v) <= _fields("csum.multimodal.synthetic", "MultimodalSpec"),
        "fields of csum.multimodal.synthetic.MultimodalSpec",
        {"bogus": 1},
    ),
    "queries.windows": COUNT,
    "queries.finetune.epochs": COUNT,
    "queries.finetune.lr": POSITIVE,
    "queries.finetune.weight_decay": number(0),
    "queries.finetune.batch_size": COUNT,
    "queries.finetune.optimizer": one_of(_names("csum.training.optim", "OPTIMIZERS")),
    "loss.beta": number(0),
    "loss.lam": number(0),
    "loss.ratio": COUNT,
    "loss.ot_weight": number(0),
    "transcripts.regime": one_of(_names("csum.multimodal.transcripts", "REGIMES")),
    "transcripts.root": any_text(),
    "transcripts.synthetic_overrides": Rule(
        lambda v, c: set(v) <= _fields("csum.multimodal.synthetic", "MultimodalSpec"),
        "fields of csum.multimodal.synthetic.MultimodalSpec",
        {"bogus": 1},
    ),
    "transcripts.ratio": number(0, 1, low_open=True, high_open=True, bad=1.0),
    "transcripts.finetune.epochs": COUNT,
    "transcripts.finetune.lr": POSITIVE,
    "transcripts.finetune.weight_decay": number(0),
    "transcripts.finetune.batch_size": COUNT,
    "transcripts.finetune.optimizer": one_of(_names("csum.training.optim", "OPTIMIZERS")),
}
"""Every config leaf's rule, by dotted key (``backbone.kwargs`` is checked apart)."""


def _highlight_spec_fields(source: str) -> set[str]:
    from csum.data.synthetic import SyntheticSpec
    from csum.highlights.synthetic import HighlightSpec

    return {
        f.name for f in dataclasses.fields(HighlightSpec if source == "youtube" else SyntheticSpec)
    }


def _fields(module: str, name: str) -> set[str]:
    import importlib

    return {f.name for f in dataclasses.fields(getattr(importlib.import_module(module), name))}


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
                f"config key {key!r} has no validation rule (experiments/validate.py)"
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
