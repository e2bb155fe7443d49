"""A run's folder, read and written here alone.

A run (or one phase of a multi-phase run) lives in one work directory::

    config.json       the resolved config, as the task driver gave it (``write_config``)
    model.json        what rebuilds the model: the sources' widths, the ``ModelSpec`` and
                      the module that registers the backbone (``write_model``)
    metrics.jsonl     one line per epoch per fold (``append_metrics``)
    fold_<i>/checkpoints/<epoch>/   orbax checkpoints (``csum.training.checkpoint``)

``load_summarizer`` rebuilds a trained model from ``model.json`` and a checkpoint, without
the config; a run written before ``model.json`` held the spec is rebuilt from the
``config.json`` beside it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from pathlib import Path

from flax import nnx

from backbones.registry import BACKBONES
from csum.model.summarizer import ModelSpec, Summarizer, build_summarizer
from csum.training import distributed
from csum.training.checkpoint import Checkpointer, CheckpointError, unnamed
from csum.training.optim import OptimizerSpec, make_optimizer_for

CONFIG_FILE = "config.json"
MODEL_FILE = "model.json"
METRICS_FILE = "metrics.jsonl"

IGNORED = ("distributed",)
"""Config nodes that are not part of a run: how the processes were launched (a run may
resume on another number of hosts, and each process has its own rank)."""


class RunConfigError(ValueError):
    """A work directory that holds a run with another config (one-line message)."""


def fold_dir(workdir, fold: int) -> Path:
    """The folder of one fold (its checkpoints, contrast index, result)."""
    return Path(workdir) / f"fold_{fold}"


def checkpoints(workdir, fold: int) -> Path:
    """The folder of one fold's checkpoints."""
    return fold_dir(workdir, fold) / "checkpoints"


def read_config(workdir) -> dict:
    """The run's resolved config as plain JSON data."""
    return json.loads((Path(workdir) / CONFIG_FILE).read_text())


