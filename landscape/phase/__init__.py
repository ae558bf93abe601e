r"""Phase diagrams of SSL collapse: named parameters → landscapes → scans.

This is the SSL-aware layer on top of :mod:`landscape.scan`.  A
:class:`PhaseModel` fixes the data covariance A0, a base augmentation
covariance C0, the loss and its form, and a value for every *parameter*; a
scan overrides some parameters at every grid point.  The parameters, with the
matrix or quantity each one acts on:

==================  =========================================================  ===============
name (aliases)      effect at a grid point                                      methods
==================  =========================================================  ===============
sigma2              C = σ²·I (isotropic augmentation; replaces C0)             all
aug_scale           C = s·C0                                                    all
data_scale          A0 → s·A0                                                   all
weight_decay (γ)    B → B − γI                                                  all
quartic (k)         quartic coefficient k of k·s·Tr[(WΣWᵀ)²]                    all
alpha, n_samples    weighted InfoNCE: α, data-set size N (alias ``N``)          all
beta                β-InfoNCE: β                                                all
invariance_weight   VICReg (derived form): λ_inv                                all
out_dim (d1)        rows of W: caps the rank at d1                             all
kappa, norm_target  normalization penalty κ(Tr[WΣWᵀ] − c)² (closed form only)   closed-form
init_scale, seed    W₀ = init_scale·N(0, 1) from PRNGKey(seed)                  flow, gd
t1                  integration time of gradient flow                          flow
lr                  learning rate of gradient descent (SGD)                    gd
==================  =========================================================  ===============

Methods: ``"closed-form"`` (Theorem 1, :func:`landscape.global_minimum`;
with κ the normalized minimum), ``"flow"`` (gradient flow dW/dt = −∇L by
diffrax, :func:`landscape.gradient_flow`) and ``"gd"`` (plain gradient descent,
:func:`landscape.gradient_descent`).  Every method returns, per point:

* ``rank``  rank of WᵀW by the survival rule of :mod:`landscape.core.linalg` (closed
  form: whitened eigenvalues above 16·eps·max|λ|; flow/gd: Gram
  eigenvalues above the rule's Gram tolerance, ``rank_rtol``·max and init_scale²,
  the size W₀ starts from: a collapsing direction decays below it, a surviving
  one grows past it); −1 where the values it counts are not finite,
  ``region``  0 complete, 1 dimensional, 2 no collapse (rank = min(d0, d1)),
  −1 not finite (never read as a collapse), ``loss``  L at the final W;
* ``gram_eigenvalues``  eigenvalues of WᵀW, descending (dimension ``eig``);
* ``direction_gram``  the diagonal of WᵀW in the common eigenbasis of A0 and
  C0 (input order for diagonal problems; dimension ``direction``), when that
  basis exists;
* closed form also ``whitened_eigenvalues`` (Σ^{-1/2}(B − γI)Σ^{-1/2}),
  ``b_eigenvalues`` (B − γI), ``direction_b`` (b_i of each direction),
  ``predicted_rank`` = min(#{surviving b_i}, d1) and ``near_threshold`` (directions
  whose λ_i or b_i is too close to 0 for the dtype to decide; ``rank`` and
  ``predicted_rank`` can differ only where it is ≥ 1); flow/gd also ``diverged``.

:func:`boundary_fields` evaluates the analytic phase boundaries — b_i = 0 for
every direction, and under normalization the κ → ∞ survival condition of WS
Eq. 9 — on any 2-D (or 1-D) parameter grid, for a plot to draw their zero
contours.

Example:
    >>> import numpy as np
    >>> from landscape import phase
    >>> from landscape.scan import Grid, Axis
    >>> model = phase.PhaseModel.diagonal([3.0, 1.0], sigma2=0.0, loss="beta-infonce")
    >>> ds = phase.phase_scan(model, Grid([Axis("sigma2", [0.5, 2.0, 4.0])]))
    >>> ds["rank"].values.tolist()          # b_i = ½(a_i − σ²)
    [2, 1, 0]
    >>> ds["direction_b"].sel(sigma2=2.0).values.tolist()
    [0.5, -0.5]
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.validation import as_scalar
from landscape.core.effective_landscape import EffectiveLandscape, loss as _loss
from landscape.losses.effective import effective_landscape
from landscape.core.linalg import surviving_rank
from landscape.losses.effective import FORMS, canonical_loss_name
from landscape.core.problem import Problem
from landscape.scan import driver as _driver
from landscape.scan import execute
from landscape.scan.grid import Grid, as_grid
from landscape.core.solution import gram_spectrum
from landscape.theory.collapse_thresholds import common_eigenbasis, predicted_rank_from_spectrum
from landscape.theory.stationary_points import rank_scales, stationary_point_from_mask, whitened_spectrum

__all__ = [
    "PARAMETERS", "ALIASES", "METHODS", "PARAMETER_LABELS", "PARAMETER_SYMBOLS", "OUTPUT_LABELS",
    "PhaseModel", "FlowSettings", "canonical_parameter", "evaluation", "phase_scan",
    "BoundaryField", "boundary_fields", "crossings_along", "model_from_dataset", "normalization_available",
]

METHODS = ("closed-form", "flow", "gd")

#: Every scannable parameter and what it does (see the module docstring).
PARAMETERS = {
    "sigma2": "isotropic augmentation strength σ²: C = σ²·I",
    "aug_scale": "augmentation scale s: C = s·C0",
    "data_scale": "data scale s: A0 → s·A0",
    "weight_decay": "weight decay γ: B → B − γI",
    "quartic": "quartic coefficient k",
    "alpha": "weighted InfoNCE: weight α of the positive",
    "n_samples": "weighted InfoNCE: data-set size N",
    "beta": "β-InfoNCE: β",
    "invariance_weight": "VICReg (derived form): invariance weight λ_inv",
    "out_dim": "output dimension d1 (rows of W)",
    "kappa": "normalization strength κ of κ(Tr[WΣWᵀ] − c)²",
    "norm_target": "normalization target c",
    "init_scale": "std of the random initial W₀",
    "seed": "PRNG seed of W₀",
    "t1": "integration time of gradient flow",
    "lr": "learning rate of gradient descent",
}

ALIASES = {"gamma": "weight_decay", "wd": "weight_decay", "N": "n_samples", "n": "n_samples", "k": "quartic",
           "d1": "out_dim", "lambda_inv": "invariance_weight", "c": "norm_target", "sigma_sq": "sigma2"}

#: Axis labels with units and the matrix each parameter acts on.
PARAMETER_LABELS = {
    "sigma2": "augmentation strength σ² (C = σ²·I; units of A0)",
    "aug_scale": "augmentation scale s (C = s·C0)",
    "data_scale": "data scale s (A0 → s·A0)",
    "weight_decay": "weight decay γ (B → B − γI; units of A0)",
    "quartic": "quartic coefficient k",
    "alpha": "weight α of the positive",
    "n_samples": "data-set size N (samples)",
    "beta": "β (β-InfoNCE)",
    "invariance_weight": "invariance weight λ_inv",
    "out_dim": "output dimension d1",
    "kappa": "normalization strength κ",
    "norm_target": "normalization target c (units of A0)",
    "init_scale": "initial scale of W₀",
    "seed": "seed",
    "t1": "flow time t1",
    "lr": "learning rate η",
}

#: Short symbols for titles.
PARAMETER_SYMBOLS = {
    "sigma2": "σ²", "aug_scale": "s_C", "data_scale": "s_A", "weight_decay": "γ", "quartic": "k", "alpha": "α",
    "n_samples": "N", "beta": "β", "invariance_weight": "λ_inv", "out_dim": "d1", "kappa": "κ",
    "norm_target": "c", "init_scale": "init scale", "seed": "seed", "t1": "t1", "lr": "η",
}

#: What each output measures, naming its matrix.
OUTPUT_LABELS = {
    "rank": "rank of WᵀW",
    "region": "collapse region (0 complete, 1 dimensional, 2 none, −1 not finite)",
    "predicted_rank": "min(#{b_i > 0}, d1), b_i eigenvalues of B − γI",
    "near_threshold": "directions whose λ_i or b_i is within rounding of 0 (survival undecidable in this dtype)",
    "loss": "loss L(W) at the solution",
    "gram_eigenvalues": "eigenvalues of WᵀW (d0×d0)",
    "direction_gram": "WᵀW along each eigen-direction of A0 (and C0)",
    "whitened_eigenvalues": "eigenvalues of Σ^{-1/2}(B − γI)Σ^{-1/2}",
    "b_eigenvalues": "eigenvalues of B − γI",
    "direction_b": "b_i: B − γI along each eigen-direction of A0 (and C0)",
    "rho": "ρ = Tr[WΣWᵀ], mean squared output norm",
    "diverged": "flow or descent diverged",
}

_DEFAULTS = {
    "sigma2": None, "aug_scale": 1.0, "data_scale": 1.0, "weight_decay": 0.0, "quartic": 1.0,
    "alpha": 1.0, "n_samples": None, "beta": 0.5, "invariance_weight": 1.0, "out_dim": None,
    "kappa": None, "norm_target": 1.0, "init_scale": 1e-3, "seed": 0, "t1": 200.0, "lr": None,
}
_FLOW_ONLY = {"t1"}
_GD_ONLY = {"lr"}
_DYNAMICS = {"init_scale", "seed"}
_INTEGER = {"out_dim", "seed"}


def normalization_available() -> bool:
    """Whether :mod:`landscape.theory.normalization` (the κ-penalty solver) is installed."""
    try:
        import landscape.theory.normalization  # noqa: F401
    except ImportError:
        return False
    return True


def canonical_parameter(name: str) -> str:
    """The canonical parameter name for ``name`` or an alias, or ValueError listing the known ones."""
    key = ALIASES.get(name, name)
    if key not in PARAMETERS:
        raise ValueError(f"unknown scan parameter {name!r}; known parameters: {', '.join(PARAMETERS)} "
                         f"(aliases: {', '.join(f'{a}={b}' for a, b in ALIASES.items())})")
    return key


def _check_values(name: str, values) -> None:
    """Range check of a parameter's values (concrete), ValueError naming the parameter."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    rules = {
        "sigma2": dict(low=0.0), "aug_scale": dict(low=0.0), "data_scale": dict(low=0.0),
        "weight_decay": dict(low=0.0), "quartic": dict(low=0.0, low_inclusive=False),
        "alpha": dict(low=0.0), "n_samples": dict(low=1.0), "beta": dict(low=0.0, high=1.0, low_inclusive=False),
        "invariance_weight": dict(low=0.0), "out_dim": dict(low=1.0), "kappa": dict(low=0.0),
        "norm_target": dict(low=0.0, low_inclusive=False), "init_scale": dict(low=0.0, low_inclusive=False),
        "seed": dict(low=0.0), "t1": dict(low=0.0, low_inclusive=False), "lr": dict(low=0.0, low_inclusive=False),
    }
    for v in arr:
        as_scalar(v, name, **rules[name])
    if name in _INTEGER and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must be an integer, got {values!r}")


