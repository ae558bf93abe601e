r"""Collapse and geometry metrics: ranks, spectra, invariance, subspaces and probes.

Every metric says which matrix it measures.  Two words are used throughout:

* **representation** — the encoder output h = f(x), the features one transfers;
* **embedding** — the projector output z = g(f(x)), the features the SSL loss sees.

The metrics do not care which of the two they get; the caller decides, and the
figure or report that shows a number names the layer.

**Features or covariance.**  The spectral metrics (:func:`effective_rank`,
:func:`numerical_rank`, :func:`participation_ratio`, :func:`alpha_req`,
:func:`explained_variance`) take either an N×D feature matrix (rows are samples)
or, with ``covariance=True``, a D×D covariance.  From features they measure the
covariance (1/N)·X_cᵀX_c of the *centred* rows (``center=True``, default) or the
second moment (1/N)·XᵀX (``center=False``).  The eigenvalues are computed from
the singular values of the N×D matrix, never from a formed D×D product, so that
tiny eigenvalues keep their relative accuracy in float32.

**Few samples.**  With N ≤ D, the centred N×D matrix has rank at most N − 1
(the rows sum to zero) and the uncentred one at most N.  The metrics report
exactly that: no 1/N floor and no regulariser is added, so a rank-deficient
sample gives a rank-deficient answer.  The spectrum always has length D (zeros
beyond rank), so shapes are static under ``jax.jit`` and ``jax.vmap``.

All metrics are pure JAX functions of arrays; they run under ``jit`` (keyword
flags such as ``covariance`` and ``center`` are static) and ``vmap``, in
float32 and float64.  Quantities that are undefined (the AVF of the zero map,
the explained variance of a zero matrix) come back as NaN, never as a number
that looks valid.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape import metrics
    >>> float(metrics.effective_rank(jnp.eye(4), covariance=True))
    4.0
    >>> x = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])   # variance on one axis only
    >>> int(metrics.numerical_rank(x)), float(metrics.participation_ratio(x))
    (1, 1.0)
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from landscape.core.linalg import surviving_rank

__all__ = [
    "covariance",
    "spectrum",
    "effective_rank",
    "rankme",
    "numerical_rank",
    "participation_ratio",
    "alpha_req",
    "normalized_std",
    "explained_variance",
    "distance_to_etf",
    "avf_linear",
    "invariance_gain_linear",
    "avf_samples",
    "avf_network",
    "invariance_gain_samples",
    "orthonormal_basis",
    "principal_angles",
    "top_subspace",
    "kept_removed_subspaces",
    "local_pca_tangents",
    "Probe",
    "fit_probe",
    "probe_predict",
    "r2_score",
    "accuracy",
    "probe_r2",
    "probe_accuracy",
    "population_probe_r2",
]


# ----------------------------------------------------------------------------- inputs
def _as_float(x, field: str) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def _features(x, field: str = "features") -> jax.Array:
    x = _as_float(x, field)
    if x.ndim != 2:
        raise ValueError(f"{field} must be an N×D matrix (rows are samples), got shape {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{field} must have at least one sample and one dimension, got shape {x.shape}")
    return x


def _square(x, field: str) -> jax.Array:
    x = _as_float(x, field)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"{field} must be a square D×D matrix, got shape {x.shape}")
    return x


def _xlogx(p: jax.Array) -> jax.Array:
    safe = jnp.where(p > 0, p, 1.0)
    return jnp.where(p > 0, p * jnp.log(safe), 0.0)


# ----------------------------------------------------------------------------- spectra
def covariance(features, *, center: bool = True) -> jax.Array:
    r"""The D×D covariance (1/N)·X_cᵀX_c of N×D features (second moment if ``center=False``).

    X_c = X − 1 x̄ᵀ subtracts the sample mean of each column.  The 1/N (not
    1/(N−1)) normalisation makes this the covariance of the empirical
    distribution; no spectral metric depends on the choice.

    >>> import jax.numpy as jnp
    >>> covariance(jnp.array([[1.0, 2.0], [3.0, 2.0]])).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    x = _features(features)
    if center:
        x = x - jnp.mean(x, axis=0, keepdims=True)
    return (x.T @ x) / x.shape[0]


