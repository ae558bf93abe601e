"""No silent NaN: bad or overflowing input is refused naming its field, and a NaN is never a collapse.

Runs in both precisions: every range below is taken from the active dtype, so the
same tests check float64 and float32 (where the limits are much tighter).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import landscape as ls
from landscape import phase
from landscape.core.linalg import gram_spectrum, surviving_rank

DTYPE = jnp.result_type(float)
INFO = jnp.finfo(DTYPE)
A3, C3 = [3.0, 2.0, 1.0], [1.0, 1.0, 1.0]


@pytest.fixture(scope="module")
def problem():
    return ls.Problem.from_diagonal(A3, C3)


# ------------------------------------------------------------------ refused with the field named
def test_weighted_infonce_with_one_sample_and_alpha_zero_is_refused(problem):
    # N/(N − 1 + α) divides by zero: this used to give B = inf and NaN spectra reported as rank 0.
    with pytest.raises(ValueError, match="alpha and n_samples"):
        ls.effective_landscape(problem, "weighted-infonce", n_samples=1, alpha=0.0)
    # Just inside the range everything is finite.
    land = ls.effective_landscape(problem, "weighted-infonce", n_samples=1, alpha=0.5)
    assert np.isfinite(float(ls.global_minimum(land, 3).loss))


@pytest.mark.parametrize(
    "case, field",
    [
        ("quartic subnormal", "quartic"),
        ("quartic too small", "quartic"),
        ("weight decay near max", "weight_decay"),
        ("variances near max", "sigma = data_cov"),
        ("beta subnormal", "quartic·beta"),
    ],
)
def test_overflowing_parameters_are_refused_naming_the_field(problem, case, field):
    big, tiny = float(INFO.max), float(INFO.tiny)
    with pytest.raises(ValueError, match=field):
        if case == "quartic subnormal":
            ls.effective_landscape(problem, "infonce", quartic=tiny / 64)
        elif case == "quartic too small":  # normal, but W*ᵀW* ~ 1/k and the loss overflow
            ls.effective_landscape(problem, "infonce", quartic=tiny * 64)
        elif case == "weight decay near max":  # whitened eigenvalues ~ γ: their squares overflow
            ls.effective_landscape(problem, "infonce", weight_decay=big / 4)
        elif case == "variances near max":  # Σ = A0 + C overflows
            ls.Problem.from_diagonal([0.75 * big, 1.0], [0.75 * big, 1.0])
        else:
            ls.effective_landscape(problem, "beta-infonce", beta=tiny / 64)


def test_every_accepted_scale_gives_a_finite_closed_form():
    """Sweep each parameter over the dtype's whole range: refused, or a finite minimum and loss(W*)."""
    log_max = np.log10(float(INFO.max))
    accepted = refused = 0
    for e in np.linspace(-log_max + 1, log_max - 1, 9):
        x = float(10.0**e)
        for kw in ({"quartic": x}, {"weight_decay": x}, {"data": x}):
            try:
                data = kw.pop("data", 1.0)
                land = ls.effective_landscape(
                    ls.Problem.from_diagonal([3.0 * data, data], [data, 0.5 * data]), "infonce", **kw
                )
            except ValueError:
                refused += 1
                continue
            accepted += 1
            sol = ls.global_minimum(land, 2)
            for v in (sol.gram_eigenvalues, sol.whitened_eigenvalues, sol.loss, ls.loss(land, sol.weights)):
                assert np.all(np.isfinite(np.asarray(v))), (kw, data)
            assert int(sol.rank) >= 0
    assert accepted >= 9 and refused >= 3


def test_float32_indefinite_sigma_is_refused(x64):
    """Σ = [[1, 1 − 1e-9], [1 − 1e-9, 1]] is positive definite in float64 (λ_min = 1e-9) but singular in float32."""
    off = 1.0 - 1e-9
    a0, c = np.array([[1.0, off], [off, 1.0]]), np.zeros((2, 2))
    if x64:
        p = ls.Problem.from_arrays(a0, c)
        with pytest.raises(ValueError, match="not positive definite in float32"):
            p.astype(jnp.float32)
    else:
        with pytest.raises(ValueError, match="not positive definite in float32"):
            ls.Problem.from_arrays(a0, c)


def test_gram_eigenvalues_are_never_negative():
    rng = np.random.default_rng(3)
    w = jnp.asarray(rng.normal(size=(2, 6)) @ rng.normal(size=(6, 6)))  # rank 2 of 6
    g = np.asarray(gram_spectrum(w))
    # The eigensolver route this replaces returns rounding-sized negative values here.
    assert np.min(np.linalg.eigvalsh(np.asarray(w.T @ w))) < 0
    assert g.shape == (6,) and np.all(g >= 0) and np.all(g[2:] == 0)
    sv = np.linalg.svd(np.asarray(w, float), compute_uv=False)  # independent: NumPy in float64
    np.testing.assert_allclose(g[:2], sv**2, rtol=50 * float(INFO.eps))
    sol = ls.global_minimum(ls.effective_landscape(ls.Problem.from_diagonal(A3, [0.5, 4.0, 5.0]), "beta-infonce"), 3)
    assert np.all(np.asarray(sol.gram_eigenvalues) >= 0)


