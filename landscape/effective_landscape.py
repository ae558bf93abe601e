r"""The effective landscape of a linear SSL model, its derivatives and slices.

    L(W) = −Tr[W B Wᵀ] + k·Tr[(W Σ Wᵀ)²] + γ‖W‖²_F ,     W ∈ R^{d1×d0}

(WS Eq. 5 with Proposition 4; the weight decay enters as B → B − γI.)

* :func:`effective_landscape` builds it from a :class:`~landscape.Problem` and a
  loss name through the table in :mod:`landscape.losses.effective`.
* :func:`loss`, :func:`gradient` are pure functions of (landscape, W);
  :func:`hessian_at_origin` is −2·(I_{d1} ⊗ (B − γI)) for row-major vec(W).
* :func:`landau_coefficients` and :func:`radial_slice` give the 1-D slice
  L(a·W₀) = −a²T₂ + a⁴T₄; :func:`spectral_halves_slice` scales the larger and
  the smaller half of W's singular values separately (the construction of WS
  Fig. 1 b–d).

The quartic coefficient k is a parameter: k = 1 is the paper's
(Proposition 4 uses the total variance), k = 3/4 is the exact fourth cumulant of
Gaussian InfoNCE (the conditional variance).  k rescales every WᵀW by 1/k and
changes no rank or threshold.

Example:
    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 1.0], [1.0, 1.0])
    >>> land = ls.effective_landscape(p, "infonce")
    >>> w = jnp.array([[0.3, 0.0], [0.0, 0.2]])
    >>> round(float(ls.loss(land, w)), 6)
    -0.174
"""
from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from landscape._validation import as_scalar
from landscape.losses.effective import quadratic_form
from landscape.problem import Problem

__all__ = [
    "EffectiveLandscape",
    "effective_landscape",
    "loss",
    "gradient",
    "hessian_at_origin",
    "landau_coefficients",
    "radial_slice",
    "spectral_halves_slice",
]


@dataclasses.dataclass(frozen=True)
class EffectiveLandscape:
    """The quadratic form B, the augmented second moment Σ, quartic k and weight decay γ."""

    b: jax.Array
    sigma: jax.Array
    quartic: Any = 1.0
    weight_decay: Any = 0.0

    @property
    def dim(self) -> int:
        """Input dimension d0."""
        return self.sigma.shape[-1]

    @property
    def b_eff(self) -> jax.Array:
        """B − γI: the quadratic form including weight decay."""
        eye = jnp.eye(self.dim, dtype=self.b.dtype)
        return self.b - jnp.asarray(self.weight_decay, self.b.dtype) * eye


jax.tree_util.register_dataclass(
    EffectiveLandscape, data_fields=["b", "sigma", "quartic", "weight_decay"], meta_fields=[]
)


def effective_landscape(
    problem: Problem,
    loss_name: str = "infonce",
    *,
    form: str = "derived",
    quartic: Any = 1.0,
    weight_decay: Any = 0.0,
    alpha: Any = 1.0,
    n_samples: Any = None,
    beta: Any = 0.5,
    invariance_weight: Any = 1.0,
) -> EffectiveLandscape:
    """The effective landscape of ``loss_name`` on ``problem``.

    Args:
        problem: covariances A0 and C.
        loss_name: one of ``landscape.losses.LOSSES``.
        form: ``"derived"`` (default) or ``"paper"``, see :mod:`landscape.losses.effective`.
        quartic: k, the quartic coefficient (1 = paper, 3/4 = exact Gaussian cumulant), k > 0.
        weight_decay: γ ≥ 0 of the penalty γ‖W‖²_F.
        alpha, n_samples, beta, invariance_weight: loss parameters.

    The final quartic coefficient is k times the loss's own quartic scale (β for
    the derived β-InfoNCE, 1 otherwise).
    """
    if not isinstance(quartic, jax.core.Tracer):
        as_scalar(quartic, "quartic", low=0.0, low_inclusive=False)
    if not isinstance(weight_decay, jax.core.Tracer):
        as_scalar(weight_decay, "weight_decay", low=0.0)
    qf = quadratic_form(loss_name, form=form, alpha=alpha, n_samples=n_samples, beta=beta,
                        invariance_weight=invariance_weight)
    dtype = problem.data_cov.dtype
    b = qf.b_matrix(problem.data_cov, problem.aug_cov).astype(dtype)
    k = (jnp.asarray(quartic) * qf.quartic_scale).astype(dtype)
    return EffectiveLandscape(b=b, sigma=problem.sigma, quartic=k,
                              weight_decay=jnp.asarray(weight_decay, dtype))


