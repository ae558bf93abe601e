r"""Subspaces and the angles between them: bases, principal angles, top and kept/removed subspaces, local PCA.

Which matrix: spans of the columns given (:func:`orthonormal_basis`,
:func:`principal_angles`), the top right singular vectors of N×D rows
(:func:`top_subspace`: displacements or a point cloud of representations or
embeddings), the Jacobian of a layer such as the projector W2
(:func:`kept_removed_subspaces`), and the neighbourhoods of a point cloud
(:func:`local_pca_tangents`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from landscape.metrics._arrays import _as_float, _features

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float


def orthonormal_basis(a: Float[ArrayLike, "d k"]) -> jax.Array:
    r"""Orthonormal basis (D×k) of the column span of a D×k matrix of full column rank (QR).

    >>> import jax.numpy as jnp
    >>> q = orthonormal_basis(jnp.array([[2.0], [0.0]]))
    >>> [abs(float(v)) for v in q[:, 0]]
    [1.0, 0.0]
    """
    a = _as_float(a, "basis")
    if a.ndim != 2:
        raise ValueError(f"basis must be a D×k matrix (columns span the subspace), got shape {a.shape}")
    q, _ = jnp.linalg.qr(a)
    return q


def principal_angles(a: Float[ArrayLike, "d k"], b: Float[ArrayLike, "d l"]) -> jax.Array:
    r"""Principal angles (radians, ascending) between span(a) and span(b).

    ``a`` (D×k) and ``b`` (D×l) hold spanning vectors as columns (full column
    rank; they need not be orthonormal).  With orthonormal bases Q_a, Q_b and
    m = min(k, l) angles, cos θ_i are the singular values of Q_aᵀQ_b and sin θ_i
    those of (I − Q_aQ_aᵀ)Q_b (for l ≤ k); θ_i = atan2(sin θ_i, cos θ_i), which
    is accurate for small and for large angles alike (arccos alone loses half
    the digits near 0).  Identical subspaces give zeros; orthogonal ones π/2.

    >>> import jax.numpy as jnp
    >>> e = jnp.eye(3)
    >>> [round(float(t), 6) for t in principal_angles(e[:, :2], e[:, 1:])]
    [0.0, 1.570796]
    """
    qa = orthonormal_basis(a)
    qb = orthonormal_basis(b)
    if qa.shape[0] != qb.shape[0]:
        raise ValueError(f"a and b must live in the same space, got {qa.shape[0]} and {qb.shape[0]} rows")
    if qb.shape[1] > qa.shape[1]:
        qa, qb = qb, qa
    cos = jnp.linalg.svd(qa.T @ qb, compute_uv=False)  # descending
    resid = qb - qa @ (qa.T @ qb)
    sin = jnp.linalg.svd(resid, compute_uv=False)[::-1]  # ascending
    cos = jnp.clip(cos, 0.0, 1.0)
    sin = jnp.clip(sin[: cos.shape[0]], 0.0, 1.0)
    return jnp.arctan2(sin, cos)


def top_subspace(vectors: Float[ArrayLike, "n d"], k: int, *, center: bool = False) -> jax.Array:
    r"""The top-``k`` principal directions (D×k, orthonormal) of the rows of an N×D matrix.

    Right singular vectors of the (optionally centred) matrix.  Use
    ``center=False`` for displacements such as f(t(x)) − f(x) (the augmentation
    subspace T_aug) and ``center=True`` for a cloud of points (local PCA).

    >>> import jax.numpy as jnp
    >>> v = jnp.array([[3.0, 0.0], [-3.0, 0.1]])
    >>> [round(abs(float(t)), 3) for t in top_subspace(v, 1)[:, 0]]
    [1.0, 0.017]
    """
    x = _features(vectors, "vectors")
    if not 1 <= int(k) <= x.shape[1]:
        raise ValueError(f"k must be in [1, {x.shape[1]}], got {k}")
    if center:
        x = x - jnp.mean(x, axis=0, keepdims=True)
    _, _, vt = jnp.linalg.svd(x, full_matrices=False)
    if vt.shape[0] < k:
        raise ValueError(f"k = {k} exceeds the number of rows {x.shape[0]}")
    return vt[: int(k)].T


def kept_removed_subspaces(jacobian: Float[ArrayLike, "p h"], k: int) -> tuple[jax.Array, jax.Array]:
    r"""(kept, removed): the top-``k`` right singular subspace of a layer's Jacobian and its complement.

    For a linear projector g(h) = W2 h the Jacobian is W2 (p×h) and the kept
    subspace R_g is what W2 passes on; the removed subspace N_g (h×(h−k)) is
    the near-null space that the projector discards.  For a ReLU projector pass
    the local Jacobian J_g(h).

    >>> import jax.numpy as jnp
    >>> kept, removed = kept_removed_subspaces(jnp.array([[0.0, 2.0, 0.0]]), 1)
    >>> [abs(float(v)) for v in kept[:, 0]], removed.shape
    ([0.0, 1.0, 0.0], (3, 2))
    """
    j = _as_float(jacobian, "jacobian")
    if j.ndim != 2:
        raise ValueError(f"jacobian must be a 2-D matrix, got shape {j.shape}")
    if not 0 <= int(k) <= j.shape[1]:
        raise ValueError(f"k must be in [0, {j.shape[1]}], got {k}")
    _, _, vt = jnp.linalg.svd(j, full_matrices=True)
    return vt[: int(k)].T, vt[int(k) :].T


def local_pca_tangents(points: Float[ArrayLike, "n d"], n_neighbors: int, dim: int) -> jax.Array:
    r"""Local-PCA tangent-plane estimate at every point: an (N, D, dim) array of orthonormal bases.

    For point i take its ``n_neighbors`` nearest points (Euclidean, the point
    itself included), centre them on their mean and keep the top-``dim`` right
    singular vectors.  For data on a ``dim``-dimensional linear subspace plus
    isotropic noise of std η the estimate converges to the subspace as η → 0.
    Cost O(N²D) for the neighbour search.

    >>> import jax.numpy as jnp
    >>> t = jnp.linspace(0.0, 1.0, 6)
    >>> pts = jnp.stack([t, 2.0 * t], axis=1)     # a line in R²
    >>> basis = local_pca_tangents(pts, 3, 1)
    >>> [round(abs(float(v)), 4) for v in basis[0, :, 0]]
    [0.4472, 0.8944]
    """
    x = _features(points, "points")
    n, d = x.shape
    if not 2 <= int(n_neighbors) <= n:
        raise ValueError(f"n_neighbors must be in [2, {n}], got {n_neighbors}")
    if not 1 <= int(dim) <= min(d, int(n_neighbors) - 1):
        raise ValueError(
            f"dim must be in [1, min(D, n_neighbors − 1)] = [1, {min(d, int(n_neighbors) - 1)}], got {dim}"
        )
    sq = jnp.sum(x * x, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    _, idx = jax.lax.top_k(-d2, int(n_neighbors))

    def one(nb):
        cloud = x[nb]
        cloud = cloud - jnp.mean(cloud, axis=0, keepdims=True)
        _, _, vt = jnp.linalg.svd(cloud, full_matrices=False)
        return vt[: int(dim)].T

    return jax.vmap(one)(idx)
