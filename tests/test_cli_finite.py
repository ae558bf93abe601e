"""The command line on input whose arithmetic used to give NaN with exit 0: one line naming the option, exit 2.

Calls :func:`landscape.cli.main` in-process; the messages come from the library's
ValueErrors (tests/test_finite.py), translated to option names by the CLI.
"""

from __future__ import annotations

import json

import pytest

from landscape.cli import main

PROBLEM = ["--a", "3,2,1", "--c", "1,1,1"]


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--loss", "weighted-infonce", "--n-samples", "1", "--alpha", "0"], "--alpha and --n-samples"),
        (["--quartic", "1e-320"], "--quartic"),
        (["--weight-decay", "1e308"], "--weight-decay"),
    ],
)
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


def test_solve_json_reports_undecidable_directions_and_says_when_ranks_differ(capsys):
    """``kept`` per direction follows the one survival rule, ``near_threshold`` counts the directions the
    dtype cannot decide, and a rank that differs from the predicted one is explained in the text."""
    from landscape.cli.solve import rank_note

    # b = (a − c)/2 = (0.5, 5e-8, 0.1): the middle direction is a rounding error away from its threshold in float32
    argv = ["solve", "--a", "2,1.0000001,0.5", "--c", "1,1,0.3", "--loss", "beta-infonce"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    kept = report["per_direction"]["kept"]
    assert sum(kept) == report["rank"] == report["predicted_rank"]
    assert kept[0] and kept[2]
    if report["dtype"] == "float32":
        assert report["near_threshold"] == 1 and not kept[1]
    else:
        assert report["near_threshold"] == 0 and kept[1]
    base = dict(report, rank=1, predicted_rank=2, near_threshold=1)
    assert "1 direction(s) lie within the" in rank_note(base)
    assert rank_note(report) is None
    assert main(argv) == 0
    assert "note:" not in capsys.readouterr().out
