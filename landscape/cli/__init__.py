r"""Command-line interface: the ``landscape`` command and its subcommands.

``solve``  prints the closed-form global minimum of one effective landscape (:mod:`.solve`);
``flow``   runs gradient descent (optax) on it and compares with the closed form (:mod:`.flow`);
``trajectory``  the gradient flow at given times, exact where a closed form exists (:mod:`.trajectory`);
``run``    is the default job of ``make run``: a built-in problem, a printed
           summary, a (σ², γ) phase diagram and a JSON summary under ``--out`` (:mod:`.run`);
``scan``, ``plot``  stored phase-diagram scans and their figures (:mod:`.scan`);
``ideal``, ``two-layer``, ``two-layer-phase``, ``cover``, ``worst-risk``, ``dissl``
           geometry and idealized representations (:mod:`.geometry`);
``reproduce``  the three papers' figures, claims and verdicts, and REPORT.md/.html (:mod:`.reproduce`);
``nn-train``  a network trained with an SSL loss, probed against the theory (:mod:`.nn`);
``solve --classes FILE``  class-structured problems (:mod:`.imbalance`);
``diagnose``  the predicted collapse of a projector from two views of real features (:mod:`.diagnose`).

Each command module registers its subparser with a ``handler``; the shared parsing,
errors and JSON output live in :mod:`._common`.  This package holds only
:func:`build_parser` and :func:`main`, and re-exports the public names of its modules.

Exit codes: 0 success, 1 a ``flow`` run diverged (or a ``scan`` failed after it
started), 2 bad input (one line on stderr that names the offending argument; never a
traceback).

Precision: the CLI runs in float64 unless the environment sets
``JAX_ENABLE_X64=0`` (or ``false``/``no``/``off``), in which case it runs in float32.
The setting holds for the command only (a JAX context that :func:`main` leaves on
return), so a program that calls :func:`main` keeps its own ``jax_enable_x64``.

Non-finite numbers in the JSON output are written as the strings ``"inf"``,
``"-inf"`` and ``"nan"``, so the output is strict JSON (``float("inf")`` reads
them back in Python).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from landscape.cli import diagnose, flow, geometry, imbalance, nn, reproduce, run, scan, solve, trajectory
from landscape.cli._common import EXIT_DIVERGED, EXIT_OK, EXIT_USAGE, CLIError, Parser, precision, silence_stdout
from landscape.cli.flow import flow_report, format_flow
from landscape.cli.run import DEFAULT_BETA, DEFAULT_DATA_VARIANCES, DEFAULT_SIGMA2, run_job
from landscape.cli.solve import format_solve, solve_report

__all__ = [
    "main",
    "build_parser",
    "EXIT_OK",
    "EXIT_DIVERGED",
    "EXIT_USAGE",
    "CLIError",
    "solve_report",
    "format_solve",
    "flow_report",
    "format_flow",
    "run_job",
    "DEFAULT_DATA_VARIANCES",
    "DEFAULT_SIGMA2",
    "DEFAULT_BETA",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``landscape`` command: every command group's subparsers."""
    from landscape import __version__

    parser = Parser(prog="landscape", description="The loss landscape of self-supervised learning, solved.")
    parser.add_argument("--version", action="version", version=f"landscape {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{solve,flow,trajectory,scan,plot,run,reproduce,diagnose}")
    sub.required = True
    geometry.register(sub)
    nn.register(sub)
    imbalance.register_solve_classes(solve.register(sub))
    flow.register(sub)
    trajectory.register(sub)
    scan.register(sub)
    run.register(sub)
    reproduce.register(sub)
    diagnose.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``landscape`` console script (and ``python -m landscape.cli``); returns the exit code.

    The command runs in the CLI's precision (float64 unless ``JAX_ENABLE_X64=0``)
    inside a JAX context that is undone on return, so a program that calls
    ``main`` in-process keeps its own ``jax_enable_x64`` setting.
    """
    parser = build_parser()
    prog = "landscape"
    args = None
    try:
        try:
            args = parser.parse_args(None if argv is None else list(argv))
        except SystemExit as e:  # --help and --version
            return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
        prog = f"landscape {args.command}"
        with precision():
            return args.handler(args)
    except CLIError as e:
        msg = " ".join(str(e).split())
        print(f"{e.prog or prog}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        silence_stdout()  # the reader went away (e.g. `landscape solve ... | head`)
        return getattr(args, "exit_code", EXIT_OK)
