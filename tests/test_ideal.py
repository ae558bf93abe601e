"""Idealized representations: checks D1–D9, T3 and T4 of the Dubois spec, and the `landscape ideal` CLI.

Independent routes: brute-force linear programs against Cover's formula; Monte Carlo
(NumPy sampling, and LP search for bad probes) against W_n in closed form; the batch
loss on explicit probability tables, a NumPy reference and `losses.sample` against
the DISSL closed forms; gradient descent on free logits against the per-batch optimum.
"""

import functools
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import metrics
from landscape.cli import main
from landscape.losses import sample
from landscape.studies import idealized as ideal


def _dtype(x64):
    return jnp.float64 if x64 else jnp.float32


# ----------------------------------------------------------------------------- D1, D2: Cover counts
@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_d1_cover_counts_by_linear_programs(d):
    expected = 2 * sum(math.comb(5 - 1, k) for k in range(d + 1))  # Cover: 10, 22, 30, 32 of 2⁵
    pts = np.random.default_rng(d).normal(size=(5, d))
    assert ideal.cover_count(5, d) == expected
    assert ideal.count_separable_dichotomies(pts) == expected


def test_cover_formula_against_enumeration_beyond_d1():
    rng = np.random.default_rng(11)
    for n, d in [(6, 2), (7, 3), (4, 1)]:
        assert ideal.count_separable_dichotomies(rng.normal(size=(n, d))) == ideal.cover_count(n, d)
    assert ideal.cover_count(8, 7) == 2**8 and ideal.cover_count(8, 6) < 2**8
    np.testing.assert_allclose(
        ideal.cover_fraction([5, 5, 9], [1, 4, 3]), [10 / 32, 1.0, ideal.cover_count(9, 3) / 512]
    )


def test_d2_multiclass_labellings():
    rng = np.random.default_rng(2)
    assert ideal.count_realizable_labelings(rng.normal(size=(5, 4)), 3) == 3**5  # every labelling at d = C − 1
    for d in (3, 1):
        assert ideal.count_realizable_labelings(rng.normal(size=(5, d)), 3) < 3**5


# ----------------------------------------------------------------------------- D3 and the verifier
def test_d3_uncentred_span_counter_example():
    z, y = ideal.d3_counter_example()
    rep = ideal.verify_ideal(z, y)
    assert (rep.uncentred_rank, rep.centred_rank) == (3, 2)
    assert rep.invariant and rep.linearly_predictable
    assert not rep.dimension_ok and not rep.ideal and rep.failed == ("dimension_ok",)
    assert not ideal.separable(z, [0, 1, 1, 0])  # XOR
    assert ideal.count_separable_dichotomies(z) == 14  # every dichotomy but the two XORs


def _invariant_table(codes, copies=3):
    codes = np.asarray(codes, float)
    return np.repeat(codes, copies, axis=0), np.repeat(np.arange(codes.shape[0]), copies)


_T1_SIZES = [(4, 2), (4, 3), (5, 4), (5, 6)]
_T1_CASES = [(case, c, d) for case in ("general", "collinear", "duplicate", "simplex") for c, d in _T1_SIZES]
_T1_CASES += [("d3", c, d) for c, d in _T1_SIZES if c == 4]  # the D3 configuration has 4 classes


@pytest.mark.parametrize("case,c,d", _T1_CASES)
def test_t1_all_tasks_solvable_iff_conditions_hold(case, c, d):
    """Ground truth for invariant codes: every binary task separable ⇔ predictable ∧ centred rank ≥ C − 1."""
    rng = np.random.default_rng(c * 10 + d)
    codes = rng.normal(size=(c, d))
    if case == "collinear":
        codes = np.outer(rng.normal(size=c), rng.normal(size=d))
    elif case == "duplicate":
        codes[1] = codes[0]
    elif case == "simplex":
        codes = np.asarray(ideal.regular_simplex(c))
    elif case == "d3":
        codes = ideal.d3_counter_example()[0]
    z, y = _invariant_table(codes)
    rep = ideal.verify_ideal(z, y)
    assert rep.invariant
    all_tasks = ideal.count_separable_dichotomies(codes) == 2**c
    assert all_tasks == (rep.linearly_predictable and rep.dimension_ok)
    # for invariant codes the LP's predictability verdict is "the class codes are distinct"
    distinct = len({tuple(np.round(r, 12)) for r in codes}) == c
    assert rep.linearly_predictable == distinct


