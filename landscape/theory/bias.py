r"""A bias together with normalization (WS Theorem 2, App. C.2).

With f(x) = Wx + b and E[x] = 0 the average squared norm is E‖f‖² = ρ + ‖b‖²
(ρ = Tr[WΣWᵀ]).  The SSL part of the loss only sees differences of outputs, so
it ignores b; only the norm penalty sees it:

    L(W, b) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] + κ(ρ + ‖b‖² − c)².

∂L/∂b = 4κ(ρ + ‖b‖² − c)·b, so every stationary point lies on one of two branches:

* **b = 0**: W is a stationary point of the normalized landscape
  (:mod:`landscape.theory.normalization`);
* **‖b‖² = c − ρ > 0**: the penalty and its W-gradient vanish, so W is a
  stationary point of the *unnormalized* landscape, with ρ(W) < c (Theorem 2).
  W = 0, ‖b‖² = c (complete collapse) is always one of them.

**Global minimum.**  For fixed W the best bias gives ‖b‖² = max(c − ρ, 0), so the
W-problem is E(W) + κ·max(ρ − c, 0)², still convex in the whitened spectrum μ.
If the unnormalized global minimum has ρ₀ ≤ c it is the answer (with
‖b‖² = c − ρ₀, loss = unnormalized minimum, and no point can do better since the
penalty is ≥ 0); otherwise the minimiser has ρ ≥ c, where the problem is the
normalized one, and the answer is the normalized global minimum with b = 0.
Only ‖b‖ is determined (the loss is invariant under rotations of b); b is
returned along the first output axis.

**Complete collapse.**  At W = 0, ‖b‖² = c the penalty is κρ² in W, which is
quartic, and the mixed W–b derivatives carry a factor of W; so the Hessian in W is the
unnormalized one at the origin, −2(B − γI) for each of the d1 rows, and in b it
is 8κ·bbᵀ: eigenvalue 8κc along b and 0 along the d1 − 1 rotations of b.
Complete collapse is therefore a local minimum exactly when the unnormalized
origin is (B − γI ⪯ 0): the norm target c does not enter.

Example (WS §6, T9):
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([2.0, 1.0, 0.6, 0.3, 0.15], [0.1, 0.1, 0.5, 0.1, 0.1])
    >>> land = ls.effective_landscape(p, "infonce")
    >>> sol = ls.bias_global_minimum(ls.normalized_landscape(land, kappa=10.0, norm_target=3.0), 5)
    >>> round(float(sol.rho), 4), round(float(sol.bias_norm_sq), 4)
    (1.8785, 1.1215)
    >>> sol = ls.bias_global_minimum(ls.normalized_landscape(land, kappa=10.0, norm_target=0.6), 5)
    >>> float(sol.bias_norm_sq)
    0.0
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.normalized_landscape import (  # noqa: F401  (biased_loss, biased_gradient: re-exported from core)
    NormalizedLandscape,
    NormalizedSolution,
    biased_gradient,
    biased_loss,
    normalized_landscape,
)
from landscape.core.spectrum import whitened_spectrum
from landscape.theory.collapse_thresholds import origin_type
from landscape.theory.normalization import _stationary_batch, normalized_stationary_points
from landscape.theory.normalized_points import (
    _all_masks,
    _check_out_dim,
    _is_diagonal,
    _make_solution,
    _nested_minimum,
    _spectrum,
    _take,
)

__all__ = [
    "biased_loss",
    "biased_gradient",
    "bias_branch",
    "bias_global_minimum",
    "bias_hard_normalization_limit",
    "bias_stationary_points",
    "complete_collapse_point",
    "CollapseHessian",
    "complete_collapse_hessian",
    "complete_collapse_type",
]


def bias_branch(lam: Any, n_max: Any, quartic: Any, norm_target: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The unnormalized global minimum on descending ℓ and whether it is the global minimum over (W, b).

    Returns (mask, μ, holds): mask the top min(n_max, #{ℓ > 0}) slots, μ_i = ℓ_i/(2k) there (0 elsewhere),
    holds ⇔ ρ₀ = Σμ_i ≤ c (the bias branch of the module docstring; else the b = 0 normalized solution).
    Jittable; ``n_max`` may be traced.

    >>> mask, mu, holds = bias_branch(jnp.array([2.0, 1.0, -1.0]), 3, 1.0, 2.0)
    >>> mask.tolist(), mu.tolist(), bool(holds)      # ρ₀ = 1.5 ≤ c = 2
    ([True, True, False], [1.0, 0.5, 0.0], True)
    """
    lam = jnp.asarray(lam)
    mask = (jnp.arange(lam.shape[-1]) < n_max) & (lam > 0)
    mu = jnp.where(mask, lam / (2.0 * quartic), 0.0)
    return mask, mu, jnp.sum(mu, axis=-1) <= norm_target


