r"""Idealized representations (Dubois et al. 2022): the verifier, Cover counts, W_n, linear ISSL, DISSL.

A finite input set X is split by augmentations into C equivalence classes; a
task is any labelling of the classes; a linear probe is an affine arg-max
classifier.  Theorem 1 of the paper (paraphrased in the spec) says an encoder
φ is ideal for linear probes iff

1. **invariance** — equivalent inputs share one code, φ(x) = φ(x⁺);
2. **linear predictability** — an affine arg-max probe recovers the class from φ(x);
3. **dimension** — the codes span at least C − 1 dimensions.

We read condition 3 as the *affine* (centred) rank of the class codes, because
with a bias term the uncentred span is not enough: the four codes (±1, ±1, 1)
have uncentred rank 3 = C − 1 but centred rank 2, and the XOR labelling of
them is not separable (:func:`d3_counter_example`).

What this module computes:

* :func:`verify_ideal` — the three conditions on a finite table (codes, labels),
  predictability by a linear program (scipy's HiGHS, installed with JAX);
* :func:`cover_count`, :func:`count_separable_dichotomies`,
  :func:`count_realizable_labelings` — Cover's function-counting theorem,
  2·Σ_{k≤d} C(C−1, k) affinely separable dichotomies of C points in general
  position in R^d, and the brute-force count it predicts;
* :func:`worst_case_risk` — W_n = Σ_c p_c (1 − p_c)^n for invariant, affinely
  independent codes (the worst empirical-risk minimiser errs exactly on the
  classes missing from the sample), and :func:`worst_case_risk_monte_carlo`,
  the same quantity by sampling and linear programs for any code table;
* :func:`linear_issl` — gradient descent of a linear encoder and linear softmax
  head on the ISSL log-loss over a finite augmented set (spec T3);
* :func:`dissl_spread_loss`, :func:`dissl_batch_loss`,
  :func:`dissl_optimal_spread` — the per-batch DISSL landscape of spec T4: with
  samples spread uniformly over g of C pseudo-classes in a batch of B,
  L(g) = (1 + β) log g − λ log min(B·g, C), optimal at g* = C/B when λ > 1 + β;
* :func:`cissl_simplex_loss`, :func:`simclr_simplex_loss` — the contrastive
  losses at perfectly aligned regular-simplex embeddings (check D6);
* :func:`augmentation_knob` — the single-scalar SimCLR augmentation strength of
  the authors' code (check D8).

Example:
    >>> import numpy as np
    >>> from landscape import ideal
    >>> codes = np.eye(3)                          # a simplex: 3 classes in R³
    >>> rep = ideal.verify_ideal(codes, [0, 1, 2])
    >>> rep.ideal, rep.centred_rank
    (True, 2)
    >>> ideal.cover_count(5, 2), round(float(ideal.worst_case_risk_uniform(10, 20)), 4)
    (22, 0.1216)
"""
from __future__ import annotations

import functools
import itertools
import math
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics

__all__ = [
    "IdealReport",
    "verify_ideal",
    "separable",
    "cover_count",
    "cover_fraction",
    "count_separable_dichotomies",
    "count_realizable_labelings",
    "d3_counter_example",
    "regular_simplex",
    "worst_case_risk",
    "worst_case_risk_uniform",
    "worst_case_risk_monte_carlo",
    "ISSLData",
    "ISSLRun",
    "issl_data",
    "issl_log_loss",
    "linear_issl",
    "linear_issl_sweep",
    "dissl_spread_loss",
    "spread_distribution",
    "dissl_batch_loss",
    "dissl_optimal_spread",
    "dissl_descend",
    "cissl_simplex_loss",
    "simclr_simplex_loss",
    "augmentation_knob",
]


# ----------------------------------------------------------------------------- input checks
def _table(codes, labels) -> tuple[np.ndarray, np.ndarray]:
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


# ----------------------------------------------------------------------------- separability
def separable(points, labels, *, bias: bool = True) -> bool:
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

    z, y = _table(points, labels)
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
                row[ci * m:(ci + 1) * m] = -zb[i]
                row[kk * m:(kk + 1) * m] = zb[i]
                rows.append(row)
        a_ub = np.asarray(rows)
        nvar = k * m
    res = linprog(np.zeros(nvar), A_ub=a_ub, b_ub=-np.ones(a_ub.shape[0]),
                  bounds=[(None, None)] * nvar, method="highs")
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    raise RuntimeError(f"linear program for separability did not finish (status {res.status}: {res.message})")