def _diff(a, b, prefix=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            yield from _diff(a.get(k), b.get(k), f"{prefix}{k}.")
    elif a != b:
        yield prefix.rstrip(".")


def write_config(workdir, resolved: dict, *, replace: bool = False) -> None:
    """Writes ``config.json`` (the resolved config as JSON data, keys sorted).

    Args:
        workdir: the run's folder (created).
        resolved: the config, already resolved by the task driver (plain JSON data).
        replace: overwrite a config already there. Without it, a folder that holds a run
            with another config (``IGNORED`` aside) is refused, so that a rerun resumes its
            own run and never mixes two; every process compares before the first writes.

    Raises:
        RunConfigError: the folder holds another run (naming up to four differing keys).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / CONFIG_FILE
    if not replace:
        if path.is_file():
            previous = json.loads(path.read_text())
            previous = {k: v for k, v in previous.items() if k not in IGNORED}
            if previous != {k: v for k, v in resolved.items() if k not in IGNORED}:
                diff = sorted(_diff(previous, resolved))
                raise RunConfigError(
                    f"{workdir}: holds a run with another config (differs in "
                    f"{', '.join(diff[:4])}); resume with the same config or pick a new "
                    "--config.workdir"
                )
        distributed.barrier("csum-config-read")  # every process compares before one writes
    if distributed.is_primary():
        path.write_text(json.dumps(resolved, indent=2, sort_keys=True) + "\n")


def write_model(workdir, in_dims, spec: ModelSpec, optimizer: OptimizerSpec, seed: int) -> None:
    """Writes ``model.json``: the sources' widths, the model and optimizer specs, the run's
    seed (fold ``i``'s model is built with ``seed + i``), and the
    module that registers the backbone (a user's own, named by ``--import``, is imported
    again when the run is loaded)."""
    module = getattr(BACKBONES.get(spec.backbone), "__module__", "")
    meta = {
        "in_dims": [int(d) for d in in_dims],
        "backbone": spec.backbone,
        "backbone_module": module,
        "model": spec.to_dict(),
        "optimizer": dataclasses.asdict(optimizer),
        "seed": int(seed),
    }
    Path(workdir).mkdir(parents=True, exist_ok=True)
    if distributed.is_primary():
        (Path(workdir) / MODEL_FILE).write_text(json.dumps(meta) + "\n")


def read_model(workdir) -> tuple[tuple[int, ...], ModelSpec, OptimizerSpec, dict]:
    """``(in_dims, model spec, optimizer spec, model.json)`` of a run.

    Raises:
        CheckpointError: no ``config.json`` or no ``model.json``.
    """
    workdir = Path(workdir)
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (workdir / name).is_file():
            raise CheckpointError(f"{workdir}: no {name}; is this a csum run's work directory?")
    meta = json.loads((workdir / MODEL_FILE).read_text())
    if "model" in meta:
        spec = ModelSpec.from_dict(meta["model"])
        optimizer = OptimizerSpec(**meta["optimizer"])
    else:  # written before model.json held the spec: the config beside it describes it
        config = read_config(workdir)
        spec, optimizer = ModelSpec.from_config(config), OptimizerSpec.from_config(config)
    return tuple(int(d) for d in meta["in_dims"]), spec, optimizer, meta


def append_metrics(workdir, record: dict) -> None:
    """Appends one record to ``metrics.jsonl``."""
    with open(Path(workdir) / METRICS_FILE, "a") as f:
        f.write(json.dumps(record) + "\n")


def drop_stale_metrics(workdir, fold: int, from_epoch: int) -> None:
    """Removes metric lines of ``fold`` at epochs >= ``from_epoch`` (written after the
    checkpoint that a resumed run restarts from)."""
    path = Path(workdir) / METRICS_FILE
    if not path.is_file():
        return
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keep = [r for r in lines if not (r.get("fold") == fold and r.get("epoch", -1) >= from_epoch)]
    path.write_text("".join(json.dumps(r) + "\n" for r in keep))


def folds(workdir) -> list[int]:
    """The folds that have a checkpoint folder, in order."""
    return sorted(
        int(p.parent.name.split("_")[1]) for p in Path(workdir).glob("fold_*/checkpoints")
    )


def default_fold(workdir) -> int:
    """The fold that ``load_summarizer`` picks by default: the lowest one with a checkpoint."""
    found = folds(workdir)
    if not found:
        raise CheckpointError(f"{workdir}: no fold has a checkpoint")
    return found[0]


def _import_backbone(meta: dict, workdir) -> None:
    """Imports the module that registered the run's backbone when it is not registered yet
    (a user's module: the current directory is on the path, as for ``--import``)."""
    name, module = meta.get("backbone", ""), meta.get("backbone_module", "")
    if not name or name in BACKBONES.names() or not module:
        return
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        importlib.import_module(module)
    except Exception as err:  # user code: one line
        raise CheckpointError(
            f"{workdir}: its backbone {name!r} is registered by module "
            f"{module!r}, which cannot be imported ({type(err).__name__}: "
            f"{err}); put it on the import path"
        ) from None


def load_summarizer(workdir, fold: int | None = None) -> Summarizer:
    """A trained run's ``Summarizer``, in evaluation mode.

    ``model.json`` rebuilds the Summarizer; the latest checkpoint of the fold fills its
    parameters. The model's seed is the run's plus the fold, as in training (the
    parameters are overwritten; only a stochastic top-k's stream keeps it).

    Args:
        workdir: the run's ``config.workdir``.
        fold: which fold's model (default: the lowest fold that has a checkpoint).

    Raises:
        CheckpointError: a missing file or checkpoint, or one that does not fit (one line).
    """
    workdir = Path(workdir)
    in_dims, spec, optimizer, meta = read_model(workdir)
    _import_backbone(meta, workdir)
    found = folds(workdir)
    if fold is None:
        fold = default_fold(workdir)
    if fold not in found:
        raise CheckpointError(f"{workdir}: fold {fold} has no checkpoint (folds with one: {found})")
    seed = meta["seed"] if "seed" in meta else read_config(workdir)["seed"]
    model = build_summarizer(spec, in_dims, seed=seed + fold)
    ckpt = Checkpointer(checkpoints(workdir, fold))
    try:
        if ckpt.latest_epoch() == 0:
            raise CheckpointError(f"{workdir}: fold {fold} has no checkpoint yet")
        if ckpt.layout(ckpt.latest_epoch()) == 1:  # flat leaves: ordered with the optimizer's
            ckpt.restore(model, make_optimizer_for(optimizer, model))
        else:
            params = nnx.state(model, nnx.Param)
            stored = ckpt.read()["params"]
            nnx.replace_by_pure_dict(params, unnamed(params.to_pure_dict(), stored, "params"))
            nnx.update(model, params)
    finally:
        ckpt.close()
    model.eval()
    return model