def test_verifier_invariance_tolerance_and_failures():
    z, y = _invariant_table(np.eye(4))
    z = z + 1e-4 * np.random.default_rng(0).normal(size=z.shape)
    assert not ideal.verify_ideal(z, y, tol=1e-6).invariant
    assert ideal.verify_ideal(z, y, tol=1e-2).ideal
    # two classes spread over the same two codes: nothing holds (equal class means: centred rank 0)
    bad = ideal.verify_ideal(np.array([[0.0], [1.0], [0.0], [1.0]]), [0, 0, 1, 1])
    assert bad.failed == ("invariant", "linearly_predictable", "dimension_ok") and bad.centred_rank == 0
    # a shifted copy: invariance fails, the class means still differ
    shifted = ideal.verify_ideal(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    assert shifted.failed == ("invariant",) and shifted.linearly_predictable
    rep = ideal.verify_ideal(np.array([[1.0, 2.0]] * 3), [7, 7, 7])  # one class, collapsed
    assert rep.ideal and rep.n_classes == 1
    with pytest.raises(ValueError, match="labels"):
        ideal.verify_ideal(np.eye(3), [0, 1])
    with pytest.raises(ValueError, match="labels must be integers"):
        ideal.verify_ideal(np.eye(3), [0.0, 1.5, 2.0])
    with pytest.raises(ValueError, match="codes"):
        ideal.verify_ideal(np.full((2, 2), np.nan), [0, 1])
    with pytest.raises(ValueError, match="tol"):
        ideal.verify_ideal(np.eye(2), [0, 1], tol=-1.0)


# ----------------------------------------------------------------------------- D4: worst-case risk
@pytest.mark.parametrize("c,n", [(10, 20), (10, 50), (100, 20), (1000, 1000)])
def test_d4_table(c, n, x64):
    """W_n = Σ_c p_c (1 − p_c)^n, uniform p_c = 1/C: (1 − 1/C)^n, evaluated here in plain Python."""
    w = (1.0 - 1.0 / c) ** n
    assert float(ideal.worst_case_risk_uniform(c, n)) == pytest.approx(w, rel=1e-12 if x64 else 1e-5)
    assert float(ideal.worst_case_risk(jnp.full(c, 1.0 / c, _dtype(x64)), n)) == pytest.approx(
        w, rel=1e-9 if x64 else 1e-3
    )


def test_d4_monotone_in_coarseness_and_vmappable():
    cs = jnp.arange(2.0, 60.0)
    w = jax.jit(jax.vmap(ideal.worst_case_risk_uniform, in_axes=(0, None)))(cs, 30)
    assert np.all(np.diff(np.asarray(w)) > 0)  # finer classes (larger C) → larger risk


def test_worst_case_risk_matches_sampled_unseen_mass():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(6))
    n, trials = 4, 40_000
    draws = rng.choice(6, size=(trials, n), p=p)
    seen = np.zeros((trials, 6), bool)
    seen[np.arange(trials)[:, None], draws] = True
    sampled = float(np.mean(((~seen) * p[None, :]).sum(axis=1)))
    assert float(ideal.worst_case_risk(p, n)) == pytest.approx(sampled, abs=5e-3)


