r"""Probing a trained network against the linear theory of its last layer.

With the encoder frozen, the network is f(x) = W ϕ(x) and the SSL loss is a
function of the last layer W alone (WS §1.3, spec §3.9).  This module measures:

**Landscape slices** of that function, evaluated with the *real* sample loss on
fixed views:

* :func:`slice_1d` — L(a·W) (WS Fig. 1a, Fig. 4 top);
* :func:`slice_halves` — W = U diag(s) Vᵀ with the larger ⌈r/2⌉ singular values
  scaled by r₁ and the rest by r₂ (WS Fig. 1 b–d);
* :func:`slice_rows` — the two rows of a d1 = 2 layer scaled by (r₁, r₂)
  (WS Fig. 4 bottom).

**Feature-space covariances** (:func:`feature_covariances`).  From K ≥ 2
augmented views ϕ(t_v(x_i)) of each sample, centred by the overall mean:

    Σ_ϕ = mean_v Cov(ϕ_v),   A_ϕ = mean_{v≠w} sym Cov(ϕ_v, ϕ_w),   C_ϕ = Σ_ϕ − A_ϕ .

A_ϕ is the covariance of what two views share (the "data" covariance A0 of the
linear theory, now in feature space) and C_ϕ is the augmentation covariance
measured in feature space.  C_ϕ is PSD up to sampling error, because
E‖ϕ_v − ϕ_w‖² ≥ 0.  Directions where Σ_ϕ vanishes (dead units) are projected
out first (``rtol``), so Σ_ϕ is invertible on the kept subspace.

**Linear-theory prediction** (:func:`linear_prediction`).  The second-order
term of the (β-)InfoNCE loss in W is −Tr[W(βA_ϕ − (1−β)C_ϕ − γ)Wᵀ] for *any*
feature distribution, so a direction of the last layer survives only where
βA_ϕ − (1−β)C_ϕ − γI is positive.  Without weight decay this is a condition on
the *signal fractions* ρ_i, the generalised eigenvalues of (A_ϕ, Σ_ϕ) (each in
[0, 1]): direction i survives iff ρ_i > 1 − β.  The predicted rank is
min(#survivors, d1).  Amplitudes come from the exact Gaussian population
minimum (:func:`landscape.theory.exact_gaussian_infonce.exact_gaussian_minimum`), exact when
the features are Gaussian.  The measured counterpart
(:func:`measured_collapse`) is the spectrum of the output covariance
W Σ_ϕ Wᵀ.

**Layer metrics** (:func:`layer_metrics`): AVF, effective rank and linear-probe
accuracy of the encoder output h (representation) and of the projector output z
(embedding), reusing :mod:`landscape.metrics`.

Everything here is evaluated with the network in inference mode (batch norm
uses its running statistics), so ϕ is a fixed function.

Example:
    >>> import jax.numpy as jnp
    >>> w = jnp.eye(2)
    >>> slice_1d(lambda v: jnp.sum(v ** 2), w, jnp.array([0.0, 1.0, 2.0])).tolist()
    [0.0, 2.0, 8.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import scipy.linalg
from jax.typing import ArrayLike

from landscape import metrics
from landscape.core.linalg import sym_sqrt
from landscape.core.problem import Problem
from landscape.losses.effective import effective_landscape
from landscape.losses.population import exact_gaussian_infonce
from landscape.nn.models import Model, Outputs, Params, State
from landscape.theory.collapse_thresholds import predicted_rank
from landscape.theory.exact_gaussian_infonce import exact_gaussian_minimum

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float, Int

__all__ = [
    "embed",
    "view_outputs",
    "last_layer_loss",
    "slice_1d",
    "slice_halves",
    "slice_rows",
    "output_rotation",
    "FeatureCovariances",
    "feature_covariances",
    "signal_fractions",
    "Prediction",
    "linear_prediction",
    "predicted_slice_1d",
    "measured_collapse",
    "collapse_class",
    "fit_last_layer",
    "layer_metrics",
]


# ----------------------------------------------------------------------------- features
def embed(model: Model, params: Params, state: State, x: np.ndarray | jax.Array, *, batch: int = 2048) -> Outputs:
    """Inference-mode outputs (h, ϕ, z) for ``x``, in chunks of ``batch`` rows, as NumPy arrays."""
    apply = jax.jit(lambda p, s, xb: model.apply(p, s, xb, train=False)[0])
    parts = [apply(params, state, jnp.asarray(x[i : i + batch])) for i in range(0, len(x), batch)]
    return Outputs(*(np.concatenate([np.asarray(getattr(p, f)) for p in parts]) for f in Outputs._fields))


def view_outputs(
    model: Model,
    params: Params,
    state: State,
    x: np.ndarray | jax.Array,
    augment: Callable[[jax.Array, jax.Array], jax.Array],
    key: jax.Array,
    n_views: int = 2,
    *,
    batch: int = 2048,
) -> Outputs:
    """Outputs of ``n_views`` independent augmentations of every row of ``x``: arrays (n_views, n, ·)."""
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    aug = jax.jit(augment)
    views = []
    for _v, k in enumerate(jax.random.split(key, n_views)):
        xv = np.concatenate(
            [np.asarray(aug(jax.random.fold_in(k, i), jnp.asarray(x[i : i + batch]))) for i in range(0, len(x), batch)]
        )
        views.append(embed(model, params, state, xv, batch=batch))
    return Outputs(*(np.stack([getattr(o, f) for o in views]) for f in Outputs._fields))


# ----------------------------------------------------------------------------- slices
def last_layer_loss(
    loss_fn: Callable, phi1: Float[ArrayLike, "n d0"], phi2: Float[ArrayLike, "n d0"], *, weight_decay: float = 0.0
) -> Callable[[jax.Array], jax.Array]:
    """W ↦ loss_fn(ϕ₁Wᵀ, ϕ₂Wᵀ) + γ‖W‖²_F: the SSL objective as a function of the last layer (d1×d0)."""
    p1, p2 = jnp.asarray(phi1), jnp.asarray(phi2)

    def fn(w):
        w = jnp.asarray(w, p1.dtype)
        return loss_fn(p1 @ w.T, p2 @ w.T) + weight_decay * jnp.sum(w * w)

    return fn


def slice_1d(fn: Callable, w: Float[ArrayLike, "d1 d0"], scales: Float[ArrayLike, " r"]) -> jax.Array:
    """L(a·W) for every a in ``scales``."""
    w = jnp.asarray(w)
    return jax.lax.map(lambda a: fn(a * w), jnp.asarray(scales, w.dtype))


def _output_basis(w: jax.Array, metric) -> jax.Array:
    """Left singular vectors U of W Σ^{1/2} (of W when ``metric`` is None): the output principal directions."""
    if metric is None:
        m = w
    else:
        m = w @ sym_sqrt(jnp.asarray(metric, w.dtype))
    u, _, _ = jnp.linalg.svd(m, full_matrices=False)
    return u


def slice_halves(
    fn: Callable,
    w: Float[ArrayLike, "d1 d0"],
    r_large: Float[ArrayLike, " a"],
    r_small: Float[ArrayLike, " b"],
    *,
    metric: Float[ArrayLike, "d0 d0"] | None = None,
) -> jax.Array:
    """L over scalings of the larger and the smaller half of W's output directions, grid (len r_large, len r_small).

    W ↦ U diag(r) Uᵀ W, where U are the left singular vectors of W (WS Fig. 1 b–d:
    the first ⌈r/2⌉ singular values are multiplied by r_large[i], the others by
    r_small[j]).  With ``metric`` = Σ_ϕ, U are those of W Σ_ϕ^{1/2}, i.e. the
    principal directions of the output covariance W Σ_ϕ Wᵀ: a direction of W
    along which the features do not vary then counts as small, as it should.

    >>> import jax.numpy as jnp
    >>> g = slice_halves(lambda v: jnp.sum(v ** 2), jnp.diag(jnp.array([2.0, 1.0])), jnp.array([0.0, 1.0]),
    ...                  jnp.array([0.0, 1.0]))
    >>> g.tolist()
    [[0.0, 1.0], [4.0, 5.0]]
    """
    w = jnp.asarray(w)
    u = _output_basis(w, metric)
    top = jnp.arange(u.shape[1]) < (u.shape[1] + 1) // 2
    ra, rb = jnp.meshgrid(jnp.asarray(r_large, w.dtype), jnp.asarray(r_small, w.dtype), indexing="ij")

    def one(ab):
        r = jnp.where(top, ab[0], ab[1])
        return fn((u * r[None, :]) @ (u.T @ w) + (w - u @ (u.T @ w)))

    return jax.lax.map(one, jnp.stack([ra.ravel(), rb.ravel()], axis=1)).reshape(ra.shape)


def output_rotation(w: Float[ArrayLike, "d1 d0"], metric: Float[ArrayLike, "d0 d0"] | None = None) -> jax.Array:
    """UᵀW: the rows of W rotated to its output principal directions (see :func:`slice_halves`).

    Row 1 then carries the largest output variance.  For the InfoNCE family, and
    any loss invariant to rotations of the output, this leaves the loss unchanged.
    """
    w = jnp.asarray(w)
    return _output_basis(w, metric).T @ w


def slice_rows(
    fn: Callable, w: Float[ArrayLike, "2 d0"], r1: Float[ArrayLike, " a"], r2: Float[ArrayLike, " b"]
) -> jax.Array:
    """L over (r₁ w₁, r₂ w₂) for a two-row W = (w₁, w₂)ᵀ: grid (len r1, len r2) (WS Fig. 4 bottom)."""
    w = jnp.asarray(w)
    if w.ndim != 2 or w.shape[0] != 2:
        raise ValueError(f"w must have exactly 2 rows (output dimension 2), got shape {w.shape}")
    ra, rb = jnp.meshgrid(jnp.asarray(r1, w.dtype), jnp.asarray(r2, w.dtype), indexing="ij")
    return jax.lax.map(lambda ab: fn(w * ab[:, None]), jnp.stack([ra.ravel(), rb.ravel()], axis=1)).reshape(ra.shape)


# ----------------------------------------------------------------------------- theory
class FeatureCovariances(NamedTuple):
    """Feature-space covariances on the kept subspace ``basis`` (d_ϕ × k, orthonormal columns)."""

    shared: np.ndarray  # A_ϕ (k × k)
    total: np.ndarray  # Σ_ϕ (k × k)
    augmentation: np.ndarray  # C_ϕ = Σ_ϕ − A_ϕ (k × k)
    basis: np.ndarray  # d_ϕ × k
    mean: np.ndarray  # d_ϕ

    def problem(self) -> Problem:
        """The linear theory's :class:`~landscape.Problem` (A0 = A_ϕ, C = C_ϕ) in float64."""
        return Problem(data_cov=jnp.asarray(self.shared), aug_cov=jnp.asarray(self.augmentation))


