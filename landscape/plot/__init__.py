r"""Plotting helpers: draw arrays that the solvers produced; never solve anything.

Every function takes a Matplotlib ``Axes`` and plain arrays, so the figures can
be composed freely and the core modules never depend on Matplotlib.  The
functions use :class:`matplotlib.figure.Figure` through the caller, never
``pyplot``, so they work without a display.

* :func:`phase_diagram`        rank over a 2-D parameter grid, with analytic
  boundaries overlaid and the three regimes labelled;
* :func:`spectrum_curves`      eigenvalues (or their square roots) against one
  parameter, with critical values marked;
* :func:`boundary_contours`    zero contours of analytic boundary fields (b_i = 0,
  the normalization survival condition) on any grid, e.g. from
  :func:`landscape.phase.boundary_fields`;
* :func:`value_map`            any scalar output over a 2-D grid, with a labelled colour bar;
* :func:`status_markers`       marks grid points whose evaluation was not finite or diverged;
* :func:`new_figure`, :func:`save_figure`, :func:`save_figure_formats`  a headless
  figure and a safe save (PNG and PDF).

The default colours are colour-blind safe: the rank map uses ``cividis``
(perceptually uniform, readable with red–green deficiency) and line colours come
from the Okabe–Ito palette.

Example:
    >>> import numpy as np
    >>> from landscape import plot
    >>> x = np.linspace(0.0, 4.0, 5); y = np.linspace(0.0, 2.0, 3)
    >>> rank = (x[None, :] + y[:, None] < 3.0).astype(int)
    >>> fig, ax = plot.new_figure()
    >>> mesh = plot.phase_diagram(ax, x, y, rank, max_rank=1)
    >>> sorted(t.get_text() for t in ax.texts)
    ['complete collapse', 'no collapse']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the package
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "REGION_NAMES",
    "new_figure",
    "save_figure",
    "save_figure_formats",
    "phase_diagram",
    "region_of_rank",
    "spectrum_curves",
    "boundary_contours",
    "value_map",
    "status_markers",
]

#: Okabe–Ito colour-blind-safe palette (black first).
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")

#: Names of the three regimes, indexed by :func:`region_of_rank`.
REGION_NAMES = ("complete collapse", "dimensional collapse", "no collapse")

_LABEL_BOX = dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="none", alpha=0.85)


def new_figure(ncols: int = 1, *, width: float = 5.0, height: float = 4.2) -> tuple[Figure, Any]:
    """A headless figure with ``ncols`` axes side by side: ``(fig, ax)`` or ``(fig, axes)``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=True)
    return fig, axes


