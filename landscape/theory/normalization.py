r"""Normalization as a penalty on the average output norm (WS §1.2, Props. 2–3, Eqs. 8–9).

The model (WS Eq. 7) adds to the effective landscape a penalty that pins the
average squared output norm ρ = E‖Wx‖² = Tr[WΣWᵀ] to a target c:

    L(W) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] + κ(ρ − c)²,      κ ≥ 0, c > 0.

Its gradient is ∇L = −2W(B − γI) + 4k(WΣWᵀ)WΣ + 4κ(ρ − c)WΣ.  (WS App. D.4
writes the intermediate step "dρ/dW = 4ρWΣ"; the correct derivative is
dρ/dW = 2WΣ, so d/dW κ(ρ − c)² = 4κ(ρ − c)WΣ.  The paper's end result, with
B′ = B + 2κ(c − ρ)Σ, is right.)

**Whitened form.**  With V = WΣ^{1/2} and B̃ = Σ^{-1/2}(B − γI)Σ^{-1/2} = UΛUᵀ
(eigenvalues ℓ_1 ≥ … ≥ ℓ_d; in the commuting case ℓ_i = b_i/s_i):

    L = −Tr[V B̃ Vᵀ] + k·Tr[(VᵀV)²] + κ(Tr[VᵀV] − c)²,

which depends on V only through P = VᵀV.  A stationary point keeps a set M of
eigen-directions of B̃ with P = U diag(μ) Uᵀ, μ_i = 0 off M and

    μ_i = (ℓ_i + t)/(2k) on M,     t = 2κ(c − ρ),     ρ = Σ_M μ_i.

Solving the last two for ρ gives the self-consistent norm (WS Prop. 3 is the
case k = 1):

    ρ = (κ·c·d_M + ½ Σ_M ℓ_i) / (k + κ·d_M),    c − ρ = (k·c − ½ Σ_M ℓ_i)/(k + κ·d_M).

(Dividing through by k: ρ = (κc d_M/k + (1/2k)Σ_M ℓ_i)/(1 + κ d_M/k); note that
the first term carries 1/k too.)  M is admissible when μ_i > 0 on M, i.e.
b′_i = b_i + 2κ(c − ρ)s_i > 0, and holds at most d1 directions.  In the original
coordinates WᵀW = Σ^{-1/2}U diag(μ)UᵀΣ^{-1/2}; for commuting A0, C this is
(1/2k)Σ^{-1}B′_MΣ^{-1} and the Gram eigenvalue of direction i is b′_i/(2k s_i²).
The loss of a stationary point is (d_M t² − Σ_M ℓ_i²)/(4k) + κ(ρ − c)².

**Global minimum.**  In μ the loss Σ_i(−ℓ_iμ_i + kμ_i²) + κ(Σμ − c)² is
strictly convex on μ ≥ 0, and exchanging the values of a kept and a dropped
direction shows that a minimiser keeps directions with the largest ℓ.  So the
global minimum keeps a *nested* top-m set of the ℓ_i ranked in descending
order (m ≤ d1): :func:`normalized_global_minimum` evaluates every m at once with
cumulative sums and takes the admissible one with the lowest loss (O(d log d),
jittable, used for any d).  :func:`normalized_global_minimum_exact` enumerates
all masks instead (d ≤ ``max_dim``); the tests check that both agree.

**Commuting and non-commuting covariances.**  The paper states Props. 2–3 for
commuting A0 and C, where Σ^{-1}B′ reads per direction.  Because Σ^{-1/2}
B′Σ^{-1/2} = B̃ + 2κ(c − ρ)I for *any* Σ ≻ 0, the whitened form above needs no
commutation, so this module solves non-commuting problems in closed form too
(same eigendecomposition as :func:`landscape.global_minimum`); the tests check
it against gradient descent on a rotated problem.  Only the per-direction
thresholds of :func:`hard_collapse_thresholds` need a common eigenbasis of A0
and the augmentation directions, and refuse non-commuting input with a
ValueError (use the closed form at each σ² or gradient descent there).

**Hard normalization κ → ∞** (WS Eqs. 8–9, k general).  Then ρ → c and
t → (2kc − Σ_M ℓ_i)/d_M, so

    WᵀW → (1/2k)·Σ^{-1}[B_M + ((2kc − Tr[Σ^{-1}B_M])/d_M)·Σ_M]Σ^{-1}   (commuting case),

and direction i ∈ M survives iff ℓ_i + 2kc/d_M > ℓ̄_M (the mean of ℓ over M).
The optimal μ is the Euclidean projection of ℓ/(2k) onto the simplex
{μ ≥ 0, Σμ = c}: :func:`hard_normalization_limit`.

Example (WS §6, T7 first row):
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([2.0, 1.0, 0.6, 0.3, 0.15], [0.1, 0.1, 0.5, 0.1, 0.1])
    >>> nl = ls.normalized_landscape(ls.effective_landscape(p, "infonce"), kappa=1.0, norm_target=1.0)
    >>> sol = ls.normalized_global_minimum(nl, out_dim=5)
    >>> [round(float(v), 4) for v in sol.gram.diagonal()], round(float(sol.rho), 4)
    ([0.157, 0.2801, 0.1148, 0.5715, 0.6144], 1.1464)
    >>> round(float(sol.loss), 5)
    -0.60976
"""
from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.validation import as_int, as_scalar, checked_out_dim
from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import finite_rank, is_traced
from landscape.core.normalized_landscape import (  # noqa: F401  (re-exported: defined in core since the landscape layering)
    NormalizedLandscape,
    NormalizedSolution,
    normalized_gradient,
    normalized_landscape,
    normalized_loss,
    output_norm,
)
from landscape.core.problem import Problem
from landscape.core.solution import gram_spectrum
from landscape.core.spectrum import whitened_spectrum
from landscape.theory.collapse_thresholds import common_eigenbasis

