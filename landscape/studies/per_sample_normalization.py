r"""Per-sample output normalization f/‖f‖, by simulation (WS Fig. 3).

What practitioners normalize is each output, f(x) → √c·f(x)/‖f(x)‖, not the
average norm.  The paper has no theory for that; it models it with the average-
norm penalty κ(E‖f‖² − c)² (:mod:`landscape.theory.normalization`) and shows a
simulation.  This module is that simulation, so the two can be compared:

* data: a fixed sample x̂_1..x̂_N ~ N(0, A0), centred so that its second moment
  is its covariance Â0 = X̂ᵀX̂/N (for A0 = I_32 and N ≈ 100 the smallest
  eigenvalues of Â0 are ≈ 0.2, the setting of WS Fig. 3);
* augmentation: at every step two fresh views x = x̂ + ε, x′ = x̂ + ε′ of every
  point, ε ~ N(0, σ²I);
* model: f(x) = √c·Wx/‖Wx‖ with W ∈ R^{d1×d0};
* loss: InfoNCE with Euclidean similarity and the positive in the denominator
  (WS Eq. 1), full batch, averaged over anchors:

      ℓ_i = ½‖f_i − f′_i‖² + log Σ_j exp(−½‖f_i − f′_j‖²),

  the negatives χ_j being the second views f′_j of the other points;
* training: Adam (optax) for a fixed number of steps in one ``lax.scan``,
  ``vmap``-ped over σ² and over seeds.

**Comparing with the κ-model.**  The κ-model at κ → ∞ with B = Â0 (InfoNCE),
Σ = Â0 + σ²I predicts WᵀW in closed form (:func:`kappa_model_gram`).  Two
differences have to be handled, and both are reported rather than hidden:

1. *Scale.*  f/‖f‖ does not change when W is multiplied by a number, so the
   loss fixes only the shape of WᵀW; its scale is whatever the optimizer
   drifted to.  The simulated W is therefore rescaled to the κ-model's
   constraint Tr[WΣWᵀ] = c before comparing (:func:`rescale_to_norm`).
2. *Pointwise versus average.*  Per-sample normalization fixes ‖f(x)‖ for every
   x, which changes the loss at all orders in W (cosine similarity with
   temperature 1/c), while the κ-model expands InfoNCE to fourth order in W and
   only pins E‖f‖².  The κ-model is therefore a model, not a derivation.
3. *The quartic coefficient.*  With every ‖f‖² = c the logits are
   −c + f_i·f′_j, and expanding log Σ_j exp(f_i·f′_j) to second order gives
   the uniformity term ½·Tr[(E ffᵀ)²]: only the inner-product part of the
   variance survives, the ‖f‖²-fluctuation part (which makes the paper's
   k = 1, or ¾ for the exact conditional variance) is gone.  If ‖Wx‖²
   concentrates around its mean (large d), f ≈ √(c/ρ)·Wx and the loss becomes
   the κ → ∞ model with **k = ½**.  Since only k·c enters the survival
   condition ℓ_i + 2kc/d_M > ℓ̄, the paper's k = 1 under-predicts collapse.

Measured (d = 32, N = 100, c = 1, 3000 Adam steps, 2 seeds; number of
directions below 1 % of the largest eigenvalue at σ² = 0, 0.01, …, 0.11):
simulation 0 1 4 6 7 8 10 11 12 12 12 14; κ-model k = ½: 0 1 4 5 7 8 9 10 12
12 12 12; k = 1: 0 0 1 2 3 4 5 5 7 7 7 7.  The same agreement holds at c = ¼
and c = 4 with σ² scaled by c (``figures/fig3_normalization.py`` draws it).

Example (tiny, fast):
    >>> import jax
    >>> import landscape.studies.per_sample_normalization as psn
    >>> x = psn.sample_dataset(jax.random.PRNGKey(0), 4, 64)
    >>> run = psn.simulate(x, [0.0, 0.5], out_dim=4, steps=50, n_seeds=1)
    >>> run.gram_eigenvalues.shape     # (n_sigma2, n_seeds, d0), ascending
    (2, 1, 4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import sym_sqrt
from landscape.core.validation import as_scalar
from landscape.theory.normalization import NormalizedSolution, hard_normalization_limit

__all__ = [
    "SimulationResult",
    "sample_dataset",
    "normalize_outputs",
    "infonce_euclidean",
    "per_sample_loss",
    "train",
    "simulate",
    "simulate_variants",
    "rescale_to_norm",
    "kappa_model",
    "kappa_model_gram",
    "spectrum_in_data_basis",
]


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """Trained weights and their spectra, batched as (n_sigma2, n_seeds, …).

    Attributes:
        sigma2: the augmentation strengths (n_sigma2,).
        weights: trained W, (n_sigma2, n_seeds, d1, d0), as the optimizer left them.
        gram_eigenvalues: eigenvalues of WᵀW after :func:`rescale_to_norm`
            (Tr[WΣWᵀ] = c), ascending, (n_sigma2, n_seeds, d0).
        final_loss: the per-sample-normalized InfoNCE at the last step, (n_sigma2, n_seeds).
        data_cov: Â0 = X̂ᵀX̂/N of the centred data, (d0, d0).
        norm_target: c.
    """

    sigma2: jax.Array
    weights: jax.Array
    gram_eigenvalues: jax.Array
    final_loss: jax.Array
    data_cov: jax.Array
    norm_target: Any


jax.tree_util.register_dataclass(
    SimulationResult,
    data_fields=["sigma2", "weights", "gram_eigenvalues", "final_loss", "data_cov", "norm_target"],
    meta_fields=[],
)


def sample_dataset(
    key: jax.Array, dim: int, n_samples: int, data_cov: Any | None = None, center: bool = True
) -> jax.Array:
    """N points of N(0, A0) (A0 = I when ``data_cov`` is None), shape (N, d0); centred unless ``center=False``.

    An uncentred sample keeps its empirical mean x̄ (‖x̄‖² ≈ d0/N): under per-sample
    normalization the uniformity term does not cancel a common offset, so W learns to
    remove the direction of x̄ (one direction collapsed already at σ² = 0).
    """
    if int(dim) < 1 or int(n_samples) < 2:
        raise ValueError(f"dim must be >= 1 and n_samples >= 2, got dim={dim}, n_samples={n_samples}")
    z = jax.random.normal(key, (int(n_samples), int(dim)), jnp.result_type(float))
    if data_cov is not None:
        cov = np.asarray(data_cov, float)
        if cov.shape != (dim, dim):
            raise ValueError(f"data_cov must have shape ({dim}, {dim}), got {cov.shape}")
        vals = np.linalg.eigvalsh(0.5 * (cov + cov.T))
        if vals[0] < -1e-12 * max(1.0, vals[-1]):
            raise ValueError("data_cov must be positive semi-definite")
        z = z @ sym_sqrt(jnp.asarray(cov, z.dtype))
    return z - jnp.mean(z, axis=0, keepdims=True) if center else z


def normalize_outputs(f: jax.Array, norm_target: Any = 1.0, eps: float = 1e-12) -> jax.Array:
    """√c·f/‖f‖ row by row (‖f‖ is floored at ``eps`` to stay finite at f = 0)."""
    norm = jnp.sqrt(jnp.sum(f * f, axis=-1, keepdims=True) + eps * eps)
    return jnp.sqrt(norm_target) * f / norm


def infonce_euclidean(f: jax.Array, f_pos: jax.Array) -> jax.Array:
    """Mean over anchors i of −log[exp(−½‖f_i − f′_i‖²) / Σ_j exp(−½‖f_i − f′_j‖²)] (WS Eq. 1).

    ``f`` and ``f_pos`` are (N, d1): row i of ``f_pos`` is the positive of row i
    of ``f`` and the other rows are its negatives; the positive stays in the
    denominator.

    >>> import jax.numpy as jnp
    >>> round(float(infonce_euclidean(jnp.zeros((3, 2)), jnp.zeros((3, 2)))), 6)   # log N
    1.098612
    """
    sq = jnp.sum(f * f, axis=1)[:, None] + jnp.sum(f_pos * f_pos, axis=1)[None, :] - 2.0 * f @ f_pos.T
    logits = -0.5 * sq
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.diagonal(logits))


def per_sample_loss(w: jax.Array, x: jax.Array, x_pos: jax.Array, norm_target: Any = 1.0) -> jax.Array:
    """InfoNCE on per-sample-normalized linear outputs √c·Wx/‖Wx‖."""
    return infonce_euclidean(normalize_outputs(x @ w.T, norm_target), normalize_outputs(x_pos @ w.T, norm_target))


def train(
    key: jax.Array,
    data: jax.Array,
    sigma2: Any,
    *,
    out_dim: int,
    steps: int,
    learning_rate: float = 3e-3,
    norm_target: Any = 1.0,
    init_scale: float = 0.1,
) -> tuple[jax.Array, jax.Array]:
    """Train W by full-batch Adam on fresh augmentations each step: returns (W, last loss).

    W₀ = init_scale·N(0, 1)/√d0.  ``out_dim`` and ``steps`` are static; ``key``
    and ``sigma2`` may be batched with ``vmap``.  The loop is hand-written: each step draws fresh augmentations
    from its own key, while ``dynamics.descend`` takes a gradient of the parameters alone.
    """
    n, d0 = data.shape
    k_init, k_noise = jax.random.split(key)
    w0 = init_scale * jax.random.normal(k_init, (out_dim, d0), data.dtype) / np.sqrt(d0)
    opt = optax.adam(learning_rate)
    std = jnp.sqrt(jnp.asarray(sigma2, data.dtype))
    grad_fn = jax.value_and_grad(per_sample_loss)

    def step(carry, k):
        w, state = carry
        e1, e2 = jax.random.normal(k, (2, n, d0), data.dtype)
        value, g = grad_fn(w, data + std * e1, data + std * e2, norm_target)
        updates, state = opt.update(g, state, w)
        return (optax.apply_updates(w, updates), state), value

    keys = jax.random.split(k_noise, steps)
    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), keys)
    return w, losses[-1]


def rescale_to_norm(w: jax.Array, sigma: jax.Array, norm_target: Any = 1.0) -> jax.Array:
    """W·√(c/Tr[WΣWᵀ]): the multiple of W that meets the κ-model's constraint ρ = c."""
    rho = jnp.sum((w @ sigma) * w)
    return w * jnp.sqrt(norm_target / rho)


