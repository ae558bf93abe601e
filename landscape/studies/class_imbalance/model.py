r"""The class-structured problem: a centred mixture of K classes and its class directions.

**Data.**  K classes with means μ_k ∈ R^d and proportions p_k (p_k ∈ (0, 1),
Σp_k = 1), a within-class covariance S_w and an augmentation covariance C.
The theory assumes E[x] = 0, so the mixture is *centred*: μ̄ = Σ_k p_k μ_k is
subtracted and

    A0 = Σ_k p_k (μ_k − μ̄)(μ_k − μ̄)ᵀ + S_w,      Σ = A0 + C.

The *class direction* of class k is u_k = (μ_k − μ̄)/‖μ_k − μ̄‖, and its data
variance is a_k = u_kᵀA0u_k (:func:`direction_variances`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.core.problem import Problem
from landscape.core.validation import as_scalar, as_square_matrix, check_psd

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = [
    "ClassProblem",
    "check_proportions",
    "subspace_aug_cov",
    "class_problem",
    "minority_problem",
    "direction_variances",
]


@dataclasses.dataclass(frozen=True)
class ClassProblem:
    """A class-structured SSL problem.

    Attributes:
        problem: the :class:`~landscape.Problem` (A0 of the centred mixture, C).
        means: class means (K, d), as given (not centred).
        proportions: p_k (K,).
        center: the mixture mean μ̄ = Σ p_k μ_k (d,), subtracted before forming A0.
        directions: unit class directions u_k = (μ_k − μ̄)/‖μ_k − μ̄‖ as rows (K, d);
            a zero row when μ_k = μ̄.
        within_cov: S_w (d, d).
    """

    problem: Problem
    means: np.ndarray
    proportions: np.ndarray
    center: np.ndarray
    directions: np.ndarray
    within_cov: np.ndarray

    @property
    def n_classes(self) -> int:
        """K."""
        return int(self.proportions.size)


def check_proportions(proportions: Float[ArrayLike, " K"], field: str = "proportions") -> np.ndarray:
    """Proportions as a float array, each in (0, 1) and summing to 1 (within 1e-9), else ValueError.

    >>> check_proportions([0.25, 0.75]).tolist()
    [0.25, 0.75]
    """
    p = np.atleast_1d(np.asarray(proportions, dtype=float))
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"{field} must be a 1-D list of at least 2 class proportions, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p >= 1):
        raise ValueError(f"{field} must each be in (0, 1), got {p.tolist()}")
    if abs(float(p.sum()) - 1.0) > 1e-9:
        raise ValueError(f"{field} must sum to 1, got sum {float(p.sum()):.12g}")
    return p


def _cov(value, d: int, field: str) -> np.ndarray:
    """A covariance given as a scalar (isotropic), a 1-D list of variances (diagonal) or a matrix."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        m = float(arr) * np.eye(d)
    elif arr.ndim == 1:
        if arr.shape != (d,):
            raise ValueError(f"{field} must have length {d} (the dimension of the means), got {arr.shape[0]}")
        m = np.diag(arr)
    else:
        m = as_square_matrix(arr, field)
        if m.shape != (d, d):
            raise ValueError(f"{field} must be {d}x{d} (the dimension of the means), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{field} contains NaN or infinite entries")
    check_psd(m, field)
    return m


def subspace_aug_cov(basis: Float[ArrayLike, "d r"], strengths: Float[ArrayLike, "*r"], d: int) -> np.ndarray:
    """C = Σ_j σ_j² q_j q_jᵀ for the orthonormalised columns q_j of ``basis`` (d, r).

    >>> subspace_aug_cov([[1.0], [0.0]], 2.0, 2).tolist()
    [[2.0, 0.0], [0.0, 0.0]]
    """
    b = np.asarray(basis, dtype=float)
    if b.ndim == 1:
        b = b[:, None]
    if b.ndim != 2 or b.shape[0] != d:
        raise ValueError(f"aug_subspace must have shape ({d}, r), got {b.shape}")
    q, r = np.linalg.qr(b)
    if np.any(np.abs(np.diag(r)) < 1e-12):
        raise ValueError("aug_subspace columns must be linearly independent")
    s = np.broadcast_to(np.asarray(strengths, dtype=float), (q.shape[1],))
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"aug_strength must be finite and >= 0, got {np.asarray(strengths).tolist()}")
    return (q * s) @ q.T


