"""landscape.diagnosis: estimates from two views, streaming, prediction, undecided directions, bad input, warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import landscape as ls
from landscape.diagnosis import (
    diagnose,
    estimate_covariances,
    finalize,
    init,
    update,
)
from landscape.diagnosis.nullspace import null_message

D = 3
ROT = np.linalg.qr(np.random.default_rng(1).normal(size=(D, D)))[0]
A0 = ROT @ np.diag([4.0, 1.0, 0.25]) @ ROT.T
C = np.array([[0.5, 0.1, 0.0], [0.1, 0.3, 0.05], [0.0, 0.05, 0.2]])  # does not commute with A0


def views(n: int, a0: np.ndarray = A0, c: np.ndarray = C, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)) @ np.linalg.cholesky(a0).T
    lc = np.linalg.cholesky(c)
    return x + rng.normal(size=(n, D)) @ lc.T, x + rng.normal(size=(n, D)) @ lc.T


@pytest.mark.parametrize("n", [4000, 40000])  # the sizes other tests use: one compilation each
def test_estimates_converge(n: int) -> None:
    est = estimate_covariances(*views(n))
    scale = np.linalg.norm(A0 + C, 2)
    tol = 6.0 * scale / np.sqrt(n)  # entries have standard error ≲ ‖Σ‖/√n
    np.testing.assert_allclose(np.asarray(est.data_cov), A0, atol=tol)
    np.testing.assert_allclose(np.asarray(est.aug_cov), C, atol=tol)


def test_shrinkage_moves_toward_scaled_identity() -> None:
    v1, v2 = views(6)
    raw = estimate_covariances(v1, v2)
    lw = estimate_covariances(v1, v2, shrinkage="ledoit-wolf")
    full = estimate_covariances(v1, v2, shrinkage=1.0)
    assert np.allclose(np.asarray(full.data_cov), np.trace(raw.data_cov) / D * np.eye(D), atol=1e-5)
    off = lambda m: np.linalg.norm(m - np.trace(m) / D * np.eye(D))  # noqa: E731
    assert off(np.asarray(lw.data_cov)) <= off(np.asarray(raw.data_cov)) + 1e-6


def test_streaming_equals_one_shot() -> None:
    v1, v2 = views(4000)
    state = init(D)
    for k in range(0, 4000, 1000):
        state = update(state, v1[k : k + 1000], v2[k : k + 1000])
    stream, once = finalize(state), estimate_covariances(v1, v2)
    for a, b in zip(stream, once):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("loss", "gamma", "params"),
    [("infonce", 0.5, {}), ("beta-infonce", 0.1, {"beta": 0.5}), ("vicreg", 0.0, {}), ("spectral", 1.5, {})],
)
def test_rank_matches_global_minimum(loss: str, gamma: float, params: dict) -> None:
    res = diagnose(*views(40000), loss=loss, weight_decay=gamma, **params)
    land = ls.effective_landscape(ls.Problem.from_arrays(A0, C), loss, weight_decay=gamma, **params)
    assert res.predicted_rank == int(ls.global_minimum(land, out_dim=D).rank)
    assert sum(bool(k) for k in res.kept) == res.predicted_rank
    assert np.all(np.diff(np.asarray(res.data_variance)) <= 1e-6)


def test_commuting_thresholds_match_closed_form() -> None:
    a, c = np.diag([4.0, 1.0, 0.25]), np.diag([0.2, 0.5, 0.1])
    res = diagnose(*views(200000, a, c), loss="beta-infonce", beta=0.5)
    problem = ls.Problem.from_arrays(a, c)
    want = np.sort(np.asarray(ls.critical_weight_decay(problem, "beta-infonce", beta=0.5).value))[::-1]
    np.testing.assert_allclose(np.asarray(res.critical_weight_decay), want, atol=0.03)
    # 0.5·a − t·0.5·c = 0  ⇒  t = a/c, in order of decreasing a
    np.testing.assert_allclose(np.asarray(res.critical_aug_scale), [20.0, 2.0, 2.5], rtol=0.05)
    assert np.all(np.isinf(np.asarray(diagnose(*views(4000, a, c)).critical_aug_scale)))  # infonce: no C term


def test_near_threshold_is_undecided() -> None:
    v1, v2 = views(2000)
    b = np.sort(np.asarray(estimate_covariances(v1, v2).data_cov).diagonal())  # rough scale only
    res = diagnose(v1, v2, bootstrap=200)
    middle = float(res.b_eigenvalues[1])
    near = diagnose(v1, v2, weight_decay=middle, bootstrap=200)
    assert near.kept[1] is None and near.kept[0] is True and b.size == D
    assert res.kept == (True, True, True)
    lo, hi = np.asarray(near.b_interval)[1]
    assert lo < middle < hi


@pytest.mark.parametrize(
    ("v1", "v2", "field"),
    [
        (np.zeros((5, 3)), np.zeros((5, 2)), "same shape"),
        (np.zeros((1, 3)), np.zeros((1, 3)), "view1 needs at least two"),
        (np.zeros((5,)), np.zeros((5,)), "view1 must have shape"),
        (np.zeros((5, 3)), np.where(np.arange(15).reshape(5, 3) == 7, np.nan, 0.0), "view2 has NaN"),
    ],
)
def test_bad_input(v1: np.ndarray, v2: np.ndarray, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        diagnose(v1, v2)


def test_finalize_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="state.n"):
        finalize(update(init(D), np.ones((1, D)), np.ones((1, D))))


def test_warnings_fire_on_dependent_and_shifted_views() -> None:
    v1, v2 = views(2000)
    with pytest.warns(UserWarning, match="dependent"):
        diagnose(v1, -v1 + 0.1 * v2)
    with pytest.warns(UserWarning, match="means differ") as record:
        diagnose(v1, v2 + 0.5)
    assert {w.filename for w in record} == {__file__}  # the warning names the user's line, not the package's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diagnose(v1, v2)
    # a constant feature, streamed: its rounding-size A0 eigenvalue is no sign of dependent views
    ones = np.ones((len(v1), 1))
    sums = update(init(D + 1), np.hstack([v1, ones]), np.hstack([v2, ones]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ls.diagnose_from_moments(sums)
    assert [str(w.message)[:40] for w in caught] == [null_message(1, D + 1)[:40]]
