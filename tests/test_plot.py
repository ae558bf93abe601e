"""landscape.plot draws given arrays; these tests check what ends up on the axes."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import plot


def grid_rank():
    x = np.linspace(0.0, 5.0, 51)
    y = np.linspace(0.0, 2.0, 21)
    a = np.array([4.0, 2.0, 1.0])
    # β-InfoNCE-like rank: #{½a_i − ½x − y > 0}.
    rank = ((0.5 * a[None, None, :] - 0.5 * x[None, :, None] - y[:, None, None]) > 0).sum(-1)
    return x, y, a, rank


def test_region_of_rank():
    np.testing.assert_array_equal(plot.region_of_rank([0, 1, 2, 3], 3), [0, 1, 1, 2])
    # No rank (NaN) and the solvers' −1 for a non-finite result are not "complete collapse".
    np.testing.assert_array_equal(plot.region_of_rank([np.nan, -1.0, 0.0], 3), [-1, -1, 0])


def test_phase_diagram_never_labels_a_nonfinite_point_as_collapse():
    x, y = np.linspace(0.0, 1.0, 8), np.linspace(0.0, 1.0, 6)
    rank = np.full((6, 8), 3)
    rank[:, :4] = -1  # the left half overflowed (rank −1), nothing collapsed
    _, ax = plot.new_figure()
    mesh = plot.phase_diagram(ax, x, y, rank, max_rank=3)
    assert [t.get_text() for t in ax.texts] == ["no collapse"]
    assert np.ma.getmaskarray(mesh.get_array()).reshape(6, 8)[:, :4].all()  # left blank


def test_phase_diagram_labels_and_boundaries(tmp_path):
    x, y, a, rank = grid_rank()
    fig, ax = plot.new_figure()
    bounds = [(x, 0.5 * ai - 0.5 * x) for ai in a]
    plot.phase_diagram(ax, x, y, rank, max_rank=3, boundaries=bounds, xlabel="σ²", ylabel="γ", title="t")
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == sorted(plot.REGION_NAMES)
    # each boundary is drawn twice (white halo + dashed line)
    assert len(ax.lines) == 2 * len(a)
    assert ax.get_xlabel() == "σ²" and ax.get_ylabel() == "γ"
    path = plot.save_figure(fig, tmp_path / "sub" / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_phase_diagram_rejects_wrong_shape():
    x, y, _, rank = grid_rank()
    _, ax = plot.new_figure()
    with pytest.raises(ValueError, match="rank must have shape"):
        plot.phase_diagram(ax, x, y, rank.T)


def test_spectrum_curves():
    x = np.linspace(0.0, 3.0, 31)
    ev = np.stack([np.clip(1.0 - x, 0, None), np.clip(2.0 - x, 0, None)], axis=1)
    _, ax = plot.new_figure()
    plot.spectrum_curves(ax, x, ev, critical=[1.0, np.inf], labels=["a", "b"])
    # two curves and one critical line (the infinite one is skipped)
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.sqrt(ev[:, 0]))
    with pytest.raises(ValueError):
        plot.spectrum_curves(ax, x, ev[:5])


def test_phase_figures_blank_the_rank_of_nonfinite_points():
    """A store whose NaN point holds rank 0 (written before ranks became −1) is not drawn as collapse."""
    import xarray as xr

    from landscape.plot import phase_figures
    from landscape.scan.status import NONFINITE, OK

    ds = xr.Dataset(
        {
            "rank": (("y", "x"), np.array([[0, 2], [1, -1]])),
            "status": (("y", "x"), np.array([[NONFINITE, OK], [OK, NONFINITE]], dtype=np.int8)),
        }
    )
    values = phase_figures._valued(ds, "rank", None)
    assert np.isnan(values[0, 0]) and np.isnan(values[1, 1]) and values[0, 1] == 2 and values[1, 0] == 1
