r"""Hard normalization: the κ → ∞ limit of the norm penalty (WS Eqs. 8–9, k general).

The finite-κ model is in :mod:`landscape.theory.normalization`, with
t = 2κ(c − ρ) and μ_i = (ℓ_i + t)/(2k) on the kept set M.  As κ → ∞, ρ → c
and t → (2kc − Σ_M ℓ_i)/d_M, so

    WᵀW → (1/2k)·Σ^{-1}[B_M + ((2kc − Tr[Σ^{-1}B_M])/d_M)·Σ_M]Σ^{-1}   (commuting case),

and direction i ∈ M survives iff ℓ_i + 2kc/d_M > ℓ̄_M (the mean of ℓ over M).
The optimal μ is the Euclidean projection of ℓ/(2k) onto the simplex
{μ ≥ 0, Σμ = c}: :func:`hard_normalization_limit`.

:func:`hard_collapse_thresholds` locates, per direction, the augmentation
strength σ² at which it leaves (and possibly re-enters) that optimal support.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import is_traced
from landscape.core.normalized_landscape import NormalizedLandscape, NormalizedSolution
from landscape.core.problem import Problem
from landscape.core.spectrum import whitened_spectrum
from landscape.core.validation import as_scalar
from landscape.losses.effective import quadratic_form
from landscape.theory.collapse_thresholds import common_eigenbasis
from landscape.theory.normalized_points import _check_out_dim, _is_diagonal, _make_solution, _nested_minimum, _spectrum

__all__ = ["NormalizationThreshold", "hard_normalization_limit", "survival_margins", "hard_collapse_thresholds"]


class NormalizationThreshold(NamedTuple):
    """Per-direction augmentation strengths under hard normalization.

    ``collapse[i]`` is the first σ² ≥ 0 at which direction i is not kept by the
    global minimum (0: not kept at σ² = 0; inf: kept on the whole scanned range).
    ``revival[i]`` is the first σ² > ``collapse[i]`` at which it is kept again
    (inf: not within the scanned range).  Under hard normalization a direction
    can come back at large σ², because all ℓ_i shrink towards 0 there and the
    margin 2kc/d_M wins.
    """

    collapse: jax.Array
    revival: jax.Array


def hard_normalization_limit(
    landscape: EffectiveLandscape | NormalizedLandscape,
    out_dim: int,
    norm_target: Any = None,
    *,
    mask: jax.Array | None = None,
) -> NormalizedSolution:
    """The κ → ∞ limit (WS Eq. 8, k general): ρ = c exactly.

    Without ``mask`` it returns the limit of the global minimum: μ is the
    projection of ℓ/(2k) onto the simplex {μ ≥ 0, Σμ = c} restricted to the top
    min(d1, d0) directions; the kept set is the largest m whose smallest ℓ passes
    Eq. 9, ℓ_m + 2kc/m > mean(ℓ_1..ℓ_m).  With ``mask`` (over descending ℓ) it
    returns the limit of that stationary point,
    WᵀW = (1/2k)Σ^{-1}[B_M + ((2kc − Tr[Σ^{-1}B_M])/d_M)Σ_M]Σ^{-1},
    with ``admissible`` False when Eq. 9 fails on the mask.

    ``loss`` is the κ → ∞ limit −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] (the penalty
    tends to 0).  ``norm_target`` defaults to the NormalizedLandscape's c (κ is
    ignored) and must be given for a plain EffectiveLandscape.

    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([1.0] * 10, [0.35] + [0.0] * 9), "infonce")
    >>> sol = ls.hard_normalization_limit(land, 10, 1.0)
    >>> int(sol.rank), round(float(sol.rho), 12)     # direction 1 (c_1 = 0.35 > 2/7) collapses
    (9, 1.0)
    """
    out_dim = _check_out_dim(out_dim, landscape)
    if isinstance(landscape, NormalizedLandscape):
        base = landscape.base
        c = landscape.norm_target if norm_target is None else norm_target
    else:
        base = landscape
        if norm_target is None:
            raise ValueError("norm_target is required with a plain EffectiveLandscape (c > 0)")
        c = norm_target
    if not is_traced(c):
        as_scalar(c, "norm_target", low=0.0, low_inclusive=False)
    return _hard_limit(
        base,
        out_dim,
        jnp.asarray(c, base.b.dtype),
        None if mask is None else jnp.asarray(mask, bool),
        _is_diagonal(base),
    )


@functools.partial(jax.jit, static_argnums=(1, 4))
def _hard_limit(
    base: EffectiveLandscape, out_dim: int, c: jax.Array, mask: jax.Array | None, diagonal: bool
) -> NormalizedSolution:
    lam, u, inv_sqrt, s_sorted = _spectrum(base, diagonal)
    k = base.quartic
    if mask is None:
        mask, mu, loss_value = _nested_minimum(lam, min(out_dim, lam.shape[0]), k, 0.0, c, hard=True)
        admissible = jnp.asarray(True)
    else:
        mask = jnp.asarray(mask, bool)
        mask = mask & (jnp.cumsum(mask) <= out_dim)
        n = jnp.sum(mask).astype(lam.dtype)
        t = (2.0 * k * c - jnp.sum(jnp.where(mask, lam, 0.0))) / jnp.maximum(n, 1.0)
        raw = (lam + t) / (2.0 * k)
        admissible = (n >= 1) & jnp.all(jnp.where(mask, raw > 0, True))
        mu = jnp.where(mask, jnp.maximum(raw, 0.0), 0.0)
        loss_value = jnp.sum(-lam * mu + k * mu * mu)
    return _make_solution(mu, mask, lam, u, inv_sqrt, out_dim, loss_value, jnp.sum(mu), admissible, s_sorted=s_sorted)


def survival_margins(landscape: EffectiveLandscape, mask: jax.Array, norm_target: Any) -> jax.Array:
    """ℓ_i + 2kc/d_M − ℓ̄_M for every direction (WS Eq. 9, k general).

    Over descending ℓ.  On the mask, a positive margin means the direction is
    kept with (1/2k)·margin = μ_i > 0 in the hard-normalization limit; a mask
    is a κ → ∞ stationary point iff all its margins are positive.  (Entries off
    the mask are the margin the direction would have against this mask's ℓ̄.)
    """
    return _survival_margins(landscape, jnp.asarray(mask, bool), jnp.asarray(norm_target, landscape.b.dtype))


@jax.jit
def _survival_margins(landscape: EffectiveLandscape, mask: jax.Array, norm_target: jax.Array) -> jax.Array:
    lam, _, _ = whitened_spectrum(landscape)
    n = jnp.maximum(jnp.sum(mask), 1).astype(lam.dtype)
    mean = jnp.sum(jnp.where(mask, lam, 0.0)) / n
    return lam + 2.0 * landscape.quartic * norm_target / n - mean


# ---------------------------------------------------------------- critical augmentation strength
def hard_collapse_thresholds(
    problem: Problem,
    loss_name: str = "infonce",
    *,
    aug_direction_weights: Any = None,
    norm_target: float = 1.0,
    out_dim: int | None = None,
    quartic: float = 1.0,
    weight_decay: float = 0.0,
    sigma2_max: float | None = None,
    n_grid: int = 4096,
    **loss_kwargs: Any,
) -> NormalizationThreshold:
    """Augmentation strength at which each direction collapses under hard normalization.

    The augmentation is C(σ²) = σ²·W_aug with W_aug = diag(``aug_direction_weights``)
    in the input basis, or the identity when they are None (isotropic).  The
    problem's own ``aug_cov`` is ignored.  A0 and W_aug must commute (always
    true for isotropic augmentation); otherwise a ValueError is raised, because
    "direction i" has no σ²-independent meaning there (solve each σ² with
    :func:`hard_normalization_limit`, or run gradient descent).

    In the common eigenbasis ℓ_i(σ²) = (p·a_i + q·σ²w_i − γ)/(a_i + σ²w_i), with
    B = p·A0 + q·C from the loss table.  Direction i is kept at σ² iff it is in
    the optimal support of the κ → ∞ problem (:func:`hard_normalization_limit`):
    the largest top-m set whose smallest ℓ satisfies Eq. 9, capped at d1.  The
    support changes at roots of rational equations in σ²; they are located by
    scanning ``n_grid`` points on [0, ``sigma2_max``] (quadratically spaced, dense
    near 0) for the first change of "kept", then refined by 60 bisection steps,
    so each value is exact to float precision up to the grid's resolution for
    windows narrower than one grid cell.  ``sigma2_max`` defaults to
    20·max(a_i)/min(w_i > 0).

    Returns:
        :class:`NormalizationThreshold` with ``collapse`` and ``revival`` per
        direction of :func:`landscape.common_eigenbasis` (input order when diagonal).

    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([1.0] * 10, 0.0)
    >>> th = ls.hard_collapse_thresholds(p, aug_direction_weights=[1.0] + [0.0] * 9)
    >>> round(float(th.collapse[0]), 10), float(th.collapse[1])      # 2/7 (WS §6 T8)
    (0.2857142857, inf)
    """
    c = as_scalar(norm_target, "norm_target", low=0.0, low_inclusive=False)
    k = as_scalar(quartic, "quartic", low=0.0, low_inclusive=False)
    gamma = as_scalar(weight_decay, "weight_decay", low=0.0)
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 2:
        raise ValueError(f"n_grid must be an integer >= 2, got {n_grid!r}")
    d = problem.dim
    weights, a, w = _augmentation_basis(problem, aug_direction_weights)
    n_out = d if out_dim is None else _check_out_dim(out_dim)
    n_max = min(n_out, d)
    qf = quadratic_form(loss_name, **loss_kwargs)
    p, q = float(qf.data_coef), float(qf.aug_coef)
    k = k * float(qf.quartic_scale)
    if sigma2_max is None:
        sigma2_max = 20.0 * float(np.max(np.abs(a))) / float(np.min(weights[weights > 0]))
        sigma2_max = max(sigma2_max, 1.0)
    hi = as_scalar(sigma2_max, "sigma2_max", low=0.0, low_inclusive=False)

    dtype = jnp.result_type(float)
    kept = _kept_at(jnp.asarray(a, dtype), jnp.asarray(w, dtype), p, q, gamma, k, c, n_max)
    grid = hi * jnp.linspace(0.0, 1.0, n_grid, dtype=dtype) ** 2
    status = np.asarray(jax.jit(jax.vmap(kept))(grid))  # (n_grid, d)
    brackets = _flip_brackets(status, np.asarray(grid))
    collapse = np.where(status[0], np.inf, 0.0)
    revival = np.full(d, np.inf)
    if brackets:
        roots = _bisect_brackets(kept, brackets, dtype)
        for (_, _, i, is_revival), r in zip(brackets, roots):
            if is_revival:
                revival[i] = float(r)
            else:
                collapse[i] = float(r)
    return NormalizationThreshold(jnp.asarray(collapse), jnp.asarray(revival))


def _kept_at(a: jax.Array, w: jax.Array, p: float, q: float, gamma: float, k: float, c: float, n_max: int):
    """σ² ↦ which directions the κ → ∞ minimum keeps, with ℓ_i(σ²) = (p·a_i + q·σ²w_i − γ)/(a_i + σ²w_i)."""
    d = a.shape[0]

    def kept(s2):
        s = a + s2 * w
        lam = (p * a + q * s2 * w - gamma) / s
        order = jnp.argsort(-lam, stable=True)
        mask_sorted, _, _ = _nested_minimum(lam[order], n_max, k, 0.0, c, hard=True)
        return jnp.zeros((d,), bool).at[order].set(mask_sorted)

    return kept


def _augmentation_basis(problem: Problem, aug_direction_weights: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, a, w): the checked W_aug diagonal and the eigenvalues of A0 and W_aug in their common basis."""
    d = problem.dim
    if aug_direction_weights is None:
        weights = np.ones(d)
    else:
        weights = np.atleast_1d(np.asarray(aug_direction_weights, dtype=float))
        if weights.shape != (d,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(
                f"aug_direction_weights must be {d} finite non-negative numbers, got {aug_direction_weights!r}"
            )
    if not np.any(weights > 0):
        raise ValueError("aug_direction_weights must have at least one positive entry")
    try:
        _, a, w = common_eigenbasis(Problem(problem.data_cov, jnp.asarray(np.diag(weights), problem.data_cov.dtype)))
    except ValueError:
        raise ValueError(
            "aug_direction_weights: diag(aug_direction_weights) does not commute with data_cov, so per-direction "
            "collapse thresholds are undefined; use hard_normalization_limit at each sigma2 or gradient descent"
        ) from None
    if np.any(a <= 0):
        raise ValueError(
            "data_cov must be positive definite for the sigma2 scan (it starts at sigma2 = 0); "
            f"its smallest eigenvalue is {float(np.min(a)):.3g}"
        )
    return weights, a, w


def _flip_brackets(status: np.ndarray, grid: np.ndarray) -> list[tuple[float, float, int, bool]]:
    """Grid cells (lo, up, direction, is_revival) where "kept" first turns off, and then back on.

    ``status`` is (n_grid, d): whether each direction is kept at each grid point.
    A direction not kept at σ² = 0 only gets a revival bracket.
    """

    def first_flip(i, start, want):
        """First grid index j > start with status[j, i] == want, or None."""
        idx = np.flatnonzero(status[start + 1 :, i] == want)
        return None if idx.size == 0 else start + 1 + int(idx[0])

    brackets = []
    for i in range(status.shape[1]):
        if not status[0, i]:
            j = first_flip(i, 0, True)
            if j is not None:
                brackets.append((grid[j - 1], grid[j], i, True))
            continue
        j = first_flip(i, 0, False)
        if j is None:
            continue
        brackets.append((grid[j - 1], grid[j], i, False))
        r = first_flip(i, j, True)
        if r is not None:
            brackets.append((grid[r - 1], grid[r], i, True))
    return brackets


def _bisect_brackets(kept, brackets, dtype) -> np.ndarray:
    """The σ² where "kept" flips inside each bracket, by 60 vmapped bisection steps."""
    lo = jnp.asarray([b[0] for b in brackets], dtype)
    up = jnp.asarray([b[1] for b in brackets], dtype)
    idx = jnp.asarray([b[2] for b in brackets])
    want = jnp.asarray([b[3] for b in brackets])

    @jax.jit
    def bisect(lo, up):
        def body(_, lu):
            lo, up = lu
            mid = 0.5 * (lo + up)
            hit = jax.vmap(lambda s2, i: kept(s2)[i])(mid, idx) == want
            return jnp.where(hit, lo, mid), jnp.where(hit, mid, up)

        return jax.lax.fori_loop(0, 60, body, (lo, up))[1]

    return np.asarray(bisect(lo, up))
