r"""The gradient flow of one point as a function of time, by the batched integrator.

:func:`integrated_flow` is the ``method="ode"`` route of
:func:`~landscape.dynamics.trajectory.trajectory`: it returns a function of
time ``t`` (a scalar or an array of any shape, ``t = inf`` allowed) giving the
same :class:`~landscape.theory.exact_flow.FlowState` as the closed forms, so the
two routes compare point by point.  Each call integrates dW/dt = −∇L(W) once
with :func:`~landscape.dynamics.batched_flow.batched_gradient_flow`
(Dormand–Prince 5(4), steps landing exactly on the save times, no
interpolation) through the sorted distinct finite times.  The save grid is
padded to a power of two, at least :data:`MIN_SAVES`, with extra points inside
it, so calls with different numbers of times (and the legs of :func:`flow_limit`,
which save :data:`MIN_SAVES` points) share one compiled program; more than
:data:`MAX_SAVES` times run in pieces, each from where the last ended, so the saved
weights never take more than MAX_SAVES·d1·d0 numbers.

**t = inf** is the state where the integrated flow stops moving
(:func:`flow_limit`): from the last finite time, the flow runs in legs, each as
long as the time so far (at least 1/max|m_i|, m_i the eigenvalues of B − γI),
until over one leg no eigenvalue of WᵀW moves by more than 10·rtol times the
largest eigenvalue seen so far (so a flow decaying to the origin converges too).
It is the stationary point the flow reaches, not a value from theory: for a generic W₀ that is the global minimum (:func:`~landscape.global_minimum`),
and for a W₀ without a component along a growing direction (an aligned W₀ of
low rank) the saddle that the exact route's limit also gives.  A flow that is
still slowing down algebraically (b_i = γ exactly) does not converge this way;
ValueError (naming ``t``) after 48 legs or when a leg fails.

Example (the limit of a non-commuting problem is the global minimum):
    >>> import jax, jax.numpy as jnp
    >>> import landscape as ls
    >>> p = ls.Problem.from_arrays(jnp.array([[2.0, 0.5], [0.5, 1.0]]), jnp.diag(jnp.array([0.5, 1.0])))
    >>> land = ls.effective_landscape(p, "infonce")
    >>> flow = integrated_flow(land, 0.1 * jax.random.normal(jax.random.PRNGKey(0), (2, 2)))
    >>> state = flow(jnp.array([1.0, jnp.inf]))
    >>> state.gram_eigenvalues.shape, bool(jnp.allclose(state.loss[1], ls.global_minimum(land, 2).loss, rtol=1e-8))
    ((2, 2), True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, loss
from landscape.core.linalg import gram_spectrum
from landscape.dynamics.batched_flow import batched_gradient_flow
from landscape.theory.exact_flow import FlowState, check_initial_weights, check_times

__all__ = ["integrated_flow", "FlowLimit", "flow_limit", "save_grid", "MAX_LEGS", "MIN_SAVES", "MAX_SAVES"]

#: The smallest save grid: every call with up to this many times runs one compiled program.
MIN_SAVES = 16
#: The largest save grid of one integration (more times run in pieces, each from where the last ended).
MAX_SAVES = 1024
#: Legs of doubling length :func:`flow_limit` tries before it gives up.
MAX_LEGS = 48


class FlowLimit(NamedTuple):
    """Where the integrated flow stops moving.

    Attributes:
        weights: W(∞), in the dtype of the start.
        time: T, the time at which it was reached.
        steps: the integrator's attempted steps (accepted and rejected) over all legs.
    """

    weights: np.ndarray
    time: float
    steps: int


def save_grid(times: np.ndarray) -> np.ndarray:
    """The sorted distinct ``times`` (finite, ≥ 0) padded with points inside (0, max) to a power of two
    ≥ :data:`MIN_SAVES`."""
    grid = np.unique(np.asarray(times, float))
    t_max = float(grid[-1])
    size = max(MIN_SAVES, 1 << (len(grid) - 1).bit_length())
    extra = size - len(grid)
    if extra == 0 or t_max == 0.0:
        return grid
    candidates = t_max * np.arange(1, extra + len(grid) + 2) / (extra + len(grid) + 2)
    return np.union1d(grid, np.setdiff1d(candidates, grid)[:extra])


def _checked(out: Any, start: float, what: str = "") -> None:
    """ValueError naming ``t`` when the run (started at time ``start``) failed."""
    if bool(np.asarray(out.diverged)[0]):
        step = int(np.asarray(out.diverged_step)[0])
        raise ValueError(
            f"t: the ode route failed before t = {start + float(np.asarray(out.times)[step]):g}{what} "
            "(W diverged, the step underflowed or max_steps was reached)"
        )


def _time_scale(landscape: EffectiveLandscape) -> float:
    """1/max|m_i| (m_i the eigenvalues of B − γI), 1 when B = γI."""
    b = np.asarray(landscape.b, float)
    rates = np.abs(np.linalg.eigvalsh(b - float(np.asarray(landscape.weight_decay)) * np.eye(b.shape[-1])))
    top = float(rates.max()) if rates.size else 0.0
    return 1.0 / top if top > 0 else 1.0


def flow_limit(
    landscape: EffectiveLandscape,
    w: jax.Array,
    t_start: float = 0.0,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    max_steps: int = 100_000,
) -> FlowLimit:
    """The flow from ``w`` (at time ``t_start``) integrated until it stops moving (module docstring).

    ``max_steps`` is the budget of each leg.  ValueError naming ``t`` when it does not converge."""
    w = np.asarray(check_initial_weights(landscape, w, "flow_limit"))
    eps = float(jnp.finfo(w.dtype).eps)
    tol = 10.0 * max(float(rtol), 64.0 * eps)
    length = max(float(t_start), _time_scale(landscape))
    fracs = np.arange(1, MIN_SAVES + 1) / MIN_SAVES
    now, steps = float(t_start), 0
    lam = np.linalg.eigvalsh(np.asarray(w, float).T @ np.asarray(w, float))[::-1]
    peak = max(float(lam.max()), np.finfo(float).tiny)  # the largest eigenvalue seen: the scale of "moves"
    for _ in range(MAX_LEGS):
        out = batched_gradient_flow(landscape, w[None], times=length * fracs, rtol=rtol, atol=atol, max_steps=max_steps)
        _checked(out, now, " on its way to t = inf")
        w, now = np.asarray(out.weights)[0, -1], now + length
        steps += int(np.asarray(out.n_steps)[0]) + int(np.asarray(out.n_rejected)[0])
        new = np.asarray(out.gram_eigenvalues, float)[0, -1]
        peak = max(peak, float(np.max(np.asarray(out.gram_eigenvalues, float))))
        if float(np.max(np.abs(new - lam))) <= tol * peak:
            return FlowLimit(w, now, steps)
        lam, length = new, now
    raise ValueError(f"t = inf: the ode route has not converged by t = {now:g} (the spectrum of WᵀW still moves)")


def integrated_flow(
    landscape: EffectiveLandscape,
    w0: Any,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    max_steps: int = 100_000,
) -> Callable[[Any], FlowState]:
    """The flow from ``w0`` as a function of t, integrated (module docstring); not jittable (host loop)."""
    w0 = check_initial_weights(landscape, w0, "integrated_flow")
    dtype = w0.dtype
    land = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), landscape)
    opts: dict[str, Any] = dict(rtol=rtol, atol=atol, max_steps=max_steps)

    @jax.jit
    def at(w: jax.Array) -> tuple[jax.Array, jax.Array]:
        return gram_spectrum(w), loss(land, w)

    def flow(t: Any) -> FlowState:
        t = check_times(t, dtype)
        times = np.asarray(t, float).ravel()
        finite = np.isfinite(times)
        eig = np.zeros((times.size, landscape.dim))
        val = np.zeros(times.size)
        w_last, t_last = w0, 0.0
        if finite.any() and times[finite].max() > 0:
            wanted = np.unique(times[finite])
            eig_u, val_u = [], []
            # Pieces of at most MAX_SAVES times, each a call from where the last one ended (bounded memory).
            for piece in np.array_split(wanted, -(-wanted.size // MAX_SAVES)):
                grid = save_grid(piece - t_last)
                out = batched_gradient_flow(land, np.asarray(w_last)[None], times=grid, **opts)
                _checked(out, t_last)
                pick = np.searchsorted(grid, piece - t_last)
                eig_u.append(np.asarray(out.gram_eigenvalues)[0][pick])
                val_u.append(np.asarray(out.loss)[0][pick])
                w_last, t_last = np.asarray(out.weights)[0, -1], float(piece[-1])
            where = np.searchsorted(wanted, times[finite])
            eig[finite], val[finite] = np.concatenate(eig_u)[where], np.concatenate(val_u)[where]
        elif finite.any():  # t = 0 only
            eig[finite], val[finite] = (np.asarray(v) for v in at(w0))
        if not finite.all():
            eig[~finite], val[~finite] = (np.asarray(v) for v in at(flow_limit(land, w_last, t_last, **opts).weights))
        return FlowState(
            gram_eigenvalues=jnp.asarray(eig.reshape(t.shape + (-1,)), dtype),
            loss=jnp.asarray(val.reshape(t.shape), dtype),
        )

    return flow
