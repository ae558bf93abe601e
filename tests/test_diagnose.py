"""landscape.diagnosis: estimates from two views, streaming, prediction, undecided directions, bad input, warnings."""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest

import landscape as ls
from landscape.diagnosis import (
    bootstrap_covariances,
    diagnose,
    estimate_covariances,
    finalize,
    finalize_bootstrap,
    init,
    update,
    update_counts,
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


# ------------------------------------------------------------- the streamed (Poisson) bootstrap
N_STREAM, BATCH, R_STREAM = 2000, 500, 1000  # n and R of the one-shot tests above where they meet


def stream(v1: np.ndarray, v2: np.ndarray, bootstrap: int, seed: int = 0):
    state = init(D, bootstrap=bootstrap, seed=seed)
    for k in range(0, len(v1), BATCH):
        state = update(state, v1[k : k + BATCH], v2[k : k + BATCH])
    return state


@cache
def streamed(seed: int = 1):
    """The views of the near-threshold test, streamed with R_STREAM replicates (shared by the tests below)."""
    return stream(*views(N_STREAM), R_STREAM, seed=seed)


def replicates(state) -> tuple[np.ndarray, np.ndarray]:
    reps = finalize_bootstrap(state)
    assert reps is not None
    return np.asarray(reps[0]), np.asarray(reps[1])


def counted(v1: np.ndarray, v2: np.ndarray, counts: np.ndarray):
    state = init(D, bootstrap=counts.shape[0])
    for k in range(0, len(v1), BATCH):
        state = update_counts(state, v1[k : k + BATCH], v2[k : k + BATCH], counts[:, k : k + BATCH])
    return state


def test_streamed_bootstrap_with_unit_counts_is_the_plain_diagnosis() -> None:
    v1, v2 = views(N_STREAM)
    plain = ls.diagnose_from_moments(stream(v1, v2, 0), weight_decay=0.5)
    ones = ls.diagnose_from_moments(counted(v1, v2, np.ones((4, N_STREAM))), weight_decay=0.5)
    assert plain.b_interval is None and init(D, bootstrap=0).replicates is None
    b = np.asarray(plain.b_eigenvalues)
    np.testing.assert_allclose(np.asarray(ones.b_interval), np.stack([b, b], axis=-1), rtol=1e-9, atol=1e-12)
    assert ones.kept == plain.kept and ones.predicted_rank == plain.predicted_rank
    for name in ("b_eigenvalues", "directions", "critical_weight_decay", "critical_aug_scale", "data_cov", "aug_cov"):
        np.testing.assert_allclose(np.asarray(getattr(ones, name)), np.asarray(getattr(plain, name)), atol=1e-9)
    # multinomial counts, in batches: the replicates are the estimates on the resampled rows
    idx = np.random.default_rng(2).integers(0, N_STREAM, size=(4, N_STREAM))
    counts = np.stack([np.bincount(i, minlength=N_STREAM) for i in idx])
    a0s, cs = replicates(counted(v1, v2, counts))
    for r, i in enumerate(idx):
        est = estimate_covariances(v1[i], v2[i])
        np.testing.assert_allclose(np.asarray(a0s[r]), np.asarray(est.data_cov), atol=1e-9)
        np.testing.assert_allclose(np.asarray(cs[r]), np.asarray(est.aug_cov), atol=1e-9)


def test_streamed_bootstrap_matches_the_multinomial_one() -> None:
    """Mean and variance of each b_i over the replicates: streamed (Poisson) against one-shot (multinomial)
    and against the Gaussian closed form Var b̂_i = Var(f)/n, f = p·XY + (q/2)(X − Y)², X, Y = u_iᵀx₁, u_iᵀx₂."""
    v1, v2 = views(N_STREAM)
    qf = ls.quadratic_form("infonce")
    p, q = float(qf.data_coef), float(qf.aug_coef)
    b_of = lambda a0s, cs: np.linalg.eigvalsh(p * np.asarray(a0s) + q * np.asarray(cs))[:, ::-1]  # noqa: E731
    b_stream = b_of(*replicates(streamed()))
    b_once = b_of(*bootstrap_covariances(v1, v2, R_STREAM, seed=3))
    vals, u = np.linalg.eigh(p * A0 + q * C)
    u = u[:, ::-1]
    a, c = np.diag(u.T @ A0 @ u), np.diag(u.T @ C @ u)
    # P = X + Y and Δ = X − Y are independent, variances 2(2a + c) and 2c; f = (p/4)P² + (q/2 − p/4)Δ²
    var_true = (2 * (p / 4) ** 2 * (2 * (2 * a + c)) ** 2 + 2 * (q / 2 - p / 4) ** 2 * (2 * c) ** 2) / N_STREAM
    x, y = (v1 - v1.mean(0)) @ u, (v2 - v2.mean(0)) @ u
    f = p * x * y + 0.5 * q * (x - y) ** 2
    kurt = np.mean((f - f.mean(0)) ** 4, 0) / np.var(f, 0) ** 2
    rel_r = np.sqrt(2.0 / (R_STREAM - 1))  # relative standard error of a variance over R replicates
    sd = np.sqrt(var_true)
    np.testing.assert_array_less(np.abs(b_stream.mean(0) - b_once.mean(0)), 4 * sd * np.sqrt(2.0 / R_STREAM))
    np.testing.assert_array_less(np.abs(np.log(b_stream.var(0) / b_once.var(0))), 4 * np.sqrt(2) * rel_r)
    # against the truth the bootstrap variance also carries the data's own fluctuation, √((κ_f − 1)/n)
    rel_true = 4 * np.sqrt(rel_r**2 + (kurt - 1) / N_STREAM)
    np.testing.assert_array_less(np.abs(np.log(b_stream.var(0) / var_true)), rel_true)


def test_streamed_bootstrap_near_threshold_is_undecided() -> None:
    v1, v2 = views(N_STREAM)
    state = streamed()
    far = ls.diagnose_from_moments(state)
    middle = float(far.b_eigenvalues[1])
    near = ls.diagnose_from_moments(state, weight_decay=middle)
    once = diagnose(v1, v2, weight_decay=middle, bootstrap=200)  # the one-shot test's compilation
    assert near.kept == once.kept == (True, None, False) and far.kept == (True, True, True)
    lo, hi = np.asarray(near.b_interval)[1]
    assert lo < middle < hi and np.all(np.asarray(far.b_interval)[:, 0] > 0)
    # reproducible for a fixed seed and batching; another seed, or the next batch, gets other counts
    first = [update(init(D, bootstrap=R_STREAM, seed=s), v1[:BATCH], v2[:BATCH]) for s in (1, 1, 2)]
    np.testing.assert_array_equal(np.asarray(first[0].replicates.sum12), np.asarray(first[1].replicates.sum12))
    assert not np.allclose(np.asarray(first[2].replicates.n), np.asarray(first[0].replicates.n))
    second = update(first[0], v1[:BATCH], v2[:BATCH])  # the same rows again
    assert not np.allclose(np.asarray(second.replicates.n), 2 * np.asarray(first[0].replicates.n))


def test_streamed_bootstrap_bad_input() -> None:
    with pytest.raises(ValueError, match="bootstrap must be in \\[0"):
        init(D, bootstrap=-1)
    with pytest.raises(ValueError, match="bootstrap must be an integer"):
        init(D, bootstrap=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"bootstrap=1000000000000 \(d=3\) asks for .*; at most"):
        init(D, bootstrap=10**12)
    v1, v2 = views(N_STREAM)
    counts = np.ones((4, N_STREAM))
    counts[2] = 0.0  # replicate 2 holds no sample
    with pytest.raises(ValueError, match="state.replicates.n: every bootstrap replicate needs at least two"):
        ls.diagnose_from_moments(counted(v1, v2, counts))
    nan = v1.copy()
    nan[7, 1] = np.nan
    with pytest.raises(ValueError, match="state.sum1 has NaN"):
        ls.diagnose_from_moments(counted(nan, v2, np.ones((4, N_STREAM))))
