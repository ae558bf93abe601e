r"""The on-disk store of a scan: a zarr group written chunk by chunk, resumable.

Layout of a store at ``PATH`` (a zarr v3 group, readable by ``zarr`` and by
``xarray.open_zarr`` as a flat table of points):

=================  =====================  =============================================
array              shape                  content
=================  =====================  =============================================
``<output>``       (n_points, *shape)     one array per output, zarr chunk = scan chunk
``status``         (n_points,)            int8 flags, see :mod:`landscape.scan.status`
``chunk_done``     (n_chunks,)            bool, one zarr chunk (one file) per scan chunk
=================  =====================  =============================================

The group attribute ``landscape_scan`` holds the *record*: the full grid (exact
JSON), the chunk length, each output's shape, dtype and dimension names, the
description of the evaluation, the package version and git commit, and the
creation time.

**Atomicity.**  Every file is written to a temporary name and renamed into
place (zarr's local store does this), so a file is either absent or complete.
A chunk counts as computed only once its ``chunk_done`` flag exists, and that
flag is written *after* all of the chunk's outputs and status.  A process
killed at any instant therefore leaves every chunk either committed or
not-done; not-done chunks are recomputed on resume and their stale files are
overwritten.  A new store is built in a temporary folder and renamed to
``PATH`` when complete, so a half-created store is never mistaken for one.

**Resume checks.**  :func:`open_for_resume` compares the stored record with
the new scan and raises :class:`ScanMismatchError` listing every difference.

Example:
    >>> import tempfile, numpy as np
    >>> from landscape.scan.grid import Grid, Axis
    >>> tmp = tempfile.mkdtemp()
    >>> rec = make_record(Grid([Axis("x", [1.0, 2.0, 3.0])]), 2,
    ...                   {"y": OutputSpec((), "float64", ())}, {"fn": "square"},
    ...                   {"package_version": "0", "git_commit": "abc", "git_dirty": False})
    >>> st = create_store(tmp + "/s.zarr", rec)
    >>> write_chunk(st, rec, 1, {"y": np.array([9.0])}, np.array([0], np.int8))
    >>> done_chunks(st).tolist()
    [False, True]
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from landscape.scan.grid import Grid
from landscape.scan.status import MISSING

__all__ = [
    "FORMAT_VERSION",
    "OutputSpec",
    "ScanMismatchError",
    "make_record",
    "create_store",
    "open_store",
    "read_record",
    "record_differences",
    "open_for_resume",
    "write_chunk",
    "done_chunks",
    "read_arrays",
]

FORMAT_VERSION = 1
_ATTR = "landscape_scan"
_STATUS = "status"
_DONE = "chunk_done"
RESERVED_NAMES = (_STATUS, _DONE)


class ScanMismatchError(ValueError):
    """An existing store does not match the scan that would resume it."""


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """Shape and dtype of one output at one point, and the names of its own dimensions."""

    shape: tuple
    dtype: str
    dims: tuple

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "dims": list(self.dims)}

    @classmethod
    def from_json(cls, obj: Mapping) -> "OutputSpec":
        return cls(tuple(obj["shape"]), str(obj["dtype"]), tuple(obj["dims"]))


# ---------------------------------------------------------------- the record
def make_record(grid: Grid, chunk_size: int, outputs: Mapping[str, OutputSpec],
                evaluation: Mapping[str, Any], code: Mapping[str, Any],
                labels: Mapping[str, str] | None = None) -> dict:
    """The JSON record of a scan (everything a resume must agree with, plus provenance).

    ``labels`` (``{variable or coordinate: long name}``) only decorates the dataset.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    for name in outputs:
        if name in RESERVED_NAMES:
            raise ValueError(f"output name {name!r} is reserved by the store; rename that output")
    n = grid.size
    return {
        "format": FORMAT_VERSION,
        "grid": grid.to_json(),
        "n_points": n,
        "chunk_size": int(chunk_size),
        "n_chunks": -(-n // chunk_size),
        "outputs": {k: v.to_json() for k, v in outputs.items()},
        "evaluation": json.loads(json.dumps(dict(evaluation))),
        "package_version": code.get("package_version"),
        "git_commit": code.get("git_commit"),
        "git_dirty": code.get("git_dirty"),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "forced_resumes": [],
        "labels": {str(k): str(v) for k, v in dict(labels or {}).items()},
    }


def record_differences(stored: Mapping, new: Mapping) -> dict[str, list[str]]:
    """Differences that forbid a resume, as ``{"structure": [...], "code": [...]}``.

    *Structure* (grid, chunking, outputs, evaluation, format) means the stored
    chunks answer a different question; *code* (package version, git commit)
    means they may have been computed differently.
    """
    structure, code = [], []
    if stored.get("format") != new.get("format"):
        structure.append(f"store format {stored.get('format')} vs {new.get('format')}")
    if stored.get("grid") != new.get("grid"):
        structure.append(f"grid {Grid.from_json(stored['grid'])!r} vs {Grid.from_json(new['grid'])!r}"
                         if stored.get("grid") else "grid")
    if stored.get("chunk_size") != new.get("chunk_size"):
        structure.append(f"chunk size {stored.get('chunk_size')} vs {new.get('chunk_size')}")
    if stored.get("outputs") != new.get("outputs"):
        structure.append(f"outputs {_outputs_text(stored.get('outputs'))} vs {_outputs_text(new.get('outputs'))}")
    if stored.get("evaluation") != new.get("evaluation"):
        keys = sorted(set(stored.get("evaluation", {})) | set(new.get("evaluation", {})))
        changed = [k for k in keys if stored.get("evaluation", {}).get(k) != new.get("evaluation", {}).get(k)]
        structure.append(f"evaluation (fields differing: {', '.join(changed)})")
    for key, label in (("package_version", "package version"), ("git_commit", "git commit")):
        if stored.get(key) != new.get(key):
            code.append(f"{label} {stored.get(key)} vs {new.get(key)}")
    return {"structure": structure, "code": code}


def _outputs_text(outputs) -> str:
    if not outputs:
        return "{}"
    return "{" + ", ".join(f"{k}: {v['dtype']}{tuple(v['shape'])}" for k, v in outputs.items()) + "}"


# ---------------------------------------------------------------- create and open
def _zarr():
    import zarr

    return zarr


def _fill(dtype: np.dtype):
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "b":
        return False
    if dtype.kind == "i":
        return -1
    return 0


def create_store(path, record: Mapping) -> Any:
    """Create a fresh store at ``path`` (which must not exist) and return its zarr group.

    The store is assembled in a temporary sibling folder and renamed into place.
    """
    zarr = _zarr()
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        root = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
        n, chunk = record["n_points"], record["chunk_size"]
        for name, spec in record["outputs"].items():
            dtype = np.dtype(spec["dtype"])
            root.create_array(name, shape=(n, *spec["shape"]), chunks=(chunk, *spec["shape"]), dtype=dtype,
                              fill_value=_fill(dtype), dimension_names=("point", *spec["dims"]))
        root.create_array(_STATUS, shape=(n,), chunks=(chunk,), dtype=np.int8, fill_value=MISSING,
                          dimension_names=("point",))
        root.create_array(_DONE, shape=(record["n_chunks"],), chunks=(1,), dtype=bool, fill_value=False,
                          dimension_names=("chunk",))
        root.attrs[_ATTR] = dict(record)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_store(path, mode="r+")


def open_store(path, mode: str = "r") -> Any:
    """Open an existing store's zarr group (``mode`` "r" or "r+")."""
    zarr = _zarr()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no scan store at {path}")
    try:
        root = zarr.open_group(str(path), mode=mode)
    except Exception as e:  # zarr raises several types for a non-store folder
        raise ValueError(f"{path} is not a zarr scan store ({type(e).__name__}: {e})") from None
    if _ATTR not in root.attrs:
        raise ValueError(f"{path} is a zarr group but not a landscape scan store (no '{_ATTR}' record)")
    return root


def read_record(root) -> dict:
    """The record stored in an open store."""
    return dict(root.attrs[_ATTR])


def open_for_resume(path, record: Mapping, *, force: bool = False) -> tuple[Any, dict, str]:
    """Open ``path`` to continue the scan described by ``record``.

    Returns ``(group, record_in_use, action)`` with action ``"resume"`` (the
    records agree), ``"forced-resume"`` (only the code version differs and
    ``force`` is set: the stored chunks are kept and the override is logged in
    the record) or ``"restart"`` (the structure differs and ``force`` is set:
    the store is replaced by a fresh one).  Without ``force`` any difference
    raises :class:`ScanMismatchError`.
    """
    root = open_store(path, mode="r+")
    stored = read_record(root)
    diff = record_differences(stored, record)
    if not diff["structure"] and not diff["code"]:
        return root, stored, "resume"
    if not force:
        lines = [f"refusing to resume the scan store {path}: it differs from this scan in"]
        lines += [f"  - {d}" for d in diff["structure"] + diff["code"]]
        if diff["structure"]:
            lines.append("Its chunks answer a different question. Use another output path, or force=True "
                         "(CLI: --force) to discard the store and start again.")
        else:
            lines.append("Its chunks were computed by other code. Use force=True (CLI: --force) to keep them "
                         "and continue with this code version (recorded in the store).")
        raise ScanMismatchError("\n".join(lines))
    if diff["structure"]:
        shutil.rmtree(path)
        return create_store(path, record), dict(record), "restart"
    stored["forced_resumes"] = list(stored.get("forced_resumes", [])) + [{
        "package_version": record.get("package_version"), "git_commit": record.get("git_commit"),
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}]
    root.attrs[_ATTR] = stored
    return root, stored, "forced-resume"


# ---------------------------------------------------------------- chunks
def write_chunk(root, record: Mapping, index: int, outputs: Mapping[str, np.ndarray], status: np.ndarray) -> None:
    """Write chunk ``index`` (its outputs and status), then commit it by setting its done flag."""
    chunk = record["chunk_size"]
    start = index * chunk
    stop = min(start + chunk, record["n_points"])
    n = stop - start
    for name in record["outputs"]:
        value = np.asarray(outputs[name])
        if value.shape[0] != n:
            raise ValueError(f"output {name!r} of chunk {index} has {value.shape[0]} points, expected {n}")
        root[name][start:stop] = value
    root[_STATUS][start:stop] = np.asarray(status, dtype=np.int8)
    root[_DONE][index] = True


def done_chunks(root) -> np.ndarray:
    """Bool per chunk: committed or not."""
    return np.asarray(root[_DONE][:], dtype=bool)


def read_arrays(root, record: Mapping) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """All outputs (flat, one row per point), the status and the per-point committed mask.

    Rows of chunks that are not committed are reset to the fill value and the
    status ``missing``, whatever partial files they may have.
    """
    done = done_chunks(root)
    n, chunk = record["n_points"], record["chunk_size"]
    point_done = np.repeat(done, chunk)[:n]
    outs = {}
    for name, spec in record["outputs"].items():
        arr = np.asarray(root[name][:])
        if not point_done.all():
            arr = arr.copy()
            arr[~point_done] = _fill(np.dtype(spec["dtype"]))
        outs[name] = arr
    status = np.asarray(root[_STATUS][:], dtype=np.int8).copy()
    status[~point_done] = MISSING
    return outs, status, point_done
