r"""``landscape run``: the default job of ``make run``.

A built-in problem (d = 8, isotropic augmentation C = σ²I): the closed-form minima
of InfoNCE and β-InfoNCE (:func:`landscape.cli.solve.solve_report`), a gradient-descent
check against the closed form (:func:`landscape.cli.flow.flow_report`), and the stored
phase-diagram scans and figures of :mod:`landscape.cli.phase_job`; writes
``summary.json`` and ``summary.txt`` under ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from landscape.cli._common import CLIError, Parser, Setup, dump, fmt_g, parse_int, parse_seed
from landscape.cli.flow import flow_report
from landscape.cli.solve import format_solve, solve_report

__all__ = ["register", "run_job", "DEFAULT_DATA_VARIANCES", "DEFAULT_SIGMA2", "DEFAULT_BETA"]

# The built-in problem of `landscape run`: eight input directions with decreasing
# data variance and isotropic augmentation noise.
DEFAULT_DATA_VARIANCES = (4.0, 3.0, 2.2, 1.6, 1.1, 0.7, 0.4, 0.2)
DEFAULT_SIGMA2 = 0.5
DEFAULT_BETA = 0.5
_CASES: tuple[tuple[str, dict[str, float], str], ...] = (
    ("infonce", {}, "InfoNCE"),
    ("beta-infonce", {"beta": DEFAULT_BETA}, f"β-InfoNCE (β = {DEFAULT_BETA:g})"),
)


def _setup(loss: str) -> Setup:
    """The built-in problem with ``loss`` (derived form, k = 1, γ = 0)."""
    import landscape as ls

    problem = ls.Problem.from_diagonal(np.array(DEFAULT_DATA_VARIANCES), np.array([DEFAULT_SIGMA2]))
    return Setup(problem, loss, beta=DEFAULT_BETA, sigma2=DEFAULT_SIGMA2)


def _closed_forms() -> tuple[dict, list[str]]:
    """The solve reports of the two losses at the default point, and their text."""
    solutions, text = {}, []
    for name, _, title in _CASES:
        rep = solve_report(_setup(name))
        solutions[name] = rep
        text += ["", f"== {title} ==", format_solve(rep).split("\n", 1)[1]]
    return solutions, text


def _gd_check(seed: int) -> tuple[dict, list[str]]:
    """Gradient descent from a small random init against the closed form (β-InfoNCE, sgd, 4000 steps)."""
    gd = flow_report(_setup("beta-infonce"), optimizer="sgd", steps=4000, init_scale=1e-3, seed=seed)
    dist = gd["distance_to_closed_form"]
    return gd, [
        "",
        f"== gradient descent check (β-InfoNCE, sgd, lr {gd['lr']:.4g}, {gd['steps']} steps) ==",
        f"rank {gd['rank']} (closed form {gd['closed_form']['rank']}), "
        f"max |Δλ| = {fmt_g(dist['max_abs_eigenvalue_diff'], 3)}, "
        f"relative loss gap = {fmt_g(dist['relative_loss_gap'], 3)}, diverged: {gd['diverged']}",
    ]


def _analytic_ranks(p, q, a, sigma2, gamma, out_dim):
    """#{i : p·a_i + q·σ² − γ > 0} ∧ d1 on the grid, and the smallest |b_i| (distance to a boundary)."""
    b = p * np.asarray(a)[None, None, :] + q * np.asarray(sigma2)[None, :, None] - np.asarray(gamma)[:, None, None]
    return np.minimum((b > 0).sum(axis=-1), out_dim), np.abs(b).min(axis=-1)