__all__ = [
    "NormalizedLandscape",
    "NormalizedSolution",
    "NormalizationThreshold",
    "normalized_landscape",
    "normalized_loss",
    "normalized_gradient",
    "output_norm",
    "self_consistent_norm",
    "normalized_stationary_point_from_mask",
    "normalized_stationary_points",
    "normalized_global_minimum",
    "normalized_global_minimum_exact",
    "hard_normalization_limit",
    "survival_margins",
    "hard_collapse_thresholds",
]


# ---------------------------------------------------------------- types
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


# ---------------------------------------------------------------- construction and loss
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


def self_consistent_norm(whitened_sum: Any, n_kept: Any, kappa: Any, norm_target: Any, quartic: Any = 1.0) -> jax.Array:
    """ρ = (κ·c·d_M + ½·Σ_M ℓ_i)/(k + κ·d_M) at the stationary point keeping M.

    ``whitened_sum`` is Σ_M ℓ_i = Tr[Σ^{-1}B_M] (commuting case: Σ_M b_i/s_i)
    and ``n_kept`` is d_M.  At k = 1 this is WS Prop. 3.

    >>> round(float(self_consistent_norm(2.0, 2, 10.0, 1.0)), 6)   # (20 + 1)/(1 + 20)
    1.0
    """
    s, m = jnp.asarray(whitened_sum), jnp.asarray(n_kept)
    return (kappa * norm_target * m + 0.5 * s) / (quartic + kappa * m)


# ---------------------------------------------------------------- building a solution
def _directions(u: jax.Array, inv_sqrt: jax.Array) -> jax.Array:
    d = inv_sqrt @ u
    return d / jnp.linalg.norm(d, axis=0, keepdims=True)


def _weights_from_mu(mu: jax.Array, mask: jax.Array, u: jax.Array, inv_sqrt: jax.Array, out_dim: int):
    """(W, WᵀW) with WᵀW = Σ^{-1/2}U diag(μ)UᵀΣ^{-1/2}; kept rows first."""
    d0 = mu.shape[0]
    proj = u.T @ inv_sqrt                      # rows u_iᵀΣ^{-1/2}
    gram = proj.T @ (mu[:, None] * proj)
    rows = jnp.sqrt(mu)[:, None] * proj
    rows = rows[jnp.argsort(~mask, stable=True)]
    if out_dim <= d0:
        w = rows[:out_dim]
    else:
        w = jnp.concatenate([rows, jnp.zeros((out_dim - d0, d0), rows.dtype)], axis=0)
    return w, 0.5 * (gram + gram.T)


