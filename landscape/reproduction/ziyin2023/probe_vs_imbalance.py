r"""Minority- and majority-class probe accuracy on SSL and supervised representations vs p and σ².

Data: K = 4 classes with means 2·e_k (k = 0..3) in R^20, proportions
(p, (1 − p)/3, (1 − p)/3, (1 − p)/3), within-class variance 0.5 on the four
class axes and 1 on 16 background dims; the mixture is centred.  Class 0 is the
minority.  With equal majority proportions the minority direction u_0 is an
eigen-direction of A0, with variance a_0 (:func:`landscape.studies.class_imbalance.direction_variances`).

Representations, all learned on one imbalanced sample of 3000 points:
* SSL: closed-form global minimum on the sample's Â0 (the finite-sample
  problem) with isotropic augmentation; (a) InfoNCE at σ² = 0.3 with weight
  decay γ = 0.6 (collapses the minority below p_c) and without (γ = 0: no
  collapse at any p); (b) β-InfoNCE (β = ½) against σ² at p = 0.1;
* supervised: linear cross-entropy classifier with weight decay 10⁻², trained
  on the 3000 *labelled* points; the representation is its 4 logits;
* raw input.

Probe: the evaluation is balanced, as in the usual "pre-train on imbalanced
data, evaluate downstream" protocol: a class-balanced least-squares probe on
100 labelled points, 25 per class (so every probe sees ``MIN_MINORITY_LABELS``
or more minority labels; a point with fewer would be drawn hollow and left out
of the claims), scored on an independent balanced test sample; mean over
repeats.  Vertical lines: p_c of the minority direction (bisection on the
population problem) and σ²_c = β·a_0/(1 − β) (closed form, §3.11).

Usage::

    python figures/fig_probe_vs_imbalance.py [--quick | --smoke] [--plot-only PATH]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import numpy as np

import landscape as ls
from landscape.reproduction.claims import Check, Claim
from landscape.reproduction.figure_io import run_figure
from landscape.studies import class_imbalance as im
from landscape.studies.class_imbalance import supervised as sv

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

NAME = "fig_probe_vs_imbalance"
REPORT_SIZE = "full"
PAPER_SCALE = (
    "ICLR comparison not retrieved (spec §3.11 RECON): linear representations of a 4-class "
    "Gaussian mixture, 3000 pre-training points, 100-label balanced probes, 6 repeats"
)
K, NBG = 4, 16
D = K + NBG
GAMMA, S2_A, P_B, BETA = 0.6, 0.3, 0.1, 0.5
MIN_MINORITY_LABELS = 5  # a probe that sees fewer minority labels cannot measure the minority class
CHANCE = 1.0 / K


def problem(p: float, s2: float) -> im.ClassProblem:
    means = np.zeros((K, D))
    means[np.arange(K), np.arange(K)] = 2.0
    props = np.array([p] + [(1 - p) / (K - 1)] * (K - 1))
    return im.class_problem(means, props, within_cov=[0.5] * K + [1.0] * NBG, aug_var=s2)


def _maps(rng, cp, ssl: dict, n_rep, sup_steps=1000):
    """Every representation map learned on one imbalanced sample of ``n_rep`` points."""
    xs, ys = im.sample_classes(rng, cp, n_rep)
    emp = im.empirical_class_problem(xs, cp.problem.aug_cov)
    maps = {
        name: im.representation_map(np.asarray(ls.global_minimum(ls.effective_landscape(emp, **kw), D).gram))
        for name, kw in ssl.items()
    }
    w_sup, _ = sv.train_linear_classifier(xs, ys, K, weight_decay=1e-2, steps=sup_steps)
    return {**maps, "supervised": np.asarray(w_sup).T, "raw": np.eye(D)}


def _point(rng, cp, ssl: dict, *, n_rep, n_probe, n_test, repeats, sup_steps=1000):
    """Per-class accuracies (mean over repeats) and the probe's smallest minority label count."""
    maps = _maps(rng, cp, ssl, n_rep, sup_steps)
    balanced = problem(1.0 / K, float(cp.problem.aug_cov[0, 0]))  # the downstream task is balanced
    acc: dict[str, list] = {k: [] for k in maps}
    seen = n_probe
    for _ in range(repeats):
        out = im.probe_study(rng, balanced, maps, n_train=n_probe, n_test=n_test)
        seen = min(seen, int(out["n_train_per_class"][0]))
        for k in maps:
            acc[k].append(out[k])
    return {k: np.nanmean(np.array(v), axis=0) for k, v in acc.items()}, seen


