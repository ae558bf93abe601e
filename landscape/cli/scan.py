r"""The ``landscape scan`` and ``landscape plot`` subcommands.

``landscape scan``  takes the problem and loss options of ``landscape solve``,
one or more ``--sweep NAME=START:STOP:NUM`` (inclusive linspace) or
``--sweep NAME=v1,v2,...``, and ``--method closed-form|flow|gd``; it writes a
zarr store at ``--out`` chunk by chunk (``--resume`` continues one), shows a
progress bar with points per second and an ETA on stderr, and prints a summary.

With ``--method flow`` (the batched Dormand–Prince integrator, each point with
its own adaptive step), ``--times`` stores the loss and the Gram spectrum at
save times and ``--threshold θ`` the escape and collapse times of the
eigenvalues of WᵀW, the plateau length and the order of learning
(:mod:`landscape.phase.flow_times`); ``--init identity`` starts from W₀ = ε·I.

``landscape scan --verify PATH`` checks a store against its chunk checksums.

``landscape plot PATH``  draws the phase map and a spectrum cut of a stored
scan to PNG and PDF, from the store alone.

The parameter names are those of :data:`landscape.phase.PARAMETERS` (with the
aliases of :data:`landscape.phase.ALIASES`, e.g. ``gamma`` and ``N``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from landscape.cli._common import (
    EXIT_OK,
    CLIError,
    Parser,
    add_problem_options,
    dump,
    num,
    parse_float,
    parse_int,
    parse_seed,
    setup_from_args,
    translate,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import xarray as xr

    from landscape.scan import Progress

__all__ = [
    "register",
    "add_scan_parser",
    "add_plot_parser",
    "scan_command",
    "verify_command",
    "plot_command",
    "ProgressBar",
    "scan_summary",
    "EXIT_RUNTIME",
]

#: Exit code of ``landscape scan`` when the run fails after it started (a chunk
#: could not be written, the store ended damaged) or ``--verify`` finds a chunk
#: that is damaged or not computed.  Bad input, and a store path that cannot be
#: used, exit with 2 before anything is computed.
EXIT_RUNTIME = 1


# --------------------------------------------------------------------------- parsers
def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add ``scan`` and ``plot`` to ``landscape``'s subparsers."""
    add_scan_parser(subparsers).set_defaults(handler=scan_command)
    add_plot_parser(subparsers).set_defaults(handler=plot_command)


