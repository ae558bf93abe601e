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

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from landscape.nn import augment as aug_mod
from landscape.nn import models, probe
from landscape.nn.train import init_train_state, make_optimizer, make_ssl_loss, make_train_step, sample_batch

__all__ = ["FIG4", "fig4_model", "train_noise_sweep", "noise_views", "analyse", "index_tree"]

FIG4 = dict(variances=(2.0, 0.6, 0.1, 0.1, 0.1, 0.1), n=512, hidden=(32, 32), out_dim=2, beta=0.5,
            sigma2=(0.2, 1.1, 5.0), learning_rate=3e-3, steps=3000, quick_steps=600, data_seed=1, init_seed=0)


def fig4_model(activation: str, cfg: dict = FIG4) -> models.MLP:
    """The small network of the Fig. 4 set-up."""
    return models.MLP(in_dim=len(cfg["variances"]), hidden=tuple(cfg["hidden"]), out_dim=cfg["out_dim"],
                      activation=activation)


def index_tree(tree, i: int):
    """Leaf-wise ``leaf[i]``: one member of a ``vmap``-ped batch of pytrees."""
    return jax.tree_util.tree_map(lambda v: v[i], tree)


def _theory_loss(loss: str, beta: float):
    """(loss_fn, β of the theory) for the InfoNCE family the theory covers."""
    if loss == "beta-infonce":
        return make_ssl_loss("beta-infonce", beta=beta), float(beta)
    if loss == "infonce":
        return make_ssl_loss("infonce"), 1.0
    raise ValueError(f"loss must be 'beta-infonce' or 'infonce' (the losses with a last-layer theory), got {loss!r}")


def train_noise_sweep(model, x, sigma2s, *, key, steps: int, batch_size: int, loss: str = "beta-infonce",
                      beta: float = 0.5, optimizer: str = "adam", learning_rate: float = 3e-3,
                      weight_decay: float = 0.0, schedule: str = "constant"):
    """Train one network per σ² in ``sigma2s`` (vmapped); returns (batched TrainState, losses (len σ², steps)).

    Every network starts from the same initialisation (from ``key``) and sees the
    same data batches; only the Gaussian-noise augmentation strength differs.  Training goes through
    :mod:`landscape.nn` (``make_train_step``: mini-batches, fresh augmentations, model state), not
    ``dynamics.descend``.
    """
    opt = make_optimizer(optimizer, learning_rate, weight_decay=weight_decay, schedule=schedule,
                         total_steps=steps)
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


def noise_views(model, params, state, x, sigma2, key, n_views: int) -> models.Outputs:
    """Inference-mode outputs of ``n_views`` Gaussian-noise views of ``x``: arrays (n_views, n, ·)."""
    xs = jnp.asarray(x)

    def one(k):
        return model.apply(params, state, aug_mod.gaussian_noise(k, xs, sigma2), train=False)[0]

    out = jax.jit(jax.vmap(one))(jax.random.split(key, n_views))
    return models.Outputs(*(np.asarray(v) for v in out))


def analyse(model, params, state, x, sigma2, *, key, loss: str = "beta-infonce", beta: float = 0.5,
            weight_decay: float = 0.0, n_views: int = 8,
            scales=np.linspace(-2.0, 2.0, 41), grid=np.linspace(-1.5, 1.5, 31), halves=np.linspace(0.0, 1.2, 13),
            atol: float = 1e-2, eval_n: Optional[int] = None, slices: bool = True, refit: bool = True) -> dict:
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
    (wd/2 of a coupled optimizer weight decay wd).
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
    clean = models.Outputs(*(np.asarray(v) for v in model.apply(params, state, jnp.asarray(xe), train=False)[0]))
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
        wr = probe.fit_last_layer(loss_fn, views.phi, w, steps=1500, learning_rate=1e-2,
                                  weight_decay=weight_decay, key=jax.random.fold_in(key, 7))
        out["refit_output_variances"], out["refit_rank"] = probe.measured_collapse(wr, cov, atol=atol)
    if slices:
        fn = jax.jit(probe.last_layer_loss(loss_fn, views.phi[0], views.phi[1], weight_decay=weight_decay))
        out["scales"] = np.asarray(scales)
        out["slice_1d"] = np.asarray(probe.slice_1d(fn, w, scales))
        out["slice_1d_theory"] = probe.predicted_slice_1d(cov, w, scales, beta=beta, n_negatives=n_eval)
        out["halves"] = np.asarray(halves)
        sigma = cov.basis @ cov.total @ cov.basis.T
        out["slice_halves"] = np.asarray(probe.slice_halves(fn, w, halves, halves, metric=sigma))
        if d1 == 2:
            # rows of W rotated to the output principal directions (UᵀW leaves the loss unchanged):
            # row 1 carries the larger output variance, so the axes are comparable across networks
            out["grid"] = np.asarray(grid)
            out["slice_rows"] = np.asarray(probe.slice_rows(fn, probe.output_rotation(w, sigma), grid, grid))
    return out