def save_figure(
    fig: Figure, path: str | os.PathLike[str], *, dpi: int = 150, metadata: dict[str, str] | None = None
) -> Path:
    """Save ``fig`` to ``path`` (parent folders are created); returns the path.

    ``metadata``: the file's metadata (keys as Matplotlib's ``savefig`` takes them for the format,
    e.g. ``Software`` for PNG, ``Creator`` for PDF and SVG).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, metadata=metadata)
    return path


def region_of_rank(rank: npt.ArrayLike, max_rank: int) -> np.ndarray:
    """0 where rank = 0 (complete collapse), 2 where rank ≥ ``max_rank`` (none), 1 between.

    −1 where there is no valid rank: NaN (not computed) or negative (the solvers'
    −1 for a non-finite result).  A NaN is never read as complete collapse.

    >>> region_of_rank([0, 1, 3, -1, float("nan")], 3).tolist()
    [0, 1, 2, -1, -1]
    """
    rank = np.asarray(rank, dtype=float)
    region = np.ones(rank.shape, dtype=int)
    region[rank >= max_rank] = 2
    region[rank == 0] = 0
    region[~(rank >= 0)] = -1
    return region


def _label_point(mask: np.ndarray, xx: np.ndarray, yy: np.ndarray, x_span: float, y_span: float):
    """The grid point of ``mask`` farthest from the region's edge and from the axes' edges.

    Distances are in axis-relative units (both axes scaled to [0, 1]).  Returns
    ``(x, y, clearance)``; a small clearance means the region is too thin to hold
    its label.
    """
    x0, y0 = xx.min(), yy.min()
    pts = np.flatnonzero(mask.ravel())
    out = np.flatnonzero(~mask.ravel())
    # Subsample for speed; the labels need only a rough placement.
    pts = pts[:: max(1, pts.size // 1500)]
    px = (xx.ravel()[pts] - x0) / x_span
    py = (yy.ravel()[pts] - y0) / y_span
    clearance = np.minimum.reduce([px, 1.0 - px, py, 1.0 - py])
    if out.size:
        out = out[:: max(1, out.size // 1500)]
        ox = (xx.ravel()[out] - x0) / x_span
        oy = (yy.ravel()[out] - y0) / y_span
        d2 = (px[:, None] - ox[None, :]) ** 2 + (py[:, None] - oy[None, :]) ** 2
        clearance = np.minimum(clearance, np.sqrt(d2.min(axis=1)))
    best = int(np.argmax(clearance))
    return float(xx.ravel()[pts[best]]), float(yy.ravel()[pts[best]]), float(clearance[best])


def phase_diagram(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    rank: np.ndarray,
    *,
    max_rank: int | None = None,
    boundaries: Iterable[tuple[np.ndarray, np.ndarray]] = (),
    boundary_labels: Sequence[str] | None = None,
    label_regions: bool = True,
    region_names: Sequence[str] = REGION_NAMES,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    cmap: str = "cividis",
    colorbar: bool = True,
    colorbar_label: str = "rank of WᵀW (closed form)",
) -> QuadMesh:
    """Draw the rank over a grid, analytic boundaries and the three regime labels.

    Args:
        ax: the Matplotlib axes to draw on.
        x: grid values along the horizontal axis, shape (nx,).
        y: grid values along the vertical axis, shape (ny,).
        rank: integer rank at every grid point, shape (ny, nx) (row = y).
        max_rank: the rank of "no collapse" (d* = min(d0, d1)); defaults to ``rank.max()``.
        boundaries: curves (xs, ys) to overlay, e.g. the lines where some b_i = 0.
        boundary_labels: optional legend entry per boundary.
        label_regions: write "no collapse" / "dimensional collapse" / "complete collapse"
            inside each regime that appears on the grid.
        region_names: the three labels, ordered as :data:`REGION_NAMES`.
        xlabel, ylabel, title: axis labels and title.
        cmap: a Matplotlib colormap name (default ``cividis``, colour-blind safe).
        colorbar: add a colour bar with integer rank ticks.
        colorbar_label: its label (say which matrix and which solver).

    Returns:
        The ``QuadMesh`` of the rank map.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    rank = np.asarray(rank)
    if rank.shape != (y.size, x.size):
        raise ValueError(f"rank must have shape (len(y), len(x)) = {(y.size, x.size)}, got {rank.shape}")
    mesh, top = _rank_map(ax, x, y, rank, max_rank, cmap, colorbar, colorbar_label)
    labels = list(boundary_labels) if boundary_labels is not None else None
    for i, (bx, by) in enumerate(boundaries):
        ax.plot(np.asarray(bx), np.asarray(by), color="white", lw=2.4, solid_capstyle="butt")
        ax.plot(
            np.asarray(bx),
            np.asarray(by),
            color=OKABE_ITO[0],
            lw=1.0,
            ls="--",
            label=(labels[i] if labels and i < len(labels) else None),
        )
    if label_regions:
        _label_regions(ax, x, y, region_of_rank(rank, top), region_names)
    _finish_axes(ax, x, y, xlabel, ylabel, title)
    return mesh


