"""``landscape trajectory``: JSON keys, exact vs ode routes, events (closed form and integrated), and bad
input (one line, exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape.cli import main

ALIGNED = ["--a", "3,2,1", "--c", "1,1,2.5", "--loss", "beta-infonce", "--aligned", "--init-scale", "1e-3"]


def run_json(capsys, argv) -> dict:
    code = main(["trajectory", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_json_keys_and_events(capsys):
    rep = run_json(capsys, [*ALIGNED, "--times", "0,1,5,inf", "--events"])
    assert rep["method"] == "exact" and rep["case"] == "aligned"
    assert rep["times"] == [0.0, 1.0, 5.0, "inf"]
    assert len(rep["gram_eigenvalues"]) == 4 and all(len(row) == 3 for row in rep["gram_eigenvalues"])
    assert len(rep["loss"]) == 4
    # b − γ = (a − c)/2 = (1, 0.5, −0.75), Σ = a + c = (4, 3, 3.5), k = 1/2: limits (b/(2k s²)) 1/16, 1/18, 0.
    np.testing.assert_allclose(rep["gram_eigenvalues"][-1], [1 / 16, 1 / 18, 0.0], atol=1e-12)
    esc = rep["escape_times"]
    assert esc[2] == "inf" and esc[0] < esc[1]
    np.testing.assert_allclose(esc[:2], rep["escape_times_asymptotic"][:2], rtol=1e-4)
    assert rep["collapse_times"][:2] == ["inf", "inf"]
    assert rep["collapse_times"][2] == pytest.approx(np.log(2.0) / 3.0, rel=1e-4)  # ln 2/(4·0.75)
    assert rep["learning_order"] == [0, 1, 2]
    assert rep["events"]["source"] == "closed form" and rep["events"]["indexed_by"] == "direction"


@pytest.mark.slow  # integrator compiles; the ode route is also run by test_events_without_a_closed_form
def test_exact_and_ode_agree(capsys, tmp_path):
    w0 = np.diag([0.02, 0.05, 0.1])
    path = tmp_path / "w0.npy"
    np.save(path, w0)
    base = ["--a", "3,2,1", "--c", "1,1,2.5", "--w0", str(path), "--times", "0.5,2,6,inf"]
    exact = run_json(capsys, [*base, "--method", "exact"])
    ode = run_json(capsys, [*base, "--method", "ode"])
    assert ode["method"] == "ode"
    rtol = 1e-7 if exact["dtype"] == "float64" else 2e-4  # JAX_ENABLE_X64=0 runs the CLI in float32
    np.testing.assert_allclose(exact["gram_eigenvalues"], ode["gram_eigenvalues"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(exact["loss"], ode["loss"], rtol=rtol)


def test_events_without_a_closed_form(capsys, tmp_path):
    """Non-commuting B and Σ, random W₀: auto integrates, says so, and the events sit on their levels."""
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    np.save(tmp_path / "a0.npy", q @ np.diag([3.0, 2.0, 0.8, 0.3]) @ q.T)  # B − γI: eigenvalues 0.51, −0.11, …
    np.save(tmp_path / "c.npy", np.diag([1.0, 1.5, 2.5, 2.0]))
    general = ["--data-cov", str(tmp_path / "a0.npy"), "--aug-cov", str(tmp_path / "c.npy")]
    general += ["--loss", "beta-infonce", "--init-scale", "1e-2"]
    rep = run_json(capsys, [*general, "--times", "0,inf", "--events"])
    assert rep["method"] == "ode" and rep["case"] is None and rep["reason"].startswith("no closed form")
    for key in ("times", "gram_eigenvalues", "loss", "method", "escape_times", "collapse_times"):
        assert key in rep, key
    assert rep["events"]["source"] == "integrator" and rep["events"]["indexed_by"] == "rank"
    limit = rep["gram_eigenvalues"][-1]
    # A rank escapes when its limit is non-zero and collapses when it is zero (here: one escapes, three die).
    assert [v != "inf" for v in rep["escape_times"]] == [True, False, False, False]
    assert [v != "inf" for v in rep["collapse_times"]] == [False, True, True, True]
    assert limit[0] > 0.01 and max(limit[1:]) < 1e-6 * limit[0]
    rel = 1e-6 if rep["dtype"] == "float64" else 2e-3
    np.testing.assert_allclose(limit, rep["events"]["limit"], rtol=rel, atol=1e-6 * limit[0])
    # The trajectory saved at the event times (a separate integration) is on the events' levels.
    t_esc, t_col = rep["escape_times"][0], rep["collapse_times"][1]
    at = run_json(capsys, [*general, "--times", f"{t_esc!r},{t_col!r}", "--method", "ode"])
    assert at["gram_eigenvalues"][0][0] == pytest.approx(0.5 * limit[0], rel=rel)
    assert at["gram_eigenvalues"][1][1] == pytest.approx(0.5 * rep["events"]["gram0"][1], rel=rel)


def test_auto_falls_back_to_ode_and_text_output(capsys):
    code = main(["trajectory", "--a", "3,2,0.5,1", "--c", "1,2.5,2,0.5", "--times", "0,1", "--events"])
    out, _ = capsys.readouterr()
    assert code == 0 and "method ode: no closed form" in out and "events (integrator, per rank)" in out


def usage_error(capsys, argv, *fields) -> str:
    code = main(["trajectory", *argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and out == "", err
    assert "Traceback" not in err
    for f in fields:
        assert f in lines[0], (f, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    "extra, fields",
    [
        (["--times", "-1"], ["--times", ">= 0"]),
        (["--times", "1,nan"], ["--times", ">= 0"]),
        (["--times", "1,,2"], ["--times"]),
        (["--init-scale", "0"], ["--init-scale", "(0, inf)"]),
        (["--seed", "-3"], ["--seed"]),
        (["--w0", "/nonexistent/w0.npy"], ["--w0", "not found"]),
    ],
)
def test_bad_input(capsys, extra, fields):
    usage_error(capsys, ["--a", "3,2", "--c", "1,1", *extra], *fields)


def test_bad_w0_and_routes(capsys, tmp_path):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.ones((2, 3)))
    usage_error(capsys, ["--a", "3,2", "--c", "1,1", "--w0", str(wrong)], "--w0", "d1×2")
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[np.nan, 0.0], [0.0, 1.0]]))
    usage_error(capsys, ["--a", "3,2", "--c", "1,1", "--w0", str(nan)], "--w0", "NaN")
    inf = tmp_path / "inf.npy"
    np.save(inf, np.array([[np.inf, 0.0], [0.0, 1.0]]))
    usage_error(capsys, ["--a", "3,2", "--c", "1,1", "--w0", str(inf)], "--w0", "infinite")
    general = ["--a", "3,2", "--c", "1,3", "--times", "1"]
    usage_error(capsys, [*general, "--method", "exact"], "--method", "not available")


def test_nan_in_the_problem(capsys, tmp_path):
    usage_error(capsys, ["--a", "3,nan", "--c", "1,1"], "--a", "NaN")
    usage_error(capsys, ["--a", "3,2", "--c", "1,1", "--weight-decay", "nan"], "--weight-decay", "finite")
    usage_error(capsys, ["--a", "3,2", "--c", "1,1", "--quartic", "nan"], "--quartic", "finite")
    cov = tmp_path / "cov.npy"
    np.save(cov, np.array([[1.0, np.nan], [np.nan, 1.0]]))
    usage_error(capsys, ["--data-cov", str(cov), "--sigma2", "0.1"], "--data-cov", "NaN")
