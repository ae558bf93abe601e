r"""Supervised baseline: a linear classifier/regressor with weight decay on the same data.

The model is scores = x W + b with W ∈ R^{d×K}.  Two losses, each averaged over
the N samples, with the penalty (γ/2)‖W‖²_F (the bias is not penalised):

* ``"squared"``:        (1/2N) Σ_n ‖y_n − x_n W − b‖²   (y one-hot for classification),
* ``"cross_entropy"``:  (1/N) Σ_n −log softmax(x_n W + b)[label_n].

For the squared loss the minimiser is ridge regression in closed form,

    W = (X_cᵀX_c/N + γI)^{-1} X_cᵀY_c/N,      b = ȳ − x̄ W,

with X_c, Y_c centred; in the population limit W = (A0 + γI)^{-1} E[x yᵀ].  For
a centred class mixture with one-hot targets, E[x y_kᵀ] = p_k(μ_k − μ̄), so the
supervised representation z = Wᵀx weights class k's direction roughly by p_k:
minority directions shrink continuously as p_k → 0 instead of keeping a fixed
variance as in SSL (see :mod:`landscape.studies.class_imbalance`).

Example:
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = 2.0 * x[:, 0] + 1.0
    >>> w, b = ridge_closed_form(x, y, 0.0)
    >>> round(float(w[0, 0]), 6), round(float(b[0]), 6)
    (2.0, 1.0)
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.validation import as_scalar
from landscape.studies.plain_descent import sgd_descent

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = [
    "ridge_closed_form",
    "population_ridge",
    "mixture_cross_covariance",
    "train_linear_classifier",
    "supervised_loss",
    "supervised_representation_variances",
]

LOSSES = ("squared", "cross_entropy")


def _xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    xx = np.asarray(x, dtype=float)
    yy = np.asarray(y, dtype=float)
    if xx.ndim != 2:
        raise ValueError(f"x must be 2-D (N, d), got shape {xx.shape}")
    if yy.ndim == 1:
        yy = yy[:, None]
    if yy.ndim != 2 or yy.shape[0] != xx.shape[0]:
        raise ValueError(f"y must have {xx.shape[0]} rows like x, got shape {np.shape(y)}")
    return xx, yy


def ridge_closed_form(
    x: Float[ArrayLike, "n d"], y: Float[ArrayLike, "n ..."], weight_decay: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""W = (X_cᵀX_c/N + γI)^{-1}X_cᵀY_c/N and b = ȳ − x̄W (minimum-norm solution when γ = 0).

    >>> w, b = ridge_closed_form([[1.0], [-1.0]], [1.0, -1.0], 1.0)   # (1 + 1)^{-1}·1
    >>> float(w[0, 0])
    0.5
    """
    xx, yy = _xy(x, y)
    g = as_scalar(weight_decay, "weight_decay", low=0.0)
    n, d = xx.shape
    xm, ym = xx.mean(0), yy.mean(0)
    xc, yc = xx - xm, yy - ym
    if g == 0:
        w = np.linalg.pinv(xc) @ yc
    else:
        w = np.linalg.solve(xc.T @ xc / n + g * np.eye(d), xc.T @ yc / n)
    return w, ym - xm @ w


def population_ridge(
    data_cov: Float[ArrayLike, "d d"], cross_cov: Float[ArrayLike, "d k"], weight_decay: float
) -> np.ndarray:
    """W = (A0 + γI)^{-1} E[x yᵀ], the population ridge solution (centred x).

    >>> population_ridge([[2.0]], [[1.0]], 2.0).tolist()
    [[0.25]]
    """
    a = np.asarray(data_cov, dtype=float)
    cr = np.asarray(cross_cov, dtype=float)
    if cr.ndim == 1:
        cr = cr[:, None]
    if a.ndim != 2 or a.shape[0] != a.shape[1] or cr.shape[0] != a.shape[0]:
        raise ValueError(f"data_cov (d, d) and cross_cov (d, K) must match, got {a.shape} and {cr.shape}")
    g = as_scalar(weight_decay, "weight_decay", low=0.0)
    return np.linalg.solve(a + g * np.eye(a.shape[0]), cr)


