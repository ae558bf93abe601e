r"""Command-line interface: ``landscape solve``, ``landscape flow`` and ``landscape run``.

``solve``  prints the closed-form global minimum of one effective landscape;
``flow``   runs gradient descent (optax) on it and compares with the closed form;
``run``    is the default job of ``make run``: a built-in problem, a printed
           summary, a (σ², γ) phase diagram and a JSON summary under ``--out``.

Exit codes: 0 success, 1 a ``flow`` run diverged, 2 bad input (one line on stderr
that names the offending argument; never a traceback).

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
import contextlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_DIVERGED", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_USAGE = 2

_FALSE_WORDS = ("0", "false", "no", "off", "n", "f")

# The built-in problem of `landscape run`: eight input directions with decreasing
# data variance and isotropic augmentation noise.
DEFAULT_DATA_VARIANCES = (4.0, 3.0, 2.2, 1.6, 1.1, 0.7, 0.4, 0.2)
DEFAULT_SIGMA2 = 0.5
DEFAULT_BETA = 0.5


class CLIError(Exception):
    """Bad command-line input: reported as one line on stderr with exit code 2."""

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become :class:`CLIError` (one line, exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CLIError(message, prog=self.prog)


# --------------------------------------------------------------------------- precision
def _x64_requested() -> bool:
    """float64 unless the environment asks for float32 via JAX_ENABLE_X64=0 (false/no/off/n/f)."""
    env = os.environ.get("JAX_ENABLE_X64")
    return not (env is not None and env.strip().lower() in _FALSE_WORDS)


@contextlib.contextmanager
def _precision():
    """Run the body in the CLI's precision (:func:`_x64_requested`) without changing the process's.

    JAX's ``enable_x64`` context sets the flag for the current thread only and
    restores the previous value on exit, so a program that calls :func:`main`
    keeps its own ``jax_enable_x64`` setting.
    """
    import jax

    scope = getattr(jax, "enable_x64", None)
    if scope is None:  # jax < 0.7: the same context lives in jax.experimental
        from jax.experimental import disable_x64, enable_x64

        ctx = enable_x64() if _x64_requested() else disable_x64()
    else:
        ctx = scope(_x64_requested())
    with ctx:
        yield


# --------------------------------------------------------------------------- JSON helpers
def _num(x) -> Any:
    """A JSON-safe Python number: non-finite floats become "inf", "-inf" or "nan"."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    v = float(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _nums(arr) -> list:
    return [_num(v) for v in np.asarray(arr).ravel().tolist()]


def _dump(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False)


