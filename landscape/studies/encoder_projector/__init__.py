r"""Two-layer linear model: encoder W1 and projector W2 under the spectral contrastive loss.

The model of Cosentino et al.'s claim, in its linear form (spec §I.4).  Inputs
are x = s + ε with clean signal s ~ N(0, Σ_s) and augmentation noise
ε ~ N(0, σ²Σ_a), drawn independently for each view; as a
:class:`~landscape.Problem`, ``data_cov`` = Σ_s and ``aug_cov`` = σ²Σ_a, and
Σ_x = Σ_s + σ²Σ_a.  The representation is h = W1 x (W1: h×D, the *encoder*)
and the embedding z = W2 h (W2: p×h, the *projector*).  With P = W2 W1 the
population spectral contrastive loss is

    L(P) = −2 tr(P Σ_s Pᵀ) + ‖P Σ_x Pᵀ‖²_F

(the effective landscape of ``"spectral"`` with k = 1), plus an optional weight
decay γ(‖W1‖²_F + ‖W2‖²_F).

**Closed form** (:func:`closed_form`, module ``closed_form``).  Let ρ_1 ≥ ρ_2 ≥ … be the generalised
eigenvalues of (Σ_s, Σ_x), Σ_s v = ρ Σ_x v with vᵢᵀΣ_x vⱼ = δᵢⱼ; every ρ is in
[0, 1].  The optimum of rank ≤ r keeps the top r positive ones:

    P* = diag(√ρ_1, …, √ρ_r) [v_1 … v_r]ᵀ,    P*Σ_xP*ᵀ = diag(ρ),    L* = −Σ_{i≤r} ρ_i².

With commuting diagonal covariances ρ_i = s_i/(s_i + σ²a_i): directions where
signal and augmentation overlap are shrunk, so the embedding's effective rank
falls towards the number of clean signal directions.

**Dynamics** (module ``training``).  :func:`two_layer_descent` (discrete steps,
the shared loop :func:`~landscape.dynamics.descent.descend`) and
:func:`two_layer_flow` (diffrax, adaptive Runge–Kutta) train (W1, W2) from a
chosen init.  Without weight decay the imbalance W1W1ᵀ − W2ᵀW2
(:func:`layer_gram_gap` gives its norm) is conserved by the flow; with weight
decay γ it decays as e^{−4γt}.  The encoder's gradient
W2ᵀ∇_P L lies in the row space of W2, so directions that the projector removes
stop being trained in the encoder: from a large init the encoder keeps its
initial variance there (the "lazy" split of the claim).  From a tiny init the
flow stays balanced, W1ᵀW1 = (PᵀP)^{1/2}, and :func:`balanced_encoder_avf`
gives the encoder's invariance in closed form.

**Sweeps** (modules ``geometry`` and ``sweeps``).  :func:`augmentation_sweep`
compares encoder output (representation) and projector output (embedding) over
σ: AVF, effective rank, probe R² and the angles between the projector's
kept/removed subspaces and the clean / augmentation subspaces;
:func:`init_scale_phase_diagram` maps AVF(enc) − AVF(proj) over init scale × σ
(see the ``sweeps`` module for why the grids run with ``lax.map``).

**Renamed.**  ``gradient_descent``, ``gradient_flow`` and ``imbalance`` are the
old names of :func:`two_layer_descent`, :func:`two_layer_flow` and
:func:`layer_gram_gap` (the first two clashed with
:func:`landscape.dynamics.gradient_descent` / ``gradient_flow``, which train an
effective landscape, the last with the class-imbalance study).  They still work
for one release and issue a ``DeprecationWarning``.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape.studies import encoder_projector as tl
    >>> sig_s, sig_a = tl.overlap_config()
    >>> opt = tl.closed_form(tl.augmentation_problem(sig_s, sig_a, 2.0), rank=16)
    >>> round(float(opt.loss), 4)
    -6.1449
"""

from __future__ import annotations

import functools
import warnings

from landscape.studies.encoder_projector.closed_form import Optimum, balanced_encoder_avf, balanced_factors, closed_form
from landscape.studies.encoder_projector.geometry import LayerReport, layer_report, subspace_geometry
from landscape.studies.encoder_projector.model import (
    TwoLayerWeights,
    augmentation_problem,
    init_weights,
    layer_gram_gap,
    overlap_config,
    spectral_loss,
    two_layer_loss,
)
from landscape.studies.encoder_projector.sweeps import (
    PhaseDiagram,
    SweepResult,
    augmentation_sweep,
    init_scale_phase_diagram,
)
from landscape.studies.encoder_projector.training import (
    TwoLayerRun,
    default_learning_rate,
    two_layer_descent,
    two_layer_flow,
)

__all__ = [
    "TwoLayerWeights",
    "Optimum",
    "TwoLayerRun",
    "LayerReport",
    "SweepResult",
    "PhaseDiagram",
    "overlap_config",
    "augmentation_problem",
    "spectral_loss",
    "two_layer_loss",
    "closed_form",
    "balanced_factors",
    "balanced_encoder_avf",
    "init_weights",
    "default_learning_rate",
    "two_layer_descent",
    "two_layer_flow",
    "layer_gram_gap",
    "subspace_geometry",
    "layer_report",
    "augmentation_sweep",
    "init_scale_phase_diagram",
    # deprecated aliases (one release)
    "gradient_descent",
    "gradient_flow",
    "imbalance",
]


def _renamed(new, old: str):
    """A thin alias of ``new`` under its old name ``old`` that issues a DeprecationWarning."""

    @functools.wraps(new)
    def alias(*args, **kwargs):
        warnings.warn(
            f"encoder_projector.{old} is deprecated and will be removed; use {new.__name__}",
            DeprecationWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = (
        f"Deprecated alias of :func:`{new.__name__}` (issues a DeprecationWarning; removed after one release)."
    )
    return alias


gradient_descent = _renamed(two_layer_descent, "gradient_descent")
gradient_flow = _renamed(two_layer_flow, "gradient_flow")
imbalance = _renamed(layer_gram_gap, "imbalance")