def spectrum(x, *, covariance: bool = False, center: bool = True) -> jax.Array:
    r"""Eigenvalues of the covariance, descending, length D, clipped at 0.

    From N×D features: λ_i = s_i²/N with s_i the singular values of X_c (or of X
    when ``center=False``), padded with zeros to length D when N < D.  From a
    D×D covariance (``covariance=True``): its eigenvalues (the matrix is
    symmetrised first).  A centred sample of N ≤ D points has at most N − 1
    non-zero values.

    >>> import jax.numpy as jnp
    >>> spectrum(jnp.diag(jnp.array([1.0, 3.0, 2.0])), covariance=True).tolist()
    [3.0, 2.0, 1.0]
    """
    if covariance:
        c = _square(x, "covariance")
        lam = jnp.linalg.eigvalsh(0.5 * (c + c.T))[::-1]
        return jnp.clip(lam, 0.0, None)
    f = _features(x)
    if center:
        f = f - jnp.mean(f, axis=0, keepdims=True)
    n, d = f.shape
    s = jnp.linalg.svd(f, compute_uv=False)
    lam = s * s / n
    if lam.shape[0] < d:
        lam = jnp.concatenate([lam, jnp.zeros((d - lam.shape[0],), lam.dtype)])
    return lam


def _effective_rank_of(lam: jax.Array) -> jax.Array:
    total = jnp.sum(lam)
    p = lam / jnp.where(total > 0, total, 1.0)
    return jnp.where(total > 0, jnp.exp(-jnp.sum(_xlogx(p))), 0.0)


def effective_rank(x, *, covariance: bool = False, center: bool = True) -> jax.Array:
    r"""Roy–Vetterli effective rank of the covariance: erank = exp(−Σ_i p_i log p_i), p_i = λ_i / Σ_j λ_j.

    λ are the eigenvalues of the covariance of ``x`` (see :func:`spectrum`); this
    is the definition used for the Cosentino checks (erank(I_k) = k).  It lies in
    [1, rank] for a non-zero matrix and is 0 for the zero matrix (complete
    collapse).  It is invariant to rescaling and to rotations of the features.
    With N ≤ D centred samples it is at most N − 1.  For RankMe, which applies
    the same entropy to the *singular values of the feature matrix*, use
    :func:`rankme`.

    >>> import jax.numpy as jnp
    >>> round(float(effective_rank(jnp.diag(jnp.array([1.0, 1.0, 0.0])), covariance=True)), 6)
    2.0
    """
    return _effective_rank_of(spectrum(x, covariance=covariance, center=center))


def rankme(features, *, eps: float = 1e-7) -> jax.Array:
    r"""RankMe (Garrido et al. 2023): exp(−Σ_k p_k log p_k), p_k = σ_k/‖σ‖₁ + ε.

    σ_k are the singular values of the *uncentred* N×D embedding matrix, as in
    the paper (so it equals the Roy–Vetterli effective rank of the matrix itself,
    not of its covariance).  The ε keeps the logarithm finite; the value is in
    [1, min(N, D)] up to O(ε).

    >>> import jax.numpy as jnp
    >>> round(float(rankme(jnp.eye(3))), 4)
    3.0
    """
    f = _features(features)
    s = jnp.linalg.svd(f, compute_uv=False)
    p = s / jnp.maximum(jnp.sum(s), jnp.finfo(s.dtype).tiny) + jnp.asarray(eps, s.dtype)
    return jnp.exp(-jnp.sum(p * jnp.log(p)))


