r"""Closed forms for one class direction: collapse threshold, representation variance, critical imbalance.

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
closed form: :func:`~landscape.studies.class_imbalance.solve.critical_proportion_numeric`
bisects on p with the exact solver of :mod:`landscape.theory.normalization`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.core.validation import as_scalar
from landscape.losses.effective import quadratic_form

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = [
    "two_class_variance",
    "collapse_variance",
    "closed_form_representation_variance",
    "critical_proportion",
    "hard_normalization_critical_proportion",
]


def two_class_variance(p: float | np.ndarray, separation: float | np.ndarray, within_var: float | np.ndarray) -> Any:
    """a(p) = p(1 − p)m² + w, the variance of a two-class mixture along its class direction.

    >>> float(two_class_variance(0.5, 2.0, 0.0))
    1.0
    """
    return p * (1.0 - p) * separation**2 + within_var


def _coefficients(loss: str, form: str, beta: float, quartic: float) -> tuple[float, float, float]:
    qf = quadratic_form(loss, form=form, beta=beta)
    return float(qf.data_coef), float(qf.aug_coef), float(qf.quartic_scale) * float(quartic)


def collapse_variance(
    aug_var: float, loss: str = "infonce", *, weight_decay: float = 0.0, beta: float = 0.5, form: str = "derived"
) -> float:
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


def closed_form_representation_variance(
    a: ArrayLike,
    c: ArrayLike,
    loss: str = "infonce",
    *,
    weight_decay: float = 0.0,
    beta: float = 0.5,
    quartic: float = 1.0,
    form: str = "derived",
) -> Any:
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
    disc = (a_star - within_var) / separation**2
    if disc <= 0:
        return 0.0
    if disc >= 0.25:
        return 0.5
    return 0.5 - 0.5 * float(np.sqrt(1.0 - 4.0 * disc))


def critical_proportion(
    separation: float,
    within_var: float,
    aug_var: float,
    loss: str = "infonce",
    *,
    weight_decay: float = 0.0,
    beta: float = 0.5,
    form: str = "derived",
) -> float:
    r"""p_c = ½ − ½·sqrt(1 − 4(a_thr − w)/m²): the minority direction is collapsed for p ≤ p_c.

    No normalization.  Returns 0 when the direction never collapses and ½ when
    it is collapsed even for balanced classes.

    >>> round(critical_proportion(2.0, 0.0, 0.2, "beta-infonce", beta=0.5), 6)   # p(1-p)·4 = 0.2
    0.052786
    """
    m = as_scalar(separation, "separation", low=0.0, low_inclusive=False)
    w = as_scalar(within_var, "within_var", low=0.0)
    return _p_from_variance(collapse_variance(aug_var, loss, weight_decay=weight_decay, beta=beta, form=form), m, w)


def hard_normalization_critical_proportion(
    separation: float,
    within_var: float,
    aug_var: float,
    other_variances: Float[ArrayLike, " m"],
    other_aug_vars: Any = None,
    loss: str = "infonce",
    *,
    norm_target: float = 1.0,
    weight_decay: float = 0.0,
    beta: float = 0.5,
    quartic: float = 1.0,
    form: str = "derived",
) -> float:
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
        raise ValueError(
            "other_variances: not every other direction survives hard normalization; use critical_proportion_numeric"
        )
    l_star = (lo.sum() - 2.0 * k * cn) / n
    if l_star >= pb:  # ℓ_e < p_B always, so it can never pass
        return 0.5
    a_star = (g + (l_star - qb) * ce) / (pb - l_star)
    return _p_from_variance(a_star, m, w)
