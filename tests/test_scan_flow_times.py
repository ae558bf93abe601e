"""`landscape scan --method flow` time outputs against the closed-form escape and collapse times.

One CLI scan of an aligned problem (diagonal β-InfoNCE, C = σ²I, W₀ = ε·I) from a small
initialization (ε = 10⁻³: every direction escapes or decays from λ₀ = 10⁻⁶ < θ) and a large
one (ε = 1: λ₀ = 1 > θ, directions fall to their λ* or to 0).  The independent route is the
logistic solution of each direction, :mod:`landscape.theory.escape_times` and
:mod:`landscape.theory.exact_flow`: the integrator's event times agree to the solver's
tolerance; the direction escape times, read off the save times, within the bound of
interpolating ln λ linearly over one save interval.
"""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.cli import main
from landscape.scan import open_scan
from landscape.scan.status import NONFINITE, OK, point_status
from landscape.theory.escape_times import level_time
from landscape.theory.exact_flow import aligned_directions, aligned_flow

A = [3.0, 2.0, 1.2, 0.5]
THETA, T_END, N_SAVE, BETA = 0.01, 12.0, 49, 0.5
pytestmark = pytest.mark.x64_only


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    out = tmp_path_factory.mktemp("flow_times") / "s.zarr"
    argv = ["scan", "--loss", "beta-infonce", "--beta", str(BETA), "--a", ",".join(map(str, A))]
    argv += ["--sweep", "sigma2=0.2,1.0", "--sweep", "gamma=0.12", "--sweep", "init_scale=1e-3,1"]
    argv += ["--method", "flow", "--init", "identity", "--threshold", str(THETA)]
    argv += ["--times", f"0:{T_END}:{N_SAVE}", "--out", str(out), "--quiet", "--json"]
    return out, argv


def _theory(sigma2: float, gamma: float, eps: float):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A, sigma2), "beta-infonce", beta=BETA, weight_decay=gamma)
    w0 = eps * jnp.eye(len(A))
    d = aligned_directions(land, w0)
    order = np.argsort(-np.asarray(d.rate), kind="stable")  # the scan's directions: m descending
    t = np.asarray(level_time(d.gram0, d.rate, d.sigma, d.quartic, THETA))[order]
    return land, w0, d, order, np.where(t <= T_END, t, np.inf)  # not reached by the end: inf


@pytest.mark.slow  # ~5 s of compiling on a quiet machine; the default run checks the same outputs through the
# scan engine in tests/test_figures_smoke.py::test_learning_dynamics_smoke (plateau length, m_i)
def test_flow_scan_time_outputs_match_the_closed_form(stored, capsys):
    out, argv = stored
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status_counts"]["ok"] == 4  # +inf ("never") is not a failure
    ds = open_scan(out)
    times = np.linspace(0.0, T_END, N_SAVE)
    np.testing.assert_allclose(ds["time"].values, times)
    for name in ("escape_time", "collapse_time", "plateau_length", "learning_order", "n_learned", "loss_curve"):
        assert name in ds, name
    crossings = {True: 0, False: 0}  # escapes, collapses checked
    for s2 in (0.2, 1.0):
        for eps in (1e-3, 1.0):
            at = ds.sel(sigma2=s2, init_scale=eps).isel(weight_decay=0)
            land, w0, d, order, t_dir = _theory(s2, 0.12, eps)
            small = eps**2 < THETA
            event = at["escape_time"] if small else at["collapse_time"]
            other = at["collapse_time"] if small else at["escape_time"]
            assert np.isinf(other.values).all()
            # the k-th eigenvalue crossing θ is the k-th direction to cross (upward: in time order;
            # downward: the smallest eigenvalue first)
            want = np.sort(t_dir[np.isfinite(t_dir)])
            got = np.sort(event.values[np.isfinite(event.values)])
            assert got.size == want.size
            crossings[small] += want.size
            np.testing.assert_allclose(got, want, rtol=1e-5)
            if small:
                assert float(at["plateau_length"]) == pytest.approx(want[0], rel=1e-5)
                # direction escape times from the save times: linear ln λ over one interval Δt errs
                # by ≤ Δt²/8 · max|d² ln λ/dt²| = Δt²/8 · cλ(r − cλ) (λ ≤ λ_b = θe^{rΔt} there),
                # a time error of that over the slope r − cλ_b of ln λ
                dt = times[1] - times[0]
                r, c = 4 * np.asarray(d.rate)[order], 8 * BETA * np.asarray(d.sigma)[order] ** 2
                lam_b = THETA * np.exp(np.abs(r) * dt)
                bound = dt**2 / 8 * c * lam_b * (np.abs(r) + c * lam_b) / np.maximum(r - c * lam_b, 1e-300)
                got_dir = at["direction_escape_time"].values
                assert (np.isfinite(got_dir) == np.isfinite(t_dir)).all()
                fin = np.isfinite(t_dir)
                assert (np.abs(got_dir[fin] - t_dir[fin]) <= bound[fin] + 1e-9).all()
                n = int(fin.sum())
                expect_order = np.concatenate([np.argsort(t_dir, kind="stable")[:n], -np.ones(len(A) - n)])
                np.testing.assert_array_equal(at["learning_order"].values, expect_order)
                # n_learned at each save time (away from the crossings)
                learned = (want[None, :] < times[:, None]).sum(1)
                near = (np.abs(times[:, None] - want[None, :]) < 1e-3).any(1)
                np.testing.assert_array_equal(at["n_learned"].values[~near], learned[~near])
            # the loss and the spectrum along the way: the closed-form aligned flow
            exact = aligned_flow(land, w0)(jnp.asarray(times))
            np.testing.assert_allclose(at["loss_curve"].values, exact.loss, rtol=1e-5, atol=1e-8)
            np.testing.assert_allclose(at["gram_curve"].values, exact.gram_eigenvalues, rtol=1e-5, atol=1e-10)
            np.testing.assert_allclose(at["b_eigenvalues"].values, np.asarray(d.rate)[order], rtol=1e-12)
    assert crossings[True] >= 5 and crossings[False] >= 2


def test_open_ended_outputs_allow_only_plus_inf():
    out = {"escape_time": np.array([[np.inf], [1.0], [np.nan], [-np.inf]]), "loss": np.zeros(4)}
    assert point_status(out, 4, open_ended=("escape_time",)).tolist() == [OK, OK, NONFINITE, NONFINITE]
    assert point_status(out, 4).tolist() == [NONFINITE, OK, NONFINITE, NONFINITE]
