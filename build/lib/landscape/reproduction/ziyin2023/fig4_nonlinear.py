r"""WS Fig. 4 with real nonlinear networks: small tanh and ReLU nets, output dimension 2.

Set-up (:data:`landscape.studies.nonlinear_networks.FIG4`): Gaussian data in R⁶ with
variances (2, 0.6, 0.1, 0.1, 0.1, 0.1), n = 512; a two-hidden-layer MLP (32
units, tanh or ReLU) whose bias-free last layer maps to d1 = 2; β-InfoNCE with
β = ½; Adam (lr 3e-3), full batch, fresh Gaussian-noise views at every step.
The paper's network, data and loss for this figure are not fully stated (spec
§4 Fig. 4); these are our choices, made so that the linear theory predicts
the paper's three regimes at its three strengths σ² ∈ {0.2, 1.1, 5.0}.

Panels:

* top left: L(a·W_last), a ∈ [−2, 2], for the three strengths and both
  nonlinearities, with the exact-Gaussian prediction from the frozen encoder's
  feature covariances (thin dashed);
* top middle / right: a σ² sweep (tanh / ReLU): the eigenvalues of the output
  covariance W Σ_ϕ Wᵀ, measured (dots) and predicted from the frozen features
  (lines), with the input-space thresholds σ² = â₂ and σ² = â₁ (β = ½);
* rows 2–3: L(r₁w₁, r₂w₂) over the rows of W_last (WS Fig. 4 bottom), tanh and
  ReLU, with the grid minimum marked.  W_last is first rotated to the principal
  directions of its output covariance W Σ_ϕ Wᵀ (W → UᵀW, which leaves the loss
  unchanged), so row 1 carries the larger output variance.  (The bare singular
  values of W are not used: W keeps its initial weights along feature
  directions that do not vary, which no loss term removes.)

Usage::

    python figures/fig4_nonlinear.py            # full run (a few minutes on 2 CPU cores)
    python figures/fig4_nonlinear.py --quick    # ~1 minute, fewer steps and sweep points
    python figures/fig4_nonlinear.py --smoke    # tanh only, 1 sweep point, 5-point slices (the test suite's run)
    python figures/fig4_nonlinear.py --plot-only out/figures/fig4_nonlinear.npz
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

import jax

from landscape.nn import data
from landscape.studies import nonlinear_networks as ex

NAME = "fig4_nonlinear"
ACTIVATIONS = ("tanh", "relu")


def config(quick: bool, smoke: bool = False) -> dict:
    cfg = dict(ex.FIG4)
    # smoke trains as long as quick (600 steps already show the pattern; training is cheap, compiling is not)
    cfg["steps"] = cfg["quick_steps"] if quick or smoke else cfg["steps"]
    cfg["sweep"] = np.geomspace(0.15, 6.0, 1 if smoke else 7 if quick else 15)
    # a smoke run: tanh only (ReLU takes the same path), 5-point slices (analyse's defaults: 41 scales,
    # 31 × 31 rows) and no refit of the last layer (not drawn)
    cfg["activations"] = ACTIVATIONS[:1] if smoke else ACTIVATIONS
    cfg["analyse"] = dict(scales=np.linspace(-2.0, 2.0, 5), grid=np.linspace(-1.5, 1.5, 5)) if smoke else {}
    cfg["refit"] = not smoke
    return cfg


def compute(quick: bool = False, smoke: bool = False) -> dict:
    """Train and probe; returns plain NumPy arrays (saved by :func:`main`)."""
    cfg = config(quick, smoke)
    x = data.gaussian(jax.random.PRNGKey(cfg["data_seed"]), cfg["n"], cfg["variances"])
    a_hat = np.sort(np.linalg.eigvalsh(np.cov(np.asarray(x, np.float64).T, bias=True)))[::-1]
    strengths = np.asarray(cfg["sigma2"], float)
    sweep = np.asarray(cfg["sweep"], float)
    out: dict = {"quick": np.array(quick or smoke), "sigma2": strengths, "sweep": sweep, "data_eigenvalues": a_hat,
                 "beta": np.array(cfg["beta"]), "config": np.array(repr({k: (v.tolist() if isinstance(v, np.ndarray)
                                                                            else v) for k, v in cfg.items()}))}
    out["activations"] = np.array(cfg["activations"])
    key = jax.random.PRNGKey(9)
    for act in cfg["activations"]:
        model = ex.fig4_model(act, cfg)
        all_s2 = np.concatenate([strengths, sweep])
        state, losses = ex.train_noise_sweep(model, x, all_s2, key=jax.random.PRNGKey(cfg["init_seed"]),
                                             steps=cfg["steps"], batch_size=cfg["n"], beta=cfg["beta"],
                                             learning_rate=cfg["learning_rate"])
        out[f"{act}_losses"] = losses[: len(strengths)]
        for i, s2 in enumerate(all_s2):
            full = i < len(strengths)
            r = ex.analyse(model, ex.index_tree(state.params, i), ex.index_tree(state.model_state, i), x, s2,
                           key=key, beta=cfg["beta"], slices=full, refit=full and cfg["refit"], **cfg["analyse"])
            tag = f"{act}_s{i}" if full else f"{act}_w{i - len(strengths)}"
            for k, v in r.items():
                if isinstance(v, str):
                    v = np.array(v)
                out[f"{tag}_{k}"] = np.asarray(v)
        # the sweep as arrays
        n_sw = len(sweep)
        out[f"{act}_sweep_measured"] = np.stack([out[f"{act}_w{j}_measured_output_variances"] for j in range(n_sw)])
        out[f"{act}_sweep_predicted"] = np.stack([out[f"{act}_w{j}_predicted_output_variances"] for j in range(n_sw)])
        out[f"{act}_sweep_measured_rank"] = np.array([int(out[f"{act}_w{j}_measured_rank"]) for j in range(n_sw)])
        out[f"{act}_sweep_predicted_rank"] = np.array([int(out[f"{act}_w{j}_predicted_rank"]) for j in range(n_sw)])
    return out


def activations(data_: dict) -> tuple[str, ...]:
    """The nonlinearities a dataset holds (files saved before this field: both)."""
    return tuple(str(a) for a in data_["activations"]) if "activations" in data_ else ACTIVATIONS


def boundaries(ranks: np.ndarray, sweep: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Grid brackets (σ²_lo, σ²_hi] in which the rank first drops below 2, and first reaches 0."""
    def first(mask):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return (float(sweep[-1]), float("inf"))
        i = idx[0]
        return (float(sweep[i - 1]) if i > 0 else 0.0, float(sweep[i]))

    return first(ranks < 2), first(ranks == 0)