def numerical_rank(x, *, rtol: float = 1e-2, atol: float = 0.0, covariance: bool = False,
                   center: bool = True) -> jax.Array:
    r"""Number of singular values of the feature matrix above ``rtol`` · σ_max and above ``atol``.

    The tolerance is stated on the singular values of the (centred) N×D feature
    matrix, σ_i = √(N λ_i); for a covariance input the same test is applied to
    √λ_i, so both inputs give the same count.  The default ``rtol = 1e-2`` is the
    convention of the Cosentino spec; NumPy's ``matrix_rank`` uses about
    max(N, D)·ε instead.  Centred N ≤ D samples give at most N − 1.  The zero
    matrix has rank 0.  Features have no natural scale, so a cut relative to σ_max
    alone counts a collapsed representation whose values all decayed to 1e-100 as
    full rank: give the size below which a feature is dead as ``atol``.  The
    count is the survival rule of :mod:`landscape.core.linalg` (with no landscape
    scale); −1 if the features are not finite (a NaN is never a collapse).

    >>> import jax.numpy as jnp
    >>> int(numerical_rank(jnp.diag(jnp.array([1.0, 1e-3, 1e-6])), covariance=True))   # √λ: 1, 0.03, 0.001
    2
    >>> int(numerical_rank(1e-100 * jnp.eye(3), covariance=True, atol=1e-30))
    0
    """
    lam = spectrum(x, covariance=covariance, center=center)
    return surviving_rank(jnp.sqrt(lam), 0.0, rtol=rtol, floor=atol)


def participation_ratio(x, *, covariance: bool = False, center: bool = True) -> jax.Array:
    r"""Participation ratio (Σλ)² / Σλ² of the covariance eigenvalues.

    It is the Rényi-2 analogue of the effective rank, so 1 ≤ PR ≤ erank ≤ rank for
    a non-zero matrix; 0 for the zero matrix.  Scale- and rotation-invariant.

    >>> import jax.numpy as jnp
    >>> float(participation_ratio(jnp.diag(jnp.array([2.0, 2.0, 0.0])), covariance=True))
    2.0
    """
    lam = spectrum(x, covariance=covariance, center=center)
    s1 = jnp.sum(lam)
    s2 = jnp.sum(lam * lam)
    return jnp.where(s2 > 0, s1 * s1 / jnp.where(s2 > 0, s2, 1.0), 0.0)


def alpha_req(x, *, covariance: bool = False, center: bool = True, rtol: float = 1e-6,
              max_components: int | None = None) -> jax.Array:
    r"""α-ReQ exponent: the α of a power-law fit λ_i ≈ c · i^{−α} to the covariance spectrum.

    Least squares of log λ_i on log i over i = 1..K, where K is the number of
    eigenvalues above ``rtol`` · λ_1 (and at most ``max_components``).  Larger
    α means a faster-decaying spectrum (towards collapse); α ≈ 0 a flat one.
    Exact on an exact power law.  NaN when fewer than two eigenvalues qualify.
    With N ≤ D centred samples only the first N − 1 eigenvalues can qualify.

    >>> import jax.numpy as jnp
    >>> i = jnp.arange(1.0, 9.0)
    >>> round(float(alpha_req(jnp.diag(i ** -1.5), covariance=True)), 6)
    1.5
    """
    lam = spectrum(x, covariance=covariance, center=center)
    idx = jnp.arange(1, lam.shape[0] + 1, dtype=lam.dtype)
    w = lam > rtol * lam[0]
    if max_components is not None:
        w = w & (idx <= max_components)
    w = w.astype(lam.dtype)
    lx = jnp.log(idx)
    ly = jnp.log(jnp.where(w > 0, lam, 1.0))
    n = jnp.sum(w)
    mx = jnp.sum(w * lx) / jnp.maximum(n, 1.0)
    my = jnp.sum(w * ly) / jnp.maximum(n, 1.0)
    sxx = jnp.sum(w * (lx - mx) ** 2)
    sxy = jnp.sum(w * (lx - mx) * (ly - my))
    return jnp.where(n >= 2, -sxy / jnp.where(sxx > 0, sxx, 1.0), jnp.nan)


def normalized_std(features, *, eps: float = 1e-12) -> jax.Array:
    r"""Mean over dimensions of the std over samples of the L2-normalised outputs (SimSiam's collapse monitor).

    Each row is divided by its norm (rows of zero norm stay zero), then the
    population standard deviation of every column is taken and averaged over
    the D columns.  Complete collapse gives 0; outputs spread isotropically on
    the sphere give about 1/√D.  Features only: it is not a function of the
    covariance.  Needs N ≥ 2 to be informative (N = 1 gives 0).

    >>> import jax.numpy as jnp
    >>> float(normalized_std(jnp.ones((5, 3))))
    0.0
    """
    f = _features(features)
    norms = jnp.linalg.norm(f, axis=1, keepdims=True)
    u = f / jnp.maximum(norms, eps)
    return jnp.mean(jnp.std(u, axis=0))


