r"""Cover's function-counting theorem and the brute-force counts it predicts.

C(n, d) = 2·Σ_{k≤d} binom(n − 1, k) affinely separable dichotomies of n points in
general position in R^d; :func:`count_separable_dichotomies` and
:func:`count_realizable_labelings` enumerate labellings with one linear program each.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from landscape.studies.idealized.separability import separable

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = ["cover_count", "cover_fraction", "count_separable_dichotomies", "count_realizable_labelings"]


def cover_count(n_points: int, dim: int) -> int:
    r"""Cover's count of affinely separable dichotomies of n points in general position in R^d.

        C(n, d) = 2 Σ_{k=0}^{d} binom(n − 1, k)     (= 2ⁿ iff d ≥ n − 1)

    Exact integer arithmetic.

    >>> [cover_count(5, d) for d in (1, 2, 3, 4)]
    [10, 22, 30, 32]
    """
    n, d = int(n_points), int(dim)
    if n < 1 or d < 0:
        raise ValueError(f"need n_points >= 1 and dim >= 0, got {n_points} and {dim}")
    return 2 * sum(math.comb(n - 1, k) for k in range(0, min(d, n - 1) + 1))


def cover_fraction(n_points: ArrayLike, dim: ArrayLike) -> np.ndarray:
    r"""Fraction C(n, d)/2ⁿ of dichotomies that are separable; broadcasts over arrays of n and d.

    >>> cover_fraction(5, [1, 4]).tolist()
    [0.3125, 1.0]
    """
    n_arr, d_arr = np.broadcast_arrays(np.asarray(n_points), np.asarray(dim))
    out = np.empty(n_arr.shape, float)
    for idx in np.ndindex(n_arr.shape):
        n, d = int(n_arr[idx]), int(d_arr[idx])
        out[idx] = (
            float(cover_count(n, d) / (2**n)) if n < 1025 else math.exp(math.log(cover_count(n, d)) - n * math.log(2.0))
        )
    return out


def count_separable_dichotomies(points: Float[ArrayLike, "n d"], *, bias: bool = True) -> int:
    r"""Brute force: how many of the 2ⁿ binary labellings of ``points`` are affinely separable.

    One LP per labelling up to complement (n ≤ 16).  For points in general
    position this equals :func:`cover_count`.

    >>> import numpy as np
    >>> count_separable_dichotomies(np.random.default_rng(0).normal(size=(5, 2)))
    22
    """
    z = np.asarray(points, float)
    if z.ndim != 2:
        raise ValueError(f"points must be an n×d array, got shape {z.shape}")
    n = z.shape[0]
    if not 1 <= n <= 16:
        raise ValueError(f"points must have 1..16 rows for enumeration, got {n}")
    count = 0
    for bits in range(2 ** (n - 1)):  # fix the last point's label: complements pair up
        y = np.array([(bits >> i) & 1 for i in range(n)], dtype=np.int64)
        if separable(z, y, bias=bias):
            count += 2
    return count


def count_realizable_labelings(points: Float[ArrayLike, "n d"], n_labels: int, *, bias: bool = True) -> int:
    r"""Brute force: how many of the Kⁿ labellings with K = ``n_labels`` an affine arg-max probe realises.

    Kⁿ ≤ 20000 LPs.  With affinely independent points (d ≥ n − 1) every labelling is realisable.

    >>> import numpy as np
    >>> count_realizable_labelings(np.eye(3), 3)
    27
    """
    z = np.asarray(points, float)
    n = z.shape[0]
    k = int(n_labels)
    if k < 1 or k**n > 20000:
        raise ValueError(f"n_labels**n_points must be in [1, 20000], got {k}**{n}")
    return sum(int(separable(z, np.array(lab), bias=bias)) for lab in itertools.product(range(k), repeat=n))
