r"""Linear and ridge probes: fit, predict, R², accuracy, and the population R² of a probe.

Which matrix: the probes regress targets on the features passed in, usually
the representation h before the projector (the features one transfers);
:func:`population_probe_r2` takes the feature covariance Cov(h) and the cross
covariance Cov(h, y) instead of samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from landscape.metrics._arrays import _as_float, _features, _square

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float, Int


class Probe(NamedTuple):
    """An affine probe y ≈ z·weights + bias (weights D×K, bias K)."""

    weights: jax.Array
    bias: jax.Array


def fit_probe(
    z: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, " n"] | Float[ArrayLike, "n k"],
    *,
    ridge: float = 0.0,
    relative: bool = True,
) -> Probe:
    r"""Closed-form affine probe: linear least squares (``ridge = 0``) or ridge regression.

    With training means z̄, ȳ and centred Z_c, Y_c (bias never penalised):

        W = (Z_cᵀZ_c / N + λ I)^{-1} Z_cᵀY_c / N,    b = ȳ − z̄ W.

    ``ridge = 0`` is the linear probe, solved with the pseudo-inverse (the
    minimum-norm solution, so N ≤ D is fine).  With ``relative=True`` (default)
    λ = ridge · tr(C)/D with C the training feature covariance, the Cosentino
    recipe; otherwise λ = ridge.  ``y`` is (N,) or (N, K); for classification
    pass one-hot targets (see :func:`probe_accuracy`).

    >>> import jax.numpy as jnp
    >>> z = jnp.array([[0.0], [1.0], [2.0]])
    >>> p = fit_probe(z, 3.0 * z[:, 0] + 1.0)
    >>> round(float(p.weights[0, 0]), 6), round(float(p.bias[0]), 6)
    (3.0, 1.0)
    """
    zz = _features(z, "z")
    yy = _as_float(y, "y")
    if yy.ndim == 1:
        yy = yy[:, None]
    if yy.ndim != 2 or yy.shape[0] != zz.shape[0]:
        raise ValueError(f"y must have {zz.shape[0]} rows like z, got shape {jnp.shape(y)}")
    n, d = zz.shape
    zm = jnp.mean(zz, axis=0, keepdims=True)
    ym = jnp.mean(yy, axis=0, keepdims=True)
    zc = zz - zm
    yc = yy - ym
    if isinstance(ridge, (int, float)) and ridge == 0:
        w = jnp.linalg.pinv(zc) @ yc
    else:
        cov = zc.T @ zc / n
        lam = jnp.asarray(ridge, zz.dtype)
        if relative:
            lam = lam * jnp.trace(cov) / d
        w = jnp.linalg.solve(cov + lam * jnp.eye(d, dtype=zz.dtype), zc.T @ yc / n)
    return Probe(weights=w, bias=(ym - zm @ w)[0])


def probe_predict(probe: Probe, z: Float[ArrayLike, "n d"]) -> jax.Array:
    """Predictions z·W + b of a fitted probe, shape (N, K)."""
    return _features(z, "z") @ probe.weights + probe.bias[None, :]


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    r"""Coefficient of determination 1 − Σ(y − ŷ)² / Σ(y − ȳ)², pooled over outputs.

    ȳ is the mean of ``y_true`` itself.  NaN when ``y_true`` is constant.

    >>> import jax.numpy as jnp
    >>> float(r2_score(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 2.0, 3.0])))
    1.0
    """
    yt = _as_float(y_true, "y_true")
    yp = _as_float(y_pred, "y_pred").reshape(yt.shape)
    ss_res = jnp.sum((yt - yp) ** 2)
    ss_tot = jnp.sum((yt - jnp.mean(yt, axis=0, keepdims=True)) ** 2)
    return jnp.where(ss_tot > 0, 1.0 - ss_res / jnp.where(ss_tot > 0, ss_tot, 1.0), jnp.nan)


def accuracy(labels: Int[ArrayLike, " n"], scores: Float[ArrayLike, "n c"]) -> jax.Array:
    """Fraction of rows whose arg-max score equals the integer label.

    >>> import jax.numpy as jnp
    >>> float(accuracy(jnp.array([0, 1]), jnp.array([[2.0, 1.0], [3.0, 0.0]])))
    0.5
    """
    return jnp.mean(jnp.argmax(jnp.asarray(scores), axis=1) == jnp.asarray(labels))


def probe_r2(
    z_train: Float[ArrayLike, "n d"],
    y_train: ArrayLike,
    z_test: Float[ArrayLike, "m d"],
    y_test: ArrayLike,
    *,
    ridge: float = 0.0,
    relative: bool = True,
) -> jax.Array:
    r"""Held-out R² of a linear (``ridge=0``) or ridge probe fitted on the training split.

    >>> import jax.numpy as jnp
    >>> z = jnp.array([[0.0], [1.0], [2.0], [3.0]])
    >>> round(float(probe_r2(z[:2], 2 * z[:2, 0], z[2:], 2 * z[2:, 0])), 6)
    1.0
    """
    p = fit_probe(z_train, y_train, ridge=ridge, relative=relative)
    yt = _as_float(y_test, "y_test")
    return r2_score(yt, probe_predict(p, z_test).reshape(yt.shape))


def probe_accuracy(
    z_train: Float[ArrayLike, "n d"],
    labels_train: Int[ArrayLike, " n"],
    z_test: Float[ArrayLike, "m d"],
    labels_test: Int[ArrayLike, " m"],
    *,
    n_classes: int,
    ridge: float = 0.0,
    relative: bool = True,
) -> jax.Array:
    r"""Held-out accuracy of a least-squares (or ridge) classifier on one-hot targets.

    The probe regresses one-hot class indicators and predicts the arg-max; this
    is the closed-form linear probe (no iterative logistic regression).
    ``n_classes`` is static.

    >>> import jax.numpy as jnp
    >>> z = jnp.array([[-2.0], [-1.0], [1.0], [2.0]]); lab = jnp.array([0, 0, 1, 1])
    >>> float(probe_accuracy(z, lab, -z, 1 - lab, n_classes=2))
    1.0
    """
    onehot = jax.nn.one_hot(jnp.asarray(labels_train), int(n_classes), dtype=_features(z_train, "z_train").dtype)
    p = fit_probe(z_train, onehot, ridge=ridge, relative=relative)
    return accuracy(labels_test, probe_predict(p, z_test))


def population_probe_r2(
    feature_cov: Float[ArrayLike, "k k"],
    cross_cov: Float[ArrayLike, " k"],
    target_var: float | jax.Array,
    *,
    ridge: float = 0.0,
    relative: bool = True,
) -> jax.Array:
    r"""Population R² of the best affine ridge probe for jointly distributed features h and target y.

    With K = Cov(h) (k×k), k = Cov(h, y) (k,) and v = Var(y), the probe
    w = (K + λI)^{-1} k has residual variance v − 2wᵀk + wᵀKw, so

        R² = 1 − (v − 2wᵀk + wᵀKw) / v.

    For a linear layer h = F s of Gaussian clean data s ~ N(0, A0) and a target
    y = βᵀs: K = F A0 Fᵀ, k = F A0 β, v = βᵀA0β.  ``ridge = 0`` uses the
    pseudo-inverse (the linear probe).  λ = ridge·tr(K)/k when ``relative``.

    >>> import jax.numpy as jnp
    >>> float(population_probe_r2(jnp.eye(2), jnp.array([1.0, 0.0]), 2.0))   # sees half the variance
    0.5
    """
    kmat = _square(feature_cov, "feature_cov")
    kvec = _as_float(cross_cov, "cross_cov")
    v = jnp.asarray(target_var, kmat.dtype)
    if kvec.shape != (kmat.shape[0],):
        raise ValueError(f"cross_cov must have shape ({kmat.shape[0]},), got {kvec.shape}")
    if isinstance(ridge, (int, float)) and ridge == 0:
        w = jnp.linalg.pinv(kmat, hermitian=True) @ kvec
    else:
        lam = jnp.asarray(ridge, kmat.dtype)
        if relative:
            lam = lam * jnp.trace(kmat) / kmat.shape[0]
        w = jnp.linalg.solve(kmat + lam * jnp.eye(kmat.shape[0], dtype=kmat.dtype), kvec)
    resid = v - 2.0 * jnp.dot(w, kvec) + jnp.dot(w, kmat @ w)
    return jnp.where(v > 0, 1.0 - resid / jnp.where(v > 0, v, 1.0), jnp.nan)
