"""Class imbalance in the linear theory: closed forms vs the solvers, gradient flow and samples."""

import jax
import numpy as np
import pytest

import landscape as ls
from landscape.studies import class_imbalance as im
from landscape.studies.class_imbalance import supervised as sv


# ------------------------------------------------------------------ construction and validation
def test_mixture_is_centred_and_a0_matches_sample_covariance():
    means = [[1.0, 2.0, 0.0], [0.0, -1.0, 1.0], [3.0, 0.0, 0.0]]
    p = [0.2, 0.5, 0.3]
    cp = im.class_problem(means, p, within_cov=[0.3, 0.1, 0.2], aug_var=0.4)
    x, _ = im.sample_classes(np.random.default_rng(0), cp, 200_000)
    # independent route: the empirical covariance of a large sample
    np.testing.assert_allclose(np.cov(x.T, bias=True), np.asarray(cp.problem.data_cov), atol=0.02)
    np.testing.assert_allclose(x.mean(0), 0.0, atol=0.01)
    np.testing.assert_allclose(cp.center, np.asarray(p) @ np.asarray(means))
    np.testing.assert_allclose(np.linalg.norm(cp.directions, axis=1), 1.0)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(means=[[1.0], [0.0]], proportions=[0.5, 0.6]), "sum to 1"),
        (dict(means=[[1.0], [0.0]], proportions=[1.0, 0.0]), "in (0, 1)"),
        (dict(means=[[1.0], [0.0]], proportions=[0.2, 0.3, 0.5]), "proportions must have one entry"),
        (dict(means=[1.0, 0.0], proportions=[0.5, 0.5]), "means"),
        (dict(means=[[1.0], [0.0]], proportions=[0.5, 0.5], within_cov=[1.0, 2.0]), "within_cov"),
        (dict(means=[[1.0], [0.0]], proportions=[0.5, 0.5], aug_var=1.0, aug_cov=1.0), "at most one"),
        (dict(means=[[1.0], [0.0]], proportions=[0.5, 0.5], aug_var=-1.0), "aug_var"),
    ],
)
def test_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace("(", r"\(").replace(")", r"\)")):
        im.class_problem(**kwargs)


# ------------------------------------------------------------------ symmetric answers
def test_two_balanced_classes_are_symmetric(tol):
    cp = im.minority_problem(0.5, separation=3.0, within_var=0.2, n_background=2, aug_var=0.4)
    swapped = im.class_problem(cp.means[::-1], [0.5, 0.5], within_cov=cp.within_cov, aug_var=0.4)
    for prob in (cp, swapped):
        rep = im.solve_classes(prob, "infonce", weight_decay=0.1)
        v = rep.representation_variance
        assert v[0] == pytest.approx(v[1], rel=tol["exact"])
        # closed form along the class direction: a = m²/4 + w
        a = 0.25 * 9.0 + 0.2
        assert rep.direction_variance[0] == pytest.approx(a, rel=tol["exact"])
        assert v[0] == pytest.approx(
            float(im.closed_form_representation_variance(a, 0.4, weight_decay=0.1)), rel=tol["loose"]
        )
    np.testing.assert_allclose(cp.directions[0], -cp.directions[1])


def test_three_balanced_classes_keep_equal_variance(tol):
    ang = 2 * np.pi * np.arange(3) / 3
    means = np.stack([np.cos(ang), np.sin(ang), np.zeros(3)], axis=1) * 2.0
    cp = im.class_problem(means, [1 / 3, 1 / 3, 1 - 2 / 3], within_cov=0.3, aug_var=0.5)
    rep = im.solve_classes(cp, "beta-infonce", beta=0.6)
    np.testing.assert_allclose(rep.representation_variance, rep.representation_variance[0], rtol=tol["loose"])
    assert not rep.collapsed.any()


def test_proportion_swap_symmetry(tol):
    """p and 1 − p give the same class-direction variance and fate (two classes)."""
    for p in (0.1, 0.3):
        r1 = im.solve_classes(im.minority_problem(p, aug_var=0.3), "infonce", weight_decay=0.2)
        r2 = im.solve_classes(im.minority_problem(1 - p, aug_var=0.3), "infonce", weight_decay=0.2)
        assert r1.representation_variance[0] == pytest.approx(r2.representation_variance[1], rel=tol["loose"])


