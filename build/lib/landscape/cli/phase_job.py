r"""The phase-diagram part of ``landscape run`` (the default job of ``make run``).

It runs stored scans under ``OUT/scans/`` and draws from them:

1. the (σ², γ) phase diagram of InfoNCE and β-InfoNCE, C = σ²I, closed form on a
   ``grid × grid`` lattice, with gradient-flow *spot checks* on a 4×4 point
   list per loss (rank and per-direction Gram eigenvalue against the closed
   form at the same points) → ``phase_diagram.png/.pdf`` and, along the cut
   γ = 0, ``spectrum_vs_sigma2.png/.pdf``;
2. the (σ², N) diagram of weighted InfoNCE (α = 0.1) in the paper's form
   B = A0 − ((1−α)/N)·C, which has the critical data-set size N_i =
   (1−α)σ²/a_i, and in the derived form B = (N/(N−1+α))·A0, which has none →
   ``phase_sigma2_n.png/.pdf`` with the spectrum along N at σ² = 25 (the
   setting of WS Fig. 2, middle).

Every function returns plain dicts for ``summary.json`` and text lines for the
printed summary.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from landscape import phase, plot
from landscape.plot import phase_figures
from landscape.scan import Axis, Grid, Points

__all__ = ["sigma2_gamma_job", "sigma2_n_job", "SPOT_T1"]

#: Integration time of the gradient-flow spot checks (rates are ≥ 4·|b_i| ≥ 0.2 away from boundaries).
SPOT_T1 = 250.0
_WEIGHTED_ALPHA = 0.1


def _spot_points(sigma2: np.ndarray, gamma: np.ndarray, n: int = 4) -> Points:
    """An n×n lattice at the centres of an even partition of the plotted ranges."""
    fx = (np.arange(n) + 0.5) / n
    xs = sigma2.min() + fx * (sigma2.max() - sigma2.min())
    ys = gamma.min() + fx * (gamma.max() - gamma.min())
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    return Points("spot", {"sigma2": xx.ravel(), "weight_decay": yy.ravel()})


def _store(scans: Path, name: str) -> Path:
    return scans / f"{name}.zarr"


def _scan(model, grid, path: Path, method: str = "closed-form", **kw):
    return phase.phase_scan(model, grid, method, out=path, overwrite=True, **kw)


def spot_check(model, points: Points, scans: Path, name: str) -> dict:
    """Gradient flow at ``points`` against the closed form at the same points."""
    t0 = time.perf_counter()
    flow = _scan(model, Grid([points]), _store(scans, f"{name}_spot_flow"), "flow")
    t_flow = time.perf_counter() - t0
    closed = _scan(model, Grid([points]), _store(scans, f"{name}_spot_closed_form"))
    agree = flow["rank"].values == closed["rank"].values
    margin = np.abs(closed["direction_b"].values).min(axis=-1)
    diff = np.abs(flow["direction_gram"].values - closed["direction_gram"].values).max(axis=-1)
    bad = [{"sigma2": float(s), "weight_decay": float(g), "flow_rank": int(fr), "closed_form_rank": int(cr),
            "min_abs_b": float(m)}
           for s, g, fr, cr, m, ok in zip(points.values["sigma2"], points.values["weight_decay"],
                                          flow["rank"].values, closed["rank"].values, margin, agree) if not ok]
    return {
        "points": int(agree.size),
        "rank_agreement": int(agree.sum()),
        "max_abs_gram_diff": float(diff.max()),
        "diverged": int(flow["diverged"].values.sum()),
        "disagreements": bad,
        "t1": SPOT_T1,
        "seconds": round(t_flow, 3),
        "sigma2": [float(v) for v in points.values["sigma2"]],
        "weight_decay": [float(v) for v in points.values["weight_decay"]],
        "flow_rank": [int(v) for v in flow["rank"].values],
    }


def _mark_spots(ax, spot: dict) -> None:
    bad = {(d["sigma2"], d["weight_decay"]) for d in spot["disagreements"]}
    xs, ys = np.array(spot["sigma2"]), np.array(spot["weight_decay"])
    agree = np.array([(x, y) not in bad for x, y in zip(xs, ys)], dtype=bool)
    ax.scatter(xs[agree], ys[agree], marker="o", s=26, facecolor="none", edgecolor=plot.OKABE_ITO[2], lw=1.4,
               label="gradient flow agrees", zorder=6)
    if (~agree).any():
        ax.scatter(xs[~agree], ys[~agree], marker="X", s=40, color=plot.OKABE_ITO[6],
                   label="gradient flow differs", zorder=6)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.85)


def sigma2_gamma_job(out_dir: Path, a: Sequence[float], beta: float, grid: int, s2_max: float = 5.0,
                     spot: bool = True) -> tuple[dict, list, dict]:
    """(σ², γ) diagrams of InfoNCE and β-InfoNCE; returns (panels, figure paths, datasets)."""
    scans = out_dir / "scans"
    a = np.asarray(a, float)
    sigma2 = np.linspace(0.0, s2_max, grid)
    cases = [("infonce", {}, "InfoNCE", float(a.max()) * 1.125),
             ("beta-infonce", {"beta": beta}, f"β-InfoNCE (β = {beta:g})", float(a.max()) * beta * 1.125)]
    fig, axes = plot.new_figure(2, width=5.8, height=4.8)
    fig_s, axes_s = plot.new_figure(2, width=5.6, height=4.2)
    panels, datasets = {}, {}
    for ax, ax_s, (name, kw, title, g_max) in zip(axes, axes_s, cases):
        gamma = np.linspace(0.0, g_max, grid)
        model = phase.PhaseModel.diagonal(a, sigma2=0.0, loss=name, t1=SPOT_T1, **kw)
        t0 = time.perf_counter()
        store = _store(scans, f"{name.replace('-', '_')}_sigma2_gamma")
        ds = _scan(model, Grid([Axis("sigma2", sigma2), Axis("weight_decay", gamma)]), store)
        seconds = time.perf_counter() - t0
        datasets[name] = ds
        info = phase_figures.draw_map(ax, ds, x="sigma2", y="weight_decay",
                                      title=f"{title}\nrank of WᵀW at the global minimum")
        spot_info = None
        if spot:
            spot_info = spot_check(model, _spot_points(sigma2, gamma), scans, name.replace("-", "_"))
            _mark_spots(ax, spot_info)
        phase_figures.draw_spectrum(ax_s, ds, x="sigma2", at={"weight_decay": 0.0},
                                    title=f"{title}, γ = 0\n√λ of WᵀW per direction; dotted: critical σ²")
        panels[name] = {"gamma": gamma, "dataset": ds, "seconds": seconds, "spot_check": spot_info,
                        "boundaries_drawn": info["boundaries"], "store": str(store)}
    fig.suptitle(f"Collapse phase diagram, C = σ²I, d = {a.size}, a = {[round(float(v), 4) for v in a]}\n"
                 "dashed: analytic b_i = 0; circles: gradient-flow spot checks at the same points")
    paths = plot.save_figure_formats(fig, out_dir / "phase_diagram")
    paths += plot.save_figure_formats(fig_s, out_dir / "spectrum_vs_sigma2")
    return panels, paths, datasets


def sigma2_n_job(out_dir: Path, a: Sequence[float], grid: int, s2_max: float = 30.0,
                 n_range: tuple[float, float] = (10.0, 200.0), cut_sigma2: float = 25.0) -> tuple[dict, list]:
    """(σ², N) diagram of weighted InfoNCE (α = 0.1), paper and derived forms; (panels, figure paths)."""
    scans = out_dir / "scans"
    a = np.asarray(a, float)
    sigma2 = np.linspace(0.0, s2_max, grid)
    n = np.linspace(n_range[0], n_range[1], grid)
    fig, axes = plot.new_figure(3, width=5.2, height=4.8)
    panels = {}
    for ax, form in zip(axes[:2], ("paper", "derived")):
        model = phase.PhaseModel.diagonal(a, sigma2=0.0, loss="weighted-infonce", form=form,
                                          alpha=_WEIGHTED_ALPHA)
        t0 = time.perf_counter()
        store = _store(scans, f"weighted_infonce_{form}_sigma2_n")
        ds = _scan(model, Grid([Axis("n_samples", n), Axis("sigma2", sigma2)]), store)
        seconds = time.perf_counter() - t0
        what = "B = A0 − ((1−α)/N)·C" if form == "paper" else "B = (N/(N−1+α))·A0"
        info = phase_figures.draw_map(ax, ds, x="n_samples", y="sigma2",
                                      title=f"weighted InfoNCE, {form} form\n{what}, α = {_WEIGHTED_ALPHA:g}")
        rank = ds["rank"].values
        if form == "paper":
            b = a[None, None, :] - (1 - _WEIGHTED_ALPHA) * sigma2[None, :, None] / n[:, None, None]
        else:
            b = (n / (n - 1 + _WEIGHTED_ALPHA))[:, None, None] * a[None, None, :] + 0.0 * sigma2[None, :, None]
        away = np.abs(b).min(-1) > 1e-6 * float(a.max())
        mismatches = int(np.sum((rank != (b > 0).sum(-1)) & away))
        if form == "paper":
            cut = phase_figures.draw_spectrum(axes[2], ds, x="n_samples", at={"sigma2": cut_sigma2},
                                              title=f"paper form at σ² ≈ {cut_sigma2:g}\n√λ of WᵀW along N; dotted: N_i")
            n_crit = (1 - _WEIGHTED_ALPHA) * float(ds["sigma2"].sel(sigma2=cut_sigma2, method="nearest")) / a
        panels[form] = {
            "seconds": round(seconds, 3),
            "rank_counts": {int(r): int(k) for r, k in zip(*np.unique(rank, return_counts=True))},
            "regions": {"no collapse": int(np.sum(rank == a.size)),
                        "dimensional collapse": int(np.sum((rank > 0) & (rank < a.size))),
                        "complete collapse": int(np.sum(rank == 0))},
            "mismatches_with_analytic_rank": mismatches,
            "boundaries_drawn": info["boundaries"],
            "store": str(store),
        }
    panels["paper"]["critical_n_at_cut"] = {"sigma2": float(cut["cut"]["sigma2"]),
                                            "a": [float(v) for v in a], "n_crit": [float(v) for v in n_crit]}
    fig.suptitle(f"Weighted InfoNCE (α = {_WEIGHTED_ALPHA:g}), C = σ²I, d = {a.size}: rank over (N, σ²); "
                 "dashed: analytic b_i = 0, i.e. N_i = (1−α)σ²/a_i in the paper form")
    return panels, plot.save_figure_formats(fig, out_dir / "phase_sigma2_n")
