"""The typed settings of one training run (or phase), built once from a config by the
task driver; everything in ``csum.training`` takes them, never the config."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from csum.model.summarizer import ModelSpec
from csum.objectives.registry import LossSpec
from csum.training.optim import OptimizerSpec


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """Attributes:
    regime: the loss (``csum.objectives.LOSSES``, ``train.regime``).
    epochs: epochs to train.
    batch_size: videos per step.
    seed: the run's seed (data order, dropout and top-k keys derive from it).
    model: what the model is (``csum.model.summarizer.ModelSpec``).
    loss: what the loss binds (``csum.objectives.LossSpec``).
    optimizer: how it is updated (``csum.training.optim.OptimizerSpec``).
    devices: data-parallel devices (0: all local ones; ``csum.training.parallel``).
    checkpoint_every: save every this many epochs (and after the last).
    val_every: validate every this many epochs (and at the last).
    progress: show a progress bar.
    eval_batch_size: videos per batch when the model is read (banks, scoring).
    bucket_quantum: the smallest padded length (``csum.data.batching.default_buckets``).
    bucket_growth: the ratio between consecutive padded lengths.
    """

    regime: str
    epochs: int
    batch_size: int
    seed: int
    model: ModelSpec
    loss: LossSpec
    optimizer: OptimizerSpec
    devices: Any = 1
    checkpoint_every: int = 1
    val_every: int = 1
    progress: bool = True
    eval_batch_size: int = 8
    bucket_quantum: int = 64
    bucket_growth: float = 1.125

    @classmethod
    def from_config(cls, config: Mapping) -> TrainSpec:
        """The settings that a run config describes (its ``train``, ``loss``, ``topk``,
        ``backbone``, ``projector`` and ``eval`` nodes)."""
        train = config["train"]
        return cls(
            regime=train["regime"],
            epochs=train["epochs"],
            batch_size=train["batch_size"],
            seed=config["seed"],
            model=ModelSpec.from_config(config),
            loss=LossSpec.from_config(config),
            optimizer=OptimizerSpec.from_config(config),
            devices=train["devices"],
            checkpoint_every=train.get("checkpoint_every", 1),
            val_every=train.get("val_every", 1),
            progress=train.get("progress", True),
            eval_batch_size=config["eval"]["batch_size"],
            bucket_quantum=train["bucket_quantum"],
            bucket_growth=train["bucket_growth"],
        )

    @property
    def negatives(self) -> str:
        """``loss.negatives``: ``"batch"``, ``"all"`` or ``"windows"``."""
        return self.loss.loss["negatives"]
