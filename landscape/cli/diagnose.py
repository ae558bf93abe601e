r"""``landscape diagnose``: predict the collapse of a projector from two views of real features.

``landscape diagnose --views V1.npy V2.npy`` reads two n×d arrays (the features of the
same n inputs under two independent augmentations, row i of each from input i),
estimates A0 and C (:mod:`landscape.diagnosis.estimate`) and prints the prediction of
:func:`landscape.diagnosis.diagnose` for the loss options of ``solve``: the predicted
rank and, per direction in order of decreasing estimated data variance, kept /
collapsed / undecided (``--bootstrap N``), the critical weight decay and the critical
augmentation scale.  ``--last-layer W.npy`` compares a trained last layer (out × d)
with the prediction (:func:`landscape.diagnosis.compare`); ``--plot PATH`` draws
predicted against measured spectra (:mod:`landscape.plot.diagnosis_figures`).
``--kappa K`` (a number > 0, or ``inf``) predicts under the norm penalty κ(E‖f‖² − c)²
with ``--norm-target C`` (:mod:`landscape.diagnosis.normalized`), and ``--bias`` with it
models a projector with a bias (WS Theorem 2); the comparison and the plot then use the
normalized minimum.

Files are read with ``allow_pickle=False``.  ``--plot`` never replaces a file that
this command did not write (it marks its figures in their metadata).  The JSON has no
NaN: an undefined number is ``null`` and ``null_reasons`` says why.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from landscape.cli._common import (
    COMMON_FIELDS,
    EXIT_OK,
    CLIError,
    Parser,
    add_loss_options,
    dump,
    fmt_cell,
    library_errors,
    load_npy,
    loss_parameters,
    num,
    nums,
    parse_float,
    parse_int,
    parse_seed,
    require_bytes,
)

__all__ = ["register", "diagnose_report", "format_diagnose", "PLOT_MARK"]

#: The metadata mark of the figures this command writes: only a file carrying it is replaced.
PLOT_MARK = "landscape diagnose"
_PLOT_METADATA = {".png": "Software", ".pdf": "Creator", ".svg": "Creator"}
_MAX_MARK_SCAN = 256 * 2**20  # a file larger than this is never ours
MAX_BOOTSTRAP = 100_000
#: Why a metric may be undefined (NaN in the library, null in the JSON).
_METRIC_REASONS = {
    "alpha_req": "fewer than two eigenvalues of the embedding covariance above 1e-6 of the largest",
    "augmentation_variance_fraction": "the embeddings do not vary between inputs",
    "rankme": "needs the embeddings of the views",
    "normalized_std": "needs the embeddings of the views",
}


# --------------------------------------------------------------------------- inputs
def _views(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from landscape.diagnosis.estimate import as_views

    v1, v2 = (load_npy(p, f"--views {p}") for p in paths)
    names = (f"--views {paths[0]} (view 1)", f"--views {paths[1]} (view 2)")
    with library_errors({}):
        x1, x2 = as_views(v1, v2, names=names)
    return np.asarray(x1), np.asarray(x2)


def _last_layer(path: str, d: int) -> np.ndarray:
    w = load_npy(path, f"--last-layer {path}")
    if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] != d:
        raise CLIError(
            f"--last-layer {path}: the last layer must be an out×{d} matrix (input dimension {d}, the columns "
            f"of --views); got shape {w.shape}"
        )
    if not np.all(np.isfinite(w)):
        raise CLIError(f"--last-layer {path}: the weights have NaN or infinite entries")
    return w


def _shrinkage(text: str) -> float | str:
    if text.strip().lower().replace("_", "-") in ("ledoit-wolf", "lw"):
        return "ledoit-wolf"
    return parse_float(text, "--shrinkage", low=0.0, high=1.0)


def _normalization(kappa: str | None, norm_target: str | None, exact: bool, bias: bool = False) -> Any:
    """The Normalization of --kappa K (> 0 or inf), --norm-target C (> 0) and --bias, or None without --kappa."""
    from landscape.diagnosis.normalized import Normalization

    if kappa is None:
        if bias:
            raise CLIError(
                "--bias needs --kappa (a number > 0, or inf): without normalization a bias does not change the loss"
            )
        if norm_target is not None or exact:
            raise CLIError("--norm-target and --exact-thresholds need --kappa (a number > 0, or inf)")
        return None
    if kappa.strip().lower() in ("inf", "infinity"):
        k = math.inf
    else:
        k = parse_float(kappa, "--kappa", low=0.0, low_inclusive=False)
    c = 1.0 if norm_target is None else parse_float(norm_target, "--norm-target", low=0.0, low_inclusive=False)
    return Normalization(k, c, exact_thresholds=exact, bias=bias)


def _ours(path: Path) -> bool:
    try:
        if path.stat().st_size > _MAX_MARK_SCAN:
            return False
        return PLOT_MARK.encode() in path.read_bytes()
    except OSError:
        return False


def _check_plot(text: str | None) -> Path | None:
    """The --plot path, refused before any work if it would replace a file that is not ours."""
    if text is None:
        return None
    path = Path(text)
    if path.suffix.lower() not in _PLOT_METADATA:
        raise CLIError(f"--plot: {text} must end in .png, .pdf or .svg")
    if path.exists() and not path.is_file():
        raise CLIError(f"--plot: {text} exists and is not a file")
    if path.exists() and not _ours(path):
        raise CLIError(
            f"--plot: {text} exists and was not written by landscape diagnose; refusing to overwrite it "
            "(remove it or choose another path)"
        )
    folder = path.absolute().parent
    while not folder.exists():  # save_figure creates the missing folders
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        raise CLIError(f"--plot: cannot write under {folder} (permission denied)")
    return path


# --------------------------------------------------------------------------- report
def _finite_or_null(values: Any, key: str, reasons: dict[str, str], why: str) -> Any:
    """:func:`num` of each value, with NaN as None and its reason recorded under ``key``."""
    out = []
    for i, v in enumerate(np.atleast_1d(np.asarray(values, dtype=float)).tolist()):
        if math.isnan(v):
            reasons[f"{key}[{i}]" if np.ndim(values) else key] = why
            out.append(None)
        else:
            out.append(num(v))
    return out if np.ndim(values) else out[0]


def diagnose_report(
    views: tuple[np.ndarray, np.ndarray],
    params: dict[str, Any],
    *,
    last_layer: np.ndarray | None = None,
    rtol: float = 1e-2,
) -> tuple[dict, Any, Any]:
    """The ``diagnose`` JSON object, the Diagnosis and the Comparison (None without ``last_layer``).

    ``params``: loss, form, weight_decay, out_dim, bootstrap, seed, shrinkage, quartic and the
    loss parameters (alpha, beta, n_samples, invariance_weight).
    """
    import landscape as ls
    from landscape.diagnosis import compare, diagnose

    p: dict[str, Any] = dict(params)
    p.setdefault("normalization", None)
    quartic = p.pop("quartic")
    loss_kw = {k: p.pop(k) for k in ("alpha", "beta", "n_samples", "invariance_weight")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the messages come back in res.warnings
        res = diagnose(views[0], views[1], **p, **loss_kw)
    reasons: dict[str, str] = {}
    d = int(res.data_cov.shape[0])
    report: dict[str, Any] = {
        "command": "diagnose",
        "version": ls.__version__,
        "dtype": str(np.asarray(res.data_cov).dtype),
        "loss_name": p["loss"],
        "form": p["form"],
        "loss_parameters": {k: (None if v is None else num(v)) for k, v in loss_kw.items()},
        "quartic": num(quartic),
        "weight_decay": num(p["weight_decay"]),
        "dim": d,
        "n_samples": int(views[0].shape[0]),
        "out_dim": d if p["out_dim"] is None else int(p["out_dim"]),
        "shrinkage": p["shrinkage"] if isinstance(p["shrinkage"], str) else num(p["shrinkage"]),
        "bootstrap": int(p["bootstrap"]),
        "seed": int(p["seed"]),
        "predicted_rank": int(res.predicted_rank),
        "kept": list(res.kept),
        "critical_weight_decay": nums(res.critical_weight_decay),
        "critical_aug_scale": nums(res.critical_aug_scale),
        "data_variance": nums(res.data_variance),
        "b_eigenvalues": nums(res.b_eigenvalues),
        "b_interval": None if res.b_interval is None else np.asarray(res.b_interval, float).tolist(),
        "directions": np.asarray(res.directions, float).T.tolist(),
        "data_cov": np.asarray(res.data_cov, float).tolist(),
        "aug_cov": np.asarray(res.aug_cov, float).tolist(),
        "warnings": list(res.warnings),
    }
    report |= _normalized_fields(res, reasons)
    cmp = None
    if last_layer is not None:
        cmp = compare(
            res, last_layer, p["loss"], p["weight_decay"], p["out_dim"], p["form"],
            views=views, rtol=rtol, quartic=quartic, **loss_kw,
        )  # fmt: skip
        metrics = {
            k: _finite_or_null(v, f"metrics.{k}", reasons, f"undefined: {_METRIC_REASONS.get(k, 'NaN')}")
            for k, v in cmp.metrics.items()
        }
        report |= {
            "rtol": num(cmp.rtol),
            "measured_rank": int(cmp.measured_rank),
            "rank_agrees": int(cmp.measured_rank) == int(res.predicted_rank),
            "agreement": list(cmp.agreement),
            "measured_kept": list(cmp.measured_kept),
            "measured_spectrum": nums(cmp.measured_spectrum),
            "predicted_spectrum": nums(cmp.predicted_spectrum),
            "gram_eigenvalues": nums(cmp.gram_eigenvalues),
            "metrics": metrics,
        }
    report["null_reasons"] = reasons
    return report, res, cmp


def _normalized_fields(res: Any, reasons: dict[str, str]) -> dict[str, Any]:
    """The fields of a normalized prediction (null without normalization; NaN on null directions → null)."""
    norm = res.normalization
    keys = ("whitened_eigenvalues", "survival_margin", "margin_interval", "revival_weight_decay", "revival_aug_scale")
    if norm is None:
        return {"normalization": None, "bias_norm_sq": None} | dict.fromkeys(keys)
    why = "a direction without variance (Σ = 0 there): the whitened problem does not reach it"
    out: dict[str, Any] = {
        "normalization": {
            "kappa": num(norm.kappa),
            "norm_target": num(norm.norm_target),
            "exact_thresholds": bool(norm.exact_thresholds),
            "bias": bool(norm.bias),
        },
        "bias_norm_sq": None if res.bias_norm_sq is None else num(res.bias_norm_sq),
    }
    for key in keys:
        value = getattr(res, key)
        if value is None:
            out[key] = None
        elif np.ndim(value) == 2:
            out[key] = [_finite_or_null(row, f"{key}[{i}]", reasons, why) for i, row in enumerate(np.asarray(value))]
        else:
            out[key] = _finite_or_null(value, key, reasons, why)
    return out


def _word(k: bool | None) -> str:
    return "undecided" if k is None else "kept" if k else "collapsed"


def format_diagnose(report: dict) -> str:
    """A readable text table of a ``diagnose`` report."""
    lines = [
        f"landscape {report['version']} diagnose: loss {report['loss_name']}, {report['form']} form, "
        f"γ={report['weight_decay']:g}, n={report['n_samples']}, d={report['dim']}, d1={report['out_dim']}, "
        f"{report['dtype']}",
        f"predicted rank: {report['predicted_rank']}"
        + (
            f"   measured rank: {report['measured_rank']} (rtol {report['rtol']:g})"
            if "measured_rank" in report
            else ""
        ),
        "",
    ]
    head = f"{'dir':>4}{'data var':>11}{'b_i':>11}{'crit γ':>11}{'crit C×':>11}{'predicted':>11}"
    measured = "measured_kept" in report
    if measured:
        head += f"{'‖W u_i‖²':>12}{'measured':>11}{'agree':>7}"
    lines.append(head)
    for i in range(report["dim"]):
        row = f"{i:>4}" + "".join(
            fmt_cell(report[k][i])
            for k in ("data_variance", "b_eigenvalues", "critical_weight_decay", "critical_aug_scale")
        )
        row += f"{_word(report['kept'][i]):>11}"
        if measured:
            agree = report["agreement"][i]
            row += fmt_cell(report["measured_spectrum"][i], 12) + f"{_word(report['measured_kept'][i]):>11}"
            row += f"{'-' if agree is None else 'yes' if agree else 'no':>7}"
        lines.append(row)
    lines.append("directions: eigenvectors of B, in order of decreasing estimated data variance u_iᵀA0u_i")
    if measured:
        shown = ", ".join(f"{k} {'null' if v is None else f'{v:.4g}'}" for k, v in report["metrics"].items())
        lines.append(f"metrics of the embeddings: {shown}")
    norm = report["normalization"]
    if norm is not None:
        lines.append(
            f"normalization: κ = {fmt_cell(norm['kappa']).strip()}, c = {fmt_cell(norm['norm_target']).strip()}; "
            "directions Σ^{-1/2}-whitened, kept ⇔ survival margin > 0, b_i = v_iᵀBv_i"
        )
        if norm["bias"]:
            b2 = report["bias_norm_sq"]
            branch = "b ≠ 0: the unnormalized minimum, margin = ℓ" if b2 > 0 else "b = 0: the normalized minimum"
            lines.append(f"bias: ‖b‖² = {b2:.6g} ({branch})")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def _plot(path: Path, res: Any, cmp: Any) -> None:
    from landscape.diagnosis import predicted_spectrum
    from landscape.plot import new_figure, save_figure
    from landscape.plot.diagnosis_figures import spectrum_comparison

    fig, ax = new_figure()
    if cmp is None:
        spectrum_comparison(ax, predicted_spectrum(res)[0], kept=res.kept, title="predicted spectrum")
    else:
        spectrum_comparison(
            ax, cmp.predicted_spectrum, cmp.measured_spectrum, kept=res.kept, rtol=cmp.rtol,
            measured_scale=float(cmp.gram_eigenvalues[0]), title="predicted and measured spectra",
        )  # fmt: skip
    try:
        save_figure(fig, path, metadata={_PLOT_METADATA[path.suffix.lower()]: PLOT_MARK})
    except OSError as e:
        raise CLIError(f"--plot: cannot write {path} ({e.strerror or e})") from None


# --------------------------------------------------------------------------- command
def _run(args: argparse.Namespace) -> int:
    params = loss_parameters(args)
    params.update(
        loss=args.loss,
        form=args.form,
        out_dim=None if args.out_dim is None else parse_int(args.out_dim, "--out-dim", low=1),
        bootstrap=parse_int(args.bootstrap, "--bootstrap", low=0, high=MAX_BOOTSTRAP),
        seed=parse_seed(args.seed),
        shrinkage=_shrinkage(args.shrinkage),
        normalization=_normalization(args.kappa, args.norm_target, args.exact_thresholds, args.bias),
    )
    rtol = parse_float(args.rtol, "--rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    plot = _check_plot(args.plot)
    views = _views(args.views)
    n, d = views[0].shape
    last = None if args.last_layer is None else _last_layer(args.last_layer, d)
    require_bytes(
        8.0 * (3 * params["bootstrap"] * n * d + 10 * d * d), f"--bootstrap {params['bootstrap']} (n={n}, d={d})"
    )
    mapping = dict(COMMON_FIELDS, shrinkage="--shrinkage", bootstrap="--bootstrap")
    with library_errors(mapping):
        report, res, cmp = diagnose_report(views, params, last_layer=last, rtol=rtol)
    for w in report["warnings"]:
        print(f"landscape diagnose: warning: {w}", file=sys.stderr)
    if plot is not None:
        _plot(plot, res, cmp)
    report["plot"] = None if plot is None else str(plot)
    print(dump(report) if args.json else format_diagnose(report))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[Parser]) -> argparse.ArgumentParser:
    """Add ``diagnose`` to ``landscape``'s subparsers; returns its parser."""
    p = subparsers.add_parser(
        "diagnose",
        help="predict a projector's collapse from two views of real features",
        description="Estimate A0 and C from two views and predict the kept and collapsed directions, the "
        "critical weight decay and augmentation scale; compare with a trained last layer.",
    )
    p.add_argument(
        "--views", nargs=2, required=True, metavar=("V1.npy", "V2.npy"),
        help="the n×d features of the same inputs under two independent augmentations",
    )  # fmt: skip
    add_loss_options(p)
    g = p.add_argument_group("estimation and comparison")
    g.add_argument("--bootstrap", default="0", metavar="N", help="bootstrap replicates; 0: no intervals (default)")
    g.add_argument("--seed", default="0", help="seed of the bootstrap (default 0)")
    g.add_argument(
        "--shrinkage", default="0", metavar="RHO",
        help="shrink A0 and C toward the scaled identity: ρ in [0, 1] or ledoit-wolf (default 0)",
    )  # fmt: skip
    g.add_argument(
        "--kappa", metavar="K",
        help="predict under the norm penalty κ(E‖f‖² − c)²: κ > 0, or inf for hard normalization (default: none)",
    )  # fmt: skip
    g.add_argument("--norm-target", metavar="C", help="with --kappa: the target c > 0 of E‖f‖² (default 1)")
    g.add_argument(
        "--exact-thresholds", action="store_true",
        help="with --kappa: critical values by the exact scan (slow for large d) instead of along the fixed directions",
    )  # fmt: skip
    g.add_argument(
        "--bias", action="store_true",
        help="with --kappa: the projector has a bias, f = Wx + b (WS Theorem 2); predict the minimum over (W, b)",
    )  # fmt: skip
    g.add_argument("--last-layer", metavar="W.npy", help="a trained last layer (out × d) to compare with")
    g.add_argument(
        "--rtol", default="0.01",
        help="with --last-layer: a direction is measured kept when ‖W u_i‖ > rtol·σ_max(W) (default 0.01)",
    )  # fmt: skip
    g.add_argument("--plot", metavar="PATH", help="figure of predicted (and measured) spectra: .png, .pdf or .svg")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(handler=_run)
    return p
