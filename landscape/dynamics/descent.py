"""Discrete training: random initialisation and gradient descent with an optax optimizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike, DTypeLike

from landscape.core.effective_landscape import EffectiveLandscape, gradient, loss
from landscape.core.solution import DEFAULT_RANK_RTOL, Solution, gram_spectrum, solution_from_weights
from landscape.core.spectrum import stationary_norm_bound
from landscape.core.validation import require_memory
from landscape.dynamics._checks import (
    check_descends,
    check_scalar,
    check_weights,
    descent_options,
    in_dtype,
    int_in_range,
)

__all__ = ["random_init", "gradient_descent"]


def random_init(
    key: jax.Array, out_dim: int, dim: int, scale: float = 1e-3, dtype: DTypeLike | None = None
) -> jax.Array:
    """W₀ = scale · N(0, 1) of shape (out_dim, dim).

    ``dtype`` defaults to JAX's default float (float64 with x64 enabled).  A small
    ``scale`` starts near the saddle at the origin, as in the paper's experiments;
    it must be > 0 (W₀ = 0 is a stationary point that training never leaves).

    >>> import jax
    >>> random_init(jax.random.PRNGKey(1), 2, 3).shape
    (2, 3)
    """
    out_dim = int_in_range(out_dim, "out_dim", 1)
    dim = int_in_range(dim, "dim", 1)
    check_scalar(scale, "scale", low=0.0, low_inclusive=False)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    require_memory(4.0 * out_dim * dim * dtype.itemsize, "out_dim")
    return jnp.asarray(scale, dtype) * jax.random.normal(key, (out_dim, dim), dtype)


# ---------------------------------------------------------------- gradient descent
def gradient_descent(
    landscape: EffectiveLandscape,
    w0: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    steps: int,
    save_every: int | None = None,
    rank_rtol: float = DEFAULT_RANK_RTOL,
    divergence_factor: float = 1e8,
) -> Solution:
    r"""Discrete training W_{s+1} = W_s + optimizer(∇L(W_s)) for ``steps`` steps.

    The gradient is the analytic :func:`~landscape.gradient`; the loop is a
    ``jax.lax.scan`` over chunks of ``save_every`` steps (itself a scan), so the
    spectrum is computed only at save points.  Save points are the step indices
    0, save_every, 2·save_every, …, and ``steps`` (the last one is added when
    ``steps`` is not a multiple).  ``save_every=None`` saves about 100 points.

    **Divergence.**  Step s (1-based: the update that produced W_s) *diverges*
    when W_s is not finite (then neither is L(W_s)), or when

        ‖W_s‖²_F > divergence_factor · (1 + ‖W₀‖²_F + N),

    where N = r·λ_max⁺/(2k·s_min) bounds ‖W‖²_F at every stationary point
    (:func:`~landscape.core.spectrum.stationary_norm_bound`: one eigendecomposition,
    no closed form, so training stays an independent check of the theory).  The
    landscape is coercive (quartic growth): a run that descends stays in the
    sublevel set of L(W₀), whose size is set by ‖W₀‖, N and the conditioning of
    Σ, and an unstable
    run that settles on an oscillation stays of the same order.  A squared norm
    10⁸ times that scale is a run escaping to infinity (with the quartic
    gradient it overflows a few steps later).  From the first diverged step on,
    W and the optimizer state are frozen at the last good iterate, so every
    returned field is finite; ``diverged`` is True and ``diverged_step`` = s
    (−1 when the run never diverged).

    ``steps`` and ``save_every`` must be static under ``jit``; the learning rate
    may be traced (build the optimizer inside the jitted / vmapped function).
    The run is carried out in the dtype of ``w0`` (the landscape is cast to it).

    Returns:
        A :class:`~landscape.Solution` at the final (or frozen) W, with
        ``times`` (int32 step indices, (n_save,)), ``trajectory_eigenvalues``
        ((n_save, d0), descending), ``trajectory_loss`` ((n_save,)),
        ``diverged`` (bool) and ``diverged_step`` (int32).

    >>> import jax, optax
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0], [0.0]), "infonce")
    >>> w0 = jax.numpy.full((1, 1), 0.01)
    >>> run = gradient_descent(land, w0, optimizer=optax.sgd(0.1), steps=400, save_every=100)
    >>> [int(t) for t in run.times], round(float(run.gram_eigenvalues[0]), 6)   # b/(2 s²) = 1/4
    ([0, 100, 200, 300, 400], 0.25)
    >>> bad = gradient_descent(land, w0, optimizer=optax.sgd(5.0), steps=400)
    >>> bool(bad.diverged), int(bad.diverged_step)
    (True, 4)
    """
    w0 = check_weights(w0, landscape, "gradient_descent")
    landscape = in_dtype(landscape, w0.dtype)
    steps, save_every = descent_options(steps, save_every, rank_rtol, divergence_factor)

    out_dim = w0.shape[0]
    limit = divergence_factor * (1.0 + jnp.sum(w0 * w0) + stationary_norm_bound(landscape, out_dim))
    w, diverged, div_step, times, (eigs, losses) = descend(
        w0,
        lambda w: gradient(landscape, w),
        optimizer,
        steps,
        save_every,
        limit,
        lambda w: (gram_spectrum(w), loss(landscape, w)),
    )
    return solution_from_weights(
        landscape,
        w,
        rank_rtol=rank_rtol,
        times=times,
        trajectory_eigenvalues=eigs,
        trajectory_loss=losses,
        diverged=diverged,
        diverged_step=div_step,
    )


def squared_norm(params: Any) -> jax.Array:
    """Σ over the leaves of a parameter pytree of the squared entries (‖W‖²_F + ‖b‖²)."""
    return jnp.asarray(sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(params)))


def descend(
    params0: Any,
    field: Callable,
    optimizer: optax.GradientTransformation,
    steps: int,
    save_every: int,
    limit: ArrayLike,
    record: Callable,
    retract: Callable | None = None,
) -> tuple[Any, jax.Array, jax.Array, jax.Array, Any]:
    """The training loop shared by the descent routes: ``steps`` optimizer steps as nested scans.

    Each step feeds ``field(p)`` (the gradient, or a projected gradient) to the
    optax ``optimizer`` and applies the update, then ``retract`` (if given) maps
    the result back onto a constraint set.  A step whose squared parameter norm
    is non-finite or above ``limit`` is divergence: from then on the parameters
    and optimizer state stay at the last good iterate.  ``record(p)`` is
    evaluated at the step indices 0, save_every, 2·save_every, … and ``steps``.

    Returns (params, diverged, diverged_step, times, records) with ``records``
    the stacked outputs of ``record``.  With concrete input an optimizer whose
    first step does not descend (a learning rate ≤ 0) is refused
    (:func:`~landscape.dynamics._checks.check_descends`).
    """
    check_descends(optimizer, params0, field(params0))

    def one_step(carry, _):
        p, opt_state, diverged, div_step, count = carry
        updates, new_state = optimizer.update(field(p), opt_state, p)
        p_new = optax.apply_updates(p, updates)
        if retract is not None:
            p_new = retract(p_new)
        # The squared norm is NaN or inf as soon as one entry is, so one
        # comparison catches non-finite parameters and runaway norms.
        bad = ~(squared_norm(p_new) <= limit)
        stop = diverged | bad
        keep = lambda old, new: jnp.where(stop, old, new)  # noqa: E731
        p = jax.tree_util.tree_map(keep, p, p_new)
        opt_state = jax.tree_util.tree_map(keep, opt_state, new_state)
        div_step = jnp.where(bad & ~diverged, count + 1, div_step)
        return (p, opt_state, stop, div_step, count + 1), None

    def chunk(length):
        def body(carry, _):
            carry, _ = jax.lax.scan(one_step, carry, None, length=length)
            return carry, record(carry[0])

        return body

    carry = (
        params0,
        optimizer.init(params0),
        jnp.asarray(False),
        jnp.asarray(-1, jnp.int32),
        jnp.asarray(0, jnp.int32),
    )
    n_chunks, rest = divmod(steps, save_every)
    first = record(params0)
    carry, records = jax.lax.scan(chunk(save_every), carry, None, length=n_chunks)
    records = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, records)
    times = np.arange(n_chunks + 1) * save_every
    if rest:
        carry, last = chunk(rest)(carry, None)
        records = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b[None]]), records, last)
        times = np.append(times, steps)
    p, _, diverged, div_step, _ = carry
    return p, diverged, div_step, jnp.asarray(times, jnp.int32), records
