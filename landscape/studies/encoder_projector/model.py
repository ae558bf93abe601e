r"""The encoder/projector model itself: inputs, weights and the spectral contrastive loss.

Inputs are x = s + ε with clean signal s ~ N(0, Σ_s) and augmentation noise
ε ~ N(0, σ²Σ_a); as a :class:`~landscape.Problem`, ``data_cov`` = Σ_s and
``aug_cov`` = σ²Σ_a, and Σ_x = Σ_s + σ²Σ_a.  The encoder W1 (h×D) gives the
representation h = W1 x, the projector W2 (p×h) the embedding z = W2 h, and with
P = W2 W1

    L(P) = −2 tr(P Σ_s Pᵀ) + ‖P Σ_x Pᵀ‖²_F,

plus an optional weight decay γ(‖W1‖²_F + ‖W2‖²_F).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.problem import Problem

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jax.typing import DTypeLike
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = [
    "TwoLayerWeights",
    "overlap_config",
    "augmentation_problem",
    "spectral_loss",
    "two_layer_loss",
    "init_weights",
    "layer_gram_gap",
]


class TwoLayerWeights(NamedTuple):
    """Encoder W1 (h×D) and projector W2 (p×h); the product is P = W2 W1."""

    encoder: jax.Array
    projector: jax.Array

    @property
    def product(self) -> jax.Array:
        """P = W2 W1 (p×D)."""
        return self.projector @ self.encoder


def overlap_config(
    dim: int = 32,
    n_signal: int = 10,
    signal_range: tuple[float, float] = (3.0, 0.5),
    aug_start: int = 6,
    aug_stop: int = 22,
) -> tuple[np.ndarray, np.ndarray]:
    r"""(Σ_s, Σ_a) of the Cosentino spec's configuration (§I.4), as diagonal NumPy matrices.

    Σ_s has variances linspace(3, 0.5, 10) on coordinates 0–9; Σ_a is the
    identity on coordinates 6–21, overlapping the 4 weakest signal coordinates;
    coordinates 22–31 carry nothing.  6 signal directions are free of
    augmentation.

    >>> s, a = overlap_config()
    >>> s.shape, float(np.trace(s)), float(np.trace(a))
    ((32, 32), 17.5, 16.0)
    """
    if not (0 < n_signal <= dim and 0 <= aug_start < aug_stop <= dim):
        raise ValueError(
            f"need 0 < n_signal <= dim and 0 <= aug_start < aug_stop <= dim, got "
            f"dim={dim}, n_signal={n_signal}, aug_start={aug_start}, aug_stop={aug_stop}"
        )
    s = np.zeros(dim)
    s[:n_signal] = np.linspace(signal_range[0], signal_range[1], n_signal)
    a = np.zeros(dim)
    a[aug_start:aug_stop] = 1.0
    return np.diag(s), np.diag(a)


def augmentation_problem(
    signal_cov: Float[ArrayLike, "d d"], aug_shape_cov: Float[ArrayLike, "d d"], sigma: Float[ArrayLike, ""]
) -> Problem:
    r"""The :class:`~landscape.Problem` with A0 = Σ_s and C = σ²Σ_a (traceable in σ, no validation).

    >>> import jax.numpy as jnp
    >>> p = augmentation_problem(jnp.eye(2), jnp.diag(jnp.array([0.0, 1.0])), 2.0)
    >>> p.sigma.diagonal().tolist()
    [1.0, 5.0]
    """
    s = jnp.asarray(signal_cov)
    a = jnp.asarray(aug_shape_cov, s.dtype)
    sig = jnp.asarray(sigma, s.dtype)
    return Problem(s, sig * sig * a)


def spectral_loss(problem: Problem, product: Float[jax.Array, "p d"]) -> jax.Array:
    r"""L(P) = −2 tr(P Σ_s Pᵀ) + ‖P Σ_x Pᵀ‖²_F for any p×D product P.

    >>> import jax.numpy as jnp
    >>> p = augmentation_problem(jnp.eye(1), jnp.zeros((1, 1)), 0.0)
    >>> float(spectral_loss(p, jnp.eye(1)))          # −2 + 1
    -1.0
    """
    s_out = product @ problem.sigma @ product.T
    return -2.0 * jnp.sum((product @ problem.data_cov) * product) + jnp.sum(s_out * s_out)


def two_layer_loss(problem: Problem, weights: TwoLayerWeights, weight_decay: Any = 0.0) -> jax.Array:
    """L(W2 W1) + γ(‖W1‖²_F + ‖W2‖²_F)."""
    w1, w2 = weights
    reg = jnp.sum(w1 * w1) + jnp.sum(w2 * w2)
    return spectral_loss(problem, w2 @ w1) + jnp.asarray(weight_decay, w1.dtype) * reg


def init_weights(
    key: jax.Array, dim: int, hidden: int, out_dim: int, scale: Any = 0.3, dtype: DTypeLike | None = None
) -> TwoLayerWeights:
    r"""Random (W1, W2) with entries N(0, scale²/fan_in): W1 is hidden×dim, W2 out_dim×hidden.

    ``scale`` may be traced (for a vmap over init scales).

    >>> import jax
    >>> w = init_weights(jax.random.PRNGKey(0), 4, 3, 2)
    >>> w.encoder.shape, w.projector.shape
    ((3, 4), (2, 3))
    """
    for name, v in (("dim", dim), ("hidden", hidden), ("out_dim", out_dim)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    dtype = dtype or jnp.result_type(float)
    k1, k2 = jax.random.split(key)
    sc = jnp.asarray(scale, dtype)
    w1 = jax.random.normal(k1, (hidden, dim), dtype) * (sc / np.sqrt(dim))
    w2 = jax.random.normal(k2, (out_dim, hidden), dtype) * (sc / np.sqrt(hidden))
    return TwoLayerWeights(w1, w2)


def layer_gram_gap(weights: TwoLayerWeights) -> jax.Array:
    r"""‖W1W1ᵀ − W2ᵀW2‖_F, the layers' imbalance: conserved by the flow without weight decay, e^{−4γt} with it.

    Zero for the balanced factorisations of :func:`balanced_factors` (the end
    point of a flow from a vanishing init).

    >>> import jax.numpy as jnp
    >>> round(float(layer_gram_gap(TwoLayerWeights(jnp.eye(2), 2.0 * jnp.eye(2)))), 6)   # ‖I − 4I‖_F = 3√2
    4.242641
    """
    w1, w2 = weights
    return jnp.linalg.norm(w1 @ w1.T - w2.T @ w2)


def _check_init(problem: Problem, init: TwoLayerWeights) -> TwoLayerWeights:
    w1, w2 = (jnp.asarray(init[0]), jnp.asarray(init[1]))
    if w1.ndim != 2 or w2.ndim != 2 or w1.shape[1] != problem.dim or w2.shape[1] != w1.shape[0]:
        raise ValueError(
            f"init must be (encoder h×{problem.dim}, projector p×h), got shapes {tuple(w1.shape)} and {tuple(w2.shape)}"
        )
    return TwoLayerWeights(w1, w2)


def _positive_int(v, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
        raise ValueError(f"{field} must be a positive integer, got {v!r}")
    return int(v)