def _finish_axes(ax, x, y, xlabel, ylabel, title) -> None:
    """Limits to the data's extent, and the labels and title that are given."""
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def _rank_map(ax, x, y, rank, max_rank, cmap, colorbar, colorbar_label):
    """The rank as a discrete colour map (and its colour bar); returns ``(mesh, top rank)``."""
    from matplotlib import colors

    # NaN marks points without a value (e.g. not computed yet) and −1 a non-finite result:
    # both are left blank, with no region label there (never drawn as complete collapse).
    valid = region_of_rank(rank, 1) >= 0
    if not valid.any():
        raise ValueError("rank has no finite, non-negative entry to draw")
    top = int(np.max(rank[valid])) if max_rank is None else int(max_rank)
    top = max(top, 1)
    norm = colors.BoundaryNorm(np.arange(-0.5, top + 1.5), ncolors=256)
    drawn = np.ma.masked_where(~valid, np.where(valid, rank, 0).astype(float))
    mesh = ax.pcolormesh(x, y, drawn, cmap=cmap, norm=norm, shading="nearest", rasterized=True)
    if colorbar:
        ticks = np.arange(0, top + 1) if top <= 12 else np.linspace(0, top, 7).round().astype(int)
        cb = ax.figure.colorbar(mesh, ax=ax, ticks=ticks)
        cb.set_label(colorbar_label)
    return mesh, top


def _label_regions(ax, x, y, region, region_names):
    """Write each regime's name inside it; a region too thin for the text gets an arrow from nearby."""
    xx, yy = np.meshgrid(x, y)
    x_span = max(float(x.max() - x.min()), 1e-300)
    y_span = max(float(y.max() - y.min()), 1e-300)
    placed = []  # label centres in axes fraction, to keep labels apart
    thin = []
    for code in (2, 1, 0):
        mask = region == code
        if not mask.any():
            continue
        px, py, room = _label_point(mask, xx, yy, x_span, y_span)
        if room >= 0.07:
            ax.text(px, py, region_names[code], ha="center", va="center", fontsize=9, bbox=_LABEL_BOX)
            placed.append(((px - x.min()) / x_span, (py - y.min()) / y_span))
        else:
            thin.append((code, px, py))
    for code, px, py in thin:
        # Too thin for the text: write it nearer the middle, with an arrow into the region.
        fx, fy = (px - x.min()) / x_span, (py - y.min()) / y_span
        tx = float(np.clip(fx + (0.3 if fx < 0.5 else -0.3), 0.2, 0.8))
        ty = float(np.clip(fy + (0.2 if fy < 0.5 else -0.2), 0.12, 0.88))
        for dy in (0.0, 0.1, -0.1, 0.2, -0.2, 0.3, -0.3):
            cy = float(np.clip(ty + dy, 0.06, 0.94))
            if all(abs(tx - qx) > 0.3 or abs(cy - qy) > 0.08 for qx, qy in placed):
                ty = cy
                break
        placed.append((tx, ty))
        ax.annotate(
            region_names[code],
            xy=(px, py),
            xytext=(tx, ty),
            textcoords="axes fraction",
            ha="center",
            va="center",
            fontsize=9,
            bbox=_LABEL_BOX,
            arrowprops=dict(arrowstyle="->", color=OKABE_ITO[0], lw=1.0),
        )


