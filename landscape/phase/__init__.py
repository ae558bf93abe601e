r"""Phase diagrams of SSL collapse: named parameters → landscapes → scans.

This is the SSL-aware layer on top of :mod:`landscape.scan`.  A
:class:`PhaseModel` fixes the data covariance A0, a base augmentation
covariance C0, the loss and its form, and a value for every *parameter*; a
scan overrides some parameters at every grid point.  The parameters, with the
matrix or quantity each one acts on:

==================  =========================================================  ===============
name (aliases)      effect at a grid point                                      methods
==================  =========================================================  ===============
sigma2              C = σ²·I (isotropic augmentation; replaces C0)             all
aug_scale           C = s·C0                                                    all
data_scale          A0 → s·A0                                                   all
weight_decay (γ)    B → B − γI                                                  all
quartic (k)         quartic coefficient k of k·s·Tr[(WΣWᵀ)²]                    all
alpha, n_samples    weighted InfoNCE: α, data-set size N (alias ``N``)          all
beta                β-InfoNCE: β                                                all
invariance_weight   VICReg (derived form): λ_inv                                all
out_dim (d1)        rows of W: caps the rank at d1                             all
kappa, norm_target  normalization penalty κ(Tr[WΣWᵀ] − c)² (closed form only)   closed-form
init_scale, seed    W₀ = init_scale·N(0, 1) from PRNGKey(seed), or ·I          flow, gd
t1                  integration time of gradient flow                          flow
lr                  learning rate of gradient descent (SGD)                    gd
==================  =========================================================  ===============

Methods: ``"closed-form"`` (Theorem 1, :func:`landscape.global_minimum`;
with κ the normalized minimum), ``"flow"`` (gradient flow dW/dt = −∇L by
the batched integrator :func:`~landscape.dynamics.batched_flow.batched_gradient_flow`, with
the time outputs of :mod:`~landscape.phase.flow_times` when
:class:`FlowSettings` asks for them) and ``"gd"`` (plain gradient descent,
:func:`landscape.gradient_descent`).  Every method returns, per point:

* ``rank``  rank of WᵀW by the survival rule of :mod:`landscape.core.linalg` (closed
  form: whitened eigenvalues above 16·eps·max|λ|; flow/gd: Gram
  eigenvalues above the rule's Gram tolerance, ``rank_rtol``·max and init_scale²,
  the size W₀ starts from: a collapsing direction decays below it, a surviving
  one grows past it); −1 where the values it counts are not finite,
  ``region``  0 complete, 1 dimensional, 2 no collapse (rank = min(d0, d1)),
  −1 not finite (never read as a collapse), ``loss``  L at the final W;
* ``gram_eigenvalues``  eigenvalues of WᵀW, descending (dimension ``eig``);
* ``direction_gram``  the diagonal of WᵀW in the common eigenbasis of A0 and
  C0 (input order for diagonal problems; dimension ``direction``), when that
  basis exists;
* closed form also ``whitened_eigenvalues`` (Σ^{-1/2}(B − γI)Σ^{-1/2}),
  ``b_eigenvalues`` (B − γI), ``direction_b`` (b_i of each direction),
  ``predicted_rank`` = min(#{surviving b_i}, d1) and ``near_threshold`` (directions
  whose λ_i or b_i is too close to 0 for the dtype to decide; ``rank`` and
  ``predicted_rank`` can differ only where it is ≥ 1); flow/gd also ``diverged``.

:func:`boundary_fields` evaluates the analytic phase boundaries — b_i = 0 for
every direction, and under normalization the κ → ∞ survival condition of WS
Eq. 9 — on any 2-D (or 1-D) parameter grid, for a plot to draw their zero
contours.

The model and its parameters live in :mod:`~landscape.phase.models`, the
evaluation and :func:`phase_scan` in :mod:`~landscape.phase.evaluate`, the
analytic boundaries in :mod:`~landscape.phase.boundaries`; all public names are
re-exported here.

Example:
    >>> import numpy as np
    >>> from landscape import phase
    >>> from landscape.scan import Grid, Axis
    >>> model = phase.PhaseModel.diagonal([3.0, 1.0], sigma2=0.0, loss="beta-infonce")
    >>> ds = phase.phase_scan(model, Grid([Axis("sigma2", [0.5, 2.0, 4.0])]))
    >>> ds["rank"].values.tolist()          # b_i = ½(a_i − σ²)
    [2, 1, 0]
    >>> ds["direction_b"].sel(sigma2=2.0).values.tolist()
    [0.5, -0.5]
"""

from __future__ import annotations

from landscape.phase.boundaries import BoundaryField, boundary_fields, crossings_along
from landscape.phase.evaluate import evaluation, model_from_dataset, phase_scan
from landscape.phase.models import (
    ALIASES,
    METHODS,
    OUTPUT_LABELS,
    PARAMETER_LABELS,
    PARAMETER_SYMBOLS,
    PARAMETERS,
    FlowSettings,
    PhaseModel,
    canonical_parameter,
    check_values,
    normalization_available,
)

_check_values = check_values  # the old private name, still called by landscape.cli.scan

__all__ = [
    "PARAMETERS",
    "ALIASES",
    "METHODS",
    "PARAMETER_LABELS",
    "PARAMETER_SYMBOLS",
    "OUTPUT_LABELS",
    "PhaseModel",
    "FlowSettings",
    "canonical_parameter",
    "check_values",
    "evaluation",
    "phase_scan",
    "BoundaryField",
    "boundary_fields",
    "crossings_along",
    "model_from_dataset",
    "normalization_available",
]