# ----------------------------------------------------------------------------- verifier
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


def verify_ideal(codes, labels, *, tol: float = 1e-6) -> IdealReport:
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
    z, y = _table(codes, labels)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    classes = np.unique(y)
    c = classes.size
    means = np.stack([z[y == k].mean(axis=0) for k in classes])
    within = max(float(np.max(np.linalg.norm(z[y == k] - means[j][None, :], axis=1)))
                 for j, k in enumerate(classes))
    scale = float(np.max(np.linalg.norm(z - z.mean(axis=0, keepdims=True), axis=1)))
    invariant = within <= tol * scale
    predictable = separable(z, y)
    centred = _rank(means - means.mean(axis=0, keepdims=True), max(tol, 1e-12))
    uncentred = _rank(means, max(tol, 1e-12))
    dim_ok = centred >= c - 1
    flags = {"invariant": invariant, "linearly_predictable": predictable, "dimension_ok": dim_ok}
    failed = tuple(name for name, ok in flags.items() if not ok)
    return IdealReport(invariant=bool(invariant), linearly_predictable=bool(predictable),
                       dimension_ok=bool(dim_ok), ideal=not failed, centred_rank=centred,
                       uncentred_rank=uncentred, n_classes=int(c), max_within_class=within,
                       scale=scale, failed=failed)


def d3_counter_example() -> tuple[np.ndarray, np.ndarray]:
    r"""Codes (±1, ±1, 1) for 4 classes: uncentred rank 3 = C − 1, centred rank 2 (check D3).

    >>> z, y = d3_counter_example()
    >>> r = verify_ideal(z, y)
    >>> r.uncentred_rank, r.centred_rank, r.linearly_predictable, r.dimension_ok
    (3, 2, True, False)
    """
    z = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [-1.0, -1.0, 1.0]])
    return z, np.arange(4)


def regular_simplex(n: int, dtype=None) -> jax.Array:
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


# ----------------------------------------------------------------------------- Cover
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


def cover_fraction(n_points, dim) -> np.ndarray:
    r"""Fraction C(n, d)/2ⁿ of dichotomies that are separable; broadcasts over arrays of n and d.

    >>> cover_fraction(5, [1, 4]).tolist()
    [0.3125, 1.0]
    """
    n_arr, d_arr = np.broadcast_arrays(np.asarray(n_points), np.asarray(dim))
    out = np.empty(n_arr.shape, float)
    for idx in np.ndindex(n_arr.shape):
        n, d = int(n_arr[idx]), int(d_arr[idx])
        out[idx] = float(cover_count(n, d) / (2 ** n)) if n < 1025 else \
            math.exp(math.log(cover_count(n, d)) - n * math.log(2.0))
    return out


def count_separable_dichotomies(points, *, bias: bool = True) -> int:
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
    for bits in range(2 ** (n - 1)):            # fix the last point's label: complements pair up
        y = np.array([(bits >> i) & 1 for i in range(n)], dtype=np.int64)
        if separable(z, y, bias=bias):
            count += 2
    return count


def count_realizable_labelings(points, n_labels: int, *, bias: bool = True) -> int:
    r"""Brute force: how many of the Kⁿ labellings with K = ``n_labels`` an affine arg-max probe realises.

    Kⁿ ≤ 20000 LPs.  With affinely independent points (d ≥ n − 1) every labelling is realisable.

    >>> import numpy as np
    >>> count_realizable_labelings(np.eye(3), 3)
    27
    """
    z = np.asarray(points, float)
    n = z.shape[0]
    k = int(n_labels)
    if k < 1 or k ** n > 20000:
        raise ValueError(f"n_labels**n_points must be in [1, 20000], got {k}**{n}")
    return sum(int(separable(z, np.array(lab), bias=bias)) for lab in itertools.product(range(k), repeat=n))


# ----------------------------------------------------------------------------- W_n
def worst_case_risk(class_probs, n) -> jax.Array:
    r"""W_n = Σ_c p_c (1 − p_c)^n: worst-ERM 0-1 risk of invariant, affinely independent codes.

    With one code per class and the codes affinely independent, every class
    seen in the n training samples is classified correctly by every
    zero-training-error probe, and an adversarial probe (and task) errs on
    every unseen class; W_n is the expected mass of the unseen classes.  Under
    ``jit``/``vmap``; ``n`` may be an array (broadcast).

    >>> round(float(worst_case_risk([0.5, 0.5], 1)), 6)
    0.5
    """
    p = jnp.asarray(class_probs)
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(jnp.result_type(float))
    n = jnp.asarray(n, p.dtype)
    return jnp.sum(p * jnp.power(1.0 - p, n[..., None]), axis=-1)