def summary(data_: dict) -> str:
    """A text summary: classes at the three strengths and the phase boundaries (measured and predicted)."""
    lines = []
    a = data_["data_eigenvalues"]
    beta = float(data_["beta"])
    th = beta / (1 - beta) * a[:2]
    lines.append(f"input-space linear theory (β = {beta:g}): rank 2 → 1 at σ² = {th[1]:.3f}, 1 → 0 at σ² = {th[0]:.3f}")
    for act in activations(data_):
        cls = [(str(data_[f"{act}_s{i}_measured_class"]), str(data_[f"{act}_s{i}_predicted_class"]))
               for i in range(len(data_["sigma2"]))]
        lines.append(f"{act}: at σ² = {list(data_['sigma2'])}: measured/predicted = {cls}")
        mb = boundaries(data_[f"{act}_sweep_measured_rank"], data_["sweep"])
        pb = boundaries(data_[f"{act}_sweep_predicted_rank"], data_["sweep"])
        fmt = lambda b: f"({b[0]:.3f}, {b[1]:.3f}]"  # noqa: E731
        lines.append(f"{act}: rank 2→1 in σ² ∈ {fmt(mb[0])} measured, {fmt(pb[0])} frozen-feature count; "
                     f"rank 1→0 in {fmt(mb[1])} measured, {fmt(pb[1])} frozen-feature count")
    return "\n".join(lines)


