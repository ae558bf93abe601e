"""Collapse diagnostics: thresholds in sigma^2, gamma and N, checked by the closed-form rank on each side."""

import numpy as np
import pytest

import landscape as ls

A = np.array([2.0, 1.0, 0.5, 0.25])


def rank_at(loss, s2=0.0, gamma=0.0, **kw):
    land = ls.effective_landscape(ls.Problem.isotropic(A, s2), loss, weight_decay=gamma, **kw)
    return np.diag(np.asarray(ls.global_minimum(land, len(A)).gram)) > 0


@pytest.mark.parametrize(
    "loss, kw",
    [
        ("beta-infonce", {"beta": 0.3, "form": "derived"}),
        ("beta-infonce", {"beta": 0.7, "form": "paper"}),
        ("weighted-infonce", {"alpha": 0.2, "n_samples": 10, "form": "paper"}),
    ],
)
def test_critical_sigma2_brackets_the_collapse(loss, kw):
    gamma = 0.05
    th = ls.critical_sigma2(ls.Problem.isotropic(A, 0.0), loss, weight_decay=gamma, **kw)
    assert np.all(np.asarray(th.collapsed_above))
    for i, s2c in enumerate(np.asarray(th.value)):
        assert 0 < s2c < np.inf
        assert rank_at(loss, s2c * 0.98, gamma, **kw)[i]
        assert not rank_at(loss, s2c * 1.02, gamma, **kw)[i]


def test_infonce_never_collapses_by_augmentation():
    th = ls.critical_sigma2(ls.Problem.isotropic(A, 0.0), "infonce")
    assert np.all(np.isinf(np.asarray(th.value)))
    th = ls.critical_sigma2(ls.Problem.isotropic(A, 0.0), "infonce", weight_decay=0.6)
    np.testing.assert_array_equal(np.isinf(np.asarray(th.value)), A > 0.6)
    np.testing.assert_array_equal(np.asarray(th.value)[A <= 0.6], 0.0)


def test_augmentation_that_helps_has_lower_threshold():
    # Paper's spectral loss: B = 2C - gamma grows with sigma^2, so directions revive above the root.
    th = ls.critical_sigma2(ls.Problem.isotropic(A, 0.0), "spectral", form="paper", weight_decay=0.5)
    np.testing.assert_allclose(np.asarray(th.value), 0.25)
    assert not np.any(np.asarray(th.collapsed_above))
    assert not rank_at("spectral", 0.2, 0.5, form="paper").any()
    assert rank_at("spectral", 0.3, 0.5, form="paper").all()


def test_critical_weight_decay_matches_rank():
    c = np.array([0.5, 0.4, 0.3, 0.2])
    p = ls.Problem.from_diagonal(A, c)
    th = ls.critical_weight_decay(p, "beta-infonce", beta=0.5, form="derived")
    np.testing.assert_allclose(np.asarray(th.value), np.maximum(0.5 * A - 0.5 * c, 0))
    for i, g in enumerate(np.asarray(th.value)):
        land = lambda gamma: ls.effective_landscape(p, "beta-infonce", beta=0.5, weight_decay=gamma)
        kept = lambda gamma: np.diag(np.asarray(ls.global_minimum(land(gamma), 4).gram))[i] > 0  # noqa: B023  (called in this iteration)
        if g > 0:
            assert kept(g * 0.98) and not kept(g * 1.02)


def test_critical_n_samples_paper_form():
    a = np.array([0.9, 0.5, 0.2])
    c = np.array([25.0, 25.0, 25.0])
    p = ls.Problem.from_diagonal(a, c)
    th = ls.critical_n_samples(p, alpha=0.1)
    np.testing.assert_allclose(np.asarray(th.value), 0.9 * 25.0 / a)
    assert not np.any(np.asarray(th.collapsed_above))
    for i, n_c in enumerate(np.asarray(th.value)):
        for n, alive in [(n_c * 0.97, False), (n_c * 1.03, True)]:
            land = ls.effective_landscape(p, "weighted-infonce", form="paper", alpha=0.1, n_samples=n)
            assert (np.diag(np.asarray(ls.global_minimum(land, 3).gram))[i] > 0) == alive


def test_thresholds_need_commuting_covariances():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    p = ls.Problem.from_arrays(q @ np.diag([3.0, 2.0, 1.0]) @ q.T, np.diag([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="commute"):
        ls.critical_weight_decay(p, "infonce")
    # Isotropic C always commutes: critical sigma^2 works on the eigenvalues of A0.
    th = ls.critical_sigma2(p, "beta-infonce", beta=0.5, form="paper")
    np.testing.assert_allclose(np.sort(np.asarray(th.value)), [1.0, 2.0, 3.0], rtol=1e-5)


def test_commuting_non_diagonal_basis():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    p = ls.Problem.from_arrays(q @ np.diag([3.0, 2.0, 1.0]) @ q.T, q @ np.diag([0.5, 0.5, 2.0]) @ q.T)
    v, a, c = ls.common_eigenbasis(p)
    order = np.argsort(-a)
    np.testing.assert_allclose(a[order], [3.0, 2.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(c[order], [0.5, 0.5, 2.0], atol=1e-5)


def test_origin_types():
    mk = lambda a, c, **kw: ls.effective_landscape(ls.Problem.from_diagonal(a, c), "beta-infonce", form="paper", **kw)
    assert ls.origin_type(mk([2.0, 1.0], [0.5, 0.5])) == "maximum"
    assert ls.origin_type(mk([2.0, 1.0], [0.5, 1.5])) == "saddle"
    assert ls.origin_type(mk([2.0, 1.0], [2.5, 1.5])) == "strict-minimum"
    assert ls.origin_type(mk([2.0, 1.0], [2.0, 1.5])) == "degenerate-minimum"
