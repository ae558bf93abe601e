"""``landscape diagnose``: JSON against the closed form of a known problem, the comparison, the plot, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from landscape.cli import main
from landscape.losses.effective import quadratic_form

A = np.array([3.0, 2.0, 1.5, 0.5])  # data variances, decreasing: the JSON's order
C = np.array([0.5, 3.0, 0.3, 0.1])
GAMMA = 0.3
ROT = np.linalg.qr(np.random.default_rng(3).normal(size=(4, 4)))[0]  # A0 and C commute, not diagonal


def exact_views(a, c, n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Views whose estimates are exactly A0 = R diag(a) Rᵀ and C = R diag(c) Rᵀ.

    With s = (x₁ + x₂)/2 and δ = x₁ − x₂ centred and sᵀδ = 0: sym(x₁ᵀx₂)/(n − 1) = (sᵀs − δᵀδ/4)/(n − 1)
    and δᵀδ/(2(n − 1)) = C, so sᵀs = (n − 1)(A0 + C/2) and δᵀδ = 2(n − 1)C.
    """
    d = len(a)
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(np.column_stack([np.ones(n), rng.normal(size=(n, 2 * d))]))[0][:, 1:]  # ⟂ 1, orthonormal
    s = np.sqrt(n - 1) * q[:, :d] @ np.diag(np.sqrt(a + c / 2)) @ ROT.T
    delta = np.sqrt(2 * (n - 1)) * q[:, d:] @ np.diag(np.sqrt(c)) @ ROT.T
    return s + delta / 2 + 1.0, s - delta / 2 + 1.0


@pytest.fixture
def files(tmp_path):
    def save(name, arr):
        path = tmp_path / name
        np.save(path, arr)
        return str(path)

    return save


def run(capsys, argv):
    code = main(["diagnose", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, argv) -> dict:
    code, out, err = run(capsys, [*argv, "--json"])
    assert code == 0, err
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


def test_json_equals_the_closed_form_and_the_comparison(capsys, files):
    v1, v2 = exact_views(A, C)
    qf = quadratic_form("beta-infonce", beta=0.5)
    p, q = float(qf.data_coef), float(qf.aug_coef)
    b = p * A + q * C  # the eigenvalues of B along the common eigenvectors (columns of ROT)
    # a trained layer: keeps the first and third directions, kills the rest
    w = np.diag([1.0, 0.0, 0.5, 0.0]) @ ROT.T
    rep = run_json(
        capsys,
        ["--views", files("v1.npy", v1), files("v2.npy", v2), "--loss", "beta-infonce", "--beta", "0.5",
         "--weight-decay", str(GAMMA), "--last-layer", files("w.npy", w)],
    )  # fmt: skip
    np.testing.assert_allclose(rep["data_cov"], ROT @ np.diag(A) @ ROT.T, atol=1e-12)
    np.testing.assert_allclose(rep["aug_cov"], ROT @ np.diag(C) @ ROT.T, atol=1e-12)
    assert rep["kept"] == [bool(v > GAMMA) for v in b] == [True, False, True, False]
    assert rep["predicted_rank"] == int(np.sum(b > GAMMA))
    np.testing.assert_allclose(rep["critical_weight_decay"], np.maximum(b, 0.0), atol=1e-12)
    # p·a + t·q·c = γ  ⇒  t = (p·a − γ)/(−q·c), 0 when already collapsed without augmentation
    np.testing.assert_allclose(rep["critical_aug_scale"], np.maximum((p * A - GAMMA) / (-q * C), 0.0), rtol=1e-9)
    np.testing.assert_allclose(rep["data_variance"], A, atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(np.array(rep["directions"]) * ROT.T, axis=1)), 1.0, atol=1e-9)
    # the comparison: measured along the (here common) eigenvectors
    assert rep["measured_rank"] == 2 and rep["rank_agrees"]
    assert rep["measured_kept"] == [True, False, True, False] and rep["agreement"] == [True] * 4
    np.testing.assert_allclose(rep["measured_spectrum"], [1.0, 0.0, 0.25, 0.0], atol=1e-12)
    k_eff, s = 0.5 * 1.0, A + C  # beta-infonce: quartic βk; λ_i = (b_i − γ)/(2·k_eff·s_i²) on kept ones
    np.testing.assert_allclose(rep["predicted_spectrum"], np.maximum(b - GAMMA, 0) / (2 * k_eff * s**2), atol=1e-12)
    assert set(rep["metrics"]) >= {"rankme", "effective_rank", "numerical_rank", "augmentation_variance_fraction"}
    assert rep["metrics"]["numerical_rank"] == 2
    assert rep["warnings"] == [] and rep["null_reasons"] == {}
    assert rep["normalization"] is None and rep["survival_margin"] is None and rep["revival_aug_scale"] is None


