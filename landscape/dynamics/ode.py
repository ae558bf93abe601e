"""Continuous time: gradient flow by diffrax, with threshold-crossing (event) times.

A separate integrator by design, not a route through :func:`landscape.dynamics.descent.descend`:
it solves dW/dt = −∇L(W) with an adaptive Runge–Kutta method and error control in
time, where ``descend`` takes fixed optimizer steps.  The two agree in the limit
of small steps, which the tests check.
"""

from __future__ import annotations

from typing import Any

import diffrax
import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape, gradient, loss
from landscape.core.linalg import is_traced
from landscape.core.solution import DEFAULT_RANK_RTOL, Solution, gram_spectrum, solution_from_weights
from landscape.dynamics._checks import check_scalar, check_weights, in_dtype, int_in_range

__all__ = ["gradient_flow"]

# Points of the linear grid on which gradient_flow looks for threshold crossings
# before it refines each one (see _locate_crossings).
_DETECT_POINTS = 257
# Step budget of the short re-integration over one detection interval.
_REFINE_MAX_STEPS = 256


def _vector_field(t, w, landscape):
    del t
    return -gradient(landscape, w)


def _save_times(t1: Any, n_save: int, spacing: str, dtype) -> jax.Array:
    t1 = jnp.asarray(t1, dtype)
    if spacing == "linear":
        return jnp.linspace(0.0, 1.0, n_save, dtype=dtype) * t1
    # 0, then n_save − 1 points geometric from t1·10⁻⁴ to t1.
    frac = jnp.logspace(-4.0, 0.0, n_save - 1, dtype=dtype)
    return jnp.concatenate([jnp.zeros((1,), dtype), frac * t1])


