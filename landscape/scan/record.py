"""The record of a scan store: the JSON that says what a store holds, and how a resume compares it.

The group attribute ``landscape_scan`` of a store holds the record (format
version, grid, chunk length, outputs, evaluation, code version, creation time);
see :mod:`landscape.scan.store` for the layout of the arrays.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from landscape.scan.grid import Grid

FORMAT_VERSION = 2
_ATTR = "landscape_scan"
_STATUS = "status"
_DIGEST = "chunk_sha256"
_OLD_DONE = "chunk_done"  # format 1
RESERVED_NAMES = (_STATUS, _DIGEST, _OLD_DONE)
_DIGEST_BYTES = 32


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """Shape and dtype of one output at one point, and the names of its own dimensions."""

    shape: tuple
    dtype: str
    dims: tuple

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "dims": list(self.dims)}

    @classmethod
    def from_json(cls, obj: Mapping) -> OutputSpec:
        return cls(tuple(obj["shape"]), str(obj["dtype"]), tuple(obj["dims"]))


def make_record(
    grid: Grid,
    chunk_size: int,
    outputs: Mapping[str, OutputSpec],
    evaluation: Mapping[str, Any],
    code: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    output_coords: Mapping[str, list[float]] | None = None,
) -> dict:
    """The JSON record of a scan (everything a resume must agree with, plus provenance).

    ``labels`` (``{variable or coordinate: long name}``) only decorates the dataset;
    ``output_coords`` (``{output dimension: values}``, e.g. save times) too, and is
    recorded only when given, so records without it read as before.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    for name in outputs:
        if name in RESERVED_NAMES:
            raise ValueError(f"output name {name!r} is reserved by the store; rename that output")
    n = grid.size
    record = {
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
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "forced_resumes": [],
        "labels": {str(k): str(v) for k, v in dict(labels or {}).items()},
    }
    if output_coords:
        record["output_coords"] = {str(k): [float(x) for x in v] for k, v in output_coords.items()}
    return record


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
        structure.append(
            f"grid {Grid.from_json(stored['grid'])!r} vs {Grid.from_json(new['grid'])!r}"
            if stored.get("grid")
            else "grid"
        )
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


def read_record(root: Any) -> dict:
    """The record stored in an open store."""
    return dict(root.attrs[_ATTR])


def stored_record(path: str | os.PathLike[str]) -> dict | None:
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


def _bounds(record: Mapping, index: int) -> tuple[int, int]:
    start = index * record["chunk_size"]
    return start, min(start + record["chunk_size"], record["n_points"])


def _fill(dtype: np.dtype):
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "b":
        return False
    if dtype.kind == "i":
        return -1
    return 0
