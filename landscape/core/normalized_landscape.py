r"""The normalized landscape: the effective landscape plus a penalty on the average output norm.

WS Eq. 7 adds to L(W) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] a penalty that pins the
average squared output norm ρ = E‖Wx‖² = Tr[WΣWᵀ] to a target c:

    L(W) = E(W) + κ(ρ − c)²,                   ∇L = ∇E + 4κ(ρ − c)WΣ,

and with a bias f = Wx + b (E[x] = 0, so E‖f‖² = ρ + ‖b‖²; WS Theorem 2):

    L(W, b) = E(W) + κ(ρ + ‖b‖² − c)²,         ∂L/∂b = 4κ(ρ + ‖b‖² − c)·b.

This module holds the type and its math (loss, gradients, ρ); the closed forms
are in :mod:`landscape.theory.normalization` (finite κ),
:mod:`landscape.theory.hard_normalization` (κ → ∞) and
:mod:`landscape.theory.bias`, the training in
:mod:`landscape.dynamics.normalized_descent`.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape.core.effective_landscape import EffectiveLandscape
    >>> nl = normalized_landscape(EffectiveLandscape(b=jnp.eye(1), sigma=jnp.eye(1)), kappa=1.0, norm_target=1.0)
    >>> w = jnp.array([[2.0]])          # ρ = 4: −4 + 16 + (4 − 1)², and with ‖b‖² = 1: + (4 + 1 − 1)²
    >>> float(normalized_loss(nl, w)), float(biased_loss(nl, w, jnp.array([1.0])))
    (21.0, 28.0)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.effective_landscape import gradient as _eff_gradient
from landscape.core.effective_landscape import loss as _eff_loss
from landscape.core.linalg import is_traced
from landscape.core.solution import Solution
from landscape.core.validation import as_scalar

__all__ = [
    "NormalizedLandscape",
    "NormalizedSolution",
    "normalized_landscape",
    "output_norm",
    "normalized_loss",
    "normalized_gradient",
    "biased_loss",
    "biased_gradient",
]


@dataclasses.dataclass(frozen=True)
class NormalizedLandscape:
    """An effective landscape plus the penalty κ(ρ − c)², ρ = Tr[WΣWᵀ].

    Attributes:
        base: the unnormalized :class:`~landscape.EffectiveLandscape` (B, Σ, k, γ).
        kappa: κ ≥ 0, the strength of the norm penalty.
        norm_target: c > 0, the target average squared output norm.
    """

    base: EffectiveLandscape
    kappa: Any = 1.0
    norm_target: Any = 1.0

    @property
    def dim(self) -> int:
        """Input dimension d0."""
        return self.base.dim

    @property
    def sigma(self) -> jax.Array:
        """Σ, the second moment of the augmented inputs."""
        return self.base.sigma

    @property
    def quartic(self) -> Any:
        """k, the quartic coefficient of the base landscape."""
        return self.base.quartic


jax.tree_util.register_dataclass(NormalizedLandscape, data_fields=["base", "kappa", "norm_target"], meta_fields=[])


@dataclasses.dataclass(frozen=True)
class NormalizedSolution(Solution):
    """A :class:`~landscape.Solution` with the norm and bias of the normalized model.

    It *is* a ``Solution`` (every field and method is there); the extra fields are:

    Attributes:
        rho: ρ = Tr[WΣWᵀ], the average squared output norm without the bias.
        bias: the bias vector b (d1,); zeros for the model without bias.
        bias_norm_sq: ‖b‖²; 0 for the model without bias.
        admissible: whether every kept direction has μ_i > 0 (b′_i > 0); a mask
            that fails this is not a stationary point (its μ were clipped at 0).
    """

    rho: jax.Array | None = None
    bias: jax.Array | None = None
    bias_norm_sq: jax.Array | None = None
    admissible: jax.Array | None = None


jax.tree_util.register_dataclass(
    NormalizedSolution,
    data_fields=[f.name for f in dataclasses.fields(NormalizedSolution)],
    meta_fields=[],
)


def normalized_landscape(
    landscape: EffectiveLandscape, kappa: Any = 1.0, norm_target: Any = 1.0
) -> NormalizedLandscape:
    """Attach the norm penalty κ(Tr[WΣWᵀ] − c)² to ``landscape``.

    Raises ValueError naming ``kappa`` (must be ≥ 0 and finite) or
    ``norm_target`` (must be > 0) when they are concrete and out of range.
    """
    if not isinstance(landscape, EffectiveLandscape):
        raise ValueError(f"landscape must be an EffectiveLandscape, got {type(landscape).__name__}")
    if not is_traced(kappa):
        as_scalar(kappa, "kappa", low=0.0)
    if not is_traced(norm_target):
        as_scalar(norm_target, "norm_target", low=0.0, low_inclusive=False)
    dtype = landscape.b.dtype
    return NormalizedLandscape(landscape, jnp.asarray(kappa, dtype), jnp.asarray(norm_target, dtype))


def output_norm(landscape: EffectiveLandscape | NormalizedLandscape, w: jax.Array) -> jax.Array:
    """ρ(W) = Tr[WΣWᵀ] = E‖Wx‖², the average squared output norm."""
    return jnp.sum((w @ landscape.sigma) * w)


def normalized_loss(nl: NormalizedLandscape, w: jax.Array) -> jax.Array:
    """L(W) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] + κ(Tr[WΣWᵀ] − c)²."""
    gap = output_norm(nl, w) - nl.norm_target
    return _eff_loss(nl.base, w) + nl.kappa * gap * gap


def normalized_gradient(nl: NormalizedLandscape, w: jax.Array) -> jax.Array:
    """∇L = −2W(B − γI) + 4k(WΣWᵀ)WΣ + 4κ(ρ − c)WΣ."""
    gap = output_norm(nl, w) - nl.norm_target
    return _eff_gradient(nl.base, w) + 4.0 * nl.kappa * gap * (w @ nl.sigma)


def biased_loss(nl: NormalizedLandscape, w: jax.Array, bias: jax.Array) -> jax.Array:
    """L(W, b) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] + κ(Tr[WΣWᵀ] + ‖b‖² − c)²."""
    gap = output_norm(nl, w) + jnp.sum(bias * bias) - nl.norm_target
    return _eff_loss(nl.base, w) + nl.kappa * gap * gap


def biased_gradient(nl: NormalizedLandscape, w: jax.Array, bias: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(∂L/∂W, ∂L/∂b) = (∇E(W) + 4κ·g·WΣ, 4κ·g·b) with g = ρ + ‖b‖² − c."""
    gap = output_norm(nl, w) + jnp.sum(bias * bias) - nl.norm_target
    return _eff_gradient(nl.base, w) + 4.0 * nl.kappa * gap * (w @ nl.sigma), 4.0 * nl.kappa * gap * bias