# ------------------------------------------------------------------ critical imbalance
CASES = [
    ("infonce", dict(weight_decay=0.5), 0.3),
    ("infonce", dict(weight_decay=0.05), 2.0),  # γ below w: never collapses
    ("beta-infonce", dict(beta=0.5), 0.6),
    ("beta-infonce", dict(beta=0.7, weight_decay=0.1), 1.0),
]


@pytest.mark.parametrize("loss, kw, s2", CASES)
def test_critical_proportion_closed_form_matches_solver_bisection(loss, kw, s2, x64):
    m, w = 2.0, 0.1
    closed = im.critical_proportion(m, w, s2, loss, **kw)
    numeric = im.critical_proportion_numeric(
        lambda p: im.minority_problem(p, separation=m, within_var=w, n_background=2, background_var=3.0, aug_var=s2),
        loss,
        iterations=40 if x64 else 25,
        **kw,
    )
    assert numeric == pytest.approx(max(closed, 1e-6), abs=1e-6 if x64 else 2e-4)


def test_critical_proportion_edge_values():
    assert im.critical_proportion(2.0, 0.5, 1.0, "infonce", weight_decay=0.2) == 0.0  # γ < w
    assert im.critical_proportion(2.0, 0.0, 1.0, "infonce", weight_decay=5.0) == 0.5  # γ > m²/4
    with pytest.raises(ValueError, match="separation"):
        im.critical_proportion(0.0, 0.1, 1.0)


@pytest.mark.parametrize("s2", [0.2, 0.6])
def test_hard_normalization_closed_form_matches_bisection(s2, x64):
    m, w, nb = 2.0, 0.1, 5
    closed = im.hard_normalization_critical_proportion(m, w, s2, [1.0] * nb, s2, "infonce")
    numeric = im.critical_proportion_numeric(
        lambda p: im.minority_problem(p, separation=m, within_var=w, n_background=nb, aug_var=s2),
        "infonce",
        kappa=np.inf,
        iterations=40 if x64 else 25,
    )
    assert 0 < closed < 0.5
    assert numeric == pytest.approx(closed, abs=1e-6 if x64 else 2e-4)
    # vanilla InfoNCE without normalization never collapses; normalization does it
    assert im.critical_proportion(m, w, s2, "infonce") == 0.0


@pytest.mark.x64_only
def test_finite_kappa_threshold_tends_to_hard_limit():
    m, w, nb, s2 = 2.0, 0.1, 5, 0.4
    make = lambda p: im.minority_problem(p, separation=m, within_var=w, n_background=nb, aug_var=s2)
    hard = im.hard_normalization_critical_proportion(m, w, s2, [1.0] * nb, s2)
    pcs = [im.critical_proportion_numeric(make, "infonce", kappa=k, iterations=30) for k in (1.0, 10.0, 1e4)]
    assert pcs[0] < pcs[1] < pcs[2] + 1e-9
    assert pcs[2] == pytest.approx(hard, abs=2e-3)


def test_gradient_flow_agrees_on_both_sides_of_pc(tol, x64):
    """Below p_c the minority direction flows to zero; above it, to the closed-form variance."""
    m, w, s2, gamma = 2.0, 0.1, 0.5, 0.4
    pc = im.critical_proportion(m, w, s2, "infonce", weight_decay=gamma)
    assert 0.05 < pc < 0.3
    key = jax.random.PRNGKey(0)
    for p, collapsed in ((0.6 * pc, True), (1.6 * pc, False)):
        cp = im.minority_problem(p, separation=m, within_var=w, n_background=2, aug_var=s2)
        land = ls.effective_landscape(cp.problem, "infonce", weight_decay=gamma)
        w0 = ls.random_init(key, 3, 3, scale=0.1)
        sol = ls.gradient_flow(land, w0, t1=3000.0, n_save=4, rtol=1e-8 if x64 else 1e-5)
        v = im.representation_variances(np.asarray(sol.gram), cp.problem.sigma, cp.directions)[0]
        a = float(im.two_class_variance(p, m, w))
        expected = float(im.closed_form_representation_variance(a, s2, weight_decay=gamma))
        if collapsed:
            assert expected == 0.0 and v < 1e-5
        else:
            assert v == pytest.approx(expected, rel=10 * tol["flow"])


