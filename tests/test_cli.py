"""The `landscape` command line: JSON contract, closed-form numbers, bad input, flow and run.

Most tests call :func:`landscape.cli.main` in-process (fast); one test runs the
installed console script to check exit codes and that no traceback escapes.
Expected numbers are computed here with NumPy from the closed form
λ_i = b_i / (2 k s_i²) (commuting case) or ½ Σ^{-1/2} U M Λ Uᵀ Σ^{-1/2} (general),
independently of the library.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landscape.cli import main

# T1 of the reference spec (§6).
A = [3.0, 2.0, 1.5, 1.0, 0.5, 0.2]
C = [0.5, 2.5, 0.3, 1.2, 0.1, 1.0]
A_ARG = ",".join(map(str, A))
C_ARG = ",".join(map(str, C))
T1_EIGENVALUES = [0.69444, 0.23148, 0.12245, 0.10331, 0.06944, 0.04938]
T1_LOSS = -0.6388757

SOLVE_KEYS = {
    "gram_eigenvalues",
    "rank",
    "loss",
    "b_eigenvalues",
    "direction_eigenvalues",
    "whitened_eigenvalues",
    "origin",
    "predicted_rank",
    "critical_sigma2",
    "critical_weight_decay",
    "critical_n_samples",
    "form",
    "loss_name",
    "quartic",
    "version",
}


def run_json(capsys, *argv) -> dict:
    code = main(list(argv) + ["--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def close(actual, expected, tol):
    np.testing.assert_allclose(
        np.asarray(actual, float),
        np.asarray(expected, float),
        rtol=tol,
        atol=tol * max(1.0, float(np.max(np.abs(expected)))),
    )


def closed_form_general(a0, c, b, k=1.0, out_dim=None):
    """Descending WᵀW spectrum and loss of the global minimum, from NumPy eigendecompositions."""
    sigma = a0 + c
    vals, vecs = np.linalg.eigh(sigma)
    inv_sqrt = (vecs / np.sqrt(vals)) @ vecs.T
    lam, u = np.linalg.eigh(inv_sqrt @ b @ inv_sqrt)
    lam, u = lam[::-1], u[:, ::-1]
    keep = lam > 0
    if out_dim is not None:
        keep &= np.cumsum(keep) <= out_dim
    lam_kept = np.where(keep, lam, 0.0)
    gram = inv_sqrt @ u @ np.diag(lam_kept / (2 * k)) @ u.T @ inv_sqrt
    return np.sort(np.linalg.eigvalsh(gram))[::-1], -np.sum(lam_kept**2) / (4 * k)


# ----------------------------------------------------------------------------- solve
def test_solve_t1_matches_closed_form(capsys, tol, x64):
    rep = run_json(capsys, "solve", "--loss", "infonce", "--a", A_ARG, "--c", C_ARG)
    assert SOLVE_KEYS <= rep.keys()
    a, c = np.array(A), np.array(C)
    per_dir = a / (2 * (a + c) ** 2)  # λ_i = b_i / (2 s_i²), B = A0
    close(rep["direction_eigenvalues"], per_dir, tol["exact"])
    close(rep["gram_eigenvalues"], np.sort(per_dir)[::-1], tol["exact"])
    close(rep["gram_eigenvalues"], T1_EIGENVALUES, 1e-4)  # the spec's 5-digit numbers
    close(rep["loss"], T1_LOSS, 1e-6 if x64 else tol["exact"])
    close(rep["loss"], -np.sum((a / (a + c)) ** 2) / 4, tol["exact"])
    close(rep["b_eigenvalues"], np.sort(a)[::-1], tol["exact"])
    close(rep["whitened_eigenvalues"], np.sort(a / (a + c))[::-1], tol["exact"])
    assert rep["rank"] == rep["predicted_rank"] == 6
    assert rep["origin"] == "maximum"
    assert rep["dtype"] == ("float64" if x64 else "float32")
    assert (rep["form"], rep["loss_name"], rep["quartic"]) == ("derived", "infonce", 1.0)
    assert rep["critical_sigma2"] is None and rep["critical_n_samples"] is None
    close(rep["critical_weight_decay"]["value"], a, tol["exact"])
    assert rep["per_direction"]["kept"] == [True] * 6


def test_solve_dimensional_collapse_t2(capsys, tol):
    # β-InfoNCE, paper form, β = ½: B = A0 − C (spec T2).
    rep = run_json(
        capsys, "solve", "--loss", "beta-infonce", "--form", "paper", "--beta", "0.5", "--a", A_ARG, "--c", C_ARG
    )
    a, c = np.array(A), np.array(C)
    b = a - c
    per_dir = np.where(b > 0, b / (2 * (a + c) ** 2), 0.0)
    assert rep["rank"] == 3 and rep["origin"] == "saddle"
    close(rep["direction_eigenvalues"], per_dir, tol["exact"])
    close(rep["gram_eigenvalues"][:3], [0.55556, 0.18519, 0.10204], 1e-4)
    close(rep["loss"], -0.3497732, 1e-6 if tol["exact"] < 1e-6 else tol["exact"])
    close(rep["b_eigenvalues"], np.sort(b)[::-1], tol["exact"])
    assert rep["per_direction"]["kept"] == list(b > 0)


@pytest.mark.parametrize("gamma, rank", [("0", 6), ("0.6", 4), ("1.2", 3)])
def test_solve_weight_decay_rank_t3(capsys, gamma, rank):
    rep = run_json(capsys, "solve", "--a", A_ARG, "--c", C_ARG, "--weight-decay", gamma)
    assert rep["rank"] == rank == int(np.sum(np.array(A) > float(gamma)))
    assert rep["weight_decay"] == float(gamma)


def test_solve_rank_cap_t4(capsys, tol):
    rep = run_json(capsys, "solve", "--a", A_ARG, "--c", C_ARG, "--out-dim", "2")
    assert rep["rank"] == 2 and rep["out_dim"] == 2
    close(rep["loss"], -0.3572846, max(1e-6, tol["exact"]))


def test_solve_isotropic_sigma2_thresholds(capsys, tol):
    rep = run_json(capsys, "solve", "--loss", "beta-infonce", "--a", "3,2,1", "--sigma2", "1.5")
    # derived β-InfoNCE at β = ½: b_i = ½ a_i − ½ σ², collapsed for σ² ≥ a_i.
    close(rep["critical_sigma2"]["value"], [3.0, 2.0, 1.0], tol["exact"])
    assert rep["critical_sigma2"]["collapsed_above"] == [True, True, True]
    assert rep["isotropic_sigma2"] == 1.5
    assert rep["rank"] == 2
    close(rep["direction_eigenvalues"], [0.75 / (2 * 0.5 * 4.5**2), 0.25 / (2 * 0.5 * 3.5**2), 0.0], tol["exact"])
    # InfoNCE never collapses with augmentation: the thresholds are infinite, written as "inf".
    rep = run_json(capsys, "solve", "--a", "3,2,1", "--sigma2", "1.5")
    assert rep["critical_sigma2"]["value"] == ["inf", "inf", "inf"]


def test_solve_weighted_infonce_paper_critical_n(capsys, tol):
    rep = run_json(
        capsys,
        "solve",
        "--loss",
        "weighted-infonce",
        "--form",
        "paper",
        "--alpha",
        "0.1",
        "--n-samples",
        "50",
        "--a",
        "0.5,0.2",
        "--c",
        "20,20",
    )
    a, c = np.array([0.5, 0.2]), np.array([20.0, 20.0])
    close(rep["critical_n_samples"]["value"], 0.9 * c / a, tol["exact"])
    b = a - 0.9 * c / 50
    close(rep["b_eigenvalues"], np.sort(b)[::-1], tol["exact"])
    assert rep["rank"] == int(np.sum(b > 0)) == 1


def test_solve_npy_non_commuting(capsys, tmp_path, tol):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a0 = q @ np.diag([3.0, 2.0, 1.0, 0.5, 0.2]) @ q.T
    a0 = 0.5 * (a0 + a0.T)
    c = np.diag([0.4, 1.5, 0.3, 2.0, 0.1])
    np.save(tmp_path / "a0.npy", a0)
    np.save(tmp_path / "c.npy", c)
    rep = run_json(
        capsys,
        "solve",
        "--loss",
        "beta-infonce",
        "--form",
        "paper",
        "--data-cov",
        str(tmp_path / "a0.npy"),
        "--aug-cov",
        str(tmp_path / "c.npy"),
    )
    eig, loss = closed_form_general(a0, c, a0 - c)
    close(rep["gram_eigenvalues"], eig, tol["exact"])
    close(rep["loss"], loss, tol["exact"])
    assert rep["direction_eigenvalues"] is None and rep["per_direction"] is None
    assert rep["commuting"] is False and rep["critical_weight_decay"] is None
    # Isotropic augmentation on the same A0 commutes: per-direction σ² thresholds are reported.
    rep = run_json(capsys, "solve", "--loss", "beta-infonce", "--data-cov", str(tmp_path / "a0.npy"), "--sigma2", "0.7")
    close(sorted(rep["critical_sigma2"]["value"]), [0.2, 0.5, 1.0, 2.0, 3.0], tol["loose"])
    assert rep["rank"] == 3


def test_solve_text_table(capsys):
    assert main(["solve", "--loss", "beta-infonce", "--a", "3,1", "--c", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "a_i" in out and "λ_i" in out and "kept" in out
    assert "yes" in out and "no" in out and "rank: 1" in out


# ----------------------------------------------------------------------------- bad input
@pytest.fixture
def bad_npy(tmp_path):
    np.save(tmp_path / "nonsym.npy", np.array([[1.0, 0.5], [0.0, 1.0]]))
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "indef.npy", np.diag([1.0, -0.5]))
    np.save(tmp_path / "eye.npy", np.eye(2))
    return tmp_path


BAD = [
    (["solve", "--a", "1,-2", "--c", "1,1"], "--a"),
    (["solve", "--a", "1,2", "--c", "1,2,3"], "--c"),
    (["solve", "--a", "1,x", "--c", "1,1"], "--a"),
    (["solve", "--a", "1,2"], "--sigma2"),
    (["solve", "--loss", "simclr", "--a", "1", "--c", "1"], "--loss"),
    (["solve", "--loss", "weighted-infonce", "--a", "1,2", "--c", "1,1"], "--n-samples"),
    (["solve", "--loss", "weighted-infonce", "--n-samples", "0.5", "--a", "1", "--c", "1"], "--n-samples"),
    (["solve", "--a", "1,2", "--c", "1,1", "--sigma2", "1"], "--sigma2"),
    (["solve", "--a", "1,2", "--sigma2", "-1"], "--sigma2"),
    (["solve", "--a", "0,1", "--c", "0,1"], "--a"),
    (["solve", "--a", "1,2", "--c", "1,1", "--weight-decay", "nan"], "--weight-decay"),
    (["solve", "--a", "1,2", "--c", "1,1", "--out-dim", "0"], "--out-dim"),
    (["solve", "--a", "1,2", "--c", "1,1", "--quartic", "0"], "--quartic"),
    (["solve", "--loss", "beta-infonce", "--beta", "0", "--a", "1", "--c", "1"], "--beta"),
    (["solve", "--form", "appendix", "--a", "1", "--c", "1"], "--form"),
    (["solve"], "--a"),
    (["solve", "--data-cov", "{tmp}/nonsym.npy", "--aug-cov", "{tmp}/eye.npy"], "--data-cov"),
    (["solve", "--data-cov", "{tmp}/obj.npy", "--sigma2", "1"], "--data-cov"),
    (["solve", "--data-cov", "{tmp}/missing.npy", "--sigma2", "1"], "--data-cov"),
    (["solve", "--data-cov", "{tmp}/eye.npy", "--aug-cov", "{tmp}/indef.npy"], "--aug-cov"),
    (["flow", "--a", "1,2", "--c", "1,1", "--lr", "0"], "--lr"),
    (["flow", "--a", "1,2", "--c", "1,1", "--lr", "-0.1"], "--lr"),
    (["flow", "--a", "1,2", "--c", "1,1", "--steps", "0"], "--steps"),
    (["flow", "--a", "1,2", "--c", "1,1", "--optimizer", "lbfgs"], "--optimizer"),
    (["run", "--grid", "3"], "--grid"),
]


@pytest.mark.parametrize("argv, name", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_exit_2_one_line(capsys, bad_npy, argv, name):
    argv = [s.replace("{tmp}", str(bad_npy)) for s in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("landscape") and "error:" in lines[0]
    assert name in lines[0], lines[0]
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- flow
def test_flow_reaches_closed_form(capsys, tol):
    rep = run_json(capsys, "flow", "--a", A_ARG, "--c", C_ARG, "--steps", "3000", "--seed", "1")
    for key in (
        "gram_eigenvalues",
        "rank",
        "loss",
        "diverged",
        "diverged_step",
        "closed_form",
        "distance_to_closed_form",
        "lr",
        "optimizer",
        "steps",
    ):
        assert key in rep
    assert rep["diverged"] is False and rep["diverged_step"] == -1
    assert rep["rank"] == rep["closed_form"]["rank"] == 6
    dist = rep["distance_to_closed_form"]
    assert dist["max_abs_eigenvalue_diff"] < tol["flow"]
    assert abs(dist["relative_loss_gap"]) < tol["flow"]
    close(rep["gram_eigenvalues"], T1_EIGENVALUES, 1e-4)
    assert rep["lr_source"] == "auto" and 0 < rep["lr"] < rep["max_stable_learning_rate"]


def test_flow_collapse_with_momentum(capsys, tol):
    rep = run_json(
        capsys,
        "flow",
        "--loss",
        "beta-infonce",
        "--a",
        "3,2,0.5",
        "--sigma2",
        "1",
        "--optimizer",
        "momentum",
        "--lr",
        "0.02",
        "--steps",
        "3000",
    )
    assert rep["rank"] == 2 and rep["lr_source"] == "given" and rep["optimizer"] == "momentum"
    assert rep["distance_to_closed_form"]["max_abs_eigenvalue_diff"] < tol["flow"]


def test_flow_divergence_exit_code(capsys):
    code = main(["flow", "--a", A_ARG, "--c", C_ARG, "--lr", "1", "--steps", "200", "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    rep = json.loads(out)
    assert rep["diverged"] is True and rep["diverged_step"] >= 1
    line = err.strip()
    assert len(line.splitlines()) == 1
    assert "--lr" in line and "largest stable" in line and "diverged" in line


# ----------------------------------------------------------------------------- run
def test_run_writes_png_and_json(capsys, tmp_path):
    out_dir = tmp_path / "out"
    # The spot-check flows are covered by tests/test_scan_phase.py; this is the main job's smoke run.
    assert main(["run", "--out", str(out_dir), "--grid", "17", "--no-spot-checks"]) == 0
    text = capsys.readouterr().out
    assert "phase diagram" in text and "β-InfoNCE" in text
    png = out_dir / "phase_diagram.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out_dir / "spectrum_vs_sigma2.png").stat().st_size > 1000
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["phase_diagram"]["file"] == "phase_diagram.png"
    for name, panel in summary["phase_diagram"]["panels"].items():
        assert panel["mismatches_with_analytic_rank"] == 0, name
        assert sum(panel["regions"].values()) == 17 * 17
    beta = summary["solutions"]["beta-infonce"]
    assert beta["rank"] == 6 and summary["solutions"]["infonce"]["rank"] == 8
    gd = summary["gradient_descent_check"]
    assert gd["diverged"] is False and gd["rank"] == 6


# ----------------------------------------------------------------------------- console script
def test_console_script_exit_codes():
    script = Path(sys.executable).with_name("landscape")
    if not script.exists():
        found = shutil.which("landscape")
        if found is None:
            pytest.skip("the `landscape` console script is not installed (run `make test`)")
        script = Path(found)
    env = dict(os.environ)
    # A 23-digit seed used to escape as an OverflowError traceback (exit 1).
    bad = subprocess.run(
        [str(script), "flow", "--a", "3,1", "--c", "1,1", "--seed", "1" * 23],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "--seed" in bad.stderr
    good = subprocess.run(
        [str(script), "solve", "--a", "3,1", "--c", "1,1", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    rep = json.loads(good.stdout)
    np.testing.assert_allclose(rep["gram_eigenvalues"], [1 / 8, 3 / 32], rtol=1e-5)
