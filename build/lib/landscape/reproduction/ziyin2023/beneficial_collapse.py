r"""Beneficial collapse: few-label probes on the SSL representation as augmentation collapses nuisance dims.

Data: 4 signal dims (variance 1) and 32 nuisance dims (variance 0.5); the label
is y = t·x_s + 0.1·noise with a random teacher t (fresh per repeat); the
classification label is sign(y).  SSL representation: closed-form global minimum
of β-InfoNCE (β = ½, derived form), for which an augmented dim collapses at
σ² ≥ βa/(1 − β) = a (dashed line).

Panels: (a) ridge-probe normalised test error vs σ² with augmentation on the
nuisance, for several label counts n (dotted: raw input); (b) the same with the
augmentation on the signal (collapse hurts); (c) logistic-probe accuracy vs σ²
(nuisance target); (d) gain of the collapsed representation (σ² = 1) over the
uncollapsed one (σ² = 0) vs n, ridge error and logistic accuracy, ± 2 s.e.; the title gives the
largest n up to which the gain exceeds 0.02 and 2 s.e.
All probe numbers are on independent test samples.

Usage::

    python figures/fig_beneficial_collapse.py [--quick | --smoke] [--plot-only PATH]
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

import jax

from landscape.studies import beneficial_collapse as bc

NAME = "fig_beneficial_collapse"
A_S = [1.0] * 4
A_N = [0.5] * 32
MIN_GAIN = 0.02          # a gain counts when above this and above 2 standard errors


def compute(quick: bool = False, seed: int = 0, smoke: bool = False) -> dict:
    """Probe curves and gains (``smoke``: 2 repeats, 3 σ², label counts 8 and 24 only, 100 test points)."""
    rng = np.random.default_rng(seed)
    reps = 2 if smoke else 3 if quick else 12
    n_test = 100 if smoke else 500 if quick else 2000
    s2 = np.linspace(0.0, 1.6, 3 if smoke else 5 if quick else 17)
    ns_curve = np.array([8, 24]) if smoke else np.array([8, 24, 96])
    if smoke:
        ns_gain = ns_curve
    else:
        ns_gain = np.array([4, 8, 16, 32, 64]) if quick else np.array([4, 8, 16, 32, 48, 64, 128, 256, 512])
    out = dict(sigma2=s2, n_curve=ns_curve, collapse_nuisance=bc.collapse_sigma2(0.5),
               collapse_signal=bc.collapse_sigma2(1.0))
    for target in ("nuisance", "signal"):
        errs, accs, raws, raw_acc = [], [], [], []
        for n in ns_curve:
            c = bc.probe_curve(rng, A_S, A_N, s2, n_labels=int(n), target=target, n_repeats=reps, n_test=n_test,
                               logistic=(target == "nuisance"))
            errs.append(c["error"].mean(1))
            accs.append(c["accuracy"].mean(1))
            raws.append(c["raw_error"].mean())
            raw_acc.append(c["raw_accuracy"].mean())
        out[f"error_{target}"] = np.array(errs)
        out[f"acc_{target}"] = np.array(accs)
        out[f"raw_error_{target}"] = np.array(raws)
        out[f"raw_acc_{target}"] = np.array(raw_acc)
        out[f"rank_{target}"] = c["rank"]
    g = bc.gain_vs_labels(rng, A_S, A_N, ns_gain, sigma2_kept=0.0, sigma2_collapsed=1.0, n_repeats=reps,
                          n_test=n_test, logistic=True)
    for k, v in g.items():
        out[f"gain_{k}"] = v
    return out


def render(data: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.3), constrained_layout=True)
    s2 = data["sigma2"]
    for ax, target, field, ylab in ((axes[0], "nuisance", "error", "ridge test error (normalised)"),
                                    (axes[1], "signal", "error", "ridge test error (normalised)"),
                                    (axes[2], "nuisance", "acc", "logistic test accuracy")):
        for i, n in enumerate(data["n_curve"]):
            ax.plot(s2, data[f"{field}_{target}"][i], "-o", ms=3, color=f"C{i}", label=f"n = {n}")
            raw = data[f"raw_{field}_{target}"][i]
            if np.isfinite(raw):
                ax.axhline(raw, color=f"C{i}", ls=":", lw=1)
        ax.axvline(float(data[f"collapse_{target}"]), color="k", ls="--", lw=1)
        ax.set_xlabel(f"augmentation σ² on the {target} dims")
        ax.set_ylabel(ylab)
        ax.set_title(f"augmentation on {target} ({'collapse helps' if target == 'nuisance' else 'collapse hurts'})",
                     fontsize=10)
        if field == "error":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax = axes[3]
    n = data["gain_n_labels"]
    ax.errorbar(n, data["gain_gain"], yerr=2 * data["gain_gain_se"], fmt="-o", label="ridge error: kept − collapsed")
    ax.errorbar(n, data["gain_acc_gain"], yerr=2 * data["gain_acc_gain_se"], fmt="-s",
                label="logistic acc.: collapsed − kept")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("labelled samples n")
    ax.set_ylabel("gain from collapse (σ²=1 vs σ²=0)")
    big_r = bc.largest_gain_size(n, data["gain_gain"], data["gain_gain_se"], min_gain=MIN_GAIN) or 0
    big_l = bc.largest_gain_size(n, data["gain_acc_gain"], data["gain_acc_gain_se"], min_gain=MIN_GAIN) or 0
    ax.axhline(MIN_GAIN, color="0.6", ls=":", lw=1)
    ax.set_title(f"gain > {MIN_GAIN} and > 2 s.e. up to n = {big_r} (ridge), {big_l} (logistic)", fontsize=9)
    ax.legend(fontsize=8)
    return fig

def main(argv=None) -> int:
    jax.config.update("jax_enable_x64", True)
    return run_figure(NAME, compute, render, __doc__, argv, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
