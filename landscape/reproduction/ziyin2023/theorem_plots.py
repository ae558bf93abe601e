"""The figure of :mod:`.theorems`: six panels, closed forms as lines, gradient descent as markers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _spectra(ax, data):
    for g, color, label in (
        ("t1", "tab:blue", "T1: B = A0"),
        ("t2", "tab:orange", "T2: B = A0 − C"),
        ("t5", "tab:green", "T5: B = A0 − C, A0 rotated"),
    ):
        idx = np.arange(1, 7)
        ax.plot(idx, data[f"{g}_cf_eigs"][0], "-", color=color, lw=1.2, label=label)
        for run in data[f"{g}_gd_eigs"][0]:
            ax.plot(idx, run, "x", color=color, ms=6)
    ax.set_xlabel("eigenvalue index (descending)")
    ax.set_ylabel("eigenvalue of WᵀW")
    ax.set_title("(a) Theorem 1: closed form (lines) vs GD (×, each seed)", fontsize=10)
    ax.legend(fontsize=8)


def _rank_panel(ax, x, curves, xlabel, title, thresholds):
    """Closed form as bars (—), GD as markers; dotted lines at the thresholds where ranks change."""
    markers = ["o", "x", "s"]
    for (key_cf, key_gd, color, label), m in zip(curves, markers):
        ax.plot(x, key_cf, "_", color=color, ms=16, mew=2.5)
        ax.plot(x, key_gd[:, 0], m, color=color, mfc="none", ms=8 if m == "o" else 6, label=label)
    for t in thresholds:
        ax.axvline(t, color="0.7", lw=0.7, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rank of WᵀW")
    ax.set_yticks(range(0, 7))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def _t7(ax, data):
    idx = np.arange(1, 6)
    colors = ["tab:blue", "tab:orange", "tab:green"]
    for (kappa, c), cf, gd, color in zip(data["t7_rows"], data["t7_cf_diag"], data["t7_gd_diag"], colors):
        ax.plot(idx, cf, "-", color=color, lw=1.2, label=f"κ = {kappa:g}, c = {c:g}")
        ax.plot(idx, gd, "x", color=color, ms=7)
    ax.plot(idx, data["hard_cf_diag"], "--", color="k", lw=1.2, label="κ → ∞, c = 1 (Eq. 8)")
    ax.plot(idx, data["hard_gd_diag"], "+", color="k", ms=9)
    ax.set_xticks(idx)
    ax.set_xlabel(f"direction i (a = {', '.join(f'{v:g}' for v in data['a5'])})")
    ax.set_ylabel("(WᵀW)_ii")
    ax.set_title("(d) normalization κ(ρ − c)²: Props. 2–3 (lines) vs GD (×, +)", fontsize=10)
    ax.legend(fontsize=8)


def _thresholds(ax, data):
    g = data["threshold_grid"]
    ax.plot(g, data["t8_grid_dir1"], "-", color="tab:blue", label="B = A0, a₁ = 1 (T8)")
    ax.plot(data["t8_c1"], data["t8_gd_dir1"], "o", color="tab:blue", mfc="none")
    ax.plot(g, data["c1_grid_dir1"], "-", color="tab:red", label=f"B = A0 − C, a₁ = {float(data['c1_a1']):g} (C.1 iv)")
    ax.plot(data["c1_c1"], data["c1_gd_dir1"], "o", color="tab:red", mfc="none")
    ax.axvline(2 / 7, color="tab:blue", ls=":", lw=1)
    ax.axvline(0.375, color="tab:red", ls=":", lw=1)
    ax.axvline(1.0, color="tab:red", ls="--", lw=0.8, alpha=0.6)
    ax.text(1.0, ax.get_ylim()[1] * 0.9, "paper's\nbound", color="tab:red", fontsize=8, ha="right")
    ax.set_xlabel("augmentation c₁ on direction 1 (the other nine: none)")
    ax.set_ylabel("(WᵀW)₁₁ at ρ = c = 1")
    ax.set_title(
        "(e) κ → ∞, d = 10: Eq. 9 (lines) vs projected GD (o);\ndotted: 2/7 and corrected Eq. 18 (0.375)", fontsize=10
    )
    ax.legend(fontsize=8)


def render(data: dict[str, np.ndarray]) -> Figure:
    """Six panels: closed forms (lines, bars) against gradient descent or Monte Carlo (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    _spectra(axes[0, 0], data)
    x = data["sweep"]
    _rank_panel(
        axes[0, 1],
        x,
        [
            (data["s2_infonce_cf_rank"], data["s2_infonce_gd_rank"], "tab:blue", "B = A0 (InfoNCE)"),
            (data["s2_minus_c_cf_rank"], data["s2_minus_c_gd_rank"], "tab:red", "B = A0 − σ²I"),
        ],
        "augmentation σ² (C = σ²I)",
        "(b) collapse iff b_i ≤ 0: closed form (—) vs GD (markers);\ndotted: a_i",
        data["a6"],
    )
    _rank_panel(
        axes[0, 2],
        x,
        [
            (data["wd_c_cf_rank"], data["wd_c_gd_rank"], "tab:blue", "B = A0, augmentation C"),
            (data["wd_c_other_cf_rank"], data["wd_c_other_gd_rank"], "tab:cyan", "B = A0, another C′"),
            (data["wd_minus_c_cf_rank"], data["wd_minus_c_gd_rank"], "tab:red", "B = A0 − C"),
        ],
        "weight decay γ",
        "(c) weight decay: rank = #{a_i > γ} for any C;\ndotted: a_i",
        data["a6"],
    )
    _t7(axes[1, 0], data)
    _thresholds(axes[1, 1], data)
    s2 = data["easier_s2"]
    _rank_panel(
        axes[1, 2],
        s2,
        [
            (data["easier_cf_rank_plain"], data["easier_gd_rank_plain"][:, None], "tab:blue", "normalized, no bias"),
            (data["easier_cf_rank_bias"], data["easier_gd_rank_bias"][:, None], "tab:red", "normalized, with a bias"),
        ],
        "augmentation σ² (B = A0 − σ²I, κ = 10, c = 3)",
        "(f) Theorem 2: a bias makes collapse easier\n(global minimum: closed form —, GD markers)",
        [],
    )
    axes[1, 2].set_yticks(range(0, 6))
    fig.suptitle("WS Theorem 1, Props. 1–3 and Theorem 2: closed forms against gradient descent (float64)")
    fig.tight_layout()
    return fig
