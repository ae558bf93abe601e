"""The figure of :mod:`.loss_expansions`: B per loss, the weighted-InfoNCE probe, VICReg's ε, the quartic k."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _pq(ax, data, j: int, name: str):
    keys = [str(k) for k in data["rows"]]
    show = [i for i, k in enumerate(keys) if k != "vicreg"]
    x = np.arange(len(show))
    ax.errorbar(
        x,
        data["mc_pq"][show, j],
        yerr=2 * data["mc_pq_se"][show, j],
        fmt="o",
        color="k",
        ms=6,
        capsize=3,
        label="Monte Carlo, real loss (± 2 s.e.)",
    )
    ax.plot(x - 0.15, data["paper_pq"][show, j], "s", color="tab:red", mfc="none", ms=9, label="paper")
    ax.plot(x + 0.15, data["derived_pq"][show, j], "D", color="tab:blue", mfc="none", ms=8, label="derived")
    ax.plot(x, data["sympy_pq"][show, j], "_", color="tab:green", ms=18, mew=2, label="sympy, finite N")
    ax.set_xticks(x)
    ax.set_xticklabels([keys[i] for i in show], rotation=20, fontsize=8)
    ax.axhline(0, color="0.8", lw=0.6)
    ax.set_title(f"({'ab'[j]}) {name} of B = p·A0 + q·C", fontsize=10)
    ax.legend(fontsize=7)


def _quartic_panel(ax, data) -> None:
    """k along each axis per loss (VICReg, ~10⁶, left out): Monte Carlo, sympy at finite N, the library's k."""
    keys = [str(k) for k in data["rows"]]
    show = [i for i, k in enumerate(keys) if k != "vicreg"]
    for j, (shift, mark) in enumerate(((-0.12, "o"), (0.12, "s"))):
        x = np.arange(len(show)) + shift
        ax.errorbar(
            x,
            data["q_k_axis"][show, j],
            yerr=2 * data["q_k_axis_se"][show, j],
            fmt=mark,
            color="k",
            mfc="none" if j else "k",
            capsize=3,
            label=f"Monte Carlo k along axis {j + 1} (± 2 s.e.)",
        )
        ax.plot(x, data["q_sympy_k"][show, j], "_", color="tab:green", ms=14, mew=2, label="sympy" if j else None)
    x = np.arange(len(show))
    ax.plot(x, data["q_library_k"][show], "x", color="tab:red", ms=10, mew=2, label="library k")
    ax.set_xticks(x)
    ax.set_xticklabels([keys[i] for i in show], rotation=20, fontsize=8)
    ax.set_title(f"(e) quartic k per loss, N = {int(data['n_quart'])} (VICReg: ~10⁶)", fontsize=10)
    ax.legend(fontsize=7)


def render(data: dict[str, np.ndarray]) -> Figure:
    """Six panels: closed forms (lines, bars) against gradient descent or Monte Carlo (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    _pq(axes[0, 0], data, 0, "p: coefficient of A0")
    _pq(axes[0, 1], data, 1, "q: coefficient of C")
    ax = axes[0, 2]
    a, s2, n, alpha = data["probe_setting"]
    ax.errorbar(
        [0],
        [float(data["probe_b"])],
        yerr=[2 * float(data["probe_b_se"])],
        fmt="o",
        color="k",
        capsize=3,
        label="Monte Carlo (± 2 s.e.)",
    )
    ax.axhline(float(data["probe_paper"]), color="tab:red", ls="--", label="paper A0 − (1−α)C/N")
    ax.axhline(float(data["probe_derived"]), color="tab:blue", ls="-", label="derived N·Â0/(N − 1 + α)")
    ax.set_xticks([])
    ax.set_ylabel("B (d = 1)")
    ax.set_title(f"(c) weighted InfoNCE: â = {a:g}, σ² = {s2:g}, N = {n:g}, α = {alpha:g}", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    eps = data["vic_eps"]
    ax.errorbar(
        eps,
        data["vic_mc_pq"][:, 0],
        yerr=2 * data["vic_mc_pq_se"][:, 0],
        fmt="o",
        color="k",
        capsize=3,
        label="Monte Carlo p (± 2 s.e.)",
    )
    ax.plot(eps, data["vic_sympy_pq"][:, 0], "-", color="tab:green", label="sympy λ_var N/(2√ε(N − 1))")
    ax.axhline(1.0, color="tab:red", ls="--", label="paper |p| = 1 (B = −A0)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ε of VICReg's variance hinge")
    ax.set_ylabel("p (coefficient of A0)")
    ax.set_title("(d) VICReg: p > 0 and ∝ ε^{-1/2}, not −1", fontsize=10)
    ax.legend(fontsize=8)
    _quartic_panel(axes[1, 1], data)
    ax = axes[1, 2]
    vals = [float(data["prop4_total"]), float(data["prop4_conditional"])]
    ses = [float(data["prop4_total_se"]), float(data["prop4_conditional_se"])]
    ax.errorbar([0, 1], vals, yerr=[2 * s for s in ses], fmt="o", color="k", capsize=3)
    ax.plot([0, 1], [1.0, 0.75], "_", color="tab:blue", ms=24, mew=2, label="1 and ¾")
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["(1/8)Var (total)", "(1/8)E_x Var_χ (conditional)"])
    ax.set_ylabel("ratio to Tr[(WΣWᵀ)²]")
    ax.set_title("(f) Prop. 4 holds; InfoNCE's cumulant is the conditional one", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle("Small-W expansion of the real losses, A0 = diag(1.5, 0.5), C = diag(0.25, 1.0)")
    fig.tight_layout()
    return fig
