r"""Linear ISSL (spec T3): a finite augmented input set and gradient descent of a linear encoder and softmax head.

The ISSL log-loss mean_x −log softmax(V W x + b)_{M(x)} (+ weight decay) over
the finite set, trained full batch; the traces record the loss, the AVF of the
encoder on the finite set and the centred rank of the class codes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics
from landscape.studies.plain_descent import sgd_descent

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jax.typing import DTypeLike
    from jaxtyping import Float, Int

__all__ = ["ISSLData", "ISSLRun", "issl_data", "issl_log_loss", "linear_issl", "linear_issl_sweep"]


class ISSLData(NamedTuple):
    """A finite augmented input set: x = μ_{class} + A ξ_j for every class and every nuisance ξ_j.

    Attributes:
        inputs: all inputs, (C·m)×D, class-major.
        labels: their classes, (C·m,).
        prototypes: μ_c, C×D.
        aug_basis: A, D×r (orthonormal columns).
        nuisances: ξ_j, m×r (a symmetric set ±s·e_k).
    """

    inputs: jax.Array
    labels: jax.Array
    prototypes: jax.Array
    aug_basis: jax.Array
    nuisances: jax.Array


class ISSLRun(NamedTuple):
    """Linear ISSL training: encoder W (d×D), head V (C×d), bias b (C,) and traces at save points.

    ``centred_rank`` is the numerical rank (rtol 1e-2) of the centred class codes W μ_c;
    ``avf`` the AVF of W on the finite set; ``loss`` the ISSL log-loss.
    """

    encoder: jax.Array
    head: jax.Array
    bias: jax.Array
    times: jax.Array
    loss: jax.Array
    avf: jax.Array
    centred_rank: jax.Array


def issl_data(
    key: jax.Array,
    n_classes: int,
    dim: int,
    aug_rank: int,
    *,
    strength: float = 1.0,
    prototypes: str = "orthogonal",
    prototype_scale: float = 2.0,
    dtype: DTypeLike | None = None,
) -> ISSLData:
    r"""A finite augmented input set: C prototypes off a random augmentation subspace, ±strength nuisances.

    The augmentation subspace is spanned by r = ``aug_rank`` random orthonormal
    directions A; the nuisances are ±strength·e_k (m = 2r per class), so the
    augmentation part has zero mean within every class.  ``prototypes``:

    * ``"orthogonal"`` — μ_c = scale · q_c with orthonormal q_c ⟂ span(A) (needs
      dim − r ≥ C): the symmetric case, where the weight-decayed ISSL optimum
      is a simplex (equiangular tight frame);
    * ``"gaussian"`` — i.i.d. N(0, scale²/dim) vectors projected off span(A)
      (needs dim − r ≥ C − 1): an anisotropic configuration.

    >>> import jax
    >>> data = issl_data(jax.random.PRNGKey(0), 4, 8, 2)
    >>> data.inputs.shape, data.labels.tolist()[:5]
    ((16, 8), [0, 0, 0, 0, 1])
    """
    c, d, r = int(n_classes), int(dim), int(aug_rank)
    need = c if prototypes == "orthogonal" else c - 1
    if prototypes not in ("orthogonal", "gaussian"):
        raise ValueError(f"prototypes must be 'orthogonal' or 'gaussian', got {prototypes!r}")
    if c < 2 or r < 1 or d - r < need:
        raise ValueError(
            f"need n_classes >= 2, aug_rank >= 1 and dim - aug_rank >= {need}, got n_classes={c}, dim={d}, aug_rank={r}"
        )
    dtype = dtype or jnp.result_type(float)
    k1, k2 = jax.random.split(key)
    basis, _ = jnp.linalg.qr(jax.random.normal(k1, (d, d), dtype))
    a = basis[:, :r]
    scale = jnp.asarray(prototype_scale, dtype)
    if prototypes == "orthogonal":
        mu = scale * basis[:, r : r + c].T
    else:
        mu = jax.random.normal(k2, (c, d), dtype) * (scale / np.sqrt(d))
        mu = mu - (mu @ a) @ a.T
    xi = jnp.concatenate([jnp.eye(r, dtype=dtype), -jnp.eye(r, dtype=dtype)]) * jnp.asarray(strength, dtype)
    m = xi.shape[0]
    inputs = (mu[:, None, :] + (xi @ a.T)[None, :, :]).reshape(c * m, d)
    labels = jnp.repeat(jnp.arange(c), m)
    return ISSLData(inputs, labels, mu, a, xi)


def issl_log_loss(
    encoder: Float[jax.Array, "d D"],
    head: Float[jax.Array, "c d"],
    bias: Float[jax.Array, " c"],
    inputs: Float[jax.Array, "n D"],
    labels: Int[jax.Array, " n"],
) -> jax.Array:
    r"""ISSL log-loss mean_x −log softmax(V W x + b)_{M(x)} over the finite set (uniform weights)."""
    logits = inputs @ encoder.T @ head.T + bias[None, :]
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


def _avf_finite(encoder, data: ISSLData) -> jax.Array:
    z = data.inputs @ encoder.T
    c = data.prototypes.shape[0]
    m = data.nuisances.shape[0]
    zc = z.reshape(c, m, -1)
    class_mean = jnp.mean(zc, axis=1, keepdims=True)
    within = jnp.mean(jnp.sum((zc - class_mean) ** 2, axis=2))
    total = jnp.mean(jnp.sum((z - jnp.mean(z, axis=0, keepdims=True)) ** 2, axis=1))
    return jnp.where(total > 0, within / jnp.where(total > 0, total, 1.0), jnp.nan)


def linear_issl(
    data: ISSLData,
    rep_dim: int,
    *,
    key: jax.Array,
    init_scale: float = 1e-3,
    lr: float = 0.2,
    steps: int = 20_000,
    weight_decay: float = 1e-3,
    n_save: int = 100,
) -> ISSLRun:
    r"""Gradient descent on the ISSL log-loss with a linear encoder W (d×D) and linear softmax head (V, b).

    Minimises, full batch over the finite set (spec T3),

        mean_x −log softmax(V W x + b)_{M(x)} + γ(‖W‖²_F + ‖V‖²_F),

    from a small random init.  Without weight decay (γ = 0) the log-loss has
    no minimiser (it decreases as the weights grow); γ > 0 gives one.  The
    augmentation directions carry no class information and are symmetric in
    every class, so the encoder suppresses them and the AVF falls towards 0;
    the class codes W μ_c gain rank up to at most min(d, C − 1).  Whether they
    reach C − 1 depends on the prototypes: with orthogonal prototypes and
    γ > 0 the optimum is a regular simplex, with anisotropic ones the loss can
    be driven down by fewer directions (see the tests and the T3 figure).
    ``rep_dim``, ``steps`` and ``n_save`` are static.

    ``avf`` is the within-class share of the code variance on the finite set,
    the finite-set analogue of :func:`landscape.metrics.avf_linear`.

    >>> import jax
    >>> data = issl_data(jax.random.PRNGKey(0), 4, 8, 2)
    >>> run = linear_issl(data, 3, key=jax.random.PRNGKey(1), steps=3000, n_save=3)
    >>> int(run.centred_rank[-1]), bool(run.avf[-1] < 1e-6)
    (3, True)
    """
    d = int(rep_dim)
    if d < 1:
        raise ValueError(f"rep_dim must be >= 1, got {rep_dim}")
    mask = jnp.ones((d,), data.inputs.dtype)
    return _issl_core(
        data,
        mask,
        key,
        jnp.asarray(init_scale, data.inputs.dtype),
        jnp.asarray(lr, data.inputs.dtype),
        jnp.asarray(weight_decay, data.inputs.dtype),
        steps=int(steps),
        n_save=max(1, min(int(n_save), int(steps))),
    )


def linear_issl_sweep(
    data: ISSLData,
    rep_dims: Sequence[int],
    *,
    key: jax.Array,
    init_scale: float = 1e-3,
    lr: float = 0.2,
    steps: int = 20_000,
    weight_decay: float = 1e-3,
    n_save: int = 100,
) -> ISSLRun:
    r""":func:`linear_issl` for several representation dimensions d, with one compilation.

    A d-dimensional encoder is run as a max(d)-row encoder whose rows beyond d
    (and the matching head columns) are held at zero by a mask, which is the
    same model.  The runs are batched (``vmap``): one program for all of them.  Every field of the result
    gains a leading axis over ``rep_dims``; ``encoder`` has max(d) rows, the
    masked ones zero.

    >>> import jax
    >>> data = issl_data(jax.random.PRNGKey(0), 4, 8, 2)
    >>> runs = linear_issl_sweep(data, [2, 3, 4], key=jax.random.PRNGKey(1), steps=3000, n_save=3)
    >>> runs.centred_rank[:, -1].tolist()
    [2, 3, 3]
    """
    dims = [int(v) for v in rep_dims]
    if not dims or min(dims) < 1:
        raise ValueError(f"rep_dims must be a non-empty list of integers >= 1, got {rep_dims!r}")
    width = max(dims)
    dtype = data.inputs.dtype
    masks = jnp.asarray([[1.0 if i < d else 0.0 for i in range(width)] for d in dims], dtype)
    args = (key, jnp.asarray(init_scale, dtype), jnp.asarray(lr, dtype), jnp.asarray(weight_decay, dtype))
    n_save = max(1, min(int(n_save), int(steps)))
    return jax.vmap(lambda m: _issl_core(data, m, *args, steps=int(steps), n_save=n_save))(masks)


@functools.partial(jax.jit, static_argnames=("steps", "n_save"))
def _issl_core(data: ISSLData, mask, key, init_scale, lr, weight_decay, *, steps, n_save):
    c, d_in = data.prototypes.shape
    width = mask.shape[0]
    k1, k2 = jax.random.split(key)
    dtype = data.inputs.dtype
    w = jax.random.normal(k1, (width, d_in), dtype) * init_scale * mask[:, None]
    v = jax.random.normal(k2, (c, width), dtype) * init_scale * mask[None, :]
    b = jnp.zeros((c,), dtype)

    def objective(w_, v_, b_):
        w_ = w_ * mask[:, None]
        v_ = v_ * mask[None, :]
        return issl_log_loss(w_, v_, b_, data.inputs, data.labels) + weight_decay * (
            jnp.sum(w_ * w_) + jnp.sum(v_ * v_)
        )

    grad = jax.grad(lambda params: objective(*params))

    def record(params):
        w_, v_, b_ = params
        rank = metrics.numerical_rank(data.prototypes @ w_.T, rtol=1e-2)
        return issl_log_loss(w_, v_, b_, data.inputs, data.labels), _avf_finite(w_, data), rank

    params, _, at, (losses, avfs, ranks) = sgd_descent(grad, (w, v, b), lr, steps=steps, n_save=n_save, record=record)
    times = jnp.asarray(at, dtype) * lr
    return ISSLRun(params[0] * mask[:, None], params[1] * mask[None, :], params[2], times, losses, avfs, ranks)