def simulate(
    data: jax.Array,
    sigma2s: Sequence[float],
    *,
    out_dim: int | None = None,
    steps: int = 3000,
    learning_rate: float = 3e-3,
    norm_target: float = 1.0,
    n_seeds: int = 2,
    seed: int = 0,
    init_scale: float = 0.1,
) -> SimulationResult:
    """Train one W per (σ², seed) with :func:`train`, vmapped, in one jitted call.

    Returns a :class:`SimulationResult`; its spectra are of the rescaled W
    (Tr[WΣWᵀ] = c with Σ = Â0 + σ²I, Â0 = X̂ᵀX̂/N the second moment), ascending.
    """
    data = jnp.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-D array (n_samples, dim), got shape {data.shape}")
    runs = simulate_variants(
        data[None],
        [norm_target],
        sigma2s,
        out_dim=out_dim,
        steps=steps,
        learning_rate=learning_rate,
        n_seeds=n_seeds,
        seed=seed,
        init_scale=init_scale,
    )
    return runs[0]


def simulate_variants(
    datasets: jax.Array,
    norm_targets: Sequence[float],
    sigma2s: Sequence[float],
    *,
    out_dim: int | None = None,
    steps: int = 3000,
    learning_rate: float = 3e-3,
    n_seeds: int = 2,
    seed: int = 0,
    init_scale: float = 0.1,
) -> list[SimulationResult]:
    """:func:`simulate` for several (data set, c) variants of one shape, all in one jitted, vmapped call.

    ``datasets`` is (V, N, d0) and ``norm_targets`` has V entries (e.g. centred and
    uncentred samples, several c); the same seeds are used for every variant.
    Returns one :class:`SimulationResult` per variant.
    """
    data = jnp.asarray(datasets)
    if data.ndim != 3:
        raise ValueError(f"datasets must be a 3-D array (variants, n_samples, dim), got shape {data.shape}")
    d0 = data.shape[2]
    out_dim = d0 if out_dim is None else int(out_dim)
    if out_dim < 1 or int(steps) < 1 or int(n_seeds) < 1:
        raise ValueError(f"out_dim, steps and n_seeds must be >= 1, got {out_dim}, {steps}, {n_seeds}")
    as_scalar(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    targets = np.atleast_1d(np.asarray(norm_targets, float))
    if targets.shape != (data.shape[0],) or np.any(targets <= 0):
        raise ValueError(f"norm_targets must be {data.shape[0]} positive numbers, got {norm_targets!r}")
    s2 = np.atleast_1d(np.asarray(sigma2s, float))
    if s2.ndim != 1 or np.any(s2 < 0) or not np.all(np.isfinite(s2)):
        raise ValueError(f"sigma2s must be finite and >= 0, got {sigma2s!r}")
    sigma2 = jnp.asarray(s2, data.dtype)
    keys = jax.random.split(jax.random.PRNGKey(seed), int(n_seeds))
    covs = jnp.einsum("vni,vnj->vij", data, data) / data.shape[1]
    eye = jnp.eye(d0, dtype=data.dtype)

    @jax.jit
    def run(data, covs, targets):
        def one(x, cov, c, s2, key):
            w, last = train(
                key,
                x,
                s2,
                out_dim=out_dim,
                steps=int(steps),
                learning_rate=learning_rate,
                norm_target=c,
                init_scale=init_scale,
            )
            w_c = rescale_to_norm(w, cov + s2 * eye, c)
            return w, jnp.linalg.eigvalsh(w_c.T @ w_c), last

        def variant(x, cov, c):
            return jax.vmap(lambda s2: jax.vmap(lambda k: one(x, cov, c, s2, k))(keys))(sigma2)

        return jax.vmap(variant)(data, covs, targets)

    w, eig, last = run(data, covs, jnp.asarray(targets, data.dtype))
    return [SimulationResult(sigma2, w[v], eig[v], last[v], covs[v], float(targets[v])) for v in range(len(targets))]


def kappa_model(
    data_cov: jax.Array, sigma2: Any, *, norm_target: Any = 1.0, out_dim: int | None = None, quartic: Any = 1.0
) -> NormalizedSolution:
    """The κ → ∞ model with B = A0 (InfoNCE), Σ = A0 + σ²I at its global minimum (Eq. 8).

    ``quartic`` = 1 is the paper's model; ½ is the per-sample value (module
    docstring).  Its ``rank`` counts the surviving directions exactly.
    Jittable and vmappable over ``sigma2``.
    """
    data_cov = jnp.asarray(data_cov)
    d0 = data_cov.shape[0]
    sigma = data_cov + jnp.asarray(sigma2, data_cov.dtype) * jnp.eye(d0, dtype=data_cov.dtype)
    land = EffectiveLandscape(
        b=data_cov,
        sigma=sigma,
        quartic=jnp.asarray(quartic, data_cov.dtype),
        weight_decay=jnp.zeros((), data_cov.dtype),
    )
    return hard_normalization_limit(land, d0 if out_dim is None else int(out_dim), norm_target)


def kappa_model_gram(data_cov: jax.Array, sigma2: Any, **kwargs: Any) -> jax.Array:
    """WᵀW of :func:`kappa_model` (same arguments)."""
    return kappa_model(data_cov, sigma2, **kwargs).gram


def spectrum_in_data_basis(gram: jax.Array, data_cov: jax.Array) -> jax.Array:
    """uᵢᵀ(WᵀW)uᵢ for the eigenvectors uᵢ of A0 in ascending order of their variance.

    For isotropic augmentation the κ-model's WᵀW is diagonal in this basis, so
    these are its eigenvalues attached to data directions (smallest variance first).
    """
    _, vecs = jnp.linalg.eigh(data_cov)
    return jnp.einsum("ji,...jk,ki->...i", vecs, gram, vecs)
