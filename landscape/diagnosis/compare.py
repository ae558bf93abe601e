r"""Compare a trained last layer with the diagnosis: the spectrum along the estimated directions.

The prediction (:func:`landscape.diagnosis.predict.diagnose`) is made along the
unit directions u_i (eigenvectors of B, in order of decreasing data variance).  At the
global minimum W = A·Vᵀ·Σ^{-1/2} with V the top eigenvectors of the whitened
Σ^{-1/2}(B − γI)Σ^{-1/2}, so W vanishes exactly on e_j ∝ Σ^{1/2}v_j of the collapsed v_j,
not on the u_j (unless A0 and C commute, where e_j = u_j).  The trained last layer W
(out × d) is therefore measured along e_i, the one paired with u_i (largest overlap |u_iᵀe_j|,
greedily, as :func:`~landscape.diagnosis.predict.critical_aug_scales` pairs its eigenvalues):

* the **measured spectrum** m_i = ‖W e_i‖²;
* the **predicted spectrum** e_iᵀ G e_i, G = WᵀW at the closed-form global minimum of the
  estimated problem (Theorem 1, :func:`landscape.theory.stationary_points.global_minimum`,
  with the quartic coefficient k: it sets the scale, not the rank);
* direction i is **measured kept** when ‖W e_i‖ > rtol · σ_max(W), and the **measured rank** is the
  number of singular values of W above rtol · σ_max(W) (the survival rule of
  :mod:`landscape.core.linalg` with a cut ``rtol`` relative to the largest; ``rtol = 10⁻²`` is the
  convention of :func:`landscape.metrics.numerical_rank`, a training run never reaches exact zeros);
* **agreement** per direction: True where the predicted kept/collapsed equals the measured one,
  False where not, None where the prediction is undecided.  With an ``out_dim`` below the number of
  surviving directions the predicted rank is capped and the per-direction statement is about
  survival, so compare the ranks there.

The metrics of :mod:`landscape.metrics` are reported beside it: on the embeddings
z = W x of both views when the views are given (RankMe, effective rank, numerical rank,
participation ratio, α-ReQ, normalised std, augmentation-variance fraction), else on the
embedding covariance W(A0 + C)Wᵀ (those that a covariance defines; the others are NaN).

Under normalization (a diagnosis made with ``normalization=``) G is the normalized
global minimum's, WᵀW = Σ^{-1/2}U diag(μ)UᵀΣ^{-1/2} (WS Props. 2–3,
:func:`landscape.normalized_global_minimum`; κ → ∞: :func:`landscape.hard_normalization_limit`).
The norm penalty shifts B̃ by a multiple of the identity, so the whitened eigenvectors
and the e_i are the same as without it; the diagnosis's directions there,
v_i ∝ Σ^{-1/2}u_i, pair with e_i ∝ Σ^{1/2}u_i exactly (v_iᵀe_j = 0 for i ≠ j).  With a bias
(``Normalization(bias=True)``, WS Theorem 2) G is that of the global minimum over (W, b),
:func:`landscape.bias_global_minimum` (κ → ∞: :func:`landscape.theory.bias.bias_hard_normalization_limit`):
the unnormalized minimum's, μ_i = ℓ_i/(2k), when its ρ₀ ≤ c, else the normalized one's (b = 0);
same whitened eigenvectors, so the same e_i.

Given the embeddings of the two views instead of W, :func:`last_layer_from_embeddings`
recovers W by least squares (exact for a linear last layer with or without bias).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import gram_spectrum, survives, surviving_rank
from landscape.core.normalized_landscape import normalized_landscape
from landscape.core.problem import Problem
from landscape.diagnosis.estimate import as_views
from landscape.diagnosis.nullspace import split_null_space
from landscape.diagnosis.predict import Diagnosis, pair_by_overlap
from landscape.losses.effective import effective_landscape
from landscape.metrics import (
    alpha_req,
    avf_linear,
    avf_samples,
    effective_rank,
    normalized_std,
    numerical_rank,
    participation_ratio,
    rankme,
)
from landscape.theory.bias import bias_global_minimum, bias_hard_normalization_limit
from landscape.theory.normalization import hard_normalization_limit, normalized_global_minimum
from landscape.theory.stationary_points import global_minimum

__all__ = ["Comparison", "compare", "last_layer_from_embeddings", "measured_directions", "predicted_spectrum", "RTOL"]

#: Default cut on the singular values of W relative to the largest (as metrics.numerical_rank).
RTOL = 1e-2
#: The metrics reported beside the comparison (NaN where the input does not define one).
METRICS = (
    "rankme",
    "effective_rank",
    "numerical_rank",
    "participation_ratio",
    "alpha_req",
    "normalized_std",
    "augmentation_variance_fraction",
)


class Comparison(NamedTuple):
    """A trained last layer against the diagnosis (per-direction arrays in the diagnosis's order).

    Attributes:
        measured_spectrum: ‖W e_i‖² (d,).
        predicted_spectrum: e_iᵀGe_i of the closed-form minimum (d,).
        measured_kept: ‖W e_i‖ > rtol·σ_max(W) per direction.
        measured_directions: the unit e_i as columns (d×d).
        agreement: True / False / None (prediction undecided) per direction.
        measured_rank: the number of singular values of W above rtol·σ_max(W).
        predicted_rank: the diagnosis's.
        gram_eigenvalues: eigenvalues of WᵀW, descending (d,).
        rtol: the cut used.
        metrics: name → value of :data:`METRICS` (NaN where undefined).
    """

    measured_spectrum: jax.Array
    predicted_spectrum: jax.Array
    measured_kept: tuple[bool, ...]
    measured_directions: jax.Array
    agreement: tuple[bool | None, ...]
    measured_rank: int
    predicted_rank: int
    gram_eigenvalues: jax.Array
    rtol: float
    metrics: dict[str, float]


def _minimum_directions(landscape: EffectiveLandscape) -> np.ndarray:
    """The unit e_j ∝ Σ^{1/2}v_j, v_j the eigenvectors of Σ^{-1/2}(B − γI)Σ^{-1/2}, as columns (unpaired)."""
    sig = np.asarray(0.5 * (landscape.sigma + landscape.sigma.T), float)
    vals, vecs = np.linalg.eigh(sig)
    root = (vecs * np.sqrt(vals)) @ vecs.T
    inv_root = (vecs / np.sqrt(vals)) @ vecs.T
    b_eff = np.asarray(landscape.b_eff, float)
    _, v = np.linalg.eigh(inv_root @ (0.5 * (b_eff + b_eff.T)) @ inv_root)
    e = root @ v
    return e / np.linalg.norm(e, axis=0, keepdims=True)


def _minimum_gram(land: EffectiveLandscape, norm: Any, out_dim: int) -> jax.Array:
    """WᵀW at the global minimum of ``land`` under the diagnosis's normalization (None: none; module docstring)."""
    if norm is None:
        return global_minimum(land, out_dim).gram
    if norm.bias:
        if norm.hard:
            return bias_hard_normalization_limit(land, out_dim, norm.norm_target).gram
        return bias_global_minimum(normalized_landscape(land, norm.kappa, norm.norm_target), out_dim).gram
    if norm.hard:
        return hard_normalization_limit(land, out_dim, norm.norm_target).gram
    return normalized_global_minimum(normalized_landscape(land, norm.kappa, norm.norm_target), out_dim).gram


def measured_directions(diagnosis: Diagnosis, landscape: EffectiveLandscape) -> jax.Array:
    """The unit e_i ∝ Σ^{1/2}v_i paired with the diagnosis's directions u_i (module docstring), as columns."""
    e = _minimum_directions(landscape)
    e = e[:, pair_by_overlap(np.asarray(diagnosis.directions, float), e)]
    return jnp.asarray(e, diagnosis.data_cov.dtype)


def predicted_spectrum(
    diagnosis: Diagnosis,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    *,
    quartic: float = 1.0,
    **loss_params: Any,
) -> tuple[jax.Array, jax.Array]:
    """(e_iᵀGe_i, the e_i as columns): G = WᵀW at the global minimum of the estimated problem
    (the normalized one for a diagnosis made with normalization; module docstring).

    Directions without variance (Σ singular there; :mod:`landscape.diagnosis.nullspace`) are
    split off as the diagnosis does: the minimum is that of the problem on the complement, and
    G is 0 on the null directions, which are their own e_i.

    >>> import numpy as np
    >>> from landscape.diagnosis import diagnose
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4000, 2)) * [2.0, 0.5]
    >>> v1, v2 = x + 0.5 * rng.normal(size=x.shape), x + 0.5 * rng.normal(size=x.shape)
    >>> lam, _ = predicted_spectrum(diagnose(v1, v2, weight_decay=0.5), weight_decay=0.5)
    >>> # InfoNCE: b_i = a_i; λ_i = (a_i − γ)/(2k s_i²) with s_i = a_i + c_i, and 0 where a_i ≤ γ
    >>> bool(abs(lam[0] - (4.0 - 0.5) / (2 * 4.25**2)) < 0.01), round(abs(float(lam[1])), 12)
    (True, 0.0)
    """
    a0, c = diagnosis.data_cov, diagnosis.aug_cov
    out_dim = a0.shape[0] if out_dim is None else out_dim
    live, null = split_null_space(np.asarray(a0 + c, float))
    q = jnp.asarray(live, a0.dtype)
    land = effective_landscape(
        Problem(q.T @ a0 @ q, q.T @ c @ q), loss, form=form, quartic=quartic, weight_decay=weight_decay, **loss_params
    )
    gram = _minimum_gram(land, diagnosis.normalization, out_dim)
    gram = q @ gram @ q.T
    e = np.concatenate([live @ _minimum_directions(land), null], axis=1)
    e = jnp.asarray(e[:, pair_by_overlap(np.asarray(diagnosis.directions, float), e)], a0.dtype)
    return jnp.einsum("ji,jk,ki->i", e, gram, e), e


def last_layer_from_embeddings(views: tuple[Any, Any], embeddings: tuple[Any, Any]) -> jax.Array:
    """W (k×d) of z = W x + b from the views (n×d each) and their embeddings (n×k each), least squares.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    >>> w = rng.normal(size=(2, 3))
    >>> bool(np.allclose(last_layer_from_embeddings((x1, x2), (x1 @ w.T + 1.0, x2 @ w.T + 1.0)), w))
    True
    """
    x1, x2 = as_views(*views)
    z1, z2 = as_views(*embeddings, names=("embedding1", "embedding2"))
    if z1.shape[0] != x1.shape[0]:
        raise ValueError(f"embedding1 needs one row per row of view1 ({x1.shape[0]}); got {z1.shape[0]}")
    x, z = jnp.concatenate([x1, x2]), jnp.concatenate([z1, z2])
    x, z = x - jnp.mean(x, axis=0, keepdims=True), z - jnp.mean(z, axis=0, keepdims=True)
    return jnp.linalg.lstsq(x, z)[0].T


def _metrics(w: jax.Array, diagnosis: Diagnosis, views: tuple[Any, Any] | None, rtol: float) -> dict[str, float]:
    values: dict[str, Any]
    if views is None:
        cov = w @ (diagnosis.data_cov + diagnosis.aug_cov) @ w.T
        values = {
            "rankme": jnp.nan,
            "effective_rank": effective_rank(cov, covariance=True),
            "numerical_rank": numerical_rank(cov, covariance=True, rtol=rtol),
            "participation_ratio": participation_ratio(cov, covariance=True),
            "alpha_req": alpha_req(cov, covariance=True),
            "normalized_std": jnp.nan,
            "augmentation_variance_fraction": avf_linear(w, diagnosis.data_cov, diagnosis.aug_cov),
        }
    else:
        x1, x2 = as_views(*views)
        z1, z2 = x1 @ w.T, x2 @ w.T
        z = jnp.concatenate([z1, z2])
        values = {
            "rankme": rankme(z),
            "effective_rank": effective_rank(z),
            "numerical_rank": numerical_rank(z, rtol=rtol),
            "participation_ratio": participation_ratio(z),
            "alpha_req": alpha_req(z),
            "normalized_std": normalized_std(z),
            "augmentation_variance_fraction": avf_samples(z1, z2),
        }
    return {k: float(values[k]) for k in METRICS}


def compare(
    diagnosis: Diagnosis,
    weights: Any = None,
    loss: str = "infonce",
    weight_decay: float = 0.0,
    out_dim: int | None = None,
    form: str = "derived",
    *,
    embeddings: tuple[Any, Any] | None = None,
    views: tuple[Any, Any] | None = None,
    rtol: float = RTOL,
    quartic: float = 1.0,
    **loss_params: Any,
) -> Comparison:
    """Compare the trained last layer with the diagnosis (module docstring).

    Args:
        diagnosis: the prediction.
        weights: the trained last layer W, out × d (NumPy, JAX, or ``tensor.detach().numpy()``).
        loss, weight_decay, out_dim, form, quartic, loss_params: as given to the diagnosis (they
            set the predicted spectrum; ``out_dim`` defaults to W's output dimension).
        embeddings: instead of ``weights``, the embeddings (z1, z2) of the two ``views``.
        views: the views (x1, x2) the diagnosis was made from: the metrics are then computed on
            the embeddings.
        rtol: the cut on ‖W u_i‖ and the singular values of W, relative to σ_max(W), in (0, 1).

    Raises ValueError on a W whose input dimension is not the diagnosis's, or that is not finite.

    >>> import numpy as np
    >>> from landscape.diagnosis import diagnose
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4000, 2)) * [2.0, 0.5]
    >>> v1, v2 = x + 0.5 * rng.normal(size=x.shape), x + 0.5 * rng.normal(size=x.shape)
    >>> res = compare(diagnose(v1, v2, weight_decay=0.5), np.array([[0.4, 0.0], [0.0, 1e-4]]), weight_decay=0.5)
    >>> res.measured_rank, res.agreement
    (1, (True, True))
    """
    d = diagnosis.data_cov.shape[0]
    if (weights is None) == (embeddings is None):
        raise ValueError("give the last layer as weights or as embeddings (with views), not both or neither")
    if embeddings is not None:
        if views is None:
            raise ValueError("embeddings need the views they were computed from (views=(x1, x2))")
        weights = last_layer_from_embeddings(views, embeddings)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[1] != d:
        raise ValueError(f"weights must be an out×{d} matrix (input dimension {d}, the views'); got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights has NaN or infinite entries")
    if not 0.0 < rtol < 1.0:
        raise ValueError(f"rtol must be in (0, 1); got {rtol}")
    w = jnp.asarray(w, diagnosis.data_cov.dtype)
    gram_eigs = gram_spectrum(w)
    smax = jnp.sqrt(gram_eigs[0])
    out_dim = w.shape[0] if out_dim is None else out_dim
    predicted, e = predicted_spectrum(diagnosis, loss, weight_decay, out_dim, form, quartic=quartic, **loss_params)
    measured = jnp.sum((w @ e) ** 2, axis=0)
    kept = tuple(bool(k) for k in np.asarray(survives(jnp.sqrt(measured), 0.0, floor=rtol * smax)))
    agreement = tuple(None if p is None else p == m for p, m in zip(diagnosis.kept, kept))
    return Comparison(
        measured_spectrum=measured,
        predicted_spectrum=predicted,
        measured_kept=kept,
        measured_directions=e,
        agreement=agreement,
        measured_rank=int(surviving_rank(jnp.sqrt(gram_eigs), 0.0, rtol=rtol)),
        predicted_rank=diagnosis.predicted_rank,
        gram_eigenvalues=gram_eigs,
        rtol=float(rtol),
        metrics=_metrics(w, diagnosis, views, rtol),
    )