def test_bootstrap_marks_a_direction_at_its_threshold_undecided(capsys, files):
    v1, v2 = exact_views(A, C, n=200)
    gamma = 0.5 * A[2] - 0.5 * C[2]  # exactly b of the third direction
    rep = run_json(
        capsys,
        ["--views", files("v1.npy", v1), files("v2.npy", v2), "--loss", "beta-infonce", "--weight-decay",
         str(float(gamma)), "--bootstrap", "64"],
    )  # fmt: skip
    assert rep["kept"][2] is None and rep["kept"][0] is True and rep["kept"][3] is False
    assert len(rep["b_interval"]) == 4 and rep["b_interval"][2][0] < gamma < rep["b_interval"][2][1]


def test_kappa_json_equals_the_closed_form_with_a_constant_feature(capsys, files):
    """--kappa inf on commuting A0, C plus a constant fifth feature: margins of WS Eq. 8–9, the null direction
    collapsed with a null margin and its reason, a warning naming it; --last-layer at the normalized minimum
    (WᵀW = Σ^{-1/2}diag(μ)Σ^{-1/2}, μ_i = (ℓ_i + t)/2k, t = (2kc − Σ_M ℓ)/d_M) agrees with the predicted spectrum."""
    qf = quadratic_form("beta-infonce", beta=0.5)
    k, c = 0.5, 2.0  # beta-infonce: quartic βk
    ell = (float(qf.data_coef) * A + float(qf.aug_coef) * C - GAMMA) / (A + C)  # whitened eigenvalues
    slot = np.argsort(-ell)
    g_slot = ell[slot] + (2 * k * c - np.cumsum(ell[slot])) / np.arange(1, 5)  # κ → ∞
    margin = np.empty(4)
    margin[slot] = g_slot
    m = int(np.sum(g_slot > 0))
    mu = np.where(margin > 0, (ell + (2 * k * c - np.sum(ell[slot][:m])) / m) / (2 * k), 0.0)
    gram = mu / (A + C)  # A0 and C commute: diagonal in the basis R
    w = np.column_stack([np.diag(np.sqrt(gram)) @ ROT.T, np.zeros(4)])  # WᵀW = R diag(gram) Rᵀ
    v1, v2 = (np.column_stack([v, np.full(len(v), 3.0)]) for v in exact_views(A, C))
    argv = ["--views", files("v1.npy", v1), files("v2.npy", v2), "--loss", "beta-infonce", "--beta", "0.5",
            "--weight-decay", str(GAMMA), "--kappa", "inf", "--norm-target", "2", "--last-layer", files("w.npy", w)]  # fmt: skip
    rep = run_json(capsys, argv)
    np.testing.assert_allclose(rep["predicted_spectrum"], [*gram, 0.0], atol=1e-12)
    np.testing.assert_allclose(rep["measured_spectrum"], [*gram, 0.0], atol=1e-12)
    assert rep["measured_rank"] == m and rep["agreement"] == [True] * 5
    assert rep["normalization"] == {"kappa": "inf", "norm_target": 2.0, "exact_thresholds": False, "bias": False}
    assert rep["bias_norm_sq"] is None
    np.testing.assert_allclose(rep["survival_margin"][:4], margin, rtol=1e-9)
    np.testing.assert_allclose(rep["whitened_eigenvalues"][:4], ell, rtol=1e-9)
    assert rep["survival_margin"][4] is None and "without variance" in rep["null_reasons"]["survival_margin[4]"]
    assert rep["kept"] == [bool(g > 0) for g in margin] + [False]
    assert rep["predicted_rank"] == int(np.sum(g_slot > 0)) and rep["b_eigenvalues"][4] == 0.0
    assert rep["critical_weight_decay"][4] == 0.0 and rep["revival_aug_scale"][4] == "inf"
    assert len(rep["warnings"]) == 1 and "1 of 5 feature directions have no variance" in rep["warnings"][0]
    code, out, err = run(capsys, argv)
    assert code == 0 and "normalization: κ = inf, c = 2" in out and "no variance" in err


