"""Data that must never be lost: overwrite safety, chunk checksums, the store lock, I/O failures, sizes.

Every test works on a copy of one small store (27 points in 7 chunks) or on a
3×7 closed-form CLI scan, so each runs in well under a second.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
import zarr

import landscape.core.validation as validation
from landscape.cli import main
from landscape.scan import (
    MISSING,
    Axis,
    ChunkWriteError,
    Grid,
    ScanDamageWarning,
    StoreError,
    StoreLockedError,
    open_scan,
    parse_sweep,
    scan,
    scan_info,
    store,
    verify_store,
)

PINNED = {"package_version": "test", "git_commit": "pinned-for-the-test"}
GRID = Grid([Axis("x", np.linspace(0.0, 3.0, 9)), Axis("z", [1.0, -2.0, 0.5])])
CHUNK = 4  # 27 points: chunks 0..6, the last has 3
A = [3.0, 2.0, 1.2]
CLI_SCAN = [
    "scan",
    "--loss",
    "beta-infonce",
    "--a",
    ",".join(map(str, A)),
    "--sweep",
    "sigma2=0.1:4.1:7",
    "--sweep",
    "gamma=0,0.3,1",
    "--chunk-size",
    "5",
    "--quiet",
]


def fn(p):
    return {"y": jnp.sin(p["x"]) * p["z"], "v": jnp.stack([p["x"], p["z"] ** 2])}


def run(path, **kw):
    return scan(fn, GRID, out=path, chunk_size=CHUNK, code_version=PINNED, evaluation={"what": "sin(x)·z"}, **kw)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """(path, dataset) of one complete store; tests copy it instead of computing it again."""
    path = tmp_path_factory.mktemp("pristine") / "s.zarr"
    return path, run(path)


def copy_of(pristine, dest: Path) -> Path:
    shutil.copytree(pristine[0], dest)
    return dest


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ----------------------------------------------------------------------------- overwrite
def test_overwrite_replaces_only_a_store_this_package_wrote(tmp_path, pristine, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "thesis.tex").write_text("keep")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    good = copy_of(pristine, tmp_path / "good.zarr")
    crowded = copy_of(pristine, tmp_path / "crowded.zarr")
    (crowded / "mine.txt").write_text("keep")
    link = tmp_path / "link.zarr"
    link.symlink_to(good)
    home = copy_of(pristine, tmp_path / "home.zarr")  # a real store: only the home rule protects it
    monkeypatch.setenv("HOME", str(home))
    here = copy_of(pristine, tmp_path / "here.zarr")  # likewise for the current folder
    monkeypatch.chdir(here)
    cases = [
        (plain, "not a landscape scan store"),
        (a_file, "is a file"),
        (crowded, "holds entries"),
        (link, "symbolic link"),
        ("", "empty"),
        (".", "the current folder"),
        ("..", "holds the current folder"),
        (home, "the home folder"),
    ]
    for out, needle in cases:
        with pytest.raises(StoreError, match=needle) as err:
            run(out, overwrite=True)
        assert "\n" not in str(err.value)
    with pytest.raises(StoreError, match="the root folder"):
        store.check_replaceable("/")
    assert (plain / "thesis.tex").read_text() == a_file.read_text() == (crowded / "mine.txt").read_text() == "keep"
    assert link.is_symlink() and os.path.samefile(link, good)
    for kept in (good, crowded, home, here):
        assert verify_store(kept) == []
    # a store this package wrote is replaced; nothing is left beside it
    seen = []
    run(good, overwrite=True, progress=seen.append)
    assert seen[-1].computed == GRID.size and verify_store(good) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".good")) == []


def test_forced_restart_refuses_a_store_holding_other_files(tmp_path, pristine):
    path = copy_of(pristine, tmp_path / "s.zarr")
    (path / "notes.txt").write_text("keep")
    other = Grid([Axis("x", np.linspace(0.0, 3.0, 5)), Axis("z", [1.0])])
    with pytest.raises(StoreError, match="holds entries"):
        scan(
            fn,
            other,
            out=path,
            resume=True,
            force=True,
            chunk_size=CHUNK,
            code_version=PINNED,
            evaluation={"what": "sin(x)·z"},
        )
    assert (path / "notes.txt").read_text() == "keep" and verify_store(path) == []


def test_cli_bad_store_paths_are_one_line_exit_2(tmp_path, pristine, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("keep.txt").write_text("keep")
    Path("plain").mkdir()
    (Path("plain") / "data.csv").write_text("keep")
    cases = [
        ([*CLI_SCAN, "--out", "", "--overwrite"], "--out must name a path"),
        ([*CLI_SCAN, "--out", "plain", "--overwrite"], "not a landscape scan store"),
        ([*CLI_SCAN, "--out", "keep.txt"], "is a file"),
        ([*CLI_SCAN, "--out", "keep.txt", "--resume"], "is a file"),
        ([*CLI_SCAN, "--out", "keep.txt", "--overwrite"], "is a file"),
        ([*CLI_SCAN, "--out", "/proc/landscape-test.zarr"], "cannot write in /proc"),
        ([*CLI_SCAN, "--out", "/proc/self/no/such/s.zarr"], "cannot create the folder"),
        ([*CLI_SCAN, "--out", "s.zarr", "--devices", "100000"], "--devices must be between 1 and 1024"),
        (["scan", "--verify", str(tmp_path / "nothing.zarr")], "no scan store"),
        (["scan", "--verify", "plain"], "not a zarr scan store"),
        (["scan", "--verify", str(pristine[0]), "--out", "x.zarr"], "drop --out"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = one_line_error(capsys)
        assert needle in err, (argv, err)
    assert Path("keep.txt").read_text() == (Path("plain") / "data.csv").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "plain"]


def test_unwritable_store_folder_is_one_line_exit_2_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    # The tests run as root, so chmod cannot make a folder unwritable: zarr's own writes fail instead.
    async def refuse(self, key, value, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", key)

    monkeypatch.setattr(zarr.storage.LocalStore, "set", refuse)
    assert main([*CLI_SCAN, "--out", str(tmp_path / "s.zarr")]) == 2
    assert "cannot create the store" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- checksums
def damage(path: Path) -> dict[int, str]:
    """Damage chunks 1..5 of the store in five ways; returns {chunk: what was done}."""
    flipped = bytearray((path / "y" / "c" / "2").read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    (path / "y" / "c" / "2").write_bytes(bytes(flipped))
    (path / "y" / "c" / "3").unlink()
    (path / "status" / "c" / "4").unlink()
    whole = (path / "v" / "c" / "5" / "0").read_bytes()
    (path / "v" / "c" / "5" / "0").write_bytes(whole[: len(whole) // 2])
    root = store.open_store(path, mode="r+")
    root["y"][4:8] = np.arange(4.0)  # well-formed but wrong values
    return {
        1: "wrong values",
        2: "flipped bytes",
        3: "deleted chunk file",
        4: "deleted status file",
        5: "truncated file",
    }


def test_damaged_chunks_are_found_never_read_as_good_and_recomputed(tmp_path, pristine, capsys):
    path = copy_of(pristine, tmp_path / "s.zarr")
    good_ds = pristine[1]
    damaged = damage(path)

    problems = verify_store(path)
    assert [(p.chunk, p.start, p.stop, p.damaged) for p in problems] == [
        (i, CHUNK * i, CHUNK * (i + 1), True) for i in sorted(damaged)
    ]
    assert "unreadable" in problems[-1].reason and "checksum mismatch" in problems[0].reason
    info = scan_info(path)
    assert info["complete"] is False and info["chunks_damaged"] == sorted(damaged) and info["chunks_done"] == 2

    with pytest.warns(ScanDamageWarning, match="chunks 1, 2, 3, 4, 5"):
        ds = open_scan(path)
    assert ds.attrs["damaged_chunks"] == sorted(damaged)
    bad = np.zeros(GRID.size, bool)
    bad[CHUNK : 6 * CHUNK] = True
    status, y, v = ds["status"].values.ravel(), ds["y"].values.ravel(), ds["v"].values.reshape(GRID.size, 2)
    assert (status[bad] == MISSING).all() and np.isnan(y[bad]).all() and np.isnan(v[bad]).all()
    np.testing.assert_array_equal(y[~bad], good_ds["y"].values.ravel()[~bad])
    np.testing.assert_array_equal(status[~bad], good_ds["status"].values.ravel()[~bad])

    assert main(["scan", "--verify", str(path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split(" (")[0] for ln in lines[:-1]] == [f"chunk {i}" for i in sorted(damaged)]
    assert "5 chunk(s) damaged, 0 not computed" in lines[-1] and "--resume" in lines[-1]

    seen = []
    resumed = run(path, resume=True, progress=seen.append)
    assert seen[-1].damaged == 5 and seen[-1].computed == 5 * CHUNK and seen[-1].reused == GRID.size - 5 * CHUNK
    xr.testing.assert_identical(resumed, good_ds)
    assert verify_store(path) == [] and scan_info(path)["complete"] is True
    assert main(["scan", "--verify", str(path)]) == 0
    assert "all 7 chunks (27 points) present and intact" in capsys.readouterr().out


def test_interrupted_store_verifies_as_not_computed(tmp_path, pristine, capsys):
    path = copy_of(pristine, tmp_path / "s.zarr")
    (path / "chunk_sha256" / "c" / "6" / "0").unlink()  # chunk 6 never committed
    assert [(p.chunk, p.damaged, p.reason) for p in verify_store(path)] == [(6, False, "not computed")]
    assert main(["scan", "--verify", str(path), "--json"]) == 1
    rep = json.loads(capsys.readouterr().out)
    assert rep["complete"] is False and rep["damaged"] == [] and rep["not_computed"] == [6]


def test_a_store_that_ends_damaged_is_not_reported_complete(tmp_path, monkeypatch, capsys):
    real = store.write_chunk

    def bad_write(root, record, index, outputs, status):  # a silent bad write of chunk 1
        real(root, record, index, outputs, status)
        if index == 1:
            root["status"][5] = 2

    monkeypatch.setattr(store, "write_chunk", bad_write)
    with pytest.warns(ScanDamageWarning, match="chunks 1\\)"):
        ds = run(tmp_path / "s.zarr")
    assert ds.attrs["damaged_chunks"] == [1] and (ds["status"].values.ravel()[4:8] == MISSING).all()
    assert scan_info(tmp_path / "s.zarr")["complete"] is False

    # the CLI's summary of such a run (phase_scan stands in for the run above): not complete, exit 1
    import landscape.phase

    monkeypatch.setattr(landscape.phase, "phase_scan", lambda *a, **k: ds)
    assert main([*CLI_SCAN, "--out", str(tmp_path / "s.zarr"), "--json"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["complete"] is False and summary["damaged_chunks"] == [1]
    assert summary["status_counts"]["missing"] == CHUNK
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "not complete" in err and "--resume" in err


def test_format_1_stores_are_refused_with_a_message_and_can_be_replaced(tmp_path, pristine):
    path = copy_of(pristine, tmp_path / "s.zarr")
    root = zarr.open_group(str(path), mode="r+")
    record = dict(root.attrs["landscape_scan"])
    record["format"] = 1
    root.attrs["landscape_scan"] = record
    with pytest.raises(StoreError, match="format 1; this version reads format 2"):
        open_scan(path)
    with pytest.raises(StoreError, match="store format 1 vs 2"):
        run(path, resume=True)
    run(path, overwrite=True)
    assert verify_store(path) == []


# ----------------------------------------------------------------------------- the lock
def test_second_writer_is_refused_while_the_first_runs(tmp_path, capsys):
    path = tmp_path / "s.zarr"
    lock_file = tmp_path / ".s.zarr.lock"
    codes = []

    def progress(pr):
        if pr.finished or codes:
            return
        assert lock_file.read_text().strip() == str(os.getpid())
        with pytest.raises(StoreLockedError, match=f"being written by another process \\(process id {os.getpid()}\\)"):
            run(path, overwrite=True)
        with pytest.raises(StoreLockedError):
            run(path, resume=True)
        with pytest.raises(StoreLockedError):
            verify_store(path)
        codes.append(main([*CLI_SCAN, "--out", str(path), "--overwrite"]))

    first = run(path, progress=progress)
    assert codes == [2] and "is being written by another process" in one_line_error(capsys)
    assert not lock_file.exists() and verify_store(path) == []
    assert (first["status"].values == 0).all()


def test_a_fresh_path_locked_by_another_writer_is_refused_and_not_created(tmp_path):
    path = tmp_path / "s.zarr"
    with store.StoreLock(path):
        with pytest.raises(StoreLockedError, match="being written"):
            run(path)
    assert not path.exists()
    run(path)
    assert verify_store(path) == []


# ----------------------------------------------------------------------------- I/O failures
def test_full_disk_keeps_the_store_resumable(tmp_path, pristine, monkeypatch):
    real = zarr.storage.LocalStore.set
    failed = []

    async def set_or_fail(self, key, value, *a, **k):
        if key == "status/c/2" and not failed:  # chunk 2: outputs written, then the disk fills
            failed.append(key)
            raise OSError(errno.ENOSPC, "No space left on device", key)
        return await real(self, key, value, *a, **k)

    monkeypatch.setattr(zarr.storage.LocalStore, "set", set_or_fail)
    path = tmp_path / "s.zarr"
    with pytest.raises(ChunkWriteError, match="cannot write chunk 2 .*No space left on device.*resume=True") as err:
        run(path)
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    assert scan_info(path)["chunks_done"] == 2 and not (tmp_path / ".s.zarr.lock").exists()
    monkeypatch.setattr(zarr.storage.LocalStore, "set", real)
    seen = []
    resumed = run(path, resume=True, progress=seen.append)
    assert seen[-1].reused == 2 * CHUNK and seen[-1].computed == GRID.size - 2 * CHUNK
    xr.testing.assert_identical(resumed, pristine[1])


def test_cli_write_failures_are_one_line_exit_1(tmp_path, monkeypatch, capsys):
    import landscape.phase

    def disk_full(*a, **k):
        raise ChunkWriteError(
            "cannot write chunk 2 of the scan store s.zarr (No space left on device); the "
            "chunks committed before it are kept: run the same scan with resume=True "
            "(CLI: --resume) to continue"
        )

    def io_error(*a, **k):
        raise OSError(errno.EIO, "Input/output error")

    for fake, needle in ((disk_full, "No space left on device"), (io_error, "Input/output error")):
        monkeypatch.setattr(landscape.phase, "phase_scan", fake)
        assert main([*CLI_SCAN, "--out", str(tmp_path / "s.zarr")]) == 1
        err = one_line_error(capsys)
        assert err.startswith("landscape scan: error: --out: ") and needle in err and "--resume" in err


# ----------------------------------------------------------------------------- sizes
def test_sizes_are_refused_before_allocation_and_the_chunk_is_clamped(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 2**30)
    huge = Grid([Axis("x", np.zeros(40_000)), Axis("z", np.zeros(25_000))])  # 10⁹ points
    per_point = 1 + 3 * jnp.zeros(()).dtype.itemsize  # y, v[2] and the int8 status
    with pytest.raises(
        ValueError,
        match=rf"a scan of 1000000000 points \({per_point} bytes .*\) asks for about "
        + re.escape(f"{1e9 * per_point / 2**30:.3g} GiB"),
    ):
        scan(fn, huge)
    with pytest.raises(ValueError, match=r"sweep 'x' \(1000000000 values\) asks for about 7.45 GiB"):
        parse_sweep("x=0:1:1000000000")
    assert (
        main(
            [
                "scan",
                "--loss",
                "beta-infonce",
                "--a",
                "3,2,1",
                "--sweep",
                "sigma2=0:1:40000",
                "--sweep",
                "gamma=0:1:25000",
                "--out",
                str(tmp_path / "s.zarr"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "a scan of 1000000000 points" in one_line_error(capsys) and not (tmp_path / "s.zarr").exists()
    assert (
        main(
            [
                "scan",
                "--loss",
                "beta-infonce",
                "--a",
                "3,2,1",
                "--sweep",
                "sigma2=0:1:1000000000000",
                "--out",
                str(tmp_path / "s.zarr"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "asks for about" in one_line_error(capsys)
    small = Grid([Axis("x", [0.5, 1.0, 2.0]), Axis("z", [1.0, 2.0])])
    assert scan(fn, small, chunk_size=1000).attrs["chunk_size"] == 6