def add_scan_parser(
    sub: argparse._SubParsersAction[Parser],
    problem_options: Callable[[argparse.ArgumentParser], None] = add_problem_options,
) -> argparse.ArgumentParser:
    """Register ``scan`` on the subparsers ``sub`` with the problem options of ``solve``; returns its parser."""
    p = sub.add_parser(
        "scan",
        help="phase-diagram scan over named parameters, stored and resumable",
        description="Scan the effective landscape over a grid of parameters. Results are written "
        "chunk by chunk to a zarr store; an interrupted scan continues with --resume.",
    )
    problem_options(p)
    g = p.add_argument_group("scan")
    g.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="NAME=START:STOP:NUM",
        help="a grid axis: NAME=START:STOP:NUM (inclusive) or NAME=v1,v2,...; repeat for more axes. "
        "Names: sigma2, aug_scale, data_scale, weight_decay (gamma), quartic, alpha, n_samples (N), "
        "beta, invariance_weight, out_dim, kappa, norm_target, init_scale, seed, t1, lr",
    )
    g.add_argument(
        "--method",
        choices=("closed-form", "flow", "gd"),
        default="closed-form",
        help="closed form (Theorem 1), gradient flow (ODE) or gradient descent (default closed-form)",
    )
    g.add_argument("--out", required=False, metavar="PATH", help="zarr store to write (required, except with --verify)")
    g.add_argument("--resume", action="store_true", help="continue an interrupted scan at --out")
    g.add_argument(
        "--force",
        action="store_true",
        help="with --resume: accept a store made by other code, or discard one made for another grid",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing store at --out (only a store written by landscape scan; anything else is refused)",
    )
    g.add_argument(
        "--verify",
        default=None,
        metavar="PATH",
        help="check the store at PATH against its chunk checksums and exit: each damaged chunk is "
        "printed; exit 0 when every chunk is computed and intact, 1 otherwise",
    )
    g.add_argument("--chunk-size", default=None, metavar="N", help="points per chunk (default: from --memory-budget)")
    g.add_argument(
        "--memory-budget",
        default="256",
        metavar="MiB",
        help="memory for one chunk per device, in MiB, used to choose the chunk size (default 256)",
    )
    g.add_argument(
        "--devices",
        default=None,
        metavar="N",
        help="number of local devices to shard over, 1 to 1024 (default all; on CPU this many are created)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("normalization (closed form)")
    g.add_argument("--kappa", default=None, help="normalization strength κ ≥ 0 of κ(Tr[WΣWᵀ] − c)² (default: none)")
    g.add_argument("--norm-target", default="1", metavar="C", help="normalization target c > 0 (default 1)")
    g = p.add_argument_group("dynamics (--method flow or gd)")
    g.add_argument("--t1", default=None, help="gradient-flow integration time (default 200; not with --times)")
    g.add_argument(
        "--init-scale",
        default="1e-3",
        help="scale ε of W₀: std of its entries, or ε·I with --init identity (default 1e-3)",
    )
    g.add_argument("--seed", default="0", help="PRNG seed of W₀ (default 0)")
    g.add_argument(
        "--init",
        choices=("gaussian", "identity"),
        default="gaussian",
        help="W₀ = ε·N(0, 1) (default), or ε·I: aligned with every commuting problem (closed-form flow)",
    )
    g = p.add_argument_group("time outputs (--method flow)")
    g.add_argument(
        "--times",
        default=None,
        metavar="T1,T2,...",
        help="save times >= 0, increasing (or START:STOP:NUM, inclusive): store loss_curve and gram_curve "
        "at them; the flow ends at the last one (instead of --t1)",
    )
    g.add_argument(
        "--threshold",
        default=None,
        metavar="THETA",
        help="level θ > 0 of the eigenvalues of WᵀW that marks escape (rising to θ) and collapse (falling "
        "to θ): store escape_time, collapse_time, plateau_length, b_eigenvalues and, with --times, "
        "n_learned, direction_escape_time, learning_order",
    )
    g.add_argument("--lr", default="auto", help="gd learning rate; auto = half the largest stable step (default)")
    g.add_argument("--steps", default="4000", help="gd steps (default 4000)")
    g.add_argument(
        "--rank-rtol",
        default="1e-4",
        help="eigenvalues above this fraction of the largest count towards the rank of a trained W (default 1e-4)",
    )
    return p


def add_plot_parser(sub: argparse._SubParsersAction[Parser]) -> argparse.ArgumentParser:
    """Register ``plot`` on the subparsers ``sub``; returns its parser."""
    p = sub.add_parser(
        "plot",
        help="draw a phase diagram from a stored scan (no recomputation)",
        description="Draw the phase map and a spectrum cut of a stored scan to PNG and PDF.",
    )
    p.add_argument("path", metavar="PATH", help="zarr store written by `landscape scan`")
    p.add_argument("--var", default="rank", help="output to colour the map by (default rank)")
    p.add_argument("--index", default=None, metavar="K", help="entry of --var along its own dimension (default 0)")
    p.add_argument("--x", default=None, help="parameter on the horizontal axis (default: first axis)")
    p.add_argument("--y", default=None, help="parameter on the vertical axis (default: second axis)")
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix another grid dimension (nearest value); repeat as needed",
    )
    p.add_argument(
        "--cut",
        default=None,
        metavar="NAME=VALUE",
        help="where the spectrum cut along x is taken (default: the first y value)",
    )
    p.add_argument("--out", default=None, metavar="STEM", help="output file stem (default: PATH without .zarr)")
    p.add_argument("--formats", default="png,pdf", help="comma-separated formats (default png,pdf)")
    p.add_argument("--no-boundaries", action="store_true", help="do not overlay the analytic boundaries")
    p.add_argument("--title", default=None, help="title of the phase map")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    return p


