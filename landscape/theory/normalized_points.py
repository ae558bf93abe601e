r"""What the normalized closed forms share: the spectrum ℓ, and a stationary point built from μ.

Finite κ (:mod:`landscape.theory.normalization`), κ → ∞
(:mod:`landscape.theory.hard_normalization`) and the bias branch
(:mod:`landscape.theory.bias`) all write a stationary point in the whitened
eigenbasis, B̃ = Σ^{-1/2}(B − γI)Σ^{-1/2} = U diag(ℓ) Uᵀ, as

    WᵀW = Σ^{-1/2} U diag(μ) Uᵀ Σ^{-1/2},   μ_i ≥ 0 on the kept set M, 0 off it,

and find their global minimum among nested top-m sets of ℓ
(:func:`_nested_minimum`, whose docstring proves it).  This module holds that
shared machinery; the public functions live in the three modules above.
"""

from __future__ import annotations

import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import finite_rank, is_traced
from landscape.core.normalized_landscape import NormalizedSolution
from landscape.core.solution import gram_spectrum
from landscape.core.spectrum import whitened_spectrum
from landscape.core.validation import as_int, checked_out_dim


def _is_diagonal(base: EffectiveLandscape) -> bool:
    """Whether B and Σ are concrete and diagonal (then no eigendecomposition is needed)."""
    if is_traced(base.b) or is_traced(base.sigma) or is_traced(base.weight_decay):
        return False
    b, sigma = np.asarray(base.b), np.asarray(base.sigma)
    off = ~np.eye(b.shape[-1], dtype=bool)
    return bool(b.ndim == 2 and not np.any(b[off]) and not np.any(sigma[off]))


def _spectrum(base: EffectiveLandscape, diagonal: bool):
    """(ℓ descending, U, Σ^{-1/2}, s in the same order or None).

    For diagonal B and Σ, ℓ_i = (b_i − γ)/s_i sorted, U a permutation and no
    eigendecomposition (O(d log d) instead of O(d³)); otherwise
    :func:`landscape.whitened_spectrum`.
    """
    if not diagonal:
        lam, u, inv_sqrt = whitened_spectrum(base)
        return lam, u, inv_sqrt, None
    s = jnp.diagonal(base.sigma)
    raw = jnp.diagonal(base.b_eff) / s
    order = jnp.argsort(-raw, stable=True)
    eye = jnp.eye(s.shape[0], dtype=s.dtype)
    return raw[order], eye[:, order], jnp.diag(1.0 / jnp.sqrt(s)), s[order]


def _directions(u: jax.Array, inv_sqrt: jax.Array) -> jax.Array:
    d = inv_sqrt @ u
    return d / jnp.linalg.norm(d, axis=0, keepdims=True)


def _weights_from_mu(mu: jax.Array, mask: jax.Array, u: jax.Array, inv_sqrt: jax.Array, out_dim: int):
    """(W, WᵀW) with WᵀW = Σ^{-1/2}U diag(μ)UᵀΣ^{-1/2}; kept rows first."""
    d0 = mu.shape[0]
    proj = u.T @ inv_sqrt  # rows u_iᵀΣ^{-1/2}
    gram = proj.T @ (mu[:, None] * proj)
    rows = jnp.sqrt(mu)[:, None] * proj
    rows = rows[jnp.argsort(~mask, stable=True)]
    if out_dim <= d0:
        w = rows[:out_dim]
    else:
        w = jnp.concatenate([rows, jnp.zeros((out_dim - d0, d0), rows.dtype)], axis=0)
    return w, 0.5 * (gram + gram.T)


