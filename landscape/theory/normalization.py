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

**Hard normalization κ → ∞** (WS Eqs. 8–9) is in
:mod:`landscape.theory.hard_normalization`, re-exported here.

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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.normalized_landscape import (  # noqa: F401  (re-exported: defined in core since the landscape layering)
    NormalizedLandscape,
    NormalizedSolution,
    normalized_gradient,
    normalized_landscape,
    normalized_loss,
    output_norm,
)
from landscape.theory.hard_normalization import (  # noqa: F401  (re-exported: the κ → ∞ limit has its own module)
    NormalizationThreshold,
    hard_collapse_thresholds,
    hard_normalization_limit,
    survival_margins,
)
from landscape.theory.normalized_points import (  # noqa: F401  (_all_masks, _take, ...: also used by theory.bias)
    _all_masks,
    _check_out_dim,
    _is_diagonal,
    _make_solution,
    _nested_minimum,
    _spectrum,
    _take,
)

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


# ---------------------------------------------------------------- the self-consistent norm
def self_consistent_norm(whitened_sum: Any, n_kept: Any, kappa: Any, norm_target: Any, quartic: Any = 1.0) -> jax.Array:
    """ρ = (κ·c·d_M + ½·Σ_M ℓ_i)/(k + κ·d_M) at the stationary point keeping M.

    ``whitened_sum`` is Σ_M ℓ_i = Tr[Σ^{-1}B_M] (commuting case: Σ_M b_i/s_i)
    and ``n_kept`` is d_M.  At k = 1 this is WS Prop. 3.

    >>> round(float(self_consistent_norm(2.0, 2, 10.0, 1.0)), 6)   # (20 + 1)/(1 + 20)
    1.0
    """
    s, m = jnp.asarray(whitened_sum), jnp.asarray(n_kept)
    return (kappa * norm_target * m + 0.5 * s) / (quartic + kappa * m)


def _mask_terms(lam, mask, k, kappa, c):
    """(d_M, Σ_M ℓ, c − ρ, t = 2κ(c − ρ)) for a mask at finite κ."""
    lam_m = jnp.where(mask, lam, 0.0)
    n = jnp.sum(mask).astype(lam.dtype)
    s = jnp.sum(lam_m)
    gap = (k * c - 0.5 * s) / (k + kappa * n)  # c − ρ, without cancellation at large κ
    return n, s, gap, 2.0 * kappa * gap


# ---------------------------------------------------------------- stationary points
def normalized_stationary_point_from_mask(
    nl: NormalizedLandscape,
    mask: jax.Array,
    out_dim: int,
    spectrum: tuple[jax.Array, jax.Array, jax.Array, jax.Array | None] | None = None,
) -> NormalizedSolution:
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
def _stationary_batch(
    nl: NormalizedLandscape, masks: jax.Array, out_dim: int, diagonal: bool = False
) -> NormalizedSolution:
    spectrum = _spectrum(nl.base, diagonal)
    return jax.vmap(lambda m: normalized_stationary_point_from_mask(nl, m, out_dim, spectrum))(masks)


def normalized_global_minimum_exact(nl: NormalizedLandscape, out_dim: int, *, max_dim: int = 14) -> NormalizedSolution:
    """The lowest of :func:`normalized_stationary_points` (exhaustive; d0 ≤ ``max_dim``)."""
    sols = normalized_stationary_points(nl, out_dim, max_dim=max_dim)
    return _take(sols, int(np.argmin(np.asarray(sols.loss))))


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
    return _make_solution(
        mu, mask, lam, u, inv_sqrt, out_dim, loss_value, jnp.sum(mu), jnp.asarray(True), s_sorted=s_sorted
    )