def explained_variance(x, *, covariance: bool = False, center: bool = True) -> jax.Array:
    r"""Cumulative explained-variance ratio: (Σ_{j≤i} λ_j / Σ_j λ_j) for i = 1..D.

    Non-decreasing, ends at 1; NaN for a zero matrix (undefined).

    >>> import jax.numpy as jnp
    >>> explained_variance(jnp.diag(jnp.array([3.0, 1.0])), covariance=True).tolist()
    [0.75, 1.0]
    """
    lam = spectrum(x, covariance=covariance, center=center)
    total = jnp.sum(lam)
    return jnp.where(total > 0, jnp.cumsum(lam) / jnp.where(total > 0, total, 1.0), jnp.nan)


def distance_to_etf(z1, z2, *, eps: float = 1e-12) -> tuple[jax.Array, jax.Array]:
    r"""The "distance to ETF" monitor of Dubois et al.: (positive term, negative term).

    The 2N view representations are centred by their joint mean and
    L2-normalised.  Positive term: 1 − mean_i cos(z1_i, z2_i) (0 for invariant
    views).  Negative term: the mean cosine between different samples,
    mean_{i≠j} cos(z1_i, z2_j) (−1/(N − 1) for a centred regular simplex, the
    equiangular tight frame).  Measures the representation (encoder output).

    >>> import jax.numpy as jnp
    >>> z = jnp.eye(3)
    >>> [round(float(v), 6) for v in distance_to_etf(z, z)]
    [0.0, -0.5]
    """
    a = _features(z1, "z1")
    b = _features(z2, "z2")
    if a.shape != b.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {a.shape} and {b.shape}")
    n = a.shape[0]
    mean = 0.5 * (jnp.mean(a, axis=0, keepdims=True) + jnp.mean(b, axis=0, keepdims=True))
    a = a - mean
    b = b - mean
    a = a / jnp.maximum(jnp.linalg.norm(a, axis=1, keepdims=True), eps)
    b = b / jnp.maximum(jnp.linalg.norm(b, axis=1, keepdims=True), eps)
    cos = a @ b.T
    pos = 1.0 - jnp.mean(jnp.diagonal(cos))
    off = jnp.sum(cos) - jnp.sum(jnp.diagonal(cos))
    neg = off / max(float(n) * (n - 1), 1.0)
    return pos, neg


# ----------------------------------------------------------------------------- invariance
def avf_linear(f, data_cov, aug_cov) -> jax.Array:
    r"""Augmentation-variance fraction of a linear map F, closed form.

    For views x = s + ε with clean signal covariance ``data_cov`` (A0) and
    additive augmentation noise covariance ``aug_cov`` (C), drawn independently
    per view,

        AVF(F) = E‖F x₁ − F x₂‖² / E‖F x₁ − F x₁′‖² = tr(F C Fᵀ) / tr(F (A0 + C) Fᵀ),

    with x₁′ a view of an independent sample.  0 means invariant; the identity
    gives tr C / tr(A0 + C).  F is any k×D matrix (encoder W1, product W2 W1).
    The zero map (and any F that sees no variance) has no defined AVF: NaN.

    >>> import jax.numpy as jnp
    >>> a0, c = jnp.diag(jnp.array([1.0, 0.0])), jnp.diag(jnp.array([0.0, 1.0]))
    >>> float(avf_linear(jnp.eye(2), a0, c)), float(avf_linear(jnp.array([[1.0, 0.0]]), a0, c))
    (0.5, 0.0)
    """
    f = _as_float(f, "f")
    if f.ndim != 2:
        raise ValueError(f"f must be a k×D matrix, got shape {f.shape}")
    a0 = _square(data_cov, "data_cov")
    c = _square(aug_cov, "aug_cov")
    if a0.shape != c.shape or a0.shape[0] != f.shape[1]:
        raise ValueError(f"data_cov {a0.shape} and aug_cov {c.shape} must be D×D with D = f.shape[1] = {f.shape[1]}")
    num = jnp.sum((f @ c) * f)
    den = num + jnp.sum((f @ a0) * f)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


