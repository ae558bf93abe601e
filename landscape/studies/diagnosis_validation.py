r"""Validate the collapse diagnosis on trained networks: predicted against trained rank of the last layer.

Set-up.  An encoder ϕ and a bias-free linear last layer W (z = Wϕ, out_dim = dim ϕ,
so the rank is never capped) are trained jointly with β-InfoNCE (β = ½, derived
B = ½A0 − ½C) and coupled weight decay ``wd`` (γ = wd/2 for W) by the library's
one training loop (:func:`landscape.nn.train.make_train_loop`), one network per
(augmentation strength, weight decay), all under one ``vmap``.  Then, per network:

1. **diagnose**: features ϕ of all samples under two fresh augmentations go to
   :func:`landscape.diagnosis.predict.diagnose` with the loss and γ that trained W
   (directions where ϕ does not vary, dead ReLU units, are collapsed there:
   γ > 0 pulls W to zero; their warning is not counted in ``n_warnings``);
2. **frozen** (the theory's own set-up, the claims): the encoder is frozen at its
   trained state and the last layer is retrained from a small random start on
   K views of the frozen features with the same sample loss and γ
   (:func:`landscape.nn.probe.fit_last_layer`);
3. **gaussian** (the control): the same refit on Gaussian features with the
   estimated A0 and C (x̂ ~ N(0, A0), x = x̂ + ε, ε ~ N(0, C) per view), which
   isolates what non-Gaussian features change;
4. **joint**: the last layer as joint training left it.

The theory assumes a linear last layer (true here), features whose second moments
are A0 and C (the quadratic term −Tr[W(βA0 − (1−β)C − γ)Wᵀ] holds for any feature
law, so the count of unstable directions of W = 0 is exact), and that every
unstable direction is also kept at the minimum (exact for Gaussian features; the
quartic term couples directions otherwise).  Joint training breaks a further
assumption: ϕ moves while W trains.

**Measured rank** (:func:`measured_rank`): the number of eigenvalues of WᵀW above
max(``rtol`` × the largest, ``floor``), and per direction ‖W u_i‖² along the
diagnosed directions u_i.  The refits show a gap of two decades or more between
kept directions (‖W u‖² ~ 0.3–2, outputs near-whitened) and collapsed ones (at
the optimiser's noise floor, ≤ 10⁻³), and the cut 10⁻² (``rtol`` = ``floor``) is in it.
Near a threshold the kept amplitude ‖W u_i‖² ∝ b_i − γ is continuous, so such a
direction may fall under the cut; the prediction marks it undecided when the
bootstrap interval of b_i − γ contains 0.

Run: :func:`run` (one data set's grid), :func:`run_many` (several, keys prefixed by
the data set), or ``python -m landscape.studies.diagnosis_validation`` (any scale,
e.g. the GPU ResNet-18 run; see :func:`main`).  The report's experiment is
:mod:`landscape.reproduction.extensions.diagnosis_networks`.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape.diagnosis.estimate import estimate_covariances
from landscape.diagnosis.predict import diagnose
from landscape.nn import augment, data, models, probe
from landscape.nn.train import init_train_state, make_ssl_loss, make_train_loop

__all__ = [
    "DATASETS",
    "Setup",
    "load_inputs",
    "augmentation",
    "build_model",
    "train_grid",
    "analyse",
    "run",
    "run_many",
    "main",
    "measured_rank",
    "gaussian_views",
    "feature_views",
]

DATASETS = ("digits", "images")
INIT_SCALE = 1e-3  # the frozen refit's start: W entries N(0, INIT_SCALE²), far below the trained amplitudes


@dataclasses.dataclass(frozen=True)
class Setup:
    """One data set's grid.  ``strengths``: noise σ (digits) or SimCLR strength s (images);
    ``weight_decays``: coupled wd (γ = wd/2).  ``model``: ``"mlp"`` (encoder widths ``hidden``,
    dim ϕ = hidden[-1]) or ``"resnet18"`` (width ``resnet_width``, dim ϕ = 8·width)."""

    dataset: str = "digits"
    strengths: tuple[float, ...] = (0.5, 1.0, 2.0)
    weight_decays: tuple[float, ...] = (0.01, 0.04, 0.1)
    hidden: tuple[int, ...] = (64, 16)
    model: str = "mlp"
    resnet_width: int = 64
    image_size: int = 12
    steps: int = 600
    batch_size: int = 256
    learning_rate: float = 2e-3
    beta: float = 0.5
    n_samples: int | None = None
    refit_samples: int = 256
    refit_views: int = 4
    refit_steps: int = 2000
    refit_learning_rate: float = 1e-2
    bootstrap: int = 200
    rtol: float = 1e-2
    floor: float = 1e-2
    seed: int = 0


def load_inputs(setup: Setup) -> np.ndarray:
    """Digits: standardised pixels (n, 64); images: :func:`landscape.nn.data.synthetic_images` (n, s, s, 3)."""
    key = jax.random.PRNGKey(setup.seed)
    if setup.dataset == "digits":
        imgs, _ = data.load_digits()
        x = data.standardize(imgs.reshape(len(imgs), -1))[0]
        x = x[np.asarray(jax.random.permutation(key, len(x)))]
        return x[: setup.n_samples].astype(np.float32)
    if setup.dataset == "images":
        return data.synthetic_images(key, setup.n_samples or 2000, size=setup.image_size)[0]
    raise ValueError(f"dataset must be one of {DATASETS}, got {setup.dataset!r}")


def augmentation(dataset: str, strength: Any) -> augment.Augment:
    """Gaussian noise of standard deviation ``strength`` (digits) or SimCLR at strength s (images)."""
    if dataset == "digits":
        return lambda k, x: augment.gaussian_noise(k, x, strength * strength)
    return lambda k, x: augment.simclr_augment(k, x, strength)


def build_model(setup: Setup, x: np.ndarray) -> models.Model:
    """The encoder + linear last layer (out_dim = dim ϕ)."""
    if setup.model == "mlp":
        d = int(setup.hidden[-1])
        return models.MLP(in_dim=int(np.prod(x.shape[1:])), hidden=setup.hidden, out_dim=d, activation="relu")
    if setup.model == "resnet18":
        w = int(setup.resnet_width)
        return models.ResNet18(in_channels=x.shape[-1], width=w, proj_hidden=(), out_dim=8 * w)
    raise ValueError(f"model must be 'mlp' or 'resnet18', got {setup.model!r}")


def train_grid(setup: Setup, x: np.ndarray) -> tuple[Any, Any, jax.Array]:
    """(params, model state, losses) with leading axes (strength, weight decay).

    The MLP grid is one ``vmap``-ped program; a ResNet runs cell by cell through the
    same compiled function (strength and wd are traced arguments).
    """
    one = _train_program(setup, tuple(x.shape[1:]))
    xs, key = jnp.asarray(x), jax.random.PRNGKey(setup.seed + 1)
    s, wd = (jnp.asarray(v, jnp.float32) for v in (setup.strengths, setup.weight_decays))
    if setup.model == "mlp":
        return jax.vmap(jax.vmap(one, (None, None, 0, None)), (None, 0, None, None))(xs, s, wd, key)
    cells = [[one(xs, a, b, key) for b in wd] for a in s]
    return jax.tree_util.tree_map(lambda *v: jnp.stack(v).reshape(len(s), len(wd), *v[0].shape), *sum(cells, []))


@functools.lru_cache(maxsize=4)
def _loss(beta: float) -> Any:
    """One loss function per β, so the compiled programs keyed on it are shared."""
    return make_ssl_loss("beta-infonce", beta=beta)


@functools.lru_cache(maxsize=8)
def _view_program(model: models.Model, dataset: str) -> Any:
    """Jitted ``(params, state, x, strength, key, n_views) -> ϕ`` of ``n_views`` augmentations (inference mode)."""

    def views(params, state, x, strength, key, n_views):
        aug = augmentation(dataset, strength)
        xs = jax.vmap(lambda k: aug(k, x))(jax.random.split(key, n_views))
        return jax.vmap(lambda xv: model.apply(params, state, xv, train=False)[0].phi)(xs)

    return jax.jit(views, static_argnums=5)


def feature_views(
    model: models.Model, params: Any, state: Any, x: np.ndarray, dataset: str, strength: float, key: jax.Array,
    n_views: int, chunk: int = 2048,
) -> np.ndarray:  # fmt: skip
    """(n_views, n, dim ϕ) features of independent augmentations, in chunks of ``chunk`` rows (one program)."""
    fn = _view_program(model, dataset)  # type: ignore[arg-type]  # the models are frozen dataclasses
    chunk = min(chunk, len(x))
    parts = []
    for i in range(0, len(x), chunk):
        xb = x[i : i + chunk]
        pad = np.concatenate([xb, np.repeat(xb[-1:], chunk - len(xb), axis=0)]) if len(xb) < chunk else xb
        out = fn(params, state, jnp.asarray(pad), jnp.float32(strength), jax.random.fold_in(key, i), n_views)
        parts.append(np.asarray(out)[:, : len(xb)])
    return np.concatenate(parts, axis=1)


@functools.lru_cache(maxsize=8)
def _train_program(setup: Setup, shape: tuple[int, ...]):
    model = build_model(setup, np.zeros((1, *shape)))
    loss = _loss(setup.beta)

    def one(x, strength, wd, key):
        # make_optimizer's coupled decay (penalty (wd/2)‖θ‖² on weights), with wd traced for the vmap
        opt = optax.chain(optax.add_decayed_weights(wd, mask=models.decay_mask), optax.adam(setup.learning_rate))
        loop = make_train_loop(
            model,
            opt,
            loss,
            augmentation(setup.dataset, strength),
            batch_size=setup.batch_size,
            steps_per_call=setup.steps,
        )
        state, losses = loop(init_train_state(model, opt, key), x)
        return state.params, state.model_state, losses

    return jax.jit(one)


def measured_rank(sv2: Any, rtol: float, floor: float) -> np.ndarray:
    """Number of eigenvalues of WᵀW (last axis of ``sv2``) above max(rtol × the largest, floor).

    >>> measured_rank(np.array([[1.5, 0.4, 1e-3], [1e-20, 1e-40, 0.0]]), 1e-2, 1e-2).tolist()
    [2, 0]
    """
    v = np.asarray(sv2, float)
    cut = np.maximum(rtol * v.max(axis=-1, keepdims=True), floor)
    return np.sum(v > cut, axis=-1)


def _measured(w: Any, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues of WᵀW, descending; ‖W u_i‖² per column u_i)."""
    w = np.asarray(w, np.float64)
    return np.linalg.svd(w, compute_uv=False) ** 2, np.sum((w @ u) ** 2, axis=0)