def mixture_cross_covariance(means: Float[ArrayLike, "K d"], proportions: Float[ArrayLike, " K"]) -> np.ndarray:
    """E[(x − μ̄) y_kᵀ] = p_k(μ_k − μ̄) for one-hot class labels, as columns (d, K).

    >>> mixture_cross_covariance([[1.0], [-1.0]], [0.25, 0.75]).tolist()    # μ̄ = -0.5
    [[0.375, -0.375]]
    """
    mu = np.asarray(means, dtype=float)
    p = np.asarray(proportions, dtype=float)
    if mu.ndim != 2 or p.shape != (mu.shape[0],):
        raise ValueError(f"means (K, d) and proportions (K,) must match, got {mu.shape} and {p.shape}")
    return ((mu - p @ mu) * p[:, None]).T


def supervised_loss(
    params: tuple[jax.Array, jax.Array], x: jax.Array, targets: jax.Array, weight_decay: Any, loss: str = "squared"
) -> jax.Array:
    """The averaged loss plus (γ/2)‖W‖²; ``targets`` one-hot (N, K) (or real-valued for "squared")."""
    w, b = params
    s = x @ w + b[None, :]
    if loss == "squared":
        data = 0.5 * jnp.mean(jnp.sum((targets - s) ** 2, axis=1))
    else:
        data = -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(s, axis=1), axis=1))
    return data + 0.5 * weight_decay * jnp.sum(w * w)


@functools.partial(jax.jit, static_argnames=("loss", "steps"))
def _train(x, targets, weight_decay, lr, *, loss: str, steps: int):
    d, k = x.shape[1], targets.shape[1]
    w0 = (jnp.zeros((d, k), x.dtype), jnp.zeros((k,), x.dtype))
    grad = jax.grad(lambda p: supervised_loss(p, x, targets, weight_decay, loss))
    p, _, _, _ = sgd_descent(grad, w0, lr, steps=steps)
    return p


def train_linear_classifier(
    x: Float[ArrayLike, "n d"],
    labels: Int[ArrayLike, " n"],
    n_classes: int,
    *,
    loss: str = "cross_entropy",
    weight_decay: float = 1e-3,
    steps: int = 2000,
    lr: float | None = None,
) -> tuple[jax.Array, jax.Array]:
    r"""Full-batch gradient descent from W = 0 on the supervised loss; returns (W, b).

    ``lr`` defaults to 1/(λ_max(XᵀX/N + x̄x̄ᵀ) + 1 + γ), a stable step for both losses.

    >>> x = np.array([[-2.0], [-1.0], [1.0], [2.0]]); lab = np.array([0, 0, 1, 1])
    >>> w, b = train_linear_classifier(x, lab, 2, steps=500)
    >>> bool(w[0, 1] > w[0, 0])
    True
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    xx = jnp.asarray(np.asarray(x, dtype=float), dtype=jnp.result_type(float))
    lab = np.asarray(labels)
    if xx.ndim != 2 or lab.shape != (xx.shape[0],):
        raise ValueError(f"labels must have shape ({xx.shape[0]},) to match x, got {lab.shape}")
    if int(n_classes) < 2 or lab.min() < 0 or lab.max() >= int(n_classes):
        raise ValueError(f"labels must be integers in [0, n_classes={n_classes})")
    g = as_scalar(weight_decay, "weight_decay", low=0.0)
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if lr is None:
        xn = np.asarray(xx, dtype=float)
        second = xn.T @ xn / xn.shape[0]
        lr = 1.0 / (float(np.linalg.eigvalsh(second)[-1]) + 1.0 + g)
    lr = as_scalar(lr, "lr", low=0.0, low_inclusive=False)
    targets = jax.nn.one_hot(jnp.asarray(lab), int(n_classes), dtype=xx.dtype)
    return _train(xx, targets, jnp.asarray(g, xx.dtype), jnp.asarray(lr, xx.dtype), loss=loss, steps=int(steps))


def supervised_representation_variances(
    data_cov: Float[ArrayLike, "d d"], weights: Float[ArrayLike, "d K"], directions: Float[ArrayLike, "m d"]
) -> np.ndarray:
    r"""v(u) = (uᵀA0u)(uᵀ W Wᵀ u) for the supervised representation z = Wᵀx (W is d×K).

    The same definition as :func:`landscape.studies.class_imbalance.representation_variances`
    with the SSL map f = Wᵀx (so its WᵀW is W Wᵀ here) and the clean input covariance.

    >>> supervised_representation_variances(np.eye(2), np.array([[1.0], [0.0]]), np.eye(2)).tolist()
    [1.0, 0.0]
    """
    a = np.asarray(data_cov, dtype=float)
    w = np.asarray(weights, dtype=float)
    u = np.atleast_2d(np.asarray(directions, dtype=float))
    return np.einsum("kd,de,ke->k", u, a, u) * np.einsum("kd,de,ke->k", u, w @ w.T, u)
