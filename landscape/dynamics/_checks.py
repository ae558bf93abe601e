"""Argument checks shared by the training routes (run on concrete values, before tracing)."""

from __future__ import annotations

from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape, require_landscape
from landscape.core.linalg import is_traced
from landscape.core.validation import as_int, as_scalar

# A landscape pytree (effective or normalized): cast leaf by leaf, the type is kept.
_L = TypeVar("_L")


def int_in_range(value: Any, field: str, low: int, high: int | None = None) -> int:
    """``value`` as a Python int in [low, high], or ValueError naming ``field``."""
    return as_int(value, field, low=low, high=high)


def check_scalar(value: Any, field: str, **bounds: Any) -> None:
    if not is_traced(value):
        as_scalar(value, field, **bounds)


def in_dtype(landscape: _L, dtype: Any) -> _L:
    """The landscape with every leaf cast to the weights' dtype (the run's precision)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), landscape)


def check_weights(w0: Any, landscape: EffectiveLandscape, where: str = "training") -> jax.Array:
    """``w0`` as a 2-D float array with the landscape's number of columns and finite entries."""
    require_landscape(landscape, where)
    w0 = jnp.asarray(w0)
    if w0.ndim != 2:
        raise ValueError(f"w0 must be a 2-D matrix (out_dim, dim); got shape {w0.shape} (batch runs with jax.vmap)")
    if w0.shape[1] != landscape.dim:
        raise ValueError(f"w0 must have {landscape.dim} columns (the landscape's dim), got shape {w0.shape}")
    if not jnp.issubdtype(w0.dtype, jnp.floating):
        raise ValueError(f"w0 must be a floating-point array, got dtype {w0.dtype}")
    check_finite_weights(w0, "w0")
    return w0


def check_finite_weights(w: Any, field: str) -> None:
    """Refuse concrete initial weights with a NaN or infinite entry (a run from them is NaN throughout)."""
    if not is_traced(w) and not bool(np.all(np.isfinite(np.asarray(w)))):
        raise ValueError(f"{field} contains NaN or infinite entries")


def check_descends(optimizer, params: Any, grad: Any) -> None:
    """Refuse an optimizer whose first step from ``params`` does not go downhill.

    A negative, zero or NaN learning rate is hidden inside an optax optimizer;
    its first update u then has ⟨u, ∇L⟩ ≥ 0 (or NaN) instead of < 0.  The test
    runs one ``init``/``update`` on concrete values (skipped under tracing, and
    where the gradient vanishes, e.g. at W₀ = 0).
    """
    leaves = jax.tree_util.tree_leaves((params, grad))
    if any(is_traced(x) for x in leaves):
        return
    g = [np.asarray(x, float) for x in jax.tree_util.tree_leaves(grad)]
    if not any(np.any(x != 0) for x in g):
        return
    try:
        updates, _ = optimizer.update(grad, optimizer.init(params), params)
    except TypeError:  # an optimizer that needs more than (grads, state, params): not probed
        return
    u = [np.asarray(x, float) for x in jax.tree_util.tree_leaves(updates)]
    inner = sum(float(np.sum(a * b)) for a, b in zip(u, g))
    if not inner < 0:
        raise ValueError(
            f"optimizer: its first step from w0 does not descend (update · gradient = {inner:.3g}, "
            "must be < 0); is its learning rate zero, negative or NaN? It must be > 0"
        )


def descent_options(steps: Any, save_every: Any, rank_rtol: Any, divergence_factor: Any) -> tuple[int, int]:
    """Checked (steps, save_every) of a descent run; ``save_every=None`` means about 100 save points."""
    steps = int_in_range(steps, "steps", 1)
    if save_every is None:
        save_every = max(1, steps // 100)
    save_every = int_in_range(save_every, "save_every", 1, steps)
    check_scalar(rank_rtol, "rank_rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_scalar(divergence_factor, "divergence_factor", low=1.0)
    return steps, save_every
