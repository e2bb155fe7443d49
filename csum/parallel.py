"""Data parallelism on one host: a device mesh, batches split along the batch axis.

JAX's sharding does the work (``jax.sharding``): a batch is placed with its leading axis
split over a one-axis ``Mesh`` (``NamedSharding(mesh, P("batch"))``), the parameters and
optimizer state replicated (``P()``), and the jitted training step is compiled once for
that layout. XLA partitions the step and inserts the collectives: the loss is a mean over
the whole batch and every contrastive negative is gathered across devices, so the
computation is the one-device computation, up to the order of floating-point sums.
Parameters are replicated rather than sharded: the backbones hold a few million
parameters, far below one device's memory, and replication costs no communication in the
forward pass.
"""

from __future__ import annotations

import jax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "batch"


def resolve_devices(n: int, batch_size: int) -> int:
    """The number of devices to use: ``n``, or all of them for 0.

    Raises:
        ValueError: more devices than JAX sees, or a batch that does not split evenly.
    """
    available = jax.device_count()
    n = available if n == 0 else n
    if not 1 <= n <= available:
        raise ValueError(f"train.devices={n}: JAX sees {available} device(s) "
                         f"({jax.devices()[0].platform})")  # fmt: skip
    if batch_size % n:
        raise ValueError(f"train.batch_size={batch_size} does not split over "
                         f"train.devices={n}; use a multiple of {n}")  # fmt: skip
    return n


def make_mesh(n: int) -> jax.sharding.Mesh:
    """A one-axis mesh over the first ``n`` devices."""
    return jax.sharding.Mesh(jax.devices()[:n], (AXIS,))


def shard_batch(batch, mesh):
    """Places every array of a batch (leading axis B) split along B over the mesh."""
    return jax.device_put(batch, NamedSharding(mesh, P(AXIS)))


def replicate(tree, mesh):
    """Places a pytree (e.g. a bank of per-clip losses) whole on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, P()))


def replicate_state(*modules, mesh) -> None:
    """Replicates the state of NNX objects (model, optimizer) over the mesh, in place."""
    for module in modules:
        state = nnx.state(module)
        nnx.update(module, replicate(state, mesh))
