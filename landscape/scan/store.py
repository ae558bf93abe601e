r"""The on-disk store of a scan: a zarr group written chunk by chunk, checksummed, resumable.

Layout of a store at ``PATH`` (a zarr v3 group, readable by ``zarr`` and by
``xarray.open_zarr`` as a flat table of points):

=================  =====================  =============================================
array              shape                  content
=================  =====================  =============================================
``<output>``       (n_points, *shape)     one array per output, zarr chunk = scan chunk
``status``         (n_points,)            int8 flags, see :mod:`landscape.scan.status`
``chunk_sha256``   (n_chunks, 32)         uint8, one zarr chunk (one file) per scan chunk:
                                          the SHA-256 of the chunk as committed
=================  =====================  =============================================

The group attribute ``landscape_scan`` holds the *record*: the format version,
the full grid (exact JSON), the chunk length, each output's shape, dtype and
dimension names, the description of the evaluation, the package version and
git commit, and the creation time.  That record is how a folder is recognised
as a store this package wrote.

**Commit and checksum.**  Every file is written to a temporary name and renamed
into place (zarr's local store does this), so a file is either absent or
complete.  A chunk is written as its outputs, then its status, then its
digest row: the SHA-256 of the chunk index, each output's bytes and the status
bytes (:func:`chunk_digest`; NaN payloads are normalised, since zarr does not
store a chunk that equals its fill value).  A chunk counts as computed only
when its digest row exists *and* matches the data read back, so a chunk that a
killed process left half-written, a chunk file with flipped bytes, truncated
or deleted, and a deleted status file all count as not computed: a resume
recomputes them, and :func:`read_verified` (behind ``open_scan``) returns them
as missing (fill values, status ``missing``) and names them in
``damaged``; it never returns them as good.  :func:`verify_store` lists them.

**Locking.**  A writer holds an exclusive ``fcntl.flock`` on the sibling file
``.NAME.lock`` for its whole run (:class:`StoreLock`), so a second writer
(``overwrite`` or ``resume``) on the same path is refused with
:class:`StoreLockedError` instead of mixing its chunks into the first one's.
The lock file is removed when the writer finishes; one left by a killed
process holds no lock.  In a multi-process scan only process 0 takes it.

**Overwrite.**  :func:`check_replaceable` allows replacing only a folder whose
``zarr.json`` carries the ``landscape_scan`` record and that holds nothing but
a store's entries; never a symbolic link, a file, the root, the home folder,
the current folder or one of its ancestors.  The old store is moved to a
temporary sibling, the new one is put in place, and only then is the old one
deleted (:func:`replace_store`).  A new store is assembled in a temporary
folder and renamed to ``PATH`` when complete, so a half-created store is never
mistaken for one.

**Format versions.**  Format 2 added the checksums (format 1 had a
``chunk_done`` flag per chunk).  A format-1 store can be replaced (it is
recognised by its record) but not read or resumed: ``open_store`` refuses it
with a message saying to recompute it.

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
    >>> st["y"][2] = 8.0                      # the committed chunk is altered behind the store's back
    >>> read_verified(st).damaged
    {1: 'checksum mismatch: its values differ from those committed'}
"""
from __future__ import annotations

import dataclasses
import datetime
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from landscape.core.validation import require_memory
from landscape.scan.grid import Grid
from landscape.scan.status import MISSING

__all__ = [
    "FORMAT_VERSION",
    "OutputSpec",
    "StoreError",
    "StoreLockedError",
    "ScanMismatchError",
    "ChunkWriteError",
    "ChunkProblem",
    "StoreContents",
    "StoreLock",
    "make_record",
    "store_path",
    "stored_record",
    "check_replaceable",
    "create_store",
    "replace_store",
    "open_store",
    "read_record",
    "record_differences",
    "open_for_resume",
    "chunk_digest",
    "write_chunk",
    "read_verified",
    "result_bytes",
    "require_result_memory",
    "done_chunks",
    "verify_store",
]

FORMAT_VERSION = 2
_ATTR = "landscape_scan"
_STATUS = "status"
_DIGEST = "chunk_sha256"
_OLD_DONE = "chunk_done"           # format 1
RESERVED_NAMES = (_STATUS, _DIGEST, _OLD_DONE)
_DIGEST_BYTES = 32


class StoreError(ValueError):
    """A path that cannot be used as (or replaced by) a scan store; the message says why, in one line."""


class StoreLockedError(StoreError):
    """Another process is writing the store (it holds the store's lock)."""


