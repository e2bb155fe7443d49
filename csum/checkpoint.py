"""Per-epoch checkpoints of model parameters and optimizer state, with orbax."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx


def _state(model, optimizer):
    # Parameters and optimizer state are the whole training state: data order and dropout
    # keys are derived from (seed, fold, epoch, step), so nothing random needs saving.
    return {"params": nnx.state(model, nnx.Param), "opt": nnx.state(optimizer)}


def _leaves(model, optimizer) -> list:
    return jax.tree.leaves({k: v.to_pure_dict() for k, v in _state(model, optimizer).items()})


class Checkpointer:
    """Saves after each epoch (keeping the last two) and restores the latest.

    Args:
        directory: where the checkpoints of one fold live.
    """

    def __init__(self, directory):
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=2, create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

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
        leaves = [np.asarray(x) for x in _leaves(model, optimizer)]
        self._manager.wait_until_finished()
        self._manager.save(epoch, args=ocp.args.StandardSave({"leaves": leaves}))

    def wait(self) -> None:
        """Blocks until the last save has landed."""
        self._manager.wait_until_finished()

    def restore(self, model, optimizer) -> int:
        """Loads the latest checkpoint into ``model`` and ``optimizer``; returns its epoch."""
        epoch = self.latest_epoch()
        if epoch == 0:
            return 0
        state = _state(model, optimizer)
        pure = {k: v.to_pure_dict() for k, v in state.items()}
        template = [np.asarray(x) for x in jax.tree.leaves(pure)]
        restored = self._manager.restore(
            epoch, args=ocp.args.StandardRestore({"leaves": template})
        )["leaves"]
        pure = jax.tree.unflatten(jax.tree.structure(pure), [np.asarray(x) for x in restored])
        for name, sub in state.items():
            nnx.replace_by_pure_dict(sub, pure[name])
        nnx.update(model, state["params"])
        nnx.update(optimizer, state["opt"])
        return epoch

    def close(self) -> None:
        """Waits for the last save, then releases the manager."""
        self._manager.wait_until_finished()
        self._manager.close()
