"""Chunks of a scan store and their checksums: write and commit a chunk, read back only what verifies.

A chunk is written as its outputs, then its status, then its digest row (the
SHA-256 of :func:`chunk_digest`); it counts as computed only when that row
exists and matches the data read back (:func:`read_verified`).  The reasons are
in :mod:`landscape.scan.store`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from landscape.core.validation import require_memory
from landscape.scan.errors import StoreError
from landscape.scan.record import _DIGEST, _DIGEST_BYTES, _STATUS, _bounds, _fill, read_record
from landscape.scan.status import MISSING


def chunk_digest(index: int, outputs: Mapping[str, np.ndarray], status: np.ndarray, record: Mapping) -> bytes:
    """SHA-256 of chunk ``index``: its index, each output's bytes (in the stored dtype), its status bytes.

    Every NaN is hashed as the one canonical NaN: zarr does not write a chunk
    equal to its fill value (NaN), so an all-NaN chunk reads back with the fill
    value's NaN bits, which need not be those that were computed.
    """
    h = hashlib.sha256(f"landscape-scan chunk {int(index)}\n".encode())
    for name, spec in record["outputs"].items():
        arr = np.ascontiguousarray(np.asarray(outputs[name], dtype=np.dtype(spec["dtype"])))
        if arr.dtype.kind in "fc":
            nan = np.isnan(arr)
            if nan.any():
                arr = arr.copy()
                arr[nan] = np.nan
        h.update(name.encode() + b"\0")
        h.update(arr.tobytes())
    h.update(b"status\0")
    h.update(np.ascontiguousarray(status, dtype=np.int8).tobytes())
    return h.digest()


def write_chunk(root: Any, record: Mapping, index: int, outputs: Mapping[str, np.ndarray], status: np.ndarray) -> None:
    """Write chunk ``index`` (its outputs and status), then commit it by writing its digest row."""
    start, stop = _bounds(record, index)
    n = stop - start
    values = {}
    for name in record["outputs"]:
        values[name] = np.asarray(outputs[name])
        if values[name].shape[0] != n:
            raise ValueError(f"output {name!r} of chunk {index} has {values[name].shape[0]} points, expected {n}")
    status = np.asarray(status, dtype=np.int8)
    for name, value in values.items():
        root[name][start:stop] = value
    root[_STATUS][start:stop] = status
    root[_DIGEST][index] = np.frombuffer(chunk_digest(index, values, status, record), dtype=np.uint8)


@dataclasses.dataclass(frozen=True)
class StoreContents:
    """What :func:`read_verified` found: the data of the chunks that verify, and what is wrong with the others.

    ``outputs`` (flat, one row per point) and ``status`` hold the stored values
    of the good chunks; every other row holds the fill value and status
    ``missing``.  ``good`` is one bool per chunk (committed and its checksum
    matches); ``damaged`` maps each chunk that was committed but fails its check
    to the reason.
    """

    outputs: dict
    status: np.ndarray
    good: np.ndarray
    damaged: dict


def _read_array(root, name: str, shape: tuple, rows: int) -> tuple[np.ndarray, dict[int, str]]:
    """The whole array ``name`` and ``{chunk: why}`` for the chunks (of ``rows`` rows) that cannot be read."""
    try:
        arr = root[name]
    except Exception as e:  # a deleted or corrupt zarr.json of the array
        raise StoreError(
            f"the store's array {name!r} is missing or unreadable ({type(e).__name__}): the "
            "store is damaged beyond chunk repair; recompute it with overwrite=True "
            "(CLI: --overwrite)"
        ) from None
    if tuple(arr.shape) != tuple(shape):
        raise StoreError(
            f"the store's array {name!r} has shape {tuple(arr.shape)}, its record says {tuple(shape)}: "
            "the store is damaged; recompute it with overwrite=True (CLI: --overwrite)"
        )
    try:
        return np.asarray(arr[:]), {}
    except Exception:  # a damaged chunk file: read chunk by chunk to find it
        pass
    out = np.full(arr.shape, arr.fill_value, dtype=arr.dtype)
    bad = {}
    for i in range(-(-shape[0] // rows)):
        try:
            out[i * rows : (i + 1) * rows] = arr[i * rows : (i + 1) * rows]
        except Exception as e:
            bad[i] = f"{name!r} unreadable ({type(e).__name__})"
    return out, bad


def result_bytes(n_points: int, outputs: Mapping[str, Mapping]) -> int:
    """Bytes of a scan's result in memory: every output (record form) at every point, plus the int8 status.

    >>> result_bytes(10**9, {"y": {"shape": [3], "dtype": "float64"}})
    25000000000
    """
    per_point = 1 + sum(
        int(np.prod(o["shape"], dtype=np.int64)) * np.dtype(o["dtype"]).itemsize for o in outputs.values()
    )
    return int(n_points) * per_point


def require_result_memory(n_points: int, outputs: Mapping[str, Mapping]) -> None:
    """Refuse (``ValueError`` with the estimate) a scan whose result would not fit in memory."""
    require_memory(
        result_bytes(n_points, outputs),
        f"a scan of {n_points} points ({result_bytes(1, outputs)} bytes of outputs and status each)",
    )


def read_verified(root: Any, record: Mapping | None = None) -> StoreContents:
    """Read every array and check every committed chunk against its digest (see the module docstring).

    A store whose arrays would not fit in memory is refused first (``ValueError``).
    """
    record = read_record(root) if record is None else record
    require_result_memory(record["n_points"], record["outputs"])
    n, chunk, n_chunks = record["n_points"], record["chunk_size"], record["n_chunks"]
    digests, unreadable = _read_array(root, _DIGEST, (n_chunks, _DIGEST_BYTES), 1)
    outputs, problems = {}, []
    for name, spec in record["outputs"].items():
        outputs[name], bad = _read_array(root, name, (n, *spec["shape"]), chunk)
        problems.append(bad)
    status, bad = _read_array(root, _STATUS, (n,), chunk)
    problems.append(bad)
    damaged = {i: "its checksum record is unreadable" for i in unreadable}
    good = np.zeros(n_chunks, dtype=bool)
    for i in np.flatnonzero(digests.any(axis=1)):
        i = int(i)
        reasons = [b[i] for b in problems if i in b]
        if reasons:
            damaged[i] = "; ".join(reasons)
            continue
        start, stop = _bounds(record, i)
        found = chunk_digest(i, {k: v[start:stop] for k, v in outputs.items()}, status[start:stop], record)
        if found == digests[i].tobytes():
            good[i] = True
        else:
            damaged[i] = "checksum mismatch: its values differ from those committed"
    point_good = np.repeat(good, chunk)[:n]
    if not point_good.all():
        for name, spec in record["outputs"].items():
            outputs[name][~point_good] = _fill(np.dtype(spec["dtype"]))
        status[~point_good] = MISSING
    return StoreContents(outputs, status.astype(np.int8, copy=False), good, dict(sorted(damaged.items())))


def done_chunks(root: Any, record: Mapping | None = None) -> np.ndarray:
    """Bool per chunk: committed and verified against its checksum."""
    return read_verified(root, record).good
