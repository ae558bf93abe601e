r"""Cover's counts and the worst-case probe risk W_n: why the dimension must reach C − 1 (Dubois et al. §2, §4).

Panels:

* (C, d) map of the fraction of binary invariant tasks a linear probe can solve,
  2·Σ_{k≤d} binom(C−1, k) / 2^C (Cover), with the line d = C − 1; circles are
  brute-force counts (one LP per dichotomy) on random codes, coloured on the
  same scale;
* T3: the same fraction for the class codes that linear ISSL (log-loss, weight
  decay, gradient descent) learns, against d across C − 1, beside Cover's curve;
* (n, C) map of W_n = (1 − 1/C)^n for invariant simplex codes: coarser
  equivalence classes (smaller C) need fewer samples;
* W_n against n for a few C: closed form, and Monte Carlo by linear programs for
  invariant codes and for non-invariant codes (each class split over 2 codes),
  whose closed form is the same law with 2C sub-classes.

Usage::

    python figures/fig_cover_wn.py            # full run (about a minute)
    python figures/fig_cover_wn.py --quick    # seconds
    python figures/fig_cover_wn.py --smoke    # tiny sizes (the test suite's run)
    python figures/fig_cover_wn.py --plot-only out/figures/fig_cover_wn.npz
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

NAME = "fig_cover_wn"


def compute(quick: bool = False, smoke: bool = False) -> dict:
    """Cover map + LP points, the T3 sweep, the W_n map and Monte Carlo curves.

    ``smoke``: C ≤ 4 LP points, a C = 4 sweep of 100 steps, 3 Monte Carlo trials (every array, tiny).
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    from landscape.studies import idealized as ideal

    rng = np.random.default_rng(0)
    c_grid = np.arange(2, 17)
    d_grid = np.arange(1, 17)
    frac = ideal.cover_fraction(c_grid[:, None], d_grid[None, :])
    lp_points = [(c, d) for c in range(3, 5 if smoke else 7 if quick else 10) for d in range(1, c)]
    lp_frac = np.array([ideal.count_separable_dichotomies(rng.normal(size=(c, d))) / 2**c for c, d in lp_points])

    c_t3, dim, r = (4, 8, 2) if smoke else (6, 12, 3)
    dims = list(range(c_t3 - 2, c_t3 + 1)) if smoke else list(range(c_t3 - 4, c_t3 + 3))
    data = ideal.issl_data(jax.random.PRNGKey(1), c_t3, dim, r)
    steps = 100 if smoke else 3000 if quick else 8000
    runs = ideal.linear_issl_sweep(data, dims, key=jax.random.PRNGKey(2), steps=steps, n_save=8)
    t3_frac, t3_rank, t3_avf, t3_ideal = [], [], [], []
    for i, d in enumerate(dims):
        w = np.asarray(runs.encoder[i])
        codes = np.asarray(data.prototypes) @ w.T
        t3_frac.append(ideal.count_separable_dichotomies(codes[:, :d]) / 2**c_t3)
        t3_rank.append(int(runs.centred_rank[i, -1]))
        t3_avf.append(float(runs.avf[i, -1]))
        t3_ideal.append(ideal.verify_ideal(np.asarray(data.inputs) @ w.T, np.asarray(data.labels), tol=1e-3).ideal)

    n_grid = np.unique(np.geomspace(1, 3000, 60).astype(int))
    c_w = np.unique(np.geomspace(2, 1000, 50).astype(int))
    wn = np.asarray(ideal.worst_case_risk_uniform(c_w[:, None].astype(float), n_grid[None, :].astype(float)))
    c_curves = np.array([3, 4]) if smoke else np.array([3, 4, 6])
    n_mc = np.array([1, 2]) if smoke else np.array([1, 2, 4, 8]) if quick else np.array([1, 2, 3, 4, 6, 8, 12])
    trials = 3 if smoke else 40 if quick else 200
    mc_inv = np.array([[ideal.worst_case_risk_monte_carlo(np.eye(c), np.arange(c), n, n_trials=trials, seed=int(n))
                        for n in n_mc] for c in c_curves])
    mc_non = np.array([[ideal.worst_case_risk_monte_carlo(np.eye(2 * c), np.repeat(np.arange(c), 2), n,
                                                          n_trials=trials, seed=int(n)) for n in n_mc]
                       for c in c_curves])
    return dict(c_grid=c_grid, d_grid=d_grid, cover_fraction=frac, lp_c=np.array([p[0] for p in lp_points]),
                lp_d=np.array([p[1] for p in lp_points]), lp_fraction=lp_frac,
                t3_classes=np.array(c_t3), t3_dims=np.array(dims), t3_fraction=np.array(t3_frac),
                t3_cover_d=np.arange(1, c_t3 + 3), t3_cover=ideal.cover_fraction(c_t3, np.arange(1, c_t3 + 3)),
                t3_rank=np.array(t3_rank), t3_avf=np.array(t3_avf), t3_ideal=np.array(t3_ideal),
                n_grid=n_grid, c_w=c_w, wn=wn, c_curves=c_curves, n_mc=n_mc, mc_invariant=mc_inv,
                mc_noninvariant=mc_non, mc_trials=np.array(trials))


