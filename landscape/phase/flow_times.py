r"""Gradient flow at one grid point, with its time outputs: escape, plateau, order of learning, collapse, loss curve.

``method="flow"`` of :func:`landscape.phase.phase_scan` integrates dW/dt = −∇L(W)
from W₀ with :func:`~landscape.dynamics.batched_flow.batched_gradient_flow`
(Dormand–Prince 5(4), adaptive steps of its own at every point, events located
on the step's Hermite interpolant, divergence reported per point).  Under the
scan engine each point keeps its own step: one point per loop iteration on CPU,
a masked batch on accelerators (:func:`landscape.scan.execute.batching_mode`).

With θ = :attr:`~landscape.phase.FlowSettings.threshold`, λ_1 ≥ … ≥ λ_d0 the
eigenvalues of WᵀW and T the end time (``t1``, or the last save time), the
outputs are

* ``escape_time[k]``: the first time λ_k rises to θ, for λ_k(0) ≤ θ (the k-th
  step of stepwise learning); ``inf`` if not by T, or if λ_k(0) > θ;
* ``collapse_time[k]``: the first time λ_k falls to θ, for λ_k(0) > θ (a
  direction dying from a large initialization); ``inf`` otherwise;
* ``plateau_length``: the time spent near the origin, with every λ_k < θ,
  before the first escape: ``escape_time[0]``, 0 if λ_1(0) > θ, ``inf`` if no
  direction escapes by T.  The later plateaus are the gaps of ``escape_time``;
* ``b_eigenvalues[i]``: m_i, the eigenvalues of B − γI, descending (v_i their
  eigenvectors, the *directions*);

and, with save times (:attr:`~landscape.phase.FlowSettings.times`, dimension ``time``),

* ``loss_curve[j]``, ``gram_curve[j, k]``: L(W) and λ_k at save time t_j;
* ``n_learned[j]``: #{k : λ_k(t_j) > θ}, the directions learned by t_j;
* ``direction_escape_time[i]``: the first time g_i(t) = v_iᵀWᵀWv_i rises to θ
  (``inf`` if not by T, or if g_i(0) ≥ θ), located between the two save times
  that bracket it by interpolating ln g_i linearly, which is exact in the
  exponential phase g_i ∝ e^{4m_i t} of a small initialization (the flow
  starts with a save at t = 0 for this, not returned unless asked for);
* ``learning_order[k]``: the index i of the direction learned k-th (by
  ``direction_escape_time``), −1 past the number learned.  Stepwise learning
  in the order of m reads 0, 1, 2, …

``inf`` in these outputs means "not reached" and does not mark the point as
non-finite (:func:`landscape.scan.scan`'s ``open_ended``).

The outputs are checked against the closed-form escape and collapse times of
:mod:`landscape.theory.escape_times` in ``tests/test_scan_flow_times.py``; the
example below is the save-time crossing (a flow compiles for seconds, too long
for a doctest).

Example (e^t and ½e^t reach 2 at ln 2 and ln 4; 0.1·e^t not by t = 2):
    >>> import jax.numpy as jnp
    >>> t = jnp.array([0.0, 1.0, 2.0])
    >>> [round(float(x), 6) for x in first_crossing(t, jnp.outer(jnp.exp(t), jnp.array([1.0, 0.5, 0.1])), 2.0)]
    [0.693147, 1.386294, inf]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.dynamics.batched_flow import batched_gradient_flow
from landscape.phase.models import FlowSettings

__all__ = ["TIME_OUTPUTS", "OPEN_ENDED", "flow_outputs", "first_crossing", "time_output_dims"]

#: The time outputs and their own dimensions (labels: :data:`landscape.phase.OUTPUT_LABELS`).
TIME_OUTPUTS = {
    "escape_time": ("eig",),
    "collapse_time": ("eig",),
    "plateau_length": (),
    "b_eigenvalues": ("eig",),
    "loss_curve": ("time",),
    "gram_curve": ("time", "eig"),
    "n_learned": ("time",),
    "direction_escape_time": ("eig",),
    "learning_order": ("eig",),
}
#: The outputs in which ``inf`` means "not reached" rather than a failure.
OPEN_ENDED = ("escape_time", "collapse_time", "plateau_length", "direction_escape_time")


def first_crossing(times: jax.Array, values: jax.Array, level: Any) -> jax.Array:
    r"""First time each column of ``values`` (n_save, d), positive and saved at ``times``, rises to ``level``.

    Between the bracketing saves t_a < t_b the crossing is where ln v, interpolated
    linearly, equals ln θ (linear interpolation of v where v(t_a) = 0); ``inf``
    where no save reaches the level or the first save is already at or above it.

    >>> import jax.numpy as jnp
    >>> t = jnp.array([0.0, 1.0, 2.0])
    >>> [round(float(x), 6) for x in first_crossing(t, jnp.outer(jnp.exp(t), jnp.array([1.0, 0.5, 0.1])), 2.0)]
    [0.693147, 1.386294, inf]
    """
    above = values >= level
    j = jnp.argmax(above, axis=0)
    reached = jnp.any(above, axis=0) & (j > 0)
    ja = jnp.maximum(j - 1, 0)
    cols = jnp.arange(values.shape[1])
    va, vb = values[ja, cols], values[j, cols]
    ta, tb = times[ja], times[j]
    positive = va > 0
    safe_a = jnp.where(positive, va, 1.0)
    safe_b = jnp.where(positive & reached, vb, 2.0)
    log_frac = jnp.log(level / safe_a) / jnp.log(safe_b / safe_a)
    lin_frac = (level - va) / jnp.where(reached, vb - va, 1.0)
    frac = jnp.clip(jnp.where(positive, log_frac, lin_frac), 0.0, 1.0)
    t = ta + frac * (tb - ta)
    # a column that reaches the level beyond the last save is extrapolated nowhere: inf
    return jnp.where(reached, t, jnp.inf)


def flow_outputs(
    landscape: EffectiveLandscape, w0: jax.Array, t1: Any, settings: FlowSettings
) -> tuple[jax.Array, jax.Array, dict[str, jax.Array]]:
    """``(W(T), diverged, time outputs)`` of the gradient flow from ``w0`` (module docstring).

    ``t1`` is the end time when ``settings.times`` is ``None`` (traceable).
    """
    dtype = w0.dtype
    theta = settings.threshold
    asked = settings.times
    if asked is None:
        ts = jnp.reshape(jnp.asarray(t1, dtype), (1,))
        skip = 0
    else:
        skip = 0 if asked[0] == 0.0 or theta is None else 1  # a save at t = 0 for the direction escapes
        ts = jnp.asarray(((0.0,) if skip else ()) + asked, dtype)
    flow = batched_gradient_flow(
        landscape,
        w0[None],
        times=ts,
        threshold=theta,
        rtol=settings.rtol,
        atol=settings.atol,
        max_steps=settings.max_steps,
    )
    weights = flow.weights[0]
    out: dict[str, jax.Array] = {}
    if asked is not None:
        out["loss_curve"] = flow.loss[0, skip:]
        out["gram_curve"] = flow.gram_eigenvalues[0, skip:]
    if theta is not None:
        out.update(_events(landscape, w0, flow, theta, skip if asked is not None else None))
    return weights[-1], flow.diverged[0], out


def _events(landscape: EffectiveLandscape, w0: jax.Array, flow, theta: float, skip: int | None) -> dict:
    """The threshold outputs; those that need the save times only when ``skip`` is not ``None``."""
    lam0 = jnp.linalg.eigvalsh(w0.T @ w0)[::-1]
    below = lam0 <= theta
    event = flow.event_times[0]
    escape = jnp.where(below, event, jnp.inf)
    m, v = jnp.linalg.eigh(landscape.b_eff)
    m, v = m[::-1], v[:, ::-1]
    out = {
        "escape_time": escape,
        "collapse_time": jnp.where(below, jnp.inf, event),
        "plateau_length": jnp.where(below[0], escape[0], 0.0),
        "b_eigenvalues": m,
    }
    if skip is None:
        return out
    gram = flow.gram_eigenvalues[0]
    out["n_learned"] = jnp.sum(gram[skip:] > theta, axis=-1).astype(jnp.int32)
    wv = jnp.einsum("tij,jk->tik", flow.weights[0], v)
    per_direction = jnp.sum(wv * wv, axis=1)  # g_i(t) = ‖W v_i‖²
    t_dir = first_crossing(flow.times, per_direction, theta)
    order = jnp.argsort(t_dir, stable=True)
    learned = jnp.arange(t_dir.shape[0]) < jnp.sum(jnp.isfinite(t_dir))
    out["direction_escape_time"] = t_dir
    out["learning_order"] = jnp.where(learned, order, -1).astype(jnp.int32)
    return out


def time_output_dims(settings: FlowSettings) -> dict[str, tuple]:
    """The time outputs a flow scan with ``settings`` stores, with their own dimensions."""
    names = []
    if settings.times is not None:
        names += ["loss_curve", "gram_curve"]
    if settings.threshold is not None:
        names += ["escape_time", "collapse_time", "plateau_length", "b_eigenvalues"]
        if settings.times is not None:
            names += ["n_learned", "direction_escape_time", "learning_order"]
    return {n: TIME_OUTPUTS[n] for n in names}
