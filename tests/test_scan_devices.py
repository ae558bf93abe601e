"""Sharding over 8 forced CPU devices gives results identical to 1 device.

A child process starts with no device count in XLA_FLAGS: ``landscape scan
--devices 100000`` is refused before JAX starts (it used to crash XLA), then
``landscape scan --devices 8`` asks for 8 host devices itself (through
``jax_num_cpu_devices``, leaving XLA_FLAGS as it was) and shards a closed-form
scan over them, then a gradient-descent phase scan runs on the same 8
devices.  This process (one device) computes the same scans and compares
every bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import xarray as xr

from landscape import phase
from landscape.cli import main
from landscape.scan import Grid, Points, open_scan

PINNED = {"package_version": "test", "git_commit": "pinned-for-the-test"}
SWEEPS = ["--sweep", "sigma2=0:4:9", "--sweep", "gamma=0,0.1,0.35,1"]
PROBLEM = ["--loss", "beta-infonce", "--a", "3,2,1.2,0.5"]

CHILD = textwrap.dedent("""
    import json, os, sys
    from landscape.cli import main
    flags = os.environ.get("XLA_FLAGS")
    # before JAX starts: 10⁵ host devices would crash XLA; the request is refused first
    refused = main(["scan", *json.loads(sys.argv[2]), "--out", sys.argv[1] + "/no.zarr", "--devices", "100000"])
    code = main(["scan", *json.loads(sys.argv[2]), "--out", sys.argv[1] + "/cf.zarr", "--devices", "8",
                 "--chunk-size", "12", "--json", "--quiet"])
    import jax
    import numpy as np
    from landscape import phase
    from landscape.scan import Grid, Points
    pts = Points("spot", {"sigma2": np.linspace(0.1, 3.0, 10), "gamma": np.linspace(0.0, 0.5, 10)})
    model = phase.PhaseModel.diagonal([3.0, 2.0, 1.2, 0.5], sigma2=0.0, loss="beta-infonce")
    seen = []
    phase.phase_scan(model, Grid([pts]), method="gd", settings=phase.FlowSettings(steps=500), chunk_size=5,
                     out=sys.argv[1] + "/gd.zarr", progress=seen.append,
                     code_version={"package_version": "test", "git_commit": "pinned-for-the-test"})
    print(json.dumps({"code": code, "devices": len(jax.devices()), "gd_devices": seen[-1].n_devices,
                      "refused": refused, "flags_unchanged": os.environ.get("XLA_FLAGS") == flags}))
""")


def test_eight_forced_devices_match_one(tmp_path, capsys):
    # The child keeps the parent's XLA flags (e.g. single-threaded Eigen, which fixes the
    # reduction order) but not a forced device count.
    env = dict(os.environ)
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split() if "device_count" not in f)
    env.setdefault("JAX_ENABLE_X64", "1")
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), json.dumps(PROBLEM + SWEEPS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.strip().splitlines()
    child = json.loads(lines[-1])
    summary = json.loads("\n".join(lines[:-1]))
    assert child == {"code": 0, "devices": 8, "gd_devices": 8, "refused": 2, "flags_unchanged": True}
    assert "--devices must be between 1 and 1024, got 100000" in res.stderr
    assert summary["devices"] == 8 and summary["chunk_size"] == 12

    assert len(jax.devices()) == 1
    assert main(["scan", *PROBLEM, *SWEEPS, "--out", str(tmp_path / "cf1.zarr"), "--chunk-size", "12", "--quiet"]) == 0
    capsys.readouterr()
    eight, one = open_scan(tmp_path / "cf.zarr"), open_scan(tmp_path / "cf1.zarr")
    xr.testing.assert_equal(eight, one)  # every value, coordinate and dimension
    for name in one.data_vars:
        np.testing.assert_array_equal(eight[name].values, one[name].values)

    pts = Points("spot", {"sigma2": np.linspace(0.1, 3.0, 10), "gamma": np.linspace(0.0, 0.5, 10)})
    model = phase.PhaseModel.diagonal([3.0, 2.0, 1.2, 0.5], sigma2=0.0, loss="beta-infonce")
    gd1 = phase.phase_scan(
        model, Grid([pts]), method="gd", settings=phase.FlowSettings(steps=500), chunk_size=5, code_version=PINNED
    )
    xr.testing.assert_identical(open_scan(tmp_path / "gd.zarr"), gd1)
