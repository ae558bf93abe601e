r"""Class-imbalanced data in the linear theory: which class directions survive SSL.

K classes with means μ_k and proportions p_k form a centred mixture with
A0 = Σ_k p_k (μ_k − μ̄)(μ_k − μ̄)ᵀ + S_w; class k's direction u_k = (μ_k − μ̄)/‖μ_k − μ̄‖
has data variance p(1 − p)m² + w for two classes separated by m.  Without
normalization the direction collapses iff that variance falls to the threshold
a_thr = (γ − q_B c)/p_B, so a minority class below the **critical proportion**
p_c = ½ − ½·sqrt(1 − 4(a_thr − w)/m²) loses its direction at the global minimum.

Modules, by what they compute:

* :mod:`~landscape.studies.class_imbalance.model`        the class problem (centred mixture, class
  directions, augmentation covariances), the two-class minority problem
* :mod:`~landscape.studies.class_imbalance.closed_form`  per-direction closed forms: collapse threshold,
  representation variance, critical proportion (no normalization and κ → ∞)
* :mod:`~landscape.studies.class_imbalance.solve`        the global minimum of a class problem and each
  direction's fate; the critical proportion by bisection (any κ)
* :mod:`~landscape.studies.class_imbalance.sampling`     finite samples: points, the empirical problem,
  how often a sample loses a direction
* :mod:`~landscape.studies.class_imbalance.probes`       per-class held-out accuracy of a linear probe
* :mod:`~landscape.studies.class_imbalance.network`      the digits MLP trained with InfoNCE (a submodule,
  not imported here: it needs optax)
* :mod:`~landscape.studies.class_imbalance.supervised`   the supervised baseline: ridge and a trained
  linear classifier (a submodule)

Example:
    >>> cp = class_problem([[2.0, 0.0], [-2.0, 0.0]], [0.5, 0.5], within_cov=0.1, aug_var=0.5)
    >>> [round(float(v), 6) for v in direction_variances(cp)]     # p(1-p)m² + w = 4 + 0.1
    [4.1, 4.1]
    >>> round(critical_proportion(4.0, 0.1, 0.5, "infonce", weight_decay=1.0), 6)     # p(1-p)·16 + 0.1 = γ
    0.05983
"""

from landscape.studies.class_imbalance.closed_form import (
    closed_form_representation_variance,
    collapse_variance,
    critical_proportion,
    hard_normalization_critical_proportion,
    two_class_variance,
)
from landscape.studies.class_imbalance.model import (
    ClassProblem,
    check_proportions,
    class_problem,
    direction_variances,
    minority_problem,
    subspace_aug_cov,
)
from landscape.studies.class_imbalance.probes import class_probe_accuracy, probe_study, representation_map
from landscape.studies.class_imbalance.sampling import (
    empirical_class_problem,
    sample_classes,
    sampled_collapse_fraction,
)
from landscape.studies.class_imbalance.solve import (
    ClassReport,
    critical_proportion_numeric,
    representation_variances,
    solve_classes,
    solve_classes_batch,
)

__all__ = [
    "ClassProblem",
    "class_problem",
    "check_proportions",
    "direction_variances",
    "representation_variances",
    "two_class_variance",
    "collapse_variance",
    "closed_form_representation_variance",
    "critical_proportion",
    "hard_normalization_critical_proportion",
    "solve_classes",
    "solve_classes_batch",
    "ClassReport",
    "critical_proportion_numeric",
    "minority_problem",
    "sample_classes",
    "empirical_class_problem",
    "subspace_aug_cov",
    "representation_map",
    "class_probe_accuracy",
    "probe_study",
    "sampled_collapse_fraction",
]
