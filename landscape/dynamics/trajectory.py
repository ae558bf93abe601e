r"""One interface for the gradient flow, exact or integrated: ``trajectory(landscape, w0, method)``.

Following neural-tangents' ``predict``: the call returns a function of time
``t`` (a scalar or an array of any shape; ``t = inf`` is the limit) that gives a
:class:`~landscape.theory.exact_flow.FlowState` (descending Gram spectrum,
``t.shape + (d0,)``, and loss, ``t.shape``), and the same call with
``method="ode"`` integrates the flow instead, so the two compare point by point.

``method``:

* ``"exact"``: the closed form (:mod:`landscape.theory.exact_flow`): the
  "aligned" case ([B, Σ] = 0 and W₀ᵀW₀ commuting with both) or the "isotropic"
  case (Σ = s·I, any W₀); ValueError naming the failed condition otherwise.
  ``t = inf`` is the closed-form limit: the stationary point the flow reaches
  (the global minimum for a generic W₀, a saddle when W₀ has no component
  along a growing direction).
* ``"ode"``: :func:`~landscape.dynamics.integrated_flow.integrated_flow`: one
  call of the batched Dormand–Prince integrator
  (:func:`~landscape.dynamics.batched_flow.batched_gradient_flow`) through the
  sorted distinct finite times, its steps landing exactly on them;
  ``t = inf`` integrates on until the spectrum stops moving (to 10·rtol), the
  same stationary point as the exact limit.
* ``"auto"`` (default): exact when a case applies, else ode.

The returned :class:`Trajectory` says which route it took (``method``,
``case``, ``reason``), and :meth:`Trajectory.events` gives the escape and
collapse time of each direction: in closed form on the exact route's aligned
case (:func:`~landscape.theory.escape_times.direction_events`, per common
eigenvector), else (isotropic case, ode route) from the integrator's events
(:func:`~landscape.dynamics.flow_events.flow_events`, per rank of WᵀW).  The
exact route is jittable and costs O(d0) (aligned) or O(d0³) (isotropic) per
time point.

Example:
    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([3.0, 1.0], [1.0, 1.0]), "infonce")
    >>> w0 = jnp.diag(jnp.array([1e-2, 1e-2]))
    >>> traj = trajectory(land, w0)
    >>> traj.method, traj.case
    ('exact', 'aligned')
    >>> ode = trajectory(land, w0, method="ode")
    >>> t = jnp.array([[0.5, 2.0], [6.0, jnp.inf]])
    >>> bool(jnp.allclose(traj(t).gram_eigenvalues, ode(t).gram_eigenvalues, rtol=1e-6))
    True
    >>> [round(float(v), 4) for v in traj.events().escape_times]   # ln(λ*/λ₀ − 1)/(4(b − γ)) per direction
    [0.5702, 1.7825]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.dynamics.flow_events import FlowEvents, flow_events
from landscape.dynamics.integrated_flow import integrated_flow
from landscape.theory.escape_times import check_fraction, direction_events
from landscape.theory.exact_flow import FlowState, aligned_flow, check_initial_weights, exact_case
from landscape.theory.riccati_flow import isotropic_flow

__all__ = ["Trajectory", "trajectory", "METHODS"]

METHODS = ("auto", "exact", "ode")


class Trajectory:
    """A flow as a function of time: ``traj(t)`` → :class:`FlowState` with ``t.shape`` leading axes.

    Attributes:
        method: "exact" or "ode", the route taken.
        case: "aligned" or "isotropic" for the exact route, None for ode.
        reason: why the exact route applies or not.
    """

    def __init__(
        self,
        fn: Callable[[Any], FlowState],
        method: str,
        case: str | None,
        reason: str,
        events: Callable[[float], FlowEvents],
    ):
        self._fn, self.method, self.case, self.reason, self._events = fn, method, case, reason, events

    def __call__(self, t: Any) -> FlowState:
        return self._fn(t)

    def events(self, fraction: float = 0.5) -> FlowEvents:
        """Escape and collapse time of each direction (module docstring); ``fraction`` in (0, 1)."""
        return self._events(check_fraction(fraction))

    def __repr__(self) -> str:
        return f"Trajectory(method={self.method!r}, case={self.case!r})"


def trajectory(
    landscape: EffectiveLandscape,
    w0: Any,
    method: str = "auto",
    *,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    max_steps: int = 100_000,
) -> Trajectory:
    """The gradient flow from ``w0`` as a function of time (see the module docstring).

    ``rtol``, ``atol``, ``max_steps`` are the integrator's tolerances and step budget (per call), used by
    the ode route and by the events of every case but the aligned one.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    w0 = check_initial_weights(landscape, w0, "trajectory")
    case = exact_case(landscape, w0)
    if method == "exact" and case.case is None:
        raise ValueError(f"method='exact' is not available here: {case.reason}")
    opts: dict[str, Any] = dict(rtol=rtol, atol=atol, max_steps=max_steps)

    def events(fraction: float) -> FlowEvents:
        if case.case == "aligned" and method != "ode":
            return _closed_form_events(landscape, w0, fraction)
        return flow_events(landscape, w0, fraction, **opts)

    if method != "ode" and case.case is not None:
        # both closed forms are compiled once per shape for every problem (their data are arguments)
        exact = aligned_flow(landscape, w0) if case.case == "aligned" else isotropic_flow(landscape, w0)
        return Trajectory(exact, "exact", case.case, case.reason, events)
    return Trajectory(integrated_flow(landscape, w0, **opts), "ode", None, case.reason, events)


def _closed_form_events(landscape: EffectiveLandscape, w0: jax.Array, fraction: float) -> FlowEvents:
    ev = direction_events(landscape, w0, fraction)
    return FlowEvents(
        gram0=ev.gram0,
        limit=ev.limit,
        escape_times=ev.escape_times,
        collapse_times=ev.collapse_times,
        order=ev.order,
        indexed_by="direction",
        source="closed form",
        horizon=float("inf"),
    )
