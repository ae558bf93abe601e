r"""Directions without variance: split them off before the prediction, put them back after.

Real features often have directions along which neither view varies (dead ReLU
units, constant features, or a constant linear combination of features): there
Σ = A0 + C (the covariance of one view) is singular and the effective landscape
is not defined.  Along such a direction x̂ and both ε vanish, so A0 = C = 0 there,
b = 0 and the layer's only force is the weight decay: the direction is collapsed
(trivially, with no signal).  The prediction is made on the complement and the
null directions are appended with b = 0.

The null space is the span of the eigenvectors of Σ with eigenvalue at most
``NULL_RTOL`` × the largest (the convention of
:func:`landscape.nn.probe.feature_covariances`).

>>> import numpy as np
>>> live, null = split_null_space(np.diag([2.0, 0.0, 1.0]))
>>> live.shape, np.abs(null[:, 0]).tolist()
((3, 2), [0.0, 1.0, 0.0])
>>> reps = np.stack([np.diag([2.0, 0.0, 1.0]), np.diag([4.0, 0.0, 3.0])])   # two bootstrap replicates
>>> [np.diag(m).tolist() for m in project_replicates((reps, reps), live)[0]]
[[2.0, 1.0], [4.0, 3.0]]
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from landscape.diagnosis.estimate import Covariances

__all__ = ["NULL_RTOL", "split_null_space", "project", "project_replicates", "null_message"]

#: A direction is null when its variance vᵀΣv is at most NULL_RTOL × the largest eigenvalue of Σ.
NULL_RTOL = 1e-6


def split_null_space(sigma: Any, rtol: float = NULL_RTOL) -> tuple[np.ndarray, np.ndarray]:
    """(live basis d×k, null basis d×(d−k)) of the symmetric psd ``sigma``, orthonormal columns.

    Without null directions the live basis is the identity (the prediction is then unchanged
    to the last bit).
    """
    s = np.asarray(sigma, float)
    d = s.shape[0]
    s = 0.5 * (s + s.T)
    vals = np.linalg.eigvalsh(s)  # the eigenvectors only when there is a null space
    if not vals[0] <= rtol * max(float(vals[-1]), 0.0):
        return np.eye(d), np.zeros((d, 0))
    vals, vecs = np.linalg.eigh(s)
    null = vals <= rtol * max(float(vals[-1]), 0.0)
    return vecs[:, ~null][:, ::-1], vecs[:, null]


def project(est: Covariances, basis: np.ndarray) -> Covariances:
    """The estimates in the coordinates of ``basis`` (d×k): QᵀA0Q, QᵀCQ, QᵀΣ₁Q, Qᵀ(mean difference)."""
    if basis.shape[0] == basis.shape[1] and np.array_equal(basis, np.eye(basis.shape[0])):
        return est
    q = jnp.asarray(basis, est.data_cov.dtype)
    return Covariances(
        q.T @ est.data_cov @ q, q.T @ est.aug_cov @ q, q.T @ est.view_cov @ q, q.T @ est.mean_diff, est.n
    )


def project_replicates(replicates: tuple[Any, Any] | None, basis: np.ndarray) -> tuple[Any, Any] | None:
    """Bootstrap replicates (A0s, Cs), each (R, d, d), in the coordinates of ``basis``."""
    if replicates is None or (basis.shape[0] == basis.shape[1] and np.array_equal(basis, np.eye(basis.shape[0]))):
        return replicates
    q = np.asarray(basis, np.asarray(replicates[0]).dtype)
    a0s, cs = (np.einsum("ji,rjk,kl->ril", q, np.asarray(m), q) for m in replicates)
    return a0s, cs


def null_message(n_null: int, d: int) -> str:
    """The warning that names how many directions were split off."""
    return (
        f"{n_null} of {d} feature directions have no variance in either view (constant features or dead units; "
        f"variance ≤ {NULL_RTOL:g} × the largest): reported as collapsed (b = 0), the other {d - n_null} diagnosed"
    )
