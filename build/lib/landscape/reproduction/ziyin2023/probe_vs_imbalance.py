r"""Minority- and majority-class probe accuracy on SSL and supervised representations vs p and σ².

Data: K = 4 classes with means 2·e_k (k = 0..3) in R^20, proportions
(p, (1 − p)/3, (1 − p)/3, (1 − p)/3), within-class variance 0.5 on the four
class axes and 1 on 16 background dims; the mixture is centred.  Class 0 is the
minority.

Representations, all learned on an unlabelled/labelled sample of 3000 points
with the same imbalance:
* SSL: closed-form global minimum on the sample's Â0 (the finite-sample
  problem) with isotropic augmentation; (a) InfoNCE + weight decay γ = 0.6 at
  σ² = 0.3 against p; (b) β-InfoNCE (β = ½) against σ² at p = 0.1;
* supervised: linear cross-entropy classifier with weight decay 10⁻², trained
  on the 3000 labelled points; the representation is its 4 logits;
* raw input.

Probe: class-balanced least-squares probe on 100 labelled points (stratified),
scored on an independent test sample of 4000; mean over repeats.  The vertical
line is p_c (or σ²_c) of the minority direction from bisection on the
population problem.

Usage::

    python figures/fig_probe_vs_imbalance.py [--quick | --smoke] [--plot-only PATH]
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

import jax

import landscape as ls
from landscape.studies import class_imbalance as im
from landscape.studies.class_imbalance import supervised as sv

NAME = "fig_probe_vs_imbalance"
K, NBG = 4, 16
D = K + NBG
GAMMA, S2_A, P_B = 0.6, 0.3, 0.1


def problem(p: float, s2: float) -> im.ClassProblem:
    means = np.zeros((K, D))
    means[np.arange(K), np.arange(K)] = 2.0
    props = np.array([p] + [(1 - p) / (K - 1)] * (K - 1))
    return im.class_problem(means, props, within_cov=[0.5] * K + [1.0] * NBG, aug_var=s2)


def _maps(rng, cp, loss_kw, n_rep, sup_steps=1000):
    xs, ys = im.sample_classes(rng, cp, n_rep)
    emp = im.empirical_class_problem(xs, cp.problem.aug_cov)
    land = ls.effective_landscape(emp, **loss_kw)
    w_ssl = im.representation_map(np.asarray(ls.global_minimum(land, D).gram))
    w_sup, _ = sv.train_linear_classifier(xs, ys, K, weight_decay=1e-2, steps=sup_steps)
    return {"ssl": w_ssl, "supervised": np.asarray(w_sup).T, "raw": np.eye(D)}


def _point(rng, cp, loss_kw, *, n_rep, n_probe, n_test, repeats, sup_steps=1000):
    maps = _maps(rng, cp, loss_kw, n_rep, sup_steps)
    acc = {k: [] for k in maps}
    for _ in range(repeats):
        out = im.probe_study(rng, cp, maps, n_train=n_probe, n_test=n_test)
        for k in maps:
            acc[k].append(out[k])
    return {k: np.nanmean(np.array(v), axis=0) for k, v in acc.items()}


def compute(quick: bool = False, seed: int = 0, smoke: bool = False) -> dict:
    """Probe accuracies against p and σ² (``smoke``: 2 × 2 points, 600 samples, one repeat, 8 bisections)."""
    rng = np.random.default_rng(seed)
    if smoke:
        ps, s2s = np.array([0.03, 0.2]), np.linspace(0.0, 1.6, 2)
        kw = dict(n_rep=600, n_probe=100, n_test=200, repeats=1, sup_steps=50)
    elif quick:
        ps, s2s = np.array([0.005, 0.03, 0.2]), np.linspace(0.0, 1.6, 4)
        kw = dict(n_rep=3000, n_probe=100, n_test=1000, repeats=2)
    else:
        ps, s2s = np.array([0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25]), np.linspace(0.0, 1.6, 9)
        kw = dict(n_rep=3000, n_probe=100, n_test=4000, repeats=8)
    names = ("ssl", "supervised", "raw")
    acc_p = {n: np.zeros((ps.size, K)) for n in names}
    for i, p in enumerate(ps):
        r = _point(rng, problem(p, S2_A), dict(loss_name="infonce", weight_decay=GAMMA), **kw)
        for n in names:
            acc_p[n][i] = r[n]
    acc_s = {n: np.zeros((s2s.size, K)) for n in names}
    v_s = np.zeros(s2s.size)
    for i, s2 in enumerate(s2s):
        cp = problem(P_B, s2)
        r = _point(rng, cp, dict(loss_name="beta-infonce", beta=0.5), **kw)
        for n in names:
            acc_s[n][i] = r[n]
        v_s[i] = im.solve_classes(cp, "beta-infonce", beta=0.5).representation_variance[0]
    pc = im.critical_proportion_numeric(lambda p: problem(p, S2_A), "infonce", weight_decay=GAMMA, p_high=0.45,
                                        iterations=8 if smoke else 30)
    v_p = np.array([im.solve_classes(problem(p, S2_A), "infonce", weight_decay=GAMMA).representation_variance[0]
                    for p in ps])
    out = dict(p=ps, sigma2=s2s, p_c=pc, v_p=v_p, v_s=v_s)
    for n in names:
        out[f"acc_p_{n}"] = acc_p[n]
        out[f"acc_s_{n}"] = acc_s[n]
    return out


def render(data: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    styles = {"ssl": "C0", "supervised": "C3", "raw": "0.5"}
    for ax, x, key, xlabel, title in ((axes[0], data["p"], "p", "minority proportion p",
                                       f"vs imbalance (SSL: InfoNCE, γ={GAMMA}, σ²={S2_A})"),
                                      (axes[1], data["sigma2"], "s", "augmentation σ²",
                                       f"vs augmentation (SSL: β-InfoNCE β=½, p={P_B})")):
        for n, c in styles.items():
            acc = data[f"acc_{key}_{n}"]
            ax.plot(x, acc[:, 0], "-o", color=c, label=f"{n}: minority")
            ax.plot(x, acc[:, 1:].mean(1), "--s", color=c, ms=4, alpha=0.8, label=f"{n}: majority")
        twin = ax.twinx()
        twin.plot(x, data[f"v_{key}"], ":", color="C2", lw=2)
        twin.set_ylabel("SSL minority-direction variance v (dotted)", color="C2")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("held-out per-class probe accuracy")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 1.02)
    axes[0].set_xscale("log")
    axes[0].axvline(float(data["p_c"]), color="k", lw=1)
    axes[0].text(float(data["p_c"]), 0.05, " p_c", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")
    return fig

def main(argv=None) -> int:
    jax.config.update("jax_enable_x64", True)
    return run_figure(NAME, compute, render, __doc__, argv, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