def feature_covariances(phi_views: Float[npt.ArrayLike, "k n d"], *, rtol: float = 1e-6) -> FeatureCovariances:
    """A_ϕ, Σ_ϕ and C_ϕ from K ≥ 2 views ``phi_views`` of shape (K, n, d), computed in float64.

    Directions whose Σ_ϕ eigenvalue is below ``rtol`` × the largest are dropped
    (``basis`` spans the rest), so that Σ_ϕ is invertible.
    """
    f = np.asarray(phi_views, np.float64)
    if f.ndim != 3 or f.shape[0] < 2 or f.shape[1] < 2:
        raise ValueError(f"phi_views must have shape (K >= 2, n >= 2, d), got {f.shape}")
    k, n, _ = f.shape
    mean = f.mean(axis=(0, 1))
    fc = f - mean[None, None, :]
    total = np.einsum("vnd,vne->de", fc, fc) / (k * n)
    s = fc.sum(axis=0)
    cross = (np.einsum("nd,ne->de", s, s) - np.einsum("vnd,vne->de", fc, fc)) / (k * (k - 1) * n)
    cross = 0.5 * (cross + cross.T)
    vals, vecs = np.linalg.eigh(0.5 * (total + total.T))
    top = max(vals[-1], 0.0)
    keep = vals > rtol * top if top > 0 else np.zeros_like(vals, bool)
    basis = vecs[:, keep][:, ::-1]
    t = basis.T @ total @ basis
    a = basis.T @ cross @ basis
    return FeatureCovariances(a, t, t - a, basis, mean)