def loss(landscape: EffectiveLandscape, w: jax.Array) -> jax.Array:
    """L(W) = −Tr[W B Wᵀ] + k·Tr[(WΣWᵀ)²] + γ‖W‖²_F for W of shape (d1, d0)."""
    s = w @ landscape.sigma @ w.T
    quad = jnp.sum((w @ landscape.b) * w)
    return -quad + landscape.quartic * jnp.sum(s * s) + landscape.weight_decay * jnp.sum(w * w)


def gradient(landscape: EffectiveLandscape, w: jax.Array) -> jax.Array:
    """∇L = −2 W B + 4k (WΣWᵀ) WΣ + 2γ W, ordered so every product is d1×d0 or d1×d1."""
    ws = w @ landscape.sigma
    s = ws @ w.T
    return -2.0 * (w @ landscape.b) + 4.0 * landscape.quartic * (s @ ws) + 2.0 * landscape.weight_decay * w


def hessian_at_origin(landscape: EffectiveLandscape, out_dim: int) -> jax.Array:
    """Hessian of L at W = 0 for row-major vec(W): −2·(I_{d1} ⊗ (B − γI))."""
    return jnp.kron(jnp.eye(out_dim, dtype=landscape.b.dtype), -2.0 * landscape.b_eff)


def landau_coefficients(landscape: EffectiveLandscape, w0: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(T₂, T₄) with L(a·W₀) = −a²·T₂ + a⁴·T₄ exactly.

    T₂ = Tr[W₀(B − γI)W₀ᵀ] and T₄ = k·Tr[(W₀ΣW₀ᵀ)²].  Along this ray the origin
    is a local minimum iff T₂ ≤ 0.
    """
    t2 = jnp.sum((w0 @ landscape.b_eff) * w0)
    s = w0 @ landscape.sigma @ w0.T
    return t2, landscape.quartic * jnp.sum(s * s)


def radial_slice(landscape: EffectiveLandscape, w0: jax.Array, scales: jax.Array) -> jax.Array:
    """L(a·W₀) for every a in ``scales`` (the 1-D slice of WS Fig. 1a)."""
    t2, t4 = landau_coefficients(landscape, w0)
    a2 = jnp.asarray(scales) ** 2
    return -a2 * t2 + a2 * a2 * t4


def spectral_halves_slice(
    landscape: EffectiveLandscape, w: jax.Array, r_large: jax.Array, r_small: jax.Array
) -> jax.Array:
    """L over scalings of the larger and the smaller half of W's singular values.

    With W = U diag(s) Vᵀ, the first ⌈r/2⌉ singular values (r = min(d1, d0)) are
    multiplied by ``r_large`` and the rest by ``r_small``.  ``r_large`` and
    ``r_small`` broadcast against each other; the result has their broadcast shape.
    """
    u, s, vt = jnp.linalg.svd(w, full_matrices=False)
    r = s.shape[0]
    top = jnp.arange(r) < (r + 1) // 2

    def one(a, b):
        scaled = s * jnp.where(top, a, b)
        return loss(landscape, (u * scaled[None, :]) @ vt)

    ra, rb = jnp.broadcast_arrays(jnp.asarray(r_large, w.dtype), jnp.asarray(r_small, w.dtype))
    flat = jax.vmap(one)(ra.ravel(), rb.ravel())
    return flat.reshape(ra.shape)
