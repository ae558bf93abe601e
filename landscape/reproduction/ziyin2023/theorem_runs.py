r"""The computations of :mod:`.theorems`: closed forms of :mod:`landscape.theory` and their independent routes.

Every function returns a dict of NumPy arrays (keys prefixed by its section) and runs
inside ``jax.enable_x64``.  The problems are the spec's (§6):

* T1–T5: a = (3, 2, 1.5, 1, 0.5, 0.2), c = (0.5, 2.5, 0.3, 1.2, 0.1, 1.0), d = 6;
* T7, T9: a = (2, 1, 0.6, 0.3, 0.15), c = (0.1, 0.1, 0.5, 0.1, 0.1), d = 5, B = A0;
* T8: d = 10, a_i = 1, augmentation c₁ on direction 1 only, B = A0, c = 1;
* App. C.1 (iv): d = 10, a₁ = 3, a_i = 1 else, augmentation c₁ on direction 1 only, B = A0 − C, c = 1;
* App. C.2: d = 10, a = linspace(2, 0.5), weak isotropic augmentation c_i = 0.02, B = A0 − C, κ = 10.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import landscape as ls
from landscape.theory.stationary_points import stationary_point_from_mask

A6 = np.array([3.0, 2.0, 1.5, 1.0, 0.5, 0.2])
C6 = np.array([0.5, 2.5, 0.3, 1.2, 0.1, 1.0])
C6_OTHER = np.array([2.0, 0.1, 1.5, 0.3, 2.2, 0.05])  # a second augmentation for "rank independent of c"
#: γ and σ² sweeps: between the thresholds a_i (and a_i − c_i), so every rank 6, 5, …, 0 appears once.
SWEEP = np.array([0.1, 0.35, 0.75, 1.25, 1.75, 2.25, 3.5])
A5 = np.array([2.0, 1.0, 0.6, 0.3, 0.15])
C5 = np.array([0.1, 0.1, 0.5, 0.1, 0.1])
T7_ROWS = np.array([[1.0, 1.0], [10.0, 1.0], [10.0, 0.5]])  # (κ, c)
T9_TARGETS = np.array([3.0, 0.6])  # c at κ = 10, with a bias
T8_C1 = np.array([0.2, 0.25, 0.33, 0.4])  # threshold 2/7
C1_A1 = 3.0  # App. C.1 (iv): a₁ of the weak direction
C1_C1 = np.array([0.2, 0.3, 0.45, 0.6, 0.9])  # threshold 0.375 (corrected)
BIAS_A = np.linspace(2.0, 0.5, 10)
BIAS_C = 0.02
BIAS_TARGETS = np.array([1.0, 0.4])  # c = 1 (d_M ≤ 2) and c < min λ_i
BIAS_KAPPA = 10.0
EASIER_S2 = np.linspace(0.05, 1.9, 12)  # σ² sweep of "bias makes collapse easier"
EASIER_TARGET = 3.0
RANK_RTOL = 1e-6  # a trained direction is collapsed below 1e-6 of the largest eigenvalue


def config(quick: bool, smoke: bool = False) -> dict:
    """Steps of the descent runs (the full size converges to ~1e-15; ``smoke`` is far from converged)."""
    if smoke:
        return dict(seeds=1, gd_steps=50, norm_steps=50, hard_steps=50)
    if quick:
        return dict(seeds=2, gd_steps=1500, norm_steps=2000, hard_steps=3000)
    return dict(seeds=4, gd_steps=3000, norm_steps=4000, hard_steps=8000)


def _stack(trees):
    return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *trees)


def _eigs(w) -> np.ndarray:
    """Descending eigenvalues of WᵀW for a stack of W."""
    w = np.asarray(w)
    return np.linalg.eigvalsh(np.swapaxes(w, -1, -2) @ w)[..., ::-1]


def _rank(eigs: np.ndarray) -> np.ndarray:
    top = np.maximum(eigs.max(-1, keepdims=True), 1e-300)
    return (eigs > RANK_RTOL * top).sum(-1)


def _rotated_problem() -> ls.Problem:
    """T5: A0 = Q diag(a) Qᵀ with a fixed random rotation Q, C = diag(c): A0 and C do not commute."""
    q, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(6, 6)))
    return ls.Problem.from_arrays(q @ np.diag(A6) @ q.T, np.diag(C6))


def _landscapes() -> dict:
    """The d = 6 landscapes of Theorem 1 and its consequences, and the label of each group."""
    p = ls.Problem.from_diagonal(A6, C6)
    minus_c = dict(form="paper", beta=0.5)  # β-InfoNCE as the paper states it: B = A0 − C
    groups = {
        "t1": [ls.effective_landscape(p, "infonce")],
        "t2": [ls.effective_landscape(p, "beta-infonce", **minus_c)],
        "t5": [ls.effective_landscape(_rotated_problem(), "beta-infonce", **minus_c)],
        "wd_c": [ls.effective_landscape(p, "infonce", weight_decay=g) for g in SWEEP],
        "wd_c_other": [
            ls.effective_landscape(ls.Problem.from_diagonal(A6, C6_OTHER), "infonce", weight_decay=g) for g in SWEEP
        ],
        "wd_minus_c": [ls.effective_landscape(p, "beta-infonce", weight_decay=g, **minus_c) for g in SWEEP],
        "s2_infonce": [ls.effective_landscape(ls.Problem.from_diagonal(A6, [s] * 6), "infonce") for s in SWEEP],
        "s2_minus_c": [
            ls.effective_landscape(ls.Problem.from_diagonal(A6, [s] * 6), "beta-infonce", **minus_c) for s in SWEEP
        ],
    }
    return groups


def _descend(lands: list, out_dim: int, seeds: int, steps: int, key: int):
    """Nesterov-restart GD from W₀ = 10⁻³·N(0, 1) for every landscape and seed: (eigs, loss, diag WᵀW)."""
    stack = _stack([l for l in lands for _ in range(seeds)])
    n, d = len(lands) * seeds, lands[0].dim
    w0 = 1e-3 * np.random.default_rng(key).normal(size=(n, out_dim, d))
    # every landscape here has Hessian eigenvalues ≤ 4·max b ≤ 12 near its minimum: η = 0.08 is stable
    run = ls.batched_gradient_descent(stack, w0, lr=0.08, steps=steps, nesterov_restart=True)
    w = np.asarray(run.weights)
    gram = np.swapaxes(w, -1, -2) @ w
    shape = (len(lands), seeds)
    return (
        _eigs(w).reshape(shape + (d,)),
        np.asarray(run.loss).reshape(shape),
        np.diagonal(gram, axis1=-2, axis2=-1).reshape(shape + (d,)),
        np.asarray(run.diverged).reshape(shape),
    )


def unnormalized(cfg: dict) -> dict:
    """Theorem 1 (T1, T2, T5), the rank cap (T4), the σ² and γ sweeps: closed form and GD."""
    groups = _landscapes()
    out = {"sweep": SWEEP, "a6": A6, "c6": C6, "c6_other": C6_OTHER}
    names = list(groups)
    flat = [l for g in names for l in groups[g]]
    eigs, loss, diag, diverged = _descend(flat, 6, cfg["seeds"], cfg["gd_steps"], key=1)
    t4 = groups["t1"]  # T4: B = A0 of T1 with d1 = 2
    e4, l4, _, dv4 = _descend(t4, 2, cfg["seeds"], cfg["gd_steps"], key=2)
    start = 0
    for g in names + ["t4"]:
        lands = t4 if g == "t4" else groups[g]
        out_dim = 2 if g == "t4" else 6
        n = len(lands)
        if g == "t4":
            ge, gl, gd_, gdv = e4, l4, None, dv4
        else:
            sl = slice(start, start + n)
            ge, gl, gd_, gdv = eigs[sl], loss[sl], diag[sl], diverged[sl]
            start += n
        cf = _global_minima(_stack(lands), out_dim)
        out[f"{g}_gd_eigs"], out[f"{g}_gd_loss"], out[f"{g}_gd_diverged"] = ge, gl, gdv
        out[f"{g}_gd_rank"] = _rank(ge)
        if gd_ is not None:
            out[f"{g}_gd_diag"] = gd_
        out[f"{g}_cf_eigs"], out[f"{g}_cf_loss"] = np.asarray(cf.gram_eigenvalues), np.asarray(cf.loss)
        out[f"{g}_cf_rank"] = np.asarray(cf.rank)
        out[f"{g}_b_diag"] = np.stack([np.diagonal(np.asarray(l.b_eff)) for l in lands])
        # m = number of positive eigenvalues of Σ^{-1/2}(B − γI)Σ^{-1/2} (Prop. 1's m)
        out[f"{g}_m"] = np.sum(np.asarray(cf.whitened_eigenvalues) > 0, axis=-1)
    return out


@functools.partial(jax.jit, static_argnums=1)
def _global_minima(stack, out_dim: int):
    return jax.vmap(lambda land: ls.global_minimum(land, out_dim))(stack)


@functools.partial(jax.jit, static_argnums=2)
def _points(land, masks: jax.Array, out_dim: int):
    """The stationary point of each mask (Theorem 1), its largest |∇L| and its smallest Hessian eigenvalue.

    The Hessian is autodiff's; its smallest eigenvalue is reported relative to the largest |eigenvalue|.
    """

    def one(mask):
        sol = stationary_point_from_mask(land, mask, out_dim)
        w = sol.weights
        grad = jnp.max(jnp.abs(ls.gradient(land, w)))
        h = jax.hessian(lambda v: ls.loss(land, v.reshape(w.shape)))(w.ravel())
        e = jnp.linalg.eigvalsh(h)
        return sol, grad, e[0] / jnp.max(jnp.abs(e))

    return jax.vmap(one)(masks)


def enumeration(cfg: dict | None = None) -> dict:
    """Every stationary point of T1, T2, T4 (d1 = 2) and T5: |∇L|, rank, loss, local-minimum test.

    Theorem 1's points are one per mask of kept whitened eigen-directions; a mask is a
    stationary point when it keeps only positive eigenvalues and at most d1 of them
    (as :func:`landscape.stationary_points` enumerates them).  All 2⁶ masks are
    evaluated in one compiled batch and the admissible ones kept.
    """
    groups = _landscapes()
    cases = {
        "t1": (groups["t1"][0], 6),
        "t2": (groups["t2"][0], 6),
        "t4": (groups["t1"][0], 2),
        "t5": (groups["t5"][0], 6),
    }
    masks = ((np.arange(64)[:, None] >> np.arange(6)[None, :]) & 1) > 0
    out = {}
    for g, (land, out_dim) in cases.items():
        sol, grad, hmin = _points(land, jnp.asarray(masks), out_dim)
        positive = np.asarray(sol.whitened_eigenvalues[0]) > 0
        ok = ~np.any(masks & ~positive[None, :], axis=1) & (masks.sum(1) <= out_dim)
        out[f"enum_{g}_grad"] = np.asarray(grad)[ok]
        out[f"enum_{g}_rank"] = np.asarray(sol.rank)[ok]
        out[f"enum_{g}_loss"] = np.asarray(sol.loss)[ok]
        out[f"enum_{g}_hess_min"] = np.asarray(hmin)[ok]
        out[f"enum_{g}_m"] = np.array(int(positive.sum()))
        out[f"enum_{g}_out_dim"] = np.array(out_dim)
    return out


def _normalized_runs(nls: list, w0, b0, steps: int, lr: float, hard: bool) -> dict:
    """:func:`landscape.normalized_gradient_descent` on each landscape, one compiled batch.

    Penalised (finite κ): Nesterov with adaptive restart (:func:`landscape.nesterov_restart`), which
    needs no knowledge of the curvature (κ = 10, c = 3 makes it ~10⁴ times larger along ρ than
    along a weak direction); hard (projected) runs: heavy ball, momentum 0.9.

    Returns NumPy arrays: ``gram`` (WᵀW), ``eigs`` (descending), ``bias_sq`` (‖b‖²), ``rho``, ``loss``,
    ``diverged``.  A run started with b = 0 keeps b = 0 (∂L/∂b ∝ b): it is the model without a bias.
    """

    def one(nl, w, b):
        opt = optax.sgd(lr, momentum=0.9) if hard else ls.nesterov_restart(lr)
        run = ls.normalized_gradient_descent(nl, w, optimizer=opt, steps=steps, bias0=b, hard=hard, save_every=steps)
        return run.weights, run.bias, run.loss, run.rho, run.diverged

    w, b, loss, rho, dv = [np.asarray(x) for x in jax.jit(jax.vmap(one))(_stack(nls), jnp.asarray(w0), jnp.asarray(b0))]
    gram = np.swapaxes(w, 1, 2) @ w
    return dict(gram=gram, eigs=_eigs(w), bias_sq=np.sum(b * b, -1), rho=rho, loss=loss, diverged=dv)


def _nl(problem, loss="infonce", kappa=1.0, c=1.0, **kw):
    return ls.normalized_landscape(ls.effective_landscape(problem, loss, **kw), kappa=kappa, norm_target=c)


def _diag(gram: np.ndarray) -> np.ndarray:
    return np.diagonal(gram, axis1=-2, axis2=-1)


def normalization_and_bias(cfg: dict) -> dict:
    """Finite κ on d = 5 in one batch: T7 (no bias), T9 (with a bias), the σ² sweep with and without a bias.

    The σ² sweep: B = A0 − σ²I on the T7 data variances, κ = 10, c = 3 (Theorem 2's b ≠ 0 branch
    is open when the unnormalized ρ₀ ≤ c).
    """
    p5 = ls.Problem.from_diagonal(A5, C5)
    t7 = [_nl(p5, kappa=k, c=c) for k, c in T7_ROWS]
    t9 = [_nl(p5, kappa=BIAS_KAPPA, c=c) for c in T9_TARGETS]
    sweep = [
        _nl(
            ls.Problem.from_diagonal(A5, [s] * 5),
            "beta-infonce",
            kappa=BIAS_KAPPA,
            c=EASIER_TARGET,
            form="paper",
            beta=0.5,
        )
        for s in EASIER_S2
    ]
    nls = t7 + t9 + sweep + sweep
    rng = np.random.default_rng(7)
    w0 = 1e-2 * rng.normal(size=(len(nls), 5, 5))
    b0 = 1e-2 * rng.normal(size=(len(nls), 5))
    n7, n9, ns = len(t7), len(t9), len(sweep)
    with_bias = np.zeros(len(nls), bool)
    with_bias[n7 : n7 + n9 + ns] = True
    b0[~with_bias] = 0.0
    r = _normalized_runs(nls, w0, b0, cfg["norm_steps"], 0.002, False)
    i7, i9, ib, ip = (slice(0, n7), slice(n7, n7 + n9), slice(n7 + n9, n7 + n9 + ns), slice(n7 + n9 + ns, None))
    cf7 = [ls.normalized_global_minimum(nl, 5) for nl in t7]
    cf9 = [ls.bias_global_minimum(nl, 5) for nl in t9]
    cfb = [ls.bias_global_minimum(nl, 5) for nl in sweep]
    out = dict(
        t7_rows=T7_ROWS, a5=A5, c5=C5, t9_targets=T9_TARGETS, easier_s2=EASIER_S2, finite_gd_diverged=r["diverged"]
    )
    out.update(
        t7_gd_diag=_diag(r["gram"][i7]),
        t7_gd_loss=r["loss"][i7],
        t7_gd_rho=r["rho"][i7],
        t7_gd_rank=_rank(r["eigs"][i7]),
        t7_cf_diag=np.stack([_diag(np.asarray(s.gram)) for s in cf7]),
        t7_cf_loss=np.array([float(s.loss) for s in cf7]),
        t7_cf_rho=np.array([float(s.rho) for s in cf7]),
        t7_cf_rank=np.array([int(s.rank) for s in cf7]),
    )
    out.update(
        t9_gd_eigs=r["eigs"][i9],
        t9_gd_rho=r["rho"][i9],
        t9_gd_bias_sq=r["bias_sq"][i9],
        t9_cf_eigs=np.stack([np.asarray(s.gram_eigenvalues) for s in cf9]),
        t9_cf_rho=np.array([float(s.rho) for s in cf9]),
        t9_cf_bias_sq=np.array([float(s.bias_norm_sq) for s in cf9]),
        t9_unnormalized_eigs=np.asarray(ls.global_minimum(t9[0].base, 5).gram_eigenvalues),
    )
    out.update(
        easier_gd_rank_bias=_rank(r["eigs"][ib]),
        easier_gd_rank_plain=_rank(r["eigs"][ip]),
        easier_gd_bias_sq=r["bias_sq"][ib],
        easier_cf_rank_bias=np.array([int(s.rank) for s in cfb]),
        easier_cf_bias_sq=np.array([float(s.bias_norm_sq) for s in cfb]),
        easier_cf_rank_plain=np.array([int(ls.normalized_global_minimum(nl, 5).rank) for nl in sweep]),
    )
    return out


def hard_normalization(cfg: dict) -> dict:
    """κ → ∞ on d = 10 in one batch: T8 (B = A0, c₁ threshold 2/7), App. C.1 (iv) (B = A0 − C, a₁ = 3).

    Projected GD on ρ = c = 1; "direction 1 kept" is read from WᵀW along e₁ relative to the
    largest diagonal entry.  Then the T7 problem's κ → ∞ row (Eq. WS-8, d = 5).
    """
    a10 = np.ones(10)
    a_c1 = np.r_[C1_A1, np.ones(9)]
    nls = [_nl(ls.Problem.from_diagonal(a10, np.r_[c1, np.zeros(9)]), kappa=0.0) for c1 in T8_C1] + [
        _nl(ls.Problem.from_diagonal(a_c1, np.r_[c1, np.zeros(9)]), "beta-infonce", kappa=0.0, form="paper", beta=0.5)
        for c1 in C1_C1
    ]
    w0 = 1e-2 * np.random.default_rng(8).normal(size=(len(nls), 10, 10))
    r = _normalized_runs(nls, w0, np.zeros((len(nls), 10)), cfg["hard_steps"], 0.05, True)
    diag = _diag(r["gram"])
    frac = diag[:, 0] / diag.max(1)  # WᵀW along direction 1, relative to the largest
    cf = np.array([float(ls.hard_normalization_limit(nl, 10).gram[0, 0]) for nl in nls])
    n8 = len(T8_C1)
    grid = np.linspace(0.0, 1.0, 41)
    grid_dir1 = [
        [
            float(
                ls.hard_normalization_limit(
                    _nl(ls.Problem.from_diagonal(a, np.r_[c1, np.zeros(9)]), loss, kappa=0.0, **kw), 10
                ).gram[0, 0]
            )
            for c1 in grid
        ]
        for a, loss, kw in ((a10, "infonce", {}), (a_c1, "beta-infonce", dict(form="paper", beta=0.5)))
    ]
    th = ls.hard_collapse_thresholds(ls.Problem.from_diagonal(a10, 0.0), aug_direction_weights=[1.0] + [0.0] * 9)
    out = dict(
        t8_c1=T8_C1,
        t8_gd_frac=frac[:n8],
        t8_gd_dir1=diag[:n8, 0],
        c1_gd_dir1=diag[n8:, 0],
        t8_gd_rho=r["rho"][:n8],
        t8_cf_dir1=cf[:n8],
        t8_threshold=np.array(float(th.collapse[0])),
        c1_c1=C1_C1,
        threshold_grid=grid,
        t8_grid_dir1=np.array(grid_dir1[0]),
        c1_grid_dir1=np.array(grid_dir1[1]),
        c1_a1=np.array(C1_A1),
        c1_gd_frac=frac[n8:],
        c1_gd_rho=r["rho"][n8:],
        c1_cf_dir1=cf[n8:],
        hard_gd_diverged=r["diverged"],
    )
    # the T7 problem at κ → ∞ (Eq. WS-8), c = 1: projected GD against the limit and the κ = 10⁴ closed form
    p5 = ls.Problem.from_diagonal(A5, C5)
    hard = _nl(p5, kappa=0.0, c=1.0)
    rh = _normalized_runs(
        [hard], 1e-2 * np.random.default_rng(5).normal(size=(1, 5, 5)), np.zeros((1, 5)), cfg["hard_steps"], 0.05, True
    )
    out.update(
        hard_gd_diag=_diag(rh["gram"][0]),
        hard_gd_rho=rh["rho"][0],
        hard_cf_diag=_diag(np.asarray(ls.hard_normalization_limit(hard, 5).gram)),
        hard_kappa1e4_diag=_diag(np.asarray(ls.normalized_global_minimum(_nl(p5, kappa=1e4), 5).gram)),
    )
    return out


def weak_augmentation(cfg: dict) -> dict:
    """App. C.2 at weak augmentation: the b ≠ 0 branch (enumerated) against the global minimum (closed form, GD)."""
    p = ls.Problem.from_diagonal(BIAS_A, [BIAS_C] * 10)
    nls = [_nl(p, "beta-infonce", kappa=BIAS_KAPPA, c=c, form="paper", beta=0.5) for c in BIAS_TARGETS]
    out = {
        "weak_targets": BIAS_TARGETS,
        "weak_a": BIAS_A,
        "weak_c": np.array(BIAS_C),
        "weak_lambda": (BIAS_A - BIAS_C) / (BIAS_A + BIAS_C),
    }
    max_dm, n_branch, cf_rank, cf_bias = [], [], [], []
    for nl in nls:
        pts = ls.bias_stationary_points(nl, 10)
        branch = np.asarray(pts.bias_norm_sq) > 0
        max_dm.append(int(np.max(np.asarray(pts.rank)[branch])))
        n_branch.append(int(branch.sum()))
        g = ls.bias_global_minimum(nl, 10)
        cf_rank.append(int(g.rank))
        cf_bias.append(float(g.bias_norm_sq))
    out.update(
        weak_branch_max_rank=np.array(max_dm),
        weak_branch_count=np.array(n_branch),
        weak_cf_rank=np.array(cf_rank),
        weak_cf_bias_sq=np.array(cf_bias),
    )
    # GD from a small random (W, b), and from next to complete collapse (W = 10⁻³·N, b = √c·e₁)
    n = len(nls)
    rng = np.random.default_rng(9)
    w0 = 1e-3 * rng.normal(size=(2 * n, 10, 10))
    b0 = np.zeros((2 * n, 10))
    b0[:n] = 1e-2 * rng.normal(size=(n, 10))
    b0[n:, 0] = np.sqrt(BIAS_TARGETS)
    r = _normalized_runs(nls + nls, w0, b0, cfg["norm_steps"], 0.002, False)
    out.update(
        weak_gd_rank=_rank(r["eigs"]).reshape(2, n),
        weak_gd_bias_sq=r["bias_sq"].reshape(2, n),
        weak_gd_rho=r["rho"].reshape(2, n),
        weak_gd_diverged=r["diverged"],
    )
    out["weak_collapse_hess_min"] = np.array([float(_collapse_hessian_min(nl)) for nl in nls])
    out["weak_b_max"] = np.array(float(np.max(BIAS_A - BIAS_C)))
    return out


@jax.jit
def _collapse_hessian_min(nl) -> jax.Array:
    """Smallest eigenvalue of the autodiff Hessian of L(W, b) at complete collapse W = 0, b = √c·e₁."""
    d = nl.dim
    b_star = jnp.zeros(d).at[0].set(jnp.sqrt(nl.norm_target))
    f = lambda v: ls.biased_loss(nl, v[: d * d].reshape(d, d), v[d * d :])
    return jnp.linalg.eigvalsh(jax.hessian(f)(jnp.concatenate([jnp.zeros(d * d), b_star])))[0]


@jax.jit
def _eq39(w, sigma):
    rho_fn = lambda v: jnp.trace(v @ sigma @ v.T)
    rho = rho_fn(w)
    g_rho, g_rho2 = jax.grad(rho_fn)(w), jax.grad(lambda v: rho_fn(v) ** 2)(w)
    rel = lambda x, y: jnp.linalg.norm(x - y) / jnp.linalg.norm(y)
    return rho, rel(g_rho, 4 * rho * w @ sigma), rel(g_rho, 2 * w @ sigma), rel(g_rho2, 4 * rho * w @ sigma)


def errata(cfg: dict | None = None) -> dict:
    """WS Eq. 39 "dρ/dW = 4ρWΣ": the autodiff gradients of ρ and ρ² at a random W against 2WΣ and 4ρWΣ."""
    w = 0.3 * np.random.default_rng(39).normal(size=(5, 5))
    rho, paper, right, rho2 = [np.array(float(x)) for x in _eq39(jnp.asarray(w), jnp.diag(jnp.asarray(A5 + C5)))]
    return dict(
        eq39_rho=rho, eq39_grad_rho_vs_paper=paper, eq39_grad_rho_vs_2wsigma=right, eq39_grad_rho2_vs_paper=rho2
    )
