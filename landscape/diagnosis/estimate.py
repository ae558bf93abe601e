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

**Streamed bootstrap** (``init(d, bootstrap=R, seed=s)``; the online bootstrap):
row k enters replicate r with an independent count w_kr ~ Poisson(1), and replicate
r is the estimator on the rows repeated w_kr times,

    N_r = Σ_k w_kr,   m_ir = Σ_k w_kr x_ik / N_r,
    A0_r = sym Σ_k w_kr (x₁ₖ − m₁ᵣ)(x₂ₖ − m₂ᵣ)ᵀ / (N_r − 1),
    C_r = ½ Σ_k w_kr (δ_k − δ̄_r)(δ_k − δ̄_r)ᵀ / (N_r − 1),   δ = x₁ − x₂,

from the weighted sums N_r, Σwx₁, Σwx₂, Σw(x₁x₁ᵀ + x₂x₂ᵀ), Σwx₁x₂ᵀ: R·(2d² + 2d + 1)
numbers (:class:`ReplicateSums`; :func:`update` holds the old and the new state, and
the R×b×d weighted batch, at once).  Multinomial counts (the row resampling of
:func:`bootstrap_covariances`) give exactly its replicates (:func:`update_counts`);
Poisson counts, independent across rows, can be drawn one batch at a time and agree
with the multinomial bootstrap as n grows.  :func:`update` draws them from the key
carried in the state, split once per batch, so a stream is reproducible for a fixed
seed **and batching**: the same rows cut into other batches get other counts (a
result with the same spread, not the same numbers).  :func:`finalize_bootstrap`
gives the replicates (A0s, Cs) as :func:`bootstrap_covariances` does.

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

from landscape.core.validation import as_int, require_memory

