"""Every figure script, run end to end at its ``--smoke`` size: compute, save, render, write the PNG.

Each test goes through the script's own command line (``main(["--smoke", "--out", tmp])``),
reads the saved arrays back and checks what can fail: shapes and finiteness of what is
drawn, and at least one stored quantity against a closed form evaluated here (Cover's
count, W_n, the DISSL batch values, the β-InfoNCE collapse rule, the identity's AVF, ...).
The smoke sizes are tiny, so no figure's effect is asserted; the slow reproductions live
beside the code they check (``-m slow``).

The scripts switch JAX to float64 when they run, so these tests belong to the float64 pass.
"""

import importlib
import math
from pathlib import Path

import numpy as np
import pytest

import landscape as ls

FIGURES = Path(__file__).resolve().parents[1] / "figures"
pytestmark = pytest.mark.x64_only
_MODULES: dict = {}


# the figure name (file stem of its outputs and of its script in figures/) → its module
MODULES = {
    "fig1_resnet": "ziyin2023.fig1_resnet",
    "fig2_linear_model": "ziyin2023.fig2_linear_model",
    "fig3_normalization": "ziyin2023.fig3_normalization",
    "fig4_nonlinear": "ziyin2023.fig4_nonlinear",
    "fig_beneficial_collapse": "ziyin2023.beneficial_collapse",
    "fig_imbalance_phase": "ziyin2023.imbalance_phase",
    "fig_probe_vs_imbalance": "ziyin2023.probe_vs_imbalance",
    "fig_encoder_projector": "cosentino2022.encoder_projector",
    "fig_init_scale_sigma": "cosentino2022.init_scale_sigma",
    "cosentino_networks": "cosentino2022.networks",
    "fig_cover_wn": "dubois2022.cover_wn",
    "fig_dissl_phase": "dubois2022.dissl_phase",
    "theorems": "ziyin2023.theorems",
    "loss_expansions": "ziyin2023.loss_expansions",
    "fig_dubois_digits": "dubois2022.digits_networks",
    "phase_diagrams": "ziyin2023.phase_diagrams",
    "stepwise_networks": "extensions.stepwise_networks",
    "learning_dynamics": "extensions.learning_dynamics",
    "diagnosis_networks": "extensions.diagnosis_networks",
}


def _module(name: str):
    """The module of figure ``name`` (its command line is ``main``)."""
    return importlib.import_module(f"landscape.reproduction.{MODULES[name]}")


def test_figure_scripts_call_the_package():
    """Each ``figures/<name>.py`` is a thin entry point for the package module of that figure."""
    for name, mod in MODULES.items():
        text = (FIGURES / f"{name}.py").read_text()
        assert f"from landscape.reproduction.{mod} import main" in text, name


