r"""The loss → B table: each SSL loss reduced to its effective quadratic form.

Near W = 0 every loss studied here takes the form

    L(W) = −Tr[W B Wᵀ] + k·s·Tr[(W Σ Wᵀ)²] + γ‖W‖²_F,

and every B in the table is a linear combination of the data and augmentation
covariances, **B = p·A0 + q·C**.  This module stores only the coefficients
(p, q) and the loss's own quartic scale s, as data: :data:`LOSS_TABLE` maps each
loss name to a :class:`LossEntry` with both forms and its parameter check, so
adding a loss is adding one entry.  The two forms:

``form="paper"``
    B as stated in the workshop paper (WS §1.2, Eq. 4 and the text after Eq. 10).
``form="derived"``
    B from a careful second-order expansion of the sample loss with a linear
    model and zero-mean Gaussian data.  **This is the default** because it is
    the form that the sample-level losses actually have at small W; the paper's
    form is kept selectable so that its figures and thresholds can be reproduced.

=================  ===========================  ===============================  =====
loss               paper B                      derived B                        s
=================  ===========================  ===============================  =====
infonce            A0                           A0                               1
weighted-infonce   A0 − ((1−α)/N)·C             (N/(N−1+α))·A0                   1
beta-infonce       A0 − ((1−β)/β)·C  (*)        β·A0 − (1−β)·C                   1 / β
spectral           2·C                          2·A0                             1
barlow-twins       2·Σ = 2·A0 + 2·C             2·A0                             1
vicreg             −A0                          −2·λ_inv·C                       1
=================  ===========================  ===============================  =====

Notes on the differences:

* weighted InfoNCE: expanding log(Σ_{j≠i} e^{−u_j} + α e^{−u₊}) at small W with
  independently augmented negatives, the augmentation term Tr[W C Wᵀ] of the
  alignment cancels against the same term of the denominator, for every α.  The
  paper's C-term appears only if the denominator average is replaced by 1 before
  expanding the α correction.
* β-InfoNCE (*): the workshop text names β-InfoNCE without defining it.  The
  paper's appendix C.1 uses Σ⁻¹B eigenvalues (a−c)/(a+c), i.e. B ∝ A0 − C at
  β = ½.  "paper" weights the alignment term by 1/β (quartic scale 1); "derived"
  weights the log-denominator by β, which scales the quartic term by β.  Without
  weight decay both give the same collapse threshold, b_i ≤ 0 ⇔ c_i ≥ β·a_i/(1−β),
  and differ only in amplitude; with weight decay γ the derived form collapses
  at (1−β)·c_i + γ ≥ β·a_i and the paper form at ((1−β)/β)·c_i + γ ≥ a_i.
* spectral contrastive: E[f(x) f(x′)ᵀ] for two views of one point is W A0 Wᵀ, so
  the cross term gives 2·A0; the paper writes 2·C.
* Barlow Twins: without batch-normalising the cross-correlation the diagonal
  term −2 Tr[E f fᵀ] uses the positive pair, E[x x′ᵀ] = A0; the paper writes Σ.
  The quartic term of Barlow Twins is not of the Tr[(WΣWᵀ)²] form; this table
  models it with the common quartic term (documented as a model, not a result).
* VICReg: its invariance term λ_inv·E‖f(x) − f(x′)‖² = 2λ_inv·Tr[W C Wᵀ] gives
  the derived row; the paper writes −A0.  Both rows model the variance term as
  part of the normalization penalty.  The real variance hinge
  max(0, 1 − √(Var f_j + ε)) is *not* flat at W = 0: it adds
  +λ_var/(2·d1·√ε)·Σ to B, which dominates for small ε (Monte Carlo and sympy
  in ``paper_repro/expansion_table.md``).  Neither row is the real VICReg's
  expansion; use them as the models the paper states.

Example:
    >>> from landscape.losses import quadratic_form
    >>> qf = quadratic_form("weighted-infonce", form="paper", alpha=0.1, n_samples=50)
    >>> round(float(qf.data_coef), 6), round(float(qf.aug_coef), 6)
    (1.0, -0.018)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape, check_landscape_range, require_problem
from landscape.core.linalg import is_traced
from landscape.core.problem import Problem
from landscape.core.validation import as_scalar

__all__ = [
    "LOSSES",
    "FORMS",
    "LOSS_TABLE",
    "LOSS_ALIASES",
    "LossEntry",
    "LossParameters",
    "QuadraticForm",
    "quadratic_form",
    "canonical_loss_name",
    "effective_landscape",
]

FORMS = ("derived", "paper")


@dataclasses.dataclass(frozen=True)
class QuadraticForm:
    """B = data_coef·A0 + aug_coef·C, and the loss's quartic scale s."""

    data_coef: Any
    aug_coef: Any
    quartic_scale: Any

    def b_matrix(self, data_cov: jax.Array, aug_cov: jax.Array) -> jax.Array:
        """The matrix B for the given covariances."""
        return self.data_coef * data_cov + self.aug_coef * aug_cov


