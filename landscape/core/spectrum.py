r"""The whitened spectrum of a landscape and the scales read from it.

With M = B − γI and B̃ = Σ^{-1/2} M Σ^{-1/2} = U Λ Uᵀ, every stationary point of
the effective landscape has WᵀW = (1/2k) Σ^{-1/2} U M Λ Uᵀ Σ^{-1/2} for a 0/1
mask M (Theorem 1, :mod:`landscape.theory.stationary_points`).  This module
holds only what the rest of the package reads off Λ without solving anything:

* :func:`whitened_spectrum`: (Λ descending, U, Σ^{-1/2});
* :func:`rank_scales`: the scales of the survival rule (:mod:`landscape.core.linalg`);
* :func:`stationary_norm_bound`: an upper bound on ‖W‖²_F at every stationary
  point, the size that a training run is measured against (its divergence test)
  without the closed form.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape.core.effective_landscape import EffectiveLandscape
    >>> land = EffectiveLandscape(b=jnp.diag(jnp.array([2.0, 1.0])), sigma=jnp.diag(jnp.array([2.0, 2.0])))
    >>> [round(float(v), 12) for v in whitened_spectrum(land)[0]]
    [1.0, 0.5]
    >>> round(float(stationary_norm_bound(land, out_dim=2)), 12)    # 2 · 1/(2·1·2); the minimum has 1/4 + 1/8
    0.5
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import inv_sqrt, spectral_scale

__all__ = ["whitened_spectrum", "RankScales", "rank_scales", "stationary_norm_bound"]


def whitened_spectrum(landscape: EffectiveLandscape) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(λ, U, Σ^{-1/2}): eigenpairs of Σ^{-1/2}(B − γI)Σ^{-1/2}, λ descending."""
    root = inv_sqrt(landscape.sigma)
    bt = root @ landscape.b_eff @ root
    lam, u = jnp.linalg.eigh(0.5 * (bt + bt.T))
    return lam[::-1], u[:, ::-1], root


class RankScales(NamedTuple):
    """The scales of the survival rule (:mod:`landscape.core.linalg`) on one landscape.

    Attributes:
        b: ‖B − γI‖₂, the scale of the eigenvalues b_i of B − γI.
        whitened: ‖Σ^{-1/2}(B − γI)Σ^{-1/2}‖₂, the scale of the whitened eigenvalues λ_i.
        gram: whitened/(2k·s_min), the largest Gram eigenvalue of any stationary point:
            the scale of WᵀW's eigenvalues.
    """

    b: jax.Array
    whitened: jax.Array
    gram: jax.Array


def rank_scales(landscape: EffectiveLandscape) -> RankScales:
    """:class:`RankScales` of ``landscape`` (three symmetric eigendecompositions; jittable).

    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([3.0, 1.0], [1.0, 3.0]), "infonce", weight_decay=2.0)
    >>> [round(float(v), 6) for v in ls.rank_scales(land)]     # b = (1, −1), λ = b/s = (1/4, −1/4), s_min = 4
    [1.0, 0.25, 0.03125]
    """
    lam, _, _ = whitened_spectrum(landscape)
    whitened = spectral_scale(lam)
    s_min = jnp.linalg.eigvalsh(landscape.sigma)[0]
    return RankScales(
        spectral_scale(jnp.linalg.eigvalsh(landscape.b_eff)), whitened, whitened / (2.0 * landscape.quartic * s_min)
    )


def stationary_norm_bound(landscape: EffectiveLandscape, out_dim: int) -> jax.Array:
    r"""r·λ_max⁺/(2k·s_min) ≥ ‖W‖²_F at every stationary point, r = min(out_dim, d0).

    At a stationary point (WΣWᵀ)² = W(B − γI)Wᵀ/(2k), so the eigenvalues of
    WΣWᵀ are kept whitened eigenvalues λ_i/(2k) ≤ λ_max⁺/(2k), at most r of them,
    and ‖W‖²_F = Tr[WᵀW] ≤ Tr[WΣWᵀ]/s_min.  Two symmetric eigendecompositions and
    no closed form: the training routes measure their divergence against it, so
    training stays an independent check of the theory.  Jittable (``out_dim`` static).
    """
    lam, _, _ = whitened_spectrum(landscape)
    s_min = jnp.linalg.eigvalsh(landscape.sigma)[0]
    r = min(int(out_dim), landscape.dim)
    return r * jnp.maximum(lam[0], 0.0) / (2.0 * landscape.quartic * s_min)
