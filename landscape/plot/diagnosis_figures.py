r"""The diagnosis's figure: predicted against measured spectra along the estimated directions.

:func:`spectrum_comparison` draws, per direction i (in order of decreasing estimated
data variance, as :func:`landscape.diagnosis.diagnose` reports them), the predicted
u_iᵀGu_i of the closed-form minimum and the measured ‖W u_i‖² of a trained last
layer, each relative to its own largest value (the theory's quartic term sets an
overall scale that a trained network need not share; the rank does not depend on
it), on a logarithmic axis.  Zeros are drawn on the bottom edge with a downward
triangle.  Directions the prediction collapses are shaded, undecided ones hatched,
and the measured cut rtol² (on λ, i.e. rtol on the singular values) is a dotted line.

Example:
    >>> from landscape.plot import new_figure
    >>> fig, ax = new_figure()
    >>> spectrum_comparison(ax, [0.5, 0.1, 0.0], [0.6, 0.08, 1e-9], kept=(True, True, False), rtol=1e-2)
    >>> ax.get_yscale(), len(ax.get_legend().get_texts())
    ('log', 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from landscape.plot import OKABE_ITO

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["spectrum_comparison"]

#: Relative values below this are drawn on the bottom edge (they are zero for the figure).
FLOOR = 1e-12


def _relative(values: npt.ArrayLike, scale: float | None) -> np.ndarray:
    v = np.clip(np.asarray(values, dtype=float), 0.0, None)
    top = float(np.max(v)) if scale is None else float(scale)
    return v / top if top > 0 else np.zeros_like(v)


def spectrum_comparison(
    ax: Axes,
    predicted: npt.ArrayLike,
    measured: npt.ArrayLike | None = None,
    *,
    kept: Sequence[bool | None] | None = None,
    rtol: float | None = None,
    measured_scale: float | None = None,
    title: str | None = None,
) -> None:
    """Draw the predicted (and measured) spectrum per direction, each relative to its largest value.

    Args:
        ax: the Matplotlib axes.
        predicted: u_iᵀGu_i per direction (d,).
        measured: ‖W u_i‖² per direction (d,), or None.
        kept: the prediction per direction (True / False / None undecided): collapsed directions
            are shaded, undecided ones hatched.
        rtol: the measured cut on the singular values; drawn at rtol² (needs ``measured``).
        measured_scale: what ``measured`` is divided by (default its largest value; pass σ_max(W)²
            so that the cut line is exact).
        title: the axes title.
    """
    pred = _relative(predicted, None)
    d = pred.size
    x = np.arange(1, d + 1)
    lows = [pred[pred > FLOOR]]
    meas = None if measured is None else _relative(measured, measured_scale)
    if meas is not None:
        lows.append(meas[meas > FLOOR])
    if rtol is not None and meas is not None:
        lows.append(np.array([rtol * rtol]))
    low = min((float(v.min()) for v in lows if v.size), default=1.0) / 10.0
    for i, k in enumerate(kept or ()):
        if k is False:
            ax.axvspan(i + 0.5, i + 1.5, color="0.88", lw=0)
        elif k is None:
            ax.axvspan(i + 0.5, i + 1.5, facecolor="none", edgecolor="0.6", hatch="//", lw=0)
    series = [(pred, "predicted (closed form)", "o", OKABE_ITO[5], "none")]
    if meas is not None:
        series.append((meas, "measured (trained W)", "s", OKABE_ITO[6], OKABE_ITO[6]))
    for values, label, marker, colour, face in series:
        shown = np.where(values > FLOOR, values, low)
        ax.plot(x, shown, color=colour, lw=1.0, alpha=0.5)
        ax.scatter(
            x[values > FLOOR],
            shown[values > FLOOR],
            marker=marker,
            facecolors=face,
            edgecolors=colour,
            label=label,
            zorder=3,
        )
        ax.scatter(x[values <= FLOOR], shown[values <= FLOOR], marker="v", color=colour, zorder=3)
    if rtol is not None and meas is not None:
        ax.axhline(rtol * rtol, color=OKABE_ITO[0], lw=0.9, ls=":", label=f"measured cut (rtol = {rtol:g})")
    ax.set_yscale("log")
    ax.set_ylim(low / 2.0, 2.0)
    ax.set_xlim(0.5, d + 0.5)
    ax.set_xticks(x)
    ax.set_xlabel("direction (decreasing estimated data variance)")
    ax.set_ylabel("λ along the direction / largest")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, frameon=False)
