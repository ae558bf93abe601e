r"""Command-line subcommands for geometry and idealized representations.

Registered into ``landscape`` by :func:`register`:

``ideal``            Theorem 1 verifier on a table of codes (``--codes``, ``--labels``)
``two-layer``        encoder vs projector sweep over augmentation strength σ
``two-layer-phase``  AVF(encoder) − AVF(projector) over init scale × σ
``cover``            Cover's counts of separable dichotomies (optionally by brute force)
``worst-risk``       worst-case probe risk W_n over (C, n)
``dissl``            the per-batch DISSL optimum over (λ, β)

Every subcommand prints a short text summary, or one JSON object with
``--json``.  Bad input exits with code 2 and one line on stderr that names the
argument.  ``.npy`` files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from landscape.cli._common import (
    HANDLER_FIELDS,
    MAX_STEPS,
    CLIError,
    Parser,
    dump,
    library_errors,
    load_npy,
    num,
    nums,
    parse_float,
    parse_float_list,
    parse_int,
    parse_seed,
    read_npy,
    require_bytes,
)

__all__ = ["register"]

_COMMANDS = ("ideal", "two-layer", "two-layer-phase", "cover", "worst-risk", "dissl")


def _load_labels(path: str, opt: str) -> np.ndarray:
    arr = read_npy(path, opt)
    if arr.dtype.kind in "iu":
        out = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise CLIError(f"{opt}: {path} must hold integer class labels")
        out = arr.astype(np.int64)
    else:
        raise CLIError(f"{opt}: {path} must hold integer class labels, got dtype {arr.dtype}")
    if out.ndim != 1:
        raise CLIError(f"{opt}: labels must be a vector (n,), got shape {out.shape}")
    return out


# ----------------------------------------------------------------------------- ideal
def _run_ideal(args) -> int:
    from landscape.studies import idealized as ideal

    tol = parse_float(args.tol, "--tol", low=0.0)
    codes = load_npy(args.codes, "--codes")
    if codes.ndim != 2 or codes.shape[0] < 1 or codes.shape[1] < 1:
        raise CLIError(f"--codes: codes must be an n×d matrix, got shape {codes.shape}")
    if not np.all(np.isfinite(codes)):
        raise CLIError("--codes: codes contains NaN or infinite entries")
    labels = _load_labels(args.labels, "--labels")
    if labels.shape[0] != codes.shape[0]:
        raise CLIError(f"--labels: expected {codes.shape[0]} labels (one per row of --codes), got {labels.shape[0]}")
    try:
        rep = ideal.verify_ideal(codes, labels, tol=tol)
    except ValueError as e:
        raise CLIError(f"--codes/--labels: {e}") from None
    out = rep.to_dict()
    out["tol"] = tol
    if args.json:
        print(dump({k: num(v) if not isinstance(v, list) else v for k, v in out.items()}))
    else:
        print(
            f"classes C = {rep.n_classes}, centred rank = {rep.centred_rank} (need >= {rep.n_classes - 1}), "
            f"uncentred rank = {rep.uncentred_rank}"
        )
        print(
            f"invariant: {rep.invariant} (max within-class distance {rep.max_within_class:.3g}, "
            f"allowed {tol:g} x scale {rep.scale:.3g})"
        )
        print(f"linearly predictable: {rep.linearly_predictable}")
        print(f"dimension >= C-1: {rep.dimension_ok}")
        print(f"ideal: {rep.ideal}" + ("" if rep.ideal else f" (fails: {', '.join(rep.failed)})"))
    return 0


# ----------------------------------------------------------------------------- two-layer
def _problem_from_args(args):
    from landscape.studies import encoder_projector as tl

    if args.signal_var is None and args.aug_var is None:
        return tl.overlap_config()
    if args.signal_var is None or args.aug_var is None:
        raise CLIError("--signal-var and --aug-var must be given together")
    s = parse_float_list(args.signal_var, "--signal-var")
    a = parse_float_list(args.aug_var, "--aug-var")
    if s.size != a.size:
        raise CLIError(f"--signal-var and --aug-var must have the same length, got {s.size} and {a.size}")
    for name, v in (("--signal-var", s), ("--aug-var", a)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise CLIError(f"{name} must be finite variances >= 0")
    if not np.any(s > 0):
        raise CLIError("--signal-var must have at least one positive variance")
    return np.diag(s), np.diag(a)


def _positive_list(text, opt, *, allow_zero=False) -> np.ndarray:
    v = parse_float_list(text, opt)
    bad = (v < 0) if allow_zero else (v <= 0)
    if not np.all(np.isfinite(v)) or np.any(bad):
        raise CLIError(f"{opt} must be finite values {'>= 0' if allow_zero else '> 0'}, got {text!r}")
    return v


def _train_options(args, d: int) -> dict:
    hidden = d if args.hidden is None else parse_int(args.hidden, "--hidden", low=1)
    out_dim = parse_int(args.out_dim, "--out-dim", low=1)
    # One σ at a time: W1 (h×D), W2 (p×h) with gradients and saved copies, and h×h, p×p, D×D products.
    require_bytes(
        8.0 * (6 * (hidden * d + out_dim * hidden) + 3 * (hidden**2 + out_dim**2 + d * d)),
        f"--hidden {hidden} and --out-dim {out_dim} (with D = {d})",
    )
    return dict(
        hidden=hidden,
        out_dim=out_dim,
        steps=parse_int(args.steps, "--steps", low=1, high=MAX_STEPS),
        weight_decay=parse_float(args.weight_decay, "--weight-decay", low=0.0),
    )


def _run_two_layer(args) -> int:
    import jax

    from landscape.studies import encoder_projector as tl

    s, a = _problem_from_args(args)
    sigmas = _positive_list(args.sigmas, "--sigmas", allow_zero=True)
    opts = _train_options(args, s.shape[0])
    init_scale = parse_float(args.init_scale, "--init-scale", low=0.0, low_inclusive=False)
    seed = parse_seed(args.seed)
    _, u_aug, k_clean = tl.subspace_geometry(s, a)
    if u_aug.shape[1] == 0 or k_clean == 0:
        # The report compares each layer with the augmented and with the clean signal subspace.
        raise CLIError(
            "--signal-var/--aug-var: two-layer needs an augmented direction (--aug-var > 0) and a clean "
            "signal direction (--signal-var > 0 where --aug-var = 0)"
        )
    with library_errors(HANDLER_FIELDS):
        res = tl.augmentation_sweep(
            s, a, sigmas, key=jax.random.PRNGKey(seed), init_scale=init_scale, safeguard=args.safeguard, **opts
        )
    rep = res.report
    out = {
        "model": "two-layer linear, spectral contrastive loss; encoder h = W1 x, projector z = W2 h",
        "dim": int(s.shape[0]),
        "init_scale": init_scale,
        "seed": seed,
        **opts,
        "sigma": nums(res.sigmas),
        "loss": nums(res.loss),
        "optimal_loss": nums(res.optimal_loss),
        "optimal_avf_projector": nums(res.optimal_avf),
        "optimal_erank_projector": nums(res.optimal_erank),
        "balanced_avf_encoder": nums(res.balanced_avf_encoder),
        "diverged": [bool(v) for v in np.asarray(res.diverged)],
    }
    for field in rep._fields:
        out[field] = nums(getattr(rep, field))
    if args.json:
        print(dump(out))
        return 0
    print(
        f"two-layer linear model, D = {out['dim']}, h = {opts['hidden']}, p = {opts['out_dim']}, "
        f"init scale {init_scale:g}, {opts['steps']} steps, weight decay {opts['weight_decay']:g}"
    )
    print(
        f"{'sigma':>6} {'loss':>9} {'L*':>9} {'AVF enc':>8} {'AVF proj':>8} {'erank enc':>9} "
        f"{'erank proj':>10} {'R2 enc':>7} {'R2 proj':>7}"
    )
    for i, sg in enumerate(out["sigma"]):
        print(
            f"{sg:6.3g} {out['loss'][i]:9.4f} {out['optimal_loss'][i]:9.4f} {out['avf_encoder'][i]:8.4f} "
            f"{out['avf_projector'][i]:8.4f} {out['erank_encoder'][i]:9.3f} {out['erank_projector'][i]:10.3f} "
            f"{out['r2_encoder'][i]:7.4f} {out['r2_projector'][i]:7.4f}"
        )
    return 0


def _run_two_layer_phase(args) -> int:
    import jax

    from landscape.studies import encoder_projector as tl

    s, a = _problem_from_args(args)
    sigmas = _positive_list(args.sigmas, "--sigmas", allow_zero=True)
    scales = _positive_list(args.init_scales, "--init-scales")
    opts = _train_options(args, s.shape[0])
    seed = parse_seed(args.seed)
    with library_errors(HANDLER_FIELDS):
        pd = tl.init_scale_phase_diagram(s, a, sigmas, scales, key=jax.random.PRNGKey(seed), **opts)
    out = {
        "init_scales": nums(pd.init_scales),
        "sigmas": nums(pd.sigmas),
        "seed": seed,
        **opts,
        "gap": [nums(r) for r in np.asarray(pd.gap)],
        "avf_encoder": [nums(r) for r in np.asarray(pd.avf_encoder)],
        "avf_projector": [nums(r) for r in np.asarray(pd.avf_projector)],
        "loss_excess": [nums(r) for r in np.asarray(pd.loss_excess)],
        "converged": [[bool(v) for v in r] for r in np.asarray(pd.converged())],
        "optimal_loss": nums(np.asarray(pd.optimal_loss)[0]),
        "balanced_gap": nums(np.asarray(pd.balanced_gap)[0]),
    }
    if args.json:
        print(dump(out))
        return 0
    print("AVF(encoder) - AVF(projector); rows: init scale, columns: sigma ('*' = not converged, L - L* > 5% |L*|)")
    print(" " * 8 + "".join(f"{v:>9.3g}" for v in out["sigmas"]))
    for i, sc in enumerate(out["init_scales"]):
        cells = "".join(f"{g:8.3f}{' ' if ok else '*'}" for g, ok in zip(out["gap"][i], out["converged"][i]))
        print(f"{sc:8.3g}{cells}")
    print("balanced " + "".join(f"{v:9.3f}" for v in out["balanced_gap"]))
    return 0


# ----------------------------------------------------------------------------- cover / worst-risk / dissl
# Integer counts that are converted to float64 must stay exact there.
_EXACT_FLOAT_INT = 2**53
# Cover's counts are exact big-integer sums of up to C binomials: C = 1000 takes ~30 ms.
_MAX_COVER_POINTS = 1000


def _int_list(text, opt, low, high=_EXACT_FLOAT_INT) -> list[int]:
    """A comma-separated list of integers, each in [low, high]."""
    return [parse_int(t, f"each value of {opt}", low=low, high=high) for t in str(text).split(",")]


def _run_cover(args) -> int:
    from landscape.studies import idealized as ideal

    points = _int_list(args.points, "--points", 1, _MAX_COVER_POINTS)
    dims = _int_list(args.dims, "--dims", 0)
    seed = parse_seed(args.seed)
    if args.enumerate and max(points) > 12:
        raise CLIError("--points must be <= 12 with --enumerate (2^n linear programs)")
    if args.enumerate and max(dims) > 1000:
        raise CLIError("--dims must be <= 1000 with --enumerate (random points in R^d)")
    rows = []
    rng = np.random.default_rng(seed)
    for n in points:
        for d in dims:
            row: dict[str, Any] = {
                "points": n,
                "dim": d,
                "count": ideal.cover_count(n, d),
                "fraction": float(ideal.cover_fraction(n, d)),
            }
            if args.enumerate:
                row["enumerated"] = ideal.count_separable_dichotomies(rng.normal(size=(n, max(d, 1)))) if d >= 1 else 2
            rows.append(row)
    if args.json:
        print(dump({"cover": rows, "seed": seed}))
        return 0
    for r in rows:
        extra = f", enumerated {r['enumerated']}" if "enumerated" in r else ""
        print(
            f"C = {r['points']:4d}, d = {r['dim']:4d}: {r['count']} separable dichotomies "
            f"(fraction {r['fraction']:.4g}){extra}"
        )
    return 0


def _run_worst_risk(args) -> int:
    from landscape.studies import idealized as ideal

    classes = _int_list(args.classes, "--classes", 1)
    samples = _int_list(args.samples, "--samples", 0)
    grid = np.asarray(
        ideal.worst_case_risk_uniform(np.asarray(classes, float)[:, None], np.asarray(samples, float)[None, :])
    )
    out = {
        "classes": classes,
        "samples": samples,
        "worst_case_risk": [nums(r) for r in grid],
        "formula": "W_n = (1 - 1/C)^n (invariant, affinely independent codes, uniform classes)",
    }
    if args.json:
        print(dump(out))
        return 0
    print("W_n = (1 - 1/C)^n; rows: C, columns: n")
    print(" " * 8 + "".join(f"{n:>10d}" for n in samples))
    for cc, row in zip(classes, grid):
        print(f"{cc:8d}" + "".join(f"{v:10.4f}" for v in row))
    return 0


def _run_dissl(args) -> int:
    from landscape.studies import idealized as ideal

    lams = parse_float_list(args.lambdas, "--lambdas")
    betas = parse_float_list(args.betas, "--betas")
    if not np.all(np.isfinite(lams)):
        raise CLIError("--lambdas must be finite")
    if not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise CLIError("--betas must be finite values >= 0")
    batch = parse_int(args.batch, "--batch", low=1, high=_EXACT_FLOAT_INT)
    n_classes = parse_int(args.classes, "--classes", low=1, high=_EXACT_FLOAT_INT)
    g, k, loss = (np.asarray(v) for v in ideal.dissl_optimal_spread(lams[:, None], betas[None, :], batch, n_classes))
    phase = np.where(lams[:, None] < 0, "collapse", np.where(g > 1, "soft", "deterministic"))
    out = {
        "lambdas": nums(lams),
        "betas": nums(betas),
        "batch": batch,
        "classes": n_classes,
        "g_opt": [nums(r) for r in g],
        "marginal_opt": [nums(r) for r in k],
        "loss_opt": [nums(r) for r in loss],
        "phase": [list(map(str, r)) for r in phase],
        "reference": {
            "deterministic": num(-lams[0] * np.log(min(batch, n_classes))),
            "uniform": num((1 + betas[0] - lams[0]) * np.log(n_classes)),
            "collapsed": 0.0,
        },
    }
    if args.json:
        print(dump(out))
        return 0
    print(f"per-batch DISSL optimum, B = {batch}, C = {n_classes} (soft when lambda > 1 + beta and C > B)")
    for i, lam in enumerate(lams):
        for j, b in enumerate(betas):
            print(
                f"lambda {lam:6.3g} beta {b:6.3g}: {phase[i, j]:13s} g* = {g[i, j]:.4g}, "
                f"K* = {k[i, j]:.4g}, L* = {loss[i, j]:.4f}"
            )
    return 0


# ----------------------------------------------------------------------------- registration
def _two_layer_options(p: argparse.ArgumentParser, *, sigmas: str) -> None:
    g = p.add_argument_group("problem (default: the Cosentino spec's D = 32 overlap configuration)")
    g.add_argument("--signal-var", metavar="S1,S2,...", help="diagonal signal variances Σ_s")
    g.add_argument("--aug-var", metavar="A1,A2,...", help="diagonal augmentation shape Σ_a (noise σ²Σ_a)")
    g.add_argument("--sigmas", default=sigmas, help=f"augmentation strengths σ >= 0 (default {sigmas})")
    g = p.add_argument_group("training (gradient descent, step 0.02 / max(1, λmax(Σ_x)/3)²)")
    g.add_argument("--hidden", default=None, help="encoder width h (default D)")
    g.add_argument("--out-dim", default="16", help="projector width p (default 16)")
    g.add_argument("--steps", default="40000", help="gradient steps (default 40000)")
    g.add_argument("--weight-decay", default="0", help="weight decay γ >= 0 on both layers (default 0)")
    g.add_argument("--seed", default="0", help="PRNG seed of the init (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add the geometry subcommands to ``landscape``'s subparsers; each sets ``handler``."""
    p = subparsers.add_parser(
        "ideal",
        help="check Theorem 1's conditions on a table of codes",
        description="Verify invariance, linear predictability and the dimension "
        "condition (centred rank >= C - 1) for codes with class labels.",
    )
    p.add_argument("--codes", required=True, metavar="CODES.npy", help="n×d float array of representations")
    p.add_argument("--labels", required=True, metavar="LABELS.npy", help="n-vector of integer class labels")
    p.add_argument("--tol", default="1e-6", help="relative tolerance of invariance and rank (default 1e-6)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run_ideal)

    p = subparsers.add_parser(
        "two-layer",
        help="encoder vs projector over augmentation strength",
        description="Train W1 (encoder) and W2 (projector) at each σ and report AVF, "
        "effective rank, ridge-probe R² and principal angles per layer.",
    )
    _two_layer_options(p, sigmas="0.5,1,2,4")
    p.add_argument("--init-scale", default="0.3", help="init std × sqrt(fan_in), > 0 (default 0.3)")
    p.add_argument("--safeguard", action="store_true", help="reject loss-increasing steps (large inits)")
    p.set_defaults(handler=_run_two_layer)

    p = subparsers.add_parser(
        "two-layer-phase",
        help="AVF(encoder) - AVF(projector) over init scale × σ",
        description="The init-scale × σ phase diagram of the encoder/projector split.",
    )
    _two_layer_options(p, sigmas="0.5,1,2,4")
    p.add_argument("--init-scales", default="0.01,0.1,0.3,1", help="init scales > 0 (default 0.01,0.1,0.3,1)")
    p.set_defaults(handler=_run_two_layer_phase)

    p = subparsers.add_parser(
        "cover",
        help="Cover's counts of separable dichotomies",
        description="2·Σ_{k<=d} binom(C-1, k) separable dichotomies of C points in R^d.",
    )
    p.add_argument("--points", default="5", help="numbers of points C (default 5)")
    p.add_argument("--dims", default="1,2,3,4", help="dimensions d (default 1,2,3,4)")
    p.add_argument("--enumerate", action="store_true", help="also count by LP on random Gaussian points")
    p.add_argument("--seed", default="0", help="seed of the random points (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run_cover)

    p = subparsers.add_parser(
        "worst-risk",
        help="worst-case probe risk W_n = (1 - 1/C)^n",
        description="Worst-ERM risk of invariant simplex codes over classes C and samples n.",
    )
    p.add_argument("--classes", default="10,100,1000", help="numbers of classes C (default 10,100,1000)")
    p.add_argument("--samples", default="20,50,1000", help="sample sizes n (default 20,50,1000)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run_worst_risk)

    p = subparsers.add_parser(
        "dissl",
        help="per-batch DISSL optimum over (λ, β)",
        description="Optimal per-sample spread g*, marginal support K* and loss L* of the "
        "DISSL batch loss with an invariant teacher copied by the student.",
    )
    p.add_argument(
        "--lambdas", default="2.3", help="maximality weights λ (default 2.3; write --lambdas=-1,2 for negatives)"
    )
    p.add_argument("--betas", default="0.8", help="determinism weights β >= 0 (default 0.8)")
    p.add_argument("--batch", default="256", help="batch size B (default 256)")
    p.add_argument("--classes", default="16384", help="pseudo-classes C (default 16384)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run_dissl)

    meta = subparsers.metavar
    if isinstance(meta, str) and meta.startswith("{") and meta.endswith("}"):
        names = [n for n in meta[1:-1].split(",") if n] + [n for n in _COMMANDS if n not in meta]
        subparsers.metavar = "{" + ",".join(names) + "}"
