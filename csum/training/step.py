"""One optimizer step of a regime's loss, jit-compiled once per bucket shape."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
from flax import nnx

import backbones
from csum import topk
from csum.model.summarizer import Summarizer
from csum.objectives import LOSSES
from csum.training import parallel
from csum.training.optim import trainable
from csum.training.spec import TrainSpec

NEGATIVES = ("batch", "all", "windows")
"""``loss.negatives``: the other videos and summaries of the batch (the paper, Eq. 1), also
every training video's embedding (``video_bank``), or every window of every other training
video against each summary window (``window_bank``, ``csum.objectives.contrastive.window_nce``)."""


def check_regime(spec: TrainSpec) -> None:
    """Raises ValueError (one line) for an unknown regime, a DPP term without its head, or
    more devices than JAX sees (``train.devices``)."""
    if spec.regime not in LOSSES:  # the registry as it is now: a user's losses included
        raise ValueError(
            f"unknown train.regime {spec.regime!r}; known: {', '.join(LOSSES.names())}"
        )
    if spec.negatives not in NEGATIVES:
        raise ValueError(
            f"unknown loss.negatives {spec.negatives!r}; known: {', '.join(NEGATIVES)}"
        )
    if spec.negatives == "windows" and spec.optimizer.projector_trainable:
        raise ValueError(
            "loss.negatives=windows trains on per-clip losses that the frozen "
            "projector fixes (no gradient reaches it); set "
            "--config.projector.trainable=false or loss.negatives=batch"
        )
    parallel.resolve_devices(spec.devices, spec.batch_size)
    LOSSES.build(spec.regime, spec.loss)  # a loss checks the settings it binds
    cls = backbones.BACKBONES.get(spec.model.backbone)
    dpp_weight = spec.loss.loss.get("dpp_weight", 0.0)
    if spec.regime == "supervised" and dpp_weight > 0 and not hasattr(cls, "scores_and_diversity"):
        raise ValueError(
            f"loss.dpp_weight={dpp_weight} needs a backbone with DPP diversity "
            f"features (dpplstm), not {spec.model.backbone!r}; set "
            f"--config.loss.dpp_weight=0"
        )


def regime_loss(spec: TrainSpec) -> Callable:
    """``loss(model, batch, bank=None) -> scalar`` of the regime, hyperparameters bound
    (``csum.objectives.LOSSES``).

    Raises:
        ValueError: see ``check_regime``.
    """
    check_regime(spec)
    return LOSSES.build(spec.regime, spec.loss)


class TrainStep:
    """One optimizer step of a regime's loss, jit-compiled once per bucket shape.

    ``step(model, optimizer, batch, bank=None) -> loss`` updates the NNX objects in place
    (``nnx.jit``; ``step.lower(...)`` lowers it). A training loop takes the faster
    ``step.bind(model, optimizer)``: the graph is split once and every step is a
    ``jax.jit`` of the pure state, with its dropout key drawn inside the compiled step.
    ``nnx.jit`` flattens and rebuilds the model and optimizer graph on every call, and
    ``nnx.reseed`` walks it again: on CPU that cost more than the compute of a small batch
    (UMT's transformer, one 100-clip video: 66 ms a step against 25 ms bound).

    Args:
        spec: the run's settings (the regime, its loss, the top-k operator, what trains).
    """

    def __init__(self, spec: TrainSpec):
        loss_fn = regime_loss(spec)
        wrt = nnx.DiffState(0, trainable(spec.optimizer))
        stochastic = spec.loss.operator in topk.STOCHASTIC

        def update(model, optimizer, batch, bank):
            loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, batch, bank=bank), argnums=wrt)(
                model
            )
            optimizer.update(model, grads)
            return loss

        def reseed(model, key):
            # Dropout and top-k noise (a stochastic operator's) are functions of the step.
            if stochastic:
                nnx.reseed(model, dropout=key, topk=jax.random.fold_in(key, 1))
            else:
                nnx.reseed(model, dropout=key)

        def pure(graphdef, treedef, leaves, batch, bank, key):
            model, optimizer = nnx.merge(graphdef, jax.tree.unflatten(treedef, leaves))
            reseed(model, key)
            loss = update(model, optimizer, batch, bank)
            return loss, jax.tree.leaves(nnx.state((model, optimizer)))

        self._step = nnx.jit(update)
        self._pure, self._reseed = pure, reseed
        # One compiled step per distinct graph, found by equality: a graph's static
        # attributes need not be hashable (a backbone may keep a dict), so it cannot be a
        # static argument of jax.jit.
        self._compiled: list[tuple] = []

    def __call__(self, model: Summarizer, optimizer: nnx.Optimizer, batch, bank=None) -> jax.Array:
        return self._step(model, optimizer, batch, bank)

    def lower(self, model: Summarizer, optimizer: nnx.Optimizer, batch, bank=None):
        return self._step.lower(model, optimizer, batch, bank)

    def bind(self, model: Summarizer, optimizer: nnx.Optimizer) -> BoundStep:
        """The step over the split state of ``model`` and ``optimizer``, which it owns
        until ``BoundStep.sync`` writes it back."""
        # The streams the step reseeds get a key of the step's kind first (a model is
        # built with threefry keys, steps use rbg: step_key), or the first step's output
        # state would not match its input and every bind would compile twice.
        self._reseed(model, step_key(0, 0, 0))
        return BoundStep(self._for_graph, model, optimizer)

    def _for_graph(self, graphdef, treedef):
        for known, compiled in self._compiled:
            if known == (graphdef, treedef):
                return compiled
        compiled = jax.jit(functools.partial(self._pure, graphdef, treedef))
        self._compiled.append(((graphdef, treedef), compiled))
        return compiled


class BoundStep:
    """``bound(batch, bank, key) -> loss``: a ``TrainStep`` on the model's and optimizer's
    state, split once and passed as a flat list (jit's fast path); the objects are stale
    after a step until ``sync()``."""

    def __init__(self, for_graph, model, optimizer):
        self._objects = (model, optimizer)
        graphdef, state = nnx.split(self._objects)
        self._leaves, self._treedef = jax.tree.flatten(state)
        self._step = for_graph(graphdef, self._treedef)
        self._stale = False

    def __call__(self, batch, bank, key: jax.Array) -> jax.Array:
        loss, self._leaves = self._step(self._leaves, batch, bank, key)
        self._stale = True
        return loss

    def sync(self) -> None:
        """Writes the trained state back into the model and optimizer (when a step has run
        since the last sync); stepping may go on after it."""
        if self._stale:
            nnx.update(self._objects, jax.tree.unflatten(self._treedef, self._leaves))
            self._stale = False


def make_train_step(spec: TrainSpec) -> TrainStep:
    """Returns the regime's ``TrainStep`` (``bank``: ``csum.training.trainer.negatives_bank``)."""
    return TrainStep(spec)


def step_key(seed: int, fold: int, step: int) -> jax.Array:
    """Dropout (and top-k noise) key of one training step: a function of (seed, fold, step).

    ``rbg`` keys use XLA's native bit generator: attention dropout draws B x T x T bits per
    source, and on CPU threefry made that a fifth of the step time. Streams are
    reproducible on one backend (not bit-identical across CPU and GPU).
    """
    key = jax.random.key(seed, impl="rbg")
    return jax.random.fold_in(jax.random.fold_in(key, fold), step)
