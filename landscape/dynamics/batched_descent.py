r"""Gradient descent (plain or heavy ball) on many weight matrices at once, at matrix-multiply speed, on every local device.

One step of plain GD with step η is, with M = B − γI,

    W − η∇L(W) = W − η(−2WM + 4k·(WΣWᵀ)·WΣ) = W·P − 4kη·S·(WΣ),
    P = I + 2ηM,   S = (WΣ)Wᵀ,

so a step is four matrix products (W·Σ, W·P, (WΣ)·Wᵀ, S·(WΣ): 4·d1·d0² + 4·d1²·d0
flops, 8d³ for d1 = d0 = d) and one fused multiply-subtract, with the
scalings folded into P and 4kη once per run.  :func:`batched_gradient_descent`
runs n such problems as one batched program and splits the batch across all
local devices (``shard_map``): on a CPU started with
``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>`` each core gets its
share, which is what makes the small d×d products of the batch use the whole
machine.  It computes the same iterates as :func:`~landscape.gradient_descent`
with ``optax.sgd(η)`` (the tests check this) and is the route for throughput:
fixed-step sweeps over many initialisations or grid points.  With ``momentum``
β > 0 it is heavy ball, u ← βu + η∇L(W), W ← W − u, where η∇L(W) = W − (W·P −
4kη·S·(WΣ)): the iterates of ``optax.sgd(η, momentum=β)``.  With
``nesterov_restart`` it is Nesterov's accelerated gradient with adaptive
(gradient) restart (O'Donoghue & Candès, 2015): the momentum grows on the
schedule θ_{t+1} = (1 + √(1 + 4θ_t²))/2 and is reset whenever it points uphill,
which needs no knowledge of the curvature and converges far faster than GD or
fixed heavy ball near collapse thresholds, where the smallest curvature goes to
zero (the loss then decays algebraically under GD).  ``momentum_state`` carries
the method's state from one call to the next, so a long run can be cut into
chunks (e.g. to retire converged runs) without restarting it.

For diagonal landscapes (``assume_diagonal``, e.g. every problem built from
diagonal variances with isotropic augmentation) W·Σ and W·P are column
scalings and a step costs two batched products instead of four.

**Divergence** is tested every ``check_every`` steps: a run whose ‖W‖²_F is not
finite or exceeds ``divergence_factor``·(1 + ‖W₀‖² + N) is frozen at its last good checked iterate and reported with the
check's step.  N bounds ‖W‖² at every stationary point without the closed form:
r·λ_max⁺/(2k·s_min) (:func:`~landscape.core.spectrum.stationary_norm_bound`) for a
shared landscape or a diagonal one (from the diagonals), and
for a batch of landscapes the bound d1·λ_max(B − γI)⁺/(2k·λ_min(Σ)²), estimated
by power iterations (matrix products only, safe to split over devices).
``check_every=1`` gives the exact step (like
``gradient_descent``); a larger value trades that resolution for speed (the
check and the freeze are two passes over W per check).

**A separate kernel by design.**  Every other route that trains a landscape goes
through :func:`landscape.dynamics.descent.descend` (one optax optimizer, one
parameter pytree, save points).  This kernel is not an optax loop: it folds the
step into P = I + 2η(B − γI) and 4kη once per run, advances blocks of runs
through fused matrix products without any per-step optimizer state or
recording, and shards the batch over devices; the tests check that it computes
the iterates of ``descend`` with ``optax.sgd``.

Example:
    >>> import jax, jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([3.0, 1.0], [1.0, 1.0]), "infonce")
    >>> w0 = 1e-3 * jax.random.normal(jax.random.PRNGKey(0), (4, 2, 2))
    >>> lr = jnp.array([0.05, 0.05, 0.05, 5.0])              # the last one is unstable
    >>> run = ls.batched_gradient_descent(land, w0, lr=lr, steps=3000)
    >>> [round(float(v), 9) for v in run.loss[:3]], round(float(ls.global_minimum(land, 2).loss), 9)
    ([-0.203125, -0.203125, -0.203125], -0.203125)
    >>> run.diverged.tolist(), int(run.diverged_step[3]) > 0, bool(jnp.isfinite(run.weights).all())
    ([False, False, False, True], True, True)
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from landscape.core.effective_landscape import EffectiveLandscape, loss, require_landscape
from landscape.core.linalg import is_traced
from landscape.core.spectrum import stationary_norm_bound
from landscape.dynamics._checks import check_finite_weights, check_scalar, int_in_range
from landscape.dynamics.nesterov_restart import restart_schedule

__all__ = ["BatchedDescent", "batched_gradient_descent"]


class BatchedDescent(NamedTuple):
    """Final state of n runs of gradient descent (plain or heavy ball).

    Attributes:
        weights: W of each run after ``steps`` steps, or its last good checked iterate (n, d1, d0).
        loss: L(W) of each run (n,).
        diverged: whether the run diverged (n,).
        diverged_step: the checked step at which it was first found diverged, −1 if never (n,), int32.
        momentum_state: what the method carries besides W after the last step: ``None`` for
            plain GD, u = η·v (n, d1, d0) for heavy ball, (y (n, d1, d0), θ (n,)) for
            ``nesterov_restart``.  Passing it back as ``momentum_state=`` (with ``weights`` as
            ``w0``) continues the same runs as if they had never stopped.
    """

    weights: jax.Array
    loss: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array
    momentum_state: Any = None


def _step_operators(landscape: EffectiveLandscape, lr: jax.Array):
    """(P = I + 2η(B − γI), c = 4kη) for one run."""
    eye = jnp.eye(landscape.dim, dtype=landscape.b.dtype)
    return eye + 2.0 * lr * landscape.b_eff, 4.0 * landscape.quartic * lr


def _norm2_bound(landscape: EffectiveLandscape, out_dim: int, iterations: int = 64) -> jax.Array:
    """An estimate of the bound ‖W*‖²_F ≤ d1·λ_max(B − γI)⁺ / (2k·λ_min(Σ)²) by power iterations.

    Matrix products only (no LAPACK call): a batch of eigendecompositions split
    over several XLA:CPU devices can wedge their shared thread pool, so the
    per-run divergence scale avoids them.  Power iteration approaches λ_max(B)
    from below and λ_min(Σ) from above, so this slightly underestimates the
    bound; the divergence test multiplies it by ``divergence_factor`` (1e8).
    """
    sigma, b = landscape.sigma, landscape.b_eff
    d0 = sigma.shape[-1]
    shift = jnp.trace(sigma)
    v0 = jnp.ones((d0,), sigma.dtype) + jnp.arange(d0, dtype=sigma.dtype) / d0

    def top(m):
        def body(_, v):
            v = m @ v
            return v / jnp.maximum(jnp.linalg.norm(v), jnp.finfo(v.dtype).tiny)

        v = jax.lax.fori_loop(0, iterations, body, v0 / jnp.linalg.norm(v0))
        return v @ (m @ v)

    b_shift = jnp.linalg.norm(b)  # ≥ every |eigenvalue|: B + shift·I is PSD
    eye = jnp.eye(d0, dtype=sigma.dtype)
    b_top = jnp.maximum(top(b + b_shift * eye) - b_shift, 0.0)
    s_min = shift - top(shift * eye - sigma)
    s_min = jnp.maximum(s_min, jnp.finfo(sigma.dtype).eps * shift)
    return out_dim * b_top / (2.0 * landscape.quartic * s_min * s_min)


def _diagonal_norm_bound(landscape: EffectiveLandscape, out_dim: int) -> jax.Array:
    """:func:`~landscape.core.spectrum.stationary_norm_bound` of a diagonal landscape, from its diagonals.

    λ_i = (b_i − γ)/s_i, so the bound is r·max(λ_i)⁺/(2k·min s_i), r = min(d1, d0): no eigendecomposition.
    """
    b, s = jnp.diagonal(landscape.b_eff), jnp.diagonal(landscape.sigma)
    r = min(int(out_dim), s.shape[-1])
    return r * jnp.maximum(jnp.max(b / s), 0.0) / (2.0 * landscape.quartic * jnp.min(s))


def _dot(w: jax.Array, m: jax.Array, per_run: bool) -> jax.Array:
    """W_i·M for every run i, with one M for all runs or one per run; a diagonal M is
    given by its diagonal (one dimension less) and applied as a column scaling."""
    if m.ndim == (2 if per_run else 1):
        return w * (m[:, None, :] if per_run else m[None, None, :])
    return jnp.einsum("nij,njk->nik", w, m) if per_run else jnp.einsum("nij,jk->nik", w, m)


def _runs_block(state, sigma, p, c, limit, steps: int, check_every: int, per_run: bool, momentum: float, restart: bool):
    """The loop on one block of runs: W (m, d1, d0), c and limit (m,); sigma and p shared (d0, d0) or
    per run (m, d0, d0).  Shared ones make W·Σ and W·P single (m·d1)×d0 by d0×d0 GEMMs.  The state
    is W for plain GD; (W, u) with u = η·v for heavy ball (u ← βu + η∇L, W ← W − u); (x, y, θ)
    for Nesterov's method with adaptive restart (``restart``)."""

    def descent(w):
        ws = _dot(w, sigma, per_run)
        s = jnp.einsum("nij,nkj->nik", ws, w)
        return _dot(w, p, per_run) - c[:, None, None] * jnp.einsum("nij,njk->nik", s, ws)

    def step(state, _):
        if restart:
            x, y, theta = state
            x_new = descent(y)  # y − η∇L(y)
            # Restart where the step y → x_new (= −η∇L(y)) has a positive component
            # along the last move x → x_new, i.e. where the momentum points uphill.
            uphill = jnp.sum((y - x_new) * (x_new - x), axis=(1, 2)) > 0
            beta, theta_new = restart_schedule(theta, uphill)
            return (x_new, x_new + beta[:, None, None] * (x_new - x), theta_new), None
        if momentum == 0.0:
            return descent(state), None
        w, u = state
        u = momentum * u + (w - descent(w))  # w − descent(w) = η∇L(w)
        return (w - u, u), None

    def weights(state):
        return state if (momentum == 0.0 and not restart) else state[0]

    def chunk(length):
        def body(carry, _):
            state, diverged, div_step, count = carry
            new = jax.lax.scan(step, state, None, length=length, unroll=length <= 16)[0]
            count = count + length
            w_new = weights(new)
            bad = ~(jnp.sum(w_new * w_new, axis=(1, 2)) <= limit)
            stop = diverged | bad

            def keep(old, x):
                return jnp.where(stop.reshape(stop.shape + (1,) * (x.ndim - 1)), old, x)

            state = jax.tree_util.tree_map(keep, state, new)
            div_step = jnp.where(bad & ~diverged, count, div_step)
            return (state, stop, div_step, count), None

        return body

    # Built from `limit` so that, under shard_map, they vary over the device axis like the runs do.
    never = limit < 0
    carry = (state, never, jnp.where(never, 0, -1).astype(jnp.int32), jnp.asarray(0, jnp.int32))
    n_chunks, rest = divmod(steps, check_every)
    carry = jax.lax.scan(chunk(check_every), carry, None, length=n_chunks)[0]
    if rest:
        carry = chunk(rest)(carry, None)[0]
    state, diverged, div_step, _ = carry
    return state, diverged, div_step