def invariance_gain_linear(f, data_cov, aug_cov) -> jax.Array:
    r"""Normalised invariance gain AVF(identity) / AVF(F) of a linear map, closed form.

    Compares layers fairly across augmentation strengths: 1 means F is as
    sensitive to augmentation as its input, larger means more invariant, +inf
    for an exactly invariant non-zero F, NaN where either AVF is undefined.

    >>> import jax.numpy as jnp
    >>> a0, c = jnp.diag(jnp.array([1.0, 1.0])), jnp.diag(jnp.array([0.0, 1.0]))
    >>> float(invariance_gain_linear(jnp.eye(2), a0, c))
    1.0
    """
    f = _as_float(f, "f")
    eye = jnp.eye(f.shape[1], dtype=f.dtype)
    return avf_linear(eye, data_cov, aug_cov) / avf_linear(f, data_cov, aug_cov)


def avf_samples(z1, z2) -> jax.Array:
    r"""Sample estimate of the AVF from paired view outputs z1_i = F(x1_i), z2_i = F(x2_i).

        AVF ≈ mean_i ‖z1_i − z2_i‖² / mean_{i≠j} ‖z1_i − z2_j‖²,

    where the denominator pairs views of different samples (independent
    inputs).  Computed in O(N·D) from sums.  Needs N ≥ 2; NaN when the outputs
    do not vary at all.

    >>> import jax.numpy as jnp
    >>> z = jnp.array([[0.0], [1.0], [2.0]])
    >>> float(avf_samples(z, z))
    0.0
    """
    a = _features(z1, "z1")
    b = _features(z2, "z2")
    if a.shape != b.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {a.shape} and {b.shape}")
    n = a.shape[0]
    if n < 2:
        raise ValueError(f"z1 and z2 need at least 2 samples, got {n}")
    pair = jnp.sum((a - b) ** 2, axis=1)
    all_pairs = n * jnp.sum(a * a) + n * jnp.sum(b * b) - 2.0 * jnp.dot(jnp.sum(a, 0), jnp.sum(b, 0))
    den = (all_pairs - jnp.sum(pair)) / (float(n) * (n - 1))
    num = jnp.mean(pair)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


def avf_network(fn: Callable[[jax.Array], jax.Array], x1, x2) -> jax.Array:
    r"""AVF of any network ``fn`` by sampling: :func:`avf_samples` of fn(x1), fn(x2).

    ``x1`` and ``x2`` hold two augmented views of the same N inputs (row i of
    each comes from sample i); ``fn`` maps an N×D batch to an N×k batch.

    >>> import jax.numpy as jnp
    >>> x1 = jnp.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.5]])
    >>> x2 = x1.at[:, 1].add(0.3)                  # augmentation moves coordinate 1 only
    >>> float(avf_network(lambda x: x[:, :1], x1, x2))
    0.0
    """
    return avf_samples(fn(_features(x1, "x1")), fn(_features(x2, "x2")))


def invariance_gain_samples(x1, x2, z1, z2) -> jax.Array:
    r"""Sampled normalised invariance gain AVF(inputs) / AVF(outputs), both from the same pairs.

    >>> import jax.numpy as jnp
    >>> x1 = jnp.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.5]]); x2 = x1 + 0.1
    >>> float(invariance_gain_samples(x1, x2, x1, x2))
    1.0
    """
    return avf_samples(x1, x2) / avf_samples(z1, z2)


# ----------------------------------------------------------------------------- subspaces
def orthonormal_basis(a) -> jax.Array:
    r"""Orthonormal basis (D×k) of the column span of a D×k matrix of full column rank (QR).

    >>> import jax.numpy as jnp
    >>> q = orthonormal_basis(jnp.array([[2.0], [0.0]]))
    >>> [abs(float(v)) for v in q[:, 0]]
    [1.0, 0.0]
    """
    a = _as_float(a, "basis")
    if a.ndim != 2:
        raise ValueError(f"basis must be a D×k matrix (columns span the subspace), got shape {a.shape}")
    q, _ = jnp.linalg.qr(a)
    return q


