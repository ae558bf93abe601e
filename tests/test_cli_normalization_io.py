"""`landscape solve`/`flow` with normalization: what does not depend on the dtype (bad options, the text output).

Split from tests/test_cli_normalization.py so that the float32 pass (FLOAT32_TESTS in tools/run_tests.sh)
runs only the numerics: an option refused before any computation, or the wording of the text summary,
is the same in float32 and float64, so these run once, in the float64 pass.
"""

import pytest

from landscape.cli import main

T7 = ["--a", "2,1,0.6,0.3,0.15", "--c", "0.1,0.1,0.5,0.1,0.1"]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--bias"], "--bias"),
        (["--kappa", "-1"], "--kappa"),
        (["--kappa", "1", "--hard-norm"], "--hard-norm"),
        (["--norm-target", "0", "--kappa", "1"], "--norm-target"),
        (["--loss", "spectral", "--landscape", "exact-gaussian"], "exact-gaussian"),
    ],
)
def test_bad_normalization_options(capsys, argv, needle):
    assert main(["solve", "--a", "2,1", "--sigma2", "1", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_flow_hard_norm_with_bias_text_output(capsys):
    assert (
        main(["flow", *T7, "--hard-norm", "--bias", "--norm-target", "3", "--optimizer", "momentum", "--steps", "4000"])
        == 0
    )
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("normalization:"))
    assert "hard (κ → ∞)" in line and "‖b‖²" in line and "closed form" in line


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--bias"], "--bias"),
        (["--kappa", "1", "--hard-norm"], "--hard-norm"),
        (["--kappa", "x"], "--kappa"),
        (["--landscape", "exact-gaussian"], "--landscape"),
    ],
)
def test_flow_bad_normalization_options(capsys, argv, needle):
    assert main(["flow", "--a", "2,1", "--sigma2", "1", "--steps", "10", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
