r"""``landscape solve --classes FILE``: the fate of each class direction of a class-structured problem.

The file is JSON (read with ``json.load``) or TOML (``.toml``, read with the
standard ``tomllib``); nothing else is executed or unpickled.  Fields:

=================  ==========================================================
``means``          K×d class means (required)
``proportions``    K proportions in (0, 1), summing to 1 (required)
``within_cov``     scalar, d variances or a d×d matrix (default 0)
``aug_var``        isotropic augmentation σ² (or use ``--sigma2``), or
``aug_cov``        scalar, d variances or a d×d matrix, or
``aug_subspace``   d×r basis, with ``aug_strength`` (scalar or r values)
``kappa``          optional normalization strength (number, or "inf" for hard)
``norm_target``    optional target c of the normalization (default 1)
=================  ==========================================================

The mixture is centred before A0 is formed (see :mod:`landscape.imbalance`).
The loss, β, weight decay, quartic coefficient and output dimension come from
the usual ``solve`` options.

Example:
    >>> import json, tempfile, os
    >>> spec = {"means": [[1.0, 0.0], [-1.0, 0.0]], "proportions": [0.1, 0.9], "within_cov": [0.05, 1.0],
    ...         "aug_var": 0.2}
    >>> cp, extra = build_from_spec(spec)
    >>> rep = class_report(cp, loss="infonce", weight_decay=0.5, **extra)
    >>> [c["collapsed"] for c in rep["classes"]], round(rep["critical_proportion"], 6)
    ([True, True], 0.12919)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from landscape.studies import class_imbalance as im

__all__ = ["load_spec", "build_from_spec", "class_report", "register_solve_classes", "format_report"]

_ALLOWED = {"means", "proportions", "within_cov", "aug_var", "aug_cov", "aug_subspace", "aug_strength", "kappa",
            "norm_target"}


def load_spec(path: str) -> dict:
    """Read the class specification from a .json or .toml file (no code execution)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            with open(p, "rb") as f:
                spec = tomllib.load(f)
        else:
            with open(p, "r", encoding="utf-8") as f:
                spec = json.load(f)
    except OSError as e:
        raise ValueError(f"--classes: cannot read {path} ({e.strerror or e})") from None
    except (json.JSONDecodeError, ValueError) as e:
        raise ValueError(f"--classes: {path} is not valid {p.suffix.lstrip('.') or 'JSON'} ({e})") from None
    if not isinstance(spec, dict):
        raise ValueError("--classes: the file must hold one object with 'means' and 'proportions'")
    return spec


def build_from_spec(spec: dict, sigma2: Optional[float] = None) -> tuple[im.ClassProblem, dict]:
    """The :class:`~landscape.imbalance.ClassProblem` and the normalization settings of a spec."""
    unknown = sorted(set(spec) - _ALLOWED)
    if unknown:
        raise ValueError(f"unknown field(s) in the class file: {', '.join(unknown)}")
    for field in ("means", "proportions"):
        if field not in spec:
            raise ValueError(f"the class file needs the field '{field}'")
    aug = {k: spec[k] for k in ("aug_var", "aug_cov", "aug_subspace") if k in spec}
    if sigma2 is not None:
        if aug:
            raise ValueError("give the augmentation either in the class file or with --sigma2, not both")
        aug = {"aug_var": sigma2}
    if "aug_subspace" in aug:
        aug["aug_strength"] = spec.get("aug_strength", 1.0)
    cp = im.class_problem(spec["means"], spec["proportions"], within_cov=spec.get("within_cov", 0.0), **aug)
    kappa = spec.get("kappa")
    if kappa is not None:
        kappa = float(kappa)
        if not kappa >= 0:
            raise ValueError(f"kappa must be >= 0 (or \"inf\"), got {spec.get('kappa')!r}")
    return cp, {"kappa": kappa, "norm_target": float(spec.get("norm_target", 1.0))}


