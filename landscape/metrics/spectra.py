r"""Ranks and spectra of a covariance: spectrum, effective rank, RankMe, numerical rank, participation ratio, α-ReQ.

Which matrix: the covariance (1/N)·X_cᵀX_c of the N×D features passed in
(centred; the second moment (1/N)·XᵀX with ``center=False``), or a D×D
covariance given directly (``covariance=True``).  Pass embeddings (projector
outputs z) for the embedding covariance, representations (encoder outputs h)
for the representation before the projector.  For the spectrum of WᵀW of a
linear model use :func:`landscape.core.linalg.gram_spectrum`.  :func:`rankme`
measures the uncentred feature matrix itself, :func:`normalized_std` the
L2-normalised features and :func:`distance_to_etf` the pair of view
representations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from landscape.core.linalg import surviving_rank
from landscape.metrics._arrays import _features, _square, _xlogx

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float


def covariance(features: Float[ArrayLike, "n d"], *, center: bool = True) -> jax.Array:
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


def spectrum(x: ArrayLike, *, covariance: bool = False, center: bool = True) -> jax.Array:
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


def effective_rank(x: ArrayLike, *, covariance: bool = False, center: bool = True) -> jax.Array:
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


def rankme(features: Float[ArrayLike, "n d"], *, eps: float = 1e-7) -> jax.Array:
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


def numerical_rank(
    x: ArrayLike, *, rtol: float = 1e-2, atol: float = 0.0, covariance: bool = False, center: bool = True
) -> jax.Array:
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


def participation_ratio(x: ArrayLike, *, covariance: bool = False, center: bool = True) -> jax.Array:
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


def alpha_req(
    x: ArrayLike,
    *,
    covariance: bool = False,
    center: bool = True,
    rtol: float = 1e-6,
    max_components: int | None = None,
) -> jax.Array:
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


def normalized_std(features: Float[ArrayLike, "n d"], *, eps: float = 1e-12) -> jax.Array:
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


def explained_variance(x: ArrayLike, *, covariance: bool = False, center: bool = True) -> jax.Array:
    r"""Cumulative explained-variance ratio: (Σ_{j≤i} λ_j / Σ_j λ_j) for i = 1..D.

    Non-decreasing, ends at 1; NaN for a zero matrix (undefined).

    >>> import jax.numpy as jnp
    >>> explained_variance(jnp.diag(jnp.array([3.0, 1.0])), covariance=True).tolist()
    [0.75, 1.0]
    """
    lam = spectrum(x, covariance=covariance, center=center)
    total = jnp.sum(lam)
    return jnp.where(total > 0, jnp.cumsum(lam) / jnp.where(total > 0, total, 1.0), jnp.nan)


def distance_to_etf(
    z1: Float[ArrayLike, "n d"], z2: Float[ArrayLike, "n d"], *, eps: float = 1e-12
) -> tuple[jax.Array, jax.Array]:
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
