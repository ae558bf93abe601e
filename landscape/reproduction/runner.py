r"""Compute, store and draw the experiments of :data:`landscape.reproduction.EXPERIMENTS`.

Each experiment runs in its own worker process (``jobs`` at a time; JAX on CPU keeps one
core busy per process, so two workers on two cores take about half the time of one);
its arrays are saved as ``<out>/<NAME>.npz`` with provenance (package and JAX versions,
git commit, size, compute seconds) and drawn to ``<out>/<NAME>.png``.  ``plot_only``
redraws from the stored arrays without computing anything.  Progress goes to
``progress`` (one line per experiment started and finished, with the elapsed time).

Example (the command line is ``landscape reproduce``):
    >>> from landscape.reproduction import runner
    >>> runner.size_of("dubois2022.cover_wn", smoke=True)
    'smoke'
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from landscape.reproduction import EXPERIMENTS, experiment
from landscape.reproduction.figure_io import SMOKE_DPI, load, save

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["Outcome", "run_experiment", "render_experiment", "reproduce", "size_of", "stored_path"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one experiment: its module path, NAME, seconds, and the error if it failed."""

    path: str
    name: str
    seconds: float
    error: str = ""


def size_of(path: str, smoke: bool = False) -> str:
    """The size an experiment runs at: ``smoke`` for tests, else its ``REPORT_SIZE``."""
    if smoke:
        return "smoke"
    size = experiment(path).REPORT_SIZE
    if size not in ("quick", "full"):
        raise ValueError(f"{path}: REPORT_SIZE must be 'quick' or 'full', got {size!r}")
    return size


def stored_path(out_dir: str | Path, path: str) -> Path:
    """Where an experiment's arrays are stored: ``<out>/<NAME>.npz``."""
    return Path(out_dir) / f"{experiment(path).NAME}.npz"


def render_experiment(path: str, out_dir: Path, data: dict | None = None) -> Path:
    """Draw the stored arrays of one experiment to ``<out>/<NAME>.png`` (loading them if not given)."""
    import matplotlib

    matplotlib.use("Agg")
    mod = experiment(path)
    if data is None:
        data = load(stored_path(out_dir, path))
    fig = mod.render(data)
    png = Path(out_dir) / f"{mod.NAME}.png"
    smoke = str(data.get("reproduction_size", "")) == "smoke"
    if smoke:
        fig.savefig(png, dpi=SMOKE_DPI)  # drawn once: a smoke PNG only has to exist
    else:
        fig.savefig(png, dpi=110, bbox_inches="tight")  # nothing clipped at the edges
    return png


def run_experiment(path: str, out_dir: str, smoke: bool = False) -> tuple[str, float]:
    """Compute one experiment at its size, store its arrays with provenance and draw it.

    Returns (NAME, compute seconds).  Runs in a worker process: it switches JAX to float64
    (the theory's precision; the networks pick float32 themselves), as the figure scripts do.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    mod = experiment(path)
    size = size_of(path, smoke)
    t0 = time.perf_counter()
    data = mod.compute(quick=size == "quick", smoke=size == "smoke")
    seconds = time.perf_counter() - t0
    data = dict(data, reproduction_size=np.array(size), compute_seconds=np.array(seconds))
    save(data, stored_path(out_dir, path))
    render_experiment(path, Path(out_dir), data)
    return mod.NAME, seconds


def _worker_setup() -> None:
    """A worker's XLA flags, set before it imports JAX: single-threaded Eigen on CPU.

    jaxlib's multi-threaded Eigen pool can wedge on vmapped CPU graphs (README, known issues);
    with one worker process per core it would only compete with the other workers anyway.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def _clock(t0: float) -> str:
    s = int(time.perf_counter() - t0)
    return f"{s // 60}:{s % 60:02d}"


def _previous_seconds(out_dir: Path, path: str) -> float:
    """Compute seconds of an earlier run (to start the longest first), or +inf when unknown."""
    try:
        return float(load(stored_path(out_dir, path))["compute_seconds"])
    except (OSError, KeyError, ValueError):
        return float("inf")


def reproduce(
    out_dir: str | os.PathLike[str],
    paths: Sequence[str] = EXPERIMENTS,
    *,
    plot_only: bool = False,
    smoke: bool = False,
    jobs: int = 1,
    progress: Callable[[str], object] = print,
) -> list[Outcome]:
    """Compute (or, with ``plot_only``, only redraw) the experiments at ``paths``; returns their outcomes.

    A failing experiment does not stop the others; its outcome carries the error line.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    n = len(paths)

    def done(path, name, secs, err=""):
        outcomes.append(Outcome(path, name, secs, err))
        status = f"FAILED: {err}" if err else f"done in {secs:.1f} s"
        progress(f"[{len(outcomes):2d}/{n}] {name:28s} {status}  (elapsed {_clock(t0)})")

    if plot_only:
        for path in paths:
            t = time.perf_counter()
            name = experiment(path).NAME
            try:
                render_experiment(path, out_dir)
                done(path, name, time.perf_counter() - t)
            except (OSError, KeyError, ValueError) as e:
                done(path, name, 0.0, f"cannot draw from {stored_path(out_dir, path)}: {e}")
        return outcomes

    order = sorted(paths, key=lambda p: -_previous_seconds(out_dir, p))
    progress(f"computing {n} experiment(s) with {jobs} worker process(es); data and figures in {out_dir}")
    ctx = multiprocessing.get_context("spawn")  # JAX is not fork-safe
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_setup) as pool:
        futures = {pool.submit(run_experiment, p, str(out_dir), smoke): p for p in order}
        for fut in cf.as_completed(futures):
            path = futures[fut]
            try:
                name, secs = fut.result()
                done(path, name, secs)
            except Exception as e:  # reported and listed; the report then refuses to be written
                done(path, experiment(path).NAME, 0.0, f"{type(e).__name__}: {e}".splitlines()[0])
    return outcomes


def default_jobs() -> int:
    """Worker processes by default: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))
