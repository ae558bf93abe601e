"""Shared input checks of the metrics: float arrays, N×D feature matrices, D×D square matrices."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _as_float(x, field: str) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def _features(x, field: str = "features") -> jax.Array:
    x = _as_float(x, field)
    if x.ndim != 2:
        raise ValueError(f"{field} must be an N×D matrix (rows are samples), got shape {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{field} must have at least one sample and one dimension, got shape {x.shape}")
    return x


def _square(x, field: str) -> jax.Array:
    x = _as_float(x, field)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"{field} must be a square D×D matrix, got shape {x.shape}")
    return x


def _xlogx(p: jax.Array) -> jax.Array:
    safe = jnp.where(p > 0, p, 1.0)
    return jnp.where(p > 0, p * jnp.log(safe), 0.0)
