r"""What every ``landscape`` command shares: errors and exit codes, precision, number and file
parsing, the problem/loss options with their parsed :class:`Setup`, and JSON output.

Bad input raises :class:`CLIError`; :func:`landscape.cli.main` prints it as one line on
stderr, ``landscape <command>: error: <message>``, and exits with :data:`EXIT_USAGE`.
The library's own ``ValueError`` names a field (``weight_decay``); :func:`library_errors`
turns it into a :class:`CLIError` naming the option (``--weight-decay``).

Non-finite numbers in the JSON output are written as the strings ``"inf"``, ``"-inf"``
and ``"nan"`` (:func:`num`), so the output is strict JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from typing import Any, NamedTuple

import numpy as np

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_USAGE = 2

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SEED_MAX = 2**32 - 1
MAX_STEPS = 10_000_000  # optimizer steps of one run (the step counters are int32)

_FALSE_WORDS = ("0", "false", "no", "off", "n", "f")


class CLIError(Exception):
    """Bad command-line input: reported as one line on stderr with exit code 2."""

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become :class:`CLIError` (one line, exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CLIError(message, prog=self.prog)


# --------------------------------------------------------------------------- precision
def x64_requested() -> bool:
    """float64 unless the environment asks for float32 via JAX_ENABLE_X64=0 (false/no/off/n/f)."""
    env = os.environ.get("JAX_ENABLE_X64")
    return not (env is not None and env.strip().lower() in _FALSE_WORDS)


@contextlib.contextmanager
def precision():
    """Run the body in the CLI's precision (:func:`x64_requested`) without changing the process's.

    JAX's ``enable_x64`` context sets the flag for the current thread only and
    restores the previous value on exit, so a program that calls ``main``
    keeps its own ``jax_enable_x64`` setting.
    """
    import jax

    scope = getattr(jax, "enable_x64", None)
    if scope is None:  # jax < 0.8: the same context lives in jax.experimental
        from jax.experimental import disable_x64, enable_x64

        ctx = enable_x64() if x64_requested() else disable_x64()
    else:
        ctx = scope(x64_requested())
    with ctx:
        yield


def silence_stdout() -> None:
    """Send the rest of stdout nowhere: its reader went away (a ``BrokenPipeError``); stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# --------------------------------------------------------------------------- JSON and text output
def num(x) -> Any:
    """A JSON-safe Python number: non-finite floats become "inf", "-inf" or "nan".

    >>> num(float("inf")), num(np.int64(3)), num(0.5)
    ('inf', 3, 0.5)
    """
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


def nums(arr) -> list:
    """:func:`num` of every entry of ``arr``, flattened."""
    return [num(v) for v in np.asarray(arr).ravel().tolist()]


def dump(obj) -> str:
    """Strict, indented JSON (non-finite numbers must already be strings, :func:`num`)."""
    return json.dumps(obj, indent=2, allow_nan=False)


def fmt_g(v, digits: int) -> str:
    """Format a JSON number (or its "inf"/"nan" string) with ``digits`` significant digits."""
    return v if isinstance(v, str) else f"{v:.{digits}g}"


def fmt_cell(v, width=11, digits=6) -> str:
    """A right-aligned table cell of a JSON number (or its "inf"/"nan" string)."""
    if isinstance(v, str):
        return v.rjust(width)
    return f"{v:{width}.{digits}g}"


# --------------------------------------------------------------------------- numbers
def parse_float(text, opt: str, *, low=None, high=None, low_inclusive=True, high_inclusive=True) -> float:
    """A finite number option in the given range, or a :class:`CLIError` naming ``opt``."""
    from landscape.core.validation import as_scalar

    try:
        return as_scalar(text, opt, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive)
    except ValueError as e:
        raise CLIError(str(e)) from None


def parse_int(text, opt: str, *, low=None, high=None) -> int:
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