def _sigma2_gamma_panel(name: str, kw: dict, info: dict, a: np.ndarray, sigma2: np.ndarray) -> dict:
    """The summary of one (σ², γ) scan: regions, boundaries and disagreements with #{b_i > 0}."""
    from landscape.losses.effective import quadratic_form

    d, gamma = a.size, info["gamma"]
    rank = np.asarray(info["dataset"]["rank"].transpose("weight_decay", "sigma2").values)
    qf = quadratic_form(name, **kw)
    p, q = float(qf.data_coef), float(qf.aug_coef)
    analytic, margin = _analytic_ranks(p, q, a, sigma2, gamma, d)
    away = margin > 1e-6 * float(np.abs(a).max())
    return {
        "weight_decay_range": [float(gamma[0]), float(gamma[-1])],
        "rank_counts": {int(r): int(n) for r, n in zip(*np.unique(rank, return_counts=True))},
        "regions": {
            "no collapse": int(np.sum(rank == d)),
            "dimensional collapse": int(np.sum((rank > 0) & (rank < d))),
            "complete collapse": int(np.sum(rank == 0)),
        },
        "boundaries": [f"gamma = {p:g}*{ai:g} + {q:g}*sigma2" for ai in a],
        "mismatches_with_analytic_rank": int(np.sum((rank != analytic) & away)),
        "store": info["store"],
        "scan_seconds": round(info["seconds"], 3),
        "gradient_flow_spot_check": info["spot_check"],
    }


def _phase_text(phase: dict, n_panels: dict, grid: int, out_dir: Path) -> list[str]:
    """The text summary of the (σ², γ) and (N, σ²) diagrams."""
    text = [
        "",
        f"== (σ², γ) phase diagram ({grid}×{grid} grid per panel, closed form; stores under {out_dir / 'scans'}) ==",
    ]
    for name, info in phase.items():
        r = info["regions"]
        text.append(
            f"{name}: no collapse {r['no collapse']}, dimensional collapse {r['dimensional collapse']}, "
            f"complete collapse {r['complete collapse']} grid points; "
            f"disagreements with #{{b_i > 0}}: {info['mismatches_with_analytic_rank']}"
        )
        sc = info["gradient_flow_spot_check"]
        if sc is not None:
            text.append(
                f"  gradient-flow spot checks (t1 = {sc['t1']:g}): rank agrees at {sc['rank_agreement']}/"
                f"{sc['points']} points, max |Δλ| = {sc['max_abs_gram_diff']:.2g}, "
                f"diverged {sc['diverged']}"
                + "".join(
                    f"; differs at σ² = {b['sigma2']:.3g}, γ = {b['weight_decay']:.3g} "
                    f"(flow {b['flow_rank']}, closed form {b['closed_form_rank']}, "
                    f"min |b_i| = {b['min_abs_b']:.2g})"
                    for b in sc["disagreements"]
                )
            )
    text += ["", f"== (N, σ²) diagram of weighted InfoNCE, α = 0.1 ({grid}×{grid} grid per form) =="]
    for form, info in n_panels.items():
        r = info["regions"]
        text.append(
            f"{form} form: no collapse {r['no collapse']}, dimensional collapse "
            f"{r['dimensional collapse']}, complete collapse {r['complete collapse']} grid points; "
            f"disagreements with #{{b_i > 0}}: {info['mismatches_with_analytic_rank']}"
        )
    cut = n_panels["paper"]["critical_n_at_cut"]
    text.append(
        f"paper form at σ² = {cut['sigma2']:.4g}: critical N_i = (1−α)σ²/a_i = "
        + ", ".join(f"{v:.4g}" for v in cut["n_crit"])
        + " (collapsed for N ≤ N_i); "
        "derived form: no collapse at any N (its B has no C term)"
    )
    return text


def _phase_diagrams(out_dir: Path, grid: int, spot_checks: bool, s2_max: float = 5.0) -> tuple[dict, dict, list]:
    """The stored, resumable scans of :mod:`landscape.cli.phase_job` and their summaries.

    Returns the ``phase_diagram`` and ``weighted_infonce_n_diagram`` entries of
    ``summary.json`` and the figure paths.
    """
    from landscape.cli import phase_job  # plotting: loaded only when the job runs

    a = np.array(DEFAULT_DATA_VARIANCES)
    sigma2 = np.linspace(0.0, s2_max, grid)
    t_grid = time.perf_counter()
    scanned, sg_paths, _ = phase_job.sigma2_gamma_job(out_dir, a, DEFAULT_BETA, grid, s2_max, spot=spot_checks)
    phase = {name: _sigma2_gamma_panel(name, kw, scanned[name], a, sigma2) for name, kw, _ in _CASES}
    t_grid = time.perf_counter() - t_grid
    t_n = time.perf_counter()
    n_panels, n_paths = phase_job.sigma2_n_job(out_dir, a, grid)
    t_n = time.perf_counter() - t_n
    sg = {
        "file": sg_paths[0].name,
        "x": "sigma2",
        "y": "weight_decay",
        "sigma2_range": [0.0, s2_max],
        "grid": [grid, grid],
        "panels": phase,
        "grid_seconds": round(t_grid, 3),
    }
    n = {
        "file": n_paths[0].name,
        "x": "n_samples",
        "y": "sigma2",
        "alpha": 0.1,
        "grid": [grid, grid],
        "panels": n_panels,
        "seconds": round(t_n, 3),
    }
    return sg, n, sg_paths + n_paths