# ------------------------------------------------------------------ finite samples
def test_finite_sample_minority_follows_empirical_a0(tol, x64):
    """With few minority samples the fate follows Â0 (p̂ and the sampled spread), not A0."""
    m, w, s2, gamma = 2.0, 0.1, 0.5, 0.3
    rng = np.random.default_rng(3)
    cp = im.minority_problem(0.04, separation=m, within_var=w, n_background=2, background_var=1.0, aug_var=s2)
    x, y = im.sample_classes(rng, cp, 150)
    emp = im.empirical_class_problem(x, cp.problem.aug_cov)
    land = ls.effective_landscape(emp, "infonce", weight_decay=gamma)
    sol = ls.gradient_flow(
        land, ls.random_init(jax.random.PRNGKey(1), 3, 3, scale=0.1), t1=3000.0, n_save=4, rtol=1e-8 if x64 else 1e-5
    )
    closed = ls.global_minimum(land, 3)
    np.testing.assert_allclose(
        np.asarray(sol.gram_eigenvalues), np.asarray(closed.gram_eigenvalues), atol=10 * tol["flow"]
    )
    u = cp.directions[0]
    a_hat = float(u @ np.asarray(emp.data_cov) @ u)
    p_hat = np.mean(y == 0)
    a_pop = float(im.direction_variances(cp)[0])
    # the empirical variance differs from the population one by the sampling noise of p̂ and of the spread
    assert abs(a_hat - a_pop) > 0.01
    assert a_hat == pytest.approx(p_hat * (1 - p_hat) * m * m + w, abs=0.08)
    v_flow = im.representation_variances(np.asarray(sol.gram), emp.sigma, u[None])[0]
    v_emp = im.representation_variances(np.asarray(closed.gram), emp.sigma, u[None])[0]
    v_pop = float(im.closed_form_representation_variance(a_pop, s2, weight_decay=gamma))
    assert v_flow == pytest.approx(v_emp, abs=10 * tol["flow"])
    assert abs(v_flow - v_pop) > 10 * abs(v_flow - v_emp)


# ------------------------------------------------------------------ supervised baseline
def test_supervised_squared_loss_reproduces_ridge_closed_form(tol):
    rng = np.random.default_rng(0)
    cp = im.class_problem([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [-1.0, -1.0, 1.0]], [0.1, 0.3, 0.6], within_cov=0.5)
    x, y = im.sample_classes(rng, cp, 300)
    w_gd, b_gd = sv.train_linear_classifier(x, y, 3, loss="squared", weight_decay=0.2, steps=3000)
    w_cf, b_cf = sv.ridge_closed_form(x, np.eye(3)[y], 0.2)
    np.testing.assert_allclose(np.asarray(w_gd), w_cf, atol=50 * tol["flow"])
    np.testing.assert_allclose(np.asarray(b_gd), b_cf, atol=50 * tol["flow"])
    # large-sample limit of the closed form: the population ridge
    xb, yb = im.sample_classes(rng, cp, 100_000)
    w_big, _ = sv.ridge_closed_form(xb, np.eye(3)[yb], 0.2)
    w_pop = sv.population_ridge(cp.problem.data_cov, sv.mixture_cross_covariance(cp.means, cp.proportions), 0.2)
    np.testing.assert_allclose(w_big, w_pop, atol=0.02)


def test_supervised_keeps_less_of_the_minority_than_ssl():
    """SSL (no normalization, γ below w) keeps v nearly constant in p; supervised ridge shrinks like p²."""
    ratios = []
    for p in (0.3, 0.03):
        cp = im.minority_problem(p, aug_var=0.2, n_background=2)
        v_ssl = im.solve_classes(cp, "infonce", weight_decay=0.05).representation_variance[0]
        w = sv.population_ridge(cp.problem.data_cov, sv.mixture_cross_covariance(cp.means, cp.proportions), 0.05)
        v_sup = sv.supervised_representation_variances(cp.problem.data_cov, w, cp.directions)[0]
        # two one-hot outputs, each with weight p(1-p)m/(a+γ) along the class direction
        a = float(im.two_class_variance(p, 2.0, 0.2))
        assert v_sup == pytest.approx(2 * a * (p * (1 - p) * 2.0) ** 2 / (a + 0.05) ** 2, rel=1e-4)
        ratios.append((v_ssl, v_sup))
    (s1, u1), (s2, u2) = ratios
    assert s2 / s1 > 0.4  # SSL loses less than a factor 2.5 from p = 0.3 to 0.03 ...
    assert u2 / u1 < 0.1  # ... supervision loses about 20x


