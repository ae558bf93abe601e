r"""One embedded Dormand–Prince 5(4) step with its error estimate and step-size control, for one point.

The tableau is that of Dormand & Prince (1980) as in Hairer, Nørsett & Wanner,
*Solving ODEs I* (§II.5, DOPRI5): seven stages, the last evaluated at the new
point (first-same-as-last, so an accepted step costs six evaluations of the
vector field).  The fifth-order solution is propagated (local extrapolation);
the difference to the embedded fourth-order one estimates the local error.
The step-size controller is Hairer's PI controller (β = 0.04), the initial step
Hairer's heuristic (``hinit``).  Everything here acts on one point and is
vmapped by :mod:`landscape.dynamics.batched_flow`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

# Nodes c, coefficients a (lower triangle), 5th-order weights b, and e = b − b̂ (error weights, 7 stages).
C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
E = (-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40)

ORDER = 5
SAFETY = 0.9
BETA = 0.04  # PI controller: h ← h·0.9·err^(−(1/5 − 0.75β))·err_prev^β
MIN_FACTOR, MAX_FACTOR = 0.2, 10.0

Field = Callable[[jax.Array], jax.Array]


def error_norm(y_err: jax.Array, y0: jax.Array, y1: jax.Array, rtol: Any, atol: Any) -> jax.Array:
    """RMS of the error scaled by atol + rtol·max(|y0|, |y1|); a step is accepted where it is ≤ 1."""
    scale = atol + rtol * jnp.maximum(jnp.abs(y0), jnp.abs(y1))
    return jnp.sqrt(jnp.mean((y_err / scale) ** 2))


def step(field: Field, y: jax.Array, f0: jax.Array, h: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(y₁, f(y₁), local error estimate) of one step of size h from y with f0 = f(y)."""
    k = [f0]
    for i in range(1, 6):
        dy = sum(a * ki for a, ki in zip(A[i], k) if a != 0.0)
        k.append(field(y + h * dy))
    y1 = y + h * sum(b * ki for b, ki in zip(B, k) if b != 0.0)
    f1 = field(y1)
    k.append(f1)
    y_err = h * sum(e * ki for e, ki in zip(E, k) if e != 0.0)
    return y1, f1, y_err


def next_step(h: jax.Array, err: jax.Array, err_prev: jax.Array, accept: jax.Array) -> jax.Array:
    """The next step size: PI control after an accepted step, at most the same h after a rejected one."""
    err = jnp.where(jnp.isfinite(err), err, jnp.inf)
    safe = jnp.maximum(err, 1e-10)
    grow = SAFETY * safe ** (-(1.0 / ORDER - 0.75 * BETA)) * err_prev**BETA
    shrink = SAFETY * safe ** (-1.0 / ORDER)
    factor = jnp.where(accept, jnp.clip(grow, MIN_FACTOR, MAX_FACTOR), jnp.clip(shrink, MIN_FACTOR, 1.0))
    return h * jnp.where(jnp.isfinite(factor), factor, MIN_FACTOR)


def initial_step(field: Field, y0: jax.Array, f0: jax.Array, t_end: jax.Array, rtol: Any, atol: Any) -> jax.Array:
    """Hairer's starting step: h with h·‖f‖ ≈ 1 % of ‖y‖ and h⁵·‖f′‖ ≈ the tolerance, at most t_end."""
    scale = atol + rtol * jnp.abs(y0)
    d0 = jnp.sqrt(jnp.mean((y0 / scale) ** 2))
    d1 = jnp.sqrt(jnp.mean((f0 / scale) ** 2))
    h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / jnp.maximum(d1, 1e-300))
    h0 = jnp.minimum(h0, t_end)
    f1 = field(y0 + h0 * f0)
    d2 = jnp.sqrt(jnp.mean(((f1 - f0) / scale) ** 2)) / h0
    big = jnp.maximum(d1, d2)
    h1 = jnp.where(big <= 1e-15, jnp.maximum(1e-6, h0 * 1e-3), (0.01 / jnp.maximum(big, 1e-300)) ** (1.0 / ORDER))
    return jnp.minimum(jnp.minimum(100.0 * h0, h1), t_end).astype(y0.dtype)
