r"""Affine separability of a finite code table by an arg-max probe: one linear program (HiGHS).

The low-level module of :mod:`landscape.studies.idealized`: the input check of a
(codes, labels) table and :func:`separable`, which the verifier, the Cover
counts and the worst-case risk all use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = ["code_table", "separable"]


def code_table(
    codes: Float[ArrayLike, "n ..."], labels: Int[ArrayLike, " n"]
) -> tuple[Float[np.ndarray, "n d"], Int[np.ndarray, " n"]]:
    """Check and convert a (codes, labels) table: codes n×d float (a vector is d = 1), labels n integer ids."""
    z = np.asarray(codes)
    if z.dtype.kind not in "biuf":
        raise ValueError(f"codes must be a real n×d array, got dtype {z.dtype}")
    z = z.astype(float)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 1:
        raise ValueError(f"codes must be an n×d array with n, d >= 1, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("codes contains NaN or infinite entries")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != z.shape[0]:
        raise ValueError(f"labels must be a vector of length n = {z.shape[0]}, got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("labels must be integers (equivalence-class ids)")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "biu":
        raise ValueError(f"labels must be integers (equivalence-class ids), got dtype {y.dtype}")
    return z, y.astype(np.int64)


def separable(points: Float[ArrayLike, "n ..."], labels: Int[ArrayLike, " n"], *, bias: bool = True) -> bool:
    r"""Whether an affine arg-max classifier puts every point in its label's region (an LP).

    Feasibility of (w_c − w_k)·z_i + (b_c − b_k) ≥ 1 for every point i of label c
    and every other label k present; by rescaling, strict separability is
    equivalent to margin 1.  Two labels reduce to y_i(w·z_i + b) ≥ 1.  A single
    label is always separable.  ``bias=False`` drops b (a linear probe through
    the origin).  Uses ``scipy.optimize.linprog`` (HiGHS).

    >>> separable([[0.0], [1.0], [2.0]], [0, 1, 0])        # 1-D: the middle point cannot be isolated
    False
    >>> separable([[0.0], [1.0], [2.0]], [0, 1, 1])
    True
    """
    from scipy.optimize import linprog

    z, y = code_table(points, labels)
    classes = np.unique(y)
    k = classes.size
    if k <= 1:
        return True
    n, d = z.shape
    zb = np.hstack([z, np.ones((n, 1))]) if bias else z
    m = zb.shape[1]
    if k == 2:
        sign = np.where(y == classes[1], 1.0, -1.0)
        a_ub = -(sign[:, None] * zb)
        nvar = m
    else:
        index = {c: j for j, c in enumerate(classes)}
        rows = []
        for i in range(n):
            ci = index[y[i]]
            for kk in range(k):
                if kk == ci:
                    continue
                row = np.zeros(k * m)
                row[ci * m : (ci + 1) * m] = -zb[i]
                row[kk * m : (kk + 1) * m] = zb[i]
                rows.append(row)
        a_ub = np.asarray(rows)
        nvar = k * m
    res = linprog(np.zeros(nvar), A_ub=a_ub, b_ub=-np.ones(a_ub.shape[0]), bounds=[(None, None)] * nvar, method="highs")
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    raise RuntimeError(f"linear program for separability did not finish (status {res.status}: {res.message})")