def _forward_fill(ys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Replace non-finite saves by the last finite one; also return the first bad index (−1)."""
    ok = jnp.all(jnp.isfinite(ys.reshape(ys.shape[0], -1)), axis=1)

    def body(last, pair):
        y, good = pair
        y = jnp.where(good, y, last)
        return y, y

    _, filled = jax.lax.scan(body, ys[0], (ys, ok))
    first_bad = jnp.where(jnp.all(ok), -1, jnp.argmin(ok)).astype(jnp.int32)
    return filled, first_bad


def _solve(landscape, w0, t0, t1, controller, saveat, max_steps):
    return diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
        diffrax.Tsit5(),
        t0,
        t1,
        None,
        w0,
        args=landscape,
        stepsize_controller=controller,
        saveat=saveat,
        max_steps=max_steps,
        throw=False,
    )


def _locate_crossings(landscape, t_grid, ys_grid, threshold, controller):
    r"""First time each descending eigenvalue of WᵀW crosses ``threshold``.

    1. Detection: the sign of λ_i − θ on the saved grid brackets the first crossing
       of each eigenvalue between two grid points [t_a, t_b].
    2. Refinement: the ODE is re-integrated from the saved W(t_a) over [t_a, t_b]
       with dense output (Tsit5's fourth-order interpolant), and the crossing is
       bisected on that interpolant down to the resolution of the dtype.
    If the short re-integration fails, the crossing falls back to linear
    interpolation of λ_i between the two grid points.
    """
    dtype = ys_grid.dtype
    lam = jax.vmap(gram_spectrum)(ys_grid)  # (n_grid, d0)
    above = lam > threshold
    crossed = above != above[0][None, :]
    found = jnp.any(crossed, axis=0)
    j = jnp.maximum(jnp.argmax(crossed, axis=0), 1)  # first crossed grid index
    t_a, t_b = t_grid[j - 1], t_grid[j]
    lam_a = jnp.take_along_axis(lam, (j - 1)[None, :], axis=0)[0]
    lam_b = jnp.take_along_axis(lam, j[None, :], axis=0)[0]
    n_bisect = jnp.finfo(dtype).nmant + 2

    def refine(i, ta, tb, y_a, start_above, la, lb):
        sol = _solve(landscape, y_a, ta, tb, controller, diffrax.SaveAt(dense=True), _REFINE_MAX_STEPS)

        def bisect(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            same = (gram_spectrum(sol.evaluate(mid))[i] > threshold) == start_above
            return jnp.where(same, mid, lo), jnp.where(same, hi, mid)

        lo, hi = jax.lax.fori_loop(0, n_bisect, bisect, (ta, tb))
        ok = sol.result == diffrax.RESULTS.successful
        t_lin = ta + (tb - ta) * (la - threshold) / jnp.where(la == lb, 1.0, la - lb)
        return jnp.where(ok, 0.5 * (lo + hi), t_lin)

    t_event = jax.vmap(refine)(jnp.arange(lam.shape[1]), t_a, t_b, ys_grid[j - 1], above[0], lam_a, lam_b)
    return jnp.where(found, t_event, jnp.inf).astype(dtype)


def gradient_flow(
    landscape: EffectiveLandscape,
    w0: jax.Array,
    *,
    t1: float,
    threshold: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    n_save: int = 50,
    max_steps: int = 100_000,
    rank_rtol: float = DEFAULT_RANK_RTOL,
    spacing: str = "linear",
) -> Solution:
    r"""Continuous-time gradient flow dW/dt = −∇L(W) on [0, t1], by diffrax.

    The solver is Tsit5 (explicit 5(4) Runge–Kutta) with a PID step-size
    controller at (``rtol``, ``atol``).  Tolerances the dtype cannot honour are
    raised to the floors rtol ≥ 64·eps and atol ≥ 1e-12 (so rtol ≥ 7.6e-6 in
    float32; the float64 defaults are unchanged); below them the controller
    would stall on round-off.  Near a minimum the adaptive steps grow to the
    explicit method's stability limit, so the state approaches the equilibrium
    only to about rtol (≈1e-8 in the gram at the defaults), not to round-off
    as gradient descent does.

    Save points: ``n_save`` ≥ 2 times including 0 and t1, evenly spaced
    (``spacing="linear"``, default) or 0 followed by a geometric grid from
    t1·10⁻⁴ to t1 (``spacing="log"``, useful for the escape from a small init).

    **Events.**  With ``threshold`` = θ, ``event_times[i]`` is the first time
    the i-th largest eigenvalue of WᵀW is on the other side of θ than at t = 0
    (a collapse time when it starts above θ, an escape time when it starts
    below), ``inf`` when that does not happen by t1.  A crossing is bracketed on
    a fixed grid of 257 evenly spaced times, then located by bisection on the
    dense Tsit5 interpolant of a re-integration over the bracket; the bisection
    itself is run to the dtype's resolution, so the error is that of the
    solution, |δλ|/|dλ/dt| with |δλ| a small multiple of rtol·λ (global
    error): against the exact logistic solution we measure relative errors of
    1e-10 to 3e-7 in float64 at the default tolerances and ≲ 2e-5 in float32.
    A crossing and re-crossing inside one grid interval (t1/256) is not seen.

    The flow is integrated in the dtype of ``w0`` (the landscape is cast to it).
    If the solver fails (``max_steps`` reached), ``diverged`` is True,
    ``diverged_step`` is the index of the first save point that was not reached,
    and those points repeat the last reached state; otherwise ``diverged`` is
    False and ``diverged_step`` −1.

    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0], [0.0]), "infonce")
    >>> flow = gradient_flow(land, jnp.full((1, 1), 0.01), t1=5.0, threshold=0.125, n_save=6)
    >>> [round(float(t), 3) for t in flow.times], round(float(flow.gram_eigenvalues[0]), 6)
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 0.25)
    >>> round(float(flow.event_times[0]), 6)   # λ∞/(1 + (λ∞/λ₀ − 1)e^{−8t}) = λ∞/2 at t = ln(2499)/8
    0.977956
    """
    w0 = check_weights(w0, landscape, "gradient_flow")
    landscape = in_dtype(landscape, w0.dtype)
    n_save = int_in_range(n_save, "n_save", 2)
    max_steps = int_in_range(max_steps, "max_steps", 1)
    if spacing not in ("linear", "log"):
        raise ValueError(f"spacing must be 'linear' or 'log', got {spacing!r}")
    check_scalar(t1, "t1", low=0.0, low_inclusive=False)
    check_scalar(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_scalar(atol, "atol", low=0.0, low_inclusive=False)
    check_scalar(rank_rtol, "rank_rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if threshold is not None:
        check_scalar(threshold, "threshold", low=0.0, low_inclusive=False)

    eps = float(jnp.finfo(w0.dtype).eps)
    options = dict(
        rtol=max(float(rtol), 64.0 * eps) if not is_traced(rtol) else rtol,
        atol=max(float(atol), 1e-12) if not is_traced(atol) else atol,
        n_save=n_save,
        max_steps=max_steps,
        rank_rtol=rank_rtol,
        spacing=spacing,
    )
    # One compiled program per configuration, also when called outside jit.
    static = not any(is_traced(options[k]) for k in ("rtol", "atol", "rank_rtol"))
    run = _flow_jit if static else _flow
    return run(landscape, w0, t1, threshold, **options)


def _flow(landscape, w0, t1, threshold, *, rtol, atol, n_save, max_steps, rank_rtol, spacing) -> Solution:
    dtype = w0.dtype
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
    t_save = _save_times(t1, n_save, spacing, dtype)
    t_end = t_save[-1]
    if threshold is None:
        saveat = diffrax.SaveAt(ts=t_save)
    else:
        t_grid = jnp.linspace(0.0, 1.0, _DETECT_POINTS, dtype=dtype) * t_end
        saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=t_save), diffrax.SubSaveAt(ts=t_grid)])
    sol = _solve(landscape, w0, jnp.zeros((), dtype), t_end, controller, saveat, max_steps)
    ys = sol.ys if threshold is None else sol.ys[0]
    ys, first_bad = _forward_fill(ys)
    failed = (sol.result != diffrax.RESULTS.successful) | (first_bad >= 0)

    event_times = None
    if threshold is not None:
        grid, _ = _forward_fill(sol.ys[1])
        event_times = _locate_crossings(landscape, t_grid, grid, jnp.asarray(threshold, dtype), controller)

    return solution_from_weights(
        landscape,
        ys[-1],
        rank_rtol=rank_rtol,
        times=t_save,
        trajectory_eigenvalues=jax.vmap(gram_spectrum)(ys),
        trajectory_loss=jax.vmap(lambda w: loss(landscape, w))(ys),
        event_times=event_times,
        diverged=failed,
        diverged_step=jnp.where(failed, jnp.maximum(first_bad, 0), -1).astype(jnp.int32),
    )


_flow_jit = jax.jit(_flow, static_argnames=("rtol", "atol", "n_save", "max_steps", "rank_rtol", "spacing"))