def bias_global_minimum(nl: NormalizedLandscape, out_dim: int) -> NormalizedSolution:
    """Global minimum over (W, b): the unnormalized minimum if its ρ₀ ≤ c, else the normalized one.

    ``bias_norm_sq`` is c − ρ₀ on the first branch and 0 on the second; ``loss``
    is :func:`biased_loss` at the returned (W, b).  Jittable (``out_dim`` static).
    """
    return _bias_global_minimum(nl, _check_out_dim(out_dim), _is_diagonal(nl.base), False)


def bias_hard_normalization_limit(
    landscape: EffectiveLandscape | NormalizedLandscape, out_dim: int, norm_target: Any = None
) -> NormalizedSolution:
    r"""Theorem 2 at κ → ∞: the global minimum over (W, b) under hard normalization ρ + ‖b‖² = c.

    As κ → ∞ the penalty κ(ρ + ‖b‖² − c)² forces E‖f‖² = ρ + ‖b‖² = c.  The bias
    can take any share ‖b‖² ≥ 0 of it, so the constraint on W is only ρ ≤ c:

        min_{W, b: ρ(W) + ‖b‖² = c} E(W) = min_{W: ρ(W) ≤ c} E(W),   ‖b‖² = c − ρ(W),

    with E(W) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²], convex in the whitened spectrum μ.
    If the unnormalized global minimum (μ_i = ℓ_i/(2k) on the top min(d1, d0)
    positive ℓ_i) has ρ₀ = Σμ_i ≤ c, it is the answer, with ‖b‖² = c − ρ₀ and
    loss −Σℓ_i²/(4k); otherwise the constraint binds, ρ = c and b = 0, and the
    answer is :func:`~landscape.theory.normalization.hard_normalization_limit`.
    It is the limit of :func:`bias_global_minimum` as κ → ∞ (the first branch does
    not depend on κ; the second tends to the hard limit).  ``loss`` is E at the
    returned W (the penalty is 0).  ``norm_target`` defaults to the
    NormalizedLandscape's c (κ is ignored) and must be given for a plain
    EffectiveLandscape.

    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([2.0, 1.0, 0.6, 0.3, 0.15], [0.1, 0.1, 0.5, 0.1, 0.1])
    >>> land = ls.effective_landscape(p, "infonce")
    >>> sol = bias_hard_normalization_limit(land, 5, 3.0)      # ρ₀ ≈ 1.88 ≤ c: the bias takes the rest
    >>> round(float(sol.rho), 4), round(float(sol.bias_norm_sq), 4)
    (1.8785, 1.1215)
    >>> sol = bias_hard_normalization_limit(land, 5, 0.6)      # ρ₀ > c: ρ = c, no bias
    >>> round(float(sol.rho), 12), float(sol.bias_norm_sq)
    (0.6, 0.0)
    """
    if isinstance(landscape, NormalizedLandscape):
        base, norm_target = landscape.base, landscape.norm_target if norm_target is None else norm_target
    else:
        base = landscape
        if norm_target is None:
            raise ValueError("norm_target is required with a plain EffectiveLandscape (c > 0)")
    # normalized_landscape checks c > 0; κ is not used by the hard branch.
    nl = normalized_landscape(base, 0.0, norm_target)
    return _bias_global_minimum(nl, _check_out_dim(out_dim, base), _is_diagonal(base), True)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _bias_global_minimum(nl: NormalizedLandscape, out_dim: int, diagonal: bool, hard: bool) -> NormalizedSolution:
    lam, u, inv_sqrt, s_sorted = _spectrum(nl.base, diagonal)
    k, c = nl.quartic, nl.norm_target
    n_max = min(out_dim, lam.shape[0])
    mask0, mu0, use_bias = bias_branch(lam, n_max, k, c)
    rho0 = jnp.sum(mu0)
    loss0 = -jnp.sum(jnp.where(mask0, lam * lam, 0.0)) / (4.0 * k)
    mask1, mu1, loss1 = _nested_minimum(lam, n_max, k, 0.0 if hard else nl.kappa, c, hard=hard)
    mask = jnp.where(use_bias, mask0, mask1)
    mu = jnp.where(use_bias, mu0, mu1)
    return _make_solution(
        mu,
        mask,
        lam,
        u,
        inv_sqrt,
        out_dim,
        jnp.where(use_bias, loss0, loss1),
        jnp.sum(mu),
        jnp.asarray(True),
        bias_norm_sq=jnp.where(use_bias, c - rho0, 0.0),
        s_sorted=s_sorted,
    )


