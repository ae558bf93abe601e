"""Gradient flow of a whole (σ², γ) grid to a fixed time: the batched integrator against per-point diffrax.

The grid of ``_common.grid_problem`` (default 64 × 64 = 4,096 points, d = 32, β-InfoNCE,
σ² ∈ [0, 6], γ ∈ [0, 1.5]), every point started from its own ``random_init`` (scale 0.1,
d1 = d0 = 32) and integrated to t = ``t_end``, in float64.  The quantity is the loss L(W(t_end)).

Routes, both at rtol = ``rtol``, atol = 1e-12, one XLA CPU device (one core) each:

* ``batched``  ``batched_gradient_flow`` (Dormand–Prince 5(4), every point its own adaptive step,
               ``block_size`` points per while-loop; the grid's B and Σ are diagonal, so it takes
               its column-scaling kernel) on every grid point, on one device; and again split
               over all local devices (one per core when run as a program), reported apart;
* ``diffrax``  ``gradient_flow`` (diffrax Tsit5 + PID controller; the library's present route)
               on a random sample of ``n_sample`` grid points, best of: vmapped over the sample
               (one program) and a loop of one jitted call per point; extrapolated per point.

The like-for-like ratio is diffrax's time per point over the batched route's time per point, both
on one device.
Compile time is measured apart.  The accuracy check, on the sample points: both routes' losses are
within 1e-6 (relative; absolute 1e-12 near L = 0) of a reference integration at rtol 1e-12 (the
batched route itself, untimed), and the reference agrees with diffrax at rtol 1e-12; every grid
point of the batched run is finite and none diverged.  Exit status 1 when it fails.

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

    t0 = time.perf_counter()
    C.block(batched(lands, w0, rtol))
    first_s = time.perf_counter() - t0
    run_s, out = C.best_time(batched, lands, w0, rtol, repeats=cfg["repeats"], warmup=0)
    n_dev = len(jax.local_devices())
    all_s = run_s
    if n_dev > 1:
        C.block(batched(lands, w0, rtol, jax.local_devices()))
        all_s, _ = C.best_time(batched, lands, w0, rtol, jax.local_devices(), repeats=cfg["repeats"], warmup=0)
    sample = np.random.default_rng(seed).choice(n, size=min(cfg["n_sample"], n), replace=False)
    sl, sw = _take(lands, sample), w0[sample]
    ref = batched(sl, sw, 1e-12)

    _, vm_compile = C.compile_time(_diffrax_vmapped, sl, sw, rtol, t_end)
    vm_s, dx_loss = C.best_time(_diffrax_vmapped, sl, sw, rtol, t_end, repeats=cfg["repeats"])
    vm_per = vm_s / len(sample)
    loop_idx = sample[: cfg["n_loop"]]
    C.block(_diffrax_one(_take(lands, loop_idx[0]), w0[loop_idx[0]], rtol, t_end))
    t0 = time.perf_counter()
    for i in loop_idx:
        C.block(_diffrax_one(_take(lands, i), w0[i], rtol, t_end))
    loop_per = (time.perf_counter() - t0) / len(loop_idx)
    dx_ref = np.asarray(_diffrax_vmapped(sl, sw, 1e-12, t_end))  # the same program, rtol is traced

    per_point = run_s / n
    dx_per = min(vm_per, loop_per)
    ratio = dx_per / per_point
    ref_loss = np.asarray(ref.loss[:, -1])
    rel_b, ok_b = C.loss_gap(np.asarray(out.loss[:, -1])[sample], ref_loss, REL, ABS)
    rel_d, ok_d = C.loss_gap(dx_loss, ref_loss, REL, ABS)
    rel_r, ok_r = C.loss_gap(dx_ref, ref_loss, REL, ABS)
    finite = bool(
        np.all(np.isfinite(np.asarray(out.loss)))
        and np.all(np.isfinite(ref_loss))
        and np.isfinite(per_point)
        and np.isfinite(dx_per)
    )
    passed = bool(ok_b.all() and ok_d.all() and ok_r.all() and not np.any(out.diverged) and finite)
    steps = np.asarray(out.n_steps)
    print(
        f"RATIO batched vs per-point diffrax, time per point: {C.fmt_ratio(ratio)} "
        f"({C.fmt_s(per_point)} vs {C.fmt_s(dx_per)}; diffrax vmapped over {len(sample)}: {C.fmt_s(vm_per)}, "
        f"loop of {len(loop_idx)} jitted calls: {C.fmt_s(loop_per)})"
    )
    print(
        f"  on all {n_dev} local devices: batched {C.fmt_s(all_s / n)}/point, {C.fmt_ratio(dx_per * n / all_s)} "
        f"vs per-point diffrax on one"
    )
    print(
        f"  batched: {C.fmt_s(run_s)} for {n:,} points (first call incl. compile {C.fmt_s(first_s)}), "
        f"steps per point {steps.min()}–{steps.max()} (mean {steps.mean():.0f}), rejected {int(out.n_rejected.sum())}; "
        f"diffrax vmapped compile {C.fmt_s(vm_compile)}"
    )
    print(
        f"  accuracy vs rtol-1e-12 reference: batched worst {rel_b.max():.2e}, diffrax worst {rel_d.max():.2e}, "
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
        worst_rel_batched=float(rel_b.max()),
        worst_rel_diffrax=float(rel_d.max()),
        worst_rel_reference=float(rel_r.max()),
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
    args = parser.parse_args(argv)
    over = {k: v for k, v in (("n_grid", args.n_grid), ("n_sample", args.n_sample)) if v is not None}
    return 0 if main(quick=args.quick, seed=args.seed, **over)["check_passed"] else 1


if __name__ == "__main__":
    raise SystemExit(cli())
