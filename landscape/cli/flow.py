r"""``landscape flow``: gradient descent (optax) on one effective landscape, compared with the closed form.

:func:`flow_report` runs it from a small random start and returns the JSON object
(spectrum, rank, loss and their distance to :func:`landscape.cli.solve.closed_form`);
:func:`format_flow` is its text summary.  Exit code 1 when the run diverged.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from landscape.cli._common import (
    EXIT_DIVERGED,
    EXIT_OK,
    MAX_STEPS,
    Normalization,
    Parser,
    Setup,
    add_normalization_options,
    add_problem_options,
    dump,
    fmt_cell,
    fmt_g,
    library_errors,
    num,
    nums,
    parse_float,
    parse_int,
    parse_normalization,
    parse_seed,
    require_size,
    setup_from_args,
)
from landscape.cli.solve import closed_form, normalization_line, report_header

__all__ = ["register", "flow_report", "format_flow", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")


def _optimizer(name: str, lr: float):
    import optax

    if name == "sgd":
        return optax.sgd(lr)
    if name == "momentum":
        return optax.sgd(lr, momentum=0.9)
    if name == "nesterov":
        from landscape.dynamics import nesterov_restart

        return nesterov_restart(lr)
    return optax.adam(lr)


def _auto_lr(optimizer: str, max_lr: float, norm: Normalization) -> float:
    """Half the largest stable plain-GD step (a tenth for momentum with a finite κ), 1e-3 for Adam."""
    lr = 1e-3 if optimizer == "adam" else 0.5 * max_lr
    if norm.normalized and not norm.hard and optimizer == "momentum":
        # From a small start the penalty pushes outward with rate ~4κc·λ(Σ); heavy ball
        # (effective step lr/(1 − 0.9)) then overshoots the shell ρ = c, where the
        # curvature is largest.  One tenth keeps the effective step at max_lr.
        lr = 0.1 * max_lr
    return lr if math.isfinite(lr) and lr > 0 else 1e-2


def _descend(setup: Setup, norm: Normalization, optimizer: str, lr: float, steps: int, init_scale: float, seed: int):
    """Gradient descent from W₀ ~ init_scale·N(0, 1) (and b₀ likewise with a bias); (solution, seconds)."""
    import jax

    import landscape as ls
    from landscape import dynamics

    land = setup.landscape
    key = jax.random.PRNGKey(seed)
    w0 = dynamics.random_init(key, setup.out_dim, setup.problem.dim, scale=init_scale, dtype=land.b.dtype)
    t0 = time.perf_counter()
    if norm.normalized:
        nl = ls.normalized_landscape(land, 0.0 if norm.kappa is None else norm.kappa, norm.norm_target)
        # The bias starts small and random too: b = 0 is invariant under descent.
        b0 = (
            init_scale * jax.random.normal(jax.random.fold_in(key, 1), (setup.out_dim,), land.b.dtype)
            if norm.bias
            else None
        )
        sol = dynamics.normalized_gradient_descent(
            nl, w0, bias0=b0, hard=norm.hard, optimizer=_optimizer(optimizer, lr), steps=steps
        )
    else:
        sol = dynamics.gradient_descent(land, w0, optimizer=_optimizer(optimizer, lr), steps=steps)
    jax.block_until_ready(sol.weights)
    return sol, time.perf_counter() - t0


def _max_stable_lr(setup: Setup, norm: Normalization, cf) -> float:
    """The largest stable plain-GD step at the closed-form minimum ``cf``."""
    import landscape as ls
    from landscape import dynamics

    land = setup.landscape
    if not norm.normalized:
        return float(dynamics.max_stable_learning_rate(land, cf.weights))
    nl = ls.normalized_landscape(land, 0.0 if norm.kappa is None else norm.kappa, norm.norm_target)
    return float(
        dynamics.normalized_max_stable_learning_rate(nl, cf.weights, cf.bias if norm.bias else None, hard=norm.hard)
    )


def _distance(sol, cf) -> dict:
    eig = np.asarray(sol.gram_eigenvalues, dtype=float)
    with np.errstate(invalid="ignore"):
        max_diff = float(np.max(np.abs(eig - np.asarray(cf.gram_eigenvalues, dtype=float))))
    loss_gd, loss_cf = float(sol.loss), float(cf.loss)
    denom = abs(loss_cf) if loss_cf != 0.0 else 1.0
    return {"max_abs_eigenvalue_diff": num(max_diff), "relative_loss_gap": num((loss_gd - loss_cf) / denom)}


def _normalization_json(report: dict, sol, extras: dict, norm: Normalization) -> None:
    """Add ρ (and ‖b‖²) of the run and of the closed form to ``report``."""
    report.update({key: extras[key] for key in ("kappa", "hard_norm", "norm_target") if key in extras})
    report["rho"] = num(float(sol.rho))
    report["closed_form"]["rho"] = extras["rho"]
    report["distance_to_closed_form"]["abs_rho_diff"] = num(abs(float(sol.rho) - float(extras["rho"])))
    if norm.bias:
        report["bias_norm_sq"] = num(float(sol.bias_norm_sq))
        report["closed_form"]["bias_norm_sq"] = extras["bias_norm_sq"]
        report["distance_to_closed_form"]["abs_bias_norm_sq_diff"] = num(
            abs(float(sol.bias_norm_sq) - float(extras["bias_norm_sq"]))
        )


def flow_report(
    setup: Setup,
    norm: Normalization | None = None,
    *,
    optimizer: str = "sgd",
    lr: float | None = None,
    steps: int = 5000,
    init_scale: float = 1e-3,
    seed: int = 0,
) -> dict:
    """Run gradient descent and compare with the closed form; the ``flow`` JSON object.

    ``lr`` None: automatic (:func:`_auto_lr`, from the largest stable step at the closed-form minimum).
    """
    import landscape as ls

    norm = Normalization() if norm is None else norm
    require_size(setup.problem.dim, setup.out_dim, setup.size_source, out_dim_given=setup.out_dim_given, flow=True)
    land = setup.landscape
    cf, extras = closed_form(setup, norm) if norm.normalized else (ls.global_minimum(land, setup.out_dim), {})
    max_lr = _max_stable_lr(setup, norm, cf)
    lr_source = "auto" if lr is None else "given"
    lr = _auto_lr(optimizer, max_lr, norm) if lr is None else lr
    sol, elapsed = _descend(setup, norm, optimizer, lr, steps, init_scale, seed)
    eig = np.asarray(sol.gram_eigenvalues, dtype=float)
    diverged = bool(sol.diverged) if sol.diverged is not None else not np.all(np.isfinite(eig))
    report = {
        "command": "flow",
        "version": ls.__version__,
        "dtype": str(np.asarray(land.b).dtype),
        "loss_name": setup.loss,
        "form": setup.form,
        "quartic": num(setup.quartic),
        "effective_quartic": num(np.asarray(land.quartic)),
        "weight_decay": num(setup.weight_decay),
        "loss_parameters": {k: (None if v is None else num(v)) for k, v in setup.loss_kwargs.items()},
        "dim": int(setup.problem.dim),
        "out_dim": int(setup.out_dim),
        "optimizer": optimizer,
        "lr": num(lr),
        "lr_source": lr_source,
        "max_stable_learning_rate": num(max_lr),
        "steps": steps,
        "init_scale": num(init_scale),
        "seed": seed,
        "gram_eigenvalues": nums(eig),
        "rank": int(sol.rank),
        "loss": num(float(sol.loss)),
        "diverged": diverged,
        "diverged_step": int(sol.diverged_step) if sol.diverged_step is not None else -1,
        "closed_form": {
            "gram_eigenvalues": nums(np.asarray(cf.gram_eigenvalues, dtype=float)),
            "rank": int(cf.rank),
            "loss": num(float(cf.loss)),
        },
        "distance_to_closed_form": _distance(sol, cf),
        "elapsed_s": round(elapsed, 4),
    }
    if norm.normalized:
        _normalization_json(report, sol, extras, norm)
    return report


def format_flow(report: dict) -> str:
    """A readable summary of a ``flow`` report."""
    lines = [f"landscape {report['version']} flow: {report_header(report)}"]
    lines.append(
        f"optimizer {report['optimizer']}, lr {report['lr']:.6g} ({report['lr_source']}; "
        f"max stable {report['max_stable_learning_rate']:.6g}), {report['steps']} steps, "
        f"init scale {report['init_scale']:g}, seed {report['seed']}, {report['elapsed_s']:.2f} s"
    )
    cf = report["closed_form"]
    lines.append("")
    lines.append(f"{'i':>4}{'λ_i (flow)':>16}{'λ_i (closed form)':>20}")
    for i, (g, c) in enumerate(zip(report["gram_eigenvalues"], cf["gram_eigenvalues"])):
        lines.append(f"{i:>4}{fmt_cell(g, 16, 8)}{fmt_cell(c, 20, 8)}")
    dist = report["distance_to_closed_form"]
    lines.append("")
    lines.append(
        f"rank {report['rank']} (closed form {cf['rank']}), loss {fmt_g(report['loss'], 12)} "
        f"(closed form {fmt_g(cf['loss'], 12)})"
    )
    norm_line = normalization_line(report)
    if norm_line:
        lines.append(norm_line)
    lines.append(
        f"distance to closed form: max |Δλ| = {fmt_g(dist['max_abs_eigenvalue_diff'], 3)}, "
        f"relative loss gap = {fmt_g(dist['relative_loss_gap'], 3)}"
    )
    lines.append(
        f"diverged: {report['diverged']}" + (f" at step {report['diverged_step']}" if report["diverged"] else "")
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- command
def _run(args) -> int:
    setup = setup_from_args(args)
    steps = parse_int(args.steps, "--steps", low=1, high=MAX_STEPS)
    init_scale = parse_float(args.init_scale, "--init-scale", low=0.0, low_inclusive=False)
    seed = parse_seed(args.seed)
    lr = None if str(args.lr).strip().lower() == "auto" else parse_float(args.lr, "--lr", low=0.0, low_inclusive=False)
    norm = parse_normalization(args)
    with library_errors(setup.mapping):
        report = flow_report(
            setup, norm, optimizer=args.optimizer, lr=lr, steps=steps, init_scale=init_scale, seed=seed
        )
    args.exit_code = EXIT_DIVERGED if report["diverged"] else EXIT_OK  # also when stdout closes early
    print(dump(report) if args.json else format_flow(report))
    if not report["diverged"]:
        return EXIT_OK
    print(
        f"landscape flow: gradient descent diverged at step {report['diverged_step']} with --lr "
        f"{report['lr']:g}; use a smaller --lr (the largest stable plain-GD step at the closed-form minimum is "
        f"{report['max_stable_learning_rate']:.4g}; momentum and a large --init-scale need less)",
        file=sys.stderr,
    )
    return EXIT_DIVERGED


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add ``flow`` to ``landscape``'s subparsers."""
    p = subparsers.add_parser(
        "flow",
        help="gradient descent from a small random init, compared with the closed form",
        description="Run gradient descent (optax) and compare with the closed-form minimum.",
    )
    add_problem_options(p)
    g = p.add_argument_group("optimisation")
    g.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="sgd",
        help="optax optimizer (momentum = heavy ball, 0.9; nesterov = Nesterov with adaptive restart; default sgd)",
    )
    g.add_argument(
        "--lr",
        default="auto",
        help="learning rate > 0; 'auto' (default) = half of max_stable_learning_rate at the "
        "closed-form minimum for sgd/momentum (a tenth for momentum with --kappa), 1e-3 for adam",
    )
    g.add_argument("--steps", default="5000", help="number of steps ≥ 1 (default 5000)")
    g.add_argument("--init-scale", default="1e-3", help="std of the random initial W, > 0 (default 1e-3)")
    g.add_argument("--seed", default="0", help="PRNG seed, integer (default 0)")
    add_normalization_options(p, exact_gaussian=False)
    p.set_defaults(handler=_run)