def _runs(
    state, sigma, p, c, limit, steps: int, check_every: int, per_run: bool, block: int, momentum: float, restart: bool
):
    """One device's share, ``block`` runs at a time: each block takes all its steps while its
    working set (W, WΣ, WP, S of ``block`` runs) stays in cache, then the next block starts."""
    m = limit.shape[0]
    n_blocks = m // block

    def split(x):
        return x.reshape((n_blocks, block) + x.shape[1:])

    def one(args):
        sb_state, sb, pb, cb, lb = args
        return _runs_block(sb_state, sb, pb, cb, lb, steps, check_every, per_run, momentum, restart)

    blocks = jax.tree_util.tree_map(split, state)
    if per_run:
        out = jax.lax.map(one, (blocks, split(sigma), split(p), split(c), split(limit)))
    else:
        out = jax.lax.map(lambda a: one((a[0], sigma, p, a[1], a[2])), (blocks, split(c), split(limit)))
    return jax.tree_util.tree_map(lambda x: x.reshape((m,) + x.shape[2:]), out)


def batched_gradient_descent(
    landscape: EffectiveLandscape,
    w0: Any,
    *,
    lr: Any,
    steps: int,
    check_every: int = 1,
    momentum: float = 0.0,
    divergence_factor: float = 1e8,
    devices: Any = None,
    block_size: int | None = None,
    nesterov_restart: bool = False,
    momentum_state: Any = None,
    assume_diagonal: bool = False,
) -> BatchedDescent:
    r"""``steps`` GD steps W ← W − η∇L(W) (or heavy-ball or Nesterov steps) for each of n runs (module docstring).

    Args:
        landscape: one landscape shared by every run, or a batch of them (every
            leaf with a leading axis of length n, e.g. from ``jax.vmap``).
        w0: initial weights, (n, d1, d0).
        lr: step η > 0, a scalar or one per run (n,).
        steps: number of steps (static).
        check_every: steps between divergence checks (static); 1 = exact step.
        momentum: heavy-ball coefficient β ∈ [0, 1) (static); the iterates are
            those of ``optax.sgd(lr, momentum=β)``.  0 (default) is plain GD.
        divergence_factor: see the module docstring.
        devices: devices to split the batch over; default all local devices.
            The batch is padded to a multiple of their number (padding runs are
            copies of the last one and are dropped).
        block_size: runs advanced together on a device (static); each block
            takes all its steps before the next starts, so its working set stays
            in cache.  Default: as many runs as fit W in 128 KiB (32 at d = 32 in
            float32, 1 at d = 128 in float64).  Padding as for ``devices``.
        nesterov_restart: Nesterov's accelerated gradient with adaptive restart
            instead of plain GD or heavy ball (static; needs ``momentum=0``):
            x ← y − η∇L(y), y ← x + β_t·(x − x_prev) with β_t = (θ_t − 1)/θ_{t+1},
            θ_{t+1} = (1 + √(1 + 4θ_t²))/2, and θ reset to 1 (β = 0) in a run
            whenever ⟨∇L(y), x − x_prev⟩ > 0 (the momentum points uphill).
            ``weights`` and ``loss`` are those of x.
        momentum_state: the ``momentum_state`` of an earlier result, to continue
            its runs (heavy ball or ``nesterov_restart`` with the same settings);
            default: start at rest (u = 0; y = W₀, θ = 1).
        assume_diagonal: B and Σ of every run are diagonal (static), as for a
            problem from ``Problem.from_diagonal``: W·Σ and W·(I + 2η(B − γI))
            are then column scalings, and a step costs the two products
            S = (WΣ)Wᵀ and S·(WΣ) (4·d1²·d0 flops) instead of four.  The steps use
            only the diagonals; concrete inputs with a non-zero off-diagonal
            entry are refused, traced ones are taken on trust.

    Returns:
        A :class:`BatchedDescent`.
    """
    landscape, w0, shared = _checked_runs(landscape, w0)
    n, d1, d0 = w0.shape
    dtype = w0.dtype
    steps = int_in_range(steps, "steps", 1)
    check_every = int_in_range(check_every, "check_every", 1, steps)
    check_scalar(divergence_factor, "divergence_factor", low=1.0)
    lr_in = lr
    lr = _checked_lr(lr, n, dtype)
    devices = list(jax.local_devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must name at least one device")
    # One landscape and one step for all runs: Σ and P are shared (the fast path).
    uniform = shared and (jnp.ndim(lr_in) == 0)
    if block_size is None:
        block_size = max(1, (128 * 1024) // (d1 * d0 * jnp.dtype(dtype).itemsize))
    block_size = int_in_range(block_size, "block_size", 1)
    check_scalar(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
    momentum = float(momentum)
    nesterov_restart = bool(nesterov_restart)
    if nesterov_restart and momentum != 0.0:
        raise ValueError(f"nesterov_restart sets its own momentum: leave momentum at 0 (got momentum={momentum})")
    block = min(block_size, -(-n // len(devices)))
    assume_diagonal = bool(assume_diagonal)
    if assume_diagonal:
        _check_diagonal(landscape, d0)
    if momentum_state is None:
        if nesterov_restart:
            momentum_state = (w0, jnp.ones((n,), dtype))
        elif momentum > 0.0:
            momentum_state = jnp.zeros_like(w0)
    else:
        momentum_state = _checked_momentum_state(momentum_state, w0, momentum, nesterov_restart)
    return _run(
        landscape,
        w0,
        momentum_state,
        lr,
        jnp.asarray(divergence_factor, dtype),
        steps,
        check_every,
        shared,
        uniform,
        tuple(devices),
        block,
        momentum,
        nesterov_restart,
        assume_diagonal,
    )


def _checked_runs(landscape: EffectiveLandscape, w0: Any, where: str = "batched_gradient_descent"):
    """(landscape in w0's dtype, w0, shared): the checked batch of runs; ``shared`` when one landscape serves all."""
    require_landscape(landscape, where)
    w0 = jnp.asarray(w0)
    if w0.ndim != 3:
        raise ValueError(f"w0 must be a batch of weight matrices (n, out_dim, dim); got shape {w0.shape}")
    if not jnp.issubdtype(w0.dtype, jnp.floating):
        raise ValueError(f"w0 must be a floating-point array, got dtype {w0.dtype}")
    n, d1, d0 = w0.shape
    if n < 1:
        raise ValueError("w0 must hold at least one run (n >= 1)")
    check_finite_weights(w0, "w0")
    landscape = jax.tree_util.tree_map(lambda x: jnp.asarray(x, w0.dtype), landscape)
    shared = landscape.b.ndim == 2
    if landscape.sigma.shape[-1] != d0:
        raise ValueError(
            f"w0 must have {landscape.sigma.shape[-1]} columns (the landscape's dim), got shape {w0.shape}"
        )
    if not shared and landscape.b.shape[0] != n:
        raise ValueError(f"a batched landscape must have one entry per run: {landscape.b.shape[0]} != n = {n}")
    return landscape, w0, shared


def _checked_lr(lr: Any, n: int, dtype) -> jax.Array:
    """The step of each run, (n,), refused unless finite and > 0 (when concrete)."""
    lr = jnp.broadcast_to(jnp.asarray(lr, dtype), (n,)) if jnp.ndim(lr) == 0 else jnp.asarray(lr, dtype)
    if lr.shape != (n,):
        raise ValueError(f"lr must be a scalar or have one entry per run ({n},); got shape {lr.shape}")
    if not is_traced(lr) and not bool(np.all(np.asarray(lr) > 0) and np.all(np.isfinite(np.asarray(lr)))):
        raise ValueError("lr must be finite and > 0 in every run")
    return lr


def _check_diagonal(landscape: EffectiveLandscape, d0: int) -> None:
    """Refuse ``assume_diagonal`` for a concrete B or Σ with a non-zero off-diagonal entry."""
    for name, m in (("b", landscape.b), ("sigma", landscape.sigma)):
        if not is_traced(m):
            off = np.asarray(m) * (1.0 - np.eye(d0))
            if np.any(off != 0):
                raise ValueError(
                    f"assume_diagonal=True but landscape.{name} has non-zero off-diagonal "
                    f"entries (largest {np.max(np.abs(off)):.3g})"
                )


def _checked_momentum_state(state: Any, w0: jax.Array, momentum: float, restart: bool):
    """``state`` as arrays of w0's dtype, refused unless it fits the method and the batch."""
    n = w0.shape[0]
    if restart:
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ValueError("momentum_state for nesterov_restart must be the pair (y, theta) of an earlier run")
        y, theta = jnp.asarray(state[0], w0.dtype), jnp.asarray(state[1], w0.dtype)
        if y.shape != w0.shape or theta.shape != (n,):
            raise ValueError(
                f"momentum_state (y, theta) must have shapes {w0.shape} and ({n},); got {y.shape} and {theta.shape}"
            )
        return y, theta
    if momentum == 0.0:
        raise ValueError(
            "momentum_state is only for heavy ball (momentum > 0) or nesterov_restart; "
            "plain GD carries no state besides W"
        )
    u = jnp.asarray(state, w0.dtype)
    if u.shape != w0.shape:
        raise ValueError(f"momentum_state (heavy-ball velocity) must have shape {w0.shape}; got {u.shape}")
    return u


@functools.partial(jax.jit, static_argnums=(5, 6, 7, 8, 9, 10, 11, 12, 13))
def _run(
    landscape,
    w0,
    extra,
    lr,
    factor,
    steps: int,
    check_every: int,
    shared: bool,
    uniform: bool,
    devices: tuple,
    block: int,
    momentum: float,
    restart: bool,
    diagonal: bool,
):
    n, d1, _ = w0.shape
    if shared:
        p, c = jax.vmap(lambda e: _step_operators(landscape, e))(lr)
    else:
        p, c = jax.vmap(_step_operators)(landscape, lr)
    sigma_in = landscape.sigma
    if diagonal:
        # Σ and P = I + 2η(B − γI) by their diagonals: column scalings (see _dot).
        sigma_in, p = (jnp.diagonal(x, axis1=-2, axis2=-1) for x in (landscape.sigma, p))

        def norm2(land):  # the stationary-point bound from the diagonals
            return _diagonal_norm_bound(land, d1)

        w_star2 = norm2(landscape) if shared else jax.vmap(norm2)(landscape)
    elif shared:
        w_star2 = stationary_norm_bound(landscape, d1)
    else:
        w_star2 = jax.vmap(lambda land: _norm2_bound(land, d1))(landscape)
    limit = factor * (1.0 + jnp.sum(w0 * w0, axis=(1, 2)) + w_star2)
    n_dev = len(devices)
    pad = (-n) % (n_dev * block)

    def padded(x):
        return jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x

    if uniform:
        sigma, p = sigma_in, p[0]
    else:
        sigma = jnp.broadcast_to(sigma_in, p.shape) if shared else sigma_in
        sigma, p = padded(sigma), padded(p)
    # The loop's state: W, (W, u) or (x, y, θ).
    state = w0 if extra is None else ((w0,) + tuple(extra) if restart else (w0, extra))
    args = (jax.tree_util.tree_map(padded, state), sigma, p, padded(c), padded(limit))

    def local(st, sig, p_local, c_local, lim):
        return _runs(st, sig, p_local, c_local, lim, steps, check_every, not uniform, block, momentum, restart)

    if n_dev == 1:
        state, diverged, div_step = local(*args)
    else:
        mesh = Mesh(np.array(devices), ("runs",))
        runs = PartitionSpec("runs")
        state, diverged, div_step = jax.shard_map(
            local,
            mesh=mesh,
            in_specs=(runs, PartitionSpec() if uniform else runs, PartitionSpec() if uniform else runs, runs, runs),
            out_specs=(runs, runs, runs),
        )(*args)
    state = jax.tree_util.tree_map(lambda x: x[:n], state)
    diverged, div_step = diverged[:n], div_step[:n]
    if extra is None:
        w, extra = state, None
    else:
        w, extra = state[0], (tuple(state[1:]) if restart else state[1])
    losses = jax.vmap(loss, in_axes=(None if shared else 0, 0))(landscape, w)
    return BatchedDescent(weights=w, loss=losses, diverged=diverged, diverged_step=div_step, momentum_state=extra)
