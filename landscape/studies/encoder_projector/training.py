r"""Training (W1, W2) of the encoder/projector model: gradient descent and the gradient flow.

:func:`two_layer_descent` takes discrete steps (the shared loop
:func:`~landscape.dynamics.descent.descend` with ``optax.sgd``, or a safeguarded
step-halving loop), :func:`two_layer_flow` integrates the flow with diffrax
(adaptive Runge–Kutta).  Without weight decay the layers' imbalance
W1W1ᵀ − W2ᵀW2 is conserved by the flow; with weight decay γ it decays as
e^{−4γt}.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import diffrax
import jax
import jax.numpy as jnp

from landscape.core.linalg import is_traced
from landscape.core.problem import Problem
from landscape.studies.encoder_projector.model import (
    TwoLayerWeights,
    _check_init,
    _positive_int,
    layer_gram_gap,
    two_layer_loss,
)
from landscape.studies.plain_descent import sgd_descent

__all__ = ["TwoLayerRun", "default_learning_rate", "two_layer_descent", "two_layer_flow"]


class TwoLayerRun(NamedTuple):
    """Result of a training run of (W1, W2).

    Attributes:
        weights: final (W1, W2).
        loss: final loss (including weight decay).
        times: save times (flow time; for gradient descent, lr × step).
        trajectory_loss: loss at the save times.
        trajectory_imbalance: ‖W1W1ᵀ − W2ᵀW2‖_F at the save times.
        diverged: whether a non-finite value appeared (gradient descent then stops at the
            last finite iterate).
    """

    weights: TwoLayerWeights
    loss: jax.Array
    times: jax.Array
    trajectory_loss: jax.Array
    trajectory_imbalance: jax.Array
    diverged: jax.Array


def default_learning_rate(problem: Problem, base: float = 0.02) -> jax.Array:
    r"""The spec's step size: base / max(1, λ_max(Σ_x)/3)² (traceable).

    The curvature of the quartic term grows like λ_max(Σ_x)², hence the square.

    >>> import jax.numpy as jnp
    >>> from landscape.studies.encoder_projector.model import augmentation_problem
    >>> float(default_learning_rate(augmentation_problem(jnp.eye(1) * 3.0, jnp.eye(1), 3.0)))   # λ = 12
    0.00125
    """
    lam = jnp.max(jnp.linalg.eigvalsh(problem.sigma))
    return base / jnp.maximum(1.0, lam / 3.0) ** 2


def two_layer_descent(
    problem: Problem,
    init: TwoLayerWeights,
    *,
    lr: Any = None,
    steps: int = 20_000,
    weight_decay: Any = 0.0,
    n_save: int = 100,
    safeguard: bool = False,
) -> TwoLayerRun:
    r"""Plain gradient descent on (W1, W2) for ``steps`` steps of size ``lr`` (a discretised flow).

    ``lr=None`` uses :func:`default_learning_rate`.  ``safeguard=True`` rejects a
    step that does not lower the loss and halves the step (then lets it grow
    back by 10% per accepted step, up to ``lr``); an increase within a few
    machine epsilons counts as rounding and is accepted.  Use it for large
    inits whose curvature exceeds the default step.  The saved times are the cumulative
    step sizes, i.e. flow time.  ``steps`` and ``n_save`` are static; ``lr``,
    ``weight_decay`` and the problem may be traced (vmap over σ or γ).

    >>> import jax
    >>> from landscape.studies.encoder_projector import augmentation_problem, closed_form, init_weights, overlap_config
    >>> s, a = overlap_config(dim=4, n_signal=2, aug_start=1, aug_stop=3)
    >>> p = augmentation_problem(s, a, 1.0)
    >>> run = two_layer_descent(p, init_weights(jax.random.PRNGKey(0), 4, 4, 2), steps=4000)
    >>> round(float(run.loss), 4), round(float(closed_form(p, 2).loss), 4)   # −(1² + (1/3)²)
    (-1.1111, -1.1111)
    """
    init = _check_init(problem, init)
    steps = _positive_int(steps, "steps")
    n_save = min(_positive_int(n_save, "n_save"), steps)
    dtype = init.encoder.dtype
    lr0 = default_learning_rate(problem) if lr is None else jnp.asarray(lr, dtype)
    if not is_traced(lr0) and not float(lr0) > 0:
        raise ValueError(f"lr must be > 0, got {float(lr0)}")
    return _gd_core(
        problem,
        init,
        jnp.asarray(lr0, dtype),
        jnp.asarray(weight_decay, dtype),
        steps=steps,
        n_save=n_save,
        safeguard=bool(safeguard),
    )


@functools.partial(jax.jit, static_argnames=("steps", "n_save", "safeguard"))
def _gd_core(problem, init, lr0, weight_decay, *, steps, n_save, safeguard):
    loss = functools.partial(two_layer_loss, problem, weight_decay=weight_decay)
    route = _safeguarded_descent if safeguard else _sgd_descent
    w, times, losses, gaps, diverged = route(loss, init, lr0, steps, n_save)
    final = loss(w)
    diverged = diverged | ~(jnp.isfinite(final) & jnp.all(jnp.isfinite(losses)))
    return TwoLayerRun(
        weights=w, loss=final, times=times, trajectory_loss=losses, trajectory_imbalance=gaps, diverged=diverged
    )


def _sgd_descent(loss, init, lr, steps, n_save):
    """Plain steps W ← W − lr·∇L in the shared loop (:func:`~landscape.studies.plain_descent.sgd_descent`)."""
    w, diverged, at, (losses, gaps) = sgd_descent(
        jax.grad(loss), init, lr, steps=steps, n_save=n_save, record=lambda p: (loss(p), layer_gram_gap(p))
    )
    return w, lr * jnp.asarray(at, lr.dtype), losses, gaps, diverged


def _safeguarded_descent(loss, init, lr0, steps, n_save):
    """Steps that must lower the loss, halving the step on rejection (same saves as :func:`_sgd_descent`).

    Hand-written: the step size adapts by accepting or rejecting a trial point on
    its loss (a line search), which the fixed optax update of ``descend`` cannot express.
    """
    dtype = init.encoder.dtype
    value_and_grad = jax.value_and_grad(loss)

    def step(carry, _):
        w, f, eta, t = carry
        f_now, g = value_and_grad(w)
        new = jax.tree_util.tree_map(lambda x, gx: x - eta * gx, w, g)
        f_new = loss(new)
        slack = 16.0 * jnp.finfo(dtype).eps * jnp.maximum(1.0, jnp.abs(f_now))  # rounding, not ascent
        ok = jnp.isfinite(f_new) & (f_new <= f_now + slack)
        w = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, w)
        t = jnp.where(ok, t + eta, t)
        eta = jnp.where(ok, jnp.minimum(eta * 1.1, lr0), 0.5 * eta)
        return (w, jnp.where(ok, f_new, f_now), eta, t), None

    chunk, rest = divmod(steps, n_save)
    carry = (init, loss(init), lr0, jnp.zeros((), dtype))
    if rest:
        carry, _ = jax.lax.scan(step, carry, None, length=rest)

    def save(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=chunk)
        return carry, (carry[3], loss(carry[0]), layer_gram_gap(carry[0]))

    carry, (times, losses, gaps) = jax.lax.scan(save, carry, None, length=n_save)
    return carry[0], times, losses, gaps, jnp.asarray(False)


def two_layer_flow(
    problem: Problem,
    init: TwoLayerWeights,
    *,
    t1: Any,
    weight_decay: Any = 0.0,
    n_save: int = 50,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    max_steps: int = 200_000,
) -> TwoLayerRun:
    r"""Gradient flow d(W1, W2)/dt = −∇[L(W2W1) + γ(‖W1‖² + ‖W2‖²)] on [0, t1] (diffrax Tsit5 + PID).

    Tolerances below what the dtype can honour are raised to rtol ≥ 64·ε and
    atol ≥ 1e-12.  The flow is stiff when λ_max(Σ_x) is large; the adaptive
    controller takes steps of about 1/curvature.  Non-finite results are
    flagged in ``diverged`` (no exception under ``jit``).

    >>> import jax
    >>> from landscape.studies.encoder_projector import augmentation_problem, init_weights, overlap_config
    >>> s, a = overlap_config(dim=4, n_signal=2, aug_start=1, aug_stop=3)
    >>> p = augmentation_problem(s, a, 1.0)
    >>> run = two_layer_flow(p, init_weights(jax.random.PRNGKey(0), 4, 4, 2), t1=60.0)
    >>> round(float(run.loss), 4)
    -1.1111
    """
    init = _check_init(problem, init)
    n_save = _positive_int(n_save, "n_save")
    dtype = init.encoder.dtype
    eps = float(jnp.finfo(dtype).eps)
    rtol = max(float(rtol), 64 * eps)
    atol = max(float(atol), 1e-12)
    return _flow_core(
        problem,
        init,
        jnp.asarray(t1, dtype),
        jnp.asarray(weight_decay, dtype),
        n_save=n_save,
        rtol=rtol,
        atol=atol,
        max_steps=int(max_steps),
    )


def _flow_field(t, w, args):
    problem, weight_decay = args
    del t
    g = jax.grad(lambda ww: two_layer_loss(problem, ww, weight_decay))(w)
    return jax.tree_util.tree_map(jnp.negative, g)


@functools.partial(jax.jit, static_argnames=("n_save", "rtol", "atol", "max_steps"))
def _flow_core(problem, init, t1, weight_decay, *, n_save, rtol, atol, max_steps):
    dtype = init.encoder.dtype
    ts = jnp.linspace(0.0, 1.0, n_save, dtype=dtype) * t1
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_flow_field),
        diffrax.Tsit5(),
        jnp.zeros((), dtype),
        t1,
        None,
        init,
        args=(problem, weight_decay),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(ts=ts),
        max_steps=max_steps,
        throw=False,
    )
    traj = TwoLayerWeights(*sol.ys)
    losses = jax.vmap(lambda w: two_layer_loss(problem, w, weight_decay))(traj)
    imb = jax.vmap(layer_gram_gap)(traj)
    w = TwoLayerWeights(traj.encoder[-1], traj.projector[-1])
    final = losses[-1]
    ok = (sol.result == diffrax.RESULTS.successful) & jnp.isfinite(final)
    return TwoLayerRun(weights=w, loss=final, times=ts, trajectory_loss=losses, trajectory_imbalance=imb, diverged=~ok)
