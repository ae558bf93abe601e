"""Gradient flow on a whole grid: time until every point matches the closed form.

A (σ², γ) grid (default 64 × 64 = 4,096 points) of the β-InfoNCE landscape
with d = 32 (``_common.grid_problem``: A0 = diag of 32 log-spaced variances in
[0.05, 5], C = σ²·I, β = ½, weight decay γ), every point started from its own
``random_init`` (scale 1e-3, d1 = d0 = 32).  A point counts as solved when

    |L(W) − L*| ≤ 1e-6·|L*| + 1e-12,       L* = global_minimum(...).loss .

Routes (the library's own solvers, vmapped over the grid points):

* ``gd``           ``landscape.gradient_descent`` with ``optax.sgd(η_i)``;
* ``gd-momentum``  the same with ``optax.sgd(η_i, momentum=0.9)``;
* ``scan``         a bare ``lax.scan`` of W ← W − η_i·``landscape.gradient``(W): the same
                   iteration as ``gd`` without ``gradient_descent``'s per-step extras
                   (loss evaluation and divergence test, see bench_gd_flops (d));
* ``scan-momentum`` the same with heavy-ball momentum 0.9;
* ``batched``      ``landscape.batched_gradient_descent``: the ``scan`` iteration as the fused
                   step W·P − 4kη·S·(WΣ), the batch split over one CPU device per core;
* ``batched-momentum`` the same with heavy-ball momentum 0.9;
* ``batched-nesterov`` the same kernel with ``nesterov_restart=True``: Nesterov's accelerated
                   gradient with adaptive restart (the momentum is reset where it points uphill);
* ``batched-nesterov-diagonal`` the same with ``assume_diagonal=True``: the grid's B and Σ
                   are diagonal, so W·Σ and W·P are column scalings (two products a step, not four);
* ``ode``          ``landscape.gradient_flow`` (diffrax Tsit5, rtol 1e-8, atol 1e-12)
                   on a random subset of the grid (it is the slowest route).

η_i = 1/λ_i of point i, the same for the baseline (``_common.step_size``: λ_i bounds the
Hessian's top eigenvalue, by power iteration at the closed-form minimum and at the origin; η_i
is half the stability limit).  Every route advances all unsolved points by ``chunk`` steps (the
ODE by the same time, chunk·η_i), checks them, retires the solved ones and continues with the
rest (the batch is padded to a power of two so that only a few shapes are compiled), up to
``max_steps``; the batched momentum routes carry their state (velocity, or Nesterov's (y, θ))
from chunk to chunk, the other momentum routes restart it; batches are cut into slices of at
most ``max_batch`` points.  Compile time is measured apart and not included in the run time.
XLA runs on its own CPU thread pool (both cores).

Baselines: NumPy loops of the same iterations (``_numpy_gd``), one point at a
time, to the same tolerance (checked every 10 steps), on a sample of grid points
drawn per stratum: 64 of the points off the collapse thresholds ("bulk") and 8 of
those exactly on one (nearest whitened eigenvalue ≤ 1e-9; 32 of the 4,096 grid
points).  On a threshold the loss decays only algebraically under plain GD
(≈ 10⁵ steps to the tolerance, against ≈ 10² in the bulk), so those few points
dominate any plain-GD total.  A grid total is N_bulk·mean_bulk + N_thr·mean_thr.
Plain GD with dense products always runs; heavy ball, Nesterov and Nesterov with
column scalings run when a route of the same algorithm ran.

Each route's ratios are printed in this order:

1. same algorithm: NumPy running the route's own iteration (same step size, same
   points, the grid total per stratum) over the route's run time: what the
   implementation (batching, fusion, both cores) gains; beside it, NumPy's time
   per step × the steps every grid point needed in the route;
2. typical points: NumPy plain GD extrapolated from the bulk points alone,
   N·mean_bulk (algorithm and implementation together);
3. stratified: NumPy plain GD including the threshold stratum (algorithm and
   implementation; mostly a measure of plain GD's algebraic tail on 0.8 % of the
   grid, whose share of the baseline is printed).

The accuracy check: every route brings every point within the tolerance within
``max_steps`` (200,000, enough for plain GD on a threshold point), nothing
diverges, and every NumPy sample run converges.  The script exits with status 1
when it fails (``cli``), and prints which route or baseline failed.

    .venv/bin/python benchmarks/bench_flow.py            # full size
    .venv/bin/python benchmarks/bench_flow.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import functools
import time

import _common as C  # noqa: I001  (float64, BLAS threads; first)
import jax
import jax.numpy as jnp
import numpy as np
import optax
from _numpy_gd import gd_until_loss_gap, landscape_to_numpy

import landscape as ls

FULL = dict(
    n_grid=64,
    dim=32,
    chunk=50,
    max_steps=200_000,
    n_sample=64,
    n_threshold_sample=8,
    threshold_margin=1e-9,
    ode_points=128,
    init_scale=1e-3,
    bucket_min=16,
    max_batch=1024,
    sigma2_max=6.0,
    gamma_max=1.5,
    momentum=0.9,
    routes=(
        "gd",
        "gd-momentum",
        "scan",
        "scan-momentum",
        "batched",
        "batched-momentum",
        "batched-nesterov",
        "batched-nesterov-diagonal",
        "ode",
    ),
)
QUICK = dict(
    n_grid=4,
    dim=6,
    chunk=200,
    max_steps=200_000,
    n_sample=2,
    n_threshold_sample=1,
    threshold_margin=1e-9,
    ode_points=4,
    init_scale=1e-3,
    bucket_min=4,
    max_batch=1024,
    sigma2_max=6.0,
    gamma_max=1.5,
    momentum=0.9,
    routes=(
        "gd",
        "gd-momentum",
        "scan",
        "scan-momentum",
        "batched",
        "batched-momentum",
        "batched-nesterov",
        "batched-nesterov-diagonal",
        "ode",
    ),
)
RTOL, ATOL = 1e-6, 1e-12


def _bucket(m: int, lo: int, hi: int) -> int:
    b = lo
    while b < m:
        b *= 2
    return min(b, hi)


@functools.cache
def make_advance(route: str, d: int, chunk: int, momentum: float, block_size: int | None = None):
    """jit(vmap(f)) with f(σ², γ, η, W) -> (W after one chunk, L(W), failed); cached, so that runs
    of one size in one process compile each route once."""
    if route in ("gd", "gd-momentum"):
        mom = momentum if route == "gd-momentum" else None

        def one(s2, g, lr, w):
            land = C.grid_problem(d, s2, g)
            sol = ls.gradient_descent(land, w, optimizer=optax.sgd(lr, momentum=mom), steps=chunk, save_every=chunk)
            return sol.weights, sol.loss, sol.diverged
    elif route in ("scan", "scan-momentum"):
        mom = momentum if route == "scan-momentum" else 0.0

        def one(s2, g, lr, w):
            land = C.grid_problem(d, s2, g)

            def body(carry, _):
                w, v = carry
                v = mom * v + ls.gradient(land, w)  # optax.sgd's trace convention
                return (w - lr * v, v), None

            (w, _), _ = jax.lax.scan(body, (w, jnp.zeros_like(w)), None, length=chunk)
            value = ls.loss(land, w)
            return w, value, ~jnp.isfinite(value)
    elif route in ("batched", "batched-momentum", "batched-nesterov", "batched-nesterov-diagonal"):
        # The momentum state (heavy-ball velocity, or Nesterov's (y, θ)) is carried from
        # chunk to chunk, so these runs continue as one uninterrupted run.
        mom = momentum if route == "batched-momentum" else 0.0
        nesterov = route.startswith("batched-nesterov")
        diagonal = route.endswith("-diagonal")

        def many(s2, g, lr, w, extra):
            lands = jax.vmap(lambda a, b: C.grid_problem(d, a, b))(s2, g)
            state = None if not extra else (extra[0] if mom else extra)
            run = ls.batched_gradient_descent(
                lands,
                w,
                lr=lr,
                steps=chunk,
                check_every=chunk,
                momentum=mom,
                nesterov_restart=nesterov,
                momentum_state=state,
                assume_diagonal=diagonal,
                block_size=block_size,
            )
            out = (
                () if run.momentum_state is None else (tuple(run.momentum_state) if nesterov else (run.momentum_state,))
            )
            return run.weights, out, run.loss, run.diverged

        return jax.jit(many)
    elif route == "ode":

        def one(s2, g, lr, w):
            land = C.grid_problem(d, s2, g)
            sol = ls.gradient_flow(land, w, t1=lr * chunk, n_save=2, max_steps=4 * chunk)
            return sol.weights, sol.loss, sol.diverged
    else:
        raise ValueError(route)
    one_v = jax.vmap(one)

    def with_state(s2, g, lr, w, extra):
        w, value, bad = one_v(s2, g, lr, w)
        return w, extra, value, bad

    return jax.jit(with_state)


def initial_extra(route: str, w0: np.ndarray) -> tuple:
    """The per-point state carried between chunks besides W: u = 0 for batched heavy ball,
    (y = W₀, θ = 1) for batched Nesterov, nothing for the other routes (they restart)."""
    if route == "batched-momentum":
        return (np.zeros_like(w0),)
    if route.startswith("batched-nesterov"):
        return (np.array(w0), np.ones(w0.shape[0]))
    return ()


def _baseline_kind(route: str) -> str:
    """The NumPy loop that runs the same algorithm as ``route``."""
    if route.endswith("momentum"):
        return "gd-momentum"
    if route.startswith("batched-nesterov"):
        return "nesterov-diagonal" if route.endswith("diagonal") else "nesterov"
    return "gd"


def drive(advance, s2, g, lr, w0, target, cfg, extra=()):
    """Advance unsolved points chunk by chunk until all are solved or max_steps."""
    n = s2.shape[0]
    w = np.array(w0)
    extra = [np.array(x) for x in extra]
    active = np.arange(n)
    solved_at = np.full(n, -1)
    failed = np.zeros(n, bool)
    final_loss = np.full(n, np.nan)
    compiled = {}
    t_compile = 0.0
    t_start = time.perf_counter()
    steps_done = 0
    chunk_sizes = []
    t_calls = 0.0
    while active.size and steps_done < cfg["max_steps"]:
        m = active.size
        l_new = np.empty(m)
        for lo in range(0, m, cfg["max_batch"]):  # slices of at most max_batch points
            part = active[lo : lo + cfg["max_batch"]]
            mp = part.size
            nb = _bucket(mp, cfg["bucket_min"], min(n, cfg["max_batch"]))
            idx = np.concatenate([part, np.full(nb - mp, part[-1])])
            args = (s2[idx], g[idx], lr[idx], w[idx], tuple(x[idx] for x in extra))
            if nb not in compiled:
                compiled[nb], tc = C.compile_time(advance, *args)
                t_compile += tc
            t_call = time.perf_counter()
            w_p, e_p, l_p, bad = C.block(compiled[nb](*args))
            t_calls += time.perf_counter() - t_call
            w[part] = np.asarray(w_p)[:mp]
            for x, x_p in zip(extra, e_p):
                x[part] = np.asarray(x_p)[:mp]
            l_new[lo : lo + mp] = np.asarray(l_p)[:mp]
            failed[part] |= np.asarray(bad)[:mp]
        steps_done += cfg["chunk"]
        chunk_sizes.append(m)
        final_loss[active] = l_new
        _, ok = C.loss_gap(l_new, target[active], RTOL, ATOL)
        solved_at[active[ok]] = steps_done
        active = active[~ok]
    t_run = time.perf_counter() - t_start - t_compile
    rel, ok = C.loss_gap(final_loss, target, RTOL, ATOL)
    return dict(
        run_s=t_run,
        compile_s=t_compile,
        calls_s=t_calls,
        solved_at=solved_at,
        ok=ok,
        rel_gap=rel,
        failed=failed,
        final_loss=final_loss,
        shapes=sorted(compiled),
        batch_per_chunk=chunk_sizes,
        point_steps=int(np.sum(chunk_sizes)) * cfg["chunk"],
    )


@functools.cache
def _setup(d: int, init_scale: float, batch_size: int):
    """jit of (σ², γ, keys) -> (L*, η, W₀, rank, distance of the nearest collapse threshold) for
    every grid point; cached, so that runs of one size in one process compile it once."""

    def setup_one(s2, g, key):
        land = C.grid_problem(d, s2, g)
        sol = ls.global_minimum(land, d)
        lam = sol.whitened_eigenvalues
        # distance of the nearest collapse threshold: smallest |λ| of Σ^{-1/2}(B−γI)Σ^{-1/2}
        return (
            sol.loss,
            C.step_size(land, sol.weights),
            ls.random_init(key, d, d, init_scale),
            sol.rank,
            jnp.min(jnp.abs(lam)),
        )

    # lax.map over slices of 256 points (vmapped inside): one vmap over all 4,096
    # points of this while-loop-heavy setup ran pathologically slowly on XLA:CPU here.
    return jax.jit(lambda s2, g, k: jax.lax.map(lambda a: setup_one(*a), (s2, g, k), batch_size=batch_size))


def main(quick: bool = False, seed: int = 0, **overrides) -> dict:
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    cfg["chunk"] = min(cfg["chunk"], cfg["max_steps"])
    d, n_grid, chunk = cfg["dim"], cfg["n_grid"], cfg["chunk"]
    n_points = n_grid * n_grid
    print(
        f"== gradient flow to the closed form: {n_grid}x{n_grid} = {n_points:,} points, d = {d}, float64, "
        f"tolerance |dL| <= {RTOL:g}|L*| + {ATOL:g}"
    )
    info = C.print_machine()

    s2g, gg = np.meshgrid(
        np.linspace(0.0, cfg["sigma2_max"], n_grid), np.linspace(0.0, cfg["gamma_max"], n_grid), indexing="ij"
    )
    s2 = jnp.asarray(s2g.ravel())
    g = jnp.asarray(gg.ravel())
    keys = jax.random.split(jax.random.PRNGKey(seed), n_points)

    # Padded (repeating the last point) to whole slices of the lax.map: with a remainder slice
    # (e.g. 484 = 256 + 228 points) this setup hung at 0 % CPU on XLA:CPU with two devices.
    batch = min(256, n_points)
    pad = -n_points % batch
    s2p, gp, kp = (jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) for x in (s2, g, keys))
    setup = _setup(d, cfg["init_scale"], batch)
    setup_c, t_setup_compile = C.compile_time(setup, s2p, gp, kp)
    t0 = time.perf_counter()
    target, lr, w0, rank, margin = C.block(setup_c(s2p, gp, kp))
    t_setup = time.perf_counter() - t0
    target, lr, w0, rank, margin = (np.asarray(x)[:n_points] for x in (target, lr, w0, rank, margin))
    s2n, gn = np.asarray(s2), np.asarray(g)
    print(
        f"setup (closed form L*, step size η = 1/λ_max by power iteration, init) for all points: compile "
        f"{C.fmt_s(t_setup_compile)}, run {C.fmt_s(t_setup)}; ranks {rank.min()}..{rank.max()}, "
        f"η in [{lr.min():.3g}, {lr.max():.3g}]"
    )

    # ---- batched routes
    routes = {}
    rng = np.random.default_rng(seed + 1)
    ode_subset = np.sort(rng.choice(n_points, size=min(cfg["ode_points"], n_points), replace=False))
    for route in cfg["routes"]:
        sub = ode_subset if route == "ode" else np.arange(n_points)
        adv = make_advance(route, d, chunk, cfg["momentum"], cfg.get("block_size"))
        res = drive(adv, s2n[sub], gn[sub], lr[sub], w0[sub], target[sub], cfg, initial_extra(route, w0[sub]))
        res["points"] = sub.size
        res["per_point_s"] = res["run_s"] / sub.size
        routes[route] = res
        n_ok = int(res["ok"].sum())
        steps_ok = res["solved_at"][res["ok"]]
        print(
            f"[{route}] {sub.size:,} points: compile {C.fmt_s(res['compile_s'])} "
            f"({len(res['shapes'])} batch shapes), run {C.fmt_s(res['run_s'])} "
            f"({res['per_point_s'] * 1e3:.3f} ms/point); solved {n_ok}/{sub.size} "
            f"({100 * n_ok / sub.size:.2f}%), worst rel gap {np.nanmax(res['rel_gap']):.2e}, "
            f"diverged/solver-failed {int(res['failed'].sum())}"
        )
        if steps_ok.size:
            print(
                f"    steps to solve: median {np.median(steps_ok):.0f}, 99th pct "
                f"{np.percentile(steps_ok, 99):.0f}, max {steps_ok.max()} (chunk {chunk}, cap {cfg['max_steps']}); "
                f"{res['point_steps']:,} point-steps in all, {res['run_s'] / res['point_steps'] * 1e6:.2f} µs each; "
                f"{C.fmt_s(res['calls_s'])} inside the compiled calls, the rest in the driver"
            )
        bad = np.flatnonzero(~res["ok"])
        for j in bad[:8]:
            i = sub[j]
            print(
                f"    NOT solved: σ²={s2n[i]:.3f} γ={gn[i]:.3f} rank {rank[i]}, rel gap {res['rel_gap'][j]:.2e}, "
                f"nearest threshold |λ|min={margin[i]:.2e}"
            )
        if bad.size > 8:
            print(f"    ... and {bad.size - 8} more not solved")

    # ---- NumPy baselines on a stratified sample
    # The time per point has a heavy tail: points on a collapse threshold (nearest whitened
    # eigenvalue zero to rounding) decay algebraically and take > 100× the median.  A simple
    # random sample of 64 points misses the 32 of 4,096 such points more often than not, so
    # the grid total is estimated per stratum: N_bulk·mean(bulk sample) + N_thr·mean(threshold
    # sample).  The bulk-only figure N·mean(bulk sample) is printed too.
    on_threshold = margin <= cfg["threshold_margin"]
    bulk_idx, thr_idx = np.flatnonzero(~on_threshold), np.flatnonzero(on_threshold)
    sample_bulk = np.sort(rng.choice(bulk_idx, size=min(cfg["n_sample"], bulk_idx.size), replace=False))
    sample_thr = np.sort(rng.choice(thr_idx, size=min(cfg["n_threshold_sample"], thr_idx.size), replace=False))
    sample = np.concatenate([sample_bulk, sample_thr]).astype(int)
    print(
        f"baseline sample: {sample_bulk.size} of {bulk_idx.size} bulk points, {sample_thr.size} of "
        f"{thr_idx.size} points on a threshold (|λ|min <= {cfg['threshold_margin']:g})"
    )
    np_runs = {}

    def grid_estimate(rows):
        """(stratified grid total, bulk-only grid total, threshold stratum's part of the stratified
        total) of the sampled times per point."""
        bulk = [r["seconds"] for r in rows if not r["threshold"]]
        thr = [r["seconds"] for r in rows if r["threshold"]]
        mean_bulk = float(np.mean(bulk))
        thr_total = thr_idx.size * float(np.mean(thr)) if thr else 0.0
        return bulk_idx.size * mean_bulk + thr_total, n_points * mean_bulk, thr_total

    # Plain GD always (the typical-point and stratified ratios are stated against it); the
    # accelerated loops when a route of the same algorithm ran (its same-algorithm ratio).
    for kind, mom, nesterov in (
        ("gd", 0.0, False),
        ("gd-momentum", cfg["momentum"], False),
        ("nesterov", 0.0, True),
        ("nesterov-diagonal", 0.0, True),
    ):
        if kind != "gd" and not any(_baseline_kind(r) == kind for r in routes):
            continue
        rows = []
        for i in sample:
            land = C.grid_problem(d, s2[i], g[i])
            res = gd_until_loss_gap(
                landscape_to_numpy(land),
                w0[i],
                float(lr[i]),
                float(target[i]),
                rtol=RTOL,
                atol=ATOL,
                momentum=mom,
                nesterov_restart=nesterov,
                diagonal=kind.endswith("diagonal"),
                max_steps=cfg["max_steps"],
            )
            rows.append(
                dict(
                    index=int(i),
                    steps=res["steps"],
                    seconds=res["seconds"],
                    converged=res["converged"],
                    threshold=bool(on_threshold[i]),
                )
            )
        np_runs[kind] = rows
        per_step = float(np.median([r["seconds"] / max(r["steps"], 1) for r in rows]))
        strat, bulk_only, _ = grid_estimate(rows)
        unconv = [r for r in rows if not r["converged"]]
        print(
            f"baseline NumPy {kind}: {per_step * 1e6:.1f} µs/step; bulk sample mean "
            f"{C.fmt_s(float(np.mean([r['seconds'] for r in rows if not r['threshold']])))}/point, steps "
            + ", ".join(str(r["steps"]) for r in rows if not r["threshold"])
            + "; threshold sample steps "
            + (", ".join(str(r["steps"]) for r in rows if r["threshold"]) or "-")
            + f"; grid estimate {C.fmt_s(strat)} (bulk only {C.fmt_s(bulk_only)})"
            + (f"  ({len(unconv)} NOT converged within {cfg['max_steps']} steps: a lower bound)" if unconv else "")
        )

    # ---- ratios, like for like first.  (1) same algorithm: NumPy running the route's own
    # iteration on the same points (grid estimate per stratum; every point counted on both
    # sides).  (2) typical points: NumPy plain GD extrapolated from the off-threshold points
    # alone.  (3) stratified: NumPy plain GD including the points on a threshold, where plain
    # GD decays only algebraically: those few points dominate this baseline, so (3) measures
    # mostly the algorithm's behaviour there, not the implementation.
    ratios = {}
    gd_strat, gd_bulk, gd_thr = grid_estimate(np_runs["gd"])
    unsampled = bool(thr_idx.size and not sample_thr.size)
    if unsampled:  # that stratum unsampled: no stratified total
        gd_strat = gd_thr = float("nan")
    for name, jr in routes.items():
        kind = _baseline_kind(name)
        if name == "ode" or kind not in np_runs:
            continue
        rows = np_runs[kind]
        run_s = jr["run_s"]
        per_step = float(np.median([r["seconds"] / max(r["steps"], 1) for r in rows]))
        steps_all = np.where(jr["solved_at"] > 0, jr["solved_at"], cfg["max_steps"])
        same, _, _ = grid_estimate(rows)
        est_steps = per_step * float(np.sum(steps_all))
        ratios[name] = dict(
            baseline_kind=kind,
            run_s=run_s,
            baseline_per_step_s=per_step,
            same_algorithm_s=same,
            same_algorithm=same / run_s,
            same_algorithm_per_step=est_steps / run_s,
            plain_gd_bulk_s=gd_bulk,
            vs_plain_gd_bulk=gd_bulk / run_s,
            plain_gd_stratified_s=gd_strat,
            vs_plain_gd_stratified=gd_strat / run_s,
            stratified_threshold_share=gd_thr / gd_strat,
            vs_plain_gd_stratified_with_setup=gd_strat / (run_s + t_setup),
        )
        r = ratios[name]
        print(f"RATIO flow [{name}], run {C.fmt_s(run_s)}:")
        print(
            f"  (1) same algorithm, vs NumPy {kind} on the same points: {C.fmt_ratio(r['same_algorithm'])} "
            f"({C.fmt_s(same)} / {C.fmt_s(run_s)}); from NumPy's time per step x the steps every point "
            f"needed here: {C.fmt_ratio(r['same_algorithm_per_step'])}"
            + (" (the unsampled threshold points are left out of the NumPy total)" if unsampled else "")
        )
        print(
            f"  (2) typical points, vs NumPy plain GD's mean on off-threshold points x all {n_points:,} points: "
            f"{C.fmt_ratio(r['vs_plain_gd_bulk'])} (algorithm + implementation)"
        )
        if unsampled:
            print(f"  (3) stratified: not estimated (the {thr_idx.size} points on a threshold were not sampled)")
        elif thr_idx.size:
            print(
                f"  (3) stratified, vs NumPy plain GD with the {thr_idx.size} points on a threshold: "
                f"{C.fmt_ratio(r['vs_plain_gd_stratified'])} (algorithm + implementation; those points are "
                f"{100 * r['stratified_threshold_share']:.1f}% of this baseline; "
                f"{C.fmt_ratio(r['vs_plain_gd_stratified_with_setup'])} counting the setup)"
            )
        else:
            print("  (3) stratified: no grid point on a threshold, (2) is the whole grid")
    if "ode" in routes:
        r = routes["ode"]
        ref = routes.get("gd")
        note = ""
        if ref is not None:
            note = (
                f"; gd on the same points needs {ref['run_s'] / n_points * 1e3:.3f} ms/point "
                f"(ode/gd per point = {r['per_point_s'] / (ref['run_s'] / n_points):.1f})"
            )
        print(f"[ode] subset of {r['points']} points: {r['per_point_s'] * 1e3:.3f} ms/point{note}")

    summary = {
        k: dict(
            points=v["points"],
            run_s=v["run_s"],
            compile_s=v["compile_s"],
            solved_fraction=float(v["ok"].mean()),
            worst_rel_gap=float(np.nanmax(v["rel_gap"])),
            failed=int(v["failed"].sum()),
            per_point_s=v["per_point_s"],
            n_unsolved=int((~v["ok"]).sum()),
        )
        for k, v in routes.items()
    }
    finite = all(np.all(np.isfinite(v["final_loss"])) for v in routes.values())
    # The accuracy check: every route brings every point within the tolerance of the closed-form
    # loss (no divergence, nothing left unsolved at max_steps), and every NumPy baseline run
    # converges (otherwise its time, and every ratio against it, is only a bound).
    problems = [
        f"{k}: {s['n_unsolved']} of {s['points']} points not within tolerance"
        for k, s in summary.items()
        if s["n_unsolved"]
    ]
    problems += [f"{k}: {s['failed']} points diverged or solver failed" for k, s in summary.items() if s["failed"]]
    problems += [
        f"NumPy {k}: {sum(not r['converged'] for r in rows)} of {len(rows)} sample runs not converged"
        for k, rows in np_runs.items()
        if not all(r["converged"] for r in rows)
    ]
    check_passed = finite and not problems
    print(
        f"CHECK every point of every route within |dL| <= {RTOL:g}|L*| + {ATOL:g} of the closed form within "
        f"{cfg['max_steps']:,} steps, and every NumPy baseline run converged: "
        + ("PASS" if check_passed else "FAIL (" + "; ".join(problems or ["non-finite loss"]) + ")")
    )
    return dict(
        name="flow",
        config=cfg,
        machine=info,
        setup_s=t_setup,
        setup_compile_s=t_setup_compile,
        routes=summary,
        ratios=ratios,
        baselines={k: {"rows": rows} for k, rows in np_runs.items()},
        strata=dict(bulk=int(bulk_idx.size), threshold=int(thr_idx.size)),
        finite=finite,
        check_passed=check_passed,
        check_problems=problems,
    )


def cli(argv=None) -> int:
    """Run the benchmark from the command line; 0 when the accuracy check passes, 1 when it fails."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny grid for a smoke run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--routes", default=None, help="comma-separated subset of " + ",".join(FULL["routes"]))
    for name in ("max_steps", "n_grid", "dim", "chunk", "n_sample", "n_threshold_sample"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    args = ap.parse_args(argv)
    extra = {k: v for k, v in vars(args).items() if k not in ("quick", "seed", "routes") and v is not None}
    if args.routes:
        extra["routes"] = tuple(args.routes.split(","))
    out = main(quick=args.quick, seed=args.seed, **extra)
    return 0 if out["check_passed"] else 1


if __name__ == "__main__":
    raise SystemExit(cli())