# ------------------------------------------------------------------ traced: rank −1, never a collapse
def test_traced_nan_is_rank_minus_one_not_collapse():
    land = ls.effective_landscape(ls.Problem.from_diagonal(A3, C3), "infonce")

    @jax.jit
    def ranks(gamma):
        bad = land.__class__(land.b, land.sigma, land.quartic, gamma)
        b, s, k = ls.direction_spectra("infonce", jnp.asarray(A3), jnp.asarray(C3), weight_decay=gamma)
        return (ls.global_minimum(bad, 3).rank, ls.predicted_rank(bad, 3), ls.direction_minimum(b, s, k).rank)

    assert [int(r) for r in ranks(jnp.nan)] == [-1, -1, -1]
    assert [int(r) for r in ranks(jnp.inf)] == [-1, -1, -1]
    assert [int(r) for r in ranks(2.5)] == [1, 1, 1]
    assert int(surviving_rank(jnp.array([jnp.nan, 0.0]), 1.0)) == -1


def test_phase_evaluation_marks_a_nonfinite_point_as_region_minus_one():
    model = phase.PhaseModel.diagonal(A3, sigma2=1.0, loss="infonce")
    fn, _, _ = phase.evaluation(model, ["weight_decay"])
    out = jax.jit(jax.vmap(fn))({"weight_decay": jnp.asarray([0.5, 2.5, jnp.inf], DTYPE)})
    # b_i = a_i − γ: three survive at γ = 0.5, one at γ = 2.5.
    assert out["rank"].tolist() == [3, 1, -1]
    assert out["region"].tolist() == [2, 1, -1]  # the overflowed point is not "complete collapse"
    assert out["predicted_rank"].tolist() == [3, 1, -1]


# ------------------------------------------------------------------ Python API bad input
def test_non_problem_and_non_landscape_are_type_errors(problem):
    land = ls.effective_landscape(problem, "infonce")
    with pytest.raises(TypeError, match="landscape.Problem"):
        ls.effective_landscape(np.eye(3), "infonce")
    for fn in (ls.global_minimum, ls.predicted_rank, ls.global_minimum_diagonal):
        with pytest.raises(TypeError, match="EffectiveLandscape"):
            fn(problem, 3)
    with pytest.raises(TypeError, match="EffectiveLandscape"):
        ls.gradient_descent(problem, jnp.zeros((3, 3)), optimizer=optax.sgd(0.1), steps=2)
    with pytest.raises(TypeError, match="landscape.Problem"):
        ls.critical_weight_decay(land)
    assert int(ls.global_minimum(land, 3).rank) == 3


@pytest.mark.parametrize("bad", [2.7, True, 2.0, "2"])
def test_out_dim_must_be_an_integer(problem, bad):
    land = ls.effective_landscape(problem, "infonce")
    for call in (
        lambda: ls.global_minimum(land, bad),
        lambda: ls.predicted_rank(land, bad),
        lambda: ls.random_init(jax.random.PRNGKey(0), bad, 3),
    ):
        with pytest.raises(ValueError, match="out_dim must be an integer"):
            call()


def test_huge_out_dim_is_refused_before_allocation():
    land = ls.effective_landscape(ls.Problem.from_diagonal(np.linspace(1.0, 2.0, 64), 0.5), "infonce")
    with pytest.raises(ValueError, match="out_dim asks for about"):
        ls.global_minimum(land, 10**8)
    with pytest.raises(ValueError, match="out_dim asks for about"):
        ls.random_init(jax.random.PRNGKey(0), 10**8, 64)


@pytest.mark.parametrize("lr", [-0.1, 0.0, float("nan")])
def test_a_learning_rate_that_does_not_descend_is_refused(problem, lr):
    land = ls.effective_landscape(problem, "infonce")
    w0 = ls.random_init(jax.random.PRNGKey(0), 3, 3)
    with pytest.raises(ValueError, match="learning rate"):
        ls.gradient_descent(land, w0, optimizer=optax.sgd(lr), steps=2)
    with pytest.raises(ValueError, match="learning rate"):
        ls.normalized_gradient_descent(ls.normalized_landscape(land, 1.0), w0, optimizer=optax.adam(lr), steps=2)


def test_nonfinite_initial_weights_are_refused(problem):
    land = ls.effective_landscape(problem, "infonce")
    w0 = jnp.zeros((3, 3)).at[1, 2].set(jnp.nan)
    with pytest.raises(ValueError, match="w0 contains NaN"):
        ls.gradient_descent(land, w0, optimizer=optax.sgd(0.1), steps=2)
    with pytest.raises(ValueError, match="w0 contains NaN"):
        ls.gradient_flow(land, w0, t1=1.0)
    with pytest.raises(ValueError, match="w0 contains NaN"):
        ls.batched_gradient_descent(land, w0[None], lr=0.1, steps=2)


def test_zero_init_scale_is_refused_by_phase_and_random_init():
    with pytest.raises(ValueError, match="init_scale"):
        phase.PhaseModel.diagonal(A3, sigma2=1.0, init_scale=0.0)
    model = phase.PhaseModel.diagonal(A3, sigma2=1.0)
    with pytest.raises(ValueError, match="init_scale"):
        phase.phase_scan(model, {"init_scale": [0.0, 1e-3]}, method="gd")
    with pytest.raises(ValueError, match="scale"):
        ls.random_init(jax.random.PRNGKey(0), 3, 3, scale=0.0)
