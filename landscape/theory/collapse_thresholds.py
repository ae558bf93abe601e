r"""Collapse diagnostics: which directions survive, and where each one collapses.

A direction collapses (is zero at *every* stationary point) exactly when its
eigenvalue of B − γI is not positive (WS §1.1).  Since Σ is positive definite,
B − γI and Σ^{-1/2}(B − γI)Σ^{-1/2} have the same signs of eigenvalues
(Sylvester's law of inertia), so

    rank = min(#{λ_i(B − γI) > 0}, d1)     at every local (= global) minimum.

With B = p·A0 + q·C (the table of :mod:`landscape.losses.effective`) and a
commuting problem, the eigenvalue of direction i is b_i = p·a_i + q·c_i − γ,
which gives the thresholds returned here:

* isotropic augmentation C = σ²I:   σ²_i = (γ − p·a_i)/q,
* weight decay:                     γ_i = p·a_i + q·c_i,
* data-set size (weighted InfoNCE, paper form, b_i = a_i − (1−α)c_i/N − γ):
                                    N_i = (1−α)·c_i/(a_i − γ).

Example:
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 2.0, 1.0], 0.0)
    >>> th = ls.critical_sigma2(p, "beta-infonce", beta=0.5)
    >>> [float(v) for v in th.value], [bool(v) for v in th.collapsed_above]
    ([3.0, 2.0, 1.0], [True, True, True])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, require_landscape, require_problem
from landscape.core.linalg import require_finite, spectral_scale, survival_tolerance, surviving_rank
from landscape.core.problem import Problem
from landscape.core.validation import as_int, as_scalar
from landscape.losses.effective import quadratic_form

__all__ = [
    "Threshold",
    "common_eigenbasis",
    "predicted_rank",
    "origin_type",
    "critical_sigma2",
    "critical_weight_decay",
    "critical_n_samples",
]


class Threshold(NamedTuple):
    """Per-direction critical values.

    ``value[i]`` is where b_i changes sign; the direction is collapsed for
    parameter values ≥ ``value[i]`` when ``collapsed_above[i]``, and for values
    ≤ ``value[i]`` otherwise.  ``inf`` means no finite crossing at a
    non-negative parameter; ``0`` means collapsed (or alive) from the start.
    """

    value: jax.Array
    collapsed_above: jax.Array


def common_eigenbasis(problem: Problem, atol: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, a, c): an orthonormal basis V diagonalising both A0 and C, with their eigenvalues.

    For diagonal problems V is the identity (input order is kept).  Raises
    ValueError if the covariances do not commute.
    """
    require_problem(problem, "common_eigenbasis")
    if not problem.is_commuting(atol):
        raise ValueError("data_cov and aug_cov do not commute; per-direction thresholds need a common eigenbasis")
    a0 = np.asarray(problem.data_cov, float)
    c = np.asarray(problem.aug_cov, float)
    if problem.is_diagonal():
        return np.eye(a0.shape[0]), np.diag(a0).copy(), np.diag(c).copy()
    # A generic combination splits the degeneracies of one matrix by the other.
    _, v = np.linalg.eigh(a0 + np.pi / 7.0 * c)
    a = np.einsum("ji,jk,ki->i", v, a0, v)
    cc = np.einsum("ji,jk,ki->i", v, c, v)
    return v, a, cc


def predicted_rank(landscape: EffectiveLandscape, out_dim: int) -> jax.Array:
    """min(#surviving eigenvalues of B − γI, d1): the rank of every local minimum.

    An eigenvalue b_i survives when b_i > 16·eps·max_j |b_j| (:mod:`landscape.core.linalg`);
    −1 when the eigenvalues are not finite (a concrete landscape raises instead).
    """
    require_landscape(landscape, "predicted_rank")
    out_dim = as_int(out_dim, "out_dim", low=1)
    eig = jnp.linalg.eigvalsh(landscape.b_eff)
    require_finite(
        "the spectrum of B − γI", "build the landscape with landscape.core.effective_landscape", b_eigenvalues=eig
    )
    return predicted_rank_from_spectrum(eig, out_dim)


def predicted_rank_from_spectrum(b_eigenvalues: jax.Array, out_dim: int | jax.Array) -> jax.Array:
    """min(#surviving b_i, d1) from the eigenvalues of B − γI (``out_dim`` may be traced); −1 if not finite."""
    count = surviving_rank(b_eigenvalues, spectral_scale(b_eigenvalues))
    return jnp.where(count < 0, -1, jnp.minimum(count, out_dim)).astype(jnp.int32)


