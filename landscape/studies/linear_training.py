r"""Train a linear model f(x) = W x with the *real* sample-level losses on sampled data.

This is the setting of WS App. A (Fig. 2): a fixed training set {x̂_i}, fresh
Gaussian augmentation noise at every step, two views x = x̂ + ε, x′ = x̂ + ε′
(ε, ε′ ~ N(0, σ²I)), full-batch Adam on one of the losses of
:mod:`landscape.losses.sample`.  A run is one ``jax.lax.scan`` of optax steps,
so it jits, and it is a pure function of (key, data, σ², mask), so it vmaps
over seeds and augmentation strengths; data sets of different sizes are padded
to a common N and masked (the InfoNCE family honours the mask exactly: masked
points are neither anchors nor negatives).

The initialisation is not stated in the paper; the default is PyTorch's
``nn.Linear`` default, W_ij ~ U(−1/√d0, 1/√d0).

Example:
    >>> import jax, jax.numpy as jnp
    >>> from landscape.studies.linear_training import train_linear
    >>> x = jax.random.normal(jax.random.PRNGKey(0), (64, 3))
    >>> out = train_linear(jax.random.PRNGKey(1), x, 0.5, loss="infonce", steps=200, lr=1e-2)
    >>> out["weights"].shape, out["gram_eigenvalues"].shape
    ((3, 3), (3,))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape.losses import sample

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jax.typing import ArrayLike, DTypeLike
    from jaxtyping import Bool, Float

__all__ = [
    "TRAINABLE_LOSSES",
    "make_loss",
    "init_weights",
    "train_linear",
    "train_grid",
    "empirical_covariance",
    "pad_datasets",
]

TRAINABLE_LOSSES = ("infonce", "weighted-infonce", "beta-infonce", "nt-xent", "spectral", "barlow-twins", "vicreg")
_MASKED = ("infonce", "weighted-infonce", "beta-infonce")


def make_loss(name: str, **params: Any) -> Callable[[jax.Array, jax.Array, jax.Array | None], jax.Array]:
    """A loss ``(z1, z2, mask) -> scalar`` by name; ``params`` go to the sample loss.

    ``weighted-infonce`` needs ``alpha``, ``beta-infonce`` needs ``beta``.  Only the
    InfoNCE family accepts a mask; the others raise if one is given.

    >>> f = make_loss("weighted-infonce", alpha=0.1)
    >>> round(float(f(jnp.zeros((5, 2)), jnp.zeros((5, 2)), None)), 6)   # log 4.1
    1.410987
    """
    key = str(name).lower().replace("_", "-")
    if key not in TRAINABLE_LOSSES:
        raise ValueError(f"loss must be one of {', '.join(TRAINABLE_LOSSES)}; got {name!r}")
    if key == "infonce":
        fn = lambda z1, z2, mask: sample.infonce(z1, z2, mask=mask)
    elif key == "weighted-infonce":
        if "alpha" not in params:
            raise ValueError("weighted-infonce needs the parameter alpha")
        fn = lambda z1, z2, mask: sample.weighted_infonce(z1, z2, params["alpha"], mask=mask)
    elif key == "beta-infonce":
        if "beta" not in params:
            raise ValueError("beta-infonce needs the parameter beta")
        fn = lambda z1, z2, mask: sample.beta_infonce(z1, z2, params["beta"], mask=mask)
    else:
        base = {
            "nt-xent": sample.nt_xent,
            "spectral": sample.spectral_contrastive,
            "barlow-twins": sample.barlow_twins,
            "vicreg": sample.vicreg,
        }[key]

        def fn(z1, z2, mask):
            if mask is not None:
                raise ValueError(f"loss {key!r} does not support a sample mask")
            return base(z1, z2, **params)

    return fn


def init_weights(key: jax.Array, out_dim: int, dim: int, dtype: DTypeLike | None = None) -> jax.Array:
    """W ~ U(−1/√d0, 1/√d0), shape (out_dim, dim) (PyTorch's nn.Linear default)."""
    dtype = dtype or jnp.result_type(float)
    bound = 1.0 / np.sqrt(dim)
    return jax.random.uniform(key, (out_dim, dim), dtype=dtype, minval=-bound, maxval=bound)


def empirical_covariance(data: np.ndarray) -> np.ndarray:
    """Â0 = (1/N) Σ (x̂ − x̄)(x̂ − x̄)ᵀ, the biased centred covariance that the expansion uses."""
    x = np.asarray(data, float)
    xc = x - x.mean(axis=0, keepdims=True)
    return xc.T @ xc / x.shape[0]


def pad_datasets(datasets: Sequence[Float[np.ndarray, "n d"]]) -> tuple[np.ndarray, np.ndarray]:
    """Stack data sets of different sizes: zero-padded (k, N_max, d) array and bool mask (k, N_max)."""
    n_max = max(len(x) for x in datasets)
    d = np.asarray(datasets[0]).shape[1]
    out = np.zeros((len(datasets), n_max, d))
    mask = np.zeros((len(datasets), n_max), bool)
    for i, x in enumerate(datasets):
        out[i, : len(x)] = x
        mask[i, : len(x)] = True
    return out, mask


@functools.partial(
    jax.jit, static_argnames=("loss", "loss_params", "out_dim", "steps", "tail", "noise_draws", "schedule")
)
def _train(key, data, sigma2, mask, lr, w_init, *, loss, loss_params, out_dim, steps, tail, noise_draws, schedule):
    """One Adam run (hand-written loop: each step draws fresh noise from its step index and sums a tail average of
    WᵀW, while ``dynamics.descend`` takes a gradient of the parameters alone and carries no extra state)."""
    fn = make_loss(loss, **dict(loss_params))
    n, d = data.shape
    k_init, k_run = jax.random.split(key)
    w = init_weights(k_init, out_dim, d, data.dtype) if w_init is None else w_init.astype(data.dtype)
    rate = optax.cosine_decay_schedule(lr, steps) if schedule == "cosine" else lr
    opt = optax.adam(rate)
    state = opt.init(w)
    sd = jnp.sqrt(jnp.asarray(sigma2, data.dtype))

    def one_draw(w, k):
        k1, k2 = jax.random.split(k)
        x1 = data + sd * jax.random.normal(k1, data.shape, data.dtype)
        x2 = data + sd * jax.random.normal(k2, data.shape, data.dtype)
        return fn(x1 @ w.T, x2 @ w.T, mask)

    def objective(w, k):
        if noise_draws == 1:
            return one_draw(w, k)
        return jnp.mean(jax.vmap(lambda kk: one_draw(w, kk))(jax.random.split(k, noise_draws)))

    def step(carry, s):
        w, state, gsum = carry
        val, g = jax.value_and_grad(objective)(w, jax.random.fold_in(k_run, s))
        upd, state = opt.update(g, state, w)
        w = optax.apply_updates(w, upd)
        gsum = gsum + jnp.where(s >= steps - tail, 1.0, 0.0) * (w.T @ w)
        return (w, state, gsum), val

    (w, _, gsum), losses = jax.lax.scan(step, (w, state, jnp.zeros((d, d), data.dtype)), jnp.arange(steps))
    gram = w.T @ w
    tail_gram = gsum / max(tail, 1)
    return {
        "weights": w,
        "gram_eigenvalues": jnp.linalg.eigvalsh(gram),
        "tail_gram_eigenvalues": jnp.linalg.eigvalsh(0.5 * (tail_gram + tail_gram.T)),
        "loss_trace": losses,
    }


def train_linear(
    key: jax.Array,
    data: Float[ArrayLike, "n d"],
    sigma2: ArrayLike,
    *,
    loss: str = "infonce",
    loss_params: dict | None = None,
    out_dim: int | None = None,
    steps: int = 5000,
    lr: ArrayLike = 6e-4,
    mask: Bool[ArrayLike, " n"] | None = None,
    tail: int = 0,
    noise_draws: int = 1,
    schedule: str = "constant",
    w_init: Float[ArrayLike, "k d"] | None = None,
) -> dict:
    r"""Full-batch Adam on ``loss`` for a linear model, fresh noise N(0, σ²I) every step.

    Args:
        key: PRNG key (initialisation and noise).
        data: training set (N, d0), fixed during training.
        sigma2: augmentation variance σ² (may be traced / vmapped).
        loss, loss_params: see :func:`make_loss` (params must be hashable values).
        out_dim: d1 (default d0, as in WS App. A).
        steps, lr: Adam steps and learning rate (WS: 5000, 6e-4).
        mask: optional bool (N,) of valid rows (padding).
        tail: also average WᵀW over the last ``tail`` steps (0: off).
        noise_draws: augmentation draws averaged per step (1 = the paper's setting;
            more draws lower the gradient noise and Adam's noise floor).
        schedule: ``"constant"`` (paper) or ``"cosine"`` (learning rate decayed to 0,
            which removes the stationary noise floor of constant-rate Adam).
        w_init: optional initial W (out_dim, d0) instead of the random initialisation.

    Returns a dict with ``weights`` (d1, d0), ``gram_eigenvalues`` of the final WᵀW
    (ascending), ``tail_gram_eigenvalues`` (ascending; zeros when ``tail`` = 0) and
    ``loss_trace`` (steps,).
    """
    data = jnp.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"data must be 2-D (N, d0), got shape {data.shape}")
    if not jnp.issubdtype(data.dtype, jnp.floating):
        data = data.astype(jnp.result_type(float))
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    tail = int(tail)
    if not 0 <= tail <= steps:
        raise ValueError(f"tail must be in [0, steps], got {tail}")
    if int(noise_draws) < 1:
        raise ValueError(f"noise_draws must be >= 1, got {noise_draws}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    params = tuple(sorted((loss_params or {}).items()))
    m = None if mask is None else jnp.asarray(mask, bool)
    if w_init is not None:
        w_init = jnp.asarray(w_init)
        want = (int(out_dim or data.shape[1]), data.shape[1])
        if w_init.shape != want:
            raise ValueError(f"w_init must have shape {want}, got {tuple(w_init.shape)}")
    return _train(
        key,
        data,
        jnp.asarray(sigma2, data.dtype),
        m,
        jnp.asarray(lr, data.dtype),
        w_init,
        loss=loss,
        loss_params=params,
        out_dim=int(out_dim or data.shape[1]),
        steps=steps,
        tail=tail,
        noise_draws=int(noise_draws),
        schedule=schedule,
    )


def train_grid(
    keys: jax.Array, data: ArrayLike, sigma2s: Float[ArrayLike, " s"], *, mask: ArrayLike | None = None, **kwargs: Any
) -> dict:
    """:func:`train_linear` vmapped over seeds (axis 0) and σ² values (axis 1).

    ``data`` may carry a leading batch axis matching ``sigma2s`` (one data set per
    σ² entry, e.g. padded data sets of different sizes with ``mask`` of shape
    (k, N_max)); otherwise it is shared.  Every output gains two leading axes
    (seed, σ²).
    """
    data = jnp.asarray(data)
    sig = jnp.asarray(sigma2s, data.dtype)
    per_entry = data.ndim == 3
    if per_entry and data.shape[0] != sig.shape[0]:
        raise ValueError(f"data has {data.shape[0]} data sets but sigma2s has {sig.shape[0]} entries")

    def one(k, x, s2, m):
        return train_linear(k, x, s2, mask=m, **kwargs)

    m_axis = 0 if (mask is not None and per_entry) else None
    inner = jax.vmap(one, in_axes=(None, 0 if per_entry else None, 0, m_axis))
    outer = jax.vmap(inner, in_axes=(0, None, None, None))
    m = None if mask is None else jnp.asarray(mask, bool)
    return outer(keys, data, sig, m)
