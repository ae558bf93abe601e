"""Shared plumbing of the figure scripts: save/load with provenance, and the CLI runner.

Each figure script defines ``NAME``, ``compute(quick, smoke) -> dict`` of NumPy arrays and
``render(data) -> Figure``; :func:`run_figure` gives it ``--quick``, ``--smoke``, ``--plot-only PATH``
and ``--out``.  Arrays are saved to ``<out>/<NAME>[_quick|_smoke].npz`` together with the
package version, the JAX version and the git commit they were computed at.

The time of the save (``saved_at``, UTC, ISO 8601) is stored too; :func:`load` reads it from the
file's modification time for files written before it was.

``--quick`` is a small run that still shows the figure's effect; ``--smoke`` is smaller
still (every array and panel present, the numbers meaningless): the size the test suite
runs (tests/test_figures_smoke.py), with a low-resolution PNG.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping, Sequence

    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

ROOT = Path(__file__).resolve().parents[2]  # the repository (a git checkout) when installed editable

OUT_DIR = Path("out") / "figures"  # relative to the working directory


def git_commit() -> str:
    """The current commit of the repository (``unknown`` outside git)."""
    if not (ROOT / ".git").exists():  # an installed copy, not a checkout
        return "unknown"
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except Exception:  # pragma: no cover - no git
        return "unknown"


def _utc(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")


def save(data: Mapping[str, ArrayLike], path: str | os.PathLike[str]) -> Path:
    """Save the arrays with ``landscape_version``, ``jax_version``, ``git_commit`` and ``saved_at``."""
    import jax

    import landscape

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "landscape_version": np.array(landscape.__version__),
        "git_commit": np.array(git_commit()),
        "jax_version": np.array(jax.__version__),
        "saved_at": np.array(_utc(time.time())),
    }
    np.savez(path, **data, **meta)
    return path


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a saved figure dataset (no pickles).

    A file saved before ``saved_at`` was stored gets it from the file's modification time.
    """
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    data.setdefault("saved_at", np.array(_utc(Path(path).stat().st_mtime)))
    return data


SMOKE_DPI = 40  # a smoke run's PNG only has to exist and show every panel (drawn once, not "tight")


def add_size_options(ap: argparse.ArgumentParser) -> None:
    """``--quick`` and ``--smoke`` (mutually exclusive) on a figure script's parser."""
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small grid, few steps (seconds to a minute)")
    size.add_argument(
        "--smoke", action="store_true", help="tiny sizes for the test suite: every array and panel, meaningless numbers"
    )


def size_suffix(args: argparse.Namespace) -> str:
    """The file-name suffix of the run size: ``_quick``, ``_smoke`` or nothing."""
    return "_quick" if args.quick else "_smoke" if args.smoke else ""


def run_figure(
    name: str,
    compute: Callable[..., dict[str, np.ndarray]],
    render: Callable[[dict[str, np.ndarray]], Figure],
    doc: str,
    argv: Sequence[str] | None = None,
    *,
    dpi: int = 130,
    report: Callable[[dict[str, np.ndarray]], str] | None = None,
) -> int:
    """Parse ``--quick`` / ``--smoke`` / ``--plot-only`` / ``--out``, compute or load, render, write the PNG.

    ``report``, if given, maps the data to a text summary printed before rendering.
    """
    import matplotlib

    matplotlib.use("Agg")
    ap = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    add_size_options(ap)
    ap.add_argument("--plot-only", metavar="PATH", help="render a saved .npz instead of computing")
    ap.add_argument("--out", default=str(OUT_DIR), help="output folder (default out/figures)")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    if args.plot_only:
        data = load(args.plot_only)
        stem = Path(args.plot_only).stem
    else:
        stem = name + size_suffix(args)
        data = compute(quick=args.quick, smoke=args.smoke)
        print("saved", save(data, out_dir / f"{stem}.npz"))
    if args.smoke:
        dpi = SMOKE_DPI
    if report is not None:
        print(report(data))
    fig = render(data)
    png = out_dir / f"{stem}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=dpi, bbox_inches=None if args.smoke else "tight")  # "tight" draws the figure twice
    print("saved", png)
    return 0
