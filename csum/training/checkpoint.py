"""Per-epoch checkpoints of model parameters and optimizer state, with orbax.

A checkpoint is a nested mapping of named arrays, ``{"params": {"backbone": {...},
"projector": {...}}, "opt": {...}, "format": 2}``, readable without csum's code (any
orbax reader) and by ``Checkpointer.read``; ``csum.training.rundir.load_summarizer`` rebuilds
a trained model from a run's work directory.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

FORMAT = 2
"""Checkpoint layout: 2 = nested mapping of named arrays ``{"params": ..., "opt": ...,
"format": 2}``; 1 (csum before the layout was named) = one flat list of leaves."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read into this model (one-line message)."""


def _state(model, optimizer):
    # Parameters and optimizer state are the whole training state: data order and dropout
    # keys are derived from (seed, fold, epoch, step), so nothing random needs saving.
    return {"params": nnx.state(model, nnx.Param), "opt": nnx.state(optimizer)}


def _pure(model, optimizer) -> dict:
    return {k: v.to_pure_dict() for k, v in _state(model, optimizer).items()}


def named(tree):
    """The pure-dict state with every key a string (list positions become "0", "1", ...),
    so that orbax stores it as a mapping that any reader can walk by parameter name."""
    if isinstance(tree, dict):
        return {str(k): named(v) for k, v in tree.items()}
    return np.asarray(tree)


def unnamed(template, stored, path: str):
    """``stored`` (string keys) back into the key types and structure of ``template``."""
    if isinstance(template, dict):
        if not isinstance(stored, dict):
            raise CheckpointError(f"checkpoint holds an array at {path}, the model a mapping")
        missing = [str(k) for k in template if str(k) not in stored]
        if missing:
            raise CheckpointError(
                f"checkpoint has no {path}/{missing[0]} (and {len(missing) - 1} more): "
                "not written by this model"
            )
        return {k: unnamed(v, stored[str(k)], f"{path}/{k}") for k, v in template.items()}
    value = np.asarray(stored)
    if value.shape != np.shape(template):
        raise CheckpointError(
            f"checkpoint {path} has shape {value.shape}, the model {np.shape(template)}"
        )
    return value


class Checkpointer:
    """Saves after each epoch (keeping the last two) and restores the latest.

    Args:
        directory: where the checkpoints of one fold live.
    """

    def __init__(self, directory):
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=2, create=True)
        # The handler is named so that a fresh manager (a restarted run, csum.load) can
        # read metadata and restore without a template.
        self._manager = ocp.CheckpointManager(
            self.directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
        )

    def latest_epoch(self) -> int:
        """Number of epochs completed by the latest checkpoint (0 if none)."""
        step = self._manager.latest_step()
        return 0 if step is None else int(step)

    def save(self, epoch: int, model, optimizer) -> None:
        """Starts saving the state after ``epoch`` completed epochs.

        The state is copied to host memory here; orbax writes it in the background while
        the next epoch trains (an MSVA state is ~170 MB), and the previous save is waited
        for first. A save cut short never becomes the latest checkpoint (orbax finalises
        by an atomic rename), so a killed run resumes from the last complete epoch.
        """
        state = {**named(_pure(model, optimizer)), "format": np.asarray(FORMAT, np.int32)}
        self._manager.wait_until_finished()
        self._manager.save(epoch, args=ocp.args.StandardSave(state))

    def wait(self) -> None:
        """Blocks until the last save has landed."""
        self._manager.wait_until_finished()

    def layout(self, epoch: int) -> int:
        """The ``FORMAT`` of the checkpoint after ``epoch`` epochs (1: flat leaves)."""
        return 1 if "leaves" in self._manager.item_metadata(epoch).tree else FORMAT

    def read(self, epoch: int | None = None) -> dict:
        """The stored state as named numpy arrays (``{"params": {...}, "opt": {...}}``),
        without a model: for inspection by parameter name.

        Raises:
            CheckpointError: no checkpoint, or one in the old flat layout (which carries
                no names; ``restore`` converts it into a model of the same structure).
        """
        epoch = self.latest_epoch() if epoch is None else epoch
        if epoch == 0:
            raise CheckpointError(f"no checkpoint in {self.directory}")
        if self.layout(epoch) == 1:
            raise CheckpointError(
                f"{self.directory}/{epoch}: old flat checkpoint (no parameter names); "
                "load it with Checkpointer.restore"
            )
        tree = self._manager.restore(epoch)
        return {k: v for k, v in tree.items() if k != "format"}

    def restore(self, model, optimizer) -> int:
        """Loads the latest checkpoint into ``model`` and ``optimizer``; returns its epoch.

        A checkpoint in the old flat layout (format 1) is converted on the fly: its leaves
        are taken in the order of this model's state, which is how they were written.

        Raises:
            CheckpointError: the checkpoint does not fit the model (a missing name or a
                different shape), with the parameter's path.
        """
        epoch = self.latest_epoch()
        if epoch == 0:
            return 0
        state = _state(model, optimizer)
        pure = {k: v.to_pure_dict() for k, v in state.items()}
        if self.layout(epoch) == 1:
            template = [np.asarray(x) for x in jax.tree.leaves(pure)]
            restored = self._manager.restore(
                epoch, args=ocp.args.StandardRestore({"leaves": template})
            )["leaves"]
            pure = jax.tree.unflatten(jax.tree.structure(pure), [np.asarray(x) for x in restored])
        else:
            stored = self._manager.restore(epoch)
            pure = {k: unnamed(v, stored[k], k) for k, v in pure.items()}
        for name, sub in state.items():
            nnx.replace_by_pure_dict(sub, pure[name])
        nnx.update(model, state["params"])
        nnx.update(optimizer, state["opt"])
        return epoch

    def close(self) -> None:
        """Waits for the last save, then releases the manager."""
        self._manager.wait_until_finished()
        self._manager.close()
