"""Phase diagram by closed form vs. per-point NumPy gradient descent.

A (σ², γ) grid (default 256 × 256 = 65,536 points) of the β-InfoNCE landscape
with d = 32 (A0 = diag of 32 log-spaced variances in [0.05, 5], C = σ²·I,
β = ½, weight decay γ); the grid crosses every collapse threshold, from full
rank 32 to complete collapse.  For every point the jitted, vmapped
``global_minimum`` gives the rank, the loss and the Gram spectrum (route 1:
three eigendecompositions per point, valid for any B and Σ).  Route 2,
``global_minimum_diagonal``, uses that A0 and C = σ²I commute, so Theorem 1 is
per direction (a sort per point); it must agree with route 1 on every point.
Route 3, ``direction_minimum``, is the same per-direction solution written for a
whole grid at once (the last axis runs over directions, the grid is the batch),
from the spectra b_i, s_i built in the timed function; it must agree too.

Baseline: what is done without the closed form: plain NumPy gradient descent
from a small random init (scale 1e-3), at each point with that point's own stable
step η_i = 1/λ_i (``_common.step_size``: λ_i bounds the Hessian's top eigenvalue
at the minimum and at the origin, so η_i is half the stability limit 2/λ_i; the
same rule as bench_flow's baselines), run until ‖∇L‖_F ≤ 1e-9, on a random
sample of grid points; its mean time per point is extrapolated to the whole
grid.  Computing η_i needs the closed-form minimum and is *not* charged to the
baseline, which favours the baseline.  The check: each sample's final GD loss
must equal the closed-form loss to |ΔL| ≤ 1e-6·|L*| + 1e-12, and the two
per-direction routes must equal the general one on every point; the script
exits with status 1 when the check fails.

    .venv/bin/python benchmarks/bench_phase_diagram.py            # full size
    .venv/bin/python benchmarks/bench_phase_diagram.py --quick    # smoke run
"""

from __future__ import annotations

import argparse

import _common as C  # noqa: I001  (float64, BLAS threads; first)
import jax
import jax.numpy as jnp
import numpy as np
from _numpy_gd import gd_until_gradient_small, landscape_to_numpy

import landscape as ls

FULL = dict(n_grid=256, dim=32, n_sample=12, chunk=4096, sigma2_max=6.0, gamma_max=1.5, max_steps=300_000, repeats=3)
QUICK = dict(n_grid=16, dim=8, n_sample=3, chunk=64, sigma2_max=6.0, gamma_max=1.5, max_steps=50_000, repeats=2)
RTOL, ATOL = 1e-6, 1e-12


def make_grid(n_grid, sigma2_max, gamma_max):
    s2, g = np.meshgrid(np.linspace(0.0, sigma2_max, n_grid), np.linspace(0.0, gamma_max, n_grid), indexing="ij")
    return s2.ravel(), g.ravel()