# --------------------------------------------------------------------------- progress
class ProgressBar:
    """Progress on a stream: a bar with points, points/s and ETA.

    On a terminal it redraws one line; otherwise it prints a line at most
    every ``interval`` seconds (and at the end).
    """

    def __init__(self, stream: TextIO | None = None, width: int = 24, interval: float = 2.0, label: str = "scan"):
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.interval = interval
        self.label = label
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = -math.inf
        self._shown = False

    @staticmethod
    def _eta(seconds) -> str:
        if seconds is None or not math.isfinite(seconds):
            return "?"
        seconds = int(round(seconds))
        if seconds >= 3600:
            return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
        if seconds >= 60:
            return f"{seconds // 60}m{seconds % 60:02d}s"
        return f"{seconds}s"

    def line(self, pr: Progress) -> str:
        frac = pr.done / pr.total if pr.total else 1.0
        fill = int(round(frac * self.width))
        rate = "–" if pr.rate is None else f"{pr.rate:,.0f}"
        return (
            f"{self.label} [{'#' * fill}{'-' * (self.width - fill)}] {pr.done}/{pr.total} points "
            f"{rate} pts/s  ETA {self._eta(0.0 if pr.finished else pr.eta)}"
        )

    def __call__(self, pr: Progress) -> None:
        now = time.perf_counter()
        if not pr.finished and not self.tty and now - self._last < self.interval:
            return
        self._last = now
        text = self.line(pr)
        if self.tty:
            self.stream.write("\r" + text + ("\n" if pr.finished else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


# --------------------------------------------------------------------------- scan
def _request_devices(n: int) -> None:
    """Ask JAX for ``n`` host (CPU) devices, if it has not started its backends yet.

    Uses the public option ``jax_num_cpu_devices`` (``XLA_FLAGS`` is left
    alone, and a device count already set there wins).  Once JAX has started,
    the option cannot change and this does nothing: the caller then finds too
    few devices and says so.  Only the ``scan`` command calls this.
    """
    import jax

    if "--xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except (RuntimeError, AttributeError):  # backends already started, or a JAX without the option
        pass


def _sweeps(args) -> list:
    from landscape import phase
    from landscape.scan.grid import Axis, parse_sweep

    if not args.sweep:
        raise CLIError("give at least one --sweep NAME=START:STOP:NUM or NAME=v1,v2,...")
    axes = []
    for text in args.sweep:
        try:
            ax = parse_sweep(text)
            name = phase.canonical_parameter(ax.name)
            phase._check_values(name, ax.values)
        except ValueError as e:
            raise CLIError(f"--sweep {text!r}: {e}") from None
        axes.append(Axis(name, ax.values))
    names = [a.name for a in axes]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise CLIError(f"--sweep: parameter {sorted(dup)[0]!r} is swept twice (after aliases)")
    return axes


def _model_and_settings(args, axes):
    from landscape import phase

    swept = {a.name: a for a in axes}
    if "sigma2" in swept:
        if args.c is not None or args.aug_cov is not None:
            raise CLIError("--sweep sigma2 sets C = σ²·I; drop --c/--aug-cov (or sweep aug_scale to scale C)")
        if args.sigma2 is None:
            args.sigma2 = repr(float(swept["sigma2"].values[0]))
    if "n_samples" in swept and args.n_samples is None:
        args.n_samples = repr(float(swept["n_samples"].values[0]))
    setup = setup_from_args(args)
    kappa = None if args.kappa is None else parse_float(args.kappa, "--kappa", low=0.0)
    norm_target = parse_float(args.norm_target, "--norm-target", low=0.0, low_inclusive=False)
    times = None if args.times is None else _parse_times(args.times)
    if times is not None and args.t1 is not None:
        raise CLIError("--t1 and --times exclude each other: the flow ends at the last save time")
    if times is not None and args.method != "flow" or args.threshold is not None and args.method != "flow":
        raise CLIError("--times and --threshold are time outputs of --method flow")
    threshold = (
        None if args.threshold is None else parse_float(args.threshold, "--threshold", low=0.0, low_inclusive=False)
    )
    t1 = parse_float("200" if args.t1 is None else args.t1, "--t1", low=0.0, low_inclusive=False)
    init_scale = parse_float(args.init_scale, "--init-scale", low=0.0)
    seed = parse_seed(args.seed)
    lr = None if str(args.lr).strip().lower() == "auto" else parse_float(args.lr, "--lr", low=0.0, low_inclusive=False)
    steps = parse_int(args.steps, "--steps", low=1)
    rank_rtol = parse_float(args.rank_rtol, "--rank-rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    params = dict(
        weight_decay=setup.weight_decay,
        quartic=setup.quartic,
        alpha=setup.alpha,
        beta=setup.beta,
        n_samples=setup.n_samples,
        invariance_weight=setup.invariance_weight,
        out_dim=None if args.out_dim is None else setup.out_dim,
        sigma2=setup.sigma2,
        kappa=kappa,
        norm_target=norm_target,
        t1=t1,
        init_scale=init_scale,
        seed=seed,
        lr=lr,
    )
    try:
        model = phase.PhaseModel(
            np.asarray(setup.problem.data_cov), np.asarray(setup.problem.aug_cov), setup.loss, setup.form, params
        )
    except ValueError as e:
        raise CLIError(translate(str(e), setup.mapping)) from None
    settings = phase.FlowSettings(steps=steps, rank_rtol=rank_rtol, times=times, threshold=threshold, init=args.init)
    return model, settings


#: Most save times ``--times`` may ask for.
MAX_TIMES = 100_000


def _parse_times(text: str) -> tuple[float, ...]:
    """``--times``: T1,T2,... or START:STOP:NUM (inclusive), finite, >= 0, strictly increasing, ending > 0."""
    from landscape.scan.grid import parse_sweep

    try:
        values = np.asarray(parse_sweep(f"time={text}").values, dtype=float)
    except ValueError as e:
        raise CLIError(f"--times: {str(e).replace('sweep ' + repr('time'), 'times')}") from None
    if values.size > MAX_TIMES:
        raise CLIError(f"--times asks for {values.size} save times; at most {MAX_TIMES}")
    if not np.all(np.isfinite(values)) or values[0] < 0 or values[-1] <= 0 or np.any(np.diff(values) <= 0):
        raise CLIError(f"--times must be finite, >= 0, strictly increasing and end > 0, got {text!r}")
    return tuple(float(v) for v in values)


def scan_summary(ds: xr.Dataset, progress: Progress | None, path: str | os.PathLike[str], method: str) -> dict:
    """The JSON summary of a finished scan."""
    from landscape.scan.status import STATUS_NAMES

    status = np.asarray(ds["status"].values).ravel()
    counts = {name: int(np.sum(status == code)) for code, name in enumerate(STATUS_NAMES)}
    damaged = [int(i) for i in ds.attrs.get("damaged_chunks", [])]
    out: dict[str, Any] = {
        "command": "scan",
        "store": str(path),
        "method": method,
        "complete": bool(counts["missing"] == 0),
        "damaged_chunks": damaged,
        "damaged_recomputed": int(progress.damaged) if progress else None,
        "dims": {d: int(ds.sizes[d]) for d in ds["status"].dims},
        "points": int(status.size),
        "computed": int(progress.computed) if progress else None,
        "reused": int(progress.reused) if progress else None,
        "action": progress.action if progress else None,
        "chunk_size": int(ds.attrs["chunk_size"]),
        "devices": int(progress.n_devices) if progress else None,
        "compile_s": round(progress.compile_seconds, 3) if progress else None,
        "elapsed_s": round(progress.elapsed, 3) if progress else None,
        "points_per_second": (round(progress.rate, 1) if progress and progress.rate else None),
        "status_counts": counts,
        "package_version": ds.attrs["package_version"],
        "git_commit": ds.attrs["git_commit"],
    }
    if "rank" in ds:
        ok = status == 0
        rank = np.asarray(ds["rank"].values).ravel()[ok]
        out["rank_counts"] = {int(r): int(n) for r, n in zip(*np.unique(rank, return_counts=True))}
    if "plateau_length" in ds:
        plateau = np.asarray(ds["plateau_length"].values).ravel()[status == 0]
        finite = plateau[np.isfinite(plateau)]
        out["plateau_length"] = {
            "escaped": int(finite.size),
            "not_escaped": int(plateau.size - finite.size),
            "min": num(finite.min()) if finite.size else None,
            "median": num(np.median(finite)) if finite.size else None,
            "max": num(finite.max()) if finite.size else None,
        }
    if "region" in ds:
        region = np.asarray(ds["region"].values).ravel()[status == 0]
        out["regions"] = {
            "no collapse": int(np.sum(region == 2)),
            "dimensional collapse": int(np.sum(region == 1)),
            "complete collapse": int(np.sum(region == 0)),
        }
    return out


def format_scan_summary(s: dict) -> str:
    """Text form of :func:`scan_summary`."""
    dims = " × ".join(f"{k}[{v}]" for k, v in s["dims"].items())
    lines = [f"landscape scan ({s['method']}): {dims} = {s['points']} points → {s['store']}"]
    if s["computed"] is not None:
        rate = f"{s['points_per_second']:,.0f} points/s" if s["points_per_second"] else "–"
        lines.append(
            f"computed {s['computed']} points, reused {s['reused']} from the store ({s['action']}); "
            f"chunk {s['chunk_size']} on {s['devices']} device(s); compile {s['compile_s']:.2f} s, "
            f"run {s['elapsed_s']:.2f} s, {rate}"
        )
    if s["damaged_recomputed"]:
        lines.append(f"recomputed {s['damaged_recomputed']} stored chunk(s) that failed their checksum")
    lines.append("status: " + ", ".join(f"{k} {v}" for k, v in s["status_counts"].items()))
    if not s["complete"]:
        lines.append(
            f"INCOMPLETE: {s['status_counts']['missing']} points missing"
            + (f", chunks {s['damaged_chunks']} damaged" if s["damaged_chunks"] else "")
        )
    if "rank_counts" in s:
        lines.append("rank of WᵀW: " + ", ".join(f"{r}: {n}" for r, n in s["rank_counts"].items()) + " points")
    if "plateau_length" in s:
        pl = s["plateau_length"]
        span = f"; plateau length {pl['min']:.4g} .. {pl['median']:.4g} .. {pl['max']:.4g}" if pl["escaped"] else ""
        lines.append(f"escaped from W₀: {pl['escaped']} points, not by the end: {pl['not_escaped']}{span}")
    if "regions" in s:
        lines.append("regions: " + ", ".join(f"{k} {v}" for k, v in s["regions"].items()))
    lines.append(f"code: landscape {s['package_version']} @ {s['git_commit'][:12]}")
    return "\n".join(lines)


def _runtime_error(message: str) -> int:
    """Report a failure while running (not bad input): one line on stderr, exit 1."""
    print(f"landscape scan: error: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_RUNTIME


def verify_command(args: argparse.Namespace) -> int:
    """``landscape scan --verify PATH``: one line per damaged chunk and a closing line; exit 0 or 1."""
    from landscape.scan import StoreError, scan_info, verify_store

    given = [
        opt
        for opt, on in (
            ("--sweep", args.sweep),
            ("--out", args.out is not None),
            ("--resume", args.resume),
            ("--overwrite", args.overwrite),
            ("--force", args.force),
        )
        if on
    ]
    if given:
        raise CLIError(f"--verify checks a store and computes nothing; drop {', '.join(given)}")
    try:
        problems = verify_store(args.verify)
        info = scan_info(args.verify) if not problems else None
    except (FileNotFoundError, StoreError) as e:
        raise CLIError(f"--verify: {e}") from None
    damaged = [p for p in problems if p.damaged]
    missing = [p for p in problems if not p.damaged]
    if args.json:
        print(
            dump(
                {
                    "command": "scan --verify",
                    "store": args.verify,
                    "complete": not problems,
                    "damaged": [
                        {"chunk": p.chunk, "points": [p.start, p.stop - 1], "reason": p.reason} for p in damaged
                    ],
                    "not_computed": [p.chunk for p in missing],
                }
            )
        )
    else:
        for p in damaged:
            print(f"chunk {p.chunk} (points {p.start}..{p.stop - 1}): damaged: {p.reason}")
        if not problems:
            print(f"{args.verify}: all {info['n_chunks']} chunks ({info['n_points']} points) present and intact")
        else:
            print(
                f"{args.verify}: {len(damaged)} chunk(s) damaged, {len(missing)} not computed; run the same "
                "scan with --resume to compute them"
            )
    return EXIT_OK if not problems else EXIT_RUNTIME


def scan_command(args: argparse.Namespace) -> int:
    """Run ``landscape scan``; returns the exit code (errors raise the CLI's CLIError).

    Exit 0: the store is complete and verified.  Exit 2: bad input, or a store
    path that cannot be used (empty, a file, not a scan store, not writable,
    locked by another process); nothing was computed.  Exit 1: the run failed
    after it started (e.g. the disk filled up; the committed chunks are kept and
    ``--resume`` continues), or the finished store did not verify.
    """
    if args.verify is not None:
        return verify_command(args)
    if args.out is None:
        raise CLIError("--out PATH is required (the zarr store to write)")
    if not str(args.out).strip():
        raise CLIError("--out must name a path, got an empty string")
    if args.devices is not None:
        from landscape.scan.execute import MAX_HOST_DEVICES

        n_dev = parse_int(args.devices, "--devices")
        if not 1 <= n_dev <= MAX_HOST_DEVICES:
            raise CLIError(f"--devices must be between 1 and {MAX_HOST_DEVICES}, got {n_dev}")
        _request_devices(n_dev)
    else:
        n_dev = None
    chunk = None if args.chunk_size is None else parse_int(args.chunk_size, "--chunk-size", low=1)
    budget = parse_float(args.memory_budget, "--memory-budget", low=0.0, low_inclusive=False)
    if args.resume and args.overwrite:
        raise CLIError("--resume and --overwrite exclude each other")
    if args.force and not args.resume:
        raise CLIError("--force only applies with --resume")
    axes = _sweeps(args)
    model, settings = _model_and_settings(args, axes)

    import jax

    from landscape import phase
    from landscape.scan import ChunkWriteError, Grid, ScanDamageWarning, ScanMismatchError, StoreError

    if n_dev is not None and n_dev > len(jax.local_devices()):
        raise CLIError(
            f"--devices {n_dev}: only {len(jax.local_devices())} local device(s) are available "
            "(JAX had started before the request; set XLA_FLAGS=--xla_force_host_platform_device_count"
            f"={n_dev} in the environment on CPU)"
        )
    last = {}
    bar = None if args.quiet else ProgressBar()

    def progress(pr):
        last["p"] = pr
        if bar is not None:
            bar(pr)

    try:
        with warnings.catch_warnings():  # the summary reports damaged chunks itself
            warnings.simplefilter("ignore", ScanDamageWarning)
            ds = phase.phase_scan(
                model,
                Grid(axes),
                args.method,
                settings,
                out=args.out,
                resume=args.resume,
                force=args.force,
                overwrite=args.overwrite,
                chunk_size=chunk,
                memory_budget=int(budget * 2**20),
                devices=n_dev,
                progress=progress,
            )
    except ScanMismatchError as e:
        raise CLIError(" ".join(str(e).split())) from None
    except (StoreError, FileExistsError) as e:
        raise CLIError(f"--out: {e}") from None
    except ValueError as e:
        raise CLIError(str(e)) from None
    except ChunkWriteError as e:
        return _runtime_error(f"--out: {e}")
    except OSError as e:
        return _runtime_error(
            f"--out: I/O error on {args.out} ({e.strerror or e}); the chunks committed so far "
            "are kept: continue with --resume"
        )
    summary = scan_summary(ds, last.get("p"), args.out, args.method)
    print(dump(summary) if args.json else format_scan_summary(summary))
    if not summary["complete"]:
        why = (
            f"chunks {summary['damaged_chunks']} failed their checksum"
            if summary["damaged_chunks"]
            else f"{summary['status_counts']['missing']} points are missing"
        )
        return _runtime_error(
            f"the store {args.out} is not complete after the run: {why} (see --verify); run again with --resume"
        )
    return EXIT_OK


# --------------------------------------------------------------------------- plot
def _name_values(items, opt: str) -> dict:
    out = {}
    for text in items:
        if "=" not in text:
            raise CLIError(f"{opt} must look like NAME=VALUE, got {text!r}")
        k, v = (s.strip() for s in text.split("=", 1))
        out[k] = parse_float(v, f"{opt} {k}")
    return out


def plot_command(args: argparse.Namespace) -> int:
    """Run ``landscape plot``; returns the exit code."""
    from landscape import phase, plot
    from landscape.plot import phase_figures
    from landscape.scan import ScanDamageWarning, open_scan

    path = Path(args.path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScanDamageWarning)
            ds = open_scan(path)
        for w in caught:
            print(f"landscape plot: warning: {w.message}", file=sys.stderr)
    except FileNotFoundError as e:
        raise CLIError(f"PATH: {e}") from None
    except ValueError as e:
        raise CLIError(f"PATH: {e}") from None
    if args.var not in ds:
        raise CLIError(
            f"--var {args.var!r} is not an output of this scan; outputs: {', '.join(v for v in ds.data_vars)}"
        )
    formats = [f.strip().lower() for f in str(args.formats).split(",") if f.strip()]
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if not formats or bad:
        raise CLIError(f"--formats must list png, pdf or svg, got {args.formats!r}")
    canon = lambda n: None if n is None else (phase.ALIASES.get(n, n))  # noqa: E731
    at = {canon(k): v for k, v in _name_values(args.at, "--at").items()}
    cut = {canon(k): v for k, v in _name_values([args.cut] if args.cut else [], "--cut").items()}
    index = None if args.index is None else parse_int(args.index, "--index", low=0)
    stem = Path(args.out) if args.out else path.with_name(path.name.removesuffix(".zarr") + "_plot")
    try:
        fig, info = phase_figures.scan_figure(
            ds,
            var=args.var,
            index=index,
            x=canon(args.x),
            y=canon(args.y),
            at=at,
            cut=cut,
            title=args.title,
            boundaries=not args.no_boundaries,
        )
    except ValueError as e:
        raise CLIError(str(e)) from None
    try:
        paths = plot.save_figure_formats(fig, stem, formats)
    except OSError as e:
        raise CLIError(f"--out: cannot write {stem} ({e.strerror or e})") from None
    report = {
        "command": "plot",
        "store": str(path),
        "files": [str(p) for p in paths],
        "map": _jsonable(info.get("map")),
        "spectrum": _jsonable(info.get("spectrum")),
    }
    if args.json:
        print(dump(report))
    else:
        print("wrote " + ", ".join(report["files"]))
    return EXIT_OK


def _jsonable(obj):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (float, int, np.floating, np.integer)) and not isinstance(obj, bool):
        return num(obj)
    return obj