def test_bias_json_is_the_unnormalized_minimum_when_its_norm_is_below_c(capsys, files):
    """--kappa inf --bias, c = 2: the unnormalized minimum (μ_i = ℓ_i/2k on ℓ_i > 0) has ρ₀ = Σμ_i ≤ c, so it is
    the minimum over (W, b) with ‖b‖² = c − ρ₀ (WS Theorem 2): kept ⇔ ℓ_i > 0, margin ℓ, and a last layer at it
    agrees with the predicted spectrum μ_i/s_i; without --bias the norm target keeps every direction."""
    qf = quadratic_form("beta-infonce", beta=0.5)
    k, c = 0.5, 2.0  # beta-infonce: quartic βk
    ell = (float(qf.data_coef) * A + float(qf.aug_coef) * C - GAMMA) / (A + C)
    mu = np.maximum(ell, 0.0) / (2 * k)
    assert np.sum(mu) <= c and np.any(ell < 0)
    w = np.diag(np.sqrt(mu / (A + C))) @ ROT.T
    v1, v2 = exact_views(A, C)
    argv = ["--views", files("v1.npy", v1), files("v2.npy", v2), "--loss", "beta-infonce", "--beta", "0.5",
            "--weight-decay", str(GAMMA), "--kappa", "inf", "--norm-target", "2"]  # fmt: skip
    rep = run_json(capsys, [*argv, "--bias", "--last-layer", files("w.npy", w)])
    assert rep["normalization"] == {"kappa": "inf", "norm_target": 2.0, "exact_thresholds": False, "bias": True}
    assert rep["kept"] == [bool(x > 0) for x in ell] and rep["predicted_rank"] == int(np.sum(ell > 0)) == 2
    assert rep["bias_norm_sq"] == pytest.approx(c - float(np.sum(mu)), rel=1e-10)
    np.testing.assert_allclose(rep["survival_margin"], ell, rtol=1e-9)
    np.testing.assert_allclose(rep["predicted_spectrum"], mu / (A + C), atol=1e-12)
    np.testing.assert_allclose(rep["measured_spectrum"], mu / (A + C), atol=1e-12)
    assert rep["agreement"] == [True] * 4 and rep["measured_rank"] == 2
    # every direction collapses once γ ≥ max b_i (then ρ₀ = 0 ≤ c): the critical weight decays are the b_i
    b = float(qf.data_coef) * A + float(qf.aug_coef) * C
    np.testing.assert_allclose(rep["critical_weight_decay"], np.maximum(b, 0.0), rtol=1e-9)
    plain = run_json(capsys, argv)
    assert plain["predicted_rank"] == 4 and plain["bias_norm_sq"] is None
    code, out, _ = run(capsys, [*argv, "--bias"])
    assert code == 0 and "bias: ‖b‖² = " in out and "unnormalized minimum" in out


def test_undefined_metrics_are_null_with_a_reason(capsys, files):
    v1, v2 = exact_views(A, C)
    rep = run_json(
        capsys, ["--views", files("v1.npy", v1), files("v2.npy", v2), "--last-layer", files("w.npy", np.zeros((4, 4)))]
    )
    assert rep["measured_rank"] == 0 and rep["measured_kept"] == [False] * 4
    assert rep["metrics"]["augmentation_variance_fraction"] is None
    assert "do not vary" in rep["null_reasons"]["metrics.augmentation_variance_fraction"]
    assert all(v is None or math.isfinite(v) for v in rep["metrics"].values())


