r"""Finite samples of a class problem: drawing points, the empirical problem, how often a direction is lost.

A small minority class has few samples, so the empirical Â0 of a sample differs
from A0; :func:`sampled_collapse_fraction` measures how often this drops a
direction at the global minimum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.core.linalg import sym_sqrt
from landscape.core.problem import Problem
from landscape.studies.class_imbalance.model import ClassProblem
from landscape.studies.class_imbalance.solve import _solve_gram

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = ["sample_classes", "empirical_class_problem", "sampled_collapse_fraction"]


def sample_classes(
    rng: np.random.Generator, cp: ClassProblem, n: int, *, stratified: bool = False, centered: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw n clean points x = μ_k (− μ̄ if ``centered``) + N(0, S_w) with labels k.

    Class counts are multinomial(n, p), or round(n·p_k) (at least 1 each) when
    ``stratified``.  A small minority class then has few samples, so the
    empirical Â0 differs from A0: this is the finite-sample effect.

    >>> from landscape.studies.class_imbalance import minority_problem
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
    root = np.asarray(sym_sqrt(sw), dtype=float)  # symmetric: x = mean + Σ_w^{1/2} z
    x = cp.means[labels] - shift + rng.standard_normal((n, sw.shape[0])) @ root
    return x, labels


def empirical_class_problem(x: Float[ArrayLike, "n d"], aug_cov: Float[ArrayLike, "d d"]) -> Problem:
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


def sampled_collapse_fraction(
    rng: np.random.Generator,
    cp: ClassProblem,
    n: int,
    *,
    repeats: int = 100,
    loss: str = "infonce",
    **solve_kwargs: Any,
) -> float:
    r"""Fraction of size-``n`` samples whose empirical problem loses a direction (rank < d).

    Each repeat draws n points (multinomial class counts), forms Â0 from them
    with the problem's C, and solves the global minimum.  On a sample Â0 the
    class direction is mixed slightly with the others, so "the minority is
    collapsed" is read from the rank (a direction of Â0 dropped), which is
    the minority's when every other direction is well above threshold.  For
    small within-class spread the fraction is close to P(p̂ ≤ p_c) under the
    binomial law of the minority count.

    >>> from landscape.studies.class_imbalance import minority_problem
    >>> cp = minority_problem(0.08, aug_var=0.5, n_background=1)
    >>> sampled_collapse_fraction(np.random.default_rng(0), cp, 2000, repeats=5, weight_decay=0.3)
    0.0
    """
    d = cp.problem.dim
    lost = 0
    for _ in range(int(repeats)):
        x, _ = sample_classes(rng, cp, n)
        emp = empirical_class_problem(x, cp.problem.aug_cov)
        gram, rank = _solve_gram(
            emp,
            loss,
            weight_decay=solve_kwargs.get("weight_decay", 0.0),
            beta=solve_kwargs.get("beta", 0.5),
            quartic=solve_kwargs.get("quartic", 1.0),
            form=solve_kwargs.get("form", "derived"),
            kappa=solve_kwargs.get("kappa"),
            norm_target=solve_kwargs.get("norm_target", 1.0),
            out_dim=d,
        )
        lost += rank < d
    return lost / int(repeats)