class ScanMismatchError(StoreError):
    """An existing store does not match the scan that would resume it."""


class ChunkWriteError(OSError):
    """Writing a chunk failed (disk full, I/O error); the chunks committed before it are kept."""


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


# ---------------------------------------------------------------- paths, overwrite and the lock
def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def store_path(out) -> Path:
    """``out`` as a :class:`~pathlib.Path`; an empty path is refused, never read as the current folder.

    >>> store_path("scans/a.zarr").name
    'a.zarr'
    >>> store_path("")
    Traceback (most recent call last):
    ...
    landscape.scan.store.StoreError: the store path is empty; name a folder such as scans/run.zarr
    """
    try:
        text = os.fsdecode(os.fspath(out))
    except TypeError:
        raise StoreError(f"the store path must be a str or os.PathLike, got {type(out).__name__}") from None
    if not text.strip():
        raise StoreError("the store path is empty; name a folder such as scans/run.zarr")
    return Path(text)


def stored_record(path) -> dict | None:
    """The ``landscape_scan`` record in ``path/zarr.json``, or ``None`` if the folder has none."""
    try:
        with open(Path(path) / "zarr.json", encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    attrs = meta.get("attributes") if isinstance(meta, dict) else None
    record = attrs.get(_ATTR) if isinstance(attrs, dict) else None
    if isinstance(record, dict) and "format" in record and isinstance(record.get("outputs"), dict):
        return record
    return None


def _protected(path: Path) -> str | None:
    """Why the resolved ``path`` must never be deleted, or ``None``."""
    if path == Path(path.anchor):
        return "the root folder"
    try:
        if path == Path.home().resolve():
            return "the home folder"
    except (RuntimeError, KeyError):  # no home folder known
        pass
    cwd = Path.cwd().resolve()
    if path == cwd:
        return "the current folder"
    if path in cwd.parents:
        return "a folder that holds the current folder"
    return None


def _store_entry(name: str, record: Mapping) -> bool:
    known = {"zarr.json", *record["outputs"], *RESERVED_NAMES}
    return name in known or re.fullmatch(r"zarr\.[0-9a-f]{32}\.partial", name) is not None


def check_replaceable(path) -> None:
    """Raise :class:`StoreError` unless ``path`` is a scan store this package wrote, safe to delete.

    A store is recognised by the ``landscape_scan`` record in its ``zarr.json``
    and must hold nothing else than a store's entries.  Symbolic links, files,
    the root, the home folder and the current folder (or one above it) are
    always refused.  A path that does not exist is fine (nothing to delete).
    """
    path = Path(path)
    if path.is_symlink():
        raise StoreError(f"{path} is a symbolic link; overwrite replaces only a store folder itself, never what a "
                         "link points to (remove the link yourself, or give the store's own path)")
    if not path.exists():
        return
    why = _protected(path.resolve())
    if why:
        raise StoreError(f"{path} is {why}; refusing to delete it")
    if not path.is_dir():
        raise StoreError(f"{path} is a file, not a scan store; refusing to delete it")
    record = stored_record(path)
    if record is None:
        raise StoreError(f"{path} is not a landscape scan store (its zarr.json has no '{_ATTR}' record); "
                         "refusing to delete it: remove it yourself or choose another path")
    extra = sorted(n for n in os.listdir(path) if not _store_entry(n, record))
    if extra:
        shown = ", ".join(repr(n) for n in extra[:3]) + (", ..." if len(extra) > 3 else "")
        raise StoreError(f"{path} holds entries that a scan store does not ({shown}); refusing to delete them: "
                         "move them out or choose another path")


class StoreLock:
    """An exclusive lock on the store at ``path``: ``flock`` on the sibling file ``.NAME.lock``.

    Taken without waiting: if another process holds it, :class:`StoreLockedError`
    says so (with that process's id).  :meth:`release` (or leaving the ``with``
    block) removes the lock file and releases the lock; the lock of a killed
    process is released by the kernel.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "s.zarr"
    >>> with StoreLock(path):
    ...     try:
    ...         StoreLock(path)
    ...     except StoreLockedError as err:
    ...         print(str(err).split(" is being")[0] == str(path))
    True
    """

    def __init__(self, path):
        self.path = Path(path)
        absolute = Path(os.path.abspath(self.path))  # "s.zarr", "./s.zarr" and "/abs/s.zarr" share one lock
        if not absolute.name:
            raise StoreError(f"{path} is the root folder; a store needs a folder of its own")
        self.file = Path(os.path.realpath(absolute.parent)) / f".{absolute.name}.lock"
        self._fd = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder {self.file.parent} ({_reason(e)})") from None
        for _ in range(10):
            try:
                fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise StoreError(f"cannot write in {self.file.parent} ({_reason(e)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = _lock_holder(fd)
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise StoreLockedError(f"{self.path} is being written by another process{holder}; wait until "
                                           "it has finished, or choose another path") from None
                raise StoreError(f"cannot lock {self.file} ({_reason(e)})") from None
            try:
                here, there = os.fstat(fd), os.stat(self.file)
                same = (here.st_ino, here.st_dev) == (there.st_ino, there.st_dev)
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                except OSError:  # the id is only for the message; a full disk must not stop the lock
                    pass
                return
            os.close(fd)  # its last holder removed the file between our open and lock: try again
        raise StoreLockedError(f"{self.path}: its lock file {self.file} keeps being replaced by other processes")

    def release(self) -> None:
        """Remove the lock file and release the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.file)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "StoreLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process id {text})" if text.isdigit() else ""


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
    A folder that cannot be written raises :class:`StoreError`.
    """
    zarr = _zarr()
    path = Path(path)
    if os.path.lexists(path):
        raise FileExistsError(f"{path} already exists")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot create the store {path} ({_reason(e)})") from None
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
        root.create_array(_DIGEST, shape=(record["n_chunks"], _DIGEST_BYTES), chunks=(1, _DIGEST_BYTES),
                          dtype=np.uint8, fill_value=0, dimension_names=("chunk", "sha256_byte"))
        root.attrs[_ATTR] = dict(record)
        os.rename(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.lexists(path):
            raise FileExistsError(f"{path} already exists") from None
        raise StoreError(f"cannot create the store {path} ({_reason(e)})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_store(path, mode="r+")


def replace_store(path, record: Mapping) -> Any:
    """Replace the store at ``path`` by a fresh one for ``record`` (see :func:`check_replaceable`).

    The old store is moved to a temporary sibling, the new one is created, and
    only then is the old one deleted; if the creation fails the old store is
    put back.
    """
    check_replaceable(path)
    path = Path(path)
    if not path.exists():
        return create_store(path, record)
    old = path.with_name(f".{path.name}.{uuid.uuid4().hex}.replaced")
    try:
        os.rename(path, old)
    except OSError as e:
        raise StoreError(f"cannot move the old store {path} aside ({_reason(e)})") from None
    try:
        root = create_store(path, record)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return root


def open_store(path, mode: str = "r") -> Any:
    """Open an existing store's zarr group (``mode`` "r" or "r+")."""
    zarr = _zarr()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no scan store at {path}")
    if not path.is_dir():
        raise StoreError(f"{path} is a file, not a scan store")
    try:
        root = zarr.open_group(str(path), mode=mode)
    except Exception as e:  # zarr raises several types for a non-store folder
        raise StoreError(f"{path} is not a zarr scan store ({type(e).__name__}: {e})") from None
    if _ATTR not in root.attrs:
        raise StoreError(f"{path} is a zarr group but not a landscape scan store (no '{_ATTR}' record)")
    fmt = root.attrs[_ATTR].get("format")
    if fmt != FORMAT_VERSION:
        raise StoreError(f"{path} is a scan store of format {fmt}; this version reads format {FORMAT_VERSION} "
                         "(chunk checksums) only: recompute it with overwrite=True (CLI: --overwrite)")
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
    the store is replaced by a fresh one, see :func:`replace_store`).  Without
    ``force`` any difference raises :class:`ScanMismatchError`.  The caller
    holds the store's :class:`StoreLock`.
    """
    stored = stored_record(path)
    if stored is None:
        open_store(path)  # raises the precise reason: missing, a file, not a store
        raise StoreError(f"{path} is not a landscape scan store")
    diff = record_differences(stored, record)
    if not diff["structure"] and not diff["code"]:
        root = open_store(path, mode="r+")
        return root, read_record(root), "resume"
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
        return replace_store(path, record), dict(record), "restart"
    root = open_store(path, mode="r+")
    stored = read_record(root)
    stored["forced_resumes"] = list(stored.get("forced_resumes", [])) + [{
        "package_version": record.get("package_version"), "git_commit": record.get("git_commit"),
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}]
    root.attrs[_ATTR] = stored
    return root, stored, "forced-resume"


# ---------------------------------------------------------------- chunks and their checksums
def _bounds(record: Mapping, index: int) -> tuple[int, int]:
    start = index * record["chunk_size"]
    return start, min(start + record["chunk_size"], record["n_points"])


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


def write_chunk(root, record: Mapping, index: int, outputs: Mapping[str, np.ndarray], status: np.ndarray) -> None:
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
        raise StoreError(f"the store's array {name!r} is missing or unreadable ({type(e).__name__}): the "
                         "store is damaged beyond chunk repair; recompute it with overwrite=True "
                         "(CLI: --overwrite)") from None
    if tuple(arr.shape) != tuple(shape):
        raise StoreError(f"the store's array {name!r} has shape {tuple(arr.shape)}, its record says {tuple(shape)}: "
                         "the store is damaged; recompute it with overwrite=True (CLI: --overwrite)")
    try:
        return np.asarray(arr[:]), {}
    except Exception:  # a damaged chunk file: read chunk by chunk to find it
        pass
    out = np.full(arr.shape, arr.fill_value, dtype=arr.dtype)
    bad = {}
    for i in range(-(-shape[0] // rows)):
        try:
            out[i * rows:(i + 1) * rows] = arr[i * rows:(i + 1) * rows]
        except Exception as e:
            bad[i] = f"{name!r} unreadable ({type(e).__name__})"
    return out, bad


def result_bytes(n_points: int, outputs: Mapping[str, Mapping]) -> int:
    """Bytes of a scan's result in memory: every output (record form) at every point, plus the int8 status.

    >>> result_bytes(10**9, {"y": {"shape": [3], "dtype": "float64"}})
    25000000000
    """
    per_point = 1 + sum(int(np.prod(o["shape"], dtype=np.int64)) * np.dtype(o["dtype"]).itemsize
                        for o in outputs.values())
    return int(n_points) * per_point


def require_result_memory(n_points: int, outputs: Mapping[str, Mapping]) -> None:
    """Refuse (``ValueError`` with the estimate) a scan whose result would not fit in memory."""
    require_memory(result_bytes(n_points, outputs),
                   f"a scan of {n_points} points ({result_bytes(1, outputs)} bytes of outputs and status each)")


def read_verified(root, record: Mapping | None = None) -> StoreContents:
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


def done_chunks(root, record: Mapping | None = None) -> np.ndarray:
    """Bool per chunk: committed and verified against its checksum."""
    return read_verified(root, record).good


@dataclasses.dataclass(frozen=True)
class ChunkProblem:
    """A chunk without verified data: points ``start:stop`` (flat indices); ``damaged`` or never computed."""

    chunk: int
    start: int
    stop: int
    damaged: bool
    reason: str


def verify_store(path) -> list[ChunkProblem]:
    """Every chunk of the store at ``path`` that does not hold verified data, in chunk order.

    A chunk is *damaged* when it was committed but its files cannot be read or
    no longer match the checksum recorded at commit (flipped bytes, a deleted
    or truncated file); it is *not computed* when it was never committed (an
    interrupted scan, or its checksum file was deleted).  An empty list means
    the store is complete and intact.  Resuming the scan recomputes every
    chunk listed.  The store's lock is held while checking, so a store that a
    scan is writing raises :class:`StoreLockedError` (a folder where no lock
    file can be created is checked without it).

    Example:
        >>> import tempfile, numpy as np
        >>> from landscape.scan import Axis, Grid, scan
        >>> path = tempfile.mkdtemp() + "/s.zarr"
        >>> _ = scan(lambda p: {"y": p["x"] ** 2}, Grid([Axis("x", [1.0, 2.0, 3.0])]), out=path, chunk_size=2)
        >>> verify_store(path)
        []
        >>> open_store(path, mode="r+")["status"][2] = 1            # tampered with
        >>> [(p.chunk, p.start, p.stop, p.damaged) for p in verify_store(path)]
        [(1, 2, 3, True)]
    """
    root = open_store(path)
    try:
        lock = StoreLock(path)
    except StoreLockedError:
        raise
    except StoreError:  # a read-only location: nothing can write there either
        lock = None
    try:
        record = read_record(root)
        found = read_verified(root, record)
    finally:
        if lock is not None:
            lock.release()
    out = []
    for i in np.flatnonzero(~found.good):
        i = int(i)
        start, stop = _bounds(record, i)
        if i in found.damaged:
            out.append(ChunkProblem(i, start, stop, True, found.damaged[i]))
        else:
            out.append(ChunkProblem(i, start, stop, False, "not computed"))
    return out