# ---------------------------------------------------------------- the model
@dataclasses.dataclass(frozen=True, eq=False)
class PhaseModel:
    """A0, C0, the loss and a value for every parameter that the grid does not set.

    ``params`` overrides the defaults (``sigma2=None``: use C0; ``n_samples``
    is required for weighted InfoNCE; ``kappa=None``: no normalization;
    ``out_dim=None``: d1 = d0; ``lr=None``: half the largest stable step at the
    closed-form minimum).
    """

    data_cov: np.ndarray
    aug_cov: np.ndarray
    loss: str = "infonce"
    form: str = "derived"
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        prob = Problem.from_arrays(self.data_cov, self.aug_cov, allow_indefinite_aug=False)
        object.__setattr__(self, "data_cov", np.asarray(prob.data_cov, dtype=float))
        object.__setattr__(self, "aug_cov", np.asarray(prob.aug_cov, dtype=float))
        object.__setattr__(self, "loss", canonical_loss_name(self.loss))
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}; got {self.form!r}")
        merged = dict(_DEFAULTS)
        for key, value in dict(self.params).items():
            name = canonical_parameter(key)
            if value is not None:
                _check_values(name, value)
                value = int(value) if name in _INTEGER else float(value)
            merged[name] = value
        object.__setattr__(self, "params", merged)

    @classmethod
    def diagonal(cls, data_var: Sequence[float], aug_var: Any = 0.0, *, sigma2: float | None = None,
                 loss: str = "infonce", form: str = "derived", **params: Any) -> "PhaseModel":
        """A0 = diag(data_var), C0 = diag(aug_var) (a scalar means c·I); ``sigma2`` sets C = σ²I."""
        a = np.atleast_1d(np.asarray(data_var, dtype=float))
        c = np.atleast_1d(np.asarray(aug_var, dtype=float))
        if c.size == 1:
            c = np.full_like(a, c[0])
        if c.shape != a.shape:
            raise ValueError(f"data_var and aug_var must have the same length, got {a.size} and {c.size}")
        if sigma2 is not None:
            params["sigma2"] = sigma2
        return cls(np.diag(a), np.diag(c), loss, form, params)

    @property
    def dim(self) -> int:
        return int(self.data_cov.shape[0])

    def to_json(self) -> dict:
        """A JSON-able description (exact floats); :meth:`from_json` inverts it."""
        return {"data_cov": self.data_cov.tolist(), "aug_cov": self.aug_cov.tolist(), "loss": self.loss,
                "form": self.form, "params": dict(self.params)}

    @classmethod
    def from_json(cls, obj: Mapping) -> "PhaseModel":
        return cls(np.asarray(obj["data_cov"]), np.asarray(obj["aug_cov"]), obj["loss"], obj["form"],
                   {k: v for k, v in obj["params"].items()})

    def basis(self, uses_sigma2: bool) -> np.ndarray | None:
        """The common eigenbasis of A0 and C0 (of A0 alone under C = σ²I), or None if they do not commute."""
        aug = np.zeros_like(self.aug_cov) if uses_sigma2 else self.aug_cov
        try:
            v, _, _ = common_eigenbasis(Problem(jnp.asarray(self.data_cov), jnp.asarray(aug)))
        except ValueError:
            return None
        return v

    def landscape_at(self, p: Mapping[str, Any]) -> EffectiveLandscape:
        """The effective landscape at one point; ``p`` maps every parameter to a (traced) value."""
        dtype = jnp.result_type(float)
        a0 = jnp.asarray(self.data_cov, dtype) * p["data_scale"]
        if p["sigma2"] is not None:
            c = p["sigma2"] * jnp.eye(self.dim, dtype=dtype)
        else:
            c = jnp.asarray(self.aug_cov, dtype) * p["aug_scale"]
        return effective_landscape(
            Problem(a0.astype(dtype), c.astype(dtype)), self.loss, form=self.form, quartic=p["quartic"],
            weight_decay=p["weight_decay"], alpha=p["alpha"], n_samples=p["n_samples"], beta=p["beta"],
            invariance_weight=p["invariance_weight"])