def test_text_output_and_plot_never_replace_a_foreign_file(capsys, files, tmp_path):
    v1, v2 = exact_views(A, C)
    views = ["--views", files("v1.npy", v1), files("v2.npy", v2), "--loss", "beta-infonce"]
    plot = tmp_path / "fig.png"
    code, out, _ = run(capsys, [*views, "--plot", str(plot)])
    assert code == 0 and "predicted rank: 3" in out and plot.stat().st_size > 0
    code, _, _ = run(capsys, [*views, "--plot", str(plot), "--last-layer", files("w.npy", np.eye(4))])
    assert code == 0  # our own figure is replaced
    foreign = tmp_path / "mine.png"
    foreign.write_bytes(b"\x89PNG not a landscape figure")
    code, _, err = run(capsys, [*views, "--plot", str(foreign)])
    assert code == 2 and "refusing to overwrite" in err and foreign.read_bytes() == b"\x89PNG not a landscape figure"


def _bad_inputs(files, tmp_path):
    v1, v2 = exact_views(A, C, n=16)
    nan = v1.copy()
    nan[5, 1] = np.nan
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not an npy file")
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    good = [files("v1.npy", v1), files("v2.npy", v2)]
    return {
        "shapes": (["--views", good[0], files("short.npy", v2[:6])], ["--views", "same shape", "(16, 4) and (6, 4)"]),
        "one sample": (["--views", files("a.npy", v1[:1]), files("b.npy", v2[:1])], ["a.npy", "at least two samples"]),
        "nan row": (["--views", files("nan.npy", nan), good[1]], ["nan.npy", "NaN", "first row 5"]),
        "one-d": (["--views", files("vec.npy", v1[:, 0]), good[1]], ["vec.npy", "shape"]),
        "last layer": ([*["--views", *good], "--last-layer", files("w.npy", np.eye(3))], ["--last-layer", "w.npy", "input dimension 4"]),
        "nan weights": ([*["--views", *good], "--last-layer", files("wn.npy", np.full((2, 4), np.nan))], ["--last-layer", "NaN"]),
        "unreadable": (["--views", str(junk), good[1]], ["--views", "junk.npy", "cannot read"]),
        "missing": (["--views", str(tmp_path / "none.npy"), good[1]], ["--views", "none.npy", "not found"]),
        "pickle": (["--views", str(obj), good[1]], ["obj.npy", "never"]),
        "bootstrap": (["--views", *good, "--bootstrap", "-1"], ["--bootstrap"]),
        "rtol": (["--views", *good, "--rtol", "1"], ["--rtol"]),
        "shrinkage": (["--views", *good, "--shrinkage", "2"], ["--shrinkage"]),
        "weight decay": (["--views", *good, "--weight-decay", "-1"], ["--weight-decay"]),
        "plot suffix": (["--views", *good, "--plot", str(tmp_path / "fig.txt")], ["--plot", ".png"]),
        "kappa zero": (["--views", *good, "--kappa", "0"], ["--kappa", "(0, inf)"]),
        "kappa word": (["--views", *good, "--kappa", "big"], ["--kappa"]),
        "norm target": (["--views", *good, "--kappa", "1", "--norm-target", "-1"], ["--norm-target"]),
        "target alone": (["--views", *good, "--norm-target", "2"], ["--norm-target", "need --kappa"]),
        "bias alone": (["--views", *good, "--bias"], ["--bias", "needs --kappa", "> 0, or inf"]),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    ["shapes", "one sample", "nan row", "one-d", "last layer", "nan weights", "unreadable", "missing", "pickle",
     "bootstrap", "rtol", "shrinkage", "weight decay", "plot suffix", "kappa zero", "kappa word", "norm target",
     "target alone", "bias alone"],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_file_and_field(capsys, files, tmp_path, case):
    argv, words = _bad_inputs(files, tmp_path)[case]
    code, out, err = run(capsys, argv)
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and line.startswith("landscape diagnose: error:") and "Traceback" not in err
    for word in words:
        assert word in line, (word, line)
