r"""Theorem 1: every stationary point of the effective landscape, in closed form.

With V = W Σ^{1/2} and B̃ = Σ^{-1/2}(B − γI)Σ^{-1/2} = U Λ Uᵀ the loss is

    L = k‖VᵀV − B̃/(2k)‖²_F − ‖B̃‖²_F/(4k),

so the stationary points are

    WᵀW = (1/(2k)) Σ^{-1/2} U M Λ Uᵀ Σ^{-1/2},

with M a 0/1 diagonal mask that keeps only positive λ_i and at most d1 of them.
Its loss is −Σ_{i∈M} λ_i²/(4k).  The global minimum keeps the top-min(d1, m)
positive λ_i (m = number of positive λ): in the commuting case these are the
largest b_i/s_i, not the largest b_i.  In the commuting case the kept Gram
eigenvalue of direction i is b_i/(2k s_i²).

The whitened spectrum and the rank scales live in :mod:`landscape.core.spectrum`
(re-exported here).  Both routes need only two symmetric eigendecompositions and run under ``jit``
and ``vmap``; :func:`stationary_points` enumerates masks and is for small d.

Example:
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 2.0, 1.0], [1.0, 3.0, 0.5])
    >>> sol = ls.global_minimum(ls.effective_landscape(p, "infonce"), out_dim=3)
    >>> [round(float(v), 5) for v in sol.gram_eigenvalues]
    [0.22222, 0.09375, 0.04]
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, require_landscape
from landscape.core.linalg import finite_rank, is_traced, near_threshold, require_finite, spectral_scale, survives
from landscape.core.solution import Solution, gram_spectrum
from landscape.core.spectrum import RankScales, rank_scales, whitened_spectrum
from landscape.core.validation import checked_out_dim
from landscape.theory.per_direction import _solve_rows

__all__ = [
    "RankScales",
    "rank_scales",
    "whitened_spectrum",
    "global_minimum",
    "global_minimum_diagonal",
    "stationary_points",
    "stationary_point_from_mask",
    "checked_out_dim",
]


#: What the refusal of a non-finite closed form suggests.
_FINITE_HINT = (
    "the landscape's arithmetic overflows its dtype; build it with landscape.core.effective_landscape, "
    "which names the parameter that is out of range"
)


def stationary_point_from_mask(
    landscape: EffectiveLandscape,
    mask: jax.Array,
    out_dim: int,
    spectrum: tuple[jax.Array, jax.Array, jax.Array] | None = None,
) -> Solution:
    """The stationary point that keeps the whitened eigen-directions in ``mask``.

    ``mask`` is a boolean vector over the descending whitened eigenvalues; entries
    whose eigenvalue does not survive (:mod:`landscape.core.linalg`: λ > 16·eps·max_j |λ_j|)
    are dropped.  At most ``out_dim`` entries may be set (the first ``out_dim`` set
    entries are used).  ``rank`` is −1 when the spectrum, the Gram eigenvalues or
    the loss are not finite (a NaN is never read as a collapse), and
    ``near_threshold`` counts the directions whose whitened eigenvalue or
    eigenvalue of B − γI (paired in descending order) is too close to 0 for the
    dtype to decide.
    """
    lam, u, inv_sqrt = whitened_spectrum(landscape) if spectrum is None else spectrum
    d0 = lam.shape[0]
    k = landscape.quartic
    scale = spectral_scale(lam)
    b_eig = jnp.linalg.eigvalsh(landscape.b_eff)[::-1]
    mask = jnp.asarray(mask, bool) & survives(lam, scale)
    mask = mask & (jnp.cumsum(mask) <= out_dim)
    lam_kept = jnp.where(mask, lam, 0.0)
    proj = u.T @ inv_sqrt  # rows: u_iᵀ Σ^{-1/2}
    gram = proj.T @ ((lam_kept / (2.0 * k))[:, None] * proj)
    rows = jnp.sqrt(lam_kept / (2.0 * k))[:, None] * proj
    order = jnp.argsort(~mask, stable=True)  # kept rows first
    rows = rows[order]
    if out_dim <= d0:
        w = rows[:out_dim]
    else:
        w = jnp.concatenate([rows, jnp.zeros((out_dim - d0, d0), rows.dtype)], axis=0)
    directions = inv_sqrt @ u
    directions = directions / jnp.linalg.norm(directions, axis=0, keepdims=True)
    eig = gram_spectrum(w)
    loss = -jnp.sum(lam_kept**2) / (4.0 * k)
    return Solution(
        weights=w,
        gram=0.5 * (gram + gram.T),
        gram_eigenvalues=eig,
        rank=finite_rank(jnp.sum(mask), lam, eig, loss, scale),
        loss=loss,
        whitened_eigenvalues=lam,
        kept=mask,
        directions=directions,
        near_threshold=near_threshold((lam, scale), (b_eig, spectral_scale(b_eig))),
    )


def global_minimum(landscape: EffectiveLandscape, out_dim: int) -> Solution:
    """The global minimum for any (B, Σ), commuting or not, with rank cap ``out_dim`` = d1.

    Keeps the top-min(d1, m) positive eigenvalues of Σ^{-1/2}(B − γI)Σ^{-1/2}.
    With ties at the cut the minimiser is not unique (the loss and spectrum are).
    ``out_dim`` is static under ``jit``.
    """
    require_landscape(landscape, "global_minimum")
    out_dim = checked_out_dim(out_dim, landscape.dim, landscape.b.dtype)
    spectrum = whitened_spectrum(landscape)
    sol = stationary_point_from_mask(landscape, jnp.ones(spectrum[0].shape, bool), out_dim, spectrum)
    require_finite(
        "the closed form",
        _FINITE_HINT,
        whitened_eigenvalues=sol.whitened_eigenvalues,
        gram_eigenvalues=sol.gram_eigenvalues,
        loss=sol.loss,
    )
    return sol


@functools.partial(jax.jit, static_argnums=2)
def _from_masks(landscape: EffectiveLandscape, masks: jax.Array, out_dim: int) -> Solution:
    spectrum = whitened_spectrum(landscape)
    return jax.vmap(lambda m: stationary_point_from_mask(landscape, m, out_dim, spectrum))(masks)


def stationary_points(landscape: EffectiveLandscape, out_dim: int, *, max_dim: int = 14) -> Solution:
    """Every stationary point, one per admissible mask, stacked on a leading axis.

    A mask is admissible when it keeps only directions with a positive whitened
    eigenvalue and at most ``out_dim`` of them (the empty mask is the origin).
    Enumeration is exponential in d0, so it is limited to d0 ≤ ``max_dim``.
    Needs concrete (non-traced) input.  Order: by number kept, then lexicographic.
    """
    require_landscape(landscape, "stationary_points")
    d0 = landscape.dim
    if d0 > max_dim:
        raise ValueError(f"stationary_points enumerates 2^d masks; d0 = {d0} exceeds max_dim = {max_dim}")
    out_dim = checked_out_dim(out_dim, d0, landscape.b.dtype)
    spectrum = whitened_spectrum(landscape)
    require_finite("the whitened spectrum", _FINITE_HINT, whitened_eigenvalues=spectrum[0])
    positive = np.flatnonzero(np.asarray(survives(spectrum[0], spectral_scale(spectrum[0])))).tolist()
    masks = []
    for r in range(0, min(len(positive), out_dim) + 1):
        for combo in itertools.combinations(positive, r):
            m = np.zeros(d0, bool)
            m[list(combo)] = True
            masks.append(m)
    return _from_masks(landscape, jnp.asarray(np.stack(masks)), out_dim)


def global_minimum_diagonal(landscape: EffectiveLandscape, out_dim: int) -> Solution:
    r"""The global minimum when B − γI and Σ are diagonal: O(d log d) per problem.

    In a common eigenbasis Theorem 1 decouples into directions: keep the top
    min(d1, m) positive b_i/s_i and set λ_i = b_i/(2k s_i²) there.  This gives the
    same :class:`~landscape.Solution` as :func:`global_minimum` without any
    eigendecomposition, so large grids of commuting problems (e.g. isotropic
    augmentation C = σ²I on a diagonal A0, or any problem rotated into the
    eigenbasis of :func:`~landscape.common_eigenbasis`) cost only a sort.
    ``directions`` is the identity (input coordinates), in the order of
    ``whitened_eigenvalues``.  Only the diagonals are read; concrete input with
    non-zero off-diagonal entries is refused.

    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 2.0, 1.0], [1.0, 3.0, 0.5])
    >>> sol = ls.global_minimum_diagonal(ls.effective_landscape(p, "infonce"), out_dim=2)
    >>> [round(float(v), 5) for v in sol.gram.diagonal()], int(sol.rank)
    ([0.09375, 0.0, 0.22222], 2)
    """
    require_landscape(landscape, "global_minimum_diagonal")
    out_dim = checked_out_dim(out_dim, landscape.dim, landscape.b.dtype)
    b_full, s_full = landscape.b_eff, landscape.sigma
    if not is_traced(b_full) and not is_traced(s_full):
        for name, m in (("B - gamma*I", b_full), ("sigma", s_full)):
            m = np.asarray(m)
            if np.any(m[~np.eye(m.shape[0], dtype=bool)] != 0):
                raise ValueError(f"global_minimum_diagonal needs diagonal matrices; {name} has off-diagonal entries")
    b = jnp.diagonal(b_full)
    s = jnp.diagonal(s_full)
    k = landscape.quartic
    d0 = b.shape[0]
    ratio = b / s
    order = jnp.argsort(-ratio, stable=True)  # descending b/s, ties by input order
    lam = ratio[order]
    # Which directions are kept and their Gram eigenvalues: the batched per-direction solver on one problem.
    per_dir, _, rank, loss, kept, near = _solve_rows(b[:, None], s[:, None], jnp.reshape(k, (1,)), out_dim, False)
    per_dir, kept = per_dir[:, 0], kept[:, 0]
    kept_sorted = kept[order]
    eye = jnp.eye(d0, dtype=b.dtype)
    rows = (jnp.sqrt(per_dir)[:, None] * eye)[order]  # kept rows first, in b/s order
    if out_dim <= d0:
        w = rows[:out_dim]
    else:
        w = jnp.concatenate([rows, jnp.zeros((out_dim - d0, d0), rows.dtype)], axis=0)
    sol = Solution(
        weights=w,
        gram=jnp.diag(per_dir),
        gram_eigenvalues=-jnp.sort(-per_dir),
        rank=rank[0],
        loss=loss[0],
        whitened_eigenvalues=lam,
        kept=kept_sorted,
        directions=eye[:, order],
        near_threshold=near[0],
    )
    require_finite(
        "the closed form", _FINITE_HINT, whitened_eigenvalues=lam, gram_eigenvalues=sol.gram_eigenvalues, loss=sol.loss
    )
    return sol
