r"""Neural-network check of the imbalance theory on scikit-learn's digits.

A small MLP f(x) = W₂ tanh(W₁x + b₁) (bias-free last layer) is trained with
the sample-level InfoNCE of :mod:`landscape.losses.sample` on standardised
8×8 digits, with additive Gaussian augmentation of variance σ² and weight decay
γ‖θ‖² on every weight matrix; class 0 is subsampled to a chosen proportion.
The network is :class:`landscape.nn.models.MLP` with one tanh hidden layer and
the bias-free linear last layer as projector (``digits_mlp``); the data are
:func:`landscape.nn.data.load_digits`, flattened and standardised per pixel.

**What is measured.**  For each class k, the *class-direction share*

    s_k = ‖E[f | k] − E[f]‖² / tr Cov(f),

the fraction of the representation's variance that lies along class k's mean
offset (computed on clean, held-out inputs), and a per-class probe accuracy.
The linear theory (:mod:`landscape.studies.class_imbalance`) predicts that SSL keeps a class
direction at roughly the same representation variance whatever its proportion
(near-whitening) until its input variance p(1 − p)‖Δμ‖² falls below the
threshold set by weight decay / augmentation, where it collapses; the minority
class should therefore lose its share *first* as σ² and γ grow.

Example:
    >>> x, y = digits_subsample(np.random.default_rng(0), {0: 5}, classes=(0, 1, 2))
    >>> int((y == 0).sum()), x.shape[1]
    (5, 64)
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape.losses.sample import infonce
from landscape.nn.data import load_digits
from landscape.nn.models import MLP, decay_mask
from landscape.studies.class_imbalance.probes import class_probe_accuracy

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from collections.abc import Sequence

    from jax.typing import DTypeLike
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = [
    "load_digits_flat",
    "digits_subsample",
    "digits_mlp",
    "train_ssl_mlp",
    "class_shares",
    "digits_imbalance_run",
]


def load_digits_flat() -> tuple[np.ndarray, np.ndarray]:
    """Digits as (1797, 64) standardised features (per pixel, constant pixels left at 0) and labels."""
    images, labels = load_digits(dtype=np.float64)
    x = images.reshape(images.shape[0], -1)
    sd = x.std(0)
    x = (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)
    return x, np.asarray(labels, dtype=int)


def digits_subsample(
    rng: np.random.Generator, counts: dict, *, classes: Sequence[int] = tuple(range(10))
) -> tuple[np.ndarray, np.ndarray]:
    """Digits restricted to ``classes``, with class c cut to ``counts[c]`` random samples (others kept whole).

    Labels are re-indexed 0..len(classes)−1 in the order of ``classes``.
    """
    x, y = load_digits_flat()
    keep = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        if c in counts:
            n = int(counts[c])
            if not 1 <= n <= idx.size:
                raise ValueError(f"counts[{c}] must be in [1, {idx.size}], got {counts[c]}")
            idx = rng.choice(idx, n, replace=False)
        keep.append(idx)
    idx = np.concatenate(keep)
    remap = {c: i for i, c in enumerate(classes)}
    return x[idx], np.array([remap[int(v)] for v in y[idx]])


def digits_mlp(d_in: int, hidden: int, d_out: int, dtype: DTypeLike = jnp.float32) -> MLP:
    """f(x) = tanh(x W1 + b1) W2: one tanh hidden layer, the bias-free last layer as projector."""
    return MLP(in_dim=int(d_in), hidden=(int(hidden),), out_dim=int(d_out), activation="tanh", dtype=dtype)


def _outputs(model: MLP, params, x) -> jax.Array:
    """f(x) of ``model`` (no batch norm, so no state is carried)."""
    return model.apply(params, {"encoder": {}, "projector": {}}, x, train=False)[0].z


@functools.partial(jax.jit, static_argnames=("steps", "hidden", "d_out"))
def _train(key, x, sigma2, weight_decay, lr, *, steps: int, hidden: int, d_out: int):
    """Adam on InfoNCE (hand-written loop: each step draws fresh noise from its step index, while
    ``dynamics.descend`` takes a gradient of the parameters alone)."""
    k_init, k_run = jax.random.split(key)
    model = digits_mlp(x.shape[1], hidden, d_out, x.dtype)
    params, _ = model.init(k_init)
    mask = decay_mask(params)
    opt = optax.adam(lr)
    state = opt.init(params)
    sd = jnp.sqrt(sigma2)

    def objective(p, k):
        k1, k2 = jax.random.split(k)
        x1 = x + sd * jax.random.normal(k1, x.shape, x.dtype)
        x2 = x + sd * jax.random.normal(k2, x.shape, x.dtype)
        reg = sum(jnp.sum(v**2) for v, m in zip(jax.tree.leaves(p), jax.tree.leaves(mask)) if m)
        return infonce(_outputs(model, p, x1), _outputs(model, p, x2)) + weight_decay * reg

    def step(carry, s):
        p, st = carry
        g = jax.grad(objective)(p, jax.random.fold_in(k_run, s))
        upd, st = opt.update(g, st, p)
        return (optax.apply_updates(p, upd), st), None

    (params, _), _ = jax.lax.scan(step, (params, state), jnp.arange(steps))
    return params


def train_ssl_mlp(
    key: jax.Array,
    x: Float[ArrayLike, "n d"],
    *,
    sigma2: float,
    weight_decay: float,
    steps: int = 1000,
    hidden: int = 64,
    d_out: int = 16,
    lr: float = 3e-3,
) -> dict:
    """Full-batch Adam on InfoNCE + γ(‖W1‖² + ‖W2‖²), fresh Gaussian views every step; returns the
    parameters of ``digits_mlp(x.shape[1], hidden, d_out)``."""
    xx = jnp.asarray(np.asarray(x, dtype=float), dtype=jnp.result_type(float))
    if xx.ndim != 2:
        raise ValueError(f"x must be 2-D (N, d), got shape {xx.shape}")
    if sigma2 < 0 or weight_decay < 0:
        raise ValueError("sigma2 and weight_decay must be >= 0")
    return _train(
        key,
        xx,
        jnp.asarray(sigma2, xx.dtype),
        jnp.asarray(weight_decay, xx.dtype),
        jnp.asarray(lr, xx.dtype),
        steps=int(steps),
        hidden=int(hidden),
        d_out=int(d_out),
    )


def class_shares(z: Float[ArrayLike, "n k"], labels: Int[ArrayLike, " n"], n_classes: int) -> np.ndarray:
    r"""s_k = ‖E[z | k] − E[z]‖² / tr Cov(z) for each class (NaN for an absent class).

    >>> z = np.array([[1.0], [-1.0]]); class_shares(z, np.array([0, 1]), 2).tolist()
    [1.0, 1.0]
    """
    zz = np.asarray(z, dtype=float)
    lab = np.asarray(labels)
    mean = zz.mean(0)
    total = max(float(np.sum(zz.var(0))), 1e-300)
    out = np.full(int(n_classes), np.nan)
    for k in range(int(n_classes)):
        sel = lab == k
        if sel.any():
            out[k] = float(np.sum((zz[sel].mean(0) - mean) ** 2)) / total
    return out


def digits_imbalance_run(
    *,
    minority_count: int,
    settings: Float[ArrayLike, "s 2"],
    classes: Sequence[int] = (0, 1, 2, 3, 4),
    steps: int = 800,
    seed: int = 0,
    hidden: int = 64,
    d_out: int = 16,
    test_fraction: float = 0.3,
    n_probe: int | None = None,
) -> dict:
    r"""Train one network per (σ², γ) in ``settings`` with class 0 cut to ``minority_count`` training samples.

    The held-out test split (``test_fraction`` of each class, drawn before the
    cut; the minority's test points are kept whole so its accuracy is
    measurable) gives the class shares s_k and the per-class accuracy of a
    balanced least-squares probe trained on the (imbalanced) training split
    (or ``n_probe`` of it).  Returns ``shares`` (S, K), ``accuracy`` (S, K),
    ``train_counts`` (K,), ``settings`` (S, 2).
    """
    rng = np.random.default_rng(seed)
    x, y = digits_subsample(rng, {}, classes=classes)
    k = len(classes)
    test = np.zeros(y.size, bool)
    for c in range(k):
        idx = np.flatnonzero(y == c)
        test[rng.choice(idx, int(round(test_fraction * idx.size)), replace=False)] = True
    train_idx = np.flatnonzero(~test)
    minority = train_idx[y[train_idx] == 0]
    if not 1 <= minority_count <= minority.size:
        raise ValueError(f"minority_count must be in [1, {minority.size}], got {minority_count}")
    drop = rng.choice(minority, minority.size - minority_count, replace=False)
    train_idx = np.setdiff1d(train_idx, drop)
    xtr, ytr = x[train_idx], y[train_idx]
    xte, yte = x[test], y[test]
    if n_probe is not None:
        sel = rng.choice(ytr.size, min(int(n_probe), ytr.size), replace=False)
        xpr, ypr = xtr[sel], ytr[sel]
    else:
        xpr, ypr = xtr, ytr
    sets = np.asarray(settings, dtype=float).reshape(-1, 2)
    shares = np.zeros((len(sets), k))
    acc = np.zeros((len(sets), k))
    key = jax.random.PRNGKey(seed)
    for i, (s2, g) in enumerate(sets):
        params = train_ssl_mlp(
            key, xtr, sigma2=float(s2), weight_decay=float(g), steps=steps, hidden=hidden, d_out=d_out
        )
        model = digits_mlp(x.shape[1], hidden, d_out, jnp.result_type(float))
        f = lambda a: np.asarray(_outputs(model, params, jnp.asarray(a, jnp.result_type(float))))  # noqa: B023  (called in this iteration)
        shares[i] = class_shares(f(xte), yte, k)
        acc[i] = class_probe_accuracy(f(xpr), ypr, f(xte), yte, k)
    return dict(shares=shares, accuracy=acc, train_counts=np.bincount(ytr, minlength=k), settings=sets)
