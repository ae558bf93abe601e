"""Exact gradient-flow trajectories against the batched integrator (the ode route), their limits, escape
times and bad input."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.core.sorting import sort_descending
from landscape.dynamics.trajectory import trajectory
from landscape.theory import escape_times as esc
from landscape.theory.exact_flow import aligned_directions, exact_case, logistic_gram

X64 = bool(jax.config.jax_enable_x64)
DTYPE = jnp.float64 if X64 else jnp.float32
# Exact vs the integrator at rtol 1e-10 (float64) / its float32 floor (64·eps ≈ 7.6e-6).
RTOL = 1e-8 if X64 else 2e-4
# Many times, in an arbitrary shape (3, 5): 0, thirteen random ones up to 8, and the limit.
TIMES = np.concatenate([[0.0], np.sort(np.random.default_rng(11).uniform(0.0, 8.0, 13)), [np.inf]]).reshape(3, 5)


def _aligned_problem(seed: int, d: int = 4, d1: int | None = None, rotate: bool = True):
    """A commuting (B, Σ) in a random eigenbasis, W₀ aligned with it (some directions die)."""
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(d, d)))[0] if rotate else np.eye(d)
    a = rng.uniform(0.3, 3.0, d)
    c = rng.uniform(0.2, 2.0, d)
    a[-1], c[-1] = 0.3, 2.0  # b − γ < 0: this direction dies
    p = ls.Problem.from_arrays(q @ np.diag(a) @ q.T, q @ np.diag(c) @ q.T)
    land = ls.effective_landscape(p, "beta-infonce", weight_decay=0.05)
    land = jax.tree_util.tree_map(lambda x: jnp.asarray(x, DTYPE), land)
    d1 = d if d1 is None else d1
    k = min(d1, d)
    v = np.linalg.qr(rng.normal(size=(d1, k)))[0]  # orthonormal columns in R^{d1}
    w0 = v @ np.diag(rng.uniform(0.05, 0.3, k)) @ q[:, :k].T
    return land, jnp.asarray(w0, DTYPE)


def _isotropic_problem(seed: int, d: int = 4, d1: int = 4):
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    a0 = q @ np.diag(rng.uniform(0.1, 1.9, d)) @ q.T
    land = ls.effective_landscape(ls.Problem.from_arrays(a0, 2.0 * np.eye(d) - a0), "beta-infonce", weight_decay=0.05)
    land = jax.tree_util.tree_map(lambda x: jnp.asarray(x, DTYPE), land)
    return land, jnp.asarray(0.1 * rng.normal(size=(d1, d)), DTYPE)


def _compare(land, w0, times):
    exact = trajectory(land, w0, method="exact")
    ode = trajectory(land, w0, method="ode", rtol=1e-10, atol=1e-14)
    assert ode.method == "ode" and ode.case is None
    a, b = exact(times), ode(times)
    assert a.gram_eigenvalues.shape == b.gram_eigenvalues.shape == times.shape + (land.dim,)
    assert a.loss.shape == b.loss.shape == times.shape
    scale = float(jnp.max(b.gram_eigenvalues))
    np.testing.assert_allclose(a.gram_eigenvalues, b.gram_eigenvalues, rtol=RTOL, atol=RTOL * scale)
    np.testing.assert_allclose(a.loss, b.loss, rtol=RTOL, atol=RTOL * float(jnp.max(jnp.abs(b.loss))))
    return exact


@pytest.mark.parametrize("seed", [0, pytest.param(2, marks=pytest.mark.slow)])  # each: an integrator compile
def test_aligned_matches_integrator(seed):
    land, w0 = _aligned_problem(seed, d1=3 if seed == 2 else None)
    exact = _compare(land, w0, TIMES)
    assert (exact.method, exact.case) == ("exact", "aligned")


@pytest.mark.parametrize(
    "d, d1", [(4, 4), pytest.param(4, 2, marks=pytest.mark.slow), pytest.param(3, 5, marks=pytest.mark.slow)]
)
def test_isotropic_matches_integrator(d, d1):
    land, w0 = _isotropic_problem(d + d1, d, d1)
    assert exact_case(land, w0).case == "isotropic"
    _compare(land, w0, 1.5 * TIMES)


def test_ode_in_pieces_and_its_failures(monkeypatch):
    """Many times run in pieces of MAX_SAVES, each from where the last ended; a failed run names t."""
    integrated = importlib.import_module("landscape.dynamics.integrated_flow")  # the module, not the function
    monkeypatch.setattr(integrated, "MAX_SAVES", 16)
    land, w0 = _aligned_problem(0)
    times = np.concatenate([np.linspace(0.0, 6.0, 40), TIMES.ravel()])  # 40 + 15, with repeats and inf
    _compare(land, w0, times)
    with pytest.raises(ValueError, match="^t: the ode route failed before t = "):
        trajectory(land, w0, method="ode", max_steps=5)(times)


def test_shapes_and_jit():
    land, w0 = _aligned_problem(3, rotate=False)
    traj = trajectory(land, w0)
    t = jnp.linspace(0.0, 3.0, 6).reshape(2, 3)
    out = traj(t)
    assert out.gram_eigenvalues.shape == (2, 3, 4) and out.loss.shape == (2, 3)
    assert traj(1.0).loss.shape == ()


@pytest.mark.parametrize("problem", ["aligned", "isotropic"])
def test_limit_is_global_minimum(problem):
    land, w0 = _aligned_problem(4) if problem == "aligned" else _isotropic_problem(4)
    best = ls.global_minimum(land, w0.shape[0])
    lim = trajectory(land, w0)(jnp.inf)
    tol = 1e-10 if X64 else 1e-5
    np.testing.assert_allclose(lim.gram_eigenvalues, best.gram_eigenvalues, atol=tol)
    np.testing.assert_allclose(lim.loss, best.loss, rtol=tol, atol=tol)


# One compiled network per shape; run op by op, the network costs seconds of dispatch per shape.
_sort_jit = jax.jit(sort_descending, static_argnames="axis")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 31, 32, 33])
def test_sorting_network_equals_sort(n):
    """The exact route's sorting network against jnp.sort: ties, ±inf, signed zeros, any axis."""
    rng = np.random.default_rng(n)
    x = rng.integers(-3, 4, size=(7, 5, n)).astype(float)  # many ties
    x[0] = rng.normal(size=(5, n))
    x[1, 0, : min(n, 3)] = [np.inf, -np.inf, -0.0][: min(n, 3)]
    x = jnp.asarray(x, DTYPE)
    np.testing.assert_array_equal(_sort_jit(x), -jnp.sort(-x, axis=-1))
    np.testing.assert_array_equal(_sort_jit(x, axis=1), -jnp.sort(-x, axis=1))
    assert _sort_jit(x).dtype == DTYPE
    if n == 2:  # outside jit too (the smallest network: one compare-exchange)
        np.testing.assert_array_equal(sort_descending(x), -jnp.sort(-x, axis=-1))