def test_worst_case_risk_by_linear_programs_invariant_and_not():
    c, n = 3, 2
    inv = ideal.worst_case_risk_monte_carlo(np.eye(c), np.arange(c), n, n_trials=300, seed=1)
    assert inv == pytest.approx(float(ideal.worst_case_risk_uniform(c, n)), abs=0.05)
    # non-invariant: every class has 2 distinct, affinely independent codes → classes behave as 2C sub-classes
    codes = np.eye(2 * c)
    labels = np.repeat(np.arange(c), 2)
    non = ideal.worst_case_risk_monte_carlo(codes, labels, n, n_trials=300, seed=1)
    expected = c * (1 / c) * (1 - 1 / (2 * c)) ** n
    assert non == pytest.approx(expected, abs=0.05)
    assert non > inv + 0.05


# ----------------------------------------------------------------------------- D5, D9, T4: DISSL
D5 = [("deterministic", 1), ("soft g=8", 8), ("soft g=64", 64), ("soft g=128", 128), ("uniform", 16384)]


def _d5_value(g, lam=2.3, beta=0.8, b=256, c=16384):
    """Each sample uniform over g classes, disjoint groups: mean H(t_i) = log g, H(mean t) = log min(B·g, C)."""
    return (1 + beta) * math.log(g) - lam * math.log(min(b * g, c))


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _table_loss(b, c, g, dtype, lam, beta):
    """The batch loss on the explicit B×C table of :func:`ideal.spread_distribution` (built inside the jit)."""
    t = ideal.spread_distribution(b, c, g, dtype=dtype)
    return ideal.dissl_batch_loss(t, t, lam=lam, beta=beta)


@pytest.mark.parametrize("name,g", D5, ids=[r[0] for r in D5])
def test_d5_dissl_batch_values(name, g, x64):
    lam, beta, b, c = 2.3, 0.8, 256, 16384
    value = _d5_value(g)
    assert float(ideal.dissl_spread_loss(g, lam, beta, b, c)) == pytest.approx(value, rel=1e-12 if x64 else 1e-6)
    got = float(_table_loss(b, c, g, _dtype(x64), lam, beta))
    assert got == pytest.approx(value, abs=2e-3 if not x64 else 1e-9)


def test_d5_collapsed_batch_is_zero_and_optimum_is_soft():
    t = jnp.zeros((256, 16384)).at[:, 0].set(1.0)
    assert float(ideal.dissl_batch_loss(t, t)) == pytest.approx(0.0, abs=1e-9)
    g, k, loss = ideal.dissl_optimal_spread(2.3, 0.8, 256, 16384)
    assert (float(g), float(k)) == (64.0, 16384.0)  # g* = C/B
    assert float(loss) == pytest.approx(_d5_value(64), abs=1e-6)


def _np_dissl(t1, t2, s1, s2, lam, beta):
    def ce(p, q):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.sum(np.where(p > 0, p * np.log(np.where(q > 0, q, 1.0)), 0.0), axis=1)

    def h(p):
        return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0))

    def one(ta, sb, tb):
        return ce(ta, sb).mean() - lam * h(ta.mean(0)) + beta * ce(ta, tb).mean()

    return 0.5 * (one(t1, s2, t2) + one(t2, s1, t1))


def test_d9_loss_algebra_and_numpy_reference(tol, x64):
    rng = np.random.default_rng(4)
    tabs = [rng.dirichlet(np.ones(7) * 0.5, size=5) for _ in range(4)]
    lam, beta = 1.7, 0.6
    got = float(ideal.dissl_batch_loss(*(jnp.asarray(t, _dtype(x64)) for t in tabs), lam=lam, beta=beta))
    assert got == pytest.approx(_np_dissl(*tabs, lam, beta), rel=tol["loose"])
    t = jnp.asarray(tabs[0], _dtype(x64))
    h = -jnp.sum(t * jnp.log(t), axis=1)
    algebra = (1 + beta) * jnp.mean(h) + lam * jnp.sum(jnp.mean(t, 0) * jnp.log(jnp.mean(t, 0)))
    assert float(ideal.dissl_batch_loss(t, t, lam=lam, beta=beta)) == pytest.approx(
        float(algebra), abs=10 * tol["exact"]
    )
    # A student s ≠ t adds CE(t, s) − H(t) = KL(t‖s) ≥ 0 (Gibbs) per sample: the loss rises by mean_i KL(t_i‖s_i).
    s = jnp.asarray(tabs[1], _dtype(x64))
    kl = np.sum(tabs[0] * np.log(tabs[0] / tabs[1]), axis=1).mean()  # NumPy, float64
    rise = float(ideal.dissl_batch_loss(t, t, s, s, lam=lam, beta=beta)) - float(
        ideal.dissl_batch_loss(t, t, lam=lam, beta=beta)
    )
    assert kl > 0.1 and rise == pytest.approx(kl, rel=tol["loose"])


