r"""Estimate the data covariance A0 and the augmentation covariance C from two views.

The views are features of the same n inputs under two independent augmentations,
x₁ = x̂ + ε₁ and x₂ = x̂ + ε₂ (rows are samples).  Then

* A0 = sym(Cov(x₁, x₂)), the symmetrised cross-covariance of the centred views
  (each view centred by its own mean, divided by n − 1);
* C = ½·Cov(x₁ − x₂), half the covariance of the difference.

Both are unbiased.  **Shrinkage** (``shrinkage=``): a number ρ ∈ [0, 1] replaces
each estimate S by (1 − ρ)·S + ρ·(Tr S/d)·I; ``"ledoit-wolf"`` picks ρ for each
matrix by the Ledoit–Wolf (2004) rule toward the scaled identity, ρ = min(b̄², d²)/d²
with d² = ‖S − (Tr S/d)I‖²_F and b̄² = (1/n²)Σ_k‖M_k − S‖²_F over the per-sample
matrices M_k (sym(z₁z₂ᵀ) for A0, ½δδᵀ for C).  Use it when n is not large against d.

**Bootstrap**: :func:`bootstrap_covariances` resamples rows with replacement and
evaluates the jitted estimator under ``vmap`` (memory ~ replicates·n·d).

**Streaming**: :class:`MomentSums` holds the raw sums n, Σx₁, Σx₂, Σx₁x₁ᵀ,
Σx₂x₂ᵀ, Σx₁x₂ᵀ; :func:`update` (jittable) adds a batch and :func:`finalize` gives
the same estimates as :func:`estimate_covariances`.  The sums are uncentred, so
features with means large against their spread lose precision in float32
(subtract a fixed reference vector from both views first).  Ledoit–Wolf needs the
per-sample matrices and is one-shot only; a numeric ρ works in both.

**Warnings** (:func:`check_views`): A0 with an eigenvalue below zero by more than
4 standard errors (the views are dependent beyond their shared input, or not
paired), and view means that differ beyond sampling error (Bonferroni over the
coordinates at level 10⁻³).  Standard errors use the Gaussian fourth moment.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

__all__ = [
    "Covariances",
    "MomentSums",
    "as_views",
    "estimate_covariances",
    "init",
    "update",
    "finalize",
    "bootstrap_covariances",
    "check_views",
]

#: Warn when A0's smallest eigenvalue is below −NEGATIVE_Z standard errors.
NEGATIVE_Z = 4.0
#: Family-wise level of the test that the two view means agree.
MEAN_LEVEL = 1e-3


class Covariances(NamedTuple):
    """Estimates from two views.

    Attributes:
        data_cov: A0 (d×d).
        aug_cov: C (d×d).
        view_cov: (Cov x₁ + Cov x₂)/2, the estimate of Σ₁ used in standard errors (d×d).
        mean_diff: mean x₁ − mean x₂ (d,).
        n: the number of samples.
    """

    data_cov: jax.Array
    aug_cov: jax.Array
    view_cov: jax.Array
    mean_diff: jax.Array
    n: jax.Array


class MomentSums(NamedTuple):
    """Raw sums of a stream of paired batches (a pytree; see :func:`update`)."""

    n: jax.Array
    sum1: jax.Array
    sum2: jax.Array
    sum11: jax.Array
    sum22: jax.Array
    sum12: jax.Array


def as_views(view1: Any, view2: Any, *, names: tuple[str, str] = ("view1", "view2")) -> tuple[jax.Array, jax.Array]:
    """Validate two views (n×d, same shape, n ≥ 2, finite) and return them as JAX float arrays.

    Raises ValueError naming the field (and the first row with a NaN or infinite entry).
    """
    arrays = []
    for name, view in zip(names, (view1, view2)):
        try:
            arr = np.asarray(view, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array of shape (n, d): {exc}") from None
        if arr.ndim != 2:
            raise ValueError(f"{name} must have shape (n_samples, dim); got shape {arr.shape}")
        if arr.shape[0] < 2:
            raise ValueError(f"{name} needs at least two samples (rows); got {arr.shape[0]}")
        if arr.shape[1] < 1:
            raise ValueError(f"{name} needs at least one feature (column); got shape {arr.shape}")
        bad = ~np.all(np.isfinite(arr), axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValueError(f"{name} has NaN or infinite entries in {rows.size} row(s), first row {rows[0]}")
        arrays.append(arr)
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape; got {arrays[0].shape} and {arrays[1].shape}"
        )
    dtype = jnp.result_type(float)
    return jnp.asarray(arrays[0], dtype), jnp.asarray(arrays[1], dtype)


def _sym(m: jax.Array) -> jax.Array:
    return 0.5 * (m + m.T)


def _shrink(s: jax.Array, rho: Any) -> jax.Array:
    d = s.shape[-1]
    target = jnp.trace(s) / d * jnp.eye(d, dtype=s.dtype)
    return (1.0 - rho) * s + rho * target


def _ledoit_wolf(s: jax.Array, sq_norms_mean: jax.Array, n: int) -> jax.Array:
    """ρ of Ledoit–Wolf from S and mean_k ‖M_k‖²_F (b̄² = (mean‖M_k‖² − ‖S‖²)/n)."""
    d = s.shape[-1]
    mu = jnp.trace(s) / d
    dist2 = jnp.sum((s - mu * jnp.eye(d, dtype=s.dtype)) ** 2)
    bbar2 = jnp.maximum(sq_norms_mean - jnp.sum(s * s), 0.0) / n
    return jnp.where(dist2 > 0, jnp.minimum(bbar2, dist2) / jnp.where(dist2 > 0, dist2, 1.0), 0.0)


def _estimate(x1: jax.Array, x2: jax.Array) -> Covariances:
    n = x1.shape[0]
    m1, m2 = jnp.mean(x1, axis=0, keepdims=True), jnp.mean(x2, axis=0, keepdims=True)
    z1, z2 = x1 - m1, x2 - m2
    cross = z1.T @ z2 / (n - 1)
    delta = z1 - z2
    aug = 0.5 * (delta.T @ delta) / (n - 1)
    view = 0.5 * (z1.T @ z1 + z2.T @ z2) / (n - 1)
    return Covariances(_sym(cross), aug, view, (m1 - m2)[0], jnp.asarray(n, x1.dtype))


_estimate_jit = jax.jit(_estimate)


def _shrinkage_value(shrinkage: Any) -> float | str:
    if shrinkage is None:
        return 0.0
    if isinstance(shrinkage, str):
        if shrinkage.strip().lower().replace("_", "-") in ("ledoit-wolf", "lw", "auto"):
            return "ledoit-wolf"
        raise ValueError(f"shrinkage must be a number in [0, 1] or 'ledoit-wolf'; got {shrinkage!r}")
    rho = float(shrinkage)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"shrinkage must be a number in [0, 1] or 'ledoit-wolf'; got {shrinkage!r}")
    return rho


def estimate_covariances(view1: Any, view2: Any, *, shrinkage: Any = 0.0) -> Covariances:
    """A0 and C from two views (n×d NumPy or JAX arrays), optionally shrunk (module docstring).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4000, 2)) * [2.0, 1.0]
    >>> est = estimate_covariances(x + 0.5 * rng.normal(size=x.shape), x + 0.5 * rng.normal(size=x.shape))
    >>> bool(np.allclose(est.data_cov, np.diag([4.0, 1.0]), atol=0.2)), bool(np.allclose(est.aug_cov, 0.25 * np.eye(2), atol=0.02))
    (True, True)
    """
    rho = _shrinkage_value(shrinkage)
    x1, x2 = as_views(view1, view2)
    est = _estimate_jit(x1, x2)
    if rho == "ledoit-wolf":
        n = x1.shape[0]
        z1, z2 = x1 - jnp.mean(x1, axis=0, keepdims=True), x2 - jnp.mean(x2, axis=0, keepdims=True)
        a1, a2, dot = jnp.sum(z1 * z1, 1), jnp.sum(z2 * z2, 1), jnp.sum(z1 * z2, 1)
        delta2 = jnp.sum((z1 - z2) ** 2, 1)
        rho_a = _ledoit_wolf(est.data_cov, jnp.mean(0.5 * (a1 * a2 + dot * dot)), n)
        rho_c = _ledoit_wolf(est.aug_cov, jnp.mean(0.25 * delta2 * delta2), n)
        return est._replace(data_cov=_shrink(est.data_cov, rho_a), aug_cov=_shrink(est.aug_cov, rho_c))
    if rho:
        return est._replace(data_cov=_shrink(est.data_cov, rho), aug_cov=_shrink(est.aug_cov, rho))
    return est


# ----------------------------------------------------------------------- streaming
def init(dim: int, dtype: Any = None) -> MomentSums:
    """Empty :class:`MomentSums` for features of dimension ``dim``."""
    dtype = jnp.result_type(float) if dtype is None else dtype
    vec, mat = jnp.zeros((dim,), dtype), jnp.zeros((dim, dim), dtype)
    return MomentSums(jnp.zeros((), dtype), vec, vec, mat, mat, mat)


@jax.jit
def update(state: MomentSums, x1_batch: jax.Array, x2_batch: jax.Array) -> MomentSums:
    """Add a batch of paired rows (b×d each) to the sums; jitted (one compilation per batch shape)."""
    x1 = jnp.asarray(x1_batch, state.sum1.dtype)
    x2 = jnp.asarray(x2_batch, state.sum1.dtype)
    return MomentSums(
        state.n + x1.shape[0],
        state.sum1 + jnp.sum(x1, axis=0),
        state.sum2 + jnp.sum(x2, axis=0),
        state.sum11 + x1.T @ x1,
        state.sum22 + x2.T @ x2,
        state.sum12 + x1.T @ x2,
    )


def finalize(state: MomentSums, *, shrinkage: float = 0.0) -> Covariances:
    """The estimates of :func:`estimate_covariances` from accumulated sums (numeric shrinkage only).

    Raises ValueError when fewer than two samples were accumulated or a sum is not finite.
    """
    rho = _shrinkage_value(shrinkage)
    if rho == "ledoit-wolf":
        raise ValueError("shrinkage='ledoit-wolf' needs the samples; give finalize a number in [0, 1]")
    if not isinstance(state.n, jax.core.Tracer):
        if float(state.n) < 2:
            raise ValueError(f"state.n: the stream needs at least two samples; got {float(state.n):g}")
        for name, value in state._asdict().items():
            if not np.all(np.isfinite(np.asarray(value))):
                raise ValueError(f"state.{name} has NaN or infinite entries (a batch had a NaN row)")
    est = _finalize(state)
    if rho:
        return est._replace(data_cov=_shrink(est.data_cov, rho), aug_cov=_shrink(est.aug_cov, rho))
    return est


@jax.jit
def _finalize(state: MomentSums) -> Covariances:
    n = state.n
    m1, m2 = state.sum1 / n, state.sum2 / n
    cross = (state.sum12 - n * jnp.outer(m1, m2)) / (n - 1)
    c11 = (state.sum11 - n * jnp.outer(m1, m1)) / (n - 1)
    c22 = (state.sum22 - n * jnp.outer(m2, m2)) / (n - 1)
    aug = 0.5 * (c11 + c22 - cross - cross.T)
    return Covariances(_sym(cross), _sym(aug), _sym(0.5 * (c11 + c22)), m1 - m2, n)


# ----------------------------------------------------------------------- bootstrap
@jax.jit
def _bootstrap(x1: jax.Array, x2: jax.Array, idx: jax.Array) -> tuple[jax.Array, jax.Array]:
    est = jax.vmap(lambda i: _estimate(x1[i], x2[i]))(idx)
    return est.data_cov, est.aug_cov


def bootstrap_covariances(view1: Any, view2: Any, replicates: int, *, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    """(A0, C) on ``replicates`` row resamples of the views, shapes (replicates, d, d) each (no shrinkage)."""
    x1, x2 = as_views(view1, view2)
    replicates = int(replicates)
    if replicates < 1:
        raise ValueError(f"bootstrap must be a positive number of replicates; got {replicates}")
    n = x1.shape[0]
    idx = jax.random.randint(jax.random.PRNGKey(seed), (replicates, n), 0, n)
    return _bootstrap(x1, x2, idx)


# ------------------------------------------------------------------------ warnings
def user_stacklevel() -> int:
    """The ``stacklevel`` at which a warning raised by the caller names the first frame outside
    :mod:`landscape.diagnosis` (the user's own call, however deep the package's call chain)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def check_views(est: Covariances) -> list[str]:
    """Warn (``warnings.warn``, UserWarning) about dependent or shifted views; return the messages."""
    n = float(est.n)
    messages = []
    vals, vecs = np.linalg.eigh(np.asarray(est.data_cov, float))
    u = vecs[:, 0]
    s = float(u @ np.asarray(est.view_cov, float) @ u)
    se = np.sqrt(max(s * s + vals[0] ** 2, 0.0) / n)
    # a direction without variance (a constant feature) has se ≈ 0: rounding in A0 is not dependence
    se = max(se, 1e3 * float(np.finfo(np.asarray(est.data_cov).dtype).eps) * float(np.max(np.abs(vals))))
    if vals[0] < -NEGATIVE_Z * se:
        messages.append(
            f"the data covariance A0 has eigenvalue {vals[0]:.4g}, {-vals[0] / se:.1f} standard errors below 0: "
            "the two views are dependent beyond their shared input (or the rows are not paired)"
        )
    var = np.maximum(2.0 * np.diag(np.asarray(est.aug_cov, float)), np.finfo(float).tiny)
    z = np.abs(np.asarray(est.mean_diff, float)) / np.sqrt(var / n)
    cut = float(ndtri(1.0 - MEAN_LEVEL / (2.0 * z.size)))
    if np.max(z) > cut:
        j = int(np.argmax(z))
        messages.append(
            f"the view means differ beyond sampling error (feature {j}: z = {z[j]:.1f} > {cut:.1f}): "
            "the augmentations are not identically distributed; A0 and C describe the centred views"
        )
    for m in messages:
        warnings.warn(m, UserWarning, stacklevel=user_stacklevel())
    return messages
