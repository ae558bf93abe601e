r"""The closed-form optimum of the encoder/projector model and its balanced factorisation.

Let ρ_1 ≥ ρ_2 ≥ … be the generalised eigenvalues of (Σ_s, Σ_x), Σ_s v = ρ Σ_x v
with vᵢᵀΣ_x vⱼ = δᵢⱼ; every ρ is in [0, 1].  The optimum of rank ≤ r keeps the
top r positive ones:

    P* = diag(√ρ_1, …, √ρ_r) [v_1 … v_r]ᵀ,    P*Σ_xP*ᵀ = diag(ρ),    L* = −Σ_{i≤r} ρ_i².
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp

from landscape.core.linalg import inv_sqrt
from landscape.core.problem import Problem
from landscape.studies.encoder_projector.model import TwoLayerWeights

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = ["Optimum", "closed_form", "balanced_factors", "balanced_encoder_avf"]


class Optimum(NamedTuple):
    """Closed-form optimum of L(P) with rank ≤ r.

    Attributes:
        product: P* (r×D).
        rho: all generalised eigenvalues of (Σ_s, Σ_x), descending (D,).
        directions: the generalised eigenvectors as columns (D×D), Σ_x-orthonormal
            on the range of Σ_x (zero columns outside it), same order as ``rho``.
        kept: which ρ are kept (bool, D).
        loss: L* = −Σ_kept ρ².
    """

    product: jax.Array
    rho: jax.Array
    directions: jax.Array
    kept: jax.Array
    loss: jax.Array


def closed_form(problem: Problem, rank: int) -> Optimum:
    r"""The optimum of L(P) over p×D products of rank ≤ ``rank`` (generalised eigenproblem of (Σ_s, Σ_x)).

    Σ_x may be singular (directions with neither signal nor augmentation): they
    get ρ = 0.  ``rank`` is static.  Ties at the cut make P* non-unique, not L*.

    >>> import jax.numpy as jnp
    >>> from landscape.studies.encoder_projector import augmentation_problem
    >>> p = augmentation_problem(jnp.diag(jnp.array([2.0, 1.0])), jnp.diag(jnp.array([0.0, 1.0])), 1.0)
    >>> opt = closed_form(p, rank=2)
    >>> [round(float(r), 6) for r in opt.rho], round(float(opt.loss), 6)     # ρ = s/(s + σ²a)
    ([1.0, 0.5], -1.25)
    """
    rank = int(rank)
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    sigma = problem.sigma
    root = inv_sqrt(sigma, rtol=float(jnp.finfo(sigma.dtype).eps) * sigma.shape[0])  # Σ_x^{-1/2} on its range
    t = root @ problem.data_cov @ root
    rho, u = jnp.linalg.eigh(0.5 * (t + t.T))
    rho, u = jnp.clip(rho[::-1], 0.0, 1.0), u[:, ::-1]
    v = root @ u
    d = rho.shape[0]
    kept = (jnp.arange(d) < rank) & (rho > 0)
    r = min(rank, d)
    scale = jnp.sqrt(jnp.where(kept, rho, 0.0))[:r]
    product = scale[:, None] * v[:, :r].T
    if rank > d:
        product = jnp.concatenate([product, jnp.zeros((rank - d, d), product.dtype)], axis=0)
    loss = -jnp.sum(jnp.where(kept, rho, 0.0) ** 2)
    return Optimum(product=product, rho=rho, directions=v, kept=kept, loss=loss)


def balanced_factors(product: Float[ArrayLike, "p d"], hidden: int) -> TwoLayerWeights:
    r"""A balanced factorisation P = W2 W1 with W1W1ᵀ = W2ᵀW2 and hidden width ``hidden``.

    With the SVD P = U S Vᵀ: W1 = S^{1/2}Vᵀ and W2 = U S^{1/2}, zero-padded (or
    truncated, keeping the largest singular values) to ``hidden`` rows/columns.
    This is where gradient flow from a vanishing init ends.

    >>> import jax.numpy as jnp
    >>> f = balanced_factors(jnp.array([[4.0, 0.0]]), hidden=2)
    >>> f.encoder.tolist(), f.projector.tolist()
    ([[2.0, 0.0], [0.0, 0.0]], [[2.0, 0.0]])
    """
    p = jnp.asarray(product)
    u, s, vt = jnp.linalg.svd(p, full_matrices=False)
    k = s.shape[0]
    root = jnp.sqrt(s)
    w1 = root[:, None] * vt
    w2 = u * root[None, :]
    if hidden >= k:
        w1 = jnp.concatenate([w1, jnp.zeros((hidden - k, w1.shape[1]), w1.dtype)], axis=0)
        w2 = jnp.concatenate([w2, jnp.zeros((w2.shape[0], hidden - k), w2.dtype)], axis=1)
    else:
        w1, w2 = w1[:hidden], w2[:, :hidden]
    return TwoLayerWeights(w1, w2)


def balanced_encoder_avf(problem: Problem, rank: int) -> jax.Array:
    r"""AVF of the encoder of the balanced factorisation of the optimum (the tiny-init limit).

    Balanced weights have W1ᵀW1 = (P*ᵀP*)^{1/2}, so

        AVF(enc) = tr((P*ᵀP*)^{1/2} C) / tr((P*ᵀP*)^{1/2} Σ_x),

    while AVF(proj) = tr(P*ᵀP* C) / tr(P*ᵀP* Σ_x).  The square root gives weak
    (overlapping) directions relatively more weight in the encoder, so even a
    balanced encoder is less invariant than its projector once σ is large
    enough, and more invariant below a crossover σ.

    >>> import jax.numpy as jnp
    >>> from landscape.studies.encoder_projector import augmentation_problem, overlap_config
    >>> s, a = overlap_config()
    >>> round(float(balanced_encoder_avf(augmentation_problem(s, a, 4.0), 16)), 4)
    0.2771
    """
    opt = closed_form(problem, rank)
    u, sv, vt = jnp.linalg.svd(opt.product, full_matrices=False)
    root = (vt.T * sv[None, :]) @ vt  # (PᵀP)^{1/2}
    num = jnp.sum(root * problem.aug_cov)
    den = jnp.sum(root * problem.sigma)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)
