"""Rules of the multimodal tasks' fields (``queries.*``, ``transcripts.*`` and their losses'
weights)."""

from __future__ import annotations

from experiments.validation.rules import (
    COUNT,
    POSITIVE,
    Rule,
    _fields,
    _names,
    any_text,
    number,
    one_of,
)

RULES: dict[str, Rule] = {
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
