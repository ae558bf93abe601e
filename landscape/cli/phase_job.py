r"""The phase-diagram part of ``landscape run`` (the default job of ``make run``).

It runs stored scans under ``OUT/scans/`` and draws from them:

1. the (σ², γ) phase diagram of InfoNCE and β-InfoNCE, C = σ²I, closed form on a
   ``grid × grid`` lattice, with gradient-flow *spot checks* at one point in each
   rank band (so in every region: no, dimensional and complete collapse; rank and
   per-direction Gram eigenvalue against the closed form at the same points) →
   ``phase_diagram.png/.pdf``; and ``spectrum_vs_sigma2.png/.pdf``: InfoNCE along a
   log-spaced σ² cut at γ = 0 on log–log axes (no threshold; the σ⁻⁴ law), β-InfoNCE
   along γ = 0 with its critical σ²;
2. the (σ², N) diagram of weighted InfoNCE (α = 0.1) in the paper's form
   B = A0 − ((1−α)/N)·C, which has the critical data-set size N_i =
   (1−α)σ²/a_i, and in the derived form B = (N/(N−1+α))·A0, which has none →
   ``phase_sigma2_n.png/.pdf`` with the spectrum along N at σ² = 25 (the
   setting of WS Fig. 2, middle).

The scans and drawings are :mod:`landscape.studies.phase_diagrams` (the reproduction
report, :mod:`landscape.reproduction.ziyin2023.phase_diagrams`, runs the same code);
this module stores the scans under ``OUT/scans/`` and writes the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from landscape import plot
from landscape.studies.phase_diagrams import (
    SPOT_T1,
    draw_sigma2_gamma,
    draw_sigma2_n,
    sigma2_gamma_scans,
    sigma2_n_scans,
)

__all__ = ["sigma2_gamma_job", "sigma2_n_job", "SPOT_T1"]


def sigma2_gamma_job(
    out_dir: Path, a: Sequence[float], beta: float, grid: int, s2_max: float = 5.0, spot: bool = True
) -> tuple[dict, list, dict]:
    """(σ², γ) diagrams of InfoNCE and β-InfoNCE; returns (panels, figure paths, datasets)."""
    panels = sigma2_gamma_scans(out_dir / "scans", a, beta, grid, s2_max, spot)
    fig, fig_s = draw_sigma2_gamma(panels, a, beta)
    assert isinstance(fig, Figure) and isinstance(fig_s, Figure)  # drawn on new figures, not on given axes
    paths = plot.save_figure_formats(fig, out_dir / "phase_diagram")
    paths += plot.save_figure_formats(fig_s, out_dir / "spectrum_vs_sigma2")
    return panels, paths, {name: info["dataset"] for name, info in panels.items()}


def sigma2_n_job(
    out_dir: Path,
    a: Sequence[float],
    grid: int,
    s2_max: float = 30.0,
    n_range: tuple[float, float] = (10.0, 200.0),
    cut_sigma2: float = 25.0,
) -> tuple[dict, list]:
    """(σ², N) diagram of weighted InfoNCE (α = 0.1), paper and derived forms; (panels, figure paths)."""
    panels = sigma2_n_scans(out_dir / "scans", a, grid, s2_max, n_range)
    fig, critical = draw_sigma2_n(panels, a, cut_sigma2)
    assert isinstance(fig, Figure)  # drawn on a new figure, not on given axes
    for info in panels.values():
        info.pop("dataset")
    panels["paper"]["critical_n_at_cut"] = critical
    return panels, plot.save_figure_formats(fig, out_dir / "phase_sigma2_n")
