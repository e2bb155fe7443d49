"""The optimizer of a training run: what it updates, and how."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import optax
from flax import nnx

OPTIMIZERS = ("adamw", "lion")
"""``train.optimizer``: AdamW (the default), or Lion (Chen et al. 2023, "Symbolic Discovery
of Optimization Algorithms": the sign of an interpolated momentum; the optimizer of the
query-based highlight transformer of ``004_…``, section 2.4), both from optax."""


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """Attributes:
    name: ``"adamw"`` or ``"lion"`` (``OPTIMIZERS``).
    lr: the learning rate (constant).
    weight_decay: decoupled weight decay.
    max_grad_norm: global-norm clipping of the gradient.
    projector_trainable: whether the projector h learns too (else only the backbone).
    """

    name: str
    lr: float
    weight_decay: float
    max_grad_norm: float
    projector_trainable: bool = True

    @classmethod
    def from_config(cls, config: Mapping) -> OptimizerSpec:
        """The spec that a run config's ``train`` and ``projector`` nodes describe."""
        train = config["train"]
        return cls(
            name=train.get("optimizer", "adamw"),
            lr=train["lr"],
            weight_decay=train["weight_decay"],
            max_grad_norm=train["max_grad_norm"],
            projector_trainable=bool(config["projector"].get("trainable", True)),
        )


def make_optimizer(spec: OptimizerSpec) -> optax.GradientTransformation:
    """The optimizer with decoupled weight decay and global-norm clipping (a constant
    learning rate: no epoch schedule, so an interrupted run and its resumption see the
    same rates)."""
    return _optimizer(spec.name, spec.lr, spec.weight_decay, spec.max_grad_norm)


@functools.cache
def _optimizer(
    name: str, lr: float, weight_decay: float, max_grad_norm: float
) -> optax.GradientTransformation:
    # One object per setting: the transformation is static in the optimizer's graph, so a
    # new one per fold would miss the train step's jit cache and recompile every shape.
    if name not in OPTIMIZERS:
        raise ValueError(f"train.optimizer={name!r}: expected one of {OPTIMIZERS}")
    update = (optax.adamw if name == "adamw" else optax.lion)(lr, weight_decay=weight_decay)
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), update)


def trainable(spec: OptimizerSpec):
    """The parameters that training updates (an NNX filter).

    Everything (backbone g and projector h) by default, as in the paper. With
    ``projector_trainable=False`` the projector stays at its random initialisation and
    only the backbone learns.
    """
    if spec.projector_trainable:
        return nnx.Param
    return nnx.All(nnx.Param, nnx.PathContains("backbone"))


def make_optimizer_for(spec: OptimizerSpec, model) -> nnx.Optimizer:
    """The optimizer over ``trainable(spec)`` of ``model``."""
    return nnx.Optimizer(model, make_optimizer(spec), wrt=trainable(spec))
