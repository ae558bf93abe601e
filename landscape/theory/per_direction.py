r"""Theorem 1 direction by direction, batched by broadcasting: phase diagrams of commuting problems.

When B − γI and Σ share an eigenbasis (a diagonal A0 with C = σ²I, or any
commuting pair rotated by :func:`~landscape.common_eigenbasis`), the effective
landscape decouples.  With b_i the eigenvalues of B − γI and s_i > 0 those of Σ
in that basis, and ℓ_i = b_i/s_i, the global minimum with rank cap d1

* keeps the directions with the d1 largest positive ℓ_i (ties: lower index first),
* has WᵀW eigenvalue λ_i = b_i/(2k s_i²) = ℓ_i/(2k s_i) on each kept direction, 0 elsewhere,
* has loss L* = −Σ_kept ℓ_i²/(4k) and rank #kept.

This is the same solution as :func:`~landscape.global_minimum` (the tests check
it point by point) with no matrix at all: the inputs are arrays whose **last
axis runs over directions** and whose leading axes are any batch (a grid of σ²,
γ, β, …), so a whole phase diagram is one call, without ``vmap``.  Internally
the work runs direction-major (one contiguous row per direction) in chunks that
stay in cache, the rank cap counts pairwise comparisons instead of sorting, and
the descending spectrum comes from a sorting network (a fixed sequence of
min/max operations, which vectorises across the batch; ``jnp.sort`` above 64
directions).

Example: the β-InfoNCE phase diagram over σ² and γ (B = ½A0 − ½σ²I, k = ½):
    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> a = jnp.array([4.0, 2.0, 1.0])
    >>> sigma2 = jnp.linspace(0.0, 4.0, 5)[:, None, None]      # grid axis 0
    >>> gamma = jnp.array([0.0, 0.5])[None, :, None]           # grid axis 1
    >>> b, s, k = ls.direction_spectra("beta-infonce", a, sigma2, weight_decay=gamma)
    >>> sol = ls.direction_minimum(b, s, k)
    >>> sol.rank.tolist()                                       # (σ², γ) grid of ranks
    [[3, 2], [2, 1], [1, 1], [1, 0], [0, 0]]
    >>> [round(float(v), 6) for v in sol.gram_eigenvalues[1, 0]]   # σ² = 1, γ = 0: b/(2k s²) = 1.5/25, 0.5/9, 0
    [0.06, 0.055556, 0.0]
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.linalg import finite_rank, is_traced, near_threshold, spectral_scale, survives
from landscape.core.validation import as_int
from landscape.losses.effective import quadratic_form

__all__ = ["DirectionMinimum", "direction_spectra", "direction_minimum", "sort_descending"]

_NETWORK_MAX = 64  # sorting network up to this many directions, jnp.sort above


class DirectionMinimum(NamedTuple):
    """The global minimum of a batch of decoupled problems (last axis = directions).

    Attributes:
        gram_per_direction: λ_i, the WᵀW eigenvalue of each direction, in input order (..., d).
        gram_eigenvalues: the same values in descending order (..., d); None with ``sort=False``.
        rank: number of kept directions (...,), int32; −1 where ℓ, the Gram values or the loss
            are not finite (never read as complete collapse).
        loss: L* = −Σ_kept ℓ_i²/(4k) (...,).
        kept: which directions are kept (..., d), bool.
        near_threshold: number of directions whose ℓ_i or b_i is too close to 0 for the dtype
            to decide (...,), int32.
    """

    gram_per_direction: jax.Array
    gram_eigenvalues: Any
    rank: jax.Array
    loss: jax.Array
    kept: jax.Array
    near_threshold: Any = None


def direction_spectra(
    loss: str,
    data_var: Any,
    aug_var: Any,
    *,
    weight_decay: Any = 0.0,
    quartic: Any = 1.0,
    form: str = "derived",
    **loss_parameters: Any,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""(b, s, k) per direction for a loss of the table: b = p·a + q·c − γ, s = a + c.

    ``data_var`` (a_i) and ``aug_var`` (c_i) are the eigenvalues of A0 and C in
    their common eigenbasis; they and ``weight_decay`` broadcast against each
    other (put a grid parameter on a leading axis, e.g. ``sigma2[:, None]``).
    k is ``quartic`` times the loss's quartic scale, as in
    :func:`~landscape.effective_landscape`.  ``loss_parameters`` are ``alpha``,
    ``n_samples``, ``beta`` and ``invariance_weight`` (scalars or arrays that
    broadcast the same way).
    """
    qf = quadratic_form(loss, form=form, **loss_parameters)
    a, c = jnp.asarray(data_var), jnp.asarray(aug_var)
    dtype = jnp.result_type(a, c, float)
    gamma = jnp.asarray(weight_decay, dtype)
    # Broadcasting the grid axes against the direction axis is the point here: do it explicitly.
    a, c, gamma = jnp.broadcast_arrays(a.astype(dtype), c.astype(dtype), gamma)
    b = qf.data_coef * a + qf.aug_coef * c - gamma
    return b, a + c, jnp.asarray(quartic * qf.quartic_scale, dtype)