def origin_type(landscape: EffectiveLandscape) -> str:
    """Classify W = 0 by its Hessian −2(I ⊗ (B − γI)).

    Returns one of ``"strict-minimum"`` (B − γI ≺ 0: complete collapse),
    ``"degenerate-minimum"`` (B − γI ⪯ 0 with a zero eigenvalue: the quartic term
    makes it a minimum, still complete collapse), ``"saddle"`` (eigenvalues of both
    signs) or ``"maximum"`` (B − γI ≻ 0).  "Zero" is the survival tolerance of
    :func:`predicted_rank`, so the origin is a minimum exactly when the predicted
    rank is 0.
    """
    require_landscape(landscape, "origin_type")
    m = np.asarray(landscape.b_eff)
    require_finite("B − γI", "build the landscape with landscape.core.effective_landscape", b_eff=m)
    eig = np.linalg.eigvalsh(m.astype(float))
    tol = float(survival_tolerance(np.max(np.abs(eig)), m.dtype))
    if eig[-1] < -tol:
        return "strict-minimum"
    if eig[-1] <= tol:
        return "degenerate-minimum"
    if eig[0] > tol:
        return "maximum"
    return "saddle"


def _loss_coefficients(loss_name: str, loss_kwargs: dict[str, Any]) -> tuple[float, float]:
    qf = quadratic_form(loss_name, **loss_kwargs)
    return float(qf.data_coef), float(qf.aug_coef)


def critical_sigma2(
    problem: Problem, loss_name: str = "infonce", *, weight_decay: float = 0.0, **loss_kwargs: Any
) -> Threshold:
    """Critical isotropic augmentation strength σ² of each eigen-direction of A0.

    The problem's own ``aug_cov`` is ignored: C = σ²I, so every A0 commutes with
    C.  Directions are ordered like :func:`common_eigenbasis` of A0 (input order
    for a diagonal A0).  b_i(σ²) = p·a_i + q·σ² − γ.
    """
    require_problem(problem, "critical_sigma2")
    gamma = as_scalar(weight_decay, "weight_decay", low=0.0)
    p, q = _loss_coefficients(loss_name, loss_kwargs)
    _, a, _ = common_eigenbasis(Problem(problem.data_cov, jnp.zeros_like(problem.data_cov)))
    b0 = p * a - gamma
    if q <= 0.0:
        # b_i falls (or stays) with σ²: alive below the root, collapsed above it.
        with np.errstate(divide="ignore"):
            value = np.where(b0 > 0, b0 / -q if q < 0 else np.inf, 0.0)
        above = np.ones(a.shape, bool)
    else:
        # b_i grows with σ²: collapsed on [0, root] (empty when the root is negative).
        value = np.maximum(-b0 / q, 0.0)
        above = np.zeros(a.shape, bool)
    return Threshold(jnp.asarray(value), jnp.asarray(above))


def critical_weight_decay(problem: Problem, loss_name: str = "infonce", **loss_kwargs: Any) -> Threshold:
    """Critical weight decay γ_i = p·a_i + q·c_i of each direction of the common eigenbasis.

    Direction i is collapsed for γ ≥ γ_i (0 if it is collapsed without weight decay).
    """
    require_problem(problem, "critical_weight_decay")
    p, q = _loss_coefficients(loss_name, loss_kwargs)
    _, a, c = common_eigenbasis(problem)
    value = np.maximum(p * a + q * c, 0.0)
    return Threshold(jnp.asarray(value), jnp.ones(a.shape, bool))


def critical_n_samples(problem: Problem, *, alpha: float, weight_decay: float = 0.0) -> Threshold:
    """Critical data-set size of weighted InfoNCE in the paper's form, per direction.

    b_i(N) = a_i − (1−α)c_i/N − γ, so direction i is collapsed for
    N ≤ N_i = (1−α)c_i/(a_i − γ) (``collapsed_above`` is False).  N_i = inf when
    a_i ≤ γ (collapsed at every N); N_i = 0 when it never collapses.

    WS Eq. 12 writes the inequality the other way round; this is the form that
    agrees with the paper's own B and with the middle panel of its Fig. 2.
    The derived form of weighted InfoNCE has no C-term and hence no critical N.
    """
    require_problem(problem, "critical_n_samples")
    alpha = as_scalar(alpha, "alpha", low=0.0)
    gamma = as_scalar(weight_decay, "weight_decay", low=0.0)
    _, a, c = common_eigenbasis(problem)
    margin = a - gamma
    num = (1.0 - alpha) * c
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(margin <= 0, np.inf, np.where(num > 0, num / np.where(margin > 0, margin, 1.0), 0.0))
    return Threshold(jnp.asarray(value), jnp.zeros(a.shape, bool))
