"""Input checks shared by the constructors and the CLI.

All checks run on concrete NumPy arrays, before anything is traced, so that a bad
input is refused with a ``ValueError`` naming the offending field instead of
silently producing NaNs inside a jitted computation.
"""

from __future__ import annotations

import operator
import os
from typing import Any

import numpy as np
import numpy.typing as npt


def as_square_matrix(value: npt.ArrayLike, field: str) -> np.ndarray:
    """Return ``value`` as a finite, square, symmetric float array, or raise ValueError."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{field} must be a square 2-D matrix, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{field} must have dimension >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{field} contains NaN or infinite entries")
    scale = max(1.0, float(np.max(np.abs(arr))))
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > 1e-10 * scale:
        raise ValueError(f"{field} must be symmetric; max |M - M^T| = {asym:.3g} (allowed <= {1e-10 * scale:.3g})")
    return 0.5 * arr + 0.5 * arr.T  # not 0.5·(M + Mᵀ): that overflows for entries near the largest float


def check_psd(arr: np.ndarray, field: str, *, strict: bool = False) -> None:
    """Raise ValueError unless ``arr`` is positive semi-definite (definite if ``strict``)."""
    eig = np.linalg.eigvalsh(arr)
    scale = max(1.0, float(np.max(np.abs(eig))))
    tol = 1e-12 * scale * arr.shape[0]
    if strict and eig[0] <= tol:
        raise ValueError(
            f"{field} must be positive definite; its smallest eigenvalue is {eig[0]:.3g} (must be > {tol:.3g})"
        )
    if eig[0] < -tol:
        raise ValueError(
            f"{field} must be positive semi-definite; its smallest eigenvalue is {eig[0]:.3g} (must be >= 0)"
        )


def as_variances(value: npt.ArrayLike, field: str) -> np.ndarray:
    """Return a 1-D array of finite, non-negative variances, or raise ValueError."""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{field} must be a non-empty 1-D list of variances, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{field} contains NaN or infinite entries")
    if np.any(arr < 0):
        bad = int(np.argmin(arr))
        raise ValueError(f"{field} must be >= 0; entry {bad} is {arr[bad]:g}")
    return arr


def as_scalar(
    value: Any,
    field: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float in the given range, or raise ValueError naming ``field``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a number, got {value!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{field} must be finite, got {x}")
    lo_ok = low is None or (x >= low if low_inclusive else x > low)
    hi_ok = high is None or (x <= high if high_inclusive else x < high)
    if not (lo_ok and hi_ok):
        lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        raise ValueError(f"{field} must be in {lo}, {hi}, got {x:g}")
    return x


def available_memory_bytes() -> int:
    """Memory this process may still allocate on the host, in bytes.

    ``MemAvailable`` from ``/proc/meminfo`` where it exists (Linux), else the
    physical memory, else 2⁶³ (no limit known).
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 2**63


def require_memory(nbytes: float, field: str, *, fraction: float = 0.5) -> None:
    """Refuse, before anything is allocated, a request whose arrays would not fit in memory.

    ``nbytes`` is the caller's estimate of what the request allocates (the
    largest arrays it holds at once).  A request above ``fraction`` of the memory
    still available raises ``ValueError`` naming ``field`` and both sizes, so a
    user sees one line instead of an allocation failure or a killed process.

    Example:
        >>> require_memory(1e3, "--out-dim")
        >>> try:
        ...     require_memory(1e30, "--out-dim")
        ... except ValueError as err:
        ...     print(str(err).split(";")[0])
        --out-dim asks for about 1e+30 bytes
    """
    limit = fraction * available_memory_bytes()
    if not np.isfinite(nbytes) or nbytes > limit:
        raise ValueError(
            f"{field} asks for about {_bytes_text(nbytes)}; at most {_bytes_text(limit)} "
            f"({fraction:.0%} of the memory available) is allowed"
        )


def _bytes_text(n: float) -> str:
    if not np.isfinite(n) or n >= 1e15:
        return f"{n:.3g} bytes"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def as_int(value: Any, field: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python int in [low, high], or ValueError naming ``field``.

    Integers of any kind (Python, NumPy, a 0-d integer JAX array) are accepted;
    a float (even 2.0), a bool and anything else are refused, so ``out_dim=2.7``
    is never silently truncated to 2.

    >>> as_int(3, "out_dim", low=1)
    3
    >>> as_int(2.7, "out_dim")
    Traceback (most recent call last):
    ...
    ValueError: out_dim must be an integer, got 2.7
    """
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (float, np.floating)):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{field} must be an integer, got {value!r}") from None
    if (low is not None and v < low) or (high is not None and v > high):
        rng = f"{'(-inf' if low is None else f'[{low}'}, {'inf)' if high is None else f'{high}]'}"
        raise ValueError(f"{field} must be in {rng}, got {v}")
    return int(v)


def check_in_dtype(arr: np.ndarray, field: str, dtype: npt.DTypeLike, *, definite: bool = False) -> None:
    """Refuse a matrix that is valid in float64 but not in the ``dtype`` the computation runs in.

    Its entries must be finite after the cast (1e39 is inf in float32), and with
    ``definite`` the cast matrix must be positive definite with a margin the
    dtype can resolve: its smallest eigenvalue (of the cast values, computed in
    float64) must exceed n·eps(dtype)·‖M‖₂, the size of a symmetric
    eigensolver's rounding error in that dtype.  Below that, the whitening
    Σ^{-1/2} of the solvers can return NaN or an arbitrary sign.
    """
    import jax.numpy as jnp

    dt = np.dtype(dtype)
    if not jnp.issubdtype(dt, jnp.floating):
        return
    info = jnp.finfo(dt)
    if np.any(np.abs(arr) > info.max):
        raise ValueError(
            f"{field} has entries beyond the largest {dt.name} ({info.max:.3g}); the computation runs in {dt.name}"
        )
    if not definite:
        return
    cast = np.asarray(arr, dtype=dt).astype(float)
    eig = np.linalg.eigvalsh(cast)
    top = float(np.max(np.abs(eig)))
    tol = cast.shape[0] * float(info.eps) * top
    if not eig[0] > tol:
        raise ValueError(
            f"{field} is not positive definite in {dt.name} (the dtype of the computation): its smallest "
            f"eigenvalue after rounding is {eig[0]:.3g}, which {dt.name} cannot tell from 0 "
            f"(must be > {tol:.3g}); use float64 (JAX_ENABLE_X64=1) or a better-conditioned matrix"
        )


def checked_out_dim(out_dim: Any, dim: int, dtype: npt.DTypeLike, *, copies: int = 4) -> int:
    """``out_dim`` as an int ≥ 1, refused before allocation if its (out_dim × dim) arrays would not fit.

    ``copies`` is how many out_dim × dim arrays of ``dtype`` the caller holds at
    once (W, its padded rows, the SVD's input and output).
    """
    out_dim = as_int(out_dim, "out_dim", low=1)
    require_memory(float(copies) * out_dim * dim * np.dtype(dtype).itemsize, "out_dim")
    return out_dim
