r"""Running one function over chunks of grid points: vmap, a device mesh, hosts.

The evaluation ``fn`` maps one point — a dict ``{name: scalar}`` — to a pytree of
arrays.  :func:`compile_chunk` turns it into one compiled function of a whole
chunk:

    jit(vmap(fn)),  inputs and outputs sharded as P("grid") over a 1-D Mesh,

so a chunk of ``n`` points is split into n / n_devices consecutive points per
device.  On CPU each device's share runs as ``lax.map(fn)`` inside
``shard_map`` instead of ``vmap`` (:func:`batching_mode` says why).  Every chunk is padded to the same length (the last point repeated),
so the function is traced and compiled exactly once per scan; padding rows are
dropped afterwards.  Points are independent under ``vmap``, so a point's
result does not depend on the chunk length or on the number of devices.

**Memory.**  A chunk needs about ``chunk × bytes_per_point`` bytes, where
:func:`bytes_per_point` adds up the size of every intermediate value of
``fn`` at one point (an upper bound: XLA reuses buffers).  For the closed-form
landscape solvers that is a few dozen d×d matrices, O(d²) per point; for
gradient flow it is O((stages + saves)·d1·d0) plus the solver state.  The
chunk length is the budget divided by that, rounded down to a multiple of the
device count (:func:`chunk_size_for_budget`); memory therefore grows linearly
in the chunk length and quadratically in d.

**Hosts.**  Under ``jax.distributed.initialize()`` every process runs the same
scan; :func:`chunks_for_process` gives process p the chunks i with
i mod P = p, and each process computes them on a mesh of its own local devices.

Example:
    >>> import jax.numpy as jnp
    >>> run = compile_chunk(lambda p: {"y": p["x"] ** 2}, {"x": jnp.zeros(())}, chunk=4)
    >>> [float(v) for v in run({"x": jnp.arange(4.0)})["y"]]
    [0.0, 1.0, 4.0, 9.0]
    >>> chunks_for_process(7, process_index=1, process_count=3)
    [1, 4]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = [
    "GRID_AXIS",
    "DEFAULT_MEMORY_BUDGET",
    "MAX_AUTO_CHUNK_PER_DEVICE",
    "MAX_HOST_DEVICES",
    "select_devices",
    "grid_mesh",
    "bytes_per_point",
    "chunk_size_for_budget",
    "padded_length",
    "compile_chunk",
    "batching_mode",
    "chunks_for_process",
    "process_info",
]

#: Name of the mesh axis that the grid points are split over.
GRID_AXIS = "grid"
#: Default memory budget of one chunk on one device, in bytes (256 MiB).
DEFAULT_MEMORY_BUDGET = 256 * 2**20
#: Upper bound on an automatically chosen chunk, per device, so that progress
#: is reported and saved at least every few thousand points.
MAX_AUTO_CHUNK_PER_DEVICE = 4096
#: Most host (CPU) devices a scan asks JAX to create: each costs memory and
#: threads at start-up (1024 start in about 3 s and 0.4 GB); 10⁵ crash XLA.
MAX_HOST_DEVICES = 1024


def select_devices(devices: int | Sequence[Any] | None = None) -> list:
    """The devices to shard over: all local ones, the first ``n``, or an explicit list."""
    local = jax.local_devices()
    if devices is None:
        return list(local)
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        n = int(devices)
        if not 1 <= n <= len(local):
            raise ValueError(f"devices must be between 1 and the {len(local)} local device(s), got {n}")
        return list(local[:n])
    if isinstance(devices, bool):  # not a count, and not iterable
        raise TypeError(f"devices must be a count, a list of devices or None, got {devices!r}")
    chosen = list(devices)
    if not chosen:
        raise ValueError("devices must name at least one device")
    return chosen


def grid_mesh(devices: Sequence[Any]) -> Mesh:
    """A 1-D mesh named :data:`GRID_AXIS` over ``devices``."""
    return Mesh(np.asarray(list(devices), dtype=object), (GRID_AXIS,))


def _aval_bytes(aval) -> int:
    shape = getattr(aval, "shape", None)
    dtype = getattr(aval, "dtype", None)
    if shape is None or dtype is None:
        return 0
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:  # extended dtypes such as PRNG keys
        itemsize = 8
    return int(np.prod(shape, dtype=np.int64)) * itemsize


def _jaxpr_bytes(jaxpr) -> int:
    total = 0
    for eqn in jaxpr.eqns:
        total += sum(_aval_bytes(v.aval) for v in eqn.outvars)
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None and hasattr(inner, "eqns"):
                    total += _jaxpr_bytes(inner)
                elif hasattr(sub, "eqns"):
                    total += _jaxpr_bytes(sub)
    return total


def bytes_per_point(fn: Callable, example: Mapping[str, Any]) -> int:
    """Upper bound on the bytes one point of ``fn`` needs: its inputs plus every intermediate.

    Traces ``fn`` once (no compilation).

    >>> import jax.numpy as jnp
    >>> bytes_per_point(lambda p: {"m": jnp.eye(10) * p["x"]}, {"x": jnp.zeros((), jnp.float32)}) >= 400
    True
    """
    closed = jax.make_jaxpr(fn)(dict(example))
    inputs = sum(_aval_bytes(v.aval) for v in closed.jaxpr.invars)
    return max(1, inputs + _jaxpr_bytes(closed.jaxpr))


def chunk_size_for_budget(
    per_point: int, budget: int, n_devices: int, n_points: int, max_per_device: int = MAX_AUTO_CHUNK_PER_DEVICE
) -> int:
    """Chunk length (a multiple of ``n_devices``) whose per-device share fits ``budget`` bytes.

    It is at least one point per device, at most ``max_per_device`` per device,
    and no longer than the grid (rounded up to the device count).

    >>> chunk_size_for_budget(per_point=1000, budget=10_000, n_devices=2, n_points=100)
    20
    """
    if per_point < 1:
        raise ValueError(f"per_point must be >= 1 byte, got {per_point}")
    if budget < 1:
        raise ValueError(f"memory_budget must be >= 1 byte, got {budget}")
    per_device = max(1, min(int(budget // per_point), int(max_per_device)))
    needed = max(1, math.ceil(n_points / n_devices))
    return min(per_device, needed) * n_devices


def padded_length(chunk: int, n_devices: int) -> int:
    """The chunk length rounded up to a multiple of the device count."""
    return math.ceil(chunk / n_devices) * n_devices


def batching_mode(devices: Sequence[Any], mode: str = "auto") -> str:
    """How a device's share of a chunk is evaluated: ``"vmap"`` or ``"map"``.

    ``"vmap"`` batches every operation over the points; ``"map"`` runs
    ``lax.map`` (a compiled loop, one point per iteration) on each device.
    ``"auto"`` picks ``"map"`` on CPU and ``"vmap"`` on accelerators: jaxlib
    0.10's CPU LAPACK kernels split a *batched* decomposition into tasks on
    XLA's intra-op thread pool and block on them, and when the pool's threads
    are all inside such kernels at once (two independent batched ``eigh`` on a
    2-core machine suffice) the process hangs.  One point per iteration keeps
    every LAPACK call unbatched; on CPU it costs at most a factor ~2 in
    throughput for the closed form and nothing for the ODE flows.
    """
    if mode not in ("auto", "vmap", "map"):
        raise ValueError(f"batching must be 'auto', 'vmap' or 'map', got {mode!r}")
    if mode != "auto":
        return mode
    return "map" if all(getattr(d, "platform", "cpu") == "cpu" for d in devices) else "vmap"


def compile_chunk(
    fn: Callable, example: Mapping[str, Any], chunk: int, devices: Sequence[Any] | None = None, batching: str = "auto"
) -> Callable:
    """``jit(vmap(fn))`` for chunks of exactly ``chunk`` points, sharded over ``devices``.

    ``batching`` chooses ``vmap`` or a per-device ``lax.map`` (see :func:`batching_mode`).

    ``example`` holds one point's parameters (arrays of shape ()) and fixes
    their dtypes.  ``chunk`` must be a multiple of the number of devices.  The
    returned function takes ``{name: array of shape (chunk,)}`` (NumPy or JAX)
    and returns the output pytree with a leading axis of length ``chunk``,
    still on the devices (call ``jax.device_get``).  It is compiled ahead of
    time, once.
    """
    devices = select_devices(None) if devices is None else list(devices)
    n_dev = len(devices)
    if chunk < 1 or chunk % n_dev:
        raise ValueError(f"chunk must be a positive multiple of the {n_dev} device(s), got {chunk}")
    mesh = grid_mesh(devices)
    sharding = NamedSharding(mesh, PartitionSpec(GRID_AXIS))
    names = list(example)
    dtypes = {k: jnp.asarray(example[k]).dtype for k in names}
    specs = {k: jax.ShapeDtypeStruct((chunk,), dtypes[k], sharding=sharding) for k in names}
    if batching_mode(devices, batching) == "vmap":
        per_device = jax.vmap(fn)
    else:
        per_device = jax.shard_map(
            lambda p: jax.lax.map(fn, p),
            mesh=mesh,
            in_specs=PartitionSpec(GRID_AXIS),
            out_specs=PartitionSpec(GRID_AXIS),
            check_vma=False,
        )
    batched = jax.jit(per_device, in_shardings=(sharding,), out_shardings=sharding)
    compiled = batched.lower(specs).compile()

    def run(params: Mapping[str, Any]):
        arrays = {k: jax.device_put(np.asarray(params[k], dtype=dtypes[k]), sharding) for k in names}
        return compiled(arrays)

    run.compiled = compiled  # type: ignore[attr-defined]
    run.sharding = sharding  # type: ignore[attr-defined]
    return run


def process_info() -> tuple[int, int]:
    """(process index, process count) of this JAX process (0, 1 without ``jax.distributed``)."""
    return int(jax.process_index()), int(jax.process_count())


def chunks_for_process(n_chunks: int, process_index: int = 0, process_count: int = 1) -> list[int]:
    """The chunks this process computes: every ``process_count``-th, from ``process_index``."""
    if process_count < 1 or not 0 <= process_index < process_count:
        raise ValueError(f"process_index must be in [0, {process_count}), got {process_index}")
    return list(range(process_index, n_chunks, process_count))
