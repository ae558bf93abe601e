"""Two real JAX processes (jax.distributed on 127.0.0.1, gloo collectives) share one scan store.

Each process computes its own share of the chunks (process p takes chunks p, p + 2, …), both
return the full dataset, and the store equals a one-process scan bit for bit.  When process 0
refuses to write the store (it exists already), process 1 gets an error too instead of waiting
at a barrier; a resume on both keeps every verified chunk.

A failure of the child processes fails the test: there is no skip.  It needs the gloo CPU
collectives of jaxlib (``jax_cpu_collectives_implementation = "gloo"``) and a free port on
127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from landscape import phase
from landscape.scan import Axis, Grid, open_scan

PINNED = {"package_version": "test", "git_commit": "pinned-for-the-test"}

CHILD = textwrap.dedent("""
    import json, os, sys
    import jax
    jax.config.update("jax_enable_x64", os.environ.get("JAX_ENABLE_X64", "1") not in ("0", "false"))
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    pid, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=pid)
    import numpy as np
    from landscape import phase
    from landscape.scan import Axis, Grid
    model = phase.PhaseModel.diagonal([3.0, 2.0, 1.2, 0.5], sigma2=0.0, loss="beta-infonce")
    grid = Grid([Axis("sigma2", np.linspace(0.1, 4.1, 13)), Axis("gamma", [0.0, 0.07, 0.3])])
    seen = []
    ds = phase.phase_scan(model, grid, out=out, chunk_size=4, progress=seen.append,
                          code_version={"package_version": "test", "git_commit": "pinned-for-the-test"})
    try:   # the store exists now: process 0 refuses, and process 1 must hear of it rather than wait
        phase.phase_scan(model, grid, out=out, chunk_size=4)
        refused = None
    except (FileExistsError, ValueError) as e:
        refused = [type(e).__name__, str(e)]
    again = []
    phase.phase_scan(model, grid, out=out, resume=True, progress=again.append,
                     code_version={"package_version": "test", "git_commit": "pinned-for-the-test"})
    print("RESULT " + json.dumps({"pid": pid, "processes": jax.process_count(), "computed": seen[-1].computed,
                                  "points": int(ds["status"].size), "ok": int((ds["status"].values == 0).sum()),
                                  "refused": refused, "resumed": [again[-1].computed, again[-1].reused]}),
          flush=True)
""")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_split_the_chunks(tmp_path):
    out = tmp_path / "shared.zarr"
    port = str(free_port())
    # The child keeps the parent's XLA flags (e.g. single-threaded Eigen, which fixes the
    # reduction order) but not a forced device count.
    env = dict(os.environ)
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split() if "device_count" not in f)
    env.setdefault("JAX_ENABLE_X64", "1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(pid), port, str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for pid in (0, 1)
    ]
    results = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("the two-process scan did not finish in 240 s")
        assert p.returncode == 0, stderr[-3000:]
        results.append(json.loads([ln for ln in stdout.splitlines() if ln.startswith("RESULT ")][-1][7:]))
    n_chunks = -(-39 // 4)  # 39 points in chunks of 4
    assert [r["processes"] for r in results] == [2, 2]
    assert [r["computed"] for r in results] == [20, 19]  # chunks 0,2,…,8 and 1,3,…,9 (the last has 3 points)
    assert all(r["points"] == r["ok"] == 39 for r in results)
    assert n_chunks == 10
    assert results[0]["refused"][0] == "FileExistsError" and "already exists" in results[0]["refused"][1]
    assert results[1]["refused"] == ["StoreError", f"process 0 could not prepare the scan store {out}; see its error"]
    assert [r["resumed"] for r in results] == [[0, 39], [0, 39]]  # both hosts verify every chunk and keep it

    model = phase.PhaseModel.diagonal([3.0, 2.0, 1.2, 0.5], sigma2=0.0, loss="beta-infonce")
    grid = Grid([Axis("sigma2", np.linspace(0.1, 4.1, 13)), Axis("gamma", [0.0, 0.07, 0.3])])
    single = phase.phase_scan(model, grid, chunk_size=4, code_version=PINNED)
    xr.testing.assert_identical(open_scan(out), single)
