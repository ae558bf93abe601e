"""Theorem 1 in closed form: checks T1-T5 and T10 of the spec, and properties on random problems.

The independent routes here are: the per-direction formula b_i/(2 k s_i^2) computed in NumPy,
the vanishing analytic gradient, jax.hessian at the minimum, and exhaustive enumeration of
stationary points.  Gradient flow is compared in tests/test_flow.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import landscape as ls

A_T1 = np.array([3.0, 2.0, 1.5, 1.0, 0.5, 0.2])
C_T1 = np.array([0.5, 2.5, 0.3, 1.2, 0.1, 1.0])


def test_t1_full_rank(tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A_T1, C_T1), "infonce")
    sol = ls.global_minimum(land, 6)
    expected = [0.69444, 0.23148, 0.12245, 0.10331, 0.06944, 0.04938]
    np.testing.assert_allclose(np.asarray(sol.gram_eigenvalues), expected, atol=5e-6)
    np.testing.assert_allclose(np.diag(np.asarray(sol.gram)), A_T1 / (2 * (A_T1 + C_T1) ** 2), rtol=tol["exact"] * 10)
    assert float(sol.loss) == pytest.approx(-0.6388757, abs=1e-7)
    assert int(sol.rank) == 6
    # The returned W attains the stated loss and Gram matrix.
    assert float(ls.loss(land, sol.weights)) == pytest.approx(float(sol.loss), rel=tol["exact"] * 10)
    np.testing.assert_allclose(np.asarray(sol.weights.T @ sol.weights), np.asarray(sol.gram), atol=tol["exact"])


def test_t2_dimensional_collapse(tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A_T1, C_T1), "beta-infonce", form="paper", beta=0.5)
    np.testing.assert_allclose(np.diag(np.asarray(land.b)), [2.5, -0.5, 1.2, -0.2, 0.4, -0.8], atol=1e-6)
    sol = ls.global_minimum(land, 6)
    assert int(sol.rank) == 3
    np.testing.assert_allclose(np.asarray(sol.gram_eigenvalues)[:3], [0.55556, 0.18519, 0.10204], atol=5e-6)
    np.testing.assert_allclose(np.asarray(sol.gram_eigenvalues)[3:], 0.0, atol=tol["exact"])
    assert float(sol.loss) == pytest.approx(-0.3497732, abs=1e-7)
    # Collapsed input coordinates are exactly those with b_i <= 0.
    np.testing.assert_allclose(np.diag(np.asarray(sol.gram))[[1, 3, 5]], 0.0, atol=tol["exact"])


@pytest.mark.parametrize("gamma, rank", [(0.0, 6), (0.6, 4), (1.2, 3)])
def test_t3_weight_decay_thresholds(gamma, rank, tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A_T1, C_T1), "infonce", weight_decay=gamma)
    sol = ls.global_minimum(land, 6)
    assert int(sol.rank) == rank == int(np.sum(A_T1 > gamma))
    b = A_T1 - gamma
    expected = np.where(b > 0, b / (2 * (A_T1 + C_T1) ** 2), 0.0)
    np.testing.assert_allclose(np.diag(np.asarray(sol.gram)), expected, atol=tol["exact"])


def test_t4_rank_cap_ranks_by_b_over_s_with_a_tie(tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A_T1, C_T1), "infonce")
    sol = ls.global_minimum(land, 2)
    assert int(sol.rank) == 2
    assert sol.weights.shape == (2, 6)
    assert float(sol.loss) == pytest.approx(-0.3572846, abs=1e-7)
    # Direction 0 (b/s = 0.857) is always kept; the second kept one is 2 or 4 (tie at 0.8333).
    kept_coords = set(np.flatnonzero(np.diag(np.asarray(sol.gram)) > 1e-6).tolist())
    assert 0 in kept_coords and kept_coords - {0} <= {2, 4} and len(kept_coords) == 2
    # Ranking by b alone would keep directions 0 and 1 and give a higher loss.
    b_over_s = A_T1 / (A_T1 + C_T1)
    assert -0.25 * (b_over_s[0] ** 2 + b_over_s[1] ** 2) > float(sol.loss) + 1e-3
    # Spectrum is the same whichever tied direction is kept.
    top = sorted([A_T1[i] / (2 * (A_T1[i] + C_T1[i]) ** 2) for i in (0, 2)], reverse=True)
    alt = sorted([A_T1[i] / (2 * (A_T1[i] + C_T1[i]) ** 2) for i in (0, 4)], reverse=True)
    got = np.asarray(sol.gram_eigenvalues)[:2]
    assert np.allclose(got, top, atol=1e-6) or np.allclose(got, alt, atol=1e-6)


def test_t5_non_commuting(tol):
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    a0 = q @ np.diag(A_T1) @ q.T
    p = ls.Problem.from_arrays(a0, np.diag(C_T1))
    land = ls.effective_landscape(p, "beta-infonce", form="paper", beta=0.5)
    sol = ls.global_minimum(land, 6)
    # Independent route: whiten with a Cholesky factor instead of the symmetric square root.
    sigma = a0 + np.diag(C_T1)
    lchol = np.linalg.cholesky(sigma)
    linv = np.linalg.inv(lchol)
    bt = linv @ (a0 - np.diag(C_T1)) @ linv.T
    lam, u = np.linalg.eigh(bt)
    lam_pos = np.where(lam > 0, lam, 0.0)
    gram_ref = linv.T @ u @ np.diag(lam_pos / 2) @ u.T @ linv
    np.testing.assert_allclose(np.asarray(sol.gram), gram_ref, atol=tol["exact"] * 10)
    assert int(sol.rank) == int(np.sum(lam > 0))
    assert float(sol.loss) == pytest.approx(-0.25 * np.sum(lam_pos**2), rel=tol["exact"] * 10)
    g = ls.gradient(land, sol.weights)
    assert float(jnp.max(jnp.abs(g))) < tol["exact"] * 100


def test_stationary_points_all_have_zero_gradient(tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A_T1, C_T1), "beta-infonce", form="paper", beta=0.5)
    pts = ls.stationary_points(land, 6)
    assert pts.loss.shape == (8,)  # 2^3 masks over the three positive directions
    grads = jax.vmap(lambda w: ls.gradient(land, w))(pts.weights)
    assert float(jnp.max(jnp.abs(grads))) < tol["exact"] * 100
    # The global minimum is the lowest stationary point, and the origin is among them with loss 0.
    assert float(jnp.min(pts.loss)) == pytest.approx(float(ls.global_minimum(land, 6).loss), rel=tol["exact"])
    assert float(jnp.max(pts.loss)) == pytest.approx(0.0, abs=tol["exact"])


@pytest.mark.x64_only
def test_only_the_global_minimum_is_a_local_minimum():
    # Proposition 1 and benignness: the Hessian at every other stationary point has a negative eigenvalue.
    land = ls.effective_landscape(ls.Problem.from_diagonal([2.0, 1.0, 0.5], [0.3, 0.2, 0.1]), "infonce")
    pts = ls.stationary_points(land, 3)
    best = int(jnp.argmin(pts.loss))
    for i in range(pts.loss.shape[0]):
        w = pts.weights[i]
        h = jax.hessian(lambda f: ls.loss(land, f.reshape(w.shape)))(w.ravel())  # noqa: B023  (called in this iteration)
        min_eig = float(np.linalg.eigvalsh(np.asarray(h)).min())
        if i == best:
            assert min_eig > -1e-9
        else:
            assert min_eig < -1e-6


def test_rank_cap_larger_than_input_dim_pads_weights():
    land = ls.effective_landscape(ls.Problem.from_diagonal([2.0, 1.0], [0.5, 0.5]), "infonce")
    sol = ls.global_minimum(land, 4)
    assert sol.weights.shape == (4, 2)
    assert int(sol.rank) == 2
    with pytest.raises(ValueError, match="out_dim"):
        ls.global_minimum(land, 0)


def test_quartic_coefficient_rescales_gram_by_one_over_k(tol):
    p = ls.Problem.from_diagonal(A_T1, C_T1)
    s1 = ls.global_minimum(ls.effective_landscape(p, "infonce", quartic=1.0), 6)
    s34 = ls.global_minimum(ls.effective_landscape(p, "infonce", quartic=0.75), 6)
    np.testing.assert_allclose(np.asarray(s34.gram), np.asarray(s1.gram) * 4 / 3, rtol=tol["exact"] * 10)
    assert int(s34.rank) == int(s1.rank)


def test_ties_in_whitened_spectrum_do_not_break_anything(tol):
    # All four directions tie: b/s = 1/2 everywhere; any rank-2 subset is optimal.
    land = ls.effective_landscape(ls.Problem.from_diagonal([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]), "infonce")
    sol = ls.global_minimum(land, 2)
    assert float(sol.loss) == pytest.approx(-2 * 0.25 * 0.25, rel=tol["exact"] * 10)
    assert np.all(np.isfinite(np.asarray(sol.gram)))
    assert float(jnp.max(jnp.abs(ls.gradient(land, sol.weights)))) < tol["exact"] * 100


def test_ill_conditioned_sigma(tol, x64):
    a = np.array([1e3, 1.0, 1e-3])
    land = ls.effective_landscape(ls.Problem.from_diagonal(a, 1e-3 * a), "infonce")
    sol = ls.global_minimum(land, 3)
    expected = a / (2 * (1.001 * a) ** 2)
    rtol = 1e-8 if x64 else 2e-2
    np.testing.assert_allclose(np.diag(np.asarray(sol.gram)), expected, rtol=rtol)


def test_global_minimum_jits_and_vmaps_over_parameters(tol):
    a = jnp.asarray([2.0, 1.0, 0.5, 0.25])

    @jax.jit
    def rank_at(s2, gamma):
        p = ls.Problem(jnp.diag(a), s2 * jnp.eye(4))
        land = ls.effective_landscape(p, "beta-infonce", form="paper", beta=0.5, weight_decay=gamma)
        return ls.global_minimum(land, 4).rank

    s2 = jnp.linspace(0.0, 3.0, 13)
    gam = jnp.linspace(0.0, 1.0, 11)
    ranks = jax.vmap(lambda s: jax.vmap(lambda g: rank_at(s, g))(gam))(s2)
    # T10: rank = #{a_i - sigma^2 - gamma > 0}; boundaries are straight lines.
    expected = (np.asarray(a)[None, None, :] - np.asarray(s2)[:, None, None] - np.asarray(gam)[None, :, None] > 0).sum(
        -1
    )
    np.testing.assert_array_equal(np.asarray(ranks), expected)


def test_t10_weighted_infonce_phase_diagram_and_complete_collapse():
    a = np.array([0.9, 0.5, 0.2])
    alpha, n = 0.1, 50.0
    for s2 in np.linspace(0, 60, 7):
        for gamma in np.linspace(0, 1, 6):
            land = ls.effective_landscape(
                ls.Problem.isotropic(a, s2),
                "weighted-infonce",
                form="paper",
                alpha=alpha,
                n_samples=n,
                weight_decay=gamma,
            )
            thr = (1 - alpha) / n * s2 + gamma
            want = int(np.sum(a > thr + 1e-12))
            assert int(ls.global_minimum(land, 3).rank) == want == int(ls.predicted_rank(land, 3))
            origin = ls.origin_type(land)
            if a.max() < thr - 1e-9:
                assert origin == "strict-minimum"
                assert np.all(np.linalg.eigvalsh(np.asarray(ls.hessian_at_origin(land, 2))) > 0)  # positive definite
            elif a.min() > thr + 1e-9:
                assert origin == "maximum"


# --------------------------------------------------------------------------- properties
def _random_problem(data, d0, commuting):
    a = np.array(data.draw(st.lists(st.floats(0.05, 4.0), min_size=d0, max_size=d0)))
    c = np.array(data.draw(st.lists(st.floats(0.0, 3.0), min_size=d0, max_size=d0)))
    a0 = np.diag(a)
    if not commuting:
        seed = data.draw(st.integers(0, 2**31 - 1))
        q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d0, d0)))
        a0 = q @ a0 @ q.T
    return ls.Problem.from_arrays(a0, np.diag(c))


# d0 ∈ {1, 3, 5} and d1 ∈ {1, d0, d0 + 1} (a single direction, a rank cap, full rank, more outputs than
# inputs): few shapes, so most examples reuse compiled operations
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    d0=st.sampled_from([1, 3, 5]),
    commuting=st.booleans(),
    loss=st.sampled_from(["infonce", "beta-infonce", "spectral", "barlow-twins", "vicreg"]),
    form=st.sampled_from(["paper", "derived"]),
)
def test_property_closed_form(data, d0, commuting, loss, form):
    tol = 1e-8 if jax.config.jax_enable_x64 else 2e-3
    p = _random_problem(data, d0, commuting)
    d1 = data.draw(st.sampled_from(sorted({1, d0, d0 + 1})))
    gamma = data.draw(st.sampled_from([0.0, 0.3]))
    land = ls.effective_landscape(p, loss, form=form, weight_decay=gamma)
    sol = ls.global_minimum(land, d1)
    # Rank = number of positive eigenvalues of Sigma^{-1/2} B Sigma^{-1/2}, capped at d1 (computed in NumPy).
    sigma = np.asarray(p.sigma, float)
    vals, vecs = np.linalg.eigh(sigma)
    isq = vecs @ np.diag(vals**-0.5) @ vecs.T
    lam = np.linalg.eigvalsh(isq @ np.asarray(land.b_eff, float) @ isq)
    scale = max(1.0, np.abs(lam).max())
    if np.min(np.abs(lam)) > 1e-6 * scale:  # sign is well defined
        assert int(sol.rank) == min(int(np.sum(lam > 0)), d1)
    # The closed form is stationary.
    g = np.asarray(ls.gradient(land, sol.weights))
    assert np.abs(g).max() <= tol * max(1.0, scale) ** 3
    # No stationary point is lower (enumeration).
    pts = ls.stationary_points(land, d1)
    assert float(jnp.min(pts.loss)) >= float(sol.loss) - tol * max(1.0, scale) ** 2
    # The loss formula -sum(lam_kept^2)/(4k) matches the loss evaluated at W.
    assert float(ls.loss(land, sol.weights)) == pytest.approx(
        float(sol.loss), rel=max(tol, 1e-6) * 10, abs=tol * scale**2
    )


# --------------------------------------------------------------------------- diagonal fast path
@pytest.mark.parametrize(
    "loss, kw",
    [
        ("infonce", {}),
        ("beta-infonce", {"form": "paper"}),
        ("weighted-infonce", {"form": "paper", "alpha": 0.1, "n_samples": 2.0}),
        ("vicreg", {}),
    ],
)
@pytest.mark.parametrize("d1", [1, 2, 4, 6, 8])
def test_diagonal_path_equals_general_path(loss, kw, d1, tol):
    rng = np.random.default_rng(d1)
    a, c = rng.uniform(0.1, 3.0, 6), rng.uniform(0.0, 3.0, 6)
    land = ls.effective_landscape(ls.Problem.from_diagonal(a, c), loss, weight_decay=0.2, **kw)
    fast, ref = ls.global_minimum_diagonal(land, d1), ls.global_minimum(land, d1)
    assert int(fast.rank) == int(ref.rank)
    assert float(fast.loss) == pytest.approx(float(ref.loss), rel=tol["exact"] * 10, abs=tol["exact"])
    np.testing.assert_allclose(np.asarray(fast.gram), np.asarray(ref.gram), atol=tol["exact"] * 10)
    np.testing.assert_allclose(
        np.asarray(fast.gram_eigenvalues), np.asarray(ref.gram_eigenvalues), atol=tol["exact"] * 10
    )
    np.testing.assert_allclose(
        np.asarray(fast.whitened_eigenvalues), np.asarray(ref.whitened_eigenvalues), atol=tol["exact"] * 10
    )
    assert fast.weights.shape == ref.weights.shape
    np.testing.assert_allclose(np.asarray(fast.weights.T @ fast.weights), np.asarray(fast.gram), atol=tol["exact"])
    assert float(jnp.max(jnp.abs(ls.gradient(land, fast.weights)))) < tol["exact"] * 100


def test_diagonal_path_with_tie_and_refusal(tol):
    land = ls.effective_landscape(ls.Problem.from_diagonal(A_T1, C_T1), "infonce")
    assert float(ls.global_minimum_diagonal(land, 2).loss) == pytest.approx(-0.3572846, abs=1e-7)
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rotated = ls.effective_landscape(ls.Problem.from_arrays(q @ np.diag([3.0, 2, 1]) @ q.T, np.eye(3)), "infonce")
    with pytest.raises(ValueError, match="diagonal"):
        ls.global_minimum_diagonal(rotated, 3)


def test_rank_exactly_on_threshold_is_not_a_rounding_flip():
    # b_1 = a_1 - sigma^2 = 0 exactly: direction 1 is collapsed in both paths.
    land = ls.effective_landscape(ls.Problem.isotropic([2.5, 1.0, 0.3], 2.5), "beta-infonce", form="paper")
    assert int(ls.global_minimum(land, 3).rank) == 0
    assert int(ls.global_minimum_diagonal(land, 3).rank) == 0
