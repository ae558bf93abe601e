r"""The on-disk store of a scan: a zarr group written chunk by chunk, checksummed, resumable.

Layout of a store at ``PATH`` (a zarr v3 group).  ``open_scan(PATH)``, and in
plain xarray ``xarray.open_dataset(PATH, engine="landscape")`` (the backend in
:mod:`landscape.xarray_backend`), read it as the labelled grid with every chunk
verified; ``xarray.open_zarr(PATH)`` reads the raw arrays below, a flat table
of points, unchecked:

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
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from landscape.scan.checksums import (
    StoreContents,
    chunk_digest,
    done_chunks,
    read_verified,
    require_result_memory,
    result_bytes,
    write_chunk,
)
from landscape.scan.errors import ChunkWriteError, ScanMismatchError, StoreError, StoreLockedError, _reason
from landscape.scan.lock import StoreLock
from landscape.scan.record import (
    _ATTR,
    _DIGEST,
    _DIGEST_BYTES,
    _STATUS,
    FORMAT_VERSION,
    RESERVED_NAMES,
    OutputSpec,
    _bounds,
    _fill,
    make_record,
    read_record,
    record_differences,
    stored_record,
)
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


def store_path(out: str | os.PathLike[str]) -> Path:
    """``out`` as a :class:`~pathlib.Path`; an empty path is refused, never read as the current folder.

    >>> store_path("scans/a.zarr").name
    'a.zarr'
    >>> store_path("")
    Traceback (most recent call last):
    ...
    landscape.scan.errors.StoreError: the store path is empty; name a folder such as scans/run.zarr
    """
    try:
        text = os.fsdecode(os.fspath(out))
    except TypeError:
        raise StoreError(f"the store path must be a str or os.PathLike, got {type(out).__name__}") from None
    if not text.strip():
        raise StoreError("the store path is empty; name a folder such as scans/run.zarr")
    return Path(text)


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


def check_replaceable(path: str | os.PathLike[str]) -> None:
    """Raise :class:`StoreError` unless ``path`` is a scan store this package wrote, safe to delete.

    A store is recognised by the ``landscape_scan`` record in its ``zarr.json``
    and must hold nothing else than a store's entries.  Symbolic links, files,
    the root, the home folder and the current folder (or one above it) are
    always refused.  A path that does not exist is fine (nothing to delete).
    """
    path = Path(path)
    if path.is_symlink():
        raise StoreError(
            f"{path} is a symbolic link; overwrite replaces only a store folder itself, never what a "
            "link points to (remove the link yourself, or give the store's own path)"
        )
    if not path.exists():
        return
    why = _protected(path.resolve())
    if why:
        raise StoreError(f"{path} is {why}; refusing to delete it")
    if not path.is_dir():
        raise StoreError(f"{path} is a file, not a scan store; refusing to delete it")
    record = stored_record(path)
    if record is None:
        raise StoreError(
            f"{path} is not a landscape scan store (its zarr.json has no '{_ATTR}' record); "
            "refusing to delete it: remove it yourself or choose another path"
        )
    extra = sorted(n for n in os.listdir(path) if not _store_entry(n, record))
    if extra:
        shown = ", ".join(repr(n) for n in extra[:3]) + (", ..." if len(extra) > 3 else "")
        raise StoreError(
            f"{path} holds entries that a scan store does not ({shown}); refusing to delete them: "
            "move them out or choose another path"
        )


def _zarr():
    import zarr

    return zarr


def create_store(path: str | os.PathLike[str], record: Mapping) -> Any:
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
            root.create_array(
                name,
                shape=(n, *spec["shape"]),
                chunks=(chunk, *spec["shape"]),
                dtype=dtype,
                fill_value=_fill(dtype),
                dimension_names=("point", *spec["dims"]),
            )
        root.create_array(
            _STATUS, shape=(n,), chunks=(chunk,), dtype=np.int8, fill_value=MISSING, dimension_names=("point",)
        )
        root.create_array(
            _DIGEST,
            shape=(record["n_chunks"], _DIGEST_BYTES),
            chunks=(1, _DIGEST_BYTES),
            dtype=np.uint8,
            fill_value=0,
            dimension_names=("chunk", "sha256_byte"),
        )
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


def replace_store(path: str | os.PathLike[str], record: Mapping) -> Any:
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


def open_store(path: str | os.PathLike[str], mode: str = "r") -> Any:
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
        raise StoreError(
            f"{path} is a scan store of format {fmt}; this version reads format {FORMAT_VERSION} "
            "(chunk checksums) only: recompute it with overwrite=True (CLI: --overwrite)"
        )
    return root


def open_for_resume(path: str | os.PathLike[str], record: Mapping, *, force: bool = False) -> tuple[Any, dict, str]:
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
            lines.append(
                "Its chunks answer a different question. Use another output path, or force=True "
                "(CLI: --force) to discard the store and start again."
            )
        else:
            lines.append(
                "Its chunks were computed by other code. Use force=True (CLI: --force) to keep them "
                "and continue with this code version (recorded in the store)."
            )
        raise ScanMismatchError("\n".join(lines))
    if diff["structure"]:
        return replace_store(path, record), dict(record), "restart"
    root = open_store(path, mode="r+")
    stored = read_record(root)
    stored["forced_resumes"] = list(stored.get("forced_resumes", [])) + [
        {
            "package_version": record.get("package_version"),
            "git_commit": record.get("git_commit"),
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
    ]
    root.attrs[_ATTR] = stored
    return root, stored, "forced-resume"


@dataclasses.dataclass(frozen=True)
class ChunkProblem:
    """A chunk without verified data: points ``start:stop`` (flat indices); ``damaged`` or never computed."""

    chunk: int
    start: int
    stop: int
    damaged: bool
    reason: str


def verify_store(path: str | os.PathLike[str]) -> list[ChunkProblem]:
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