def worst_case_risk_uniform(n_classes, n) -> jax.Array:
    r"""W_n = (1 − 1/C)^n for C equally likely classes (check D4); broadcasts.

    >>> [round(float(worst_case_risk_uniform(c, n)), 4) for c, n in [(10, 50), (100, 20), (1000, 1000)]]
    [0.0052, 0.8179, 0.3677]
    """
    c = jnp.asarray(n_classes, jnp.result_type(float))
    return jnp.power(1.0 - 1.0 / c, jnp.asarray(n, c.dtype))


def worst_case_risk_monte_carlo(codes, labels, n: int, *, probs=None, tasks=None, n_trials: int = 100,
                                seed: int = 0) -> float:
    r"""Monte Carlo W_n for any table of distinct codes, by linear programs.

    ``codes`` (m×d) are the distinct inputs' codes, ``labels`` (m,) their
    classes and ``probs`` (m,) their probabilities (uniform by default).  For
    each trial, n inputs are drawn; a binary invariant task t (a labelling of
    the classes) labels them; a test code z is *vulnerable* when some affine
    probe has zero training error yet labels z wrongly — an LP on the training
    codes plus z with the flipped label (codes equal to a training code are
    never vulnerable).  The trial's risk is the probability mass of the
    vulnerable codes; the estimate is the mean over trials, maximised over
    ``tasks`` ((n_tasks, C) 0/1 labellings of the sorted classes; default: the
    task that isolates the first class).  Assumes every task is realisable on
    the training codes.  Cost: n_trials × n_tasks × (unseen codes) LPs.

    For invariant affinely independent codes this estimates Σ_c p_c(1 − p_c)^n;
    codes that are not invariant give a strictly larger value.

    >>> import numpy as np
    >>> est = worst_case_risk_monte_carlo(np.eye(3), [0, 1, 2], 2, n_trials=200)
    >>> abs(est - float(worst_case_risk_uniform(3, 2))) < 0.06
    True
    """
    z, y = _table(codes, labels)
    m = z.shape[0]
    classes = np.unique(y)
    if probs is None:
        q = np.full(m, 1.0 / m)
    else:
        q = np.asarray(probs, float)
        if q.shape != (m,) or np.any(q < 0) or not np.isclose(q.sum(), 1.0):
            raise ValueError(f"probs must be {m} non-negative numbers summing to 1")
    if tasks is None:
        tasks = (classes == classes[0]).astype(np.int64)[None, :]
    tasks = np.atleast_2d(np.asarray(tasks, np.int64))
    if tasks.shape[1] != classes.size:
        raise ValueError(f"tasks must have one label per class ({classes.size}), got shape {tasks.shape}")
    n = int(n)
    if n < 1 or int(n_trials) < 1:
        raise ValueError(f"n and n_trials must be >= 1, got {n} and {n_trials}")
    cls_index = np.searchsorted(classes, y)
    rng = np.random.default_rng(seed)
    best = 0.0
    for task in tasks:
        lab = task[cls_index]
        total = 0.0
        for _ in range(int(n_trials)):
            draw = np.unique(rng.choice(m, size=n, p=q))
            seen = np.zeros(m, bool)
            seen[draw] = True
            risk = 0.0
            for j in np.flatnonzero(~seen):
                pts = np.vstack([z[draw], z[j][None, :]])
                lbl = np.concatenate([lab[draw], [1 - lab[j]]])
                if separable(pts, lbl):
                    risk += q[j]
            total += risk
        best = max(best, total / int(n_trials))
    return float(best)


# ----------------------------------------------------------------------------- linear ISSL (T3)
class ISSLData(NamedTuple):
    """A finite augmented input set: x = μ_{class} + A ξ_j for every class and every nuisance ξ_j.

    Attributes:
        inputs: all inputs, (C·m)×D, class-major.
        labels: their classes, (C·m,).
        prototypes: μ_c, C×D.
        aug_basis: A, D×r (orthonormal columns).
        nuisances: ξ_j, m×r (a symmetric set ±s·e_k).
    """

    inputs: jax.Array
    labels: jax.Array
    prototypes: jax.Array
    aug_basis: jax.Array
    nuisances: jax.Array