def _make_solution(
    mu, mask, lam, u, inv_sqrt, out_dim, loss_value, rho, admissible, bias_norm_sq=None, s_sorted=None
) -> NormalizedSolution:
    w, gram = _weights_from_mu(mu, mask, u, inv_sqrt, out_dim)
    dtype = mu.dtype
    if s_sorted is None:
        gram_eig = gram_spectrum(w)
    else:  # diagonal problem: WᵀW = diag(μ_i/s_i) up to order
        gram_eig = jnp.sort(mu / s_sorted)[::-1]
    if bias_norm_sq is None:
        bias_norm_sq = jnp.zeros((), dtype)
    bias = jnp.zeros((out_dim,), dtype).at[0].set(jnp.sqrt(jnp.maximum(bias_norm_sq, 0.0)))
    return NormalizedSolution(
        weights=w,
        gram=gram,
        gram_eigenvalues=gram_eig,
        rank=finite_rank(jnp.sum(mask & (mu > 0)), mu, lam, loss_value),  # −1, never 0, if not finite
        loss=loss_value,
        whitened_eigenvalues=lam,
        kept=mask & (mu > 0),
        directions=_directions(u, inv_sqrt),
        rho=rho,
        bias=bias,
        bias_norm_sq=jnp.asarray(bias_norm_sq, dtype),
        admissible=admissible,
    )


def _check_out_dim(out_dim: Any, landscape: Any = None) -> int:
    """``out_dim`` as an int ≥ 1; with a landscape, also refused if its W would not fit in memory."""
    if landscape is None:
        return as_int(out_dim, "out_dim", low=1)
    return checked_out_dim(out_dim, landscape.dim, landscape.sigma.dtype)


def _all_masks(d0: int, out_dim: int) -> np.ndarray:
    masks = []
    for r in range(0, min(d0, out_dim) + 1):
        for combo in itertools.combinations(range(d0), r):
            m = np.zeros(d0, bool)
            m[list(combo)] = True
            masks.append(m)
    return np.stack(masks)


def _take(tree, idx):
    """Select entries of a concrete stacked pytree (in NumPy: no compilation per result size)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(np.asarray(x)[idx]), tree)


def _nested_candidates(lam: jax.Array, n_max: int, k, kappa, c, hard: bool):
    """For m = 0..n_max keeping the top-m ℓ: (t_m, loss_m, admissible_m)."""
    dtype = lam.dtype
    top = lam[:n_max]
    m = jnp.arange(n_max + 1, dtype=dtype)
    s = jnp.concatenate([jnp.zeros((1,), dtype), jnp.cumsum(top)])
    q = jnp.concatenate([jnp.zeros((1,), dtype), jnp.cumsum(top * top)])
    smallest = jnp.concatenate([jnp.full((1,), jnp.inf, dtype), top])
    if hard:
        safe_m = jnp.maximum(m, 1.0)
        t = (2.0 * k * c - s) / safe_m
        penalty = jnp.zeros_like(t)
        admissible = (m >= 1) & (smallest + t > 0)
    else:
        gap = (k * c - 0.5 * s) / (k + kappa * m)
        t = 2.0 * kappa * gap
        penalty = kappa * gap * gap
        admissible = smallest + t > 0
    loss_m = (m * t * t - q) / (4.0 * k) + penalty
    return t, loss_m, admissible


def _nested_minimum(lam, n_max, k, kappa, c, hard):
    """Keep the largest admissible top-m set: it is the KKT point of the convex problem.

    Admissibility f(m) = ℓ_m + t_m > 0 is monotone in m, since
    f(m+1) = (k + κm)(ℓ_{m+1} + t_m)/(k + κ(m+1)) ≤ (k + κm)·f(m)/(k + κ(m+1))
    (κ → ∞: f(m+1) = m(ℓ_{m+1} + t_m)/(m+1)); and at the largest admissible m
    every dropped direction has ℓ_i + t_m ≤ 0, so the KKT conditions hold.
    Choosing m this way, rather than by comparing losses (which differ only
    by O(f(m)²) near a transition), locates transitions to float precision.
    """
    t, loss_m, admissible = _nested_candidates(lam, n_max, k, kappa, c, hard)
    best = jnp.max(jnp.where(admissible, jnp.arange(n_max + 1), 0))
    mask = jnp.arange(lam.shape[0]) < best
    mu = jnp.where(mask, jnp.maximum(lam + t[best], 0.0) / (2.0 * k), 0.0)
    return mask, mu, loss_m[best]