def class_problem(
    means: Float[ArrayLike, "K d"],
    proportions: Float[ArrayLike, " K"],
    *,
    within_cov: Any = 0.0,
    aug_var: Any = None,
    aug_cov: Any = None,
    aug_subspace: Any = None,
    aug_strength: Any = 1.0,
) -> ClassProblem:
    r"""Build the centred mixture problem A0 = Σ p_k(μ_k − μ̄)(μ_k − μ̄)ᵀ + S_w with its class directions.

    Args:
        means: (K, d) class means.
        proportions: (K,) class proportions in (0, 1), summing to 1.
        within_cov: S_w as a scalar (isotropic), (d,) variances or (d, d) matrix.
        aug_var: isotropic augmentation C = aug_var·I (exclusive with the next two).
        aug_cov: C as a scalar, (d,) variances or (d, d) matrix.
        aug_subspace: (d, r) basis; C = aug_strength·(projector onto its span)
            (per-column strengths allowed).

    If no augmentation is given, C = 0.

    >>> import jax.numpy as jnp
    >>> cp = class_problem([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.2, 0.3, 0.5], aug_var=0.1)
    >>> cp.center.tolist()
    [0.2, 0.3]
    >>> [round(float(x), 6) for x in jnp.diag(cp.problem.data_cov)]    # p(1-p) per axis
    [0.16, 0.21]
    """
    mu = np.asarray(means, dtype=float)
    if mu.ndim != 2 or mu.shape[0] < 2 or mu.shape[1] < 1:
        raise ValueError(f"means must be a (K, d) array with K >= 2 classes, got shape {mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError("means contains NaN or infinite entries")
    p = check_proportions(proportions)
    if p.size != mu.shape[0]:
        raise ValueError(f"proportions must have one entry per class (K = {mu.shape[0]}), got {p.size}")
    d = mu.shape[1]
    sw = _cov(within_cov, d, "within_cov")
    given = [x is not None for x in (aug_var, aug_cov, aug_subspace)]
    if sum(given) > 1:
        raise ValueError("give at most one of aug_var, aug_cov, aug_subspace")
    if aug_var is not None:
        s2 = as_scalar(aug_var, "aug_var", low=0.0)
        c = s2 * np.eye(d)
    elif aug_cov is not None:
        c = _cov(aug_cov, d, "aug_cov")
    elif aug_subspace is not None:
        c = subspace_aug_cov(aug_subspace, aug_strength, d)
    else:
        c = np.zeros((d, d))
    center = p @ mu
    dev = mu - center
    a0 = (dev.T * p) @ dev + sw
    a0 = 0.5 * (a0 + a0.T)
    norms = np.linalg.norm(dev, axis=1, keepdims=True)
    dirs = np.where(norms > 1e-12 * max(1.0, float(np.abs(mu).max())), dev / np.where(norms > 0, norms, 1.0), 0.0)
    problem = Problem.from_arrays(a0, c)
    return ClassProblem(problem, mu, p, center, dirs, sw)


def minority_problem(
    p: float,
    *,
    separation: float = 2.0,
    within_var: float = 0.2,
    n_background: int = 3,
    background_var: Any = 1.0,
    aug_var: float = 0.0,
) -> ClassProblem:
    r"""Two classes at ±(separation/2)·e_0 with proportions (p, 1 − p), plus ``n_background`` dims.

    The class direction is e_0 with variance p(1 − p)m² + w; the background dims
    carry only within-class variance ``background_var`` (scalar or list).  The
    augmentation is isotropic with variance ``aug_var``.

    >>> cp = minority_problem(0.1, separation=2.0, within_var=0.2, n_background=1)
    >>> round(float(cp.problem.data_cov[0, 0]), 6)      # 0.1·0.9·4 + 0.2
    0.56
    """
    pp = as_scalar(p, "p", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    m = as_scalar(separation, "separation", low=0.0, low_inclusive=False)
    nb = int(n_background)
    if nb < 0:
        raise ValueError(f"n_background must be >= 0, got {n_background}")
    d = 1 + nb
    means = np.zeros((2, d))
    means[0, 0] = m / 2
    means[1, 0] = -m / 2
    bg = np.broadcast_to(np.asarray(background_var, dtype=float), (nb,))
    within = np.concatenate([[as_scalar(within_var, "within_var", low=0.0)], bg])
    return class_problem(means, [pp, 1.0 - pp], within_cov=within, aug_var=aug_var)


def direction_variances(cp: ClassProblem) -> np.ndarray:
    """a_k = u_kᵀ A0 u_k for each class direction (0 for a zero direction)."""
    a0 = np.asarray(cp.problem.data_cov, dtype=float)
    return np.einsum("kd,de,ke->k", cp.directions, a0, cp.directions)
