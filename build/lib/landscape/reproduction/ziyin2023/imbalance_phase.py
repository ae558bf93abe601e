r"""Class imbalance phase diagrams: minority-direction variance and rank vs (p, σ²) and (p, γ).

Data (:func:`landscape.studies.class_imbalance.minority_problem`): two classes at ±1 along e_0
(separation m = 2) with proportions (p, 1 − p), within-class variance w = 0.1
along e_0, and nine background dims of variance 1; isotropic augmentation σ².
Each grid point is solved with the library's solvers (global minimum, or the
κ → ∞ limit), and the minority class direction's representation variance
v = (uᵀΣu)(uᵀWᵀWu) and the rank of WᵀW are plotted.  The analytic critical
imbalance p_c (closed form) is overlaid in white.

Columns: β-InfoNCE (β = ½) over (p, σ²); InfoNCE with weight decay over (p, γ)
at σ² = 0.5; InfoNCE with hard normalization (κ → ∞, c = 1) over (p, σ²).

Usage::

    python figures/fig_imbalance_phase.py [--quick | --smoke] [--plot-only out/figures/fig_imbalance_phase.npz]
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

import jax

from landscape.studies import class_imbalance as im

NAME = "fig_imbalance_phase"
M, W, NB = 2.0, 0.1, 9


def _grid(ps, ys, make, **solve_kw):
    v = np.zeros((ys.size, ps.size))
    rank = np.zeros((ys.size, ps.size), int)
    for i, y in enumerate(ys):
        for j, p in enumerate(ps):
            cp, kw = make(p, y)
            rep = im.solve_classes(cp, **kw, **solve_kw)
            v[i, j] = rep.representation_variance[0]
            rank[i, j] = rep.rank
    return v, rank


def compute(quick: bool = False, smoke: bool = False) -> dict:
    """The three (p, ·) grids, 40 × 40 points (``quick``: 14 × 14; ``smoke``: 3 × 3)."""
    n = 3 if smoke else 14 if quick else 40
    ps = np.geomspace(1e-3, 0.5, n)
    s2 = np.linspace(0.0, 1.2, n)
    gam = np.linspace(0.0, 1.0, n)
    prob = lambda p, s: im.minority_problem(p, separation=M, within_var=W, n_background=NB, aug_var=s)
    v1, r1 = _grid(ps, s2, lambda p, s: (prob(p, s), dict(loss="beta-infonce", beta=0.5)))
    v2, r2 = _grid(ps, gam, lambda p, g: (prob(p, 0.5), dict(loss="infonce", weight_decay=g)))
    v3, r3 = _grid(ps, s2, lambda p, s: (prob(p, s), dict(loss="infonce", kappa=np.inf)))
    pc1 = np.array([im.critical_proportion(M, W, s, "beta-infonce", beta=0.5) for s in s2])
    pc2 = np.array([im.critical_proportion(M, W, 0.5, "infonce", weight_decay=g) for g in gam])
    pc3 = np.array([im.hard_normalization_critical_proportion(M, W, s, [1.0] * NB, s) for s in s2])
    return dict(p=ps, sigma2=s2, gamma=gam, v_beta=v1, rank_beta=r1, v_wd=v2, rank_wd=r2, v_hard=v3,
                rank_hard=r3, pc_beta=pc1, pc_wd=pc2, pc_hard=pc3)


def render(data: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.2), constrained_layout=True)
    cols = [("beta", "sigma2", "β-InfoNCE (β=½): σ²", "augmentation σ²"),
            ("wd", "gamma", "InfoNCE + weight decay γ (σ²=0.5)", "weight decay γ"),
            ("hard", "sigma2", "InfoNCE + hard normalization: σ²", "augmentation σ²")]
    p = data["p"]
    for j, (key, yk, title, ylabel) in enumerate(cols):
        y = data[yk]
        for i, (field, cmap, lab) in enumerate(((f"v_{key}", "viridis", "minority v"),
                                                (f"rank_{key}", "magma", "rank WᵀW"))):
            ax = axes[i, j]
            im_ = ax.pcolormesh(p, y, data[field], shading="nearest", cmap=cmap)
            fig.colorbar(im_, ax=ax, label=lab)
            pc = data[f"pc_{key}"]
            ok = (pc > 0) & (pc < 0.5)
            ax.plot(np.where(ok, pc, np.nan), y, "w--", lw=2, label="analytic p_c")
            ax.set_xscale("log")
            ax.set_xlim(p.min(), p.max())
            ax.set_xlabel("minority proportion p")
            ax.set_ylabel(ylabel)
            if i == 0:
                ax.set_title(title, fontsize=10)
                ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("Minority class direction under SSL: collapsed left of the analytic p_c (solver colours)")
    return fig

def main(argv=None) -> int:
    jax.config.update("jax_enable_x64", True)
    return run_figure(NAME, compute, render, __doc__, argv, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