def test_logistic_special_cases():
    t = jnp.array([0.0, 1.0, 10.0, jnp.inf], DTYPE)
    lam0, k, s = 0.2, 1.0, 1.0
    decay = logistic_gram(lam0, -0.5, s, k, t)  # m < 0: λ₀e^{−2t}/(1 + 16λ₀(1 − e^{−2t})/2)
    ref = lam0 * np.exp(-2.0 * np.asarray(t)) / (1.0 + 8.0 * lam0 * (1.0 - np.exp(-2.0 * np.asarray(t))) / 2.0)
    np.testing.assert_allclose(decay, ref, rtol=1e-6)
    flat = logistic_gram(lam0, 0.0, s, k, t)  # m = 0: λ₀/(1 + 8kλ₀t)
    np.testing.assert_allclose(flat, lam0 / (1.0 + 8.0 * lam0 * np.asarray(t)), rtol=1e-6)
    assert float(logistic_gram(0.0, 1.0, s, k, jnp.inf)) == 0.0
    assert float(logistic_gram(lam0, 1.0, s, k, 1e6)) == pytest.approx(0.5)  # m/(2ks²), no overflow


def test_escape_time_hits_half_limit():
    land, w0 = _aligned_problem(5)
    w0 = 1e-2 * w0  # small init: every growing direction starts below half its limit
    ev = esc.direction_events(land, w0)
    d = aligned_directions(land, w0)
    grows = np.isfinite(np.asarray(ev.escape_times))
    assert grows.any() and (~grows).any() and np.all(np.asarray(ev.escape_times) > 0)
    lam = logistic_gram(d.gram0, d.rate, d.sigma, d.quartic, ev.escape_times)
    np.testing.assert_allclose(np.asarray(lam)[grows], 0.5 * np.asarray(ev.limit)[grows], rtol=1e-5)
    dying = np.isfinite(np.asarray(ev.collapse_times))
    lam_c = logistic_gram(d.gram0, d.rate, d.sigma, d.quartic, jnp.where(dying, ev.collapse_times, 0.0))
    np.testing.assert_allclose(np.asarray(lam_c)[dying], 0.5 * np.asarray(d.gram0)[dying], rtol=1e-5)


