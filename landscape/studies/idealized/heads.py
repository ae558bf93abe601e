r"""An encoder with the asymmetric heads of CISSL and DISSL, and its symmetric (SimCLR) counterpart.

Dubois et al. (2022, §4) train an encoder φ with two heads on top of the
representation r = φ(x): a *student* with the downstream probe's architecture
(linear for linear probing) and an expressive *teacher* (an MLP).  The
symmetric counterpart (SimCLR) puts the same MLP head on both views.
:class:`HeadedEncoder` is such a network as a model of :mod:`landscape.nn`
(``init``/``apply``), so the library's training loop
(:func:`landscape.nn.train.make_train_loop`) trains it with the real losses of
:mod:`landscape.losses.sample`:

z = [h_s(r) | h_t(r)] for every method:

* ``"cissl"``: the loss :func:`~landscape.losses.sample.cissl`
  whose two heads read the two halves of z (self-contrastive target, τ);
* ``"dissl"``: the two halves are student and teacher logits of
  :func:`~landscape.losses.sample.dissl` (λ, β, τ_t, τ_s);
* ``"simclr"``: the teacher half of z on both views and
  :func:`~landscape.losses.sample.nt_xent` (τ).

The heads act on the whole batch of 2n views the loss stacks, so slicing z is
the same as applying them inside the loss.

**Dimension by a mask.**  The representation has ``rep_dim`` coordinates and
is multiplied by ``model_state["mask"]`` (ones by default); a run with the last
coordinates masked is a run of a smaller representation (their weights get no
gradient), so runs of several dimensions share one compiled, ``vmap``-ped
program (:func:`train_runs`).

Example:
    >>> import jax, jax.numpy as jnp
    >>> m = HeadedEncoder(in_dim=4, rep_dim=3, hidden=(8,), head_hidden=8, head_out=5)
    >>> params, state = m.init(jax.random.PRNGKey(0))
    >>> out, _ = m.apply(params, state, jnp.ones((2, 4)), train=True)
    >>> out.h.shape, out.z.shape            # representation, [student | teacher]
    ((2, 3), (2, 10))
    >>> float(make_head_loss("cissl", 5)(out.z, out.z)) >= float(jnp.log(2.0))     # CISSL's bound
    True
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import metrics
from landscape.losses import sample as ssl
from landscape.nn import augment as nn_augment
from landscape.nn import models
from landscape.nn import train as nn_train

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    import numpy.typing as npt
    from jax.typing import ArrayLike
    from jaxtyping import Float, Int

__all__ = [
    "METHODS",
    "HeadedEncoder",
    "make_head_loss",
    "Runs",
    "train_runs",
    "representations",
    "probe_accuracies",
    "balanced_subsets",
    "random_feature_probe_accuracies",
]

METHODS = ("cissl", "simclr", "dissl")


@dataclasses.dataclass(frozen=True)
class HeadedEncoder:
    """MLP encoder ``in_dim → hidden… → rep_dim`` (the representation r) with a student and a teacher head.

    Student: linear ``rep_dim → head_out``; teacher (SimCLR's shared head):
    ``rep_dim → head_hidden → head_out`` with ReLU.  ``apply`` returns
    ``Outputs(h=r, phi=encoder's hidden layer, z=[student(r) | teacher(r)])``.
    ``head_out`` is the embedding width (CISSL, SimCLR) or the number of
    pseudo-classes C (DISSL).  SimCLR leaves the student unused, so every
    method has the same parameter tree (and one compiled program trains all).
    """

    in_dim: int
    rep_dim: int
    hidden: tuple[int, ...] = (256,)
    head_hidden: int = 128
    head_out: int = 64

    @property
    def encoder(self) -> models.MLP:
        return models.MLP(in_dim=self.in_dim, hidden=self.hidden, out_dim=self.rep_dim, activation="relu")

    def init(self, key: jax.Array) -> tuple[models.Params, models.State]:
        k_enc, k_s, k_t1, k_t2 = jax.random.split(key, 4)
        enc, enc_state = self.encoder.init(k_enc)
        teacher = {
            "dense0": models.dense_init(k_t1, self.rep_dim, self.head_hidden),
            "last": models.dense_init(k_t2, self.head_hidden, self.head_out, gain=2.0),
        }
        params = {"encoder": enc, "student": models.dense_init(k_s, self.rep_dim, self.head_out), "teacher": teacher}
        return params, {"encoder": enc_state, "mask": jnp.ones((self.rep_dim,), jnp.float32)}

    def apply(
        self, params: models.Params, state: models.State, x: Float[ArrayLike, "n in_dim"], *, train: bool
    ) -> tuple[models.Outputs, models.State]:
        out, enc_state = self.encoder.apply(params["encoder"], state["encoder"], x, train=train)
        rep = out.z * state["mask"][None, :]
        t = models.dense(params["teacher"]["last"], jax.nn.relu(models.dense(params["teacher"]["dense0"], rep)))
        z = jnp.concatenate([models.dense(params["student"], rep), t], axis=1)
        return models.Outputs(rep, out.h, z), {"encoder": enc_state, "mask": state["mask"]}


def make_head_loss(
    method: str,
    head_out: int,
    *,
    temperature: float = 0.07,
    lam: float = 2.3,
    beta: float = 0.8,
    teacher_temperature: float = 0.5,
    student_temperature: float = 1.0,
) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``fn(z1, z2)``: the loss of ``method`` (one of :data:`METHODS`) on z = [student | teacher] outputs.

    CISSL and SimCLR use ``temperature`` (τ); DISSL ``lam`` (λ), ``beta`` (β) and the two temperatures.
    """
    k = int(head_out)

    def student(v):
        return v[:, :k]

    def teacher(v):
        return v[:, k:]

    if method == "simclr":
        return lambda z1, z2: ssl.nt_xent(teacher(z1), teacher(z2), temperature=temperature)
    if method == "cissl":
        return lambda z1, z2: ssl.cissl(z1, z2, student, teacher, temperature=temperature)
    if method == "dissl":
        return lambda z1, z2: ssl.dissl(
            z1,
            z2,
            student,
            teacher,
            lambda_maximality=lam,
            beta_determinism=beta,
            teacher_temperature=teacher_temperature,
            student_temperature=student_temperature,
        )
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


class Runs(NamedTuple):
    """Trained states (leading axis: runs) and their losses (runs × steps)."""

    states: nn_train.TrainState
    losses: jax.Array


def train_runs(
    model: HeadedEncoder,
    images: Float[npt.ArrayLike, "n h w c"],
    *,
    methods: Sequence[str],
    dims: Int[npt.ArrayLike, " runs"],
    strengths: Float[npt.ArrayLike, " runs"],
    seeds: Int[npt.ArrayLike, " runs"],
    steps: int,
    batch_size: int = 128,
    learning_rate: float = 2e-3,
    **loss_settings: float,
) -> Runs:
    r"""Train one run per (method, dimension, augmentation strength, seed), all in one ``vmap``-ped program.

    ``images`` (n, h, w, c) in [0, 1].  Run i minimises the loss of
    ``methods[i]`` (:func:`make_head_loss`, with ``loss_settings``) on the
    first ``dims[i]`` coordinates of the representation, with SimCLR-style
    augmentations of strength ``strengths[i]``
    (:func:`landscape.nn.augment.simclr_augment`, preset ``cifar``), from the
    key ``PRNGKey(seeds[i])``; Adam with a cosine schedule over ``steps``
    steps of ``batch_size`` images (:func:`landscape.nn.train.make_train_loop`).
    The method is a per-run index into a ``lax.switch``, which ``vmap`` turns
    into evaluating the three losses and keeping one: three times the loss
    arithmetic, one compilation instead of three.
    """
    methods = [METHODS.index(m) for m in methods]
    dims, strengths, seeds, idx = (np.asarray(v) for v in (dims, strengths, seeds, methods))
    if not dims.shape == strengths.shape == seeds.shape == idx.shape or dims.ndim != 1:
        raise ValueError("methods, dims, strengths and seeds must be 1-D sequences of one length")
    if dims.min() < 1 or dims.max() > model.rep_dim:
        raise ValueError(f"dims must lie in [1, {model.rep_dim}], got {dims.tolist()}")
    opt = nn_train.make_optimizer("adam", learning_rate, schedule="cosine", total_steps=int(steps))
    losses = [make_head_loss(m, model.head_out, **loss_settings) for m in METHODS]
    data = jnp.asarray(images, jnp.float32)
    masks = jnp.asarray(np.arange(model.rep_dim)[None, :] < dims[:, None], jnp.float32)

    def one(method, mask, strength, seed):
        state = nn_train.init_train_state(model, opt, jax.random.PRNGKey(seed))
        state = state._replace(model_state={**state.model_state, "mask": mask})
        aug = nn_augment.make_augment("simclr", strength=strength, preset="cifar")
        loss = lambda z1, z2: jax.lax.switch(method, losses, z1, z2)  # noqa: E731
        loop = nn_train.make_train_loop(model, opt, loss, aug, batch_size=batch_size, steps_per_call=int(steps))
        return loop(state, data)

    states, trace = jax.jit(jax.vmap(one))(
        jnp.asarray(idx), masks, jnp.asarray(strengths, jnp.float32), jnp.asarray(seeds)
    )
    return Runs(states, trace)


def representations(
    model: HeadedEncoder, states: nn_train.TrainState, images: Float[npt.ArrayLike, "n h w c"]
) -> Float[np.ndarray, "runs n rep_dim"]:
    """The representations (runs, n, rep_dim) of clean ``images`` (masked coordinates are zero)."""
    x = jnp.asarray(images, jnp.float32)
    fn = jax.jit(jax.vmap(lambda p, s: model.apply(p, s, x, train=False)[0].h))
    return np.asarray(fn(states.params, states.model_state), np.float64)


def probe_accuracies(
    reps: Float[npt.ArrayLike, "runs n d"],
    labels: Int[npt.ArrayLike, " n"],
    train_idx: Int[npt.ArrayLike, "... k"],
    test_idx: Int[npt.ArrayLike, " m"],
    *,
    n_classes: int,
    ridge: float = 1e-3,
) -> Float[np.ndarray, "runs ..."]:
    """Held-out accuracy of the least-squares linear probe (:func:`landscape.metrics.probe_accuracy`) per run.

    ``reps`` (runs, n, d); the probe is fitted on the rows ``train_idx`` and
    scored on ``test_idx``.  ``train_idx`` may be (k,) or (repeats, k): one
    probe per row of indices, result (runs,) or (runs, repeats).
    """
    train_idx = jnp.asarray(train_idx)
    out = _probe_accuracies(
        jnp.asarray(reps),
        jnp.asarray(labels),
        train_idx,
        jnp.asarray(test_idx),
        float(ridge),
        n_classes,
        train_idx.ndim == 2,
    )
    return np.asarray(out)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _probe_accuracies(reps, y, train_idx, test_idx, ridge: float, n_classes: int, repeated: bool):
    """:func:`probe_accuracies`, compiled once per shape and options (not once per call); ``ridge`` is
    static because ``ridge = 0`` selects the pseudo-inverse."""

    def one(r, tr):
        return metrics.probe_accuracy(r[tr], y[tr], r[test_idx], y[test_idx], n_classes=n_classes, ridge=ridge)

    inner = jax.vmap(one, in_axes=(None, 0)) if repeated else one
    return jax.vmap(inner, in_axes=(0, None))(reps, train_idx)


def balanced_subsets(
    labels: Int[npt.ArrayLike, " n"], pool: Int[npt.ArrayLike, " p"], per_class: int, repeats: int, *, seed: int = 0
) -> Int[np.ndarray, "repeats k"]:
    """(repeats, per_class·K) indices into ``labels``: ``per_class`` random rows of ``pool`` from each of the K classes.

    >>> balanced_subsets([0, 1, 0, 1, 0, 1], [0, 1, 2, 3], 1, 2).shape
    (2, 2)
    """
    y = np.asarray(labels)
    pool = np.asarray(pool)
    rng = np.random.default_rng(seed)
    by_class = [pool[y[pool] == c] for c in np.unique(y[pool])]
    if per_class > min(len(b) for b in by_class):
        raise ValueError(f"per_class = {per_class} exceeds the smallest class of the pool")
    return np.stack(
        [np.concatenate([rng.choice(b, per_class, replace=False) for b in by_class]) for _ in range(int(repeats))]
    )


def random_feature_probe_accuracies(
    reps: Float[npt.ArrayLike, "runs n d"],
    labels: Int[npt.ArrayLike, " n"],
    train_idx: Int[npt.ArrayLike, "... k"],
    test_idx: Int[npt.ArrayLike, " m"],
    *,
    n_classes: int,
    width: int = 1024,
    ridge: float = 1e-3,
    seed: int = 0,
) -> Float[np.ndarray, "runs ..."]:
    r"""A one-hidden-layer MLP probe with a fixed random ReLU layer and a least-squares read-out, per run.

    The representation is standardised on the training rows, mapped through
    ReLU(r W + b) with W ~ N(0, 1/d), d the run's number of non-constant coordinates
    (``width`` units, b ~ N(0, 1)), and the read-out is
    :func:`probe_accuracies` on those features: a non-linear probe in closed form.
    """
    r = np.asarray(reps, np.float64)
    train_idx = np.asarray(train_idx)
    mean = r[:, train_idx].mean(axis=1, keepdims=True)
    std = r[:, train_idx].std(axis=1, keepdims=True)
    live = std > 1e-8
    r = np.where(live, (r - mean) / np.where(live, std, 1.0), 0.0)
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(r.shape[-1], width))
    b = rng.normal(size=(width,))
    feats = np.maximum(r @ w / np.sqrt(np.maximum(live.sum(axis=-1, keepdims=True), 1)) + b, 0.0)
    return probe_accuracies(feats, labels, train_idx, test_idx, n_classes=n_classes, ridge=ridge)