jax.tree_util.register_dataclass(QuadraticForm, data_fields=["data_coef", "aug_coef", "quartic_scale"], meta_fields=[])


class LossParameters(NamedTuple):
    """The loss parameters a row of the table may read (validated by the row's ``check``)."""

    alpha: Any
    n_samples: Any
    beta: Any
    invariance_weight: Any


Coefficients = Callable[[LossParameters], tuple[Any, Any, Any]]


def _no_check(params: LossParameters, form: str) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class LossEntry:
    """One row of the loss → B table: (p, q, s) of B = p·A0 + q·C in each form.

    Attributes:
        paper: parameters ↦ (p, q, s) as the workshop paper states B.
        derived: parameters ↦ (p, q, s) from the second-order expansion of the sample loss.
        check: (parameters, form) ↦ None, raising ValueError for an out-of-range
            concrete parameter (traced ones are skipped).
    """

    paper: Coefficients
    derived: Coefficients
    check: Callable[[LossParameters, str], None] = _no_check


def _one() -> jax.Array:
    return jnp.asarray(1.0)


def _zero() -> jax.Array:
    return jnp.asarray(0.0)


def _constant(p: float, q: float) -> Coefficients:
    """A row without parameters: (p, q, 1)."""
    return lambda params: (p * _one(), q * _one(), _one())


def _check_weighted(params: LossParameters, form: str) -> None:
    alpha, n_samples = params.alpha, params.n_samples
    if n_samples is None:
        raise ValueError("n_samples is required for weighted-infonce (data-set size N >= 1)")
    if not is_traced(alpha):
        as_scalar(alpha, "alpha", low=0.0)
    if not is_traced(n_samples):
        as_scalar(n_samples, "n_samples", low=1.0)
    if form == "derived" and not is_traced(alpha) and not is_traced(n_samples):
        # N/(N − 1 + α): the denominator vanishes at N = 1, α = 0 and makes the
        # coefficient overflow just above it.
        n, denom = float(n_samples), float(n_samples) - 1.0 + float(alpha)
        if not (denom > 0 and n / denom <= float(jnp.finfo(jnp.result_type(float)).max)):
            raise ValueError(
                f"alpha and n_samples: the derived weighted-InfoNCE coefficient N/(N − 1 + α) is not finite "
                f"at n_samples = {n:g}, alpha = {float(alpha):g}; use alpha > 0 or n_samples > 1"
            )


def _check_beta(params: LossParameters, form: str) -> None:
    if not is_traced(params.beta):
        as_scalar(params.beta, "beta", low=0.0, high=1.0, low_inclusive=False)


def _check_vicreg(params: LossParameters, form: str) -> None:
    if form == "derived" and not is_traced(params.invariance_weight):
        as_scalar(params.invariance_weight, "invariance_weight", low=0.0)


def _weighted_derived(params: LossParameters):
    n = jnp.asarray(params.n_samples)
    return n / (n - 1.0 + jnp.asarray(params.alpha)), _zero(), _one()


def _beta_paper(params: LossParameters):
    b = jnp.asarray(params.beta)
    return _one(), -(1.0 - b) / b, _one()


def _beta_derived(params: LossParameters):
    b = jnp.asarray(params.beta)
    return b, -(1.0 - b), b


#: The table (module docstring), one entry per loss: adding a loss is adding a row.
LOSS_TABLE: dict[str, LossEntry] = {
    "infonce": LossEntry(paper=_constant(1.0, 0.0), derived=_constant(1.0, 0.0)),
    "weighted-infonce": LossEntry(
        paper=lambda params: (_one(), -(1.0 - jnp.asarray(params.alpha)) / jnp.asarray(params.n_samples), _one()),
        derived=_weighted_derived,
        check=_check_weighted,
    ),
    "beta-infonce": LossEntry(paper=_beta_paper, derived=_beta_derived, check=_check_beta),
    "spectral": LossEntry(paper=_constant(0.0, 2.0), derived=_constant(2.0, 0.0)),
    "barlow-twins": LossEntry(paper=_constant(2.0, 2.0), derived=_constant(2.0, 0.0)),
    "vicreg": LossEntry(
        paper=_constant(-1.0, 0.0),
        derived=lambda params: (_zero(), -2.0 * jnp.asarray(params.invariance_weight), _one()),
        check=_check_vicreg,
    ),
}