def _sizes(quick: bool, smoke: bool):
    if smoke:
        return (
            np.array([0.03, 0.2]),
            np.linspace(0.0, 1.6, 2),
            dict(n_rep=600, n_probe=100, n_test=200, repeats=1, sup_steps=50),
            8,
        )
    if quick:
        return (
            np.array([0.005, 0.03, 0.2]),
            np.linspace(0.0, 1.6, 4),
            dict(n_rep=3000, n_probe=100, n_test=1000, repeats=2),
            30,
        )
    return (
        np.array([0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25]),
        np.linspace(0.0, 1.6, 9),
        dict(n_rep=3000, n_probe=100, n_test=2000, repeats=6),
        30,
    )


def compute(quick: bool = False, seed: int = 0, smoke: bool = False) -> dict[str, np.ndarray]:
    """Probe accuracies against p and σ² (``smoke``: 2 × 2 points, 600 samples, one repeat, 8 bisections)."""
    rng = np.random.default_rng(seed)
    ps, s2s, kw, iterations = _sizes(quick, smoke)
    ssl_a = {"ssl": dict(loss_name="infonce", weight_decay=GAMMA), "ssl_nowd": dict(loss_name="infonce")}
    out = dict(p=ps, sigma2=s2s)
    for key, xs, make, ssl in (
        ("p", ps, lambda x: problem(x, S2_A), ssl_a),
        ("s", s2s, lambda x: problem(P_B, x), {"ssl": dict(loss_name="beta-infonce", beta=BETA)}),
    ):
        points = [_point(rng, make(x), ssl, **kw) for x in xs]
        for name in points[0][0]:
            out[f"acc_{key}_{name}"] = np.stack([pt[0][name] for pt in points])
        out[f"minority_labels_{key}"] = np.array([pt[1] for pt in points])
    out["p_c"] = im.critical_proportion_numeric(
        lambda p: problem(p, S2_A), "infonce", weight_decay=GAMMA, p_high=0.45, iterations=iterations
    )
    out["v_p"] = np.array(
        [im.solve_classes(problem(p, S2_A), "infonce", weight_decay=GAMMA).representation_variance[0] for p in ps]
    )
    out["v_s"] = np.array(
        [im.solve_classes(problem(P_B, s), "beta-infonce", beta=BETA).representation_variance[0] for s in s2s]
    )
    a0 = float(im.direction_variances(problem(P_B, 0.0))[0])
    out["a_minority"] = np.array(a0)
    out["sigma2_c"] = np.array(BETA * a0 / (1 - BETA))  # a_0 ≤ (1 − β)σ²/β: collapsed (β-InfoNCE)
    return out


def _drop(data: dict, name: str, ok: np.ndarray) -> float:
    """Minority accuracy at the most balanced p minus at the most imbalanced measurable p."""
    acc = data[f"acc_p_{name}"][ok, 0]
    return float(acc[-1] - acc[0])


