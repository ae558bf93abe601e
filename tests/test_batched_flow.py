"""The batched gradient-flow integrator against independent routes.

* per-point diffrax (:func:`landscape.gradient_flow`, Tsit5) on non-commuting problems, at the save times;
* the exact solution of the aligned commuting case: per direction, λ = w² follows the logistic
  equation dλ/dt = 4(b − γ)λ − 8k s²λ², so λ(t) = λ∞ / (1 + (λ∞/λ₀ − 1)e^{−4(b−γ)t}) with
  λ∞ = (b − γ)/(2k s²), and its crossing times t = ln((λ∞/λ₀ − 1)/(λ∞/θ − 1))/(4(b − γ));
* the convergence order of the Dormand–Prince step on that solution (fixed steps), and on the closed-form
  Riccati flow of isotropic Σ with a general W₀ (fixed steps: order 5; adaptive: error ∝ rtol, steps ∝ rtol^{−1/5});
* the event times of diffrax's bisection on its dense solution.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.core.linalg import gram_spectrum
from landscape.dynamics import _dopri5 as rk
from landscape.dynamics.batched_flow import batched_gradient_flow
from landscape.theory.riccati_flow import isotropic_flow

B_DIAG = np.array([2.0, 1.2, 0.7, 0.3])
S_DIAG = np.array([0.5, 1.0, 0.8, 1.5])


def _stack(*trees):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


def _dtype():
    return jnp.zeros(()).dtype


def _aligned(gamma=0.1, quartic=0.5):
    dt = _dtype()
    return ls.EffectiveLandscape(jnp.diag(jnp.asarray(B_DIAG, dt)), jnp.diag(jnp.asarray(S_DIAG, dt)), quartic, gamma)


def _logistic(lam0, t, gamma=0.1, quartic=0.5):
    """Exact λ_i(t) of the aligned diagonal flow (descending b, all above γ here)."""
    r = 4.0 * (B_DIAG - gamma)
    lam_inf = (B_DIAG - gamma) / (2.0 * quartic * S_DIAG**2)
    t = np.asarray(t)[..., None]
    return lam_inf / (1.0 + (lam_inf / lam0 - 1.0) * np.exp(-r * t))


@pytest.mark.slow  # 10–60 s of compiles on 2 CPU cores; test_exact_logistic_within_tolerance runs by default
def test_matches_diffrax_on_non_commuting_problems(dense_landscape, tol):
    lands = [dense_landscape(4, seed=s, gamma=g) for s, g in ((0, 0.05), (1, 0.2), (2, 0.0))]
    w0 = 0.3 * jax.random.normal(jax.random.PRNGKey(1), (3, 3, 4), _dtype())
    ref = [ls.gradient_flow(land, w, t1=4.0, n_save=9, rtol=1e-10) for land, w in zip(lands, w0)]
    times = np.asarray(ref[0].times)
    out = batched_gradient_flow(_stack(*lands), w0, times=times, rtol=1e-10)
    assert out.weights.shape == (3, 9, 3, 4) and not bool(out.diverged.any())
    for i, r in enumerate(ref):
        np.testing.assert_allclose(out.loss[i], r.trajectory_loss, rtol=tol["flow"], atol=tol["flow"])
        np.testing.assert_allclose(
            out.gram_eigenvalues[i], r.trajectory_eigenvalues, rtol=tol["flow"], atol=tol["flow"]
        )
    # One shared landscape, many initial points: the same as the batch of copies.
    shared = batched_gradient_flow(lands[0], w0, times=times, rtol=1e-10)
    np.testing.assert_allclose(shared.loss[0], out.loss[0], rtol=tol["exact"], atol=tol["exact"])


def test_exact_logistic_within_tolerance(x64):
    lam0 = np.array([1e-4, 4e-4, 1e-3, 2e-3])
    w0 = jnp.asarray(np.diag(np.sqrt(lam0)), _dtype())[None]
    times = np.linspace(0.0, 6.0, 16)  # 16 saves: the program of the ode route's smallest grid (shared)
    errors = []
    for rtol in (1e-5, 1e-7, 1e-9) if x64 else (1e-5,):
        out = batched_gradient_flow(_aligned(), w0, times=times, rtol=rtol, atol=1e-14)
        exact = np.sort(_logistic(lam0, times), axis=-1)[:, ::-1]
        errors.append(np.max(np.abs(np.asarray(out.gram_eigenvalues[0]) / exact - 1.0)))
        assert errors[-1] < 200 * max(rtol, 64 * np.finfo(_dtype()).eps), (rtol, errors[-1])
    assert errors == sorted(errors, reverse=True)  # tighter tolerance, smaller error


@pytest.mark.slow  # 10–60 s of compiles on 2 CPU cores; test_exact_logistic_within_tolerance runs by default
@pytest.mark.x64_only
def test_dormand_prince_is_fifth_order():
    """Fixed steps on the 1-D logistic flow: global error ∝ h⁵, local error estimate ∝ h⁵ per step."""
    land = _aligned()

    def field(w):
        return -ls.gradient(land, w)

    w0 = jnp.diag(jnp.sqrt(jnp.asarray([0.05, 0.05, 0.05, 0.05])))
    t_end = 1.0
    exact = _logistic(np.full(4, 0.05), t_end)
    errs, hs = [], []
    for n in (8, 16, 32, 64):
        h = jnp.asarray(t_end / n)

        def body(_, w, h=h):
            return rk.step(field, w, field(w), h)[0]

        w = jax.lax.fori_loop(0, n, body, w0)
        errs.append(np.max(np.abs(np.diag(np.asarray(w)) ** 2 - exact)))
        hs.append(t_end / n)
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert 4.6 < order < 5.6, (order, errs)
    # The embedded estimate is a 5th-order local quantity: halving h divides it by ≈ 2⁵.
    est = [float(jnp.max(jnp.abs(rk.step(field, w0, field(w0), jnp.asarray(h))[2]))) for h in (0.05, 0.025)]
    assert 20 < est[0] / est[1] < 45


@pytest.mark.slow  # 10–60 s of compiles on 2 CPU cores; test_exact_logistic_within_tolerance runs by default
def test_event_times_exact_and_diffrax(dense_landscape, x64):
    theta = 0.05
    lam0 = np.array([1e-4, 4e-4, 1e-3, 2e-3])
    w0 = jnp.asarray(np.diag(np.sqrt(lam0)), _dtype())[None]
    out = batched_gradient_flow(_aligned(), w0, times=[8.0], threshold=theta, rtol=1e-9)
    r = 4.0 * (B_DIAG - 0.1)
    lam_inf = (B_DIAG - 0.1) / (2.0 * 0.5 * S_DIAG**2)
    t_exact = np.log((lam_inf / lam0 - 1.0) / (lam_inf / theta - 1.0)) / r
    # The i-th largest eigenvalue crosses θ when the i-th direction to do so does.
    rel = 1e-6 if x64 else 1e-3
    np.testing.assert_allclose(out.event_times[0], np.sort(t_exact), rtol=rel)

    # Non-commuting, small random start: against diffrax's bisection on its dense solution.
    land = dense_landscape(3, seed=3, gamma=0.05)
    w = 1e-3 * jax.random.normal(jax.random.PRNGKey(0), (3, 3), _dtype())
    ref = ls.gradient_flow(land, w, t1=30.0, threshold=theta, rtol=1e-10)
    mine = batched_gradient_flow(land, w[None], times=[30.0], threshold=theta, rtol=1e-10)
    assert np.isfinite(np.asarray(ref.event_times)).sum() >= 2
    np.testing.assert_allclose(mine.event_times[0], ref.event_times, rtol=1e-6 if x64 else 2e-3)


@pytest.mark.slow  # 10–60 s of compiles on 2 CPU cores; test_exact_logistic_within_tolerance runs by default
def test_diverging_point_does_not_stop_the_others(tol):
    good = _aligned()
    bad = ls.EffectiveLandscape(good.b, good.sigma, -0.5, 0.1)  # negative quartic: finite-time blow-up
    lands = _stack(good, bad, good)
    w0 = jnp.broadcast_to(0.2 * jnp.eye(4, dtype=_dtype()), (3, 4, 4))
    out = batched_gradient_flow(lands, w0, times=[0.5, 1.0, 3.0])
    assert out.diverged.tolist() == [False, True, False]
    assert out.diverged_step.tolist()[0] == -1 and out.diverged_step.tolist()[1] >= 0
    assert bool(jnp.all(jnp.isfinite(out.weights)))
    alone = batched_gradient_flow(good, w0[:1], times=[0.5, 1.0, 3.0])
    np.testing.assert_allclose(out.loss[2], alone.loss[0], rtol=tol["exact"], atol=tol["exact"])
    # A step budget too small fails that point only.
    tight = batched_gradient_flow(good, w0[:2] * jnp.asarray([1.0, 1e-4])[:, None, None], times=[3.0], max_steps=75)
    assert tight.diverged.tolist() == [False, True], tight.n_steps


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(times=[-1.0, 1.0]), "times must be >= 0"),
        (dict(times=[1.0, 1.0]), "strictly increasing"),
        (dict(times=[[1.0]]), "1-D"),
        (dict(times=[np.nan]), "finite"),
        (dict(times=[1.0], threshold=-1.0), "threshold"),
        (dict(times=[1.0], rtol=0.0), "rtol"),
        (dict(times=[1.0], w0=np.zeros((4, 4))), "batch of weight matrices"),
        (dict(times=[1.0], w0=np.zeros((1, 4, 3))), "columns"),
        (dict(times=[1.0], w0=np.full((1, 4, 4), np.nan)), "NaN"),
    ],
)
def test_bad_input_one_line(kwargs, match):
    w0 = kwargs.pop("w0", np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=match) as err:
        batched_gradient_flow(_aligned(), w0, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.slow  # 10–60 s of compiles on 2 CPU cores; test_exact_logistic_within_tolerance runs by default
@pytest.mark.x64_only
def test_float32_follows_float64():
    lam0 = np.array([1e-2, 4e-2, 1e-1, 2e-1])
    w64 = jnp.asarray(np.diag(np.sqrt(lam0)))[None]
    times = [0.5, 2.0]
    a = batched_gradient_flow(_aligned(), w64, times=times)
    b = batched_gradient_flow(_aligned(), w64.astype(jnp.float32), times=times)
    assert b.weights.dtype == jnp.float32
    np.testing.assert_allclose(b.gram_eigenvalues, a.gram_eigenvalues, rtol=1e-4, atol=1e-6)


@pytest.mark.slow  # ~4 s of compiles; test_diagonal_field_is_the_dense_one runs by default
def test_commuting_kernel_matches_dense_and_exact(monkeypatch, tol):
    """B, Σ commuting in a random basis: the rotated column-scaling kernel against the dense field
    (general W₀) and against the closed form of the aligned case (W₀ᵀW₀ in the common basis)."""
    import landscape.dynamics.batched_flow as bf
    from landscape.dynamics import _flow_kernel as fk
    from landscape.theory.exact_flow import aligned_flow

    dt = _dtype()
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    land = ls.EffectiveLandscape(
        jnp.asarray(q @ np.diag(B_DIAG) @ q.T, dt), jnp.asarray(q @ np.diag(S_DIAG) @ q.T, dt), 0.5, 0.1
    )
    assert fk.choose_kernel(land).kind == fk.ROTATED
    w = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (2, 3, 4), dt)) * 0.1
    w[1] = np.diag(np.sqrt([1e-3, 2e-3, 4e-4]), k=0) @ np.eye(3, 4) @ q.T  # aligned: W₀ᵀW₀ diagonal in q
    times = [0.3, 2.0]
    fast = batched_gradient_flow(land, jnp.asarray(w, dt), times=times, rtol=1e-10)
    exact = aligned_flow(land, jnp.asarray(w[1], dt))(jnp.asarray(times, dt))
    np.testing.assert_allclose(fast.gram_eigenvalues[1], exact.gram_eigenvalues, rtol=tol["flow"], atol=tol["flow"])
    np.testing.assert_allclose(fast.loss[1], exact.loss, rtol=tol["flow"], atol=tol["flow"])
    monkeypatch.setattr(bf, "choose_kernel", lambda lnd: fk.Kernel(fk.DENSE, lnd, None))
    dense = batched_gradient_flow(land, jnp.asarray(w, dt), times=times, rtol=1e-10)
    np.testing.assert_allclose(fast.weights, dense.weights, rtol=tol["flow"], atol=tol["flow"])


def test_diagonal_field_is_the_dense_one(tol):
    """The column-scaling field of diagonal B and Σ (the grid's kernel) against −∇L; the flow through it
    is checked against the exact logistic by test_exact_logistic_within_tolerance."""
    from landscape.dynamics import _flow_kernel as fk

    dt = _dtype()
    assert fk.choose_kernel(_aligned()).kind == fk.DIAGONAL
    v = 0.3 * jax.random.normal(jax.random.PRNGKey(2), (3, 4), dt)
    diag = ls.EffectiveLandscape(jnp.asarray(B_DIAG, dt), jnp.asarray(S_DIAG, dt), 0.5, 0.1)
    np.testing.assert_allclose(fk.velocity(diag, v), -ls.gradient(_aligned(), v), rtol=tol["exact"], atol=tol["exact"])


def _riccati_problem():
    """Σ = 1.5·I, B − γI with eigenvalues (1.9, 1.1, 0.4, −0.4) in a random basis, W₀ general (not aligned)."""
    rng = np.random.default_rng(1)
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    b = jnp.asarray(q @ np.diag([2.0, 1.2, 0.5, -0.3]) @ q.T)
    land = ls.EffectiveLandscape(b, 1.5 * jnp.eye(4, dtype=b.dtype), 0.5, 0.1)
    return land, jnp.asarray(0.3 * rng.normal(size=(4, 4)))


@pytest.mark.x64_only
def test_convergence_order_against_the_riccati_solution():
    """Like diffrax's test_ode_order against expm: fixed steps on a matrix flow with a closed form."""
    land, w0 = _riccati_problem()
    exact = jax.jit(isotropic_flow(land, w0))

    def field(w):
        return -ls.gradient(land, w)

    @jax.jit
    def fixed(h, n):
        return jax.lax.fori_loop(0, n, lambda _, w: rk.step(field, w, field(w), h)[0], w0)

    t_end, ns = 0.25, np.array([8, 16, 32, 64])
    ref = np.asarray(exact(t_end).gram_eigenvalues)
    errs = [np.max(np.abs(np.asarray(gram_spectrum(fixed(t_end / n, n))) - ref)) for n in ns]
    local = -np.diff(np.log2(errs))  # order between successive halvings: → 5 from above
    assert np.all(np.diff(local) < 0) and 4.8 < local[-1] < 5.6, (local, errs)

    # Adaptive: the controller keeps the global error proportional to rtol (slope 1) with steps ∝ rtol^(−1/5).
    times = np.array([0.5, 1.0, 2.0, 4.0])
    ref = np.asarray(exact(times).gram_eigenvalues)
    rtols = np.array([1e-6, 1e-7, 1e-8, 1e-9, 1e-10])
    errs, steps = [], []
    for rtol in rtols:
        out = batched_gradient_flow(land, w0[None], times=times, rtol=rtol, atol=1e-14)
        errs.append(np.max(np.abs(np.asarray(out.gram_eigenvalues[0]) - ref) / ref.max(axis=-1, keepdims=True)))
        steps.append(int(out.n_steps[0]))
    err_slope = np.polyfit(np.log(rtols), np.log(errs), 1)[0]
    step_slope = np.polyfit(np.log(rtols), np.log(steps), 1)[0]
    assert 0.85 < err_slope < 1.15 and np.all(np.array(errs) < 20 * rtols), (err_slope, errs)
    assert -0.22 < step_slope < -0.13, (step_slope, steps)
