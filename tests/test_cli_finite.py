"""The command line on input whose arithmetic used to give NaN with exit 0: one line naming the option, exit 2.

Calls :func:`landscape.cli.main` in-process; the messages come from the library's
ValueErrors (tests/test_finite.py), translated to option names by the CLI.
"""
from __future__ import annotations

import json

import pytest

from landscape.cli import main

PROBLEM = ["--a", "3,2,1", "--c", "1,1,1"]


@pytest.mark.parametrize("argv, option", [
    (["--loss", "weighted-infonce", "--n-samples", "1", "--alpha", "0"], "--alpha and --n-samples"),
    (["--quartic", "1e-320"], "--quartic"),
    (["--weight-decay", "1e308"], "--weight-decay"),
])
def test_solve_refuses_nonfinite_arithmetic(capsys, argv, option):
    code = main(["solve", *PROBLEM, *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("landscape solve: error:") and option in lines[0], err


def test_solve_refuses_variances_whose_sum_overflows(capsys):
    code = main(["solve", "--a", "1e308,1", "--c", "1e308,1"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--a and --c" in err, err


def test_flow_example_reports_rank_zero_like_the_closed_form(capsys):
    code = main(["flow", "--a", "3,2,1", "--sigma2", "1", "--weight-decay", "3.05", "--steps", "2000", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["rank"] == report["closed_form"]["rank"] == 0
