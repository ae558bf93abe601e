r"""Stepwise learning in trained networks against the predicted staircase of the effective landscape.

Set-up.  Inputs: scikit-learn's digits (n = 1797, 64 pixels), centred and scaled so
that the top eigenvalue of their covariance is 1.  Augmentation: Gaussian noise
x ↦ x + ε, ε ~ N(0, σ²I), fresh at every step.  Loss: the sample spectral
contrastive loss (:func:`landscape.losses.sample.spectral_contrastive`); with a
linear map it is a quartic polynomial in W whose expectation is the effective
landscape with B = 2A0, Σ = A0 + C, k = 1 (derived row of the loss table) up to
O(1/n), so the theory has no expansion error.  Optimizer: plain gradient descent
(:func:`landscape.nn.train.make_optimizer` ``"sgd"``, no momentum) with rate η and
coupled weight decay wd (γ = wd/2), so that step s is time t = η·s of the flow
dW/dt = −∇L(W).

The effective problem is *estimated*, as a user would: two noisy views of the data
through the network at initialization (ϕ = x for the linear model, the hidden layer
of the MLP) give A0 and C (:func:`landscape.diagnosis.estimate.estimate_covariances`;
the spectral loss sees uncentred moments, so the views' mean μ adds μμᵀ to A0).
:func:`landscape.theory.stepwise.staircase` turns (B, Σ, k, γ) and the network's
own W₀ into escape times; the bootstrap of the views gives the spread of each m_i.

Measurements (:func:`run`): the eigenvalues of WᵀW of the last layer and
λ_i = ‖W u_i‖² along the predicted directions, every ``record_every`` steps
(:func:`landscape.nn.record.fit_recorded`); the escape time of direction i is the
first time λ_i reaches ½λ*_i (:func:`crossing_times`, log-linear interpolation
between records).  The gradient flow of the estimated landscape from the same W₀
(:func:`landscape.dynamics.batched_flow.batched_gradient_flow`) is the reference
the network should follow when the theory's conditions hold.

Discretization.  In the linear phase one step multiplies λ_i by (1 + 2ηm_i)², so
gradient descent escapes at rate 2 ln(1 + 2ηm_i)/η instead of 4m_i: later by the
factor 2ηm_i/ln(1 + 2ηm_i) = 1 + ηm_i + O(η²m²) (:func:`discrete_delay`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import landscape as ls
from landscape.core.linalg import gram_spectrum
from landscape.diagnosis.estimate import bootstrap_covariances, estimate_covariances
from landscape.dynamics.batched_flow import batched_gradient_flow
from landscape.nn import augment, data, models, record, train
from landscape.theory.stepwise import Staircase, staircase

__all__ = [
    "digits_inputs",
    "two_views",
    "estimated_landscape",
    "exact_landscape",
    "bootstrap_rates",
    "crossing_times",
    "discrete_delay",
    "small_last_layer",
    "run",
    "along",
    "flow_reference",
]


def digits_inputs(n: int | None = None) -> np.ndarray:
    """Digits as (n, 64) float32, centred, scaled so that the top covariance eigenvalue is 1 (first n rows)."""
    x, _ = data.load_digits()
    x = np.asarray(x, np.float64).reshape(len(x), -1)[: (n or len(x))]
    x = x - x.mean(axis=0)
    top = np.linalg.eigvalsh(x.T @ x / len(x))[-1]
    return (x / np.sqrt(top)).astype(np.float32)


def two_views(key: jax.Array, x: Any, sigma2: float) -> tuple[jax.Array, jax.Array]:
    """Two independent noisy views x + ε₁, x + ε₂ (the training augmentation)."""
    k1, k2 = jax.random.split(key)
    return augment.gaussian_noise(k1, x, sigma2), augment.gaussian_noise(k2, x, sigma2)


def _uncentred(cov: Any, v1: Any, v2: Any) -> Any:
    mu = 0.5 * (jnp.mean(jnp.asarray(v1, jnp.float64), 0) + jnp.mean(jnp.asarray(v2, jnp.float64), 0))
    return jnp.asarray(cov, jnp.float64) + jnp.outer(mu, mu)


def estimated_landscape(phi1: Any, phi2: Any, weight_decay: float) -> ls.EffectiveLandscape:
    """The spectral loss's effective landscape (B = 2A0, k = 1, γ = wd/2) from two views of the features."""
    est = estimate_covariances(np.asarray(phi1, np.float64), np.asarray(phi2, np.float64))
    problem = ls.Problem(data_cov=_uncentred(est.data_cov, phi1, phi2), aug_cov=jnp.asarray(est.aug_cov, jnp.float64))
    return ls.effective_landscape(problem, "spectral", weight_decay=0.5 * weight_decay)


def exact_landscape(x: Any, sigma2: float, weight_decay: float) -> ls.EffectiveLandscape:
    """The same landscape from the clean data's second moment A0 = x̂ᵀx̂/n and C = σ²I (what training averages over)."""
    x = np.asarray(x, np.float64)
    problem = ls.Problem(data_cov=jnp.asarray(x.T @ x / len(x)), aug_cov=jnp.asarray(sigma2 * np.eye(x.shape[1])))
    return ls.effective_landscape(problem, "spectral", weight_decay=0.5 * weight_decay)


def bootstrap_rates(phi1: Any, phi2: Any, weight_decay: float, replicates: int = 64) -> np.ndarray:
    """m_i = eigenvalues of 2A0 − γI on bootstrap resamples of the views, descending (replicates, d)."""
    a0, _ = bootstrap_covariances(np.asarray(phi1, np.float64), np.asarray(phi2, np.float64), replicates)
    mu = 0.5 * (np.mean(np.asarray(phi1, np.float64), 0) + np.mean(np.asarray(phi2, np.float64), 0))
    a0 = np.asarray(a0) + np.outer(mu, mu)[None]
    return np.sort(np.linalg.eigvalsh(2.0 * a0), axis=-1)[:, ::-1] - 0.5 * weight_decay


