"""Training one fold: jitted steps over padded batches, per-epoch checkpoints, JSONL metrics."""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

from csum import distributed, parallel, topk
from csum.banks import video_bank, window_bank
from csum.checkpoint import Checkpointer, write_model_meta
from csum.data.stream import MemorySource, VideoSource, as_source, stream_batches
from csum.data.video import Video
from csum.model import Summarizer, set_contrast_stats
from csum.objectives import LOSSES, operator_kwargs  # noqa: F401  (operator_kwargs: API)


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says where and why."""


OPTIMIZERS = ("adamw", "lion")
"""``train.optimizer``: AdamW (the default), or Lion (Chen et al. 2023, "Symbolic Discovery
of Optimization Algorithms": the sign of an interpolated momentum; the optimizer of the
query-based highlight transformer of ``004_…``, section 2.4), both from optax."""


def make_optimizer(config) -> optax.GradientTransformation:
    """``train.optimizer`` with decoupled weight decay and global-norm clipping (a constant
    learning rate: no epoch schedule, so an interrupted run and its resumption see the
    same rates)."""
    name = config.train.get("optimizer", "adamw")
    return _optimizer(name, config.train.lr, config.train.weight_decay,
                      config.train.max_grad_norm)  # fmt: skip


@functools.cache
def _optimizer(name: str, lr: float, weight_decay: float,
               max_grad_norm: float) -> optax.GradientTransformation:  # fmt: skip
    # One object per setting: the transformation is static in the optimizer's graph, so a
    # new one per fold would miss the train step's jit cache and recompile every shape.
    if name not in OPTIMIZERS:
        raise ValueError(f"train.optimizer={name!r}: expected one of {OPTIMIZERS}")
    update = (optax.adamw if name == "adamw" else optax.lion)(lr, weight_decay=weight_decay)
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), update)


NEGATIVES = ("batch", "all", "windows")
"""``loss.negatives``: the other videos and summaries of the batch (the paper, Eq. 1), also
every training video's embedding (``video_bank``), or every window of every other training
video against each summary window (``window_bank``, ``csum.losses.window_nce``)."""

REGIMES = tuple(LOSSES)
"""Training regimes (``train.regime``): the training losses of the registry
(``csum.objectives.LOSSES``: CSUM's contrastive loss, the backbones' supervised loss, UMT's
saliency loss, the multimodal systems' own losses). All share this trainer, data and
evaluation."""


def check_regime(config) -> None:
    """Raises ValueError (one line) for an unknown regime, a DPP term without its head, or
    more devices than JAX sees (``train.devices``)."""
    import backbones  # the registry (csum.model imports it too)

    if config.train.regime not in REGIMES:
        raise ValueError(f"unknown train.regime {config.train.regime!r}; known: "
                         f"{', '.join(REGIMES)}")  # fmt: skip
    if config.loss.negatives not in NEGATIVES:
        raise ValueError(f"unknown loss.negatives {config.loss.negatives!r}; known: "
                         f"{', '.join(NEGATIVES)}")  # fmt: skip
    if config.loss.negatives == "windows" and config.projector.trainable:
        raise ValueError("loss.negatives=windows trains on per-clip losses that the frozen "
                         "projector fixes (no gradient reaches it); set "
                         "--config.projector.trainable=false or loss.negatives=batch")  # fmt: skip
    parallel.resolve_devices(config.train.devices, config.train.batch_size)
    LOSSES.build(config.train.regime, config)  # a loss checks the config it binds
    cls = backbones.BACKBONES.get(config.backbone.name)
    dpp = config.train.regime == "supervised" and config.loss.dpp_weight > 0
    if dpp and not hasattr(cls, "scores_and_diversity"):
        raise ValueError(f"loss.dpp_weight={config.loss.dpp_weight} needs a backbone with DPP "
                         f"diversity features (dpplstm), not {config.backbone.name!r}; set "
                         f"--config.loss.dpp_weight=0")  # fmt: skip


def regime_loss(config) -> Callable:
    """``loss(model, batch, bank=None) -> scalar`` of the configured regime, hyperparameters
    bound (``csum.objectives.LOSSES``).

    Raises:
        ValueError: see ``check_regime``.
    """
    check_regime(config)
    return LOSSES.build(config.train.regime, config)


def trainable(config):
    """The parameters that training updates (an NNX filter).

    Everything (backbone g and projector h) by default, as in the paper. With
    ``projector.trainable=False`` the projector stays at its random initialisation and only
    the backbone learns.
    """
    if config.projector.trainable:
        return nnx.Param
    return nnx.All(nnx.Param, nnx.PathContains("backbone"))


def make_optimizer_for(config, model) -> nnx.Optimizer:
    """The optimizer over ``trainable(config)``."""
    return nnx.Optimizer(model, make_optimizer(config), wrt=trainable(config))


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
        config: the run's config (the regime, its loss, ``topk``'s operator).
    """

    def __init__(self, config):
        loss_fn = regime_loss(config)
        wrt = nnx.DiffState(0, trainable(config))
        stochastic = config.topk.name in topk.STOCHASTIC

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


def make_train_step(config) -> TrainStep:
    """Returns the regime's ``TrainStep`` (``bank``: see ``video_bank``)."""
    return TrainStep(config)


def negatives_bank(config, model: Summarizer, videos, buckets):
    """The bank of extra negatives that ``loss.negatives`` asks for (None for "batch"):
    ``window_bank`` or ``video_bank`` over ``videos`` (a list, or a ``VideoSource``: the
    window bank is every clip of every video, so it needs the videos in memory), computed
    in eval mode."""
    if config.train.regime != "csum" or config.loss.negatives == "batch":
        return None
    model.eval()  # the projector has no dropout; eval mode for any that would
    if config.loss.negatives == "windows":
        if not isinstance(videos, MemorySource | list | tuple):
            raise ValueError("loss.negatives=windows needs the videos in memory "
                             "(data.stream=true trains with batch or all)")  # fmt: skip
        videos = videos.videos if isinstance(videos, MemorySource) else videos
        bank = window_bank(model, videos, config.eval.batch_size, buckets, config.loss.tau)
    else:
        bank = video_bank(model, videos, config.eval.batch_size, buckets)
    model.train()
    return bank


def step_key(seed: int, fold: int, step: int) -> jax.Array:
    """Dropout (and top-k noise) key of one training step: a function of (seed, fold, step).

    ``rbg`` keys use XLA's native bit generator: attention dropout draws B x T x T bits per
    source, and on CPU threefry made that a fifth of the step time. Streams are
    reproducible on one backend (not bit-identical across CPU and GPU).
    """
    key = jax.random.key(seed, impl="rbg")
    return jax.random.fold_in(jax.random.fold_in(key, fold), step)


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def drop_stale_records(path: Path, fold: int, from_epoch: int) -> None:
    """Removes metric lines of ``fold`` at epochs >= ``from_epoch`` (written after the
    checkpoint that a resumed run restarts from)."""
    if not path.is_file():
        return
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keep = [r for r in lines if not (r.get("fold") == fold and r.get("epoch", -1) >= from_epoch)]
    path.write_text("".join(json.dumps(r) + "\n" for r in keep))


def train_fold(
    config,
    model: Summarizer,
    videos: Sequence[Video] | VideoSource,
    fold: int,
    workdir: Path,
    step_fn: Callable,
    buckets: Sequence[int],
    on_epoch_end: Callable[[int, int], None] | None = None,
    validate: Callable[[Summarizer], dict] | None = None,
) -> list[dict]:
    """Trains ``model`` on ``videos`` for ``config.train.epochs`` epochs, resuming if possible.

    Data order comes from ``(seed, fold, epoch)`` and dropout keys from ``(seed, fold,
    step)``, and parameters plus optimizer state are checkpointed after every
    ``train.checkpoint_every`` epochs (and the last), so an interrupted run that is
    restarted redoes the epochs since and ends with exactly the parameters of an
    uninterrupted one. No epoch is selected by any test metric: the last epoch is the result.

    Args:
        config: the run config.
        model: a freshly built Summarizer (overwritten by the checkpoint when resuming).
        videos: training videos: a list, or a ``csum.data.stream.VideoSource`` read a batch
            at a time (a collection larger than memory, ``data.stream``).
        fold: fold index (for keys, paths and logs).
        workdir: the run's work directory.
        step_fn: from ``make_train_step``.
        buckets: padded lengths.
        on_epoch_end: called as ``on_epoch_end(fold, epoch)`` after each saved epoch.
        validate: ``validate(model) -> dict`` of metrics on held-out training videos (never
            the test fold), added to each epoch's record every ``train.val_every`` epochs
            and at the last one.

    Returns:
        The per-epoch metric records of this fold (also appended to metrics.jsonl).
    """
    source = as_source(videos)
    if model.normalize != "none":  # statistics of this fold's training videos
        set_contrast_stats(model, source)
    optimizer = make_optimizer_for(config, model)
    ckpt = Checkpointer(workdir / f"fold_{fold}" / "checkpoints")
    metrics_path = workdir / "metrics.jsonl"
    start = ckpt.restore(model, optimizer)
    primary = distributed.is_primary()  # files are written by one process
    if primary:
        drop_stale_records(metrics_path, fold, start)
    steps_per_epoch = math.ceil(len(source) / config.train.batch_size)
    mesh, rows, place = None, None, None
    devices = parallel.resolve_devices(config.train.devices, config.train.batch_size)
    if devices > 1:  # data parallel: batches split along B, state replicated
        mesh = parallel.make_mesh(devices)
        parallel.replicate_state(model, optimizer, mesh=mesh)
        rows = parallel.local_rows(mesh, config.train.batch_size)
        place = functools.partial(parallel.shard_rows, mesh=mesh,
                                  batch_size=config.train.batch_size)  # fmt: skip
    records, bank, bound = [], None, None
    bar = tqdm(range(start, config.train.epochs), desc=f"fold {fold}", unit="epoch",
               initial=start, total=config.train.epochs, leave=False,
               disable=not config.train.progress)  # fmt: skip
    try:
        for epoch in bar:
            tic = time.perf_counter()
            rng = np.random.default_rng([config.seed, fold, epoch])
            if (
                config.train.regime == "csum"
                and config.loss.negatives != "batch"
                and (bank is None or config.projector.trainable)
            ):
                if bound is not None:
                    bound.sync()
                local = model if mesh is None else parallel.local_copy(model)
                bank = negatives_bank(config, local, source, buckets)
                if mesh is not None:
                    bank = parallel.replicate(bank, mesh)
            losses = []
            # Batches are collated a step ahead in a thread; with several processes each
            # collates (and, from a lazy source, reads) only the rows its devices hold.
            batches = stream_batches(source, config.train.batch_size, buckets, rng,
                                     rows=rows, place=place)  # fmt: skip
            # The state is split once and written back only where the model is read
            # (bank, validation, checkpoint): a sync costs as much as a small step.
            if bound is None:
                bound = step_fn.bind(model, optimizer)
            for i, batch in enumerate(batches):
                key = step_key(config.seed, fold, epoch * steps_per_epoch + i)
                losses.append(bound(batch, bank, key))
            losses = np.asarray(jax.device_get(losses), np.float64)
            if not np.isfinite(losses).all():
                bad = int(np.flatnonzero(~np.isfinite(losses))[0])
                raise TrainingError(
                    f"fold {fold} epoch {epoch} step {bad}: loss is {losses[bad]}; lower "
                    f"train.lr (now {config.train.lr}) or raise loss.tau (now {config.loss.tau})"
                )
            record = {"fold": fold, "epoch": epoch, "loss": float(losses.mean()),
                      "seconds": time.perf_counter() - tic, "steps": len(losses)}  # fmt: skip
            last = epoch + 1 == config.train.epochs
            saved = (epoch + 1) % config.train.checkpoint_every == 0 or last
            validating = validate is not None and (
                (epoch + 1) % config.train.val_every == 0 or last
            )
            if saved or validating:
                bound.sync()
            if validating:
                record.update(validate(model if mesh is None else parallel.local_copy(model)))
            # Epochs of a few steps (a handful of labelled videos) would spend their time
            # saving; an interrupted run redoes the epochs after its last checkpoint, and
            # since every batch and key is a function of (seed, fold, epoch, step), it
            # redoes them exactly.
            if saved:
                ckpt.save(epoch + 1, model, optimizer)
            if primary:
                append_jsonl(metrics_path, record)
            records.append(record)
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            if saved and on_epoch_end is not None:
                ckpt.wait()  # the callback may stop the run: let it see a landed checkpoint
                on_epoch_end(fold, epoch)
    finally:
        ckpt.close()
    if mesh is not None:  # evaluation runs per process on whole videos
        parallel.localize(model, optimizer)
    return records


def phase_config(config, regime: str, workdir: Path, settings=None):
    """The trainer config of one phase of a multi-phase run: ``config`` with
    ``train.regime = regime``, ``workdir``, and ``settings`` (``epochs``, ``lr``,
    ``weight_decay``, ``batch_size`` and/or ``optimizer``) over ``train``'s."""
    c = config.copy_and_resolve_references()
    with c.unlocked():
        c.train.regime = regime
        c.workdir = str(workdir)
        for key, value in dict(settings or {}).items():
            c.train[key] = value
    return c


def train_phase(config, regime: str, videos: Sequence[Video], workdir: Path,
                model: Summarizer | None = None, settings=None) -> Summarizer:  # fmt: skip
    """Trains (or resumes) one phase on ``videos``; returns the model.

    A run of several phases (pre-training, then fine-tuning) hands each phase's model to
    the next. The phase folder gets its resolved ``config.json`` and ``model.json``, so
    that ``csum.load(folder)`` returns the trained model.

    Args:
        config: the run's config.
        regime: the phase's loss (``csum.objectives.LOSSES``).
        videos: training videos.
        workdir: the phase folder (its checkpoints, metrics and configs).
        model: the model to go on training (default: a fresh one).
        settings: the phase's ``train`` settings (``phase_config``).
    """
    from csum.data.batching import default_buckets
    from csum.model import build_summarizer

    c = phase_config(config, regime, workdir, settings)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(c.to_json_best_effort(indent=2) + "\n")
    write_model_meta(workdir, videos[0].dims, c.backbone.name)
    buckets = default_buckets(max(v.n_steps for v in videos), c.train.bucket_quantum,
                              c.train.bucket_growth)  # fmt: skip
    if model is None:
        model = build_summarizer(c, videos[0].dims, seed=c.seed)
    train_fold(c, model, videos, 0, workdir, make_train_step(c), buckets)
    return model
