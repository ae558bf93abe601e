"""The reproduction report: the verdict rule, the generator on a small stored run, the command line.

The experiments themselves are run at their smoke size in tests/test_figures_smoke.py, which
also calls each one's ``claims`` on the smoke data.
"""

import types

import numpy as np
import pytest

from landscape.reproduction import EXPERIMENTS, experiment, report
from landscape.reproduction.claims import (
    CORRECTED,
    REFUTED,
    REPRODUCED,
    UNTESTABLE,
    Check,
    Claim,
    MissingNumber,
    verdict,
)
from landscape.reproduction.figure_io import save


def _check(value, rule="≈", target=1.0, **tol):
    if rule == "≈" and not tol:
        tol = {"rtol": 0.1}
    return Check("x", value, rule, target, **tol)


# ----------------------------------------------------------------------------- verdict rule
@pytest.mark.parametrize(
    "checks, corrected, expected",
    [
        ((1.05, 0.95), (), REPRODUCED),  # every check of the paper's statement within 10 %
        ((1.05, 1.2), (), REFUTED),  # one fails and there is no correction
        ((1.05, 1.2), (1.0,), CORRECTED),  # one fails, the correction holds
        ((1.2,), (1.3,), REFUTED),  # the correction fails too
        ((1.0,), (1.3,), REPRODUCED),  # the paper holds: the correction is not needed
    ],
)
def test_verdict_follows_from_the_numbers(checks, corrected, expected):
    kw = dict(correction="the fixed statement", corrected=tuple(_check(v) for v in corrected)) if corrected else {}
    c = Claim("k", "ziyin2023", "s", "WS", tuple(_check(v) for v in checks), **kw)
    assert verdict(c) == expected


@pytest.mark.parametrize(
    "rule, value, passed",
    [
        ("≤", 1.0, True),
        ("<", 1.0, False),
        ("≥", 1.0, True),
        (">", 1.0, False),
        ("=", 1.0, True),
        ("=", 1.0 + 1e-15, False),
        ("≤", 1.5, False),
        (">", 1.5, True),
    ],
)
def test_check_rules_at_their_edges(rule, value, passed):
    assert _check(value, rule, 1.0).passed is passed


def test_approximate_rule_combines_absolute_and_relative_tolerance():
    assert _check(1.3, atol=0.1, rtol=0.2).passed  # |0.3| ≤ 0.1 + 0.2·1
    assert not _check(1.31, atol=0.1, rtol=0.2).passed
    with pytest.raises(ValueError, match="needs a tolerance"):
        Check("x", 1.0, "≈", 1.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None, "abc", np.array(np.nan)])
def test_a_missing_number_is_refused_when_the_check_is_built(bad):
    with pytest.raises(MissingNumber, match="'x'"):
        _check(bad)


def test_claim_shape_rules():
    with pytest.raises(MissingNumber, match="no checks"):
        Claim("k", "ziyin2023", "s", "WS")
    with pytest.raises(ValueError, match="untestable"):
        Claim("k", "ziyin2023", "s", "WS", (_check(1.0),), untestable="why")
    with pytest.raises(ValueError, match="correction"):
        Claim("k", "ziyin2023", "s", "WS", (_check(1.0),), correction="c")
    with pytest.raises(ValueError, match="paper"):
        Claim("k", "nobody", "s", "WS", (_check(1.0),))
    assert verdict(Claim("k", "dubois2022", "s", "§7", untestable="needs ImageNet")) == UNTESTABLE


# ----------------------------------------------------------------------------- the generator
def _fake(name, claims):
    """An experiment module whose claims read the stored arrays (as real ones do)."""

    def render(data):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2, 2))
        fig.subplots().plot(data["y"])
        return fig

    mod = types.ModuleType(f"fake_{name}", f"Fake figure {name}.\n\nMore.")
    mod.__dict__.update(NAME=name, REPORT_SIZE="quick", PAPER_SCALE="tiny", render=render, claims=claims)
    return mod


def _slope_claims(data):
    slope = float(np.polyfit(np.log(data["x"]), np.log(data["y"]), 1)[0])
    return [
        Claim(
            "fake.slope",
            "ziyin2023",
            "y decays like x⁻²",
            "WS §3.2",
            (Check("slope", slope, "≈", 2.0, atol=0.2, target_from="paper caption"),),
            paper_number="σ⁴",
            correction="y ∝ x⁻²",
            corrected=(Check("slope", slope, "≈", -2.0, atol=0.2, target_from="closed form"),),
        ),
        Claim(
            "fake.big", "cosentino2022", "y | stays positive", "§I", (Check("min y", float(data["y"].min()), ">", 0.0),)
        ),
        Claim("fake.gpu", "dubois2022", "ImageNet accuracy", "Table 2", untestable="needs a GPU and ImageNet"),
    ]


