"""Smoke runs of every benchmark script (benchmarks/*.py) at tiny sizes.

Each checks that the returned numbers are finite, that the script's accuracy check passes (and
that a run that cannot pass it exits non-zero), and how the results are reported.  Speed ratios
are never asserted (they depend on the machine and its load).  Parts that need an optional
third-party package (torch, torchvision) are skipped by ``importorskip`` on that package alone.
"""

import json
import math
import os
import sys

import jax
import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")

pytestmark = pytest.mark.x64_only

# The flow smoke grid: 2x2 points off every collapse threshold (on a threshold plain GD converges
# only algebraically, ~1e5 steps); chunks of 50 steps, shared by the passing and the failing run.
# Each benchmark is run by one test (no shared fixtures: xdist would recompute them per worker).
FLOW_SMOKE = dict(n_grid=2, sigma2_max=1.5, gamma_max=0.3, chunk=50, n_sample=2)


@pytest.fixture(scope="module", autouse=True)
def _bench_path():
    sys.path.insert(0, BENCH)
    yield
    sys.path.remove(BENCH)


def _finite(*values):
    return all(math.isfinite(float(v)) for v in values)


def test_phase_diagram_quick():
    import _common as C
    import bench_phase_diagram
    import run_all

    import landscape as ls

    out = bench_phase_diagram.main(quick=True, n_sample=2, repeats=1)
    assert out["finite"]
    assert out["check_passed"]  # NumPy GD reaches the closed-form loss on its samples
    assert out["rank_min"] == 0 and out["rank_max"] == out["config"]["dim"]  # grid crosses all thresholds
    assert _finite(out["closed_form_s"], out["baseline_s_per_point"], out["ratio"], out["compile_s"])
    # The baseline runs every sample with that point's own stable step (as bench_flow's baselines
    # do), not one rate for the whole grid: recompute each sample's step here.
    d = out["config"]["dim"]

    @jax.jit
    def own_step(s2, g):
        land = C.grid_problem(d, s2, g)
        return C.step_size(land, ls.global_minimum(land, d).weights)

    for row in out["samples"]:
        assert row["lr"] == pytest.approx(float(own_step(row["sigma2"], row["gamma"])), rel=1e-9), row
    (line,) = run_all.summary_lines({"phase_diagram": out})
    assert "each point's own step" in line and line.endswith("check PASS")


def test_flow_quick(capsys):
    import bench_flow
    import run_all

    out = bench_flow.main(quick=True, routes=("gd", "batched-nesterov-diagonal"), **FLOW_SMOKE)
    text = capsys.readouterr().out
    assert out["finite"] and out["check_passed"], out["check_problems"]
    for name, r in out["routes"].items():
        assert r["solved_fraction"] == 1.0, (name, r)
        assert r["worst_rel_gap"] <= 1e-6
        assert r["failed"] == 0
    assert all(row["converged"] for rows in out["baselines"].values() for row in rows["rows"])
    q = out["ratios"]["batched-nesterov-diagonal"]
    assert q["baseline_kind"] == "nesterov-diagonal"  # the same-algorithm baseline is the same iteration
    assert out["ratios"]["gd"]["baseline_kind"] == "gd"
    assert _finite(q["same_algorithm"], q["same_algorithm_per_step"], q["vs_plain_gd_bulk"], out["setup_s"])

    # Each route's ratios are printed (1) same algorithm, then (2) typical points, then (3)
    # stratified, and run_all's summary line keeps that order.
    block = text[text.index("RATIO flow [batched-nesterov-diagonal]") :]
    same = block.index("(1) same algorithm, vs NumPy nesterov-diagonal")
    typical = block.index("(2) typical points, vs NumPy plain GD")
    strat = block.index("(3) stratified")
    assert same < typical < strat
    line = next(ln for ln in run_all.summary_lines({"flow": out}) if ln.startswith("flow[batched-nesterov-diagonal]"))
    assert line.index("same algorithm") < line.index("typical points") < line.index("stratified")

    # 50 steps (one chunk) from a 1e-3 init cannot bring the full-rank corner (σ² = γ = 0) to the
    # closed-form loss: the check fails and the command line returns 1.  Same sizes as above, so
    # the compiled programs are reused.
    rc = bench_flow.cli(
        [
            "--quick",
            "--routes",
            "batched-nesterov-diagonal",
            "--n-grid",
            "2",
            "--chunk",
            "50",
            "--max-steps",
            "50",
            "--n-sample",
            "1",
        ]
    )
    check = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("CHECK")]
    assert rc == 1
    assert check and "FAIL (batched-nesterov-diagonal:" in check[0] and "not within tolerance" in check[0]


