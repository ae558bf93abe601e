r"""``landscape trajectory``: the gradient flow of one effective landscape at given times.

It prints, for each time, the descending eigenvalues of WᵀW and the loss, by the
closed form where one applies (:mod:`landscape.theory.exact_flow`) or by the
batched integrator (``--method``; ``auto`` says which it used and why).
``--events`` adds the escape and collapse time of each direction: in closed
form per common eigenvector for aligned problems
(:mod:`landscape.theory.escape_times`), otherwise per rank of WᵀW from the
integrator's events (:mod:`landscape.dynamics.flow_events`).

The initial W is ``--w0 FILE.npy`` (d1×d0, read without unpickling) or
``--init-scale`` ε with ``--seed``: W₀ = ε·N(0, 1), or with ``--aligned``
W₀ = ε·diag(|z|)·Uᵀ on the common eigenbasis U of B and Σ (its first d1
directions by b_i/s_i), which makes the exact route apply to every commuting problem.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from landscape.cli._common import (
    CLIError,
    Parser,
    Setup,
    add_problem_options,
    dump,
    fmt_cell,
    fmt_g,
    library_errors,
    load_npy,
    nums,
    parse_float,
    parse_seed,
    setup_from_args,
)

__all__ = ["register", "trajectory_report", "format_trajectory", "parse_times"]

MAX_TIMES = 100_000


def parse_times(text: str) -> np.ndarray:
    """``--times``: comma-separated times ≥ 0 ('inf' allowed), at most :data:`MAX_TIMES`."""
    parts = [p.strip() for p in str(text).split(",")]
    bad = CLIError(f"--times must be a comma-separated list of times >= 0 (inf allowed), got {text!r}")
    if not parts or any(p == "" for p in parts) or len(parts) > MAX_TIMES:
        raise bad
    try:
        times = np.array([float(p) for p in parts])
    except ValueError:
        raise bad from None
    if np.any(np.isnan(times)) or np.any(times < 0):
        raise bad
    return times


def _initial_weights(setup: Setup, args: argparse.Namespace):
    import jax
    import jax.numpy as jnp

    dtype = setup.landscape.b.dtype
    d0 = setup.problem.dim
    if args.w0 is not None:
        if args.aligned:
            raise CLIError("--aligned goes with --init-scale, not with --w0")
        w0 = load_npy(args.w0, "--w0")
        if w0.ndim != 2 or w0.shape[1] != d0 or w0.shape[0] < 1:
            raise CLIError(f"--w0: {args.w0} must hold a d1×{d0} matrix (d0 = {d0} from the problem), got {w0.shape}")
        if not np.all(np.isfinite(w0)):
            raise CLIError(f"--w0: {args.w0} contains NaN or infinite entries")
        return jnp.asarray(w0, dtype)
    scale = parse_float(args.init_scale, "--init-scale", low=0.0, low_inclusive=False)
    key = jax.random.PRNGKey(parse_seed(args.seed))
    d1 = setup.out_dim
    if not args.aligned:
        return scale * jax.random.normal(key, (d1, d0), dtype)
    return jnp.asarray(_aligned_init(setup, scale, np.asarray(jax.random.normal(key, (d0,)))), dtype)


def _aligned_init(setup: Setup, scale: float, z: np.ndarray) -> np.ndarray:
    """ε·diag(|z|)·Uᵀ on the d1 directions of largest b_i/s_i of the common eigenbasis U."""
    land = setup.landscape
    b, sigma = np.asarray(land.b_eff, float), np.asarray(land.sigma, float)
    norms = float(np.linalg.norm(b) * np.linalg.norm(sigma))
    if float(np.linalg.norm(b @ sigma - sigma @ b)) > 1e-10 * max(norms, 1e-300):
        raise CLIError("--aligned needs a commuting problem (B and Σ = A0 + C with a common eigenbasis)")
    d0, d1 = setup.problem.dim, setup.out_dim
    is_diag = not np.any(b - np.diag(np.diag(b))) and not np.any(sigma - np.diag(np.diag(sigma)))
    u = np.eye(d0) if is_diag else np.linalg.eigh(sigma + 0.5772156649 * b)[1]
    ratio = np.einsum("ji,jk,ki->i", u, b, u) / np.einsum("ji,jk,ki->i", u, sigma, u)
    keep = np.sort(np.argsort(-ratio, kind="stable")[: min(d1, d0)])
    w0 = np.zeros((d1, d0))
    for row, i in enumerate(keep):
        w0[row] = scale * abs(z[i]) * u[:, i]
    return w0


def trajectory_report(setup: Setup, w0: Any, times: np.ndarray, method: str = "auto", events: bool = False) -> dict:
    """The ``trajectory`` JSON object: times, Gram eigenvalues per time, loss per time, method, events."""
    import landscape as ls
    from landscape.dynamics.trajectory import trajectory
    from landscape.theory.escape_times import direction_events

    traj = trajectory(setup.landscape, w0, method)
    state = traj(times)
    report = {
        "command": "trajectory",
        "version": ls.__version__,
        "dtype": str(np.asarray(setup.landscape.b).dtype),
        "loss_name": setup.loss,
        "dim": int(setup.problem.dim),
        "out_dim": int(w0.shape[0]),
        "method": traj.method,
        "case": traj.case,
        "reason": traj.reason,
        "times": nums(times),
        "gram_eigenvalues": [nums(row) for row in np.asarray(state.gram_eigenvalues, float)],
        "loss": nums(np.asarray(state.loss, float)),
    }
    if events:
        ev = traj.events()
        per = "direction i (common eigenvector)" if ev.indexed_by == "direction" else "rank i (i-th largest eigenvalue)"
        info: dict[str, Any] = {
            "definition": f"per {per} of WᵀW: escape = first time λ_i reaches half its limit λ_i(∞); "
            "collapse = first time a dying λ_i (limit 0) falls to half of λ_i(0)",
            "indexed_by": ev.indexed_by,
            "source": ev.source,
            "horizon": nums([ev.horizon])[0],
            "gram0": nums(ev.gram0),
            "limit": nums(ev.limit),
        }
        report["events"] = info
        report["escape_times"] = nums(ev.escape_times)
        report["collapse_times"] = nums(ev.collapse_times)
        report["learning_order"] = [int(i) for i in np.asarray(ev.order)]
        if traj.case == "aligned":
            closed = direction_events(setup.landscape, w0)
            info.update(rate=nums(closed.rate), sigma=nums(closed.sigma))
            report["escape_times_asymptotic"] = nums(closed.escape_asymptotic)
    return report


def format_trajectory(report: dict) -> str:
    """A table: one line per time with the loss and the descending Gram eigenvalues, then the events."""
    route = report["method"] + (f" ({report['case']})" if report["case"] else "")
    lines = [
        f"landscape {report['version']} trajectory: {report['loss_name']}, d0 = {report['dim']}, "
        f"d1 = {report['out_dim']}, method {route}: {report['reason']}",
        f"{'t':>12}{'loss':>16}  eigenvalues of WᵀW (descending)",
    ]
    for t, val, eig in zip(report["times"], report["loss"], report["gram_eigenvalues"]):
        lines.append(f"{fmt_cell(t, 12)}{fmt_cell(val, 16, 8)}  " + " ".join(fmt_g(v, 6) for v in eig))
    if "escape_times" in report:
        ev = report["events"]
        aligned = "escape_times_asymptotic" in report
        lines += ["", f"events ({ev['source']}, per {ev['indexed_by']}): {ev['definition']}"]
        head = (("b−γ", "s") if aligned else ()) + ("λ(0)", "limit", "escape", "collapse")
        lines.append(
            f"{'dir' if aligned else 'rank':>4}"
            + "".join(f"{h:>13}" for h in head)
            + (f"{'≈ln(λ*/λ₀)/4m':>16}" if aligned else "")
        )
        for i in range(len(report["escape_times"])):
            cells = ((ev["rate"][i], ev["sigma"][i]) if aligned else ()) + (
                ev["gram0"][i],
                ev["limit"][i],
                report["escape_times"][i],
                report["collapse_times"][i],
            )
            tail = fmt_cell(report["escape_times_asymptotic"][i], 16) if aligned else ""
            lines.append(f"{i:>4}" + "".join(fmt_cell(v, 13) for v in cells) + tail)
        lines.append(f"learning order: {report['learning_order']}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    setup = setup_from_args(args)
    times = parse_times(args.times)
    w0 = _initial_weights(setup, args)
    mapping = dict(setup.mapping, w0="--w0", t="--times", method="--method")
    with library_errors(mapping):
        report = trajectory_report(setup, w0, times, args.method, args.events)
    print(dump(report) if args.json else format_trajectory(report))
    return 0


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add ``trajectory`` to ``landscape``'s subparsers."""
    p = subparsers.add_parser(
        "trajectory",
        help="the gradient flow at given times: exact where a closed form exists, else the batched integrator",
        description="Gram eigenvalues and loss of the gradient flow dW/dt = −∇L(W) at the given times.",
    )
    add_problem_options(p)
    g = p.add_argument_group("initial weights and times")
    g.add_argument("--w0", metavar="FILE.npy", help="initial W (d1×d0) as a .npy matrix")
    g.add_argument("--init-scale", default="1e-3", help="scale ε > 0 of the random initial W (default 1e-3)")
    g.add_argument("--seed", default="0", help="PRNG seed, integer in [0, 2^32 − 1] (default 0)")
    g.add_argument(
        "--aligned", action="store_true", help="initial W aligned with the eigenbasis of B and Σ (exact route)"
    )
    g.add_argument("--times", default="0,1,10,inf", metavar="T1,T2,...", help="times >= 0; inf = the limit")
    g.add_argument(
        "--method", choices=("auto", "exact", "ode"), default="auto", help="exact, ode (batched integrator) or auto"
    )
    g.add_argument("--events", action="store_true", help="escape and collapse time of each direction")
    p.set_defaults(handler=_run)