def render(d: dict):
    """The figure from the arrays of :func:`compute` (a Matplotlib Figure)."""
    from matplotlib.figure import Figure

    colors = ("#0072B2", "#D55E00", "#E69F00")
    s2 = d["sigma2"]
    fig = Figure(figsize=(13.5, 12.5), layout="constrained")
    axes = fig.subplots(3, 3)

    ax = axes[0, 0]
    for i, s in enumerate(s2):
        for act, ls in zip(activations(d), ("-", "--")):
            ax.plot(d[f"{act}_s{i}_scales"], d[f"{act}_s{i}_slice_1d"], ls, color=colors[i], lw=1.6,
                    label=f"σ²={s:g}, {act}")
            ax.plot(d[f"{act}_s{i}_scales"], d[f"{act}_s{i}_slice_1d_theory"], ":", color="black", lw=0.8,
                    label="Gaussian theory, frozen ϕ" if (i == 0 and act == "tanh") else None)
    ax.set_xlabel(r"scale $a$ of $W_{\rm last}$")
    ax.set_ylabel(r"$L(a\,W_{\rm last})$ (β-InfoNCE)")
    ax.set_title("1-D slice: origin becomes the minimum")
    ax.legend(fontsize=7)

    a = d["data_eigenvalues"]
    beta = float(d["beta"])
    th = beta / (1 - beta) * a[:2]
    for col, act in zip((1, 2), activations(d)):
        ax = axes[0, col]
        sw = d["sweep"]
        meas = d[f"{act}_sweep_measured"]
        pred = d[f"{act}_sweep_predicted"]
        for j in range(meas.shape[1]):
            ax.plot(sw, meas[:, j], "o", color=colors[j], ms=5, label=f"measured λ{j + 1}(WΣϕWᵀ)")
            ax.plot(sw, pred[:, j], "-", color=colors[j], lw=1.2, label=f"predicted from frozen ϕ, λ{j + 1}")
        top = float(max(np.max(meas), np.max(pred)))
        for t, lab in zip(th[::-1], ("â₂", "â₁")):
            ax.axvline(t, color="grey", ls=":", lw=1)
            ax.text(t, 0.85 * top, f" input theory\n σ² = {lab} = {t:.2f}", fontsize=7)
        ax.set_xscale("log")
        ax.set_xticks([0.2, 0.5, 1.0, 2.0, 5.0], labels=["0.2", "0.5", "1", "2", "5"])
        ax.minorticks_off()
        ax.set_xlabel(r"augmentation $\sigma^2$")
        ax.set_ylabel("output covariance eigenvalues")
        ax.set_title(f"{act}: no → dimensional → complete collapse")
        ax.legend(fontsize=7)

    for row, act in zip((1, 2), activations(d)):
        for i, s in enumerate(s2):
            ax = axes[row, i]
            g = d[f"{act}_s{i}_grid"]
            z = d[f"{act}_s{i}_slice_rows"]
            cs = ax.contourf(g, g, z.T, levels=20, cmap="viridis")
            fig.colorbar(cs, ax=ax, shrink=0.8)
            k = np.unravel_index(np.argmin(z), z.shape)
            ax.plot(g[k[0]], g[k[1]], "*", color="red", ms=12)
            ax.set_xlabel(r"$r_1$ (row 1: larger output variance)")
            ax.set_ylabel(r"$r_2$ (row 2: smaller output variance)")
            ax.set_title(f"{act}, σ²={s:g}: measured {d[f'{act}_s{i}_measured_class']}, "
                         f"predicted {d[f'{act}_s{i}_predicted_class']}", fontsize=9)
    if bool(d.get("quick", False)):
        fig.suptitle("QUICK RUN (fewer steps and sweep points)", color="red")
    return fig

def main(argv=None) -> int:
    jax.config.update("jax_enable_x64", True)   # theory in float64; the networks are float32 by construction
    return run_figure(NAME, compute, render, __doc__, argv, dpi=110, report=summary)


if __name__ == "__main__":
    raise SystemExit(main())
