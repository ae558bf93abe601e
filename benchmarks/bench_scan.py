"""Scan throughput (points/s): closed form and gradient flow, 1 and 2 devices, vs a Python loop.

    .venv/bin/python benchmarks/bench_scan.py [--quick] [--json FILE]

Each configuration runs in its own subprocess, because the number of host
devices (``--xla_force_host_platform_device_count``) is fixed when JAX starts.
A configuration times ``landscape.scan.scan`` (in memory, and once more with a
zarr store) on β-InfoNCE (derived form), A0 = diag of d log-spaced variances in
[0.05, 5], C = σ²·I, over a (σ², γ) grid.  The baseline is a plain Python loop
that calls the same per-point function, jit-compiled once, point after point
(on a sample of the grid, extrapolated).  Compile time is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time


def measure(cfg: dict) -> dict:
    """One configuration in this process, on its devices: the scan in memory, the scan into a
    zarr store, and (``cfg["loop"]`` > 0) the Python loop over that many random points."""
    import tempfile

    import jax
    import jax.numpy as jnp
    import numpy as np

    from landscape import phase
    from landscape.scan import Axis, Grid, scan

    d, n, method = cfg["d"], cfg["n"], cfg["method"]
    a = np.logspace(np.log10(5.0), np.log10(0.05), d)
    model = phase.PhaseModel.diagonal(a, sigma2=0.0, loss="beta-infonce", t1=cfg["t1"])
    grid = Grid([Axis("sigma2", np.linspace(0.0, 6.0, n)), Axis("weight_decay", np.linspace(0.0, 1.5, n))])
    settings = phase.FlowSettings(rtol=1e-6, atol=1e-9)
    fn, dims, _ = phase.evaluation(model, grid.parameter_names, method, settings)
    if method != "closed-form":
        dims = {k: v for k, v in dims.items() if k in ("gram_eigenvalues", "direction_gram")}
    seen = []
    t0 = time.perf_counter()
    ds = scan(fn, grid, output_dims=dims, chunk_size=cfg["chunk"], progress=seen.append, batching=cfg["batching"])
    total = time.perf_counter() - t0
    out = {
        "devices": len(jax.devices()),
        "points": grid.size,
        "compile_s": seen[-1].compile_seconds,
        "run_s": seen[-1].elapsed,
        "points_per_s": grid.size / seen[-1].elapsed,
        "total_s": total,
        "status_ok": int((ds["status"].values == 0).sum()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        seen2 = []
        scan(
            fn,
            grid,
            output_dims={k: v for k, v in dims.items() if k in ds},
            chunk_size=cfg["chunk"],
            out=tmp + "/s.zarr",
            progress=seen2.append,
            batching=cfg["batching"],
        )
        out["store_points_per_s"] = grid.size / seen2[-1].elapsed
    if cfg["loop"]:
        one = jax.jit(fn)
        params = grid.parameters()
        idx = np.random.default_rng(0).choice(grid.size, size=min(cfg["loop"], grid.size), replace=False)
        p0 = {k: jnp.asarray(v[idx[0]]) for k, v in params.items()}
        t = time.perf_counter()
        jax.block_until_ready(one(p0))
        out["loop_compile_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for i in idx:
            jax.block_until_ready(one({k: jnp.asarray(v[i]) for k, v in params.items()}))
        out["loop_points_per_s"] = idx.size / (time.perf_counter() - t)
        out["loop_sample"] = int(idx.size)
    return out


def run_config(devices: int, cfg: dict) -> dict:
    """``measure(cfg)`` in a fresh process started with ``devices`` host devices."""
    env = dict(os.environ)
    inherited = re.sub(r"--xla_force_host_platform_device_count=\d+", "", env.get("XLA_FLAGS", ""))
    env["XLA_FLAGS"] = (inherited + f" --xla_force_host_platform_device_count={devices}").strip()
    res = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def configs(quick: bool = False) -> dict:
    """The two workloads: closed form (a large grid) and gradient flow (a small one)."""
    return {
        "closed-form": dict(
            method="closed-form",
            d=8,
            n=24 if quick else 160,
            chunk=256 if quick else 4096,
            t1=1.0,
            loop=50 if quick else 400,
            batching="auto",
        ),
        "flow": dict(
            method="flow",
            d=8,
            n=4 if quick else 12,
            chunk=16 if quick else 48,
            t1=100.0,
            loop=4 if quick else 12,
            batching="auto",
        ),
    }


def main(
    quick: bool = False, workloads: dict | None = None, devices: tuple[int, ...] = (1, 2), runner=run_config
) -> dict:
    """Time every workload on each device count (``runner(devices, cfg)``, by default a fresh
    process per configuration); the Python loop runs with the first count.

    The check: every point of every scan (in memory) has status 0."""
    workloads = configs(quick) if workloads is None else workloads
    results = {}
    for name, cfg in workloads.items():
        for n_dev in devices:
            cfg_i = dict(cfg, loop=cfg["loop"] if n_dev == devices[0] else 0)
            r = runner(n_dev, cfg_i)
            results[f"{name}/{n_dev}"] = r
            loop = results[f"{name}/{devices[0]}"].get("loop_points_per_s")
            ratio = r["points_per_s"] / loop if loop else float("nan")
            print(
                f"{name:12s} devices={n_dev}  points={r['points']:6d}  compile={r['compile_s']:.2f}s  "
                f"run={r['run_s']:.3f}s  {r['points_per_s']:10.1f} pts/s  with store {r['store_points_per_s']:10.1f}"
                f"  python loop {loop:9.1f} pts/s  ratio {ratio:6.1f}x  status ok {r['status_ok']}/{r['points']}",
                flush=True,
            )
    check = all(r["status_ok"] == r["points"] for r in results.values())
    print(f"CHECK every scanned point has status ok: {'PASS' if check else 'FAIL'}")
    return dict(results=results, check_passed=check)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # one configuration (JSON), internal
    args = ap.parse_args()
    if args.worker:
        import jax

        jax.config.update("jax_enable_x64", True)
        print("RESULT " + json.dumps(measure(json.loads(args.worker))))
        raise SystemExit(0)
    res = main(args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    raise SystemExit(0 if res["check_passed"] else 1)
