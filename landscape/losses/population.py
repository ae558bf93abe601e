r"""Population losses of a linear model on Gaussian data, exact and by Monte Carlo.

**Exact Gaussian InfoNCE** (spec §3.12).  For f(x) = W x, zero-mean Gaussian
data and noise, and infinitely many negatives, the Euclidean InfoNCE (in the β
form, ``beta = 1`` is InfoNCE) is, with S = W Σ Wᵀ,

    L(W) = Tr[W C Wᵀ] − (β/2)·( log det(I + S) + Tr[(I + S)⁻¹ S] )

up to a constant.  Derivation: ½E‖W(x − x′)‖² = Tr[WCWᵀ]; for fixed
anchor z = Wx and a negative y = Wχ ~ N(0, S), E_y exp(−½‖z − y‖²) =
det(I + S)^{−1/2} exp(−½ zᵀ(I + S)⁻¹z), and E_z zᵀ(I + S)⁻¹z = Tr[(I + S)⁻¹S].
Its expansion is −Tr[W(βA0 − (1−β)C)Wᵀ] + (3β/4)·Tr[S²] + O(W⁶).

Writing V = W Σ^{1/2} and K = Σ^{-1/2} C Σ^{-1/2} (eigenvalues κ_i), the loss is
Tr[VᵀV K] plus a function of the spectrum of VᵀV, so by the von Neumann trace
inequality the minimiser shares K's eigenvectors and, per direction with
μ = eig(VᵀV),

    ℓ(μ) = κ μ − (β/2)·( log(1 + μ) + μ/(1 + μ) ),
    μ* = 1/y − 1,   y = (−1 + √(1 + 8κ/β))/2        (μ* > 0 iff κ < β).

In the commuting case κ = c/s and the Gram eigenvalue is λ* = μ*/s
(s = a + c).  ℓ(μ*) increases with κ, so a rank cap d1 keeps the d1 smallest κ.
This is :func:`exact_gaussian_minimum`, jittable, for commuting or
non-commuting covariances.

**Monte Carlo of the real sample losses.**  :func:`taylor_coefficients`
differentiates a sample loss along a ray W = t·W₀ four times at t = 0 (nested
forward-mode autodiff of the *real* loss on one batch).  Averaged over
independent batches (:func:`mc_taylor_coefficients`) this estimates the
coefficients of t² and t⁴ of the population loss; their batch-to-batch spread
gives the error bar.  :func:`mc_expansion` turns them into the quadratic form B
(polarisation over coordinate directions), its coefficients (p, q) in
B = p·A0 + q·C, and the quartic coefficient.

Example:
    >>> import landscape as ls
    >>> from landscape.losses.population import exact_gaussian_minimum, exact_gaussian_gram_eigenvalues
    >>> p = ls.Problem.from_diagonal([2.0, 1.0], [1.0, 1.0])
    >>> sol = exact_gaussian_minimum(p, out_dim=2)
    >>> [round(float(v), 6) for v in sol.gram_eigenvalues]
    [0.39538, 0.309017]
    >>> [round(float(v), 6) for v in exact_gaussian_gram_eigenvalues(jnp.array([2.0, 1.0]), 1.0)]
    [0.39538, 0.309017]
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.linalg import finite_rank, near_threshold, spectral_scale, survives
from landscape.core.problem import Problem
from landscape.core.solution import Solution, gram_spectrum

__all__ = [
    "exact_gaussian_infonce",
    "exact_gaussian_direction_loss",
    "exact_gaussian_gram_eigenvalues",
    "exact_gaussian_minimum",
    "exact_moment_data",
    "gaussian_data",
    "taylor_coefficients",
    "mc_taylor_coefficients",
    "mc_expansion",
    "fit_data_aug_coefficients",
]

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


# ============================================================ exact Gaussian InfoNCE
def exact_gaussian_infonce(w: jax.Array, problem: Problem, beta=1.0, weight_decay=0.0) -> jax.Array:
    """L(W) = Tr[WCWᵀ] − (β/2)(log det(I + S) + Tr[(I + S)⁻¹S]) + γ‖W‖²_F,  S = WΣWᵀ.

    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([1.0], [1.0])
    >>> # S = 2·0.25 = 0.5: 0.25 − ½(log 1.5 + 0.5/1.5)
    >>> round(float(exact_gaussian_infonce(jnp.array([[0.5]]), p)), 6)
    -0.119399
    """
    w = jnp.asarray(w)
    s = w @ problem.sigma @ w.T
    eye = jnp.eye(s.shape[0], dtype=s.dtype)
    m = eye + s
    _, logdet = jnp.linalg.slogdet(m)
    tr = jnp.trace(jnp.linalg.solve(m, s))
    return (jnp.sum((w @ problem.aug_cov) * w) - 0.5 * jnp.asarray(beta, s.dtype) * (logdet + tr)
            + jnp.asarray(weight_decay, s.dtype) * jnp.sum(w * w))


def exact_gaussian_direction_loss(mu: jax.Array, kappa: jax.Array, beta=1.0) -> jax.Array:
    """ℓ(μ) = κμ − (β/2)(log(1 + μ) + μ/(1 + μ)), the loss of one whitened direction."""
    return kappa * mu - 0.5 * beta * (jnp.log1p(mu) + mu / (1.0 + mu))


def _mu_star(kappa: jax.Array, beta) -> jax.Array:
    """Minimiser of ℓ over μ ≥ 0: 1/y − 1 with y = (−1 + √(1 + 8κ/β))/2; 0 if κ ≥ β; inf if κ ≤ 0."""
    r = kappa / beta
    safe = jnp.where(r > 0, r, 1.0)
    # y = (−1 + √(1 + 8r))/2 = 4r / (1 + √(1 + 8r)): no cancellation at small r
    y = 4.0 * safe / (1.0 + jnp.sqrt(1.0 + 8.0 * safe))
    mu = 1.0 / y - 1.0
    mu = jnp.where(r >= 1.0, 0.0, mu)
    return jnp.where(r > 0, mu, jnp.inf)


def exact_gaussian_gram_eigenvalues(data_var, aug_var, beta=1.0) -> jax.Array:
    """Commuting case, per direction: λ* = (1/y − 1)/s, y = (−1 + √(1 + 8c/(βs)))/2, s = a + c.

    λ* = 0 when c ≥ β s (i.e. (1−β)c ≥ βa), and +inf when c = 0 (no augmentation).

    >>> [round(float(v), 6) for v in exact_gaussian_gram_eigenvalues(jnp.array([1.0, 0.4]), 0.6, beta=0.5)]
    [0.134532, 0.0]
    """
    a = jnp.asarray(data_var)
    c = jnp.asarray(aug_var, a.dtype)
    s = a + c
    return _mu_star(c / s, beta) / s


def _inv_sqrt(m: jax.Array) -> jax.Array:
    vals, vecs = jnp.linalg.eigh(m)
    return (vecs / jnp.sqrt(vals)[None, :]) @ vecs.T


def exact_gaussian_minimum(problem: Problem, out_dim: int, beta=1.0, weight_decay=0.0) -> Solution:
    """Global minimum of the exact Gaussian (β-)InfoNCE population loss, as a :class:`Solution`.

    Same interface as :func:`landscape.global_minimum` on the effective
    landscape.  ``whitened_eigenvalues`` holds β − κ_i (descending), the
    eigenvalues of Σ^{-1/2}(βA0 − (1−β)C)Σ^{-1/2}; a direction is kept iff it is
    positive and it is among the ``out_dim`` largest.  ``loss`` is the exact
    population loss at W (the constant is dropped, so the origin has loss 0).
    A direction without augmentation (κ = 0) has an unbounded minimum: its
    Gram eigenvalue and the loss are infinite.  Weight decay γ‖W‖²_F enters as
    C → C + γI in K (the same trace argument holds), so a direction collapses
    iff its κ_i ≥ β.  ``out_dim`` is static under jit.

    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 1.0, 0.5], [1.0, 1.0, 1.0])
    >>> sol = exact_gaussian_minimum(p, out_dim=2)
    >>> int(sol.rank), [bool(k) for k in sol.kept]
    (2, [True, True, False])
    """
    from landscape.core.effective_landscape import require_problem
    from landscape.theory.stationary_points import checked_out_dim

    require_problem(problem, "exact_gaussian_minimum")
    out_dim = checked_out_dim(out_dim, problem.dim, problem.sigma.dtype)
    beta = jnp.asarray(beta, problem.sigma.dtype)
    inv_sqrt = _inv_sqrt(problem.sigma)
    eye = jnp.eye(problem.dim, dtype=problem.sigma.dtype)
    c_eff = problem.aug_cov + jnp.asarray(weight_decay, eye.dtype) * eye
    k = inv_sqrt @ c_eff @ inv_sqrt
    kappa, u = jnp.linalg.eigh(0.5 * (k + k.T))          # ascending κ = descending β − κ
    d0 = kappa.shape[0]
    lam = beta - kappa
    scale = spectral_scale(lam)                          # the survival rule of landscape.core.linalg
    mask = survives(lam, scale) & (jnp.arange(d0) < out_dim)
    mu = jnp.where(mask, _mu_star(kappa, beta), 0.0)
    proj = u.T @ inv_sqrt                                # rows u_iᵀ Σ^{-1/2}
    rows = jnp.sqrt(mu)[:, None] * proj
    if out_dim <= d0:
        w = rows[:out_dim]
    else:
        w = jnp.concatenate([rows, jnp.zeros((out_dim - d0, d0), rows.dtype)], axis=0)
    gram = proj.T @ (mu[:, None] * proj)
    directions = inv_sqrt @ u
    directions = directions / jnp.linalg.norm(directions, axis=0, keepdims=True)
    loss = jnp.sum(jnp.where(mask, exact_gaussian_direction_loss(mu, kappa, beta), 0.0))
    return Solution(
        weights=w,
        gram=0.5 * (gram + gram.T),
        gram_eigenvalues=gram_spectrum(w),
        rank=finite_rank(jnp.sum(mask), lam),
        loss=loss,
        whitened_eigenvalues=lam,
        kept=mask,
        directions=directions,
        near_threshold=near_threshold((lam, scale)),
    )


# ================================================================ sampling data
def exact_moment_data(key: jax.Array, n: int, data_cov: jax.Array) -> jax.Array:
    """n points (rows) with empirical mean exactly 0 and (1/n) XᵀX exactly ``data_cov``.

    A uniformly random orthonormal frame of the centred subspace, scaled: the
    data-set-level A0 of the paper ("the empirical data covariance") is then
    exactly the requested matrix, and only the noise and the frame are random.
    Needs n > d.

    >>> x = exact_moment_data(jax.random.PRNGKey(0), 6, jnp.diag(jnp.array([2.0, 1.0])))
    >>> bool(jnp.allclose(x.T @ x / 6, jnp.diag(jnp.array([2.0, 1.0])), atol=1e-6)), bool(jnp.allclose(x.mean(0), 0, atol=1e-6))
    (True, True)
    """
    d = data_cov.shape[0]
    if n <= d:
        raise ValueError(f"n must exceed the dimension ({d}) for exact-moment data, got {n}")
    g = jax.random.normal(key, (n, d), dtype=data_cov.dtype)
    g = g - jnp.mean(g, axis=0, keepdims=True)
    q, r = jnp.linalg.qr(g)
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    vals, vecs = jnp.linalg.eigh(data_cov)
    root = (vecs * jnp.sqrt(jnp.maximum(vals, 0.0))[None, :]) @ vecs.T
    return math.sqrt(n) * q @ root


def gaussian_data(key: jax.Array, n: int, cov: jax.Array) -> jax.Array:
    """n i.i.d. rows from N(0, cov)."""
    vals, vecs = jnp.linalg.eigh(cov)
    root = (vecs * jnp.sqrt(jnp.maximum(vals, 0.0))[None, :]) @ vecs.T
    return jax.random.normal(key, (n, cov.shape[0]), dtype=cov.dtype) @ root


# ============================================================= Taylor coefficients
def taylor_coefficients(loss_fn: LossFn, p1: jax.Array, p2: jax.Array, order: int = 4) -> jax.Array:
    """Coefficients c_k of t^k, k = 0..order, of t ↦ loss_fn(t·p1, t·p2) at t = 0.

    Nested forward-mode derivatives of the real loss; c_k = f⁽ᵏ⁾(0)/k!.

    >>> from landscape.losses import sample
    >>> p = jnp.array([[1.0], [-1.0]])
    >>> [round(float(c), 6) for c in taylor_coefficients(sample.spectral_contrastive, p, p)]
    [0.0, 0.0, -2.0, 0.0, 1.0]
    """
    t0 = jnp.zeros((), p1.dtype)
    f = lambda t: loss_fn(t * p1, t * p2)
    out = [f(t0)]
    g = f
    for k in range(1, order + 1):
        g = jax.jacfwd(g)
        out.append(g(t0) / math.factorial(k))
    return jnp.stack(out)


def _batch(key, problem: Problem, n: int, data):
    kd, k1, k2 = jax.random.split(key, 3)
    if isinstance(data, str):
        if data == "exact-moment":
            x = exact_moment_data(kd, n, problem.data_cov)
        elif data == "gaussian":
            x = gaussian_data(kd, n, problem.data_cov)
        else:
            raise ValueError(f"data must be 'exact-moment', 'gaussian' or an array, got {data!r}")
    else:
        x = data
    x1 = x + gaussian_data(k1, x.shape[0], problem.aug_cov)
    x2 = x + gaussian_data(k2, x.shape[0], problem.aug_cov)
    return x1, x2


def mc_taylor_coefficients(key: jax.Array, loss_fn: LossFn, problem: Problem, directions: jax.Array, *,
                           n: int, n_batches: int, data="exact-moment", order: int = 4,
                           chunk: int = 64) -> jax.Array:
    """Per-batch Taylor coefficients along each direction: array (n_batches, n_dirs, order + 1).

    Each batch draws a data set of ``n`` points (``data="exact-moment"``: empirical
    covariance exactly A0, see :func:`exact_moment_data`; ``"gaussian"``: i.i.d.
    N(0, A0); or a fixed (n, d0) array: only the noise is redrawn), two views
    x = x̂ + ε, x′ = x̂ + ε′ with ε, ε′ ~ N(0, C), and differentiates
    ``loss_fn(t·x W₀ᵀ, t·x′ W₀ᵀ)`` at t = 0 for every W₀ in ``directions``
    (shape (n_dirs, d1, d0)).  All directions share the batch (common random
    numbers).  Batches are processed ``chunk`` at a time.
    """
    directions = jnp.asarray(directions, problem.sigma.dtype)
    if directions.ndim != 3 or directions.shape[2] != problem.dim:
        raise ValueError(f"directions must have shape (n_dirs, d1, {problem.dim}), got {directions.shape}")
    if not isinstance(data, str):
        data = jnp.asarray(data, problem.sigma.dtype)
        if data.ndim != 2 or data.shape[1] != problem.dim:
            raise ValueError(f"data must have shape (n, {problem.dim}), got {data.shape}")
        n = data.shape[0]
    n_batches = int(n_batches)
    chunk = max(1, min(int(chunk), n_batches))
    n_chunks = -(-n_batches // chunk)
    keys = jax.random.split(key, n_chunks * chunk).reshape(n_chunks, chunk, -1)

    def one(k):
        x1, x2 = _batch(k, problem, n, data)
        return jax.vmap(lambda w0: taylor_coefficients(loss_fn, x1 @ w0.T, x2 @ w0.T, order))(directions)

    @jax.jit
    def run(keys):
        return jax.lax.map(jax.vmap(one), keys)

    out = run(keys).reshape(n_chunks * chunk, directions.shape[0], order + 1)
    return out[:n_batches]


def _mean_se(x: np.ndarray, axis: int = 0):
    x = np.asarray(x, dtype=float)
    m = x.mean(axis=axis)
    se = x.std(axis=axis, ddof=1) / math.sqrt(x.shape[axis])
    return m, se


def fit_data_aug_coefficients(b: np.ndarray, data_cov, aug_cov) -> np.ndarray:
    """Least-squares (p, q) with B ≈ p·A0 + q·C over the matrix entries; B may be stacked (…, d, d)."""
    a0 = np.asarray(data_cov, float).ravel()
    c = np.asarray(aug_cov, float).ravel()
    design = np.stack([a0, c], axis=1)
    b = np.asarray(b, float)
    flat = b.reshape(b.shape[:-2] + (-1,))
    sol, *_ = np.linalg.lstsq(design, flat.reshape(-1, a0.size).T, rcond=None)
    return sol.T.reshape(b.shape[:-2] + (2,))


def mc_expansion(key: jax.Array, loss_fn: LossFn, problem: Problem, *, n: int, n_batches: int,
                 data="exact-moment", chunk: int = 64, rank2: bool = True) -> dict:
    """Monte Carlo estimate of the quadratic form B and the quartic coefficient of a real loss.

    Directions (one-row W₀, d1 = 1): e_i for every i, and (e_i + e_j)/√2 for i < j.
    With c₂(u) the t² coefficient, B_ii = −c₂(e_i) and, by polarisation,
    B_ij = −c₂((e_i + e_j)/√2) − ½(B_ii + B_jj).  The quartic coefficient along
    e_i is reported relative to Tr[(W₀ΣW₀ᵀ)²] = Σ_ii², i.e. k_i = c₄(e_i)/Σ_ii².
    With ``rank2`` (d0 ≥ 2) a two-row W₀ = [e₁; e₂] separates
    c₄ = k₁·Tr[S²] + k₂·(Tr S)² (S = W₀ΣW₀ᵀ): k₂ = (c₄(W₀) − c₄(e₁) − c₄(e₂))/(2Σ₁₁Σ₂₂).

    Every estimate is computed per batch and reported as mean and standard
    error over the independent batches.  Returns a dict of NumPy arrays:
    ``b``, ``b_se`` (d0×d0), ``pq``, ``pq_se`` (coefficients of A0 and C),
    ``k_axis``, ``k_axis_se`` (d0,), ``k1``, ``k1_se``, ``k2``, ``k2_se`` (or NaN),
    ``c0`` (mean loss at W = 0), and ``n_batches``.
    """
    d0 = problem.dim
    eye = np.eye(d0)
    dirs = [eye[i][None, :] for i in range(d0)]
    pairs = [(i, j) for i in range(d0) for j in range(i + 1, d0)]
    dirs += [((eye[i] + eye[j]) / math.sqrt(2.0))[None, :] for i, j in pairs]
    coef = np.asarray(mc_taylor_coefficients(key, loss_fn, problem, np.stack(dirs), n=n,
                                             n_batches=n_batches, data=data, chunk=chunk), float)
    c2 = coef[:, :, 2]
    c4 = coef[:, :, 4]
    bs = np.zeros((coef.shape[0], d0, d0))
    for i in range(d0):
        bs[:, i, i] = -c2[:, i]
    for m, (i, j) in enumerate(pairs):
        bij = -c2[:, d0 + m] - 0.5 * (bs[:, i, i] + bs[:, j, j])
        bs[:, i, j] = bs[:, j, i] = bij
    sig = np.asarray(problem.sigma, float)
    s_diag = np.diagonal(sig)
    k_axis = c4[:, :d0] / s_diag[None, :] ** 2
    pq = fit_data_aug_coefficients(bs, problem.data_cov, problem.aug_cov)
    out = {"n_batches": coef.shape[0], "c0": float(coef[:, 0, 0].mean())}
    out["b"], out["b_se"] = _mean_se(bs)
    out["pq"], out["pq_se"] = _mean_se(pq)
    out["k_axis"], out["k_axis_se"] = _mean_se(k_axis)
    out["k1"] = out["k1_se"] = out["k2"] = out["k2_se"] = float("nan")
    if rank2 and d0 >= 2:
        w2 = np.zeros((1, 2, d0))
        w2[0, 0, 0] = w2[0, 1, 1] = 1.0
        coef2 = np.asarray(mc_taylor_coefficients(key, loss_fn, problem, w2, n=n, n_batches=n_batches,
                                                  data=data, chunk=chunk), float)
        s1, s2 = s_diag[0], s_diag[1]
        k2 = (coef2[:, 0, 4] - c4[:, 0] - c4[:, 1]) / (2.0 * s1 * s2)
        k1 = 0.5 * (k_axis[:, 0] + k_axis[:, 1]) - k2
        out["k1"], out["k1_se"] = _mean_se(k1)
        out["k2"], out["k2_se"] = _mean_se(k2)
    return out