class ISSLRun(NamedTuple):
    """Linear ISSL training: encoder W (d×D), head V (C×d), bias b (C,) and traces at save points.

    ``centred_rank`` is the numerical rank (rtol 1e-2) of the centred class codes W μ_c;
    ``avf`` the AVF of W on the finite set; ``loss`` the ISSL log-loss.
    """

    encoder: jax.Array
    head: jax.Array
    bias: jax.Array
    times: jax.Array
    loss: jax.Array
    avf: jax.Array
    centred_rank: jax.Array


def issl_data(key: jax.Array, n_classes: int, dim: int, aug_rank: int, *, strength: float = 1.0,
              prototypes: str = "orthogonal", prototype_scale: float = 2.0, dtype=None) -> ISSLData:
    r"""A finite augmented input set: C prototypes off a random augmentation subspace, ±strength nuisances.

    The augmentation subspace is spanned by r = ``aug_rank`` random orthonormal
    directions A; the nuisances are ±strength·e_k (m = 2r per class), so the
    augmentation part has zero mean within every class.  ``prototypes``:

    * ``"orthogonal"`` — μ_c = scale · q_c with orthonormal q_c ⟂ span(A) (needs
      dim − r ≥ C): the symmetric case, where the weight-decayed ISSL optimum
      is a simplex (equiangular tight frame);
    * ``"gaussian"`` — i.i.d. N(0, scale²/dim) vectors projected off span(A)
      (needs dim − r ≥ C − 1): an anisotropic configuration.

    >>> import jax
    >>> data = issl_data(jax.random.PRNGKey(0), 4, 8, 2)
    >>> data.inputs.shape, data.labels.tolist()[:5]
    ((16, 8), [0, 0, 0, 0, 1])
    """
    c, d, r = int(n_classes), int(dim), int(aug_rank)
    need = c if prototypes == "orthogonal" else c - 1
    if prototypes not in ("orthogonal", "gaussian"):
        raise ValueError(f"prototypes must be 'orthogonal' or 'gaussian', got {prototypes!r}")
    if c < 2 or r < 1 or d - r < need:
        raise ValueError(f"need n_classes >= 2, aug_rank >= 1 and dim - aug_rank >= {need}, "
                         f"got n_classes={c}, dim={d}, aug_rank={r}")
    dtype = dtype or jnp.result_type(float)
    k1, k2 = jax.random.split(key)
    basis, _ = jnp.linalg.qr(jax.random.normal(k1, (d, d), dtype))
    a = basis[:, :r]
    scale = jnp.asarray(prototype_scale, dtype)
    if prototypes == "orthogonal":
        mu = scale * basis[:, r:r + c].T
    else:
        mu = jax.random.normal(k2, (c, d), dtype) * (scale / np.sqrt(d))
        mu = mu - (mu @ a) @ a.T
    xi = jnp.concatenate([jnp.eye(r, dtype=dtype), -jnp.eye(r, dtype=dtype)]) * jnp.asarray(strength, dtype)
    m = xi.shape[0]
    inputs = (mu[:, None, :] + (xi @ a.T)[None, :, :]).reshape(c * m, d)
    labels = jnp.repeat(jnp.arange(c), m)
    return ISSLData(inputs, labels, mu, a, xi)


def issl_log_loss(encoder, head, bias, inputs, labels) -> jax.Array:
    r"""ISSL log-loss mean_x −log softmax(V W x + b)_{M(x)} over the finite set (uniform weights)."""
    logits = inputs @ encoder.T @ head.T + bias[None, :]
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


def _avf_finite(encoder, data: ISSLData) -> jax.Array:
    z = data.inputs @ encoder.T
    c = data.prototypes.shape[0]
    m = data.nuisances.shape[0]
    zc = z.reshape(c, m, -1)
    class_mean = jnp.mean(zc, axis=1, keepdims=True)
    within = jnp.mean(jnp.sum((zc - class_mean) ** 2, axis=2))
    total = jnp.mean(jnp.sum((z - jnp.mean(z, axis=0, keepdims=True)) ** 2, axis=1))
    return jnp.where(total > 0, within / jnp.where(total > 0, total, 1.0), jnp.nan)


