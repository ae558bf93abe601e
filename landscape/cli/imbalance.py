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

The mixture is centred before A0 is formed (see :mod:`landscape.studies.class_imbalance`).
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
import math
from pathlib import Path

import numpy as np

from landscape.cli._common import (
    COMMON_FIELDS,
    CLIError,
    dump,
    library_errors,
    parse_float,
    parse_int,
    require_size,
)
from landscape.studies import class_imbalance as im

__all__ = ["load_spec", "build_from_spec", "class_report", "register_solve_classes", "format_report"]

_ALLOWED = {
    "means",
    "proportions",
    "within_cov",
    "aug_var",
    "aug_cov",
    "aug_subspace",
    "aug_strength",
    "kappa",
    "norm_target",
}


def load_spec(path: str) -> dict:
    """Read the class specification from a .json or .toml file (no code execution).

    Errors are ``ValueError``; the caller names the file.
    """
    p = Path(path)
    kind = "TOML" if p.suffix.lower() == ".toml" else "JSON"
    try:
        if kind == "TOML":
            import tomllib

            with open(p, "rb") as f:
                spec = tomllib.load(f)
        else:
            with open(p, encoding="utf-8") as f:
                spec = json.load(f)
    except OSError as e:
        raise ValueError(f"cannot read the file ({e.strerror or e})") from None
    except ValueError as e:  # json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError
        raise ValueError(f"not valid {kind} ({' '.join(str(e).split())})") from None
    if not isinstance(spec, dict):
        raise ValueError(
            f"the file must hold one {kind} object with 'means' and 'proportions', got a {type(spec).__name__}"
        )
    return spec


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _nesting(value) -> int:
    return 1 + max((_nesting(v) for v in value), default=0) if isinstance(value, list) else 0


def _numbers(value, field: str, max_ndim: int) -> np.ndarray:
    """A number, a list of numbers or a list of rows of numbers as a float array.

    Raises ValueError naming the field, and the row and column of the first
    entry that is not a finite number (booleans and strings are not numbers).

    >>> _numbers([[1, 2.5], [0, 1]], "means", 2).tolist()
    [[1.0, 2.5], [0.0, 1.0]]
    >>> _numbers([[1, 2], [0, "x"]], "means", 2)
    Traceback (most recent call last):
    ...
    ValueError: means row 1, column 1 must be a number, got 'x'
    """
    ndim = _nesting(value)
    what = ("a number", "a number or a list of numbers", "a number, a list or a list of rows")[max_ndim]
    if ndim > max_ndim:
        raise ValueError(f"{field} must be {what}, got {ndim} levels of nested lists")

    def where(idx) -> str:
        if not idx:
            return field
        if ndim == 2:
            return f"{field} row {idx[0]}" + (f", column {idx[1]}" if len(idx) > 1 else "")
        return f"{field} entry {idx[0]}"

    def check(v, idx):
        if isinstance(v, list):
            if ndim == 2 and len(idx) == 0 and v and isinstance(v[0], list):
                for i, row in enumerate(v):
                    if not isinstance(row, list) or len(row) != len(v[0]):
                        got = f"{len(row)} entries" if isinstance(row, list) else _show(row)
                        raise ValueError(f"{where((i,))} must be a list of {len(v[0])} numbers like row 0, got {got}")
            for i, x in enumerate(v):
                check(x, idx + (i,))
            return
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{where(idx)} must be {what if not idx else 'a number'}, got {_show(v)}")
        try:
            finite = math.isfinite(float(v))
        except OverflowError:  # an integer beyond the float range
            finite = False
        if not finite:
            raise ValueError(f"{where(idx)} must be finite, got {_show(v)}")

    check(value, ())
    if ndim == 2 and not all(isinstance(row, list) for row in value):
        first = next(i for i, row in enumerate(value) if not isinstance(row, list))
        raise ValueError(f"{where((first,))} must be a list of numbers, got {_show(value[first])}")
    return np.asarray(value, dtype=float)


# Field → deepest nesting allowed (0 number, 1 list, 2 list of rows).
_FIELD_NDIM = {
    "means": 2,
    "proportions": 1,
    "within_cov": 2,
    "aug_var": 0,
    "aug_cov": 2,
    "aug_subspace": 2,
    "aug_strength": 1,
    "norm_target": 0,
}


def build_from_spec(spec: dict, sigma2: float | None = None) -> tuple[im.ClassProblem, dict]:
    """The :class:`~landscape.studies.class_imbalance.ClassProblem` and the normalization settings of a spec.

    Every field is checked before the problem is built: a ValueError names the
    field, and the row and column of a bad entry.
    """
    from landscape.core.validation import require_memory

    unknown = sorted(set(spec) - _ALLOWED)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(_ALLOWED))}")
    for field in ("means", "proportions"):
        if field not in spec:
            raise ValueError(f"the field '{field}' is missing")
    arrays = {k: _numbers(v, k, _FIELD_NDIM[k]) for k, v in spec.items() if k in _FIELD_NDIM}
    for i, p in enumerate(np.atleast_1d(arrays["proportions"])):
        if not 0.0 < p < 1.0:
            raise ValueError(f"proportions entry {i} must be in (0, 1), got {p:g}")
    d = arrays["means"].shape[-1] if arrays["means"].ndim == 2 else 0
    # A0, C, Σ and the solver's d×d matrices.
    require_memory(8.0 * 8 * d * d, f"means of dimension d = {d}")
    aug = {k: arrays[k] for k in ("aug_var", "aug_cov", "aug_subspace") if k in arrays}
    if sigma2 is not None:
        if aug:
            raise ValueError("give the augmentation either in the class file or with --sigma2, not both")
        aug = {"aug_var": sigma2}
    if "aug_subspace" in aug:
        aug["aug_strength"] = arrays.get("aug_strength", 1.0)
    cp = im.class_problem(arrays["means"], arrays["proportions"], within_cov=arrays.get("within_cov", 0.0), **aug)
    kappa = spec.get("kappa")
    if kappa is not None:
        if kappa == "inf":
            kappa = math.inf
        elif isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not kappa >= 0:
            raise ValueError(f'kappa must be a number >= 0 or "inf" (hard normalization), got {_show(kappa)}')
    norm_target = float(arrays.get("norm_target", 1.0))
    if not norm_target > 0:
        raise ValueError(f"norm_target must be > 0, got {norm_target:g}")
    return cp, {"kappa": None if kappa is None else float(kappa), "norm_target": norm_target}


