"""Probes of landscape.nn against independent routes: the effective landscape, closed forms, a refit."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.nn import data, probe, train
from landscape.theory.exact_gaussian_infonce import exact_gaussian_gram_eigenvalues


def test_slices_match_the_effective_landscape_routines():
    p = ls.Problem.from_diagonal([3.0, 2.0, 1.0, 0.5], [1.0, 0.5, 2.0, 0.3])
    land = ls.effective_landscape(p, "infonce")
    w = jax.random.normal(jax.random.PRNGKey(0), (3, 4)) * 0.3
    fn = lambda v: ls.loss(land, v)  # noqa: E731
    a = jnp.linspace(-2.0, 2.0, 9)
    np.testing.assert_allclose(probe.slice_1d(fn, w, a), ls.radial_slice(land, w, a), rtol=1e-4, atol=1e-5)
    r = jnp.linspace(0.0, 1.2, 4)
    ours = probe.slice_halves(fn, w, r, r)
    ref = ls.spectral_halves_slice(land, w, r[:, None], r[None, :])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)
    # with an isotropic metric the output-covariance split is the singular-value split
    np.testing.assert_allclose(probe.slice_halves(fn, w, r, r, metric=2.0 * jnp.eye(4)), ref, rtol=1e-4, atol=1e-5)
    w2 = w[:2]
    rows = probe.slice_rows(fn, w2, r, r)
    np.testing.assert_allclose(rows[1, 2], fn(w2 * jnp.array([[r[1]], [r[2]]])), rtol=1e-6)
    with pytest.raises(ValueError, match="2 rows"):
        probe.slice_rows(fn, w, r, r)


@pytest.fixture(scope="module")
def linear_views():
    """Linear 'encoder' ϕ = x: 8 noisy views of Gaussian data with variances a, noise σ² = 1."""
    a = np.array([3.0, 1.5, 0.6, 0.3])
    x = data.gaussian(jax.random.PRNGKey(0), 4000, a)
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (8,) + x.shape), np.float32)
    return a, x, x[None] + noise


def test_feature_covariances_recover_data_and_augmentation(linear_views):
    a, x, views = linear_views
    cov = probe.feature_covariances(views)
    a_hat = np.cov(x.astype(np.float64).T, bias=True)
    # A_ϕ is the covariance the views share (the clean data's), C_ϕ the noise's (σ² I)
    np.testing.assert_allclose(cov.basis @ cov.shared @ cov.basis.T, a_hat, atol=0.06)
    np.testing.assert_allclose(cov.basis @ cov.augmentation @ cov.basis.T, np.eye(4), atol=0.06)
    np.testing.assert_allclose(probe.signal_fractions(cov), np.sort(a / (a + 1.0))[::-1], atol=0.03)


def test_prediction_matches_closed_form_and_a_refit(linear_views):
    """The linear case: the last layer trained alone on frozen features vs the prediction from (A_ϕ, C_ϕ)."""
    a, x, views = linear_views
    cov = probe.feature_covariances(views)
    pred = probe.linear_prediction(cov, 4, beta=0.5)
    # β = ½: direction i survives iff a_i > σ² = 1 → two survive
    assert pred.rank == 2
    # closed form per direction (commuting case): output variance μ* = λ*·s with s = a + σ²
    ev = np.linalg.eigvalsh(cov.shared)[::-1]
    lam = np.asarray(exact_gaussian_gram_eigenvalues(jnp.asarray(ev), 1.0, 0.5))
    np.testing.assert_allclose(pred.output_variances[:2], (lam * (ev + 1.0))[:2], rtol=0.05)
    # independent route: train W alone with the real sample loss on the frozen views
    w0 = 0.01 * np.asarray(jax.random.normal(jax.random.PRNGKey(2), (4, 4)))
    w = probe.fit_last_layer(
        train.make_ssl_loss("beta-infonce", beta=0.5), views[:, :512], w0, steps=1000, learning_rate=3e-2
    )
    eig, rank = probe.measured_collapse(w, cov)
    assert rank == pred.rank
    np.testing.assert_allclose(eig[:2], pred.output_variances[:2], rtol=0.25)
    assert probe.collapse_class(rank, 4) == "dimensional"


def test_predicted_slice_matches_the_real_loss(linear_views):
    a, x, views = linear_views
    cov = probe.feature_covariances(views)
    pred = probe.linear_prediction(cov, 2, beta=1.0)
    n = 2000
    fn = probe.last_layer_loss(train.make_ssl_loss("infonce"), views[0, :n], views[1, :n])
    scales = np.linspace(-1.5, 1.5, 7)
    real = np.asarray(probe.slice_1d(fn, pred.weights, scales))
    theory = probe.predicted_slice_1d(cov, pred.weights, scales, beta=1.0, n_negatives=n)
    np.testing.assert_allclose(real[3], math.log(n), rtol=1e-5)  # a = 0: log n exactly
    # the Gaussian formula (infinitely many negatives) follows the real loss to about 1 %
    np.testing.assert_allclose(real, theory, rtol=0.02)
    assert np.argmin(real) == np.argmin(theory) and np.argmin(real) != 3  # InfoNCE: no collapse


def test_collapse_class_and_layer_metrics():
    assert [probe.collapse_class(r, 2) for r in (2, 1, 0)] == ["none", "dimensional", "complete"]
    from landscape.nn.models import Outputs

    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, 60, 5))
    z = np.repeat(h[:, :, 1:2], 3, axis=2)  # the projector keeps a coordinate the label ignores
    labels = (h[0, :, 0] > 0).astype(int)
    clean = Outputs(h[0], h[0], z[0])
    m = probe.layer_metrics(Outputs(h, h, z), clean, labels, n_classes=2)
    assert set(m) == {"encoder", "projector"}
    assert m["projector"]["effective_rank"] == pytest.approx(1.0, abs=1e-6)
    for name, feats in (("encoder", h[0]), ("projector", z[0])):
        assert m[name]["probe_accuracy"] == pytest.approx(_np_ridge_probe_accuracy(feats, labels, 42, 1e-3))
    assert m["encoder"]["probe_accuracy"] > 0.5 + 0.35  # the label is a linear function of h: far above chance


def _np_ridge_probe_accuracy(feats, labels, cut, ridge):
    """Held-out accuracy of a ridge probe on one-hot targets (λ = ridge·tr(C)/D, bias unpenalised), in NumPy."""
    ztr, ytr = feats[:cut], np.eye(2)[labels[:cut]]
    zm, ym = ztr.mean(0), ytr.mean(0)
    cov = (ztr - zm).T @ (ztr - zm) / cut
    w = np.linalg.solve(
        cov + ridge * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0]), (ztr - zm).T @ (ytr - ym) / cut
    )
    pred = np.argmax((feats[cut:] - zm) @ w + ym, axis=1)
    return float(np.mean(pred == labels[cut:]))
