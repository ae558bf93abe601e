r"""Collapse under normalization: the directions the normalized landscape keeps, and where each one leaves.

The model is WS Eq. 7: the effective landscape plus a penalty on the average
squared output norm ρ = E‖Wx‖² = Tr[WΣWᵀ],

    L(W) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] + κ(ρ − c)²,      Σ = A0 + C,

(:mod:`landscape.theory.normalization`; κ → ∞ is hard normalization,
:mod:`landscape.theory.hard_normalization`).  With B̃ = Σ^{-1/2}(B − γI)Σ^{-1/2}
= U diag(ℓ) Uᵀ, ℓ_1 ≥ … ≥ ℓ_d, every stationary point keeps a set M of whitened
eigen-directions with WᵀW = Σ^{-1/2}U diag(μ)UᵀΣ^{-1/2}, μ_i = (ℓ_i + t)/(2k) on M
(WS Prop. 2, the masking rule applied to B′ = B + 2κ(c − ρ)Σ) and, from the
self-consistent norm (WS Prop. 3, App. C.3/D.5, with a general k),

    t_M = 2κ(c − ρ) = (2kc − Σ_M ℓ_i)/(d_M + k/κ),        κ → ∞:  (2kc − Σ_M ℓ_i)/d_M  (WS Eq. 8).

The global minimum keeps the top-m* set of ℓ (:func:`landscape.normalized_global_minimum`):
with the **survival margin** of slot m,

    g_m = ℓ_m + t_{1..m},        m* = #{m : g_m > 0}        (the set {g_m > 0} is {1, …, m*}),

and κ → ∞ turns g_m > 0 into WS Eq. 9, ℓ_m + 2kc/m > ℓ̄_{1..m}.  The rank is
min(m*, d1); ``kept`` reports g_m > 0 without the cap, as the unnormalized rule does.
Conditions: Σ ≻ 0, κ > 0, c > 0, k > 0; A0 and C need not commute (the whitened
form needs no common eigenbasis); κ → 0 gives back the unnormalized rule g_m = ℓ_m.

**How the rank rule differs from the unnormalized one** (kept ⇔ b_i > γ, each
direction on its own, Sylvester's inertia; that is κ → 0 here):

* survival is *relative*: a direction with ℓ_i > 0 collapses when the others
  are much stronger (S_m > 2kc makes t < 0: normalization causes collapse even
  when c_i < a_i, WS App. C.1), and one with ℓ_i ≤ 0 can survive (t > 0 when ρ < c);
* finite κ: complete collapse iff ℓ_1 ≤ −2κc (g_1 = k(ℓ_1 + 2κc)/(κ + k));
  κ → ∞: g_1 = 2kc > 0, the top direction always survives (rank ≥ 1);
* C enters Σ, so augmentation matters even for losses whose B has no C term
  (InfoNCE collapses at c_1 = 2a/7 with ten equal directions, WS §6 T8), and a
  direction can *revive* when the augmentation or the weight decay grows
  (κ → ∞: all ℓ_i tend to the same value as C → ∞, and the margin 2kc/d_M wins;
  weight decay lowers ℓ_i by γ/s_i, least for the directions of largest variance s_i);
* with a **bias** f = Wx + b (WS Theorem 2, App. C.2; ``Normalization(bias=True)``) see below:
  a bias can *lower* the rank, since the directions with ℓ_i ≤ 0 that the norm target keeps
  alive collapse when the bias can take up the norm instead.

**With a bias** (``Normalization(bias=True)``) the prediction is the global minimum over
(W, b) of L(W, b) = E(W) + κ(ρ + ‖b‖² − c)² (:func:`landscape.bias_global_minimum`;
κ → ∞: :func:`landscape.theory.bias.bias_hard_normalization_limit`).  Let ρ₀ = Σ_{i≤n₀} ℓ_i/(2k),
n₀ = min(d1, #{ℓ > 0}), be the norm of the unnormalized global minimum
(:func:`landscape.theory.bias.bias_branch`; it depends on d1 through n₀):

* ρ₀ ≤ c (**bias branch**): W is the unnormalized minimum, ‖b‖² = c − ρ₀ takes the rest of the
  norm and the penalty vanishes, so its shift t = 2κ(c − ρ − ‖b‖²) is 0 and the margin is
  g_m = ℓ_m: survival is the unnormalized rule again (kept ⇔ ℓ_m > 0);
* ρ₀ > c: b = 0 and everything is as without a bias (g_m = ℓ_m + t_{1..m}).

``Diagnosis.bias_norm_sq`` reports ‖b‖² (> 0 exactly on the bias branch, up to ρ₀ = c where the
two coincide).  With c = 1 and weak augmentation ρ₀ ≈ n₀/2, so the bias branch holds for one
or two strong directions; a larger c puts it there for more.  At the crossing ρ₀ = c the two
branches keep the same first n₀ directions (t_{1..m} ≥ 0 for m ≤ n₀, and g_m < 0 beyond n₀ when
n₀ = #{ℓ > 0}), so the support changes there only for directions beyond the cap d1; the status
functions of the threshold search (:func:`bias_margins`, used by both scan paths) decide the branch
at every point.  Along γ′ every direction collapses once γ′ ≥ max b_i (ℓ_1 ≤ 0, ρ₀ = 0 ≤ c),
even at κ → ∞, where without a bias the top direction never does.

**Directions** are v_i = Σ^{-1/2}u_i/‖Σ^{-1/2}u_i‖ (eigenvectors of WᵀWΣ at every
stationary point; the common eigenvectors when A0 and C commute).  At other
parameters (σ scale s of C, weight decay γ′) direction x counts as kept when more
than half of its whitened vector y = Σ^{1/2}x lies in the kept whitened subspace,
Σ_{j≤m*}(u_jᵀy)²/‖y‖² > ½ (exact, 0 or 1, when A0 and C commute).

**Thresholds** (B(s) = p·A0 + s·q·C, Σ(s) = A0 + s·C): along the weight decay γ′
(at s = 1) and along the scale s of C (at the given γ), from the current value
(γ, resp. 1): a kept direction's critical value is the first value above it where
the direction is not kept (inf: kept over the whole scanned range), a collapsed
direction's is where it was last turned off below it (0: collapsed from 0 on);
``revival`` is the next value above both where it is kept again (inf: none).  So,
as without normalization, kept ⇔ critical value > current value, and a collapsed
direction with a finite revival comes back when γ or C *grows* (see above).

Two ways to find them (``Normalization.exact_thresholds``):

* **along the fixed directions** (default): the directions x_i = v_i stay those of the
  current point and ℓ_i(s, γ′) = x_iᵀ(p·A0 + s·q·C − γ′I)x_i / x_iᵀ(A0 + s·C)x_i, their
  Rayleigh quotients; the status at a point is the top-m* set of these ℓ
  (:func:`_evaluate_fixed`, O(d log d) per point after three d×d products).  Exact when
  A0 and C commute (the whitened eigenvectors do not move with s or γ′) and at the current
  point; otherwise first order in the change (the eigenvectors rotate by
  O(Δγ′·‖[Σ^{-1}, B̃]‖)); the test suite measures the gap against the exact scan.
* **exact**: the whitened problem is re-diagonalised at every point (:func:`_evaluate`,
  two d×d eigendecompositions) and direction x counts as kept by the ½ rule above.

The support changes only where some g_m crosses 0 (or the order of the ℓ changes at the
cut), so each value is found on a grid of ``GRID`` points (0, the current value and a
geometric range, :func:`scan_ranges`) and refined by multisection to REFINE_RTOL (or
float precision); a collapse-and-revival window narrower than a grid cell (≈ 5 %) is
missed.  Cost of the exact scan: 2·GRID points for the grid and about 2·GRID per
refinement round (≈ 4 rounds for small d, ≈ 20 when there are hundreds of brackets):
seconds for d ≲ 32 on a CPU, minutes for d ~ 128; along the fixed directions about a
second at d = 128 and seconds at d = 512.  Where Σ(s) is not positive definite (small s
when the estimated A0 is not) the direction counts as not kept.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import spectral_scale, survives
from landscape.core.spectrum import whitened_spectrum
from landscape.core.validation import as_scalar
from landscape.theory.bias import bias_branch

__all__ = [
    "Normalization",
    "NormalizedThresholds",
    "survival_margins_nested",
    "bias_margins",
    "normalized_support",
    "normalized_thresholds",
    "replicate_margins",
    "evaluate",
    "scan_ranges",
]

#: Points of the threshold scan (one compiled batch of 2·GRID, reused by the multisection).
GRID = 512
#: κ used for the γ range of the scan when κ is larger (κ → ∞ has no finite range; relative to k).
KAPPA_RANGE = 1e4
#: Relative precision of the refined thresholds (or 4 eps of the dtype, if coarser).
REFINE_RTOL = 1e-10
#: Most matrix entries (points × d²) one batch of the scan holds per array.
BATCH_ENTRIES = 2**22
#: The lower end of the geometric part of the scan, relative to its natural scale.
RANGE_LOW = 1e-6


@dataclasses.dataclass(frozen=True)
class Normalization:
    """The norm penalty κ(E‖f‖² − c)² of WS Eq. 7.

    Attributes:
        kappa: κ > 0; ``math.inf`` (the default) is hard normalization, ‖f‖² = c on average.
        norm_target: c > 0, the target average squared output norm.
        exact_thresholds: find the critical values by the exact scan (two d×d eigendecompositions
            per point; minutes for d ~ 128) instead of along the fixed directions (module docstring).
        bias: the model f = Wx + b (WS Theorem 2): the prediction is the global minimum over (W, b)
            (:func:`landscape.bias_global_minimum`; κ = ∞: :func:`landscape.theory.bias.bias_hard_normalization_limit`;
            module docstring, "With a bias").

    >>> Normalization(kappa=10.0).hard, Normalization().hard, Normalization(bias=True).bias
    (False, True, True)
    """

    kappa: float = math.inf
    norm_target: float = 1.0
    exact_thresholds: bool = False
    bias: bool = False

    def __post_init__(self) -> None:
        try:
            kappa = float(self.kappa)
        except (TypeError, ValueError):
            raise ValueError(f"normalization.kappa must be a number > 0 (inf: hard), got {self.kappa!r}") from None
        if isinstance(self.kappa, bool) or not kappa > 0:
            raise ValueError(f"normalization.kappa must be > 0 (inf: hard normalization), got {self.kappa!r}")
        object.__setattr__(self, "kappa", kappa)
        c = as_scalar(self.norm_target, "normalization.norm_target", low=0.0, low_inclusive=False)
        object.__setattr__(self, "norm_target", c)
        for name in ("exact_thresholds", "bias"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"normalization.{name} must be True or False, got {value!r}")
            object.__setattr__(self, name, bool(value))

    @property
    def hard(self) -> bool:
        """Whether κ = ∞."""
        return math.isinf(self.kappa)


class NormalizedThresholds(NamedTuple):
    """Per direction: first collapse and next revival along the weight decay and the scale of C."""

    weight_decay: np.ndarray
    weight_decay_revival: np.ndarray
    aug_scale: np.ndarray
    aug_scale_revival: np.ndarray


def survival_margins_nested(lam: Any, quartic: Any, kappa: Any, norm_target: Any) -> jax.Array:
    """g_m = ℓ_m + (2kc − Σ_{i≤m} ℓ_i)/(m + k/κ) for descending ℓ (κ = inf allowed; jittable).

    WS App. C.1 (ii), κ → ∞, c = 1: the strongly augmented direction (ℓ = −1) collapses, −1 + 2/3 < 1/3.

    >>> [round(float(g), 6) for g in survival_margins_nested([1.0, 1.0, -1.0], 1.0, float("inf"), 1.0)]
    [2.0, 1.0, -0.666667]
    """
    lam = jnp.asarray(lam)
    m = jnp.arange(1, lam.shape[-1] + 1, dtype=lam.dtype)
    return lam + (2.0 * quartic * norm_target - jnp.cumsum(lam, axis=-1)) / (m + quartic / kappa)


def bias_margins(lam: Any, coef: Any) -> tuple[jax.Array, jax.Array]:
    """(g, ‖b‖²) of the global minimum for descending ℓ; coef = (p, q, k, κ, c, bias, d1) (jittable).

    Without a bias (coef[5] = 0): g = :func:`survival_margins_nested`, ‖b‖² = 0.  With one, when the
    unnormalized minimum's ρ₀ ≤ c (:func:`landscape.theory.bias.bias_branch`) the bias takes the rest of
    the norm, ‖b‖² = c − ρ₀, the penalty's shift t = 2κ(c − ρ − ‖b‖²) is 0 and g_m = ℓ_m; else b = 0 and
    g is the nested margin.  ℓ = (1, 1, −1), κ → ∞, c = 1.5, d1 = 3: ρ₀ = 1 ≤ c.

    >>> coef = lambda bias: jnp.array([1.0, 0.0, 1.0, jnp.inf, 1.5, bias, 3.0])
    >>> g, b2 = bias_margins(jnp.array([1.0, 1.0, -1.0]), coef(1.0))
    >>> g.tolist(), float(b2)
    ([1.0, 1.0, -1.0], 0.5)
    >>> [round(float(x), 6) for x in bias_margins(jnp.array([1.0, 1.0, -1.0]), coef(0.0))[0]]
    [3.0, 1.5, -0.333333]
    """
    k, kappa, c, bias, n_max = (coef[i] for i in range(2, 7))
    _, mu, holds = bias_branch(lam, n_max, k, c)
    on_branch = (bias > 0) & holds
    g = jnp.where(on_branch, lam, survival_margins_nested(lam, k, kappa, c))
    return g, jnp.where(on_branch, c - jnp.sum(mu), 0.0)


def normalized_support(
    data_cov: Any, aug_cov: Any, coef: Any, scale: Any, weight_decay: Any
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """(ℓ, U, Σ^{-1/2}, g, kept slots, ‖b‖²) at B = p·A0 + s·q·C, Σ = A0 + s·C; coef = (p, q, k, κ, c, bias, d1).

    Jittable; g and ‖b‖² are those of :func:`bias_margins`.
    """
    p, q, k = (coef[i] for i in range(3))
    land = EffectiveLandscape(
        b=p * data_cov + scale * q * aug_cov, sigma=data_cov + scale * aug_cov, quartic=k, weight_decay=weight_decay
    )
    lam, u, root = whitened_spectrum(land)
    g, bias_sq = bias_margins(lam, coef)
    alive = survives(g, spectral_scale(lam) + spectral_scale(g - lam))
    return lam, u, root, g, jnp.cumsum(~alive) == 0, bias_sq


@jax.jit
def _evaluate(data_cov, aug_cov, directions, coef, points):
    """At each point (s, γ′): (kept status of each column of ``directions``, Σ(s) ≻ 0, ℓ, U, Σ^{-1/2}, g, kept slots)."""

    def one(point):
        sigma = data_cov + point[0] * aug_cov
        lam, u, root, g, keep, _ = normalized_support(data_cov, aug_cov, coef, point[0], point[1])
        y = u.T @ (sigma @ (root @ directions))
        frac = jnp.sum(jnp.where(keep[:, None], y * y, 0.0), axis=0) / jnp.sum(y * y, axis=0)
        return frac > 0.5, jnp.all(jnp.isfinite(u)), lam, u, root, g, keep  # Σ^{-1/2} not finite: Σ ⊁ 0

    return jax.vmap(one)(points)


@jax.jit
def _evaluate_fixed(data_cov, aug_cov, directions, coef, points):
    """At each point (s, γ′): (kept status of each column of ``directions``, Σ(s) ≻ 0 along all of them).

    The fixed-direction model: ℓ_i = (p·a_i + s·q·c_i − γ′·n_i)/(a_i + s·c_i) with a_i = x_iᵀA0x_i,
    c_i = x_iᵀCx_i, n_i = x_iᵀx_i (module docstring); O(d log d) per point.
    """
    p, q = coef[0], coef[1]
    a, cc = (jnp.einsum("ji,jk,ki->i", directions, m, directions) for m in (data_cov, aug_cov))
    n = jnp.sum(directions * directions, axis=0)

    def one(point):
        den = a + point[0] * cc
        lam = (p * a + point[0] * q * cc - point[1] * n) / jnp.where(den > 0, den, 1.0)
        order = jnp.argsort(-lam)
        ls = lam[order]
        g = bias_margins(ls, coef)[0]
        alive = survives(g, spectral_scale(ls) + spectral_scale(g - ls))
        keep = jnp.zeros_like(alive).at[order].set(jnp.cumsum(~alive) == 0)
        valid = jnp.all(den > 0)
        return keep & valid, valid

    return jax.vmap(one)(points)


def evaluate(args: tuple, points: Any, outputs: tuple[int, ...] = (0, 1), *, exact: bool = True) -> list[np.ndarray]:
    """:func:`_evaluate` (or, not ``exact``, :func:`_evaluate_fixed`) at any number of points (s, γ′),
    in batches of one compiled size ≤ 2·GRID.

    ``args`` = (A0, C, directions, coef) as arrays of one dtype; returns the chosen outputs as NumPy.
    The exact batch holds at most BATCH_ENTRIES matrix entries per array.
    """
    d = args[0].shape[0]
    size = int(min(2 * GRID, 2 ** max(3, int(np.log2(max(BATCH_ENTRIES // (d * d), 1))))))
    size = size if exact else 2 * GRID
    fn = _evaluate if exact else _evaluate_fixed
    points = np.asarray(points, float).reshape(-1, 2)
    parts = []
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        padded = np.concatenate([chunk, np.repeat(chunk[:1], size - len(chunk), axis=0)])
        res = fn(*args, jnp.asarray(padded, args[0].dtype))
        parts.append([np.asarray(res[k])[: len(chunk)] for k in outputs])
    return [np.concatenate(p) for p in zip(*parts)]


@jax.jit
def replicate_margins(data_covs: jax.Array, aug_covs: jax.Array, coef: jax.Array, weight_decay: Any) -> jax.Array:
    """The margins g (by slot of descending ℓ) of each bootstrap replicate (R, d)."""
    return jax.vmap(lambda a0, c: normalized_support(a0, c, coef, 1.0, weight_decay)[3])(data_covs, aug_covs)


def scan_ranges(data_cov: Any, aug_cov: Any, coef: Any) -> tuple[np.ndarray, np.ndarray]:
    """The γ′ grid and the s grid: 0, then GRID − 2 geometric points from RANGE_LOW·scale to the top.

    γ′: top max(b_max, 0) + 2κ̂c‖Σ‖ with κ̂ = min(κ, KAPPA_RANGE·k) (for κ ≤ KAPPA_RANGE·k every
    direction is collapsed there, since ℓ_1 ≤ −2κc), scale ‖B‖ + 2kc‖Σ‖.  s: top 10⁴·max(1, ‖A0‖/c_min)
    (c_min the smallest eigenvalue of C, at least 10⁻⁶‖C‖), scale 1.
    """
    p, q, k, kappa, c = (float(x) for x in coef[:5])
    data_cov, aug_cov = np.asarray(data_cov, float), np.asarray(aug_cov, float)
    b = p * data_cov + q * aug_cov
    b_vals = np.linalg.eigvalsh(b)
    s_norm = float(np.linalg.eigvalsh(data_cov + aug_cov)[-1])
    g_top = max(b_vals[-1], 0.0) + 2.0 * min(kappa, KAPPA_RANGE * k) * c * s_norm
    g_scale = float(np.max(np.abs(b_vals))) + 2.0 * k * c * s_norm
    c_vals = np.linalg.eigvalsh(aug_cov)
    c_min = max(float(c_vals[0]), 1e-6 * float(c_vals[-1]), np.finfo(float).tiny)
    s_top = 1e4 * max(1.0, float(np.linalg.eigvalsh(data_cov)[-1]) / c_min)

    def grid(top: float, scale: float) -> np.ndarray:
        lo = min(RANGE_LOW * scale, 1e-3 * top)
        return np.concatenate([[0.0], np.geomspace(lo, max(top, 2 * lo), GRID - 2)])

    return grid(g_top, g_scale), grid(s_top, 1.0)


def _brackets(st: np.ndarray, grid: np.ndarray, j0: int, kept: np.ndarray) -> list[tuple[int, float, float, bool]]:
    """(direction, lo, hi, want) around the current collapse (want False) and the next revival (want True).

    Kept at grid[j0]: the first turn-off above it, then the first turn-on after that.  Not kept: the
    last turn-off below it (none: collapsed from 0), then the first turn-on above it.
    """
    out = []
    for i in range(st.shape[1]):
        col = st[:, i]
        up = None
        if kept[i]:
            down = np.flatnonzero(~col[j0 + 1 :])
            if down.size:
                j = j0 + 1 + int(down[0])
                out.append((i, grid[j - 1], grid[j], False))
                up = np.flatnonzero(col[j + 1 :]) + j + 1
        else:
            before = np.flatnonzero(col[:j0])
            if before.size:
                out.append((i, grid[before[-1]], grid[before[-1] + 1], False))
            up = np.flatnonzero(col[j0 + 1 :]) + j0 + 1
        if up is not None and up.size:
            out.append((i, grid[up[0] - 1], grid[up[0]], True))
    return out


def normalized_thresholds(
    data_cov: Any, aug_cov: Any, directions: Any, kept: Any, coef: Any, weight_decay: float, *, exact: bool = False
) -> NormalizedThresholds:
    """Collapse and revival of each column of ``directions`` along γ′ (s = 1) and s (at γ); module docstring.

    ``kept`` is each direction's status at (s = 1, γ); the result satisfies kept ⇔ critical value
    above the current one (γ, resp. 1), as in the unnormalized prediction.
    """
    a0, c, dirs = (np.asarray(x) for x in (data_cov, aug_cov, directions))
    kept = np.asarray(kept, bool)
    coef_np = np.asarray(coef, float)
    grids = [np.sort(np.append(g, x0)) for g, x0 in zip(scan_ranges(a0, c, coef_np), (weight_decay, 1.0))]
    points = np.concatenate(
        [np.stack([np.ones(GRID), grids[0]], 1), np.stack([grids[1], np.full(GRID, weight_decay)], 1)]
    )
    args = (jnp.asarray(a0), jnp.asarray(c), jnp.asarray(dirs, a0.dtype), jnp.asarray(coef_np, a0.dtype))
    status, valid = evaluate(args, points, exact=exact)
    brackets = []  # (scan, direction, lo, hi, want)
    for scan, (grid, x0) in enumerate(zip(grids, (weight_decay, 1.0))):
        st = status[scan * GRID : (scan + 1) * GRID] & valid[scan * GRID : (scan + 1) * GRID, None]
        j0 = int(np.searchsorted(grid, x0, side="right")) - 1
        st[grid == x0] = kept
        brackets += [(scan, *b) for b in _brackets(st, grid, j0, kept)]
    found = _refine(args, brackets, weight_decay, exact)
    result = []
    for scan in range(2):
        collapse = np.where(kept, np.inf, 0.0)
        revival = np.full(kept.size, np.inf)
        for (sc, i, _, _, want), value in zip(brackets, found):
            if sc == scan:
                (revival if want else collapse)[i] = value
        result += [collapse, revival]
    return NormalizedThresholds(*result)


def _refine(args: tuple, brackets: list, weight_decay: float, exact: bool) -> list[float]:
    """Shrink every bracket around its first change of status by multisection (≈ 2·GRID points a round)."""
    if not brackets:
        return []
    nb = len(brackets)
    per = max(2 * GRID // nb, 2)
    lo, hi, idx, want, is_scale = (np.array([b[k] for b in brackets]) for k in (2, 3, 1, 4, 0))
    lo, hi, is_scale = lo.astype(float), hi.astype(float), is_scale == 1
    frac = np.arange(1, per + 1) / (per + 1)
    tol = max(4.0 * float(np.finfo(args[0].dtype).eps), REFINE_RTOL)
    rows = np.arange(nb)
    for _ in range(200):
        if np.all(hi - lo <= tol * np.abs(hi)):
            break
        mids = lo[:, None] + (hi - lo)[:, None] * frac[None, :]  # (nb, per)
        s = np.where(is_scale[:, None], mids, 1.0)
        g = np.where(is_scale[:, None], weight_decay, mids)
        status = evaluate(args, np.stack([s.ravel(), g.ravel()], 1), (0,), exact=exact)[0]
        hit = status.reshape(nb, per, -1)[rows, :, idx] == want[:, None]  # (nb, per)
        j = np.where(hit.any(axis=1), hit.argmax(axis=1), per)
        lo, hi = (
            np.where(j > 0, mids[rows, np.maximum(j - 1, 0)], lo),
            np.where(j < per, mids[rows, np.minimum(j, per - 1)], hi),
        )
    return [float(h) for h in hi]
