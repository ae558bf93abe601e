r"""One interface for the gradient flow, exact or integrated: ``trajectory(landscape, w0, method)``.

Following neural-tangents' ``predict``: the call returns a function of time
``t`` (a scalar or an array of any shape; ``t = inf`` is the limit) that gives a
:class:`~landscape.theory.exact_flow.FlowState` (descending Gram spectrum and
loss), and the same call with ``method="ode"`` integrates the flow with
:func:`~landscape.dynamics.ode.gradient_flow` (diffrax), so the two can be
compared point by point.

``method``:

* ``"exact"``: the closed form (:mod:`landscape.theory.exact_flow`): the
  "aligned" case ([B, Σ] = 0 and W₀ᵀW₀ commuting with both) or the "isotropic"
  case (Σ = s·I, any W₀); ValueError naming the failed condition otherwise.
* ``"ode"``: diffrax, one integration per call, chained through the sorted
  distinct times (W(t_k) starts the leg to t_{k+1}).  t = inf is refused.
* ``"auto"`` (default): exact when a case applies, else ode.

The returned :class:`Trajectory` says which route it took (``method``,
``case``).  The exact route is jittable and costs O(d0) (aligned) or O(d0³)
(isotropic) per time point.

Example:
    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([3.0, 1.0], [1.0, 1.0]), "infonce")
    >>> w0 = jnp.diag(jnp.array([1e-2, 1e-2]))
    >>> traj = trajectory(land, w0)
    >>> traj.method, traj.case
    ('exact', 'aligned')
    >>> ode = trajectory(land, w0, method="ode")
    >>> t = jnp.array([0.5, 2.0])
    >>> bool(jnp.allclose(traj(t).gram_eigenvalues, ode(t).gram_eigenvalues, rtol=1e-6))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, loss
from landscape.core.linalg import gram_spectrum
from landscape.dynamics.ode import gradient_flow
from landscape.theory.exact_flow import FlowState, aligned_flow, check_initial_weights, check_times, exact_case
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

    def __init__(self, fn: Callable[[Any], FlowState], method: str, case: str | None, reason: str):
        self._fn, self.method, self.case, self.reason = fn, method, case, reason

    def __call__(self, t: Any) -> FlowState:
        return self._fn(t)

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

    ``rtol``, ``atol``, ``max_steps`` are the ode route's (diffrax) tolerances and step budget.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    w0 = check_initial_weights(landscape, w0, "trajectory")
    case = exact_case(landscape, w0)
    if method == "exact" and case.case is None:
        raise ValueError(f"method='exact' is not available here: {case.reason}")
    if method != "ode" and case.case is not None:
        exact = aligned_flow(landscape, w0) if case.case == "aligned" else isotropic_flow(landscape, w0)
        jitted = jax.jit(exact)
        return Trajectory(lambda t: jitted(check_times(t, w0.dtype)), "exact", case.case, case.reason)
    return Trajectory(_ode_flow(landscape, w0, rtol, atol, max_steps), "ode", None, case.reason)


def _ode_flow(
    landscape: EffectiveLandscape, w0: jax.Array, rtol: float, atol: float, max_steps: int
) -> Callable[[Any], FlowState]:
    dtype = w0.dtype

    def at(w: jax.Array) -> tuple[np.ndarray, float]:
        land = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), landscape)
        return np.asarray(gram_spectrum(w)), float(loss(land, w))

    def flow(t: Any) -> FlowState:
        t = check_times(t, dtype)
        times = np.asarray(t, float)
        if np.any(np.isinf(times)):
            raise ValueError("t = inf needs the exact route: method='ode' integrates to finite times only")
        grid = np.unique(times)
        eig, val = {}, {}
        w, now = w0, 0.0
        for tk in grid:
            if tk > now:
                sol = gradient_flow(landscape, w, t1=tk - now, rtol=rtol, atol=atol, n_save=2, max_steps=max_steps)
                if bool(sol.diverged):
                    raise ValueError(f"the ode route failed before t = {tk:g} (max_steps = {max_steps} reached)")
                w, now = sol.weights, float(tk)
            eig[tk], val[tk] = at(w)
        flat = times.ravel()
        return FlowState(
            gram_eigenvalues=jnp.asarray(np.stack([eig[x] for x in flat]).reshape(times.shape + (-1,)), dtype),
            loss=jnp.asarray(np.array([val[x] for x in flat]).reshape(times.shape), dtype),
        )

    return flow