def signal_fractions(cov: FeatureCovariances) -> np.ndarray:
    """ρ_i: generalised eigenvalues of (A_ϕ, Σ_ϕ), descending — the fraction of each direction's variance two views share."""
    # The symmetric-definite pencil directly (no square root of Σ_ϕ), in float64 whatever JAX's precision.
    return np.sort(scipy.linalg.eigh(cov.shared, cov.total, eigvals_only=True))[::-1]


class Prediction(NamedTuple):
    """The linear theory's prediction for the last layer on frozen features."""

    signal_fractions: np.ndarray  # ρ_i, descending
    threshold: float  # 1 − β: ρ_i above it survive (without weight decay)
    rank: int  # min(#unstable directions of the origin, d1) (quadratic term, with γ)
    output_variances: np.ndarray  # exact-Gaussian eigenvalues of W Σ_ϕ Wᵀ at the minimum, descending (d1,)
    weights: np.ndarray  # exact-Gaussian minimiser in ϕ coordinates (d1 × d_ϕ)


def linear_prediction(
    cov: FeatureCovariances, out_dim: int, *, beta: float = 1.0, weight_decay: float = 0.0
) -> Prediction:
    """Predicted rank and output variances of the last layer for (β-)InfoNCE on these features.

    The rank counts the positive eigenvalues of βA_ϕ − (1−β)C_ϕ − γI, capped at
    ``out_dim``.  That count is the number of unstable directions of the origin,
    which is distribution-free: it decides complete collapse (rank 0) exactly.
    That every unstable direction is also kept at the minimum is exact for
    Gaussian features (the directions decouple); for other features the quartic
    term couples them and the minimum can keep fewer.  The output
    variances and the minimiser are those of the exact Gaussian population loss
    (γ = 0), :func:`~landscape.theory.exact_gaussian_infonce.exact_gaussian_minimum`.
    """
    if not 0 < beta <= 1:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    problem = cov.problem()
    land = effective_landscape(problem, "beta-infonce", beta=beta, weight_decay=weight_decay, form="derived")
    rank = int(predicted_rank(land, int(out_dim)))
    sol = exact_gaussian_minimum(problem, int(out_dim), beta=beta)
    w = np.asarray(sol.weights)
    out_var = np.sort(np.linalg.eigvalsh(w @ cov.total @ w.T))[::-1]
    return Prediction(signal_fractions(cov), 1.0 - beta, rank, np.clip(out_var, 0.0, None), w @ cov.basis.T)