__all__ = [
    "Covariances",
    "MomentSums",
    "ReplicateSums",
    "as_views",
    "estimate_covariances",
    "init",
    "update",
    "update_counts",
    "finalize",
    "finalize_bootstrap",
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


class ReplicateSums(NamedTuple):
    """Count-weighted sums of the streamed bootstrap replicates (leading axis R; module docstring).

    Attributes:
        n: N_r = Σ_k w_kr (R,).
        sum1, sum2: Σ_k w_kr x₁ₖ and Σ_k w_kr x₂ₖ (R×d).
        sum_sq: Σ_k w_kr (x₁ₖx₁ₖᵀ + x₂ₖx₂ₖᵀ) (R×d×d).
        sum12: Σ_k w_kr x₁ₖx₂ₖᵀ (R×d×d).
    """

    n: jax.Array
    sum1: jax.Array
    sum2: jax.Array
    sum_sq: jax.Array
    sum12: jax.Array


class MomentSums(NamedTuple):
    """Raw sums of a stream of paired batches (a pytree; see :func:`update`).

    ``replicates`` and ``key`` are None without the streamed bootstrap.
    """

    n: jax.Array
    sum1: jax.Array
    sum2: jax.Array
    sum11: jax.Array
    sum22: jax.Array
    sum12: jax.Array
    replicates: ReplicateSums | None = None
    key: jax.Array | None = None


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
def init(dim: int, dtype: Any = None, *, bootstrap: int = 0, seed: int = 0) -> MomentSums:
    """Empty :class:`MomentSums` for features of dimension ``dim``.

    With ``bootstrap=R`` > 0 it also holds R replicates of the streamed (Poisson) bootstrap and the
    key ``PRNGKey(seed)`` their counts are drawn from (module docstring).  Raises ValueError naming
    ``bootstrap`` when R is negative or its R·(2d² + 2d + 1) sums (twice, during :func:`update`)
    would take more than half the memory available (:func:`landscape.core.validation.require_memory`).
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    dim = as_int(dim, "dim", low=1)
    reps = as_int(bootstrap, "bootstrap", low=0)
    vec, mat = jnp.zeros((dim,), dtype), jnp.zeros((dim, dim), dtype)
    state = MomentSums(jnp.zeros((), dtype), vec, vec, mat, mat, mat)
    if not reps:
        return state
    itemsize = np.dtype(dtype).itemsize
    require_memory(2.0 * itemsize * reps * (2 * dim * dim + 2 * dim + 1), f"bootstrap={reps} (d={dim})")
    rvec, rmat = jnp.zeros((reps, dim), dtype), jnp.zeros((reps, dim, dim), dtype)
    replicates = ReplicateSums(jnp.zeros((reps,), dtype), rvec, rvec, rmat, rmat)
    return state._replace(replicates=replicates, key=jax.random.PRNGKey(seed))


def _add_batch(state: MomentSums, x1: jax.Array, x2: jax.Array, counts: jax.Array | None, key: Any) -> MomentSums:
    """The sums with a batch added; ``counts`` (R×b) weight the rows of each replicate."""
    reps = state.replicates
    if reps is not None and counts is not None:
        w = jnp.asarray(counts, x1.dtype)
        w1, w2 = w[:, :, None] * x1[None], w[:, :, None] * x2[None]  # R×b×d
        reps = ReplicateSums(
            reps.n + jnp.sum(w, axis=1),
            reps.sum1 + jnp.sum(w1, axis=1),
            reps.sum2 + jnp.sum(w2, axis=1),
            reps.sum_sq + jnp.einsum("rki,kj->rij", w1, x1) + jnp.einsum("rki,kj->rij", w2, x2),
            reps.sum12 + jnp.einsum("rki,kj->rij", w1, x2),
        )
    return MomentSums(
        state.n + x1.shape[0],
        state.sum1 + jnp.sum(x1, axis=0),
        state.sum2 + jnp.sum(x2, axis=0),
        state.sum11 + x1.T @ x1,
        state.sum22 + x2.T @ x2,
        state.sum12 + x1.T @ x2,
        reps,
        key,
    )


@jax.jit
def update(state: MomentSums, x1_batch: jax.Array, x2_batch: jax.Array) -> MomentSums:
    """Add a batch of paired rows (b×d each) to the sums; jitted (one compilation per batch shape).

    With the streamed bootstrap each row's count in each replicate is drawn here, w ~ Poisson(1)
    (R×b), from a key split off the state's key, which moves on (module docstring).
    """
    x1 = jnp.asarray(x1_batch, state.sum1.dtype)
    x2 = jnp.asarray(x2_batch, state.sum1.dtype)
    if state.replicates is None:
        return _add_batch(state, x1, x2, None, None)
    if state.key is None:
        raise ValueError("state.key: the streamed bootstrap needs the key of init(d, bootstrap=R, seed=...)")
    key, sub = jax.random.split(state.key)
    counts = jax.random.poisson(sub, 1.0, (state.replicates.n.shape[0], x1.shape[0]))
    return _add_batch(state, x1, x2, counts, key)


@jax.jit
def update_counts(state: MomentSums, x1_batch: jax.Array, x2_batch: jax.Array, counts: jax.Array) -> MomentSums:
    """:func:`update` with given counts of the batch's rows in each replicate (R×b) instead of Poisson draws.

    For a resampling of your own: the multinomial counts of :func:`bootstrap_covariances`
    (``bincount`` of its indices) reproduce its replicates, in any batching.  The key is not used.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(6, 2))
    >>> state = update_counts(init(2, bootstrap=1), x, -x, np.ones((1, 6)))
    >>> bool(np.allclose(finalize_bootstrap(state)[0][0], finalize(state).data_cov))
    True
    """
    x1 = jnp.asarray(x1_batch, state.sum1.dtype)
    x2 = jnp.asarray(x2_batch, state.sum1.dtype)
    return _add_batch(state, x1, x2, counts, state.key)


def _check_sums(sums: Any, prefix: str, what: str) -> None:
    if isinstance(sums.n, jax.core.Tracer):
        return
    if float(np.min(np.asarray(sums.n))) < 2:
        raise ValueError(f"{prefix}.n: {what} at least two samples; got {float(np.min(np.asarray(sums.n))):g}")
    for name in sums._fields[1:6]:  # the sums, not the replicates or the key
        if not np.all(np.isfinite(np.asarray(getattr(sums, name)))):
            raise ValueError(f"{prefix}.{name} has NaN or infinite entries (a batch had a NaN row)")


def finalize(state: MomentSums, *, shrinkage: float = 0.0) -> Covariances:
    """The estimates of :func:`estimate_covariances` from accumulated sums (numeric shrinkage only).

    Raises ValueError when fewer than two samples were accumulated or a sum is not finite.
    """
    rho = _shrinkage_value(shrinkage)
    if rho == "ledoit-wolf":
        raise ValueError("shrinkage='ledoit-wolf' needs the samples; give finalize a number in [0, 1]")
    _check_sums(state, "state", "the stream needs")
    est = _finalize(state.n, state.sum1, state.sum2, state.sum11 + state.sum22, state.sum12)
    if rho:
        return est._replace(data_cov=_shrink(est.data_cov, rho), aug_cov=_shrink(est.aug_cov, rho))
    return est


def finalize_bootstrap(state: MomentSums) -> tuple[jax.Array, jax.Array] | None:
    """The streamed replicates (A0s, Cs), shapes (R, d, d) each, as :func:`bootstrap_covariances` gives
    them (unshrunk), or None when ``state`` has no bootstrap.

    Raises ValueError when a replicate holds fewer than two samples (a very short stream) or a sum is
    not finite.
    """
    reps = state.replicates
    if reps is None:
        return None
    _check_sums(reps, "state.replicates", "every bootstrap replicate needs")
    est = _finalize_replicates(reps.n, reps.sum1, reps.sum2, reps.sum_sq, reps.sum12)
    return est.data_cov, est.aug_cov


def _covariances_from_sums(n: Any, sum1: Any, sum2: Any, sum_sq: Any, sum12: Any) -> Covariances:
    """(A0, C, …) from n, Σx₁, Σx₂, Σ(x₁x₁ᵀ + x₂x₂ᵀ), Σx₁x₂ᵀ (weighted sums alike)."""
    m1, m2 = sum1 / n, sum2 / n
    cross = _sym((sum12 - n * jnp.outer(m1, m2)) / (n - 1))
    both = _sym(0.5 * (sum_sq - n * (jnp.outer(m1, m1) + jnp.outer(m2, m2))) / (n - 1))  # (C₁₁ + C₂₂)/2
    return Covariances(cross, both - cross, both, m1 - m2, n)


_finalize = jax.jit(_covariances_from_sums)
_finalize_replicates = jax.jit(jax.vmap(_covariances_from_sums))


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
