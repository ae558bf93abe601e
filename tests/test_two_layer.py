"""Two-layer encoder/projector model: checks A1–A4 of the Cosentino spec and the routes behind them.

Independent routes: the generalised eigenproblem (SciPy) and the effective-landscape
global minimum against :func:`closed_form`; autodiff against the explicit gradient;
gradient descent against the diffrax flow; the exact conservation law of the flow;
and trained weights against the closed-form optimum and the balanced limit.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import landscape as ls
from landscape import metrics
from landscape.cli import main
from landscape.studies import encoder_projector as tl


def _dtype(x64):
    return jnp.float64 if x64 else jnp.float32


def _problem(sigma, x64, **cfg):
    s, a = tl.overlap_config(**cfg)
    return tl.augmentation_problem(jnp.asarray(s, _dtype(x64)), jnp.asarray(a, _dtype(x64)), sigma)


def _small(sigma, x64):
    return _problem(sigma, x64, dim=6, n_signal=3, aug_start=2, aug_stop=5)


def _random_problem(seed, d=5, x64=True):
    rng = np.random.default_rng(seed)
    ls_ = rng.normal(size=(d, d)) / math.sqrt(d)
    la = rng.normal(size=(d, d)) / math.sqrt(d)
    return ls.Problem(jnp.asarray(ls_ @ ls_.T + 0.1 * np.eye(d), _dtype(x64)), jnp.asarray(la @ la.T, _dtype(x64)))


# ----------------------------------------------------------------------------- A1: closed form
def _a1_expected(sigma):
    """The diagonal configuration in closed form (the spec's A1 table, tagged [ours], lists these to 4 digits).

    Σ_s and Σ_a commute, so ρ_i = s_i/(s_i + σ²a_i) on the 10 signal coordinates and 0 elsewhere; the optimum
    keeps all 10 (rank 16 ≥ 10) with output covariance P*ΣP*ᵀ = diag(ρ): L* = −Σρ², erank = exp H(ρ/Σρ), and
    each kept direction carries augmentation variance ρ_i·σ²a_i/(s_i + σ²a_i) = ρ_i(1 − ρ_i).
    """
    s = np.linspace(3, 0.5, 10)
    a = np.r_[np.zeros(6), np.ones(4)]
    rho = np.sort(s / (s + sigma**2 * a))[::-1]
    p = rho / rho.sum()
    return rho, -np.sum(rho**2), float(np.sum(rho * (1 - rho)) / rho.sum()), float(np.exp(-np.sum(p * np.log(p))))


@pytest.mark.parametrize("sigma", [0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
def test_a1_closed_form_table(sigma, x64):
    rho, loss, avf, erank = _a1_expected(sigma)
    prob = _problem(sigma, x64)
    opt = tl.closed_form(prob, rank=16)
    assert float(opt.loss) == pytest.approx(loss, abs=1e-9 if x64 else 5e-4)
    p = opt.product
    out_cov = p @ prob.sigma @ p.T
    assert float(metrics.effective_rank(out_cov, covariance=True)) == pytest.approx(erank, abs=1e-7 if x64 else 3e-3)
    if sigma == 0:
        assert float(metrics.avf_linear(p, prob.data_cov, prob.aug_cov)) == 0.0
    else:
        assert float(metrics.avf_linear(p, prob.data_cov, prob.aug_cov)) == pytest.approx(
            avf, abs=1e-9 if x64 else 5e-4
        )
    np.testing.assert_allclose(np.asarray(opt.rho[:10]), rho, atol=1e-9 if x64 else 1e-5)
    np.testing.assert_allclose(np.asarray(opt.rho[10:]), 0.0, atol=1e-9 if x64 else 1e-5)


def test_a1_large_sigma_limit(x64):
    opt = tl.closed_form(_problem(200.0 if x64 else 30.0, x64), rank=16)  # λmax/λmin = 8e4 (float32: 1800)
    assert float(opt.loss) == pytest.approx(-6.0, abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_matches_scipy_generalised_eigenproblem(seed, tol, x64):
    prob = _random_problem(seed, x64=x64)
    rho_ref = scipy.linalg.eigh(np.asarray(prob.data_cov, float), np.asarray(prob.sigma, float), eigvals_only=True)[
        ::-1
    ]
    opt = tl.closed_form(prob, rank=3)
    np.testing.assert_allclose(np.asarray(opt.rho), rho_ref, atol=100 * tol["exact"])
    assert float(opt.loss) == pytest.approx(-np.sum(rho_ref[:3] ** 2), abs=100 * tol["exact"])
    # P*ΣxP*ᵀ = diag(ρ) and P* is a stationary point of L
    out = opt.product @ prob.sigma @ opt.product.T
    np.testing.assert_allclose(np.asarray(out), np.diag(rho_ref[:3]), atol=100 * tol["exact"])
    g = jax.grad(lambda q: tl.spectral_loss(prob, q))(opt.product)
    assert float(jnp.max(jnp.abs(g))) < 1e3 * tol["exact"]


@pytest.mark.parametrize("seed", [3, 4])
def test_closed_form_matches_effective_landscape_minimum(seed, tol, x64):
    """The spectral loss is the effective landscape with B = 2Σ_s, Σ = Σ_x, k = 1: a second, separate solver."""
    prob = _random_problem(seed, x64=x64)
    land = ls.effective_landscape(prob, "spectral")
    ref = ls.global_minimum(land, out_dim=3)
    opt = tl.closed_form(prob, rank=3)
    assert float(opt.loss) == pytest.approx(float(ref.loss), abs=100 * tol["exact"])
    np.testing.assert_allclose(np.asarray(opt.product.T @ opt.product), np.asarray(ref.gram), atol=1e3 * tol["exact"])
    assert float(tl.spectral_loss(prob, ref.weights)) == pytest.approx(float(ref.loss), abs=100 * tol["exact"])


def test_gradient_matches_explicit_formula(tol, x64):
    prob = _random_problem(5, x64=x64)
    w = tl.init_weights(jax.random.PRNGKey(0), 5, 4, 3, scale=0.7, dtype=_dtype(x64))
    gamma = 0.3
    g1, g2 = jax.grad(lambda ww: tl.two_layer_loss(prob, ww, gamma))(w)
    w1, w2 = w
    p = w2 @ w1
    gp = -4.0 * p @ prob.data_cov + 4.0 * (p @ prob.sigma @ p.T) @ p @ prob.sigma
    np.testing.assert_allclose(
        np.asarray(g1), np.asarray(w2.T @ gp + 2 * gamma * w1), rtol=tol["loose"], atol=tol["flow"]
    )
    np.testing.assert_allclose(
        np.asarray(g2), np.asarray(gp @ w1.T + 2 * gamma * w2), rtol=tol["loose"], atol=tol["flow"]
    )


def test_balanced_factors_and_balanced_avf(tol, x64):
    prob = _problem(4.0, x64)
    opt = tl.closed_form(prob, rank=16)
    f = tl.balanced_factors(opt.product, hidden=32)
    np.testing.assert_allclose(np.asarray(f.product), np.asarray(opt.product), atol=1e3 * tol["exact"])
    assert float(tl.layer_gram_gap(f)) < 1e3 * tol["exact"]
    direct = float(metrics.avf_linear(f.encoder, prob.data_cov, prob.aug_cov))
    assert float(tl.balanced_encoder_avf(prob, 16)) == pytest.approx(direct, rel=tol["loose"])
    # hand formula in the commuting case: weights ∝ √(ρ_i/x_i)
    s = np.r_[np.linspace(3, 0.5, 10), np.zeros(22)]
    a = np.r_[np.zeros(6), np.ones(16), np.zeros(10)]
    x = s + 16 * a
    m = np.where(x > 0, s / np.where(x > 0, x, 1) ** 2, 0)
    assert direct == pytest.approx(np.sum(np.sqrt(m) * 16 * a) / np.sum(np.sqrt(m) * x), rel=tol["loose"])


# ----------------------------------------------------------------------------- dynamics
def test_gradient_descent_approximates_the_flow(tol, x64):
    prob = _small(1.5, x64)
    init = tl.init_weights(jax.random.PRNGKey(1), 6, 6, 4, scale=0.5, dtype=_dtype(x64))
    t = 2.0
    gd = tl.two_layer_descent(prob, init, lr=1e-3, steps=2000, n_save=4)
    fl = tl.two_layer_flow(prob, init, t1=t, n_save=5)
    assert not bool(fl.diverged)
    assert float(gd.times[-1]) == pytest.approx(t, rel=1e-4)
    for a, b in zip(gd.weights, fl.weights):
        assert float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b)) < 5e-3
    # halving the step halves the discrepancy (first-order method)
    gd2 = tl.two_layer_descent(prob, init, lr=5e-4, steps=4000, n_save=4)
    e1 = float(jnp.linalg.norm(gd.weights.encoder - fl.weights.encoder))
    e2 = float(jnp.linalg.norm(gd2.weights.encoder - fl.weights.encoder))
    if x64:
        assert e2 / e1 == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("gamma", [0.0, 0.05])
def test_flow_conserves_imbalance_or_decays_it(gamma, tol, x64):
    prob = _small(1.0, x64)
    init = tl.init_weights(jax.random.PRNGKey(2), 6, 6, 4, scale=0.8, dtype=_dtype(x64))
    run = tl.two_layer_flow(prob, init, t1=5.0, weight_decay=gamma, n_save=6)
    ratio = np.asarray(run.trajectory_imbalance) / float(run.trajectory_imbalance[0])
    np.testing.assert_allclose(ratio, np.exp(-4 * gamma * np.asarray(run.times)), rtol=1e3 * tol["flow"])


def test_a2_a3_gradient_descent_reaches_closed_form_and_splits(x64):
    """A2: GD from init 0.3 reaches L* within 1e-3.  A3: AVF(enc) > AVF(proj), gap growing, ±0.1 of the spec."""
    s, a = tl.overlap_config()
    res = tl.augmentation_sweep(s, a, [1.0, 2.0, 4.0], steps=40_000, init_scale=0.3)
    np.testing.assert_allclose(np.asarray(res.loss), np.asarray(res.optimal_loss), atol=1e-3)
    rep = res.report
    gap = np.asarray(rep.avf_encoder - rep.avf_projector)
    assert np.all(gap > 0) and np.all(np.diff(gap) > 0)
    np.testing.assert_allclose(gap, [0.09, 0.32, 0.64], atol=0.1)
    # the projector's output sits at the closed-form optimum's invariance and rank
    np.testing.assert_allclose(np.asarray(rep.avf_projector), np.asarray(res.optimal_avf), atol=5e-3)
    # (the effective rank weighs the slowest, weakest directions: 0.15 covers the unfinished tail)
    np.testing.assert_allclose(np.asarray(rep.erank_projector), np.asarray(res.optimal_erank), atol=0.15)
    # qualitative claim: projector rank falls, encoder keeps probe information, projector removes T_aug
    assert np.all(np.diff(np.asarray(rep.erank_projector)) < 0)
    assert np.all(np.asarray(rep.erank_encoder) > np.asarray(rep.erank_projector))
    assert np.all(np.asarray(rep.r2_encoder) >= np.asarray(rep.r2_projector) - 1e-6)
    assert float(rep.r2_projector[-1]) < 0.97 < float(rep.r2_encoder[-1])
    assert np.all(np.diff(np.asarray(rep.angle_removed_aug)) < 0) and float(rep.angle_removed_aug[-1]) < 0.05
    assert np.all(np.diff(np.asarray(rep.gain_projector)) > 0)


def test_a4_tiny_init_stays_on_the_saddle_plateau(x64):
    prob = _problem(2.0, x64)
    init = tl.init_weights(jax.random.PRNGKey(0), 32, 32, 16, scale=0.01, dtype=_dtype(x64))
    run = tl.two_layer_descent(prob, init, steps=40_000, n_save=4)
    assert abs(float(run.loss)) < 0.05 < -float(tl.closed_form(prob, 16).loss)


def _np_init(seed, scale, x64, shapes=((6, 6), (4, 6))):
    """The same random init in both precisions (drawn in float64 by NumPy)."""
    rng = np.random.default_rng(seed)
    w = [rng.normal(size=sh) * scale / math.sqrt(sh[1]) for sh in shapes]
    return tl.TwoLayerWeights(*(jnp.asarray(m, _dtype(x64)) for m in w))


def _balanced_avf_of(prob, product):
    """AVF of the balanced encoder of a given product: weights (PᵀP)^{1/2} (NumPy)."""
    _, sv, vt = np.linalg.svd(np.asarray(product, float), full_matrices=False)
    root = (vt.T * sv) @ vt
    c, sx = np.asarray(prob.aug_cov, float), np.asarray(prob.sigma, float)
    return float(np.sum(root * c) / np.sum(root * sx))


def test_balanced_init_ends_at_the_predicted_encoder_avf(tol, x64):
    """A balanced init (W1W1ᵀ = W2ᵀW2) stays balanced, so the encoder ends at balanced_encoder_avf."""
    prob = _small(2.0, x64)
    rng = np.random.default_rng(4)
    u, _ = np.linalg.qr(rng.normal(size=(6, 4)))  # W2 = ε Uᵀ (orthonormal rows)
    o, _ = np.linalg.qr(rng.normal(size=(6, 4)))  # W1 = ε U Oᵀ
    eps = 0.1
    init = tl.TwoLayerWeights(jnp.asarray(eps * u @ o.T, _dtype(x64)), jnp.asarray(eps * u.T, _dtype(x64)))
    assert float(tl.layer_gram_gap(init)) < 10 * tol["exact"]
    run = tl.two_layer_descent(prob, init, lr=0.03, steps=20_000, n_save=2)
    assert float(run.loss) == pytest.approx(float(tl.closed_form(prob, 4).loss), abs=1e-4)
    got = float(metrics.avf_linear(run.weights.encoder, prob.data_cov, prob.aug_cov))
    assert got == pytest.approx(float(tl.balanced_encoder_avf(prob, 4)), abs=2e-3)


def test_small_random_init_ends_nearly_balanced(x64):
    prob = _small(2.0, x64)
    run = tl.two_layer_descent(prob, _np_init(3, 0.1, x64), lr=0.03, steps=20_000, n_save=2)
    got = float(metrics.avf_linear(run.weights.encoder, prob.data_cov, prob.aug_cov))
    assert got == pytest.approx(float(tl.balanced_encoder_avf(prob, 4)), abs=0.03)


def test_large_init_keeps_encoder_variance_unless_weight_decay(x64):
    """Lazy split from a large init; weight decay removes the leftover and the encoder ends balanced."""
    prob = _small(2.0, x64)
    init = _np_init(3, 1.0, x64)
    plain = tl.two_layer_descent(prob, init, steps=20_000, n_save=2, safeguard=True)
    decayed = tl.two_layer_descent(prob, init, steps=20_000, n_save=2, safeguard=True, weight_decay=0.05)
    avf = lambda run: float(metrics.avf_linear(run.weights.encoder, prob.data_cov, prob.aug_cov))  # noqa: E731
    assert float(plain.loss) == pytest.approx(float(tl.closed_form(prob, 4).loss), abs=1e-3)
    assert avf(plain) > _balanced_avf_of(prob, plain.weights.product) + 0.1
    assert avf(decayed) == pytest.approx(_balanced_avf_of(prob, decayed.weights.product), abs=0.01)
    assert float(decayed.trajectory_imbalance[-1]) < 1e-3 * float(plain.trajectory_imbalance[-1])
    for run in (plain, decayed):
        assert avf(run) > float(metrics.avf_linear(run.weights.product, prob.data_cov, prob.aug_cov))


def test_phase_diagram_smoke(x64):
    s, a = tl.overlap_config(dim=6, n_signal=3, aug_start=2, aug_stop=5)
    pd = tl.init_scale_phase_diagram(s, a, [0.5, 2.0], [0.05, 0.5], hidden=6, out_dim=4, steps=3000)
    assert pd.gap.shape == (2, 2)
    assert np.all(np.isfinite(np.asarray(pd.gap)))
    for j, sg in enumerate([0.5, 2.0]):
        prob = tl.augmentation_problem(jnp.asarray(s, _dtype(x64)), jnp.asarray(a, _dtype(x64)), sg)
        want = float(
            tl.balanced_encoder_avf(prob, 4)
            - metrics.avf_linear(tl.closed_form(prob, 4).product, prob.data_cov, prob.aug_cov)
        )
        assert float(pd.balanced_gap[0, j]) == pytest.approx(want, abs=1e-5)


@pytest.mark.slow
def test_phase_diagram_spec_size(x64):
    s, a = tl.overlap_config()
    pd = tl.init_scale_phase_diagram(s, a, [1.0, 2.0, 4.0], [0.01, 0.1, 0.3, 1.0], steps=40_000)
    excess = np.asarray(pd.loss_excess)
    gap = np.asarray(pd.gap)
    ok = np.asarray(pd.converged())
    assert excess[0, 1] > 1.0 and excess[0, 2] > 1.0  # A4: tiny init still on the plateau
    assert not ok[0, 1] and not ok[0, 2]
    assert np.all(excess[1:, :] < 1e-2) and np.all(ok[1:, :])  # larger inits converge
    assert np.all(gap[2, :] > gap[1, :])  # larger init, larger split
    assert np.all(gap[1, :] > np.asarray(pd.balanced_gap)[1, :] - 0.02)


# ----------------------------------------------------------------------------- input checks, CLI
def test_bad_inputs_name_the_field(x64):
    prob = _small(1.0, x64)
    with pytest.raises(ValueError, match="init"):
        tl.two_layer_descent(prob, tl.TwoLayerWeights(jnp.ones((3, 5)), jnp.ones((2, 3))))
    with pytest.raises(ValueError, match="steps"):
        tl.two_layer_descent(prob, tl.init_weights(jax.random.PRNGKey(0), 6, 6, 2), steps=0)
    with pytest.raises(ValueError, match="rank"):
        tl.closed_form(prob, 0)
    with pytest.raises(ValueError, match="sigmas"):
        tl.augmentation_sweep(*tl.overlap_config(dim=6, n_signal=3, aug_start=2, aug_stop=5), [-1.0])


def test_cli_two_layer_json_matches_library(capsys, x64):
    argv = [
        "two-layer",
        "--signal-var",
        "3,1.75,0.5,0,0,0",
        "--aug-var",
        "0,0,1,1,1,0",
        "--sigmas",
        "1,2",
        "--steps",
        "2000",
        "--out-dim",
        "4",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    s, a = tl.overlap_config(dim=6, n_signal=3, aug_start=2, aug_stop=5)
    res = tl.augmentation_sweep(s, a, [1.0, 2.0], steps=2000, out_dim=4)
    np.testing.assert_allclose(out["avf_encoder"], np.asarray(res.report.avf_encoder), rtol=1e-4)
    np.testing.assert_allclose(out["optimal_loss"], np.asarray(res.optimal_loss), rtol=1e-4)
    assert set(["erank_projector", "r2_encoder", "angle_removed_aug"]) <= set(out)


def test_cli_two_layer_phase_and_bad_input(capsys):
    argv = [
        "two-layer-phase",
        "--signal-var",
        "3,1.75,0.5,0,0,0",
        "--aug-var",
        "0,0,1,1,1,0",
        "--sigmas",
        "1",
        "--init-scales",
        "0.1,0.5",
        "--steps",
        "500",
        "--out-dim",
        "4",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.asarray(out["gap"]).shape == (2, 1)
    assert main(["two-layer", "--sigmas", "1,-2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sigmas" in err[0]
    assert main(["two-layer", "--signal-var", "1,2"]) == 2
    assert "--aug-var" in capsys.readouterr().err


def test_old_names_warn_and_forward(x64):
    """gradient_descent / gradient_flow / imbalance are deprecated aliases of the renamed functions."""
    w = tl.TwoLayerWeights(jnp.eye(2), 2.0 * jnp.eye(2))
    with pytest.warns(DeprecationWarning, match="layer_gram_gap"):
        assert float(tl.imbalance(w)) == float(tl.layer_gram_gap(w))
    prob = _small(1.0, x64)
    init = tl.init_weights(jax.random.PRNGKey(0), 6, 6, 2, dtype=_dtype(x64))
    with pytest.warns(DeprecationWarning, match="two_layer_descent"), pytest.raises(ValueError, match="steps"):
        tl.gradient_descent(prob, init, steps=0)
    with pytest.warns(DeprecationWarning, match="two_layer_flow"), pytest.raises(ValueError, match="n_save"):
        tl.gradient_flow(prob, init, t1=1.0, n_save=0)