@dataclasses.dataclass(frozen=True)
class FlowSettings:
    """Static settings of the dynamical methods (the same at every grid point).

    ``n_save`` save points of the flow (only the last is kept), its Tsit5
    tolerances ``rtol``/``atol`` and step budget ``max_steps``; ``steps`` of
    gradient descent; ``rank_rtol`` the relative eigenvalue cut that counts the
    rank of a trained W.
    """

    rtol: float = 1e-7
    atol: float = 1e-10
    max_steps: int = 20_000
    steps: int = 4000
    rank_rtol: float = 1e-4

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- evaluations
def _capped_mask(lam: jax.Array, d1) -> jax.Array:
    """The first d1 whitened directions (λ descending); stationary_point_from_mask drops those that do not survive."""
    return jnp.arange(lam.shape[0]) < d1


def _region(rank, d_star):
    """0 complete, 1 dimensional, 2 no collapse; −1 where the rank is −1 (not finite)."""
    return jnp.where(rank < 0, -1, jnp.where(rank == 0, 0, jnp.where(rank >= d_star, 2, 1))).astype(jnp.int8)


def _direction_diag(basis, m):
    return jnp.einsum("ji,jk,ki->i", basis, m, basis)


def _closed_form(model: PhaseModel, p: Mapping, basis, out_dim_static: int | None) -> dict:
    land = model.landscape_at(p)
    d = model.dim
    d1 = jnp.minimum(p["out_dim"], d) if p["out_dim"] is not None else d
    b_eig = jnp.linalg.eigvalsh(land.b_eff)[::-1]
    out = {}
    if p["kappa"] is not None:
        from landscape.theory import normalization as norm

        nl = norm.normalized_landscape(land, p["kappa"], p["norm_target"])
        sol = norm.normalized_global_minimum(nl, out_dim_static)
        out["rho"] = sol.rho
    else:
        spectrum = whitened_spectrum(land)
        sol = stationary_point_from_mask(land, _capped_mask(spectrum[0], d1), d, spectrum)
    rank = sol.rank.astype(jnp.int32)
    out.update(rank=rank, region=_region(rank, d1), loss=sol.loss,
               predicted_rank=predicted_rank_from_spectrum(b_eig, d1),
               gram_eigenvalues=sol.gram_eigenvalues, whitened_eigenvalues=sol.whitened_eigenvalues,
               b_eigenvalues=b_eig)
    if sol.near_threshold is not None:
        out["near_threshold"] = sol.near_threshold.astype(jnp.int32)
    if basis is not None:
        out["direction_gram"] = _direction_diag(basis, sol.gram)
        out["direction_b"] = _direction_diag(basis, land.b_eff)
    return out


