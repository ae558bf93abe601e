r"""Stepwise learning from a random small initialization: the predicted staircase of WᵀW.

From W₀ = O(ε), the flow dW/dt = 2WM − 4k(WΣWᵀ)WΣ (M = B − γI) is linear until W
is O(1): W(t) ≈ W₀ e^{2Mt}.  With u_i the eigenvectors of M ordered by
decreasing m_i, the columns W₀u_i grow like e^{2m_i t}, so the directions are
learned one after another in the order of m (:mod:`landscape.theory.escape_times`).
A random W₀ is not aligned with the u_i, and the output space has only d1
dimensions: once directions 1…i−1 are learned, the quartic term removes the part
of W u_i along their outputs, and direction i grows from what is left, the
component of W₀u_i orthogonal to span{W₀u_j : j < i}.  Its squared length is

    λ̃_i(0) = R_ii²,     W₀U = QR (QR decomposition, columns in the order of m),

the sequential (Gram–Schmidt) level (:func:`sequential_levels`); it is 0 for
i > d1, so at most d1 directions escape.  Each direction then follows the
logistic of :mod:`landscape.theory.exact_flow` from λ̃_i(0), with
s_i = u_iᵀΣu_i, and :func:`staircase` returns its escape time (to a fraction
of λ*_i = m_i/(2ks_i²)) and the loss plateaus, L after i steps
= −Σ_{j≤i} m_j²/(4k s_j²).

Conditions: exact for an aligned W₀ (then λ̃_i(0) = λ_i(0)); for a random W₀ it
is the small-initialization limit, with an error that vanishes as the steps
separate (ln(1/ε)·(m_i − m_{i+1})/m_i large against 1).  When B and Σ do not
commute, s_i = u_iᵀΣu_i is an approximation that enters only λ*_i, i.e. an
O(1)/(4m_i) shift of the escape time.

Example (a diagonal problem and W₀ = ε·[[1, 1], [0, 1]]: direction 2 starts from the part of W₀e₂ orthogonal to W₀e₁):
    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0, 1.0], [0.0, 0.0]), "infonce")
    >>> st = staircase(land, 1e-3 * jnp.array([[1.0, 1.0], [0.0, 1.0]]))
    >>> [round(float(v), 12) for v in st.gram0], [round(float(v), 4) for v in st.escape_times]
    ([1e-06, 1e-06], [1.5537, 3.2806])
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.theory.escape_times import escape_time_asymptotic, escape_times
from landscape.theory.exact_flow import check_initial_weights

__all__ = ["Staircase", "sequential_levels", "staircase"]


class Staircase(NamedTuple):
    """The predicted steps, one entry per eigenvector of M = B − γI, in decreasing order of m.

    Attributes:
        basis: the eigenvectors u_i of M as columns (d0×d0).
        rate: m_i (descending).
        sigma: s_i = u_iᵀΣu_i.
        limit: λ*_i = m_i/(2ks_i²) where m_i > 0 and λ̃_i(0) > 0, else 0.
        gram0: the sequential levels λ̃_i(0).
        escape_times: time for λ_i to reach ``fraction``·λ*_i from λ̃_i(0) (inf if never).
        escape_asymptotic: ln(λ*_i/λ̃_i(0))/(4m_i).
        plateau_loss: the loss on the plateau after direction i has escaped: Σ_j −m_j²/(4ks_j²)
            over the directions j that escape no later than i (all escaping ones for i that never does).
    """

    basis: jax.Array
    rate: jax.Array
    sigma: jax.Array
    limit: jax.Array
    gram0: jax.Array
    escape_times: jax.Array
    escape_asymptotic: jax.Array
    plateau_loss: jax.Array


def sequential_levels(w0: Any, basis: Any) -> jax.Array:
    """λ̃_i = R_ii² of W₀U = QR: the squared part of W₀u_i orthogonal to W₀u_1…W₀u_{i−1} (0 beyond d1).

    >>> import jax.numpy as jnp
    >>> [round(float(v), 6) for v in sequential_levels(jnp.array([[3.0, 4.0]]), jnp.eye(2))]
    [9.0, 0.0]
    """
    wu = jnp.asarray(w0) @ jnp.asarray(basis, jnp.asarray(w0).dtype)
    r = jnp.linalg.qr(wu, mode="r")
    diag = jnp.diagonal(r) ** 2
    return jnp.concatenate([diag, jnp.zeros((wu.shape[1] - diag.shape[0],), diag.dtype)])


def staircase(landscape: EffectiveLandscape, w0: Any, fraction: float = 0.5) -> Staircase:
    """The staircase of WᵀW from ``w0`` on ``landscape`` (module docstring); needs concrete input."""
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    w0 = check_initial_weights(landscape, w0, "staircase")
    dtype = w0.dtype
    m_all, u = np.linalg.eigh(np.asarray(landscape.b_eff, float))
    order = np.argsort(-m_all, kind="stable")
    basis = jnp.asarray(u[:, order], dtype)
    sigma_mat = jnp.asarray(landscape.sigma, dtype)
    return _staircase(basis, jnp.asarray(m_all[order], dtype), sigma_mat, jnp.asarray(landscape.quartic, dtype), w0,
                      float(fraction))  # fmt: skip


@functools.partial(jax.jit, static_argnames=("fraction",))
def _staircase(basis, rate, sigma_mat, k, w0, fraction: float) -> Staircase:
    sigma = jnp.einsum("ji,jk,ki->i", basis, sigma_mat, basis)
    gram0 = sequential_levels(w0, basis)
    grows = (rate > 0) & (gram0 > 0)
    limit = jnp.where(grows, rate / (2.0 * k * sigma * sigma), 0.0)
    depth = jnp.where(grows, -(rate**2) / (4.0 * k * sigma * sigma), 0.0)
    tau = escape_times(gram0, rate, sigma, k, fraction)
    return Staircase(
        basis=basis,
        rate=rate,
        sigma=sigma,
        limit=limit,
        gram0=gram0,
        escape_times=tau,
        escape_asymptotic=escape_time_asymptotic(gram0, rate, sigma, k),
        plateau_loss=(tau[None, :] <= tau[:, None]).astype(w0.dtype) @ depth,
    )
