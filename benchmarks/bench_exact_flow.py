"""The exact (closed-form) gradient flow of a whole (σ², γ) grid at many times, against the alternatives.

The grid of ``_common.grid_problem`` (default 64 × 64 = 4,096 points, d = 32, β-InfoNCE, σ² ∈ [0, 6],
γ ∈ [0, 1.5]): A0 diagonal and C = σ²I, so B and Σ are diagonal and W₀ = diag(w) (|w_i| random,
scale ``init_scale``) is aligned: each direction follows its logistic equation.  Quantity: the
descending Gram spectrum and the loss at ``n_times`` times in [0, ``t_end``], float64.

Routes:

* ``exact``    ``aligned_states`` (closed form, spectrum sorted by a sorting network) over the
               grid's ``Directions`` in chunks of 64 points, jitted, one device; points per second
               for all ``n_times`` times (also reported for one vmap over all points);
* ``jnp.sort`` the same chunks with the spectrum sorted by ``jnp.sort`` (the previous code; same run);
* ``batched``  ``batched_gradient_flow`` saving at the same times (rtol 1e-8), on a random sample
               of ``n_sample`` points, per point extrapolated;
* ``trajectory`` one ``trajectory(land, w0)(t)`` call per point (the per-point interface: checks the
               case, builds and jits the closed form), a loop over ``n_loop`` points.

Check: the two sorts agree exactly; on the sample, the exact spectra and losses agree with the
batched integrator at rtol 1e-12 to 1e-7 relative (absolute 1e-12).  Exit status 1 when it fails.

    .venv/bin/python benchmarks/bench_exact_flow.py            # full size
    .venv/bin/python benchmarks/bench_exact_flow.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import time

import _common as C  # noqa: I001  (float64, BLAS threads; first)
import jax
import jax.numpy as jnp
import numpy as np

from landscape.dynamics.batched_flow import batched_gradient_flow
from landscape.dynamics.trajectory import trajectory
from landscape.theory.exact_flow import Directions, aligned_state, aligned_states, direction_loss, logistic_gram

FULL = dict(n_grid=64, dim=32, n_times=100, t_end=5.0, init_scale=0.1, n_sample=16, n_loop=8, repeats=3)
QUICK = dict(n_grid=3, dim=4, n_times=5, t_end=2.0, init_scale=0.1, n_sample=2, n_loop=1, repeats=1)
REL, ABS = 1e-7, 1e-12
CHUNK = 64  # points per chunk of the exact route (aligned_states)


def _grid(cfg: dict, seed: int):
    g, d = cfg["n_grid"], cfg["dim"]
    s2, gm = np.meshgrid(np.linspace(0.0, 6.0, g), np.linspace(0.0, 1.5, g), indexing="ij")
    lands = jax.vmap(lambda a, b: C.grid_problem(d, a, b))(jnp.asarray(s2.ravel()), jnp.asarray(gm.ravel()))
    w = cfg["init_scale"] * np.abs(np.random.default_rng(seed).normal(size=(g * g, d))) / np.sqrt(d)
    w0 = jax.vmap(jnp.diag)(jnp.asarray(w))
    return lands, w0


def directions(lands, w0) -> Directions:
    """The grid's decoupled directions: B, Σ and W₀ᵀW₀ are diagonal, so u_i = e_i."""

    def one(land, w):
        d = land.dim
        return Directions(
            basis=jnp.eye(d, dtype=w.dtype),
            rate=jnp.diagonal(land.b_eff),
            sigma=jnp.diagonal(land.sigma),
            gram0=jnp.sum(w * w, axis=0),
            quartic=land.quartic,
        )

    return jax.vmap(one)(lands, w0)


@jax.jit
def exact_states(lands, w0, t):
    return aligned_states(directions(lands, w0), t, chunk=CHUNK)


@jax.jit
def exact_states_one_vmap(lands, w0, t):
    return jax.vmap(lambda dirs: aligned_state(dirs, t))(directions(lands, w0))


@jax.jit
def exact_states_jnp_sort(lands, w0, t):
    def one(d):
        lam = logistic_gram(d.gram0, d.rate, d.sigma, d.quartic, t[..., None])
        return -jnp.sort(-lam, axis=-1), direction_loss(lam, d.rate, d.sigma, d.quartic)

    return jax.lax.map(one, directions(lands, w0), batch_size=CHUNK)


def _take(tree, idx):
    return jax.tree_util.tree_map(lambda x: x[idx], tree)


