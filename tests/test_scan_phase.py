"""The SSL phase layer: scans equal direct solver calls, the analytic boundaries are the thresholds.

Independent routes: ``landscape.global_minimum`` called point by point; the
commuting closed form λ_i = b_i/(2k s_i²) in NumPy; the threshold functions of
``landscape.theory.collapse_thresholds``; gradient flow and descent against the closed form.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape import phase
from landscape.scan import Axis, Grid, Points

A = np.array([3.0, 2.0, 1.2, 0.5])


def test_closed_form_scan_equals_direct_calls(tol):
    model = phase.PhaseModel.diagonal(A, [0.4, 1.5, 0.2, 0.9], loss="beta-infonce", beta=0.4)
    grid = Grid([Axis("aug_scale", [0.3, 2.7]), Axis("gamma", [0.0, 0.15, 0.6])])
    ds = phase.phase_scan(model, grid)
    c0 = np.array([0.4, 1.5, 0.2, 0.9])

    @jax.jit
    def direct_at(s, g):  # the solver called directly at one point (no scan, no vmap)
        land = ls.effective_landscape(
            ls.Problem(jnp.diag(jnp.asarray(A)), s * jnp.diag(jnp.asarray(c0))),
            "beta-infonce",
            beta=0.4,
            weight_decay=g,
        )
        return ls.global_minimum(land, 4)

    for i, s in enumerate([0.3, 2.7]):
        for j, g in enumerate([0.0, 0.15, 0.6]):
            direct = direct_at(s, g)
            at = ds.isel(aug_scale=i, weight_decay=j)
            assert int(at["rank"]) == int(direct.rank)
            np.testing.assert_allclose(
                at["gram_eigenvalues"].values, direct.gram_eigenvalues, rtol=tol["exact"], atol=tol["exact"]
            )
            np.testing.assert_allclose(float(at["loss"]), float(direct.loss), rtol=tol["exact"], atol=tol["exact"])
            # commuting closed form in NumPy: b_i = βa_i − (1−β)c_i − γ, λ_i = b_i⁺/(2 k s_i²) with k = β
            b = 0.4 * A - 0.6 * s * c0 - g
            lam = np.maximum(b, 0.0) / (2 * 0.4 * (A + s * c0) ** 2)
            np.testing.assert_allclose(at["direction_gram"].values, lam, rtol=tol["exact"], atol=tol["exact"])
            np.testing.assert_allclose(at["direction_b"].values, b, rtol=tol["exact"], atol=tol["exact"])
            assert int(at["region"]) == (0 if (b <= 0).all() else 2 if (b > 0).all() else 1)


def test_out_dim_caps_the_rank_like_the_static_solver(tol):
    model = phase.PhaseModel.diagonal(A, sigma2=0.3)
    ds = phase.phase_scan(model, Grid([Axis("d1", [1, 2, 3, 4, 6])]))
    land = ls.effective_landscape(ls.Problem.from_diagonal(A, 0.3), "infonce")
    for d1 in [1, 2, 3, 4, 6]:
        direct = ls.global_minimum(land, d1)
        at = ds.sel(out_dim=d1)
        assert int(at["rank"]) == int(direct.rank) == min(d1, 4)
        np.testing.assert_allclose(at["gram_eigenvalues"].values, direct.gram_eigenvalues, atol=tol["exact"])
        assert int(at["region"]) == 2


def test_boundaries_are_the_collapse_thresholds():
    # β-InfoNCE under C = σ²I: b_i = 0 at σ²_i from critical_sigma2
    model = phase.PhaseModel.diagonal(A, sigma2=0.0, loss="beta-infonce", beta=0.5)
    s2 = np.linspace(0.0, 4.0, 4001)
    fields = phase.boundary_fields(model, {"sigma2": s2}, {"weight_decay": 0.2})
    got = [phase.crossings_along(s2, f.values) for f in fields]
    th = ls.critical_sigma2(ls.Problem.from_diagonal(A, 0.0), "beta-infonce", beta=0.5, weight_decay=0.2)
    np.testing.assert_allclose(got, np.asarray(th.value), atol=2e-3)
    # weighted InfoNCE, paper form: b_i = 0 at N_i from critical_n_samples
    model = phase.PhaseModel.diagonal(A, sigma2=25.0, loss="weighted-infonce", form="paper", alpha=0.1, n_samples=50)
    n = np.linspace(1.0, 200.0, 20001)
    fields = phase.boundary_fields(model, {"N": n})
    got = np.array([phase.crossings_along(n, f.values) for f in fields])
    th = ls.critical_n_samples(ls.Problem.from_diagonal(A, 25.0), alpha=0.1)
    np.testing.assert_allclose(got, np.asarray(th.value), rtol=1e-3)
    # 2-D: the field is b_i itself, so its shape follows the axes (y first)
    f2 = phase.boundary_fields(model, {"sigma2": [1.0, 2.0], "N": [10.0, 20.0, 30.0]})
    assert f2[0].values.shape == (2, 3) and f2[0].kind == "b"
    np.testing.assert_allclose(f2[0].values[1, 0], 3.0 - 0.9 * 2.0 / 10.0)


def test_weighted_infonce_n_diagram_rank_is_count_of_positive_b():
    """T10 of the reference: rank(σ², N) = #{a_i − (1−α)σ²/N > 0} (paper form), derived form never collapses."""
    s2 = np.linspace(0.0, 30.0, 31)
    n = np.linspace(10.0, 200.0, 20)
    for form in ("paper", "derived"):
        model = phase.PhaseModel.diagonal(A, sigma2=0.0, loss="weighted-infonce", form=form, alpha=0.1)
        ds = phase.phase_scan(model, Grid([Axis("sigma2", s2), Axis("N", n)]))
        if form == "paper":
            b = A[None, None, :] - 0.9 * s2[:, None, None] / n[None, :, None]
        else:
            b = (n / (n - 0.9))[None, :, None] * A[None, None, :] + 0.0 * s2[:, None, None]
        away = np.abs(b).min(-1) > 1e-6
        expected = (b > 0).sum(-1)
        np.testing.assert_array_equal(ds["rank"].values[away], expected[away])
        np.testing.assert_array_equal(ds["predicted_rank"].values[away], expected[away])
    assert (ds["rank"].values == 4).all()  # derived: no collapse anywhere