# ------------------------------------------------------------------ probes on held-out data
def test_probe_accuracy_is_held_out():
    """In a memorising regime (d ≫ n) the training accuracy is 1 but the reported one is not."""
    rng = np.random.default_rng(0)
    d = 60
    means = np.zeros((2, d))
    means[0, 0], means[1, 0] = 0.3, -0.3
    cp = im.class_problem(means, [0.5, 0.5], within_cov=1.0)
    xtr, ytr = im.sample_classes(rng, cp, 40, stratified=True)
    train_acc = im.class_probe_accuracy(xtr, ytr, xtr, ytr, 2, ridge=1e-8)
    assert np.all(train_acc == 1.0)
    out = im.probe_study(np.random.default_rng(1), cp, {"id": np.eye(d)}, n_train=40, n_test=2000, ridge=1e-8)
    assert np.all(out["id"] < 0.8)


def test_collapsed_minority_direction_loses_minority_accuracy():
    m, w, s2, gamma = 3.0, 0.05, 0.3, 0.5
    pc = im.critical_proportion(m, w, s2, "infonce", weight_decay=gamma)
    maps = {}
    for name, p in (("below", 0.5 * pc), ("above", min(2.5 * pc, 0.45))):
        cp = im.minority_problem(p, separation=m, within_var=w, n_background=2, aug_var=s2)
        rep = im.solve_classes(cp, "infonce", weight_decay=gamma)
        out = im.probe_study(
            np.random.default_rng(2), cp, {"ssl": im.representation_map(rep.gram)}, n_train=400, n_test=4000
        )
        maps[name] = out["ssl"]
    assert maps["above"][0] > 0.95  # minority kept: separable
    assert maps["below"][0] < 0.7  # direction collapsed: near chance for the minority