def _smoke(name: str, out: Path, *args: str, stem: str | None = None) -> dict:
    """Run ``<name>.py --smoke --out OUT``; check the two files and the provenance; return the arrays."""
    mod = _module(name)
    assert mod.main(["--smoke", "--out", str(out), *args]) == 0
    stem = stem or f"{name}_smoke"
    npz, png = out / f"{stem}.npz", out / f"{stem}.png"
    assert png.stat().st_size > 1000, "no PNG written"
    with np.load(npz, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    assert str(data["landscape_version"]) == ls.__version__ and str(data["git_commit"])
    assert sorted(p.name for p in out.iterdir()) == sorted([npz.name, png.name])  # nothing else written
    _claims_hold_together(mod, data)
    return data


def _claims_hold_together(mod, data: dict) -> None:
    """The experiment's claims build from its smoke data: every number present and finite, keys unique."""
    from landscape.reproduction.claims import VERDICTS, Claim, verdict

    claims = mod.claims(data)
    assert claims and all(isinstance(c, Claim) for c in claims)
    assert len({c.key for c in claims}) == len(claims)
    assert all(verdict(c) in VERDICTS for c in claims)


def _finite(data: dict, *keys: str) -> None:
    for k in keys:
        assert np.all(np.isfinite(np.asarray(data[k], float))), k


# ----------------------------------------------------------------------------- WS figures
def test_fig1_resnet_cpu_smoke(tmp_path):
    d = _smoke("fig1_resnet", tmp_path, "--setup", "cpu", stem="fig1_resnet_cpu_smoke")
    assert list(d["sigma2"]) == [10.0] and int(d["n_main"]) == 1 and str(d["network"]) == "mlp"
    # the data preparation: every non-constant pixel of the 8×8 digits standardised to variance 5
    from landscape.nn import data as nn_data

    x, _ = nn_data.load_digits()
    varying = int(np.sum(x.reshape(len(x), -1).std(axis=0) > 0))
    assert d["data_eigenvalues"].shape == (64,)
    assert float(np.sum(d["data_eigenvalues"])) == pytest.approx(5.0 * varying, rel=1e-6)
    assert d["s0_losses"].shape == (10,)
    assert d["s0_slice_1d"].shape == (5,) and d["s0_slice_halves"].shape == (3, 3)
    _finite(
        d,
        "s0_losses",
        "s0_slice_1d",
        "s0_slice_1d_theory",
        "s0_slice_halves",
        "s0_measured_output_variances",
        "s0_predicted_output_variances",
    )
    # 10 digit classes (chance 0.1): even 10 steps of the smoke network give a linear probe twice that
    assert float(d["s0_encoder_probe_accuracy"]) > 2 * 0.1
    assert 1.0 <= float(d["s0_encoder_effective_rank"]) <= 16 and np.isfinite(float(d["s0_encoder_avf"]))
    # the fixed direction of the second 1-D slice is the first strength's own last layer: there the slices agree
    np.testing.assert_allclose(d["s0_slice_fixed"], d["s0_slice_1d"], rtol=1e-6)
    # at a = 0 every view maps to 0: β-InfoNCE (β = ½) is ½·ln n with n = eval_n denominator terms
    assert d["s0_slice_1d"][2] == pytest.approx(0.5 * math.log(int(d["eval_n"])), abs=1e-5)
    _module("fig1_resnet").claims(d)  # every claim's numbers exist on smoke data (verdicts may be anything)


def test_fig2_linear_model_smoke(tmp_path):
    d = _smoke("fig2_linear_model", tmp_path)
    assert d["left_sim"].shape == (1, 2, 3) and d["mid_sim"].shape == (1, 2, 3) and d["right_sim"].shape == (1, 2, 5)
    _finite(d, "left_sim", "mid_sim", "right_sim", "left_exact", "mid_paper", "right_exact")
    # the paper's curves, recomputed from the saved data eigenvalues: λ = â/(2(â + σ²)²) (k = 1), thresholds σ² = â
    a, s2 = d["left_data_eigs"], d["left_sigma2"]
    np.testing.assert_allclose(
        d["left_paper"], np.sort(a[None, :] / (2 * (a[None, :] + s2[:, None]) ** 2))[:, :3], rtol=1e-12
    )
    np.testing.assert_allclose(d["right_thresholds"], d["right_data_eigs"], rtol=1e-12)  # β = ½
    assert (
        _module("fig2_linear_model").main(
            ["--plot-only", str(tmp_path / "fig2_linear_model_smoke.npz"), "--out", str(tmp_path / "again")]
        )
        == 0
    )
    assert (tmp_path / "again" / "fig2_linear_model_smoke.png").stat().st_size > 1000
    # the paper's N_crit (first N with â_min(N) > (1 − α)σ²/N), recomputed here from the middle panel's data
    n = int(d["mid_ncrit_paper"])
    assert d["mid_n"].min() <= n and d["mid_ncrit_resampled"].shape == (4,)


def test_fig3_normalization_smoke(tmp_path):
    d = _smoke("fig3_normalization", tmp_path)
    assert d["sim_eigenvalues"].shape == (3, 1, 3) and d["sim_direction_values"].shape == (3, 1, 3)
    assert d["theory_eigenvalues"].shape == (2, 5, 3) and d["theory_collapsed"].shape == (2, 5)
    _finite(
        d, "sim_eigenvalues", "sim_direction_values", "sim_final_loss", "theory_eigenvalues", "theory_direction_values"
    )
    assert np.all(np.diff(d["theory_collapsed"], axis=1) >= 0)  # stronger augmentation never revives one
    assert np.all(d["theory_eigenvalues"] >= 0) and np.all((d["sim_collapsed"] >= 0) & (d["sim_collapsed"] <= 6))
    assert d["variant_collapsed"].shape == (3, 3, 1) and np.array_equal(d["variant_collapsed"][0], d["sim_collapsed"])
    # a W's alignment with the sample mean is a cosine: within [0, 1]
    assert np.all((d["variant_mean_alignment"] >= 0) & (d["variant_mean_alignment"] <= 1 + 1e-9))


def test_fig4_nonlinear_smoke(tmp_path):
    """tanh, 600 steps (as ``--quick``): the three strengths already give no / dimensional / complete collapse,
    measured on the trained network and predicted from its frozen features."""
    d = _smoke("fig4_nonlinear", tmp_path)
    assert [str(a) for a in d["activations"]] == ["tanh"]
    pattern = ["none", "dimensional", "complete"]
    assert [str(d[f"tanh_s{i}_measured_class"]) for i in range(3)] == pattern
    assert [str(d[f"tanh_s{i}_predicted_class"]) for i in range(3)] == pattern
    _finite(d, "tanh_losses")
    assert d["tanh_sweep_measured"].shape == (1, 2) and d["tanh_sweep_predicted"].shape == (1, 2)
    for i in range(3):
        assert d[f"tanh_s{i}_slice_rows"].shape == (5, 5) and d[f"tanh_s{i}_slice_1d"].shape == (5,)
        _finite(d, f"tanh_s{i}_slice_rows", f"tanh_s{i}_slice_1d", f"tanh_s{i}_slice_1d_theory")
        # at a = 0 every view maps to 0: the sampled loss and its Gaussian theory are the same number
        assert d[f"tanh_s{i}_slice_1d"][2] == pytest.approx(d[f"tanh_s{i}_slice_1d_theory"][2], rel=1e-5)
    # the input-space thresholds the summary prints: σ² = β/(1 − β)·â = â at β = ½
    summary = _module("fig4_nonlinear").summary(d)
    assert f"1 → 0 at σ² = {d['data_eigenvalues'][0]:.3f}" in summary
    # the fixed-direction slice: D is the σ² = 0.2 net's own last layer, so there it equals the own slice; at
    # complete collapse the own slice is flat while the slice along D still curves upward at the origin
    assert d["tanh_fixed_direction"].shape == (2, 32)
    np.testing.assert_allclose(d["tanh_s0_slice_fixed"], d["tanh_s0_slice_1d"], rtol=1e-6)
    from landscape.studies.nonlinear_networks import curvature_at_origin

    own, fixed = (curvature_at_origin(d["tanh_s2_scales"], d[f"tanh_s2_{k}"]) for k in ("slice_1d", "slice_fixed"))
    assert fixed > 0 and abs(own) < 0.1 * fixed
    claims = _module("fig4_nonlinear").claims(d)
    assert {c.key for c in claims} >= {"fig4_origin_minimum", "fig4_dimensional", "fig4_complete"}


def test_theorems_smoke(tmp_path):
    """Closed forms against formulas evaluated here; GD is far from converged at this size."""
    d = _smoke("theorems", tmp_path)
    a, c = d["a6"], d["c6"]
    # Theorem 1, commuting, B = A0: λ_i = a_i/(2(a_i + c_i)²), descending; L* = −¼Σ(a/(a + c))²
    np.testing.assert_allclose(d["t1_cf_eigs"][0], np.sort(a / (2 * (a + c) ** 2))[::-1], rtol=1e-12)
    assert float(d["t1_cf_loss"][0]) == pytest.approx(-0.25 * np.sum((a / (a + c)) ** 2), rel=1e-12)
    # every enumerated point is stationary: 2⁶ masks for T1, 2³ for T2 (three b_i > 0)
    assert len(d["enum_t1_rank"]) == 64 and len(d["enum_t2_rank"]) == 8
    assert max(float(np.max(d[f"enum_{g}_grad"])) for g in ("t1", "t2", "t4", "t5")) < 1e-12
    # Prop. 3 with d_M = 5 (all kept), B = A0: ρ = (κ c d_M + ½Σ a/s)/(1 + κ d_M)
    s5 = d["a5"] + d["c5"]
    rho = [(k * t * 5 + 0.5 * np.sum(d["a5"] / s5)) / (1 + 5 * k) for k, t in d["t7_rows"][:2]]
    np.testing.assert_allclose(d["t7_cf_rho"][:2], rho, rtol=1e-10)
    assert float(d["t8_threshold"]) == pytest.approx(2 / 7, abs=1e-9)
    assert float(d["eq39_grad_rho_vs_2wsigma"]) < 1e-12
    assert len(_module("theorems").claims(d)) >= 15


def test_loss_expansions_smoke(tmp_path):
    """The paper / derived / sympy columns against the closed forms; Monte Carlo is a few batches here."""
    d = _smoke("loss_expansions", tmp_path)
    rows = [str(r) for r in d["rows"]]
    i = {r: rows.index(r) for r in rows}
    np.testing.assert_allclose(d["paper_pq"][i["spectral"]], [0, 2])
    np.testing.assert_allclose(d["derived_pq"][i["spectral"]], [2, 0])
    np.testing.assert_allclose(d["sympy_pq"][i["weighted-infonce"]], [64 / 63.1, 0], atol=1e-12)
    # VICReg's variance hinge: p = λ_var N/(2√ε(N − 1)), q = λ_var/(2√ε) − 2λ_inv
    np.testing.assert_allclose(d["sympy_pq"][i["vicreg"]], [25 * 64 / (2 * 0.01 * 63), 1250 - 50], rtol=1e-12)
    # InfoNCE's finite-N quartic: (N − 1)(3N s² − 4ac)/(4N² s²), N = 128
    a, c, n = d["a_var"], d["c_var"], 128
    np.testing.assert_allclose(
        d["sympy_k_axis"], (n - 1) * (3 * n * (a + c) ** 2 - 4 * a * c) / (4 * n**2 * (a + c) ** 2), rtol=1e-12
    )
    assert float(d["sympy_k_limit"]) == 0.75
    # the quartic table: β-InfoNCE's k is β times InfoNCE's (β weights the only quartic source) on the same
    # batches; spectral k = 1; Barlow Twins (a² + (a² + s²)/N)/s²; VICReg λ_var(N + 1)/(8ε^{3/2}(N − 1))
    s = a + c
    np.testing.assert_allclose(d["q_k_axis"][i["beta-infonce"]], 0.5 * d["k_axis"], rtol=1e-9)
    np.testing.assert_allclose(d["q_sympy_k"][i["beta-infonce"]], 0.5 * d["sympy_k_axis"], rtol=1e-12)
    np.testing.assert_allclose(d["q_sympy_k"][i["spectral"]], 1.0, rtol=1e-12)
    np.testing.assert_allclose(d["q_sympy_k"][i["barlow-twins"]], (a**2 + (a**2 + s**2) / n) / s**2, rtol=1e-12)
    np.testing.assert_allclose(d["q_derived_k"][i["barlow-twins"]], a**2 / s**2, rtol=1e-12)
    np.testing.assert_allclose(d["q_sympy_k"][i["vicreg"]], 25 * (n + 1) / (8e-6 * (n - 1)), rtol=1e-9)
    # the library's k: the table's quartic scale (β for the derived β-InfoNCE, else 1) times the default k = 1
    np.testing.assert_allclose(d["q_library_k"], [0.5 if r == "beta-infonce" else 1.0 for r in rows])
    claims = _module("loss_expansions").claims(d)
    assert len(claims) == 13 and {f"quartic-{r}" for r in rows} <= {c.key for c in claims}


# ----------------------------------------------------------------------------- other figures
def test_fig_beneficial_collapse_smoke(tmp_path):
    d = _smoke("fig_beneficial_collapse", tmp_path)
    s2 = d["sigma2"]
    assert d["error_nuisance"].shape == (2, 3, 2) and d["acc_nuisance"].shape == (2, 3, 2)
    assert d["pair_error"].shape == d["pair_acc"].shape == (2, 2, 2)
    _finite(d, "error_nuisance", "error_signal", "acc_nuisance", "pair_error", "pair_acc")
    # the collapsed map is the same at every σ² past c_n: the pair's second column is the curve's last
    np.testing.assert_array_equal(d["pair_error"][:, 1], d["error_nuisance"][:, -1])
    # β = ½: a dim of variance a collapses at σ² ≥ a (4 signal dims of variance 1, 32 nuisance dims of 0.5)
    assert float(d["collapse_nuisance"]) == 0.5 and float(d["collapse_signal"]) == 1.0
    np.testing.assert_array_equal(d["rank_nuisance"], 4 + 32 * (s2 < 0.5))
    np.testing.assert_array_equal(d["rank_signal"], 32 + 4 * (s2 < 1.0))


def test_fig_cover_wn_smoke(tmp_path):
    d = _smoke("fig_cover_wn", tmp_path)

    def cover(c, dim):
        return 2 * sum(math.comb(c - 1, k) for k in range(min(dim, c - 1) + 1)) / 2**c

    want = np.array([[cover(c, dim) for dim in d["d_grid"]] for c in d["c_grid"]])
    np.testing.assert_allclose(d["cover_fraction"], want, rtol=1e-12)
    # random codes are in general position: the brute-force LP counts are Cover's, exactly
    np.testing.assert_array_equal(d["lp_fraction"], [cover(c, dim) for c, dim in zip(d["lp_c"], d["lp_d"])])
    np.testing.assert_allclose(d["wn"], (1 - 1 / d["c_w"][:, None]) ** d["n_grid"][None, :], rtol=1e-12)
    assert d["mc_invariant"].shape == d["mc_noninvariant"].shape == (2, 2)
    # one training point: every other code can be mislabelled at zero training error, so each trial's risk
    # is exactly the unseen mass, 1 − 1/C for invariant codes and 1 − 1/(2C) with each class split over 2 codes
    assert list(d["n_mc"][:1]) == [1]
    np.testing.assert_allclose(d["mc_invariant"][:, 0], 1 - 1 / d["c_curves"], rtol=1e-12)
    np.testing.assert_allclose(d["mc_noninvariant"][:, 0], 1 - 1 / (2 * d["c_curves"]), rtol=1e-12)
    assert d["t3_fraction"].shape == d["t3_rank"].shape == (3,)
    assert np.all(d["t3_rank"] <= np.minimum(d["t3_dims"], int(d["t3_classes"]) - 1))


def test_fig_dissl_phase_smoke(tmp_path):
    d = _smoke("fig_dissl_phase", tmp_path)
    lam, beta, b, c = 2.3, 0.8, int(d["batch"]), int(d["classes"])
    # explicit B×C teacher tables against L(g) = (1 + β) log g − λ log min(B·g, C)
    want = [(1 + beta) * math.log(g) - lam * math.log(min(b * g, c)) for g in d["d5_g"]]
    np.testing.assert_allclose(d["d5_loss"], want, rtol=1e-9)
    # the phase map: collapse (K = 1) for λ < 0, soft g* = C/B for λ > 1 + β, deterministic g* = 1 between
    lams, betas = d["lambdas"][:, None], d["betas"][None, :]
    assert d["g_opt"].shape == (91, 81)
    np.testing.assert_array_equal(d["k_opt"] == 1, np.broadcast_to(lams < 0, d["k_opt"].shape))
    soft = lams > 1 + betas
    assert np.all(d["g_opt"][soft] == c / b) and np.all(d["g_opt"][~soft] == 1)
    assert d["gd_loss"].shape == d["gd_g"].shape == (2, 2)
    assert np.all(d["gd_loss"] >= d["gd_loss_opt"] - 1e-9)  # descent never beats the per-batch optimum


def test_fig_dubois_digits_smoke(tmp_path):
    d = _smoke("fig_dubois_digits", tmp_path)
    methods, loss = d["method"], d["loss"]
    assert loss.shape == (methods.size, int(d["steps"])) and set(methods) == {"cissl", "simclr", "dissl"}
    # the real losses' bounds: CISSL's self-contrastive target ≥ log 2; DISSL ≥ −λ log C (entropy ≤ log C, the
    # two cross-entropies ≥ 0; C = 32 pseudo-classes, λ = 2.3); NT-Xent ≥ 0
    assert np.all(loss[methods == "cissl"] >= math.log(2) - 1e-5)
    assert np.all(loss[methods == "dissl"] >= -2.3 * math.log(32) - 1e-5)
    assert np.all(loss[methods == "simclr"] >= 0)
    # the pixel baseline against an independent ridge probe in NumPy (same split, one-hot least squares)
    import jax

    from landscape.nn import data as nn_data

    x, y = nn_data.load_digits()
    x = x.reshape(len(x), -1).astype(float)
    tr, te = nn_data.split(jax.random.PRNGKey(0), len(x), (0.7, 0.3))
    mean = x[tr].mean(0)
    zc = x[tr] - mean
    cov = zc.T @ zc / len(tr)
    w = np.linalg.solve(
        cov + 1e-3 * np.trace(cov) / 64 * np.eye(64), zc.T @ (np.eye(10)[y[tr]] - np.eye(10)[y[tr]].mean(0)) / len(tr)
    )
    acc = np.mean(np.argmax((x[te] - mean) @ w, axis=1) == y[te])
    assert float(d["pixel_linear_acc"]) == pytest.approx(acc, abs=1.5 / len(te))
    assert 0.8 < acc < 1.0


def test_fig_encoder_projector_smoke(tmp_path):
    d = _smoke("fig_encoder_projector", tmp_path)
    sig = d["sigma"]
    assert d["avf_encoder"].shape == d["wd_avf_projector"].shape == (2,)
    _finite(d, "avf_encoder", "avf_projector", "wd_avf_encoder", "wd_avf_projector", "loss", "wd_loss")
    # the identity map: AVF = σ² tr Σ_a / tr(Σ_s + σ²Σ_a) = 16σ²/(17.5 + 16σ²)
    s = d["dense_sigma"]
    np.testing.assert_allclose(d["dense_avf_identity"], 16 * s**2 / (17.5 + 16 * s**2), rtol=1e-10)
    # the closed-form optimum: L* = −Σ ρ_i², ρ_i = s_i/(s_i + σ² a_i) on the 10 signal coordinates
    s_sig, a_sig = np.linspace(3, 0.5, 10), np.r_[np.zeros(6), np.ones(4)]
    want = [-np.sum((s_sig / (s_sig + g**2 * a_sig)) ** 2) for g in sig]
    np.testing.assert_allclose(d["optimal_loss"], want, rtol=1e-10)
    assert len(_module("fig_encoder_projector").claims(d)) == 4  # built from smoke data, no exception


def test_cosentino_networks_smoke(tmp_path):
    d = _smoke("cosentino_networks", tmp_path)
    n_sig = d["sigma"].size
    assert d["sweep_avf_encoder"].shape == (2, n_sig, 2) and d["width_avf_projector"].shape == (2, 3, 2)
    _finite(d, *(k for k in d if k.startswith(("sweep_", "width_", "depth_"))))
    # the inputs' AVF under x ↦ x + σε is the identity map's: σ²D / (tr Σ_x + σ²D), D = 64, per data set
    from landscape.studies.encoder_projector import networks as nw

    x, _ = nw.load_datasets(n=200)
    tr = x.var(axis=1).sum(axis=1)  # (data set,)
    want = d["sigma"][None, :] ** 2 * 64 / (tr[:, None] + d["sigma"][None, :] ** 2 * 64)
    # 200 samples × 64 coordinates of fresh noise: a few per cent of sampling error
    np.testing.assert_allclose(d["sweep_avf_input"].mean(-1), want, rtol=0.06)
    # rank bounds: 1 ≤ erank ≤ output dimension (h: 64; z: the projector width 64 of the sweep)
    for k in ("sweep_erank_encoder", "sweep_erank_projector"):
        assert np.all((d[k] >= 1 - 1e-9) & (d[k] <= 64 + 1e-9)), k
    assert np.all((d["sweep_probe_encoder"] >= 0) & (d["sweep_probe_encoder"] <= 1))
    claims = _module("cosentino_networks").claims(d)
    assert {c.key for c in claims} >= {"cosentino-net-invariance", "cosentino-net-width", "cosentino-net-depth"}


def test_fig_imbalance_phase_smoke(tmp_path):
    d = _smoke("fig_imbalance_phase", tmp_path)
    p, s2 = d["p"], d["sigma2"]
    assert d["v_beta"].shape == d["rank_wd"].shape == d["v_hard"].shape == (3, 3)
    _finite(d, "v_beta", "v_wd", "v_hard")
    # β-InfoNCE, β = ½: a direction of variance a survives iff a > σ²; the minority direction has
    # a = p(1 − p)m² + w (m = 2, w = 0.1), the 9 background dims a = 1
    a_min = p * (1 - p) * 4 + 0.1
    kept_min = a_min[None, :] > s2[:, None]
    np.testing.assert_array_equal(d["v_beta"] > 0, kept_min)
    np.testing.assert_array_equal(d["rank_beta"], 9 * (s2[:, None] < 1.0) + kept_min)


def test_fig_init_scale_sigma_smoke(tmp_path):
    d = _smoke("fig_init_scale_sigma", tmp_path)
    assert len(_module("fig_init_scale_sigma").claims(d)) == 2  # built from smoke data, no exception
    for tag in ("", "wd_"):
        assert d[tag + "gap"].shape == (2, 2)
        _finite(d, tag + "gap", tag + "loss_excess")
        np.testing.assert_allclose(d[tag + "gap"], d[tag + "avf_encoder"] - d[tag + "avf_projector"], atol=1e-12)
    # the strip above the maps: the balanced (vanishing-init) encoder's AVF minus the optimal projector's
    from landscape import metrics
    from landscape.studies import encoder_projector as tl

    s, a = tl.overlap_config()
    want = []
    for sg in d["sigmas"]:
        prob = tl.augmentation_problem(s, a, sg)
        want.append(
            float(
                tl.balanced_encoder_avf(prob, 16)
                - metrics.avf_linear(tl.closed_form(prob, 16).product, prob.data_cov, prob.aug_cov)
            )
        )
    np.testing.assert_allclose(d["balanced_gap"], want, atol=1e-9)


def test_phase_diagrams_smoke(tmp_path):
    d = _smoke("phase_diagrams", tmp_path)
    mod = _module("phase_diagrams")
    a = d["a"]
    # β-InfoNCE (β = ½) rank from the loss table, evaluated here: #{i : a_i/2 − σ²/2 − γ > 0}
    ds = mod._unpack(d, "beta-infonce")
    s2, g = ds["sigma2"].values, ds["weight_decay"].values
    want = ((0.5 * a[None, None, :] - 0.5 * s2[:, None, None] - g[None, :, None]) > 0).sum(-1)
    np.testing.assert_array_equal(ds["rank"].values, want)
    # the derived weighted form B = (N/(N−1+α))·A0 keeps every direction; the log-σ² cut never collapses
    assert np.all(mod._unpack(d, "weighted_derived")["rank"].values == a.size)
    assert np.all(mod._unpack(d, "infonce_cut")["direction_gram"].values > 0)
    verdicts = {c.key: c for c in mod.claims(d)}
    assert all(c.checks[0].passed for k, c in verdicts.items() if k == "phase-diagram-sanity")


def test_fig_probe_vs_imbalance_smoke(tmp_path):
    d = _smoke("fig_probe_vs_imbalance", tmp_path)
    for key in ("p", "s"):
        for rep in ("ssl", "supervised", "raw"):
            assert d[f"acc_{key}_{rep}"].shape == (2, 4)
    assert d["acc_p_ssl_nowd"].shape == (2, 4)
    # the probe is balanced: 25 of its 100 labels are minority labels at every point
    assert list(d["minority_labels_p"]) == [25, 25] and list(d["minority_labels_s"]) == [25, 25]
    # σ²_c = β·a_0/(1 − β) with a_0 the minority direction's variance (β = ½: σ²_c = a_0)
    # (means 2·e_k, p = (0.1, 0.3, 0.3, 0.3), within-class variance 0.5 on the class axes)
    p = np.array([0.1, 0.3, 0.3, 0.3])
    dev = 2 * (np.eye(4) - p[None, :])
    a0_mat = (dev.T * p) @ dev + 0.5 * np.eye(4)
    u = dev[0] / np.linalg.norm(dev[0])
    assert float(d["a_minority"]) == pytest.approx(float(u @ a0_mat @ u), rel=1e-12)
    assert float(d["sigma2_c"]) == pytest.approx(float(d["a_minority"]), rel=1e-12)
    # the bisected p_c and the solver agree: the minority direction is collapsed below p_c, kept above
    pc = float(d["p_c"])
    assert 0 < pc < 0.45
    np.testing.assert_array_equal(d["v_p"] > 0, d["p"] > pc)
    # raw input, 100 balanced labels: the three majority classes (means 2 apart) are found far above chance
    assert np.all(d["acc_p_raw"][:, 1:] > 0.25 + 0.3)


def test_stepwise_networks_smoke(tmp_path):
    """The staircase against its closed form: sequential levels as Schur complements, τ = ln(λ*/λ̃₀ − 1)/(4m)."""
    d = _smoke("stepwise_networks", tmp_path)
    for run in ("linear", "large_lr", "mlp"):
        u, w0, m, s = d[f"{run}_basis"], d[f"{run}_w0"], d[f"{run}_rate"], d[f"{run}_sigma"]
        g = u.T @ w0.T @ w0 @ u  # W₀ᵀW₀ in the basis of decreasing m
        r = w0.shape[0]
        dets = [1.0] + [np.linalg.det(g[: i + 1, : i + 1]) for i in range(r)]
        np.testing.assert_allclose(d[f"{run}_gram0"][:r], np.array(dets[1:]) / np.array(dets[:-1]), rtol=1e-6)
        assert np.all(d[f"{run}_gram0"][r:] == 0) and np.all(np.diff(m) <= 0)
        up = (m > 0) & (d[f"{run}_gram0"] > 0)
        lim = m[up] / (2 * s[up] ** 2)  # spectral loss: k = 1
        np.testing.assert_allclose(d[f"{run}_limit"][up], lim, rtol=1e-10)
        want = np.log(lim / d[f"{run}_gram0"][up] - 1) / (4 * m[up])
        np.testing.assert_allclose(d[f"{run}_escape_times"][up], want, rtol=1e-8)
        assert np.all(np.isinf(d[f"{run}_escape_times"][~up]))
        # the recording starts at W₀: its Gram spectrum is the squared singular values of W₀
        sv = np.linalg.svd(w0, compute_uv=False) ** 2
        np.testing.assert_allclose(d[f"{run}_gram"][0, :r], sv, rtol=1e-4)
        _finite(d, f"{run}_loss", f"{run}_gram", f"{run}_directions")
    # time is η·steps, and the loss has one entry per step
    assert d["linear_loss"].size == round(float(d["horizon"]) / float(d["linear_lr"]))


# ----------------------------------------------------------------------------- extensions
def test_learning_dynamics_smoke(tmp_path):
    d = _smoke("learning_dynamics", tmp_path)
    mod = _module("learning_dynamics")
    assert (d["a_status"] == 0).all() and (d["b_status"] == 0).all()
    # the stored m_k are the loss table's b_i − γ, recomputed here for every point of scan A
    th = mod.theory(d["point_sigma2"], d["point_gamma"], d["point_eps"])
    np.testing.assert_allclose(d["a_b_eigenvalues"], th["m"], atol=1e-12)
    # plateau = first escape; ε = 1e-3 on the lattice: the closed form's first crossing of θ
    lat = slice(0, int(d["n_lattice"]))
    first = np.min(np.where(th["time"][lat] <= mod.T_END, th["time"][lat], np.inf), axis=-1)
    np.testing.assert_allclose(d["a_plateau_length"][lat], first, rtol=1e-5)


# ----------------------------------------------------------------------------- extensions
def test_diagnosis_networks_smoke(tmp_path):
    """The digits' 2×1 grid of 3-step networks: the stored ranks against the stored spectra (the images run in
    the slow test, tests/test_diagnosis_networks.py)."""
    d = _smoke("diagnosis_networks", tmp_path)
    from landscape.studies.diagnosis_validation import measured_rank

    assert [str(n) for n in d["datasets"]] == ["digits"]
    for name in ("digits",):
        b, code = d[f"{name}_b_minus_gamma"], d[f"{name}_kept_code"]
        assert b.shape == code.shape == (2, 1, 4) and d[f"{name}_predicted_rank"].shape == (2, 1)
        # γ = wd/2 of the coupled decay: the dead directions (appended last) sit at b − γ = −γ
        gamma = 0.5 * d[f"{name}_weight_decays"]
        dead = np.arange(4)[None, None, :] >= d[f"{name}_live_dims"][..., None]
        np.testing.assert_allclose(np.where(dead, b, -gamma[None, :, None]), -gamma[None, :, None] + 0 * b)
        # the rank counts the directions with b − γ > 0, its interval the decided ones and the undecided ones
        assert np.all(d[f"{name}_predicted_low"] == np.sum(code == 1, axis=-1))
        assert np.all(d[f"{name}_predicted_high"] == np.sum(code != 0, axis=-1))
        assert np.all(np.where(code == 1, b > 0, True)) and np.all(np.where(code == 0, b <= 0, True))
        for mode in ("frozen", "gauss", "joint"):
            sv2 = d[f"{name}_sv2_{mode}"]
            assert np.all(np.diff(sv2, axis=-1) <= 1e-12 * sv2.max())  # descending eigenvalues of WᵀW
            np.testing.assert_array_equal(d[f"{name}_rank_{mode}"], measured_rank(sv2, float(d["rtol"]), 1e-2))
            # ‖W u_i‖² over an orthonormal basis u sums to ‖W‖²_F = Σ eigenvalues of WᵀW
            np.testing.assert_allclose(d[f"{name}_strength_{mode}"].sum(-1), sv2.sum(-1), rtol=1e-6)
    _diagnosis_tables_read_back(_module("diagnosis_networks"), d)


def _diagnosis_tables_read_back(mod, d: dict) -> None:
    """The report's tables, parsed back: every agreement number is ``summary``'s, every cell the stored ranks."""
    text = mod.report_markdown(d)
    assert f"`{str(d['git_commit'])[:12]}`" in text and str(d["saved_at"]) in text  # which run
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    keys = ["exact", "off_by_one", "wrong", "mean_signed", "mean_abs", "inside_interval"]
    agree = {(r[0], r[1]): [float(x) for x in r[2:]] for r in rows if r[1] in mod.LABELS.values()}
    for name in (str(n) for n in d["datasets"]):
        for mode, label in mod.LABELS.items():
            s = mod.summary(d, name, mode)
            np.testing.assert_allclose(agree.pop((name, label)), [s[k] for k in keys], atol=0.005 + 1e-12)
        header = next((i for i, r in enumerate(rows) if r[0].startswith(f"{name}:")), None)
        assert header is not None, f"no rank table for {name}"
        wds = [float(x) for x in rows[header][1:]]
        np.testing.assert_allclose(wds, d[f"{name}_weight_decays"], rtol=1e-3)
        grid = rows[header + 2 : header + 2 + len(d[f"{name}_strengths"])]
        np.testing.assert_allclose([float(r[0]) for r in grid], d[f"{name}_strengths"], rtol=1e-3)
        for i, r in enumerate(grid):
            for j, cell in enumerate(r[1:]):
                pred, *ranks = cell.split(" / ")
                lo, hi = d[f"{name}_predicted_low"][i, j], d[f"{name}_predicted_high"][i, j]
                assert pred == (f"{d[f'{name}_predicted_rank'][i, j]}" + (f" [{lo}–{hi}]" if lo != hi else ""))
                assert [int(x) for x in ranks] == [d[f"{name}_rank_{m}"][i, j] for m in mod.MODES]
    assert not agree, agree  # no row for a data set that is not stored


def test_gaussian_views_moments():
    """The Gaussian control's features have the cross-covariance A0 and the augmentation covariance C asked for."""
    from landscape.diagnosis.estimate import estimate_covariances
    from landscape.studies.diagnosis_validation import gaussian_views

    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    a0, c = q @ np.diag([2.0, 1.0, 0.0]) @ q.T, np.diag([0.5, 0.2, 0.1])
    n = 20000
    v = gaussian_views(a0, c, n, 2, 0)
    est = estimate_covariances(v[0].astype(float), v[1].astype(float))
    # standard error of a covariance entry ~ √((Σ_ii Σ_jj + Σ_ij²)/n) ≤ √(2·2.5²/n) ≈ 0.025; 4 standard errors
    np.testing.assert_allclose(np.asarray(est.data_cov), a0, atol=0.1)
    np.testing.assert_allclose(np.asarray(est.aug_cov), c, atol=0.1)