def spectrum_curves(
    ax: Axes,
    x: np.ndarray,
    eigenvalues: np.ndarray,
    *,
    sqrt: bool = True,
    critical: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> None:
    """Plot eigenvalue curves (one per column of ``eigenvalues``) against ``x``.

    Args:
        ax: the Matplotlib axes.
        x: parameter values, shape (n,).
        eigenvalues: shape (n, m); column j is one direction's eigenvalue of WᵀW.
        sqrt: plot √λ (a continuous transition goes to zero like a square root in
            the distance to the threshold, so √λ is linear there).
        critical: optional critical values, one per column (non-finite ones are skipped),
            drawn as dotted vertical lines in the column's colour.
        labels: legend entry per column.
    """
    x = np.asarray(x, dtype=float)
    ev = np.asarray(eigenvalues, dtype=float)
    if ev.ndim != 2 or ev.shape[0] != x.size:
        raise ValueError(f"eigenvalues must have shape (len(x), m) with len(x) = {x.size}, got {ev.shape}")
    values = np.sqrt(np.clip(ev, 0.0, None)) if sqrt else ev
    palette = OKABE_ITO[1:] + OKABE_ITO[:1]
    for j in range(ev.shape[1]):
        colour = palette[j % len(palette)]
        ax.plot(
            x, values[:, j], color=colour, lw=1.6, label=(labels[j] if labels is not None and j < len(labels) else None)
        )
        if (
            critical is not None
            and j < len(critical)
            and np.isfinite(critical[j])
            and x.min() <= critical[j] <= x.max()
        ):
            ax.axvline(float(critical[j]), color=colour, lw=0.9, ls=":")
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(xlabel or "parameter")
    ax.set_ylabel(ylabel or ("√λ(WᵀW)" if sqrt else "λ(WᵀW)"))
    if title:
        ax.set_title(title)
    if labels is not None:
        ax.legend(fontsize=8, frameon=False)


def save_figure_formats(
    fig: Figure, stem: str | os.PathLike[str], formats: Sequence[str] = ("png", "pdf"), *, dpi: int = 150
) -> list[Path]:
    """Save ``fig`` as ``stem.png``, ``stem.pdf`` (or the given formats); returns the paths."""
    stem = Path(stem)
    return [save_figure(fig, stem.with_name(f"{stem.name}.{fmt}"), dpi=dpi) for fmt in formats]


def boundary_contours(
    ax: Axes,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    fields: Iterable[np.ndarray],
    *,
    style: str = "b",
    label: str | None = None,
) -> int:
    """Draw the zero contour of each field (shape (len(y), len(x))) on ``ax``.

    ``style="b"`` draws black dashed lines on a white halo (the lines b_i = 0);
    ``style="survival"`` draws orange dash-dotted lines (the normalization
    survival condition).  ``label`` is put in the legend once.  Returns the
    number of fields that cross zero inside the plotted range.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    colour, ls = (OKABE_ITO[0], "--") if style == "b" else (OKABE_ITO[6], "-.")
    drawn = 0
    for z in fields:
        z = np.asarray(z, dtype=float)
        if z.shape != (y.size, x.size):
            raise ValueError(f"a boundary field must have shape (len(y), len(x)) = {(y.size, x.size)}, got {z.shape}")
        if not (np.nanmin(z) < 0 < np.nanmax(z)):
            continue
        ax.contour(x, y, z, levels=[0.0], colors="white", linewidths=2.4)
        ax.contour(x, y, z, levels=[0.0], colors=colour, linewidths=1.0, linestyles=ls)
        drawn += 1
    if drawn and label:
        ax.plot([], [], color=colour, lw=1.0, ls=ls, label=label)
    return drawn


def value_map(
    ax: Axes,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    label: str,
    cmap: str = "cividis",
    log: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> QuadMesh:
    """Colour a 2-D grid (``values`` shape (len(y), len(x))) by any output; colour bar labelled ``label``.

    NaN (e.g. points not computed) is left blank; ``log`` uses a logarithmic
    colour scale over the positive values.
    """
    from matplotlib import colors

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    v = np.ma.masked_invalid(np.asarray(values, dtype=float))
    if v.shape != (y.size, x.size):
        raise ValueError(f"values must have shape (len(y), len(x)) = {(y.size, x.size)}, got {v.shape}")
    norm = None
    if log:
        pos = v.compressed()[v.compressed() > 0]
        if pos.size:
            norm = colors.LogNorm(vmin=float(pos.min()), vmax=float(pos.max()))
        v = np.ma.masked_less_equal(v, 0.0)
    mesh = ax.pcolormesh(x, y, v, cmap=cmap, norm=norm, shading="nearest", rasterized=True)
    ax.figure.colorbar(mesh, ax=ax).set_label(label)
    _finish_axes(ax, x, y, xlabel, ylabel, title)
    return mesh


def status_markers(ax: Axes, x: npt.ArrayLike, y: npt.ArrayLike, status: npt.ArrayLike) -> int:
    """Mark grid points whose status is not ok: × nonfinite, + diverged (shape (len(y), len(x))).

    Status codes as in :mod:`landscape.scan.status` (0 ok, 1 nonfinite, 2 diverged,
    3 missing; missing points are left blank by the maps).  Returns the number marked.
    """
    status = np.asarray(status)
    xx, yy = np.meshgrid(np.asarray(x, float), np.asarray(y, float))
    marked = 0
    for code, marker, name in ((1, "x", "NaN / inf"), (2, "+", "diverged")):
        sel = status == code
        if sel.any():
            ax.scatter(xx[sel], yy[sel], marker=marker, s=18, color=OKABE_ITO[6], lw=1.0, label=name, zorder=5)
            marked += int(sel.sum())
    return marked
