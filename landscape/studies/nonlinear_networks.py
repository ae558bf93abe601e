r"""The network experiments of the figures and tests: one training sweep, one analysis.

:func:`train_noise_sweep` trains one network per augmentation strength σ² (all
from the same initialisation and the same data order) in a single compiled
program, ``vmap``-ped over σ².  :func:`analyse` then probes each trained network
against the linear theory of its last layer (:mod:`landscape.nn.probe`): the
measured output spectrum and collapse class, the prediction from the frozen
encoder's feature covariances, and the 1-D / 2-D landscape slices with the real
loss.

The default set-up of WS Fig. 4 (:data:`FIG4`): Gaussian data in R⁶ with
variances (2, 0.6, 0.1, 0.1, 0.1, 0.1), a two-hidden-layer tanh or ReLU MLP
(32 units) with a bias-free last layer to d1 = 2, β-InfoNCE with β = ½, Adam,
full batch (n = 512) with fresh noise every step.  The input-space linear
theory keeps direction i iff σ² < β·a_i/(1−β) = a_i, so it predicts **no
collapse at σ² = 0.2, dimensional collapse (rank 1) at σ² = 1.1 and complete
collapse at σ² = 5.0** — the paper's three strengths.  The data variances are
chosen so that a nonlinear encoder cannot escape this pattern: for Gaussian
data and noise every feature's two-view correlation is at most a product of the
input directions' correlations ρ_i = a_i/(a_i + σ²) (Hermite expansion), and at
σ² = 1.1 both ρ₂ and ρ₁² are below ½.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from landscape.nn import augment as aug_mod
from landscape.nn import models, probe
from landscape.nn.train import (
    TrainState,
    init_train_state,
    make_optimizer,
    make_ssl_loss,
    make_train_step,
    sample_batch,
)

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float
    from numpy.typing import ArrayLike

Model: TypeAlias = "models.MLP | models.ConvNet | models.ResNet18"  # the networks of landscape.nn.models

__all__ = [
    "FIG4",
    "fig4_model",
    "train_noise_sweep",
    "train_noise_runs",
    "noise_views",
    "clean_outputs",
    "analyse",
    "index_tree",
    "curvature_at_origin",
]

FIG4: dict[str, Any] = dict(
    variances=(2.0, 0.6, 0.1, 0.1, 0.1, 0.1),
    n=512,
    hidden=(32, 32),
    out_dim=2,
    beta=0.5,
    sigma2=(0.2, 1.1, 5.0),
    learning_rate=3e-3,
    steps=3000,
    quick_steps=600,
    data_seed=1,
    init_seed=0,
)


def fig4_model(activation: str, cfg: dict = FIG4) -> models.MLP:
    """The small network of the Fig. 4 set-up."""
    return models.MLP(
        in_dim=len(cfg["variances"]), hidden=tuple(cfg["hidden"]), out_dim=cfg["out_dim"], activation=activation
    )


def index_tree(tree: Any, i: int) -> Any:
    """Leaf-wise ``leaf[i]``: one member of a ``vmap``-ped batch of pytrees."""
    return jax.tree_util.tree_map(lambda v: v[i], tree)


@functools.cache
def _theory_loss(loss: str, beta: float):
    """(loss_fn, β of the theory) for the InfoNCE family the theory covers (one function per (loss, β), so the
    programs compiled around it are shared)."""
    if loss == "beta-infonce":
        return make_ssl_loss("beta-infonce", beta=beta), float(beta)
    if loss == "infonce":
        return make_ssl_loss("infonce"), 1.0
    raise ValueError(f"loss must be 'beta-infonce' or 'infonce' (the losses with a last-layer theory), got {loss!r}")


def train_noise_sweep(
    model: Model,
    x: Float[ArrayLike, "n ..."],
    sigma2s: Float[ArrayLike, " s"],
    *,
    key: jax.Array,
    steps: int,
    batch_size: int,
    loss: str = "beta-infonce",
    beta: float = 0.5,
    optimizer: str = "adam",
    learning_rate: float = 3e-3,
    weight_decay: float = 0.0,
    schedule: str = "constant",
) -> tuple[TrainState, np.ndarray]:
    """Train one network per σ² in ``sigma2s`` (vmapped); returns (batched TrainState, losses (len σ², steps)).

    Every network starts from the same initialisation (from ``key``) and sees the
    same data batches; only the Gaussian-noise augmentation strength differs.  Training goes through
    :mod:`landscape.nn` (``make_train_step``: mini-batches, fresh augmentations, model state), not
    ``dynamics.descend``.
    """
    opt = make_optimizer(optimizer, learning_rate, weight_decay=weight_decay, schedule=schedule, total_steps=steps)
    loss_fn, _ = _theory_loss(loss, beta)
    data = jnp.asarray(x)

    def one(s2):
        step = make_train_step(model, opt, loss_fn, lambda k, xb: aug_mod.gaussian_noise(k, xb, s2))
        state = init_train_state(model, opt, key)

        def body(st, _):
            k = jax.random.fold_in(jax.random.fold_in(st.key, 0), st.step)
            st, m = step(st, sample_batch(data, k, batch_size))
            return st, m["loss"]

        return jax.lax.scan(body, state, None, length=int(steps))

    state, losses = jax.jit(jax.vmap(one))(jnp.asarray(sigma2s, jnp.float32))
    return state, np.asarray(losses)


_RUN_STEPS: dict = {}  # jitted steps of train_noise_runs, shared by every σ² and every call with the same pieces


def train_noise_runs(
    model: Model,
    x: Float[ArrayLike, "n ..."],
    sigma2s: Float[ArrayLike, " s"],
    *,
    key: jax.Array,
    steps: int,
    batch_size: int,
    loss: str = "beta-infonce",
    beta: float = 0.5,
    optimizer: str = "adam",
    learning_rate: float = 3e-3,
    weight_decay: float = 0.0,
    schedule: str = "constant",
) -> tuple[TrainState, np.ndarray]:
    """:func:`train_noise_sweep` for convolutional networks on CPU: the same runs, one σ² after another.

    Same initialisation, data batches and noise keys as :func:`train_noise_sweep` (so the
    same networks up to floating-point order), but one jitted step ``step(state, σ²)`` (σ²
    an argument: one compilation for all strengths) called from Python.  Measured on 2 CPU
    cores with the Fig. 1 ConvNet (batch 256, jax 0.10): XLA runs the convolutions inside a
    ``lax.scan`` loop about ten times slower than in a top-level step, and ``vmap`` over
    runs turns them into grouped convolutions about five times slower than running the
    strengths in turn.  Returns (batched TrainState, losses (len σ², steps)).
    """
    opt = make_optimizer(optimizer, learning_rate, weight_decay=weight_decay, schedule=schedule, total_steps=steps)
    loss_fn, _ = _theory_loss(loss, beta)
    data = jnp.asarray(x)
    cache = (
        model,
        loss,
        float(beta),
        optimizer,
        float(learning_rate),
        float(weight_decay),
        schedule,
        int(steps),
        int(batch_size),
    )
    if cache not in _RUN_STEPS:

        def step(st, s2, data):
            train_step = make_train_step(model, opt, loss_fn, lambda k, xb: aug_mod.gaussian_noise(k, xb, s2))
            k = jax.random.fold_in(jax.random.fold_in(st.key, 0), st.step)
            st, m = train_step(st, sample_batch(data, k, batch_size))
            return st, m["loss"]

        _RUN_STEPS[cache] = jax.jit(step)
    step = _RUN_STEPS[cache]
    states, losses = [], []
    start = init_train_state(model, opt, key)
    for s2 in np.asarray(sigma2s, np.float32):
        st = start
        run = []
        for _ in range(int(steps)):
            st, lv = step(st, s2, data)
            run.append(lv)
        states.append(st)
        losses.append(np.asarray(jnp.stack(run)) if run else np.zeros((0,), np.float32))
    return jax.tree_util.tree_map(lambda *v: jnp.stack(v), *states), np.stack(losses)


_PROGRAMS: dict = {}  # jitted programs of the analysis, one per model / loss, shared across σ² and runs


def _program(key, make):
    """The jitted program stored under ``key``, built by ``make()`` the first time."""
    if key not in _PROGRAMS:
        _PROGRAMS[key] = make()
    return _PROGRAMS[key]


def noise_views(
    model: Model,
    params: models.Params,
    state: models.State,
    x: Float[ArrayLike, "n ..."],
    sigma2: ArrayLike,
    key: jax.Array,
    n_views: int,
) -> models.Outputs:
    """Inference-mode outputs of ``n_views`` Gaussian-noise views of ``x``: arrays (n_views, n, ·)."""

    def make():
        def views(p, s, xs, s2, k):
            one = lambda kk: model.apply(p, s, aug_mod.gaussian_noise(kk, xs, s2), train=False)[0]  # noqa: E731
            return jax.vmap(one)(jax.random.split(k, n_views))

        return jax.jit(views)

    out = _program(("views", model, int(n_views)), make)(
        params, state, jnp.asarray(x), jnp.asarray(sigma2, jnp.float32), key
    )
    return models.Outputs(*(np.asarray(v) for v in out))


def clean_outputs(
    model: Model, params: models.Params, state: models.State, x: Float[ArrayLike, "n ..."]
) -> models.Outputs:
    """Inference-mode outputs (h, ϕ, z) of the clean inputs ``x`` as NumPy arrays (one compiled program per model)."""
    fn = _program(("clean", model), lambda: jax.jit(lambda p, s, xs: model.apply(p, s, xs, train=False)[0]))
    return models.Outputs(*(np.asarray(v) for v in fn(params, state, jnp.asarray(x))))


def _slice_1d(loss: str, beta: float):
    """The jitted (ϕ₁, ϕ₂, W, γ, scales) → L(a·W) of one network's features."""
    loss_fn, _ = _theory_loss(loss, beta)

    def run(phi1, phi2, w, gamma, scales):
        return probe.slice_1d(probe.last_layer_loss(loss_fn, phi1, phi2, weight_decay=gamma), w, scales)

    return _program(("slice_1d", loss, float(beta)), lambda: jax.jit(run))


