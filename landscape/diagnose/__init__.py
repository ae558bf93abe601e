"""Diagnose a real SSL run: estimate A0 and C from two views and predict the projector's collapse.

>>> import numpy as np
>>> from landscape.diagnose import diagnose
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(2000, 3)) * [2.0, 1.0, 0.3]
>>> noise = lambda: 0.5 * rng.normal(size=x.shape)
>>> result = diagnose(x + noise(), x + noise(), loss="beta-infonce", beta=0.5, weight_decay=0.2)
>>> result.predicted_rank, result.kept
(2, (True, True, False))
"""

from landscape.diagnose.estimate import (
    Covariances,
    MomentSums,
    bootstrap_covariances,
    check_views,
    estimate_covariances,
    finalize,
    init,
    update,
)
from landscape.diagnose.predict import Diagnosis, critical_aug_scales, diagnose

__all__ = [
    "Covariances",
    "Diagnosis",
    "MomentSums",
    "bootstrap_covariances",
    "check_views",
    "critical_aug_scales",
    "diagnose",
    "estimate_covariances",
    "finalize",
    "init",
    "update",
]
