r"""The diagnosis of a data loader: predict from accumulated moments instead of the views in memory.

Accumulate the paired batches with :func:`landscape.diagnosis.estimate.init` and
the jitted :func:`landscape.diagnosis.estimate.update`, then call
:func:`diagnose_from_moments` on the sums (or on a
:class:`~landscape.diagnosis.estimate.Covariances` from any other estimator).
The prediction is the one of :func:`landscape.diagnosis.predict.diagnose` on the
same estimates (module docstring there); the bootstrap needs the samples, so
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

import jax.numpy as jnp
import numpy as np

from landscape.core.linalg import spectral_scale, survives
from landscape.core.problem import Problem
from landscape.diagnosis.estimate import Covariances, MomentSums, check_views, finalize
from landscape.diagnosis.predict import Diagnosis, critical_aug_scales
from landscape.losses.effective import effective_landscape, quadratic_form
from landscape.theory.collapse_thresholds import predicted_rank

__all__ = ["diagnose_from_moments", "predict_from_covariances"]


def predict_from_covariances(
    est: Covariances,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    interval: Any = None,
    **loss_params: Any,
) -> Diagnosis:
    """The :class:`~landscape.diagnosis.predict.Diagnosis` of estimates ``est`` (per-direction arrays in
    order of decreasing data variance).

    Args:
        est: the estimates (A0, C and the view statistics the warnings use).
        loss, form, loss_params: the loss and its B form, as in :func:`landscape.losses.quadratic_form`.
        weight_decay: γ ≥ 0.
        out_dim: the projector's output dimension d1 (default d).
        interval: the bootstrap percentile interval of the eigenvalues b_i of B in descending
            order (d×2), or None: a direction whose interval of b_i − γ contains 0 is undecided.
    """
    d = est.data_cov.shape[0]
    out_dim = d if out_dim is None else out_dim
    qf = quadratic_form(loss, form=form, **loss_params)
    land = effective_landscape(
        Problem(est.data_cov, est.aug_cov), loss, form=form, weight_decay=weight_decay, **loss_params
    )
    rank = int(predicted_rank(land, out_dim))
    b_vals, b_vecs = jnp.linalg.eigh(0.5 * (land.b + land.b.T))
    b_vals, b_vecs = b_vals[::-1], b_vecs[:, ::-1]
    gamma = float(weight_decay)
    alive = np.asarray(survives(b_vals - gamma, spectral_scale(b_vals - gamma)))
    interval = None if interval is None else np.asarray(interval, float)
    kept: list[bool | None] = [bool(k) for k in alive]
    if interval is not None:
        for i in range(d):
            if interval[i, 0] - gamma < 0.0 < interval[i, 1] - gamma:
                kept[i] = None
    crit_c = critical_aug_scales(est.data_cov, est.aug_cov, b_vecs, float(qf.data_coef), float(qf.aug_coef), gamma)
    var = np.einsum("ji,jk,ki->i", np.asarray(b_vecs), np.asarray(est.data_cov), np.asarray(b_vecs))
    order = np.argsort(-var, kind="stable")
    messages = check_views(est)
    return Diagnosis(
        data_cov=est.data_cov,
        aug_cov=est.aug_cov,
        directions=b_vecs[:, order],
        data_variance=jnp.asarray(var[order]),
        b_eigenvalues=b_vals[order],
        predicted_rank=rank,
        kept=tuple(kept[i] for i in order),
        critical_weight_decay=jnp.maximum(b_vals[order], 0.0),
        critical_aug_scale=jnp.asarray(crit_c[order]),
        b_interval=None if interval is None else jnp.asarray(interval[order]),
        warnings=tuple(messages),
    )


def diagnose_from_moments(
    moments: MomentSums | Covariances,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    *,
    shrinkage: float = 0.0,
    **loss_params: Any,
) -> Diagnosis:
    """Predict the collapse from streamed sums (:func:`~landscape.diagnosis.estimate.update`) or estimates.

    Args:
        moments: a :class:`~landscape.diagnosis.estimate.MomentSums` (finalized here, with the numeric
            ``shrinkage`` ρ ∈ [0, 1]) or a :class:`~landscape.diagnosis.estimate.Covariances` (used as is).
        loss, weight_decay, out_dim, form, loss_params: as in :func:`landscape.diagnosis.predict.diagnose`.

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
    return predict_from_covariances(est, loss, weight_decay, out_dim, form, **loss_params)