def _initial_weights(model: PhaseModel, p: Mapping, dtype) -> jax.Array:
    d = model.dim
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
    w0 = _initial_weights(model, p, dtype)
    if method == "flow":
        sol = lsflow.gradient_flow(land, w0, t1=p["t1"], n_save=2, rtol=settings.rtol, atol=settings.atol,
                                   max_steps=settings.max_steps, rank_rtol=settings.rank_rtol)
    else:
        lr = p["lr"]
        if lr is None:
            from landscape.theory.stationary_points import global_minimum

            lr = 0.5 * lsflow.max_stable_learning_rate(land, global_minimum(land, d).weights)
            lr = jnp.where(jnp.isfinite(lr), lr, 0.01)
        sol = lsflow.gradient_descent(land, w0, optimizer=optax.sgd(lr), steps=settings.steps,
                                      save_every=settings.steps, rank_rtol=settings.rank_rtol)
    eig = gram_spectrum(sol.weights)
    # The survival rule with the landscape's Gram scale, rank_rtol × the largest, and the
    # initial scale² as floor: collapsed directions decay below W₀'s size, surviving ones
    # grow past it, so complete collapse (all eigenvalues decaying) reads as rank 0, not 1.
    rank = surviving_rank(eig, rank_scales(land).gram, rtol=settings.rank_rtol,
                          floor=jnp.asarray(p["init_scale"], eig.dtype) ** 2)
    out = dict(rank=rank, region=_region(rank, d1), loss=_loss(land, sol.weights), gram_eigenvalues=eig,
               diverged=jnp.asarray(sol.diverged, bool))
    if basis is not None:
        out["direction_gram"] = _direction_diag(basis, sol.weights.T @ sol.weights)
    return out


