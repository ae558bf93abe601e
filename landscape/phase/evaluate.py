r"""Evaluation of a phase model at a grid point — closed form, gradient flow or gradient descent — and :func:`phase_scan`.

The outputs of each method, and the matrix each one measures, are listed in
:mod:`landscape.phase` (and :data:`~landscape.phase.models.OUTPUT_LABELS`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import loss as _loss
from landscape.core.linalg import gram_spectrum, surviving_rank
from landscape.phase.models import (
    _DYNAMICS,
    _FLOW_ONLY,
    _GD_ONLY,
    METHODS,
    OUTPUT_LABELS,
    PARAMETER_LABELS,
    FlowSettings,
    PhaseModel,
    _direction_diag,
    canonical_parameter,
    check_values,
    normalization_available,
)
from landscape.scan import driver as _driver
from landscape.scan.grid import Grid, GridLike, as_grid
from landscape.theory.collapse_thresholds import predicted_rank_from_spectrum
from landscape.theory.stationary_points import rank_scales, stationary_point_from_mask, whitened_spectrum

if TYPE_CHECKING:  # xarray is imported when a dataset is built, not with the package
    import xarray as xr


def _capped_mask(lam: jax.Array, d1) -> jax.Array:
    """The first d1 whitened directions (λ descending); stationary_point_from_mask drops those that do not survive."""
    return jnp.arange(lam.shape[0]) < d1


def _region(rank, d_star):
    """0 complete, 1 dimensional, 2 no collapse; −1 where the rank is −1 (not finite)."""
    return jnp.where(rank < 0, -1, jnp.where(rank == 0, 0, jnp.where(rank >= d_star, 2, 1))).astype(jnp.int8)


def _closed_form(model: PhaseModel, p: Mapping, basis, out_dim_static: int | None) -> dict:
    land = model.landscape_at(p)
    d = model.dim
    d1 = jnp.minimum(p["out_dim"], d) if p["out_dim"] is not None else d
    b_eig = jnp.linalg.eigvalsh(land.b_eff)[::-1]
    out = {}
    if p["kappa"] is not None:
        from landscape.theory import normalization as norm

        if out_dim_static is None:  # unreachable: the point function fixes d1 whenever kappa is set
            raise ValueError("kappa needs a static out_dim")
        nl = norm.normalized_landscape(land, p["kappa"], p["norm_target"])
        sol = norm.normalized_global_minimum(nl, out_dim_static)
        out["rho"] = sol.rho
    else:
        spectrum = whitened_spectrum(land)
        sol = stationary_point_from_mask(land, _capped_mask(spectrum[0], d1), d, spectrum)
    rank = sol.rank.astype(jnp.int32)
    out.update(
        rank=rank,
        region=_region(rank, d1),
        loss=sol.loss,
        predicted_rank=predicted_rank_from_spectrum(b_eig, d1),
        gram_eigenvalues=sol.gram_eigenvalues,
        whitened_eigenvalues=sol.whitened_eigenvalues,
        b_eigenvalues=b_eig,
    )
    if sol.near_threshold is not None:
        out["near_threshold"] = sol.near_threshold.astype(jnp.int32)
    if basis is not None:
        out["direction_gram"] = _direction_diag(basis, sol.gram)
        out["direction_b"] = _direction_diag(basis, land.b_eff)
    return out


def _initial_weights(model: PhaseModel, p: Mapping, dtype, init: str = "gaussian") -> jax.Array:
    d = model.dim
    if init == "identity":
        w0 = jnp.asarray(p["init_scale"], dtype) * jnp.eye(d, dtype=dtype)
    else:
        key = jax.random.PRNGKey(jnp.asarray(p["seed"]).astype(jnp.uint32))
        w0 = jnp.asarray(p["init_scale"], dtype) * jax.random.normal(key, (d, d), dtype)
    if p["out_dim"] is not None:
        w0 = jnp.where((jnp.arange(d) < p["out_dim"])[:, None], w0, 0.0)
    return w0


def _dynamics(model: PhaseModel, p: Mapping, basis, method: str, settings: FlowSettings) -> dict:
    import optax

    from landscape import dynamics as lsflow

    land = model.landscape_at(p)
    dtype = land.b.dtype
    d = model.dim
    d1 = jnp.minimum(p["out_dim"], d) if p["out_dim"] is not None else d
    w0 = _initial_weights(model, p, dtype, settings.init)
    extra: dict = {}
    if method == "flow":
        from landscape.phase.flow_times import flow_outputs

        weights, diverged, extra = flow_outputs(land, w0, p["t1"], settings)
    else:
        lr = p["lr"]
        if lr is None:
            from landscape.theory.stationary_points import global_minimum

            lr = 0.5 * lsflow.max_stable_learning_rate(land, global_minimum(land, d).weights)
            lr = jnp.where(jnp.isfinite(lr), lr, 0.01)
        sol = lsflow.gradient_descent(
            land,
            w0,
            optimizer=optax.sgd(lr),
            steps=settings.steps,
            save_every=settings.steps,
            rank_rtol=settings.rank_rtol,
        )
        weights, diverged = sol.weights, sol.diverged
    eig = gram_spectrum(weights)
    # The survival rule with the landscape's Gram scale, rank_rtol × the largest, and the
    # initial scale² as floor: collapsed directions decay below W₀'s size, surviving ones
    # grow past it, so complete collapse (all eigenvalues decaying) reads as rank 0, not 1.
    rank = surviving_rank(
        eig, rank_scales(land).gram, rtol=settings.rank_rtol, floor=jnp.asarray(p["init_scale"], eig.dtype) ** 2
    )
    out = dict(
        rank=rank,
        region=_region(rank, d1),
        loss=_loss(land, weights),
        gram_eigenvalues=eig,
        diverged=jnp.asarray(diverged, bool),
    )
    if basis is not None:
        out["direction_gram"] = _direction_diag(basis, weights.T @ weights)
    out.update(extra)
    return out


def evaluation(
    model: PhaseModel, parameters: Sequence[str], method: str = "closed-form", settings: FlowSettings = FlowSettings()
) -> tuple[Callable, dict, dict]:
    """``(fn, output_dims, description)`` for scanning ``parameters`` of ``model`` by ``method``.

    ``fn`` maps one point ``{parameter: value}`` to the outputs listed in the
    module docstring; ``description`` is what the scan store records.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    names = [canonical_parameter(n) for n in parameters]
    if len(set(names)) != len(names):
        raise ValueError(f"a parameter appears twice on the grid (after aliases): {names}")
    fixed = dict(model.params)
    for n in names:
        fixed[n] = 0.0  # placeholder: set at every point
    if "sigma2" in names and "aug_scale" in names:
        raise ValueError("sigma2 and aug_scale both set the augmentation; scan one of them")
    if model.loss == "weighted-infonce" and fixed["n_samples"] is None and "n_samples" not in names:
        raise ValueError("n_samples is required for weighted-infonce: give it to the model or scan it")
    uses_kappa = model.params["kappa"] is not None or "kappa" in names
    if uses_kappa:
        if method != "closed-form":
            raise ValueError(
                f"kappa (normalization) is solved in closed form only; method {method!r} does not model it"
            )
        if not normalization_available():
            raise ValueError("kappa needs landscape.theory.normalization, which is not installed")
        if "out_dim" in names:
            raise ValueError("out_dim cannot be scanned together with kappa (the normalized solver needs a fixed d1)")
        if model.params["kappa"] is None:
            pass
    for n in names:
        if method == "closed-form" and n in _DYNAMICS | _FLOW_ONLY | _GD_ONLY:
            raise ValueError(f"parameter {n!r} has no effect on the closed form; scan it with method 'flow' or 'gd'")
        if method == "flow" and n in _GD_ONLY:
            raise ValueError(f"parameter {n!r} is for method 'gd' (gradient descent), not 'flow'")
        if method == "gd" and n in _FLOW_ONLY:
            raise ValueError(f"parameter {n!r} is for method 'flow' (gradient flow), not 'gd'")
    _check_time_outputs(names, method, settings)
    uses_sigma2 = model.params["sigma2"] is not None or "sigma2" in names
    basis_np = model.basis(uses_sigma2)
    out_dim_static = None
    if uses_kappa:
        out_dim_static = min(int(model.params["out_dim"] or model.dim), model.dim)

    def fn(point: Mapping[str, jax.Array]) -> dict:
        p = dict(model.params)
        for n in names:
            p[n] = point[n]
        basis = None if basis_np is None else jnp.asarray(basis_np, jnp.result_type(float))
        if method == "closed-form":
            return _closed_form(model, p, basis, out_dim_static)
        return _dynamics(model, p, basis, method, settings)

    output_dims = {
        "gram_eigenvalues": ("eig",),
        "whitened_eigenvalues": ("eig",),
        "b_eigenvalues": ("eig",),
        "direction_gram": ("direction",),
        "direction_b": ("direction",),
    }
    if method == "flow":
        from landscape.phase.flow_times import time_output_dims

        output_dims.update(time_output_dims(settings))
    description = {
        "kind": "landscape.phase",
        "method": method,
        "model": model.to_json(),
        "parameters": names,
        "settings": settings.to_json() if method != "closed-form" else None,
        "direction_basis": None if basis_np is None else basis_np.tolist(),
    }
    return fn, output_dims, description


