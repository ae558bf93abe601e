r"""Figures drawn from stored phase scans, without recomputing the scan.

A phase scan's dataset (:func:`landscape.phase.phase_scan`, or
:func:`landscape.scan.open_scan` on its store) records its model, so a figure
needs nothing else:

* :func:`plane`        the 2-D (or 1-D) slice to draw: other grid dimensions are
  fixed at given values (nearest grid value) or at their first value;
  repeated axis values are dropped and axes sorted;
* :func:`draw_map`     the phase map of the slice, coloured by rank (regions
  labelled no / dimensional / complete collapse) or by any output, with the
  analytic boundaries b_i = 0 (and, with normalization, the survival condition)
  as zero contours of :func:`landscape.phase.boundary_fields` on a fine grid;
* :func:`draw_spectrum` the eigenvalues of WᵀW along a 1-D cut, with the
  analytic critical values;
* :func:`scan_figure`  both panels for one dataset.

The boundary fields are closed-form functions of the parameters (the loss
table, or the κ → ∞ normalization limit); the maps themselves are the stored
values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape import phase, plot
from landscape.scan.grid import Axis, Grid
from landscape.scan.status import MISSING, NONFINITE

if TYPE_CHECKING:  # matplotlib and xarray are imported when a figure is drawn, not with the package
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plane", "draw_map", "draw_spectrum", "scan_figure", "axis_label"]

_FINE = 241


def axis_label(name: str) -> str:
    """Axis label with units for a parameter (its name when unknown)."""
    return phase.PARAMETER_LABELS.get(name, name)


def _grid(ds) -> Grid:
    return Grid.from_json(ds.attrs["grid"])


def _model(ds):
    try:
        return phase.model_from_dataset(ds)
    except (KeyError, ValueError):
        return None, None


def plane(
    ds: xr.Dataset, x: str | None = None, y: str | None = None, at: Mapping[str, Any] | None = None
) -> tuple[xr.Dataset, str, str | None, dict[str, Any]]:
    """``(sub, x, y, fixed)``: the slice of ``ds`` over axes ``x`` (and ``y``), and the fixed values.

    ``x``/``y`` default to the first two axis dimensions (``y`` is None for a
    one-axis grid).  Every other grid dimension is fixed at ``at[name]``
    (nearest value; an index for a point list) or at its first entry.
    ``fixed`` maps the parameters of the fixed dimensions to their values.
    """
    grid = _grid(ds)
    axes = [c.name for c in grid.components if isinstance(c, Axis)]
    at = dict(at or {})
    if x is None:
        if not axes:
            raise ValueError("the scan has no axis dimension to draw (only point lists)")
        x = axes[0]
    if y is None:
        rest = [a for a in axes if a != x and a not in at]
        y = rest[0] if rest else None
    for name, role in ((x, "x"), (y, "y")):
        if name is not None and name not in axes:
            raise ValueError(f"{role} must be one of the scan's axes {axes}, got {name!r}")
    if x == y:
        raise ValueError(f"x and y must differ, got {x!r} twice")
    sub = ds
    fixed: dict[str, float] = {}
    for comp in grid.components:
        if comp.dim in (x, y):
            continue
        if comp.dim in at:
            if isinstance(comp, Axis):
                sub = sub.sel({comp.dim: float(at[comp.dim])}, method="nearest")
            else:
                sub = sub.isel({comp.dim: int(at[comp.dim])})
        else:
            sub = sub.isel({comp.dim: 0})
        for name in comp.parameter_names:
            fixed[name] = float(np.asarray(sub[name]).reshape(-1)[0])
    unknown = set(at) - set(grid.dims)
    if unknown:
        raise ValueError(f"--at names {sorted(unknown)} are not dimensions of the scan {list(grid.dims)}")
    for name in (x, y):
        if name is None:
            continue
        vals = np.asarray(sub[name].values)
        _, first = np.unique(vals, return_index=True)  # sorted unique values, first occurrence
        sub = sub.isel({name: first})
    return sub, x, y, fixed


def _valued(sub, var: str, index: int | None):
    da = sub[var]
    extra = [d for d in da.dims if d not in sub["status"].dims]
    if extra:
        if index is None:
            index = 0
        da = da.isel({extra[0]: int(index)})
        extra = extra[1:]
        if extra:
            raise ValueError(f"{var} has more than one own dimension; cannot draw it as a map")
    values = np.asarray(da.values, dtype=float)
    status = np.asarray(sub["status"].values)
    values[status == MISSING] = np.nan
    if var in ("rank", "region", "predicted_rank"):
        # A point whose outputs are NaN/inf has no rank (stores written before ranks became −1
        # there hold 0): blank and marked, never drawn as complete collapse.
        values[(status == NONFINITE) | (values < 0)] = np.nan
    return values


def _d_star(model, desc, sub) -> int:
    if model is None:
        return int(np.nanmax(np.asarray(sub["rank"].values, float)))
    d = model.dim
    d1 = model.params.get("out_dim")
    return min(d, int(d1)) if d1 else d


def _fine(values: np.ndarray) -> np.ndarray:
    return np.linspace(float(np.min(values)), float(np.max(values)), _FINE)


def draw_map(
    ax: Axes,
    ds: xr.Dataset,
    *,
    var: str = "rank",
    index: int | None = None,
    x: str | None = None,
    y: str | None = None,
    at: Mapping[str, Any] | None = None,
    boundaries: bool = True,
    title: str | None = None,
    colorbar: bool = True,
) -> dict:
    """Draw the phase map of ``var`` over (x, y); returns what was drawn (axes, counts).

    Points whose status is not ok are marked (× NaN/inf, + diverged) and
    missing ones left blank.
    """
    sub, x, y, fixed = plane(ds, x, y, at)
    if y is None:
        raise ValueError("a phase map needs two axes; this scan (or slice) has one — draw its spectrum instead")
    sub = sub.transpose(y, x, ...)
    xs, ys = np.asarray(sub[x].values, float), np.asarray(sub[y].values, float)
    model, desc = _model(ds)
    method = desc.get("method", "closed form") if desc else "scan"
    values = _valued(sub, var, index)
    if var == "rank":
        plot.phase_diagram(
            ax,
            xs,
            ys,
            values,
            max_rank=_d_star(model, desc, sub),
            xlabel=axis_label(x),
            ylabel=axis_label(y),
            title=title,
            colorbar=colorbar,
            colorbar_label=f"rank of WᵀW ({method.replace('-', ' ')})",
        )
    else:
        label = phase.OUTPUT_LABELS.get(var, var) + (f" [{index or 0}]" if values.ndim and index is not None else "")
        plot.value_map(ax, xs, ys, values, label=label, xlabel=axis_label(x), ylabel=axis_label(y), title=title)
    info = {"x": x, "y": y, "fixed": fixed, "boundaries": 0, "survival": 0}
    info["marked"] = plot.status_markers(ax, xs, ys, np.asarray(sub["status"].values))
    if boundaries and model is not None:
        fx, fy = _fine(xs), _fine(ys)
        fields = phase.boundary_fields(model, {y: fy, x: fx}, fixed)
        info["boundaries"] = plot.boundary_contours(
            ax, fx, fy, [f.values for f in fields if f.kind == "b"], style="b", label="b_i = 0 (analytic)"
        )
        info["survival"] = plot.boundary_contours(
            ax,
            fx,
            fy,
            [f.values for f in fields if f.kind == "survival"],
            style="survival",
            label="survival condition (κ → ∞)",
        )
        if info["boundaries"] or info["survival"] or info["marked"]:
            ax.legend(fontsize=7, loc="upper right", framealpha=0.85)
    return info


def draw_spectrum(
    ax: Axes, ds: xr.Dataset, *, x: str | None = None, at: Mapping[str, Any] | None = None, title: str | None = None
) -> dict:
    """√λ of WᵀW per direction along ``x`` (other dimensions fixed by ``at``), with critical values."""
    sub, x, _, fixed = plane(ds, x, None, at)
    sub = sub.isel({d: 0 for d in sub["status"].dims if d != x})
    var = "direction_gram" if "direction_gram" in sub else "gram_eigenvalues"
    ev = np.asarray(sub[var].transpose(x, ...).values, float)
    ev[np.asarray(sub["status"].values) == MISSING] = np.nan
    xs = np.asarray(sub[x].values, float)
    model, desc = _model(ds)
    # Fixed values of every other grid parameter at the cut (including the other axis).
    grid = _grid(ds)
    cut = dict(fixed)
    for comp in grid.components:
        if comp.dim != x:
            for name in comp.parameter_names:
                cut[name] = float(np.asarray(sub[name]).reshape(-1)[0])
    crit = None
    labels = None
    if model is not None and var == "direction_gram":
        fine = _fine(xs)
        fields = phase.boundary_fields(model, {x: fine}, cut)
        crit = [phase.crossings_along(fine, f.values) for f in fields if f.kind == "b"]
        basis = np.asarray(desc["direction_basis"], float)
        a = np.einsum("ji,jk,ki->i", basis, model.data_cov, basis)
        c = np.einsum("ji,jk,ki->i", basis, model.aug_cov, basis)
        uses_c0 = "sigma2" not in cut and model.params.get("sigma2") is None and np.any(c != 0)
        labels = [f"a = {v:.3g}, c = {w:.3g}" if uses_c0 else f"a = {v:.3g}" for v, w in zip(a, c)]
    where = ", ".join(f"{phase.PARAMETER_SYMBOLS.get(k, k)} = {v:.4g}" for k, v in cut.items() if k != x)
    which = "per eigen-direction of A0" if var == "direction_gram" else "eigenvalues"
    plot.spectrum_curves(
        ax,
        xs,
        ev,
        critical=None if crit is None else np.asarray(crit),
        labels=labels,
        xlabel=axis_label(x),
        ylabel=f"√λ of WᵀW ({which})",
        title=title or (f"spectrum along {phase.PARAMETER_SYMBOLS.get(x, x)}" + (f" at {where}" if where else "")),
    )
    if labels is not None:
        ax.legend(fontsize=7, ncol=2, loc="upper right", framealpha=0.85)
    return {"x": x, "cut": cut, "critical": crit}


def scan_figure(
    ds: xr.Dataset,
    *,
    var: str = "rank",
    index: int | None = None,
    x: str | None = None,
    y: str | None = None,
    at: Mapping[str, Any] | None = None,
    cut: Mapping[str, Any] | None = None,
    title: str | None = None,
    boundaries: bool = True,
) -> tuple[Figure, dict]:
    """A figure with the phase map (two axes) and the spectrum along ``x`` at ``cut``; ``(fig, info)``."""
    sub, x, y, _ = plane(ds, x, y, at)
    if y is None:
        fig, ax = plot.new_figure(1, width=6.0, height=4.4)
        info = {"spectrum": draw_spectrum(ax, ds, x=x, at=at, title=title)}
        return fig, info
    fig, axes = plot.new_figure(2, width=5.8, height=4.6)
    info = {"map": draw_map(axes[0], ds, var=var, index=index, x=x, y=y, at=at, title=title, boundaries=boundaries)}
    cut_at = dict(at or {})
    cut_at.update(cut or {})
    if y not in cut_at:
        cut_at[y] = float(np.asarray(sub[y].values)[0])
    info["spectrum"] = draw_spectrum(axes[1], ds, x=x, at=cut_at)
    return fig, info
