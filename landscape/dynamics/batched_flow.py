r"""Gradient flow dW/dt = −∇L(W) for a whole batch of landscapes at once, each point with its own step.

:func:`~landscape.gradient_flow` integrates one point with diffrax; vmapped over a
grid, each of its adaptive loops still runs in a separate program step, and the
grid pays for the slowest point at every step.  :func:`batched_gradient_flow`
integrates n points in one ``while_loop`` over a vmapped embedded Runge–Kutta
step (Dormand–Prince 5(4), :mod:`landscape.dynamics._dopri5`):

* **per-point adaptive steps**: every point has its own time t, step h, error
  estimate and PI controller, and accepts or rejects its own step; the loop runs
  until every point has reached its last save time (or failed).  Points that
  are done sit idle (masked) while the rest continue; ``block_size`` points
  run together, so a slow point holds up only its block.
* **saves by stepping onto the save times**: a step that would pass the next
  save time is shortened to land on it, so saved states carry the method's own
  error (no interpolation).
* **events**: with ``threshold`` = θ, the time at which the i-th largest
  eigenvalue of WᵀW first reaches the other side of θ than at t = 0 (escape
  from a small initialization, or collapse).  After every accepted step the
  eigenvalues λ_i and their rates dλ_i/dt = 2(Wv_i)·(Ẇv_i) (v_i the unit
  eigenvectors, Ẇ the FSAL stage) are known at both ends, and a crossing is
  located by bisection on the cubic Hermite interpolant of λ_i(t) over the
  step (error O(h⁴) in λ, far below the tolerance for the steps the
  controller takes).  Rates of a degenerate eigenvalue are those of one vector
  of its eigenspace, so a crossing of a (near-)degenerate cluster is located
  less accurately.  Costs one eigendecomposition of WᵀW per step and point.
* **divergence per point**: a point whose ‖W‖²_F becomes non-finite or
  exceeds ``divergence_factor``·(1 + ‖W₀‖² + N) (N the stationary-point norm
  bound, as :func:`~landscape.batched_gradient_descent` uses), whose step
  falls below 16 ulp of t, or that reaches ``max_steps`` (accepted plus
  rejected), stops there and is reported; the others continue.

Memory: the saved weights take n·n_save·d1·d0 numbers; cut large grids into
calls of fewer points.

Example:
    >>> import jax, jax.numpy as jnp
    >>> import landscape as ls
    >>> from landscape.dynamics.batched_flow import batched_gradient_flow
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0], [0.0]), "infonce")
    >>> w0 = jnp.array([[[0.01]], [[0.02]]])
    >>> flow = batched_gradient_flow(land, w0, times=[0.0, 1.0, 5.0], threshold=0.125)
    >>> [round(float(v), 6) for v in flow.gram_eigenvalues[:, -1, 0]]
    [0.25, 0.25]
    >>> [round(float(t), 6) for t in flow.event_times[:, 0]]   # ln(λ∞/λ₀ − 1)/8
    [0.977956, 0.804519]
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, loss
from landscape.core.linalg import gram_spectrum, is_traced
from landscape.core.spectrum import stationary_norm_bound
from landscape.dynamics import _dopri5 as rk
from landscape.dynamics._checks import check_scalar, int_in_range
from landscape.dynamics._flow_kernel import DIAGONAL, ROTATED, choose_kernel, velocity
from landscape.dynamics.batched_descent import _checked_runs, _diagonal_norm_bound, _norm2_bound

__all__ = ["BatchedFlow", "batched_gradient_flow"]

_RUNNING, _DONE, _FAILED = 0, 1, 2


class BatchedFlow(NamedTuple):
    """The gradient flow of n points at the save times.

    Attributes:
        times: the save times (n_save,).
        weights: W of each point at each save time (n, n_save, d1, d0); after a
            failure, the last accepted state.
        loss: L(W) at the save times (n, n_save).
        gram_eigenvalues: eigenvalues of WᵀW (the weights' Gram matrix) at the
            save times, descending (n, n_save, d0).
        event_times: with a threshold, the first time each descending eigenvalue
            of WᵀW is on the other side of it than at t = 0 (n, d0), ``inf`` if
            not by the last save time; ``None`` without one.
        diverged: whether the point failed (non-finite or unbounded W, step
            underflow, or ``max_steps``) before the last save time (n,).
        diverged_step: index of the first save time not reached, −1 if all were (n,), int32.
        n_steps: accepted steps (n,), int32.
        n_rejected: rejected steps (n,), int32.
    """

    times: jax.Array
    weights: jax.Array
    loss: jax.Array
    gram_eigenvalues: jax.Array
    event_times: jax.Array | None
    diverged: jax.Array
    diverged_step: jax.Array
    n_steps: jax.Array
    n_rejected: jax.Array


class _State(NamedTuple):
    t: jax.Array
    h: jax.Array
    y: jax.Array
    f: jax.Array
    err_prev: jax.Array
    idx: jax.Array  # next save index
    saved: jax.Array  # (n_save, d1, d0)
    status: jax.Array
    n_acc: jax.Array
    n_rej: jax.Array
    lam: jax.Array  # events: λ_i and dλ_i/dt at t (d0,), first-crossing times, found, side at t = 0
    rate: jax.Array
    t_event: jax.Array
    found: jax.Array
    above0: jax.Array


def _spectrum_rate(w: jax.Array, f: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Descending eigenvalues λ_i of WᵀW and their rates 2(Wv_i)·(Ẇv_i) for Ẇ = f."""
    lam, v = jnp.linalg.eigh(w.T @ w)
    lam, v = lam[::-1], v[:, ::-1]
    return lam, 2.0 * jnp.sum((w @ v) * (f @ v), axis=0)


def _hermite_root(p0: jax.Array, p1: jax.Array, m0: jax.Array, m1: jax.Array) -> jax.Array:
    """A root s ∈ [0, 1] of the cubic Hermite interpolant with values p0, p1 and slopes m0, m1
    (p0·p1 ≤ 0), by bisection to the dtype's resolution; elementwise."""

    def cubic(s):
        s2, s3 = s * s, s * s * s
        return (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (3 * s2 - 2 * s3) * p1 + (s3 - s2) * m1

    neg0 = p0 < 0

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        same = (cubic(mid) < 0) == neg0
        return jnp.where(same, mid, lo), jnp.where(same, hi, mid)

    zero = jnp.zeros_like(p0)
    lo, hi = jax.lax.fori_loop(0, jnp.finfo(p0.dtype).nmant + 2, bisect, (zero, zero + 1))
    return 0.5 * (lo + hi)


def _init(land, w0, ts, rtol, atol, threshold, events: bool) -> _State:
    dtype = w0.dtype

    def field(w):
        return velocity(land, w)

    f0 = field(w0)
    h0 = rk.initial_step(field, w0, f0, ts[-1], rtol, atol)
    at_zero = ts <= 0
    idx = jnp.sum(at_zero).astype(jnp.int32)
    saved = jnp.where(at_zero[:, None, None], w0[None], jnp.zeros_like(w0)[None])
    d0 = w0.shape[1]
    if events:
        lam, rate = _spectrum_rate(w0, f0)
    else:
        lam = rate = jnp.zeros((d0,), dtype)
    i0 = jnp.zeros((), jnp.int32)
    return _State(
        t=jnp.zeros((), dtype),
        h=jnp.maximum(h0, jnp.finfo(dtype).tiny),
        y=w0,
        f=f0,
        err_prev=jnp.ones((), dtype),
        idx=idx,
        saved=saved,
        status=jnp.where(idx >= ts.shape[0], _DONE, _RUNNING).astype(jnp.int32),
        n_acc=i0,
        n_rej=i0,
        lam=lam,
        rate=rate,
        t_event=jnp.full((d0,), jnp.inf, dtype),
        found=jnp.zeros((d0,), bool),
        above0=lam > threshold,
    )


def _advance(s: _State, land, ts, limit, rtol, atol, threshold, max_steps, events: bool) -> _State:
    """One attempted step of one point (a no-op once it is done or failed)."""

    def field(w):
        return velocity(land, w)

    n_save = ts.shape[0]
    active = s.status == _RUNNING
    slot = jnp.minimum(s.idx, n_save - 1)
    gap = ts[slot] - s.t
    hit = s.h >= gap
    h = jnp.where(hit, gap, s.h)
    y1, f1, y_err = rk.step(field, s.y, s.f, h)
    err = rk.error_norm(y_err, s.y, y1, rtol, atol)
    ok = jnp.isfinite(err) & (err <= 1.0)
    accept = active & ok
    t1 = jnp.where(hit, ts[slot], s.t + h)
    h_next = rk.next_step(h, err, s.err_prev, ok)
    h_next = jnp.where(hit & ok, jnp.maximum(h_next, s.h), h_next)

    norm2 = jnp.sum(y1 * y1)
    blown = accept & ~(norm2 <= limit)
    accept = accept & ~blown
    stalled = active & ~ok & (h_next <= 16.0 * jnp.finfo(h.dtype).eps * jnp.abs(s.t))
    n_acc = s.n_acc + accept.astype(jnp.int32)
    n_rej = s.n_rej + (active & ~ok).astype(jnp.int32)
    landed = accept & hit
    # A select, not a scatter (vmapped scatters are slow on XLA:CPU).
    into = landed & (jnp.arange(n_save) == slot)
    saved = jnp.where(into[:, None, None], y1[None], s.saved)
    idx = s.idx + landed.astype(jnp.int32)
    failed = blown | stalled | (active & (n_acc + n_rej >= max_steps) & (idx < n_save))
    status = jnp.where(failed, _FAILED, jnp.where(active & (idx >= n_save), _DONE, s.status)).astype(jnp.int32)

    lam, rate, t_event, found = s.lam, s.rate, s.t_event, s.found
    if events:
        lam1, rate1 = _spectrum_rate(y1, f1)
        crossed = accept & ~found & ((lam1 > threshold) != s.above0)
        frac = _hermite_root(lam - threshold, lam1 - threshold, h * rate, h * rate1)
        t_event = jnp.where(crossed, s.t + frac * h, t_event)
        found = found | crossed
        lam, rate = jnp.where(accept, lam1, lam), jnp.where(accept, rate1, rate)

    def pick(new, old):
        return jnp.where(accept, new, old)

    return _State(
        t=pick(t1, s.t),
        h=jnp.where(active, h_next, s.h),
        y=pick(y1, s.y),
        f=pick(f1, s.f),
        err_prev=pick(jnp.maximum(err, 1e-4), s.err_prev),
        idx=idx,
        saved=saved,
        status=status,
        n_acc=n_acc,
        n_rej=n_rej,
        lam=lam,
        rate=rate,
        t_event=t_event,
        found=found,
        above0=s.above0,
    )


def batched_gradient_flow(
    landscape: EffectiveLandscape,
    w0: Any,
    *,
    times: Any,
    threshold: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    max_steps: int = 100_000,
    divergence_factor: float = 1e8,
    block_size: int | None = None,
    devices: Any = None,
) -> BatchedFlow:
    r"""Gradient flow dW/dt = −∇L(W) from each of n initial points, saved at ``times`` (module docstring).

    Args:
        landscape: one landscape shared by every point, or a batch of them (every
            leaf with a leading axis of length n, e.g. from ``jax.vmap`` over a
            (σ², γ) grid; scalar leaves are shared).
        w0: initial weights (n, d1, d0); the flow runs in their dtype.
        times: save times, one-dimensional, ≥ 0 and strictly increasing; the
            flow starts at t = 0 and ends at the last one.
        threshold: θ > 0 for the events (``event_times``), or ``None``.
        rtol, atol: the error tolerances of every step (per point, RMS over the
            entries of W).  Raised to the floors rtol ≥ 64·eps and atol ≥ 1e-12
            as :func:`~landscape.gradient_flow` does.
        max_steps: attempted steps (accepted and rejected) a point may take.
        divergence_factor: see the module docstring.
        block_size: points integrated together (static); each block runs until
            its own slowest point is done.  Default: all points in one block up
            to 512.
        devices: devices to split the points over (``shard_map``); default all
            local devices (e.g. one per core with
            ``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>``).  With a
            threshold, one device (the events' eigendecompositions stay off the
            split: batched LAPACK calls on several XLA:CPU devices can wedge
            their shared thread pool).

    Returns:
        A :class:`BatchedFlow`.
    """
    landscape, w0, shared = _checked_runs(landscape, w0, "batched_gradient_flow")
    n = w0.shape[0]
    dtype = w0.dtype
    ts = _checked_times(times, dtype)
    if threshold is not None:
        check_scalar(threshold, "threshold", low=0.0, low_inclusive=False)
    check_scalar(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_scalar(atol, "atol", low=0.0, low_inclusive=False)
    check_scalar(divergence_factor, "divergence_factor", low=1.0)
    max_steps = int_in_range(max_steps, "max_steps", 1)
    block = int_in_range(512 if block_size is None else block_size, "block_size", 1)
    eps = float(jnp.finfo(dtype).eps)
    rtol = max(float(rtol), 64.0 * eps) if not is_traced(rtol) else rtol
    atol = max(float(atol), 1e-12) if not is_traced(atol) else atol
    if not shared:
        landscape = jax.tree_util.tree_map(
            lambda x: jnp.broadcast_to(x, (n,) + x.shape[x.ndim - _rank(x) :]), landscape
        )
    events = threshold is not None
    thr = jnp.asarray(threshold if events else 0.0, dtype)
    devices = tuple(jax.local_devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must name at least one device")
    devices = devices[:1] if events else devices[: -(-n // 8)]  # at least 8 points per device
    kernel = choose_kernel(landscape)
    args = (jnp.asarray(rtol, dtype), jnp.asarray(atol, dtype), thr, jnp.asarray(divergence_factor, dtype))
    block = min(block, -(-n // len(devices)))
    return _run(
        landscape, kernel.ops, kernel.basis, w0, ts, *args, max_steps, shared, block, events, devices, kernel.kind
    )


def _rank(x: jax.Array) -> int:
    """The per-point rank of a landscape leaf: 2 for B and Σ, 0 for k and γ."""
    return 2 if x.ndim >= 2 else 0


def _checked_times(times: Any, dtype) -> jax.Array:
    if is_traced(times):
        return jnp.asarray(times, dtype)
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"times must be a non-empty 1-D array of save times; got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite")
    if t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"times must be >= 0 and strictly increasing; got {t.tolist()[:6]}")
    return jnp.asarray(t, dtype)


@functools.partial(jax.jit, static_argnums=tuple(range(9, 15)))
def _run(landscape, ops, basis, w0, ts, rtol, atol, thr, factor, max_steps, shared, block, events, devices, kind):
    n, d1, _ = w0.shape
    if kind == DIAGONAL:
        bound = (
            _diagonal_norm_bound(landscape, d1)
            if shared
            else jax.vmap(lambda lnd: _diagonal_norm_bound(lnd, d1))(landscape)
        )
    elif shared:
        bound = stationary_norm_bound(landscape, d1)
    else:
        bound = jax.vmap(lambda land: _norm2_bound(land, d1))(landscape)
    limit = factor * (1.0 + jnp.sum(w0 * w0, axis=(1, 2)) + _finite_bound(bound))
    w_in = w0 @ basis if kind == ROTATED else w0
    pad = (-n) % (block * len(devices))

    def padded(x):
        return jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x

    ops = ops if shared else jax.tree_util.tree_map(padded, ops)

    def local(lands, w, lim):
        return _blocks(lands, w, lim, ts, rtol, atol, thr, max_steps, shared, block, events)

    if len(devices) == 1:
        out = local(ops, padded(w_in), padded(limit))
    else:
        runs, whole = jax.sharding.PartitionSpec("runs"), jax.sharding.PartitionSpec()
        out = jax.shard_map(
            local,
            mesh=jax.sharding.Mesh(np.array(devices), ("runs",)),
            in_specs=(whole if shared else runs, runs, runs),
            out_specs=runs,
            check_vma=False,
        )(ops, padded(w_in), padded(limit))
    out = jax.tree_util.tree_map(lambda x: x[:n], out)
    if kind == ROTATED:  # back from the common eigenbasis: W = V Uᵀ
        back = jnp.swapaxes(basis, -1, -2)
        out = out._replace(y=out.y @ back, saved=out.saved @ (back if shared else back[:, None]))
    return _result(landscape, out, ts, shared, events)


def _blocks(ops, w0, limit, ts, rtol, atol, thr, max_steps: int, shared: bool, block: int, events: bool) -> _State:
    """One device's points, ``block`` at a time, each block in one while loop until its slowest point is done."""
    m = w0.shape[0]

    def split(x):
        return x.reshape((m // block, block) + x.shape[1:])

    axis = None if shared else 0

    def one_block(args):
        land, w, lim = args
        state = jax.vmap(lambda lnd, wi: _init(lnd, wi, ts, rtol, atol, thr, events), in_axes=(axis, 0))(land, w)

        def body(s):
            return jax.vmap(
                lambda si, lnd, li: _advance(si, lnd, ts, li, rtol, atol, thr, max_steps, events),
                in_axes=(0, axis, 0),
            )(s, land, lim)

        return jax.lax.while_loop(lambda s: jnp.any(s.status == _RUNNING), body, state)

    if shared:
        out = jax.lax.map(lambda a: one_block((ops, a[0], a[1])), (split(w0), split(limit)))
    else:
        out = jax.lax.map(one_block, (jax.tree_util.tree_map(split, ops), split(w0), split(limit)))
    return jax.tree_util.tree_map(lambda x: x.reshape((m,) + x.shape[2:]), out)


def _finite_bound(x: jax.Array) -> jax.Array:
    return jnp.where(jnp.isfinite(x) & (x > 0), x, 0.0)


def _result(landscape, s: _State, ts, shared: bool, events: bool) -> BatchedFlow:
    n_save = ts.shape[0]
    failed = s.status == _FAILED
    unreached = jnp.arange(n_save)[None, :] >= s.idx[:, None]
    weights = jnp.where(unreached[:, :, None, None], s.y[:, None], s.saved)
    losses = jax.vmap(lambda land, w: jax.vmap(lambda wi: loss(land, wi))(w), in_axes=(None if shared else 0, 0))(
        landscape, weights
    )
    return BatchedFlow(
        times=ts,
        weights=weights,
        loss=losses,
        gram_eigenvalues=jax.vmap(jax.vmap(gram_spectrum))(weights),
        event_times=s.t_event if events else None,
        diverged=failed,
        diverged_step=jnp.where(failed, s.idx, -1).astype(jnp.int32),
        n_steps=s.n_acc,
        n_rejected=s.n_rej,
    )
