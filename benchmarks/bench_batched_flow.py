"""Gradient flow of a whole (σ², γ) grid to a fixed time: the batched integrator against per-point diffrax.

The grid of ``_common.grid_problem`` (default 64 × 64 = 4,096 points, d = 32, β-InfoNCE,
σ² ∈ [0, 6], γ ∈ [0, 1.5]), every point started from its own ``random_init`` (scale 0.1,
d1 = d0 = 32) and integrated to t = ``t_end``, in float64.  The quantity is the loss L(W(t_end)).

Routes, atol = 1e-12, one XLA CPU device (one core) each:

* ``batched``  ``batched_gradient_flow`` (Dormand–Prince 5(4), every point its own adaptive step,
               ``block_size`` points per while-loop; the grid's B and Σ are diagonal, so it takes
               its column-scaling kernel) on every grid point, on one device; and again split
               over all local devices (one per core when run as a program), reported apart;
* ``diffrax``  ``gradient_flow`` (diffrax Tsit5 + PID controller; the library's present route)
               on a random sample of ``n_sample`` grid points, best of: vmapped over the sample
               (one program) and a loop of one jitted call per point; extrapolated per point.

Two ratios of diffrax's time per point over the batched route's, both on one device:

* **same accuracy** (the target's terms, printed first): each route runs at the loosest rtol of
  ``LADDER`` whose losses on a sample A are all within 1e-6 / ``PICK_MARGIN`` of the reference (the
  margin, one step of the ladder, so that the choice holds off the sample); the accuracy, 1e-6, is
  then checked on a disjoint sample B (diffrax is timed on B);
* **same tolerance**: both at rtol = ``rtol`` (1e-8), which over-resolves the target for both.

Compile time is measured apart.  The reference is the batched route at rtol 1e-12 (untimed), and it
agrees with diffrax at rtol 1e-12.  The check: every timed route's losses are within 1e-6
(relative; absolute 1e-12 near L = 0) of the reference on its sample, every grid point of the
batched runs is finite and none diverged.  Exit status 1 when it fails.

    .venv/bin/python benchmarks/bench_batched_flow.py            # full size
    .venv/bin/python benchmarks/bench_batched_flow.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import time

import _common as C  # noqa: I001  (float64, BLAS threads; first)
import jax
import jax.numpy as jnp
import numpy as np

import landscape as ls
from landscape.dynamics.batched_flow import batched_gradient_flow

FULL = dict(n_grid=64, dim=32, t_end=5.0, rtol=1e-8, n_sample=32, n_loop=4, init_scale=0.1, block_size=16, repeats=2)
QUICK = dict(n_grid=3, dim=4, t_end=2.0, rtol=1e-8, n_sample=2, n_loop=1, init_scale=0.1, block_size=4, repeats=1)
REL, ABS = 1e-6, 1e-12
LADDER = (1e-5, 3e-6, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8)  # rtol, loosest first, for the same-accuracy ratio
PICK_MARGIN = 3.0  # a tolerance is picked on sample A at 1/3 of the target, one ladder step, to hold on B


def _grid(cfg: dict, seed: int):
    g = cfg["n_grid"]
    s2, gm = np.meshgrid(np.linspace(0.0, 6.0, g), np.linspace(0.0, 1.5, g), indexing="ij")
    s2, gm = jnp.asarray(s2.ravel()), jnp.asarray(gm.ravel())
    lands = jax.vmap(lambda a, b: C.grid_problem(cfg["dim"], a, b))(s2, gm)
    keys = jax.random.split(jax.random.PRNGKey(seed), g * g)
    w0 = jax.vmap(lambda k: ls.random_init(k, cfg["dim"], cfg["dim"], cfg["init_scale"]))(keys)
    return lands, w0, np.asarray(s2), np.asarray(gm)


def _diffrax_loss(lnd, w, tol, t_end: float):
    return ls.gradient_flow(lnd, w, t1=t_end, n_save=2, rtol=tol, atol=1e-12).loss


# Module-level programs: a second main() in the same process (the smoke test's cli run) reuses them.
_diffrax_one = jax.jit(_diffrax_loss, static_argnums=3)
_diffrax_vmapped = jax.jit(jax.vmap(_diffrax_loss, in_axes=(0, 0, None, None)), static_argnums=3)


def _take(tree, idx):
    return jax.tree_util.tree_map(lambda x: x[idx], tree)


def _loosest(run, ref: np.ndarray, ladder) -> float:
    """The loosest rtol of ``ladder`` (loosest first) whose losses are all within REL / PICK_MARGIN
    of ``ref`` (absolute ABS / PICK_MARGIN near L = 0); the tightest one when none is."""
    for tol in ladder:
        if C.loss_gap(np.asarray(run(tol)), ref, REL / PICK_MARGIN, ABS / PICK_MARGIN)[1].all():
            return tol
    return ladder[-1]


def main(quick: bool = False, seed: int = 0, **overrides) -> dict:
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    info = C.print_machine()
    lands, w0, s2, gm = _grid(cfg, seed)
    n = w0.shape[0]
    t_end, rtol = cfg["t_end"], cfg["rtol"]
    print(f"== gradient flow to t = {t_end}: {cfg['n_grid']}x{cfg['n_grid']} = {n:,} points, d = {cfg['dim']}, float64")

    def batched(lnd, w, tol, devices=None):
        devices = jax.local_devices()[:1] if devices is None else devices
        kw = dict(rtol=tol, atol=1e-12, block_size=cfg["block_size"], devices=devices)
        return batched_gradient_flow(lnd, w, times=[t_end], **kw)

    # Two disjoint samples: A picks each route's tolerance for the accuracy target, B checks it.
    k = min(cfg["n_sample"], n // 2)
    picks = np.random.default_rng(seed).choice(n, size=2 * k, replace=False)
    sample, check = picks[:k], picks[k:]
    both = _take(lands, picks), w0[picks]
    ref_both = np.asarray(batched(*both, 1e-12).loss[:, -1])  # untimed reference
    ref, ref_b = ref_both[:k], ref_both[k:]
    dx_ref = np.asarray(_diffrax_vmapped(*both, 1e-12, t_end))  # the same program, rtol is traced
    sl, sw = _take(lands, sample), w0[sample]
    bl, bw = _take(lands, check), w0[check]
    _, vm_compile = C.compile_time(_diffrax_vmapped, sl, sw, rtol, t_end)

    def timed_batched(tol):
        t0 = time.perf_counter()
        C.block(batched(lands, w0, tol))
        first = time.perf_counter() - t0
        run, out = C.best_time(batched, lands, w0, tol, repeats=cfg["repeats"], warmup=0)
        return first, run, out

    def timed_diffrax(lnd, w, tol):
        vm, loss = C.best_time(_diffrax_vmapped, lnd, w, tol, t_end, repeats=cfg["repeats"])
        loop_idx = np.arange(min(cfg["n_loop"], w.shape[0]))
        C.block(_diffrax_one(_take(lnd, 0), w[0], tol, t_end))
        t0 = time.perf_counter()
        for i in loop_idx:
            C.block(_diffrax_one(_take(lnd, i), w[i], tol, t_end))
        loop = (time.perf_counter() - t0) / len(loop_idx)
        return min(vm / w.shape[0], loop), vm / w.shape[0], loop, np.asarray(loss)

    # Same accuracy: each route at the loosest tolerance that meets the target on sample A.
    tol_b = _loosest(lambda tol: batched(sl, sw, tol).loss[:, -1], ref, LADDER)
    tol_d = _loosest(lambda tol: _diffrax_vmapped(sl, sw, tol, t_end), ref, LADDER)
    first_m, run_m, out_m = timed_batched(tol_b)
    dx_m, _, _, dx_loss_m = timed_diffrax(bl, bw, tol_d)
    ratio_m = dx_m / (run_m / n)
    # Same tolerance: both routes at cfg["rtol"].
    first_s, run_s, out = timed_batched(rtol)
    dx_per, vm_per, loop_per, dx_loss = timed_diffrax(sl, sw, rtol)
    n_dev = len(jax.local_devices())
    all_s = run_s
    if n_dev > 1:
        C.block(batched(lands, w0, tol_b, jax.local_devices()))
        all_s, _ = C.best_time(batched, lands, w0, tol_b, jax.local_devices(), repeats=cfg["repeats"], warmup=0)

    per_point = run_s / n
    ratio = dx_per / per_point
    rel_b, ok_b = C.loss_gap(np.asarray(out.loss[:, -1])[sample], ref, REL, ABS)
    rel_d, ok_d = C.loss_gap(dx_loss, ref, REL, ABS)
    rel_r, ok_r = C.loss_gap(dx_ref, ref_both, REL, ABS)
    rel_bm, ok_bm = C.loss_gap(np.asarray(out_m.loss[:, -1])[check], ref_b, REL, ABS)
    rel_dm, ok_dm = C.loss_gap(dx_loss_m, ref_b, REL, ABS)
    finite = bool(
        np.all(np.isfinite(np.asarray(out.loss)))
        and np.all(np.isfinite(np.asarray(out_m.loss)))
        and np.all(np.isfinite(ref_both))
        and np.isfinite(per_point)
        and np.isfinite(dx_per)
    )
    accurate = ok_b.all() and ok_d.all() and ok_r.all() and ok_bm.all() and ok_dm.all()
    passed = bool(accurate and not np.any(out.diverged) and not np.any(out_m.diverged) and finite)
    steps, steps_m = np.asarray(out.n_steps), np.asarray(out_m.n_steps)
    print(
        f"RATIO batched vs per-point diffrax at the same accuracy ({REL:g} in the loss), time per point, "
        f"one device each: {C.fmt_ratio(ratio_m)} ({C.fmt_s(run_m / n)} at rtol {tol_b:g} vs {C.fmt_s(dx_m)} "
        f"at rtol {tol_d:g}; tolerances picked on {k} points, checked on {k} others)"
    )
    print(
        f"RATIO at the same tolerance (rtol {rtol:g} both): {C.fmt_ratio(ratio)} "
        f"({C.fmt_s(per_point)} vs {C.fmt_s(dx_per)}; diffrax vmapped over {k}: {C.fmt_s(vm_per)}, "
        f"loop of {min(cfg['n_loop'], k)} jitted calls: {C.fmt_s(loop_per)})"
    )
    print(
        f"  on all {n_dev} local devices at rtol {tol_b:g}: batched {C.fmt_s(all_s / n)}/point, "
        f"{C.fmt_ratio(dx_m * n / all_s)} vs per-point diffrax on one"
    )
    print(
        f"  batched: {C.fmt_s(run_s)} at rtol {rtol:g} and {C.fmt_s(run_m)} at {tol_b:g} for {n:,} points (first calls "
        f"incl. compile {C.fmt_s(first_s)}, {C.fmt_s(first_m)}), steps per point {steps.min()}–{steps.max()} "
        f"(mean {steps.mean():.0f}) and {steps_m.min()}–{steps_m.max()} (mean {steps_m.mean():.0f}); "
        f"diffrax vmapped compile {C.fmt_s(vm_compile)}"
    )
    print(
        f"  accuracy vs rtol-1e-12 reference: same tolerance: batched worst {rel_b.max():.2e}, diffrax worst "
        f"{rel_d.max():.2e}; same accuracy (check sample): batched {rel_bm.max():.2e}, diffrax {rel_dm.max():.2e}; "
        f"reference vs diffrax at 1e-12 {rel_r.max():.2e} (tolerance {REL:g})"
    )
    print(f"CHECK batched_flow {'PASS' if passed else 'FAIL'}")
    return dict(
        name="batched_flow",
        config=cfg,
        machine=info,
        run_s=run_s,
        first_call_s=first_s,
        per_point_s=per_point,
        per_point_all_devices_s=all_s / n,
        devices=n_dev,
        diffrax_per_point_s=dx_per,
        diffrax_vmapped_per_point_s=vm_per,
        diffrax_loop_per_point_s=loop_per,
        ratio=ratio,
        ratio_same_accuracy=ratio_m,
        rtol_batched=tol_b,
        rtol_diffrax=tol_d,
        per_point_same_accuracy_s=run_m / n,
        diffrax_per_point_same_accuracy_s=dx_m,
        worst_rel_batched=float(rel_b.max()),
        worst_rel_diffrax=float(rel_d.max()),
        worst_rel_reference=float(rel_r.max()),
        worst_rel_batched_same_accuracy=float(rel_bm.max()),
        worst_rel_diffrax_same_accuracy=float(rel_dm.max()),
        steps_mean=float(steps.mean()),
        finite=finite,
        check_passed=passed,
    )


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-grid", type=int, default=None)
    parser.add_argument("--n-sample", type=int, default=None)
    parser.add_argument(
        "--block-size", type=int, default=None, help="points per while-loop (default 16, for a CPU; a GPU: the grid)"
    )
    args = parser.parse_args(argv)
    pairs = (("n_grid", args.n_grid), ("n_sample", args.n_sample), ("block_size", args.block_size))
    over = {k: v for k, v in pairs if v is not None}
    return 0 if main(quick=args.quick, seed=args.seed, **over)["check_passed"] else 1


if __name__ == "__main__":
    raise SystemExit(cli())