def predicted_slice_1d(
    cov: FeatureCovariances,
    w: Float[npt.ArrayLike, "d1 d0"],
    scales: Float[npt.ArrayLike, " r"],
    *,
    beta: float = 1.0,
    n_negatives: int,
) -> np.ndarray:
    r"""L(a·W) of the exact Gaussian population loss on these features, plus β·log(n).

    An independent route to :func:`slice_1d`: it uses only (A_ϕ, C_ϕ) and the
    Gaussian formula.  The constant β·log n is the sample loss at W = 0 with n
    terms in each denominator (the mean-over-anchors InfoNCE of a batch of n).
    ``w`` is the trained last layer (d1 × d_ϕ) in ϕ coordinates.
    """
    problem = cov.problem()
    wk = jnp.asarray(np.asarray(w, np.float64) @ cov.basis)
    vals = [float(exact_gaussian_infonce(a * wk, problem, beta)) for a in np.asarray(scales, np.float64)]
    return np.asarray(vals) + beta * math.log(n_negatives)


def measured_collapse(
    w: Float[npt.ArrayLike, "d1 d0"], cov: FeatureCovariances, *, atol: float = 1e-2
) -> tuple[np.ndarray, int]:
    """(eigenvalues of the output covariance W Σ_ϕ Wᵀ, descending; how many exceed ``atol``).

    ``w`` is the last layer (d1 × d_ϕ).  The InfoNCE family keeps surviving
    output variances of order ½ (near-whitening), so an absolute ``atol`` of
    1e-2 separates surviving from collapsed directions.
    """
    wk = np.asarray(w, np.float64) @ cov.basis
    eig = np.clip(np.sort(np.linalg.eigvalsh(wk @ cov.total @ wk.T))[::-1], 0.0, None)
    return eig, int(np.sum(eig > atol))


def collapse_class(rank: int, out_dim: int, d_star: int | None = None) -> str:
    """``"none"`` (rank = d* = min(d1, d_ϕ)), ``"dimensional"`` (0 < rank < d*) or ``"complete"`` (rank 0)."""
    d = int(out_dim) if d_star is None else int(d_star)
    if rank <= 0:
        return "complete"
    return "none" if rank >= d else "dimensional"


