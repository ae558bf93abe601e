r"""Downstream probes: per-class held-out accuracy of a linear probe on a representation.

A representation z = Wx is built from the Gram matrix WᵀW of a solution
(:func:`representation_map`); a balanced least-squares probe on one-hot targets
gives each class's held-out accuracy (:func:`class_probe_accuracy`), on points
drawn from a class problem (:func:`probe_study`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landscape.core.linalg import sym_sqrt
from landscape.studies.class_imbalance.model import ClassProblem
from landscape.studies.class_imbalance.sampling import sample_classes

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = ["representation_map", "class_probe_accuracy", "probe_study"]


def representation_map(gram: Float[ArrayLike, "d d"]) -> np.ndarray:
    """A weight matrix W with WᵀW = ``gram``: the symmetric square root (W is fixed only up to rotation).

    >>> representation_map(np.diag([4.0, 0.0])).tolist()
    [[2.0, 0.0], [0.0, 0.0]]
    """
    return np.asarray(sym_sqrt(np.asarray(gram, dtype=float)), dtype=float)


def class_probe_accuracy(
    z_train: Float[ArrayLike, "n k"],
    y_train: Int[ArrayLike, " n"],
    z_test: Float[ArrayLike, "m k"],
    y_test: Int[ArrayLike, " m"],
    n_classes: int,
    *,
    ridge: float = 1e-3,
    balanced: bool = True,
) -> np.ndarray:
    r"""Per-class held-out accuracy (recall) of a least-squares probe on one-hot targets.

    The probe minimises Σ_n ω_n‖onehot_n − z_nW − b‖² + λ‖W‖², with ω_n = 1/N_{y_n}
    when ``balanced`` (so a small class is not drowned by the majority) and
    λ = ridge·tr(Cov z)/D (scale-free).  It is fitted on the training split and
    scored on the test split only.  A class absent from the test split gets NaN.

    >>> z = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> class_probe_accuracy(z, y, -z, 1 - y, 2).tolist()
    [1.0, 1.0]
    """
    ztr = np.asarray(z_train, dtype=float)
    zte = np.asarray(z_test, dtype=float)
    ytr = np.asarray(y_train)
    yte = np.asarray(y_test)
    if ztr.ndim != 2 or zte.ndim != 2 or ztr.shape[1] != zte.shape[1]:
        raise ValueError(f"z_train and z_test must be 2-D with equal widths, got {ztr.shape} and {zte.shape}")
    if ytr.shape != (ztr.shape[0],) or yte.shape != (zte.shape[0],):
        raise ValueError("y_train and y_test must have one label per row of z_train and z_test")
    k = int(n_classes)
    counts = np.bincount(ytr, minlength=k).astype(float)
    w = 1.0 / counts[ytr] if balanced else np.ones(ytr.size)
    w = w / w.sum()
    zm = w @ ztr
    t = np.eye(k)[ytr]
    tm = w @ t
    zc, tc = ztr - zm, t - tm
    cov = (zc * w[:, None]).T @ zc
    d = ztr.shape[1]
    lam = float(ridge) * max(np.trace(cov) / d, 1e-300)
    wt = np.linalg.solve(cov + lam * np.eye(d), (zc * w[:, None]).T @ tc)
    pred = np.argmax((zte - zm) @ wt + tm, axis=1)
    out = np.full(k, np.nan)
    for j in range(k):
        sel = yte == j
        if sel.any():
            out[j] = float(np.mean(pred[sel] == j))
    return out


def probe_study(
    rng: np.random.Generator, cp: ClassProblem, maps: dict, *, n_train: int, n_test: int, ridge: float = 1e-3
) -> dict:
    r"""Per-class held-out probe accuracy of each representation z = x Mᵀ in ``maps`` (name → M).

    A training set of ``n_train`` and an *independent* test set of ``n_test``
    points are drawn with :func:`sample_classes`; the probe is fitted on the
    first and scored on the second.  Returns name → (K,) accuracies, plus
    ``"n_train_per_class"``.

    >>> from landscape.studies.class_imbalance import minority_problem
    >>> cp = minority_problem(0.3, n_background=1)
    >>> out = probe_study(np.random.default_rng(0), cp, {"id": np.eye(2)}, n_train=200, n_test=400)
    >>> [bool(a > 0.8) for a in out["id"]]
    [True, True]
    """
    xtr, ytr = sample_classes(rng, cp, n_train, stratified=True)
    xte, yte = sample_classes(rng, cp, n_test, stratified=True)
    out = {}
    for name, m in maps.items():
        mm = np.atleast_2d(np.asarray(m, dtype=float))
        out[name] = class_probe_accuracy(xtr @ mm.T, ytr, xte @ mm.T, yte, cp.n_classes, ridge=ridge)
    out["n_train_per_class"] = np.bincount(ytr, minlength=cp.n_classes)
    return out