def linear_issl(data: ISSLData, rep_dim: int, *, key: jax.Array, init_scale: float = 1e-3, lr: float = 0.2,
                steps: int = 20_000, weight_decay: float = 1e-3, n_save: int = 100) -> ISSLRun:
    r"""Gradient descent on the ISSL log-loss with a linear encoder W (d×D) and linear softmax head (V, b).

    Minimises, full batch over the finite set (spec T3),

        mean_x −log softmax(V W x + b)_{M(x)} + γ(‖W‖²_F + ‖V‖²_F),

    from a small random init.  Without weight decay (γ = 0) the log-loss has
    no minimiser (it decreases as the weights grow); γ > 0 gives one.  The
    augmentation directions carry no class information and are symmetric in
    every class, so the encoder suppresses them and the AVF falls towards 0;
    the class codes W μ_c gain rank up to at most min(d, C − 1).  Whether they
    reach C − 1 depends on the prototypes: with orthogonal prototypes and
    γ > 0 the optimum is a regular simplex, with anisotropic ones the loss can
    be driven down by fewer directions (see the tests and the T3 figure).
    ``rep_dim``, ``steps`` and ``n_save`` are static.

    ``avf`` is the within-class share of the code variance on the finite set,
    the finite-set analogue of :func:`landscape.metrics.avf_linear`.

    >>> import jax
    >>> data = issl_data(jax.random.PRNGKey(0), 4, 8, 2)
    >>> run = linear_issl(data, 3, key=jax.random.PRNGKey(1), steps=3000, n_save=3)
    >>> int(run.centred_rank[-1]), bool(run.avf[-1] < 1e-6)
    (3, True)
    """
    d = int(rep_dim)
    if d < 1:
        raise ValueError(f"rep_dim must be >= 1, got {rep_dim}")
    mask = jnp.ones((d,), data.inputs.dtype)
    return _issl_core(data, mask, key, jnp.asarray(init_scale, data.inputs.dtype), jnp.asarray(lr, data.inputs.dtype),
                      jnp.asarray(weight_decay, data.inputs.dtype), steps=int(steps),
                      n_save=max(1, min(int(n_save), int(steps))))


def linear_issl_sweep(data: ISSLData, rep_dims: Sequence[int], *, key: jax.Array, init_scale: float = 1e-3,
                      lr: float = 0.2, steps: int = 20_000, weight_decay: float = 1e-3, n_save: int = 100) -> ISSLRun:
    r""":func:`linear_issl` for several representation dimensions d, with one compilation.

    A d-dimensional encoder is run as a max(d)-row encoder whose rows beyond d
    (and the matching head columns) are held at zero by a mask, which is the
    same model.  Runs are sequential (``lax.map``).  Every field of the result
    gains a leading axis over ``rep_dims``; ``encoder`` has max(d) rows, the
    masked ones zero.

    >>> import jax
    >>> data = issl_data(jax.random.PRNGKey(0), 4, 8, 2)
    >>> runs = linear_issl_sweep(data, [2, 3, 4], key=jax.random.PRNGKey(1), steps=3000, n_save=3)
    >>> runs.centred_rank[:, -1].tolist()
    [2, 3, 3]
    """
    dims = [int(v) for v in rep_dims]
    if not dims or min(dims) < 1:
        raise ValueError(f"rep_dims must be a non-empty list of integers >= 1, got {rep_dims!r}")
    width = max(dims)
    dtype = data.inputs.dtype
    masks = jnp.asarray([[1.0 if i < d else 0.0 for i in range(width)] for d in dims], dtype)
    args = (key, jnp.asarray(init_scale, dtype), jnp.asarray(lr, dtype), jnp.asarray(weight_decay, dtype))
    n_save = max(1, min(int(n_save), int(steps)))
    return jax.lax.map(lambda m: _issl_core(data, m, *args, steps=int(steps), n_save=n_save), masks)


