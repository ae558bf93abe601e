r"""The contrastive losses (CISSL, SimCLR) at perfectly aligned regular-simplex embeddings (check D6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from numpy.typing import ArrayLike

__all__ = ["cissl_simplex_loss", "simclr_simplex_loss"]


def cissl_simplex_loss(batch: int, temperature: ArrayLike) -> jax.Array:
    r"""CISSL self-contrastive loss at aligned regular-simplex embeddings (both views equal).

    Each anchor sees its own and its partner's column at cosine 1 and the
    2B − 2 other columns at −1/(B − 1):

        L = log 2 + log(1 + (B − 1) e^{−(1 + 1/(B−1))/τ})  ≥ log 2.

    >>> round(float(cissl_simplex_loss(256, 0.07)), 4)
    0.6933
    """
    b = int(batch)
    tau = jnp.asarray(temperature, jnp.result_type(float))
    return jnp.log(2.0) + jnp.log1p((b - 1) * jnp.exp(-(1.0 + 1.0 / (b - 1)) / tau))


def simclr_simplex_loss(batch: int, temperature: ArrayLike) -> jax.Array:
    r"""SimCLR NT-Xent at aligned regular-simplex embeddings: log(1 + (2B − 2) e^{(s_neg − 1)/τ}), s_neg = −1/(B − 1).

    Tends to 0 as τ → 0.

    >>> float(simclr_simplex_loss(4, 1e-3)) < 1e-12
    True
    """
    b = int(batch)
    tau = jnp.asarray(temperature, jnp.result_type(float))
    s_neg = -1.0 / (b - 1)
    return jnp.log1p((2 * b - 2) * jnp.exp((s_neg - 1.0) / tau))