def run_job(out_dir: Path, grid: int, seed: int, spot_checks: bool = True) -> tuple[dict, str]:
    """The default job: returns (JSON summary, text summary) and writes the figures and both summaries."""
    import jax

    import landscape as ls

    t_start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = "float64" if jax.config.jax_enable_x64 else "float32"
    text = [
        f"landscape {ls.__version__} run: d = {len(DEFAULT_DATA_VARIANCES)}, a = {list(DEFAULT_DATA_VARIANCES)}, "
        f"C = {DEFAULT_SIGMA2:g}·I, derived form, k = 1, {dtype}"
    ]
    solutions, lines = _closed_forms()
    gd, gd_lines = _gd_check(seed)
    sg, n_diagram, paths = _phase_diagrams(out_dir, grid, spot_checks)
    figures = [pth.name for pth in paths]
    summary = {
        "command": "run",
        "version": ls.__version__,
        "dtype": dtype,
        "problem": {
            "data_variances": list(DEFAULT_DATA_VARIANCES),
            "sigma2": DEFAULT_SIGMA2,
            "beta": DEFAULT_BETA,
            "form": "derived",
            "quartic": 1.0,
        },
        "solutions": solutions,
        "gradient_descent_check": gd,
        "phase_diagram": sg,
        "weighted_infonce_n_diagram": n_diagram,
        "figures": figures,
        "elapsed_s": None,
    }
    text += lines + gd_lines + _phase_text(sg["panels"], n_diagram["panels"], grid, out_dir)
    summary["elapsed_s"] = round(time.perf_counter() - t_start, 3)
    json_path = out_dir / "summary.json"
    json_path.write_text(dump(summary) + "\n")
    text += [
        "",
        f"wrote {', '.join(str(out_dir / f) for f in figures)}, {json_path} and "
        f"{out_dir / 'summary.txt'} in {summary['elapsed_s']:.1f} s",
    ]
    (out_dir / "summary.txt").write_text("\n".join(text) + "\n")
    return summary, "\n".join(text)


# --------------------------------------------------------------------------- command
def _run(args) -> int:
    grid = parse_int(args.grid, "--grid", low=8, high=2000)
    seed = parse_seed(args.seed)
    try:
        summary, text = run_job(Path(args.out), grid, seed, spot_checks=not args.no_spot_checks)
    except OSError as e:
        raise CLIError(f"--out: cannot write to {args.out} ({e.strerror or e})") from None
    print(dump(summary) if args.json else text)
    return 0


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add ``run`` to ``landscape``'s subparsers."""
    p = subparsers.add_parser(
        "run",
        help="the default job: built-in problem, summary, phase diagrams",
        description="Solve a built-in problem (d = 8, isotropic augmentation), print a summary, "
        "and scan (stores under OUT/scans) and draw the (σ², γ) phase diagram of "
        "InfoNCE and β-InfoNCE with gradient-flow spot checks and the (N, σ²) "
        "diagram of weighted InfoNCE; writes PNG/PDF figures, summary.json and "
        "summary.txt.",
    )
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--grid", default="201", help="grid points per axis of the phase diagrams, 8..2000 (default 201)")
    p.add_argument("--seed", default="0", help="PRNG seed of the gradient-descent check (default 0)")
    p.add_argument("--no-spot-checks", action="store_true", help="skip the gradient-flow spot checks")
    p.add_argument("--json", action="store_true", help="print the JSON summary instead of the text summary")
    p.set_defaults(handler=_run)
