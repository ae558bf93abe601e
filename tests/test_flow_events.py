"""Escape and collapse times from the integrator's events against independent routes.

* aligned problems: the closed form of :mod:`landscape.theory.escape_times` (per direction; here the
  directions keep their order in time, so direction i is rank i);
* isotropic Σ with a general W₀ (no closed form for the event times): the exact Riccati trajectory,
  evaluated at the integrator's event times, must sit on the event's level;
* the small-initialization law τ ≈ ln(λ*/λ₀)/(4m): its gap to the integrated escape time must shrink
  like ε² (gap = ln(1 − λ₀/λ*)/(4m) ≈ −λ₀/(4mλ*), λ₀ ∝ ε²).

Every problem has d0 = d1 = 4, so the tests share the integrator's compiled programs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.dynamics.flow_events import flow_events
from landscape.dynamics.trajectory import trajectory
from landscape.theory import escape_times as esc
from landscape.theory.exact_flow import aligned_directions

X64 = bool(jax.config.jax_enable_x64)
DTYPE = jnp.float64 if X64 else jnp.float32
REL = 1e-6 if X64 else 2e-3
RATE = np.array([1.0, 0.6, 0.3, -0.4])  # m = b − γ: three directions escape, one dies
SIGMA = np.array([1.0, 1.1, 1.2, 1.3])  # s_i increasing: λ* = m/(2ks²) decreasing, order kept in time
GAMMA, QUARTIC = 0.1, 0.5


def _aligned(eps: float, seed: int = 0):
    """A commuting problem in a random basis and W₀ = ε·diag(1, 0.9, 0.8, 0.7)·Qᵀ (rows rotated).

    With λ_i(0) decreasing, m_i decreasing and s_i increasing, dλ_i/dt − dλ_{i+1}/dt > 0 wherever
    λ_i = λ_{i+1}, so λ_0(t) > λ_1(t) > … at every t: direction i is rank i throughout."""
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    v = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    b = q @ np.diag(RATE + GAMMA) @ q.T
    land = ls.EffectiveLandscape(jnp.asarray(b, DTYPE), jnp.asarray(q @ np.diag(SIGMA) @ q.T, DTYPE), QUARTIC, GAMMA)
    w0 = eps * v @ np.diag(np.sqrt([1.0, 0.9, 0.8, 0.7])) @ q.T
    return land, jnp.asarray(w0, DTYPE)


def test_events_match_closed_form_on_aligned_problems():
    land, w0 = _aligned(1e-2)
    exact = trajectory(land, w0)
    assert (exact.method, exact.case) == ("exact", "aligned")
    closed = exact.events()
    assert (closed.indexed_by, closed.source) == ("direction", "closed form")
    ode = trajectory(land, w0, method="ode").events()
    assert (ode.indexed_by, ode.source) == ("rank", "integrator")
    # The closed form's directions come in the basis order of aligned_directions: sort by λ(0), descending.
    by_rank = np.argsort(-np.asarray(closed.gram0))
    esc_c, col_c = np.asarray(closed.escape_times)[by_rank], np.asarray(closed.collapse_times)[by_rank]
    assert np.isfinite(esc_c).tolist() == [True, True, True, False]
    assert np.isfinite(col_c).tolist() == [False, False, False, True]
    np.testing.assert_allclose(ode.escape_times[:3], esc_c[:3], rtol=REL)
    np.testing.assert_allclose(ode.collapse_times[3], col_c[3], rtol=REL)
    assert np.isinf(np.asarray(ode.escape_times[3])) and np.all(np.isinf(np.asarray(ode.collapse_times[:3])))
    assert np.asarray(ode.order).tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(ode.limit, np.asarray(closed.limit)[by_rank], rtol=REL, atol=1e-12)
    assert ode.horizon > float(np.max(esc_c[:3]))


def test_events_on_the_riccati_flow():
    """Σ = s·I, general small W₀: the exact trajectory at each event time is on the event's level."""
    rng = np.random.default_rng(3)
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    b = q @ np.diag([2.0, 1.2, 0.5, -0.3]) @ q.T
    land = ls.EffectiveLandscape(jnp.asarray(b, DTYPE), jnp.asarray(1.5 * np.eye(4), DTYPE), QUARTIC, GAMMA)
    w0 = jnp.asarray(1e-2 * rng.normal(size=(4, 4)), DTYPE)
    traj = trajectory(land, w0)
    assert traj.case == "isotropic"
    ev = traj.events()
    assert ev.source == "integrator"
    escapes, collapses = np.isfinite(np.asarray(ev.escape_times)), np.isfinite(np.asarray(ev.collapse_times))
    assert escapes.tolist() == [True, True, True, False] and collapses.tolist() == [False, False, False, True]
    limit = np.asarray(traj(jnp.inf).gram_eigenvalues)
    np.testing.assert_allclose(ev.limit, limit, rtol=REL, atol=1e-12)
    at_escape = np.asarray(traj(ev.escape_times[:3]).gram_eigenvalues)  # (3, d0)
    np.testing.assert_allclose(np.diagonal(at_escape), 0.5 * limit[:3], rtol=10 * REL)
    at_collapse = np.asarray(traj(ev.collapse_times[3]).gram_eigenvalues)
    np.testing.assert_allclose(at_collapse[3], 0.5 * np.asarray(ev.gram0)[3], rtol=10 * REL)


@pytest.mark.x64_only
def test_small_init_gap_shrinks_like_eps_squared():
    """The integrated escape time minus ln(λ*/λ₀)/(4m) shrinks like ε² (log-log slope 2), negative."""
    eps = np.array([0.1, 10**-1.5, 1e-2])
    gaps, leading = [], []
    for e in eps:
        land, w0 = _aligned(e)
        ev = flow_events(land, w0)
        d = aligned_directions(land, w0)
        by_rank = np.argsort(-np.asarray(d.gram0))[:3]
        law = esc.escape_time_asymptotic(d.gram0, d.rate, d.sigma, d.quartic)
        gaps.append(np.asarray(ev.escape_times)[:3] - np.asarray(law)[by_rank])
        lam0, m, s = (np.asarray(x)[by_rank] for x in (d.gram0, d.rate, d.sigma))
        leading.append(-lam0 / (4.0 * m * (m / (2.0 * QUARTIC * s**2))))  # −λ₀/(4mλ*)
    gaps = np.array(gaps)  # (ε, direction)
    assert np.all(gaps < 0)
    slopes = np.polyfit(np.log(eps), np.log(-gaps), 1)[0]
    np.testing.assert_allclose(slopes, 2.0, atol=0.03)
    # The coefficient too, at the smallest ε (next term: relative λ₀/(2λ*) < 1 %).
    np.testing.assert_allclose(gaps[-1], leading[-1], rtol=0.01)


def test_bad_fraction_and_a_zero_start():
    land, w0 = _aligned(1e-2)
    with pytest.raises(ValueError, match="^fraction must be in"):
        trajectory(land, w0, method="ode").events(fraction=1.0)
    ev = flow_events(land, jnp.zeros_like(w0))  # the origin is stationary: nothing escapes or collapses
    assert np.all(np.isinf(np.asarray(ev.escape_times))) and np.all(np.isinf(np.asarray(ev.collapse_times)))
