r"""Theorem 1's verifier on a finite table of codes, and two example tables (check D3, the regular simplex).

An encoder φ is ideal for linear probes iff its codes are invariant, linearly
predictable (an affine arg-max probe recovers the class) and span at least
C − 1 dimensions, read as the *affine* (centred) rank of the class codes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.studies.idealized.separability import code_table, separable

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jax.typing import DTypeLike
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = ["IdealReport", "verify_ideal", "d3_counter_example", "regular_simplex"]


class IdealReport(NamedTuple):
    """Which of Theorem 1's conditions a code table meets.

    Attributes:
        invariant: every class's codes lie within ``tol``·scale of the class mean.
        linearly_predictable: an affine arg-max probe recovers the class (LP).
        dimension_ok: centred (affine) rank of the class means ≥ C − 1.
        ideal: all three.
        centred_rank: numerical rank of the centred class-mean matrix (C×d).
        uncentred_rank: rank of the class means themselves (for comparison).
        n_classes: C, the number of distinct labels.
        max_within_class: largest distance of a code to its class mean.
        scale: the table's spread, max distance of a code to the overall mean.
        failed: names of the failed conditions.
    """

    invariant: bool
    linearly_predictable: bool
    dimension_ok: bool
    ideal: bool
    centred_rank: int
    uncentred_rank: int
    n_classes: int
    max_within_class: float
    scale: float
    failed: tuple

    def to_dict(self) -> dict:
        """A JSON-ready dict (plain Python types)."""
        return {
            "invariant": bool(self.invariant),
            "linearly_predictable": bool(self.linearly_predictable),
            "dimension_ok": bool(self.dimension_ok),
            "ideal": bool(self.ideal),
            "centred_rank": int(self.centred_rank),
            "uncentred_rank": int(self.uncentred_rank),
            "n_classes": int(self.n_classes),
            "max_within_class": float(self.max_within_class),
            "scale": float(self.scale),
            "failed": list(self.failed),
        }


def _rank(m: np.ndarray, rtol: float) -> int:
    if m.size == 0:
        return 0
    sv = np.linalg.svd(m, compute_uv=False)
    if sv.size == 0 or sv[0] == 0:
        return 0
    return int(np.sum(sv > rtol * sv[0]))


def verify_ideal(codes: Float[ArrayLike, "n ..."], labels: Int[ArrayLike, " n"], *, tol: float = 1e-6) -> IdealReport:
    r"""Check Theorem 1's three conditions on a finite table of codes φ(x) with class labels M(x).

    * invariance: max_i ‖φ(x_i) − mean_{M(x)}‖ ≤ ``tol`` · scale, with scale the
      largest distance of a code to the mean of all codes (a collapsed table is
      invariant);
    * linear predictability: :func:`separable` on (codes, labels) — an affine
      arg-max probe with zero error (a linear program);
    * dimension: the numerical rank (singular values above ``tol``·σ_max) of the
      centred C×d matrix of class means is at least C − 1.

    ``codes`` is n×d (a vector is read as d = 1); ``labels`` an n-vector of
    integer class ids.

    >>> import numpy as np
    >>> r = verify_ideal(np.array([[0.0, 0.0], [0.0, 1e-3], [1.0, 0.0]]), [0, 0, 1])
    >>> r.invariant, r.failed
    (False, ('invariant',))
    """
    z, y = code_table(codes, labels)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    classes = np.unique(y)
    c = classes.size
    means = np.stack([z[y == k].mean(axis=0) for k in classes])
    within = max(float(np.max(np.linalg.norm(z[y == k] - means[j][None, :], axis=1))) for j, k in enumerate(classes))
    scale = float(np.max(np.linalg.norm(z - z.mean(axis=0, keepdims=True), axis=1)))
    invariant = within <= tol * scale
    predictable = separable(z, y)
    centred = _rank(means - means.mean(axis=0, keepdims=True), max(tol, 1e-12))
    uncentred = _rank(means, max(tol, 1e-12))
    dim_ok = centred >= c - 1
    flags = {"invariant": invariant, "linearly_predictable": predictable, "dimension_ok": dim_ok}
    failed = tuple(name for name, ok in flags.items() if not ok)
    return IdealReport(
        invariant=bool(invariant),
        linearly_predictable=bool(predictable),
        dimension_ok=bool(dim_ok),
        ideal=not failed,
        centred_rank=centred,
        uncentred_rank=uncentred,
        n_classes=int(c),
        max_within_class=within,
        scale=scale,
        failed=failed,
    )


def d3_counter_example() -> tuple[np.ndarray, np.ndarray]:
    r"""Codes (±1, ±1, 1) for 4 classes: uncentred rank 3 = C − 1, centred rank 2 (check D3).

    >>> z, y = d3_counter_example()
    >>> r = verify_ideal(z, y)
    >>> r.uncentred_rank, r.centred_rank, r.linearly_predictable, r.dimension_ok
    (3, 2, True, False)
    """
    z = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [-1.0, -1.0, 1.0]])
    return z, np.arange(4)


def regular_simplex(n: int, dtype: DTypeLike | None = None) -> Float[jax.Array, "n n"]:
    r"""n unit vectors in Rⁿ with pairwise cosine −1/(n − 1), centred: the equiangular tight frame.

    Rows are e_i − 1/n, normalised.  Their affine rank is n − 1.

    >>> import jax.numpy as jnp
    >>> s = regular_simplex(3)
    >>> round(float(s[0] @ s[1]), 6)
    -0.5
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    dtype = dtype or jnp.result_type(float)
    e = jnp.eye(n, dtype=dtype) - jnp.full((n, n), 1.0 / n, dtype)
    return e / jnp.linalg.norm(e, axis=1, keepdims=True)
