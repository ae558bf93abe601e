r"""Beneficial (and harmful) dimensional collapse, measured with few-label probes.

**Setting.**  Inputs x = (x_s, x_n) with independent Gaussian *signal* dims
(variances a_s) and *nuisance* dims (variances a_n); the label depends on the
signal only: y = t·x_s + noise (regression) or sign(t·x_s) (classification).
The augmentation adds variance σ² either to the nuisance dims
(``target="nuisance"``) or to the signal dims (``target="signal"``).

**Theory** (commuting, diagonal): the SSL global minimum keeps dim i with
representation variance v_i = max(b_i, 0)/(2k s_i), b_i = p_B a_i + q_B c_i − γ.
For β-InfoNCE (derived form, p_B = β, q_B = −(1 − β)) an augmented dim collapses
at σ² ≥ β a_i/(1 − β) (:func:`collapse_sigma2`).  Below that, SSL nearly
whitens (v_i ≈ ½ for every kept dim when σ² ≪ a_i), so a low-variance nuisance
dim gets the *same* weight as a signal dim; a few-label linear probe then has
to learn to ignore n_n extra dims.  Once the nuisance collapses the
representation has only the signal dims and the probe needs fewer labels: the
hypothesised gain.  If the augmentation hits the signal instead, collapse
deletes the information the label needs and the probe fails: the harm.

Functions return plain NumPy arrays; the probes are closed-form ridge
(:func:`landscape.metrics.fit_probe`) or a jitted gradient-descent logistic
regression, always scored on an independent test sample.

Example:
    >>> prob = signal_nuisance_problem([1.0, 1.0], [0.5], 1.0)
    >>> [float(v) for v in prob.aug_cov.diagonal()]
    [0.0, 0.0, 1.0]
    >>> round(collapse_sigma2(0.5, beta=0.5), 6)
    0.5
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.problem import Problem
from landscape.core.validation import as_scalar, as_variances
from landscape.losses.effective import effective_landscape
from landscape.metrics import fit_probe, probe_predict
from landscape.studies.class_imbalance import representation_map
from landscape.studies.plain_descent import sgd_descent
from landscape.theory.stationary_points import global_minimum

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = [
    "signal_nuisance_problem",
    "collapse_sigma2",
    "ssl_map",
    "sample_signal_nuisance",
    "ridge_probe_error",
    "logistic_probe_accuracy",
    "probe_curve",
    "gain_vs_labels",
    "largest_gain_size",
]

TARGETS = ("nuisance", "signal")


def signal_nuisance_problem(
    signal_var: Float[ArrayLike, " ds"],
    nuisance_var: Float[ArrayLike, " dn"],
    sigma2: float,
    *,
    target: str = "nuisance",
) -> Problem:
    """Diagonal problem A0 = diag(a_s, a_n) with augmentation σ² on the ``target`` block only.

    >>> [float(v) for v in signal_nuisance_problem([2.0], [0.3], 0.7, target="signal").aug_cov.diagonal()]
    [0.7, 0.0]
    """
    a_s = as_variances(signal_var, "signal_var")
    a_n = as_variances(nuisance_var, "nuisance_var")
    s2 = as_scalar(sigma2, "sigma2", low=0.0)
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}; got {target!r}")
    c = np.concatenate(
        [np.full(a_s.size, s2 if target == "signal" else 0.0), np.full(a_n.size, s2 if target == "nuisance" else 0.0)]
    )
    return Problem.from_diagonal(np.concatenate([a_s, a_n]), c)


def collapse_sigma2(data_var: float, *, beta: float = 0.5, weight_decay: float = 0.0) -> float:
    r"""σ² at which an augmented dim of variance a collapses under β-InfoNCE (derived form):

        β a − (1 − β) σ² − γ ≤ 0   ⇔   σ² ≥ (β a − γ)/(1 − β)   (0 if already collapsed).

    >>> round(collapse_sigma2(1.0, beta=0.6), 9)
    1.5
    """
    a = as_scalar(data_var, "data_var", low=0.0)
    b = as_scalar(beta, "beta", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    g = as_scalar(weight_decay, "weight_decay", low=0.0)
    return max((b * a - g) / (1.0 - b), 0.0)


def ssl_map(
    problem: Problem, loss: str = "beta-infonce", *, beta: float = 0.5, weight_decay: float = 0.0, quartic: float = 1.0
) -> np.ndarray:
    """The representation map W (d×d, symmetric root of WᵀW) at the closed-form global minimum.

    >>> w = ssl_map(signal_nuisance_problem([1.0], [0.5], 0.6))     # nuisance collapsed (0.6 > 0.5)
    >>> bool(abs(w[1, 1]) < 1e-12), bool(w[0, 0] > 0)
    (True, True)
    """
    land = effective_landscape(problem, loss, beta=beta, weight_decay=weight_decay, quartic=quartic)
    return representation_map(np.asarray(global_minimum(land, problem.dim).gram, dtype=float))


def sample_signal_nuisance(
    rng: np.random.Generator,
    signal_var: Float[ArrayLike, " ds"],
    nuisance_var: Float[ArrayLike, " dn"],
    teacher: Float[ArrayLike, " ds"],
    n: int,
    *,
    label_noise: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """n clean inputs and targets y = teacher·x_s + N(0, label_noise²).

    >>> x, y = sample_signal_nuisance(np.random.default_rng(0), [1.0], [1.0, 1.0], [1.0], 5)
    >>> x.shape, y.shape
    ((5, 3), (5,))
    """
    a = np.concatenate([as_variances(signal_var, "signal_var"), as_variances(nuisance_var, "nuisance_var")])
    t = np.atleast_1d(np.asarray(teacher, dtype=float))
    ns = np.atleast_1d(np.asarray(signal_var)).size
    if t.shape != (ns,):
        raise ValueError(f"teacher must have one weight per signal dim ({ns}), got shape {t.shape}")
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    x = rng.standard_normal((int(n), a.size)) * np.sqrt(a)
    y = x[:, :ns] @ t + float(label_noise) * rng.standard_normal(int(n))
    return x, y


def _ridge_error(ztr, ytr, zte, yte, ridge):
    """Normalised held-out squared error of one ridge probe (traceable; :func:`landscape.metrics.fit_probe`)."""
    p = fit_probe(ztr, ytr, ridge=ridge)
    pred = probe_predict(p, zte)[:, 0]
    return jnp.sum((yte - pred) ** 2) / jnp.sum((yte - jnp.mean(yte)) ** 2)


def _under_maps(probe, xtr, ytr, xte, yte, maps):
    """``probe`` on z = x Wᵀ for every draw (leading axis of the data) and every map W: shape (draws, maps)."""

    def one(a, b, c, d, w):
        return probe(a @ w.T, b, c @ w.T, d)

    per_map = jax.vmap(one, in_axes=(None, None, None, None, 0))
    return jax.vmap(per_map, in_axes=(0, 0, 0, 0, None))(xtr, ytr, xte, yte, maps)


@functools.partial(jax.jit, static_argnames=("ridge",))
def _ridge_errors(xtr, ytr, xte, yte, maps, *, ridge: float):
    """:func:`_ridge_error` for every draw and every map (see :func:`_under_maps`)."""
    return _under_maps(lambda a, b, c, d: _ridge_error(a, b, c, d, ridge), xtr, ytr, xte, yte, maps)


def ridge_probe_error(
    z_train: Float[ArrayLike, "n k"],
    y_train: Float[ArrayLike, " n"],
    z_test: Float[ArrayLike, "m k"],
    y_test: Float[ArrayLike, " m"],
    *,
    ridge: float = 1e-3,
) -> float:
    r"""Held-out normalised squared error Σ(y − ŷ)²/Σ(y − ȳ)² of a ridge probe (relative λ).

    >>> z = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> round(ridge_probe_error(z[:2], z[:2, 0], z[2:], z[2:, 0], ridge=0.0), 9)
    0.0
    """
    dt = jnp.result_type(float)
    args = [jnp.asarray(np.asarray(a, dtype=float), dt)[None] for a in (z_train, y_train, z_test, y_test)]
    eye = jnp.eye(args[0].shape[-1], dtype=dt)[None]
    return float(_ridge_errors(*args, eye, ridge=float(ridge))[0, 0])


def _logistic_accuracy(ztr, s, zte, labels_te, l2, steps: int):
    """One logistic probe (traceable): standardise, fit by full-batch descent, score the test split."""
    mean = jnp.mean(ztr, axis=0, keepdims=True)
    scale = jnp.sqrt(jnp.maximum(jnp.mean(jnp.sum((ztr - mean) ** 2, axis=1)), 1e-300) / ztr.shape[1])
    ztr = (ztr - mean) / scale
    zte = (zte - mean) / scale
    lam_max = jnp.linalg.eigvalsh(ztr.T @ ztr / ztr.shape[0])[-1] + 1.0
    lr = 1.0 / (0.25 * lam_max + l2)

    def loss(params):
        w, b = params
        m = s * (ztr @ w + b)
        return jnp.mean(jax.nn.softplus(-m)) + 0.5 * l2 * jnp.sum(w * w)

    p0 = (jnp.zeros(ztr.shape[1], ztr.dtype), jnp.zeros((), ztr.dtype))
    (w, b), _, _, _ = sgd_descent(jax.grad(loss), p0, lr, steps=steps)
    return jnp.mean(((zte @ w + b) > 0).astype(ztr.dtype) == labels_te)


@functools.partial(jax.jit, static_argnames=("steps",))
def _logistic_accuracies(xtr, s, xte, labels_te, maps, l2, *, steps: int):
    """:func:`_logistic_accuracy` for every draw and every map (see :func:`_under_maps`)."""
    return _under_maps(lambda a, b, c, d: _logistic_accuracy(a, b, c, d, l2, steps), xtr, s, xte, labels_te, maps)


def logistic_probe_accuracy(
    z_train: Float[ArrayLike, "n k"],
    labels_train: Int[ArrayLike, " n"],
    z_test: Float[ArrayLike, "m k"],
    labels_test: Int[ArrayLike, " m"],
    *,
    l2: float = 1e-2,
    steps: int = 500,
) -> float:
    r"""Held-out accuracy of an L2-regularised logistic probe on standardised features (binary 0/1 labels).

    Loss mean softplus(−s(zw + b)) + (l2/2)‖w‖², s = ±1, full-batch gradient
    descent with step 1/(¼λ_max + l2); features are standardised with the
    training mean and the *overall* training scale (one scalar, so collapsed
    dims stay at zero).

    >>> z = np.array([[-2.0], [-1.0], [1.0], [2.0]]); lab = np.array([0, 0, 1, 1])
    >>> logistic_probe_accuracy(z, lab, -z, 1 - lab)
    1.0
    """
    dt = jnp.result_type(float)
    s = 2.0 * np.asarray(labels_train, dtype=float) - 1.0
    args = [jnp.asarray(np.asarray(a, dtype=float), dt)[None] for a in (z_train, s, z_test, labels_test)]
    eye = jnp.eye(args[0].shape[-1], dtype=dt)[None]
    return float(_logistic_accuracies(*args, eye, jnp.asarray(l2, dt), steps=int(steps))[0, 0])


def probe_curve(
    rng: np.random.Generator,
    signal_var: Float[ArrayLike, " ds"],
    nuisance_var: Float[ArrayLike, " dn"],
    sigma2s: Float[ArrayLike, " s"],
    *,
    n_labels: int,
    target: str = "nuisance",
    beta: float = 0.5,
    weight_decay: float = 0.0,
    n_test: int = 2000,
    n_repeats: int = 10,
    ridge: float = 1e-3,
    logistic: bool = False,
    label_noise: float = 0.1,
) -> dict:
    r"""Few-label probe quality on the SSL representation against σ² (β-InfoNCE closed form).

    For each σ² the map W(σ²) is the closed-form global minimum; for each of
    ``n_repeats`` draws a teacher t ~ N(0, I), ``n_labels`` training and
    ``n_test`` test points are sampled (test set independent), and the probe is
    fitted on z = Wx of the training points.  Also returns the raw-input
    baseline (z = x) on the same draws.  All probes of one call run in one
    vmapped, jitted evaluation (one compilation per array shape).

    Returns dict with ``sigma2`` (S,), ``error`` (S, R) ridge normalised error,
    ``accuracy`` (S, R) logistic accuracy on sign labels (NaN unless ``logistic``),
    ``raw_error`` (R,), ``raw_accuracy`` (R,), ``rank`` (S,).
    """
    a_s = as_variances(signal_var, "signal_var")
    a_n = as_variances(nuisance_var, "nuisance_var")
    s2s = np.atleast_1d(np.asarray(sigma2s, dtype=float))
    maps = [
        ssl_map(signal_nuisance_problem(a_s, a_n, s2, target=target), beta=beta, weight_decay=weight_decay)
        for s2 in s2s
    ]
    stack = np.stack(maps + [np.eye(a_s.size + a_n.size)])  # the last map: raw input
    draws = []
    for _ in range(n_repeats):
        t = rng.standard_normal(a_s.size)
        draws.append(
            sample_signal_nuisance(rng, a_s, a_n, t, n_labels, label_noise=label_noise)
            + sample_signal_nuisance(rng, a_s, a_n, t, n_test, label_noise=label_noise)
        )
    xtr, ytr, xte, yte = (np.stack([d[i] for d in draws]) for i in range(4))
    dt = jnp.result_type(float)
    xtr, ytr, xte, yte, maps_j = (jnp.asarray(a, dt) for a in (xtr, ytr, xte, yte, stack))
    err = np.asarray(_ridge_errors(xtr, ytr, xte, yte, maps_j, ridge=float(ridge)))  # (R, M)
    acc = np.full_like(err, np.nan)
    if logistic:
        acc = np.asarray(
            _logistic_accuracies(
                xtr, 2.0 * (ytr > 0) - 1.0, xte, (yte > 0).astype(dt), maps_j, jnp.asarray(1e-2, dt), steps=500
            )
        )
    rank = np.array([int(np.sum(np.abs(np.diag(w)) > 1e-9 * max(np.abs(w).max(), 1e-300))) for w in maps])
    return dict(
        sigma2=s2s,
        error=err[:, :-1].T,
        accuracy=acc[:, :-1].T,
        raw_error=err[:, -1],
        raw_accuracy=acc[:, -1],
        rank=rank,
    )


def gain_vs_labels(
    rng: np.random.Generator,
    signal_var: Float[ArrayLike, " ds"],
    nuisance_var: Float[ArrayLike, " dn"],
    n_labels_list: Sequence[int],
    *,
    sigma2_kept: float,
    sigma2_collapsed: float,
    target: str = "nuisance",
    beta: float = 0.5,
    n_repeats: int = 10,
    n_test: int = 2000,
    ridge: float = 1e-3,
    logistic: bool = False,
) -> dict:
    r"""Probe error with the augmented dims kept (σ² = ``sigma2_kept``) minus error once they collapse.

    A positive gain means collapse helps.  Returns ``n_labels``, ``gain`` (mean),
    ``gain_se`` (standard error over repeats, paired draws), ``error_kept``,
    ``error_collapsed`` (means) and, with ``logistic``, the accuracy gain
    ``acc_gain`` (collapsed − kept) with ``acc_gain_se``.
    """
    out: dict[str, list] = {
        k: [] for k in ("gain", "gain_se", "error_kept", "error_collapsed", "acc_gain", "acc_gain_se")
    }
    ns = [int(n) for n in n_labels_list]
    for n in ns:
        c = probe_curve(
            rng,
            signal_var,
            nuisance_var,
            [sigma2_kept, sigma2_collapsed],
            n_labels=n,
            target=target,
            beta=beta,
            n_test=n_test,
            n_repeats=n_repeats,
            ridge=ridge,
            logistic=logistic,
        )
        d = c["error"][0] - c["error"][1]
        out["gain"].append(d.mean())
        out["gain_se"].append(d.std(ddof=1) / np.sqrt(d.size))
        out["error_kept"].append(c["error"][0].mean())
        out["error_collapsed"].append(c["error"][1].mean())
        da = c["accuracy"][1] - c["accuracy"][0]
        out["acc_gain"].append(da.mean())
        out["acc_gain_se"].append(da.std(ddof=1) / np.sqrt(da.size))
    res = {k: np.asarray(v) for k, v in out.items()}
    res["n_labels"] = np.asarray(ns)
    return res


def largest_gain_size(
    n_labels: Iterable[int], gain: Iterable[float], gain_se: Iterable[float], *, z: float = 2.0, min_gain: float = 0.0
) -> int | None:
    """Largest label count n such that at every n' ≤ n the gain is significant (> z·se) and above ``min_gain``.

    None if the gain is not there even at the smallest n.

    >>> largest_gain_size([4, 8, 16], [0.5, 0.2, 0.0], [0.1, 0.05, 0.05])
    8
    """
    best = None
    for n, g, se in zip(n_labels, gain, gain_se):
        if g > z * se and g > min_gain:
            best = int(n)
        else:
            break
    return best