@pytest.mark.parametrize("method", ["flow", "gd"])
def test_dynamics_agree_with_closed_form_away_from_boundaries(method, tol):
    model = phase.PhaseModel.diagonal(A, sigma2=0.0, loss="beta-infonce", t1=120.0)
    s2, gamma = np.array([0.2, 1.0, 1.6, 2.5]), np.array([0.1, 0.15, 0.4, 0.0])
    pts = Points("spot", {"sigma2": s2, "gamma": gamma})
    cf = phase.phase_scan(model, Grid([pts]))
    dyn = phase.phase_scan(model, Grid([pts]), method=method, settings=phase.FlowSettings(steps=3000))
    b = 0.5 * (A[None, :] - s2[:, None]) - gamma[:, None]
    assert np.abs(b).min() > 0.049  # away from every boundary
    assert cf["rank"].values.tolist() == (b > 0).sum(1).tolist() == [4, 2, 1, 1]
    np.testing.assert_array_equal(dyn["rank"].values, cf["rank"].values)
    assert not dyn["diverged"].values.any() and (dyn["status"].values == 0).all()
    np.testing.assert_allclose(dyn["direction_gram"].values, cf["direction_gram"].values, atol=tol["flow"])
    np.testing.assert_allclose(dyn["loss"].values, cf["loss"].values, rtol=tol["flow"], atol=tol["flow"])


