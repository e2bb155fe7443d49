"""Rules of the fields every run has, and of the summarization task: data, backbone,
projector, top-k, loss, training, processes, evaluation."""

from __future__ import annotations

import dataclasses

from experiments.validation.rules import (
    COUNT,
    POSITIVE,
    Rule,
    _backbones,
    _Lazy,
    _names,
    _operators,
    any_text,
    flag,
    number,
    one_of,
    text,
)


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


RULES: dict[str, Rule] = {
    "name": text(),
    "seed": number(0, integer=True, bad=-1),
    "workdir": text(),
    "compute_dtype": one_of(("float32", "bfloat16")),
    "data.dataset": one_of(("tvsum", "summe")),
    "data.dir": any_text(),
    "data.file": any_text(),
    "data.setting": one_of(_names("csum.summarization.data", "SETTINGS")),
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
}
