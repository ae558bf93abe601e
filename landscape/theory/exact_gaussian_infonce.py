r"""The exact Gaussian InfoNCE: its global minimum in closed form (spec §3.12).

The population loss of a linear model on zero-mean Gaussian data with infinitely
many negatives (:func:`landscape.losses.population.exact_gaussian_infonce`) is,
with S = W Σ Wᵀ,

    L(W) = Tr[W C Wᵀ] − (β/2)·( log det(I + S) + Tr[(I + S)⁻¹ S] ).

Writing V = W Σ^{1/2} and K = Σ^{-1/2} C Σ^{-1/2} (eigenvalues κ_i), the loss is
Tr[VᵀV K] plus a function of the spectrum of VᵀV, so by the von Neumann trace
inequality the minimiser shares K's eigenvectors and, per direction with
μ = eig(VᵀV),

    ℓ(μ) = κ μ − (β/2)·( log(1 + μ) + μ/(1 + μ) ),
    μ* = 1/y − 1,   y = (−1 + √(1 + 8κ/β))/2        (μ* > 0 iff κ < β).

In the commuting case κ = c/s and the Gram eigenvalue is λ* = μ*/s
(s = a + c).  ℓ(μ*) increases with κ, so a rank cap d1 keeps the d1 smallest κ.
This is :func:`exact_gaussian_minimum`, jittable, for commuting or
non-commuting covariances.

Example:
    >>> import landscape as ls
    >>> from landscape.theory.exact_gaussian_infonce import exact_gaussian_minimum, exact_gaussian_gram_eigenvalues
    >>> p = ls.Problem.from_diagonal([2.0, 1.0], [1.0, 1.0])
    >>> sol = exact_gaussian_minimum(p, out_dim=2)
    >>> [round(float(v), 6) for v in sol.gram_eigenvalues]
    [0.39538, 0.309017]
    >>> [round(float(v), 6) for v in exact_gaussian_gram_eigenvalues(jnp.array([2.0, 1.0]), 1.0)]
    [0.39538, 0.309017]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from landscape.core.effective_landscape import require_problem
from landscape.core.linalg import finite_rank, inv_sqrt, near_threshold, spectral_scale, survives
from landscape.core.problem import Problem
from landscape.core.solution import Solution, gram_spectrum
from landscape.core.validation import checked_out_dim
from landscape.losses.population import exact_gaussian_direction_loss

__all__ = ["exact_gaussian_gram_eigenvalues", "exact_gaussian_minimum"]


def _mu_star(kappa: jax.Array, beta) -> jax.Array:
    """Minimiser of ℓ over μ ≥ 0: 1/y − 1 with y = (−1 + √(1 + 8κ/β))/2; 0 if κ ≥ β; inf if κ ≤ 0."""
    r = kappa / beta
    safe = jnp.where(r > 0, r, 1.0)
    # y = (−1 + √(1 + 8r))/2 = 4r / (1 + √(1 + 8r)): no cancellation at small r
    y = 4.0 * safe / (1.0 + jnp.sqrt(1.0 + 8.0 * safe))
    mu = 1.0 / y - 1.0
    mu = jnp.where(r >= 1.0, 0.0, mu)
    return jnp.where(r > 0, mu, jnp.inf)


def exact_gaussian_gram_eigenvalues(
    data_var: ArrayLike, aug_var: ArrayLike, beta: float | jax.Array = 1.0
) -> jax.Array:
    """Commuting case, per direction: λ* = (1/y − 1)/s, y = (−1 + √(1 + 8c/(βs)))/2, s = a + c.

    λ* = 0 when c ≥ β s (i.e. (1−β)c ≥ βa), and +inf when c = 0 (no augmentation).

    >>> [round(float(v), 6) for v in exact_gaussian_gram_eigenvalues(jnp.array([1.0, 0.4]), 0.6, beta=0.5)]
    [0.134532, 0.0]
    """
    a = jnp.asarray(data_var)
    c = jnp.asarray(aug_var, a.dtype)
    s = a + c
    return _mu_star(c / s, beta) / s


def exact_gaussian_minimum(
    problem: Problem, out_dim: int, beta: float | jax.Array = 1.0, weight_decay: float | jax.Array = 0.0
) -> Solution:
    """Global minimum of the exact Gaussian (β-)InfoNCE population loss, as a :class:`Solution`.

    Same interface as :func:`landscape.global_minimum` on the effective
    landscape.  ``whitened_eigenvalues`` holds β − κ_i (descending), the
    eigenvalues of Σ^{-1/2}(βA0 − (1−β)C)Σ^{-1/2}; a direction is kept iff it is
    positive and it is among the ``out_dim`` largest.  ``loss`` is the exact
    population loss at W (the constant is dropped, so the origin has loss 0).
    A direction without augmentation (κ = 0) has an unbounded minimum: its
    Gram eigenvalue and the loss are infinite.  Weight decay γ‖W‖²_F enters as
    C → C + γI in K (the same trace argument holds), so a direction collapses
    iff its κ_i ≥ β.  ``out_dim`` is static under jit.

    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 1.0, 0.5], [1.0, 1.0, 1.0])
    >>> sol = exact_gaussian_minimum(p, out_dim=2)
    >>> int(sol.rank), [bool(k) for k in sol.kept]
    (2, [True, True, False])
    """
    require_problem(problem, "exact_gaussian_minimum")
    out_dim = checked_out_dim(out_dim, problem.dim, problem.sigma.dtype)
    beta = jnp.asarray(beta, problem.sigma.dtype)
    root = inv_sqrt(problem.sigma)
    eye = jnp.eye(problem.dim, dtype=problem.sigma.dtype)
    c_eff = problem.aug_cov + jnp.asarray(weight_decay, eye.dtype) * eye
    k = root @ c_eff @ root
    kappa, u = jnp.linalg.eigh(0.5 * (k + k.T))  # ascending κ = descending β − κ
    d0 = kappa.shape[0]
    lam = beta - kappa
    scale = spectral_scale(lam)  # the survival rule of landscape.core.linalg
    mask = survives(lam, scale) & (jnp.arange(d0) < out_dim)
    mu = jnp.where(mask, _mu_star(kappa, beta), 0.0)
    proj = u.T @ root  # rows u_iᵀ Σ^{-1/2}
    rows = jnp.sqrt(mu)[:, None] * proj
    if out_dim <= d0:
        w = rows[:out_dim]
    else:
        w = jnp.concatenate([rows, jnp.zeros((out_dim - d0, d0), rows.dtype)], axis=0)
    gram = proj.T @ (mu[:, None] * proj)
    directions = root @ u
    directions = directions / jnp.linalg.norm(directions, axis=0, keepdims=True)
    loss = jnp.sum(jnp.where(mask, exact_gaussian_direction_loss(mu, kappa, beta), 0.0))
    return Solution(
        weights=w,
        gram=0.5 * (gram + gram.T),
        gram_eigenvalues=gram_spectrum(w),
        rank=finite_rank(jnp.sum(mask), lam),
        loss=loss,
        whitened_eigenvalues=lam,
        kept=mask,
        directions=directions,
        near_threshold=near_threshold((lam, scale)),
    )