# ------------------------------------------------------------------ CLI
def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("p, collapsed", [(0.05, True), (0.2, False)])
def test_cli_solve_classes_reports_fate_consistent_with_pc(tmp_path, capsys, p, collapsed):
    import json

    from landscape.cli import main

    spec = {"means": [[1.0, 0.0], [-1.0, 0.0]], "proportions": [p, 1 - p], "within_cov": [0.05, 1.0], "aug_var": 0.2}
    path = _write(tmp_path, "c.json", json.dumps(spec))
    assert main(["solve", "--classes", path, "--weight-decay", "0.3", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    pc = rep["critical_proportion"]
    assert pc == pytest.approx(im.critical_proportion(2.0, 0.05, 0.2, "infonce", weight_decay=0.3))
    assert (p < pc) == collapsed
    assert rep["classes"][0]["collapsed"] is collapsed
    assert rep["classes"][0]["direction_variance"] == pytest.approx(p * (1 - p) * 4 + 0.05)


def test_cli_solve_classes_toml_and_errors(tmp_path, capsys):
    from landscape.cli import main

    path = _write(
        tmp_path,
        "c.toml",
        'means = [[1.0, 0.0], [-1.0, 0.0]]\nproportions = [0.3, 0.7]\nwithin_cov = 0.1\nkappa = "inf"\n',
    )
    assert main(["solve", "--classes", path, "--sigma2", "0.2"]) == 0
    assert "class" in capsys.readouterr().out
    bad = _write(tmp_path, "b.json", '{"means": [[1.0], [0.0]], "proportions": [0.3, 0.3]}')
    assert main(["solve", "--classes", bad]) == 2
    assert "sum to 1" in capsys.readouterr().err
    assert main(["solve", "--classes", path, "--a", "1,2"]) == 2
    assert "--a" in capsys.readouterr().err


# ------------------------------------------------------------------ neural-network check (digits)
def test_digits_mlp_smoke():
    pytest.importorskip("sklearn")
    from landscape.studies.class_imbalance import network as inn

    r = inn.digits_imbalance_run(
        minority_count=5, settings=[(1.0, 1e-3)], classes=(0, 1, 2), steps=30, hidden=16, d_out=4
    )
    assert r["train_counts"][0] == 5
    assert r["shares"].shape == (1, 3) and np.all(np.isfinite(r["shares"]))
    # three classes (chance 1/3): after 30 steps the class-balanced accuracy is already well above chance
    assert r["accuracy"].shape == (1, 3) and r["accuracy"].mean() > 1 / 3 + 0.2, r["accuracy"]


@pytest.mark.slow
def test_digits_minority_collapses_first_at_strong_augmentation_and_weight_decay():
    """Weak (σ², γ): the 5-sample minority keeps its class direction; strong: it collapses, balanced does not."""
    pytest.importorskip("sklearn")
    from landscape.studies.class_imbalance import network as inn

    sets = [(1.0, 1e-3), (8.0, 0.3)]
    few = inn.digits_imbalance_run(minority_count=5, settings=sets, steps=600)
    many = inn.digits_imbalance_run(minority_count=120, settings=sets, steps=600)
    assert few["accuracy"][0, 0] > 0.9 and many["accuracy"][0, 0] > 0.9
    assert few["shares"][0, 0] > 0.5 * many["shares"][0, 0]  # weak: share nearly independent of p
    assert few["accuracy"][1, 0] < 0.3 < 0.9 < many["accuracy"][1, 0]
    assert few["shares"][1, 0] < 0.25 * many["shares"][1, 0]


@pytest.mark.slow
@pytest.mark.x64_only
def test_real_beta_infonce_on_sampled_minority_follows_empirical_threshold():
    """Sample-level β-InfoNCE (Adam) on a sampled 5 % minority: kept below σ² = â_e, collapsed above."""
    from landscape.studies.linear_training import train_linear

    rng = np.random.default_rng(0)
    cp = im.minority_problem(0.05, separation=2.0, within_var=0.1, n_background=2, background_var=1.0)
    x, _ = im.sample_classes(rng, cp, 400)
    emp = im.empirical_class_problem(x, np.zeros((3, 3)))
    u = cp.directions[0]
    a_hat = float(u @ np.asarray(emp.data_cov) @ u)
    vs = []
    for s2 in (0.5 * a_hat, 1.3 * a_hat):
        out = train_linear(
            jax.random.PRNGKey(0),
            x - x.mean(0),
            s2,
            loss="beta-infonce",
            loss_params={"beta": 0.5},
            steps=2500,
            lr=3e-3,
            noise_draws=2,
            schedule="cosine",
        )
        w = np.asarray(out["weights"])
        sig = np.asarray(emp.data_cov) + s2 * np.eye(3)
        land = ls.effective_landscape(
            ls.Problem.from_arrays(emp.data_cov, s2 * np.eye(3)), "beta-infonce", beta=0.5, quartic=0.75
        )
        theory = im.representation_variances(np.asarray(ls.global_minimum(land, 3).gram), sig, u[None])[0]
        vs.append((im.representation_variances(w.T @ w, sig, u[None])[0], theory))
    (v_lo, t_lo), (v_hi, t_hi) = vs
    assert v_lo == pytest.approx(t_lo, rel=0.2)
    assert v_hi < 0.01 * v_lo and t_hi < 0.01 * t_lo


def test_sampled_collapse_fraction_follows_binomial_law_of_minority_count():
    """Above p_c the population keeps the minority, but small samples lose it with P(p̂ ≤ p_c)."""
    from math import comb

    m, w, s2, gamma = 2.0, 0.001, 0.5, 0.3
    pc = im.critical_proportion(m, w, s2, "infonce", weight_decay=gamma)
    p, n = 1.5 * pc, 100
    cp = im.minority_problem(p, separation=m, within_var=w, n_background=1, background_var=1.0, aug_var=s2)
    frac = im.sampled_collapse_fraction(np.random.default_rng(0), cp, n, repeats=150, weight_decay=gamma)
    kmax = int(np.floor(n * pc))
    binom = sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(kmax + 1))
    assert 0.05 < binom < 0.6
    assert frac == pytest.approx(binom, abs=4 * np.sqrt(binom * (1 - binom) / 150) + 0.02)
    big = im.sampled_collapse_fraction(np.random.default_rng(1), cp, 3000, repeats=10, weight_decay=gamma)
    assert big == 0.0
