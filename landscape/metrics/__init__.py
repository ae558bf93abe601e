r"""Collapse and geometry metrics: ranks, spectra, invariance, subspaces and probes.

One module per thing measured, all names re-exported here:

* :mod:`~landscape.metrics.spectra` — ranks and spectra of a covariance
  (:func:`covariance`, :func:`spectrum`, :func:`effective_rank`, :func:`rankme`,
  :func:`numerical_rank`, :func:`participation_ratio`, :func:`alpha_req`,
  :func:`explained_variance`, :func:`normalized_std`, :func:`distance_to_etf`);
* :mod:`~landscape.metrics.invariance` — the augmentation-variance fraction and
  the invariance gain of a map or of sampled view pairs;
* :mod:`~landscape.metrics.subspaces` — bases, principal angles, top and
  kept/removed subspaces, local-PCA tangents;
* :mod:`~landscape.metrics.probes` — linear and ridge probes, R², accuracy.

**Which matrix.**  No metric here measures WᵀW: the Gram spectrum of a linear
model's weights is :func:`landscape.core.linalg.gram_spectrum`, and its rank the
survival rule of :mod:`landscape.core.linalg`.  The spectral metrics measure the
covariance of the features they are given; the probes regress on the features
they are given; the invariance metrics measure the map or the outputs they are
given.

Every metric says which matrix it measures.  Two words are used throughout:

* **representation** — the encoder output h = f(x), the features one transfers;
* **embedding** — the projector output z = g(f(x)), the features the SSL loss sees.

The metrics do not care which of the two they get; the caller decides, and the
figure or report that shows a number names the layer.

**Features or covariance.**  The spectral metrics (:func:`effective_rank`,
:func:`numerical_rank`, :func:`participation_ratio`, :func:`alpha_req`,
:func:`explained_variance`) take either an N×D feature matrix (rows are samples)
or, with ``covariance=True``, a D×D covariance.  From features they measure the
covariance (1/N)·X_cᵀX_c of the *centred* rows (``center=True``, default) or the
second moment (1/N)·XᵀX (``center=False``).  The eigenvalues are computed from
the singular values of the N×D matrix, never from a formed D×D product, so that
tiny eigenvalues keep their relative accuracy in float32.

**Few samples.**  With N ≤ D, the centred N×D matrix has rank at most N − 1
(the rows sum to zero) and the uncentred one at most N.  The metrics report
exactly that: no 1/N floor and no regulariser is added, so a rank-deficient
sample gives a rank-deficient answer.  The spectrum always has length D (zeros
beyond rank), so shapes are static under ``jax.jit`` and ``jax.vmap``.

All metrics are pure JAX functions of arrays; they run under ``jit`` (keyword
flags such as ``covariance`` and ``center`` are static) and ``vmap``, in
float32 and float64.  Quantities that are undefined (the AVF of the zero map,
the explained variance of a zero matrix) come back as NaN, never as a number
that looks valid.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape import metrics
    >>> float(metrics.effective_rank(jnp.eye(4), covariance=True))
    4.0
    >>> x = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])   # variance on one axis only
    >>> int(metrics.numerical_rank(x)), float(metrics.participation_ratio(x))
    (1, 1.0)
"""

from __future__ import annotations

from landscape.metrics.invariance import (
    avf_linear,
    avf_network,
    avf_samples,
    invariance_gain_linear,
    invariance_gain_samples,
)
from landscape.metrics.probes import (
    Probe,
    accuracy,
    fit_probe,
    population_probe_r2,
    probe_accuracy,
    probe_predict,
    probe_r2,
    r2_score,
)
from landscape.metrics.spectra import (
    alpha_req,
    covariance,
    distance_to_etf,
    effective_rank,
    explained_variance,
    normalized_std,
    numerical_rank,
    participation_ratio,
    rankme,
    spectrum,
)
from landscape.metrics.subspaces import (
    kept_removed_subspaces,
    local_pca_tangents,
    orthonormal_basis,
    principal_angles,
    top_subspace,
)

__all__ = [
    "covariance",
    "spectrum",
    "effective_rank",
    "rankme",
    "numerical_rank",
    "participation_ratio",
    "alpha_req",
    "normalized_std",
    "explained_variance",
    "distance_to_etf",
    "avf_linear",
    "invariance_gain_linear",
    "avf_samples",
    "avf_network",
    "invariance_gain_samples",
    "orthonormal_basis",
    "principal_angles",
    "top_subspace",
    "kept_removed_subspaces",
    "local_pca_tangents",
    "Probe",
    "fit_probe",
    "probe_predict",
    "r2_score",
    "accuracy",
    "probe_r2",
    "probe_accuracy",
    "population_probe_r2",
]