def principal_angles(a, b) -> jax.Array:
    r"""Principal angles (radians, ascending) between span(a) and span(b).

    ``a`` (D×k) and ``b`` (D×l) hold spanning vectors as columns (full column
    rank; they need not be orthonormal).  With orthonormal bases Q_a, Q_b and
    m = min(k, l) angles, cos θ_i are the singular values of Q_aᵀQ_b and sin θ_i
    those of (I − Q_aQ_aᵀ)Q_b (for l ≤ k); θ_i = atan2(sin θ_i, cos θ_i), which
    is accurate for small and for large angles alike (arccos alone loses half
    the digits near 0).  Identical subspaces give zeros; orthogonal ones π/2.

    >>> import jax.numpy as jnp
    >>> e = jnp.eye(3)
    >>> [round(float(t), 6) for t in principal_angles(e[:, :2], e[:, 1:])]
    [0.0, 1.570796]
    """
    qa = orthonormal_basis(a)
    qb = orthonormal_basis(b)
    if qa.shape[0] != qb.shape[0]:
        raise ValueError(f"a and b must live in the same space, got {qa.shape[0]} and {qb.shape[0]} rows")
    if qb.shape[1] > qa.shape[1]:
        qa, qb = qb, qa
    cos = jnp.linalg.svd(qa.T @ qb, compute_uv=False)             # descending
    resid = qb - qa @ (qa.T @ qb)
    sin = jnp.linalg.svd(resid, compute_uv=False)[::-1]            # ascending
    cos = jnp.clip(cos, 0.0, 1.0)
    sin = jnp.clip(sin[: cos.shape[0]], 0.0, 1.0)
    return jnp.arctan2(sin, cos)


def top_subspace(vectors, k: int, *, center: bool = False) -> jax.Array:
    r"""The top-``k`` principal directions (D×k, orthonormal) of the rows of an N×D matrix.

    Right singular vectors of the (optionally centred) matrix.  Use
    ``center=False`` for displacements such as f(t(x)) − f(x) (the augmentation
    subspace T_aug) and ``center=True`` for a cloud of points (local PCA).

    >>> import jax.numpy as jnp
    >>> v = jnp.array([[3.0, 0.0], [-3.0, 0.1]])
    >>> [round(abs(float(t)), 3) for t in top_subspace(v, 1)[:, 0]]
    [1.0, 0.017]
    """
    x = _features(vectors, "vectors")
    if not 1 <= int(k) <= x.shape[1]:
        raise ValueError(f"k must be in [1, {x.shape[1]}], got {k}")
    if center:
        x = x - jnp.mean(x, axis=0, keepdims=True)
    _, _, vt = jnp.linalg.svd(x, full_matrices=False)
    if vt.shape[0] < k:
        raise ValueError(f"k = {k} exceeds the number of rows {x.shape[0]}")
    return vt[: int(k)].T


def kept_removed_subspaces(jacobian, k: int) -> tuple[jax.Array, jax.Array]:
    r"""(kept, removed): the top-``k`` right singular subspace of a layer's Jacobian and its complement.

    For a linear projector g(h) = W2 h the Jacobian is W2 (p×h) and the kept
    subspace R_g is what W2 passes on; the removed subspace N_g (h×(h−k)) is
    the near-null space that the projector discards.  For a ReLU projector pass
    the local Jacobian J_g(h).

    >>> import jax.numpy as jnp
    >>> kept, removed = kept_removed_subspaces(jnp.array([[0.0, 2.0, 0.0]]), 1)
    >>> [abs(float(v)) for v in kept[:, 0]], removed.shape
    ([0.0, 1.0, 0.0], (3, 2))
    """
    j = _as_float(jacobian, "jacobian")
    if j.ndim != 2:
        raise ValueError(f"jacobian must be a 2-D matrix, got shape {j.shape}")
    if not 0 <= int(k) <= j.shape[1]:
        raise ValueError(f"k must be in [0, {j.shape[1]}], got {k}")
    _, _, vt = jnp.linalg.svd(j, full_matrices=True)
    return vt[: int(k)].T, vt[int(k):].T


