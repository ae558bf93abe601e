"""Fixed-step batched gradient descent: achieved FLOP/s as a fraction of matmul peak.

The peak is measured in the same run: a jitted ``jnp.dot`` of two n×n
matrices, n ∈ {512, 1024, 2048}, the best rate over sizes and calls, in float32
and float64 (on this machine float64 peaks at n = 1024, and 2048 alone gave a
reference that the blocked GD loop exceeded).  Then a batch of n
weight matrices W_i (d1 = d0 = d) takes a fixed number of plain GD steps
W ← W − η∇L(W) inside one ``lax.scan``, with four implementations of the step:

  (a) ``vmap(landscape.gradient)``: the hand-ordered analytic gradient;
  (b) ``vmap(jax.grad(landscape.loss))``: reverse-mode autodiff of the loss;
  (c) stacked GEMMs: X = stack(W_i) of shape (n·d, d); X·[Σ | B] is a single
      (n·d, d) × (d, 2d) GEMM, and only S_i = (W_iΣ)W_iᵀ and S_i(W_iΣ) are
      batched d×d products;
  (d) ``vmap(landscape.gradient_descent)`` with ``optax.sgd``: the library's
      own loop, with a divergence test at every step;
  (e) ``landscape.batched_gradient_descent``: the fused step W·P − 4kη·S·(WΣ)
      with the batch split over all local devices (this script starts JAX with
      one CPU device per core), divergence checked every step, every 16 steps, or once at the end.

(a)–(d) run on the first device, as a plain ``jit`` does.

The landscape (Σ, B, k, γ) is shared by the whole batch: one problem, n
different random inits.  FLOPs counted per W per step (matrix products only):
WΣ 2d1d0², WB 2d1d0², S = (WΣ)Wᵀ 2d1²d0, S(WΣ) 2d1²d0, i.e. 8d³ for d1 = d0 = d;
the ~7·d² elementwise flops (scalings, sums, the update) add < 1/d and are not
counted.  The fraction is taken against the better of the peak measured before
and after the GD runs (on a shared machine a single peak can be low).  Both
sides are a best time: the peak of 5 calls × 3 sizes, twice (30 calls), each GD
variant of 20 calls (on this machine single calls of the same program vary by
±10 %).  (b) and (d) are credited with the same 8d³ useful flops, so their
fraction of peak is "useful" throughput, not what the hardware executed.

    .venv/bin/python benchmarks/bench_gd_flops.py            # d = 32, 64, 128
    .venv/bin/python benchmarks/bench_gd_flops.py --quick    # smoke run
"""

from __future__ import annotations

import argparse

import _common as C  # noqa: I001  (float64, BLAS threads; first)
import jax
import jax.numpy as jnp
import numpy as np
import optax

import landscape as ls

FULL = dict(
    dims=(32, 64, 128),
    peak_n=(512, 1024, 2048),
    batch_entries=2**20,
    flops_per_call=2.5e10,
    repeats=5,
    kernel_repeats=20,
    dtypes=("float32", "float64"),
)
QUICK = dict(
    dims=(8, 16),
    peak_n=(128, 256),
    batch_entries=2**12,
    flops_per_call=2e7,
    repeats=2,
    kernel_repeats=2,
    dtypes=("float32", "float64"),
)
LR = 1e-3


