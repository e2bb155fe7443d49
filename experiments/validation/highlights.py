"""Rules of the highlight task's fields (``highlights.*``)."""

from __future__ import annotations

import dataclasses

from experiments.validation.rules import (
    COUNT,
    POSITIVE,
    Rule,
    _names,
    any_text,
    number,
    one_of,
    text,
)


def _highlight_spec_fields(source: str) -> set[str]:
    from csum.data.synthetic import SyntheticSpec
    from csum.highlights.synthetic import HighlightSpec

    return {
        f.name for f in dataclasses.fields(HighlightSpec if source == "youtube" else SyntheticSpec)
    }


RULES: dict[str, Rule] = {
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
}
