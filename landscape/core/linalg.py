r"""The one linear-algebra module: symmetric roots, the traced-value test, which eigen-directions survive, the spectrum of WᵀW.

**One rule for "this direction survives".**  Every rank in the package — the
closed form's ``rank`` and ``kept``, :func:`~landscape.predicted_rank`, a trained
W's ``rank``, the phase scan's ``rank`` — is a count of values above one
tolerance:

    v survives  ⇔  v > tol,   tol = SURVIVAL_ULPS · eps(dtype) · scale,

with eps the machine epsilon of the dtype the values were computed in
(2.2e-16 in float64, 1.2e-7 in float32) and ``scale`` a property of the
landscape, not of the surviving values.  With M = B − γI, B̃ = Σ^{-1/2} M Σ^{-1/2}
and s_min the smallest eigenvalue of Σ:

==============================  ==========================================  ==========================
value v                         what                                        scale
==============================  ==========================================  ==========================
b_i                             eigenvalues of M (``predicted_rank``)       ‖M‖₂ = max_i |b_i|
λ_i (or ℓ_i = b_i/s_i)          eigenvalues of B̃ (the closed form)          ‖B̃‖₂ = max_i |λ_i|
g_i                             eigenvalues of WᵀW (a trained W)            ‖B̃‖₂ / (2k·s_min)
==============================  ==========================================  ==========================

Why these scales: a backward-stable symmetric eigensolver returns eigenvalues
with an absolute error of a few eps·‖matrix‖₂, so the spectral norm of the
matrix being decomposed is the scale of b and λ.  It includes the collapsed
directions (negative eigenvalues), so it does not vanish when every direction
collapses, and it is the same number in the dense and the per-direction solvers
(max_i |b_i/s_i| for diagonal problems).  Every WᵀW of a stationary point is
Σ^{-1/2}U diag(λ⁺/2k) UᵀΣ^{-1/2}, whose eigenvalues are at most ‖B̃‖₂/(2k·s_min):
the largest Gram eigenvalue the landscape allows is the scale of g, so a trained
W whose Gram eigenvalues all decayed (the largest 1e-114) has rank 0, not the 1
that a cut relative to its own largest eigenvalue gives.  A value within ``tol``
of zero cannot be told from zero in that dtype, and a direction exactly on its
threshold (b_i = 0) collapses, so such values count as collapsed.  Only M = 0
(every direction on its threshold) has scale 0; values must then still exceed
the smallest normal number.

**Near the threshold.**  :func:`near_threshold` counts the directions whose
value is within twice the tolerance of zero in any of the spectra given, i.e.
whose survival the dtype cannot decide.  By Ostrowski's theorem the i-th
largest λ and the i-th largest b have the same sign, so the closed form's rank
(from λ) and ``predicted_rank`` (from b) can differ only through a direction
that is near the threshold in one of the two: whenever they disagree, the
closed form's ``near_threshold`` (of λ and b, paired in descending order) is ≥ 1.

**Not finite is not collapsed.**  :func:`surviving_rank` returns −1 when a
value or the scale is NaN or infinite (e.g. a traced computation that
overflowed): a NaN never reads as rank 0, "complete collapse".  Concrete
solvers raise a ValueError instead (see :func:`require_finite`).

Example:
    >>> import jax.numpy as jnp
    >>> g = jnp.array([8.6e-114, 0.0, 0.0])      # a completely collapsed trained W
    >>> int(surviving_rank(g, 0.26)), int(surviving_rank(g / g[0], 0.26))
    (0, 1)
    >>> int(surviving_rank(jnp.array([1.0, jnp.nan]), 1.0))
    -1
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

__all__ = [
    "is_traced",
    "sym_power",
    "sym_sqrt",
    "inv_sqrt",
    "SURVIVAL_ULPS",
    "survival_tolerance",
    "survives",
    "surviving_rank",
    "finite_rank",
    "near_threshold",
    "spectral_scale",
    "scaled_norm",
    "gram_spectrum",
    "require_finite",
]

#: The tolerance of the survival rule in units of eps(dtype)·scale.
SURVIVAL_ULPS = 16.0


def survival_tolerance(scale: Any, dtype: DTypeLike) -> jax.Array:
    """SURVIVAL_ULPS · eps(dtype) · scale: values at or below it count as collapsed."""
    eps = jnp.finfo(dtype).eps
    return (SURVIVAL_ULPS * eps) * jnp.asarray(scale, dtype)


def _cut(values: jax.Array, scale: Any, rtol: Any, floor: Any, axis: int) -> jax.Array:
    """The survival cut of ``values`` along ``axis`` (the directions), with that axis kept as length 1."""
    dtype = values.dtype
    cut = jnp.maximum(survival_tolerance(scale, dtype), jnp.asarray(floor, dtype))
    if not (isinstance(rtol, (int, float)) and rtol == 0):
        top = jnp.max(jnp.where(jnp.isfinite(values), values, 0.0), axis=axis)
        cut = jnp.maximum(cut, jnp.asarray(rtol, dtype) * top)
    return jnp.expand_dims(jnp.maximum(cut, jnp.finfo(dtype).tiny), axis)


def survives(values: Any, scale: Any, *, rtol: Any = 0.0, floor: Any = 0.0, axis: int = -1) -> jax.Array:
    """Which values survive (module docstring): v > max(tol(scale), rtol·max v, floor, tiny).

    ``axis`` of ``values`` runs over the directions; ``scale`` broadcasts
    against the other axes.  ``rtol`` (a cut relative to the largest value, for
    runs that have not converged) and ``floor`` (an absolute cut, e.g. the size a
    trained W started from) can only raise the cut above the dtype's tolerance.
    A NaN never survives; :func:`surviving_rank` reports it as rank −1.
    """
    values = jnp.asarray(values)
    return values > _cut(values, scale, rtol, floor, axis)


def finite_rank(count: Any, *arrays: Any, axis: int = -1) -> jax.Array:
    """``count`` where every array is finite along ``axis`` (scalars: everywhere), else −1; int32."""
    ok = jnp.ones(jnp.shape(count), bool)
    for a in arrays:
        a = jnp.asarray(a)
        ok = ok & (jnp.all(jnp.isfinite(a), axis=axis) if a.ndim > jnp.ndim(count) else jnp.isfinite(a))
    return jnp.where(ok, count, -1).astype(jnp.int32)


def surviving_rank(values: Any, scale: Any, *, rtol: Any = 0.0, floor: Any = 0.0, axis: int = -1) -> jax.Array:
    """Number of surviving values (:func:`survives`), int32; −1 if a value or the scale is not finite."""
    values = jnp.asarray(values)
    count = jnp.sum(survives(values, scale, rtol=rtol, floor=floor, axis=axis), axis=axis)
    return finite_rank(count, values, jnp.broadcast_to(jnp.asarray(scale, values.dtype), count.shape), axis=axis)


def near_threshold(*spectra: tuple[Any, Any], axis: int = -1) -> jax.Array:
    """Number of directions with a value within 2·tol of zero in any ``(values, scale)`` pair (int32).

    The spectra are paired position by position along ``axis`` (e.g. λ and b,
    both in descending order, or per direction).

    >>> import jax.numpy as jnp
    >>> lam, b = jnp.array([1.0, 1e-17, -1.0]), jnp.array([2.0, 1e-3, -1e-17])   # float64 tol = 3.6e-15·scale
    >>> int(near_threshold((lam, 1.0), (b, 2.0)))
    2
    """
    near = None
    for values, scale in spectra:
        values = jnp.asarray(values)
        tol = jnp.expand_dims(survival_tolerance(scale, values.dtype), axis)
        hit = jnp.abs(values) <= 2.0 * tol
        near = hit if near is None else near | hit
    return jnp.sum(near, axis=axis).astype(jnp.int32)


def spectral_scale(values: Any, axis: int = -1) -> jax.Array:
    """max |v| along ``axis``: the spectral norm of a symmetric matrix from its eigenvalues (NaN stays NaN)."""
    values = jnp.asarray(values)
    return jnp.max(jnp.abs(values), axis=axis)


def scaled_norm(x: Any, axes: tuple[int, ...] = (-2, -1)) -> jax.Array:
    """Frobenius (or Euclidean) norm over ``axes`` without overflow or underflow.

    The entries are scaled by a power of two near 1/max|x| first, applied as two
    factors of normal size (XLA on CPU flushes subnormal numbers to zero, so
    1/max|x| itself may vanish for max|x| near the largest float).

    >>> import jax.numpy as jnp
    >>> float(scaled_norm(jnp.array([3e300, 4e300]), axes=(0,)))
    5e+300
    """
    x = jnp.asarray(x)
    top = jnp.max(jnp.abs(x), axis=axes, keepdims=True)
    _, e = jnp.frexp(jnp.where((top > 0) & jnp.isfinite(top), top, 1.0))
    half = e // 2
    scaled = jnp.ldexp(jnp.ldexp(x, -half), half - e)
    norm = jnp.sqrt(jnp.sum(scaled * scaled, axis=axes, keepdims=True))
    norm = jnp.ldexp(jnp.ldexp(norm, half), e - half)
    return jnp.squeeze(jnp.where(jnp.isfinite(top), norm, top), axis=axes)


def gram_spectrum(w: jax.Array) -> jax.Array:
    """Eigenvalues of WᵀW in descending order, length d0, from the singular values of W.

    σ_i(W)² is never negative (an eigensolver on WᵀW returns rounding-sized
    negative values for the zero eigenvalues) and resolves small eigenvalues to
    eps·σ_max² instead of eps·σ_max.  Zeros beyond min(d1, d0).

    >>> import jax.numpy as jnp
    >>> [round(float(v), 12) for v in gram_spectrum(jnp.array([[3.0, 0.0, 0.0], [0.0, 0.0, 2.0]]))]
    [9.0, 4.0, 0.0]
    """
    w = jnp.asarray(w)
    d1, d0 = w.shape[-2], w.shape[-1]
    # A non-square W is first reduced to the triangular factor of its tall orientation (same
    # singular values): XLA's SVD of a d1×d0 matrix allocates a max(d1, d0)² workspace.
    if d1 > d0:
        w = jnp.linalg.qr(w, mode="r")
    elif d1 < d0:
        w = jnp.linalg.qr(jnp.swapaxes(w, -1, -2), mode="r")
    sv = jnp.linalg.svd(w, compute_uv=False)
    g = sv * sv
    if d1 < d0:
        g = jnp.concatenate([g, jnp.zeros(g.shape[:-1] + (d0 - d1,), g.dtype)], axis=-1)
    return g


def require_finite(what: str, hint: str, **arrays: Any) -> None:
    """Raise ValueError if a concrete array in ``arrays`` has a NaN or ±inf entry; traced ones pass.

    The message names the first non-finite field, says ``what`` was computed and
    adds ``hint`` (which inputs to change).  Used by the concrete solvers on their
    outputs; a traced solver reports rank −1 instead (:func:`surviving_rank`).
    """
    for name, value in arrays.items():
        if value is None or is_traced(value):
            continue
        arr = np.asarray(value)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} is not finite ({name} has NaN or infinite entries in {arr.dtype}); {hint}")


def is_traced(x: Any) -> bool:
    """Whether ``x`` is a JAX tracer (inside ``jit``/``vmap``/``grad``), so its value cannot be checked.

    The one test of the package for "can this input be validated now?": checks
    on concrete values run before tracing; traced values pass through.

    >>> import jax
    >>> is_traced(1.0), bool(jax.jit(lambda x: is_traced(x))(1.0) is not None)
    (False, True)
    """
    return isinstance(x, jax.core.Tracer)


def sym_power(m: Any, power: float, *, rtol: Any = None) -> jax.Array:
    r"""M^p of a symmetric positive semi-definite matrix through its eigendecomposition.

    M = U diag(μ) Uᵀ  ⇒  M^p = U diag(μ^p) Uᵀ.  M is symmetrised first
    ((M + Mᵀ)/2).  With ``rtol`` set, eigenvalues at or below rtol·μ_max are
    treated as zero (a pseudo-power on the range of M, the convention of a
    pseudo-inverse for negative p); without it every eigenvalue is used as it is,
    so a singular M gives inf for p < 0, as the formula does.  Batched over
    leading axes.

    >>> import jax.numpy as jnp
    >>> m = jnp.array([[4.0, 0.0], [0.0, 9.0]])
    >>> [float(v) for v in jnp.diag(sym_power(m, 0.5))], [round(float(v), 6) for v in jnp.diag(sym_power(m, -0.5))]
    ([2.0, 3.0], [0.5, 0.333333])
    """
    m = jnp.asarray(m)
    vals, vecs = jnp.linalg.eigh(0.5 * (m + jnp.swapaxes(m, -1, -2)))
    if rtol is None:
        powered = vals**power
    else:
        keep = vals > jnp.asarray(rtol, vals.dtype) * jnp.max(vals, axis=-1, keepdims=True)
        powered = jnp.where(keep, jnp.where(keep, vals, 1.0) ** power, 0.0)
    return (vecs * powered[..., None, :]) @ jnp.swapaxes(vecs, -1, -2)


def sym_sqrt(m: Any) -> jax.Array:
    """M^{1/2} of a symmetric PSD matrix (negative rounding-sized eigenvalues clipped to 0)."""
    m = jnp.asarray(m)
    vals, vecs = jnp.linalg.eigh(0.5 * (m + jnp.swapaxes(m, -1, -2)))
    return (vecs * jnp.sqrt(jnp.maximum(vals, 0.0))[..., None, :]) @ jnp.swapaxes(vecs, -1, -2)


def inv_sqrt(m: Any, *, rtol: Any = None) -> jax.Array:
    """M^{-1/2} of a symmetric positive definite matrix; with ``rtol``, the pseudo-inverse root on M's range."""
    return sym_power(m, -0.5, rtol=rtol)
