"""The step-size limit of gradient descent: the top eigenvalue of the Hessian."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape, gradient
from landscape.dynamics._checks import in_dtype, int_in_range

__all__ = ["hessian_top_eigenvalue", "max_stable_learning_rate"]


def _hvp(landscape: EffectiveLandscape, w: jax.Array):
    def apply(v_flat):
        _, hv = jax.jvp(lambda x: gradient(landscape, x), (w,), (v_flat.reshape(w.shape),))
        return hv.ravel()

    return apply


def _lanczos_top(matvec, n: int, iterations: int, key: jax.Array, dtype) -> jax.Array:
    """Largest Ritz value of m = min(iterations, n) Lanczos steps with full reorthogonalisation."""
    m = min(iterations, n)
    v0 = jax.random.normal(key, (n,), dtype)
    basis = jnp.zeros((m + 1, n), dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    eps = jnp.finfo(dtype).eps

    def body(j, carry):
        basis, alpha, beta = carry
        v = basis[j]
        w = matvec(v)
        a = v @ w
        w = w - basis.T @ (basis @ w)  # rows beyond j are still zero
        w = w - basis.T @ (basis @ w)  # second pass for orthogonality
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(jnp.abs(a), jnp.where(j > 0, beta[jnp.maximum(j - 1, 0)], 0.0))
        alive = b > 64.0 * eps * jnp.maximum(scale, jnp.finfo(dtype).tiny)
        b = jnp.where(alive, b, 0.0)  # invariant subspace found: the rest decouples
        basis = basis.at[j + 1].set(jnp.where(alive, w / jnp.where(alive, b, 1.0), 0.0))
        return basis, alpha.at[j].set(a), beta.at[j].set(b)

    _, alpha, beta = jax.lax.fori_loop(0, m, body, (basis, jnp.zeros(m, dtype), jnp.zeros(m, dtype)))
    off = beta[:-1]
    tri = jnp.diag(alpha) + jnp.diag(off, 1) + jnp.diag(off, -1)
    return jnp.linalg.eigvalsh(tri)[-1]


def hessian_top_eigenvalue(
    landscape: EffectiveLandscape,
    w: jax.Array,
    *,
    method: str = "auto",
    iterations: int = 80,
    key: jax.Array | None = None,
) -> jax.Array:
    r"""Largest eigenvalue of the Hessian of L at W (W flattened row-major).

    ``method="dense"`` builds the (d1·d0)² Hessian by forward differentiation of the
    analytic gradient and diagonalises it; ``"lanczos"`` runs ``iterations``
    Lanczos steps (full reorthogonalisation) on Hessian-vector products, which
    are one ``jax.jvp`` of :func:`~landscape.gradient` each; it is exact when
    ``iterations ≥ d1·d0`` and otherwise converges fast for the extreme
    eigenvalue.  ``"auto"`` is dense up to 1024 entries of W.  ``key`` seeds the
    Lanczos start vector (default ``PRNGKey(0)``).  Computed in the dtype of W.
    """
    w = jnp.asarray(w)
    landscape = in_dtype(landscape, w.dtype)
    n = w.size
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method must be 'auto', 'dense' or 'lanczos', got {method!r}")
    iterations = int_in_range(iterations, "iterations", 1)
    if method == "dense" or (method == "auto" and n <= 1024):
        hess = jax.jacfwd(lambda v: gradient(landscape, v.reshape(w.shape)).ravel())(w.ravel())
        return jnp.linalg.eigvalsh(0.5 * (hess + hess.T))[-1]
    key = jax.random.PRNGKey(0) if key is None else key
    return _lanczos_top(_hvp(landscape, w), n, iterations, key, w.dtype)


def max_stable_learning_rate(landscape: EffectiveLandscape, w: jax.Array, **kwargs: Any) -> jax.Array:
    r"""Largest stable step of plain gradient descent near W: 2 / λ_max(∇²L(W)).

    Linearised at a minimum, one step multiplies the error along a Hessian
    eigenvector by 1 − η·λ; all of them shrink iff η < 2/λ_max.  Returns ``inf``
    when the Hessian has no positive eigenvalue.  Keyword arguments go to
    :func:`hessian_top_eigenvalue` (``method``, ``iterations``, ``key``).

    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0], [0.0]), "infonce")
    >>> round(float(max_stable_learning_rate(land, jnp.full((1, 1), 0.5))), 6)  # L'' = 4b at w*
    0.25
    """
    top = hessian_top_eigenvalue(landscape, w, **kwargs)
    return jnp.where(top > 0, 2.0 / jnp.where(top > 0, top, 1.0), jnp.inf)
