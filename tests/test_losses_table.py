"""The loss → B table: both forms, parameters, and validation."""

import numpy as np
import pytest

import landscape as ls
from landscape.losses import quadratic_form

A = np.array([3.0, 2.0, 1.0])
C = np.array([0.5, 1.0, 2.0])


def b_of(loss, **kw):
    p = ls.Problem.from_diagonal(A, C)
    land = ls.effective_landscape(p, loss, **kw)
    return np.diag(np.asarray(land.b)), float(land.quartic)


@pytest.mark.parametrize(
    "loss, kw, paper_b, derived_b, paper_k, derived_k",
    [
        ("infonce", {}, A, A, 1.0, 1.0),
        ("weighted-infonce", {"alpha": 0.1, "n_samples": 50}, A - 0.9 / 50 * C, 50 / 49.1 * A, 1.0, 1.0),
        ("beta-infonce", {"beta": 0.25}, A - 3.0 * C, 0.25 * A - 0.75 * C, 1.0, 0.25),
        ("spectral", {}, 2 * C, 2 * A, 1.0, 1.0),
        ("barlow-twins", {}, 2 * (A + C), 2 * A, 1.0, 1.0),
        ("vicreg", {"invariance_weight": 0.5}, -A, -1.0 * C, 1.0, 1.0),
    ],
)
def test_table_entries(loss, kw, paper_b, derived_b, paper_k, derived_k):
    b, k = b_of(loss, form="paper", **kw)
    np.testing.assert_allclose(b, paper_b, rtol=1e-6)
    assert k == pytest.approx(paper_k)
    b, k = b_of(loss, form="derived", **kw)
    np.testing.assert_allclose(b, derived_b, rtol=1e-6)
    assert k == pytest.approx(derived_k)


def test_default_form_is_derived_and_quartic_multiplies():
    b_default, _ = b_of("spectral")
    np.testing.assert_allclose(b_default, 2 * A, rtol=1e-6)
    _, k = b_of("beta-infonce", beta=0.5, quartic=0.75)
    assert k == pytest.approx(0.375)


def test_weight_decay_shifts_b():
    p = ls.Problem.from_diagonal(A, C)
    land = ls.effective_landscape(p, "infonce", weight_decay=0.4)
    np.testing.assert_allclose(np.diag(np.asarray(land.b_eff)), A - 0.4, rtol=1e-6)


@pytest.mark.parametrize(
    "loss, kw, field",
    [
        ("nope", {}, "loss"),
        ("weighted-infonce", {}, "n_samples"),
        ("weighted-infonce", {"n_samples": 0.5}, "n_samples"),
        ("weighted-infonce", {"n_samples": 10, "alpha": -1}, "alpha"),
        ("beta-infonce", {"beta": 0.0}, "beta"),
        ("beta-infonce", {"beta": 1.5}, "beta"),
        ("infonce", {"quartic": 0.0}, "quartic"),
        ("infonce", {"weight_decay": -0.1}, "weight_decay"),
        ("infonce", {"form": "other"}, "form"),
    ],
)
def test_bad_loss_parameters(loss, kw, field):
    with pytest.raises(ValueError, match=field):
        ls.effective_landscape(ls.Problem.from_diagonal(A, C), loss, **kw)


def test_loss_aliases():
    assert float(quadratic_form("beta_infonce", beta=0.5).data_coef) == 0.5
    assert float(quadratic_form("SCL").data_coef) == 2.0
