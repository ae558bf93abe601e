r"""Gradient flow of the effective landscape in closed form, where one exists.

The flow dW/dt = −∇L(W) of L = −Tr[WBWᵀ] + k·Tr[(WΣWᵀ)²] + γ‖W‖², with the
library's gradient ∇L = −2WB + 4k(WΣWᵀ)WΣ + 2γW, is, with M = B − γI,

    dW/dt = 2 W M − 4k (WΣWᵀ) W Σ.

**Case "aligned"** (:func:`aligned_flow`).  Conditions: B and Σ commute, and
G₀ = W₀ᵀW₀ commutes with both (equivalently, W₀ᵀW₀ is diagonal in a common
eigenbasis u_i of B and Σ).  Writing W = Σ_i w_i u_iᵀ, the columns w_i stay
orthogonal and each direction's Gram eigenvalue λ_i = ‖w_i‖² obeys its own
logistic (Bernoulli) equation, with m_i = b_i − γ and s_i the eigenvalues of M
and Σ on u_i:

    dλ_i/dt = 4 m_i λ_i − 8k s_i² λ_i²,
    λ_i(t) = λ_i(0) e^{4m_i t} / (1 + λ_i(0)·8k s_i²·(e^{4m_i t} − 1)/(4m_i)),

whose limit is λ*_i = m_i/(2k s_i²) (the Theorem 1 value) when m_i > 0 and
λ_i(0) > 0, and 0 otherwise: exponential decay at rate 4|m_i| for m_i < 0,
algebraic decay λ_i(0)/(1 + 8k s_i² λ_i(0) t) at m_i = 0.  The loss is
Σ_i (−m_i λ_i + k s_i² λ_i²).

**Case "isotropic"** (:mod:`landscape.theory.riccati_flow`): Σ = s·I, any B, γ
and any W₀.  Whitening alone does not give this case: the substitution
V = WΣ^{1/2} turns the flow into dV/dt = −∇_V L·Σ, a flow in another metric,
so the closed form needs Σ itself isotropic.

Every function returns a function of time (neural-tangents' ``predict``
convention): ``t`` is a scalar or an array of any shape, ``t = inf`` gives the
limit, and the result is a :class:`FlowState` with the descending Gram
spectrum (shape ``t.shape + (d0,)``) and the loss (shape ``t.shape``).  The
returned function is pure and jittable; the conditions are checked once, on
concrete inputs, by :func:`exact_case`.

Example (InfoNCE, one direction: B = A0 = 2, Σ = A0 + C = 2, k = 1, so λ* = 2/(2·1·2²) = 1/4):
    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0], [0.0]), "infonce")
    >>> flow = aligned_flow(land, jnp.full((1, 1), 0.01))
    >>> [round(float(v), 6) for v in flow(jnp.array([0.0, 1.0, jnp.inf])).gram_eigenvalues[:, 0]]
    [0.0001, 0.135994, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, require_landscape
from landscape.core.linalg import is_traced
from landscape.core.sorting import sort_descending

__all__ = [
    "FlowState",
    "Directions",
    "ExactCase",
    "exact_case",
    "aligned_directions",
    "logistic_gram",
    "direction_loss",
    "aligned_flow",
    "aligned_state",
    "aligned_states",
    "check_times",
    "check_initial_weights",
]

CASES = ("aligned", "isotropic")


class FlowState(NamedTuple):
    """The flow at the asked times.

    Attributes:
        gram_eigenvalues: eigenvalues of W(t)ᵀW(t), descending (``t.shape + (d0,)``).
        loss: L(W(t)) (``t.shape``).
    """

    gram_eigenvalues: jax.Array
    loss: jax.Array


class Directions(NamedTuple):
    """A decoupled (aligned) problem, one entry per common eigenvector u_i (last axis).

    Attributes:
        basis: the common eigenbasis, columns u_i (d0×d0).
        rate: m_i = u_iᵀ(B − γI)u_i.
        sigma: s_i = u_iᵀΣu_i.
        gram0: λ_i(0) = u_iᵀW₀ᵀW₀u_i.
        quartic: k.
    """

    basis: jax.Array
    rate: jax.Array
    sigma: jax.Array
    gram0: jax.Array
    quartic: jax.Array


class ExactCase(NamedTuple):
    """Which closed form applies (``case`` in :data:`CASES`, or None) and why not (``reason``)."""

    case: str | None
    reason: str


def check_times(t: Any, dtype: Any) -> jax.Array:
    """``t`` as an array of ``dtype``; concrete times must be ≥ 0 and not NaN (inf allowed)."""
    t = jnp.asarray(t, dtype)
    if not is_traced(t):
        arr = np.asarray(t, float)
        if np.any(np.isnan(arr)):
            raise ValueError("t must be a time >= 0 (inf allowed), got NaN")
        if np.any(arr < 0):
            raise ValueError(f"t must be >= 0 (inf allowed), got {float(arr.min()):g}")
    return t


def check_initial_weights(landscape: EffectiveLandscape, w0: Any, where: str) -> jax.Array:
    """``w0`` as a finite 2-D float matrix with d0 columns, or ValueError naming ``w0``."""
    require_landscape(landscape, where)
    w0 = jnp.asarray(w0)
    if w0.ndim != 2 or w0.shape[1] != landscape.dim:
        raise ValueError(f"w0 must have shape (out_dim, {landscape.dim}) (d0 = the landscape's dim), got {w0.shape}")
    if not jnp.issubdtype(w0.dtype, jnp.floating):
        raise ValueError(f"w0 must be a floating-point array, got dtype {w0.dtype}")
    if not is_traced(w0) and not np.all(np.isfinite(np.asarray(w0))):
        raise ValueError("w0 contains NaN or infinite entries")
    return w0


def _commute_gap(x: np.ndarray, y: np.ndarray) -> float:
    """‖XY − YX‖ / (‖X‖‖Y‖) (0 when either is 0)."""
    scale = np.linalg.norm(x) * np.linalg.norm(y)
    return 0.0 if scale == 0.0 else float(np.linalg.norm(x @ y - y @ x) / scale)


def exact_case(landscape: EffectiveLandscape, w0: Any, *, rtol: float | None = None) -> ExactCase:
    """Which closed form of the flow applies to (landscape, W₀); needs concrete input.

    "aligned" when [B, Σ] = 0 and [W₀ᵀW₀, B − γI] = [W₀ᵀW₀, Σ] = 0, "isotropic"
    when Σ = s·I, else None (with the failed condition in ``reason``).  Each
    commutator is tested relative to the norms, to ``rtol`` (default
    256·d0·eps of the dtype).  An aligned problem with isotropic Σ is "aligned".
    """
    w0 = check_initial_weights(landscape, w0, "exact_case")
    dtype = np.dtype(w0.dtype)
    d0 = landscape.dim
    tol = 256.0 * d0 * float(np.finfo(dtype).eps) if rtol is None else float(rtol)
    b = np.asarray(landscape.b_eff, float)
    sigma = np.asarray(landscape.sigma, float)
    w = np.asarray(w0, float)
    g0 = w.T @ w
    gaps = {"[B, Σ]": _commute_gap(b, sigma), "[W₀ᵀW₀, B]": _commute_gap(g0, b), "[W₀ᵀW₀, Σ]": _commute_gap(g0, sigma)}
    if max(gaps.values()) <= tol:
        return ExactCase("aligned", "B and Σ commute and W₀ᵀW₀ is diagonal in their common eigenbasis")
    s_mean = np.trace(sigma) / d0
    if np.linalg.norm(sigma - s_mean * np.eye(d0)) <= tol * np.linalg.norm(sigma):
        return ExactCase("isotropic", "Σ = s·I")
    worst = max(gaps, key=lambda key: gaps[key])
    return ExactCase(
        None,
        f"no closed form: Σ is not isotropic and {worst} ≠ 0 (relative size {gaps[worst]:.3g} > {tol:.3g})",
    )


def aligned_directions(landscape: EffectiveLandscape, w0: Any) -> Directions:
    """The decoupled directions of an aligned problem (:func:`exact_case` says "aligned").

    Diagonal B, Σ and W₀ᵀW₀ keep the input order (u_i = e_i); otherwise the common
    eigenbasis is that of a generic combination of the three matrices.  Raises
    ValueError when the problem is not aligned.
    """
    w0 = check_initial_weights(landscape, w0, "aligned_directions")
    case = exact_case(landscape, w0)
    if case.case != "aligned":
        raise ValueError(f"w0 and the landscape are not aligned: {case.reason}")
    b = np.asarray(landscape.b_eff, float)
    sigma = np.asarray(landscape.sigma, float)
    w = np.asarray(w0, float)
    g0 = w.T @ w
    mats = (b, sigma, g0)
    if all(np.count_nonzero(m - np.diag(np.diag(m))) == 0 for m in mats):
        basis = np.eye(landscape.dim)
    else:
        # Commuting symmetric matrices share the eigenvectors of a generic combination.
        weights = (1.0, 0.5772156649, 0.3183098862)
        mix = sum(c * m / max(np.linalg.norm(m), 1e-300) for c, m in zip(weights, mats))
        basis = np.linalg.eigh(0.5 * (mix + mix.T))[1]

    def diag(m: np.ndarray) -> jax.Array:
        return jnp.asarray(np.einsum("ji,jk,ki->i", basis, m, basis), w0.dtype)

    return Directions(
        basis=jnp.asarray(basis, w0.dtype),
        rate=diag(b),
        sigma=diag(sigma),
        gram0=jnp.maximum(diag(g0), 0.0),
        quartic=jnp.asarray(landscape.quartic, w0.dtype),
    )


def logistic_gram(gram0: Any, rate: Any, sigma: Any, quartic: Any, t: Any) -> jax.Array:
    r"""λ(t) of dλ/dt = 4mλ − 8k s²λ² from λ(0) = ``gram0``; all arguments broadcast.

    Written without overflow for every sign of m = ``rate`` and every t ≥ 0
    (t = inf included), with x = e^{−4|m|t} and h = (1 − x)/(4|m|) (h = t at m = 0):
    λ = λ₀/(x + 8ks²λ₀h) for m ≥ 0 and λ₀·x/(1 + 8ks²λ₀h) for m < 0.
    """
    gram0, rate, sigma, quartic, t = jnp.broadcast_arrays(*(jnp.asarray(v) for v in (gram0, rate, sigma, quartic, t)))
    r = 4.0 * jnp.abs(rate)
    c = 8.0 * quartic * sigma * sigma
    finite_t = jnp.where(jnp.isfinite(t), t, 0.0)
    x = jnp.where(jnp.isfinite(t), jnp.exp(-r * finite_t), 0.0)
    safe_r = jnp.where(r > 0, r, 1.0)
    h = jnp.where(r > 0, -jnp.expm1(-safe_r * t) / safe_r, t)  # t = inf, r = 0: h = inf
    growing = rate >= 0
    denom = jnp.where(growing, x, 1.0) + c * gram0 * h
    numer = gram0 * jnp.where(growing, 1.0, x)
    return jnp.where(gram0 > 0, numer / jnp.where(gram0 > 0, denom, 1.0), 0.0)


def direction_loss(gram: Any, rate: Any, sigma: Any, quartic: Any) -> jax.Array:
    """L = Σ_i (−m_i λ_i + k s_i² λ_i²) over the last axis (the loss of an aligned W)."""
    gram = jnp.asarray(gram)
    rate, sigma = (jnp.broadcast_to(jnp.asarray(v), gram.shape) for v in (rate, sigma))
    return jnp.sum(-rate * gram + quartic * (sigma * gram) ** 2, axis=-1)


def aligned_flow(landscape: EffectiveLandscape, w0: Any) -> Callable[[Any], FlowState]:
    """The exact flow of an aligned problem as a function of t (see the module docstring).

    Raises ValueError (naming ``w0``) when the conditions of the "aligned" case fail.
    """
    dirs = aligned_directions(landscape, w0)
    return lambda t: _aligned_state_jit(dirs, check_times(t, dirs.rate.dtype))


def aligned_state(dirs: Directions, t: Any) -> FlowState:
    """:class:`FlowState` of the decoupled directions ``dirs`` at times ``t`` (any shape)."""
    t = check_times(t, dirs.rate.dtype)
    lam = logistic_gram(dirs.gram0, dirs.rate, dirs.sigma, dirs.quartic, t[..., None])  # t.shape + (d0,)
    return FlowState(
        gram_eigenvalues=sort_descending(lam),  # a sorting network: jnp.sort is ~3x slower on XLA:CPU
        loss=direction_loss(lam, dirs.rate, dirs.sigma, dirs.quartic),
    )


# One compiled program per shape, shared by every problem (the directions are arguments, not constants).
_aligned_state_jit = jax.jit(aligned_state)


def aligned_states(dirs: Directions, t: Any, *, chunk: int = 64) -> FlowState:
    """:func:`aligned_state` of many problems at once: ``dirs`` carries a leading point axis, ``t`` is shared.

    The points run in chunks of ``chunk`` (``lax.map`` over vmapped chunks), so one chunk's
    working set (chunk × times × d0 numbers, the sorting network's passes over it) stays in
    cache; one vmap over a whole grid streams every pass through memory.  On the 2-core CPU of
    ``benchmarks/README.md`` (4,096 points, 100 times, d0 = 32) chunks of 64 are 2.4–2.8× faster
    than a single vmap.  Results are identical to a vmap.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> one = Directions(jnp.eye(2), jnp.array([1.0, -0.5]), jnp.ones(2), jnp.array([0.01, 0.2]), 1.0)
        >>> many = jax.tree_util.tree_map(lambda x: jnp.stack([x] * 3), one)
        >>> batch = aligned_states(many, jnp.array([0.0, 1.0]), chunk=2)
        >>> batch.gram_eigenvalues.shape, bool(jnp.all(batch.loss == aligned_state(one, jnp.array([0.0, 1.0])).loss[None]))
        ((3, 2, 2), True)
    """
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be an integer ≥ 1, got {chunk}")
    t = check_times(t, dirs.rate.dtype)
    return jax.lax.map(lambda d: aligned_state(d, t), dirs, batch_size=chunk)