def test_d9_agrees_with_sample_level_dissl(x64):
    rng = np.random.default_rng(5)
    z1 = jnp.asarray(rng.normal(size=(6, 5)), _dtype(x64))
    z2 = jnp.asarray(rng.normal(size=(6, 5)), _dtype(x64))
    ht = jnp.asarray(rng.normal(size=(5, 9)), _dtype(x64))
    hs = jnp.asarray(rng.normal(size=(5, 9)), _dtype(x64))
    tau_t, tau_s = 0.5, 1.0
    ref = sample.dissl(
        z1,
        z2,
        lambda z: z @ hs,
        lambda z: z @ ht,
        lambda_maximality=2.3,
        beta_determinism=0.8,
        teacher_temperature=tau_t,
        student_temperature=tau_s,
    )
    sm = jax.nn.softmax
    mine = ideal.dissl_batch_loss(
        sm(z1 @ ht / tau_t, axis=1),
        sm(z2 @ ht / tau_t, axis=1),
        sm(z1 @ hs / tau_s, axis=1),
        sm(z2 @ hs / tau_s, axis=1),
        lam=2.3,
        beta=0.8,
    )
    assert float(mine) == pytest.approx(float(ref), rel=1e-4)


def test_t4_phase_boundary_and_brute_force_optimum():
    b, c = 8, 64
    gs = 2.0 ** np.arange(0, 7)
    for lam in (-0.5, 0.5, 1.5, 1.79, 1.81, 2.3, 4.0):
        for beta in (0.0, 0.8):
            g, k, loss = (float(v) for v in ideal.dissl_optimal_spread(lam, beta, b, c))
            # brute force over the family: g classes per sample, marginal support K ∈ [g, min(Bg, C)]
            best = min(
                float(ideal.dissl_spread_loss(gg, lam, beta, b, c, marginal=kk))
                for gg in gs
                for kk in (gg, min(b * gg, c))
            )
            assert loss == pytest.approx(best, abs=1e-9)
            phase = "collapse" if lam < 0 else ("soft" if lam > 1 + beta else "deterministic")
            assert (g > 1) == (phase == "soft") and (k == 1) == (phase == "collapse")
    # C ≤ B: never soft
    assert float(ideal.dissl_optimal_spread(5.0, 0.8, 64, 32)[0]) == 1.0


def test_t4_descent_on_free_logits(x64):
    for lam in (1.0, 1.5):  # deterministic phase: reaches the optimum
        loss, g, k = ideal.dissl_descend(jax.random.PRNGKey(0), 4, 16, lam, 0.8, steps=2000)
        assert float(g) == pytest.approx(1.0, abs=0.01) and float(k) == pytest.approx(4.0, abs=0.02)
    loss, g, k = ideal.dissl_descend(jax.random.PRNGKey(2), 4, 16, 3.5, 0.8, steps=2000)
    l_opt = float(ideal.dissl_optimal_spread(3.5, 0.8, 4, 16)[2])
    assert float(g) > 2.0 and float(loss) >= l_opt - 1e-4  # soft phase: soft, never below the bound


