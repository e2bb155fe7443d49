"""The training losses by name, and the typed settings every loss factory binds.

``train.regime`` names one entry of ``LOSSES``. Each entry is a factory
``(spec: LossSpec) -> loss(model, batch, bank=None) -> scalar`` that binds its
hyperparameters, so the trainer (``csum.training.trainer``) never branches on a regime.
A user adds a loss the way they add a backbone::

    from csum.objectives import LOSSES

    @LOSSES.register("mine")
    def mine(spec):
        return lambda model, batch, bank=None: ...

and trains with ``--config.train.regime=mine``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from csum import topk
from csum.registry import Registry

LOSSES = Registry("training loss (train.regime)")


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """What a loss factory may bind (built once by a task driver from its config).

    Attributes:
        ratio: the summary length ratio (``topk.ratio``).
        operator: the top-k operator's name (``csum.topk`` registry, ``topk.name``).
        operator_kwargs: its hyperparameters (``topk.<name>``, e.g. ``alpha``).
        scores: what the top-k ranks, ``"raw"`` or ``"standardized"`` (``topk.scores``).
        loss: the ``loss.*`` settings (``tau``, ``negatives``, ``dpp_weight``, and the
            weights of the multimodal systems' losses).
        backbone: the backbone's registered name (a loss may need its outputs).
        backbone_kwargs: the backbone's keyword arguments as configured.
    """

    ratio: float
    operator: str
    operator_kwargs: Mapping[str, Any]
    scores: str
    loss: Mapping[str, Any]
    backbone: str
    backbone_kwargs: Mapping[str, Any]

    @classmethod
    def from_config(cls, config: Mapping) -> LossSpec:
        """The spec that a run config describes (``topk``, ``loss`` and ``backbone``).

        Raises:
            UnknownNameError: a top-k operator that is not registered (lists the known ones).
        """
        name = config["topk"]["name"]
        topk.get(name)
        return cls(
            ratio=config["topk"]["ratio"],
            operator=name,
            operator_kwargs=dict(config["topk"][name]) if name in config["topk"] else {},
            scores=config["topk"]["scores"],
            loss=dict(config["loss"]),
            backbone=config["backbone"]["name"],
            backbone_kwargs=dict(config["backbone"]["kwargs"]),
        )