# --------------------------------------------------------------------------- parsing
def _add_problem_options(p: argparse.ArgumentParser) -> None:
    from landscape.losses.effective import FORMS, LOSSES

    g = p.add_argument_group("problem (diagonal: --a with --c or --sigma2; full: --data-cov with --aug-cov or --sigma2)")
    g.add_argument("--a", metavar="A1,A2,...", help="diagonal data variances a_i (A0 = diag(a))")
    g.add_argument("--c", metavar="C1,C2,...",
                   help="diagonal augmentation variances c_i (C = diag(c)); one value means C = c·I")
    g.add_argument("--sigma2", metavar="S", help="isotropic augmentation C = S·I")
    g.add_argument("--data-cov", metavar="FILE.npy", help="data covariance A0 as a .npy matrix")
    g.add_argument("--aug-cov", metavar="FILE.npy", help="augmentation covariance C as a .npy matrix")
    g = p.add_argument_group("loss")
    g.add_argument("--loss", choices=LOSSES, default="infonce", help="SSL loss (default: infonce)")
    g.add_argument("--form", choices=FORMS, default="derived",
                   help="which loss → B table to use (default: derived; 'paper' reproduces the paper)")
    g.add_argument("--weight-decay", default="0", metavar="GAMMA", help="weight decay γ ≥ 0 (default 0)")
    g.add_argument("--out-dim", default=None, metavar="D1", help="output dimension d1 (default: d0)")
    g.add_argument("--alpha", default="1", help="weighted-infonce: weight α ≥ 0 of the positive (default 1)")
    g.add_argument("--beta", default="0.5", help="beta-infonce: β in (0, 1] (default 0.5)")
    g.add_argument("--n-samples", default=None, metavar="N",
                   help="weighted-infonce: data-set size N ≥ 1 (required for that loss)")
    g.add_argument("--invariance-weight", default="1", metavar="LAMBDA",
                   help="vicreg (derived form): invariance weight λ_inv ≥ 0 (default 1)")
    g.add_argument("--quartic", default="1", metavar="K",
                   help="quartic coefficient k > 0 (1 = paper, 0.75 = exact Gaussian cumulant; default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _add_normalization_options(p: argparse.ArgumentParser, exact_gaussian: bool = True) -> None:
    g = p.add_argument_group("normalization and bias")
    g.add_argument("--kappa", default=None, metavar="K",
                   help="normalization strength κ ≥ 0 of the penalty κ(Tr[WΣWᵀ] − c)² (default: none)")
    g.add_argument("--norm-target", default="1", metavar="C", help="target norm c > 0 of the penalty (default 1)")
    g.add_argument("--hard-norm", action="store_true", help="hard normalization: the κ → ∞ limit (WS Eq. 8-9)")
    g.add_argument("--bias", action="store_true",
                   help="add a bias b to f = Wx + b (Theorem 2; needs --kappa or --hard-norm)")
    if exact_gaussian:
        g.add_argument("--landscape", choices=("effective", "exact-gaussian"), default="effective",
                       help="effective quartic landscape (default) or the exact Gaussian InfoNCE population loss")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``landscape`` command."""
    from landscape import __version__

    parser = _Parser(prog="landscape", description="The loss landscape of self-supervised learning, solved.")
    parser.add_argument("--version", action="version", version=f"landscape {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{solve,flow,scan,plot,run}")
    sub.required = True
    from landscape.cli.geometry import register as _register_geometry
    _register_geometry(sub)
    from landscape.cli.nn import register as _register_nn
    _register_nn(sub)

    p = sub.add_parser("solve", help="closed-form global minimum of the effective landscape",
                       description="Print the closed-form global minimum (Theorem 1) and collapse diagnostics.")
    _add_problem_options(p)
    _add_normalization_options(p)
    from landscape.cli.imbalance import register_solve_classes as _register_classes
    _register_classes(p)

    p = sub.add_parser("flow", help="gradient descent from a small random init, compared with the closed form",
                       description="Run gradient descent (optax) and compare with the closed-form minimum.")
    _add_problem_options(p)
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=("sgd", "momentum", "nesterov", "adam"), default="sgd",
                   help="optax optimizer (momentum = heavy ball, 0.9; nesterov = Nesterov with adaptive "
                        "restart; default sgd)")
    g.add_argument("--lr", default="auto",
                   help="learning rate > 0; 'auto' (default) = half of max_stable_learning_rate at the "
                        "closed-form minimum for sgd/momentum (a tenth for momentum with --kappa), 1e-3 for adam")
    g.add_argument("--steps", default="5000", help="number of steps ≥ 1 (default 5000)")
    g.add_argument("--init-scale", default="1e-3", help="std of the random initial W, > 0 (default 1e-3)")
    g.add_argument("--seed", default="0", help="PRNG seed, integer (default 0)")
    _add_normalization_options(p, exact_gaussian=False)

    from landscape.cli import scan as cli_scan

    cli_scan.add_scan_parser(sub, _add_problem_options)
    cli_scan.add_plot_parser(sub)

    p = sub.add_parser("run", help="the default job: built-in problem, summary, phase diagrams",
                       description="Solve a built-in problem (d = 8, isotropic augmentation), print a summary, "
                                   "and scan (stores under OUT/scans) and draw the (σ², γ) phase diagram of "
                                   "InfoNCE and β-InfoNCE with gradient-flow spot checks and the (N, σ²) diagram "
                                   "of weighted InfoNCE; writes PNG/PDF figures, summary.json and summary.txt.")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--grid", default="201", help="grid points per axis of the phase diagrams, 8..2000 (default 201)")
    p.add_argument("--seed", default="0", help="PRNG seed of the gradient-descent check (default 0)")
    p.add_argument("--no-spot-checks", action="store_true", help="skip the gradient-flow spot checks")
    p.add_argument("--json", action="store_true", help="print the JSON summary instead of the text summary")
    return parser


def _float(text, opt: str, *, low=None, high=None, low_inclusive=True, high_inclusive=True) -> float:
    from landscape.core.validation import as_scalar

    try:
        return as_scalar(text, opt, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive)
    except ValueError as e:
        raise CLIError(str(e)) from None


INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
SEED_MAX = 2**32 - 1
MAX_STEPS = 10_000_000   # optimizer steps of one run (the step counters are int32)


def _int(text, opt: str, *, low=None, high=None) -> int:
    """An integer option in [low, high]; without bounds, in the signed 64-bit range (what NumPy and
    JAX accept), so that a 30-digit number is refused here instead of overflowing downstream."""
    lo = INT64_MIN if low is None else low
    hi = INT64_MAX if high is None else high
    s = str(text).strip()
    try:
        v = int(s)
    except ValueError:
        raise CLIError(f"{opt} must be an integer in [{lo}, {hi}], got {text!r}") from None
    if not lo <= v <= hi:
        shown = s if len(s) <= 30 else s[:12] + f"… ({len(s)} digits)"
        raise CLIError(f"{opt} must be an integer in [{lo}, {hi}], got {shown}")
    return v


def _seed(text, opt: str = "--seed") -> int:
    """A PRNG seed in [0, 2³² − 1]: the range in which ``jax.random.PRNGKey`` gives the same key in
    float32 and float64 and distinct seeds give distinct keys (float32 wraps larger seeds)."""
    return _int(text, opt, low=0, high=SEED_MAX)


def _float_list(text: str, opt: str) -> np.ndarray:
    parts = [t.strip() for t in str(text).split(",")]
    if not parts or any(t == "" for t in parts):
        raise CLIError(f"{opt} must be a comma-separated list of numbers, got {text!r}")
    try:
        return np.array([float(t) for t in parts])
    except ValueError:
        raise CLIError(f"{opt} must be a comma-separated list of numbers, got {text!r}") from None


def _read_npy(path: str, opt: str, *, square: bool = False) -> np.ndarray:
    """A plain (non-object) array from a .npy file, never unpickled.

    The header is read first: an object array, a shape that is not d×d when
    ``square`` is asked for, or an array too large for memory is refused before
    anything is allocated.
    """
    from numpy.lib import format as npy_format

    def unreadable(e):
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        return CLIError(f"{opt}: cannot read {path} as a .npy array ({reason})")

    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
    except FileNotFoundError:
        raise CLIError(f"{opt}: file not found: {path}") from None
    except IsADirectoryError:
        raise CLIError(f"{opt}: {path} is a folder, not a .npy file") from None
    except (OSError, ValueError, EOFError) as e:
        raise unreadable(e) from None
    if dtype.hasobject:
        raise CLIError(f"{opt}: {path} holds Python objects (dtype {dtype}); only numeric arrays are read, "
                       "pickled data never")
    if square and (len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0):
        raise CLIError(f"{opt}: {path} must hold a square d×d matrix, got shape {shape}")
    # The array as stored, then its float64 copy.
    _require_bytes(float(np.prod(shape, dtype=float)) * (dtype.itemsize + 8), f"{opt} {path} of shape {shape}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise unreadable(e) from None


def _load_npy(path: str, opt: str, *, square: bool = False) -> np.ndarray:
    """A real-valued array from a .npy file as float64; ``square``: it must be a d×d matrix."""
    arr = _read_npy(path, opt, square=square)
    if arr.dtype.kind not in "biuf":
        raise CLIError(f"{opt}: {path} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(float)


_FIELD_RE_CACHE: dict[tuple, re.Pattern] = {}


def _translate(message: str, mapping: dict[str, str]) -> str:
    """Replace library field names (data_var, weight_decay, ...) by CLI option names."""
    keys = tuple(sorted(mapping, key=len, reverse=True))
    if not keys:
        return " ".join(message.split())
    pat = _FIELD_RE_CACHE.get(keys)
    if pat is None:
        pat = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b")
        _FIELD_RE_CACHE[keys] = pat
    text = pat.sub(lambda m: mapping[m.group(1)], message)
    return " ".join(text.split())


_SIGMA_FIELD = "sigma = data_cov + aug_cov"
_COMMON_FIELDS = {
    "weight_decay": "--weight-decay",
    "quartic": "--quartic",
    "alpha": "--alpha",
    "beta": "--beta",
    "n_samples": "--n-samples",
    "invariance_weight": "--invariance-weight",
    "out_dim": "--out-dim",
    "sigma2": "--sigma2",
    "kappa": "--kappa",
    "norm_target": "--norm-target",
    "init_scale": "--init-scale",
    "learning_rate": "--lr",
}


@contextlib.contextmanager
def _library_errors(mapping: dict[str, str]):
    """Turn the library's ``ValueError`` (bad input, naming a field such as ``weight_decay``) into a
    :class:`CLIError` naming the option (``--weight-decay``)."""
    try:
        yield
    except ValueError as e:
        raise CLIError(_translate(str(e), mapping)) from None


def _require_bytes(nbytes: float, field: str) -> None:
    """:func:`landscape.core.validation.require_memory` with its refusal as a :class:`CLIError`."""
    from landscape.core.validation import require_memory

    with _library_errors({}):
        require_memory(nbytes, field)


def _require_size(d0: int, d1: int, source: str, *, out_dim_given: bool, flow: bool = False) -> None:
    """Refuse, before anything is allocated, a problem whose arrays would not fit in memory.

    The estimate counts float64 arrays: eight d0×d0 (A0, C, Σ, B and their
    eigendecompositions) and two d1×d0 (the weights and a product); ``flow``
    adds five d1×d0 (W, its gradient, the optimizer state, WΣ) and two d1×d1
    (WΣWᵀ and its square).
    """
    count = 8 * d0 * d0 + 2 * d1 * d0 + ((5 * d1 * d0 + 2 * d1 * d1) if flow else 0)
    field = f"--out-dim {d1} (with d0 = {d0} from {source})" if out_dim_given else f"{source} (dimension d0 = {d0})"
    _require_bytes(8.0 * count, field)


# Library field names in the errors of the training subcommands (two-layer, nn-train).
_HANDLER_FIELDS = {
    "weight_decay": "--weight-decay",
    "out_dim": "--out-dim",
    "init_scale": "--init-scale",
    "init_scales": "--init-scales",
    "sigmas": "--sigmas",
    "learning_rate": "--lr",
    "batch_size": "--batch",
    "signal_cov": "--signal-var",
    "aug_shape_cov": "--aug-var",
}


class _Setup:
    """Parsed problem, loss parameters and the map from library fields to options."""

    def __init__(self, args):
        import landscape as ls

        self.args = args
        self.loss = args.loss
        self.form = args.form
        mapping = dict(_COMMON_FIELDS)
        if args.a is not None and (args.data_cov is not None or args.aug_cov is not None):
            raise CLIError("give either --a (diagonal) or --data-cov (full matrix), not both")
        if args.c is not None and args.sigma2 is not None:
            raise CLIError("give either --c or --sigma2, not both")
        if args.aug_cov is not None and args.sigma2 is not None:
            raise CLIError("give either --aug-cov or --sigma2, not both")
        if args.c is not None and args.data_cov is not None:
            raise CLIError("--c goes with --a; use --aug-cov (or --sigma2) with --data-cov")
        self.sigma2 = None if args.sigma2 is None else _float(args.sigma2, "--sigma2", low=0.0)
        self.weight_decay = _float(args.weight_decay, "--weight-decay", low=0.0)
        self.quartic = _float(args.quartic, "--quartic", low=0.0, low_inclusive=False)
        self.alpha = _float(args.alpha, "--alpha", low=0.0)
        self.beta = _float(args.beta, "--beta", low=0.0, high=1.0, low_inclusive=False)
        self.invariance_weight = _float(args.invariance_weight, "--invariance-weight", low=0.0)
        self.n_samples = None if args.n_samples is None else _float(args.n_samples, "--n-samples", low=1.0)
        if self.loss == "weighted-infonce":
            if self.n_samples is None:
                raise CLIError("--n-samples is required for --loss weighted-infonce (data-set size N >= 1)")
            if self.n_samples - 1.0 + self.alpha <= 0.0:
                # The denominator α·e^{pos} + (N − 1 negatives) vanishes: the loss is undefined.
                raise CLIError(f"--n-samples {self.n_samples:g} with --alpha {self.alpha:g}: weighted InfoNCE needs "
                               "N - 1 + alpha > 0 (with N = 1 there are no negatives, so alpha must be > 0)")

        if args.a is not None:
            a = _float_list(args.a, "--a")
            mapping.update(data_var="--a", data_cov="--a")
            if args.c is not None:
                c = _float_list(args.c, "--c")
                mapping.update(aug_var="--c", aug_cov="--c")
                mapping[_SIGMA_FIELD] = "Σ = A0 + C = diag(a + c) from --a and --c"
            elif self.sigma2 is not None:
                c = np.array([self.sigma2])
                mapping.update(aug_var="--sigma2", aug_cov="--sigma2")
                mapping[_SIGMA_FIELD] = "Σ = A0 + C from --a and --sigma2"
            else:
                raise CLIError("--a needs --c (diagonal augmentation variances) or --sigma2")
            if c.size not in (1, a.size):
                raise CLIError(f"--a and --c must have the same length, got {a.size} and {c.size}")
            d0, source = a.size, "--a"
        elif args.data_cov is not None:
            a0 = _load_npy(args.data_cov, "--data-cov", square=True)
            mapping.update(data_cov="--data-cov", data_var="--data-cov")
            if args.aug_cov is not None:
                c = _load_npy(args.aug_cov, "--aug-cov", square=True)
                mapping.update(aug_cov="--aug-cov")
                mapping[_SIGMA_FIELD] = "Σ = A0 + C from --data-cov and --aug-cov"
            elif self.sigma2 is not None:
                mapping.update(aug_cov="--sigma2")
                mapping[_SIGMA_FIELD] = "Σ = A0 + C from --data-cov and --sigma2"
            else:
                raise CLIError("--data-cov needs --aug-cov or --sigma2")
            d0, source = a0.shape[0], "--data-cov"
        else:
            raise CLIError("a problem is required: --a with --c/--sigma2, or --data-cov with --aug-cov/--sigma2")
        self.mapping = mapping
        self.out_dim = d0 if args.out_dim is None else _int(args.out_dim, "--out-dim", low=1)
        self.size_source = source
        _require_size(d0, self.out_dim, source, out_dim_given=args.out_dim is not None)
        with _library_errors(mapping):
            if args.a is not None:
                self.problem = ls.Problem.from_diagonal(a, c)
            elif args.aug_cov is not None:
                self.problem = ls.Problem.from_arrays(a0, c)
            else:
                self.problem = ls.Problem.isotropic(a0, self.sigma2)
            self.landscape = ls.effective_landscape(
                self.problem, self.loss, form=self.form, quartic=self.quartic,
                weight_decay=self.weight_decay, **self.loss_kwargs)

    @property
    def loss_kwargs(self) -> dict:
        return dict(alpha=self.alpha, n_samples=self.n_samples, beta=self.beta,
                    invariance_weight=self.invariance_weight)

    @property
    def threshold_kwargs(self) -> dict:
        return dict(form=self.form, **self.loss_kwargs)


# --------------------------------------------------------------------------- solve
def _isotropic_aug(problem) -> float | None:
    c = np.asarray(problem.aug_cov, dtype=float)
    c0 = float(c[0, 0])
    if np.allclose(c, c0 * np.eye(c.shape[0]), rtol=0.0, atol=1e-12 * max(1.0, abs(c0))):
        return c0
    return None


def _threshold_json(th, a, c=None) -> dict:
    out = {"a": _nums(a)}
    if c is not None:
        out["c"] = _nums(c)
    out["value"] = _nums(th.value)
    out["collapsed_above"] = [bool(v) for v in np.asarray(th.collapsed_above)]
    return out


def solve_report(setup: _Setup) -> dict:
    """The ``solve`` JSON object for a parsed setup."""
    import jax
    import jax.numpy as jnp

    import landscape as ls
    from landscape.theory.collapse_thresholds import common_eigenbasis

    problem, land = setup.problem, setup.landscape
    sol, extras = _solve_variant(setup)
    b_eig = np.asarray(jnp.linalg.eigvalsh(land.b_eff))[::-1]
    gram = np.asarray(sol.gram, dtype=float)
    diagonal = problem.is_diagonal()
    commuting = problem.is_commuting()
    iso = _isotropic_aug(problem)

    per_direction = None
    if commuting:
        v, a, c = common_eigenbasis(problem)
        b_dir = np.einsum("ji,jk,ki->i", v, np.asarray(land.b_eff, float), v)
        lam_dir = np.einsum("ji,jk,ki->i", v, gram, v)
        lam_dir = np.where(np.abs(lam_dir) <= 1e-12 * max(1.0, float(np.abs(lam_dir).max())), 0.0, lam_dir)
        top = float(np.max(np.abs(lam_dir))) if lam_dir.size else 0.0
        kept = lam_dir > 1e-6 * top if top > 0 else np.zeros(a.shape, bool)
        per_direction = {
            "a": _nums(a), "c": _nums(c), "s": _nums(a + c), "b": _nums(b_dir),
            "gram": _nums(lam_dir), "kept": [bool(k) for k in kept],
            "basis": "input coordinates" if diagonal else "common eigenbasis of A0 and C (eigh order)",
        }

    tk = setup.threshold_kwargs
    crit_s2 = crit_wd = crit_n = None
    if setup.sigma2 is not None or iso is not None:
        th = ls.critical_sigma2(problem, setup.loss, weight_decay=setup.weight_decay, **tk)
        _, a_only, _ = common_eigenbasis(ls.Problem(problem.data_cov, jnp.zeros_like(problem.data_cov)))
        crit_s2 = _threshold_json(th, a_only)
    if commuting:
        th = ls.critical_weight_decay(problem, setup.loss, **tk)
        crit_wd = _threshold_json(th, np.asarray(per_direction["a"], float),
                                  np.asarray(per_direction["c"], float))
        if setup.loss == "weighted-infonce" and setup.form == "paper":
            th = ls.critical_n_samples(problem, alpha=setup.alpha, weight_decay=setup.weight_decay)
            crit_n = _threshold_json(th, np.asarray(per_direction["a"], float),
                                     np.asarray(per_direction["c"], float))

    return {
        "command": "solve",
        "version": ls.__version__,
        "dtype": str(np.asarray(land.b).dtype),
        "loss_name": setup.loss,
        "form": setup.form,
        "quartic": _num(setup.quartic),
        "effective_quartic": _num(np.asarray(land.quartic)),
        "weight_decay": _num(setup.weight_decay),
        "loss_parameters": {k: (None if v is None else _num(v)) for k, v in setup.loss_kwargs.items()},
        "dim": int(problem.dim),
        "out_dim": int(setup.out_dim),
        "diagonal": bool(diagonal),
        "commuting": bool(commuting),
        "isotropic_sigma2": None if iso is None else _num(iso),
        "gram_eigenvalues": _nums(sol.gram_eigenvalues),
        "rank": int(sol.rank),
        "predicted_rank": int(ls.predicted_rank(land, setup.out_dim)),
        "loss": _num(sol.loss),
        "b_eigenvalues": _nums(b_eig),
        "whitened_eigenvalues": _nums(sol.whitened_eigenvalues),
        "direction_eigenvalues": _nums(np.diag(gram)) if diagonal else None,
        "per_direction": per_direction,
        "origin": ls.origin_type(land),
        "critical_sigma2": crit_s2,
        "critical_weight_decay": crit_wd,
        "critical_n_samples": crit_n,
        "jax_backend": jax.default_backend(),
        **extras,
    }


def _normalization_choice(setup: _Setup):
    """(options, κ or None, c, normalized?) from --kappa/--norm-target/--hard-norm/--bias, checked."""
    # Callers other than `solve`/`flow` (e.g. the `run` job) build a setup without these options.
    opt = {name: getattr(setup.args, name, default) for name, default in
           (("kappa", None), ("norm_target", "1"), ("hard_norm", False), ("bias", False), ("landscape", "effective"))}
    args = argparse.Namespace(**opt)
    kappa = None if args.kappa is None else _float(args.kappa, "--kappa", low=0.0)
    c = _float(args.norm_target, "--norm-target", low=0.0, low_inclusive=False)
    normalized = kappa is not None or args.hard_norm
    if args.kappa is not None and args.hard_norm:
        raise CLIError("give either --kappa (finite κ) or --hard-norm (κ → ∞), not both")
    if args.bias and not normalized:
        raise CLIError("--bias needs --kappa or --hard-norm: without normalization a bias does not change the loss")
    return args, kappa, c, normalized


def _solve_variant(setup: _Setup):
    """The solution asked for: effective (optionally normalized, with bias) or exact Gaussian.

    Returns (solution, extra JSON keys).  Normalization adds ``rho`` = Tr[WΣWᵀ];
    a bias adds ``bias_norm_sq`` = ‖b‖².
    """
    import landscape as ls

    land, out_dim = setup.landscape, setup.out_dim
    args, kappa, c, normalized = _normalization_choice(setup)
    if args.landscape == "exact-gaussian":
        if setup.loss != "infonce" or normalized:
            raise CLIError("--landscape exact-gaussian is the InfoNCE (α = 1) population loss: use it with "
                           "--loss infonce and without --kappa/--hard-norm/--bias")
        sol = ls.exact_gaussian_minimum(setup.problem, out_dim, weight_decay=setup.weight_decay)
        return sol, {"landscape": "exact-gaussian"}
    if not normalized:
        return ls.global_minimum(land, out_dim), {"landscape": "effective"}
    if args.hard_norm:
        sol = ls.hard_normalization_limit(land, out_dim, c)
        if args.bias:
            # Theorem 2 at κ → ∞: the unnormalized minimum if its ρ₀ ≤ c (‖b‖² = c − ρ₀), else b = 0.
            free = ls.global_minimum(land, out_dim)
            rho0 = float(np.trace(np.asarray(land.sigma) @ np.asarray(free.gram)))
            if rho0 <= c:
                return free, {"landscape": "effective", "hard_norm": True, "norm_target": _num(c),
                              "rho": _num(rho0), "bias_norm_sq": _num(c - rho0)}
            return sol, {"landscape": "effective", "hard_norm": True, "norm_target": _num(c),
                         "rho": _num(float(sol.rho)), "bias_norm_sq": 0.0}
        return sol, {"landscape": "effective", "hard_norm": True, "norm_target": _num(c),
                     "rho": _num(float(sol.rho))}
    nl = ls.normalized_landscape(land, kappa, c)
    sol = ls.bias_global_minimum(nl, out_dim) if args.bias else ls.normalized_global_minimum(nl, out_dim)
    extras = {"landscape": "effective", "kappa": _num(kappa), "norm_target": _num(c), "rho": _num(float(sol.rho))}
    if args.bias:
        extras["bias_norm_sq"] = _num(float(sol.bias_norm_sq))
    return sol, extras


def _g(v, digits: int) -> str:
    """Format a JSON number (or its "inf"/"nan" string) with ``digits`` significant digits."""
    return v if isinstance(v, str) else f"{v:.{digits}g}"


def _fmt(v, width=11, digits=6) -> str:
    if isinstance(v, str):
        return v.rjust(width)
    return f"{v:{width}.{digits}g}"


def _header(report: dict) -> str:
    params = []
    if report["loss_name"] == "weighted-infonce":
        lp = report["loss_parameters"]
        params.append(f"α={lp['alpha']:g}, N={lp['n_samples']:g}")
    if report["loss_name"] == "beta-infonce":
        params.append(f"β={report['loss_parameters']['beta']:g}")
    if report["loss_name"] == "vicreg" and report["form"] == "derived":
        params.append(f"λ_inv={report['loss_parameters']['invariance_weight']:g}")
    ptxt = f" ({', '.join(params)})" if params else ""
    return (f"loss {report['loss_name']}{ptxt}, {report['form']} form, k={report['quartic']:g} "
            f"(effective {report['effective_quartic']:g}), γ={report['weight_decay']:g}, "
            f"d0={report['dim']}, d1={report['out_dim']}, {report['dtype']}")


def _normalization_line(report: dict) -> str | None:
    """'normalization: …' for reports with ρ (and ‖b‖²); closed-form values in brackets for flow."""
    if "rho" not in report:
        return None
    cf = report.get("closed_form") if report.get("command") == "flow" else None
    strength = "hard (κ → ∞)" if report.get("hard_norm") else f"κ = {report['kappa']:g}"
    text = f"normalization: {strength}, c = {report['norm_target']:g}, ρ = {_g(report['rho'], 8)}"
    if cf is not None:
        text += f" (closed form {_g(cf['rho'], 8)})"
    if "bias_norm_sq" in report:
        text += f", ‖b‖² = {_g(report['bias_norm_sq'], 8)}"
        if cf is not None:
            text += f" (closed form {_g(cf['bias_norm_sq'], 8)})"
    return text


def format_solve(report: dict) -> str:
    """A readable text table of a ``solve`` report."""
    lines = [f"landscape {report['version']} solve: {_header(report)}"]
    kind = ("diagonal" if report["diagonal"] else "commuting" if report["commuting"] else "non-commuting")
    lines.append(f"problem: {kind} A0 and C" + (f", isotropic C = {report['isotropic_sigma2']:g}·I"
                                                if report["isotropic_sigma2"] is not None else ""))
    lines.append(f"origin: {report['origin']}   rank: {report['rank']} (predicted {report['predicted_rank']})   "
                 f"loss: {report['loss']:.10g}")
    norm_line = _normalization_line(report)
    if norm_line:
        lines.append(norm_line)
    pd = report["per_direction"]
    if pd is not None:
        lines.append("")
        head = ["dir", "a_i", "c_i", "b_i", "λ_i", "kept"]
        lines.append(f"{head[0]:>4}" + "".join(_fmt(h) for h in head[1:5]) + f"{head[5]:>6}")
        for i in range(len(pd["a"])):
            row = [pd["a"][i], pd["c"][i], pd["b"][i], pd["gram"][i]]
            lines.append(f"{i:>4}" + "".join(_fmt(v) for v in row) + f"{'yes' if pd['kept'][i] else 'no':>6}")
        lines.append("b_i: eigenvalue of B − γI; λ_i: eigenvalue of WᵀW" +
                     (" (input coordinates)" if report["diagonal"] else " (common eigenbasis of A0 and C)"))
    else:
        lines.append("")
        lines.append("A0 and C do not commute: directions are the whitened eigen-directions.")
        lines.append(f"{'i':>4}{'λ̃_i (whitened)':>18}{'λ_i (WᵀW)':>14}")
        for i, (w, g) in enumerate(zip(report["whitened_eigenvalues"], report["gram_eigenvalues"])):
            lines.append(f"{i:>4}{_fmt(w, 18)}{_fmt(g, 14)}")
    for key, name in (("critical_sigma2", "critical σ²"), ("critical_weight_decay", "critical γ"),
                      ("critical_n_samples", "critical N")):
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


# --------------------------------------------------------------------------- flow
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


def flow_report(setup: _Setup, args) -> dict:
    """Run gradient descent and compare with the closed form; the ``flow`` JSON object."""
    import jax

    import landscape as ls

    steps = _int(args.steps, "--steps", low=1, high=MAX_STEPS)
    init_scale = _float(args.init_scale, "--init-scale", low=0.0, low_inclusive=False)
    seed = _seed(args.seed)
    auto_lr = str(args.lr).strip().lower() == "auto"
    if not auto_lr:
        lr = _float(args.lr, "--lr", low=0.0, low_inclusive=False)
    _require_size(setup.problem.dim, setup.out_dim, setup.size_source, out_dim_given=args.out_dim is not None,
                  flow=True)
    try:
        from landscape import dynamics as lsflow
    except ImportError as e:  # pragma: no cover - flow.py ships with the package
        raise CLIError(f"landscape.dynamics is not available ({e})") from None

    land = setup.landscape
    norm_args, kappa, c, normalized = _normalization_choice(setup)
    if normalized:
        cf, norm_extras = _solve_variant(setup)
        nl = ls.normalized_landscape(land, 0.0 if kappa is None else kappa, c)
        hard = bool(norm_args.hard_norm)
        bias_cf = None
        if norm_args.bias:
            bias_cf = np.zeros(setup.out_dim, dtype=np.asarray(land.b).dtype)
            bias_cf[0] = math.sqrt(max(float(norm_extras["bias_norm_sq"]), 0.0))
        max_lr = float(lsflow.normalized_max_stable_learning_rate(nl, cf.weights, bias_cf, hard=hard))
    else:
        cf = ls.global_minimum(land, setup.out_dim)
        max_lr = float(lsflow.max_stable_learning_rate(land, cf.weights))
    if auto_lr:
        lr = 1e-3 if args.optimizer == "adam" else 0.5 * max_lr
        if normalized and not norm_args.hard_norm and args.optimizer == "momentum":
            # From a small start the penalty pushes outward with rate ~4κc·λ(Σ); heavy ball
            # (effective step lr/(1 − 0.9)) then overshoots the shell ρ = c, where the
            # curvature is largest.  One tenth keeps the effective step at max_lr.
            lr = 0.1 * max_lr
        if not math.isfinite(lr) or lr <= 0:
            lr = 1e-2
        lr_source = "auto"
    else:
        lr_source = "given"
    key = jax.random.PRNGKey(seed)
    w0 = lsflow.random_init(key, setup.out_dim, setup.problem.dim, scale=init_scale, dtype=land.b.dtype)
    t0 = time.perf_counter()
    if normalized:
        # The bias starts small and random too: b = 0 is invariant under descent.
        b0 = (init_scale * jax.random.normal(jax.random.fold_in(key, 1), (setup.out_dim,), land.b.dtype)
              if norm_args.bias else None)
        sol = lsflow.normalized_gradient_descent(nl, w0, bias0=b0, hard=hard, optimizer=_optimizer(args.optimizer, lr),
                                                 steps=steps)
    else:
        sol = lsflow.gradient_descent(land, w0, optimizer=_optimizer(args.optimizer, lr), steps=steps)
    jax.block_until_ready(sol.weights)
    elapsed = time.perf_counter() - t0

    eig = np.asarray(sol.gram_eigenvalues, dtype=float)
    eig_cf = np.asarray(cf.gram_eigenvalues, dtype=float)
    loss_gd = float(sol.loss)
    loss_cf = float(cf.loss)
    diverged = bool(sol.diverged) if sol.diverged is not None else not np.all(np.isfinite(eig))
    step = int(sol.diverged_step) if sol.diverged_step is not None else -1
    with np.errstate(invalid="ignore"):
        max_diff = float(np.max(np.abs(eig - eig_cf)))
    denom = abs(loss_cf) if loss_cf != 0.0 else 1.0
    report = {
        "command": "flow",
        "version": ls.__version__,
        "dtype": str(np.asarray(land.b).dtype),
        "loss_name": setup.loss,
        "form": setup.form,
        "quartic": _num(setup.quartic),
        "effective_quartic": _num(np.asarray(land.quartic)),
        "weight_decay": _num(setup.weight_decay),
        "loss_parameters": {k: (None if v is None else _num(v)) for k, v in setup.loss_kwargs.items()},
        "dim": int(setup.problem.dim),
        "out_dim": int(setup.out_dim),
        "optimizer": args.optimizer,
        "lr": _num(lr),
        "lr_source": lr_source,
        "max_stable_learning_rate": _num(max_lr),
        "steps": steps,
        "init_scale": _num(init_scale),
        "seed": seed,
        "gram_eigenvalues": _nums(eig),
        "rank": int(sol.rank),
        "loss": _num(loss_gd),
        "diverged": diverged,
        "diverged_step": step,
        "closed_form": {
            "gram_eigenvalues": _nums(eig_cf),
            "rank": int(cf.rank),
            "loss": _num(loss_cf),
        },
        "distance_to_closed_form": {
            "max_abs_eigenvalue_diff": _num(max_diff),
            "relative_loss_gap": _num((loss_gd - loss_cf) / denom),
        },
        "elapsed_s": round(elapsed, 4),
    }
    if normalized:
        report.update({key: norm_extras[key] for key in ("kappa", "hard_norm", "norm_target") if key in norm_extras})
        report["rho"] = _num(float(sol.rho))
        report["closed_form"]["rho"] = norm_extras["rho"]
        report["distance_to_closed_form"]["abs_rho_diff"] = _num(abs(float(sol.rho) - float(norm_extras["rho"])))
        if norm_args.bias:
            report["bias_norm_sq"] = _num(float(sol.bias_norm_sq))
            report["closed_form"]["bias_norm_sq"] = norm_extras["bias_norm_sq"]
            report["distance_to_closed_form"]["abs_bias_norm_sq_diff"] = _num(
                abs(float(sol.bias_norm_sq) - float(norm_extras["bias_norm_sq"])))
    return report


def format_flow(report: dict) -> str:
    """A readable summary of a ``flow`` report."""
    lines = [f"landscape {report['version']} flow: {_header(report)}"]
    lines.append(f"optimizer {report['optimizer']}, lr {report['lr']:.6g} ({report['lr_source']}; "
                 f"max stable {report['max_stable_learning_rate']:.6g}), {report['steps']} steps, "
                 f"init scale {report['init_scale']:g}, seed {report['seed']}, {report['elapsed_s']:.2f} s")
    cf = report["closed_form"]
    lines.append("")
    lines.append(f"{'i':>4}{'λ_i (flow)':>16}{'λ_i (closed form)':>20}")
    for i, (g, c) in enumerate(zip(report["gram_eigenvalues"], cf["gram_eigenvalues"])):
        lines.append(f"{i:>4}{_fmt(g, 16, 8)}{_fmt(c, 20, 8)}")
    dist = report["distance_to_closed_form"]
    lines.append("")
    lines.append(f"rank {report['rank']} (closed form {cf['rank']}), loss {_g(report['loss'], 12)} "
                 f"(closed form {_g(cf['loss'], 12)})")
    norm_line = _normalization_line(report)
    if norm_line:
        lines.append(norm_line)
    lines.append(f"distance to closed form: max |Δλ| = {_g(dist['max_abs_eigenvalue_diff'], 3)}, "
                 f"relative loss gap = {_g(dist['relative_loss_gap'], 3)}")
    lines.append(f"diverged: {report['diverged']}" +
                 (f" at step {report['diverged_step']}" if report["diverged"] else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------------- run
def _analytic_ranks(p, q, a, sigma2, gamma, out_dim):
    """#{i : p·a_i + q·σ² − γ > 0} ∧ d1 on the grid, and the smallest |b_i| (distance to a boundary)."""
    b = (p * np.asarray(a)[None, None, :] + q * np.asarray(sigma2)[None, :, None]
         - np.asarray(gamma)[:, None, None])
    return np.minimum((b > 0).sum(axis=-1), out_dim), np.abs(b).min(axis=-1)


def run_job(out_dir: Path, grid: int, seed: int, spot_checks: bool = True) -> tuple[dict, str]:
    """The default job: returns (JSON summary, text summary) and writes the figures."""
    import jax

    import landscape as ls
    from landscape.losses.effective import quadratic_form

    t_start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    a = np.array(DEFAULT_DATA_VARIANCES)
    d = a.size
    cases = [("infonce", {}, "InfoNCE"), ("beta-infonce", {"beta": DEFAULT_BETA}, f"β-InfoNCE (β = {DEFAULT_BETA:g})")]

    # 1. Closed-form solutions at the default point (σ² = 0.5, γ = 0).
    text = [f"landscape {ls.__version__} run: d = {d}, a = {list(DEFAULT_DATA_VARIANCES)}, "
            f"C = {DEFAULT_SIGMA2:g}·I, derived form, k = 1, {'float64' if jax.config.jax_enable_x64 else 'float32'}"]
    solutions = {}
    for name, kw, title in cases:
        args = argparse.Namespace(
            a=",".join(map(str, DEFAULT_DATA_VARIANCES)), c=None, sigma2=str(DEFAULT_SIGMA2),
            data_cov=None, aug_cov=None, loss=name, form="derived", weight_decay="0", out_dim=None,
            alpha="1", beta=str(kw.get("beta", DEFAULT_BETA)), n_samples=None, invariance_weight="1",
            quartic="1")
        setup = _Setup(args)
        rep = solve_report(setup)
        solutions[name] = rep
        text += ["", f"== {title} ==", format_solve(rep).split("\n", 1)[1]]

    # 2. Gradient descent from a small random init against the closed form (β-InfoNCE).
    gd = None
    try:
        from landscape import dynamics as lsflow  # noqa: F401
    except ImportError:
        text += ["", "gradient-descent check skipped: landscape.dynamics is not available"]
    else:
        args = argparse.Namespace(
            a=",".join(map(str, DEFAULT_DATA_VARIANCES)), c=None, sigma2=str(DEFAULT_SIGMA2),
            data_cov=None, aug_cov=None, loss="beta-infonce", form="derived", weight_decay="0",
            out_dim=None, alpha="1", beta=str(DEFAULT_BETA), n_samples=None, invariance_weight="1",
            quartic="1", optimizer="sgd", lr="auto", steps="4000", init_scale="1e-3", seed=str(seed))
        gd = flow_report(_Setup(args), args)
        dist = gd["distance_to_closed_form"]
        text += ["", f"== gradient descent check (β-InfoNCE, sgd, lr {gd['lr']:.4g}, {gd['steps']} steps) ==",
                 f"rank {gd['rank']} (closed form {gd['closed_form']['rank']}), "
                 f"max |Δλ| = {_g(dist['max_abs_eigenvalue_diff'], 3)}, "
                 f"relative loss gap = {_g(dist['relative_loss_gap'], 3)}, diverged: {gd['diverged']}"]

    # 3. Phase diagrams: stored, resumable scans (landscape.cli.phase_job) over (σ², γ) with
    #    gradient-flow spot checks, and over (N, σ²) for weighted InfoNCE; the figures are drawn
    #    from the stored datasets.
    from landscape.cli import phase_job

    s2_max = 5.0
    sigma2 = np.linspace(0.0, s2_max, grid)
    t_grid = time.perf_counter()
    scanned, sg_paths, _ = phase_job.sigma2_gamma_job(out_dir, a, DEFAULT_BETA, grid, s2_max, spot=spot_checks)
    phase = {}
    for name, kw, title in cases:
        info = scanned[name]
        gamma = info["gamma"]
        rank = np.asarray(info["dataset"]["rank"].transpose("weight_decay", "sigma2").values)
        qf = quadratic_form(name, **kw)
        p, q = float(qf.data_coef), float(qf.aug_coef)
        analytic, margin = _analytic_ranks(p, q, a, sigma2, gamma, d)
        away = margin > 1e-6 * float(np.abs(a).max())
        mismatches = int(np.sum((rank != analytic) & away))
        counts = {int(r): int(n) for r, n in zip(*np.unique(rank, return_counts=True))}
        phase[name] = {
            "weight_decay_range": [float(gamma[0]), float(gamma[-1])],
            "rank_counts": counts,
            "regions": {
                "no collapse": int(np.sum(rank == d)),
                "dimensional collapse": int(np.sum((rank > 0) & (rank < d))),
                "complete collapse": int(np.sum(rank == 0)),
            },
            "boundaries": [f"gamma = {p:g}*{ai:g} + {q:g}*sigma2" for ai in a],
            "mismatches_with_analytic_rank": mismatches,
            "store": info["store"],
            "scan_seconds": round(info["seconds"], 3),
            "gradient_flow_spot_check": info["spot_check"],
        }
    t_grid = time.perf_counter() - t_grid
    t_n = time.perf_counter()
    n_panels, n_paths = phase_job.sigma2_n_job(out_dir, a, grid)
    t_n = time.perf_counter() - t_n
    phase_path, spectrum_path = sg_paths[0], sg_paths[2]
    figures = [pth.name for pth in sg_paths + n_paths]

    summary = {
        "command": "run",
        "version": ls.__version__,
        "dtype": "float64" if jax.config.jax_enable_x64 else "float32",
        "problem": {"data_variances": list(DEFAULT_DATA_VARIANCES), "sigma2": DEFAULT_SIGMA2,
                    "beta": DEFAULT_BETA, "form": "derived", "quartic": 1.0},
        "solutions": solutions,
        "gradient_descent_check": gd,
        "phase_diagram": {
            "file": phase_path.name,
            "x": "sigma2", "y": "weight_decay",
            "sigma2_range": [0.0, s2_max], "grid": [grid, grid],
            "panels": phase,
            "grid_seconds": round(t_grid, 3),
        },
        "weighted_infonce_n_diagram": {
            "file": n_paths[0].name,
            "x": "n_samples", "y": "sigma2", "alpha": 0.1, "grid": [grid, grid],
            "panels": n_panels,
            "seconds": round(t_n, 3),
        },
        "figures": figures,
        "elapsed_s": None,
    }
    text += ["", f"== (σ², γ) phase diagram ({grid}×{grid} grid per panel, closed form; stores under "
                 f"{out_dir / 'scans'}) =="]
    for name, info in phase.items():
        r = info["regions"]
        text.append(f"{name}: no collapse {r['no collapse']}, dimensional collapse {r['dimensional collapse']}, "
                    f"complete collapse {r['complete collapse']} grid points; "
                    f"disagreements with #{{b_i > 0}}: {info['mismatches_with_analytic_rank']}")
        sc = info["gradient_flow_spot_check"]
        if sc is not None:
            text.append(f"  gradient-flow spot checks (t1 = {sc['t1']:g}): rank agrees at {sc['rank_agreement']}/"
                        f"{sc['points']} points, max |Δλ| = {sc['max_abs_gram_diff']:.2g}, "
                        f"diverged {sc['diverged']}" +
                        "".join(f"; differs at σ² = {b['sigma2']:.3g}, γ = {b['weight_decay']:.3g} "
                                f"(flow {b['flow_rank']}, closed form {b['closed_form_rank']}, "
                                f"min |b_i| = {b['min_abs_b']:.2g})" for b in sc["disagreements"]))
    text += ["", f"== (N, σ²) diagram of weighted InfoNCE, α = 0.1 ({grid}×{grid} grid per form) =="]
    for form, info in n_panels.items():
        r = info["regions"]
        text.append(f"{form} form: no collapse {r['no collapse']}, dimensional collapse "
                    f"{r['dimensional collapse']}, complete collapse {r['complete collapse']} grid points; "
                    f"disagreements with #{{b_i > 0}}: {info['mismatches_with_analytic_rank']}")
    cut = n_panels["paper"]["critical_n_at_cut"]
    text.append(f"paper form at σ² = {cut['sigma2']:.4g}: critical N_i = (1−α)σ²/a_i = " +
                ", ".join(f"{v:.4g}" for v in cut["n_crit"]) + " (collapsed for N ≤ N_i); "
                "derived form: no collapse at any N (its B has no C term)")
    summary["elapsed_s"] = round(time.perf_counter() - t_start, 3)
    json_path = out_dir / "summary.json"
    json_path.write_text(_dump(summary) + "\n")
    text += ["", f"wrote {', '.join(str(out_dir / f) for f in figures)}, {json_path} and "
                 f"{out_dir / 'summary.txt'} in {summary['elapsed_s']:.1f} s"]
    (out_dir / "summary.txt").write_text("\n".join(text) + "\n")
    return summary, "\n".join(text)


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``landscape`` console script; returns the exit code.

    The command runs in the CLI's precision (float64 unless ``JAX_ENABLE_X64=0``)
    inside a JAX context that is undone on return, so a program that calls
    ``main`` in-process keeps its own ``jax_enable_x64`` setting.
    """
    parser = build_parser()
    prog = "landscape"
    code = EXIT_OK
    try:
        try:
            args = parser.parse_args(None if argv is None else list(argv))
        except SystemExit as e:  # --help and --version
            return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
        prog = f"landscape {args.command}"
        with _precision():
            if getattr(args, "handler", None) is not None:   # subcommands registered by cli_geometry, cli_nn, …
                return args.handler(args)
            if args.command == "solve":
                setup = _Setup(args)
                with _library_errors(setup.mapping):
                    report = solve_report(setup)
                print(_dump(report) if args.json else format_solve(report))
                return EXIT_OK
            if args.command == "flow":
                setup = _Setup(args)
                with _library_errors(setup.mapping):
                    report = flow_report(setup, args)
                code = EXIT_DIVERGED if report["diverged"] else EXIT_OK
                print(_dump(report) if args.json else format_flow(report))
                if report["diverged"]:
                    print(f"{prog}: gradient descent diverged at step {report['diverged_step']} with --lr "
                          f"{report['lr']:g}; use a smaller --lr (the largest stable plain-GD step at the "
                          f"closed-form minimum is {report['max_stable_learning_rate']:.4g}; momentum and a large "
                          "--init-scale need less)",
                          file=sys.stderr)
                    return EXIT_DIVERGED
                return EXIT_OK
            if args.command in ("scan", "plot"):
                from landscape.cli import scan as cli_scan

                return cli_scan.scan_command(args) if args.command == "scan" else cli_scan.plot_command(args)
            # run
            grid = _int(args.grid, "--grid", low=8, high=2000)
            seed = _seed(args.seed)
            try:
                summary, text = run_job(Path(args.out), grid, seed, spot_checks=not args.no_spot_checks)
            except OSError as e:
                raise CLIError(f"--out: cannot write to {args.out} ({e.strerror or e})") from None
            print(_dump(summary) if args.json else text)
            return EXIT_OK
    except CLIError as e:
        where = e.prog or prog
        msg = " ".join(str(e).split())
        print(f"{where}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (e.g. `landscape solve ... | head`): stop quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
