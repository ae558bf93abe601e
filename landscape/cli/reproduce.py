r"""``landscape reproduce``: the three papers' figures and claims, and the generated report.

Computes every experiment of :data:`landscape.reproduction.EXPERIMENTS` at its report
size (worker processes in parallel, one line of progress per experiment), stores the
arrays with provenance and the figures under ``--out``, and writes ``REPORT.md`` and
``REPORT.html`` under ``--report-dir`` from the stored data.  ``--plot-only`` redraws the
figures and rewrites the report from stored data; ``--only NAME[,NAME]`` computes those
experiments alone (the report is rewritten when every experiment has stored data).

Exit codes: 0 done; 1 an experiment failed or the report could not be generated from
the data (the line says which); 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from landscape.cli._common import CLIError, Parser, parse_int

__all__ = ["register"]


def _selected(only: str | None) -> tuple[str, ...]:
    from landscape.reproduction import EXPERIMENTS, experiment_names

    if not only:
        return EXPERIMENTS
    names = experiment_names()
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    bad = [n for n in wanted if n not in names]
    if bad or not wanted:
        raise CLIError(f"--only: unknown experiment {', '.join(bad) or repr(only)}; choose from {', '.join(names)}")
    return tuple(names[n] for n in dict.fromkeys(wanted))


def _check_out(path: Path, opt: str) -> None:
    if path.exists() and not path.is_dir():
        raise CLIError(f"{opt}: {path} exists and is not a folder")


def _run(args) -> int:
    from landscape.reproduction import EXPERIMENTS, report, runner

    paths = _selected(args.only)
    jobs = parse_int(args.jobs, "--jobs", low=1, high=64) if args.jobs else runner.default_jobs()
    out, report_dir = Path(args.out), Path(args.report_dir)
    _check_out(out, "--out")
    _check_out(report_dir, "--report-dir")

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    try:
        outcomes = runner.reproduce(
            out, paths, plot_only=args.plot_only, smoke=args.smoke, jobs=jobs, progress=progress
        )
    except OSError as e:
        raise CLIError(f"--out: cannot write to {out} ({e.strerror or e})") from None
    failed = [o for o in outcomes if o.error]
    for o in failed:
        print(f"landscape reproduce: {o.name} failed: {o.error}", file=sys.stderr)
    if failed:
        print("landscape reproduce: report not written (an experiment failed)", file=sys.stderr)
        return 1
    try:
        entries = report.collect(out, EXPERIMENTS)
    except report.ReportError as e:
        if len(paths) < len(EXPERIMENTS):  # --only: the others may simply not have run yet
            print(f"landscape reproduce: report not written: {e}", file=sys.stderr)
            return 0
        print(f"landscape reproduce: error: {e}", file=sys.stderr)
        return 1
    try:
        md, page = report.write_report(report_dir, entries)
    except report.ReportError as e:
        raise CLIError(f"--report-dir: {e}") from None
    except OSError as e:
        raise CLIError(f"--report-dir: cannot write to {report_dir} ({e.strerror or e})") from None
    counts: dict[str, int] = {}
    for entry in entries:
        for c in entry.claims:
            v = report.verdict(c)
            counts[v] = counts.get(v, 0) + 1
    print(f"{sum(counts.values())} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    print(f"wrote {md} and {page} ({time.perf_counter() - t0:.0f} s)")
    return 0


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add ``reproduce`` to ``landscape``'s subparsers."""
    p = subparsers.add_parser(
        "reproduce",
        help="reproduce the three papers: figures, claims with verdicts, REPORT.md/.html",
        description="Compute every figure of the three papers that runs on CPU (stored with provenance under "
        "--out), draw them, and write REPORT.md and REPORT.html under --report-dir: every claim with "
        "our number, the paper's, and the verdict that follows from them.",
    )
    p.add_argument("--out", default="out/reproduction", help="data and figures (default out/reproduction)")
    p.add_argument("--report-dir", default="paper_repro", help="where REPORT.md/.html go (default paper_repro)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="compute these experiments only")
    p.add_argument("--plot-only", action="store_true", help="redraw figures and the report from stored data")
    p.add_argument("--jobs", help="worker processes, 1..64 (default: the usable cores, at most 4)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (tests): every array, meaningless numbers")
    p.set_defaults(handler=_run)
