r"""landscape: the loss landscape of self-supervised learning, solved.

The linear theory (Ziyin, Lubana, Ueda, Tanaka, ICLR 2023): every SSL loss reduces
near the origin to

    L(W) = −Tr[W B Wᵀ] + k·Tr[(W Σ Wᵀ)²] + γ‖W‖²,

whose stationary points are all in closed form.  The package follows one data path,
and its sub-packages are layered along it (each imports only from those above it
in this list):

* :mod:`landscape.core`      the problem (A0, C), the effective landscape, the solution type, linear algebra
* :mod:`landscape.losses`    the loss → B table, the sample and population losses, symbolic derivations
* :mod:`landscape.metrics`   ranks and spectra, invariance, subspaces, probes
* :mod:`landscape.scan`      SSL-agnostic grids, chunked execution and the resumable store
* :mod:`landscape.theory`    closed forms: Theorem 1, per direction, thresholds, normalization, Theorem 2
* :mod:`landscape.dynamics`  training on the landscape: gradient descent, batched kernels, the ODE flow
* :mod:`landscape.nn`        networks, augmentations, data, training
* :mod:`landscape.phase`     named-parameter models, evaluation and boundaries for scans
* :mod:`landscape.diagnosis` A0 and C estimated from two views of real features, and the predicted collapse
* :mod:`landscape.plot`      figures from arrays and stored scans
* :mod:`landscape.studies`   one module per paper and topic (WS figures, class imbalance, beneficial
  collapse, Cosentino's encoder/projector, Dubois's idealized representations)
* :mod:`landscape.reproduction` the three papers' figures and claims, and the generated report
* :mod:`landscape.cli`       the ``landscape`` command

The names in ``__all__`` are where a user starts; they and the sub-packages load
on first use, so ``import landscape`` is cheap.

Example:
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 1.0], [1.0, 3.0])
    >>> best = ls.global_minimum(ls.effective_landscape(p, "beta-infonce", beta=0.5), out_dim=2)
    >>> int(best.rank)          # b = (a − c)/2: the second direction has b = −1 ≤ 0 and collapses
    1
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import Any

from landscape import _compat

try:
    __version__ = _metadata.version("landscape")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: Where each top-level name lives (loaded on first access).
_HOME = {
    # the problem, the landscape, the solution
    "Problem": "landscape.core.problem",
    "EffectiveLandscape": "landscape.core.effective_landscape",
    "effective_landscape": "landscape.losses.effective",
    "loss": "landscape.core.effective_landscape",
    "gradient": "landscape.core.effective_landscape",
    "hessian_at_origin": "landscape.core.effective_landscape",
    "landau_coefficients": "landscape.core.effective_landscape",
    "radial_slice": "landscape.core.effective_landscape",
    "spectral_halves_slice": "landscape.core.effective_landscape",
    "Solution": "landscape.core.solution",
    "solution_from_weights": "landscape.core.solution",
    "LOSSES": "landscape.losses.effective",
    "FORMS": "landscape.losses.effective",
    "quadratic_form": "landscape.losses.effective",
    # Theorem 1 and the collapse thresholds
    "global_minimum": "landscape.theory.stationary_points",
    "global_minimum_diagonal": "landscape.theory.stationary_points",
    "stationary_points": "landscape.theory.stationary_points",
    "whitened_spectrum": "landscape.theory.stationary_points",
    "RankScales": "landscape.theory.stationary_points",
    "rank_scales": "landscape.theory.stationary_points",
    "DirectionMinimum": "landscape.theory.per_direction",
    "direction_spectra": "landscape.theory.per_direction",
    "direction_minimum": "landscape.theory.per_direction",
    "sort_descending": "landscape.theory.per_direction",
    "Threshold": "landscape.theory.collapse_thresholds",
    "common_eigenbasis": "landscape.theory.collapse_thresholds",
    "critical_n_samples": "landscape.theory.collapse_thresholds",
    "critical_sigma2": "landscape.theory.collapse_thresholds",
    "critical_weight_decay": "landscape.theory.collapse_thresholds",
    "origin_type": "landscape.theory.collapse_thresholds",
    "predicted_rank": "landscape.theory.collapse_thresholds",
    # normalization (finite κ and κ → ∞) and Theorem 2 with bias
    "NormalizedLandscape": "landscape.theory.normalization",
    "NormalizedSolution": "landscape.theory.normalization",
    "NormalizationThreshold": "landscape.theory.normalization",
    "normalized_landscape": "landscape.theory.normalization",
    "normalized_loss": "landscape.theory.normalization",
    "normalized_gradient": "landscape.theory.normalization",
    "output_norm": "landscape.theory.normalization",
    "self_consistent_norm": "landscape.theory.normalization",
    "normalized_stationary_point_from_mask": "landscape.theory.normalization",
    "normalized_stationary_points": "landscape.theory.normalization",
    "normalized_global_minimum": "landscape.theory.normalization",
    "normalized_global_minimum_exact": "landscape.theory.normalization",
    "hard_normalization_limit": "landscape.theory.normalization",
    "survival_margins": "landscape.theory.normalization",
    "hard_collapse_thresholds": "landscape.theory.normalization",
    "biased_loss": "landscape.theory.bias",
    "biased_gradient": "landscape.theory.bias",
    "bias_global_minimum": "landscape.theory.bias",
    "bias_stationary_points": "landscape.theory.bias",
    "complete_collapse_point": "landscape.theory.bias",
    "CollapseHessian": "landscape.theory.bias",
    "complete_collapse_hessian": "landscape.theory.bias",
    "complete_collapse_type": "landscape.theory.bias",
    "exact_gaussian_infonce": "landscape.losses.population",
    "exact_gaussian_minimum": "landscape.theory.exact_gaussian_infonce",
    "exact_gaussian_gram_eigenvalues": "landscape.theory.exact_gaussian_infonce",
    # training
    "DivergenceError": "landscape.dynamics",
    "check_divergence": "landscape.dynamics",
    "random_init": "landscape.dynamics",
    "gradient_descent": "landscape.dynamics",
    "gradient_flow": "landscape.dynamics",
    "BatchedDescent": "landscape.dynamics",
    "batched_gradient_descent": "landscape.dynamics",
    "BatchedFlow": "landscape.dynamics",
    "batched_gradient_flow": "landscape.dynamics",
    "trajectory": "landscape.dynamics",
    "NesterovRestartState": "landscape.dynamics",
    "nesterov_restart": "landscape.dynamics",
    "normalized_gradient_descent": "landscape.dynamics",
    "normalized_max_stable_learning_rate": "landscape.dynamics",
    "max_stable_learning_rate": "landscape.dynamics",
    "hessian_top_eigenvalue": "landscape.dynamics",
    # diagnosis of a real run from two views of its features
    "Diagnosis": "landscape.diagnosis.predict",
    "diagnose": "landscape.diagnosis.predict",
    "diagnose_from_moments": "landscape.diagnosis.stream",
}

#: The sub-packages, loaded on first access (``ls.metrics``, ``ls.studies``, ...).
_SUBPACKAGES = (
    "core",
    "losses",
    "metrics",
    "scan",
    "theory",
    "dynamics",
    "nn",
    "phase",
    "diagnosis",
    "plot",
    "studies",
    "reproduction",
    "cli",
)

#: Names that were top-level attributes before the layered layout; they still work, with a warning.
_MOVED_ATTRIBUTES = {"ideal": "landscape.studies.idealized", "two_layer": "landscape.studies.encoder_projector"}

__all__ = [
    "__version__",
    "Problem",
    "effective_landscape",
    "EffectiveLandscape",
    "loss",
    "gradient",
    "hessian_at_origin",
    "LOSSES",
    "quadratic_form",
    "Solution",
    "global_minimum",
    "stationary_points",
    "whitened_spectrum",
    "direction_spectra",
    "direction_minimum",
    "predicted_rank",
    "origin_type",
    "critical_sigma2",
    "critical_weight_decay",
    "critical_n_samples",
    "normalized_landscape",
    "normalized_global_minimum",
    "hard_normalization_limit",
    "bias_global_minimum",
    "exact_gaussian_minimum",
    "random_init",
    "gradient_descent",
    "gradient_flow",
    "batched_gradient_descent",
    "nesterov_restart",
    "max_stable_learning_rate",
    "normalized_gradient_descent",
    "batched_gradient_flow",
    "trajectory",
    "diagnose",
    "diagnose_from_moments",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"landscape.{name}")
    elif name in _MOVED_ATTRIBUTES:
        _compat.warn_moved(f"landscape.{name}", _MOVED_ATTRIBUTES[name])
        return importlib.import_module(_MOVED_ATTRIBUTES[name])
    else:
        raise AttributeError(f"module 'landscape' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | set(_SUBPACKAGES))


_compat.install(_HOME)
