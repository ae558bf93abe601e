r"""Solving a class problem: the global minimum and the fate of each class direction.

The solvers of :mod:`landscape.theory` give WᵀW at the global minimum (no
normalization, finite κ, or κ → ∞); a class direction u is *collapsed* when
the representation variance v(u) = (uᵀΣu)(uᵀWᵀWu) vanishes.  These routes work
for non-commuting problems too, and check the closed forms of
:mod:`landscape.studies.class_imbalance.closed_form` (``critical_proportion_numeric``
bisects on p where no closed form exists, e.g. at finite κ).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.problem import Problem
from landscape.losses.effective import effective_landscape
from landscape.studies.class_imbalance.model import ClassProblem, direction_variances
from landscape.theory.normalization import hard_normalization_limit, normalized_global_minimum, normalized_landscape
from landscape.theory.stationary_points import global_minimum

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = [
    "representation_variances",
    "ClassReport",
    "solve_classes",
    "solve_classes_batch",
    "critical_proportion_numeric",
]


def representation_variances(
    gram: Float[ArrayLike, "d d"], sigma: Float[ArrayLike, "d d"], directions: Float[ArrayLike, "m d"]
) -> np.ndarray:
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


def _solve_gram(
    problem: Problem, loss: str, *, weight_decay, beta, quartic, form, kappa, norm_target, out_dim
) -> tuple[np.ndarray, int]:
    land = effective_landscape(problem, loss, form=form, quartic=quartic, weight_decay=weight_decay, beta=beta)
    if kappa is None:
        sol = global_minimum(land, out_dim)
    elif np.isinf(kappa):
        sol = hard_normalization_limit(land, out_dim, norm_target)
    else:
        sol = normalized_global_minimum(normalized_landscape(land, kappa, norm_target), out_dim)
    return np.asarray(sol.gram, dtype=float), int(sol.rank)


def solve_classes(
    cp: ClassProblem,
    loss: str = "infonce",
    *,
    weight_decay: float = 0.0,
    beta: float = 0.5,
    quartic: float = 1.0,
    form: str = "derived",
    kappa: float | None = None,
    norm_target: float = 1.0,
    out_dim: int | None = None,
    rtol: float = 1e-6,
) -> ClassReport:
    r"""Global minimum of the (optionally normalized) landscape and each class direction's fate.

    ``kappa=None``: no normalization; finite κ: penalty κ(ρ − c)²; ``kappa=inf``:
    hard normalization.  Works for non-commuting problems too (the solvers
    whiten); then v_k is the variance of the representation of the component
    along u_k, which need not be an eigen-direction.

    >>> from landscape.studies.class_imbalance import class_problem
    >>> cp = class_problem([[1.0, 0.0], [-1.0, 0.0]], [0.5, 0.5], within_cov=[0.0, 1.0], aug_var=0.0)
    >>> rep = solve_classes(cp, "infonce")
    >>> [round(float(v), 6) for v in rep.representation_variance]     # whitened: ½ each
    [0.5, 0.5]
    """
    d = cp.problem.dim
    gram, rank = _solve_gram(
        cp.problem,
        loss,
        weight_decay=weight_decay,
        beta=beta,
        quartic=quartic,
        form=form,
        kappa=kappa,
        norm_target=norm_target,
        out_dim=int(out_dim or d),
    )
    a = direction_variances(cp)
    v = representation_variances(gram, cp.problem.sigma, cp.directions)
    vmax = float(np.max(representation_variances(gram, cp.problem.sigma, np.eye(d)))) if d else 0.0
    collapsed = v <= rtol * max(vmax, 1e-300)
    return ClassReport(a, v, collapsed, rank, gram)


@functools.partial(jax.jit, static_argnames=("loss", "form", "hard", "out_dim"))
def _batch_grams(a0, c, weight_decay, beta, quartic, norm_target, *, loss, form, hard, out_dim):
    """WᵀW and its rank at the global minimum (or its κ → ∞ limit) of every problem of a stack."""

    def one(a, cc, g):
        land = effective_landscape(Problem(a, cc), loss, form=form, quartic=quartic, weight_decay=g, beta=beta)
        sol = hard_normalization_limit(land, out_dim, norm_target) if hard else global_minimum(land, out_dim)
        return sol.gram, sol.rank

    return jax.vmap(one)(a0, c, weight_decay)


def solve_classes_batch(
    data_covs: Float[ArrayLike, "n d d"],
    aug_covs: Float[ArrayLike, "n d d"],
    directions: Float[ArrayLike, "*n K d"],
    loss: str = "infonce",
    *,
    weight_decay: Any = 0.0,
    beta: float = 0.5,
    quartic: float = 1.0,
    form: str = "derived",
    kappa: float | None = None,
    norm_target: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Representation variances v_k (n, K) and ranks (n,) of a stack of n problems (A0, C), in one call.

    The same global minimum as :func:`solve_classes` (no normalization, or
    ``kappa=inf``), vmapped over the stack under one compilation.
    ``data_covs`` and ``aug_covs`` are (n, d, d), ``directions`` the class
    directions (K, d) or (n, K, d); ``weight_decay`` one value or one per problem.

    >>> from landscape.studies.class_imbalance import minority_problem
    >>> cps = [minority_problem(p, aug_var=0.5) for p in (0.02, 0.3)]
    >>> v, r = solve_classes_batch([cp.problem.data_cov for cp in cps], [cp.problem.aug_cov for cp in cps],
    ...                            cps[0].directions, "infonce", weight_decay=0.3)
    >>> [bool(x > 0) for x in v[:, 0]], r.tolist()
    ([False, True], [3, 4])
    """
    if kappa is not None and not np.isinf(kappa):
        raise ValueError("solve_classes_batch solves kappa=None or kappa=inf; use solve_classes for finite κ")
    dt = jnp.result_type(float)
    a0 = np.asarray(data_covs, dtype=float)
    c = np.asarray(aug_covs, dtype=float)
    if a0.ndim != 3 or a0.shape[1] != a0.shape[2] or c.shape != a0.shape:
        raise ValueError(f"data_covs and aug_covs must be stacks (n, d, d) of one shape, got {a0.shape}, {c.shape}")
    u = np.broadcast_to(np.asarray(directions, dtype=float), (a0.shape[0], *np.shape(directions)[-2:]))
    g = jnp.broadcast_to(jnp.asarray(weight_decay, dt), (a0.shape[0],))
    gram, rank = _batch_grams(
        jnp.asarray(a0, dt),
        jnp.asarray(c, dt),
        g,
        jnp.asarray(beta, dt),
        jnp.asarray(quartic, dt),
        jnp.asarray(norm_target, dt),
        loss=loss,
        form=form,
        hard=kappa is not None,
        out_dim=int(a0.shape[1]),
    )
    gram = np.asarray(gram)
    sig = a0 + c
    v = np.einsum("nkd,nde,nke->nk", u, sig, u) * np.einsum("nkd,nde,nke->nk", u, gram, u)
    return v, np.asarray(rank, int)


def critical_proportion_numeric(
    make: Callable[[float], ClassProblem],
    loss: str = "infonce",
    *,
    class_index: int = 0,
    p_low: float = 1e-6,
    p_high: float = 0.5,
    iterations: int = 50,
    **solve_kwargs: Any,
) -> float:
    r"""p_c by bisection on p: the smallest p at which class ``class_index`` keeps its direction.

    ``make(p)`` builds the class problem at minority proportion p;
    ``solve_kwargs`` go to :func:`solve_classes` (``kappa`` for normalization).
    Assumes "kept" is monotone in p on [p_low, p_high] (true when raising a_e
    raises ℓ_e, as for InfoNCE and β-InfoNCE).  Returns p_low if kept already
    there and p_high if still collapsed there.

    >>> from landscape.studies.class_imbalance import critical_proportion, minority_problem
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
