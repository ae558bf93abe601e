r"""The named-parameter phase model: the scannable parameters, their aliases and labels, :class:`PhaseModel`, :class:`FlowSettings`.

What each parameter acts on is tabled in :mod:`landscape.phase`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.problem import Problem
from landscape.core.validation import as_scalar
from landscape.losses.effective import FORMS, canonical_loss_name, effective_landscape
from landscape.theory.collapse_thresholds import common_eigenbasis

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

ALIASES = {
    "gamma": "weight_decay",
    "wd": "weight_decay",
    "N": "n_samples",
    "n": "n_samples",
    "k": "quartic",
    "d1": "out_dim",
    "lambda_inv": "invariance_weight",
    "c": "norm_target",
    "sigma_sq": "sigma2",
}

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
    "sigma2": "σ²",
    "aug_scale": "s_C",
    "data_scale": "s_A",
    "weight_decay": "γ",
    "quartic": "k",
    "alpha": "α",
    "n_samples": "N",
    "beta": "β",
    "invariance_weight": "λ_inv",
    "out_dim": "d1",
    "kappa": "κ",
    "norm_target": "c",
    "init_scale": "init scale",
    "seed": "seed",
    "t1": "t1",
    "lr": "η",
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
    "escape_time": "first time the k-th eigenvalue of WᵀW rises to θ (k-th step; inf: not by the end)",
    "collapse_time": "first time the k-th eigenvalue of WᵀW, above θ at t = 0, falls to θ (inf: never)",
    "plateau_length": "time with every eigenvalue of WᵀW below θ before the first escape (inf: no escape)",
    "loss_curve": "loss L(W) at the save times",
    "gram_curve": "eigenvalues of WᵀW at the save times, descending",
    "n_learned": "eigenvalues of WᵀW above θ at the save times (directions learned)",
    "direction_escape_time": "first time v_iᵀWᵀWv_i reaches θ, v_i the i-th eigenvector of B − γI (inf: never)",
    "learning_order": "index of the eigenvector of B − γI (m descending) learned k-th; −1: not learned",
}

_DEFAULTS = {
    "sigma2": None,
    "aug_scale": 1.0,
    "data_scale": 1.0,
    "weight_decay": 0.0,
    "quartic": 1.0,
    "alpha": 1.0,
    "n_samples": None,
    "beta": 0.5,
    "invariance_weight": 1.0,
    "out_dim": None,
    "kappa": None,
    "norm_target": 1.0,
    "init_scale": 1e-3,
    "seed": 0,
    "t1": 200.0,
    "lr": None,
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
        raise ValueError(
            f"unknown scan parameter {name!r}; known parameters: {', '.join(PARAMETERS)} "
            f"(aliases: {', '.join(f'{a}={b}' for a, b in ALIASES.items())})"
        )
    return key


def check_values(name: str, values: ArrayLike) -> None:
    """Range check of a parameter's values (concrete), ValueError naming the parameter."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    rules = {
        "sigma2": dict(low=0.0),
        "aug_scale": dict(low=0.0),
        "data_scale": dict(low=0.0),
        "weight_decay": dict(low=0.0),
        "quartic": dict(low=0.0, low_inclusive=False),
        "alpha": dict(low=0.0),
        "n_samples": dict(low=1.0),
        "beta": dict(low=0.0, high=1.0, low_inclusive=False),
        "invariance_weight": dict(low=0.0),
        "out_dim": dict(low=1.0),
        "kappa": dict(low=0.0),
        "norm_target": dict(low=0.0, low_inclusive=False),
        "init_scale": dict(low=0.0, low_inclusive=False),
        "seed": dict(low=0.0),
        "t1": dict(low=0.0, low_inclusive=False),
        "lr": dict(low=0.0, low_inclusive=False),
    }
    for v in arr:
        as_scalar(v, name, **rules[name])
    if name in _INTEGER and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must be an integer, got {values!r}")


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

    def __post_init__(self) -> None:
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
                check_values(name, value)
                value = int(value) if name in _INTEGER else float(value)
            merged[name] = value
        object.__setattr__(self, "params", merged)

    @classmethod
    def diagonal(
        cls,
        data_var: ArrayLike,
        aug_var: Any = 0.0,
        *,
        sigma2: float | None = None,
        loss: str = "infonce",
        form: str = "derived",
        **params: Any,
    ) -> PhaseModel:
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
        return {
            "data_cov": self.data_cov.tolist(),
            "aug_cov": self.aug_cov.tolist(),
            "loss": self.loss,
            "form": self.form,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, obj: Mapping) -> PhaseModel:
        return cls(
            np.asarray(obj["data_cov"]),
            np.asarray(obj["aug_cov"]),
            obj["loss"],
            obj["form"],
            {k: v for k, v in obj["params"].items()},
        )

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
            Problem(a0.astype(dtype), c.astype(dtype)),
            self.loss,
            form=self.form,
            quartic=p["quartic"],
            weight_decay=p["weight_decay"],
            alpha=p["alpha"],
            n_samples=p["n_samples"],
            beta=p["beta"],
            invariance_weight=p["invariance_weight"],
        )


