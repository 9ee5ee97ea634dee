"""Data parallelism with `jax.jit` over a `Mesh` (no pmap).

The batch is split along a `data` mesh axis spanning every device of every process;
parameters and optimiser state are replicated. Each process feeds only its own shard of the
global batch (`global_batch`), so the same code runs on one CPU, eight forced CPU devices,
a GPU node or a multi-host TPU slice.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"


def maybe_initialize_distributed() -> None:
    """Join a multi-process run when the standard environment variables say so.

    `SPJAX_COORDINATOR=host:port`, `SPJAX_NUM_PROCESSES`, `SPJAX_PROCESS_ID` select the
    explicit form (used by the two-process CPU test); on managed clusters (TPU pods, SLURM)
    `jax.distributed.initialize()` discovers them itself when `SPJAX_DISTRIBUTED=auto`.
    """
    if jax.distributed.is_initialized():
        return
    address = os.environ.get("SPJAX_COORDINATOR")
    if address:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            coordinator_address=address,
            num_processes=int(os.environ["SPJAX_NUM_PROCESSES"]),
            process_id=int(os.environ["SPJAX_PROCESS_ID"]),
        )
    elif os.environ.get("SPJAX_DISTRIBUTED") == "auto":
        jax.distributed.initialize()


def make_data_mesh() -> jax.sharding.Mesh:
    # Auto axis types: the compiler propagates shardings; Explicit (the jax 0.10 default)
    # would make every op on a sharded batch spell out its output sharding.
    return jax.make_mesh((jax.device_count(),), (DATA_AXIS,), axis_types=(AxisType.Auto,))


def replicated(mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(global_batch_size: int) -> int:
    """The global batch must split evenly over devices; returns the per-process batch."""
    devices, processes = jax.device_count(), jax.process_count()
    if global_batch_size % devices:
        raise ValueError(
            f"train.batch_size={global_batch_size} must be divisible by the "
            f"number of devices ({devices})"
        )
    return global_batch_size // processes


def global_batch(local: dict, mesh) -> dict:
    """Assemble per-process batches (numpy, or jax arrays already on this process's devices,
    such as rendered frames: never copied through the host) into globally sharded jax arrays."""
    sharding = batch_sharding(mesh)
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(
            sharding, x if isinstance(x, jax.Array) else np.asarray(x)
        ),
        local,
    )


def replicate(tree, mesh):
    """Place a pytree on every device of every process, built from host copies.

    Host copies matter twice: in a multi-process run `device_put` of a process-local jax array
    onto a global sharding yields arrays orbax cannot serialise; and host arrays carry no weak
    types (from Python scalars), which would otherwise make a state restored from a checkpoint
    run a differently compiled step than the same state in memory, breaking exact resume."""
    sharding = replicated(mesh)

    def put(x):
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree)
