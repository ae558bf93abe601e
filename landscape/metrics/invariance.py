r"""Invariance to augmentations: the augmentation-variance fraction (AVF) and the invariance gain.

Which matrix: a linear map F (the encoder W1, or the product W2 W1 of encoder
and projector) against the clean-data covariance A0 and the augmentation
covariance C (:func:`avf_linear`, :func:`invariance_gain_linear`), or paired
outputs of any layer on two views (:func:`avf_samples`, :func:`avf_network`):
the caller decides whether these are representations or embeddings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from landscape.metrics._arrays import _as_float, _features, _square

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float


def avf_linear(
    f: Float[ArrayLike, "k d"], data_cov: Float[ArrayLike, "d d"], aug_cov: Float[ArrayLike, "d d"]
) -> jax.Array:
    r"""Augmentation-variance fraction of a linear map F, closed form.

    For views x = s + ε with clean signal covariance ``data_cov`` (A0) and
    additive augmentation noise covariance ``aug_cov`` (C), drawn independently
    per view,

        AVF(F) = E‖F x₁ − F x₂‖² / E‖F x₁ − F x₁′‖² = tr(F C Fᵀ) / tr(F (A0 + C) Fᵀ),

    with x₁′ a view of an independent sample.  0 means invariant; the identity
    gives tr C / tr(A0 + C).  F is any k×D matrix (encoder W1, product W2 W1).
    The zero map (and any F that sees no variance) has no defined AVF: NaN.

    >>> import jax.numpy as jnp
    >>> a0, c = jnp.diag(jnp.array([1.0, 0.0])), jnp.diag(jnp.array([0.0, 1.0]))
    >>> float(avf_linear(jnp.eye(2), a0, c)), float(avf_linear(jnp.array([[1.0, 0.0]]), a0, c))
    (0.5, 0.0)
    """
    f = _as_float(f, "f")
    if f.ndim != 2:
        raise ValueError(f"f must be a k×D matrix, got shape {f.shape}")
    a0 = _square(data_cov, "data_cov")
    c = _square(aug_cov, "aug_cov")
    if a0.shape != c.shape or a0.shape[0] != f.shape[1]:
        raise ValueError(f"data_cov {a0.shape} and aug_cov {c.shape} must be D×D with D = f.shape[1] = {f.shape[1]}")
    num = jnp.sum((f @ c) * f)
    den = num + jnp.sum((f @ a0) * f)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


def invariance_gain_linear(
    f: Float[ArrayLike, "k d"], data_cov: Float[ArrayLike, "d d"], aug_cov: Float[ArrayLike, "d d"]
) -> jax.Array:
    r"""Normalised invariance gain AVF(identity) / AVF(F) of a linear map, closed form.

    Compares layers fairly across augmentation strengths: 1 means F is as
    sensitive to augmentation as its input, larger means more invariant, +inf
    for an exactly invariant non-zero F, NaN where either AVF is undefined.

    >>> import jax.numpy as jnp
    >>> a0, c = jnp.diag(jnp.array([1.0, 1.0])), jnp.diag(jnp.array([0.0, 1.0]))
    >>> float(invariance_gain_linear(jnp.eye(2), a0, c))
    1.0
    """
    f = _as_float(f, "f")
    eye = jnp.eye(f.shape[1], dtype=f.dtype)
    return avf_linear(eye, data_cov, aug_cov) / avf_linear(f, data_cov, aug_cov)


def avf_samples(z1: Float[ArrayLike, "n k"], z2: Float[ArrayLike, "n k"]) -> jax.Array:
    r"""Sample estimate of the AVF from paired view outputs z1_i = F(x1_i), z2_i = F(x2_i).

        AVF ≈ mean_i ‖z1_i − z2_i‖² / mean_{i≠j} ‖z1_i − z2_j‖²,

    where the denominator pairs views of different samples (independent
    inputs).  Computed in O(N·D) from sums.  Needs N ≥ 2; NaN when the outputs
    do not vary at all.

    >>> import jax.numpy as jnp
    >>> z = jnp.array([[0.0], [1.0], [2.0]])
    >>> float(avf_samples(z, z))
    0.0
    """
    a = _features(z1, "z1")
    b = _features(z2, "z2")
    if a.shape != b.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {a.shape} and {b.shape}")
    n = a.shape[0]
    if n < 2:
        raise ValueError(f"z1 and z2 need at least 2 samples, got {n}")
    pair = jnp.sum((a - b) ** 2, axis=1)
    all_pairs = n * jnp.sum(a * a) + n * jnp.sum(b * b) - 2.0 * jnp.dot(jnp.sum(a, 0), jnp.sum(b, 0))
    den = (all_pairs - jnp.sum(pair)) / (float(n) * (n - 1))
    num = jnp.mean(pair)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


def avf_network(
    fn: Callable[[jax.Array], jax.Array], x1: Float[ArrayLike, "n d"], x2: Float[ArrayLike, "n d"]
) -> jax.Array:
    r"""AVF of any network ``fn`` by sampling: :func:`avf_samples` of fn(x1), fn(x2).

    ``x1`` and ``x2`` hold two augmented views of the same N inputs (row i of
    each comes from sample i); ``fn`` maps an N×D batch to an N×k batch.

    >>> import jax.numpy as jnp
    >>> x1 = jnp.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.5]])
    >>> x2 = x1.at[:, 1].add(0.3)                  # augmentation moves coordinate 1 only
    >>> float(avf_network(lambda x: x[:, :1], x1, x2))
    0.0
    """
    return avf_samples(fn(_features(x1, "x1")), fn(_features(x2, "x2")))


def invariance_gain_samples(
    x1: Float[ArrayLike, "n d"], x2: Float[ArrayLike, "n d"], z1: Float[ArrayLike, "n k"], z2: Float[ArrayLike, "n k"]
) -> jax.Array:
    r"""Sampled normalised invariance gain AVF(inputs) / AVF(outputs), both from the same pairs.

    >>> import jax.numpy as jnp
    >>> x1 = jnp.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.5]]); x2 = x1 + 0.1
    >>> float(invariance_gain_samples(x1, x2, x1, x2))
    1.0
    """
    return avf_samples(x1, x2) / avf_samples(z1, z2)