def claims(data: dict[str, np.ndarray]) -> list[Claim]:
    ok = data["minority_labels_p"] >= MIN_MINORITY_LABELS
    if not ok.any():
        ok = np.ones_like(ok)  # smoke sizes: keep every point (the verdict is meaningless there)
    p = data["p"][ok]
    d_ssl, d_free, d_sup = (_drop(data, n, ok) for n in ("ssl", "ssl_nowd", "supervised"))
    gap = data["acc_p_supervised"][ok, 0] - data["acc_p_ssl"][ok, 0]
    rng_txt = f"p from {p[-1]:g} to {p[0]:g}"
    robust = Claim(
        key="imbalance-ssl-vs-supervised",
        paper="ziyin2023",
        statement="SSL is more robust to class imbalance than supervised learning",
        where="ICLR abstract ('robustness of SSL against data imbalance'); spec §3.11 (RECON)",
        checks=(
            Check(
                f"minority probe-accuracy drop, SSL (InfoNCE, γ = {GAMMA}) minus supervised, {rng_txt}",
                d_ssl - d_sup,
                "≤",
                0.0,
            ),
        ),
        correction=(
            f"only where the SSL minimum keeps the minority direction: without weight decay (no collapse) "
            f"SSL loses no more minority accuracy than supervised; with γ = {GAMMA} it deletes the "
            f"minority direction below p_c = {float(data['p_c']):.3g}, and supervised beats it on the "
            "minority class at every p"
        ),
        # 0.05: the spread of a minority accuracy over 6 repeats of 25 test-labelled probes is a few percent
        corrected=(
            Check(
                f"minority probe-accuracy drop, SSL without weight decay minus supervised, {rng_txt}",
                d_free - d_sup,
                "≤",
                0.05,
            ),
            Check(f"minority accuracy, supervised minus SSL (γ = {GAMMA}), smallest over p", gap.min(), ">", 0.0),
        ),
        note=f"the leftmost measurable point has {int(data['minority_labels_p'][ok][0])} minority labels in its probe",
    )
    below = data["p"] < float(data["p_c"])
    collapse_p = Claim(
        key="imbalance-probe-below-pc",
        paper="ziyin2023",
        statement="below the critical imbalance the SSL representation loses the minority class",
        where="spec §3.11 (RECON)",
        checks=(
            Check(
                f"SSL (γ = {GAMMA}) minority accuracy, mean over p < p_c = {float(data['p_c']):.3g}",
                float(np.mean(data["acc_p_ssl"][below & ok, 0])) if (below & ok).any() else 0.0,
                "≤",
                CHANCE + 0.1,
                target_from="chance 1/K + 0.1",
            ),
            Check("SSL minority accuracy at the most balanced p", float(data["acc_p_ssl"][-1, 0]), "≥", 0.7),
        ),
    )
    s2, s2c = data["sigma2"], float(data["sigma2_c"])
    above = s2 > s2c
    kept = data["v_s"] > 1e-9 * max(float(np.max(data["v_s"])), 1e-300)
    collapse_s = Claim(
        key="imbalance-sigma2-c",
        paper="ziyin2023",
        statement="the minority direction collapses once the augmentation reaches σ²_c with a_0 = (1−β)σ²_c/β",
        where="spec §3.11 (RECON)",
        checks=(
            Check(
                f"σ² grid points ({s2.size}) where the solver's fate of the minority direction differs from "
                f"σ² < σ²_c = {s2c:.3g}",
                int(np.sum(kept == above)),
                "=",
                0,
                target_from="closed form",
            ),
            Check(
                "SSL minority accuracy, mean over σ² > σ²_c",
                float(np.mean(data["acc_s_ssl"][above, 0])) if above.any() else 1.0,
                "≤",
                CHANCE + 0.1,
                target_from="chance 1/K + 0.1",
            ),
            Check(
                "SSL majority accuracy, mean over σ² > σ²_c (the majority directions survive)",
                float(np.mean(data["acc_s_ssl"][above, 1:])) if above.any() else 0.0,
                "≥",
                0.7,
            ),
        ),
    )
    return [robust, collapse_p, collapse_s]


def render(data: dict[str, np.ndarray]) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.8), constrained_layout=True)
    styles = {
        "ssl": ("C0", "SSL"),
        "ssl_nowd": ("C2", "SSL, γ = 0"),
        "supervised": ("C3", "supervised"),
        "raw": ("0.5", "raw input"),
    }
    for ax, x, key, xlabel, title in (
        (axes[0], data["p"], "p", "minority proportion p", f"vs imbalance (SSL: InfoNCE, γ = {GAMMA}, σ² = {S2_A})"),
        (axes[1], data["sigma2"], "s", "augmentation σ²", f"vs augmentation (SSL: β-InfoNCE, β = ½, p = {P_B})"),
    ):
        ok = data[f"minority_labels_{key}"] >= MIN_MINORITY_LABELS
        for n, (c, lab) in styles.items():
            if f"acc_{key}_{n}" not in data:
                continue
            acc = data[f"acc_{key}_{n}"]
            ax.plot(x, acc[:, 0], "-", color=c, label=f"{lab}: minority")
            ax.plot(x[ok], acc[ok, 0], "o", color=c)
            ax.plot(x[~ok], acc[~ok, 0], "o", mfc="none", color=c)
            ax.plot(x, acc[:, 1:].mean(1), "--s", color=c, ms=3, alpha=0.7, label=f"{lab}: majority")
        ax.axhline(CHANCE, color="k", lw=0.6, ls=":")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("held-out per-class probe accuracy (balanced probe)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 1.02)
    axes[0].set_xscale("log")
    for ax, where, txt in ((axes[0], float(data["p_c"]), " p_c"), (axes[1], float(data["sigma2_c"]), " σ²_c")):
        ax.axvline(where, color="k", lw=1)
        ax.text(where, 0.05, txt, fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right", ncol=2)
    n_min = int(np.min(np.r_[data["minority_labels_p"], data["minority_labels_s"]]))
    fig.suptitle(
        f"Minority class under SSL and supervised pre-training; every probe sees ≥ {n_min} minority labels "
        f"(hollow: < {MIN_MINORITY_LABELS}); dotted: chance\nSSL with γ = 0 whitens every direction, an invertible map: "
        "its curves lie under the raw input's",
        fontsize=10,
    )
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    jax.config.update("jax_enable_x64", True)
    return run_figure(NAME, compute, render, __doc__, argv, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