def gaussian_views(data_cov: Any, aug_cov: Any, n: int, n_views: int, seed: int) -> np.ndarray:
    """(n_views, n, d) Gaussian features with cross-covariance A0 and augmentation covariance C (float32)."""
    a0, c = (np.asarray(m, np.float64) for m in (data_cov, aug_cov))

    def root(m):
        vals, vecs = np.linalg.eigh(0.5 * (m + m.T))
        return vecs * np.sqrt(np.clip(vals, 0.0, None))

    rng = np.random.default_rng(seed)
    xhat = rng.standard_normal((n, a0.shape[0])) @ root(a0).T
    eps = rng.standard_normal((n_views, n, a0.shape[0])) @ root(c).T
    return (xhat[None] + eps).astype(np.float32)


def analyse(setup: Setup, model: models.Model, params: Any, state: Any, x: np.ndarray, i: int, j: int) -> dict:
    """The diagnosis and both measurements for the network of strength i, weight decay j (see module docstring)."""
    strength, gamma = float(setup.strengths[i]), 0.5 * float(setup.weight_decays[j])
    key = jax.random.fold_in(jax.random.PRNGKey(setup.seed + 2), i * len(setup.weight_decays) + j)
    k_diag, k_refit, k_w0, k_fit = jax.random.split(key, 4)
    phi = feature_views(model, params, state, x, setup.dataset, strength, k_diag, 2).astype(np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg = diagnose(
            phi[0], phi[1], loss="beta-infonce", beta=setup.beta, weight_decay=gamma,
            bootstrap=setup.bootstrap, seed=setup.seed,
        )  # fmt: skip
    u = np.asarray(dg.directions)
    code = np.array([1 if v else 0 if v is not None else -1 for v in dg.kept])
    live = probe.feature_covariances(phi).basis  # the Gaussian control lives where ϕ varies
    w_joint = np.asarray(models.last_layer(params), np.float64)
    feats = feature_views(model, params, state, x[: setup.refit_samples], setup.dataset, strength, k_refit,
                          setup.refit_views)  # fmt: skip
    w0 = INIT_SCALE * jax.random.normal(k_w0, w_joint.shape, jnp.float32)
    loss = _loss(setup.beta)
    w_frozen = probe.fit_last_layer(
        loss, feats, w0, steps=setup.refit_steps, learning_rate=setup.refit_learning_rate, weight_decay=gamma, key=k_fit
    )
    g_feats = (
        gaussian_views(
            *estimate_covariances(phi[0] @ live, phi[1] @ live)[:2],  # as diagnose restricted to where ϕ varies
            setup.refit_samples,
            setup.refit_views,
            setup.seed + 1000 * (1 + i) + j,
        )
        @ live.T
    )
    w_gauss = probe.fit_last_layer(
        loss, g_feats, w0, steps=setup.refit_steps,
        learning_rate=setup.refit_learning_rate, weight_decay=gamma, key=k_fit,
    )  # fmt: skip
    sv_joint, s_joint = _measured(w_joint, u)
    sv_frozen, s_frozen = _measured(w_frozen, u)
    sv_gauss, s_gauss = _measured(w_gauss, u)
    return {
        "predicted_rank": dg.predicted_rank,
        "predicted_low": int(np.sum(code == 1)),
        "predicted_high": int(np.sum(code != 0)),
        "sv2_joint": sv_joint,
        "sv2_frozen": sv_frozen,
        "sv2_gauss": sv_gauss,
        "live_dims": live.shape[1],
        "kept_code": code,
        "b_minus_gamma": np.asarray(dg.b_eigenvalues) - gamma,
        "strength_joint": s_joint,
        "strength_frozen": s_frozen,
        "strength_gauss": s_gauss,
        "n_warnings": sum("no variance" not in str(w.message) for w in caught),
    }


def run(setup: Setup) -> dict[str, np.ndarray]:
    """Train the grid of ``setup`` and analyse every cell: arrays with leading axes (strength, weight decay)."""
    x = load_inputs(setup)
    model = build_model(setup, x)
    params, state, losses = train_grid(setup, x)
    cells = []
    for i, j in np.ndindex(len(setup.strengths), len(setup.weight_decays)):
        p, s = jax.tree_util.tree_map(lambda v: v[i, j], (params, state))  # noqa: B023  (called in this iteration)
        cells.append(analyse(setup, model, p, s, x, int(i), int(j)))
    shape = (len(setup.strengths), len(setup.weight_decays))
    out = {}
    for f in cells[0]:
        v = np.stack([np.asarray(c[f]) for c in cells])
        out[f] = v.reshape(*shape, *v.shape[1:])
    for m in ("joint", "frozen", "gauss"):
        out["rank_" + m] = measured_rank(out["sv2_" + m], setup.rtol, setup.floor)
    out["final_loss"] = np.asarray(losses)[..., -max(1, setup.steps // 10) :].mean(axis=-1)
    out["strengths"] = np.asarray(setup.strengths, float)
    out["weight_decays"] = np.asarray(setup.weight_decays, float)
    return out


def run_many(setups: Sequence[Setup]) -> dict[str, np.ndarray]:
    """:func:`run` for each set-up, keys prefixed by the data set (``digits_rank_frozen``, ...), plus
    ``datasets`` and the settings every set-up shares."""
    out: dict[str, np.ndarray] = {"datasets": np.array([s.dataset for s in setups])}
    for s in setups:
        out.update({f"{s.dataset}_{k}": v for k, v in run(s).items()})
    first = setups[0]
    out.update(beta=np.array(first.beta), rtol=np.array(first.rtol), steps=np.array(first.steps))
    out["refit_steps"] = np.array(first.refit_steps)
    out["models"] = np.array([s.model for s in setups])
    return out


def _floats(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals or any(not np.isfinite(v) or v <= 0 for v in vals):
        raise argparse.ArgumentTypeError(f"expected finite numbers > 0, got {text!r}")
    return vals


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: one data set's grid at any scale (the GPU ResNet-18 run); writes ``--out`` (.npz).

    Render and check it with ``python figures/diagnosis_networks.py --plot-only PATH``.
    """
    ap = argparse.ArgumentParser(description="Validate the collapse diagnosis on trained networks (one data set).")
    ap.add_argument("--dataset", choices=DATASETS, default="images")
    ap.add_argument("--model", choices=("mlp", "resnet18"), default="resnet18")
    ap.add_argument("--resnet-width", type=int, default=64)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--n-samples", type=int, default=20000)
    ap.add_argument("--strengths", type=_floats, default=(0.25, 0.5, 1.0))
    ap.add_argument("--weight-decays", type=_floats, default=(1e-3, 1e-2, 5e-2))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--refit-samples", type=int, default=2048)
    ap.add_argument("--refit-steps", type=int, default=4000)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--out", required=True, help="output .npz (an existing file is not overwritten)")
    a = ap.parse_args(argv)
    from pathlib import Path

    if Path(a.out).exists():
        ap.error(f"--out: {a.out} exists; choose a new file")
    s = Setup(
        dataset=a.dataset, model=a.model, resnet_width=a.resnet_width, image_size=a.image_size,
        n_samples=a.n_samples, strengths=a.strengths, weight_decays=a.weight_decays, steps=a.steps,
        batch_size=a.batch_size, refit_samples=a.refit_samples, refit_steps=a.refit_steps, bootstrap=a.bootstrap,
    )  # fmt: skip
    jax.config.update("jax_enable_x64", True)  # the diagnosis in float64; networks stay float32
    out = run_many([s])
    np.savez(a.out, **out)  # type: ignore[arg-type]  # numpy's stub reads the first ** as allow_pickle
    p = out[f"{s.dataset}_predicted_rank"]
    print("predicted rank", p.tolist(), "frozen", out[f"{s.dataset}_rank_frozen"].tolist())
    print("joint", out[f"{s.dataset}_rank_joint"].tolist(), "saved", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
