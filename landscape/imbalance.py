r"""Class-imbalanced data in the linear theory: which class directions survive SSL.

**Data.**  K classes with means μ_k ∈ R^d and proportions p_k (p_k ∈ (0, 1),
Σp_k = 1), a within-class covariance S_w and an augmentation covariance C.
The theory assumes E[x] = 0, so the mixture is *centred*: μ̄ = Σ_k p_k μ_k is
subtracted and

    A0 = Σ_k p_k (μ_k − μ̄)(μ_k − μ̄)ᵀ + S_w,      Σ = A0 + C.

The *class direction* of class k is u_k = (μ_k − μ̄)/‖μ_k − μ̄‖.

**Per-direction closed form** (commuting case; u an eigen-direction of A0 and C
with variances a = uᵀA0u and c = uᵀCu).  With B = p_B·A0 + q_B·C from the loss
table, weight decay γ and total quartic coefficient k (k times the loss's own
quartic scale), the global minimum has along u

    b = p_B·a + q_B·c − γ,     λ(WᵀW) = max(b, 0)/(2k s²),     s = a + c,

and the *learned representation variance along u* — the variance of the
representation of the input component along u, v = (uᵀΣu)·(uᵀWᵀWu) — is

    v = max(b, 0)/(2k s).

So the direction collapses iff a ≤ a_thr := (γ − q_B·c)/p_B.  For two classes
separated by m along u with within-class variance w along u,
a(p) = p(1 − p)m² + w, and the **critical imbalance** solves
p_c(1 − p_c) = (a_thr − w)/m²:

    p_c = ½ − ½·sqrt(1 − 4(a_thr − w)/m²)      (0 if a_thr ≤ w; ½ if the root is complex).

Below p_c the minority direction is collapsed.  InfoNCE (p_B = 1, q_B = 0):
a_thr = γ.  β-InfoNCE (derived form p_B = β, q_B = −(1 − β)):
a_thr = ((1 − β)c + γ)/β.

**Normalization.**  Under hard normalization (κ → ∞, target c_n) a kept set M
survives iff ℓ_i + 2k c_n/d_M > mean_M ℓ, with ℓ_i = b_i/s_i.  If every other
direction is kept, the minority direction (ℓ_e) survives iff
ℓ_e > ℓ* := (Σ_{i≠e} ℓ_i − 2k c_n)/(d_M − 1), and ℓ(a) = (p_B a + q_B c − γ)/(a + c)
inverts to a* = (γ + (ℓ* − q_B)c)/(p_B − ℓ*); p_c follows as above
(:func:`hard_normalization_critical_proportion`).  For finite κ there is no
closed form: :func:`critical_proportion_numeric` bisects on p with the exact
solver of :mod:`landscape.solve.normalization`.

Example:
    >>> cp = class_problem([[2.0, 0.0], [-2.0, 0.0]], [0.5, 0.5], within_cov=0.1, aug_var=0.5)
    >>> [round(float(v), 6) for v in direction_variances(cp)]     # p(1-p)m² + w = 4 + 0.1
    [4.1, 4.1]
    >>> round(critical_proportion(4.0, 0.1, 0.5, "infonce", weight_decay=1.0), 6)     # p(1-p)·16 + 0.1 = γ
    0.05983
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from landscape._validation import as_scalar, as_square_matrix, check_psd
from landscape.effective_landscape import effective_landscape
from landscape.losses.effective import quadratic_form
from landscape.problem import Problem
from landscape.solve.normalization import (hard_normalization_limit, normalized_global_minimum,
                                           normalized_landscape)
from landscape.solve.stationary import global_minimum

__all__ = [
    "ClassProblem", "class_problem", "check_proportions", "direction_variances", "representation_variances",
    "two_class_variance", "collapse_variance", "closed_form_representation_variance", "critical_proportion",
    "hard_normalization_critical_proportion", "solve_classes", "ClassReport", "critical_proportion_numeric",
    "minority_problem", "sample_classes", "empirical_class_problem", "subspace_aug_cov",
    "representation_map", "class_probe_accuracy", "probe_study", "sampled_collapse_fraction",
]


# --------------------------------------------------------------------------- construction
@dataclasses.dataclass(frozen=True)
class ClassProblem:
    """A class-structured SSL problem.

    Attributes:
        problem: the :class:`~landscape.Problem` (A0 of the centred mixture, C).
        means: class means (K, d), as given (not centred).
        proportions: p_k (K,).
        center: the mixture mean μ̄ = Σ p_k μ_k (d,), subtracted before forming A0.
        directions: unit class directions u_k = (μ_k − μ̄)/‖μ_k − μ̄‖ as rows (K, d);
            a zero row when μ_k = μ̄.
        within_cov: S_w (d, d).
    """

    problem: Problem
    means: np.ndarray
    proportions: np.ndarray
    center: np.ndarray
    directions: np.ndarray
    within_cov: np.ndarray

    @property
    def n_classes(self) -> int:
        """K."""
        return int(self.proportions.size)


def check_proportions(proportions, field: str = "proportions") -> np.ndarray:
    """Proportions as a float array, each in (0, 1) and summing to 1 (within 1e-9), else ValueError.

    >>> check_proportions([0.25, 0.75]).tolist()
    [0.25, 0.75]
    """
    p = np.atleast_1d(np.asarray(proportions, dtype=float))
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"{field} must be a 1-D list of at least 2 class proportions, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p >= 1):
        raise ValueError(f"{field} must each be in (0, 1), got {p.tolist()}")
    if abs(float(p.sum()) - 1.0) > 1e-9:
        raise ValueError(f"{field} must sum to 1, got sum {float(p.sum()):.12g}")
    return p


def _cov(value, d: int, field: str) -> np.ndarray:
    """A covariance given as a scalar (isotropic), a 1-D list of variances (diagonal) or a matrix."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        m = float(arr) * np.eye(d)
    elif arr.ndim == 1:
        if arr.shape != (d,):
            raise ValueError(f"{field} must have length {d} (the dimension of the means), got {arr.shape[0]}")
        m = np.diag(arr)
    else:
        m = as_square_matrix(arr, field)
        if m.shape != (d, d):
            raise ValueError(f"{field} must be {d}x{d} (the dimension of the means), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{field} contains NaN or infinite entries")
    check_psd(m, field)
    return m