def _two_class_pc(cp: im.ClassProblem, loss: str, weight_decay: float, beta: float) -> float | None:
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
        return im.critical_proportion(
            sep, float(u @ cp.within_cov @ u), float(u @ c @ u), loss, weight_decay=weight_decay, beta=beta
        )
    except ValueError:
        return None


def class_report(
    cp: im.ClassProblem,
    *,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    beta: float = 0.5,
    quartic: float = 1.0,
    out_dim: int | None = None,
    kappa: float | None = None,
    norm_target: float = 1.0,
) -> dict:
    """JSON-ready report: per class its proportion, direction, variances and fate, plus p_c when closed-form."""
    rep = im.solve_classes(
        cp,
        loss,
        weight_decay=weight_decay,
        beta=beta,
        quartic=quartic,
        kappa=kappa,
        norm_target=norm_target,
        out_dim=out_dim,
    )
    classes = []
    for k in range(cp.n_classes):
        classes.append(
            {
                "class": k,
                "proportion": float(cp.proportions[k]),
                "direction": [float(v) for v in cp.directions[k]],
                "direction_variance": float(rep.direction_variance[k]),
                "representation_variance": float(rep.representation_variance[k]),
                "collapsed": bool(rep.collapsed[k]),
            }
        )
    pc = _two_class_pc(cp, loss, weight_decay, beta) if kappa is None else None
    return {
        "command": "solve",
        "problem": "classes",
        "loss": loss,
        "weight_decay": weight_decay,
        "beta": beta,
        "normalization": None
        if kappa is None
        else {"kappa": "inf" if np.isinf(kappa) else kappa, "norm_target": norm_target},
        "mixture_centred": True,
        "center": [float(v) for v in cp.center],
        "rank": int(rep.rank),
        "classes": classes,
        "critical_proportion": pc,
    }


def format_report(report: dict) -> str:
    """A short text table of a class report."""
    lines = [
        f"class directions under {report['loss']} (γ = {report['weight_decay']:g}); rank {report['rank']}",
        f"{'class':>5} {'p':>8} {'a_k':>11} {'v_k':>11}  fate",
    ]
    for c in report["classes"]:
        fate = "collapsed" if c["collapsed"] else "kept"
        lines.append(
            f"{c['class']:>5} {c['proportion']:>8.4g} {c['direction_variance']:>11.5g} "
            f"{c['representation_variance']:>11.5g}  {fate}"
        )
    if report["critical_proportion"] is not None:
        lines.append(f"critical minority proportion p_c = {report['critical_proportion']:.6g}")
    return "\n".join(lines)


def _run(args) -> int:
    for opt, val in (("--a", args.a), ("--c", args.c), ("--data-cov", args.data_cov), ("--aug-cov", args.aug_cov)):
        if val is not None:
            raise CLIError(f"--classes defines the problem; do not combine it with {opt}")
    if args.loss not in ("infonce", "beta-infonce", "spectral", "barlow-twins"):
        raise CLIError(f"--classes supports --loss infonce, beta-infonce, spectral or barlow-twins, got {args.loss}")
    sigma2 = None if args.sigma2 is None else parse_float(args.sigma2, "--sigma2", low=0.0)
    weight_decay = parse_float(args.weight_decay, "--weight-decay", low=0.0)
    beta = parse_float(args.beta, "--beta", low=0.0, high=1.0, low_inclusive=False)
    quartic = parse_float(args.quartic, "--quartic", low=0.0, low_inclusive=False)
    out_dim = None if args.out_dim is None else parse_int(args.out_dim, "--out-dim", low=1)
    try:
        cp, extra = build_from_spec(load_spec(args.classes), sigma2)
    except ValueError as e:
        raise CLIError(f"--classes {args.classes}: {e}") from None
    if out_dim is not None:
        require_size(cp.problem.dim, out_dim, "--classes", out_dim_given=True)
    with library_errors(COMMON_FIELDS):
        report = class_report(
            cp, loss=args.loss, weight_decay=weight_decay, beta=beta, quartic=quartic, out_dim=out_dim, **extra
        )
    print(dump(report) if args.json else format_report(report))
    return 0


class _ClassesAction(argparse.Action):
    """Store the file name and route ``solve`` to the class-structured handler."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.handler = _run


def register_solve_classes(p: argparse.ArgumentParser) -> None:
    """Add ``--classes FILE`` to the ``solve`` parser (the problem options are then not needed)."""
    p.add_argument(
        "--classes",
        metavar="FILE.json",
        action=_ClassesAction,
        default=None,
        help="class-structured problem (means, proportions, covariances) from a JSON or TOML file; "
        "reports each class direction's fate",
    )
