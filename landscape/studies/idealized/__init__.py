r"""Idealized representations (Dubois et al. 2022): the verifier, Cover counts, W_n, linear ISSL, DISSL.

A finite input set X is split by augmentations into C equivalence classes; a
task is any labelling of the classes; a linear probe is an affine arg-max
classifier.  Theorem 1 of the paper (paraphrased in the spec) says an encoder
φ is ideal for linear probes iff

1. **invariance** — equivalent inputs share one code, φ(x) = φ(x⁺);
2. **linear predictability** — an affine arg-max probe recovers the class from φ(x);
3. **dimension** — the codes span at least C − 1 dimensions.

We read condition 3 as the *affine* (centred) rank of the class codes, because
with a bias term the uncentred span is not enough: the four codes (±1, ±1, 1)
have uncentred rank 3 = C − 1 but centred rank 2, and the XOR labelling of
them is not separable (:func:`d3_counter_example`).

Modules, by what they compute (each name below is re-exported here):

* :mod:`~landscape.studies.idealized.separability` — :func:`separable`, whether an
  affine arg-max probe separates a labelled code table, by a linear program
  (scipy's HiGHS, installed with JAX); the module the others build on;
* :mod:`~landscape.studies.idealized.verifier` — :func:`verify_ideal`, the three
  conditions on a finite table (codes, labels), with the example tables
  :func:`d3_counter_example` and :func:`regular_simplex`;
* :mod:`~landscape.studies.idealized.cover_counts` — :func:`cover_count`,
  :func:`cover_fraction`, :func:`count_separable_dichotomies`,
  :func:`count_realizable_labelings` — Cover's function-counting theorem,
  2·Σ_{k≤d} C(C−1, k) affinely separable dichotomies of C points in general
  position in R^d, and the brute-force count it predicts;
* :mod:`~landscape.studies.idealized.worst_case` — :func:`worst_case_risk` (and
  :func:`worst_case_risk_uniform`): W_n = Σ_c p_c (1 − p_c)^n for invariant,
  affinely independent codes (the worst empirical-risk minimiser errs exactly on
  the classes missing from the sample), and :func:`worst_case_risk_monte_carlo`,
  the same quantity by sampling and linear programs for any code table;
* :mod:`~landscape.studies.idealized.issl` — :func:`issl_data`, :func:`issl_log_loss`,
  :func:`linear_issl`, :func:`linear_issl_sweep` — gradient descent of a linear
  encoder and linear softmax head on the ISSL log-loss over a finite augmented
  set (spec T3);
* :mod:`~landscape.studies.idealized.dissl` — :func:`dissl_spread_loss`,
  :func:`spread_distribution`, :func:`dissl_batch_loss`, :func:`dissl_optimal_spread`,
  :func:`dissl_descend` — the per-batch DISSL landscape of spec T4: with
  samples spread uniformly over g of C pseudo-classes in a batch of B,
  L(g) = (1 + β) log g − λ log min(B·g, C), optimal at g* = C/B when λ > 1 + β;
* :mod:`~landscape.studies.idealized.contrastive_simplex` — :func:`cissl_simplex_loss`,
  :func:`simclr_simplex_loss` — the contrastive losses at perfectly aligned
  regular-simplex embeddings (check D6);
* :mod:`~landscape.studies.idealized.augmentation` — :func:`augmentation_knob`, the
  single-scalar SimCLR augmentation strength of the authors' code (check D8).

The modules import only :mod:`separability` among themselves (and
:mod:`landscape.metrics`), so there is no cycle.  The worst-case risk and linear
ISSL modules are called ``worst_case`` and ``issl`` rather than after their
functions, so that a function re-exported here never hides its module.

Example:
    >>> import numpy as np
    >>> from landscape.studies import idealized
    >>> codes = np.eye(3)                          # a simplex: 3 classes in R³
    >>> rep = idealized.verify_ideal(codes, [0, 1, 2])
    >>> rep.ideal, rep.centred_rank
    (True, 2)
    >>> idealized.cover_count(5, 2), round(float(idealized.worst_case_risk_uniform(10, 20)), 4)
    (22, 0.1216)
"""

from landscape.studies.idealized.augmentation import augmentation_knob
from landscape.studies.idealized.contrastive_simplex import cissl_simplex_loss, simclr_simplex_loss
from landscape.studies.idealized.cover_counts import (
    count_realizable_labelings,
    count_separable_dichotomies,
    cover_count,
    cover_fraction,
)
from landscape.studies.idealized.dissl import (
    dissl_batch_loss,
    dissl_descend,
    dissl_optimal_spread,
    dissl_spread_loss,
    spread_distribution,
)
from landscape.studies.idealized.issl import (
    ISSLData,
    ISSLRun,
    issl_data,
    issl_log_loss,
    linear_issl,
    linear_issl_sweep,
)
from landscape.studies.idealized.separability import separable
from landscape.studies.idealized.verifier import IdealReport, d3_counter_example, regular_simplex, verify_ideal
from landscape.studies.idealized.worst_case import (
    worst_case_risk,
    worst_case_risk_monte_carlo,
    worst_case_risk_uniform,
)

__all__ = [
    "IdealReport",
    "verify_ideal",
    "separable",
    "cover_count",
    "cover_fraction",
    "count_separable_dichotomies",
    "count_realizable_labelings",
    "d3_counter_example",
    "regular_simplex",
    "worst_case_risk",
    "worst_case_risk_uniform",
    "worst_case_risk_monte_carlo",
    "ISSLData",
    "ISSLRun",
    "issl_data",
    "issl_log_loss",
    "linear_issl",
    "linear_issl_sweep",
    "dissl_spread_loss",
    "spread_distribution",
    "dissl_batch_loss",
    "dissl_optimal_spread",
    "dissl_descend",
    "cissl_simplex_loss",
    "simclr_simplex_loss",
    "augmentation_knob",
]
