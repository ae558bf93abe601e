r"""Encoder + projector *networks*: invariance, rank and probe accuracy of each output, per run.

The network counterpart of the linear model of this package (spec §I.4 E-A1/E-A2).
An MLP encoder h = f(x) (ReLU, ``ENCODER`` widths) feeds a projector
z = g(h) of ``depth`` hidden ReLU layers of ``width`` units and a linear last
layer to ``width`` outputs (depth 0: one linear map h → z).  SimCLR's NT-Xent
(τ = 0.2) is taken on z; the augmentation is the library's Gaussian noise
x ↦ x + σε, ε ~ N(0, I), on inputs scaled to unit mean variance per coordinate.

Two data sets of the same shape (so one compiled program trains both):

* ``digits``: scikit-learn's 8×8 digits, pixels standardised (10 classes);
* ``torus``: a curved 2-torus in R⁶⁴ (:func:`landscape.nn.data.torus_manifold`),
  scaled to the digits' total variance, with 10 classes from the first angle
  (label ⌊5θ₁/π⌋).

:func:`train_and_measure` trains one network per (data set, σ, seed) with
``vmap`` under one ``jit`` and returns, for the encoder output h and the projector
output z: the sampled AVF (:func:`landscape.metrics.avf_samples`, two fresh
views of every sample), the effective rank of the clean outputs, and a held-out
linear-probe accuracy on clean inputs; and the AVF of the inputs themselves.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics
from landscape.nn import augment, data, models
from landscape.nn.train import init_train_state, make_optimizer, make_ssl_loss, make_train_loop

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = ["ENCODER", "DATASETS", "NetworkMetrics", "load_datasets", "projector_model", "train_and_measure"]

ENCODER = (128, 64)  # encoder widths: h has 64 dimensions
DATASETS = ("digits", "torus")
N_CLASSES = 10
TRAIN_FRACTION = 0.7  # of the (shuffled) samples, for the probe; the rest scores it


class NetworkMetrics(NamedTuple):
    """Per-run metrics (every field has the leading run axes of the sweep).

    ``avf_*_unit`` are the AVFs of the outputs scaled to unit length, the geometry
    NT-Xent sees (it depends on z only through z/‖z‖).
    """

    avf_input: np.ndarray
    avf_encoder: np.ndarray
    avf_projector: np.ndarray
    erank_encoder: np.ndarray
    erank_projector: np.ndarray
    probe_encoder: np.ndarray
    probe_projector: np.ndarray
    avf_encoder_unit: np.ndarray
    avf_projector_unit: np.ndarray
    final_loss: np.ndarray


def load_datasets(n: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x (2, n, 64) float32, labels (2, n) int32) for :data:`DATASETS`, shuffled, unit mean variance.

    ``n`` (default: all 1,797 digits) takes the first n shuffled samples of each.
    """
    imgs, y_dig = data.load_digits()
    x_dig, _, _ = data.standardize(imgs.reshape(len(imgs), -1))
    n_all = x_dig.shape[0]
    tor = data.torus_manifold(jax.random.PRNGKey(seed + 1), n_all, ambient_dim=64, intrinsic_dim=2)
    x_tor = tor.points - tor.points.mean(axis=0)
    x_tor = x_tor * np.sqrt(np.sum(x_dig.var(axis=0)) / np.sum(x_tor.var(axis=0)))
    y_tor = (np.floor(5.0 * tor.latent[:, 0] / np.pi).astype(np.int32)) % N_CLASSES
    perm = np.asarray(jax.random.permutation(jax.random.PRNGKey(seed), n_all))[: (n or n_all)]
    x = np.stack([x_dig[perm], x_tor[perm]]).astype(np.float32)
    return x, np.stack([y_dig[perm], y_tor[perm]]).astype(np.int32)


def projector_model(width: int, depth: int, in_dim: int = 64) -> models.MLP:
    """The MLP with the :data:`ENCODER` and a projector of ``depth`` hidden layers, all ``width`` wide."""
    return models.MLP(
        in_dim=in_dim, hidden=ENCODER, out_dim=int(width), proj_hidden=(int(width),) * int(depth), activation="relu"
    )