def _with_bias(sols: NormalizedSolution, bias_norm_sq: np.ndarray, out_dim: int) -> NormalizedSolution:
    """Concrete stacked points with ‖b‖² set (NumPy: no compilation per batch size)."""
    bias = np.zeros(bias_norm_sq.shape + (out_dim,), bias_norm_sq.dtype)
    bias[..., 0] = np.sqrt(np.maximum(bias_norm_sq, 0.0))
    return sols.replace(bias=jnp.asarray(bias), bias_norm_sq=jnp.asarray(bias_norm_sq))


def bias_stationary_points(nl: NormalizedLandscape, out_dim: int, *, max_dim: int = 14) -> NormalizedSolution:
    """Every stationary point of L(W, b), both branches, stacked on a leading axis.

    First the b = 0 branch (all of :func:`normalized_stationary_points`), then
    the b ≠ 0 branch: each unnormalized stationary point (masks of positive ℓ,
    at most d1 of them, μ_i = ℓ_i/(2k)) with ρ < c, with ‖b‖² = c − ρ.  The
    last branch includes complete collapse (empty mask).  ``loss`` is
    :func:`biased_loss`.  Needs concrete input; d0 ≤ ``max_dim``.
    """
    out_dim = _check_out_dim(out_dim)
    branch_zero = normalized_stationary_points(nl, out_dim, max_dim=max_dim)
    free = NormalizedLandscape(nl.base, jnp.zeros_like(nl.kappa), nl.norm_target)
    sols = _stationary_batch(free, jnp.asarray(_all_masks(nl.dim, out_dim)), out_dim, _is_diagonal(nl.base))
    keep = np.flatnonzero(np.asarray(sols.admissible) & (np.asarray(sols.rho) < float(nl.norm_target)))
    branch_bias = _take(sols, keep)
    branch_bias = _with_bias(branch_bias, float(nl.norm_target) - np.asarray(branch_bias.rho), out_dim)
    return jax.tree_util.tree_map(
        lambda x, y: jnp.asarray(np.concatenate([np.asarray(x), np.asarray(y)])), branch_zero, branch_bias
    )


def complete_collapse_point(nl: NormalizedLandscape, out_dim: int) -> NormalizedSolution:
    """W = 0 with ‖b‖² = c: a stationary point for every κ, c (loss 0)."""
    out_dim = _check_out_dim(out_dim)
    lam, u, inv_sqrt = whitened_spectrum(nl.base)
    mask = jnp.zeros(lam.shape, bool)
    mu = jnp.zeros_like(lam)
    return _make_solution(
        mu,
        mask,
        lam,
        u,
        inv_sqrt,
        out_dim,
        jnp.zeros((), lam.dtype),
        jnp.zeros((), lam.dtype),
        jnp.asarray(True),
        bias_norm_sq=jnp.asarray(nl.norm_target, lam.dtype),
    )


class CollapseHessian(NamedTuple):
    """Hessian eigenvalues of L(W, b) at complete collapse, ascending, per block."""

    weights: jax.Array  # (d1·d0,): −2·eig(B − γI), each d1 times
    bias: jax.Array  # (d1,): 0 (d1 − 1 times, rotations of b) and 8κc (along b)


def complete_collapse_hessian(nl: NormalizedLandscape, out_dim: int) -> CollapseHessian:
    """Analytic Hessian spectrum at W = 0, ‖b‖² = c (the two blocks decouple there)."""
    out_dim = _check_out_dim(out_dim)
    eig = -2.0 * jnp.linalg.eigvalsh(nl.base.b_eff)
    w_block = jnp.sort(jnp.repeat(eig, out_dim))
    b_block = jnp.zeros((out_dim,), eig.dtype).at[-1].set(8.0 * nl.kappa * nl.norm_target)
    return CollapseHessian(w_block, b_block)


def complete_collapse_type(nl: NormalizedLandscape) -> str:
    """Stability of complete collapse in W: that of the unnormalized origin (see module docstring).

    One of ``"strict-minimum"``, ``"degenerate-minimum"``, ``"saddle"``, ``"maximum"``
    (:func:`landscape.origin_type` of the base landscape).  The b-directions add
    one positive curvature 8κc and d1 − 1 flat rotations (a symmetry).
    """
    return origin_type(nl.base)
