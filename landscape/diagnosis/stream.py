r"""The diagnosis of a data loader: predict from accumulated moments instead of the views in memory.

Accumulate the paired batches with :func:`landscape.diagnosis.estimate.init` and
the jitted :func:`landscape.diagnosis.estimate.update`, then call
:func:`diagnose_from_moments` on the sums (or on a
:class:`~landscape.diagnosis.estimate.Covariances` from any other estimator).
The prediction is :func:`landscape.diagnosis.predict.predict_from_covariances`, the
one of :func:`landscape.diagnosis.predict.diagnose` on the same estimates (module
docstring there), normalization included.  With ``init(d, bootstrap=R, seed=s)``
the sums carry R replicates of the streamed (Poisson, "online") bootstrap
(:mod:`landscape.diagnosis.estimate`: replicate r weights row k by w_kr ~ Poisson(1));
their (A0_r, C_r) enter the prediction as the one-shot replicates of
``diagnose(..., bootstrap=R)`` do, so the intervals and the undecided directions
(``kept`` None where the interval of b_i − γ contains 0) come out the same way.
Without it ``kept`` is True or False, never None.  The counts are drawn batch by
batch: a fixed seed and batching give the same numbers, another batching other
(equally distributed) ones.

Example:
    >>> import numpy as np
    >>> from landscape.diagnosis import diagnose, diagnose_from_moments, init, update
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 3)) * [2.0, 1.0, 0.3]
    >>> v1, v2 = x + 0.5 * rng.normal(size=x.shape), x + 0.5 * rng.normal(size=x.shape)
    >>> sums = init(3)
    >>> for i in range(0, 2000, 500):             # one batch at a time, as from a data loader
    ...     sums = update(sums, v1[i:i + 500], v2[i:i + 500])
    >>> streamed = diagnose_from_moments(sums, loss="beta-infonce", beta=0.5, weight_decay=0.2)
    >>> whole = diagnose(v1, v2, loss="beta-infonce", beta=0.5, weight_decay=0.2)
    >>> streamed.kept == whole.kept, bool(np.allclose(streamed.b_eigenvalues, whole.b_eigenvalues))
    (True, True)
    >>> sums = init(3, bootstrap=100, seed=0)      # with R = 100 replicates of the streamed bootstrap
    >>> for i in range(0, 2000, 500):
    ...     sums = update(sums, v1[i:i + 500], v2[i:i + 500])
    >>> near = diagnose_from_moments(sums, loss="beta-infonce", beta=0.5, weight_decay=0.36)
    >>> near.b_interval.shape, near.kept              # b_2 ≈ 0.36 = γ: undecided
    ((3, 2), (True, None, False))
"""

from __future__ import annotations

from typing import Any

from landscape.diagnosis.estimate import Covariances, MomentSums, finalize, finalize_bootstrap
from landscape.diagnosis.normalized import Normalization
from landscape.diagnosis.predict import Diagnosis, predict_from_covariances

__all__ = ["diagnose_from_moments"]


def diagnose_from_moments(
    moments: MomentSums | Covariances,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    *,
    shrinkage: float = 0.0,
    normalization: Normalization | None = None,
    **loss_params: Any,
) -> Diagnosis:
    """Predict the collapse from streamed sums (:func:`~landscape.diagnosis.estimate.update`) or estimates.

    Args:
        moments: a :class:`~landscape.diagnosis.estimate.MomentSums` (finalized here, with the numeric
            ``shrinkage`` ρ ∈ [0, 1]) or a :class:`~landscape.diagnosis.estimate.Covariances` (used as is).
        loss, weight_decay, out_dim, form, normalization, loss_params: as in
            :func:`landscape.diagnosis.predict.diagnose`.

    Returns:
        :class:`~landscape.diagnosis.predict.Diagnosis`, with the intervals of the streamed bootstrap
        when the sums carry replicates (``init(d, bootstrap=R)``; they are of the unshrunk
        estimator), else without.  Raises ValueError when fewer than two samples were accumulated
        (in any replicate) or a sum is not finite.
    """
    reps = None
    if isinstance(moments, MomentSums):
        est, reps = finalize(moments, shrinkage=shrinkage), finalize_bootstrap(moments)
    elif isinstance(moments, Covariances):
        if shrinkage:
            raise ValueError("shrinkage applies to MomentSums; shrink a Covariances before passing it")
        est = moments
    else:
        raise ValueError(f"moments must be a MomentSums or a Covariances; got {type(moments).__name__}")
    return predict_from_covariances(
        est, loss, weight_decay, out_dim, form, replicates=reps, normalization=normalization, **loss_params
    )