@functools.partial(jax.jit, static_argnames=("steps", "n_save"))
def _issl_core(data: ISSLData, mask, key, init_scale, lr, weight_decay, *, steps, n_save):
    c, d_in = data.prototypes.shape
    width = mask.shape[0]
    k1, k2 = jax.random.split(key)
    dtype = data.inputs.dtype
    w = jax.random.normal(k1, (width, d_in), dtype) * init_scale * mask[:, None]
    v = jax.random.normal(k2, (c, width), dtype) * init_scale * mask[None, :]
    b = jnp.zeros((c,), dtype)
    chunk, rest = divmod(steps, n_save)

    def objective(w_, v_, b_):
        w_ = w_ * mask[:, None]
        v_ = v_ * mask[None, :]
        return (issl_log_loss(w_, v_, b_, data.inputs, data.labels)
                + weight_decay * (jnp.sum(w_ * w_) + jnp.sum(v_ * v_)))

    grad = jax.grad(objective, argnums=(0, 1, 2))

    def step(params, _):
        g = grad(*params)
        return tuple(p - lr * gp for p, gp in zip(params, g)), None

    params = (w, v, b)
    if rest:
        params, _ = jax.lax.scan(step, params, None, length=rest)

    def save(params, _):
        params, _ = jax.lax.scan(step, params, None, length=chunk)
        w_, v_, b_ = params
        rank = metrics.numerical_rank(data.prototypes @ w_.T, rtol=1e-2)
        return params, (issl_log_loss(w_, v_, b_, data.inputs, data.labels), _avf_finite(w_, data), rank)

    params, (losses, avfs, ranks) = jax.lax.scan(save, params, None, length=n_save)
    times = (rest + chunk * (jnp.arange(n_save) + 1)).astype(dtype) * lr
    return ISSLRun(params[0] * mask[:, None], params[1] * mask[None, :], params[2], times, losses, avfs, ranks)


# ----------------------------------------------------------------------------- DISSL (T4)
def dissl_spread_loss(g, lam, beta, batch, n_classes, *, marginal=None) -> jax.Array:
    r"""Per-batch DISSL loss of an invariant teacher copied by its student, spread over g classes.

    Every sample's teacher is uniform over g of the C pseudo-classes and the
    batch marginal is uniform over K classes, so mean H(t_i) = log g and
    H(mean t) = log K:

        L = (1 + β) log g − λ log K,    K = min(B·g, C) by default (disjoint groups).

    ``marginal`` overrides K (g ≤ K ≤ min(B·g, C)); K = g is the collapsed
    batch where all samples share the same g classes.  Deterministic distinct
    classes (g = 1) give −λ log B; uniform (g = C) gives (1 + β − λ) log C;
    complete collapse (g = K = 1) gives 0.  Broadcasts; ``jit``/``vmap``-able.

    >>> round(float(dissl_spread_loss(64, 2.3, 0.8, 256, 16384)), 3)
    -14.833
    """
    g = jnp.asarray(g, jnp.result_type(float))
    k = jnp.minimum(batch * g, n_classes) if marginal is None else jnp.asarray(marginal, g.dtype)
    return (1.0 + beta) * jnp.log(g) - lam * jnp.log(k)


def spread_distribution(batch: int, n_classes: int, g: int, dtype=None) -> jax.Array:
    r"""B×C teacher probabilities: sample i uniform over classes {(i·g + j) mod C : j < g}.

    The batch marginal is uniform over min(B·g, C) classes when B·g ≤ C or when
    C divides B·g (as for powers of two).

    >>> spread_distribution(2, 4, 2).tolist()
    [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]]
    """
    b, c, g = int(batch), int(n_classes), int(g)
    if not (b >= 1 and 1 <= g <= c):
        raise ValueError(f"need batch >= 1 and 1 <= g <= n_classes, got batch={b}, g={g}, n_classes={c}")
    dtype = dtype or jnp.result_type(float)
    cols = (jnp.arange(b)[:, None] * g + jnp.arange(g)[None, :]) % c
    out = jnp.zeros((b, c), dtype)
    return out.at[jnp.arange(b)[:, None], cols].set(1.0 / g)


def _entropy(p: jax.Array, axis: int = -1) -> jax.Array:
    safe = jnp.where(p > 0, p, 1.0)
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(safe), 0.0), axis=axis)


def _cross_entropy(p: jax.Array, log_q: jax.Array) -> jax.Array:
    return -jnp.sum(jnp.where(p > 0, p * log_q, 0.0), axis=-1)


