r"""The phase diagrams of the built-in problem of ``landscape run``: scans, spot checks and drawings.

1. the (σ², γ) phase diagram of InfoNCE and β-InfoNCE, C = σ²I, closed form on a
   ``grid × grid`` lattice, with gradient-flow *spot checks* at one point in each
   rank band (so in every region: no, dimensional and complete collapse; rank and
   per-direction Gram eigenvalue against the closed form at the same points), and
   the spectra: InfoNCE along a log-spaced σ² cut at γ = 0 on log–log axes (no
   threshold; the σ⁻⁴ law), β-InfoNCE along γ = 0 with its critical σ²;
2. the (σ², N) diagram of weighted InfoNCE (α = 0.1) in the paper's form
   B = A0 − ((1−α)/N)·C, which has the critical data-set size N_i =
   (1−α)σ²/a_i, and in the derived form B = (N/(N−1+α))·A0, which has none, with
   the spectrum along N at σ² = 25 (the setting of WS Fig. 2, middle).

The scans (``*_scans``: in memory when ``scans`` is None, else stored) and the
drawings (``draw_*``, into new figures or given axes) are separate: ``landscape run``
(:mod:`landscape.cli.phase_job`) stores and saves them, and the reproduction report
(:mod:`landscape.reproduction.ziyin2023.phase_diagrams`) keeps their arrays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape import phase, plot
from landscape.plot import phase_figures
from landscape.scan import Axis, Grid, Points

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from numpy.typing import ArrayLike

__all__ = [
    "sigma2_gamma_scans",
    "sigma2_n_scans",
    "draw_sigma2_gamma",
    "draw_sigma2_n",
    "spot_check",
    "mark_spots",
    "weighted_b",
    "SPOT_T1",
    "WEIGHTED_ALPHA",
]

#: Integration time of the gradient-flow spot checks (rates are ≥ 4·|b_i| ≥ 0.2 away from boundaries).
SPOT_T1 = 250.0
WEIGHTED_ALPHA = 0.1


def _spot_points(ds, n_per_rank: int = 1) -> Points:
    """Spot-check points placed so that every rank band of the closed-form scan ``ds`` has one.

    In each band (every region: no, dimensional and complete collapse) the grid
    point farthest from the analytic boundaries (largest min_i |b_i|) is chosen, so
    the flow's rates, ≥ 4·min|b_i|, are as fast as the band allows.
    """
    rank = np.asarray(ds["rank"].values)
    margin = np.abs(np.asarray(ds["direction_b"].values)).min(axis=-1)
    s2, gam = np.meshgrid(ds["sigma2"].values, ds["weight_decay"].values, indexing="ij")
    inner = np.zeros(rank.shape, bool)
    inner[1:-1, 1:-1] = True  # off the frame where a band reaches inside it, so the markers show
    xs, ys = [], []
    for r in np.unique(rank[rank >= 0]):
        band = (rank == r) & inner if np.any((rank == r) & inner) else rank == r
        order = np.argsort(np.where(band, margin, -np.inf), axis=None)[::-1][:n_per_rank]
        xs += [float(s2.flat[i]) for i in order]
        ys += [float(gam.flat[i]) for i in order]
    return Points("spot", {"sigma2": np.array(xs), "weight_decay": np.array(ys)})


def _store(scans: Path | None, name: str) -> Path | None:
    return None if scans is None else scans / f"{name}.zarr"


def _scan(model, grid, path: Path | None, method: str = "closed-form", **kw):
    if path is None:
        return phase.phase_scan(model, grid, method, **kw)
    return phase.phase_scan(model, grid, method, out=path, overwrite=True, **kw)


def _regions(rank: np.ndarray, d: int) -> dict:
    return {
        "no collapse": int(np.sum(rank == d)),
        "dimensional collapse": int(np.sum((rank > 0) & (rank < d))),
        "complete collapse": int(np.sum(rank == 0)),
    }


def spot_check(model: phase.PhaseModel, points: Points, scans: Path | None, name: str) -> dict:
    """Gradient flow at ``points`` against the closed form at the same points, counted per region."""
    t0 = time.perf_counter()
    flow = _scan(model, Grid([points]), _store(scans, f"{name}_spot_flow"), "flow")
    t_flow = time.perf_counter() - t0
    closed = _scan(model, Grid([points]), _store(scans, f"{name}_spot_closed_form"))
    agree = flow["rank"].values == closed["rank"].values
    margin = np.abs(closed["direction_b"].values).min(axis=-1)
    diff = np.abs(flow["direction_gram"].values - closed["direction_gram"].values).max(axis=-1)
    cr = np.asarray(closed["rank"].values)
    d = model.dim
    bad = [
        {
            "sigma2": float(s),
            "weight_decay": float(g),
            "flow_rank": int(fr),
            "closed_form_rank": int(c),
            "min_abs_b": float(m),
        }
        for s, g, fr, c, m, ok in zip(
            points.values["sigma2"], points.values["weight_decay"], flow["rank"].values, cr, margin, agree
        )
        if not ok
    ]
    per_region = {
        k: [int(np.sum(sel & agree)), int(np.sum(sel))]
        for k, sel in (
            ("no collapse", cr == d),
            ("dimensional collapse", (cr > 0) & (cr < d)),
            ("complete collapse", cr == 0),
        )
    }
    return {
        "points": int(agree.size),
        "rank_agreement": int(agree.sum()),
        "agreement_per_region": per_region,
        "max_abs_gram_diff": float(diff.max()),
        "diverged": int(flow["diverged"].values.sum()),
        "disagreements": bad,
        "t1": SPOT_T1,
        "seconds": round(t_flow, 3),
        "sigma2": [float(v) for v in points.values["sigma2"]],
        "weight_decay": [float(v) for v in points.values["weight_decay"]],
        "flow_rank": [int(v) for v in flow["rank"].values],
        "closed_form_rank": [int(v) for v in cr],
    }


def mark_spots(ax: Axes, spot: dict) -> None:
    """Circles where gradient flow agrees with the closed-form rank, crosses where it does not."""
    bad = {(d["sigma2"], d["weight_decay"]) for d in spot["disagreements"]}
    xs, ys = np.array(spot["sigma2"]), np.array(spot["weight_decay"])
    agree = np.array([(x, y) not in bad for x, y in zip(xs, ys)], dtype=bool)
    ax.scatter(
        xs[agree],
        ys[agree],
        marker="o",
        s=30,
        facecolor="none",
        edgecolor=plot.OKABE_ITO[2],
        lw=1.6,
        label="gradient flow agrees",
        zorder=6,
    )
    if (~agree).any():
        ax.scatter(
            xs[~agree], ys[~agree], marker="X", s=40, color=plot.OKABE_ITO[6], label="gradient flow differs", zorder=6
        )
    ax.legend(fontsize=7, loc="upper right", framealpha=0.85)


def _cases(a: np.ndarray, beta: float) -> list:
    return [
        ("infonce", {}, "InfoNCE", float(a.max()) * 1.125),
        ("beta-infonce", {"beta": beta}, f"β-InfoNCE (β = {beta:g})", float(a.max()) * beta * 1.125),
    ]


def sigma2_gamma_scans(
    scans: Path | None, a: Sequence[float], beta: float, grid: int, s2_max: float = 5.0, spot: bool = True
) -> dict:
    """The (σ², γ) closed-form scans of InfoNCE and β-InfoNCE, their spot checks, and a log-σ² cut at γ = 0.

    ``scans=None`` computes in memory; otherwise the stores are written under ``scans``.
    Returns loss → {gamma, dataset, spectrum (the 1-D cut), seconds, spot_check, store}.
    """
    a = np.asarray(a, float)
    sigma2 = np.linspace(0.0, s2_max, grid)
    log_sigma2 = np.geomspace(1e-2, 1e3, 121)  # four decades past the largest a: the σ⁻⁴ tail
    panels = {}
    for name, kw, _, g_max in _cases(a, beta):
        gamma = np.linspace(0.0, g_max, grid)
        model = phase.PhaseModel.diagonal(a, sigma2=0.0, loss=name, t1=SPOT_T1, **kw)
        stem = name.replace("-", "_")
        t0 = time.perf_counter()
        store = _store(scans, f"{stem}_sigma2_gamma")
        ds = _scan(model, Grid([Axis("sigma2", sigma2), Axis("weight_decay", gamma)]), store)
        seconds = time.perf_counter() - t0
        cut = _scan(
            model.__class__.diagonal(a, sigma2=0.0, loss=name, weight_decay=0.0, **kw),
            Grid([Axis("sigma2", log_sigma2)]),
            _store(scans, f"{stem}_log_sigma2"),
        )
        spot_info = spot_check(model, _spot_points(ds), scans, stem) if spot else None
        panels[name] = {
            "gamma": gamma,
            "dataset": ds,
            "spectrum": cut,
            "seconds": seconds,
            "spot_check": spot_info,
            "store": None if store is None else str(store),
        }
    return panels


def _log_spectrum(ax, cut, title: str) -> None:
    """√λ per direction against σ² on log–log axes, with the σ⁻⁴ law of the largest a drawn 2× above its curve."""
    phase_figures.draw_spectrum(ax, cut, x="sigma2", title=title)
    s2 = np.asarray(cut["sigma2"].values, float)
    a_max = float(np.max(phase.model_from_dataset(cut)[0].data_cov))
    tail = s2 >= 10 * a_max
    ax.plot(s2[tail], 2 * np.sqrt(a_max / 2) / s2[tail], "k--", lw=1.2, label="2·√(a/2)/σ² (σ⁻⁴ law, a = max)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(np.sqrt(a_max / 2) / s2.max() / 3, None)
    ax.legend(fontsize=7, ncol=2, loc="lower left", framealpha=0.85)


def draw_sigma2_gamma(
    panels: dict,
    a: ArrayLike,
    beta: float,
    axes: Sequence[Axes] | None = None,
    axes_s: Sequence[Axes | None] | None = None,
) -> tuple[Figure | SubFigure, Figure | SubFigure]:
    """The phase-diagram figure and the spectrum figure of :func:`sigma2_gamma_scans`; returns (fig, fig_s).

    ``axes``/``axes_s`` (two each; an entry of ``axes_s`` may be None to skip it)
    draw into given axes instead of two new figures (then no titles over the figures).
    """
    a = np.asarray(a, float)
    own = axes is None
    if axes is None:
        fig, axes = plot.new_figure(2, width=5.8, height=4.8)
        fig_s, axes_s = plot.new_figure(2, width=5.6, height=4.2)
    elif axes_s is None:
        raise TypeError("draw_sigma2_gamma: axes_s is needed with axes")
    else:
        fig = fig_s = axes[0].figure
    for ax, ax_s, (name, _, title, _) in zip(axes, axes_s, _cases(a, beta)):
        info = panels[name]
        phase_figures.draw_map(
            ax, info["dataset"], x="sigma2", y="weight_decay", title=f"{title}\nrank of WᵀW at the global minimum"
        )
        if info["spot_check"] is not None:
            mark_spots(ax, info["spot_check"])
        if ax_s is None:
            continue
        if name == "infonce":
            _log_spectrum(
                ax_s, info["spectrum"], f"{title}, γ = 0: no threshold (B = A0)\n√λ of WᵀW per direction, log–log"
            )
        else:
            phase_figures.draw_spectrum(
                ax_s,
                info["dataset"],
                x="sigma2",
                at={"weight_decay": 0.0},
                title=f"{title}, γ = 0\n√λ of WᵀW per direction; dotted: critical σ²",
            )
    spots = (
        ""
        if panels[_cases(a, beta)[0][0]]["spot_check"] is None
        else "; circles: gradient-flow spot checks, one in each rank band"
    )
    if own:
        fig.suptitle(
            f"Collapse phase diagram, C = σ²I, d = {a.size}, a = {[round(float(v), 4) for v in a]}\n"
            f"dashed: analytic b_i = 0{spots}"
        )
    return fig, fig_s


def weighted_b(form: str, a: np.ndarray, n: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """b_i over (N, σ², i) of weighted InfoNCE: A0 − ((1−α)/N)·C (paper) or (N/(N−1+α))·A0 (derived)."""
    if form == "paper":
        return a[None, None, :] - (1 - WEIGHTED_ALPHA) * sigma2[None, :, None] / n[:, None, None]
    return (n / (n - 1 + WEIGHTED_ALPHA))[:, None, None] * a[None, None, :] + 0.0 * sigma2[None, :, None]


def sigma2_n_scans(
    scans: Path | None,
    a: Sequence[float],
    grid: int,
    s2_max: float = 30.0,
    n_range: tuple[float, float] = (10.0, 200.0),
) -> dict:
    """(N, σ²) closed-form scans of weighted InfoNCE (α = 0.1), paper and derived forms, with their summaries."""
    a = np.asarray(a, float)
    sigma2 = np.linspace(0.0, s2_max, grid)
    n = np.linspace(n_range[0], n_range[1], grid)
    panels = {}
    for form in ("paper", "derived"):
        model = phase.PhaseModel.diagonal(a, sigma2=0.0, loss="weighted-infonce", form=form, alpha=WEIGHTED_ALPHA)
        t0 = time.perf_counter()
        store = _store(scans, f"weighted_infonce_{form}_sigma2_n")
        ds = _scan(model, Grid([Axis("n_samples", n), Axis("sigma2", sigma2)]), store)
        seconds = time.perf_counter() - t0
        rank = ds["rank"].values
        b = weighted_b(form, a, n, sigma2)
        away = np.abs(b).min(-1) > 1e-6 * float(a.max())
        panels[form] = {
            "dataset": ds,
            "seconds": round(seconds, 3),
            "rank_counts": {int(r): int(k) for r, k in zip(*np.unique(rank, return_counts=True))},
            "regions": _regions(rank, a.size),
            "mismatches_with_analytic_rank": int(np.sum((rank != (b > 0).sum(-1)) & away)),
            "store": None if store is None else str(store),
        }
    return panels


def draw_sigma2_n(
    panels: dict, a: ArrayLike, cut_sigma2: float = 25.0, axes: Sequence[Axes] | None = None
) -> tuple[Figure | SubFigure, dict[str, Any]]:
    """The (N, σ²) figure of :func:`sigma2_n_scans` and the critical N_i at the cut; returns (fig, critical).

    ``axes`` (three) draws into given axes instead of a new figure (then no title over the figure).
    """
    a = np.asarray(a, float)
    own = axes is None
    if axes is None:
        fig, axes = plot.new_figure(3, width=5.2, height=4.8)
    else:
        fig = axes[0].figure
    for ax, form in zip(axes[:2], ("paper", "derived")):
        what = "B = A0 − ((1−α)/N)·C" if form == "paper" else "B = (N/(N−1+α))·A0: no boundary"
        phase_figures.draw_map(
            ax,
            panels[form]["dataset"],
            x="n_samples",
            y="sigma2",
            title=f"weighted InfoNCE, {form} form\n{what}, α = {WEIGHTED_ALPHA:g}",
        )
    ds = panels["paper"]["dataset"]
    cut = phase_figures.draw_spectrum(
        axes[2],
        ds,
        x="n_samples",
        at={"sigma2": cut_sigma2},
        title=f"paper form at σ² ≈ {cut_sigma2:g}\n√λ of WᵀW along N; dotted: N_i",
    )
    s2_cut = float(ds["sigma2"].sel(sigma2=cut_sigma2, method="nearest"))
    if own:
        fig.suptitle(
            f"Weighted InfoNCE (α = {WEIGHTED_ALPHA:g}), C = σ²I, d = {a.size}: rank over (N, σ²); "
            "dashed: analytic b_i = 0, i.e. N_i = (1−α)σ²/a_i in the paper form"
        )
    critical = {
        "sigma2": float(cut["cut"]["sigma2"]),
        "a": [float(v) for v in a],
        "n_crit": [float(v) for v in (1 - WEIGHTED_ALPHA) * s2_cut / a],
    }
    return fig, critical
