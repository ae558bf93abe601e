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
    "fig1_resnet": "ziyin2023.fig1_resnet", "fig2_linear_model": "ziyin2023.fig2_linear_model",
    "fig3_normalization": "ziyin2023.fig3_normalization", "fig4_nonlinear": "ziyin2023.fig4_nonlinear",
    "fig_beneficial_collapse": "ziyin2023.beneficial_collapse", "fig_imbalance_phase": "ziyin2023.imbalance_phase",
    "fig_probe_vs_imbalance": "ziyin2023.probe_vs_imbalance",
    "fig_encoder_projector": "cosentino2022.encoder_projector", "fig_init_scale_sigma": "cosentino2022.init_scale_sigma",
    "fig_cover_wn": "dubois2022.cover_wn", "fig_dissl_phase": "dubois2022.dissl_phase",
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
    assert sorted(p.name for p in out.iterdir()) == sorted([npz.name, png.name])     # nothing else written
    return data


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
    _finite(d, "s0_losses", "s0_slice_1d", "s0_slice_1d_theory", "s0_slice_halves",
            "s0_measured_output_variances", "s0_predicted_output_variances")
    # 10 digit classes (chance 0.1): even 10 steps of the smoke network give a linear probe twice that
    assert float(d["s0_encoder_probe_accuracy"]) > 2 * 0.1
    assert 1.0 <= float(d["s0_encoder_effective_rank"]) <= 16 and np.isfinite(float(d["s0_encoder_avf"]))
    # the fixed direction of the second 1-D slice is the first strength's own last layer: there the slices agree
    np.testing.assert_allclose(d["s0_slice_fixed"], d["s0_slice_1d"], rtol=1e-6)
    # at a = 0 every view maps to 0: β-InfoNCE (β = ½) is ½·ln n with n = eval_n denominator terms
    assert d["s0_slice_1d"][2] == pytest.approx(0.5 * math.log(int(d["eval_n"])), abs=1e-5)
    _module("fig1_resnet").claims(d)             # every claim's numbers exist on smoke data (verdicts may be anything)


def test_fig2_linear_model_smoke(tmp_path):
    d = _smoke("fig2_linear_model", tmp_path)
    assert d["left_sim"].shape == (1, 2, 3) and d["mid_sim"].shape == (1, 2, 3) and d["right_sim"].shape == (1, 2, 5)
    _finite(d, "left_sim", "mid_sim", "right_sim", "left_exact", "mid_paper", "right_exact")
    # the paper's curves, recomputed from the saved data eigenvalues: λ = â/(2(â + σ²)²) (k = 1), thresholds σ² = â
    a, s2 = d["left_data_eigs"], d["left_sigma2"]
    np.testing.assert_allclose(d["left_paper"], np.sort(a[None, :] / (2 * (a[None, :] + s2[:, None]) ** 2))[:, :3],
                               rtol=1e-12)
    np.testing.assert_allclose(d["right_thresholds"], d["right_data_eigs"], rtol=1e-12)      # β = ½
    assert _module("fig2_linear_model").main(["--plot-only", str(tmp_path / "fig2_linear_model_smoke.npz"),
                                              "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "fig2_linear_model_smoke.png").stat().st_size > 1000


def test_fig3_normalization_smoke(tmp_path):
    d = _smoke("fig3_normalization", tmp_path)
    assert d["sim_eigenvalues"].shape == (3, 1, 3) and d["sim_direction_values"].shape == (3, 1, 3)
    assert d["theory_eigenvalues"].shape == (2, 5, 3) and d["theory_collapsed"].shape == (2, 5)
    _finite(d, "sim_eigenvalues", "sim_direction_values", "sim_final_loss", "theory_eigenvalues",
            "theory_direction_values")
    assert np.all(np.diff(d["theory_collapsed"], axis=1) >= 0)      # stronger augmentation never revives one
    assert np.all(d["theory_eigenvalues"] >= 0) and np.all((d["sim_collapsed"] >= 0) & (d["sim_collapsed"] <= 6))


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


# ----------------------------------------------------------------------------- other figures
def test_fig_beneficial_collapse_smoke(tmp_path):
    d = _smoke("fig_beneficial_collapse", tmp_path)
    s2 = d["sigma2"]
    assert d["error_nuisance"].shape == (2, 3) and d["acc_nuisance"].shape == (2, 3)
    _finite(d, "error_nuisance", "error_signal", "acc_nuisance", "gain_gain", "gain_gain_se")
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
    assert np.all(d["gd_loss"] >= d["gd_loss_opt"] - 1e-9)          # descent never beats the per-batch optimum


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
        want.append(float(tl.balanced_encoder_avf(prob, 16)
                          - metrics.avf_linear(tl.closed_form(prob, 16).product, prob.data_cov, prob.aug_cov)))
    np.testing.assert_allclose(d["balanced_gap"], want, atol=1e-9)


def test_fig_probe_vs_imbalance_smoke(tmp_path):
    d = _smoke("fig_probe_vs_imbalance", tmp_path)
    for key in ("p", "s"):
        for rep in ("ssl", "supervised", "raw"):
            assert d[f"acc_{key}_{rep}"].shape == (2, 4)
    # the bisected p_c and the solver agree: the minority direction is collapsed below p_c, kept above
    pc = float(d["p_c"])
    assert 0 < pc < 0.45
    np.testing.assert_array_equal(d["v_p"] > 0, d["p"] > pc)
    # raw input, 100 balanced labels: the three majority classes (means 2 apart) are found far above chance
    assert np.all(d["acc_p_raw"][:, 1:] > 0.25 + 0.3)