# ----------------------------------------------------------------------------- D6, D7, D8
def test_d6_contrastive_bounds(x64):
    ident = lambda v: v  # noqa: E731
    # B = 256, τ = 0.07: the closed form against the sample-level CISSL on explicit simplex codes
    z = ideal.regular_simplex(256, dtype=_dtype(x64))
    sampled = jax.jit(lambda v: sample.cissl(v, v, ident, ident, temperature=0.07))(z)
    assert float(ideal.cissl_simplex_loss(256, 0.07)) == pytest.approx(float(sampled), rel=1e-5)
    assert float(ideal.cissl_simplex_loss(256, 0.07)) - math.log(2) > 1e-4  # above the bound log 2
    assert float(ideal.cissl_simplex_loss(256, 1e-3)) == pytest.approx(math.log(2), abs=1e-9 if x64 else 1e-6)
    assert float(ideal.simclr_simplex_loss(256, 1e-3)) < 1e-12
    z = ideal.regular_simplex(64, dtype=_dtype(x64))
    assert float(sample.cissl(z, z, ident, ident, temperature=0.2)) == pytest.approx(
        float(ideal.cissl_simplex_loss(64, 0.2)), rel=1e-4
    )
    assert float(sample.nt_xent(z, z, temperature=0.3)) == pytest.approx(
        float(ideal.simclr_simplex_loss(64, 0.3)), rel=1e-4
    )


def test_d7_simplex_codes_are_ideal_and_etf():
    s = np.asarray(ideal.regular_simplex(6))
    z, y = _invariant_table(s)
    assert ideal.verify_ideal(z, y).ideal
    pos, neg = metrics.distance_to_etf(jnp.asarray(s), jnp.asarray(s))
    assert float(pos) == pytest.approx(0.0, abs=1e-6) and float(neg) == pytest.approx(-1 / (6 - 1), abs=1e-6)


# The authors' released code scales its TinyImageNet/STL10 SimCLR augmentations with one strength s
# (spec D8, tagged [code]): colour jitter 0.4·s (hue 0.1·s), crop minimum scale 0.2/s, grayscale 0.1·s.
D8_BASE = dict(jitter=0.4, hue=0.1, crop=0.2, gray=0.1)


def _d8_expected(s):
    b = D8_BASE
    return (b["jitter"] * s,) * 3 + (b["hue"] * s,), min(1.0, b["crop"] / s), min(1.0, b["gray"] * s)


@pytest.mark.parametrize("s", [1.0, 2.0, 0.25])
def test_d8_augmentation_knob(s):
    jitter, crop, gray = _d8_expected(s)
    k = ideal.augmentation_knob(s)
    assert k["jitter"] == pytest.approx(jitter) and k["crop_min_scale"] == pytest.approx(crop)
    assert k["grayscale_p"] == pytest.approx(gray) and k["flip_p"] == 0.5
    assert ideal.augmentation_knob(s, "cifar")["jitter"][0] == pytest.approx(0.2 * s)
    assert ideal.augmentation_knob(0.1)["crop_min_scale"] == 1.0
    with pytest.raises(ValueError, match="strength"):
        ideal.augmentation_knob(0.0)