def _check_time_outputs(names: Sequence[str], method: str, settings: FlowSettings) -> None:
    """Refuse time outputs outside the flow, and a scanned ``t1`` beside save times that end the flow."""
    asked = [f for f in ("times", "threshold") if getattr(settings, f) is not None]
    if asked and method != "flow":
        raise ValueError(f"{' and '.join(asked)} are time outputs of method 'flow', not {method!r}")
    if settings.times is not None and "t1" in names:
        raise ValueError("t1 cannot be scanned with save times: the flow ends at the last save time")


def _time_options(method: str, settings: FlowSettings) -> dict:
    """What :func:`landscape.scan.scan` needs for the time outputs: the ``time`` coordinate, open-ended outputs."""
    if method != "flow" or (settings.times is None and settings.threshold is None):
        return {}
    from landscape.phase.flow_times import OPEN_ENDED

    out: dict[str, Any] = {"open_ended": OPEN_ENDED}
    if settings.times is not None:
        out["output_coords"] = {"time": list(settings.times)}
    return out


def phase_scan(
    model: PhaseModel,
    grid: GridLike,
    method: str = "closed-form",
    settings: FlowSettings = FlowSettings(),
    **scan_kwargs: Any,
) -> xr.Dataset:
    """Scan ``model`` over ``grid`` (parameter names or aliases) by ``method``; an xarray Dataset.

    Keyword arguments go to :func:`landscape.scan.scan` (``out``, ``resume``,
    ``chunk_size``, ``devices``, …).  Grid values are range-checked first.
    """
    grid = as_grid(grid)
    mapping = {n: canonical_parameter(n) for n in grid.parameter_names}
    grid = grid.rename(mapping)
    for comp in grid.components:
        for name, col in comp.columns().items():
            check_values(name, col)
    fn, dims, description = evaluation(model, grid.parameter_names, method, settings)
    output_dims = {k: v for k, v in dims.items() if k in _output_names(fn, grid)}
    labels = dict(OUTPUT_LABELS)
    labels.update({n: PARAMETER_LABELS[n] for n in grid.parameter_names})
    return _driver.scan(
        fn,
        grid,
        output_dims=output_dims,
        evaluation=description,
        labels=labels,
        **_time_options(method, settings),
        **scan_kwargs,
    )


def _output_names(fn: Callable, grid: Grid) -> set[str]:
    example = {k: jnp.asarray(v[0]) for k, v in grid.parameters(0, 1).items()}
    return set(jax.eval_shape(fn, example))


def model_from_dataset(ds: xr.Dataset) -> tuple[PhaseModel, dict]:
    """The :class:`PhaseModel` and evaluation description recorded in a phase scan's dataset."""
    desc = json.loads(ds.attrs["evaluation"])
    if desc.get("kind") != "landscape.phase":
        raise ValueError("this dataset was not made by landscape.phase (no phase model recorded)")
    return PhaseModel.from_json(desc["model"]), desc
