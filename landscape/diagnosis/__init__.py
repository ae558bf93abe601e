"""Diagnose a real SSL run: estimate A0 and C from two views, predict the projector's collapse, compare.

* :mod:`~landscape.diagnosis.estimate` — A0 and C from two views: one-shot, shrunk, bootstrapped,
  or streamed over a data loader (:func:`init`, :func:`update`, :func:`finalize`; with the
  streamed bootstrap ``init(d, bootstrap=R)`` and :func:`finalize_bootstrap`);
* :mod:`~landscape.diagnosis.predict` — :func:`diagnose`: the kept and collapsed directions,
  the predicted rank, the critical weight decay and augmentation scale per direction;
* :mod:`~landscape.diagnosis.stream` — :func:`diagnose_from_moments`: the same from streamed sums;
* :mod:`~landscape.diagnosis.compare` — :func:`compare`: a trained last layer (or the embeddings
  of the two views) against the prediction, with the metrics of :mod:`landscape.metrics`.

The package is ``diagnosis`` so that ``landscape.diagnose`` can be the function.

>>> import numpy as np
>>> from landscape.diagnosis import diagnose
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(2000, 3)) * [2.0, 1.0, 0.3]
>>> noise = lambda: 0.5 * rng.normal(size=x.shape)
>>> result = diagnose(x + noise(), x + noise(), loss="beta-infonce", beta=0.5, weight_decay=0.2)
>>> result.predicted_rank, result.kept
(2, (True, True, False))
"""

from landscape.diagnosis.compare import Comparison, compare, last_layer_from_embeddings, predicted_spectrum
from landscape.diagnosis.estimate import (
    Covariances,
    MomentSums,
    ReplicateSums,
    bootstrap_covariances,
    check_views,
    estimate_covariances,
    finalize,
    finalize_bootstrap,
    init,
    update,
    update_counts,
)
from landscape.diagnosis.normalized import Normalization
from landscape.diagnosis.predict import Diagnosis, critical_aug_scales, diagnose, predict_from_covariances
from landscape.diagnosis.stream import diagnose_from_moments

__all__ = [
    "Comparison",
    "Covariances",
    "Diagnosis",
    "MomentSums",
    "Normalization",
    "ReplicateSums",
    "bootstrap_covariances",
    "check_views",
    "compare",
    "critical_aug_scales",
    "diagnose",
    "diagnose_from_moments",
    "estimate_covariances",
    "finalize",
    "finalize_bootstrap",
    "init",
    "last_layer_from_embeddings",
    "predict_from_covariances",
    "predicted_spectrum",
    "update",
    "update_counts",
]
