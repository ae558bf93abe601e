"""The on-disk store: provenance, refusal to resume a different scan, partial chunks, SIGKILL and resume.

The kill test runs a real phase scan in a child process, checks that this
process cannot write the same store while the child holds its lock, kills the
child with SIGKILL after a few chunks, resumes the scan in this process and
checks that only the missing chunks were computed and that the dataset is
identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from landscape import phase
from landscape.scan import MISSING, Axis, Grid, ScanMismatchError, StoreLockedError, open_scan, scan, scan_info, store
from landscape.scan.provenance import code_version

PINNED = {"package_version": "test", "git_commit": "pinned-for-the-test"}


def fn(p):
    return {"y": jnp.sin(p["x"]) * p["z"], "v": jnp.stack([p["x"], p["z"] ** 2])}


GRID = Grid([Axis("x", np.linspace(0.0, 3.0, 9)), Axis("z", [1.0, -2.0, 0.5])])


def run(path, grid=GRID, **kw):
    seen = []
    kw.setdefault("code_version", PINNED)
    ds = scan(
        fn,
        grid,
        out=path,
        chunk_size=kw.pop("chunk_size", 4),
        progress=seen.append,
        evaluation={"what": "sin(x)·z"},
        **kw,
    )
    return ds, seen[-1]


def test_store_round_trip_and_provenance(tmp_path):
    path = tmp_path / "s.zarr"
    ds = scan(fn, GRID, out=path, chunk_size=5)
    mem = scan(fn, GRID, chunk_size=5)
    xr.testing.assert_identical(ds, mem)
    xr.testing.assert_identical(open_scan(path), ds)
    info = scan_info(path)
    assert Grid.from_json(info["grid"]) == GRID
    assert info["package_version"] == code_version()["package_version"]
    assert info["git_commit"] == code_version()["git_commit"] == ds.attrs["git_commit"]
    assert info["chunks_done"] == info["n_chunks"] == 6 and info["points_done"] == 27
    flat = xr.open_zarr(path, consolidated=False)  # plain xarray reads it too
    np.testing.assert_array_equal(flat["y"].values, ds["y"].values.ravel())


def _landscape_engine_installed() -> bool:
    from importlib.metadata import entry_points

    return any(
        ep.name == "landscape" and ep.value.startswith("landscape.xarray_backend")
        for ep in entry_points(group="xarray.backends")
    )


def test_plain_xarray_opens_the_labelled_grid(tmp_path):
    """The ``landscape`` xarray backend returns open_scan's dataset (dims, coords, values, attrs, damage)."""
    import tomllib

    from landscape.xarray_backend import LandscapeBackendEntrypoint, is_scan_store

    path = tmp_path / "s.zarr"
    ds = scan(fn, GRID, out=path, chunk_size=5, labels={"y": "sin(x)·z"}, code_version=PINNED)
    via = xr.open_dataset(path, engine=LandscapeBackendEntrypoint)
    xr.testing.assert_identical(via, open_scan(path))
    assert via["y"].dims == ("x", "z") and via["v"].dims == ("x", "z", "v_dim0")
    assert via.attrs["grid"] == GRID.to_json() and via["y"].attrs["long_name"] == "sin(x)·z"
    assert "status" not in xr.open_dataset(path, engine=LandscapeBackendEntrypoint, drop_variables="status")
    assert is_scan_store(path) and not is_scan_store(tmp_path) and not is_scan_store(path / "y")
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["xarray.backends"] == {
        "landscape": "landscape.xarray_backend:LandscapeBackendEntrypoint"
    }
    if _landscape_engine_installed():  # the installed metadata has the entry point
        xr.testing.assert_identical(xr.open_dataset(path, engine="landscape"), ds)
        xr.testing.assert_identical(xr.open_dataset(str(path)), ds)  # chosen before xarray's zarr engine
    store.open_store(path, mode="r+")["y"][0] = 99.0  # a damaged chunk stays missing
    with pytest.warns(Warning, match="damaged"):
        damaged = xr.open_dataset(path, engine=LandscapeBackendEntrypoint)
    assert damaged.attrs["damaged_chunks"] == [0] and np.isnan(damaged["y"].values[0, 0])


def test_existing_store_needs_resume_or_overwrite(tmp_path):
    path = tmp_path / "s.zarr"
    run(path)
    with pytest.raises(FileExistsError, match="resume"):
        run(path)
    _, pr = run(path, overwrite=True)
    assert pr.computed == 27
    _, pr = run(path, resume=True)
    assert pr.computed == 0 and pr.reused == 27


def test_resume_with_other_grid_or_code_is_refused_unless_forced(tmp_path):
    path = tmp_path / "s.zarr"
    first, _ = run(path)
    other = Grid([Axis("x", np.linspace(0.0, 3.0, 10)), Axis("z", [1.0, -2.0, 0.5])])
    with pytest.raises(ScanMismatchError, match="grid") as e:
        run(path, grid=other, resume=True)
    assert "--force" in str(e.value)
    with pytest.raises(ScanMismatchError, match="chunk size 4 vs 3"):
        run(path, resume=True, chunk_size=3)
    newer = {"package_version": "test", "git_commit": "another-commit"}
    with pytest.raises(ScanMismatchError, match="git commit pinned-for-the-test vs another-commit"):
        run(path, resume=True, code_version=newer)
    # forced with only a code change: the chunks are kept and the override is logged
    ds, pr = run(path, resume=True, force=True, code_version=newer)
    assert pr.computed == 0 and pr.action == "forced-resume"
    assert scan_info(path)["forced_resumes"][0]["git_commit"] == "another-commit"
    np.testing.assert_array_equal(ds["y"].values, first["y"].values)
    # forced with another grid: the store is rebuilt
    ds, pr = run(path, grid=other, resume=True, force=True)
    assert pr.action == "restart" and pr.computed == other.size and ds["y"].shape == (10, 3)