def _two_class_pc(cp: im.ClassProblem, loss: str, weight_decay: float, beta: float) -> Optional[float]:
    """Closed-form p_c when K = 2 and the class direction is an eigen-direction of S_w and C."""
    if cp.n_classes != 2:
        return None
    u = cp.directions[0]
    c = np.asarray(cp.problem.aug_cov, dtype=float)
    for m in (cp.within_cov, c):
        mu = m @ u
        if np.linalg.norm(mu - (u @ mu) * u) > 1e-9 * max(1.0, np.abs(m).max()):
            return None
    sep = float(np.linalg.norm(cp.means[0] - cp.means[1]))
    try:
        return im.critical_proportion(sep, float(u @ cp.within_cov @ u), float(u @ c @ u), loss,
                                      weight_decay=weight_decay, beta=beta)
    except ValueError:
        return None


def class_report(cp: im.ClassProblem, *, loss: str = "infonce", weight_decay: float = 0.0, beta: float = 0.5,
                 quartic: float = 1.0, out_dim: Optional[int] = None, kappa: Optional[float] = None,
                 norm_target: float = 1.0) -> dict:
    """JSON-ready report: per class its proportion, direction, variances and fate, plus p_c when closed-form."""
    rep = im.solve_classes(cp, loss, weight_decay=weight_decay, beta=beta, quartic=quartic, kappa=kappa,
                           norm_target=norm_target, out_dim=out_dim)
    classes = []
    for k in range(cp.n_classes):
        classes.append({
            "class": k,
            "proportion": float(cp.proportions[k]),
            "direction": [float(v) for v in cp.directions[k]],
            "direction_variance": float(rep.direction_variance[k]),
            "representation_variance": float(rep.representation_variance[k]),
            "collapsed": bool(rep.collapsed[k]),
        })
    pc = _two_class_pc(cp, loss, weight_decay, beta) if kappa is None else None
    return {
        "command": "solve",
        "problem": "classes",
        "loss": loss,
        "weight_decay": weight_decay,
        "beta": beta,
        "normalization": None if kappa is None else {"kappa": "inf" if np.isinf(kappa) else kappa,
                                                      "norm_target": norm_target},
        "mixture_centred": True,
        "center": [float(v) for v in cp.center],
        "rank": int(rep.rank),
        "classes": classes,
        "critical_proportion": pc,
    }


def format_report(report: dict) -> str:
    """A short text table of a class report."""
    lines = [f"class directions under {report['loss']} (γ = {report['weight_decay']:g}); rank {report['rank']}",
             f"{'class':>5} {'p':>8} {'a_k':>11} {'v_k':>11}  fate"]
    for c in report["classes"]:
        fate = "collapsed" if c["collapsed"] else "kept"
        lines.append(f"{c['class']:>5} {c['proportion']:>8.4g} {c['direction_variance']:>11.5g} "
                     f"{c['representation_variance']:>11.5g}  {fate}")
    if report["critical_proportion"] is not None:
        lines.append(f"critical minority proportion p_c = {report['critical_proportion']:.6g}")
    return "\n".join(lines)


def _run(args) -> int:
    from landscape.cli import CLIError, _dump

    for opt, val in (("--a", args.a), ("--c", args.c), ("--data-cov", args.data_cov), ("--aug-cov", args.aug_cov)):
        if val is not None:
            raise CLIError(f"--classes defines the problem; do not combine it with {opt}")
    if args.loss not in ("infonce", "beta-infonce", "spectral", "barlow-twins"):
        raise CLIError(f"--classes supports --loss infonce, beta-infonce, spectral or barlow-twins, got {args.loss}")
    try:
        sigma2 = None if args.sigma2 is None else float(args.sigma2)
        spec = load_spec(args.classes)
        cp, extra = build_from_spec(spec, sigma2)
        out_dim = None if args.out_dim is None else int(args.out_dim)
        report = class_report(cp, loss=args.loss, weight_decay=float(args.weight_decay), beta=float(args.beta),
                              quartic=float(args.quartic), out_dim=out_dim, **extra)
    except ValueError as e:
        raise CLIError(str(e)) from None
    print(_dump(report) if args.json else format_report(report))
    return 0


class _ClassesAction(argparse.Action):
    """Store the file name and route ``solve`` to the class-structured handler."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.handler = _run


def register_solve_classes(p: argparse.ArgumentParser) -> None:
    """Add ``--classes FILE`` to the ``solve`` parser (the problem options are then not needed)."""
    p.add_argument("--classes", metavar="FILE.json", action=_ClassesAction, default=None,
                   help="class-structured problem (means, proportions, covariances) from a JSON or TOML file; "
                        "reports each class direction's fate")
