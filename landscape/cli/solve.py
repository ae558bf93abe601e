r"""``landscape solve``: the closed-form global minimum of one effective landscape.

Theorem 1 (optionally with the norm penalty κ(Tr[WΣWᵀ] − c)², its κ → ∞ limit, a
bias (Theorem 2), or the exact Gaussian InfoNCE population loss), with the
per-direction spectrum and the collapse thresholds.  :func:`solve_report` is the
JSON object, :func:`format_solve` its text table; ``landscape run`` calls both.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.cli._common import (
    EXIT_OK,
    CLIError,
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
    parse_normalization,
    setup_from_args,
)

if TYPE_CHECKING:
    from landscape.core.solution import Solution

__all__ = ["register", "solve_report", "closed_form", "format_solve", "report_header", "normalization_line"]


def _isotropic_aug(problem) -> float | None:
    c = np.asarray(problem.aug_cov, dtype=float)
    c0 = float(c[0, 0])
    if np.allclose(c, c0 * np.eye(c.shape[0]), rtol=0.0, atol=1e-12 * max(1.0, abs(c0))):
        return c0
    return None


def _threshold_json(th, a, c=None) -> dict:
    out = {"a": nums(a)}
    if c is not None:
        out["c"] = nums(c)
    out["value"] = nums(th.value)
    out["collapsed_above"] = [bool(v) for v in np.asarray(th.collapsed_above)]
    return out


def closed_form(setup: Setup, norm: Normalization | None = None) -> tuple[Solution, dict[str, Any]]:
    """The solution asked for: effective (optionally normalized, with bias) or exact Gaussian.

    Returns (solution, extra JSON keys).  Normalization adds ``rho`` = Tr[WΣWᵀ];
    a bias adds ``bias_norm_sq`` = ‖b‖².
    """
    import landscape as ls
    from landscape.theory.bias import bias_hard_normalization_limit

    norm = Normalization() if norm is None else norm
    land, out_dim, c = setup.landscape, setup.out_dim, norm.norm_target
    if norm.landscape == "exact-gaussian":
        if setup.loss != "infonce" or norm.normalized:
            raise CLIError(
                "--landscape exact-gaussian is the InfoNCE (α = 1) population loss: use it with "
                "--loss infonce and without --kappa/--hard-norm/--bias"
            )
        sol = ls.exact_gaussian_minimum(setup.problem, out_dim, weight_decay=setup.weight_decay)
        return sol, {"landscape": "exact-gaussian"}
    if not norm.normalized:
        return ls.global_minimum(land, out_dim), {"landscape": "effective"}
    if norm.hard:
        sol = (
            bias_hard_normalization_limit(land, out_dim, c)
            if norm.bias
            else ls.hard_normalization_limit(land, out_dim, c)
        )
        extras = {"landscape": "effective", "hard_norm": True, "norm_target": num(c), "rho": num(float(sol.rho))}
    else:
        nl = ls.normalized_landscape(land, norm.kappa, c)
        sol = ls.bias_global_minimum(nl, out_dim) if norm.bias else ls.normalized_global_minimum(nl, out_dim)
        extras = {"landscape": "effective", "kappa": num(norm.kappa), "norm_target": num(c), "rho": num(float(sol.rho))}
    if norm.bias:
        extras["bias_norm_sq"] = num(float(sol.bias_norm_sq))
    return sol, extras


def _per_direction(setup: Setup, gram: np.ndarray) -> dict | None:
    """The spectrum per direction of the common eigenbasis of A0 and C (None if they do not commute)."""
    from landscape.core.linalg import survives
    from landscape.theory.collapse_thresholds import common_eigenbasis
    from landscape.theory.stationary_points import rank_scales

    if not setup.problem.is_commuting():
        return None
    v, a, c = common_eigenbasis(setup.problem)
    b_dir = np.einsum("ji,jk,ki->i", v, np.asarray(setup.landscape.b_eff, float), v)
    lam_dir = np.einsum("ji,jk,ki->i", v, gram, v)
    # the package's one survival rule, at the scale of the largest Gram eigenvalue the landscape allows
    kept = np.asarray(survives(lam_dir, float(rank_scales(setup.landscape).gram)))
    lam_dir = np.where(kept, lam_dir, 0.0)
    return {
        "a": nums(a),
        "c": nums(c),
        "s": nums(a + c),
        "b": nums(b_dir),
        "gram": nums(lam_dir),
        "kept": [bool(k) for k in kept],
        "basis": "input coordinates" if setup.problem.is_diagonal() else "common eigenbasis of A0 and C (eigh order)",
    }


def _thresholds(setup: Setup, per_direction: dict | None, iso: float | None) -> dict:
    """The critical σ², γ and N per direction, where they are defined (else None)."""
    import jax.numpy as jnp

    import landscape as ls
    from landscape.theory.collapse_thresholds import common_eigenbasis

    problem, tk = setup.problem, setup.threshold_kwargs
    out = {"critical_sigma2": None, "critical_weight_decay": None, "critical_n_samples": None}
    if setup.sigma2 is not None or iso is not None:
        th = ls.critical_sigma2(problem, setup.loss, weight_decay=setup.weight_decay, **tk)
        _, a_only, _ = common_eigenbasis(ls.Problem(problem.data_cov, jnp.zeros_like(problem.data_cov)))
        out["critical_sigma2"] = _threshold_json(th, a_only)
    if per_direction is not None:
        a, c = np.asarray(per_direction["a"], float), np.asarray(per_direction["c"], float)
        out["critical_weight_decay"] = _threshold_json(ls.critical_weight_decay(problem, setup.loss, **tk), a, c)
        if setup.loss == "weighted-infonce" and setup.form == "paper":
            th = ls.critical_n_samples(problem, alpha=setup.alpha, weight_decay=setup.weight_decay)
            out["critical_n_samples"] = _threshold_json(th, a, c)
    return out


def _near_threshold(sol) -> int | None:
    """Directions whose survival the dtype cannot decide (None where the solver does not count them)."""
    count = getattr(sol, "near_threshold", None)
    return None if count is None else int(count)


def rank_note(report: dict) -> str | None:
    """One line explaining a ``rank`` that differs from ``predicted_rank`` (None when they agree)."""
    if report["rank"] == report["predicted_rank"]:
        return None
    near = report.get("near_threshold")
    why = (
        f"{near} direction(s) lie within the {report['dtype']} tolerance of their collapse threshold"
        if near
        else "the output dimension or the normalization caps the closed form's rank"
    )
    return f"note: rank {report['rank']} differs from the predicted rank {report['predicted_rank']}: {why}"


def solve_report(setup: Setup, norm: Normalization | None = None) -> dict:
    """The ``solve`` JSON object of a problem and loss (``norm``: normalization, bias or exact Gaussian)."""
    import jax
    import jax.numpy as jnp

    import landscape as ls

    problem, land = setup.problem, setup.landscape
    sol, extras = closed_form(setup, norm)
    gram = np.asarray(sol.gram, dtype=float)
    diagonal = problem.is_diagonal()
    iso = _isotropic_aug(problem)
    per_direction = _per_direction(setup, gram)
    return {
        "command": "solve",
        "version": ls.__version__,
        "dtype": str(np.asarray(land.b).dtype),
        "loss_name": setup.loss,
        "form": setup.form,
        "quartic": num(setup.quartic),
        "effective_quartic": num(np.asarray(land.quartic)),
        "weight_decay": num(setup.weight_decay),
        "loss_parameters": {k: (None if v is None else num(v)) for k, v in setup.loss_kwargs.items()},
        "dim": int(problem.dim),
        "out_dim": int(setup.out_dim),
        "diagonal": bool(diagonal),
        "commuting": bool(problem.is_commuting()),
        "isotropic_sigma2": None if iso is None else num(iso),
        "gram_eigenvalues": nums(sol.gram_eigenvalues),
        "rank": int(sol.rank),
        "predicted_rank": int(ls.predicted_rank(land, setup.out_dim)),
        "near_threshold": _near_threshold(sol),
        "loss": num(sol.loss),
        "b_eigenvalues": nums(np.asarray(jnp.linalg.eigvalsh(land.b_eff))[::-1]),
        "whitened_eigenvalues": nums(sol.whitened_eigenvalues),
        "direction_eigenvalues": nums(np.diag(gram)) if diagonal else None,
        "per_direction": per_direction,
        "origin": ls.origin_type(land),
        **_thresholds(setup, per_direction, iso),
        "jax_backend": jax.default_backend(),
        **extras,
    }


# --------------------------------------------------------------------------- text
def report_header(report: dict) -> str:
    """The first-line description of a ``solve`` or ``flow`` report: loss, form, k, γ, sizes, dtype."""
    params = []
    if report["loss_name"] == "weighted-infonce":
        lp = report["loss_parameters"]
        params.append(f"α={lp['alpha']:g}, N={lp['n_samples']:g}")
    if report["loss_name"] == "beta-infonce":
        params.append(f"β={report['loss_parameters']['beta']:g}")
    if report["loss_name"] == "vicreg" and report["form"] == "derived":
        params.append(f"λ_inv={report['loss_parameters']['invariance_weight']:g}")
    ptxt = f" ({', '.join(params)})" if params else ""
    return (
        f"loss {report['loss_name']}{ptxt}, {report['form']} form, k={report['quartic']:g} "
        f"(effective {report['effective_quartic']:g}), γ={report['weight_decay']:g}, "
        f"d0={report['dim']}, d1={report['out_dim']}, {report['dtype']}"
    )


def normalization_line(report: dict) -> str | None:
    """'normalization: …' for reports with ρ (and ‖b‖²); closed-form values in brackets for flow."""
    if "rho" not in report:
        return None
    cf = report.get("closed_form") if report.get("command") == "flow" else None
    strength = "hard (κ → ∞)" if report.get("hard_norm") else f"κ = {report['kappa']:g}"
    text = f"normalization: {strength}, c = {report['norm_target']:g}, ρ = {fmt_g(report['rho'], 8)}"
    if cf is not None:
        text += f" (closed form {fmt_g(cf['rho'], 8)})"
    if "bias_norm_sq" in report:
        text += f", ‖b‖² = {fmt_g(report['bias_norm_sq'], 8)}"
        if cf is not None:
            text += f" (closed form {fmt_g(cf['bias_norm_sq'], 8)})"
    return text


def _direction_table(report: dict) -> list[str]:
    pd = report["per_direction"]
    if pd is None:
        lines = [
            "",
            "A0 and C do not commute: directions are the whitened eigen-directions.",
            f"{'i':>4}{'λ̃_i (whitened)':>18}{'λ_i (WᵀW)':>14}",
        ]
        for i, (w, g) in enumerate(zip(report["whitened_eigenvalues"], report["gram_eigenvalues"])):
            lines.append(f"{i:>4}{fmt_cell(w, 18)}{fmt_cell(g, 14)}")
        return lines
    head = ["dir", "a_i", "c_i", "b_i", "λ_i", "kept"]
    lines = ["", f"{head[0]:>4}" + "".join(fmt_cell(h) for h in head[1:5]) + f"{head[5]:>6}"]
    for i in range(len(pd["a"])):
        row = [pd["a"][i], pd["c"][i], pd["b"][i], pd["gram"][i]]
        lines.append(f"{i:>4}" + "".join(fmt_cell(v) for v in row) + f"{'yes' if pd['kept'][i] else 'no':>6}")
    lines.append(
        "b_i: eigenvalue of B − γI; λ_i: eigenvalue of WᵀW"
        + (" (input coordinates)" if report["diagonal"] else " (common eigenbasis of A0 and C)")
    )
    return lines


def format_solve(report: dict) -> str:
    """A readable text table of a ``solve`` report."""
    lines = [f"landscape {report['version']} solve: {report_header(report)}"]
    kind = "diagonal" if report["diagonal"] else "commuting" if report["commuting"] else "non-commuting"
    lines.append(
        f"problem: {kind} A0 and C"
        + (f", isotropic C = {report['isotropic_sigma2']:g}·I" if report["isotropic_sigma2"] is not None else "")
    )
    lines.append(
        f"origin: {report['origin']}   rank: {report['rank']} (predicted {report['predicted_rank']})   "
        f"loss: {report['loss']:.10g}"
    )
    for extra in (rank_note(report), normalization_line(report)):
        if extra:
            lines.append(extra)
    lines += _direction_table(report)
    for key, name in (
        ("critical_sigma2", "critical σ²"),
        ("critical_weight_decay", "critical γ"),
        ("critical_n_samples", "critical N"),
    ):
        th = report[key]
        if th is None:
            continue
        parts = []
        for v, above in zip(th["value"], th["collapsed_above"]):
            if v == "inf":
                parts.append("never" if above else "always")
            else:
                parts.append(f"{'≥' if above else '≤'}{v:.4g}")
        lines.append(f"{name} per direction (collapsed when the parameter is …): " + ", ".join(parts))
    return "\n".join(lines)


# --------------------------------------------------------------------------- command
def _run(args) -> int:
    setup = setup_from_args(args)
    norm = parse_normalization(args)
    with library_errors(setup.mapping):
        report = solve_report(setup, norm)
    print(dump(report) if args.json else format_solve(report))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[Parser]) -> argparse.ArgumentParser:
    """Add ``solve`` to ``landscape``'s subparsers (handler: the closed form); returns its parser,
    to which ``landscape.cli.imbalance`` adds ``--classes``."""
    p = subparsers.add_parser(
        "solve",
        help="closed-form global minimum of the effective landscape",
        description="Print the closed-form global minimum (Theorem 1) and collapse diagnostics.",
    )
    add_problem_options(p)
    add_normalization_options(p)
    p.set_defaults(handler=_run)
    return p