def _store(tmp_path, mods, **arrays):
    from landscape.reproduction.runner import render_experiment

    x = np.linspace(1.0, 4.0, 8)
    for mod in mods:
        data = {
            "x": x,
            "y": x**-2.0,
            "reproduction_size": np.array("quick"),
            "compute_seconds": np.array(1.5),
            **arrays,
        }
        save(data, tmp_path / f"{mod.NAME}.npz")
        render_experiment(mod, tmp_path)


def test_report_from_a_small_stored_run(tmp_path):
    mods = [_fake("fake_a", _slope_claims)]
    _store(tmp_path, mods)
    entries = report.collect(tmp_path, mods)
    md, page = report.write_report(tmp_path / "rep", entries)
    text = md.read_text()
    assert text.splitlines()[0] == report.MARKER
    # the caption's σ⁴ fails, the σ⁻⁴ correction holds; the verdicts follow from the stored slope (−2)
    assert "| y decays like x⁻² | WS §3.2 | slope = -2 | σ⁴ | reproduced with a correction |" in text
    assert "y \\| stays positive" in text and "| reproduced |" in text and "| not testable here |" in text
    errata = text.split("## Errata")[1].split("## Figures")[0]
    assert "y decays like x⁻²" in errata and "FAIL" in errata and "stays positive" not in errata
    assert "](../fake_a.png)" in text
    html = page.read_text()
    assert html.splitlines()[0] == report.MARKER and "data:image/png;base64," in html
    assert "reproduced-with-a-correction" in html
    report.write_report(tmp_path / "rep", entries)  # our own files are replaced


def test_a_report_file_not_ours_is_never_replaced(tmp_path):
    mods = [_fake("fake_a", _slope_claims)]
    _store(tmp_path, mods)
    (tmp_path / "REPORT.md").write_text("my notes\n")
    with pytest.raises(report.ReportError, match="not written by"):
        report.write_report(tmp_path, report.collect(tmp_path, mods))
    assert (tmp_path / "REPORT.md").read_text() == "my notes\n" and not (tmp_path / "REPORT.html").exists()


def test_a_missing_number_or_array_or_run_stops_the_report(tmp_path):
    mods = [_fake("fake_nan", _slope_claims)]
    _store(tmp_path, mods, y=np.array([1.0, np.nan, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1]))
    with pytest.raises(report.ReportError, match="fake_nan: a number is missing"):
        report.collect(tmp_path, mods)
    gone = [_fake("fake_gone", lambda d: [Claim("g", "ziyin2023", "s", "w", (Check("z", d["z"], ">", 0),))])]
    _store(tmp_path, gone)
    with pytest.raises(report.ReportError, match="lack the array 'z'"):
        report.collect(tmp_path, gone)
    with pytest.raises(report.ReportError, match="no stored data for never_run"):
        report.collect(tmp_path, [_fake("never_run", _slope_claims)])


# ----------------------------------------------------------------------------- registry and command line
def test_every_registered_experiment_follows_the_protocol():
    from pathlib import Path

    figures = Path(__file__).resolve().parents[1] / "figures"
    names = set()
    for path in EXPERIMENTS:
        mod = experiment(path)
        assert mod.REPORT_SIZE in ("quick", "full"), path
        assert isinstance(mod.PAPER_SCALE, str) and mod.PAPER_SCALE.strip(), path
        for f in ("compute", "render", "claims", "main"):
            assert callable(getattr(mod, f)), (path, f)
        assert mod.NAME not in names
        names.add(mod.NAME)
        assert f"landscape.reproduction.{path} import main" in (figures / f"{mod.NAME}.py").read_text(), path


@pytest.mark.parametrize(
    "argv, message",
    [(["--only", "no_such_figure"], "--only: unknown experiment no_such_figure"), (["--jobs", "0"], "--jobs")],
)
def test_reproduce_refuses_bad_input_in_one_line(argv, message, tmp_path, capsys):
    from landscape.cli import main

    assert main(["reproduce", "--out", str(tmp_path / "o"), "--report-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
