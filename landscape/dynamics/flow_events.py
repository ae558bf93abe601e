r"""Escape and collapse times of any gradient flow, from the batched integrator's events.

:mod:`landscape.theory.escape_times` gives them in closed form for aligned
problems, per direction u_i of the common eigenbasis.  Without a fixed basis
(non-commuting B and Σ, or a general W₀) the directions are the ranks: λ_i(t)
is the i-th largest eigenvalue of W(t)ᵀW(t), and with the same definitions

* **escape time** of rank i: the first time λ_i(t) reaches ``fraction``·λ_i(∞)
  (default ½) when the limit λ_i(∞) is non-zero; 0 when λ_i(0) is already at
  or above that level;
* **collapse time** of rank i: the first time λ_i(t) falls to
  ``fraction``·λ_i(0) when λ_i(0) > 0 and the limit is zero;

both ``inf`` otherwise (and when the level is not reached by the horizon).
On an aligned problem whose directions keep their order in time, rank i is
the i-th largest direction and the two definitions agree.

How: λ(∞) and the horizon T are those of
:func:`~landscape.dynamics.integrated_flow.flow_limit` (the flow integrated
until it stops moving); "zero" means λ_i(∞) ≤ √rtol·max(λ(0), λ(∞)), and
"λ_i(0) > 0" means above the round-off of W₀'s own Gram matrix.  Every level ℓ_j
is then located in one call of
:func:`~landscape.dynamics.batched_flow.batched_gradient_flow` with the
common threshold θ = 1, through the exact scaling symmetry of the flow:
W = a·V turns L(W; k) into a²·L(V; a²k), so V = W/√ℓ_j follows the flow of
the landscape with quartic coefficient ℓ_j·k and λ_i(V) crosses 1 exactly
when λ_i(W) crosses ℓ_j.  The 2·d0 levels (an escape and a collapse level per
rank, unused ones as placeholders) run as one batch of fixed size, so every
call with the same shapes shares one compiled program.

Example (non-commuting B and Σ, small random W₀: rank 0 escapes first, the last one collapses):
    >>> import jax, jax.numpy as jnp
    >>> import landscape as ls
    >>> p = ls.Problem.from_arrays(jnp.array([[2.0, 0.5], [0.5, 0.3]]), jnp.diag(jnp.array([0.5, 1.0])))
    >>> land = ls.effective_landscape(p, "beta-infonce")
    >>> ev = flow_events(land, 1e-3 * jax.random.normal(jax.random.PRNGKey(0), (2, 2)))
    >>> [bool(v) for v in jnp.isfinite(ev.escape_times)], [bool(v) for v in jnp.isfinite(ev.collapse_times)]
    ([True, False], [False, True])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.dynamics.batched_flow import batched_gradient_flow
from landscape.dynamics.integrated_flow import flow_limit
from landscape.theory.escape_times import check_fraction, learning_order
from landscape.theory.exact_flow import check_initial_weights

__all__ = ["FlowEvents", "flow_events"]


class FlowEvents(NamedTuple):
    """Escape and collapse time of each direction (rank or common eigenvector).

    Attributes:
        gram0: λ_i(0).
        limit: λ_i(∞).
        escape_times: first time λ_i reaches ``fraction``·λ_i(∞) (inf if never).
        collapse_times: first time a dying λ_i falls to ``fraction``·λ_i(0) (inf if it does not die).
        order: the directions sorted by escape time (never-escaping ones last).
        indexed_by: "rank" (i-th largest eigenvalue of WᵀW) or "direction" (i-th common eigenvector).
        source: "integrator" or "closed form".
        horizon: the time integrated to (inf for the closed form).
    """

    gram0: jax.Array
    limit: jax.Array
    escape_times: jax.Array
    collapse_times: jax.Array
    order: jax.Array
    indexed_by: str
    source: str
    horizon: float


def _spectrum(w: np.ndarray) -> np.ndarray:
    """Eigenvalues of WᵀW, descending, from the singular values (zeros beyond min(d1, d0))."""
    s = np.linalg.svd(np.asarray(w, float), compute_uv=False) ** 2
    return np.concatenate([s, np.zeros(w.shape[1] - s.size)])


def flow_events(
    landscape: EffectiveLandscape,
    w0: Any,
    fraction: float = 0.5,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    max_steps: int = 100_000,
) -> FlowEvents:
    """Escape and collapse time of each rank of the flow from ``w0`` (module docstring), in W₀'s dtype.

    ``rtol``, ``atol``, ``max_steps`` are the integrator's (``max_steps`` per leg of
    :func:`~landscape.dynamics.integrated_flow.flow_limit`; the events run over the whole horizon gets
    twice the legs' total).  ValueError naming ``t`` when the flow does not converge.
    """
    fraction = check_fraction(fraction)
    w0 = check_initial_weights(landscape, w0, "flow_events")
    dtype = w0.dtype
    land = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), landscape)
    w_inf, horizon, steps = flow_limit(land, w0, rtol=rtol, atol=atol, max_steps=max_steps)
    lam0, lam_inf = _spectrum(np.asarray(w0)), _spectrum(w_inf)
    eps = float(jnp.finfo(dtype).eps)
    scale = max(float(lam0.max()), float(lam_inf.max()), np.finfo(float).tiny)
    grows = lam_inf > np.sqrt(max(float(rtol), 64.0 * eps)) * scale
    alive = lam0 > 16.0 * lam0.size * eps * max(float(lam0.max()), np.finfo(float).tiny)
    dies = ~grows & alive
    escape_level, collapse_level = fraction * lam_inf, fraction * lam0
    climbs = grows & (lam0 < escape_level)
    levels = np.concatenate([np.where(climbs, escape_level, scale), np.where(dies, collapse_level, scale)])
    d0 = lam0.size
    if climbs.any() or dies.any():
        budget = max(max_steps, 2 * steps)  # one run over the whole horizon: the legs' steps, with room
        ev = _level_crossings(land, np.asarray(w0), levels, horizon, rtol, atol, budget)
    else:  # nothing to locate (e.g. W₀ stationary)
        ev = np.full((2 * d0, d0), np.inf)
    rank = np.arange(d0)
    escape = np.where(climbs, ev[rank, rank], np.where(grows, 0.0, np.inf))
    collapse = np.where(dies, ev[d0 + rank, rank], np.inf)
    as_array = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    return FlowEvents(
        gram0=as_array(lam0),
        limit=as_array(lam_inf),
        escape_times=as_array(escape),
        collapse_times=as_array(collapse),
        order=learning_order(np.asarray(escape)),
        indexed_by="rank",
        source="integrator",
        horizon=horizon,
    )


def _level_crossings(
    land: EffectiveLandscape,
    w0: np.ndarray,
    levels: np.ndarray,
    horizon: float,
    rtol: float,
    atol: float,
    max_steps: int,
) -> np.ndarray:
    """First crossing of level ℓ_j by each rank, (n_levels, d0), in one batch through W = √ℓ_j·V (module docstring)."""
    dtype = w0.dtype
    n, d0 = levels.size, w0.shape[1]
    batch = type(land)(
        b=jnp.broadcast_to(land.b, (n, d0, d0)),
        sigma=jnp.broadcast_to(land.sigma, (n, d0, d0)),
        quartic=jnp.asarray(levels * float(np.asarray(land.quartic)), dtype),
        weight_decay=jnp.full((n,), land.weight_decay, dtype),
    )
    v0 = jnp.asarray(w0.astype(float)[None] / np.sqrt(levels)[:, None, None], dtype)
    out = batched_gradient_flow(batch, v0, times=[horizon], threshold=1.0, rtol=rtol, atol=atol, max_steps=max_steps)
    if bool(np.any(np.asarray(out.diverged))):
        raise ValueError(f"t: the ode route failed on its way to the events (horizon t = {horizon:g})")
    return np.asarray(out.event_times, float)