def test_small_init_asymptotics_and_order():
    rate = jnp.array([0.9, 0.5, 0.2, -0.3], DTYPE)
    sigma = jnp.array([1.0, 2.0, 0.5, 1.0], DTYPE)
    gaps = []
    for eps in (1e-2, 1e-4, 1e-6):
        lam0 = jnp.full(4, eps**2, DTYPE)
        exact = esc.escape_times(lam0, rate, sigma, 1.0)
        approx = esc.escape_time_asymptotic(lam0, rate, sigma, 1.0)
        gaps.append(float(jnp.max(jnp.abs(exact[:3] - approx[:3]) / approx[:3])))
        assert esc.learning_order(exact).tolist() == [0, 1, 2, 3]  # by m = b − γ, whatever s
        assert np.isinf(float(exact[3]))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-6
    # τ·m → ln(1/ε)/2 as ε → 0: the leading term of the stepwise-learning law.
    lam0 = jnp.full(4, 1e-16, DTYPE)
    tau = esc.escape_time_asymptotic(lam0, rate, sigma, 1.0)[:3]
    np.testing.assert_allclose(np.asarray(tau * rate[:3]) / (0.5 * np.log(1e8)), 1.0, rtol=0.1)


def test_collapse_times_closed_form():
    t_exp = esc.collapse_times(1e-6, -0.5, 1.0, 1.0)
    assert float(t_exp) == pytest.approx(np.log(2.0) / 2.0, rel=1e-5)  # ln 2/(4|m|)
    t_alg = esc.collapse_times(0.1, 0.0, 1.0, 1.0)
    assert float(t_alg) == pytest.approx((2.0 - 1.0) / (8.0 * 0.1), rel=1e-5)
    assert np.isinf(float(esc.collapse_times(0.1, 0.5, 1.0, 1.0)))
    # m of rounding size (0.6 − 0.5 − 0.1 = −2.8e-17) is the algebraic decay, not 0 (a cancellation once)
    m_tiny = 0.6 - 0.5 - 0.1
    assert m_tiny != 0.0
    assert float(esc.collapse_times(0.1, m_tiny, 1.0, 1.0)) == pytest.approx(float(t_alg), rel=1e-6)
    # and the time to a level is continuous in m through 0, on both sides
    near = [float(esc.level_time(0.1, m, 1.0, 1.0, 0.05)) for m in (-1e-9, 1e-9)]
    np.testing.assert_allclose(near, float(t_alg), rtol=1e-6)


def test_ode_and_auto_on_a_general_problem():
    """No closed form: auto integrates, and its limit (integrated to convergence) is the global minimum."""
    rng = np.random.default_rng(7)
    a0 = rng.normal(size=(4, 4))
    land = ls.effective_landscape(ls.Problem.from_arrays(a0 @ a0.T / 4, np.diag([0.5, 1.0, 2.0, 1.5])), "infonce")
    land = jax.tree_util.tree_map(lambda x: jnp.asarray(x, DTYPE), land)
    w0 = jnp.asarray(0.1 * rng.normal(size=(4, 4)), DTYPE)
    traj = trajectory(land, w0)
    assert traj.method == "ode" and traj.case is None and traj.reason.startswith("no closed form")
    with pytest.raises(ValueError, match="method='exact' is not available"):
        trajectory(land, w0, method="exact")
    state = traj(jnp.array([0.0, 2.0, jnp.inf]))
    best = ls.global_minimum(land, 4)
    tol = 1e-8 if X64 else 2e-4
    np.testing.assert_allclose(state.gram_eigenvalues[-1], best.gram_eigenvalues, rtol=tol, atol=tol * 1e-2)
    np.testing.assert_allclose(state.loss[-1], best.loss, rtol=tol)
    np.testing.assert_allclose(
        state.gram_eigenvalues[0], np.linalg.svd(np.asarray(w0, float), compute_uv=False) ** 2, rtol=tol
    )
    assert float(state.loss[0]) > float(state.loss[1]) > float(state.loss[2])  # the flow descends


def test_bad_input():
    land, w0 = _aligned_problem(0)
    traj = trajectory(land, w0)
    with pytest.raises(ValueError, match="^t must be >= 0"):
        traj(jnp.array([1.0, -0.5]))
    with pytest.raises(ValueError, match="^t must be"):
        traj(jnp.nan)
    with pytest.raises(ValueError, match="^w0 must have shape"):
        trajectory(land, w0[:, :2])
    with pytest.raises(ValueError, match="^w0 contains NaN"):
        trajectory(land, w0.at[0, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="^method must be one of"):
        trajectory(land, w0, method="euler")
    with pytest.raises(ValueError, match="^fraction must be in"):
        esc.direction_events(land, w0, fraction=1.5)
