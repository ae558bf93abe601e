r"""The vector field −∇L of the batched flow, dense or in the common eigenbasis of commuting B and Σ.

When B and Σ commute they share an orthonormal eigenbasis U (UᵀBU = diag b,
UᵀΣU = diag s).  The flow is equivariant under W ↦ WU: V = WU obeys

    dV/dt = 2 V∘b − 4k (V∘s Vᵀ) V∘s − 2γ V        (∘: scaling of the columns),

so the products with B and Σ become column scalings and a step costs two
d1×d0×d1 matrix products per evaluation instead of four.  WᵀW and VᵀV = UᵀWᵀWU
have the same eigenvalues and L(W) = L(V) in the rotated landscape, so the
events and losses are unchanged; the saved weights are rotated back, W = VUᵀ.
Diagonal B and Σ (the (σ², γ) grid: A0 diagonal, C = σ²I) need no rotation.

The check runs once per call on concrete inputs; a traced landscape (inside a
caller's ``jit``) takes the dense field.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, gradient
from landscape.core.linalg import is_traced

DENSE, DIAGONAL, ROTATED = "dense", "diagonal", "rotated"


class Kernel(NamedTuple):
    """The field's operators: ``ops`` (a landscape whose b and sigma are per-point diagonals, or
    the landscape itself when ``kind`` is dense) and the basis U for ``kind`` == rotated, else None."""

    kind: str
    ops: EffectiveLandscape
    basis: jax.Array | None


def velocity(land: EffectiveLandscape, w: jax.Array) -> jax.Array:
    """−∇L(W) for one point; b and sigma of rank 1 are diagonals (column scalings)."""
    if land.b.ndim == 1:
        ws = w * land.sigma[None, :]
        return 2.0 * (w * land.b[None, :]) - 4.0 * land.quartic * ((ws @ w.T) @ ws) - 2.0 * land.weight_decay * w
    return -gradient(land, w)


def _offdiag(m: np.ndarray) -> np.ndarray:
    return m - np.einsum("...ii->...i", m)[..., None] * np.eye(m.shape[-1])


def _norms(m: np.ndarray) -> np.ndarray:
    return np.maximum(np.linalg.norm(m, axis=(-2, -1)), np.finfo(float).tiny)


def choose_kernel(landscape: EffectiveLandscape) -> Kernel:
    """The cheapest field for ``landscape`` (leaves per point or shared; see the module docstring).

    Commuting means ‖BΣ − ΣB‖ ≤ 256·d0·eps·‖B‖‖Σ‖ at every point, and the basis is kept
    only if it diagonalizes both to that tolerance.
    """
    dense = Kernel(DENSE, landscape, None)
    if is_traced(landscape.b) or is_traced(landscape.sigma):
        return dense
    b, s = np.asarray(landscape.b, float), np.asarray(landscape.sigma, float)
    dtype = landscape.b.dtype

    def diagonal_ops(bd, sd) -> EffectiveLandscape:
        return EffectiveLandscape(
            jnp.asarray(bd, dtype), jnp.asarray(sd, dtype), landscape.quartic, landscape.weight_decay
        )

    if not (np.any(_offdiag(b)) or np.any(_offdiag(s))):
        return Kernel(DIAGONAL, diagonal_ops(np.einsum("...ii->...i", b), np.einsum("...ii->...i", s)), None)
    tol = 256.0 * b.shape[-1] * float(jnp.finfo(dtype).eps)
    nb, ns = _norms(b), _norms(s)
    if np.any(np.linalg.norm(b @ s - s @ b, axis=(-2, -1)) > tol * nb * ns):
        return dense
    # Commuting symmetric matrices share the eigenvectors of a generic combination.
    mix = b / nb[..., None, None] + 0.5772156649 * s / ns[..., None, None]
    u = np.linalg.eigh(0.5 * (mix + np.swapaxes(mix, -1, -2)))[1]
    ut = np.swapaxes(u, -1, -2)
    bu, su = ut @ b @ u, ut @ s @ u
    if np.any(_norms(_offdiag(bu)) > tol * nb) or np.any(_norms(_offdiag(su)) > tol * ns):
        return dense
    diag = diagonal_ops(np.einsum("...ii->...i", bu), np.einsum("...ii->...i", su))
    return Kernel(ROTATED, diag, jnp.asarray(u, dtype))