def local_pca_tangents(points, n_neighbors: int, dim: int) -> jax.Array:
    r"""Local-PCA tangent-plane estimate at every point: an (N, D, dim) array of orthonormal bases.

    For point i take its ``n_neighbors`` nearest points (Euclidean, the point
    itself included), centre them on their mean and keep the top-``dim`` right
    singular vectors.  For data on a ``dim``-dimensional linear subspace plus
    isotropic noise of std η the estimate converges to the subspace as η → 0.
    Cost O(N²D) for the neighbour search.

    >>> import jax.numpy as jnp
    >>> t = jnp.linspace(0.0, 1.0, 6)
    >>> pts = jnp.stack([t, 2.0 * t], axis=1)     # a line in R²
    >>> basis = local_pca_tangents(pts, 3, 1)
    >>> [round(abs(float(v)), 4) for v in basis[0, :, 0]]
    [0.4472, 0.8944]
    """
    x = _features(points, "points")
    n, d = x.shape
    if not 2 <= int(n_neighbors) <= n:
        raise ValueError(f"n_neighbors must be in [2, {n}], got {n_neighbors}")
    if not 1 <= int(dim) <= min(d, int(n_neighbors) - 1):
        raise ValueError(f"dim must be in [1, min(D, n_neighbors − 1)] = [1, {min(d, int(n_neighbors) - 1)}], got {dim}")
    sq = jnp.sum(x * x, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    _, idx = jax.lax.top_k(-d2, int(n_neighbors))

    def one(nb):
        cloud = x[nb]
        cloud = cloud - jnp.mean(cloud, axis=0, keepdims=True)
        _, _, vt = jnp.linalg.svd(cloud, full_matrices=False)
        return vt[: int(dim)].T

    return jax.vmap(one)(idx)


# ----------------------------------------------------------------------------- probes
class Probe(NamedTuple):
    """An affine probe y ≈ z·weights + bias (weights D×K, bias K)."""

    weights: jax.Array
    bias: jax.Array


def fit_probe(z, y, *, ridge: float = 0.0, relative: bool = True) -> Probe:
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


def probe_predict(probe: Probe, z) -> jax.Array:
    """Predictions z·W + b of a fitted probe, shape (N, K)."""
    return _features(z, "z") @ probe.weights + probe.bias[None, :]


def r2_score(y_true, y_pred) -> jax.Array:
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


def accuracy(labels, scores) -> jax.Array:
    """Fraction of rows whose arg-max score equals the integer label.

    >>> import jax.numpy as jnp
    >>> float(accuracy(jnp.array([0, 1]), jnp.array([[2.0, 1.0], [3.0, 0.0]])))
    0.5
    """
    return jnp.mean(jnp.argmax(jnp.asarray(scores), axis=1) == jnp.asarray(labels))


def probe_r2(z_train, y_train, z_test, y_test, *, ridge: float = 0.0, relative: bool = True) -> jax.Array:
    r"""Held-out R² of a linear (``ridge=0``) or ridge probe fitted on the training split.

    >>> import jax.numpy as jnp
    >>> z = jnp.array([[0.0], [1.0], [2.0], [3.0]])
    >>> round(float(probe_r2(z[:2], 2 * z[:2, 0], z[2:], 2 * z[2:, 0])), 6)
    1.0
    """
    p = fit_probe(z_train, y_train, ridge=ridge, relative=relative)
    yt = _as_float(y_test, "y_test")
    return r2_score(yt, probe_predict(p, z_test).reshape(yt.shape))


def probe_accuracy(z_train, labels_train, z_test, labels_test, *, n_classes: int, ridge: float = 0.0,
                   relative: bool = True) -> jax.Array:
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


def population_probe_r2(feature_cov, cross_cov, target_var, *, ridge: float = 0.0,
                        relative: bool = True) -> jax.Array:
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
