"""landscape: the loss landscape of self-supervised learning, solved.

The linear theory (Ziyin, Lubana, Ueda, Tanaka, ICLR 2023): every SSL loss reduces
near the origin to L(W) = −Tr[W B Wᵀ] + k·Tr[(W Σ Wᵀ)²] + γ‖W‖², whose stationary
points are all in closed form.  Modules, by what they compute:

* :mod:`landscape.core.problem`              data and augmentation covariances
* :mod:`landscape.losses.effective`     the loss → B table (paper and derived forms)
* :mod:`landscape.core.effective_landscape`  L(W), ∇L, the Hessian at the origin, slices
* :mod:`landscape.theory.stationary_points`     Theorem 1: stationary points, global minimum
* :mod:`landscape.theory.per_direction`  Theorem 1 per direction, batched over a grid (commuting problems)
* :mod:`landscape.theory.collapse_thresholds`       collapse thresholds and the origin's stability
* :mod:`landscape.core.linalg`               the one rule for "this direction survives" (every rank), WᵀW spectra
* :mod:`landscape.dynamics`                 gradient descent (optax) and gradient flow (ODE)
"""
from landscape.core.problem import Problem
from landscape.losses.effective import LOSSES, FORMS, effective_landscape, quadratic_form
from landscape.core.effective_landscape import (
    EffectiveLandscape,
    gradient,
    hessian_at_origin,
    landau_coefficients,
    loss,
    radial_slice,
    spectral_halves_slice,
)
from landscape.core.solution import Solution, solution_from_weights
from landscape.theory.stationary_points import (RankScales, global_minimum, global_minimum_diagonal, rank_scales,
                                       stationary_points, whitened_spectrum)
from landscape.theory.per_direction import DirectionMinimum, direction_spectra, direction_minimum, sort_descending
from landscape.theory.collapse_thresholds import (
    Threshold,
    common_eigenbasis,
    critical_n_samples,
    critical_sigma2,
    critical_weight_decay,
    origin_type,
    predicted_rank,
)

__version__ = "0.1.0"
from landscape.dynamics import DivergenceError, random_init, gradient_descent, gradient_flow, max_stable_learning_rate, hessian_top_eigenvalue, check_divergence
from landscape.dynamics import normalized_gradient_descent, normalized_max_stable_learning_rate, BatchedDescent, batched_gradient_descent
from landscape.dynamics import NesterovRestartState, nesterov_restart
from landscape.theory.normalization import (NormalizedLandscape, NormalizedSolution, NormalizationThreshold, normalized_landscape, normalized_loss, normalized_gradient, output_norm, self_consistent_norm, normalized_stationary_point_from_mask, normalized_stationary_points, normalized_global_minimum, normalized_global_minimum_exact, hard_normalization_limit, survival_margins, hard_collapse_thresholds)
from landscape.theory.bias import biased_loss, biased_gradient, bias_global_minimum, bias_stationary_points, complete_collapse_point, CollapseHessian, complete_collapse_hessian, complete_collapse_type
from landscape.losses.population import exact_gaussian_infonce
from landscape.theory.exact_gaussian_infonce import exact_gaussian_minimum, exact_gaussian_gram_eigenvalues
from landscape import metrics  # collapse/geometry metrics and probes
from landscape.studies import idealized as ideal  # idealized representations (Dubois et al.)
from landscape.studies import encoder_projector as two_layer  # encoder/projector linear model (Cosentino et al.)
