"""Argument checks shared by the training routes (run on concrete values, before tracing)."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape._validation import as_scalar
from landscape.effective_landscape import EffectiveLandscape


def concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def int_in_range(value: Any, field: str, low: int, high: int | None = None) -> int:
    """``value`` as a Python int in [low, high], or ValueError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        rng = f"[{low}, {high}]" if high is not None else f"[{low}, inf)"
        raise ValueError(f"{field} must be in {rng}, got {v}")
    return v


def check_scalar(value: Any, field: str, **bounds: Any) -> None:
    if concrete(value):
        as_scalar(value, field, **bounds)


def in_dtype(landscape: EffectiveLandscape, dtype) -> EffectiveLandscape:
    """The landscape with every leaf cast to the weights' dtype (the run's precision)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), landscape)


def check_weights(w0: Any, landscape: EffectiveLandscape) -> jax.Array:
    w0 = jnp.asarray(w0)
    if w0.ndim != 2:
        raise ValueError(f"w0 must be a 2-D matrix (out_dim, dim); got shape {w0.shape} "
                         "(batch runs with jax.vmap)")
    if w0.shape[1] != landscape.dim:
        raise ValueError(f"w0 must have {landscape.dim} columns (the landscape's dim), got shape {w0.shape}")
    if not jnp.issubdtype(w0.dtype, jnp.floating):
        raise ValueError(f"w0 must be a floating-point array, got dtype {w0.dtype}")
    return w0


def descent_options(steps: Any, save_every: Any, rank_rtol: Any, divergence_factor: Any) -> tuple[int, int]:
    """Checked (steps, save_every) of a descent run; ``save_every=None`` means about 100 save points."""
    steps = int_in_range(steps, "steps", 1)
    if save_every is None:
        save_every = max(1, steps // 100)
    save_every = int_in_range(save_every, "save_every", 1, steps)
    check_scalar(rank_rtol, "rank_rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_scalar(divergence_factor, "divergence_factor", low=1.0)
    return steps, save_every