def test_normalization_scan_matches_the_normalized_solver(tol):
    if not phase.normalization_available():
        pytest.skip("landscape.theory.normalization is not installed")
    from landscape.theory import normalization as norm

    model = phase.PhaseModel.diagonal([1.0] * 5, [0.0] * 5, norm_target=1.0, kappa=3.0)
    ds = phase.phase_scan(model, Grid([Axis("kappa", [0.5, 3.0]), Axis("aug_scale", [1.0])]))
    for kappa in (0.5, 3.0):
        land = ls.effective_landscape(ls.Problem.from_diagonal([1.0] * 5, [0.0] * 5), "infonce")
        direct = norm.normalized_global_minimum(norm.normalized_landscape(land, kappa, 1.0), 5)
        at = ds.sel(kappa=kappa, aug_scale=1.0)
        assert int(at["rank"]) == int(direct.rank)
        np.testing.assert_allclose(float(at["rho"]), float(direct.rho), rtol=tol["exact"], atol=tol["exact"])
    # WS §3.6: d = 10, a = 1, augmentation on direction 0 only: it collapses for c_0 > 2/7 (κ → ∞)
    m10 = phase.PhaseModel.diagonal([1.0] * 10, [1.0] + [0.0] * 9, kappa=1e5)
    scale = np.linspace(0.0, 0.6, 301)
    fields = phase.boundary_fields(m10, {"aug_scale": scale})
    surv = [f for f in fields if f.kind == "survival"]
    assert len(surv) == 10
    assert abs(phase.crossings_along(scale, surv[0].values) - 2.0 / 7.0) < 2e-3
    assert np.isnan(phase.crossings_along(scale, surv[1].values))


def test_non_commuting_problem_has_no_direction_outputs():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    c0 = q @ np.diag([0.5, 1.0, 2.0]) @ q.T
    model = phase.PhaseModel(np.diag([3.0, 1.0, 0.5]), c0)
    ds = phase.phase_scan(model, Grid([Axis("aug_scale", [0.5, 1.0])]))
    assert "direction_gram" not in ds and "rank" in ds
    assert phase.boundary_fields(model, {"aug_scale": [0.5, 1.0]}) == []


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda m: phase.phase_scan(m, Grid([Axis("colour", [1.0])])), "unknown scan parameter 'colour'"),
        (lambda m: phase.phase_scan(m, Grid([Axis("beta", [0.0, 0.5])])), "beta must be in"),
        (lambda m: phase.phase_scan(m, Grid([Axis("gamma", [-1.0])])), "weight_decay must be in"),
        (lambda m: phase.phase_scan(m, Grid([Axis("lr", [0.1])])), "no effect on the closed form"),
        (lambda m: phase.phase_scan(m, Grid([Axis("t1", [1.0])]), method="gd"), "for method 'flow'"),
        (lambda m: phase.phase_scan(m, Grid([Axis("sigma2", [1.0]), Axis("aug_scale", [1.0])])), "scan one of them"),
        (
            lambda m: phase.phase_scan(m, Grid([Axis("sigma2", [1.0]), Axis("gamma", [1.0])]), method="euler"),
            "method must be",
        ),
        (lambda m: phase.phase_scan(m, Grid([Axis("out_dim", [1.5])])), "integer"),
    ],
)
def test_bad_parameters_are_refused(make, match):
    model = phase.PhaseModel.diagonal(A, sigma2=0.5)
    with pytest.raises(ValueError, match=match):
        make(model)


def test_weighted_infonce_needs_n_and_the_model_round_trips():
    model = phase.PhaseModel.diagonal(A, sigma2=1.0, loss="weighted-infonce", alpha=0.1)
    with pytest.raises(ValueError, match="n_samples is required"):
        phase.phase_scan(model, Grid([Axis("sigma2", [1.0])]))
    ds = phase.phase_scan(model, Grid([Axis("N", [5, 50])]))
    back, desc = phase.model_from_dataset(ds)
    assert desc["parameters"] == ["n_samples"] and desc["method"] == "closed-form"
    np.testing.assert_array_equal(back.data_cov, model.data_cov)
    assert back.params == model.params and back.loss == "weighted-infonce"
    assert ds["rank"].attrs["long_name"] == phase.OUTPUT_LABELS["rank"]
    with pytest.raises(ValueError, match="form"):
        phase.PhaseModel.diagonal(A, form="nope")