def test_uncommitted_chunk_is_recomputed_and_stale_data_ignored(tmp_path):
    path = tmp_path / "s.zarr"
    full, _ = run(path)
    root = store.open_store(path, mode="r+")
    record = store.read_record(root)
    # Chunk 2 half-written by a killed process: garbage values, status ok, no checksum row.
    root["y"][8:12] = np.full(4, 123.0)
    root["status"][8:12] = np.zeros(4, np.int8)
    root["chunk_sha256"][2] = np.zeros(32, np.uint8)
    partial = open_scan(path)
    flat_status = partial["status"].values.ravel()
    assert (flat_status[8:12] == MISSING).all() and (flat_status[:8] == 0).all()
    assert np.isnan(partial["y"].values.ravel()[8:12]).all()  # stale values are not shown
    ds, pr = run(path, resume=True)
    assert pr.computed == 4 and pr.reused == 23
    xr.testing.assert_identical(ds, full)
    assert record["n_chunks"] == 7


def test_create_is_atomic_and_rejects_foreign_folders(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not a zarr scan store|not a landscape scan store"):
        store.open_store(tmp_path / "plain")
    with pytest.raises(FileNotFoundError):
        open_scan(tmp_path / "missing.zarr")
    run(tmp_path / "s.zarr")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    with pytest.raises(ValueError, match="reserved"):
        scan(lambda p: {"status": p["x"]}, Grid([Axis("x", [1.0])]), out=tmp_path / "t.zarr")


# ----------------------------------------------------------------------------- SIGKILL and resume
CHILD = textwrap.dedent("""
    import os, sys, time
    import jax
    jax.config.update("jax_enable_x64", os.environ.get("JAX_ENABLE_X64", "1") not in ("0", "false"))
    import numpy as np
    from landscape import phase
    from landscape.scan import Axis, Grid

    def progress(pr):
        print("chunk", pr.done, flush=True)
        time.sleep(0.05)

    model = phase.PhaseModel.diagonal([3.0, 2.0, 1.2, 0.5], sigma2=0.0, loss="beta-infonce")
    grid = Grid([Axis("sigma2", np.linspace(0.1, 4.1, 13)), Axis("gamma", [0.0, 0.07, 0.3, 0.31, 1.0])])
    phase.phase_scan(model, grid, out=sys.argv[1], resume=True, chunk_size=3, progress=progress,
                     code_version={"package_version": "test", "git_commit": "pinned-for-the-test"})
    print("finished", flush=True)
""")


def kill_test_grid():
    model = phase.PhaseModel.diagonal([3.0, 2.0, 1.2, 0.5], sigma2=0.0, loss="beta-infonce")
    grid = Grid([Axis("sigma2", np.linspace(0.1, 4.1, 13)), Axis("gamma", [0.0, 0.07, 0.3, 0.31, 1.0])])
    return model, grid


def test_sigkill_then_resume_computes_only_missing_chunks(tmp_path):
    path = tmp_path / "killed.zarr"
    env = dict(os.environ)
    env.setdefault("JAX_ENABLE_X64", "1")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines = []
    model, grid = kill_test_grid()
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if lines == ["chunk 3"]:
                # while the child writes, a second writer in this process is refused by the store's lock
                with pytest.raises(StoreLockedError, match=f"being written by another process .process id {child.pid}"):
                    phase.phase_scan(model, grid, out=path, resume=True, chunk_size=3, code_version=PINNED)
            if sum(ln.startswith("chunk") for ln in lines) >= 4:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.stdout.close()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr.read())
    child.stderr.close()
    assert "finished" not in lines

    info = scan_info(path)
    total = info["n_points"]
    assert 4 * 3 <= info["points_done"] < total  # some, not all, chunks committed
    before = open_scan(path)
    assert (before["status"].values == MISSING).sum() == total - info["points_done"]

    seen = []
    resumed = phase.phase_scan(model, grid, out=path, resume=True, progress=seen.append, code_version=PINNED)
    assert seen[-1].computed == total - info["points_done"] and seen[-1].reused == info["points_done"]
    fresh = phase.phase_scan(model, grid, out=tmp_path / "fresh.zarr", chunk_size=3, code_version=PINNED)
    xr.testing.assert_identical(resumed, fresh)
    assert (resumed["status"].values == 0).all()
    # and the values are the closed form, point by point
    b = (
        0.5 * (np.array([3.0, 2.0, 1.2, 0.5])[None, None, :] - resumed["sigma2"].values[:, None, None])
        - resumed["weight_decay"].values[None, :, None]
    )
    np.testing.assert_array_equal(resumed["rank"].values, (b > 0).sum(-1))
