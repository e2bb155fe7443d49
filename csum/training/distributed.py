"""Several processes (hosts), one computation: ``jax.distributed`` for csum's training.

Each process runs the same program (SPMD, JAX's multi-controller model). After
``initialize``, ``jax.devices()`` lists every process's devices, and a ``Mesh`` over them
(``csum.training.parallel``) partitions the training step exactly as on one host with as many
devices: each process contributes the batch rows that its own devices hold
(``jax.make_array_from_process_local_data``), the parameters are replicated, and XLA's
collectives (NCCL on GPUs, the ICI on TPUs, Gloo between CPU processes) gather the
contrastive negatives and reduce the gradients.

Files are written by process 0 only (``is_primary``); the others read the same work
directory, and ``barrier`` keeps them in step where one must see what another wrote.
Checkpoints go through orbax, which coordinates a save across processes itself.
"""

from __future__ import annotations

import jax
from jax.experimental import multihost_utils


def initialize(coordinator: str = "", num_processes: int = 0, process_id: int = -1) -> None:
    """Joins this process to the others (``jax.distributed.initialize``).

    Must run before anything touches a JAX device. Values left empty (``""``, 0, -1) come
    from the environment: ``JAX_COORDINATOR_ADDRESS``, or a cluster that JAX detects
    (SLURM, Open MPI, Kubernetes, Cloud TPU), where every value is found automatically.

    Args:
        coordinator: ``host:port`` of process 0's coordination service.
        num_processes: how many processes take part.
        process_id: this process's rank in ``[0, num_processes)``.
    """
    if jax.distributed.is_initialized():
        return
    # Cross-process collectives between CPU devices need an implementation chosen before
    # the backend starts (Gloo ships with jaxlib); accelerators ignore the setting.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator or None,
        num_processes=num_processes or None,
        process_id=process_id if process_id >= 0 else None,
    )


def is_primary() -> bool:
    """True in the process that writes the run's files (process 0; always on one host)."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Waits until every process reaches the barrier ``name`` (no-op on one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