#: Other spellings of the loss names (after lower-casing and ``_`` → ``-``).
LOSS_ALIASES: dict[str, str] = {
    "info-nce": "infonce",
    "scl": "spectral",
    "spectral-contrastive": "spectral",
    "bt": "barlow-twins",
    "barlowtwins": "barlow-twins",
}

LOSSES = tuple(LOSS_TABLE)


def canonical_loss_name(loss: str) -> str:
    """Normalise a loss name (``beta_infonce`` → ``beta-infonce``), or raise ValueError."""
    name = str(loss).strip().lower().replace("_", "-")
    name = LOSS_ALIASES.get(name, name)
    if name not in LOSS_TABLE:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    return name


def quadratic_form(
    loss: str,
    *,
    form: str = "derived",
    alpha: Any = 1.0,
    n_samples: Any = None,
    beta: Any = 0.5,
    invariance_weight: Any = 1.0,
) -> QuadraticForm:
    """Coefficients of B = p·A0 + q·C for ``loss`` in the chosen ``form``.

    Args:
        loss: one of :data:`LOSSES` (the keys of :data:`LOSS_TABLE`).
        form: ``"derived"`` (default; the careful expansion) or ``"paper"``.
        alpha: weight of the positive in the weighted-InfoNCE denominator, α ≥ 0.
        n_samples: data-set size N (weighted InfoNCE only), N ≥ 1.
        beta: β-InfoNCE weight, 0 < β ≤ 1.
        invariance_weight: λ_inv of VICReg (derived form), ≥ 0.

    The numeric arguments may be traced (they can be vmapped over); they are
    validated whenever they are concrete.
    """
    entry = LOSS_TABLE[canonical_loss_name(loss)]
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}; got {form!r}")
    params = LossParameters(alpha, n_samples, beta, invariance_weight)
    entry.check(params, form)
    return QuadraticForm(*(entry.paper if form == "paper" else entry.derived)(params))


def effective_landscape(
    problem: Problem,
    loss_name: str = "infonce",
    *,
    form: str = "derived",
    quartic: Any = 1.0,
    weight_decay: Any = 0.0,
    alpha: Any = 1.0,
    n_samples: Any = None,
    beta: Any = 0.5,
    invariance_weight: Any = 1.0,
) -> EffectiveLandscape:
    """The effective landscape of ``loss_name`` on ``problem``.

    Args:
        problem: covariances A0 and C.
        loss_name: one of ``landscape.losses.LOSSES``.
        form: ``"derived"`` (default) or ``"paper"``, see :mod:`landscape.losses.effective`.
        quartic: k, the quartic coefficient (1 = paper, 3/4 = exact Gaussian cumulant), k > 0.
        weight_decay: γ ≥ 0 of the penalty γ‖W‖²_F.
        alpha, n_samples, beta, invariance_weight: loss parameters.

    Example:
        >>> import jax.numpy as jnp
        >>> import landscape as ls
        >>> p = ls.Problem.from_diagonal([3.0, 1.0], [1.0, 1.0])
        >>> land = effective_landscape(p, "infonce")
        >>> round(float(ls.loss(land, jnp.array([[0.3, 0.0], [0.0, 0.2]]))), 6)
        -0.174

    The final quartic coefficient is k times the loss's own quartic scale (β for
    the derived β-InfoNCE, 1 otherwise).

    With concrete input the landscape is checked in its dtype (see
    :func:`~landscape.core.effective_landscape.check_landscape_range`): a parameter whose arithmetic would overflow
    or lose the quartic term is refused with a ValueError naming it, instead of
    giving NaN or ±inf later.
    """
    require_problem(problem, "effective_landscape")
    dtype = problem.data_cov.dtype
    top = float(jnp.finfo(dtype).max)
    if not is_traced(quartic):
        as_scalar(quartic, "quartic", low=0.0, high=top, low_inclusive=False)
    if not is_traced(weight_decay):
        as_scalar(weight_decay, "weight_decay", low=0.0, high=top)
    qf = quadratic_form(
        loss_name, form=form, alpha=alpha, n_samples=n_samples, beta=beta, invariance_weight=invariance_weight
    )
    b = qf.b_matrix(problem.data_cov, problem.aug_cov).astype(dtype)
    k = (jnp.asarray(quartic) * qf.quartic_scale).astype(dtype)
    land = EffectiveLandscape(b=b, sigma=problem.sigma, quartic=k, weight_decay=jnp.asarray(weight_decay, dtype))
    if not any(is_traced(x) for x in jax.tree_util.tree_leaves(land)):
        check_landscape_range(land, quartic_scale=float(qf.quartic_scale))
    return land
