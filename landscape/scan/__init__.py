r"""Scans: any function of named parameters over a grid, on any number of devices or hosts.

This layer knows nothing about SSL.  It has four parts, one concept each:

* :mod:`landscape.scan.grid`     products of named 1-D axes and explicit point lists;
* :mod:`landscape.scan.execute`  ``jit(vmap(fn))`` over chunks, sharded on a device mesh;
  chunk length from a memory budget; each host's share of the chunks;
* :mod:`landscape.scan.store`    the zarr store, written chunk by chunk, atomic, checksummed,
  locked while written, resumable; :func:`verify_store` lists its bad chunks (its parts:
  :mod:`~landscape.scan.record` the JSON record, :mod:`~landscape.scan.lock` the writer's lock,
  :mod:`~landscape.scan.checksums` chunk commits and verified reads, :mod:`~landscape.scan.errors`);
* :mod:`landscape.scan.driver`   :func:`scan`, which puts them together and returns an
  ``xarray.Dataset``; :func:`open_scan` reads a stored one back.

The SSL-aware layer that maps parameter names (σ², γ, N, β, …) to landscapes is
:mod:`landscape.phase`.
"""

from landscape.scan.driver import Progress, ScanDamageWarning, open_scan, output_specs, scan, scan_info
from landscape.scan.execute import DEFAULT_MEMORY_BUDGET
from landscape.scan.grid import Axis, Grid, Points, as_grid, parse_sweep
from landscape.scan.status import DIVERGED, MISSING, NONFINITE, OK, STATUS_NAMES
from landscape.scan.store import (
    ChunkProblem,
    ChunkWriteError,
    ScanMismatchError,
    StoreError,
    StoreLockedError,
    verify_store,
)

__all__ = [
    "scan",
    "open_scan",
    "scan_info",
    "output_specs",
    "Progress",
    "Grid",
    "Axis",
    "Points",
    "as_grid",
    "parse_sweep",
    "OK",
    "NONFINITE",
    "DIVERGED",
    "MISSING",
    "STATUS_NAMES",
    "ScanMismatchError",
    "DEFAULT_MEMORY_BUDGET",
    "verify_store",
    "ChunkProblem",
    "StoreError",
    "StoreLockedError",
    "ChunkWriteError",
    "ScanDamageWarning",
]
