"""`landscape solve` with normalization, bias and the exact Gaussian landscape, against the spec's numbers."""

import json

import numpy as np
import pytest

from landscape.cli import main

T7 = ["--a", "2,1,0.6,0.3,0.15", "--c", "0.1,0.1,0.5,0.1,0.1"]


def run_json(capsys, argv):
    assert main(["solve", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_finite_kappa_reports_rho_t7(capsys, tol):
    d = run_json(capsys, [*T7, "--kappa", "10", "--norm-target", "0.5"])
    np.testing.assert_allclose(d["direction_eigenvalues"], [0.0980, 0.1675, 0.0022, 0.2618, 0.1189], atol=1e-4)
    assert d["rho"] == pytest.approx(0.5270, abs=1e-4)
    assert d["loss"] == pytest.approx(-0.36579, abs=1e-5)
    assert "bias_norm_sq" not in d


def test_bias_branch_t9(capsys):
    d = run_json(capsys, [*T7, "--kappa", "10", "--norm-target", "3", "--bias"])
    # W at the unnormalized solution a/(2 (a+c)^2), ||b||^2 = c - rho.
    a, c = np.array([2, 1, 0.6, 0.3, 0.15]), np.array([0.1, 0.1, 0.5, 0.1, 0.1])
    np.testing.assert_allclose(d["direction_eigenvalues"], a / (2 * (a + c) ** 2), rtol=1e-4)
    assert d["rho"] == pytest.approx(1.8785, abs=1e-4)
    assert d["bias_norm_sq"] == pytest.approx(3 - d["rho"], abs=1e-6)
    d = run_json(capsys, [*T7, "--kappa", "10", "--norm-target", "0.6", "--bias"])
    assert d["bias_norm_sq"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("c1, rank", [(0.25, 10), (0.28, 10), (0.30, 9), (0.35, 9)])
def test_hard_normalization_threshold_t8(capsys, c1, rank):
    d = run_json(capsys, ["--a", ",".join(["1"] * 10), "--c", ",".join([str(c1)] + ["0"] * 9), "--hard-norm"])
    assert d["rank"] == rank
    assert d["rho"] == pytest.approx(1.0, abs=1e-6)


def test_exact_gaussian_landscape(capsys):
    a, s2 = np.array([2.0, 1.0, 0.5]), 2.0
    d = run_json(capsys, ["--a", "2,1,0.5", "--sigma2", "2", "--landscape", "exact-gaussian"])
    s = a + s2
    y = (-1 + np.sqrt(1 + 8 * s2 / s)) / 2
    np.testing.assert_allclose(d["direction_eigenvalues"], (1 / y - 1) / s, rtol=1e-6)
    assert d["landscape"] == "exact-gaussian"


# ---------------------------------------------------------------- flow with normalization and bias
def flow_json(capsys, argv, code=0):
    assert main(["flow", *argv, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def test_flow_finite_kappa_t7_lands_on_closed_form(capsys, tol):
    d = flow_json(capsys, [*T7, "--kappa", "10", "--norm-target", "0.5", "--optimizer", "momentum", "--steps", "6000"])
    assert d["kappa"] == 10.0 and d["norm_target"] == 0.5 and not d["diverged"]
    assert d["closed_form"]["rho"] == pytest.approx(0.5270, abs=1e-4)
    assert d["rho"] == pytest.approx(0.5270, abs=max(1e-4, tol["loose"]))
    assert d["loss"] == pytest.approx(-0.36579, abs=max(1e-5, tol["flow"]))
    assert d["distance_to_closed_form"]["abs_rho_diff"] < tol["loose"]
    assert "bias_norm_sq" not in d


def test_flow_bias_t9_takes_up_the_slack(capsys, tol):
    d = flow_json(
        capsys, [*T7, "--kappa", "10", "--norm-target", "3", "--bias", "--optimizer", "momentum", "--steps", "6000"]
    )
    assert d["closed_form"]["bias_norm_sq"] == pytest.approx(1.1215, abs=1e-4)
    assert d["bias_norm_sq"] == pytest.approx(1.1215, abs=max(1e-4, tol["loose"]))
    assert d["rho"] == pytest.approx(1.8785, abs=max(1e-4, tol["loose"]))


@pytest.mark.parametrize("c1, rank", [(0.25, 10), (0.35, 9)])
def test_flow_hard_norm_t8(capsys, c1, rank, tol):
    d = flow_json(
        capsys,
        [
            "--a",
            ",".join(["1"] * 10),
            "--c",
            ",".join([str(c1)] + ["0"] * 9),
            "--hard-norm",
            "--optimizer",
            "momentum",
            "--steps",
            "4000",
        ],
    )
    assert d["hard_norm"] is True and d["rank"] == rank == d["closed_form"]["rank"]
    assert d["rho"] == pytest.approx(1.0, abs=tol["exact"] * 10)
    assert d["distance_to_closed_form"]["relative_loss_gap"] == pytest.approx(0.0, abs=tol["flow"])


def test_flow_reports_divergence_under_normalization(capsys):
    assert main(["flow", *T7, "--kappa", "10", "--lr", "1", "--steps", "50", "--json"]) == 1
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert d["diverged"] and d["diverged_step"] >= 1 and np.isfinite(d["rho"])
    assert "smaller --lr" in captured.err