def evaluation(model: PhaseModel, parameters: Sequence[str], method: str = "closed-form",
               settings: FlowSettings = FlowSettings()) -> tuple[Callable, dict, dict]:
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
            raise ValueError(f"kappa (normalization) is solved in closed form only; method {method!r} does not model it")
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

    output_dims = {"gram_eigenvalues": ("eig",), "whitened_eigenvalues": ("eig",), "b_eigenvalues": ("eig",),
                   "direction_gram": ("direction",), "direction_b": ("direction",)}
    description = {"kind": "landscape.phase", "method": method, "model": model.to_json(),
                   "parameters": names, "settings": settings.to_json() if method != "closed-form" else None,
                   "direction_basis": None if basis_np is None else basis_np.tolist()}
    return fn, output_dims, description


def phase_scan(model: PhaseModel, grid, method: str = "closed-form", settings: FlowSettings = FlowSettings(),
               **scan_kwargs: Any):
    """Scan ``model`` over ``grid`` (parameter names or aliases) by ``method``; an xarray Dataset.

    Keyword arguments go to :func:`landscape.scan.scan` (``out``, ``resume``,
    ``chunk_size``, ``devices``, …).  Grid values are range-checked first.
    """
    grid = as_grid(grid)
    mapping = {n: canonical_parameter(n) for n in grid.parameter_names}
    grid = grid.rename(mapping)
    for comp in grid.components:
        for name, col in comp.columns().items():
            _check_values(name, col)
    fn, dims, description = evaluation(model, grid.parameter_names, method, settings)
    output_dims = {k: v for k, v in dims.items() if k in _output_names(fn, grid)}
    labels = dict(OUTPUT_LABELS)
    labels.update({n: PARAMETER_LABELS[n] for n in grid.parameter_names})
    return _driver.scan(fn, grid, output_dims=output_dims, evaluation=description, labels=labels, **scan_kwargs)


def _output_names(fn: Callable, grid: Grid) -> set[str]:
    example = {k: jnp.asarray(v[0]) for k, v in grid.parameters(0, 1).items()}
    return set(jax.eval_shape(fn, example))


def model_from_dataset(ds) -> tuple[PhaseModel, dict]:
    """The :class:`PhaseModel` and evaluation description recorded in a phase scan's dataset."""
    desc = json.loads(ds.attrs["evaluation"])
    if desc.get("kind") != "landscape.phase":
        raise ValueError("this dataset was not made by landscape.phase (no phase model recorded)")
    return PhaseModel.from_json(desc["model"]), desc


# ---------------------------------------------------------------- analytic boundaries
class BoundaryField(NamedTuple):
    """A function on a parameter grid whose zero set is one analytic phase boundary.

    ``values`` has the grid's shape (y, x) for two parameters; ``label`` says
    what the zero set is; ``kind`` is ``"b"`` (b_i = 0, the boundary without
    normalization) or ``"survival"`` (WS Eq. 9 under hard normalization).
    """

    label: str
    kind: str
    values: np.ndarray


def boundary_fields(model: PhaseModel, axes: Mapping[str, np.ndarray], fixed: Mapping[str, Any] | None = None
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
        fields += [BoundaryField(f"survival of direction {i} (κ → ∞, WS Eq. 9)", "survival", surv[..., i])
                   for i in range(d)]
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