_FIT_PROGRAMS: dict = {}  # compiled programs of fit_last_layer, shared by calls with the same loss and settings


def _fit_program(loss_fn: Callable, learning_rate: float, weight_decay: float):
    """The jitted ``(w0, views, keys) -> w`` of :func:`fit_last_layer` (the views an argument, so one program
    serves every network with features of the same shape)."""
    cache = (loss_fn, learning_rate, weight_decay)
    if cache in _FIT_PROGRAMS:
        return _FIT_PROGRAMS[cache]
    import optax

    opt = optax.adam(learning_rate)

    def run(w, f, keys):
        k = f.shape[0]

        def objective(w, v1, v2):
            z1, z2 = f[v1] @ w.T, f[v2] @ w.T
            return loss_fn(z1, z2) + weight_decay * jnp.sum(w * w)

        def body(carry, kk):
            w, st = carry
            v1 = jax.random.randint(kk, (), 0, k)
            v2 = (v1 + jax.random.randint(jax.random.fold_in(kk, 1), (), 1, k)) % k
            g = jax.grad(objective)(w, v1, v2)
            upd, st = opt.update(g, st)
            return (optax.apply_updates(w, upd), st), None

        return jax.lax.scan(body, (w, opt.init(w)), keys)[0][0]

    _FIT_PROGRAMS[cache] = jax.jit(run)
    return _FIT_PROGRAMS[cache]


def fit_last_layer(
    loss_fn: Callable,
    phi_views: Float[npt.ArrayLike, "k n d"],
    w0: Float[ArrayLike, "d1 d0"],
    *,
    steps: int = 2000,
    learning_rate: float = 1e-2,
    weight_decay: float = 0.0,
    key: jax.Array | None = None,
) -> np.ndarray:
    """Train only the last layer on frozen features (Adam, full batch) and return W (d1 × d_ϕ).

    Each step uses two distinct views, drawn at random from the K views in
    ``phi_views`` (K, n, d), so the augmentation is resampled as in training.
    This trains a sample loss with a fresh random draw per step, not an
    effective landscape, so it is not a route of
    :func:`landscape.dynamics.descent.descend` (whose field is deterministic; and
    ``nn`` sits beside ``dynamics`` in the layers, so it may not import it).
    """
    f = jnp.asarray(np.asarray(phi_views, np.float32))
    k = f.shape[0]
    if k < 2:
        raise ValueError(f"phi_views needs at least 2 views, got {k}")
    key = jax.random.PRNGKey(0) if key is None else key
    run = _fit_program(loss_fn, float(learning_rate), float(weight_decay))
    w = run(jnp.asarray(w0, jnp.float32), f, jax.random.split(key, steps))
    return np.asarray(w)


def layer_metrics(
    views: Outputs,
    clean: Outputs,
    labels: Int[npt.ArrayLike, " n"],
    *,
    train_fraction: float = 0.7,
    n_classes: int,
    ridge: float = 1e-3,
) -> dict:
    """Encoder (h) vs projector (z) metrics: AVF, effective rank and linear-probe accuracy.

    ``views`` holds two augmented views (arrays (2, n, ·)) and ``clean`` the
    outputs on the clean inputs of the same n samples with integer ``labels``.
    The probe (ridge least squares on one-hot targets) is fitted on the first
    ``train_fraction`` of the rows and scored on the rest.
    """
    y = np.asarray(labels)
    n = y.shape[0]
    cut = int(train_fraction * n)
    out = {}
    for name, field in (("encoder", "h"), ("projector", "z")):
        v = getattr(views, field)
        c = np.asarray(getattr(clean, field), np.float64)
        out[name] = {
            "avf": float(
                metrics.avf_samples(
                    jnp.asarray(np.asarray(v[0], np.float64)), jnp.asarray(np.asarray(v[1], np.float64))
                )
            ),
            "effective_rank": float(metrics.effective_rank(jnp.asarray(c))),
            "probe_accuracy": float(
                metrics.probe_accuracy(
                    jnp.asarray(c[:cut]),
                    jnp.asarray(y[:cut]),
                    jnp.asarray(c[cut:]),
                    jnp.asarray(y[cut:]),
                    n_classes=n_classes,
                    ridge=ridge,
                )
            ),
        }
    return out