def _slices(loss: str, beta: float, rows: bool):
    """One jitted program for every slice of one network: (ϕ₁, ϕ₂, W, γ, scales, halves, grid, Σ_ϕ) → dict."""
    loss_fn, _ = _theory_loss(loss, beta)

    def run(phi1, phi2, w, gamma, scales, halves, grid, sigma):
        fn = probe.last_layer_loss(loss_fn, phi1, phi2, weight_decay=gamma)
        out = {
            "slice_1d": probe.slice_1d(fn, w, scales),
            "slice_halves": probe.slice_halves(fn, w, halves, halves, metric=sigma),
        }
        if rows:
            # rows of W rotated to the output principal directions (UᵀW leaves the loss unchanged):
            # row 1 carries the larger output variance, so the axes are comparable across networks
            out["slice_rows"] = probe.slice_rows(fn, probe.output_rotation(w, sigma), grid, grid)
        return out

    return _program(("slices", loss, float(beta), rows), lambda: jax.jit(run))


# analyse's default grids (read only)
_SCALES = np.linspace(-2.0, 2.0, 41)
_GRID = np.linspace(-1.5, 1.5, 31)
_HALVES = np.linspace(0.0, 1.2, 13)


def analyse(
    model: Model,
    params: models.Params,
    state: models.State,
    x: Float[ArrayLike, "n ..."],
    sigma2: float,
    *,
    key: jax.Array,
    loss: str = "beta-infonce",
    beta: float = 0.5,
    weight_decay: float = 0.0,
    n_views: int = 8,
    scales: Float[ArrayLike, " a"] = _SCALES,
    grid: Float[ArrayLike, " g"] = _GRID,
    halves: Float[ArrayLike, " h"] = _HALVES,
    atol: float = 1e-2,
    eval_n: int | None = None,
    slices: bool = True,
    refit: bool = True,
    direction: Float[ArrayLike, "k d"] | None = None,
) -> dict:
    """Probe one trained network: measured vs predicted last-layer collapse and landscape slices.

    Returns plain NumPy values: ``measured_output_variances`` / ``measured_rank``
    (spectrum of W Σ_ϕ Wᵀ), ``predicted_rank`` / ``predicted_output_variances``
    / ``signal_fractions`` (linear theory on the frozen features),
    ``refit_output_variances`` (last layer retrained alone on the frozen
    features: the linear case), ``gram_eigenvalues`` (WᵀW),
    ``representation_spectrum`` (covariance of h) and the slices ``slice_1d``
    (with the Gaussian-theory curve ``slice_1d_theory``), ``slice_halves`` and,
    for d1 = 2, ``slice_rows`` (the rows of W rotated to the principal directions of
    the output covariance).  Both 2-D slices measure "large" and "small" by
    output variance, W Σ_ϕ Wᵀ, not by the bare singular values of W.  ``slices=False`` / ``refit=False`` skip the
    slices / the refit (the cheap analysis of a sweep point).  ``weight_decay`` is γ of the penalty γ‖W‖²
    (wd/2 of a coupled optimizer weight decay wd).  ``direction`` (d1 × d_ϕ, with ``slices``): a fixed last layer D
    (e.g. another network's) along which ``slice_fixed`` = L(a·D) and its Gaussian theory ``slice_fixed_theory``
    are evaluated on this network's features: unlike L(a·W), it does not go flat when W itself has collapsed.
    """
    n_eval = len(x) if eval_n is None else int(eval_n)
    xe = np.asarray(x)[:n_eval]
    views = noise_views(model, params, state, xe, sigma2, key, n_views)
    cov = probe.feature_covariances(views.phi)
    w = np.asarray(models.last_layer(params), np.float64)
    d1 = w.shape[0]
    loss_fn, beta = _theory_loss(loss, beta)
    pred = probe.linear_prediction(cov, d1, beta=beta, weight_decay=weight_decay)
    meas_eig, meas_rank = probe.measured_collapse(w, cov, atol=atol)
    clean = clean_outputs(model, params, state, xe)
    dstar = min(d1, cov.basis.shape[1])
    out = {
        "sigma2": float(sigma2),
        "measured_output_variances": meas_eig,
        "measured_rank": meas_rank,
        "measured_class": probe.collapse_class(meas_rank, d1, dstar),
        "predicted_rank": pred.rank,
        "predicted_class": probe.collapse_class(pred.rank, d1, dstar),
        "predicted_output_variances": pred.output_variances,
        "signal_fractions": pred.signal_fractions,
        "gram_eigenvalues": np.sort(np.linalg.eigvalsh(w.T @ w))[::-1],
        "representation_spectrum": np.sort(np.linalg.eigvalsh(np.cov(clean.h.T, bias=True)))[::-1],
        "embedding_spectrum": np.sort(np.linalg.eigvalsh(np.atleast_2d(np.cov(clean.z.T, bias=True))))[::-1],
    }
    if refit:
        wr = probe.fit_last_layer(
            loss_fn,
            views.phi,
            w,
            steps=1500,
            learning_rate=1e-2,
            weight_decay=weight_decay,
            key=jax.random.fold_in(key, 7),
        )
        out["refit_output_variances"], out["refit_rank"] = probe.measured_collapse(wr, cov, atol=atol)
    if slices:
        sigma = cov.basis @ cov.total @ cov.basis.T
        arrays = _slices(loss, beta, d1 == 2)(
            views.phi[0], views.phi[1], w, weight_decay, np.asarray(scales), np.asarray(halves), np.asarray(grid), sigma
        )
        out.update({k: np.asarray(v) for k, v in arrays.items()})
        out["scales"], out["halves"] = np.asarray(scales), np.asarray(halves)
        out["slice_1d_theory"] = probe.predicted_slice_1d(cov, w, scales, beta=beta, n_negatives=n_eval)
        if d1 == 2:
            out["grid"] = np.asarray(grid)
        if direction is not None:
            dw = np.asarray(direction, np.float64)
            out["slice_fixed"] = np.asarray(
                _slice_1d(loss, beta)(views.phi[0], views.phi[1], dw, weight_decay, np.asarray(scales))
            )
            out["slice_fixed_theory"] = probe.predicted_slice_1d(cov, dw, scales, beta=beta, n_negatives=n_eval)
    return out


def curvature_at_origin(scales: Float[ArrayLike, " a"], values: Float[ArrayLike, " a"]) -> float:
    """d²L/da² at a = 0 of a sampled slice, by the central difference over the grid points next to 0.

    ``scales`` must hold 0 and be symmetric about it there.

    >>> round(curvature_at_origin(np.array([-0.1, 0.0, 0.1]), np.array([0.01, 0.0, 0.01])), 6)
    2.0
    """
    a = np.asarray(scales, float)
    v = np.asarray(values, float)
    i = int(np.argmin(np.abs(a)))
    if a[i] != 0 or i == 0 or i == len(a) - 1 or not np.isclose(a[i + 1], -a[i - 1]):
        raise ValueError("scales must contain 0 with symmetric neighbours")
    h = a[i + 1]
    return float((v[i + 1] + v[i - 1] - 2 * v[i]) / h**2)