def _make_solution(mu, mask, lam, u, inv_sqrt, out_dim, loss_value, rho, admissible,
                   bias_norm_sq=None, s_sorted=None) -> NormalizedSolution:
    w, gram = _weights_from_mu(mu, mask, u, inv_sqrt, out_dim)
    dtype = mu.dtype
    if s_sorted is None:
        gram_eig = gram_spectrum(w)
    else:                                  # diagonal problem: WᵀW = diag(μ_i/s_i) up to order
        gram_eig = jnp.sort(mu / s_sorted)[::-1]
    if bias_norm_sq is None:
        bias_norm_sq = jnp.zeros((), dtype)
    bias = jnp.zeros((out_dim,), dtype).at[0].set(jnp.sqrt(jnp.maximum(bias_norm_sq, 0.0)))
    return NormalizedSolution(
        weights=w,
        gram=gram,
        gram_eigenvalues=gram_eig,
        rank=finite_rank(jnp.sum(mask & (mu > 0)), mu, lam, loss_value),     # −1, never 0, if not finite
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


def _mask_terms(lam, mask, k, kappa, c):
    """(d_M, Σ_M ℓ, c − ρ, t = 2κ(c − ρ)) for a mask at finite κ."""
    lam_m = jnp.where(mask, lam, 0.0)
    n = jnp.sum(mask).astype(lam.dtype)
    s = jnp.sum(lam_m)
    gap = (k * c - 0.5 * s) / (k + kappa * n)     # c − ρ, without cancellation at large κ
    return n, s, gap, 2.0 * kappa * gap


# ---------------------------------------------------------------- stationary points
def normalized_stationary_point_from_mask(nl: NormalizedLandscape, mask: jax.Array, out_dim: int,
                                          spectrum=None) -> NormalizedSolution:
    """The stationary point that keeps the whitened eigen-directions in ``mask``.

    ``mask`` is a boolean vector over the *descending* eigenvalues ℓ of
    Σ^{-1/2}(B − γI)Σ^{-1/2} (the order of :func:`landscape.whitened_spectrum`);
    only the first ``out_dim`` set entries are used.  ρ is self-consistent
    (:func:`self_consistent_norm`) and μ_i = (ℓ_i + 2κ(c − ρ))/(2k) on the mask.
    If some μ_i ≤ 0 the mask is not admissible: ``admissible`` is False and those
    μ_i are clipped to 0 (the returned W is then not a stationary point).
    Jittable (``out_dim`` static).
    """
    out_dim = _check_out_dim(out_dim, nl)
    spectrum = _spectrum(nl.base, False) if spectrum is None else spectrum
    lam, u, inv_sqrt = spectrum[:3]
    s_sorted = spectrum[3] if len(spectrum) > 3 else None
    k, kappa, c = nl.quartic, nl.kappa, nl.norm_target
    mask = jnp.asarray(mask, bool)
    mask = mask & (jnp.cumsum(mask) <= out_dim)
    n, _, gap, t = _mask_terms(lam, mask, k, kappa, c)
    raw = (lam + t) / (2.0 * k)
    admissible = jnp.all(jnp.where(mask, raw > 0, True))
    mu = jnp.where(mask, jnp.maximum(raw, 0.0), 0.0)
    rho = jnp.sum(mu)
    loss_value = jnp.sum(-lam * mu + k * mu * mu) + kappa * (rho - c) ** 2
    return _make_solution(mu, mask, lam, u, inv_sqrt, out_dim, loss_value, rho, admissible, s_sorted=s_sorted)


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


def normalized_stationary_points(nl: NormalizedLandscape, out_dim: int, *, max_dim: int = 14) -> NormalizedSolution:
    """Every stationary point, one per admissible mask, stacked on a leading axis.

    Unlike the unnormalized case a direction with ℓ_i ≤ 0 can be kept (the
    penalty pushes ρ up towards c), so all 2^d masks with at most ``out_dim``
    entries are tried and those with some μ_i ≤ 0 are discarded.  The empty
    mask (W = 0, loss κc²) is always included.  Needs concrete input; limited
    to d0 ≤ ``max_dim``.  Order: by number kept, then lexicographic.
    """
    out_dim = _check_out_dim(out_dim, nl)
    d0 = nl.dim
    if d0 > max_dim:
        raise ValueError(f"normalized_stationary_points enumerates 2^d masks; d0 = {d0} exceeds max_dim = {max_dim}")
    sols = _stationary_batch(nl, jnp.asarray(_all_masks(d0, out_dim)), out_dim, _is_diagonal(nl.base))
    keep = np.flatnonzero(np.asarray(sols.admissible))
    return _take(sols, keep)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _stationary_batch(nl: NormalizedLandscape, masks: jax.Array, out_dim: int, diagonal: bool = False) -> NormalizedSolution:
    spectrum = _spectrum(nl.base, diagonal)
    return jax.vmap(lambda m: normalized_stationary_point_from_mask(nl, m, out_dim, spectrum))(masks)


def normalized_global_minimum_exact(nl: NormalizedLandscape, out_dim: int, *, max_dim: int = 14) -> NormalizedSolution:
    """The lowest of :func:`normalized_stationary_points` (exhaustive; d0 ≤ ``max_dim``)."""
    sols = normalized_stationary_points(nl, out_dim, max_dim=max_dim)
    return _take(sols, int(np.argmin(np.asarray(sols.loss))))


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


def normalized_global_minimum(nl: NormalizedLandscape, out_dim: int) -> NormalizedSolution:
    """The global minimum, by a search over nested top-m sets of ℓ (any d; jittable).

    For every m ≤ min(d1, d0) it keeps the m largest ℓ_i and takes ρ from
    :func:`self_consistent_norm`, t = 2κ(c − ρ) and the loss
    (m·t² − Σℓ²)/(4k) + κ(ρ − c)² from cumulative sums.  m is admissible when
    ℓ_m + t > 0 (every kept μ_i > 0); admissibility is monotone in m and the
    largest admissible m satisfies the KKT conditions of the problem, which is
    convex in the spectrum μ, so it is the global minimum (module docstring;
    the tests check it against the lowest loss of the exhaustive enumeration).
    With ties in ℓ at the cut the minimiser is not unique (loss and spectrum are).
    """
    return _normalized_global_minimum(nl, _check_out_dim(out_dim, nl), _is_diagonal(nl.base))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _normalized_global_minimum(nl: NormalizedLandscape, out_dim: int, diagonal: bool) -> NormalizedSolution:
    lam, u, inv_sqrt, s_sorted = _spectrum(nl.base, diagonal)
    k, kappa, c = nl.quartic, nl.kappa, nl.norm_target
    mask, mu, loss_value = _nested_minimum(lam, min(out_dim, lam.shape[0]), k, kappa, c, hard=False)
    return _make_solution(mu, mask, lam, u, inv_sqrt, out_dim, loss_value, jnp.sum(mu), jnp.asarray(True),
                          s_sorted=s_sorted)


# ---------------------------------------------------------------- hard normalization
def hard_normalization_limit(landscape: EffectiveLandscape | NormalizedLandscape, out_dim: int,
                             norm_target: Any = None, *, mask: Optional[jax.Array] = None) -> NormalizedSolution:
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
    return _hard_limit(base, out_dim, jnp.asarray(c, base.b.dtype), None if mask is None else jnp.asarray(mask, bool),
                       _is_diagonal(base))


@functools.partial(jax.jit, static_argnums=(1, 4))
def _hard_limit(base: EffectiveLandscape, out_dim: int, c: jax.Array, mask: Optional[jax.Array],
                diagonal: bool) -> NormalizedSolution:
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
    return _make_solution(mu, mask, lam, u, inv_sqrt, out_dim, loss_value, jnp.sum(mu), admissible,
                          s_sorted=s_sorted)


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
    out_dim: Optional[int] = None,
    quartic: float = 1.0,
    weight_decay: float = 0.0,
    sigma2_max: Optional[float] = None,
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
    from landscape.losses.effective import quadratic_form

    c = as_scalar(norm_target, "norm_target", low=0.0, low_inclusive=False)
    k = as_scalar(quartic, "quartic", low=0.0, low_inclusive=False)
    gamma = as_scalar(weight_decay, "weight_decay", low=0.0)
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 2:
        raise ValueError(f"n_grid must be an integer >= 2, got {n_grid!r}")
    d = problem.dim
    if aug_direction_weights is None:
        weights = np.ones(d)
    else:
        weights = np.atleast_1d(np.asarray(aug_direction_weights, dtype=float))
        if weights.shape != (d,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"aug_direction_weights must be {d} finite non-negative numbers, got {aug_direction_weights!r}")
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
        raise ValueError("data_cov must be positive definite for the sigma2 scan (it starts at sigma2 = 0); "
                         f"its smallest eigenvalue is {float(np.min(a)):.3g}")
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
    a_j, w_j = jnp.asarray(a, dtype), jnp.asarray(w, dtype)

    def kept(s2):
        s = a_j + s2 * w_j
        lam = (p * a_j + q * s2 * w_j - gamma) / s
        order = jnp.argsort(-lam, stable=True)
        mask_sorted, _, _ = _nested_minimum(lam[order], n_max, k, 0.0, c, hard=True)
        return jnp.zeros((d,), bool).at[order].set(mask_sorted)

    grid = hi * jnp.linspace(0.0, 1.0, n_grid, dtype=dtype) ** 2
    status = np.asarray(jax.jit(jax.vmap(kept))(grid))          # (n_grid, d)
    grid_np = np.asarray(grid)

    def first_flip(i, start, want):
        """First grid index j > start with status[j, i] == want, or None."""
        idx = np.flatnonzero(status[start + 1:, i] == want)
        return None if idx.size == 0 else start + 1 + int(idx[0])

    brackets, owners = [], []
    collapse = np.full(d, np.inf)
    revival = np.full(d, np.inf)
    for i in range(d):
        if not status[0, i]:
            collapse[i] = 0.0
            j = first_flip(i, 0, True)
            if j is not None:
                brackets.append((grid_np[j - 1], grid_np[j], i, True))
            continue
        j = first_flip(i, 0, False)
        if j is None:
            continue
        brackets.append((grid_np[j - 1], grid_np[j], i, False))
        r = first_flip(i, j, True)
        if r is not None:
            brackets.append((grid_np[r - 1], grid_np[r], i, True))
    if brackets:
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

        roots = np.asarray(bisect(lo, up))
        for (_, _, i, is_revival), r in zip(brackets, roots):
            if is_revival:
                revival[i] = float(r)
            else:
                collapse[i] = float(r)
    return NormalizationThreshold(jnp.asarray(collapse), jnp.asarray(revival))