def render(data: dict):
    """Four panels: Cover map, T3 sweep, W_n map, W_n curves with Monte Carlo."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(1, 4, figsize=(19, 4.3))
    ax = axes[0]
    c, d = data["c_grid"], data["d_grid"]
    im = ax.pcolormesh(d, c, data["cover_fraction"], cmap="viridis", vmin=0, vmax=1, shading="nearest")
    ax.plot(c - 1, c, "w--", lw=1.2, label="d = C − 1")
    ax.scatter(data["lp_d"], data["lp_c"], c=data["lp_fraction"], cmap="viridis", vmin=0, vmax=1, s=60,
               marker="D", edgecolors="r", linewidths=0.9, label="LP count, random codes")
    ax.set(xlabel="representation dimension d", ylabel="number of classes C", title="solvable binary tasks (Cover)")
    ax.legend(fontsize=7, loc="lower right")
    fig.colorbar(im, ax=ax, label="fraction of 2^C dichotomies")

    ax = axes[1]
    cc = int(data["t3_classes"])
    ax.plot(data["t3_cover_d"], data["t3_cover"], "k-", lw=1, label="Cover, general position")
    ok = data["t3_ideal"].astype(bool)
    ax.plot(data["t3_dims"], data["t3_fraction"], "o", color="tab:orange", ms=7, label="linear ISSL codes (LP)")
    ax.plot(data["t3_dims"][ok], data["t3_fraction"][ok], "o", mfc="none", mec="k", ms=11, label="verifier: ideal")
    ax.axvline(cc - 1, color="0.5", ls=":")
    for x, rnk in zip(data["t3_dims"], data["t3_rank"]):
        ax.annotate(f"r={rnk}", (x, 0.02), ha="center", fontsize=7)
    ax.set(xlabel="representation dimension d", ylabel="fraction of tasks solvable", ylim=(0, 1.08),
           title=f"T3: linear ISSL, C = {cc} (r = centred rank)")
    ax.legend(fontsize=7, loc="center right")

    ax = axes[2]
    im = ax.pcolormesh(data["n_grid"], data["c_w"], data["wn"], cmap="magma",
                       norm=LogNorm(vmin=1e-4, vmax=1), shading="nearest")
    ax.set(xscale="log", yscale="log", xlabel="training samples n", ylabel="classes C",
           title="worst-case probe risk W_n = (1 − 1/C)^n")
    cs = ax.contour(data["n_grid"], data["c_w"], data["wn"], levels=[0.01, 0.1, 0.5], colors="w", linewidths=0.8)
    ax.clabel(cs, fontsize=7)
    fig.colorbar(im, ax=ax, label="W_n")

    ax = axes[3]
    nn = np.arange(1, int(data["n_mc"].max()) + 1)
    for k, cc in enumerate(data["c_curves"]):
        line, = ax.plot(nn, (1 - 1 / cc) ** nn, "-", lw=1, label=f"C = {cc}, invariant")
        ax.plot(nn, (1 - 1 / (2 * cc)) ** nn, "--", lw=1, color=line.get_color())
        ax.plot(data["n_mc"], data["mc_invariant"][k], "o", color=line.get_color(), ms=4)
        ax.plot(data["n_mc"], data["mc_noninvariant"][k], "s", color=line.get_color(), mfc="none", ms=5)
    ax.plot([], [], "k--", lw=1, label="non-invariant (2 codes per class)")
    ax.plot([], [], "ko", ms=4, label=f"Monte Carlo by LP ({int(data['mc_trials'])} trials)")
    ax.set(xlabel="n", ylabel="W_n", title="closed form vs linear programs")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
