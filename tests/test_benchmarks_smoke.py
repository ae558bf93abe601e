"""Smoke runs of every benchmark script (benchmarks/*.py) at tiny sizes.

Each checks that the returned numbers are finite, that the script's accuracy check passes (and
that a run that cannot pass it exits non-zero), and how the results are reported.  Speed ratios
are never asserted (they depend on the machine and its load).  Parts that need an optional
third-party package (torch, torchvision) are skipped by ``importorskip`` on that package alone.
"""
import contextlib
import io
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
FLOW_SMOKE = dict(n_grid=2, sigma2_max=1.5, gamma_max=0.3, chunk=50, n_sample=2)


@pytest.fixture(scope="module", autouse=True)
def _bench_path():
    sys.path.insert(0, BENCH)
    yield
    sys.path.remove(BENCH)


def _finite(*values):
    return all(math.isfinite(float(v)) for v in values)


@pytest.fixture(scope="module")
def phase_out():
    import bench_phase_diagram

    return bench_phase_diagram.main(quick=True, n_sample=2, repeats=1)


@pytest.fixture(scope="module")
def flow_run():
    """(returned numbers, printed text) of the flow smoke run."""
    import bench_flow

    with contextlib.redirect_stdout(io.StringIO()) as text:
        out = bench_flow.main(quick=True, routes=("gd", "batched-nesterov-diagonal"), **FLOW_SMOKE)
    return out, text.getvalue()


@pytest.fixture(scope="module")
def flops_out():
    import bench_gd_flops

    return bench_gd_flops.main(quick=True, dims=(8,), dtypes=("float64",), repeats=1, peak_n=(256,))


def test_phase_diagram_quick(phase_out):
    out = phase_out
    assert out["finite"]
    assert out["check_passed"]            # NumPy GD reaches the closed-form loss on its samples
    assert out["rank_min"] == 0 and out["rank_max"] == out["config"]["dim"]   # grid crosses all thresholds
    assert _finite(out["closed_form_s"], out["baseline_s_per_point"], out["ratio"], out["compile_s"])


def test_phase_diagram_baseline_uses_each_points_step(phase_out):
    # The baseline runs every sample with that point's own stable step (as bench_flow's baselines
    # do), not one rate for the whole grid: recompute each sample's step here.
    import _common as C

    import landscape as ls

    d = phase_out["config"]["dim"]

    @jax.jit
    def own_step(s2, g):
        land = C.grid_problem(d, s2, g)
        return C.step_size(land, ls.global_minimum(land, d).weights)

    for row in phase_out["samples"]:
        assert row["lr"] == pytest.approx(float(own_step(row["sigma2"], row["gamma"])), rel=1e-9), row


def test_flow_quick(flow_run):
    out, _ = flow_run
    assert out["finite"] and out["check_passed"], out["check_problems"]
    for name, r in out["routes"].items():
        assert r["solved_fraction"] == 1.0, (name, r)
        assert r["worst_rel_gap"] <= 1e-6
        assert r["failed"] == 0
    assert all(row["converged"] for rows in out["baselines"].values() for row in rows["rows"])
    q = out["ratios"]["batched-nesterov-diagonal"]
    assert q["baseline_kind"] == "nesterov-diagonal"      # the same-algorithm baseline is the same iteration
    assert out["ratios"]["gd"]["baseline_kind"] == "gd"
    assert _finite(q["same_algorithm"], q["same_algorithm_per_step"], q["vs_plain_gd_bulk"], out["setup_s"])


def test_flow_reports_like_for_like_first(flow_run):
    # Each route's ratios are printed (1) same algorithm, then (2) typical points, then (3) stratified.
    _, text = flow_run
    block = text[text.index("RATIO flow [batched-nesterov-diagonal]"):]
    same = block.index("(1) same algorithm, vs NumPy nesterov-diagonal")
    typical = block.index("(2) typical points, vs NumPy plain GD")
    strat = block.index("(3) stratified")
    assert same < typical < strat


def test_flow_exits_nonzero_when_the_accuracy_check_fails(capsys):
    # 50 steps (one chunk) from a 1e-3 init cannot bring the full-rank corner (σ² = γ = 0) to the
    # closed-form loss: the check must fail and the command-line entry point return 1.
    import bench_flow

    rc = bench_flow.cli(["--quick", "--routes", "batched-nesterov-diagonal", "--n-grid", "2", "--chunk", "50",
                         "--max-steps", "50", "--n-sample", "1"])
    text = capsys.readouterr().out
    assert rc == 1
    check = [ln for ln in text.splitlines() if ln.startswith("CHECK")]
    assert check and "FAIL (batched-nesterov-diagonal:" in check[0] and "not within tolerance" in check[0]


def test_gd_flops_quick(flops_out):
    out = flops_out
    assert out["finite"]
    assert out["check_passed"]            # all four GD loops give the same iterates
    assert all(_finite(r["gflops"], r["fraction"], r["compile_s"]) for r in out["results"] if "gflops" in r)
    assert jax.config.jax_enable_x64


def test_run_all_summary_and_exit_status(phase_out, flow_run, flops_out, monkeypatch):
    import run_all

    lines = run_all.summary_lines({"phase_diagram": phase_out, "flow": flow_run[0], "gd_flops": flops_out})
    flow_line = next(ln for ln in lines if ln.startswith("flow[batched-nesterov-diagonal]"))
    assert flow_line.index("same algorithm") < flow_line.index("typical points") < flow_line.index("stratified")
    assert all("check PASS" in ln for ln in lines if "check" in ln)
    # A failed accuracy check anywhere makes `make bench` exit 1.
    failed = dict(flops_out, check_passed=False)
    monkeypatch.setitem(run_all.BENCHMARKS, "gd_flops", lambda quick: dict(failed))
    assert run_all.main(["--only", "gd_flops"]) == 1
    monkeypatch.setitem(run_all.BENCHMARKS, "gd_flops", lambda quick: dict(flops_out))
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
    assert j["final_loss_mean"] > 0           # InfoNCE of 8 samples: log-sum-exp ≥ the positive term
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch_result" not in res      # reported as JAX only, never as a ratio
    else:
        assert _finite(res["speedup_torch_over_jax"])


def test_infonce_torch_torch_half():
    pytest.importorskip("torch")
    import bench_infonce_torch

    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    r = bench_infonce_torch.bench_torch(x, np.array([1.0]), 1, 3, 6e-4, 1, threads=1)
    assert _finite(r["run_s"], r["final_loss_mean"]) and r["final_loss_mean"] > 0


def test_nn_gpu_jax_half(tmp_path):
    # A ResNet-18 graph at width 2 with one block per stage (the PyTorch column needs the standard
    # model and is skipped, with the reason recorded).
    import bench_nn_gpu

    path = tmp_path / "r.json"
    assert bench_nn_gpu.main(["--smoke", "--width", "2", "--blocks", "1,1,1,1", "--out", str(path)]) == 0
    rows = json.loads(path.read_text())["results"]
    assert rows[0]["width"] == 2 and rows[0]["blocks"] == [1, 1, 1, 1]
    assert _finite(rows[0]["final_loss"], rows[0]["step_ms"]) and rows[0]["images_per_s"] > 0
    assert "width 64 and blocks 2,2,2,2" in rows[1]["skipped"]


def test_nn_gpu_torch_half():
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    import bench_nn_gpu

    r = bench_nn_gpu.torch_bench(batch=2, size=8, steps=1, warmup=0)
    assert _finite(r["final_loss"], r["step_ms"]) and r["images_per_s"] > 0
