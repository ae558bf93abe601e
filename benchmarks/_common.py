"""Shared helpers of the benchmark scripts: float64, BLAS threads, timing, machine description.

The scripts import the installed ``landscape`` (``pip install -e .``); importing this
module switches JAX to float64, as every benchmark compares float64 results.

Every benchmark measures its baseline in the same process, so the printed ratios
compare two numbers taken under the same machine load.  Timings are the best of
several repetitions (the least disturbed one); compile time is measured with
``jit(...).lower(...).compile()`` and reported apart from run time.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time

# The NumPy baselines multiply 32×32 matrices; one BLAS thread is fastest for
# them (two threads only add synchronisation).  Must be set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# One XLA CPU device per core when a benchmark runs as a program (bench_*.py or run_all.py), so
# that batched_gradient_descent can split its batch over the cores; the other routes run on the
# first device as a plain jit does.  Not when a test imports the scripts: the variable would
# leak into the subprocesses of other tests.  XLA reads it when the backend starts.
_PROGRAM = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
if _PROGRAM.startswith(("bench_", "run_all")) and "xla_force_host_platform_device_count" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={os.cpu_count() or 1}"
    ).strip()

import jax  # noqa: E402  (after XLA_FLAGS above)

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402


def cpu_model() -> str:
    """The CPU model name from lscpu (falls back to platform.processor())."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """What the numbers were measured on."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": len(jax.local_devices()),
        "numpy": np.__version__,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_1min": round(load, 2),
    }


def print_machine(info: dict | None = None) -> dict:
    info = machine() if info is None else info
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    return info


def block(x):
    return jax.block_until_ready(x)


def compile_time(jitted, *args, **kwargs):
    """(compiled executable, seconds spent tracing + compiling)."""
    t0 = time.perf_counter()
    compiled = jitted.lower(*args, **kwargs).compile()
    return compiled, time.perf_counter() - t0


def best_time(fn, *args, repeats: int = 3, warmup: int = 1):
    """(best seconds over ``repeats`` calls, last result); results are block_until_ready'd."""
    out = None
    for _ in range(warmup):
        out = block(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = block(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best, out


def fmt_s(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(ratio: float) -> str:
    """A speed ratio for printing: 51.9x, 0.42x."""
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def grid_variances(dim: int, a_min: float = 0.05, a_max: float = 5.0) -> np.ndarray:
    """The benchmark's data variances: ``dim`` log-spaced values in [a_min, a_max]."""
    return np.logspace(np.log10(a_min), np.log10(a_max), dim)


def grid_problem(dim: int, sigma2, gamma, *, beta: float = 0.5, a_min: float = 0.05, a_max: float = 5.0):
    """The benchmark landscape: A0 = diag(dim log-spaced variances in [a_min, a_max]),
    C = σ²·I, β-InfoNCE (derived form, B = β·A0 − (1−β)·C, quartic k = β), weight decay γ.

    Direction i collapses where (1−β)·σ² + γ ≥ β·a_i, so a (σ², γ) grid that reaches
    (1−β)·σ² + γ > β·a_max passes every threshold, from full rank to complete collapse.
    ``sigma2`` and ``gamma`` may be traced scalars (the function is vmapped over them).
    """
    import jax.numpy as jnp

    import landscape as ls

    a = grid_variances(dim, a_min, a_max)
    problem = ls.Problem(jnp.diag(jnp.asarray(a)), sigma2 * jnp.eye(dim))
    return ls.effective_landscape(problem, "beta-infonce", beta=beta, weight_decay=gamma)


def loss_gap(loss, target, rtol: float, atol: float):
    """(relative gap |L − L*| / max(|L*|, atol / rtol), whether |L − L*| ≤ rtol·|L*| + atol)."""
    loss = np.asarray(loss, float)
    target = np.asarray(target, float)
    err = np.abs(loss - target)
    ok = err <= rtol * np.abs(target) + atol
    rel = err / np.maximum(np.abs(target), atol / rtol)
    return rel, ok


def step_size(land, w_star, iterations: int = 30):
    """A fixed, stable GD learning rate for one landscape point: 1/λ, half the stability limit.

    λ is the larger of the Hessian's top eigenvalue at the closed-form minimum
    (power iteration on Hessian-vector products, a jvp of ``landscape.gradient``,
    times 1.05 for the power iteration's underestimate) and at the origin
    (2·max(−b_min, 0), where the collapsed directions are steepest).  With
    η = 1/λ the 1-D escape w ← w + η(2bw − 4ks²w³) approaches w* monotonically.
    Traceable and vmappable.
    """
    import jax.numpy as jnp

    import landscape as ls

    def hvp(v):
        return jax.jvp(lambda x: ls.gradient(land, x), (w_star,), (v,))[1]

    # A fixed, deterministic start with weight on every entry.
    v0 = jnp.cos(jnp.arange(w_star.size, dtype=w_star.dtype) * 0.7 + 0.3).reshape(w_star.shape)

    def body(_, v):
        u = hvp(v)
        return u / jnp.maximum(jnp.sqrt(jnp.sum(u * u)), 1e-300)

    v = jax.lax.fori_loop(0, iterations, body, v0 / jnp.sqrt(jnp.sum(v0 * v0)))
    top_min = 1.05 * jnp.abs(jnp.sum(v * hvp(v)))
    top_origin = -2.0 * jnp.linalg.eigvalsh(land.b_eff)[0]
    return 1.0 / jnp.maximum(jnp.maximum(top_min, top_origin), 1e-12)
