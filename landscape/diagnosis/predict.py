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
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.linalg import spectral_scale, survives
from landscape.core.problem import Problem
from landscape.diagnosis.estimate import bootstrap_covariances, check_views, estimate_covariances
from landscape.losses.effective import effective_landscape, quadratic_form
from landscape.theory.collapse_thresholds import predicted_rank

__all__ = ["Diagnosis", "diagnose", "critical_aug_scales"]

#: Two-sided level of the bootstrap percentile intervals.
INTERVAL_LEVEL = 0.05


class Diagnosis(NamedTuple):
    """The prediction for one pair of views (per-direction arrays in order of decreasing data variance).

    Attributes:
        data_cov, aug_cov: the estimates A0 and C (d×d).
        directions: unit eigenvectors of B as columns (d×d).
        data_variance: u_iᵀA0u_i (d,).
        b_eigenvalues: b_i, eigenvalues of B (d,).
        predicted_rank: the rank of every minimum, min(#surviving b_i − γ, out_dim).
        kept: True / False / None (undecided) per direction.
        critical_weight_decay: max(b_i, 0) (d,).
        critical_aug_scale: the factor on C at which the direction collapses (d,; inf if never).
        b_interval: bootstrap percentile interval of b_i (d×2), or None without bootstrap.
        warnings: the messages of :func:`landscape.diagnosis.estimate.check_views`.
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
    overlap = np.abs(u.T @ v)
    out = np.empty(d)
    free_dirs, free_mu = set(range(d)), set(range(d))
    for _ in range(d):
        i, j = max(((i, j) for i in free_dirs for j in free_mu), key=lambda ij: overlap[ij])
        out[i] = max(mu[j], 0.0)
        free_dirs.discard(i)
        free_mu.discard(j)
    return out


def _intervals(view1: Any, view2: Any, replicates: int, seed: int, qf: Any) -> np.ndarray:
    a0s, cs = bootstrap_covariances(view1, view2, replicates, seed=seed)
    b = jax.vmap(qf.b_matrix)(a0s, cs)
    eig = np.sort(np.asarray(jnp.linalg.eigvalsh(b)), axis=-1)[:, ::-1]
    lo, hi = np.quantile(eig, [INTERVAL_LEVEL / 2, 1 - INTERVAL_LEVEL / 2], axis=0)
    return np.stack([lo, hi], axis=-1)


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

    Returns:
        :class:`Diagnosis`.  Warns (UserWarning) on dependent or shifted views.
    """
    est = estimate_covariances(view1, view2, shrinkage=shrinkage)
    d = est.data_cov.shape[0]
    out_dim = d if out_dim is None else out_dim
    qf = quadratic_form(loss, form=form, **loss_params)
    land = effective_landscape(
        Problem(est.data_cov, est.aug_cov), loss, form=form, weight_decay=weight_decay, **loss_params
    )
    rank = int(predicted_rank(land, out_dim))
    b_vals, b_vecs = jnp.linalg.eigh(0.5 * (land.b + land.b.T))
    b_vals, b_vecs = b_vals[::-1], b_vecs[:, ::-1]
    gamma = float(weight_decay)
    alive = np.asarray(survives(b_vals - gamma, spectral_scale(b_vals - gamma)))
    interval = _intervals(view1, view2, int(bootstrap), seed, qf) if bootstrap else None
    kept: list[bool | None] = [bool(k) for k in alive]
    if interval is not None:
        for i in range(d):
            if interval[i, 0] - gamma < 0.0 < interval[i, 1] - gamma:
                kept[i] = None
    crit_c = critical_aug_scales(est.data_cov, est.aug_cov, b_vecs, float(qf.data_coef), float(qf.aug_coef), gamma)
    var = np.einsum("ji,jk,ki->i", np.asarray(b_vecs), np.asarray(est.data_cov), np.asarray(b_vecs))
    order = np.argsort(-var, kind="stable")
    messages = check_views(est)
    return Diagnosis(
        data_cov=est.data_cov,
        aug_cov=est.aug_cov,
        directions=b_vecs[:, order],
        data_variance=jnp.asarray(var[order]),
        b_eigenvalues=b_vals[order],
        predicted_rank=rank,
        kept=tuple(kept[i] for i in order),
        critical_weight_decay=jnp.maximum(b_vals[order], 0.0),
        critical_aug_scale=jnp.asarray(crit_c[order]),
        b_interval=None if interval is None else jnp.asarray(interval[order]),
        warnings=tuple(messages),
    )