# ---------------------------------------------------------------- sorting network
def _merge_pairs(n: int) -> list[tuple[int, int]]:
    """Compare-exchange pairs of Batcher's odd-even merge sort for n = 2^m inputs."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _sort_rows_descending(rows: list[jax.Array]) -> list[jax.Array]:
    """Sort a list of equally shaped arrays elementwise, descending (row 0 = largest)."""
    n = len(rows)
    size = 1 << max(n - 1, 0).bit_length()
    pad = jnp.full_like(rows[0], -jnp.inf)
    rows = list(rows) + [pad] * (size - n)
    for i, j in _merge_pairs(size):
        rows[i], rows[j] = jnp.maximum(rows[i], rows[j]), jnp.minimum(rows[i], rows[j])
    return rows[:n]


def sort_descending(x: jax.Array, axis: int = -1) -> jax.Array:
    """``x`` sorted in descending order along ``axis`` (NaN-free input).

    Up to 64 entries along ``axis`` this is a sorting network, which XLA fuses
    into elementwise min/max over the other axes (much faster than a generic
    sort for many short rows); above that it is ``-jnp.sort(-x)``.

    >>> sort_descending(jnp.array([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]])).tolist()
    [[3.0, 2.0, 1.0], [5.0, 0.0, -1.0]]
    """
    x = jnp.asarray(x)
    n = x.shape[axis]
    if n > _NETWORK_MAX:
        return -jnp.sort(-x, axis=axis)
    x = jnp.moveaxis(x, axis, 0)
    return jnp.moveaxis(jnp.stack(_sort_rows_descending([x[i] for i in range(n)])), 0, axis)


# ---------------------------------------------------------------- the minimum
def _solve_rows(b: jax.Array, s: jax.Array, k: jax.Array, out_dim: int, sort: bool):
    """Direction-major core: b, s of shape (d, n); returns fields with directions first.

    A direction is kept when ℓ_i = b_i/s_i survives the rule of :mod:`landscape.core.linalg`
    with the whitened scale max_j |ℓ_j| (= ‖Σ^{-1/2}(B − γI)Σ^{-1/2}‖₂, as in the dense solver).
    """
    d = b.shape[0]
    ell = b / s
    scale = spectral_scale(ell, axis=0)
    kept = survives(ell, scale, axis=0)
    if out_dim < d:
        # Position of direction i in the descending order of ℓ (ties by index):
        # #{j : ℓ_j > ℓ_i} + #{j < i : ℓ_j = ℓ_i}.  Kept iff positive and position < d1.
        if d <= _NETWORK_MAX:
            earlier = jnp.tril(jnp.ones((d, d), bool), -1)[:, :, None]  # [i, j] = j < i
            ahead = (ell[None, :, :] > ell[:, None, :]) | ((ell[None, :, :] == ell[:, None, :]) & earlier)
            position = jnp.sum(ahead, axis=1)
        else:
            order = jnp.argsort(-ell, axis=0, stable=True)
            position = jnp.argsort(order, axis=0)
        kept = kept & (position < out_dim)
    gram = jnp.where(kept, ell / (2.0 * k[None, :] * s), 0.0)
    loss = -jnp.sum(jnp.where(kept, ell * ell, 0.0), axis=0) / (4.0 * k)
    rank = finite_rank(jnp.sum(kept, axis=0), ell, gram, loss, scale, axis=0)
    spectrum = sort_descending(gram, axis=0) if sort else None
    near = near_threshold((ell, scale), (b, spectral_scale(b, axis=0)), axis=0)
    return gram, spectrum, rank, loss, kept, near


def direction_minimum(
    b: Any, s: Any, quartic: Any = 1.0, out_dim: int | None = None, *, sort: bool = True, chunk: int = 1024
) -> DirectionMinimum:
    r"""Global minimum of decoupled directions (module docstring), for any batch shape.

    Args:
        b: eigenvalues of B − γI, shape (..., d) (leading axes: any batch).
        s: eigenvalues of Σ in the same basis, > 0, broadcastable to ``b``.
        quartic: k > 0, a scalar or an array of the batch shape (...,).
        out_dim: the rank cap d1 (static); default d (no cap).
        sort: also return the descending spectrum (the costliest part).
        chunk: batch entries per block of work; blocks run one after another
            (``lax.map``) so that each stays in cache.

    Jittable; concrete non-finite ``b`` or ``s``, ``s`` ≤ 0 or ``quartic`` ≤ 0 is refused
    with a ValueError.  A point whose arithmetic overflows has ``rank`` −1.
    """
    b = jnp.asarray(b)
    s = jnp.asarray(s)
    dtype = jnp.result_type(b, s, float)
    b, s = jnp.broadcast_arrays(b.astype(dtype), s.astype(dtype))
    if b.ndim < 1 or b.shape[-1] < 1:
        raise ValueError(f"b must have a last axis of directions (length >= 1), got shape {b.shape}")
    d = b.shape[-1]
    out_dim = d if out_dim is None else as_int(out_dim, "out_dim", low=1)
    for name, x in (("b", b), ("s", s)):
        if not is_traced(x) and not np.all(np.isfinite(np.asarray(x))):
            raise ValueError(f"{name} contains NaN or infinite entries")
    if not is_traced(s) and np.any(np.asarray(s) <= 0):
        raise ValueError("s (the eigenvalues of Σ) must be > 0 in every direction")
    k = jnp.asarray(quartic, dtype)
    if not is_traced(k):
        if np.any(np.asarray(k) <= 0) or not np.all(np.isfinite(np.asarray(k))):
            raise ValueError("quartic (k) must be finite and > 0")
    return _direction_minimum(b, s, jnp.broadcast_to(k, b.shape[:-1]), out_dim, bool(sort), int(chunk))


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _direction_minimum(
    b: jax.Array, s: jax.Array, k: jax.Array, out_dim: int, sort: bool, chunk: int
) -> DirectionMinimum:
    d = b.shape[-1]
    batch = b.shape[:-1]
    n = int(np.prod(batch, dtype=np.int64))
    chunk = max(1, min(int(chunk), max(n, 1)))
    n_blocks = -(-n // chunk)
    padded = n_blocks * chunk

    def flat(x, trailing):
        x = x.reshape((n,) + trailing)
        if padded > n:  # repeat the last entry: a valid problem, dropped below
            x = jnp.concatenate([x, jnp.repeat(x[-1:], padded - n, axis=0)])
        return x.reshape((n_blocks, chunk) + trailing)

    bb, ss, kk = flat(b, (d,)), flat(s, (d,)), flat(k, ())

    def block(args):
        bi, si, ki = args
        return _solve_rows(bi.T, si.T, ki, out_dim, sort)

    gram, spectrum, rank, loss, kept, near = jax.lax.map(block, (bb, ss, kk))

    def unflat_rows(x):  # (blocks, d, chunk) → batch + (d,)
        return jnp.moveaxis(x, 1, 2).reshape((padded, d))[:n].reshape(batch + (d,))

    def unflat(x):
        return x.reshape((padded,))[:n].reshape(batch)

    return DirectionMinimum(
        gram_per_direction=unflat_rows(gram),
        gram_eigenvalues=unflat_rows(spectrum) if sort else None,
        rank=unflat(rank),
        loss=unflat(loss),
        kept=unflat_rows(kept),
        near_threshold=unflat(near),
    )
