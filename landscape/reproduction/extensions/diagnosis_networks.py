r"""The collapse diagnosis checked on trained networks: predicted against trained rank of the last layer.

Set-up (:mod:`landscape.studies.diagnosis_validation`): an MLP encoder (ReLU, 64 → 16 features)
and a bias-free linear last layer 16 → 16, trained jointly with β-InfoNCE (β = ½) and coupled
weight decay wd ∈ {0.01, 0.04, 0.1} (γ = wd/2 for the last layer), on the 8×8 digits with
Gaussian-noise views of strength σ ∈ {0.5, 1, 2} and on 12×12 synthetic colour images with
SimCLR views (crop, flip, colour jitter, grayscale) of strength s ∈ {0.25, 0.5, 1}.  For each
network, :func:`landscape.diagnosis.predict.diagnose` reads two fresh views of the features that
feed the last layer and predicts its rank; the last layer is then retrained on the frozen
features (the theory's set-up, **frozen**), on Gaussian features with the same estimated A0 and
C (the control, **gaussian**), and compared as joint training left it (**joint**).

Panels per data set: predicted against measured rank over the grid (three set-ups); per
direction, ‖W u_i‖² of the frozen and Gaussian refits against b_i − γ.  Tables
(:func:`report_markdown`, from the stored arrays): the agreement per data set and set-up and the
ranks per cell, with the run they come from; the report's section carries them and
``docs/diagnosis-validation.md`` includes them from there.

Usage::

    python figures/diagnosis_networks.py            # the report's run
    python figures/diagnosis_networks.py --quick    # fewer steps
    python figures/diagnosis_networks.py --smoke    # tiny sizes (the test suite's run)
    python figures/diagnosis_networks.py --plot-only out/diagnosis_networks_resnet18.npz   # a GPU run's file
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.reproduction.figure_io import run_figure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from landscape.reproduction.claims import Claim


NAME = "diagnosis_networks"
REPORT_SIZE = "full"
PAPER_SCALE = (
    "MLP encoder (64→16, ReLU) + linear last layer on the 8×8 digits and 12×12 synthetic images, "
    "3×3 grid (augmentation strength × weight decay) per data set, one seed, 500 Adam steps, 800-step "
    "last-layer refits: a GPU ResNet-18 run at scale is `python -m landscape.studies.diagnosis_validation` "
    "(CPU budget of ~1.5 min)"
)
MODES = ("frozen", "gauss", "joint")
LABELS = {"frozen": "frozen encoder, refit", "gauss": "Gaussian features, same A0, C", "joint": "end of joint training"}


def setups(quick: bool = False, smoke: bool = False) -> list:
    """The two data sets' grids at the run size."""
    from landscape.studies.diagnosis_validation import Setup

    size: dict[str, Any] = dict(steps=500, refit_steps=800, bootstrap=100)
    if quick:
        size = dict(steps=250, refit_steps=400, bootstrap=50)
    digits = Setup(dataset="digits", **size)
    if smoke:  # the digits only, no bootstrap, one shape of every program: the test suite's seconds
        return [
            Setup(
                dataset="digits", steps=3, refit_steps=3, bootstrap=0, n_samples=96, hidden=(8, 4), batch_size=32,
                refit_samples=96, refit_views=2, strengths=(0.5, 1.0), weight_decays=(0.05,),
            )
        ]  # fmt: skip
    return [digits, Setup(dataset="images", strengths=(0.25, 0.5, 1.0), **size)]


def compute(quick: bool = False, smoke: bool = False) -> dict[str, np.ndarray]:
    """Both grids, keys prefixed by the data set (:func:`landscape.studies.diagnosis_validation.run_many`)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from landscape.studies.diagnosis_validation import run_many

    return run_many(setups(quick, smoke))


def summary(data: dict, name: str, mode: str) -> dict[str, float]:
    """Agreement of one data set's grid for one set-up: fractions exact / off by one / wrong, mean |Δrank|."""
    d = data[f"{name}_rank_{mode}"] - data[f"{name}_predicted_rank"]
    inside = (data[f"{name}_rank_{mode}"] >= data[f"{name}_predicted_low"]) & (
        data[f"{name}_rank_{mode}"] <= data[f"{name}_predicted_high"]
    )
    return {
        "exact": float(np.mean(d == 0)),
        "off_by_one": float(np.mean(np.abs(d) == 1)),
        "wrong": float(np.mean(np.abs(d) >= 2)),
        "mean_abs": float(np.mean(np.abs(d))),
        "mean_signed": float(np.mean(d)),
        "inside_interval": float(np.mean(inside)),
        "decided": float(np.mean(data[f"{name}_predicted_low"] == data[f"{name}_predicted_high"])),
    }


