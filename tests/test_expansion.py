"""The small-W expansion of the real losses, checked by independent routes.

* exact Gaussian InfoNCE population loss vs Gauss–Hermite quadrature, its
  series vs sympy, its closed-form minimum vs gradient descent (T12);
* Monte Carlo Taylor coefficients of the real sample losses vs sympy, vs the
  loss → B table, and vs a finite-t polynomial fit with common random numbers;
* the two caveats of spec §2.3: the quartic coefficient (¾ vs 1, T6) and the
  C-term of weighted InfoNCE (recipe N = 50, α = 0.1, σ² = 25);
* training the real InfoNCE on sampled data vs the exact Gaussian minimum;
* the Fig. 2 script's full run (``slow``; its smoke run is in test_figures_smoke.py).
"""

import functools
import importlib.util
import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import sympy as sp

import landscape as ls
from landscape.losses import population as P
from landscape.losses import quadratic_form
from landscape.losses import sample as S
from landscape.losses import symbolic as sy
from landscape.studies.linear_training import empirical_covariance, train_grid, train_linear
from landscape.theory import exact_gaussian_infonce as EG

ROOT = Path(__file__).resolve().parents[1]


def _require_slow(request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long run: select with -m slow")


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


# ============================================================ exact Gaussian InfoNCE
def _quadrature_population_loss(w, sigma, aug, beta=1.0, nodes=24):
    """E[½|W(x − x′)|²] + β E_x log E_χ exp(−½|W(x − χ)|²) by tensor Gauss–Hermite (NumPy)."""
    d = sigma.shape[0]
    g, wt = np.polynomial.hermite_e.hermegauss(nodes)
    wt = wt / wt.sum()
    grid = np.stack(np.meshgrid(*([g] * d), indexing="ij"), -1).reshape(-1, d)
    wgrid = np.prod(np.stack(np.meshgrid(*([wt] * d), indexing="ij"), -1).reshape(-1, d), axis=1)
    root = np.linalg.cholesky(sigma)
    pts = grid @ root.T  # samples of N(0, Σ)
    f = pts @ w.T
    u = 0.5 * np.sum((f[:, None, :] - f[None, :, :]) ** 2, axis=-1)
    inner = np.log(np.exp(-u) @ wgrid)
    align = np.trace(w @ aug @ w.T)  # ½ E|W(ε − ε′)|² = Tr[W C Wᵀ]
    return align + beta * float(inner @ wgrid)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_exact_gaussian_loss_matches_quadrature(beta, tol):
    a0 = np.array([[1.2, 0.3], [0.3, 0.6]])
    c = np.array([[0.4, 0.0], [0.0, 0.9]])  # does not commute with A0
    p = ls.Problem.from_arrays(a0, c)
    w = np.array([[0.5, -0.2], [0.1, 0.4], [0.3, 0.3]])  # d1 = 3 > d0
    got = float(P.exact_gaussian_infonce(_f(w), p, beta))
    want = _quadrature_population_loss(w, a0 + c, c, beta)
    assert abs(got - want) <= max(tol["exact"] * 100, 1e-8)


@pytest.mark.x64_only
def test_exact_gaussian_series_matches_sympy():
    """Along a ray the coefficients are −Tr[W₀BW₀ᵀ] and (3β/4)Tr[S₀²] (fit of L(tW₀)); 1-D vs sympy."""
    beta = 0.7
    p = ls.Problem.from_arrays([[1.0, 0.2], [0.2, 0.5]], [[0.3, 0.0], [0.0, 0.8]])
    w0 = _f([[0.6, -0.4], [0.2, 0.9]])
    ts = np.linspace(0.01, 0.12, 12)
    vals = np.asarray(jax.vmap(lambda t: P.exact_gaussian_infonce(t * w0, p, beta))(_f(ts)), float)
    design = np.stack([ts ** (2 * k) for k in range(1, 7)], axis=1)  # L(0) = 0
    fit, *_ = np.linalg.lstsq(design, vals, rcond=None)
    b = np.asarray(beta * p.data_cov - (1 - beta) * p.aug_cov)
    s0 = np.asarray(w0 @ p.sigma @ w0.T)
    assert abs(fit[0] + np.sum((np.asarray(w0) @ b) * np.asarray(w0))) < 1e-8
    assert abs(fit[1] - 0.75 * beta * np.sum(s0 * s0)) < 1e-5
    co = sy.exact_gaussian_expansion(6)
    a1, c1 = 1.3, 0.45
    p1 = ls.Problem.from_diagonal([a1], [c1])
    vals1 = np.asarray(jax.vmap(lambda t: P.exact_gaussian_infonce(jnp.reshape(t, (1, 1)), p1, beta))(_f(ts)), float)
    fit1, *_ = np.linalg.lstsq(design, vals1, rcond=None)
    sub = {sy.a: a1, sy.c: c1, sy.beta: beta}
    assert abs(fit1[0] - float(co[2].subs(sub))) < 1e-8
    assert abs(fit1[1] - float(co[4].subs(sub))) < 1e-5
    assert abs(fit1[2] - float(co[6].subs(sub))) < 2e-3
    assert sy.exact_gaussian_minimiser_check() == 0


def test_exact_gaussian_quadratic_term_autodiff(tol):
    """Second derivative at W = 0 along W₀: −2Tr[W₀(βA0 − (1−β)C)W₀ᵀ] (both precisions)."""
    beta = 0.7
    p = ls.Problem.from_arrays([[1.0, 0.2], [0.2, 0.5]], [[0.3, 0.0], [0.0, 0.8]])
    w0 = _f([[0.6, -0.4], [0.2, 0.9]])
    d2 = jax.grad(jax.grad(lambda t: P.exact_gaussian_infonce(t * w0, p, beta)))(_f(0.0))
    b = beta * p.data_cov - (1 - beta) * p.aug_cov
    assert abs(float(d2) / 2 + float(jnp.sum((w0 @ b) * w0))) <= tol["exact"] * 10


@functools.partial(jax.jit, static_argnames=("steps", "adam"))
def _descend_exact(w0, problem, beta, gamma, lr, *, steps, adam):
    """``steps`` of Adam (or plain gradient descent) on the exact Gaussian InfoNCE: one compilation per W shape."""
    opt = optax.adam(lr) if adam else optax.sgd(lr)
    fun = lambda w: P.exact_gaussian_infonce(w, problem, beta, gamma)  # noqa: E731

    def step(carry, _):
        w, st = carry
        upd, st = opt.update(jax.grad(fun)(w), st, w)
        return (optax.apply_updates(w, upd), st), None

    (w, _), _ = jax.lax.scan(step, (w0, opt.init(w0)), None, length=steps)
    return w


@pytest.mark.parametrize("case", ["commuting", "non-commuting", "rank-capped", "beta-collapse", "weight-decay"])
def test_exact_gaussian_minimum_matches_gradient_descent(case, tol, x64):
    """T12: descent on the exact population loss reaches the closed-form minimum."""
    beta = 1.0
    if case == "non-commuting":
        q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
        p = ls.Problem.from_arrays(q @ np.diag([2.0, 1.0, 0.4]) @ q.T, np.diag([0.5, 1.5, 0.8]))
    else:
        p = ls.Problem.from_diagonal([2.0, 1.0, 0.4], [0.5, 1.5, 0.8])
    out_dim = 2 if case == "rank-capped" else 3
    if case == "beta-collapse":
        beta = 0.5  # κ = c/s ≥ β for the last two directions
    gamma = 0.5 if case == "weight-decay" else 0.0  # collapses the a = 0.4 direction
    sol = EG.exact_gaussian_minimum(p, out_dim, beta, gamma)
    if case == "weight-decay":
        assert int(sol.rank) == 2
    w0 = 0.3 * _f(np.random.default_rng(1).normal(size=(out_dim, 3)))
    w = _descend_exact(w0, p, beta, gamma, 2e-2, steps=6000, adam=True)
    w = _descend_exact(w, p, beta, gamma, 0.1, steps=6000, adam=False)
    gd = np.sort(np.linalg.eigvalsh(np.asarray(w.T @ w, float)))[::-1]
    atol = 1e-5 if x64 else 2e-3
    np.testing.assert_allclose(gd, np.asarray(sol.gram_eigenvalues, float), atol=atol)
    assert float(P.exact_gaussian_infonce(w, p, beta, gamma)) >= float(sol.loss) - atol
    assert abs(float(P.exact_gaussian_infonce(sol.weights, p, beta, gamma)) - float(sol.loss)) <= tol["exact"] * 10


def test_exact_gaussian_minimum_properties(tol):
    a = np.array([3.0, 1.0, 0.5, 0.2])
    c = np.array([0.5, 2.0, 0.1, 0.6])
    p = ls.Problem.from_diagonal(a, c)
    sol = jax.jit(functools.partial(EG.exact_gaussian_minimum, out_dim=4))(p)
    per_dir = np.sort(np.asarray(EG.exact_gaussian_gram_eigenvalues(_f(a), _f(c)), float))[::-1]
    np.testing.assert_allclose(np.asarray(sol.gram_eigenvalues, float), per_dir, rtol=tol["exact"] * 100)
    # rank cap keeps the smallest c/s (largest a/s), like the effective landscape for B = A0
    eff = ls.global_minimum(ls.effective_landscape(p, "infonce"), 2)
    cap = EG.exact_gaussian_minimum(p, 2)
    assert np.array_equal(np.asarray(eff.kept), np.asarray(cap.kept))
    # large σ²: λ* → 2a/(3σ⁴) (k = ¾), i.e. 4/3 of the paper's a/(2σ⁴)
    big = np.asarray(EG.exact_gaussian_gram_eigenvalues(_f([1.0]), 1e3), float)[0]
    assert abs(big / (1.0 / (2 * (1.0 + 1e3) ** 2)) - 4 / 3) < 5e-3
    # vmap over σ²
    sols = jax.vmap(
        lambda s2: EG.exact_gaussian_minimum(ls.Problem(jnp.diag(_f(a)), s2 * jnp.eye(4, dtype=_f(a).dtype)), 4)
    )(_f([0.5, 1.0, 2.0]))
    assert sols.gram_eigenvalues.shape == (3, 4)
    with pytest.raises(ValueError, match="out_dim"):
        EG.exact_gaussian_minimum(p, 0)


# ==================================================== Monte Carlo of the real losses
PROBLEM = ls.Problem.from_diagonal([1.5, 0.5], [0.25, 1.0])


def _within(est, se, target, nse=4.5, floor=0.0):
    return abs(est - target) <= nse * se + floor


def test_taylor_autodiff_matches_finite_t_fit(tol, x64):
    """The t² and t⁴ coefficients from autodiff at t = 0 match a polynomial fit of L(tW₀) (same batches)."""
    key = jax.random.PRNGKey(3)
    fn = S.infonce
    d = jnp.asarray([[[1.0, 0.0]]], jnp.result_type(float))
    coef = np.asarray(P.mc_taylor_coefficients(key, fn, PROBLEM, d, n=12, n_batches=32, chunk=32), float)
    ts = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    keys = jax.random.split(key, 32)

    def loss_at(k, t):
        x1, x2 = P._batch(k, PROBLEM, 12, "exact-moment")
        return fn(t * x1[:, :1], t * x2[:, :1])

    vals = np.asarray(jax.jit(jax.vmap(lambda t: jnp.mean(jax.vmap(lambda k: loss_at(k, t))(keys))))(_f(ts)), float)
    design = np.stack([np.ones_like(ts), ts**2, ts**4, ts**6, ts**8], axis=1)
    fit, *_ = np.linalg.lstsq(design, vals, rcond=None)
    m = coef.mean(0)[0]
    assert abs(fit[1] - m[2]) <= (1e-4 if x64 else 3e-2) * abs(m[2])
    if x64:
        assert abs(fit[2] - m[4]) <= 2e-2 * abs(m[4])


@pytest.mark.parametrize(
    "name, fn, params",
    [
        ("infonce", S.infonce, {}),
        ("weighted-infonce", lambda a, b: S.weighted_infonce(a, b, 0.1), {"alpha": 0.1}),
        ("beta-infonce", lambda a, b: S.beta_infonce(a, b, 0.5), {"beta": 0.5}),
    ],
)
def test_mc_quadratic_form_infonce_family_matches_derivation(name, fn, params):
    n = 24
    r = P.mc_expansion(jax.random.PRNGKey(5), fn, PROBLEM, n=n, n_batches=200, chunk=200, rank2=False, order=2)
    # sympy, fixed data set with exact moments: B = βN/(N−1+α)·A0 − (1−β)C
    q2, _ = sy.infonce_expansion(1, "exact-moment")
    al, be = params.get("alpha", 1.0), params.get("beta", 1.0)
    p_sym = -float(sp.diff(q2, sy.a).subs({sy.N: n, sy.alpha: al, sy.beta: be}))
    q_sym = -float(sp.diff(q2, sy.c).subs({sy.N: n, sy.alpha: al, sy.beta: be}))
    qf = quadratic_form(name, form="derived", n_samples=n, **params)
    assert abs(p_sym - float(qf.data_coef)) < 1e-6 and abs(q_sym - float(qf.aug_coef)) < 1e-6
    assert _within(r["pq"][0], r["pq_se"][0], p_sym), (r["pq"], r["pq_se"], p_sym)
    assert _within(r["pq"][1], r["pq_se"][1], q_sym), (r["pq"], r["pq_se"], q_sym)
    assert _within(r["b"][0, 1], r["b_se"][0, 1], 0.0)
    if name == "beta-infonce":  # the paper's normalisation of β-InfoNCE (p = 1) is excluded
        assert abs(r["pq"][0] - 1.0) > 10 * r["pq_se"][0]


def test_mc_quadratic_form_other_losses_match_sympy():
    n = 16
    vals = {sy.N: n}
    spec = P.mc_expansion(
        jax.random.PRNGKey(6), S.spectral_contrastive, PROBLEM, n=n, n_batches=120, chunk=120, rank2=False, order=2
    )
    assert _within(spec["pq"][0], spec["pq_se"][0], 2.0) and _within(spec["pq"][1], spec["pq_se"][1], 0.0)
    assert abs(spec["pq"][1] - 2.0) > 10 * spec["pq_se"][1]  # the paper's B = 2C is excluded
    bt = P.mc_expansion(
        jax.random.PRNGKey(7),
        lambda a, b: S.barlow_twins(a, b, normalize="none"),
        PROBLEM,
        n=n,
        n_batches=120,
        chunk=120,
        rank2=False,
    )
    q2, q4 = sy.barlow_twins_expansion("exact-moment")
    assert _within(bt["pq"][0], bt["pq_se"][0], 2.0) and _within(bt["pq"][1], bt["pq_se"][1], 0.0)
    assert abs(bt["pq"][1] - 2.0) > 10 * bt["pq_se"][1]  # the paper's B = 2Σ is excluded
    a1, c1, s1 = 1.5, 0.25, 1.75
    k_sym = float(q4.subs({sy.a: a1, sy.c: c1, **vals})) / s1**2
    assert _within(bt["k_axis"][0], bt["k_axis_se"][0], k_sym)
    vic = P.mc_expansion(jax.random.PRNGKey(8), S.vicreg, PROBLEM, n=n, n_batches=120, chunk=120, rank2=False, order=2)
    expr = sy.vicreg_quadratic("exact-moment").subs(
        {
            sp.Symbol("lambda_inv", positive=True): 25,
            sp.Symbol("lambda_var", positive=True): 25,
            sp.Symbol("epsilon", positive=True): sp.Rational(1, 10**4),
            **vals,
        }
    )
    p_sym, q_sym = -float(sp.diff(expr, sy.a)), -float(sp.diff(expr, sy.c))
    assert _within(vic["pq"][0], vic["pq_se"][0], p_sym, floor=1e-3 * p_sym)
    assert _within(vic["pq"][1], vic["pq_se"][1], q_sym, floor=1e-3 * abs(q_sym))


def test_mc_expansion_of_stacked_losses_matches_closed_quartics():
    """A vector of losses on common batches (one compilation): each entry's quartic against its closed form.

    Gaussian data, N = n.  Spectral contrastive: E(z1_iᵀz2_j)² = Tr[S²] for i ≠ j, so k = 1 on every axis and
    k₂ = 0 exactly.  Unnormalised Barlow Twins: 𝒞 = (1/N)Σ x_i x_i′ per feature, E𝒞² = a² + (a² + s²)/N, so
    k_i = (a_i² + (a_i² + s_i²)/N)/s_i² (direction-dependent: not k·Tr[S²]); two rows couple only through
    λ_off(𝒞₁₂² + 𝒞₂₁²), E = 2λ_off s₁s₂/N, so k₂ = λ_off/N.  Entries swapped or mixed would fail both.
    """
    n, lam = 24, 0.3
    bt = lambda a, b: S.barlow_twins(a, b, normalize="none", lambda_offdiag=lam)
    r = P.mc_expansion(
        jax.random.PRNGKey(21),
        lambda a, b: jnp.stack([S.spectral_contrastive(a, b), bt(a, b)]),
        PROBLEM,
        n=n,
        n_batches=64,
        data="gaussian",
        chunk=64,
    )
    assert r["k_axis"].shape == (2, 2) and r["k2"].shape == (2,)
    a, s = np.diagonal(PROBLEM.data_cov), np.diagonal(PROBLEM.sigma)
    k_bt = (a**2 + (a**2 + s**2) / n) / s**2
    for i in range(2):
        assert _within(r["k_axis"][0, i], r["k_axis_se"][0, i], 1.0), (r["k_axis"], r["k_axis_se"])
        assert _within(r["k_axis"][1, i], r["k_axis_se"][1, i], k_bt[i]), (r["k_axis"], r["k_axis_se"], k_bt)
    assert _within(r["k2"][0], r["k2_se"][0], 0.0)
    assert _within(r["k2"][1], r["k2_se"][1], lam / n) and r["k2"][1] > 4 * r["k2_se"][1]
    assert abs(r["k_axis"][1, 0] - r["k_axis"][1, 1]) > 10 * np.hypot(*r["k_axis_se"][1])
    # the quadratic part of each entry as in the scalar route: B = 2A0 for both
    np.testing.assert_allclose(r["pq"][:, 0], 2.0, atol=4.5 * r["pq_se"][:, 0].max())


# ============================================================== the two caveats
def test_caveat1_quartic_coefficient_is_three_quarters():
    """T6 on the real loss: k = c₄/Tr[S²] matches sympy's finite-N value (→ ¾), not the paper's 1."""
    n = 48
    r = P.mc_expansion(
        jax.random.PRNGKey(9), S.infonce, PROBLEM, n=n, n_batches=160, data="gaussian", chunk=80, rank2=True
    )
    _, q4 = sy.infonce_expansion(1, "gaussian")
    for i, (a_i, c_i) in enumerate([(1.5, 0.25), (0.5, 1.0)]):
        k_sym = float(q4.subs({sy.a: a_i, sy.c: c_i, sy.N: n, sy.alpha: 1, sy.beta: 1})) / (a_i + c_i) ** 2
        assert abs(k_sym - 0.75) < 0.03  # finite-N value, → ¾ as N → ∞
        assert _within(r["k_axis"][i], r["k_axis_se"][i], k_sym), (r["k_axis"], r["k_axis_se"], k_sym)
        assert abs(r["k_axis"][i] - 1.0) > 10 * r["k_axis_se"][i]
    # no (Tr S)² term beyond finite-N size: the quartic is k·Tr[S²]
    assert abs(r["k2"]) < 0.02 and abs(r["k1"] - k_sym) < 0.03


def test_caveat1_proposition4_variances_numpy():
    """(1/8)Var|W(x−χ)|² = Tr[S²] (WS Prop. 4) but (1/8)E_x Var_χ = ¾Tr[S²] (what the expansion uses)."""
    rng = np.random.default_rng(12)
    sig = np.array([[1.0, 0.3, 0.0], [0.3, 0.8, 0.1], [0.0, 0.1, 0.5]])
    w = np.array([[0.7, -0.2, 0.4], [0.1, 0.5, -0.3]])
    s = w @ sig @ w.T
    trs2 = float(np.sum(s * s))
    root = np.linalg.cholesky(sig)
    m = 400000
    x, chi1, chi2 = (rng.normal(size=(m, 3)) @ root.T for _ in range(3))
    q1 = np.sum(((x - chi1) @ w.T) ** 2, axis=1)
    q2 = np.sum(((x - chi2) @ w.T) ** 2, axis=1)
    total = q1.var() / 8
    conditional = np.mean(0.5 * (q1 - q2) ** 2) / 8  # ½(q₁ − q₂)² is unbiased for Var_χ(q | x)
    tot_s, cond_s = sy.proposition4_variances()
    assert float(tot_s.subs(sy.s, 1)) == 1.0 and float(cond_s.subs(sy.s, 1)) == 0.75
    assert abs(total / trs2 - 1.0) < 0.06
    assert abs(conditional / trs2 - 0.75) < 0.05


def _smallest_direction(x):
    evals, evecs = np.linalg.eigh(empirical_covariance(x))
    return evals[0], evecs[:, 0]


def test_caveat2_weighted_infonce_has_no_c_term():
    """Spec recipe: N = 50, α = 0.1, σ² = 25, probe along the smallest eigenvector of Â0."""
    n, alpha, s2, d = 50, 0.1, 25.0, 32
    x = np.random.default_rng(2023).normal(size=(n, d))
    a_hat, u = _smallest_direction(x)
    proj = x @ u  # data projected on the probe direction
    p1 = ls.Problem.from_diagonal([max(float(np.mean(proj**2)), 1e-12)], [s2])
    coef = np.asarray(
        P.mc_taylor_coefficients(
            jax.random.PRNGKey(10),
            lambda a, b: S.weighted_infonce(a, b, alpha),
            p1,
            jnp.ones((1, 1, 1), jnp.result_type(float)),
            data=proj[:, None],
            n=n,
            n_batches=20000,
            chunk=2000,
            order=2,
        ),
        float,
    )
    c2 = coef[:, 0, 2]
    m, se = c2.mean(), c2.std(ddof=1) / math.sqrt(c2.size)
    derived = -n / (n - 1 + alpha) * a_hat
    paper = (1 - alpha) * s2 / n - a_hat
    assert _within(m, se, derived), (m, se, derived)
    assert abs(m - paper) > 8 * se, (m, se, paper)


# =============================================================== training, Fig. 2
def test_train_linear_shapes_and_vmap():
    x = np.random.default_rng(0).normal(size=(24, 3))
    out = train_grid(
        jax.random.split(jax.random.PRNGKey(0), 2), x, np.array([0.5, 2.0]), loss="infonce", steps=20, lr=1e-2, tail=5
    )
    assert out["weights"].shape == (2, 2, 3, 3)
    assert out["tail_gram_eigenvalues"].shape == (2, 2, 3)
    assert np.all(np.isfinite(np.asarray(out["loss_trace"])))
    with pytest.raises(ValueError, match="steps"):
        train_linear(jax.random.PRNGKey(0), x, 1.0, steps=0)
    with pytest.raises(ValueError, match="loss must be one of"):
        train_linear(jax.random.PRNGKey(0), x, 1.0, loss="simclr", steps=2)


def test_real_infonce_training_reaches_exact_gaussian_minimum():
    """Real finite-N InfoNCE, trained on samples, vs the exact population minimum on Â0: within 15%."""
    x = np.random.default_rng(1).normal(size=(256, 2)) * np.array([1.3, 0.8])
    s2 = 1.0
    out = train_linear(jax.random.PRNGKey(2), x, s2, loss="infonce", steps=3000, lr=1e-2, tail=1500)
    sim = np.sort(np.asarray(out["tail_gram_eigenvalues"], float))
    a_hat = np.linalg.eigvalsh(empirical_covariance(x))
    exact = np.sort(np.asarray(EG.exact_gaussian_gram_eigenvalues(_f(a_hat), s2), float))
    paper = np.sort(a_hat / (2 * (a_hat + s2) ** 2))
    np.testing.assert_allclose(sim, exact, rtol=0.15)
    assert np.all(np.abs(sim / paper - 1) > 0.25)  # the k = 1 amplitude is clearly off here


def _load_fig2():
    return importlib.import_module("landscape.reproduction.ziyin2023.fig2_linear_model")


@pytest.mark.slow
def test_fig2_full_run_reproduction(request, tmp_path):
    _require_slow(request)
    mod = _load_fig2()
    data = mod.compute(quick=False)
    # left: no collapse; σ⁻⁴ law; the exact Gaussian minimum within 30% for σ² ≥ 1
    sim = data["left_sim"].mean(0)
    s2 = data["left_sigma2"]
    assert np.all(sim > 0)
    big = s2 >= 1.0
    slope = np.polyfit(np.log(s2[big]), np.log(sim[big, 0]), 1)[0]
    assert -2.7 < slope < -1.5
    # right: collapse beyond each threshold σ² = β/(1−β)·â_i, not before (margins of 0.1)
    rs = data["right_sim"].mean(0)
    for j, th in enumerate(np.sort(data["right_thresholds"])):
        col = np.sort(rs, axis=-1)[:, j]
        assert np.all(col[data["right_sigma2"] > th + 0.1] < 0.03)
        assert np.all(col[data["right_sigma2"] < th - 0.1] > 0.03)
    # middle: the real loss does not collapse below the paper's N_crit
    ms = data["mid_sim"].mean(0)[:, 0]
    below = data["mid_n"] < float(data["mid_ncrit_paper"])
    assert below.any() and np.all(ms[below] > 1e-5)


def _load_script(path):
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.x64_only
def test_weighted_infonce_collapsed_weak_direction_is_unstable(request):
    """Fig. 2 middle data, N = 55: collapsing the weakest direction raises the expected real loss."""
    _require_slow(request)
    mod = _load_script(ROOT / "paper_repro" / "weighted_infonce_collapse_check.py")
    k_m = jax.random.split(jax.random.PRNGKey(2022), 4)[1]
    x = np.asarray(jax.random.normal(k_m, (135, 32)), float)[:55]
    r = mod.collapsed_direction_curvature(x, 0, draws=40000, seed=5)
    assert r["mc"] < -3 * r["se"]
    assert _within(r["mc"], r["se"], r["theory"])


@pytest.mark.slow
def test_expansion_table_script_quick(request, tmp_path):
    _require_slow(request)
    import subprocess

    # a separate process: the script switches JAX to float64 when it is imported
    subprocess.run(
        [sys.executable, str(ROOT / "paper_repro" / "make_expansion_table.py"), "--quick", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=1200,
    )
    text = (tmp_path / "expansion_table_quick.md").read_text()
    assert "Caveat 2" in text and "InfoNCE" in text and "quartic coefficient k of every loss" in text