def train_and_measure(
    x: Float[ArrayLike, "n_data n d"],
    labels: Int[ArrayLike, "n_data n"],
    sigmas: Float[ArrayLike, " n_sigmas"],
    seeds: Int[ArrayLike, " n_seeds"],
    *,
    width: int,
    depth: int,
    steps: int,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    temperature: float = 0.2,
) -> NetworkMetrics:
    r"""Train one network per (data set, σ, seed) and measure encoder vs projector.

    ``x`` (n_data, n, D) and ``labels`` (n_data, n) come from :func:`load_datasets`;
    the result's fields have shape (n_data, len(sigmas), len(seeds)).  Seed s
    fixes the initialisation and the batches, so σ and the data set are the only
    differences between runs of one seed.

    >>> x, y = load_datasets(n=64)
    >>> m = train_and_measure(x, y, [0.5], [0], width=8, depth=0, steps=2, batch_size=16)
    >>> m.avf_encoder.shape
    (2, 1, 1)
    """
    x = jnp.asarray(x, jnp.float32)
    y = np.asarray(labels)
    sig = np.atleast_1d(np.asarray(sigmas, np.float32))
    keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in np.atleast_1d(seeds)])
    model = projector_model(width, depth, x.shape[-1])
    params, model_state, losses = _train(
        x,
        jnp.asarray(sig),
        keys,
        width=int(width),
        depth=int(depth),
        steps=int(steps),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        temperature=float(temperature),
    )
    rows = []
    for i, j, k in np.ndindex(x.shape[0], sig.size, keys.shape[0]):
        run = jax.tree_util.tree_map(lambda v: v[i, j, k], (params, model_state))  # noqa: B023  (called in this iteration)
        rows.append(_measure(model, run, x[i], y[i], float(sig[j]), jax.random.fold_in(keys[k], 7)))
    out = np.asarray(rows).reshape(x.shape[0], sig.size, keys.shape[0], -1)
    tail = np.asarray(losses)[..., -max(1, int(steps) // 10) :].mean(axis=-1)
    return NetworkMetrics._make([*np.moveaxis(out, -1, 0), tail])


def _measure(model, run, x, labels, sigma: float, key) -> list[float]:
    """The metrics of one trained network, evaluated eagerly in float64 (see :class:`NetworkMetrics`)."""
    params, model_state = run
    k1, k2 = jax.random.split(key)
    x1, x2 = augment.gaussian_noise(k1, x, sigma**2), augment.gaussian_noise(k2, x, sigma**2)
    clean, v1, v2 = (model.apply(params, model_state, xb, train=False)[0] for xb in (x, x1, x2))
    f64 = lambda a: np.asarray(a, np.float64)
    cut = int(TRAIN_FRACTION * x.shape[0])

    def unit(f):
        f = f64(f)
        return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)

    def probe(f):
        f = f64(f)
        return metrics.probe_accuracy(f[:cut], labels[:cut], f[cut:], labels[cut:], n_classes=N_CLASSES, ridge=1e-3)

    vals = (
        metrics.avf_samples(f64(x1), f64(x2)),
        metrics.avf_samples(f64(v1.h), f64(v2.h)),
        metrics.avf_samples(f64(v1.z), f64(v2.z)),
        metrics.effective_rank(f64(clean.h)),
        metrics.effective_rank(f64(clean.z)),
        probe(clean.h),
        probe(clean.z),
        metrics.avf_samples(unit(v1.h), unit(v2.h)),
        metrics.avf_samples(unit(v1.z), unit(v2.z)),
    )
    return [float(v) for v in vals]


@functools.partial(jax.jit, static_argnames=("width", "depth", "steps", "batch_size", "learning_rate", "temperature"))
def _train(x, sigmas, keys, *, width, depth, steps, batch_size, learning_rate, temperature):
    """(params, model state, losses) of every (data set, σ, seed), trained in one program."""
    model = projector_model(width, depth, x.shape[-1])
    opt = make_optimizer("adam", learning_rate)
    loss = make_ssl_loss("nt-xent", temperature=temperature)

    def one(xd, sigma, key):
        def noise(k, xb):
            return augment.gaussian_noise(k, xb, sigma * sigma)

        loop = make_train_loop(model, opt, loss, noise, batch_size=batch_size, steps_per_call=steps)
        state, losses = loop(init_train_state(model, opt, key), xd)
        return state.params, state.model_state, losses

    per_seed = jax.vmap(one, in_axes=(None, None, 0))
    per_sigma = jax.vmap(per_seed, in_axes=(None, 0, None))
    return jax.vmap(per_sigma, in_axes=(0, None, None))(x, sigmas, keys)
