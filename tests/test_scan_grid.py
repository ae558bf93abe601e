"""Grids of the scan layer: product order, point lists, edge cases (single point, empty, repeats)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from landscape.scan import Axis, Grid, Points, as_grid, parse_sweep


def test_product_order_matches_itertools():
    xs, ys, zs = [0.5, 0.1, 3.0], [10, 20], [-1.0, 7.5, 2.0, 2.0]
    g = Grid([Axis("x", xs), Axis("y", ys), Axis("z", zs)])
    assert g.shape == (3, 2, 4) and g.size == 24 and g.dims == ("x", "y", "z")
    params = g.parameters()
    expected = list(itertools.product(xs, ys, zs))
    got = list(zip(params["x"].tolist(), params["y"].tolist(), params["z"].tolist()))
    assert got == expected
    # any flat sub-range is the matching slice of the whole
    part = g.parameters(5, 13)
    assert {k: v.tolist() for k, v in part.items()} == {k: v[5:13].tolist() for k, v in params.items()}
    assert params["y"].dtype == np.int64 and params["x"].dtype == np.float64


def test_points_are_one_dimension_with_parameter_coordinates():
    pts = Points("spot", {"sigma2": [0.5, 2.0, 1.0], "gamma": [0.1, 0.3, 0.0]})
    g = Grid([Axis("beta", [0.3, 0.7]), pts])
    assert g.dims == ("beta", "spot") and g.shape == (2, 3)
    assert g.parameter_names == ("beta", "sigma2", "gamma")
    p = g.parameters()
    assert p["sigma2"].tolist() == [0.5, 2.0, 1.0] * 2
    assert p["beta"].tolist() == [0.3] * 3 + [0.7] * 3
    coords = g.coords()
    assert coords["spot"][1].tolist() == [0, 1, 2] and coords["gamma"][0] == "spot"
    assert (
        Points.from_records(
            "spot", [{"sigma2": 0.5, "gamma": 0.1}, {"sigma2": 2.0, "gamma": 0.3}, {"sigma2": 1.0, "gamma": 0.0}]
        )
        == pts
    )


def test_single_point_grid():
    g = Grid([Axis("x", [2.5])])
    assert g.size == 1 and g.shape == (1,)
    assert g.parameters()["x"].tolist() == [2.5]
    assert parse_sweep("x=3:3:1").values.tolist() == [3.0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Axis("x", []),
        lambda: parse_sweep("x=0:1:0"),
        lambda: parse_sweep("x="),
        lambda: Points("p", {"a": [], "b": []}),
        lambda: Points.from_records("p", []),
    ],
)
def test_empty_axis_is_a_clear_error(make):
    with pytest.raises(ValueError, match="empty"):
        make()


def test_non_uniform_and_repeated_values_survive_json_exactly():
    vals = [0.0, 0.1 + 0.2, 1e-12, 1e-12, 7.0, 3.3333333333333335]
    g = Grid([Axis("s", vals), Points("pt", {"n": [5, 5, 9]})])
    back = Grid.from_json(g.to_json())
    assert back == g
    assert back.parameters()["s"][::3].tolist() == vals  # bit-exact floats, repeats kept
    assert back.parameters()["n"].dtype == np.int64


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: Axis("x", [0.0, float("nan")]), "finite"),
        (lambda: Axis("x", [[1.0, 2.0]]), "1-D"),
        (lambda: Axis("1x", [1.0]), "identifier"),
        (lambda: Axis("x", [True, False]), "real numbers"),
        (lambda: Points("p", {"a": [1.0, 2.0], "b": [1.0]}), "same number"),
        (lambda: Grid([Axis("x", [1.0]), Axis("x", [2.0])]), "used twice"),
        (lambda: Grid([Axis("x", [1.0]), Points("p", {"x": [2.0]})]), "used twice"),
        (lambda: Grid([]), "at least one"),
        (lambda: parse_sweep("sigma2"), "NAME="),
        (lambda: parse_sweep("sigma2=0:1"), "START:STOP:NUM"),
        (lambda: parse_sweep("sigma2=a:1:3"), "numbers"),
        (lambda: parse_sweep("sigma2=0:1:2.5"), "integer"),
        (lambda: parse_sweep("sigma2=1,,2"), "empty entry"),
        (lambda: parse_sweep("sigma2=1,x"), "numbers"),
    ],
)
def test_bad_input_names_the_field(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_parse_sweep_forms():
    ax = parse_sweep(" sigma2 = 0:2:5 ")
    assert ax.name == "sigma2" and ax.values.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert parse_sweep("N=10,20,20,5").values.tolist() == [10, 20, 20, 5]
    assert parse_sweep("beta=0.25,1").values.tolist() == [0.25, 1.0]


def test_as_grid_accepts_dicts_and_components():
    g = as_grid({"a": [1.0, 2.0], "b": [3.0]})
    assert g.dims == ("a", "b") and g.size == 2
    assert as_grid(Axis("a", [1.0])).size == 1
    assert g.rename({"a": "alpha"}).dims == ("alpha", "b")
    with pytest.raises(ValueError, match="grid must be"):
        as_grid(3.0)
