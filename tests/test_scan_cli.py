"""`landscape scan` and `landscape plot`: summary, progress, resume, errors, figures from the store alone."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from landscape import plot
from landscape.cli import main
from landscape.cli.scan import ProgressBar
from landscape.scan import Progress, open_scan

A = [3.0, 2.0, 1.2, 0.5]
BASE = ["--loss", "beta-infonce", "--a", ",".join(map(str, A))]
SWEEPS = ["--sweep", "sigma2=0.1:4.1:7", "--sweep", "gamma=0,0.07,0.3"]


def expected_rank(sigma2, gamma):
    b = 0.5 * (np.array(A)[None, None, :] - np.asarray(sigma2)[:, None, None]) - np.asarray(gamma)[None, :, None]
    return (b > 0).sum(-1)


def test_scan_writes_store_prints_summary_and_progress(tmp_path, capsys):
    out = tmp_path / "s.zarr"
    assert main(["scan", *BASE, *SWEEPS, "--out", str(out), "--chunk-size", "5", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "pts/s" in captured.err and "ETA" in captured.err and "21/21 points" in captured.err
    assert summary["points"] == 21 and summary["computed"] == 21 and summary["chunk_size"] == 5
    assert summary["status_counts"]["ok"] == 21 and summary["dims"] == {"sigma2": 7, "weight_decay": 3}
    ds = open_scan(out)
    rank = expected_rank(np.linspace(0.1, 4.1, 7), [0.0, 0.07, 0.3])
    np.testing.assert_array_equal(ds["rank"].values, rank)
    assert sum(summary["regions"].values()) == 21
    assert summary["rank_counts"] == {str(r): int(n) for r, n in zip(*np.unique(rank, return_counts=True))}

    # resume of a complete store computes nothing; the text summary says so
    assert main(["scan", *BASE, *SWEEPS, "--out", str(out), "--resume", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "computed 0 points, reused 21" in text and "rank of WᵀW" in text


def test_scan_errors_are_one_line_exit_2(tmp_path, capsys):
    out = str(tmp_path / "s.zarr")
    assert main(["scan", *BASE, *SWEEPS, "--out", out, "--quiet"]) == 0
    capsys.readouterr()
    cases = [
        (["scan", *BASE, "--out", out + "2"], "--sweep"),
        (["scan", *BASE, "--sweep", "sigma2=0:1:0", "--out", out + "2"], "empty"),
        (["scan", *BASE, "--sweep", "colour=1,2", "--out", out + "2"], "unknown scan parameter"),
        (["scan", *BASE, "--sweep", "beta=0,0.5", "--sweep", "sigma2=1", "--out", out + "2"], "beta must be in"),
        (["scan", *BASE, *SWEEPS], "--out"),
        (["scan", *BASE, *SWEEPS, "--out", out], "already exists"),
        (["scan", *BASE, "--sweep", "sigma2=0:1:3", "--out", out, "--resume"], "refusing to resume"),
        (["scan", *BASE, "--c", "1,1,1,1", "--sweep", "sigma2=0:1:3", "--out", out + "2"], "--sweep sigma2"),
        (["scan", *BASE, *SWEEPS, "--out", out + "2", "--chunk-size", "0"], "--chunk-size"),
        (
            ["scan", *BASE, *SWEEPS, "--out", out + "2", "--method", "closed-form", "--sweep", "lr=0.1"],
            "no effect on the closed form",
        ),
        (["plot", str(tmp_path / "nothing.zarr")], "no scan store"),
        (["plot", out, "--var", "colour"], "not an output"),
        (["plot", out, "--x", "beta"], "must be one of the scan's axes"),
        (["plot", out, "--formats", "gif"], "--formats"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, (argv, err)


def test_plot_from_store_without_recomputing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "s.zarr"
    assert main(["scan", *BASE, *SWEEPS, "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    import landscape.scan.driver as driver

    def no_scan(*a, **k):
        raise AssertionError("plot must not run a scan")

    monkeypatch.setattr(driver, "scan", no_scan)
    assert main(["plot", str(out), "--json", "--cut", "gamma=0.07"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert [f.rsplit(".", 1)[1] for f in rep["files"]] == ["png", "pdf"]
    png, pdf = (open(f, "rb").read() for f in rep["files"])
    assert png[:4] == b"\x89PNG" and pdf[:4] == b"%PDF"
    assert rep["map"]["x"] == "sigma2" and rep["map"]["y"] == "weight_decay"
    assert rep["map"]["boundaries"] == 4  # every b_i = 0 line crosses the plotted range
    # critical σ² of direction i at γ = 0.07: ½(a_i − σ²) = 0.07
    np.testing.assert_allclose(rep["spectrum"]["critical"][:3], np.array(A[:3]) - 0.14, atol=0.02)
    assert main(["plot", str(out), "--var", "loss", "--out", str(tmp_path / "loss"), "--formats", "png"]) == 0
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_progress_bar_lines():
    buf = io.StringIO()
    bar = ProgressBar(buf, width=10, interval=0.0)
    bar(Progress(5, 20, 5, 0, 1.0, 5.0, 3.0, 5, 1))
    bar(Progress(20, 20, 20, 0, 4.0, 5.0, 0.0, 5, 1, finished=True))
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("scan [##--------] 5/20 points") and "5 pts/s" in lines[0] and "ETA 3s" in lines[0]
    assert "[##########] 20/20" in lines[1]


def test_plot_helpers_draw_what_they_are_given():
    x = np.linspace(0.0, 2.0, 21)
    y = np.linspace(0.0, 1.0, 11)
    xx, yy = np.meshgrid(x, y)
    fig, ax = plot.new_figure()
    assert plot.boundary_contours(ax, x, y, [xx - 1.0, xx + 5.0, yy - 0.5], label="b_i = 0") == 2
    with pytest.raises(ValueError, match="shape"):
        plot.boundary_contours(ax, x, y, [xx.T])
    status = np.zeros_like(xx, dtype=int)
    status[2, 3], status[4, 4] = 1, 2
    assert plot.status_markers(ax, x, y, status) == 2
    fig, ax = plot.new_figure()
    values = xx * yy
    values[0, 0] = np.nan
    mesh = plot.value_map(ax, x, y, values, label="loss", log=True)
    assert mesh is not None and ax.get_xlim() == (0.0, 2.0)


def test_normalization_scan_plots_the_survival_condition(tmp_path, capsys):
    if not __import__("landscape.phase", fromlist=["x"]).normalization_available():
        pytest.skip("landscape.theory.normalization is not installed")
    out = tmp_path / "k.zarr"
    # d = 5, a_i = 1, augmentation on direction 0 only, κ → ∞: direction 0 collapses at large enough s·c_0
    assert (
        main(
            [
                "scan",
                "--a",
                "1,1,1,1,1",
                "--c",
                "1,0,0,0,0",
                "--kappa",
                "100000",
                "--sweep",
                "aug_scale=0:1:11",
                "--sweep",
                "norm_target=0.5,1,2",
                "--out",
                str(out),
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["status_counts"]["ok"] == 33 and set(summary["rank_counts"]) == {"4", "5"}
    assert main(["plot", str(out), "--json", "--formats", "png"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["map"]["survival"] >= 1 and rep["map"]["boundaries"] == 0
