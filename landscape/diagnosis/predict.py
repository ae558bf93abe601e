r"""Predict, from two views, which directions a loss keeps and where each one collapses.

The estimates (A0, C) of :mod:`landscape.diagnosis.estimate` enter the library's
effective landscape (:func:`landscape.losses.effective.effective_landscape`):
B = p·A0 + q·C from the loss table and the rank of every minimum is the number
of eigenvalues b_i of B − γI that survive (:func:`landscape.core.linalg.survives`),
capped at the output dimension (:func:`landscape.theory.collapse_thresholds.predicted_rank`).

**Directions** are the unit eigenvectors u_i of B (those of B − γI), reported in
order of decreasing estimated data variance u_iᵀA0u_i.  For commuting A0 and C
they are the common eigenvectors.

* ``critical_weight_decay`` — direction i collapses for γ ≥ max(b_i, 0) (exact
  for any A0 and C: γ shifts every eigenvalue of B alike).
* ``critical_aug_scale`` — the factor t by which C may be multiplied before the
  direction collapses: the i-th largest eigenvalue of p·A0 + t·q·C − γI crosses
  zero at the i-th largest generalised eigenvalue μ of (p·A0 − γI)v = μ·|q|·C·v
  (q < 0; Sylvester's inertia), so #kept(t) = #{μ_j > t}.  Each μ is attached to
  the direction whose eigenvector overlaps its generalised eigenvector most
  (exact when A0 and C commute).  0 when the direction is collapsed even without
  augmentation; ∞ when q ≥ 0 (the loss has no C term, or C only helps) or when
  C is (numerically) zero along the direction.
* ``kept`` — True / False, or None (undecided) when the bootstrap percentile
  interval of b_i − γ (the i-th largest eigenvalue over replicates) contains 0.
  With an ``out_dim`` below the number of surviving directions the rank is
  capped; ``kept`` still reports the survival of each direction.

The bootstrap intervals are those of the unshrunk estimator.

**Directions without variance** (dead units, constant features: Σ = A0 + C singular)
are split off (:mod:`landscape.diagnosis.nullspace`, with a warning naming how many)
and reported as collapsed with b = 0 and critical values 0 (``revival_*`` ∞,
whitened eigenvalue and margin NaN: undefined there); the rest is diagnosed on the
complement.  The arrays keep the full dimension d.

**Normalization** (``normalization=Normalization(kappa, norm_target)``, finite κ or
κ = ``math.inf``): the prediction of the normalized landscape, WS Eq. 7–9 and
Props. 2–3, in :mod:`landscape.diagnosis.normalized` (equations, conditions and how
its rank rule differs).  Then ``directions`` are the whitened eigen-directions
Σ^{-1/2}u_i, ``kept`` is the sign of the survival margin g_m = ℓ_m + t_{1..m}
(undecided when its bootstrap interval contains 0), ``b_eigenvalues`` the
Rayleigh quotients v_iᵀBv_i, and the critical values are the first weight decay
(or scale of C) at which the direction leaves the global minimum's support
(``revival_*``: where it comes back), along the fixed directions by default or by
the exact scan with ``Normalization(exact_thresholds=True)``.  With
``Normalization(bias=True)`` (f = Wx + b, WS Theorem 2) the prediction is the global minimum
over (W, b): the unnormalized one, margin g_m = ℓ_m and ``bias_norm_sq`` = c − ρ₀, when its
norm ρ₀ ≤ c, else the b = 0 one above (``bias_norm_sq`` = 0).

>>> import math
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(2000, 3)) * [2.0, 1.0, 0.3]
>>> v1, v2 = x + 0.3 * rng.normal(size=x.shape), x + 0.3 * rng.normal(size=x.shape)
>>> run = lambda bias: diagnose(v1, v2, weight_decay=0.2, normalization=Normalization(math.inf, 4.0, bias=bias))
>>> plain, res = run(False), run(True)
>>> plain.kept, res.kept           # the norm target keeps ℓ_3 < 0 alive; with a bias it collapses
((True, True, True), (True, True, False))
>>> # ‖b‖² = c − ρ₀, ρ₀ = Σ_{ℓ>0} ℓ/(2k), k = 1
>>> bool(abs(res.bias_norm_sq - (4.0 - float(np.sum(np.maximum(res.whitened_eigenvalues, 0))) / 2)) < 1e-9)
True
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.linalg import spectral_scale, survives
from landscape.core.problem import Problem
from landscape.diagnosis.estimate import (
    Covariances,
    bootstrap_covariances,
    check_views,
    estimate_covariances,
    user_stacklevel,
)
from landscape.diagnosis.normalized import (
    Normalization,
    normalized_support,
    normalized_thresholds,
    replicate_margins,
)
from landscape.diagnosis.nullspace import null_message, project, project_replicates, split_null_space
from landscape.losses.effective import effective_landscape, quadratic_form
from landscape.theory.collapse_thresholds import predicted_rank

__all__ = [
    "Diagnosis",
    "Normalization",
    "diagnose",
    "predict_from_covariances",
    "critical_aug_scales",
    "pair_by_overlap",
]

_support = jax.jit(normalized_support)

#: Two-sided level of the bootstrap percentile intervals.
INTERVAL_LEVEL = 0.05


class Diagnosis(NamedTuple):
    """The prediction for one pair of views (per-direction arrays in order of decreasing data variance).

    Attributes:
        data_cov, aug_cov: the estimates A0 and C (d×d).
        directions: unit eigenvectors of B as columns (d×d; directions without variance included).
        data_variance: u_iᵀA0u_i (d,).
        b_eigenvalues: b_i, eigenvalues of B (d,).
        predicted_rank: the rank of every minimum, min(#surviving b_i − γ, out_dim).
        kept: True / False / None (undecided) per direction.
        critical_weight_decay: max(b_i, 0) (d,).
        critical_aug_scale: the factor on C at which the direction collapses (d,; inf if never).
        b_interval: bootstrap percentile interval of b_i (d×2), or None without bootstrap.
        warnings: the messages of :func:`landscape.diagnosis.estimate.check_views`.
        normalization: the :class:`~landscape.diagnosis.normalized.Normalization` used, or None.
        whitened_eigenvalues: ℓ_i of Σ^{-1/2}(B − γI)Σ^{-1/2} (normalized only, else None).
        survival_margin: g of each direction, kept ⇔ > 0 (normalized only).
        margin_interval: bootstrap percentile interval of the margin (d×2; normalized with bootstrap).
        revival_weight_decay, revival_aug_scale: where a collapsed direction is kept again
            (inf: never within the scan; normalized only).
        bias_norm_sq: with ``Normalization(bias=True)``, ‖b‖² at the global minimum over (W, b):
            c − ρ₀ > 0 on the bias branch (the unnormalized minimum), 0 on the b = 0 branch; else None.
    """

    data_cov: jax.Array
    aug_cov: jax.Array
    directions: jax.Array
    data_variance: jax.Array
    b_eigenvalues: jax.Array
    predicted_rank: int
    kept: tuple[bool | None, ...]
    critical_weight_decay: jax.Array
    critical_aug_scale: jax.Array
    b_interval: jax.Array | None
    warnings: tuple[str, ...]
    normalization: Normalization | None = None
    whitened_eigenvalues: jax.Array | None = None
    survival_margin: jax.Array | None = None
    margin_interval: jax.Array | None = None
    revival_weight_decay: jax.Array | None = None
    revival_aug_scale: jax.Array | None = None
    bias_norm_sq: float | None = None


def pair_by_overlap(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Index j of the column of ``v`` paired with each column i of ``u``: greedily, largest |u_iᵀv_j| first.

    >>> pair_by_overlap(np.eye(2), np.array([[0.1, 0.9], [0.9, -0.1]])).tolist()
    [1, 0]
    """
    overlap = np.abs(np.asarray(u, float).T @ np.asarray(v, float))
    out = np.empty(overlap.shape[0], dtype=int)
    for _ in range(overlap.shape[0]):
        i, j = np.unravel_index(np.argmax(overlap), overlap.shape)
        out[i] = j
        overlap[i, :], overlap[:, j] = -1.0, -1.0
    return out


def critical_aug_scales(
    data_cov: Any, aug_cov: Any, directions: Any, p: float, q: float, weight_decay: float
) -> np.ndarray:
    """Critical factor on C of each direction (columns of ``directions``), see the module docstring."""
    a0, c, u = (np.asarray(x, float) for x in (data_cov, aug_cov, directions))
    d = a0.shape[0]
    if not q < 0:
        return np.full(d, np.inf)
    cq = -q * 0.5 * (c + c.T)
    cvals, cvecs = np.linalg.eigh(cq)
    floor = np.sqrt(np.finfo(float).eps) * max(float(np.max(np.abs(cvals))), np.finfo(float).tiny)
    root = (cvecs / np.sqrt(np.maximum(cvals, floor))) @ cvecs.T
    m = p * 0.5 * (a0 + a0.T) - weight_decay * np.eye(d)
    mu, w = np.linalg.eigh(root @ m @ root)
    v = root @ w
    v /= np.linalg.norm(v, axis=0, keepdims=True)
    # C (numerically) zero along v: μ only measures the regulariser, the direction never collapses.
    along = np.einsum("ij,ik,kj->j", v, cq, v)
    mu = np.where((along <= floor) & (mu > 0), np.inf, mu)
    return np.maximum(mu[pair_by_overlap(u, v)], 0.0)


def _intervals(replicates: tuple[Any, Any], values: Any) -> np.ndarray:
    """Percentile intervals (k×2) of ``values(A0s, Cs)`` (R×k, by slot) over bootstrap replicates."""
    v = np.asarray(values(*(jnp.asarray(m) for m in replicates)))
    lo, hi = np.nanquantile(v, [INTERVAL_LEVEL / 2, 1 - INTERVAL_LEVEL / 2], axis=0)
    return np.stack([lo, hi], axis=-1)


def _b_eigenvalues(qf: Any):
    return lambda a0s, cs: np.sort(np.asarray(jnp.linalg.eigvalsh(jax.vmap(qf.b_matrix)(a0s, cs))), axis=-1)[:, ::-1]


def _undecided(kept: list[bool | None], interval: np.ndarray | None, shift: float = 0.0) -> list[bool | None]:
    """None where the interval of (value − shift) contains 0."""
    if interval is None:
        return kept
    return [None if interval[i, 0] - shift < 0.0 < interval[i, 1] - shift else k for i, k in enumerate(kept)]


def predict_from_covariances(
    est: Covariances,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    *,
    replicates: tuple[Any, Any] | None = None,
    normalization: Normalization | None = None,
    **loss_params: Any,
) -> Diagnosis:
    """The :class:`Diagnosis` of estimates ``est`` (per-direction arrays in order of decreasing data variance).

    The one prediction path: :func:`diagnose` and
    :func:`~landscape.diagnosis.stream.diagnose_from_moments` end here.

    Args:
        est: the estimates (A0, C and the view statistics the warnings use).
        loss, weight_decay, out_dim, form, normalization, loss_params: as in :func:`diagnose`.
        replicates: bootstrap replicates (A0s, Cs), each R×d×d
            (:func:`~landscape.diagnosis.estimate.bootstrap_covariances`), or None: without them
            ``kept`` is never None (undecided).

    Directions without variance in either view (singular Σ) are split off first
    (:mod:`landscape.diagnosis.nullspace`): collapsed, b = 0, critical values 0, with a warning.
    """
    if normalization is not None and not isinstance(normalization, Normalization):
        raise ValueError(f"normalization must be None or a Normalization, got {type(normalization).__name__}")
    d = est.data_cov.shape[0]
    live, null = split_null_space(np.asarray(est.data_cov + est.aug_cov, float))
    if not live.shape[1]:
        raise ValueError("the views have no variance in any direction (every feature is constant)")
    messages = check_views(est)
    if null.shape[1]:
        messages.append(null_message(null.shape[1], d))
        warnings.warn(messages[-1], UserWarning, stacklevel=user_stacklevel())
    reduced, reps = project(est, live), project_replicates(replicates, live)
    out_dim = d if out_dim is None else out_dim
    qf = quadratic_form(loss, form=form, **loss_params)
    land = effective_landscape(
        Problem(reduced.data_cov, reduced.aug_cov), loss, form=form, weight_decay=weight_decay, **loss_params
    )
    if normalization is None:
        fields = _predict_plain(reduced, land, qf, out_dim, reps)
    else:
        fields = _predict_normalized(reduced, land, qf, out_dim, normalization, reps)
    return _assemble(est, live, null, fields, tuple(messages), normalization)


#: The value of each per-direction field on a null direction (module nullspace): collapsed, b = 0.
_NULL_FILL = {
    "b_eigenvalues": 0.0,
    "critical_weight_decay": 0.0,
    "critical_aug_scale": 0.0,
    "b_interval": 0.0,
    "whitened_eigenvalues": np.nan,
    "survival_margin": np.nan,
    "margin_interval": np.nan,
    "revival_weight_decay": np.inf,
    "revival_aug_scale": np.inf,
}


def _assemble(
    est: Covariances, live: np.ndarray, null: np.ndarray, fields: dict, messages: tuple[str, ...], norm: Any
) -> Diagnosis:
    """Lift the reduced prediction (natural order) to d dimensions, append the null directions, sort by variance."""
    n_null = null.shape[1]
    dirs = np.concatenate([live @ np.asarray(fields.pop("directions")), null], axis=1)
    var = np.einsum("ji,jk,ki->i", dirs, np.asarray(est.data_cov, float), dirs)
    var[var.size - n_null :] = 0.0
    order = np.argsort(-var, kind="stable")
    kept = list(fields.pop("kept")) + [False] * n_null
    rank = fields.pop("predicted_rank")
    bias_sq = fields.pop("bias_norm_sq", None)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is not None:
            v = np.asarray(value, float)
            v = np.concatenate([v, np.full((n_null, *v.shape[1:]), _NULL_FILL[name])])
            value = jnp.asarray(v[order])
        out[name] = value
    return Diagnosis(
        data_cov=est.data_cov,
        aug_cov=est.aug_cov,
        directions=jnp.asarray(dirs[:, order], est.data_cov.dtype),
        data_variance=jnp.asarray(var[order]),
        predicted_rank=rank,
        kept=tuple(kept[i] for i in order),
        warnings=messages,
        normalization=norm,
        bias_norm_sq=bias_sq,
        **out,
    )


def _predict_plain(est: Covariances, land: Any, qf: Any, out_dim: int, reps: Any) -> dict[str, Any]:
    """The per-direction fields of :class:`Diagnosis` without normalization (eigen order of B)."""
    b_vals, b_vecs = jnp.linalg.eigh(0.5 * (land.b + land.b.T))
    b_vals, b_vecs = b_vals[::-1], b_vecs[:, ::-1]
    gamma = float(land.weight_decay)
    alive = np.asarray(survives(b_vals - gamma, spectral_scale(b_vals - gamma)))
    interval = None if reps is None else _intervals(reps, _b_eigenvalues(qf))
    crit_c = critical_aug_scales(est.data_cov, est.aug_cov, b_vecs, float(qf.data_coef), float(qf.aug_coef), gamma)
    return dict(
        directions=b_vecs,
        b_eigenvalues=b_vals,
        predicted_rank=int(predicted_rank(land, out_dim)),
        kept=_undecided([bool(k) for k in alive], interval, gamma),
        critical_weight_decay=jnp.maximum(b_vals, 0.0),
        critical_aug_scale=crit_c,
        b_interval=interval,
    )


def _predict_normalized(
    est: Covariances, land: Any, qf: Any, out_dim: int, norm: Normalization, reps: Any
) -> dict[str, Any]:
    """The per-direction fields of :class:`Diagnosis` under normalization (module docstring of :mod:`.normalized`)."""
    a0, c = est.data_cov, est.aug_cov
    gamma = float(land.weight_decay)
    coef = np.array([qf.data_coef, qf.aug_coef, land.quartic, norm.kappa, norm.norm_target, norm.bias, out_dim], float)
    lam, u, root, g, keep, bias_sq = _support(a0, c, jnp.asarray(coef, a0.dtype), 1.0, gamma)
    dirs = root @ u
    dirs = dirs / np.linalg.norm(dirs, axis=0, keepdims=True)
    margins = lambda a0s, cs: replicate_margins(a0s, cs, jnp.asarray(coef, a0.dtype), gamma)  # noqa: E731
    interval = None if reps is None else _intervals(reps, margins)
    thr = normalized_thresholds(a0, c, dirs, np.asarray(keep), coef, gamma, exact=norm.exact_thresholds)
    return dict(
        directions=dirs,
        b_eigenvalues=np.einsum("ji,jk,ki->i", dirs, np.asarray(land.b), dirs),
        predicted_rank=int(min(int(np.sum(keep)), out_dim)),
        kept=_undecided([bool(k) for k in np.asarray(keep)], interval),
        critical_weight_decay=thr.weight_decay,
        critical_aug_scale=thr.aug_scale,
        b_interval=None,
        whitened_eigenvalues=lam,
        survival_margin=g,
        margin_interval=interval,
        revival_weight_decay=thr.weight_decay_revival,
        revival_aug_scale=thr.aug_scale_revival,
        bias_norm_sq=float(bias_sq) if norm.bias else None,
    )


def diagnose(
    view1: Any,
    view2: Any,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    bootstrap: int = 0,
    seed: int = 0,
    *,
    shrinkage: Any = 0.0,
    normalization: Normalization | None = None,
    **loss_params: Any,
) -> Diagnosis:
    """Predict the collapse of a linear projector trained with ``loss`` on features with these two views.

    Args:
        view1, view2: n×d features of the same inputs under two independent augmentations
            (NumPy or JAX arrays; PyTorch users pass ``tensor.numpy()``).
        loss, form, loss_params: the loss and its B form, as in :func:`landscape.losses.quadratic_form`.
        weight_decay: γ ≥ 0.
        out_dim: the projector's output dimension d1 (default d).
        bootstrap: number of row-resampling replicates for the intervals (0: none, ``kept`` is never None).
        seed: the bootstrap's random seed.
        shrinkage: ρ ∈ [0, 1] or ``"ledoit-wolf"`` (:mod:`landscape.diagnosis.estimate`).
        normalization: None (the plain landscape) or a :class:`Normalization` (κ > 0 or ``math.inf``, c > 0):
            the prediction of the normalized landscape (module docstring).

    Returns:
        :class:`Diagnosis` (:func:`predict_from_covariances` of the estimates).  Warns (UserWarning)
        on dependent or shifted views and on directions without variance.
    """
    if normalization is not None and not isinstance(normalization, Normalization):
        raise ValueError(f"normalization must be None or a Normalization, got {type(normalization).__name__}")
    est = estimate_covariances(view1, view2, shrinkage=shrinkage)
    reps = bootstrap_covariances(view1, view2, int(bootstrap), seed=seed) if bootstrap else None
    return predict_from_covariances(
        est, loss, weight_decay, out_dim, form, replicates=reps, normalization=normalization, **loss_params
    )