def subspace_aug_cov(basis, strengths, d: int) -> np.ndarray:
    """C = Σ_j σ_j² q_j q_jᵀ for the orthonormalised columns q_j of ``basis`` (d, r).

    >>> subspace_aug_cov([[1.0], [0.0]], 2.0, 2).tolist()
    [[2.0, 0.0], [0.0, 0.0]]
    """
    b = np.asarray(basis, dtype=float)
    if b.ndim == 1:
        b = b[:, None]
    if b.ndim != 2 or b.shape[0] != d:
        raise ValueError(f"aug_subspace must have shape ({d}, r), got {b.shape}")
    q, r = np.linalg.qr(b)
    if np.any(np.abs(np.diag(r)) < 1e-12):
        raise ValueError("aug_subspace columns must be linearly independent")
    s = np.broadcast_to(np.asarray(strengths, dtype=float), (q.shape[1],))
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"aug_strength must be finite and >= 0, got {np.asarray(strengths).tolist()}")
    return (q * s) @ q.T


def class_problem(means, proportions, *, within_cov: Any = 0.0, aug_var: Any = None, aug_cov: Any = None,
                  aug_subspace: Any = None, aug_strength: Any = 1.0) -> ClassProblem:
    r"""Build the centred mixture problem A0 = Σ p_k(μ_k − μ̄)(μ_k − μ̄)ᵀ + S_w with its class directions.

    Args:
        means: (K, d) class means.
        proportions: (K,) class proportions in (0, 1), summing to 1.
        within_cov: S_w as a scalar (isotropic), (d,) variances or (d, d) matrix.
        aug_var: isotropic augmentation C = aug_var·I (exclusive with the next two).
        aug_cov: C as a scalar, (d,) variances or (d, d) matrix.
        aug_subspace: (d, r) basis; C = aug_strength·(projector onto its span)
            (per-column strengths allowed).
        If no augmentation is given, C = 0.

    >>> cp = class_problem([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.2, 0.3, 0.5], aug_var=0.1)
    >>> cp.center.tolist()
    [0.2, 0.3]
    >>> [round(float(x), 6) for x in jnp.diag(cp.problem.data_cov)]    # p(1-p) per axis
    [0.16, 0.21]
    """
    mu = np.asarray(means, dtype=float)
    if mu.ndim != 2 or mu.shape[0] < 2 or mu.shape[1] < 1:
        raise ValueError(f"means must be a (K, d) array with K >= 2 classes, got shape {mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError("means contains NaN or infinite entries")
    p = check_proportions(proportions)
    if p.size != mu.shape[0]:
        raise ValueError(f"proportions must have one entry per class (K = {mu.shape[0]}), got {p.size}")
    d = mu.shape[1]
    sw = _cov(within_cov, d, "within_cov")
    given = [x is not None for x in (aug_var, aug_cov, aug_subspace)]
    if sum(given) > 1:
        raise ValueError("give at most one of aug_var, aug_cov, aug_subspace")
    if aug_var is not None:
        s2 = as_scalar(aug_var, "aug_var", low=0.0)
        c = s2 * np.eye(d)
    elif aug_cov is not None:
        c = _cov(aug_cov, d, "aug_cov")
    elif aug_subspace is not None:
        c = subspace_aug_cov(aug_subspace, aug_strength, d)
    else:
        c = np.zeros((d, d))
    center = p @ mu
    dev = mu - center
    a0 = (dev.T * p) @ dev + sw
    a0 = 0.5 * (a0 + a0.T)
    norms = np.linalg.norm(dev, axis=1, keepdims=True)
    dirs = np.where(norms > 1e-12 * max(1.0, float(np.abs(mu).max())), dev / np.where(norms > 0, norms, 1.0), 0.0)
    problem = Problem.from_arrays(a0, c)
    return ClassProblem(problem, mu, p, center, dirs, sw)


def minority_problem(p: float, *, separation: float = 2.0, within_var: float = 0.2, n_background: int = 3,
                     background_var: Any = 1.0, aug_var: float = 0.0) -> ClassProblem:
    r"""Two classes at ±(separation/2)·e_0 with proportions (p, 1 − p), plus ``n_background`` dims.

    The class direction is e_0 with variance p(1 − p)m² + w; the background dims
    carry only within-class variance ``background_var`` (scalar or list).  The
    augmentation is isotropic with variance ``aug_var``.

    >>> cp = minority_problem(0.1, separation=2.0, within_var=0.2, n_background=1)
    >>> round(float(cp.problem.data_cov[0, 0]), 6)      # 0.1·0.9·4 + 0.2
    0.56
    """
    pp = as_scalar(p, "p", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    m = as_scalar(separation, "separation", low=0.0, low_inclusive=False)
    nb = int(n_background)
    if nb < 0:
        raise ValueError(f"n_background must be >= 0, got {n_background}")
    d = 1 + nb
    means = np.zeros((2, d))
    means[0, 0] = m / 2
    means[1, 0] = -m / 2
    bg = np.broadcast_to(np.asarray(background_var, dtype=float), (nb,))
    within = np.concatenate([[as_scalar(within_var, "within_var", low=0.0)], bg])
    return class_problem(means, [pp, 1.0 - pp], within_cov=within, aug_var=aug_var)


# --------------------------------------------------------------------------- per-direction quantities
def direction_variances(cp: ClassProblem) -> np.ndarray:
    """a_k = u_kᵀ A0 u_k for each class direction (0 for a zero direction)."""
    a0 = np.asarray(cp.problem.data_cov, dtype=float)
    return np.einsum("kd,de,ke->k", cp.directions, a0, cp.directions)


def representation_variances(gram, sigma, directions) -> np.ndarray:
    r"""v(u) = (uᵀΣu)·(uᵀ WᵀW u) for each row u of ``directions``.

    The variance of the representation W(uuᵀx) of the input's component along
    u; for an eigen-direction it equals λ_i s_i = b_i/(2k s_i).

    >>> representation_variances(np.diag([0.25, 0.0]), np.diag([2.0, 1.0]), np.eye(2)).tolist()
    [0.5, 0.0]
    """
    g = np.asarray(gram, dtype=float)
    s = np.asarray(sigma, dtype=float)
    u = np.atleast_2d(np.asarray(directions, dtype=float))
    return np.einsum("kd,de,ke->k", u, s, u) * np.einsum("kd,de,ke->k", u, g, u)


def two_class_variance(p, separation, within_var) -> Any:
    """a(p) = p(1 − p)m² + w, the variance of a two-class mixture along its class direction.

    >>> float(two_class_variance(0.5, 2.0, 0.0))
    1.0
    """
    return p * (1.0 - p) * separation ** 2 + within_var


def _coefficients(loss: str, form: str, beta: float, quartic: float) -> tuple[float, float, float]:
    qf = quadratic_form(loss, form=form, beta=beta)
    return float(qf.data_coef), float(qf.aug_coef), float(qf.quartic_scale) * float(quartic)


def collapse_variance(aug_var: float, loss: str = "infonce", *, weight_decay: float = 0.0, beta: float = 0.5,
                      form: str = "derived") -> float:
    r"""a_thr = (γ − q_B c)/p_B: a direction with data variance a ≤ a_thr collapses (no normalization).

    Only losses with p_B > 0 have a lower threshold (InfoNCE, β-InfoNCE, spectral, Barlow Twins).

    >>> collapse_variance(1.0, "beta-infonce", beta=0.5)       # c·(1-β)/β
    1.0
    """
    pb, qb, _ = _coefficients(loss, form, beta, 1.0)
    if pb <= 0:
        raise ValueError(f"loss {loss!r} has no data term (p_B = {pb:g}); no collapse threshold in a")
    g = as_scalar(weight_decay, "weight_decay", low=0.0)
    c = as_scalar(aug_var, "aug_var", low=0.0)
    return (g - qb * c) / pb


def closed_form_representation_variance(a, c, loss: str = "infonce", *, weight_decay: float = 0.0,
                                        beta: float = 0.5, quartic: float = 1.0, form: str = "derived") -> Any:
    r"""v = max(p_B a + q_B c − γ, 0)/(2k s), s = a + c: representation variance along an eigen-direction.

    >>> round(float(closed_form_representation_variance(1.0, 0.0)), 6)     # whitened: ½
    0.5
    """
    pb, qb, k = _coefficients(loss, form, beta, quartic)
    a = np.asarray(a, dtype=float)
    c = np.asarray(c, dtype=float)
    b = pb * a + qb * c - float(weight_decay)
    return np.maximum(b, 0.0) / (2.0 * k * (a + c))


def _p_from_variance(a_star: float, separation: float, within_var: float) -> float:
    """Smallest p ∈ [0, ½] with p(1 − p)m² + w = a*, clipped (0: never collapses, ½: always)."""
    disc = (a_star - within_var) / separation ** 2
    if disc <= 0:
        return 0.0
    if disc >= 0.25:
        return 0.5
    return 0.5 - 0.5 * float(np.sqrt(1.0 - 4.0 * disc))


def critical_proportion(separation: float, within_var: float, aug_var: float, loss: str = "infonce", *,
                        weight_decay: float = 0.0, beta: float = 0.5, form: str = "derived") -> float:
    r"""p_c = ½ − ½·sqrt(1 − 4(a_thr − w)/m²): the minority direction is collapsed for p ≤ p_c.

    No normalization.  Returns 0 when the direction never collapses and ½ when
    it is collapsed even for balanced classes.

    >>> round(critical_proportion(2.0, 0.0, 0.2, "beta-infonce", beta=0.5), 6)   # p(1-p)·4 = 0.2
    0.052786
    """
    m = as_scalar(separation, "separation", low=0.0, low_inclusive=False)
    w = as_scalar(within_var, "within_var", low=0.0)
    return _p_from_variance(collapse_variance(aug_var, loss, weight_decay=weight_decay, beta=beta, form=form), m, w)


def hard_normalization_critical_proportion(separation: float, within_var: float, aug_var: float,
                                           other_variances, other_aug_vars: Any = None, loss: str = "infonce", *,
                                           norm_target: float = 1.0, weight_decay: float = 0.0, beta: float = 0.5,
                                           quartic: float = 1.0, form: str = "derived") -> float:
    r"""p_c under hard normalization (κ → ∞), assuming every other direction stays kept.

    ℓ_i = (p_B a_i + q_B c_i − γ)/(a_i + c_i).  The minority direction survives iff
    ℓ_e > ℓ* = (Σ_{i≠e} ℓ_i − 2k c_n)/(d_M − 1) (Eq. 9 with d_M = 1 + #others),
    i.e. a_e > a* = (γ + (ℓ* − q_B)c_e)/(p_B − ℓ*).  The assumption (all other
    directions kept, d1 ≥ d) is checked: a ValueError is raised when it fails.

    >>> round(hard_normalization_critical_proportion(2.0, 0.1, 0.2, [1.0] * 9, 0.0), 6)
    0.183772
    """
    m = as_scalar(separation, "separation", low=0.0, low_inclusive=False)
    w = as_scalar(within_var, "within_var", low=0.0)
    ce = as_scalar(aug_var, "aug_var", low=0.0)
    cn = as_scalar(norm_target, "norm_target", low=0.0, low_inclusive=False)
    g = as_scalar(weight_decay, "weight_decay", low=0.0)
    pb, qb, k = _coefficients(loss, form, beta, quartic)
    ao = np.atleast_1d(np.asarray(other_variances, dtype=float))
    co = np.broadcast_to(np.asarray(ce if other_aug_vars is None else other_aug_vars, dtype=float), ao.shape)
    if ao.size < 1:
        raise ValueError("other_variances must list at least one other direction")
    lo = (pb * ao + qb * co - g) / (ao + co)
    n = ao.size
    # the others must be kept among themselves (Eq. 9 on the others alone)
    if not np.all(lo + 2 * k * cn / n > lo.mean()):
        raise ValueError("other_variances: not every other direction survives hard normalization; "
                         "use critical_proportion_numeric")
    l_star = (lo.sum() - 2.0 * k * cn) / n
    if l_star >= pb:          # ℓ_e < p_B always, so it can never pass
        return 0.5
    a_star = (g + (l_star - qb) * ce) / (pb - l_star)
    return _p_from_variance(a_star, m, w)


# --------------------------------------------------------------------------- solving a class problem
@dataclasses.dataclass(frozen=True)
class ClassReport:
    """Fate of each class direction at the global minimum.

    Attributes:
        direction_variance: a_k = u_kᵀA0u_k.
        representation_variance: v_k = (u_kᵀΣu_k)(u_kᵀWᵀWu_k).
        collapsed: v_k ≤ rtol · max(v) (or v_k = 0).
        rank: rank of WᵀW at the minimum.
        gram: WᵀW.
    """

    direction_variance: np.ndarray
    representation_variance: np.ndarray
    collapsed: np.ndarray
    rank: int
    gram: np.ndarray


def _solve_gram(problem: Problem, loss: str, *, weight_decay, beta, quartic, form, kappa, norm_target,
                out_dim) -> tuple[np.ndarray, int]:
    land = effective_landscape(problem, loss, form=form, quartic=quartic, weight_decay=weight_decay, beta=beta)
    if kappa is None:
        sol = global_minimum(land, out_dim)
    elif np.isinf(kappa):
        sol = hard_normalization_limit(land, out_dim, norm_target)
    else:
        sol = normalized_global_minimum(normalized_landscape(land, kappa, norm_target), out_dim)
    return np.asarray(sol.gram, dtype=float), int(sol.rank)


def solve_classes(cp: ClassProblem, loss: str = "infonce", *, weight_decay: float = 0.0, beta: float = 0.5,
                  quartic: float = 1.0, form: str = "derived", kappa: Optional[float] = None,
                  norm_target: float = 1.0, out_dim: Optional[int] = None, rtol: float = 1e-6) -> ClassReport:
    r"""Global minimum of the (optionally normalized) landscape and each class direction's fate.

    ``kappa=None``: no normalization; finite κ: penalty κ(ρ − c)²; ``kappa=inf``:
    hard normalization.  Works for non-commuting problems too (the solvers
    whiten); then v_k is the variance of the representation of the component
    along u_k, which need not be an eigen-direction.

    >>> cp = class_problem([[1.0, 0.0], [-1.0, 0.0]], [0.5, 0.5], within_cov=[0.0, 1.0], aug_var=0.0)
    >>> rep = solve_classes(cp, "infonce")
    >>> [round(float(v), 6) for v in rep.representation_variance]     # whitened: ½ each
    [0.5, 0.5]
    """
    d = cp.problem.dim
    gram, rank = _solve_gram(cp.problem, loss, weight_decay=weight_decay, beta=beta, quartic=quartic, form=form,
                             kappa=kappa, norm_target=norm_target, out_dim=int(out_dim or d))
    a = direction_variances(cp)
    v = representation_variances(gram, cp.problem.sigma, cp.directions)
    vmax = float(np.max(representation_variances(gram, cp.problem.sigma, np.eye(d)))) if d else 0.0
    collapsed = v <= rtol * max(vmax, 1e-300)
    return ClassReport(a, v, collapsed, rank, gram)


def critical_proportion_numeric(make: Callable[[float], ClassProblem], loss: str = "infonce", *,
                                class_index: int = 0, p_low: float = 1e-6, p_high: float = 0.5,
                                iterations: int = 50, **solve_kwargs: Any) -> float:
    r"""p_c by bisection on p: the smallest p at which class ``class_index`` keeps its direction.

    ``make(p)`` builds the class problem at minority proportion p;
    ``solve_kwargs`` go to :func:`solve_classes` (``kappa`` for normalization).
    Assumes "kept" is monotone in p on [p_low, p_high] (true when raising a_e
    raises ℓ_e, as for InfoNCE and β-InfoNCE).  Returns p_low if kept already
    there and p_high if still collapsed there.

    >>> pc = critical_proportion_numeric(lambda p: minority_problem(p, aug_var=0.5), "infonce", weight_decay=0.3)
    >>> round(pc, 6), round(critical_proportion(2.0, 0.2, 0.5, "infonce", weight_decay=0.3), 6)
    (0.025658, 0.025658)
    """
    def kept(p: float) -> bool:
        return not bool(solve_classes(make(p), loss, **solve_kwargs).collapsed[class_index])

    if kept(p_low):
        return float(p_low)
    if not kept(p_high):
        return float(p_high)
    lo, hi = float(p_low), float(p_high)
    for _ in range(int(iterations)):
        mid = 0.5 * (lo + hi)
        if kept(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- sampling
def sample_classes(rng: np.random.Generator, cp: ClassProblem, n: int, *, stratified: bool = False,
                   centered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw n clean points x = μ_k (− μ̄ if ``centered``) + N(0, S_w) with labels k.

    Class counts are multinomial(n, p), or round(n·p_k) (at least 1 each) when
    ``stratified``.  A small minority class then has few samples, so the
    empirical Â0 differs from A0: this is the finite-sample effect.

    >>> x, y = sample_classes(np.random.default_rng(0), minority_problem(0.25, n_background=1), 8, stratified=True)
    >>> x.shape, np.bincount(y).tolist()
    ((8, 2), [2, 6])
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    p = cp.proportions
    if stratified:
        counts = np.maximum(np.round(n * p).astype(int), 1)
        counts[np.argmax(counts)] += n - counts.sum()
    else:
        counts = rng.multinomial(n, p)
    labels = np.repeat(np.arange(p.size), counts)
    shift = cp.center if centered else 0.0
    sw = cp.within_cov
    evals, evecs = np.linalg.eigh(sw)
    root = evecs * np.sqrt(np.clip(evals, 0, None))
    x = cp.means[labels] - shift + rng.standard_normal((n, sw.shape[0])) @ root.T
    return x, labels


def empirical_class_problem(x, aug_cov) -> Problem:
    """Problem with Â0 = X_cᵀX_c/N (empirically centred sample second moment) and the given C.

    >>> p = empirical_class_problem(np.array([[1.0], [-1.0]]), [[0.5]])
    >>> float(p.data_cov[0, 0])
    1.0
    """
    xx = np.asarray(x, dtype=float)
    if xx.ndim != 2:
        raise ValueError(f"x must be 2-D (N, d), got shape {xx.shape}")
    xc = xx - xx.mean(0)
    return Problem.from_arrays(xc.T @ xc / xx.shape[0], aug_cov)


# --------------------------------------------------------------------------- downstream probes
def representation_map(gram) -> np.ndarray:
    """A weight matrix W with WᵀW = ``gram``: the symmetric square root (W is fixed only up to rotation).

    >>> representation_map(np.diag([4.0, 0.0])).tolist()
    [[2.0, 0.0], [0.0, 0.0]]
    """
    g = np.asarray(gram, dtype=float)
    evals, evecs = np.linalg.eigh(0.5 * (g + g.T))
    return (evecs * np.sqrt(np.clip(evals, 0, None))) @ evecs.T


def class_probe_accuracy(z_train, y_train, z_test, y_test, n_classes: int, *, ridge: float = 1e-3,
                         balanced: bool = True) -> np.ndarray:
    r"""Per-class held-out accuracy (recall) of a least-squares probe on one-hot targets.

    The probe minimises Σ_n ω_n‖onehot_n − z_nW − b‖² + λ‖W‖², with ω_n = 1/N_{y_n}
    when ``balanced`` (so a small class is not drowned by the majority) and
    λ = ridge·tr(Cov z)/D (scale-free).  It is fitted on the training split and
    scored on the test split only.  A class absent from the test split gets NaN.

    >>> z = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> class_probe_accuracy(z, y, -z, 1 - y, 2).tolist()
    [1.0, 1.0]
    """
    ztr = np.asarray(z_train, dtype=float)
    zte = np.asarray(z_test, dtype=float)
    ytr = np.asarray(y_train)
    yte = np.asarray(y_test)
    if ztr.ndim != 2 or zte.ndim != 2 or ztr.shape[1] != zte.shape[1]:
        raise ValueError(f"z_train and z_test must be 2-D with equal widths, got {ztr.shape} and {zte.shape}")
    if ytr.shape != (ztr.shape[0],) or yte.shape != (zte.shape[0],):
        raise ValueError("y_train and y_test must have one label per row of z_train and z_test")
    k = int(n_classes)
    counts = np.bincount(ytr, minlength=k).astype(float)
    w = 1.0 / counts[ytr] if balanced else np.ones(ytr.size)
    w = w / w.sum()
    zm = w @ ztr
    t = np.eye(k)[ytr]
    tm = w @ t
    zc, tc = ztr - zm, t - tm
    cov = (zc * w[:, None]).T @ zc
    d = ztr.shape[1]
    lam = float(ridge) * max(np.trace(cov) / d, 1e-300)
    wt = np.linalg.solve(cov + lam * np.eye(d), (zc * w[:, None]).T @ tc)
    pred = np.argmax((zte - zm) @ wt + tm, axis=1)
    out = np.full(k, np.nan)
    for j in range(k):
        sel = yte == j
        if sel.any():
            out[j] = float(np.mean(pred[sel] == j))
    return out


def probe_study(rng: np.random.Generator, cp: ClassProblem, maps: dict, *, n_train: int, n_test: int,
                ridge: float = 1e-3) -> dict:
    r"""Per-class held-out probe accuracy of each representation z = x Mᵀ in ``maps`` (name → M).

    A training set of ``n_train`` and an *independent* test set of ``n_test``
    points are drawn with :func:`sample_classes`; the probe is fitted on the
    first and scored on the second.  Returns name → (K,) accuracies, plus
    ``"n_train_per_class"``.

    >>> cp = minority_problem(0.3, n_background=1)
    >>> out = probe_study(np.random.default_rng(0), cp, {"id": np.eye(2)}, n_train=200, n_test=400)
    >>> [bool(a > 0.8) for a in out["id"]]
    [True, True]
    """
    xtr, ytr = sample_classes(rng, cp, n_train, stratified=True)
    xte, yte = sample_classes(rng, cp, n_test, stratified=True)
    out = {}
    for name, m in maps.items():
        mm = np.atleast_2d(np.asarray(m, dtype=float))
        out[name] = class_probe_accuracy(xtr @ mm.T, ytr, xte @ mm.T, yte, cp.n_classes, ridge=ridge)
    out["n_train_per_class"] = np.bincount(ytr, minlength=cp.n_classes)
    return out


def sampled_collapse_fraction(rng: np.random.Generator, cp: ClassProblem, n: int, *, repeats: int = 100,
                              loss: str = "infonce", **solve_kwargs: Any) -> float:
    r"""Fraction of size-``n`` samples whose empirical problem loses a direction (rank < d).

    Each repeat draws n points (multinomial class counts), forms Â0 from them
    with the problem's C, and solves the global minimum.  On a sample Â0 the
    class direction is mixed slightly with the others, so "the minority is
    collapsed" is read from the rank (a direction of Â0 dropped), which is
    the minority's when every other direction is well above threshold.  For
    small within-class spread the fraction is close to P(p̂ ≤ p_c) under the
    binomial law of the minority count.

    >>> cp = minority_problem(0.08, aug_var=0.5, n_background=1)
    >>> sampled_collapse_fraction(np.random.default_rng(0), cp, 2000, repeats=5, weight_decay=0.3)
    0.0
    """
    d = cp.problem.dim
    lost = 0
    for _ in range(int(repeats)):
        x, _ = sample_classes(rng, cp, n)
        emp = empirical_class_problem(x, cp.problem.aug_cov)
        gram, rank = _solve_gram(emp, loss, weight_decay=solve_kwargs.get("weight_decay", 0.0),
                                 beta=solve_kwargs.get("beta", 0.5), quartic=solve_kwargs.get("quartic", 1.0),
                                 form=solve_kwargs.get("form", "derived"), kappa=solve_kwargs.get("kappa"),
                                 norm_target=solve_kwargs.get("norm_target", 1.0), out_dim=d)
        lost += rank < d
    return lost / int(repeats)