#: How W₀ is drawn (:attr:`FlowSettings.init`): ``"gaussian"`` init_scale·N(0, 1) from
#: PRNGKey(seed); ``"identity"`` init_scale·I (W₀ᵀW₀ = init_scale²·I on the first d1
#: directions), aligned with every commuting problem, so the flow has the closed form of
#: :mod:`landscape.theory.exact_flow`.
INITS = ("gaussian", "identity")


@dataclasses.dataclass(frozen=True)
class FlowSettings:
    """Static settings of the dynamical methods (the same at every grid point).

    The flow's error tolerances ``rtol``/``atol`` and step budget ``max_steps``
    (:func:`landscape.dynamics.batched_flow.batched_gradient_flow`); ``steps`` of
    gradient descent; ``rank_rtol`` the relative eigenvalue cut that counts the
    rank of a trained W.  Time outputs of the flow (:mod:`landscape.phase.flow_times`):
    ``times`` the save times of the loss curve (the flow then ends at the last
    one, and ``t1`` is not used), ``threshold`` the level θ of WᵀW's eigenvalues
    that marks escape and collapse, ``init`` how W₀ is drawn (:data:`INITS`).
    """

    rtol: float = 1e-7
    atol: float = 1e-10
    max_steps: int = 20_000
    steps: int = 4000
    rank_rtol: float = 1e-4
    times: tuple[float, ...] | None = None
    threshold: float | None = None
    init: str = "gaussian"

    def __post_init__(self) -> None:
        if self.times is not None:
            t = np.atleast_1d(np.asarray(self.times, dtype=float))
            if t.ndim != 1 or not np.all(np.isfinite(t)) or t[0] < 0 or np.any(np.diff(t) <= 0) or t[-1] <= 0:
                raise ValueError(f"times must be finite, >= 0, strictly increasing and end > 0; got {self.times!r}")
            object.__setattr__(self, "times", tuple(float(v) for v in t))
        if self.threshold is not None:
            object.__setattr__(self, "threshold", as_scalar(self.threshold, "threshold", low=0.0, low_inclusive=False))
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}; got {self.init!r}")

    def to_json(self) -> dict:
        """The settings as recorded in a scan store (time outputs only when asked for, so
        that the record of a scan without them is the one earlier versions wrote)."""
        out = dataclasses.asdict(self)
        for key, default in (("times", None), ("threshold", None), ("init", "gaussian")):
            if out[key] == default:
                del out[key]
            elif key == "times":
                out[key] = list(out[key])
        return out


def _direction_diag(basis, m):
    """The diagonal of ``m`` in the orthonormal ``basis`` (columns): bᵢᵀ m bᵢ for every direction i."""
    return jnp.einsum("ji,jk,ki->i", basis, m, basis)
