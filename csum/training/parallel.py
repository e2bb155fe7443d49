"""Data parallelism: a device mesh over one host or several (``csum.training.distributed``), batches
split along the batch axis.

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
import numpy as np
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
        raise ValueError(
            f"train.devices={n}: JAX sees {available} device(s) ({jax.devices()[0].platform})"
        )
    if batch_size % n:
        raise ValueError(
            f"train.batch_size={batch_size} does not split over "
            f"train.devices={n}; use a multiple of {n}"
        )
    return n


def make_mesh(n: int) -> jax.sharding.Mesh:
    """A one-axis mesh over the first ``n`` devices."""
    return jax.sharding.Mesh(jax.devices()[:n], (AXIS,))


def local_rows(mesh, batch_size: int) -> tuple[int, int]:
    """The slots ``[start, stop)`` of a ``batch_size`` batch that this process's devices
    hold (all of them with one process). A process reads only these videos
    (``csum.data.sources.stream_batches(rows=...)``).

    Raises:
        ValueError: the process's rows are not contiguous (a mesh whose device order
            interleaves processes).
    """
    sharding = NamedSharding(mesh, P(AXIS))
    held = sharding.addressable_devices_indices_map((batch_size,)).values()
    spans = sorted({index[0].indices(batch_size)[:2] for index in held})
    start, stop = spans[0][0], spans[-1][1]
    if sum(b - a for a, b in spans) != stop - start:
        raise ValueError(
            f"process {jax.process_index()} holds rows {spans} of the batch: "
            "not one contiguous block"
        )
    return start, stop


def shard_rows(rows, mesh, batch_size: int):
    """Places a batch split along B over the mesh, from this process's rows only.

    Args:
        rows: a pytree of arrays whose leading axis holds this process's slots
            (``local_rows``): the whole batch with one process.
        mesh: from ``make_mesh``.
        batch_size: the whole batch's B.
    """
    sharding = NamedSharding(mesh, P(AXIS))
    if jax.process_count() == 1:
        return jax.device_put(rows, sharding)

    def place(x):
        x = np.asarray(x)
        return jax.make_array_from_process_local_data(sharding, x, (batch_size, *x.shape[1:]))

    return jax.tree.map(place, rows)


def shard_batch(batch, mesh):
    """Places every array of a whole batch (leading axis B) split along B over the mesh;
    with several processes each contributes only the rows that its own devices hold."""
    size = len(jax.tree.leaves(batch)[0])
    start, stop = local_rows(mesh, size)
    return shard_rows(jax.tree.map(lambda x: np.asarray(x)[start:stop], batch), mesh, size)


def to_local(tree):
    """A pytree of (possibly multi-process) replicated arrays as host-local values: numpy
    arrays, and PRNG keys rewrapped from their numpy key data."""

    def one(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = np.asarray(jax.random.key_data(x))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return np.asarray(x)

    return jax.tree.map(one, tree)


def localize(*modules) -> None:
    """Moves the state of NNX objects off the mesh, in place (after training)."""
    for module in modules:
        nnx.update(module, to_local(nnx.state(module)))


def local_copy(module):
    """A copy of an NNX module with host-local state (for evaluation during training,
    which runs in each process on whole videos)."""
    graphdef, state = nnx.split(module)
    return nnx.merge(graphdef, to_local(state))


def replicate(tree, mesh):
    """Places a pytree (e.g. a bank of per-clip losses) whole on every device of the mesh.

    Across processes only host values can be placed on other processes' devices, so each
    leaf goes through numpy (a PRNG key through its key data); every process holds the
    same values, as SPMD requires.
    """
    sharding = NamedSharding(mesh, P())
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def one(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = jax.device_put(np.asarray(jax.random.key_data(x)), sharding)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return jax.device_put(np.asarray(x), sharding)

    return jax.tree.map(one, tree)


def replicate_state(*modules, mesh) -> None:
    """Replicates the state of NNX objects (model, optimizer) over the mesh, in place."""
    for module in modules:
        state = nnx.state(module)
        nnx.update(module, replicate(state, mesh))