def parse_seed(text, opt: str = "--seed") -> int:
    """A PRNG seed in [0, 2³² − 1]: the range in which ``jax.random.PRNGKey`` gives the same key in
    float32 and float64 and distinct seeds give distinct keys (float32 wraps larger seeds)."""
    return parse_int(text, opt, low=0, high=SEED_MAX)


def parse_float_list(text: str, opt: str) -> np.ndarray:
    """A comma-separated list of numbers as a float array."""
    parts = [t.strip() for t in str(text).split(",")]
    if not parts or any(t == "" for t in parts):
        raise CLIError(f"{opt} must be a comma-separated list of numbers, got {text!r}")
    try:
        return np.array([float(t) for t in parts])
    except ValueError:
        raise CLIError(f"{opt} must be a comma-separated list of numbers, got {text!r}") from None


# --------------------------------------------------------------------------- .npy files
def read_npy(path: str, opt: str, *, square: bool = False) -> np.ndarray:
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
        raise CLIError(
            f"{opt}: {path} holds Python objects (dtype {dtype}); only numeric arrays are read, pickled data never"
        )
    if square and (len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0):
        raise CLIError(f"{opt}: {path} must hold a square d×d matrix, got shape {shape}")
    # The array as stored, then its float64 copy.
    require_bytes(float(np.prod(shape, dtype=float)) * (dtype.itemsize + 8), f"{opt} {path} of shape {shape}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise unreadable(e) from None


def load_npy(path: str, opt: str, *, square: bool = False) -> np.ndarray:
    """A real-valued array from a .npy file as float64; ``square``: it must be a d×d matrix."""
    arr = read_npy(path, opt, square=square)
    if arr.dtype.kind not in "biuf":
        raise CLIError(f"{opt}: {path} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(float)


# --------------------------------------------------------------------------- library errors
_FIELD_RE_CACHE: dict[tuple, re.Pattern] = {}

SIGMA_FIELD = "sigma = data_cov + aug_cov"
#: Library field names → options, for the problem/loss options.
COMMON_FIELDS = {
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
#: Library field names in the errors of the training subcommands (two-layer, nn-train).
HANDLER_FIELDS = {
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


def translate(message: str, mapping: dict[str, str]) -> str:
    """Replace library field names (data_var, weight_decay, ...) by CLI option names.

    >>> translate("weight_decay must be >= 0", COMMON_FIELDS)
    '--weight-decay must be >= 0'
    """
    keys = tuple(sorted(mapping, key=len, reverse=True))
    if not keys:
        return " ".join(message.split())
    pat = _FIELD_RE_CACHE.get(keys)
    if pat is None:
        pat = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b")
        _FIELD_RE_CACHE[keys] = pat
    text = pat.sub(lambda m: mapping[m.group(1)], message)
    return " ".join(text.split())


@contextlib.contextmanager
def library_errors(mapping: dict[str, str]):
    """Turn the library's ``ValueError`` (bad input, naming a field such as ``weight_decay``) into a
    :class:`CLIError` naming the option (``--weight-decay``)."""
    try:
        yield
    except ValueError as e:
        raise CLIError(translate(str(e), mapping)) from None


def require_bytes(nbytes: float, field: str) -> None:
    """:func:`landscape.core.validation.require_memory` with its refusal as a :class:`CLIError`."""
    from landscape.core.validation import require_memory

    with library_errors({}):
        require_memory(nbytes, field)


def require_size(d0: int, d1: int, source: str, *, out_dim_given: bool, flow: bool = False) -> None:
    """Refuse, before anything is allocated, a problem whose arrays would not fit in memory.

    The estimate counts float64 arrays: eight d0×d0 (A0, C, Σ, B and their
    eigendecompositions) and two d1×d0 (the weights and a product); ``flow``
    adds five d1×d0 (W, its gradient, the optimizer state, WΣ) and two d1×d1
    (WΣWᵀ and its square).
    """
    count = 8 * d0 * d0 + 2 * d1 * d0 + ((5 * d1 * d0 + 2 * d1 * d1) if flow else 0)
    field = f"--out-dim {d1} (with d0 = {d0} from {source})" if out_dim_given else f"{source} (dimension d0 = {d0})"
    require_bytes(8.0 * count, field)


# --------------------------------------------------------------------------- the problem and loss options
def add_problem_options(p: argparse.ArgumentParser) -> None:
    """The problem (diagonal or full covariances) and loss options (:func:`add_loss_options`), and ``--json``."""
    g = p.add_argument_group(
        "problem (diagonal: --a with --c or --sigma2; full: --data-cov with --aug-cov or --sigma2)"
    )
    g.add_argument("--a", metavar="A1,A2,...", help="diagonal data variances a_i (A0 = diag(a))")
    g.add_argument(
        "--c", metavar="C1,C2,...", help="diagonal augmentation variances c_i (C = diag(c)); one value means C = c·I"
    )
    g.add_argument("--sigma2", metavar="S", help="isotropic augmentation C = S·I")
    g.add_argument("--data-cov", metavar="FILE.npy", help="data covariance A0 as a .npy matrix")
    g.add_argument("--aug-cov", metavar="FILE.npy", help="augmentation covariance C as a .npy matrix")
    add_loss_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def add_loss_options(p: argparse.ArgumentParser) -> None:
    """The loss options (--loss, --form, --weight-decay, --out-dim and the loss parameters), read by
    :func:`loss_parameters`."""
    from landscape.losses.effective import FORMS, LOSSES

    g = p.add_argument_group("loss")
    g.add_argument("--loss", choices=LOSSES, default="infonce", help="SSL loss (default: infonce)")
    g.add_argument(
        "--form",
        choices=FORMS,
        default="derived",
        help="which loss → B table to use (default: derived; 'paper' reproduces the paper)",
    )
    g.add_argument("--weight-decay", default="0", metavar="GAMMA", help="weight decay γ ≥ 0 (default 0)")
    g.add_argument("--out-dim", default=None, metavar="D1", help="output dimension d1 (default: d0)")
    g.add_argument("--alpha", default="1", help="weighted-infonce: weight α ≥ 0 of the positive (default 1)")
    g.add_argument("--beta", default="0.5", help="beta-infonce: β in (0, 1] (default 0.5)")
    g.add_argument(
        "--n-samples", default=None, metavar="N", help="weighted-infonce: data-set size N ≥ 1 (required for that loss)"
    )
    g.add_argument(
        "--invariance-weight",
        default="1",
        metavar="LAMBDA",
        help="vicreg (derived form): invariance weight λ_inv ≥ 0 (default 1)",
    )
    g.add_argument(
        "--quartic",
        default="1",
        metavar="K",
        help="quartic coefficient k > 0 (1 = paper, 0.75 = exact Gaussian cumulant; default 1)",
    )


class Setup:
    """A problem and a loss with their parameters, and the effective landscape they give.

    Build it from parsed options with :func:`setup_from_args`, or directly from a
    :class:`landscape.Problem` (the ``run`` job does).  ``mapping`` translates the
    library's field names in errors into options (:func:`library_errors`);
    ``size_source`` and ``out_dim_given`` word the memory refusal of :func:`require_size`.
    """

    def __init__(
        self,
        problem,
        loss: str = "infonce",
        *,
        form: str = "derived",
        quartic: float = 1.0,
        weight_decay: float = 0.0,
        alpha: float = 1.0,
        beta: float = 0.5,
        n_samples: float | None = None,
        invariance_weight: float = 1.0,
        out_dim: int | None = None,
        sigma2: float | None = None,
        mapping: dict | None = None,
        size_source: str = "the problem",
    ):
        import landscape as ls

        self.problem, self.loss, self.form = problem, loss, form
        self.quartic, self.weight_decay, self.sigma2 = quartic, weight_decay, sigma2
        self.alpha, self.beta, self.n_samples, self.invariance_weight = alpha, beta, n_samples, invariance_weight
        self.out_dim_given = out_dim is not None
        self.out_dim = int(problem.dim) if out_dim is None else int(out_dim)
        self.mapping = dict(COMMON_FIELDS) if mapping is None else mapping
        self.size_source = size_source
        with library_errors(self.mapping):
            self.landscape = ls.effective_landscape(
                problem, loss, form=form, quartic=quartic, weight_decay=weight_decay, **self.loss_kwargs
            )

    @property
    def loss_kwargs(self) -> dict:
        return dict(
            alpha=self.alpha, n_samples=self.n_samples, beta=self.beta, invariance_weight=self.invariance_weight
        )

    @property
    def threshold_kwargs(self) -> dict:
        return dict(form=self.form, **self.loss_kwargs)


def loss_parameters(args: argparse.Namespace) -> dict:
    """The numeric loss options of :func:`add_loss_options`, checked."""
    p = dict(
        weight_decay=parse_float(args.weight_decay, "--weight-decay", low=0.0),
        quartic=parse_float(args.quartic, "--quartic", low=0.0, low_inclusive=False),
        alpha=parse_float(args.alpha, "--alpha", low=0.0),
        beta=parse_float(args.beta, "--beta", low=0.0, high=1.0, low_inclusive=False),
        invariance_weight=parse_float(args.invariance_weight, "--invariance-weight", low=0.0),
        n_samples=None if args.n_samples is None else parse_float(args.n_samples, "--n-samples", low=1.0),
    )
    if args.loss == "weighted-infonce":
        if p["n_samples"] is None:
            raise CLIError("--n-samples is required for --loss weighted-infonce (data-set size N >= 1)")
        if p["n_samples"] - 1.0 + p["alpha"] <= 0.0:
            # The denominator α·e^{pos} + (N − 1 negatives) vanishes: the loss is undefined.
            raise CLIError(
                f"--alpha and --n-samples: weighted InfoNCE needs N - 1 + alpha > 0, got --n-samples "
                f"{p['n_samples']:g} with --alpha {p['alpha']:g} (with N = 1 there are no negatives, so "
                "alpha must be > 0)"
            )
    return p


def _problem_arrays(args, sigma2, mapping: dict):
    """(build the Problem, d0, source option) from --a/--c/--sigma2 or --data-cov/--aug-cov/--sigma2."""
    import landscape as ls

    if args.a is not None:
        a = parse_float_list(args.a, "--a")
        mapping.update(data_var="--a", data_cov="--a")
        if args.c is not None:
            c = parse_float_list(args.c, "--c")
            mapping.update(aug_var="--c", aug_cov="--c")
            mapping[SIGMA_FIELD] = "Σ = A0 + C = diag(a + c) from --a and --c"
        elif sigma2 is not None:
            c = np.array([sigma2])
            mapping.update(aug_var="--sigma2", aug_cov="--sigma2")
            mapping[SIGMA_FIELD] = "Σ = A0 + C from --a and --sigma2"
        else:
            raise CLIError("--a needs --c (diagonal augmentation variances) or --sigma2")
        if c.size not in (1, a.size):
            raise CLIError(f"--a and --c must have the same length, got {a.size} and {c.size}")
        return (lambda: ls.Problem.from_diagonal(a, c)), a.size, "--a"
    if args.data_cov is None:
        raise CLIError("a problem is required: --a with --c/--sigma2, or --data-cov with --aug-cov/--sigma2")
    a0 = load_npy(args.data_cov, "--data-cov", square=True)
    mapping.update(data_cov="--data-cov", data_var="--data-cov")
    if args.aug_cov is not None:
        c = load_npy(args.aug_cov, "--aug-cov", square=True)
        mapping.update(aug_cov="--aug-cov")
        mapping[SIGMA_FIELD] = "Σ = A0 + C from --data-cov and --aug-cov"
        return (lambda: ls.Problem.from_arrays(a0, c)), a0.shape[0], "--data-cov"
    if sigma2 is None:
        raise CLIError("--data-cov needs --aug-cov or --sigma2")
    mapping.update(aug_cov="--sigma2")
    mapping[SIGMA_FIELD] = "Σ = A0 + C from --data-cov and --sigma2"
    return (lambda: ls.Problem.isotropic(a0, sigma2)), a0.shape[0], "--data-cov"


def setup_from_args(args) -> Setup:
    """The :class:`Setup` of the options of :func:`add_problem_options`; bad input raises :class:`CLIError`.

    A problem too large for memory is refused (:func:`require_size`) before its arrays are built.
    """
    if args.a is not None and (args.data_cov is not None or args.aug_cov is not None):
        raise CLIError("give either --a (diagonal) or --data-cov (full matrix), not both")
    if args.c is not None and args.sigma2 is not None:
        raise CLIError("give either --c or --sigma2, not both")
    if args.aug_cov is not None and args.sigma2 is not None:
        raise CLIError("give either --aug-cov or --sigma2, not both")
    if args.c is not None and args.data_cov is not None:
        raise CLIError("--c goes with --a; use --aug-cov (or --sigma2) with --data-cov")
    sigma2 = None if args.sigma2 is None else parse_float(args.sigma2, "--sigma2", low=0.0)
    params = loss_parameters(args)
    mapping = dict(COMMON_FIELDS)
    build, d0, source = _problem_arrays(args, sigma2, mapping)
    out_dim = None if args.out_dim is None else parse_int(args.out_dim, "--out-dim", low=1)
    require_size(d0, d0 if out_dim is None else out_dim, source, out_dim_given=out_dim is not None)
    with library_errors(mapping):
        problem = build()
    return Setup(
        problem,
        args.loss,
        form=args.form,
        out_dim=out_dim,
        sigma2=sigma2,
        mapping=mapping,
        size_source=source,
        **params,
    )


# --------------------------------------------------------------------------- normalization and bias
def add_normalization_options(p: argparse.ArgumentParser, exact_gaussian: bool = True) -> None:
    """--kappa, --norm-target, --hard-norm, --bias (and --landscape), read by :func:`parse_normalization`."""
    g = p.add_argument_group("normalization and bias")
    g.add_argument(
        "--kappa",
        default=None,
        metavar="K",
        help="normalization strength κ ≥ 0 of the penalty κ(Tr[WΣWᵀ] − c)² (default: none)",
    )
    g.add_argument("--norm-target", default="1", metavar="C", help="target norm c > 0 of the penalty (default 1)")
    g.add_argument("--hard-norm", action="store_true", help="hard normalization: the κ → ∞ limit (WS Eq. 8-9)")
    g.add_argument(
        "--bias", action="store_true", help="add a bias b to f = Wx + b (Theorem 2; needs --kappa or --hard-norm)"
    )
    if exact_gaussian:
        g.add_argument(
            "--landscape",
            choices=("effective", "exact-gaussian"),
            default="effective",
            help="effective quartic landscape (default) or the exact Gaussian InfoNCE population loss",
        )


class Normalization(NamedTuple):
    """Which landscape to solve: the norm penalty κ (None: none), its target c, the κ → ∞ limit,
    a bias, and the effective or exact-Gaussian landscape."""

    kappa: float | None = None
    norm_target: float = 1.0
    hard: bool = False
    bias: bool = False
    landscape: str = "effective"

    @property
    def normalized(self) -> bool:
        return self.kappa is not None or self.hard


def parse_normalization(args) -> Normalization:
    """The options of :func:`add_normalization_options`, checked."""
    kappa = None if args.kappa is None else parse_float(args.kappa, "--kappa", low=0.0)
    c = parse_float(args.norm_target, "--norm-target", low=0.0, low_inclusive=False)
    if args.kappa is not None and args.hard_norm:
        raise CLIError("give either --kappa (finite κ) or --hard-norm (κ → ∞), not both")
    if args.bias and not (kappa is not None or args.hard_norm):
        raise CLIError("--bias needs --kappa or --hard-norm: without normalization a bias does not change the loss")
    return Normalization(kappa, c, bool(args.hard_norm), bool(args.bias), getattr(args, "landscape", "effective"))
