r"""Where the encoder/projector model puts things: subspaces, invariance, rank and probes per layer.

:func:`subspace_geometry` gives the clean-data and augmentation subspaces of the
inputs; :func:`layer_report` measures a trained (W1, W2) at the encoder output
(representation) and the projector output (embedding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics
from landscape.core.problem import Problem
from landscape.studies.encoder_projector.model import TwoLayerWeights

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = ["LayerReport", "subspace_geometry", "layer_report"]


class LayerReport(NamedTuple):
    """Encoder-output vs projector-output metrics of one trained (W1, W2).

    AVF and effective rank are measured on augmented inputs (covariance Σ_x);
    the probe R² on clean inputs (covariance Σ_s).  Angles are in radians, the
    largest principal angle between the named subspaces in encoder coordinates:
    ``angle_removed_aug`` between the augmentation subspace W1·range(Σ_a) and the
    projector's removed subspace N_g; ``angle_kept_clean`` between the
    projector's kept subspace R_g and the clean data subspace (the part of
    W1·range(Σ_s) orthogonal to the augmentation subspace).  Both → 0 when the
    projector discards exactly the augmentation and keeps the clean tangent plane.
    """

    avf_encoder: jax.Array
    avf_projector: jax.Array
    gain_encoder: jax.Array
    gain_projector: jax.Array
    erank_encoder: jax.Array
    erank_projector: jax.Array
    r2_encoder: jax.Array
    r2_projector: jax.Array
    angle_removed_aug: jax.Array
    angle_kept_clean: jax.Array


def subspace_geometry(
    signal_cov: Float[ArrayLike, "d d"], aug_shape_cov: Float[ArrayLike, "d d"], rtol: float = 1e-9
) -> tuple[Float[np.ndarray, "d k_data"], Float[np.ndarray, "d k_aug"], int]:
    r"""(U_data, U_aug, k_clean) in input coordinates, from concrete covariances.

    U_data and U_aug are orthonormal bases of range(Σ_s) and range(Σ_a); k_clean
    is the dimension of the clean data subspace, the part of range(Σ_s) orthogonal
    to range(Σ_a) (6 in :func:`overlap_config`).

    >>> from landscape.studies.encoder_projector import overlap_config
    >>> s, a = overlap_config()
    >>> ud, ua, k = subspace_geometry(s, a)
    >>> ud.shape, ua.shape, k
    ((32, 10), (32, 16), 6)
    """

    def rng(m):
        vals, vecs = np.linalg.eigh(0.5 * (m + m.T))
        keep = vals > rtol * max(float(vals.max()), 1e-300)
        return vecs[:, keep][:, ::-1]

    ud = rng(np.asarray(signal_cov, float))
    ua = rng(np.asarray(aug_shape_cov, float))
    resid = ud - ua @ (ua.T @ ud)
    sv = np.linalg.svd(resid, compute_uv=False)
    k_clean = int(np.sum(sv > 1e-6 * max(1.0, float(sv.max()) if sv.size else 1.0)))
    return ud, ua, k_clean


def layer_report(
    problem: Problem,
    weights: TwoLayerWeights,
    *,
    target: Float[ArrayLike, " d"],
    u_data: Float[ArrayLike, "d k_data"],
    u_aug: Float[ArrayLike, "d k_aug"],
    k_clean: int,
    ridge: float = 1e-2,
) -> LayerReport:
    r"""Encoder vs projector metrics of (W1, W2) on ``problem`` (see :class:`LayerReport`).

    ``target`` is β of the downstream target y = βᵀs (clean signal);
    ``u_data``, ``u_aug``, ``k_clean`` come from :func:`subspace_geometry`
    (concrete, so that subspace dimensions are static).  The ridge probe uses
    λ = ridge·tr(K)/dim (relative), fitted on the population of clean inputs.
    Requires h ≥ k_clean + dim(range Σ_a) for the removed-subspace angles to be
    meaningful.
    """
    w1, w2 = weights
    p = w2 @ w1
    a0, c, sx = problem.data_cov, problem.aug_cov, problem.sigma
    beta = jnp.asarray(target, w1.dtype)

    def r2(f):
        return metrics.population_probe_r2(f @ a0 @ f.T, f @ (a0 @ beta), beta @ a0 @ beta, ridge=ridge)

    def erank(f):
        return metrics.effective_rank(f @ sx @ f.T, covariance=True)

    t_aug = w1 @ jnp.asarray(u_aug, w1.dtype)
    q_aug = metrics.orthonormal_basis(t_aug)
    t_data = w1 @ jnp.asarray(u_data, w1.dtype)
    clean = t_data - q_aug @ (q_aug.T @ t_data)
    uc, _, _ = jnp.linalg.svd(clean, full_matrices=False)
    t_clean = uc[:, :k_clean]
    kept, removed = metrics.kept_removed_subspaces(w2, k_clean)
    ang_removed = jnp.max(metrics.principal_angles(removed, t_aug))
    ang_kept = jnp.max(metrics.principal_angles(kept, t_clean))
    return LayerReport(
        avf_encoder=metrics.avf_linear(w1, a0, c),
        avf_projector=metrics.avf_linear(p, a0, c),
        gain_encoder=metrics.invariance_gain_linear(w1, a0, c),
        gain_projector=metrics.invariance_gain_linear(p, a0, c),
        erank_encoder=erank(w1),
        erank_projector=erank(p),
        r2_encoder=r2(w1),
        r2_projector=r2(p),
        angle_removed_aug=ang_removed,
        angle_kept_clean=ang_kept,
    )
