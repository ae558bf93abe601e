r"""The xarray backend ``engine="landscape"``: a scan store opens as its labelled grid in plain xarray.

Installing the package registers this backend under the ``xarray.backends``
entry point, so that

    xarray.open_dataset("run.zarr", engine="landscape")

returns the same dataset as :func:`landscape.scan.open_scan`: one dimension per
grid component, its coordinates, one variable per output plus ``status``, the
record in the attributes, and every chunk checked against its SHA-256 (a damaged
chunk is returned as missing, never as good).  Without ``engine`` xarray asks
each backend whether it can open the path; this one answers yes exactly for a
folder whose ``zarr.json`` carries the ``landscape_scan`` record, and xarray asks
it before its own zarr backend (backends outside the netCDF family are tried in
alphabetical order), so ``xarray.open_dataset("run.zarr")`` opens the grid too.

``xarray.open_zarr(path)`` still reads the store's raw arrays: one row per
point (dimension ``point``), the chunk checksums and no check.  The store keeps
that flat layout because a scan chunk is a run of consecutive points, which is
one zarr chunk (one file, written by one rename) only in the flat layout: that
is what makes a chunk's commit atomic and lets hosts write different chunks of
one store without locks.

This module imports neither JAX nor the scan layer until a store is opened:
xarray loads every registered backend whenever it looks for an engine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

__all__ = ["LandscapeBackendEntrypoint", "is_scan_store"]

_ATTR = "landscape_scan"  # the record's attribute name (landscape.scan.record._ATTR)


def is_scan_store(path: Any) -> bool:
    """Whether ``path`` is a folder whose ``zarr.json`` carries a scan record (any format); never raises.

    >>> is_scan_store("no/such/store.zarr"), is_scan_store(3)
    (False, False)
    """
    try:
        meta_path = os.path.join(os.fspath(path), "zarr.json")
        if not os.path.isfile(meta_path):
            return False
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
        record = meta["attributes"][_ATTR]
        return isinstance(record, dict) and "format" in record
    except Exception:  # not a path, unreadable, not JSON, no record: not ours to open
        return False


class LandscapeBackendEntrypoint(BackendEntrypoint):
    """Open a landscape scan store as the labelled, checksum-verified grid (:func:`landscape.scan.open_scan`).

    Example:
        >>> import tempfile, xarray as xr
        >>> from landscape.scan import Axis, Grid, open_scan, scan
        >>> path = tempfile.mkdtemp() + "/s.zarr"
        >>> _ = scan(lambda p: {"y": p["x"] * p["z"]}, Grid([Axis("x", [1.0, 2.0]), Axis("z", [1.0, 10.0])]),
        ...          out=path)
        >>> ds = xr.open_dataset(path, engine=LandscapeBackendEntrypoint)
        >>> ds["y"].dims, ds["y"].values.tolist()
        (('x', 'z'), [[1.0, 10.0], [2.0, 20.0]])
        >>> ds.identical(open_scan(path))
        True
    """

    description = "landscape scan stores (checksummed zarr) as their labelled grid, verified"
    open_dataset_parameters = ("filename_or_obj", "drop_variables")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: str | Iterable[str] | None = None) -> xr.Dataset:
        from landscape.scan.driver import open_scan

        ds = open_scan(filename_or_obj)
        if drop_variables is not None:
            ds = ds.drop_vars(drop_variables, errors="ignore")
        return ds

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        return is_scan_store(filename_or_obj)
