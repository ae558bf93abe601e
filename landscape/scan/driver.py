r"""``scan``: evaluate a function of named parameters over a grid; return an xarray Dataset.

    scan(fn, grid, out=None, resume=False, ...) → xarray.Dataset

* ``fn(params) → pytree of arrays`` sees one point: ``params`` is a dict of
  scalar arrays, one per grid parameter.  It must be traceable by JAX (it is
  ``vmap``-ped and ``jit``-ted once, see :mod:`landscape.scan.execute`).
* ``grid`` is a :class:`~landscape.scan.grid.Grid` (or anything
  :func:`~landscape.scan.grid.as_grid` accepts).
* The result has one dimension per grid component, then each output's own
  dimensions, one variable per output leaf (nested names joined by ``_``) and
  the int8 variable ``status`` (:mod:`landscape.scan.status`).

With ``out=PATH`` each chunk is written to a zarr store as soon as it is
computed (:mod:`landscape.scan.store`) and the returned dataset is read back
from the store.  ``resume=True`` continues an interrupted scan: committed
chunks are kept, only the others are computed, and the result is identical to
an uninterrupted run (the chunk layout is fixed by the record, and a point's
value does not depend on its chunk or on the device count).

Under ``jax.distributed.initialize()`` every process calls ``scan`` with the
same arguments and a shared ``out`` path; process p computes chunks
p, p + P, p + 2P, … on its local devices, and all processes return the full
dataset once every process is done.

**Safety of the store.**  ``out`` is locked for the whole run (a second
writer is refused, :class:`~landscape.scan.store.StoreLockedError`);
``overwrite=True`` replaces only a store this package wrote
(:func:`~landscape.scan.store.check_replaceable`); a resume recomputes every
chunk whose checksum fails; a failure to write a chunk raises
:class:`~landscape.scan.store.ChunkWriteError` and keeps the chunks already
committed, so the same call with ``resume=True`` continues.  Before anything
is allocated, a grid whose outputs would not fit in memory is refused
(``ValueError`` with the estimate).

The dataset's attributes hold the grid (JSON), the evaluation description,
the package version and the git commit; run statistics (timings) go to the
``progress`` callback instead, so that two runs of one scan compare identical.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape.scan import scan, Axis, Grid
    >>> ds = scan(lambda p: {"y": p["x"] * p["z"]},
    ...           Grid([Axis("x", [1.0, 2.0]), Axis("z", [10.0, 20.0, 30.0])]))
    >>> ds["y"].dims, ds["y"].values.tolist()
    (('x', 'z'), [[10.0, 20.0, 30.0], [20.0, 40.0, 60.0]])
    >>> int(ds["status"].max())
    0
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.scan import execute, store
from landscape.scan.grid import Grid, GridLike, as_grid
from landscape.scan.provenance import code_version as _code_version
from landscape.scan.status import MISSING, STATUS_NAMES, point_status

if TYPE_CHECKING:  # xarray is imported when a dataset is built, not with the package
    import xarray as xr

__all__ = ["Progress", "ScanDamageWarning", "scan", "open_scan", "scan_info", "output_specs"]


class ScanDamageWarning(UserWarning):
    """A stored scan has chunks whose checksum fails; they are returned as missing."""


@dataclasses.dataclass(frozen=True)
class Progress:
    """What a scan reports after each chunk (and once more at the end, ``finished=True``).

    Counts are in points.  ``done`` includes points committed by an earlier run
    (``reused``); ``rate`` is points per second computed by this run, ``eta``
    the seconds left at that rate (``None`` before the first chunk).
    ``damaged`` counts the stored chunks that failed their checksum on resume
    and are recomputed by this run.
    """

    done: int
    total: int
    computed: int
    reused: int
    elapsed: float
    rate: float | None
    eta: float | None
    chunk_size: int
    n_devices: int
    finished: bool = False
    compile_seconds: float = 0.0
    action: str = "new"
    damaged: int = 0


# ---------------------------------------------------------------- outputs
def _key_name(entry) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def _flatten(tree) -> dict[str, Any]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    if len(leaves) == 1 and not leaves[0][0]:
        return {"value": leaves[0][1]}
    out = {}
    for path, leaf in leaves:
        name = "_".join(_key_name(p) for p in path)
        if name in out:
            raise ValueError(f"two outputs flatten to the same name {name!r}")
        out[name] = leaf
    return out


def output_specs(
    fn: Callable, example: Mapping[str, Any], output_dims: Mapping[str, tuple] | None = None
) -> dict[str, store.OutputSpec]:
    """Shape, dtype and dimension names of each output of ``fn`` at one point (traced, not run)."""
    shapes = _flatten(jax.eval_shape(fn, dict(example)))
    if not shapes:
        raise ValueError("the evaluation returned no arrays; it must return a pytree with at least one array")
    output_dims = dict(output_dims or {})
    unknown = set(output_dims) - set(shapes)
    if unknown:
        raise ValueError(f"output_dims names unknown outputs {sorted(unknown)}; outputs are {sorted(shapes)}")
    specs = {}
    for name, s in shapes.items():
        dims = tuple(output_dims.get(name, tuple(f"{name}_dim{j}" for j in range(len(s.shape)))))
        if len(dims) != len(s.shape):
            raise ValueError(f"output_dims[{name!r}] has {len(dims)} names for an output of shape {s.shape}")
        specs[name] = store.OutputSpec(tuple(int(n) for n in s.shape), np.dtype(s.dtype).name, dims)
    return specs


# ---------------------------------------------------------------- dataset
def _dataset(grid: Grid, record: Mapping, outputs: Mapping[str, np.ndarray], status: np.ndarray):
    import xarray as xr

    shape = grid.shape
    coords = grid.coords()
    data_vars = {}
    for name, spec in record["outputs"].items():
        arr = np.asarray(outputs[name]).reshape(*shape, *spec["shape"])
        data_vars[name] = (grid.dims + tuple(spec["dims"]), arr)
    data_vars["status"] = (
        grid.dims,
        np.asarray(status, np.int8).reshape(shape),
        {
            "flag_values": list(range(len(STATUS_NAMES))),
            "flag_meanings": " ".join(STATUS_NAMES),
            "long_name": "point status",
        },
    )
    labels = record.get("labels", {})
    for name, text in labels.items():
        if name in data_vars and len(data_vars[name]) == 2:
            data_vars[name] = (*data_vars[name], {"long_name": text})
    for dim, values in record.get("output_coords", {}).items():  # absent from older records
        coords[dim] = (dim, np.asarray(values, dtype=float))
    coord_attrs = {k: v for k, v in labels.items() if k in coords}
    coords = {k: ((*v, {"long_name": coord_attrs[k]}) if k in coord_attrs else v) for k, v in coords.items()}
    attrs = {
        "scan_format": record["format"],
        "grid": record["grid"],
        "chunk_size": record["chunk_size"],
        "evaluation": json.dumps(record["evaluation"], sort_keys=True),
        "package_version": str(record["package_version"]),
        "git_commit": str(record["git_commit"]),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def open_scan(path: str | os.PathLike[str]) -> Any:
    """The labelled dataset of a stored scan.

    Chunks not computed yet, and chunks whose checksum fails (damaged files),
    are returned as missing: fill values (NaN for floats, -1 for integers) and
    status ``missing``.  Damaged chunks are also listed in the attribute
    ``damaged_chunks`` and reported by a :class:`ScanDamageWarning`; a resume
    of the scan recomputes them.  Corrupt data is never returned as good.
    Plain xarray returns the same dataset:
    ``xarray.open_dataset(path, engine="landscape")`` (:mod:`landscape.xarray_backend`).
    """
    path = store.store_path(path)
    root = store.open_store(path)
    record = store.read_record(root)
    found = store.read_verified(root, record)
    ds = _dataset(Grid.from_json(record["grid"]), record, found.outputs, found.status)
    if found.damaged:
        ds.attrs["damaged_chunks"] = sorted(found.damaged)
        warnings.warn(
            f"{path}: {len(found.damaged)} damaged chunk(s) returned as missing "
            f"({_chunk_list(found.damaged)}); resume the scan to recompute them",
            ScanDamageWarning,
            stacklevel=2,
        )
    return ds


def _chunk_list(chunks, limit: int = 8) -> str:
    chunks = sorted(chunks)
    text = ", ".join(str(i) for i in chunks[:limit])
    return "chunks " + text + (f", ... ({len(chunks)} in all)" if len(chunks) > limit else "")


def scan_info(path: str | os.PathLike[str]) -> dict:
    """The stored record plus the state of its chunks, checked against their checksums.

    Adds ``chunks_done`` and ``points_done`` (verified chunks only),
    ``chunks_damaged`` (committed chunks whose checksum fails) and ``complete``
    (every chunk verified).
    """
    root = store.open_store(store.store_path(path))
    record = store.read_record(root)
    found = store.read_verified(root, record)
    n, chunk = record["n_points"], record["chunk_size"]
    record["chunks_done"] = int(found.good.sum())
    record["points_done"] = int(np.repeat(found.good, chunk)[:n].sum())
    record["chunks_damaged"] = sorted(found.damaged)
    record["complete"] = bool(found.good.all())
    return record


# ---------------------------------------------------------------- the scan
def _example(grid: Grid) -> dict[str, jax.Array]:
    first = grid.parameters(0, 1)
    return {k: jnp.asarray(v[0]) for k, v in first.items()}


def _pad(values: Mapping[str, np.ndarray], length: int) -> dict[str, np.ndarray]:
    out = {}
    for k, v in values.items():
        if v.shape[0] < length:
            v = np.concatenate([v, np.repeat(v[-1:], length - v.shape[0], axis=0)])
        out[k] = v
    return out


def _barrier(name: str, process_count: int) -> None:
    if process_count > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def scan(
    fn: Callable[[dict], Any],
    grid: GridLike,
    *,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    force: bool = False,
    overwrite: bool = False,
    chunk_size: int | None = None,
    memory_budget: int = execute.DEFAULT_MEMORY_BUDGET,
    devices: int | Sequence[jax.Device] | None = None,
    output_dims: Mapping[str, tuple] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    progress: Callable[[Progress], None] | None = None,
    code_version: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    batching: str = "auto",
    open_ended: Collection[str] = (),
    output_coords: Mapping[str, Sequence[float]] | None = None,
) -> xr.Dataset:
    """Evaluate ``fn`` at every point of ``grid``; see the module docstring.

    Args:
        fn: one point's ``{name: scalar array}`` → pytree of arrays (traceable).
        grid: the parameter grid.
        out: zarr store path; ``None`` computes in memory only.
        resume: continue an existing store at ``out`` (a missing one is created).
        force: with ``resume``, accept a store made by other code (keep its
            chunks) or for another scan (discard and restart).
        overwrite: replace an existing store at ``out``; only a store this
            package wrote is replaced (:func:`~landscape.scan.store.check_replaceable`).
        chunk_size: points per chunk (at most the grid size); default from
            ``memory_budget``.  On resume the stored chunk size is used unless one is given.
        memory_budget: bytes per device for one chunk (default 256 MiB).
        devices: number of local devices, a list of devices, or ``None`` (all).
        output_dims: names of each output's own dimensions, ``{name: (dim, ...)}``.
        evaluation: JSON-able description of what ``fn`` computes; recorded and
            checked on resume (default: ``fn``'s module and qualified name).
        progress: called with a :class:`Progress` after each chunk and at the end.
        code_version: override of the recorded ``package_version`` / ``git_commit``.
        labels: long names of outputs and coordinates, ``{name: text}`` (stored; shown as ``long_name``).
        batching: ``"auto"``, ``"vmap"`` or ``"map"``, see :func:`landscape.scan.execute.batching_mode`.
        open_ended: outputs in which ``+inf`` is a value, not a failure (:func:`~landscape.scan.status.point_status`).
        output_coords: coordinate values of outputs' own dimensions, ``{dim: values}`` (stored in the record).

    Returns:
        ``xarray.Dataset`` with one dimension per grid component.

    Raises:
        StoreError: ``out`` cannot be used (empty, a file, not a store, not
            writable, or replaced/resumed when that is not allowed); its
            subclasses :class:`~landscape.scan.store.StoreLockedError` (another
            process is writing it) and ``ScanMismatchError`` (resume of another scan).
        FileExistsError: ``out`` exists and neither ``resume`` nor ``overwrite`` is set.
        ChunkWriteError: a chunk could not be written (an ``OSError``, e.g. a full disk).
    """
    grid = as_grid(grid)
    if grid.size == 0:
        raise ValueError("the grid has no points")
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other")
    path = None if out is None else store.store_path(out)
    devs = execute.select_devices(devices)
    p_index, p_count = execute.process_info()
    if p_count > 1 and path is None:
        raise ValueError("a multi-process scan needs out= (a store on a file system shared by all hosts)")

    example = _example(grid)
    specs = output_specs(fn, example, output_dims)
    store.require_result_memory(grid.size, {k: v.to_json() for k, v in specs.items()})
    coords = _output_coords(specs, output_coords)
    evaluation, code = _description(fn, evaluation, code_version, chunk_size)

    def new_record(stored_chunk=None) -> dict:
        chunk = _chunk(chunk_size, stored_chunk, memory_budget, fn, example, len(devs), grid.size)
        return store.make_record(grid, chunk, specs, evaluation, code, labels, coords)

    lock = None
    try:
        lock, root, record, action = _claim_store(path, new_record, resume, overwrite, force, p_index, p_count)
        return _run(
            fn, grid, example, path, root, record, action, specs, devs, p_index, p_count, progress, batching, open_ended
        )
    finally:
        if lock is not None:
            lock.release()


def _output_coords(specs: Mapping[str, store.OutputSpec], coords) -> dict[str, list[float]] | None:
    """The checked ``output_coords``: each names an output dimension and has its length."""
    if not coords:
        return None
    sizes = {d: n for spec in specs.values() for d, n in zip(spec.dims, spec.shape)}
    out = {}
    for dim, values in dict(coords).items():
        vals = [float(v) for v in np.asarray(values, dtype=float).ravel()]
        if dim not in sizes or sizes[dim] != len(vals):
            raise ValueError(f"output_coords[{dim!r}]: {len(vals)} values for a dimension of length {sizes.get(dim)}")
        out[str(dim)] = vals
    return out


def _description(fn, evaluation, code_version, chunk_size) -> tuple[Mapping[str, Any], dict]:
    """The evaluation description (default: ``fn``'s qualified name) and the code version to record.

    Also refuses a ``chunk_size`` that is not a positive integer.
    """
    if evaluation is None:
        evaluation = {"function": f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"}
    code = dict(_code_version()) if code_version is None else {**_code_version(), **dict(code_version)}
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return evaluation, code


def _claim_store(path, new_record, resume, overwrite, force, p_index, p_count):
    """``(lock, root, record, action)`` of the store this process writes (no store: ``root`` None).

    Process 0 owns the store: it locks it for the whole run, then creates, checks
    or replaces it; every process learns whether that worked before it computes
    anything.  The lock (process 0 only) is released here if preparing fails,
    otherwise by the caller.
    """
    if path is None:
        return None, None, new_record(), "new"
    if p_index != 0:
        if not _all_agree(True, p_count):
            raise store.StoreError(f"process 0 could not prepare the scan store {path}; see its error")
        root = store.open_store(path, mode="r+")
        return None, root, store.read_record(root), "resume" if resume else "new"
    lock = None
    try:
        failure = None
        try:
            lock = store.StoreLock(path)
            root, record, action = _prepare_store(path, new_record, resume, overwrite, force)
        except Exception as e:
            failure = e
        _all_agree(failure is None, p_count)
        if failure is not None:
            raise failure
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return lock, root, record, action


def _all_agree(ok: bool, process_count: int) -> bool:
    """Whether ``ok`` holds on process 0 (the one that prepares the store); a barrier for all processes."""
    if process_count == 1:
        return ok
    from jax.experimental import multihost_utils

    return bool(multihost_utils.broadcast_one_to_all(np.asarray(ok)))


def _chunk(chunk_size, stored_chunk, memory_budget, fn, example, n_dev: int, n_points: int) -> int:
    """Points per chunk: as given (at most the grid), else as stored, else from the memory budget."""
    if chunk_size is not None:
        return min(int(chunk_size), n_points)
    if stored_chunk is not None:
        return int(stored_chunk)
    per_point = execute.bytes_per_point(fn, example)
    return execute.chunk_size_for_budget(per_point, int(memory_budget), n_dev, n_points)


def _prepare_store(path: Path, new_record: Callable[..., dict], resume: bool, overwrite: bool, force: bool):
    """Create, resume or replace the store at ``path`` (the caller holds its lock): (root, record, action).

    ``new_record(stored_chunk)`` is the record of this scan, given the chunk
    length stored at ``path`` (``None``: choose one).
    """
    exists = os.path.lexists(path)
    if exists and not path.is_dir():
        what = "a symbolic link to nothing" if path.is_symlink() and not path.exists() else "a file"
        raise store.StoreError(f"{path} is {what}, not a scan store; choose another path")
    stored = store.stored_record(path) if exists and resume else None
    record = new_record(None if stored is None else stored.get("chunk_size"))
    if not exists:
        return store.create_store(path, record), record, "new"
    if resume:
        return store.open_for_resume(path, record, force=force)
    if not overwrite:
        raise FileExistsError(
            f"{path} already exists; pass resume=True (CLI: --resume) to continue it "
            "or overwrite=True (CLI: --overwrite) to replace it"
        )
    return store.replace_store(path, record), record, "new"


def _run(
    fn,
    grid: Grid,
    example,
    path,
    root,
    record: Mapping,
    action: str,
    specs,
    devs,
    p_index: int,
    p_count: int,
    progress,
    batching: str,
    open_ended: Collection[str] = (),
):
    """Compute every chunk of this process that is not verified in the store; return the dataset."""
    n_dev = len(devs)
    chunk = record["chunk_size"]
    n = total = grid.size
    damaged = 0
    if root is not None:
        found = store.read_verified(root, record) if action in ("resume", "forced-resume") else None
        done = found.good if found is not None else np.zeros(record["n_chunks"], dtype=bool)
        damaged = 0 if found is None else len(found.damaged)
    else:
        done = np.zeros(record["n_chunks"], dtype=bool)

    mine = execute.chunks_for_process(record["n_chunks"], p_index, p_count)
    todo = [i for i in mine if not done[i]]

    def chunk_len(i: int) -> int:
        return min(chunk, n - i * chunk)

    reused = int(sum(chunk_len(i) for i in range(record["n_chunks"]) if done[i]))

    # ---- compile once and run
    exec_len = execute.padded_length(chunk, n_dev)
    t0 = time.perf_counter()
    run = execute.compile_chunk(lambda p: _flatten(fn(p)), example, exec_len, devs, batching) if todo else None
    compile_s = time.perf_counter() - t0
    flat_out: dict[str, np.ndarray] | None = None
    flat_status = None
    if path is None:
        flat_out = {k: np.full((n, *s.shape), store._fill(np.dtype(s.dtype)), dtype=s.dtype) for k, s in specs.items()}
        flat_status = np.full(n, MISSING, dtype=np.int8)

    t_start = time.perf_counter()
    computed = 0

    def dispatch(i):
        start = i * chunk
        params = grid.parameters(start, start + chunk_len(i))
        return run(_pad(params, exec_len))

    for j, i in enumerate(todo):
        # Strictly one chunk at a time: compute, fetch, then write.  Overlapping the next chunk's
        # computation with the store's I/O threads wedged XLA's CPU thread pool (jaxlib 0.10).
        m = chunk_len(i)
        values = {k: np.asarray(v)[:m] for k, v in jax.device_get(dispatch(i)).items()}
        status = point_status(values, m, open_ended)
        if root is not None:
            try:
                store.write_chunk(root, record, i, values, status)
            except OSError as e:
                err = store.ChunkWriteError(
                    f"cannot write chunk {i} of the scan store {path} ({e.strerror or e}); the chunks committed "
                    "before it are kept: run the same scan with resume=True (CLI: --resume) to continue"
                )
                err.errno = e.errno
                raise err from e
        else:
            start = i * chunk
            for k, v in values.items():
                flat_out[k][start : start + m] = v
            flat_status[start : start + m] = status
        computed += m
        if progress is not None:
            elapsed = time.perf_counter() - t_start
            rate = computed / elapsed if elapsed > 0 else None
            left = sum(chunk_len(q) for q in todo[j + 1 :])
            progress(
                Progress(
                    reused + computed,
                    total,
                    computed,
                    reused,
                    elapsed,
                    rate,
                    (left / rate) if rate else None,
                    chunk,
                    n_dev,
                    False,
                    compile_s,
                    action,
                    damaged,
                )
            )

    _barrier("landscape-scan-done", p_count)
    elapsed = time.perf_counter() - t_start
    if progress is not None:
        progress(
            Progress(
                reused + computed,
                total,
                computed,
                reused,
                elapsed,
                (computed / elapsed) if computed and elapsed > 0 else None,
                0.0,
                chunk,
                n_dev,
                True,
                compile_s,
                action,
                damaged,
            )
        )
    if root is not None:
        return open_scan(path)
    return _dataset(grid, record, flat_out, flat_status)