def dissl_batch_loss(teacher1, teacher2, student1=None, student2=None, *, lam: Any = 2.3,
                     beta: Any = 0.8) -> jax.Array:
    r"""The DISSL batch loss from probability tables (B×C), symmetrised over the two views.

    For the ordered pair (view a, view b):

        L_ab = mean_i CE(t_a,i, s_b,i) − λ H(mean_i t_a,i) + β mean_i CE(t_a,i, t_b,i),

    CE(p, q) = −Σ_m p_m log q_m, and the loss is ½(L_12 + L_21).  Students
    default to the teachers (a student that copies its teacher).  With an
    invariant teacher (t1 = t2) equal to the student this is
    (1 + β) mean_i H(t_i) − λ H(mean_i t_i) (check D9).  Probabilities may
    contain exact zeros (0 log 0 = 0).

    >>> import jax.numpy as jnp
    >>> t = spread_distribution(4, 8, 2)
    >>> round(float(dissl_batch_loss(t, t)), 6) == round(float(dissl_spread_loss(2, 2.3, 0.8, 4, 8)), 6)
    True
    """
    t1 = jnp.asarray(teacher1)
    t2 = jnp.asarray(teacher2)
    s1 = t1 if student1 is None else jnp.asarray(student1)
    s2 = t2 if student2 is None else jnp.asarray(student2)
    if not (t1.shape == t2.shape == s1.shape == s2.shape) or t1.ndim != 2:
        raise ValueError(f"teacher1, teacher2, student1, student2 must be B×C tables of one shape, got "
                         f"{t1.shape}, {t2.shape}, {s1.shape}, {s2.shape}")

    def log(p):
        return jnp.log(jnp.where(p > 0, p, 1.0)) + jnp.where(p > 0, 0.0, -jnp.inf)

    def one(ta, sb, tb):
        distil = jnp.mean(_cross_entropy(ta, log(sb)))
        maximal = _entropy(jnp.mean(ta, axis=0))
        determ = jnp.mean(_cross_entropy(ta, log(tb)))
        return distil - lam * maximal + beta * determ

    return 0.5 * (one(t1, s2, t2) + one(t2, s1, t1))


def dissl_optimal_spread(lam, beta, batch, n_classes) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""(g*, K*, L*): the per-batch optimum of the DISSL loss over all invariant, student-copied teachers.

    Since H(mean t) ≤ min(mean H(t_i) + log B, log C), with h̄ = mean H(t_i):

    * λ < 0: collapse, every sample on the same class — g* = K* = 1, L* = 0;
    * 0 ≤ λ ≤ 1 + β (or C ≤ B): deterministic and distinct — g* = 1,
      K* = min(B, C), L* = −λ log K*;
    * λ > 1 + β and C > B: soft — g* = C/B, K* = C,
      L* = (1 + β) log(C/B) − λ log C.

    The bound is attained by :func:`spread_distribution`, so these are global
    minima of the batch loss (not only of the g-family).  Broadcasts.

    >>> [float(v) for v in dissl_optimal_spread(2.3, 0.8, 256, 16384)[:2]]
    [64.0, 16384.0]
    """
    lam = jnp.asarray(lam, jnp.result_type(float))
    beta = jnp.asarray(beta, lam.dtype)
    lam, beta = jnp.broadcast_arrays(lam, beta)
    b = jnp.asarray(batch, lam.dtype)
    c = jnp.asarray(n_classes, lam.dtype)
    soft = (lam > 1.0 + beta) & (c > b)
    collapse = lam < 0
    g = jnp.where(soft, c / b, 1.0)
    k = jnp.where(collapse, 1.0, jnp.where(soft, c, jnp.minimum(b, c)))
    loss = (1.0 + beta) * jnp.log(g) - lam * jnp.log(k)
    return g, k, loss


def dissl_descend(key: jax.Array, batch: int, n_classes: int, lam: Any, beta: Any, *, steps: int = 3000,
                  lr: float = 0.5, init_scale: float = 1.0) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""Minimise the per-batch DISSL loss over free teacher logits (invariant teacher, student = teacher).

    An independent route to :func:`dissl_optimal_spread`: gradient descent on
    the B×C logits of (1 + β) mean_i H(t_i) − λ H(mean_i t_i), the loss with
    t1 = t2 = s1 = s2 (:func:`dissl_batch_loss`).  Returns (final loss,
    exp(mean per-sample entropy) ≈ g*, exp(marginal entropy) ≈ K*).

    In the deterministic phase (λ < 1 + β) descent reaches the optimum g* = 1,
    K* = B.  In the soft phase it reaches soft assignments (g > 1) but can stall
    with some pseudo-classes unused (their logits sink and their gradients
    vanish), at a loss above L*: the free-logit landscape has such spurious
    minima, the per-batch optimum of :func:`dissl_optimal_spread` is their
    lower bound.

    >>> import jax
    >>> loss, g, k = dissl_descend(jax.random.PRNGKey(0), 4, 16, 1.0, 0.8)
    >>> round(float(g), 2), round(float(k), 2)        # deterministic: g* = 1, K* = B = 4
    (1.0, 4.0)
    """
    b, c = int(batch), int(n_classes)
    dtype = jnp.result_type(float)
    logits = jax.random.normal(key, (b, c), dtype) * jnp.asarray(init_scale, dtype)
    lam = jnp.asarray(lam, dtype)
    beta = jnp.asarray(beta, dtype)

    def objective(z):
        logp = jax.nn.log_softmax(z, axis=1)
        p = jnp.exp(logp)
        per_sample = -jnp.sum(p * logp, axis=1)
        return (1.0 + beta) * jnp.mean(per_sample) - lam * _entropy(jnp.mean(p, axis=0))

    grad = jax.grad(objective)
    eta = jnp.asarray(lr, dtype)
    logits, _ = jax.lax.scan(lambda z, _: (z - eta * b * grad(z), None), logits, None, length=int(steps))
    logp = jax.nn.log_softmax(logits, axis=1)
    p = jnp.exp(logp)
    h_bar = jnp.mean(-jnp.sum(p * logp, axis=1))
    return objective(logits), jnp.exp(h_bar), jnp.exp(_entropy(jnp.mean(p, axis=0)))