def main(quick: bool = False, seed: int = 0, **overrides) -> dict:
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    info = C.print_machine()
    lands, w0 = _grid(cfg, seed)
    n = w0.shape[0]
    t = jnp.linspace(0.0, cfg["t_end"], cfg["n_times"])
    print(f"== exact flow at {cfg['n_times']} times: {n:,} aligned points, d = {cfg['dim']}, float64")
    _, compile_s = C.compile_time(exact_states, lands, w0, t)
    exact_s, ex = C.best_time(exact_states, lands, w0, t, repeats=cfg["repeats"])
    vmap_s, _ = C.best_time(exact_states_one_vmap, lands, w0, t, repeats=cfg["repeats"])
    sort_s, (eig_sort, loss_sort) = C.best_time(exact_states_jnp_sort, lands, w0, t, repeats=cfg["repeats"])
    same_sort = bool(np.array_equal(np.asarray(ex.gram_eigenvalues), np.asarray(eig_sort)))
    same_sort &= bool(np.array_equal(np.asarray(ex.loss), np.asarray(loss_sort)))

    sample = np.random.default_rng(seed).choice(n, size=min(cfg["n_sample"], n), replace=False)
    sl, sw = _take(lands, sample), w0[sample]
    times = np.asarray(t)

    def batched(tol):
        return batched_gradient_flow(sl, sw, times=times, rtol=tol, atol=1e-12, devices=jax.local_devices()[:1])

    C.block(batched(1e-8))
    batched_s, _ = C.best_time(batched, 1e-8, repeats=1, warmup=0)
    ref = batched(1e-12)
    loop_idx = sample[: cfg["n_loop"]]
    t0 = time.perf_counter()
    for i in loop_idx:
        C.block(trajectory(_take(lands, i), w0[i], method="exact")(t))
    traj_per = (time.perf_counter() - t0) / len(loop_idx)

    rel_l, ok_l = C.loss_gap(np.asarray(ex.loss)[sample], np.asarray(ref.loss), REL, ABS)
    rel_e, ok_e = C.loss_gap(np.asarray(ex.gram_eigenvalues)[sample], np.asarray(ref.gram_eigenvalues), REL, ABS)
    finite = bool(np.all(np.isfinite(np.asarray(ex.loss))) and np.all(np.isfinite(np.asarray(ex.gram_eigenvalues))))
    passed = bool(same_sort and ok_l.all() and ok_e.all() and finite and not np.any(ref.diverged))
    rate = n / exact_s
    batched_per = batched_s / len(sample)
    print(
        f"RATE exact route: {rate:,.0f} points/s for {cfg['n_times']} times ({C.fmt_s(exact_s)} for {n:,} points; "
        f"compile {C.fmt_s(compile_s)}; chunks of {CHUNK}, one device); with jnp.sort {n / sort_s:,.0f} points/s "
        f"({C.fmt_ratio(sort_s / exact_s)} slower); one vmap over all points {n / vmap_s:,.0f} points/s"
    )
    print(
        f"  vs batched integrator {C.fmt_s(batched_per)}/point ({C.fmt_ratio(batched_per * rate)}), "
        f"per-point trajectory() {C.fmt_s(traj_per)}/point ({C.fmt_ratio(traj_per * rate)})"
    )
    print(
        f"  agreement with the integrator at rtol 1e-12: loss worst {rel_l.max():.2e}, spectrum worst "
        f"{rel_e.max():.2e} (tolerance {REL:g}); sorting network == jnp.sort: {same_sort}"
    )
    print(f"CHECK exact_flow {'PASS' if passed else 'FAIL'}")
    return dict(
        name="exact_flow",
        config=cfg,
        machine=info,
        points_per_s=rate,
        points_per_s_jnp_sort=n / sort_s,
        points_per_s_one_vmap=n / vmap_s,
        exact_s=exact_s,
        compile_s=compile_s,
        batched_per_point_s=batched_per,
        trajectory_per_point_s=traj_per,
        worst_rel_loss=float(rel_l.max()),
        worst_rel_spectrum=float(rel_e.max()),
        same_sort=same_sort,
        finite=finite,
        check_passed=passed,
    )


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-grid", type=int, default=None)
    args = parser.parse_args(argv)
    over = {} if args.n_grid is None else {"n_grid": args.n_grid}
    return 0 if main(quick=args.quick, seed=args.seed, **over)["check_passed"] else 1


if __name__ == "__main__":
    raise SystemExit(cli())
