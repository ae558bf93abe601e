r"""Population losses of a linear model on Gaussian data, exact and by Monte Carlo.

**Exact Gaussian InfoNCE** (spec §3.12).  For f(x) = W x, zero-mean Gaussian
data and noise, and infinitely many negatives, the Euclidean InfoNCE (in the β
form, ``beta = 1`` is InfoNCE) is, with S = W Σ Wᵀ,

    L(W) = Tr[W C Wᵀ] − (β/2)·( log det(I + S) + Tr[(I + S)⁻¹ S] )

up to a constant.  Derivation: ½E‖W(x − x′)‖² = Tr[WCWᵀ]; for fixed
anchor z = Wx and a negative y = Wχ ~ N(0, S), E_y exp(−½‖z − y‖²) =
det(I + S)^{−1/2} exp(−½ zᵀ(I + S)⁻¹z), and E_z zᵀ(I + S)⁻¹z = Tr[(I + S)⁻¹S].
Its expansion is −Tr[W(βA0 − (1−β)C)Wᵀ] + (3β/4)·Tr[S²] + O(W⁶).

Its minimum, in closed form, is Theorem-style material and lives in
:mod:`landscape.theory.exact_gaussian_infonce` (:func:`exact_gaussian_minimum`,
:func:`exact_gaussian_gram_eigenvalues`); this module keeps the loss itself.

**Monte Carlo of the real sample losses.**  :func:`taylor_coefficients`
differentiates a sample loss along a ray W = t·W₀ four times at t = 0 (nested
forward-mode autodiff of the *real* loss on one batch).  Averaged over
independent batches (:func:`mc_taylor_coefficients`) this estimates the
coefficients of t² and t⁴ of the population loss; their batch-to-batch spread
gives the error bar.  :func:`mc_expansion` turns them into the quadratic form B
(polarisation over coordinate directions), its coefficients (p, q) in
B = p·A0 + q·C, and the quartic coefficient.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from landscape.core.linalg import sym_sqrt
from landscape.core.problem import Problem

__all__ = [
    "exact_gaussian_infonce",
    "exact_gaussian_direction_loss",
    "exact_moment_data",
    "gaussian_data",
    "taylor_coefficients",
    "mc_taylor_coefficients",
    "mc_expansion",
    "fit_data_aug_coefficients",
]

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


# ============================================================ exact Gaussian InfoNCE
def exact_gaussian_infonce(
    w: jax.Array, problem: Problem, beta: float | jax.Array = 1.0, weight_decay: float | jax.Array = 0.0
) -> jax.Array:
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
    return (
        jnp.sum((w @ problem.aug_cov) * w)
        - 0.5 * jnp.asarray(beta, s.dtype) * (logdet + tr)
        + jnp.asarray(weight_decay, s.dtype) * jnp.sum(w * w)
    )


def exact_gaussian_direction_loss(mu: jax.Array, kappa: jax.Array, beta: float | jax.Array = 1.0) -> jax.Array:
    """ℓ(μ) = κμ − (β/2)(log(1 + μ) + μ/(1 + μ)), the loss of one whitened direction."""
    return kappa * mu - 0.5 * beta * (jnp.log1p(mu) + mu / (1.0 + mu))


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
    return math.sqrt(n) * q @ sym_sqrt(data_cov)


def gaussian_data(key: jax.Array, n: int, cov: jax.Array) -> jax.Array:
    """n i.i.d. rows from N(0, cov)."""
    return jax.random.normal(key, (n, cov.shape[0]), dtype=cov.dtype) @ sym_sqrt(cov)


# ============================================================= Taylor coefficients
def taylor_coefficients(loss_fn: LossFn, p1: jax.Array, p2: jax.Array, order: int = 4) -> jax.Array:
    """Coefficients c_k of t^k, k = 0..order, of t ↦ loss_fn(t·p1, t·p2) at t = 0.

    Nested forward-mode derivatives of the real loss; c_k = f⁽ᵏ⁾(0)/k!.

    Under ``jax.jit`` (op by op, the nested derivatives take seconds):

    >>> from landscape.losses import sample
    >>> p = jnp.array([[1.0], [-1.0]])
    >>> coef = jax.jit(taylor_coefficients, static_argnums=0)(sample.spectral_contrastive, p, p)
    >>> [round(float(c), 6) for c in coef]
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