# ----------------------------------------------------------------------------- T3: linear ISSL
def test_t3_linear_issl_sweep_across_c_minus_1(x64):
    c, dim, r = 5, 10, 2
    dims = list(range(c - 3, c + 3))
    data = ideal.issl_data(jax.random.PRNGKey(1), c, dim, r, dtype=_dtype(x64))
    runs = ideal.linear_issl_sweep(data, dims, key=jax.random.PRNGKey(2), steps=6000, n_save=6)
    for i, d in enumerate(dims):
        assert float(runs.avf[i, -1]) < (1e-6 if x64 else 1e-4)  # augmentation annihilated
        assert int(runs.centred_rank[i, -1]) == min(d, c - 1)
        w = runs.encoder[i]
        codes = np.asarray(data.prototypes @ w.T, float)
        rep = ideal.verify_ideal(np.asarray(data.inputs @ w.T, float), np.asarray(data.labels), tol=1e-3)
        assert rep.invariant and rep.linearly_predictable
        assert rep.ideal == (d >= c - 1)
        if d < c - 1:  # the fraction of invariant binary tasks a linear probe can solve is Cover's
            frac = ideal.count_separable_dichotomies(codes[:, :d]) / 2**c
            assert frac == pytest.approx(float(ideal.cover_fraction(c, d)))
        else:  # weight-decayed optimum with orthogonal prototypes: a regular simplex
            sv = np.linalg.svd(codes - codes.mean(0), compute_uv=False)[: c - 1]
            assert sv.max() / sv.min() < 1.05
            assert float(metrics.distance_to_etf(jnp.asarray(codes), jnp.asarray(codes))[1]) == pytest.approx(
                -1 / (c - 1), abs=1e-3
            )  # regular simplex of C codes
    # the masked sweep is the same model as a d-row encoder (other init): same optimum spectrum
    single = ideal.linear_issl(data, c, key=jax.random.PRNGKey(7), steps=6000, n_save=2)
    sv1 = np.linalg.svd(np.asarray(data.prototypes @ single.encoder.T), compute_uv=False)
    wc = runs.encoder[dims.index(c)]
    svc = np.linalg.svd(np.asarray(data.prototypes @ wc.T), compute_uv=False)[:c]
    np.testing.assert_allclose(sv1[: c - 1], svc[: c - 1], rtol=3e-2)


@pytest.mark.slow
def test_t3_anisotropic_prototypes_can_stay_below_c_minus_1(x64):
    """Where T3's expectation fails: with Gaussian prototypes the weight-decayed log-loss optimum uses C − 2 directions."""
    c, dim, r = 6, 12, 3
    data = ideal.issl_data(
        jax.random.PRNGKey(1), c, dim, r, prototypes="gaussian", prototype_scale=math.sqrt(12), dtype=_dtype(x64)
    )
    run = ideal.linear_issl(data, c + 1, key=jax.random.PRNGKey(2), steps=40_000, n_save=4)
    assert np.all(np.asarray(run.centred_rank) == c - 2)
    codes = np.asarray(data.prototypes @ run.encoder.T, float)
    sv = np.linalg.svd(codes - codes.mean(0), compute_uv=False)
    assert sv[c - 2] < 1e-2 * sv[0]  # the (C−1)-th direction is being switched off
    rep = ideal.verify_ideal(np.asarray(data.inputs @ run.encoder.T, float), np.asarray(data.labels), tol=1e-2)
    assert rep.invariant and rep.linearly_predictable and not rep.dimension_ok


# ----------------------------------------------------------------------------- CLI
def _save(tmp_path: Path, name: str, arr) -> str:
    path = tmp_path / name
    np.save(path, arr, allow_pickle=True)
    return str(path)