def shared_landscape(d: int, dtype, seed: int = 0) -> ls.EffectiveLandscape:
    """A dense (non-diagonal) β-InfoNCE-like landscape: B = A0 − 0.2·I, Σ = A0 + 0.5·I."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    a0 = (q * np.logspace(np.log10(0.05), np.log10(5.0), d)) @ q.T
    a0 = 0.5 * (a0 + a0.T)
    return ls.EffectiveLandscape(
        b=jnp.asarray(a0 - 0.2 * np.eye(d), dtype),
        sigma=jnp.asarray(a0 + 0.5 * np.eye(d), dtype),
        quartic=jnp.asarray(0.5, dtype),
        weight_decay=jnp.asarray(0.05, dtype),
    )


def make_steppers(land, n: int, d: int, steps: int):
    """The four batched GD loops, each W[n, d, d] -> W after ``steps`` steps."""
    lr = jnp.asarray(LR, land.b.dtype)

    def scan(step):
        def run(w):
            return jax.lax.scan(lambda w, _: (step(w), None), w, None, length=steps)[0]

        return run

    grad_analytic = jax.vmap(lambda w: ls.gradient(land, w))
    grad_autodiff = jax.vmap(jax.grad(lambda w: ls.loss(land, w)))
    sb = jnp.concatenate([land.sigma, land.b], axis=1)  # (d, 2d): [Σ | B]

    def stacked_step(w):
        x = w.reshape(n * d, d)
        xm = (x @ sb).reshape(n, d, 2 * d)  # one GEMM for WΣ and WB
        ws, wb = xm[..., :d], xm[..., d:]
        s = jnp.einsum("nij,nkj->nik", ws, w)  # S_i = (W_iΣ)W_iᵀ, batched
        quartic = jnp.einsum("nij,njk->nik", s, ws)  # S_i (W_iΣ), batched
        g = -2.0 * wb + (4.0 * land.quartic) * quartic + (2.0 * land.weight_decay) * w
        return w - lr * g

    def library_loop(w):
        run = jax.vmap(
            lambda w0: ls.gradient_descent(land, w0, optimizer=optax.sgd(LR), steps=steps, save_every=steps).weights
        )
        return run(w)

    def batched(check_every):
        def run(w):
            return ls.batched_gradient_descent(land, w, lr=LR, steps=steps, check_every=check_every).weights

        return run

    return {
        "(a) vmap analytic gradient": scan(lambda w: w - lr * grad_analytic(w)),
        "(b) vmap jax.grad(loss)": scan(lambda w: w - lr * grad_autodiff(w)),
        "(c) stacked GEMM + batched d×d": scan(stacked_step),
        "(d) library gradient_descent": library_loop,
        "(e) batched_gradient_descent, check 1": batched(1),
        "(e) batched_gradient_descent, check 16": batched(min(16, steps)),
        "(e) batched_gradient_descent, check at end": batched(steps),
    }


def measure_peak(sizes, dtype, repeats: int) -> float:
    """The best FLOP rate of a jitted square ``jnp.dot`` over the given sizes (n×n times n×n)."""
    best = 0.0
    for n in (sizes,) if isinstance(sizes, int) else sizes:
        x = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
        y = jax.random.normal(jax.random.PRNGKey(1), (n, n), dtype)
        t, _ = C.best_time(jax.jit(jnp.dot), x, y, repeats=repeats)
        best = max(best, 2.0 * n**3 / t)
    return best


def main(quick: bool = False, **overrides) -> dict:
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    print(f"== batched GD FLOP/s vs matmul peak, d in {tuple(cfg['dims'])}, d1 = d0, shared landscape")
    info = C.print_machine()
    results = []
    peaks = {}
    for dtype_name in cfg["dtypes"]:
        dtype = jnp.dtype(dtype_name)
        peak = measure_peak(cfg["peak_n"], dtype, cfg["repeats"])
        print(
            f"[{dtype_name}] matmul peak (best of {cfg['repeats']} per size, sizes {cfg['peak_n']}): "
            f"{peak / 1e9:.1f} GFLOP/s"
        )
        for d in cfg["dims"]:
            n = max(16, cfg["batch_entries"] // (d * d))
            flops_step = 8.0 * d**3
            steps = max(5, int(round(cfg["flops_per_call"] / (flops_step * n))))
            land = shared_landscape(d, dtype)
            w0 = 0.1 * jax.random.normal(jax.random.PRNGKey(2), (n, d, d), dtype)
            outputs = {}
            for name, fn in make_steppers(land, n, d, steps).items():
                compiled, t_compile = C.compile_time(jax.jit(fn), w0)
                t, w = C.best_time(compiled, w0, repeats=cfg["kernel_repeats"])
                rate = flops_step * n * steps / t
                outputs[name] = np.asarray(w, np.float64)
                results.append(
                    dict(
                        dtype=dtype_name,
                        d=d,
                        batch=n,
                        steps=steps,
                        variant=name,
                        compile_s=t_compile,
                        run_s=t,
                        gflops=rate / 1e9,
                        peak_gflops=peak / 1e9,
                        fraction=rate / peak,
                        finite=bool(np.all(np.isfinite(outputs[name]))),
                    )
                )
                print(
                    f"  d={d:4d} n={n:5d} steps={steps:4d} {name:34s} compile {C.fmt_s(t_compile):>9s}  "
                    f"run {C.fmt_s(t):>9s}  {rate / 1e9:7.1f} GFLOP/s  = {100 * rate / peak:5.1f}% of peak"
                )
            # the four loops compute the same iterates (up to rounding)
            ref = outputs["(a) vmap analytic gradient"]
            scale = np.max(np.abs(ref))
            diff = max(float(np.max(np.abs(v - ref))) / scale for v in outputs.values())
            tol = 1e-3 if dtype_name == "float32" else 1e-9
            agree = diff <= tol
            results.append(dict(dtype=dtype_name, d=d, variant="agreement", max_rel_diff=diff, ok=agree))
            print(
                f"  d={d:4d} CHECK all variants give the same W (max rel diff {diff:.1e} <= {tol:g}): "
                f"{'PASS' if agree else 'FAIL'}"
            )
        peak2 = measure_peak(cfg["peak_n"], dtype, cfg["repeats"])
        peaks[dtype_name] = (peak / 1e9, peak2 / 1e9)
        print(f"[{dtype_name}] matmul peak re-measured after the runs: {peak2 / 1e9:.1f} GFLOP/s")
    timing = [r for r in results if "gflops" in r]
    # The machine may be shared: use the better of the two peak measurements
    # (before and after the runs) as the reference.
    print("fraction of the better peak measurement:")
    for r in timing:
        r["peak_gflops"] = max(peaks[r["dtype"]])
        r["fraction"] = r["gflops"] / r["peak_gflops"]
        print(
            f"  {r['dtype']} d={r['d']:4d} {r['variant']:34s} {r['gflops']:7.1f} / {r['peak_gflops']:.1f} GFLOP/s"
            f" = {100 * r['fraction']:5.1f}%"
        )
    best = {}
    for r in timing:
        key = (r["dtype"], r["d"])
        if key not in best or r["fraction"] > best[key]["fraction"]:
            best[key] = r
    print("best variant per (dtype, d):")
    for (dt, d), r in sorted(best.items()):
        print(
            f"  {dt} d={d}: {r['variant']}  {100 * r['fraction']:.1f}% of peak "
            f"(target >= 70%: {'met' if r['fraction'] >= 0.7 else 'NOT met'})"
        )
    checks = all(r["ok"] for r in results if r["variant"] == "agreement")
    return dict(
        name="gd_flops",
        config=cfg,
        machine=info,
        peaks_gflops=peaks,
        results=results,
        best={f"{k[0]}/d={k[1]}": v["fraction"] for k, v in best.items()},
        check_passed=checks,
        finite=all(r["finite"] for r in timing),
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run")
    args = ap.parse_args()
    out = main(quick=args.quick)
    raise SystemExit(0 if out["check_passed"] else 1)
