"""Library gradient descent with normalization (finite κ, hard κ → ∞, bias) against the closed forms.

The closed forms (landscape.theory.normalization / bias) and the descent
(landscape.dynamics.normalized_descent) share only the loss and gradient
functions, which tests/test_normalization.py checks against jax.grad; here the
descent must land where the closed form says, on the spec's numbers (T7, T8, T9)
and on random problems, and its step-size limit must mean what it says.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import landscape as ls
from landscape.dynamics.normalized_descent import _field

A_T7 = np.array([2.0, 1.0, 0.6, 0.3, 0.15])
C_T7 = np.array([0.1, 0.1, 0.5, 0.1, 0.1])


def _t7():
    return ls.effective_landscape(ls.Problem.from_diagonal(A_T7, C_T7), "infonce")


def _init(d1, d0, scale=1e-2, seed=0):
    return ls.random_init(jax.random.PRNGKey(seed), d1, d0, scale)


def _momentum(lr):
    return optax.sgd(lr, momentum=0.9)


# ---------------------------------------------------------------- T7 (finite κ)
@pytest.mark.parametrize(
    "kappa, c, lam, rho, loss",
    [
        (1.0, 1.0, [0.1570, 0.2801, 0.1148, 0.5715, 0.6144], 1.1464, -0.60976),
        (10.0, 0.5, [0.0980, 0.1675, 0.0022, 0.2618, 0.1189], 0.5270, -0.36579),
    ],
)
def test_t7_by_library_descent(kappa, c, lam, rho, loss, tol):
    nl = ls.normalized_landscape(_t7(), kappa, c)
    run = ls.normalized_gradient_descent(nl, _init(5, 5), optimizer=_momentum(0.01), steps=6000)
    assert not bool(run.diverged)
    np.testing.assert_allclose(np.diag(np.asarray(run.gram)), lam, atol=max(5e-5, tol["loose"]))
    assert float(run.rho) == pytest.approx(rho, abs=max(5e-5, tol["loose"]))
    assert float(run.loss) == pytest.approx(loss, abs=max(5e-6, tol["flow"]))
    assert float(run.bias_norm_sq) == 0.0 and run.bias.shape == (5,)
    # The trajectory is recorded and the loss ends where it was last saved.
    assert run.trajectory_loss.shape == run.times.shape and int(run.times[-1]) == 6000
    assert float(run.trajectory_loss[-1]) == pytest.approx(float(run.loss), abs=tol["exact"])


# ---------------------------------------------------------------- T8 (hard normalization)
@pytest.mark.parametrize("c1, kept", [(0.25, 10), (0.35, 9)])
def test_t8_by_projected_descent(c1, kept, tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal([1.0] * 10, [c1] + [0.0] * 9), "infonce")
    nl = ls.normalized_landscape(land, norm_target=1.0)
    cf = ls.hard_normalization_limit(nl, 10)
    run = ls.normalized_gradient_descent(nl, _init(10, 10), optimizer=_momentum(0.05), steps=4000, hard=True)
    # ρ = c holds at every step (the retraction is exact), not just at the end.
    assert float(run.rho) == pytest.approx(1.0, abs=tol["exact"] * 10)
    assert int(run.rank) == kept == int(cf.rank)
    np.testing.assert_allclose(np.diag(np.asarray(run.gram)), np.diag(np.asarray(cf.gram)), atol=tol["loose"])
    assert float(run.loss) == pytest.approx(float(cf.loss), abs=tol["flow"])
    first = float(np.asarray(run.gram)[0, 0])
    assert (first > 1e-3) == (kept == 10)


def test_hard_closed_form_is_a_kkt_point_of_the_projected_field(tol):
    """Independent of the descent loop: the projected gradient vanishes at the hard limit."""
    rng = np.random.default_rng(3)
    for _ in range(3):
        a = rng.uniform(0.2, 2.0, 6)
        caug = rng.uniform(0.0, 1.5, 6)
        nl = ls.normalized_landscape(
            ls.effective_landscape(ls.Problem.from_diagonal(a, caug), "infonce"),
            norm_target=float(rng.uniform(0.3, 2.0)),
        )
        cf = ls.hard_normalization_limit(nl, 6)
        g = _field(nl, cf.weights, True)
        assert float(jnp.abs(g).max()) < tol["exact"] * 100
        # ... while the unprojected gradient does not (the constraint is active).
        assert float(jnp.abs(ls.gradient(nl.base, cf.weights)).max()) > 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hard_descent_matches_the_limit_on_random_problems(seed, tol):
    rng = np.random.default_rng(seed)
    d = 5
    a = np.sort(rng.uniform(0.2, 2.0, d))[::-1]
    caug = rng.uniform(0.0, 1.0, d)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    # Rotating both covariances together keeps them commuting but not diagonal.
    p = ls.Problem.from_arrays(q @ np.diag(a) @ q.T, q @ np.diag(caug) @ q.T)
    nl = ls.normalized_landscape(ls.effective_landscape(p, "infonce"), norm_target=float(rng.uniform(0.3, 1.5)))
    cf = ls.hard_normalization_limit(nl, d)
    lr = 0.5 * float(ls.normalized_max_stable_learning_rate(nl, cf.weights, hard=True))
    run = ls.normalized_gradient_descent(nl, _init(d, d, seed=seed), optimizer=optax.sgd(lr), steps=8000, hard=True)
    assert float(run.loss) == pytest.approx(float(cf.loss), abs=tol["flow"])
    np.testing.assert_allclose(run.gram, cf.gram, atol=tol["loose"])


# ---------------------------------------------------------------- T9 (bias)
def test_t9_by_library_descent_both_branches(tol):
    land = _t7()
    b0 = jnp.full((5,), 0.01)
    nl3 = ls.normalized_landscape(land, 10.0, 3.0)
    run = ls.normalized_gradient_descent(nl3, _init(5, 5), bias0=b0, optimizer=_momentum(0.005), steps=6000)
    np.testing.assert_allclose(
        np.diag(np.asarray(run.gram)), [0.2268, 0.4132, 0.2479, 0.9375, 1.2000], atol=max(5e-5, tol["loose"])
    )
    assert float(run.rho) == pytest.approx(1.8785, abs=max(5e-5, tol["loose"]))
    assert float(run.bias_norm_sq) == pytest.approx(1.1215, abs=max(5e-5, tol["loose"]))
    nl06 = ls.normalized_landscape(land, 10.0, 0.6)
    run06 = ls.normalized_gradient_descent(nl06, _init(5, 5), bias0=b0, optimizer=_momentum(0.005), steps=6000)
    assert float(run06.bias_norm_sq) < tol["flow"]
    assert float(run06.loss) == pytest.approx(float(ls.bias_global_minimum(nl06, 5).loss), abs=tol["flow"])


@pytest.mark.parametrize("c, absorbs", [(3.0, True), (0.6, False)])
def test_hard_norm_with_bias_follows_theorem_2(c, absorbs, tol):
    """On ρ + ‖b‖² = c the bias takes up the slack when the free minimum fits (ρ₀ = 1.8785 ≤ c)."""
    land = _t7()
    nl = ls.normalized_landscape(land, norm_target=c)
    run = ls.normalized_gradient_descent(
        nl, _init(5, 5), bias0=jnp.full((5,), 0.01), optimizer=_momentum(0.01), steps=6000, hard=True
    )
    assert float(run.rho + run.bias_norm_sq) == pytest.approx(c, abs=tol["exact"] * 10)
    free = ls.global_minimum(land, 5)
    if absorbs:
        assert float(run.loss) == pytest.approx(float(free.loss), abs=tol["flow"])
        assert float(run.bias_norm_sq) == pytest.approx(c - 1.8785, abs=max(5e-5, tol["loose"]))
    else:
        assert float(run.loss) == pytest.approx(float(ls.hard_normalization_limit(land, 5, c).loss), abs=tol["flow"])
        assert float(run.bias_norm_sq) < tol["loose"]


# ---------------------------------------------------------------- step size and divergence
def test_max_stable_lr_finite_kappa_equals_dense_hessian(tol):
    nl = ls.normalized_landscape(_t7(), 3.0, 1.0)
    cf = ls.normalized_global_minimum(nl, 5)
    hess = jax.hessian(lambda v: ls.normalized_loss(nl, v.reshape(5, 5)))(cf.weights.reshape(-1))
    expect = 2.0 / float(jnp.linalg.eigvalsh(hess)[-1])
    assert float(ls.normalized_max_stable_learning_rate(nl, cf.weights)) == pytest.approx(
        expect, rel=tol["exact"] * 100
    )
    # κ = 0 is the base landscape's limit.
    nl0 = ls.normalized_landscape(_t7(), 0.0, 1.0)
    w = ls.global_minimum(nl0.base, 5).weights
    assert float(ls.normalized_max_stable_learning_rate(nl0, w)) == pytest.approx(
        float(ls.max_stable_learning_rate(nl0.base, w)), rel=tol["exact"] * 100
    )


@pytest.mark.x64_only
@pytest.mark.parametrize("hard", [False, True])
def test_max_stable_lr_separates_converging_from_non_converging_steps(hard):
    """Started next to the minimum, plain GD at 0.95 × the limit converges and at 1.05 × it does not."""
    nl = ls.normalized_landscape(_t7(), 3.0, 1.0)
    cf = ls.hard_normalization_limit(nl, 5) if hard else ls.normalized_global_minimum(nl, 5)
    eta = float(ls.normalized_max_stable_learning_rate(nl, cf.weights, hard=hard))
    w0 = cf.weights + 1e-4 * jax.random.normal(jax.random.PRNGKey(0), cf.weights.shape)
    gaps = {}
    for f in (0.95, 1.05):
        run = ls.normalized_gradient_descent(nl, w0, optimizer=optax.sgd(f * eta), steps=3000, hard=hard)
        gaps[f] = float(run.loss - cf.loss)
    assert gaps[0.95] < 1e-12
    assert gaps[1.05] > 1e-7


def test_divergent_learning_rate_is_reported_not_nan():
    nl = ls.normalized_landscape(_t7(), 10.0, 1.0)
    run = ls.normalized_gradient_descent(nl, _init(5, 5, 0.5), optimizer=optax.sgd(5.0), steps=200)
    assert bool(run.diverged) and 1 <= int(run.diverged_step) <= 200
    assert np.all(np.isfinite(np.asarray(run.weights))) and np.isfinite(float(run.loss))
    with pytest.raises(ls.DivergenceError, match="diverged"):
        ls.check_divergence(run)


# ---------------------------------------------------------------- batching and input checks
def test_vmap_over_initial_conditions_and_kappa(tol):
    land = _t7()
    keys = jax.random.split(jax.random.PRNGKey(4), 3)
    w0 = jax.vmap(lambda k: ls.random_init(k, 5, 5, 1e-2))(keys)
    kappas = jnp.asarray([1.0, 10.0, 10.0])
    cs = jnp.asarray([1.0, 1.0, 0.5])
    run = jax.jit(
        jax.vmap(
            lambda w, k, c: ls.normalized_gradient_descent(
                ls.NormalizedLandscape(land, k, c), w, optimizer=_momentum(0.005), steps=8000
            )
        )
    )(w0, kappas, cs)
    assert not np.any(np.asarray(run.diverged))
    np.testing.assert_allclose(run.rho, [1.1464, 1.0172, 0.5270], atol=max(5e-5, tol["loose"]))
    np.testing.assert_allclose(run.loss, [-0.60976, -0.58706, -0.36579], atol=max(5e-6, tol["flow"]))


def test_bad_input_names_the_field():
    nl = ls.normalized_landscape(_t7(), 1.0, 1.0)
    with pytest.raises(ValueError, match="NormalizedLandscape"):
        ls.normalized_gradient_descent(_t7(), _init(5, 5), optimizer=optax.sgd(0.1), steps=10)
    with pytest.raises(ValueError, match="bias0"):
        ls.normalized_gradient_descent(nl, _init(5, 5), bias0=jnp.zeros(4), optimizer=optax.sgd(0.1), steps=10)
    with pytest.raises(ValueError, match="w0"):
        ls.normalized_gradient_descent(nl, _init(5, 4), optimizer=optax.sgd(0.1), steps=10)
    with pytest.raises(ValueError, match="steps"):
        ls.normalized_gradient_descent(nl, _init(5, 5), optimizer=optax.sgd(0.1), steps=0)