def test_gd_flops_quick(monkeypatch):
    import bench_gd_flops
    import run_all

    out = bench_gd_flops.main(quick=True, dims=(8,), dtypes=("float64",), repeats=1, peak_n=(256,))
    assert out["finite"]
    assert out["check_passed"]  # all four GD loops give the same iterates
    assert all(_finite(r["gflops"], r["fraction"], r["compile_s"]) for r in out["results"] if "gflops" in r)
    assert jax.config.jax_enable_x64
    # `make bench` (run_all) exits 1 when a benchmark's check fails, 0 when all pass.
    monkeypatch.setitem(run_all.BENCHMARKS, "gd_flops", lambda quick: dict(out, check_passed=False))
    assert run_all.main(["--only", "gd_flops"]) == 1
    monkeypatch.setitem(run_all.BENCHMARKS, "gd_flops", lambda quick: dict(out))
    assert run_all.main(["--only", "gd_flops"]) == 0


def test_scan_quick():
    # The closed form on a 4x4 grid and a 2-point Python loop, measured in this process (the
    # script starts one process per device count; `python benchmarks/bench_scan.py --quick`).
    import bench_scan

    tiny = {"closed-form": dict(method="closed-form", d=4, n=4, chunk=16, t1=1.0, loop=2, batching="auto")}
    out = bench_scan.main(workloads=tiny, devices=(1,), runner=lambda n_dev, cfg: bench_scan.measure(cfg))
    assert out["check_passed"]
    r = out["results"]["closed-form/1"]
    assert r["points"] == 16 and r["status_ok"] == 16 and r["loop_sample"] == 2
    assert _finite(r["points_per_s"], r["store_points_per_s"], r["loop_points_per_s"], r["compile_s"])


def test_infonce_torch_jax_half():
    import bench_infonce_torch

    res = bench_infonce_torch.run(steps=3, n=8, d=4, configs=2, repeat=1)
    j = res["jax_result"]
    assert _finite(j["run_s"], j["final_loss_mean"])
    assert j["final_loss_mean"] > 0  # InfoNCE of 8 samples: log-sum-exp ≥ the positive term
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch_result" not in res  # reported as JAX only, never as a ratio
    else:
        assert _finite(res["speedup_torch_over_jax"])


def test_infonce_torch_torch_half():
    pytest.importorskip("torch")
    import bench_infonce_torch

    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    r = bench_infonce_torch.bench_torch(x, np.array([1.0]), 1, 3, 6e-4, 1, threads=1)
    assert _finite(r["run_s"], r["final_loss_mean"]) and r["final_loss_mean"] > 0


def test_nn_gpu_jax_half(tmp_path):
    # A ResNet-18 graph at width 2 with one block per stage, compiled without XLA optimisation (the
    # PyTorch column needs the standard model and is skipped, with the reason recorded).
    import bench_nn_gpu

    path = tmp_path / "r.json"
    assert (
        bench_nn_gpu.main(
            ["--smoke", "--width", "2", "--blocks", "1,1,1,1", "--no-xla-optimisation", "--out", str(path)]
        )
        == 0
    )
    result = json.loads(path.read_text())
    assert result["config"]["xla_optimised"] is False
    rows = result["results"]
    assert rows[0]["width"] == 2 and rows[0]["blocks"] == [1, 1, 1, 1]
    assert _finite(rows[0]["final_loss"], rows[0]["step_ms"]) and rows[0]["images_per_s"] > 0
    assert "width 64 and blocks 2,2,2,2" in rows[1]["skipped"]


def test_nn_gpu_torch_half():
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    import bench_nn_gpu

    r = bench_nn_gpu.torch_bench(batch=2, size=8, steps=1, warmup=0)
    assert _finite(r["final_loss"], r["step_ms"]) and r["images_per_s"] > 0


def test_batched_flow_quick():
    import bench_batched_flow

    out = bench_batched_flow.main(quick=True)
    assert out["finite"] and out["check_passed"]
    assert out["worst_rel_batched"] <= 1e-6 and out["worst_rel_diffrax"] <= 1e-6
    assert out["worst_rel_batched_same_accuracy"] <= 1e-6 and out["worst_rel_diffrax_same_accuracy"] <= 1e-6
    assert out["rtol_batched"] in bench_batched_flow.LADDER and out["rtol_diffrax"] in bench_batched_flow.LADDER
    assert _finite(out["per_point_s"], out["diffrax_per_point_s"], out["ratio"], out["ratio_same_accuracy"])
    assert bench_batched_flow.cli(["--quick"]) == 0  # the command line, on the programs compiled above


def test_exact_flow_quick():
    import bench_exact_flow

    out = bench_exact_flow.main(quick=True)
    assert out["finite"] and out["check_passed"] and out["same_sort"]
    assert out["worst_rel_loss"] <= 1e-7 and out["worst_rel_spectrum"] <= 1e-7
    assert _finite(out["points_per_s"], out["batched_per_point_s"], out["trajectory_per_point_s"])
