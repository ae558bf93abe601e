r"""Analytic phase boundaries on a parameter grid (:func:`boundary_fields`) and their crossings along a line.

The fields are b_i(params), the eigenvalue of B − γI along direction i of the
common eigenbasis of A0 and C0, and under normalization the κ → ∞ survival of
each direction (WS Eq. 9); a plot draws their zero contours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape.phase.models import PhaseModel, _direction_diag, canonical_parameter, normalization_available
from landscape.scan import execute


class BoundaryField(NamedTuple):
    """A function on a parameter grid whose zero set is one analytic phase boundary.

    ``values`` has the grid's shape (y, x) for two parameters; ``label`` says
    what the zero set is; ``kind`` is ``"b"`` (b_i = 0, the boundary without
    normalization) or ``"survival"`` (WS Eq. 9 under hard normalization).
    """

    label: str
    kind: str
    values: np.ndarray


def boundary_fields(
    model: PhaseModel, axes: Mapping[str, np.ndarray], fixed: Mapping[str, Any] | None = None
) -> list[BoundaryField]:
    """Analytic boundary fields of ``model`` on the product of 1 or 2 ``axes`` (order: y, x for two).

    For each direction i of the common eigenbasis, the field b_i(params) =
    p·a_i + q·c_i − γ from the loss table (B = p·A0 + q·C): the direction is
    alive where it is positive (and within the rank cap d1).  With a
    normalization κ in the model or ``fixed`` and the solver installed, also
    the κ → ∞ survival field of each direction: +½ where the hard-normalization
    minimum keeps it, −½ where not (WS Eq. 9, ℓ_i + 2kc/d_M > ℓ̄_M), whose
    zero contour is the survival boundary.  Returns [] when A0 and C0 do not
    commute (directions are then not fixed across the grid).
    """
    names = [canonical_parameter(n) for n in axes]
    if not 1 <= len(names) <= 2:
        raise ValueError(f"boundary_fields takes one or two axes, got {len(names)}")
    fixed = {canonical_parameter(k): v for k, v in dict(fixed or {}).items()}
    values = [np.asarray(v, dtype=float) for v in axes.values()]
    mesh = np.meshgrid(*values, indexing="ij")
    shape = mesh[0].shape
    point = {n: m.ravel() for n, m in zip(names, mesh)}
    uses_sigma2 = model.params["sigma2"] is not None or "sigma2" in names or fixed.get("sigma2") is not None
    basis_np = model.basis(uses_sigma2)
    if basis_np is None:
        return []
    params = dict(model.params)
    params.update(fixed)
    kappa_on = params["kappa"] is not None or "kappa" in names
    with_survival = kappa_on and normalization_available()
    d = model.dim

    def one(pt):
        p = dict(params)
        p.update(pt)
        land = model.landscape_at(p)
        basis = jnp.asarray(basis_np, land.b.dtype)
        b = _direction_diag(basis, land.b_eff)
        if not with_survival:
            return b, jnp.zeros_like(b)
        from landscape.theory import normalization as norm

        d1 = min(int(params["out_dim"] or d), d)
        sol = norm.hard_normalization_limit(land, d1, p["norm_target"])
        kept = _direction_diag(basis, sol.gram) > 1e-12 * jnp.maximum(jnp.max(jnp.diagonal(sol.gram)), 1e-300)
        return b, jnp.where(kept, 0.5, -0.5)

    dtype = jnp.result_type(float)
    pts = {n: jnp.asarray(v, dtype) for n, v in point.items()}
    # lax.map on CPU: one point per iteration keeps LAPACK calls unbatched (see scan.execute.batching_mode).
    mapper = jax.vmap(one) if execute.batching_mode(jax.devices()) == "vmap" else (lambda q: jax.lax.map(one, q))
    b, surv = jax.jit(mapper)(pts)
    b = np.asarray(b).reshape(*shape, d)
    surv = np.asarray(surv).reshape(*shape, d)
    a_dir = np.einsum("ji,jk,ki->i", basis_np, model.data_cov, basis_np)
    fields = [BoundaryField(f"b_{i} = 0 (a_{i} = {a_dir[i]:.3g})", "b", b[..., i]) for i in range(d)]
    if with_survival:
        fields += [
            BoundaryField(f"survival of direction {i} (κ → ∞, WS Eq. 9)", "survival", surv[..., i]) for i in range(d)
        ]
    return fields


def crossings_along(x: np.ndarray, field: np.ndarray) -> float:
    """The first x where a 1-D ``field`` changes sign (linear interpolation); nan if it never does.

    >>> crossings_along(np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.5, -0.5]))
    1.5
    """
    x = np.asarray(x, float)
    f = np.asarray(field, float)
    sign = np.sign(f)
    idx = np.flatnonzero(sign[:-1] * sign[1:] < 0)
    zero = np.flatnonzero(f == 0)
    cands = []
    if idx.size:
        j = int(idx[0])
        cands.append(x[j] + (x[j + 1] - x[j]) * f[j] / (f[j] - f[j + 1]))
    if zero.size:
        cands.append(x[int(zero[0])])
    return float(min(cands)) if cands else float("nan")