# ----------------------------------------------------------------------------- contrastive bounds (D6)
def cissl_simplex_loss(batch: int, temperature) -> jax.Array:
    r"""CISSL self-contrastive loss at aligned regular-simplex embeddings (both views equal).

    Each anchor sees its own and its partner's column at cosine 1 and the
    2B − 2 other columns at −1/(B − 1):

        L = log 2 + log(1 + (B − 1) e^{−(1 + 1/(B−1))/τ})  ≥ log 2.

    >>> round(float(cissl_simplex_loss(256, 0.07)), 4)
    0.6933
    """
    b = int(batch)
    tau = jnp.asarray(temperature, jnp.result_type(float))
    return jnp.log(2.0) + jnp.log1p((b - 1) * jnp.exp(-(1.0 + 1.0 / (b - 1)) / tau))


def simclr_simplex_loss(batch: int, temperature) -> jax.Array:
    r"""SimCLR NT-Xent at aligned regular-simplex embeddings: log(1 + (2B − 2) e^{(s_neg − 1)/τ}), s_neg = −1/(B − 1).

    Tends to 0 as τ → 0.

    >>> float(simclr_simplex_loss(4, 1e-3)) < 1e-12
    True
    """
    b = int(batch)
    tau = jnp.asarray(temperature, jnp.result_type(float))
    s_neg = -1.0 / (b - 1)
    return jnp.log1p((2 * b - 2) * jnp.exp((s_neg - 1.0) / tau))


# ----------------------------------------------------------------------------- augmentation knob (D8)
_KNOB = {
    # dataset: (jitter per unit strength, hue per unit, crop minimum at s = 1, grayscale per unit)
    "tinyimagenet": (0.4, 0.1, 0.2, 0.1),
    "stl10": (0.4, 0.1, 0.2, 0.1),
    "cifar": (0.2, 0.05, 0.2, 0.1),
    "imagenet": (0.8, 0.2, 0.08, 0.2),
}


def augmentation_knob(strength: float, dataset: str = "tinyimagenet") -> dict:
    r"""SimCLR augmentation parameters as a function of one strength s (the authors' code mapping).

    Colour jitter (brightness, contrast, saturation) = j·s and hue = h·s;
    random-resized-crop minimum scale = c/s (capped at 1); grayscale probability
    = g·s (capped at 1); horizontal flip 0.5.  (j, h, c, g) = (0.4, 0.1, 0.2, 0.1)
    for TinyImageNet/STL10, (0.2, 0.05, 0.2, 0.1) for CIFAR, (0.8, 0.2, 0.08, 0.2)
    for ImageNet (which also uses blur).

    >>> k = augmentation_knob(2.0)
    >>> k["jitter"], k["crop_min_scale"], k["grayscale_p"]
    ((0.8, 0.8, 0.8, 0.2), 0.1, 0.2)
    """
    if dataset not in _KNOB:
        raise ValueError(f"dataset must be one of {sorted(_KNOB)}, got {dataset!r}")
    s = float(strength)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"strength must be a finite number > 0, got {strength!r}")
    j, h, c, g = _KNOB[dataset]
    r = lambda v: round(v, 12)  # noqa: E731 - keep decimal outputs clean
    return {
        "strength": s,
        "jitter": (r(j * s), r(j * s), r(j * s), r(h * s)),
        "crop_min_scale": r(min(1.0, c / s)),
        "grayscale_p": r(min(1.0, g * s)),
        "flip_p": 0.5,
        "blur": dataset == "imagenet",
    }
