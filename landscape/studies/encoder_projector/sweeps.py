r"""Sweeps of the encoder/projector model: augmentation strength σ, and init scale × σ.

:func:`augmentation_sweep` reports, for each σ, the AVF, effective rank and
population ridge-probe R² of the encoder output (representation) and the
projector output (embedding), and principal angles between the projector's
kept/removed subspaces and the clean-data / augmentation subspaces in encoder
coordinates; :func:`init_scale_phase_diagram` maps AVF(enc) − AVF(proj) over
init scale × σ.  Both run their grid points one after another with
``lax.map`` under a single compilation: vmapping the long training loops made
XLA's multi-threaded CPU runtime hang in some of our runs (a known Eigen
thread-pool wedge; ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` avoids it
if you vmap such loops yourself).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics
from landscape.core.validation import as_square_matrix, check_psd
from landscape.studies.encoder_projector.closed_form import balanced_encoder_avf, closed_form
from landscape.studies.encoder_projector.geometry import LayerReport, layer_report, subspace_geometry
from landscape.studies.encoder_projector.model import (
    TwoLayerWeights,
    _positive_int,
    augmentation_problem,
    init_weights,
    spectral_loss,
)
from landscape.studies.encoder_projector.training import _gd_core, default_learning_rate

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

__all__ = ["SweepResult", "PhaseDiagram", "augmentation_sweep", "init_scale_phase_diagram"]


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


def _as_concrete_cov(m, field: str) -> np.ndarray:
    arr = as_square_matrix(m, field)
    check_psd(arr, field)
    return arr


def augmentation_sweep(
    signal_cov: Float[ArrayLike, "d d"],
    aug_shape_cov: Float[ArrayLike, "d d"],
    sigmas: Float[ArrayLike, " n_sigmas"],
    *,
    key: jax.Array | None = None,
    hidden: int | None = None,
    out_dim: int = 16,
    init_scale: float = 0.3,
    steps: int = 40_000,
    weight_decay: float = 0.0,
    target: Float[ArrayLike, " d"] | None = None,
    ridge: float = 1e-2,
    safeguard: bool = False,
) -> SweepResult:
    r"""Train (W1, W2) by gradient descent at every σ and report encoder vs projector.

    All σ share one init (``key``, default PRNGKey(0)); each uses the spec's step
    :func:`default_learning_rate`.  ``target`` defaults to the sum of the signal
    coordinates, β = Σ_s's range indicator (y = Σ_{i<10} s_i in the spec).  The
    closed-form optimum and the balanced-encoder AVF are reported beside the
    trained values.  Runs vmapped over σ under one ``jit``.

    >>> from landscape.studies.encoder_projector import overlap_config
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
        target = (
            (np.diag(s_np) > 0).astype(float)
            if np.allclose(s_np, np.diag(np.diag(s_np)))
            else u_data @ np.ones(u_data.shape[1])
        )
    target = np.asarray(target, float)
    if target.shape != (d,):
        raise ValueError(f"target must have shape ({d},), got {target.shape}")
    key = jax.random.PRNGKey(0) if key is None else key
    dtype = jnp.result_type(float)
    init = init_weights(key, d, hidden, out_dim, init_scale, dtype)
    out = _sweep_core(
        jnp.asarray(s_np, dtype),
        jnp.asarray(a_np, dtype),
        jnp.asarray(sig, dtype),
        init,
        jnp.asarray(target, dtype),
        jnp.asarray(u_data, dtype),
        jnp.asarray(u_aug, dtype),
        jnp.asarray(weight_decay, dtype),
        ridge=float(ridge),
        steps=_positive_int(steps, "steps"),
        out_dim=out_dim,
        k_clean=k_clean,
        safeguard=bool(safeguard),
    )
    return SweepResult(jnp.asarray(sig, dtype), *out)


@functools.partial(jax.jit, static_argnames=("ridge", "steps", "out_dim", "k_clean", "safeguard"))
def _sweep_core(
    s_j, a_j, sigmas, init, target, u_data, u_aug, weight_decay, *, ridge, steps, out_dim, k_clean, safeguard
):
    def one(sg):
        prob = augmentation_problem(s_j, a_j, sg)
        run = _gd_core(
            prob, init, default_learning_rate(prob), weight_decay, steps=steps, n_save=1, safeguard=safeguard
        )
        opt = closed_form(prob, out_dim)
        rep = layer_report(prob, run.weights, target=target, u_data=u_data, u_aug=u_aug, k_clean=k_clean, ridge=ridge)
        f = opt.product
        return (
            run.loss,
            opt.loss,
            metrics.avf_linear(f, prob.data_cov, prob.aug_cov),
            metrics.effective_rank(f @ prob.sigma @ f.T, covariance=True),
            balanced_encoder_avf(prob, out_dim),
            rep,
            run.diverged,
        )

    return jax.lax.map(one, sigmas)


def init_scale_phase_diagram(
    signal_cov: Float[ArrayLike, "d d"],
    aug_shape_cov: Float[ArrayLike, "d d"],
    sigmas: Float[ArrayLike, " n_sigmas"],
    init_scales: Float[ArrayLike, " n_scales"],
    *,
    key: jax.Array | None = None,
    hidden: int | None = None,
    out_dim: int = 16,
    steps: int = 40_000,
    weight_decay: float = 0.0,
) -> PhaseDiagram:
    r"""AVF(encoder) − AVF(projector) after ``steps`` of safeguarded gradient descent, over init scale × σ.

    The same random directions (``key``) are scaled by each init scale, so the
    grid isolates the scale.  ``loss_excess`` = L − L* (penalty excluded) flags
    runs that have not converged (a saddle plateau from a tiny init, spec check
    A4; see :meth:`PhaseDiagram.converged`), where the AVF gap describes the
    plateau rather than the optimum.  ``balanced_gap`` is the
    tiny-init closed-form prediction (σ only, broadcast over scales).

    >>> from landscape.studies.encoder_projector import overlap_config
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
    ae, ap, excess, bal, lstar = _phase_core(
        jnp.asarray(s_np, dtype),
        jnp.asarray(a_np, dtype),
        jnp.asarray(scales, dtype),
        jnp.asarray(sig, dtype),
        unit,
        jnp.asarray(weight_decay, dtype),
        steps=_positive_int(steps, "steps"),
        out_dim=out_dim,
    )
    return PhaseDiagram(jnp.asarray(scales, dtype), jnp.asarray(sig, dtype), ae, ap, ae - ap, excess, bal, lstar)


@functools.partial(jax.jit, static_argnames=("steps", "out_dim"))
def _phase_core(s_j, a_j, scales, sigmas, unit, weight_decay, *, steps, out_dim):
    def one(scale, sg):
        prob = augmentation_problem(s_j, a_j, sg)
        init = TwoLayerWeights(unit.encoder * scale, unit.projector * scale)
        run = _gd_core(prob, init, default_learning_rate(prob), weight_decay, steps=steps, n_save=1, safeguard=True)
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