def _run_cli(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_ideal_json(tmp_path, capsys):
    z, y = _invariant_table(np.asarray(ideal.regular_simplex(4)))
    code, out, err = _run_cli(
        capsys, ["ideal", "--codes", _save(tmp_path, "c.npy", z), "--labels", _save(tmp_path, "l.npy", y), "--json"]
    )
    assert code == 0 and err == ""
    rep = json.loads(out)
    assert rep["ideal"] is True and rep["centred_rank"] == 3 and rep["n_classes"] == 4
    for key in ("invariant", "linearly_predictable", "dimension_ok"):
        assert rep[key] is True
    z3, y3 = ideal.d3_counter_example()
    code, out, _ = _run_cli(
        capsys,
        [
            "ideal",
            "--codes",
            _save(tmp_path, "d3.npy", z3),
            "--labels",
            _save(tmp_path, "d3l.npy", y3.astype(np.int32)),
            "--json",
        ],
    )
    rep = json.loads(out)
    assert code == 0 and rep["dimension_ok"] is False and rep["ideal"] is False and rep["centred_rank"] == 2
    noisy = z + 1e-4 * np.random.default_rng(0).normal(size=z.shape)
    cpath = _save(tmp_path, "n.npy", noisy)
    lpath = _save(tmp_path, "nl.npy", y.astype(float))
    assert (
        json.loads(_run_cli(capsys, ["ideal", "--codes", cpath, "--labels", lpath, "--json"])[1])["invariant"] is False
    )
    loose = json.loads(_run_cli(capsys, ["ideal", "--codes", cpath, "--labels", lpath, "--json", "--tol", "1e-2"])[1])
    assert loose["invariant"] is True and loose["ideal"] is True
    code, out, _ = _run_cli(capsys, ["ideal", "--codes", cpath, "--labels", lpath])
    assert code == 0 and "ideal: True" not in out and "fails: invariant" in out


@pytest.mark.parametrize(
    "case,option",
    [
        ("missing", "--codes"),
        ("pickle", "--codes"),
        ("strings", "--codes"),
        ("vector", "--codes"),
        ("nan", "--codes"),
        ("float-labels", "--labels"),
        ("length", "--labels"),
        ("labels-2d", "--labels"),
        ("tol", "--tol"),
    ],
)
def test_cli_ideal_bad_input(case, option, tmp_path, capsys):
    codes = _save(tmp_path, "c.npy", np.eye(3))
    labels = _save(tmp_path, "l.npy", np.arange(3))
    extra = []
    if case == "missing":
        codes = str(tmp_path / "nope.npy")
    elif case == "pickle":
        codes = _save(tmp_path, "o.npy", np.array([{"a": 1}, None, 3], dtype=object))
    elif case == "strings":
        codes = _save(tmp_path, "s.npy", np.array(["a", "b", "c"]))
    elif case == "vector":
        codes = _save(tmp_path, "v.npy", np.arange(3.0))
    elif case == "nan":
        codes = _save(tmp_path, "nan.npy", np.full((3, 2), np.nan))
    elif case == "float-labels":
        labels = _save(tmp_path, "fl.npy", np.array([0.0, 0.5, 1.0]))
    elif case == "length":
        labels = _save(tmp_path, "len.npy", np.arange(4))
    elif case == "labels-2d":
        labels = _save(tmp_path, "l2.npy", np.zeros((3, 1), int))
    elif case == "tol":
        extra = ["--tol", "-1"]
    code, out, err = _run_cli(capsys, ["ideal", "--codes", codes, "--labels", labels, "--json", *extra])
    lines = err.strip().splitlines()
    assert code == 2 and out == ""
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in err


def test_cli_cover_worst_risk_dissl_json(capsys):
    code, out, _ = _run_cli(capsys, ["cover", "--points", "5", "--dims", "1,2,3,4", "--enumerate", "--json"])
    rows = json.loads(out)["cover"]
    assert code == 0 and [r["count"] for r in rows] == [10, 22, 30, 32]
    assert [r["enumerated"] for r in rows] == [10, 22, 30, 32]
    code, out, _ = _run_cli(capsys, ["worst-risk", "--classes", "10,100", "--samples", "20,50", "--json"])
    grid = np.asarray(json.loads(out)["worst_case_risk"])
    np.testing.assert_allclose(grid, (1 - 1 / np.array([[10.0], [100.0]])) ** np.array([[20.0, 50.0]]), rtol=1e-5)
    code, out, _ = _run_cli(capsys, ["dissl", "--lambdas", "1.0,2.3", "--betas", "0.8", "--json"])
    rep = json.loads(out)
    assert rep["phase"] == [["deterministic"], ["soft"]] and rep["g_opt"][1][0] == 64.0
    assert rep["loss_opt"][1][0] == pytest.approx(-14.833, abs=6e-4)
    assert _run_cli(capsys, ["cover", "--points", "x"])[0] == 2
    assert _run_cli(capsys, ["dissl", "--betas", "-1"])[0] == 2
