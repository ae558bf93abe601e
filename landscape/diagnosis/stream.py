r"""The diagnosis of a data loader: predict from accumulated moments instead of the views in memory.

Accumulate the paired batches with :func:`landscape.diagnosis.estimate.init` and
the jitted :func:`landscape.diagnosis.estimate.update`, then call
:func:`diagnose_from_moments` on the sums (or on a
:class:`~landscape.diagnosis.estimate.Covariances` from any other estimator).
The prediction is :func:`landscape.diagnosis.predict.predict_from_covariances`, the
one of :func:`landscape.diagnosis.predict.diagnose` on the same estimates (module
docstring there), normalization included; the bootstrap needs the samples, so
``kept`` is True or False here, never None (undecided).

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
"""

from __future__ import annotations

from typing import Any

from landscape.diagnosis.estimate import Covariances, MomentSums, finalize
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
        :class:`~landscape.diagnosis.predict.Diagnosis` without bootstrap intervals.  Raises
        ValueError when fewer than two samples were accumulated or a sum is not finite.
    """
    if isinstance(moments, MomentSums):
        est = finalize(moments, shrinkage=shrinkage)
    elif isinstance(moments, Covariances):
        if shrinkage:
            raise ValueError("shrinkage applies to MomentSums; shrink a Covariances before passing it")
        est = moments
    else:
        raise ValueError(f"moments must be a MomentSums or a Covariances; got {type(moments).__name__}")
    return predict_from_covariances(est, loss, weight_decay, out_dim, form, normalization=normalization, **loss_params)
