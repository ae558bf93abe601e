"""What every solver returns: the closed form and gradient flow share this type.

A :class:`Solution` holds one weight matrix W (d1×d0) and what follows from it:
the Gram matrix WᵀW, its spectrum, its rank and the loss.  The closed form also
fills the whitened spectrum and the kept directions; a gradient-flow run also
fills the trajectory, the event times and the divergence report.  Fields that a
route does not produce are ``None`` (an empty pytree), so a ``Solution`` can be
jitted, vmapped and stacked whichever route made it.

Every ``rank`` follows the one survival rule of :mod:`landscape.core.linalg`: the
closed form counts whitened eigenvalues λ above 16·eps·max|λ|, a trained W counts
Gram eigenvalues above both 16·eps·max|λ|/(2k·s_min) (the largest Gram
eigenvalue the landscape allows) and ``rank_rtol`` times the largest one.  ``rank`` is −1 when the values it counts
are not finite: a NaN is never read as complete collapse.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self

import jax

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.effective_landscape import loss as landscape_loss
from landscape.core.linalg import gram_spectrum, surviving_rank
from landscape.core.spectrum import rank_scales

__all__ = ["Solution", "solution_from_weights", "gram_spectrum", "trained_rank"]

DEFAULT_RANK_RTOL = 1e-6


@dataclasses.dataclass(frozen=True)
class Solution:
    """A point of the landscape and its spectrum.

    Attributes:
        weights: one W (d1×d0) that attains the point (W is fixed only up to a left rotation).
        gram: WᵀW (d0×d0).
        gram_eigenvalues: eigenvalues of WᵀW, descending (d0,).
        rank: number of surviving directions (:mod:`landscape.core.linalg`); −1 if its values are not finite.
        loss: the landscape's loss at W.
        whitened_eigenvalues: eigenvalues of Σ^{-1/2}(B − γI)Σ^{-1/2}, descending (closed form).
        kept: which of those eigen-directions are kept, bool (d0,) (closed form).
        directions: unit input-space directions Σ^{-1/2}u_i as columns, same order (closed form).
        times, trajectory_eigenvalues, trajectory_loss: save points of a flow.
        event_times: first time each WᵀW eigenvalue crosses the flow's threshold (ODE route).
        diverged: whether a flow diverged; diverged_step: the first non-finite or exploding step (−1 if none).
        near_threshold: number of directions whose whitened eigenvalue (or eigenvalue of B − γI)
            is within twice the survival tolerance of 0, whose survival the dtype cannot decide
            (closed form).  ``rank`` and
            :func:`~landscape.predicted_rank` can disagree only when it is ≥ 1.
    """

    weights: jax.Array
    gram: jax.Array
    gram_eigenvalues: jax.Array
    rank: jax.Array
    loss: jax.Array
    whitened_eigenvalues: jax.Array | None = None
    kept: jax.Array | None = None
    directions: jax.Array | None = None
    times: jax.Array | None = None
    trajectory_eigenvalues: jax.Array | None = None
    trajectory_loss: jax.Array | None = None
    event_times: jax.Array | None = None
    diverged: jax.Array | None = None
    diverged_step: jax.Array | None = None
    near_threshold: jax.Array | None = None

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


jax.tree_util.register_dataclass(
    Solution,
    data_fields=[f.name for f in dataclasses.fields(Solution)],
    meta_fields=[],
)


def trained_rank(eigenvalues: jax.Array, scale: jax.Array, rtol: float = DEFAULT_RANK_RTOL) -> jax.Array:
    """Rank of a trained W's Gram spectrum: the survival rule with scale ``scale`` and cut ``rtol``·max.

    ``scale`` is the landscape's Gram scale (:func:`~landscape.rank_scales`), so
    a completely collapsed W (largest eigenvalue 1e-114) has rank 0, not 1.
    """
    return surviving_rank(eigenvalues, scale, rtol=rtol)


def solution_from_weights(
    landscape: EffectiveLandscape, w: jax.Array, *, rank_rtol: float = DEFAULT_RANK_RTOL, **extra: Any
) -> Solution:
    """Wrap a weight matrix W as a :class:`Solution` on ``landscape``."""
    eig = gram_spectrum(w)
    return Solution(
        weights=w,
        gram=w.T @ w,
        gram_eigenvalues=eig,
        rank=trained_rank(eig, rank_scales(landscape).gram, rank_rtol),
        loss=landscape_loss(landscape, w),
        **extra,
    )
