"""Collapse and geometry metrics: checks A5–A7 of the Cosentino spec, D7, properties, NumPy references.

Every metric is compared with an independent route: a NumPy/SciPy reference,
a Monte Carlo estimate of a closed form, or an exact construction.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landscape import metrics
from landscape.studies import idealized as ideal


def _dtype(x64):
    return np.float64 if x64 else np.float32


def _np_erank(lam):
    lam = np.clip(np.asarray(lam, float), 0, None)
    p = lam[lam > 0] / lam.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def _random_features(rng, n, d, dtype, decay=0.7):
    return (rng.normal(size=(n, d)) * decay ** np.arange(d)[None, :]).astype(dtype)


# ----------------------------------------------------------------------------- A5: effective rank
@pytest.mark.parametrize("k", [1, 3, 7])
def test_a5_erank_identity_and_rank_one(k, tol, x64):
    dt = _dtype(x64)
    assert float(metrics.effective_rank(jnp.eye(k, dtype=dt), covariance=True)) == pytest.approx(k, rel=tol["exact"])
    # features whose covariance is I_k/k: rows ±e_i (centred by construction)
    feats = np.concatenate([np.eye(k), -np.eye(k)]).astype(dt)
    assert float(metrics.effective_rank(feats)) == pytest.approx(k, rel=tol["exact"])
    v = np.random.default_rng(k).normal(size=(5, 1)).astype(dt)
    rank_one = v @ np.random.default_rng(k + 1).normal(size=(1, 6)).astype(dt)
    assert float(metrics.effective_rank(rank_one)) == pytest.approx(1.0, abs=10 * tol["exact"])


def test_a5_erank_scale_invariance_and_zero_matrix(tol, x64):
    rng = np.random.default_rng(0)
    x = _random_features(rng, 40, 6, _dtype(x64))
    base = float(metrics.effective_rank(x))
    for c in (1e-3, 7.0, 1e3):
        assert float(metrics.effective_rank(c * x)) == pytest.approx(base, rel=tol["loose"] / 10)
    assert float(metrics.effective_rank(np.zeros((4, 3), _dtype(x64)))) == 0.0
    assert int(metrics.numerical_rank(np.zeros((4, 3), _dtype(x64)))) == 0
    assert float(metrics.participation_ratio(np.zeros((3, 3)), covariance=True)) == 0.0
    assert np.all(np.isnan(np.asarray(metrics.explained_variance(np.zeros((3, 3)), covariance=True))))


def test_numerical_rank_absolute_floor_and_nan(x64):
    """A representation that decayed to 1e-12 is full rank relative to its own σ_max; ``atol`` says it
    collapsed.  NaN features have rank −1, never 0 (complete collapse)."""
    x = _random_features(np.random.default_rng(2), 30, 5, _dtype(x64))
    assert int(metrics.numerical_rank(1e-12 * x)) == 5
    assert int(metrics.numerical_rank(1e-12 * x, atol=1e-6)) == 0
    assert int(metrics.numerical_rank(x, atol=1e-6)) == 5
    assert int(metrics.numerical_rank(np.where(np.arange(5) == 2, np.nan, x))) == -1


def test_erank_matches_numpy_reference(tol, x64):
    rng = np.random.default_rng(1)
    x = _random_features(rng, 50, 8, _dtype(x64))
    ref = _np_erank(np.linalg.eigvalsh(np.cov(x.astype(float).T, bias=True)))
    assert float(metrics.effective_rank(x)) == pytest.approx(ref, rel=tol["loose"] / 10)
    # the covariance route and the feature route agree
    cov = metrics.covariance(x)
    assert float(metrics.effective_rank(cov, covariance=True)) == pytest.approx(ref, rel=tol["loose"] / 10)


def test_rankme_matches_its_definition():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(30, 5)) * np.array([3.0, 2.0, 1.0, 0.5, 0.1])
    s = np.linalg.svd(z, compute_uv=False)
    p = s / s.sum() + 1e-7
    assert float(metrics.rankme(jnp.asarray(z))) == pytest.approx(float(np.exp(-np.sum(p * np.log(p)))), rel=1e-5)


# ----------------------------------------------------------------------------- few samples: no false floor
@pytest.mark.parametrize("n,d", [(5, 10), (3, 3), (12, 4)])
def test_rank_with_few_samples(n, d, tol, x64):
    rng = np.random.default_rng(n * 10 + d)
    x = rng.normal(size=(n, d)).astype(_dtype(x64))
    lam = np.asarray(metrics.spectrum(x))
    assert lam.shape == (d,)
    expected_centred = min(n - 1, d)
    assert int(metrics.numerical_rank(x, rtol=1e-3)) == expected_centred
    assert int(metrics.numerical_rank(x, rtol=1e-3, center=False)) == min(n, d)
    assert float(metrics.effective_rank(x)) <= expected_centred + 1e-6
    # the spectrum of the centred sample agrees with NumPy's covariance eigenvalues (zeros included)
    ref = np.sort(np.clip(np.linalg.eigvalsh(np.cov(x.astype(float).T, bias=True)), 0, None))[::-1]
    np.testing.assert_allclose(lam, ref, atol=50 * tol["exact"] * max(1.0, ref[0]))


# ----------------------------------------------------------------------------- property tests
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.sampled_from([3, 8, 20]),
    d=st.sampled_from([1, 4, 8]),
    log_scale=st.floats(-2.0, 2.0),
)
def test_rank_metrics_invariant_to_scaling_and_rotation(seed, n, d, log_scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.exp(rng.normal(size=d))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    c = 10.0**log_scale
    for f in (metrics.effective_rank, metrics.participation_ratio):
        a = float(f(jnp.asarray(x)))
        assert float(f(jnp.asarray(c * x))) == pytest.approx(a, rel=2e-3, abs=1e-4)
        assert float(f(jnp.asarray(x @ q))) == pytest.approx(a, rel=2e-3, abs=1e-4)
    r = int(metrics.numerical_rank(jnp.asarray(x), rtol=1e-3))
    sv = np.linalg.svd(x - x.mean(0), compute_uv=False)
    margin = np.abs(sv / max(sv[0], 1e-300) - 1e-3).min()
    if margin > 1e-5:  # away from the threshold the rotated and scaled counts are exact
        assert int(metrics.numerical_rank(jnp.asarray(c * x @ q), rtol=1e-3)) == r
    ev = np.asarray(metrics.explained_variance(jnp.asarray(x)))
    np.testing.assert_allclose(np.asarray(metrics.explained_variance(jnp.asarray(c * x @ q))), ev, atol=1e-3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.sampled_from([2, 5, 20]), d=st.sampled_from([1, 4, 8]))
def test_rank_metric_bounds(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.exp(2 * rng.normal(size=d))
    pr = float(metrics.participation_ratio(jnp.asarray(x)))
    er = float(metrics.effective_rank(jnp.asarray(x)))
    exact_rank = int(metrics.numerical_rank(jnp.asarray(x), rtol=1e-5))
    assert 1.0 - 1e-9 <= pr <= er + 1e-9
    assert er <= exact_rank + 1e-6
    assert exact_rank <= min(n - 1, d)
    ev = np.asarray(metrics.explained_variance(jnp.asarray(x)))
    assert np.all(np.diff(ev) >= -1e-12) and ev[-1] == pytest.approx(1.0)
    assert 1.0 - 1e-6 <= float(metrics.rankme(jnp.asarray(x))) <= min(n, d) + 1e-3


# ----------------------------------------------------------------------------- alpha-ReQ, normalised std
def test_alpha_req_exact_power_law_and_sampled(tol, x64):
    i = np.arange(1, 13, dtype=float)
    for alpha in (0.5, 1.0, 2.0):
        cov = np.diag(i**-alpha).astype(_dtype(x64))
        assert float(metrics.alpha_req(cov, covariance=True)) == pytest.approx(alpha, rel=tol["loose"])
    # sampled features: the fitted exponent approaches the population one
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20_000, 12)) * (i**-0.5)[None, :]
    assert float(metrics.alpha_req(jnp.asarray(x.astype(_dtype(x64))))) == pytest.approx(1.0, abs=0.03)
    assert math.isnan(float(metrics.alpha_req(np.diag([1.0, 0.0, 0.0]), covariance=True)))


def test_normalized_std_collapse_isotropic_and_reference(x64):
    dt = _dtype(x64)
    rng = np.random.default_rng(4)
    d = 16
    z = rng.normal(size=(20_000, d)).astype(dt)
    assert float(metrics.normalized_std(z)) == pytest.approx(1 / math.sqrt(d), rel=0.02)
    assert float(metrics.normalized_std(np.tile(z[:1], (50, 1)))) == pytest.approx(0.0, abs=1e-6)
    small = rng.normal(size=(7, 3))
    u = small / np.linalg.norm(small, axis=1, keepdims=True)
    assert float(metrics.normalized_std(small.astype(dt))) == pytest.approx(float(u.std(axis=0).mean()), rel=1e-5)


# ----------------------------------------------------------------------------- A7: invariance
def _overlap(sigma):
    s = np.zeros(32)
    s[:10] = np.linspace(3, 0.5, 10)
    a = np.zeros(32)
    a[6:22] = 1.0
    return np.diag(s), np.diag(sigma**2 * a)


@pytest.mark.parametrize("sigma,expected", [(0.5, 0.186), (1.0, 0.478), (2.0, 0.785), (4.0, 0.936)])
def test_a7_avf_identity(sigma, expected, tol, x64):
    a0, c = (m.astype(_dtype(x64)) for m in _overlap(sigma))
    got = float(metrics.avf_linear(np.eye(32, dtype=a0.dtype), a0, c))
    assert got == pytest.approx(16 * sigma**2 / (17.5 + 16 * sigma**2), rel=tol["exact"] * 10)
    assert got == pytest.approx(expected, abs=5e-4)
    assert float(metrics.invariance_gain_linear(np.eye(32, dtype=a0.dtype), a0, c)) == pytest.approx(1.0, rel=1e-5)


def test_a7_avf_zero_map_and_annihilating_projection(x64):
    a0, c = (m.astype(_dtype(x64)) for m in _overlap(2.0))
    assert math.isnan(float(metrics.avf_linear(np.zeros((4, 32), a0.dtype), a0, c)))
    keep = np.zeros((32, 32), a0.dtype)
    keep[np.arange(6), np.arange(6)] = 1.0  # annihilates span(Σ_a) = coordinates 6..21
    assert float(metrics.avf_linear(keep, a0, c)) == 0.0
    assert math.isinf(float(metrics.invariance_gain_linear(keep, a0, c)))


def test_avf_closed_form_matches_monte_carlo(x64):
    rng = np.random.default_rng(5)
    d = 6
    l_s = rng.normal(size=(d, d)) / math.sqrt(d)
    l_a = np.diag(rng.uniform(0.2, 1.5, d))
    f = rng.normal(size=(3, d))
    n = 100_000
    s = rng.normal(size=(n, d)) @ l_s.T
    x1 = s + rng.normal(size=(n, d)) @ l_a.T
    x2 = s + rng.normal(size=(n, d)) @ l_a.T
    dt = _dtype(x64)
    closed = float(metrics.avf_linear(f.astype(dt), (l_s @ l_s.T).astype(dt), (l_a @ l_a.T).astype(dt)))
    sampled = float(metrics.avf_network(lambda x: x @ jnp.asarray(f.T, dt), x1.astype(dt), x2.astype(dt)))
    assert sampled == pytest.approx(closed, rel=0.02)
    gain = float(
        metrics.invariance_gain_samples(x1.astype(dt), x2.astype(dt), (x1 @ f.T).astype(dt), (x2 @ f.T).astype(dt))
    )
    ident = float(metrics.avf_linear(np.eye(d, dtype=dt), (l_s @ l_s.T).astype(dt), (l_a @ l_a.T).astype(dt)))
    assert gain == pytest.approx(ident / closed, rel=0.03)


def test_avf_samples_matches_explicit_pair_loop():
    rng = np.random.default_rng(6)
    z1, z2 = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    num = np.mean(np.sum((z1 - z2) ** 2, axis=1))
    den = np.mean([np.sum((z1[i] - z2[j]) ** 2) for i in range(9) for j in range(9) if i != j])
    assert float(metrics.avf_samples(jnp.asarray(z1), jnp.asarray(z2))) == pytest.approx(num / den, rel=1e-5)
    assert math.isnan(float(metrics.avf_samples(np.ones((3, 2)), np.ones((3, 2)))))
    with pytest.raises(ValueError, match="z1 and z2"):
        metrics.avf_samples(np.ones((3, 2)), np.ones((4, 2)))


# ----------------------------------------------------------------------------- A6: principal angles
def test_a6_principal_angles_identical_orthogonal_and_known(tol, x64):
    dt = _dtype(x64)
    rng = np.random.default_rng(7)
    a = rng.normal(size=(8, 3)).astype(dt)
    mix = rng.normal(size=(3, 3)).astype(dt)
    np.testing.assert_allclose(
        np.asarray(metrics.principal_angles(a, a @ mix)), 0.0, atol=30 * tol["exact"] ** 0.5 if not x64 else 1e-7
    )
    e = np.eye(8, dtype=dt)
    np.testing.assert_allclose(np.asarray(metrics.principal_angles(e[:, :3], e[:, 3:6])), np.pi / 2, atol=1e-6)
    # one small angle, resolved by the sine route where arccos alone would return 0
    theta = 1e-6 if x64 else 1e-3
    b = np.stack([np.cos(theta) * e[:, 0] + np.sin(theta) * e[:, 5], e[:, 1]], axis=1)
    got = np.sort(np.asarray(metrics.principal_angles(e[:, :2], b)))
    np.testing.assert_allclose(got, [0.0, theta], rtol=1e-3, atol=1e-9 if x64 else 1e-6)


def test_principal_angles_match_scipy():
    rng = np.random.default_rng(8)
    for k, l in [(2, 2), (3, 2), (2, 4)]:
        a, b = rng.normal(size=(7, k)), rng.normal(size=(7, l))
        ref = np.sort(scipy.linalg.subspace_angles(a, b))
        np.testing.assert_allclose(
            np.sort(np.asarray(metrics.principal_angles(jnp.asarray(a), jnp.asarray(b)))), ref, atol=1e-5
        )


_batched_angles = jax.jit(jax.vmap(metrics.principal_angles, in_axes=(0, None)))


def test_a6_local_pca_converges_to_the_subspace(x64):
    rng = np.random.default_rng(9)
    d, k, n = 10, 2, 120
    basis, _ = np.linalg.qr(rng.normal(size=(d, k)))
    coords = rng.uniform(-1, 1, size=(n, k))
    worst = []
    for eta in (1e-1, 1e-2, 1e-3):
        pts = coords @ basis.T + eta * rng.normal(size=(n, d))
        tangents = metrics.local_pca_tangents(jnp.asarray(pts.astype(_dtype(x64))), 15, k)
        angles = _batched_angles(tangents, jnp.asarray(basis, tangents.dtype))
        worst.append(float(jnp.max(angles)))
    assert worst[0] > worst[1] > worst[2]
    assert worst[2] < 0.02


def test_kept_and_removed_subspaces_are_complementary():
    rng = np.random.default_rng(10)
    j = rng.normal(size=(3, 7))
    kept, removed = metrics.kept_removed_subspaces(jnp.asarray(j), 3)
    np.testing.assert_allclose(np.asarray(kept.T @ removed), 0.0, atol=1e-5)
    np.testing.assert_allclose(j @ np.asarray(removed), 0.0, atol=1e-5)  # removed = null space of J
    np.testing.assert_allclose(np.asarray(metrics.principal_angles(kept, jnp.asarray(j.T))), 0.0, atol=1e-3)


# ----------------------------------------------------------------------------- probes
def test_linear_and_ridge_probe_match_numpy(tol, x64):
    rng = np.random.default_rng(11)
    n, d = 60, 5
    z = rng.normal(size=(n, d)) + 3.0
    y = z @ rng.normal(size=(d, 2)) + 0.1 * rng.normal(size=(n, 2)) + 1.5
    zb = np.hstack([z, np.ones((n, 1))])
    ref = np.linalg.lstsq(zb, y, rcond=None)[0]
    dt = _dtype(x64)
    p = metrics.fit_probe(z.astype(dt), y.astype(dt))
    np.testing.assert_allclose(np.asarray(p.weights), ref[:d], rtol=tol["loose"], atol=tol["loose"])
    np.testing.assert_allclose(np.asarray(p.bias), ref[d], rtol=tol["loose"], atol=tol["loose"])
    lam = 0.3
    zc, yc = z - z.mean(0), y - y.mean(0)
    w_ref = np.linalg.solve(zc.T @ zc / n + lam * np.eye(d), zc.T @ yc / n)
    pr = metrics.fit_probe(z.astype(dt), y.astype(dt), ridge=lam, relative=False)
    np.testing.assert_allclose(np.asarray(pr.weights), w_ref, rtol=tol["loose"], atol=tol["loose"])


def test_probe_r2_and_accuracy_held_out(x64):
    dt = _dtype(x64)
    rng = np.random.default_rng(12)
    n, d = 400, 4
    z = rng.normal(size=(2 * n, d))
    beta = np.array([1.0, -2.0, 0.0, 0.5])
    y = z @ beta + 0.5 * rng.normal(size=2 * n)
    r2 = float(metrics.probe_r2(z[:n].astype(dt), y[:n].astype(dt), z[n:].astype(dt), y[n:].astype(dt)))
    yp = (
        np.hstack([z[n:], np.ones((n, 1))]) @ np.linalg.lstsq(np.hstack([z[:n], np.ones((n, 1))]), y[:n], rcond=None)[0]
    )
    ref = 1 - np.sum((y[n:] - yp) ** 2) / np.sum((y[n:] - y[n:].mean()) ** 2)
    assert r2 == pytest.approx(ref, rel=1e-4)
    # population value: 1 − noise variance / total variance
    assert r2 == pytest.approx(1 - 0.25 / (beta @ beta + 0.25), abs=0.02)
    labels = (z[:, 0] > 0).astype(int) + 2 * (z[:, 1] > 0).astype(int)
    shifted = z + 4.0 * np.stack([labels % 2, labels // 2, 0 * labels, 0 * labels], 1)
    acc = float(
        metrics.probe_accuracy(shifted[:n].astype(dt), labels[:n], shifted[n:].astype(dt), labels[n:], n_classes=4)
    )
    assert acc > 0.97
    chance = float(
        metrics.probe_accuracy(
            z[:n].astype(dt), rng.integers(0, 4, n), z[n:].astype(dt), rng.integers(0, 4, n), n_classes=4
        )
    )
    assert chance < 0.4


def test_population_probe_r2_matches_sampled_probe(x64):
    rng = np.random.default_rng(13)
    d = 5
    l_s = rng.normal(size=(d, d)) / math.sqrt(d)
    a0 = l_s @ l_s.T
    f = rng.normal(size=(2, d))
    beta = np.ones(d)
    closed = float(metrics.population_probe_r2(f @ a0 @ f.T, f @ a0 @ beta, beta @ a0 @ beta))
    s = rng.normal(size=(60_000, d)) @ l_s.T
    h, y = s @ f.T, s @ beta
    sampled = float(metrics.probe_r2(h[:30_000], y[:30_000], h[30_000:], y[30_000:]))
    assert sampled == pytest.approx(closed, abs=0.01)
    ridge_closed = float(metrics.population_probe_r2(f @ a0 @ f.T, f @ a0 @ beta, beta @ a0 @ beta, ridge=0.5))
    ridge_sampled = float(metrics.probe_r2(h[:30_000], y[:30_000], h[30_000:], y[30_000:], ridge=0.5))
    assert ridge_sampled == pytest.approx(ridge_closed, abs=0.01)
    assert ridge_closed < closed


# ----------------------------------------------------------------------------- D7: distance to ETF
@pytest.mark.parametrize("n", [2, 5, 9])
def test_d7_distance_to_etf_of_the_simplex(n, tol, x64):
    s = ideal.regular_simplex(n, dtype=_dtype(x64))
    pos, neg = metrics.distance_to_etf(s, s)
    assert float(pos) == pytest.approx(0.0, abs=10 * tol["exact"])
    assert float(neg) == pytest.approx(-1.0 / (n - 1), abs=10 * tol["exact"])
    rng = np.random.default_rng(n)
    noisy = np.asarray(s) + 0.3 * rng.normal(size=s.shape)
    assert float(metrics.distance_to_etf(s, noisy.astype(_dtype(x64)))[0]) > 0.01


# ----------------------------------------------------------------------------- jit, vmap, dtype
_SPECTRAL = [
    metrics.effective_rank,
    metrics.participation_ratio,
    metrics.numerical_rank,
    metrics.alpha_req,
    metrics.explained_variance,
    metrics.normalized_std,
    metrics.rankme,
]


@pytest.mark.parametrize("fn", _SPECTRAL, ids=lambda f: f.__name__)
def test_metrics_jit_vmap_and_dtype(fn, tol, x64):
    dt = _dtype(x64)
    rng = np.random.default_rng(14)
    batch = _random_features(rng, 3 * 20, 5, dt).reshape(3, 20, 5)
    loop = np.stack([np.asarray(fn(b)) for b in batch])
    batched = np.asarray(jax.jit(jax.vmap(fn))(jnp.asarray(batch)))
    np.testing.assert_allclose(batched, loop, rtol=tol["loose"], atol=tol["loose"])
    out = fn(jnp.asarray(batch[0]))
    if jnp.issubdtype(out.dtype, jnp.floating):
        assert out.dtype == jnp.dtype(dt)


def test_covariance_flag_is_static_under_jit(tol):
    f = jax.jit(metrics.effective_rank, static_argnames=("covariance", "center"))
    assert float(f(jnp.eye(3), covariance=True)) == pytest.approx(3.0, rel=tol["exact"])
    pa = jax.jit(jax.vmap(metrics.principal_angles, in_axes=(0, None)))
    out = pa(jnp.stack([jnp.eye(4)[:, :2], jnp.eye(4)[:, 2:]]), jnp.eye(4)[:, :2])
    np.testing.assert_allclose(np.asarray(out), [[0.0, 0.0], [np.pi / 2, np.pi / 2]], atol=1e-5)
    avf = jax.jit(jax.vmap(metrics.avf_linear, in_axes=(0, None, None)))
    fs = jnp.stack([jnp.eye(2), jnp.array([[1.0, 0.0], [0.0, 0.0]])])
    np.testing.assert_allclose(
        np.asarray(avf(fs, jnp.eye(2), jnp.diag(jnp.array([0.0, 1.0])))), [1 / 3, 0.0], atol=1e-6
    )


def test_sample_metrics_and_probes_under_jit_and_vmap(tol, x64):
    dt = _dtype(x64)
    rng = np.random.default_rng(15)
    z1 = rng.normal(size=(3, 12, 4)).astype(dt)
    z2 = (z1 + 0.1 * rng.normal(size=z1.shape)).astype(dt)
    y = rng.normal(size=(3, 12)).astype(dt)
    cases = [
        (metrics.avf_samples, (z1, z2)),
        (lambda a, b: metrics.distance_to_etf(a, b)[1], (z1, z2)),
        (lambda a, t: metrics.probe_r2(a[:8], t[:8], a[8:], t[8:], ridge=0.1), (z1, y)),
        (lambda a, t: metrics.fit_probe(a, t).weights, (z1, y)),
        (lambda a, b: metrics.local_pca_tangents(a, 4, 2), (z1, z2)),
    ]
    for fn, args in cases:
        loop = np.stack([np.asarray(fn(*(x[i] for x in args))) for i in range(3)])
        batched = np.asarray(jax.jit(jax.vmap(fn))(*(jnp.asarray(x) for x in args)))
        if batched.ndim == 4:  # tangent bases: compare the projectors (bases are fixed up to sign)
            loop = np.einsum("bnij,bnkj->bnik", loop, loop)
            batched = np.einsum("bnij,bnkj->bnik", batched, batched)
        np.testing.assert_allclose(batched, loop, rtol=tol["loose"], atol=tol["loose"])


def test_bad_inputs_name_the_field():
    with pytest.raises(ValueError, match="features"):
        metrics.effective_rank(np.ones(4))
    with pytest.raises(ValueError, match="covariance"):
        metrics.effective_rank(np.ones((2, 3)), covariance=True)
    with pytest.raises(ValueError, match="data_cov"):
        metrics.avf_linear(np.eye(2), np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="n_neighbors"):
        metrics.local_pca_tangents(np.ones((5, 2)), 9, 1)
    with pytest.raises(ValueError, match="y must have"):
        metrics.fit_probe(np.ones((4, 2)), np.ones(5))