def table(data: dict[str, np.ndarray]) -> str:
    """The agreement table (Markdown), one row per data set and set-up."""
    rows = [
        "| data set | set-up | exact | off by one | wrong (≥ 2) | mean Δrank | mean abs Δrank | in bootstrap interval |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in (str(n) for n in data["datasets"]):
        for mode in MODES:
            s = summary(data, name, mode)
            rows.append(
                f"| {name} | {LABELS[mode]} | {s['exact']:.2f} | {s['off_by_one']:.2f} | {s['wrong']:.2f} | "
                f"{s['mean_signed']:+.2f} | {s['mean_abs']:.2f} | {s['inside_interval']:.2f} |"
            )
    return "\n".join(rows)


SYMBOLS = {"digits": "σ", "images": "s"}  # the augmentation strength's symbol per data set (docs, set-up)


def grid_table(data: dict[str, np.ndarray], name: str) -> str:
    """One data set's ranks per cell (Markdown): predicted [bootstrap interval if undecided] / frozen / Gaussian / joint.

    Rows are the augmentation strengths, columns the weight decays.

    Example:
        >>> import numpy as np
        >>> d = {"images_weight_decays": np.array([0.01, 0.1]), "images_strengths": np.array([0.5]),
        ...      "images_predicted_rank": np.array([[3, 1]]), "images_predicted_low": np.array([[2, 1]]),
        ...      "images_predicted_high": np.array([[3, 1]]), "images_rank_frozen": np.array([[2, 1]]),
        ...      "images_rank_gauss": np.array([[3, 1]]), "images_rank_joint": np.array([[4, 1]])}
        >>> print(grid_table(d, "images"))
        | images: s \\ wd | 0.01 | 0.1 |
        | --- | --- | --- |
        | 0.5 | 3 [2–3] / 2 / 3 / 4 | 1 / 1 / 1 / 1 |
    """
    wds = [f"{w:g}" for w in np.ravel(data[f"{name}_weight_decays"])]
    rows = [
        f"| {name}: {SYMBOLS.get(name, 'strength')} \\ wd | " + " | ".join(wds) + " |",
        "| --- " * (len(wds) + 1) + "|",
    ]
    pred, lo, hi = (data[f"{name}_predicted_{k}"] for k in ("rank", "low", "high"))
    for i, s in enumerate(np.ravel(data[f"{name}_strengths"])):
        cells = []
        for j in range(len(wds)):
            p = f"{pred[i, j]}" + (f" [{lo[i, j]}–{hi[i, j]}]" if lo[i, j] != hi[i, j] else "")
            cells.append(" / ".join([p, *(f"{data[f'{name}_rank_{m}'][i, j]}" for m in MODES)]))
        rows.append(f"| {s:g} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def report_markdown(data: dict[str, np.ndarray]) -> str:
    """The tables of the report's section (Markdown): which run, the agreement (:func:`table`), the ranks per cell.

    ``docs/diagnosis-validation.md`` includes them from ``paper_repro/REPORT.md``.
    """
    run = (
        f"Numbers from the stored run: commit `{str(data.get('git_commit', '?'))[:12]}`, saved "
        f"{data.get('saved_at', '?')}, package {data.get('landscape_version', '?')}, size "
        f"{data.get('reproduction_size', '?')}."
    )
    parts = [
        run,
        "Agreement of the predicted rank with the measured one over each grid (Δrank = measured − predicted):",
        table(data),
        "Per cell: predicted [bootstrap interval when a direction is undecided] / frozen / Gaussian / joint.",
    ]
    parts += [grid_table(data, str(n)) for n in data["datasets"]]
    return "\n\n".join(parts)


def render(data: dict[str, np.ndarray]) -> Figure:
    """Per data set: predicted vs measured rank (three set-ups); per direction ‖W u‖² against b − γ."""
    import matplotlib.pyplot as plt

    names = [str(n) for n in data["datasets"]]
    fig, axes = plt.subplots(len(names), 2, figsize=(11, 4.2 * len(names)), squeeze=False)
    marks = {"frozen": ("o", "tab:blue"), "gauss": ("s", "tab:green"), "joint": ("^", "tab:red")}
    for r, name in enumerate(names):
        pred = data[f"{name}_predicted_rank"].ravel()
        lo, hi = data[f"{name}_predicted_low"].ravel(), data[f"{name}_predicted_high"].ravel()
        ax = axes[r, 0]
        top = max(int(data[f"{name}_b_minus_gamma"].shape[-1]), 1)
        ax.plot([0, top], [0, top], color="0.6", lw=0.8)
        ax.errorbar(pred, pred, xerr=[pred - lo, hi - pred], fmt="none", ecolor="0.4", capsize=3, label="undecided")
        for k, mode in enumerate(MODES):
            mk, col = marks[mode]
            jitter = (k - 1) * 0.12
            ax.plot(pred + jitter, data[f"{name}_rank_{mode}"].ravel(), mk, color=col, ms=6, alpha=0.8,
                    label=f"{LABELS[mode]} (exact {summary(data, name, mode)['exact']:.2f})")  # fmt: skip
        ax.set(xlabel="predicted rank", ylabel="measured rank of WᵀW", title=f"{name}: rank over the grid")
        ax.legend(fontsize=7)
        ax = axes[r, 1]
        b = data[f"{name}_b_minus_gamma"].reshape(-1)
        for mode in ("frozen", "gauss"):
            mk, col = marks[mode]
            s = np.maximum(data[f"{name}_strength_{mode}"].reshape(-1), 1e-12)
            ax.plot(b, s, mk, color=col, ms=3.5, alpha=0.6, label=LABELS[mode])
        cut = float(data["floor"]) if "floor" in data else 1e-2
        ax.axvline(0.0, color="k", lw=0.8)
        ax.axhline(cut, color="0.5", ls="--", lw=0.8, label=f"cut {cut:g}")
        ax.set_xscale("symlog", linthresh=0.05)
        ax.set(yscale="log", ylim=(1e-8, 10), xlabel="b_i − γ (diagnosis; linear within ±0.05)", ylabel="‖W u_i‖²")
        ax.set_title(f"{name}: per direction (every cell)")
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Diagnosis vs trained last layer, β-InfoNCE β = {float(data['beta']):g}, {int(data['steps'])} steps, "
        f"refits {int(data['refit_steps'])} steps, rank cut max({float(data['rtol']):g}·max, floor)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def claims(data: dict[str, np.ndarray]) -> list[Claim]:
    """Exactness of the predicted rank (frozen refit), the Gaussian control, complete collapse, joint training."""
    from landscape.reproduction.claims import Check, Claim

    exact, upper, gauss, complete, joint = [], [], [], [], []
    for name in (str(n) for n in data["datasets"]):
        f, g, j = (summary(data, name, m) for m in MODES)
        hi = data[f"{name}_predicted_high"]
        fr = data[f"{name}_rank_frozen"]
        target = f"fraction of cells the bootstrap decides ({f['decided']:.2f})"
        exact.append(Check(f"{name}: fraction of cells with exact rank (frozen)", f["exact"], "≥", f["decided"],
                           target_from=target))  # fmt: skip
        upper.append(Check(f"{name}: cells whose frozen rank exceeds the prediction's upper end",
                           float(np.sum(fr > hi)), "=", 0.0, target_from="an upper bound holds everywhere"))  # fmt: skip
        gauss += [
            Check(f"{name}: fraction exact, Gaussian features", g["exact"], "≥", f["decided"], target_from=target),
            Check(
                f"{name}: |mean Δrank|, Gaussian features",
                abs(g["mean_signed"]),
                "≤",
                abs(f["mean_signed"]),
                target_from="|mean Δrank| of the real features (frozen)",
            ),  # fmt: skip
        ]
        lo = data[f"{name}_predicted_low"]
        complete.append(
            Check(
                f"{name}: cells decided on rank 0 vs > 0 whose frozen refit says otherwise",
                float(np.sum((hi == 0) & (fr > 0)) + np.sum((lo > 0) & (fr == 0))),
                "=",
                0.0,
                target_from="exact at the origin",
            )  # fmt: skip
        )
        joint.append(Check(f"{name}: fraction within one, end of joint training", j["exact"] + j["off_by_one"], "≥",
                           f["decided"], target_from=target))  # fmt: skip
    note = (
        f"MLP + linear last layer, β-InfoNCE β = {float(data['beta']):g}, 3×3 grid of augmentation × weight decay "
        f"per data set, one seed; rank cut max({float(data['rtol']):g}·largest, floor) on the eigenvalues of WᵀW"
    )
    c: dict[str, Any] = dict(paper="extensions", note=note, where="issue 18; landscape.diagnosis.predict")
    simple = (
        (
            "diagnosis-net-gaussian",
            "on Gaussian features with the same estimated A0 and C the predicted rank is exact "
            "(the misses on real features come from their non-Gaussian law, not from the estimates)",
            gauss,
        ),
        (
            "diagnosis-net-complete",
            "complete collapse (rank 0) is predicted exactly wherever the bootstrap decides it: the "
            "stability of W = 0 depends on the second moments only",
            complete,
        ),
        (
            "diagnosis-net-joint",
            "at the end of joint training the last layer's rank is within one of the prediction from its final features",
            joint,
        ),
    )
    return [
        Claim(
            key="diagnosis-net-rank",
            statement="the rank predicted from two views of the features equals the rank the last layer reaches "
            "when retrained on the frozen features, in at least the fraction of cells the bootstrap decides",
            checks=tuple(exact),
            correction="the prediction (the number of unstable directions of W = 0) is an upper bound: directions "
            "with a small positive b_i − γ are lost at the minimum on real features",
            corrected=tuple(upper),
            **c,
        ),
        *(Claim(key=k, statement=text, checks=tuple(ch), **c) for k, text, ch in simple),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv, report=report_markdown)


if __name__ == "__main__":
    raise SystemExit(main())
