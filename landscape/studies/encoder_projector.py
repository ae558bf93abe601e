r"""Two-layer linear model: encoder W1 and projector W2 under the spectral contrastive loss.

The model of Cosentino et al.'s claim, in its linear form (spec §I.4).  Inputs
are x = s + ε with clean signal s ~ N(0, Σ_s) and augmentation noise
ε ~ N(0, σ²Σ_a), drawn independently for each view; as a
:class:`~landscape.Problem`, ``data_cov`` = Σ_s and ``aug_cov`` = σ²Σ_a, and
Σ_x = Σ_s + σ²Σ_a.  The representation is h = W1 x (W1: h×D, the *encoder*)
and the embedding z = W2 h (W2: p×h, the *projector*).  With P = W2 W1 the
population spectral contrastive loss is

    L(P) = −2 tr(P Σ_s Pᵀ) + ‖P Σ_x Pᵀ‖²_F

(the effective landscape of ``"spectral"`` with k = 1), plus an optional weight
decay γ(‖W1‖²_F + ‖W2‖²_F).

**Closed form** (:func:`closed_form`).  Let ρ_1 ≥ ρ_2 ≥ … be the generalised
eigenvalues of (Σ_s, Σ_x), Σ_s v = ρ Σ_x v with vᵢᵀΣ_x vⱼ = δᵢⱼ; every ρ is in
[0, 1].  The optimum of rank ≤ r keeps the top r positive ones:

    P* = diag(√ρ_1, …, √ρ_r) [v_1 … v_r]ᵀ,    P*Σ_xP*ᵀ = diag(ρ),    L* = −Σ_{i≤r} ρ_i².

With commuting diagonal covariances ρ_i = s_i/(s_i + σ²a_i): directions where
signal and augmentation overlap are shrunk, so the embedding's effective rank
falls towards the number of clean signal directions.

**Dynamics.**  :func:`gradient_descent` (discrete steps, ``lax.scan``) and
:func:`gradient_flow` (diffrax, adaptive Runge–Kutta) train (W1, W2) from a
chosen init.  Without weight decay the imbalance W1W1ᵀ − W2ᵀW2 is conserved by
the flow; with weight decay γ it decays as e^{−4γt}.  The encoder's gradient
W2ᵀ∇_P L lies in the row space of W2, so directions that the projector removes
stop being trained in the encoder: from a large init the encoder keeps its
initial variance there (the "lazy" split of the claim).  From a tiny init the
flow stays balanced, W1ᵀW1 = (PᵀP)^{1/2}, and :func:`balanced_encoder_avf`
gives the encoder's invariance in closed form.

**Sweep.**  :func:`augmentation_sweep` reports, for each σ, the AVF, effective
rank and population ridge-probe R² of the encoder output (representation) and
the projector output (embedding), and principal angles between the projector's
kept/removed subspaces and the clean-data / augmentation subspaces in encoder
coordinates; :func:`init_scale_phase_diagram` maps AVF(enc) − AVF(proj) over
init scale × σ.  Both run their grid points one after another with
``lax.map`` under a single compilation: vmapping the long training loops made
XLA's multi-threaded CPU runtime hang in some of our runs (a known Eigen
thread-pool wedge; ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` avoids it
if you vmap such loops yourself).

Example:
    >>> import jax.numpy as jnp
    >>> from landscape.studies import encoder_projector as tl
    >>> sig_s, sig_a = tl.overlap_config()
    >>> opt = tl.closed_form(tl.augmentation_problem(sig_s, sig_a, 2.0), rank=16)
    >>> round(float(opt.loss), 4)
    -6.1449
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics
from landscape.core.problem import Problem

__all__ = [
    "TwoLayerWeights",
    "Optimum",
    "TwoLayerRun",
    "LayerReport",
    "SweepResult",
    "PhaseDiagram",
    "overlap_config",
    "augmentation_problem",
    "spectral_loss",
    "two_layer_loss",
    "closed_form",
    "balanced_factors",
    "balanced_encoder_avf",
    "init_weights",
    "default_learning_rate",
    "gradient_descent",
    "gradient_flow",
    "imbalance",
    "subspace_geometry",
    "layer_report",
    "augmentation_sweep",
    "init_scale_phase_diagram",
]


class TwoLayerWeights(NamedTuple):
    """Encoder W1 (h×D) and projector W2 (p×h); the product is P = W2 W1."""

    encoder: jax.Array
    projector: jax.Array

    @property
    def product(self) -> jax.Array:
        """P = W2 W1 (p×D)."""
        return self.projector @ self.encoder


class Optimum(NamedTuple):
    """Closed-form optimum of L(P) with rank ≤ r.

    Attributes:
        product: P* (r×D).
        rho: all generalised eigenvalues of (Σ_s, Σ_x), descending (D,).
        directions: the generalised eigenvectors as columns (D×D), Σ_x-orthonormal
            on the range of Σ_x (zero columns outside it), same order as ``rho``.
        kept: which ρ are kept (bool, D).
        loss: L* = −Σ_kept ρ².
    """

    product: jax.Array
    rho: jax.Array
    directions: jax.Array
    kept: jax.Array
    loss: jax.Array


class TwoLayerRun(NamedTuple):
    """Result of a training run of (W1, W2).

    Attributes:
        weights: final (W1, W2).
        loss: final loss (including weight decay).
        times: save times (flow time; for gradient descent, lr × step).
        trajectory_loss: loss at the save times.
        trajectory_imbalance: ‖W1W1ᵀ − W2ᵀW2‖_F at the save times.
        diverged: whether a non-finite value appeared.
    """

    weights: TwoLayerWeights
    loss: jax.Array
    times: jax.Array
    trajectory_loss: jax.Array
    trajectory_imbalance: jax.Array
    diverged: jax.Array


class LayerReport(NamedTuple):
    """Encoder-output vs projector-output metrics of one trained (W1, W2).

    AVF and effective rank are measured on augmented inputs (covariance Σ_x);
    the probe R² on clean inputs (covariance Σ_s).  Angles are in radians, the
    largest principal angle between the named subspaces in encoder coordinates:
    ``angle_removed_aug`` between the augmentation subspace W1·range(Σ_a) and the
    projector's removed subspace N_g; ``angle_kept_clean`` between the
    projector's kept subspace R_g and the clean data subspace (the part of
    W1·range(Σ_s) orthogonal to the augmentation subspace).  Both → 0 when the
    projector discards exactly the augmentation and keeps the clean tangent plane.
    """

    avf_encoder: jax.Array
    avf_projector: jax.Array
    gain_encoder: jax.Array
    gain_projector: jax.Array
    erank_encoder: jax.Array
    erank_projector: jax.Array
    r2_encoder: jax.Array
    r2_projector: jax.Array
    angle_removed_aug: jax.Array
    angle_kept_clean: jax.Array


class SweepResult(NamedTuple):
    """An augmentation-strength sweep: every field has a leading σ axis."""

    sigmas: jax.Array
    loss: jax.Array
    optimal_loss: jax.Array
    optimal_avf: jax.Array
    optimal_erank: jax.Array
    balanced_avf_encoder: jax.Array
    report: LayerReport
    diverged: jax.Array


class PhaseDiagram(NamedTuple):
    """AVF(enc) − AVF(proj) over (init scale, σ); arrays are (n_scales, n_sigmas).

    ``loss_excess`` is L(W2W1) − L* without the weight-decay penalty, and
    ``optimal_loss`` is L* (the no-decay closed form), so a run is on a plateau
    (or far from any optimum) when the excess is a sizeable fraction of |L*|.
    """

    init_scales: jax.Array
    sigmas: jax.Array
    avf_encoder: jax.Array
    avf_projector: jax.Array
    gap: jax.Array
    loss_excess: jax.Array
    balanced_gap: jax.Array
    optimal_loss: jax.Array

    def converged(self, rel: float = 0.05) -> jax.Array:
        """Runs whose loss is within ``rel``·|L*| of the optimum (bool grid)."""
        return self.loss_excess <= rel * jnp.abs(self.optimal_loss)


# ----------------------------------------------------------------------------- problem
def overlap_config(dim: int = 32, n_signal: int = 10, signal_range: tuple[float, float] = (3.0, 0.5),
                   aug_start: int = 6, aug_stop: int = 22) -> tuple[np.ndarray, np.ndarray]:
    r"""(Σ_s, Σ_a) of the Cosentino spec's configuration (§I.4), as diagonal NumPy matrices.

    Σ_s has variances linspace(3, 0.5, 10) on coordinates 0–9; Σ_a is the
    identity on coordinates 6–21, overlapping the 4 weakest signal coordinates;
    coordinates 22–31 carry nothing.  6 signal directions are free of
    augmentation.

    >>> s, a = overlap_config()
    >>> s.shape, float(np.trace(s)), float(np.trace(a))
    ((32, 32), 17.5, 16.0)
    """
    if not (0 < n_signal <= dim and 0 <= aug_start < aug_stop <= dim):
        raise ValueError(f"need 0 < n_signal <= dim and 0 <= aug_start < aug_stop <= dim, got "
                         f"dim={dim}, n_signal={n_signal}, aug_start={aug_start}, aug_stop={aug_stop}")
    s = np.zeros(dim)
    s[:n_signal] = np.linspace(signal_range[0], signal_range[1], n_signal)
    a = np.zeros(dim)
    a[aug_start:aug_stop] = 1.0
    return np.diag(s), np.diag(a)


def augmentation_problem(signal_cov, aug_shape_cov, sigma) -> Problem:
    r"""The :class:`~landscape.Problem` with A0 = Σ_s and C = σ²Σ_a (traceable in σ, no validation).

    >>> import jax.numpy as jnp
    >>> p = augmentation_problem(jnp.eye(2), jnp.diag(jnp.array([0.0, 1.0])), 2.0)
    >>> p.sigma.diagonal().tolist()
    [1.0, 5.0]
    """
    s = jnp.asarray(signal_cov)
    a = jnp.asarray(aug_shape_cov, s.dtype)
    sig = jnp.asarray(sigma, s.dtype)
    return Problem(s, sig * sig * a)


def spectral_loss(problem: Problem, product) -> jax.Array:
    r"""L(P) = −2 tr(P Σ_s Pᵀ) + ‖P Σ_x Pᵀ‖²_F for any p×D product P.

    >>> import jax.numpy as jnp
    >>> p = augmentation_problem(jnp.eye(1), jnp.zeros((1, 1)), 0.0)
    >>> float(spectral_loss(p, jnp.eye(1)))          # −2 + 1
    -1.0
    """
    s_out = product @ problem.sigma @ product.T
    return -2.0 * jnp.sum((product @ problem.data_cov) * product) + jnp.sum(s_out * s_out)


def two_layer_loss(problem: Problem, weights: TwoLayerWeights, weight_decay: Any = 0.0) -> jax.Array:
    """L(W2 W1) + γ(‖W1‖²_F + ‖W2‖²_F)."""
    w1, w2 = weights
    reg = jnp.sum(w1 * w1) + jnp.sum(w2 * w2)
    return spectral_loss(problem, w2 @ w1) + jnp.asarray(weight_decay, w1.dtype) * reg


def _pinv_sqrt(sigma: jax.Array, rtol: float | None = None) -> jax.Array:
    """Σ^{-1/2} on the range of Σ (eigenvalues below rtol·λ_max are treated as zero)."""
    vals, vecs = jnp.linalg.eigh(0.5 * (sigma + sigma.T))
    if rtol is None:
        rtol = float(jnp.finfo(vals.dtype).eps) * sigma.shape[0]
    keep = vals > rtol * jnp.max(vals)
    inv = jnp.where(keep, 1.0 / jnp.sqrt(jnp.where(keep, vals, 1.0)), 0.0)
    return (vecs * inv[None, :]) @ vecs.T


# ----------------------------------------------------------------------------- closed form
def closed_form(problem: Problem, rank: int) -> Optimum:
    r"""The optimum of L(P) over p×D products of rank ≤ ``rank`` (generalised eigenproblem of (Σ_s, Σ_x)).

    Σ_x may be singular (directions with neither signal nor augmentation): they
    get ρ = 0.  ``rank`` is static.  Ties at the cut make P* non-unique, not L*.

    >>> import jax.numpy as jnp
    >>> p = augmentation_problem(jnp.diag(jnp.array([2.0, 1.0])), jnp.diag(jnp.array([0.0, 1.0])), 1.0)
    >>> opt = closed_form(p, rank=2)
    >>> [round(float(r), 6) for r in opt.rho], round(float(opt.loss), 6)     # ρ = s/(s + σ²a)
    ([1.0, 0.5], -1.25)
    """
    rank = int(rank)
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    inv_sqrt = _pinv_sqrt(problem.sigma)
    t = inv_sqrt @ problem.data_cov @ inv_sqrt
    rho, u = jnp.linalg.eigh(0.5 * (t + t.T))
    rho, u = jnp.clip(rho[::-1], 0.0, 1.0), u[:, ::-1]
    v = inv_sqrt @ u
    d = rho.shape[0]
    kept = (jnp.arange(d) < rank) & (rho > 0)
    r = min(rank, d)
    scale = jnp.sqrt(jnp.where(kept, rho, 0.0))[:r]
    product = scale[:, None] * v[:, :r].T
    if rank > d:
        product = jnp.concatenate([product, jnp.zeros((rank - d, d), product.dtype)], axis=0)
    loss = -jnp.sum(jnp.where(kept, rho, 0.0) ** 2)
    return Optimum(product=product, rho=rho, directions=v, kept=kept, loss=loss)


def balanced_factors(product, hidden: int) -> TwoLayerWeights:
    r"""A balanced factorisation P = W2 W1 with W1W1ᵀ = W2ᵀW2 and hidden width ``hidden``.

    With the SVD P = U S Vᵀ: W1 = S^{1/2}Vᵀ and W2 = U S^{1/2}, zero-padded (or
    truncated, keeping the largest singular values) to ``hidden`` rows/columns.
    This is where gradient flow from a vanishing init ends.

    >>> import jax.numpy as jnp
    >>> f = balanced_factors(jnp.array([[4.0, 0.0]]), hidden=2)
    >>> f.encoder.tolist(), f.projector.tolist()
    ([[2.0, 0.0], [0.0, 0.0]], [[2.0, 0.0]])
    """
    p = jnp.asarray(product)
    u, s, vt = jnp.linalg.svd(p, full_matrices=False)
    k = s.shape[0]
    root = jnp.sqrt(s)
    w1 = root[:, None] * vt
    w2 = u * root[None, :]
    if hidden >= k:
        w1 = jnp.concatenate([w1, jnp.zeros((hidden - k, w1.shape[1]), w1.dtype)], axis=0)
        w2 = jnp.concatenate([w2, jnp.zeros((w2.shape[0], hidden - k), w2.dtype)], axis=1)
    else:
        w1, w2 = w1[:hidden], w2[:, :hidden]
    return TwoLayerWeights(w1, w2)


def balanced_encoder_avf(problem: Problem, rank: int) -> jax.Array:
    r"""AVF of the encoder of the balanced factorisation of the optimum (the tiny-init limit).

    Balanced weights have W1ᵀW1 = (P*ᵀP*)^{1/2}, so

        AVF(enc) = tr((P*ᵀP*)^{1/2} C) / tr((P*ᵀP*)^{1/2} Σ_x),

    while AVF(proj) = tr(P*ᵀP* C) / tr(P*ᵀP* Σ_x).  The square root gives weak
    (overlapping) directions relatively more weight in the encoder, so even a
    balanced encoder is less invariant than its projector once σ is large
    enough, and more invariant below a crossover σ.

    >>> import jax.numpy as jnp
    >>> s, a = overlap_config()
    >>> round(float(balanced_encoder_avf(augmentation_problem(s, a, 4.0), 16)), 4)
    0.2771
    """
    opt = closed_form(problem, rank)
    u, sv, vt = jnp.linalg.svd(opt.product, full_matrices=False)
    root = (vt.T * sv[None, :]) @ vt                    # (PᵀP)^{1/2}
    num = jnp.sum(root * problem.aug_cov)
    den = jnp.sum(root * problem.sigma)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


# ----------------------------------------------------------------------------- training
def init_weights(key: jax.Array, dim: int, hidden: int, out_dim: int, scale: Any = 0.3,
                 dtype=None) -> TwoLayerWeights:
    r"""Random (W1, W2) with entries N(0, scale²/fan_in): W1 is hidden×dim, W2 out_dim×hidden.

    ``scale`` may be traced (for a vmap over init scales).

    >>> import jax
    >>> w = init_weights(jax.random.PRNGKey(0), 4, 3, 2)
    >>> w.encoder.shape, w.projector.shape
    ((3, 4), (2, 3))
    """
    for name, v in (("dim", dim), ("hidden", hidden), ("out_dim", out_dim)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    dtype = dtype or jnp.result_type(float)
    k1, k2 = jax.random.split(key)
    sc = jnp.asarray(scale, dtype)
    w1 = jax.random.normal(k1, (hidden, dim), dtype) * (sc / np.sqrt(dim))
    w2 = jax.random.normal(k2, (out_dim, hidden), dtype) * (sc / np.sqrt(hidden))
    return TwoLayerWeights(w1, w2)


def default_learning_rate(problem: Problem, base: float = 0.02) -> jax.Array:
    r"""The spec's step size: base / max(1, λ_max(Σ_x)/3)² (traceable).

    The curvature of the quartic term grows like λ_max(Σ_x)², hence the square.

    >>> import jax.numpy as jnp
    >>> float(default_learning_rate(augmentation_problem(jnp.eye(1) * 3.0, jnp.eye(1), 3.0)))   # λ = 12
    0.00125
    """
    lam = jnp.max(jnp.linalg.eigvalsh(problem.sigma))
    return base / jnp.maximum(1.0, lam / 3.0) ** 2


def imbalance(weights: TwoLayerWeights) -> jax.Array:
    r"""‖W1W1ᵀ − W2ᵀW2‖_F: conserved by the flow without weight decay, e^{−4γt} with it."""
    w1, w2 = weights
    return jnp.linalg.norm(w1 @ w1.T - w2.T @ w2)


def _check_init(problem: Problem, init: TwoLayerWeights) -> TwoLayerWeights:
    w1, w2 = (jnp.asarray(init[0]), jnp.asarray(init[1]))
    if w1.ndim != 2 or w2.ndim != 2 or w1.shape[1] != problem.dim or w2.shape[1] != w1.shape[0]:
        raise ValueError(f"init must be (encoder h×{problem.dim}, projector p×h), got shapes "
                         f"{tuple(w1.shape)} and {tuple(w2.shape)}")
    return TwoLayerWeights(w1, w2)


def _positive_int(v, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
        raise ValueError(f"{field} must be a positive integer, got {v!r}")
    return int(v)


def gradient_descent(problem: Problem, init: TwoLayerWeights, *, lr: Any = None, steps: int = 20_000,
                     weight_decay: Any = 0.0, n_save: int = 100, safeguard: bool = False) -> TwoLayerRun:
    r"""Plain gradient descent on (W1, W2) for ``steps`` steps of size ``lr`` (a discretised flow).

    ``lr=None`` uses :func:`default_learning_rate`.  ``safeguard=True`` rejects a
    step that does not lower the loss and halves the step (then lets it grow
    back by 10% per accepted step, up to ``lr``); an increase within a few
    machine epsilons counts as rounding and is accepted.  Use it for large
    inits whose curvature exceeds the default step.  The saved times are the cumulative
    step sizes, i.e. flow time.  ``steps`` and ``n_save`` are static; ``lr``,
    ``weight_decay`` and the problem may be traced (vmap over σ or γ).

    >>> import jax
    >>> s, a = overlap_config(dim=4, n_signal=2, aug_start=1, aug_stop=3)
    >>> p = augmentation_problem(s, a, 1.0)
    >>> run = gradient_descent(p, init_weights(jax.random.PRNGKey(0), 4, 4, 2), steps=4000)
    >>> round(float(run.loss), 4), round(float(closed_form(p, 2).loss), 4)   # −(1² + (1/3)²)
    (-1.1111, -1.1111)
    """
    init = _check_init(problem, init)
    steps = _positive_int(steps, "steps")
    n_save = min(_positive_int(n_save, "n_save"), steps)
    dtype = init.encoder.dtype
    lr0 = default_learning_rate(problem) if lr is None else jnp.asarray(lr, dtype)
    if not isinstance(lr0, jax.core.Tracer) and not float(lr0) > 0:
        raise ValueError(f"lr must be > 0, got {float(lr0)}")
    return _gd_core(problem, init, jnp.asarray(lr0, dtype), jnp.asarray(weight_decay, dtype),
                    steps=steps, n_save=n_save, safeguard=bool(safeguard))


@functools.partial(jax.jit, static_argnames=("steps", "n_save", "safeguard"))
def _gd_core(problem, init, lr0, weight_decay, *, steps, n_save, safeguard):
    dtype = init.encoder.dtype
    value_and_grad = jax.value_and_grad(lambda w: two_layer_loss(problem, w, weight_decay))

    def step(carry, _):
        w, f, eta, t = carry
        f_now, g = value_and_grad(w)
        new = jax.tree_util.tree_map(lambda x, gx: x - eta * gx, w, g)
        if not safeguard:
            return (new, f_now, eta, t + eta), None
        f_new = two_layer_loss(problem, new, weight_decay)
        slack = 16.0 * jnp.finfo(dtype).eps * jnp.maximum(1.0, jnp.abs(f_now))   # rounding, not ascent
        ok = jnp.isfinite(f_new) & (f_new <= f_now + slack)
        w = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, w)
        t = jnp.where(ok, t + eta, t)
        eta = jnp.where(ok, jnp.minimum(eta * 1.1, lr0), 0.5 * eta)
        return (w, jnp.where(ok, f_new, f_now), eta, t), None

    chunk, rest = divmod(steps, n_save)
    zero = jnp.zeros((), dtype)
    carry = (init, two_layer_loss(problem, init, weight_decay), lr0, zero)
    if rest:
        carry, _ = jax.lax.scan(step, carry, None, length=rest)

    def save(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=chunk)
        w = carry[0]
        return carry, (carry[3], two_layer_loss(problem, w, weight_decay), imbalance(w))

    carry, (times, losses, imb) = jax.lax.scan(save, carry, None, length=n_save)
    w = carry[0]
    final = two_layer_loss(problem, w, weight_decay)
    diverged = ~(jnp.isfinite(final) & jnp.all(jnp.isfinite(losses)))
    return TwoLayerRun(weights=w, loss=final, times=times, trajectory_loss=losses,
                       trajectory_imbalance=imb, diverged=diverged)


def gradient_flow(problem: Problem, init: TwoLayerWeights, *, t1: Any, weight_decay: Any = 0.0,
                  n_save: int = 50, rtol: float = 1e-7, atol: float = 1e-10,
                  max_steps: int = 200_000) -> TwoLayerRun:
    r"""Gradient flow d(W1, W2)/dt = −∇[L(W2W1) + γ(‖W1‖² + ‖W2‖²)] on [0, t1] (diffrax Tsit5 + PID).

    Tolerances below what the dtype can honour are raised to rtol ≥ 64·ε and
    atol ≥ 1e-12.  The flow is stiff when λ_max(Σ_x) is large; the adaptive
    controller takes steps of about 1/curvature.  Non-finite results are
    flagged in ``diverged`` (no exception under ``jit``).

    >>> import jax
    >>> s, a = overlap_config(dim=4, n_signal=2, aug_start=1, aug_stop=3)
    >>> p = augmentation_problem(s, a, 1.0)
    >>> run = gradient_flow(p, init_weights(jax.random.PRNGKey(0), 4, 4, 2), t1=60.0)
    >>> round(float(run.loss), 4)
    -1.1111
    """
    init = _check_init(problem, init)
    n_save = _positive_int(n_save, "n_save")
    dtype = init.encoder.dtype
    eps = float(jnp.finfo(dtype).eps)
    rtol = max(float(rtol), 64 * eps)
    atol = max(float(atol), 1e-12)
    return _flow_core(problem, init, jnp.asarray(t1, dtype), jnp.asarray(weight_decay, dtype),
                      n_save=n_save, rtol=rtol, atol=atol, max_steps=int(max_steps))


def _flow_field(t, w, args):
    problem, weight_decay = args
    del t
    g = jax.grad(lambda ww: two_layer_loss(problem, ww, weight_decay))(w)
    return jax.tree_util.tree_map(jnp.negative, g)


@functools.partial(jax.jit, static_argnames=("n_save", "rtol", "atol", "max_steps"))
def _flow_core(problem, init, t1, weight_decay, *, n_save, rtol, atol, max_steps):
    dtype = init.encoder.dtype
    ts = jnp.linspace(0.0, 1.0, n_save, dtype=dtype) * t1
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_flow_field), diffrax.Tsit5(), jnp.zeros((), dtype), t1, None, init,
        args=(problem, weight_decay),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(ts=ts), max_steps=max_steps, throw=False,
    )
    traj = TwoLayerWeights(*sol.ys)
    losses = jax.vmap(lambda w: two_layer_loss(problem, w, weight_decay))(traj)
    imb = jax.vmap(imbalance)(traj)
    w = TwoLayerWeights(traj.encoder[-1], traj.projector[-1])
    final = losses[-1]
    ok = (sol.result == diffrax.RESULTS.successful) & jnp.isfinite(final)
    return TwoLayerRun(weights=w, loss=final, times=ts, trajectory_loss=losses,
                       trajectory_imbalance=imb, diverged=~ok)


# ----------------------------------------------------------------------------- reports
def subspace_geometry(signal_cov, aug_shape_cov, rtol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, int]:
    r"""(U_data, U_aug, k_clean) in input coordinates, from concrete covariances.

    U_data and U_aug are orthonormal bases of range(Σ_s) and range(Σ_a); k_clean
    is the dimension of the clean data subspace, the part of range(Σ_s) orthogonal
    to range(Σ_a) (6 in :func:`overlap_config`).

    >>> s, a = overlap_config()
    >>> ud, ua, k = subspace_geometry(s, a)
    >>> ud.shape, ua.shape, k
    ((32, 10), (32, 16), 6)
    """
    def rng(m):
        vals, vecs = np.linalg.eigh(0.5 * (m + m.T))
        keep = vals > rtol * max(float(vals.max()), 1e-300)
        return vecs[:, keep][:, ::-1]

    ud = rng(np.asarray(signal_cov, float))
    ua = rng(np.asarray(aug_shape_cov, float))
    resid = ud - ua @ (ua.T @ ud)
    sv = np.linalg.svd(resid, compute_uv=False)
    k_clean = int(np.sum(sv > 1e-6 * max(1.0, float(sv.max()) if sv.size else 1.0)))
    return ud, ua, k_clean


def layer_report(problem: Problem, weights: TwoLayerWeights, *, target, u_data, u_aug, k_clean: int,
                 ridge: float = 1e-2) -> LayerReport:
    r"""Encoder vs projector metrics of (W1, W2) on ``problem`` (see :class:`LayerReport`).

    ``target`` is β of the downstream target y = βᵀs (clean signal);
    ``u_data``, ``u_aug``, ``k_clean`` come from :func:`subspace_geometry`
    (concrete, so that subspace dimensions are static).  The ridge probe uses
    λ = ridge·tr(K)/dim (relative), fitted on the population of clean inputs.
    Requires h ≥ k_clean + dim(range Σ_a) for the removed-subspace angles to be
    meaningful.
    """
    w1, w2 = weights
    p = w2 @ w1
    a0, c, sx = problem.data_cov, problem.aug_cov, problem.sigma
    beta = jnp.asarray(target, w1.dtype)

    def r2(f):
        return metrics.population_probe_r2(f @ a0 @ f.T, f @ (a0 @ beta), beta @ a0 @ beta, ridge=ridge)

    def erank(f):
        return metrics.effective_rank(f @ sx @ f.T, covariance=True)

    t_aug = w1 @ jnp.asarray(u_aug, w1.dtype)
    q_aug = metrics.orthonormal_basis(t_aug)
    t_data = w1 @ jnp.asarray(u_data, w1.dtype)
    clean = t_data - q_aug @ (q_aug.T @ t_data)
    uc, _, _ = jnp.linalg.svd(clean, full_matrices=False)
    t_clean = uc[:, :k_clean]
    kept, removed = metrics.kept_removed_subspaces(w2, k_clean)
    ang_removed = jnp.max(metrics.principal_angles(removed, t_aug))
    ang_kept = jnp.max(metrics.principal_angles(kept, t_clean))
    return LayerReport(
        avf_encoder=metrics.avf_linear(w1, a0, c),
        avf_projector=metrics.avf_linear(p, a0, c),
        gain_encoder=metrics.invariance_gain_linear(w1, a0, c),
        gain_projector=metrics.invariance_gain_linear(p, a0, c),
        erank_encoder=erank(w1),
        erank_projector=erank(p),
        r2_encoder=r2(w1),
        r2_projector=r2(p),
        angle_removed_aug=ang_removed,
        angle_kept_clean=ang_kept,
    )


def _as_concrete_cov(m, field: str) -> np.ndarray:
    from landscape.core.validation import as_square_matrix, check_psd

    arr = as_square_matrix(m, field)
    check_psd(arr, field)
    return arr


def augmentation_sweep(signal_cov, aug_shape_cov, sigmas, *, key: jax.Array | None = None,
                       hidden: int | None = None, out_dim: int = 16, init_scale: float = 0.3,
                       steps: int = 40_000, weight_decay: float = 0.0, target=None,
                       ridge: float = 1e-2, safeguard: bool = False) -> SweepResult:
    r"""Train (W1, W2) by gradient descent at every σ and report encoder vs projector.

    All σ share one init (``key``, default PRNGKey(0)); each uses the spec's step
    :func:`default_learning_rate`.  ``target`` defaults to the sum of the signal
    coordinates, β = Σ_s's range indicator (y = Σ_{i<10} s_i in the spec).  The
    closed-form optimum and the balanced-encoder AVF are reported beside the
    trained values.  Runs vmapped over σ under one ``jit``.

    >>> s, a = overlap_config(dim=6, n_signal=3, aug_start=2, aug_stop=5)
    >>> res = augmentation_sweep(s, a, [1.0, 3.0], hidden=6, out_dim=4, steps=3000)
    >>> bool(res.report.avf_encoder[1] > res.report.avf_projector[1])
    True
    """
    s_np = _as_concrete_cov(signal_cov, "signal_cov")
    a_np = _as_concrete_cov(aug_shape_cov, "aug_shape_cov")
    if s_np.shape != a_np.shape:
        raise ValueError(f"signal_cov and aug_shape_cov must have the same shape, got {s_np.shape} and {a_np.shape}")
    sig = np.atleast_1d(np.asarray(sigmas, float))
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig < 0):
        raise ValueError(f"sigmas must be a non-empty list of finite values >= 0, got {sigmas!r}")
    d = s_np.shape[0]
    hidden = d if hidden is None else _positive_int(hidden, "hidden")
    out_dim = _positive_int(out_dim, "out_dim")
    u_data, u_aug, k_clean = subspace_geometry(s_np, a_np)
    if target is None:
        target = (np.diag(s_np) > 0).astype(float) if np.allclose(s_np, np.diag(np.diag(s_np))) \
            else u_data @ np.ones(u_data.shape[1])
    target = np.asarray(target, float)
    if target.shape != (d,):
        raise ValueError(f"target must have shape ({d},), got {target.shape}")
    key = jax.random.PRNGKey(0) if key is None else key
    dtype = jnp.result_type(float)
    init = init_weights(key, d, hidden, out_dim, init_scale, dtype)
    out = _sweep_core(jnp.asarray(s_np, dtype), jnp.asarray(a_np, dtype), jnp.asarray(sig, dtype), init,
                      jnp.asarray(target, dtype), jnp.asarray(u_data, dtype), jnp.asarray(u_aug, dtype),
                      jnp.asarray(weight_decay, dtype), ridge=float(ridge),
                      steps=_positive_int(steps, "steps"), out_dim=out_dim, k_clean=k_clean,
                      safeguard=bool(safeguard))
    return SweepResult(jnp.asarray(sig, dtype), *out)


@functools.partial(jax.jit, static_argnames=("ridge", "steps", "out_dim", "k_clean", "safeguard"))
def _sweep_core(s_j, a_j, sigmas, init, target, u_data, u_aug, weight_decay, *, ridge, steps, out_dim,
                k_clean, safeguard):
    def one(sg):
        prob = augmentation_problem(s_j, a_j, sg)
        run = _gd_core(prob, init, default_learning_rate(prob), weight_decay, steps=steps, n_save=1,
                       safeguard=safeguard)
        opt = closed_form(prob, out_dim)
        rep = layer_report(prob, run.weights, target=target, u_data=u_data, u_aug=u_aug,
                           k_clean=k_clean, ridge=ridge)
        f = opt.product
        return (run.loss, opt.loss, metrics.avf_linear(f, prob.data_cov, prob.aug_cov),
                metrics.effective_rank(f @ prob.sigma @ f.T, covariance=True),
                balanced_encoder_avf(prob, out_dim), rep, run.diverged)

    return jax.lax.map(one, sigmas)


def init_scale_phase_diagram(signal_cov, aug_shape_cov, sigmas, init_scales, *, key: jax.Array | None = None,
                             hidden: int | None = None, out_dim: int = 16, steps: int = 40_000,
                             weight_decay: float = 0.0) -> PhaseDiagram:
    r"""AVF(encoder) − AVF(projector) after ``steps`` of safeguarded gradient descent, over init scale × σ.

    The same random directions (``key``) are scaled by each init scale, so the
    grid isolates the scale.  ``loss_excess`` = L − L* (penalty excluded) flags
    runs that have not converged (a saddle plateau from a tiny init, spec check
    A4; see :meth:`PhaseDiagram.converged`), where the AVF gap describes the
    plateau rather than the optimum.  ``balanced_gap`` is the
    tiny-init closed-form prediction (σ only, broadcast over scales).

    >>> s, a = overlap_config(dim=6, n_signal=3, aug_start=2, aug_stop=5)
    >>> pd = init_scale_phase_diagram(s, a, [2.0], [0.3], hidden=6, out_dim=4, steps=2000)
    >>> pd.gap.shape
    (1, 1)
    """
    s_np = _as_concrete_cov(signal_cov, "signal_cov")
    a_np = _as_concrete_cov(aug_shape_cov, "aug_shape_cov")
    sig = np.atleast_1d(np.asarray(sigmas, float))
    scales = np.atleast_1d(np.asarray(init_scales, float))
    if sig.size == 0 or np.any(~np.isfinite(sig)) or np.any(sig < 0):
        raise ValueError(f"sigmas must be finite values >= 0, got {sigmas!r}")
    if scales.size == 0 or np.any(~np.isfinite(scales)) or np.any(scales <= 0):
        raise ValueError(f"init_scales must be finite values > 0, got {init_scales!r}")
    d = s_np.shape[0]
    hidden = d if hidden is None else _positive_int(hidden, "hidden")
    key = jax.random.PRNGKey(0) if key is None else key
    dtype = jnp.result_type(float)
    out_dim = _positive_int(out_dim, "out_dim")
    unit = init_weights(key, d, hidden, out_dim, 1.0, dtype)
    ae, ap, excess, bal, lstar = _phase_core(jnp.asarray(s_np, dtype), jnp.asarray(a_np, dtype), jnp.asarray(scales, dtype),
                                      jnp.asarray(sig, dtype), unit, jnp.asarray(weight_decay, dtype),
                                      steps=_positive_int(steps, "steps"), out_dim=out_dim)
    return PhaseDiagram(jnp.asarray(scales, dtype), jnp.asarray(sig, dtype), ae, ap, ae - ap, excess, bal, lstar)


@functools.partial(jax.jit, static_argnames=("steps", "out_dim"))
def _phase_core(s_j, a_j, scales, sigmas, unit, weight_decay, *, steps, out_dim):
    def one(scale, sg):
        prob = augmentation_problem(s_j, a_j, sg)
        init = TwoLayerWeights(unit.encoder * scale, unit.projector * scale)
        run = _gd_core(prob, init, default_learning_rate(prob), weight_decay, steps=steps, n_save=1,
                       safeguard=True)
        p = run.weights.product
        ae = metrics.avf_linear(run.weights.encoder, prob.data_cov, prob.aug_cov)
        ap = metrics.avf_linear(p, prob.data_cov, prob.aug_cov)
        opt = closed_form(prob, out_dim)
        bal = balanced_encoder_avf(prob, out_dim) - metrics.avf_linear(opt.product, prob.data_cov, prob.aug_cov)
        return ae, ap, spectral_loss(prob, p) - opt.loss, bal, opt.loss

    # Sequential over the grid (lax.map): vmapping these long loops has wedged XLA's CPU
    # thread pool in our runs (see the module notes), and the map costs one compilation too.
    ns, nk = scales.shape[0], sigmas.shape[0]
    flat_scale = jnp.repeat(scales, nk)
    flat_sigma = jnp.tile(sigmas, ns)
    out = jax.lax.map(lambda pair: one(*pair), (flat_scale, flat_sigma))
    return tuple(v.reshape(ns, nk) for v in out)
