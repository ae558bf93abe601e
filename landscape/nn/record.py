r"""Record quantities of a network during training: the Gram spectrum of its last layer over steps.

:func:`fit_recorded` runs the one training loop of :mod:`landscape.nn.train`
(:func:`~landscape.nn.train.fit`) in chunks of ``record_every`` steps and calls
``measure(params)`` on the parameters before the first step and after every
chunk.  Nothing about the step changes: the chunks reuse one compiled loop, and
because every random number is a function of (key, step) the run is the same
bit for bit as one uninterrupted :func:`~landscape.nn.train.fit`.

Measures of the last layer W (d1×d_ϕ, paper orientation):

* :func:`last_layer_gram` — the eigenvalues of WᵀW, descending (length d_ϕ):
  the staircase of stepwise learning;
* :func:`last_layer_directions` — λ_i = ‖W u_i‖² = u_iᵀWᵀWu_i along given unit
  directions u_i (the columns of ``basis``), which follows each direction of a
  theory even while two steps overlap.

Example (plain gradient descent on a linear model; the recorded steps are 0, 5, 10):
    >>> import jax
    >>> from landscape.nn import augment, models, train
    >>> m = models.Linear(in_dim=3, out_dim=2)
    >>> opt = train.make_optimizer("sgd", 1e-2, momentum=0.0)
    >>> state = train.init_train_state(m, opt, jax.random.PRNGKey(0))
    >>> x = jax.random.normal(jax.random.PRNGKey(1), (16, 3))
    >>> rec = fit_recorded(m, opt, train.make_ssl_loss("spectral"), augment.make_augment("noise", sigma2=0.1),
    ...                    x, state=state, steps=10, record_every=5, batch_size=16, measure=last_layer_gram)
    >>> rec.steps.tolist(), rec.records.shape, rec.losses.shape
    ([0, 5, 10], (3, 3), (10,))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from landscape.core.linalg import gram_spectrum
from landscape.nn.models import Model, Params, last_layer
from landscape.nn.train import Augment, LossFn, TrainState, fit

__all__ = ["Recording", "fit_recorded", "last_layer_gram", "last_layer_directions"]


class Recording(NamedTuple):
    """A training run with measurements.

    Attributes:
        state: the final training state.
        losses: the loss of every step run (steps,).
        steps: the step counts at which ``measure`` was taken (n_records,), starting with the first state's.
        records: ``measure(params)`` at those steps, stacked (n_records, ...), as NumPy.
    """

    state: TrainState
    losses: np.ndarray
    steps: np.ndarray
    records: np.ndarray


def fit_recorded(
    model: Model,
    optimizer: optax.GradientTransformation,
    loss_fn: LossFn,
    augment: Augment,
    data: ArrayLike,
    *,
    state: TrainState,
    steps: int,
    record_every: int,
    batch_size: int,
    measure: Callable[[Params], Any],
) -> Recording:
    """Train from ``state`` until step ``steps`` with :func:`~landscape.nn.train.fit`, measuring every ``record_every`` steps.

    The last chunk is shorter when ``record_every`` does not divide the steps left.
    """
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")
    data = jnp.asarray(data)
    done = int(state.step)
    if steps < done:
        raise ValueError(f"steps must be >= the state's step {done}, got {steps}")
    marks, records, losses = [done], [np.asarray(measure(state.params))], []
    while done < steps:
        done = min(done + int(record_every), int(steps))
        state, chunk = fit(
            model, optimizer, loss_fn, augment, data, state=state, steps=done, batch_size=batch_size,
            steps_per_call=int(record_every),
        )  # fmt: skip
        losses.append(chunk)
        marks.append(done)
        records.append(np.asarray(measure(state.params)))
    loss = np.concatenate(losses) if losses else np.zeros((0,), np.float32)
    return Recording(state, loss, np.asarray(marks), np.stack(records))


@jax.jit
def last_layer_gram(params: Params) -> jax.Array:
    """Eigenvalues of WᵀW of the last layer W (d1×d_ϕ), descending, length d_ϕ."""
    return gram_spectrum(last_layer(params))


@jax.jit
def last_layer_directions(params: Params, basis: ArrayLike) -> jax.Array:
    """λ_i = ‖W u_i‖² for the columns u_i of ``basis`` (d_ϕ×r): the last layer's Gram along each direction."""
    wu = last_layer(params) @ jnp.asarray(basis, last_layer(params).dtype)
    return jnp.sum(wu * wu, axis=0)