def main(quick: bool = False, seed: int = 0, **overrides) -> dict:
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    d, n_grid = cfg["dim"], cfg["n_grid"]
    n_points = n_grid * n_grid
    print(f"== phase diagram: {n_grid}x{n_grid} = {n_points:,} points of (sigma2, gamma), d = {d}, float64")
    info = C.print_machine()

    s2_np, g_np = make_grid(n_grid, cfg["sigma2_max"], cfg["gamma_max"])
    s2, g = jnp.asarray(s2_np), jnp.asarray(g_np)

    def point(args):
        sol = ls.global_minimum(C.grid_problem(d, *args), d)
        return sol.rank, sol.loss, sol.gram_eigenvalues

    # lax.map in chunks of `chunk` points (vmapped inside): same result as one vmap
    # over all points, but the working set of each chunk stays in cache.
    closed_form = jax.jit(lambda s2, g: jax.lax.map(point, (s2, g), batch_size=min(cfg["chunk"], n_points)))
    compiled, t_compile = C.compile_time(closed_form, s2, g)
    t_closed, (rank, loss, spectrum) = C.best_time(compiled, s2, g, repeats=cfg["repeats"])
    rank, loss, spectrum = np.asarray(rank), np.asarray(loss), np.asarray(spectrum)
    print(
        f"closed form: compile {C.fmt_s(t_compile)}, run {C.fmt_s(t_closed)} for {n_points:,} points "
        f"({t_closed / n_points * 1e6:.2f} µs/point); rank range {rank.min()}..{rank.max()}"
    )

    # ---- the same grid through the per-direction closed form (A0 diagonal, C = σ²I commute):
    # λ_i = b_i/(2k s_i²) on the top b_i/s_i, a sort instead of three eigendecompositions.
    def point_diag(args):
        sol = ls.global_minimum_diagonal(C.grid_problem(d, *args), d)
        return sol.rank, sol.loss, sol.gram_eigenvalues

    def equals_general(result) -> bool:
        """Rank exactly, loss to 1e-10 and spectrum to 1e-8 (relative) at every grid point."""
        r, l_, sp = (np.asarray(x) for x in result)
        return bool(
            np.array_equal(r, rank)
            and np.allclose(l_, loss, rtol=1e-10, atol=1e-14)
            and np.allclose(sp, spectrum, rtol=1e-8, atol=1e-13)
        )

    closed_diag = jax.jit(jax.vmap(lambda a, b: point_diag((a, b))))
    compiled_d, t_compile_d = C.compile_time(closed_diag, s2, g)
    t_diag, result_d = C.best_time(compiled_d, s2, g, repeats=cfg["repeats"])
    same = equals_general(result_d)
    print(
        f"per-direction closed form: compile {C.fmt_s(t_compile_d)}, run {C.fmt_s(t_diag)} "
        f"({t_diag / n_points * 1e6:.3f} µs/point); equals the eigendecomposition route on every point: "
        f"{'PASS' if same else 'FAIL'}"
    )

    # ---- route 3: the batched per-direction closed form on the whole grid at once.  The
    # spectra b_i = ½a_i − ½σ² − γ, s_i = a_i + σ² are built inside the timed function.
    a_vec = jnp.asarray(C.grid_variances(d))

    def grid_direct(s2, g):
        b, s, k = ls.direction_spectra("beta-infonce", a_vec, s2[:, None], weight_decay=g[:, None], beta=0.5)
        sol = ls.direction_minimum(b, s, k, d)
        return sol.rank, sol.loss, sol.gram_eigenvalues

    compiled_g, t_compile_g = C.compile_time(jax.jit(grid_direct), s2, g)
    t_grid, result_g = C.best_time(compiled_g, s2, g, repeats=cfg["repeats"])
    same_grid = equals_general(result_g)
    print(
        f"batched per-direction closed form (direction_minimum): compile {C.fmt_s(t_compile_g)}, run "
        f"{C.fmt_s(t_grid)} ({t_grid / n_points * 1e9:.0f} ns/point); equals the eigendecomposition route on "
        f"every point: {'PASS' if same_grid else 'FAIL'}"
    )

    # ---- baseline: NumPy GD on a random sample of grid points
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n_points, size=cfg["n_sample"], replace=False))
    keys = jax.random.split(jax.random.PRNGKey(seed), cfg["n_sample"])

    @jax.jit
    def setup(s2, g, key):
        land = C.grid_problem(d, s2, g)
        w_star = ls.global_minimum(land, d).weights
        return land, C.step_size(land, w_star), ls.random_init(key, d, d, 1e-3)

    print("baseline learning rate: each point's own 1/λ_max (_common.step_size)")

    rows = []
    for j, i in enumerate(sample):
        land, lr, w0 = setup(s2[i], g[i], keys[j])
        res = gd_until_gradient_small(landscape_to_numpy(land), np.asarray(w0), float(lr), max_steps=cfg["max_steps"])
        rel, ok = C.loss_gap(res["loss"], loss[i], RTOL, ATOL)
        # Rank of the GD result: Gram eigenvalues above 1e-6 of the closed form's largest
        # (a collapsed point's GD iterate is tiny but never exactly zero).
        top = max(float(spectrum[i][0]), 1e-3)
        gd_rank = int(np.sum(np.linalg.eigvalsh(res["w"].T @ res["w"]) > 1e-6 * top))
        rows.append(
            dict(
                index=int(i),
                sigma2=float(s2_np[i]),
                gamma=float(g_np[i]),
                lr=float(lr),
                steps=res["steps"],
                seconds=res["seconds"],
                converged=res["converged"],
                gd_loss=res["loss"],
                closed_loss=float(loss[i]),
                rel_gap=float(rel),
                ok=bool(ok),
                gd_rank=gd_rank,
                closed_rank=int(rank[i]),
            )
        )
        print(
            f"  point {i:6d} (σ²={s2_np[i]:.3f}, γ={g_np[i]:.3f}): {res['steps']:7d} steps, "
            f"{C.fmt_s(res['seconds'])}, rank gd/closed {gd_rank}/{int(rank[i])}, "
            f"loss gd {res['loss']:.12g} vs closed {float(loss[i]):.12g} (rel gap {float(rel):.1e}) "
            f"{'OK' if ok else 'MISMATCH'}{'' if res['converged'] else ' NOT CONVERGED'}"
        )
    per_point = float(np.mean([r["seconds"] for r in rows]))
    baseline_grid = per_point * n_points
    ratio = baseline_grid / t_closed
    ratio_diag = baseline_grid / t_diag
    ratio_grid = baseline_grid / t_grid
    all_ok = all(r["ok"] for r in rows) and same and same_grid
    print(
        f"baseline: NumPy GD, mean {C.fmt_s(per_point)} per point over {len(rows)} points "
        f"(median {np.median([r['steps'] for r in rows]):.0f} steps) -> {C.fmt_s(baseline_grid)} "
        f"extrapolated to {n_points:,} points"
    )
    print(
        f"RATIO phase diagram, general closed form (eigendecompositions): {ratio:,.0f}x "
        f"(target >= 10,000x: {'met' if ratio >= 1e4 else 'NOT met'})"
    )
    print(
        f"RATIO phase diagram, per-direction closed form (commuting grid): {ratio_diag:,.0f}x "
        f"(target >= 10,000x: {'met' if ratio_diag >= 1e4 else 'NOT met'})"
    )
    print(
        f"RATIO phase diagram, batched per-direction closed form (direction_minimum): {ratio_grid:,.0f}x "
        f"(target >= 10,000x: {'met' if ratio_grid >= 1e4 else 'NOT met'})"
    )
    print(
        f"CHECK NumPy GD loss == closed form (|dL| <= {RTOL:g}|L*| + {ATOL:g}) on "
        f"{sum(r['ok'] for r in rows)}/{len(rows)} sample points: {'PASS' if all_ok else 'FAIL'}"
    )
    return dict(
        name="phase_diagram",
        config=cfg,
        machine=info,
        n_points=n_points,
        compile_s=t_compile,
        closed_form_s=t_closed,
        diagonal_compile_s=t_compile_d,
        diagonal_closed_form_s=t_diag,
        ratio_diagonal=ratio_diag,
        diagonal_equals_general=same,
        grid_compile_s=t_compile_g,
        grid_closed_form_s=t_grid,
        ratio_grid=ratio_grid,
        grid_equals_general=same_grid,
        closed_form_us_per_point=t_closed / n_points * 1e6,
        baseline_s_per_point=per_point,
        baseline_extrapolated_s=baseline_grid,
        ratio=ratio,
        check_passed=all_ok,
        samples=rows,
        rank_min=int(rank.min()),
        rank_max=int(rank.max()),
        finite=bool(np.all(np.isfinite(loss)) and np.all(np.isfinite(spectrum))),
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny grid for a smoke run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-sample", type=int, default=None, help="number of baseline sample points")
    args = ap.parse_args()
    extra = {} if args.n_sample is None else {"n_sample": args.n_sample}
    out = main(quick=args.quick, seed=args.seed, **extra)
    raise SystemExit(0 if out["check_passed"] else 1)
