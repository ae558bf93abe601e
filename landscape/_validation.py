"""Input checks shared by the constructors and the CLI.

All checks run on concrete NumPy arrays, before anything is traced, so that a bad
input is refused with a ``ValueError`` naming the offending field instead of
silently producing NaNs inside a jitted computation.
"""
from __future__ import annotations

import numpy as np


def as_square_matrix(value, field: str) -> np.ndarray:
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
        raise ValueError(
            f"{field} must be symmetric; max |M - M^T| = {asym:.3g} (allowed <= {1e-10 * scale:.3g})"
        )
    return 0.5 * (arr + arr.T)


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


def as_variances(value, field: str) -> np.ndarray:
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


def as_scalar(value, field: str, *, low: float | None = None, high: float | None = None,
              low_inclusive: bool = True, high_inclusive: bool = True) -> float:
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
