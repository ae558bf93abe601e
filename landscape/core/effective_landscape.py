r"""The effective landscape of a linear SSL model, its derivatives and slices.

    L(W) = −Tr[W B Wᵀ] + k·Tr[(W Σ Wᵀ)²] + γ‖W‖²_F ,     W ∈ R^{d1×d0}

(WS Eq. 5 with Proposition 4; the weight decay enters as B → B − γI.)

* :class:`EffectiveLandscape` is the type (B, Σ, k, γ); it knows no loss names:
  :func:`landscape.losses.effective.effective_landscape` builds it from a
  :class:`~landscape.Problem` and a loss name through the loss → B table.
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
    >>> land = EffectiveLandscape(b=p.data_cov, sigma=p.sigma)      # = ls.effective_landscape(p, "infonce")
    >>> w = jnp.array([[0.3, 0.0], [0.0, 0.2]])
    >>> round(float(ls.loss(land, w)), 6)
    -0.174
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.problem import Problem

__all__ = [
    "EffectiveLandscape",
    "check_landscape_range",
    "require_landscape",
    "require_problem",
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


def require_problem(problem: Any, where: str) -> Problem:
    """``problem`` if it is a :class:`~landscape.Problem`, else TypeError saying how to make one."""
    if not isinstance(problem, Problem):
        raise TypeError(
            f"{where} needs a landscape.Problem (build one with Problem.from_diagonal, "
            f"Problem.from_arrays or Problem.isotropic), got {type(problem).__name__}"
        )
    return problem


def require_landscape(landscape: Any, where: str) -> EffectiveLandscape:
    """``landscape`` if it is an :class:`EffectiveLandscape`, else TypeError saying how to make one."""
    if not isinstance(landscape, EffectiveLandscape):
        hint = " (a Problem: pass effective_landscape(problem, loss_name))" if isinstance(landscape, Problem) else ""
        raise TypeError(
            f"{where} needs an EffectiveLandscape from landscape.core.effective_landscape, "
            f"got {type(landscape).__name__}{hint}"
        )
    return landscape


def check_landscape_range(landscape: EffectiveLandscape, *, quartic_scale: float = 1.0) -> None:
    r"""Refuse a concrete landscape whose arithmetic leaves the finite range of its dtype.

    With M = B − γI, T = Tr Σ⁻¹ ≥ 1/s_min and the bounds of
    :mod:`landscape.core.linalg` — whitened eigenvalues |λ| ≤ Λ = ‖M‖_F·T, Gram
    eigenvalues of every stationary point ≤ G = Λ·T/(2k), loss ≥ −d·Λ²/(4k) — the
    checks are, with R = √max(dtype)/(4d) (so a sum of d² products of two such
    numbers stays finite):

    * B, γ and M are finite, and k is a normal number (not 0, not subnormal);
    * Λ ≤ R: whitened eigenvalues and their squares are finite;
    * G·s_max ≤ R and d·Λ²/(4k) ≤ R²: WΣWᵀ at a minimum, the quartic term and the
      loss are finite (fails for a quartic coefficient that is too small).

    Each failure is a ValueError naming the parameter to change.  ``quartic_scale``
    is the loss's own factor in k (to state the bound on ``quartic`` itself).
    """
    dtype = np.dtype(landscape.b.dtype)
    info = jnp.finfo(dtype)
    big, tiny = float(info.max), float(info.tiny)
    k = float(np.asarray(landscape.quartic, float))
    gamma = float(np.asarray(landscape.weight_decay, float))
    b = np.asarray(landscape.b, float)
    d = b.shape[-1]
    if not (np.isfinite(k) and k >= tiny):
        what = "quartic" if quartic_scale == 1.0 else "quartic·beta"
        raise ValueError(
            f"{what} must be >= {tiny:.3g} and finite in {dtype.name} (the fourth-order "
            f"coefficient k = {k:.3g} must be a normal {dtype.name} number)"
        )
    if not np.isfinite(gamma):
        raise ValueError(f"weight_decay overflows {dtype.name} (largest {big:.3g})")
    if not np.all(np.isfinite(b)):
        raise ValueError(
            f"B = p·data_cov + q·aug_cov of the loss overflows {dtype.name}: reduce the variances in "
            "data_cov/aug_cov or the loss parameters (alpha, n_samples, beta, invariance_weight)"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        m = b - gamma * np.eye(d)  # B − γI, in NumPy (no per-shape JAX dispatch)
    if not np.all(np.abs(m) <= big):
        raise ValueError(f"B − γI overflows {dtype.name}: weight_decay = {gamma:.3g} is too large")
    s = np.linalg.eigvalsh(np.asarray(landscape.sigma, float))
    if not s[0] > 0:
        raise ValueError(
            "sigma = data_cov + aug_cov must be positive definite (build the problem with "
            "Problem.from_arrays or Problem.from_diagonal)"
        )
    limit = np.sqrt(big) / (4.0 * d)
    # In logarithms: the bounds themselves may overflow float64.
    log_m = _log_norm(m)
    log_t = np.log(np.sum(1.0 / s))
    log_lam = log_m + log_t
    if log_lam > np.log(limit):
        b_norm = float(np.exp(_log_norm(b)))
        culprit = (
            f"weight_decay = {gamma:.3g} is too large"
            if gamma > b_norm
            else "the variances in data_cov/aug_cov (or the loss parameters) are too large"
        )
        raise ValueError(
            f"the landscape overflows {dtype.name}: its whitened eigenvalues can reach ‖B − γI‖·Tr Σ⁻¹ = "
            f"{_exp_text(log_lam)}, above {limit:.3g}; {culprit} for the smallest eigenvalue "
            f"{s[0]:.3g} of sigma = data_cov + aug_cov"
        )
    log_k_min = max(
        log_lam + log_t + np.log(s[-1]) - np.log(2.0 * limit),
        np.log(d) + 2.0 * log_lam - np.log(4.0) - 2.0 * np.log(limit),
    )
    if np.log(k) < log_k_min:
        raise ValueError(
            f"quartic = {k / quartic_scale:.3g} is too small for this landscape in {dtype.name}: WᵀW at the "
            f"minimum and the loss would overflow; quartic must be >= {_exp_text(log_k_min - np.log(quartic_scale))} here"
        )


def _log_norm(m: np.ndarray) -> float:
    """log ‖m‖_F without overflow (−inf for m = 0)."""
    top = float(np.max(np.abs(m)))
    if top == 0.0:
        return -np.inf
    return np.log(top) + 0.5 * np.log(np.sum((m / top) ** 2))


def _exp_text(log_value: float) -> str:
    """exp(log_value) as text, also beyond the float64 range."""
    exponent = np.floor(log_value / np.log(10.0))
    return f"{np.exp(log_value - exponent * np.log(10.0)):.3g}e{int(exponent):+d}"


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
