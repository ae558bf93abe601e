"""The scan driver in memory: a scan equals a plain loop over points, for any chunking.

Every expected value is computed point by point with NumPy, independently of
vmap, jit and the chunk layout.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from landscape.scan import DIVERGED, NONFINITE, OK, Axis, Grid, Points, execute, output_specs, scan


def model_fn(p):
    """A small nested pytree of outputs: scalars, a vector and an int."""
    x, y = p["x"], p["y"]
    m = jnp.array([[x, y], [y, 2.0]])
    return {"stats": {"sum": x + y, "prod": x * y}, "eig": jnp.linalg.eigvalsh(m), "count": (x > y).astype(jnp.int32)}


def expected_at(x, y):
    return {
        "stats_sum": x + y,
        "stats_prod": x * y,
        "eig": np.linalg.eigvalsh(np.array([[x, y], [y, 2.0]])),
        "count": int(x > y),
    }


XS = [0.3, -1.0, 2.5, 2.5, 10.0]  # non-uniform, with a repeated value
YS = [0.0, 1.5, 0.25]


@pytest.mark.parametrize("chunk", [1, 4, 15, None])
def test_scan_matches_point_loop(chunk, tol):
    ds = scan(model_fn, Grid([Axis("x", XS), Axis("y", YS)]), chunk_size=chunk, output_dims={"eig": ("k",)})
    assert ds["stats_sum"].dims == ("x", "y") and ds["eig"].dims == ("x", "y", "k")
    assert ds["x"].values.tolist() == XS and ds["y"].values.tolist() == YS
    assert ds["count"].dtype.kind == "i"
    for i, x in enumerate(XS):
        for j, y in enumerate(YS):
            exp = expected_at(x, y)
            for name, value in exp.items():
                np.testing.assert_allclose(ds[name].values[i, j], value, rtol=tol["exact"], atol=tol["exact"])
    assert (ds["status"].values == OK).all()


def test_chunking_does_not_change_any_bit():
    grid = Grid([Axis("x", np.linspace(-2, 3, 7)), Points("pt", {"y": [0.5, 1.5, -0.25]})])
    runs = [scan(model_fn, grid, chunk_size=c) for c in (1, 5, 21)]
    for ds in runs[1:]:
        for name in runs[0].data_vars:
            np.testing.assert_array_equal(ds[name].values, runs[0][name].values)


def test_points_dimension_and_coordinates():
    grid = Grid([Points("spot", {"x": [1.0, 4.0], "y": [2.0, -1.0]})])
    ds = scan(model_fn, grid)
    assert ds["stats_prod"].dims == ("spot",)
    assert ds["x"].dims == ("spot",) and ds["y"].values.tolist() == [2.0, -1.0]
    assert ds["stats_prod"].values.tolist() == [2.0, -4.0]


def test_single_point_grid():
    ds = scan(model_fn, Grid([Axis("x", [1.5]), Axis("y", [0.5])]))
    assert ds["stats_sum"].shape == (1, 1) and ds["stats_sum"].values.item() == 2.0


def test_nan_points_are_flagged_and_do_not_poison_their_chunk():
    def fn(p):
        x = p["x"]
        return {"root": jnp.sqrt(x), "log": jnp.log(x + 2.0), "diverged": x > 8.0}

    xs = [-1.0, 0.0, 1.0, 4.0, -3.0, 9.0, 16.0]
    ds = scan(fn, Grid([Axis("x", xs)]), chunk_size=len(xs))  # one chunk holds them all
    status = ds["status"].values.tolist()
    assert status == [NONFINITE, OK, OK, OK, NONFINITE, DIVERGED, DIVERGED]
    np.testing.assert_array_equal(ds["root"].values[[1, 2, 3, 5, 6]], [0.0, 1.0, 2.0, 3.0, 4.0])
    assert np.isnan(ds["root"].values[0])  # recorded, not dropped
    assert np.isnan(ds["log"].values[4]) and np.isfinite(ds["log"].values[0])


def test_memory_budget_sets_the_chunk():
    def fn(p):
        return {"m": jnp.eye(16) * p["x"]}

    example = {"x": jnp.zeros(())}
    per_point = execute.bytes_per_point(fn, example)
    assert per_point >= 16 * 16 * jnp.zeros(()).dtype.itemsize
    grid = Grid([Axis("x", np.arange(50.0))])
    ds = scan(fn, grid, memory_budget=3 * per_point)
    assert ds.attrs["chunk_size"] == 3
    assert scan(fn, grid, memory_budget=10**9).attrs["chunk_size"] == 50  # capped by the grid
    assert execute.chunk_size_for_budget(100, 1000, n_devices=4, n_points=1000) == 40
    assert execute.chunk_size_for_budget(100, 10, n_devices=4, n_points=1000) == 4  # at least one per device


def test_output_specs_and_errors():
    specs = output_specs(model_fn, {"x": jnp.zeros(()), "y": jnp.zeros(())}, {"eig": ("k",)})
    assert specs["eig"].shape == (2,) and specs["eig"].dims == ("k",)
    assert specs["stats_sum"].dims == ()
    with pytest.raises(ValueError, match="unknown outputs"):
        output_specs(model_fn, {"x": jnp.zeros(()), "y": jnp.zeros(())}, {"nope": ("k",)})
    with pytest.raises(ValueError, match="2 names"):
        output_specs(model_fn, {"x": jnp.zeros(()), "y": jnp.zeros(())}, {"eig": ("k", "l")})
    with pytest.raises(ValueError, match="chunk_size"):
        scan(model_fn, Grid([Axis("x", [1.0]), Axis("y", [1.0])]), chunk_size=0)
    with pytest.raises(ValueError, match="devices"):
        scan(model_fn, Grid([Axis("x", [1.0]), Axis("y", [1.0])]), devices=99)
    bare = scan(lambda p: p["x"] * 2.0, Grid([Axis("x", [1.0, 2.0])]))
    assert bare["value"].values.tolist() == [2.0, 4.0]


def test_progress_reports_rate_and_eta():
    seen = []
    scan(model_fn, Grid([Axis("x", np.arange(10.0)), Axis("y", [1.0])]), chunk_size=3, progress=seen.append)
    assert [p.done for p in seen] == [3, 6, 9, 10, 10]
    assert seen[-1].finished and seen[-1].computed == 10 and seen[-1].reused == 0
    assert all(p.rate is None or p.rate > 0 for p in seen) and seen[0].eta is not None


def test_chunks_for_process_partition():
    n = 11
    shares = [execute.chunks_for_process(n, i, 3) for i in range(3)]
    assert sorted(sum(shares, [])) == list(range(n))
    assert shares[2] == [2, 5, 8]
    with pytest.raises(ValueError, match="process_index"):
        execute.chunks_for_process(n, 3, 3)