def crossing_times(times: Any, curves: Any, levels: Any) -> np.ndarray:
    """First time each curve (column of ``curves``, (T, r), positive) reaches its level; log-linear between records.

    ``inf`` where a curve never reaches it; the first time if it starts there.

    >>> crossing_times([0.0, 1.0], [[1.0], [100.0]], [10.0]).tolist()
    [0.5]
    """
    t = np.asarray(times, np.float64)
    y = np.log(np.maximum(np.asarray(curves, np.float64), 1e-300))
    lv = np.log(np.maximum(np.asarray(levels, np.float64), 1e-300))
    out = np.full(y.shape[1], np.inf)
    for i in range(y.shape[1]):
        hit = np.flatnonzero(y[:, i] >= lv[i])
        if hit.size == 0:
            continue
        j = int(hit[0])
        if j == 0:
            out[i] = t[0]
            continue
        y0, y1 = y[j - 1, i], y[j, i]
        out[i] = t[j - 1] + (t[j] - t[j - 1]) * (lv[i] - y0) / (y1 - y0)
    return out


def discrete_delay(rate: Any, learning_rate: float) -> np.ndarray:
    """2ηm/ln(1 + 2ηm): gradient descent's escape time over the flow's, in the linear phase (1 for m ≤ 0)."""
    x = 2.0 * float(learning_rate) * np.asarray(rate, np.float64)
    return np.where(x > 0, x / np.log1p(np.where(x > 0, x, 1.0)), 1.0)


def small_last_layer(seed: int, out_dim: int, dim: int, init_scale: float) -> np.ndarray:
    """W₀ with entries N(0, init_scale²/dim), float32 (d1×d), from NumPy's generator ``seed``."""
    w = np.random.default_rng(seed).normal(size=(out_dim, dim)) * (init_scale / np.sqrt(dim))
    return w.astype(np.float32)


def run(
    model: models.Linear | models.MLP,
    x: np.ndarray,
    *,
    w0: np.ndarray,
    sigma2: float,
    weight_decay: float,
    learning_rate: float,
    time: float,
    record_every: int,
    key: jax.Array,
    batch_size: int | None = None,
    replicates: int = 64,
) -> dict[str, Any]:
    """Train ``model`` with last layer ``w0`` by gradient descent and compare it with its predicted staircase.

    Returns the prediction (:class:`~landscape.theory.stepwise.Staircase` as ``"staircase"``, the
    landscape as ``"landscape"``, bootstrap rates) and the recording (``times``, last-layer ``weights``,
    ``gram``, ``directions`` along the predicted basis, ``loss`` per step, ``escape`` per direction).
    """
    opt = train.make_optimizer("sgd", learning_rate, momentum=0.0, weight_decay=weight_decay)
    k_init, k_views, k_run = jax.random.split(key, 3)
    state = train.init_train_state(model, opt, k_init)
    params = models.with_last_layer(state.params, jnp.asarray(w0))
    state = state._replace(params=params, opt_state=opt.init(params), key=k_run)
    v1, v2 = two_views(k_views, jnp.asarray(x), sigma2)
    phi1 = model.apply(params, state.model_state, v1, train=False)[0].phi
    phi2 = model.apply(params, state.model_state, v2, train=False)[0].phi
    land = estimated_landscape(phi1, phi2, weight_decay)
    st: Staircase = staircase(land, jnp.asarray(w0, jnp.float64))
    steps = int(round(time / learning_rate))
    rec = record.fit_recorded(
        model, opt, train.make_ssl_loss("spectral"), augment.make_augment("noise", sigma2=sigma2), x,
        state=state, steps=steps, record_every=record_every, batch_size=batch_size or len(x),
        measure=models.last_layer,
    )  # fmt: skip
    weights = rec.records.astype(np.float64)
    times = learning_rate * rec.steps.astype(np.float64)
    directions = along(weights, st.basis)
    return {
        "landscape": land,
        "staircase": st,
        "boot_rates": bootstrap_rates(phi1, phi2, weight_decay, replicates),
        "times": times,
        "weights": weights,
        "gram": np.asarray(jax.vmap(gram_spectrum)(jnp.asarray(weights))),
        "directions": directions,
        "loss": rec.losses,
        "escape": crossing_times(times, directions, 0.5 * np.asarray(st.limit)),
    }


def along(weights: Any, basis: Any) -> np.ndarray:
    """λ_i = ‖W u_i‖² for recorded weights (T, d1, d) and the columns u_i of ``basis``: (T, d)."""
    wu = np.einsum("tij,jk->tik", np.asarray(weights, np.float64), np.asarray(basis, np.float64))
    return np.sum(wu * wu, axis=1)


def flow_reference(land: ls.EffectiveLandscape, w0: np.ndarray, times: np.ndarray, basis: Any) -> dict[str, np.ndarray]:
    """The gradient flow of ``land`` from ``w0`` at ``times``: Gram spectrum, λ_i along ``basis``, loss."""
    w0 = jnp.asarray(w0, jnp.float64)[None]
    flow = batched_gradient_flow(land, w0, times=np.asarray(times, np.float64), rtol=1e-8, atol=1e-14)
    return {
        "gram": np.asarray(flow.gram_eigenvalues[0]),
        "directions": along(flow.weights[0], basis),
        "loss": np.asarray(flow.loss[0]),
    }