def mc_taylor_coefficients(
    key: jax.Array,
    loss_fn: LossFn,
    problem: Problem,
    directions: jax.Array,
    *,
    n: int,
    n_batches: int,
    data: str | jax.Array = "exact-moment",
    order: int = 4,
    chunk: int = 64,
) -> jax.Array:
    """Per-batch Taylor coefficients along each direction: array (n_batches, n_dirs, order + 1).

    Each batch draws a data set of ``n`` points (``data="exact-moment"``: empirical
    covariance exactly A0, see :func:`exact_moment_data`; ``"gaussian"``: i.i.d.
    N(0, A0); or a fixed (n, d0) array: only the noise is redrawn), two views
    x = x̂ + ε, x′ = x̂ + ε′ with ε, ε′ ~ N(0, C), and differentiates
    ``loss_fn(t·x W₀ᵀ, t·x′ W₀ᵀ)`` at t = 0 for every W₀ in ``directions``
    (shape (n_dirs, d1, d0)).  All directions share the batch (common random
    numbers).  Batches are processed ``chunk`` at a time.  A ``loss_fn`` that returns a
    vector of L losses gives a trailing axis L (one compilation, common batches).
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

    out = run(keys)
    return out.reshape((n_chunks * chunk, directions.shape[0], order + 1) + out.shape[4:])[:n_batches]


def _mean_se(x: np.ndarray, axis: int = 0):
    x = np.asarray(x, dtype=float)
    m = x.mean(axis=axis)
    se = x.std(axis=axis, ddof=1) / math.sqrt(x.shape[axis])
    return m, se


def fit_data_aug_coefficients(b: np.ndarray, data_cov: npt.ArrayLike, aug_cov: npt.ArrayLike) -> np.ndarray:
    """Least-squares (p, q) with B ≈ p·A0 + q·C over the matrix entries; B may be stacked (…, d, d)."""
    a0 = np.asarray(data_cov, float).ravel()
    c = np.asarray(aug_cov, float).ravel()
    design = np.stack([a0, c], axis=1)
    b = np.asarray(b, float)
    flat = b.reshape(b.shape[:-2] + (-1,))
    sol, *_ = np.linalg.lstsq(design, flat.reshape(-1, a0.size).T, rcond=None)
    return sol.T.reshape(b.shape[:-2] + (2,))


def mc_expansion(
    key: jax.Array,
    loss_fn: LossFn,
    problem: Problem,
    *,
    n: int,
    n_batches: int,
    data: str | jax.Array = "exact-moment",
    chunk: int = 64,
    rank2: bool = True,
    order: int = 4,
) -> dict:
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
    ``c0`` (mean loss at W = 0), and ``n_batches``.  ``order=2`` differentiates only twice
    (the quadratic form, about half the work); the quartic fields are then NaN.

    A ``loss_fn`` returning a vector of L losses is expanded on common batches with one
    compilation per set of directions (much cheaper than L calls); every field then has
    a leading axis L.
    """
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    d0 = problem.dim
    eye = np.eye(d0)
    dirs = [eye[i][None, :] for i in range(d0)]
    pairs = [(i, j) for i in range(d0) for j in range(i + 1, d0)]
    dirs += [((eye[i] + eye[j]) / math.sqrt(2.0))[None, :] for i, j in pairs]
    coef = np.asarray(
        mc_taylor_coefficients(
            key, loss_fn, problem, np.stack(dirs), n=n, n_batches=n_batches, data=data, chunk=chunk, order=order
        ),
        float,
    )
    coef2 = None
    if rank2 and d0 >= 2 and order == 4:
        w2 = np.zeros((1, 2, d0))
        w2[0, 0, 0] = w2[0, 1, 1] = 1.0
        coef2 = np.asarray(
            mc_taylor_coefficients(key, loss_fn, problem, w2, n=n, n_batches=n_batches, data=data, chunk=chunk), float
        )
    if coef.ndim == 3:
        return _expansion(coef, coef2, problem, pairs, order)
    per = [
        _expansion(coef[..., m], None if coef2 is None else coef2[..., m], problem, pairs, order)
        for m in range(coef.shape[3])
    ]
    return {k: np.array([p[k] for p in per]) for k in per[0]}


def _expansion(coef: np.ndarray, coef2: np.ndarray | None, problem: Problem, pairs: list, order: int) -> dict:
    """The fields of :func:`mc_expansion` from per-batch Taylor coefficients of one scalar loss."""
    d0 = problem.dim
    c2 = coef[:, :, 2]
    c4 = coef[:, :, 4] if order == 4 else np.full_like(c2, np.nan)
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
    if coef2 is not None:
        s1, s2 = s_diag[0], s_diag[1]
        k2 = (coef2[:, 0, 4] - c4[:, 0] - c4[:, 1]) / (2.0 * s1 * s2)
        k1 = 0.5 * (k_axis[:, 0] + k_axis[:, 1]) - k2
        out["k1"], out["k1_se"] = _mean_se(k1)
        out["k2"], out["k2_se"] = _mean_se(k2)
    return out
