r"""Init scale × σ phase diagram of the encoder/projector split: where does the encoder stay non-invariant?

Same model as ``fig_encoder_projector`` (spec §I.4, D = h = 32, p = 16).  For every
(init scale, σ) the same random directions are scaled to the init scale and
trained by safeguarded gradient descent (the spec's step, 40000 steps); colour is
AVF(encoder) − AVF(projector).  Left: no weight decay; right: γ = 1e-2.

Overlays:

* grey cells have not converged (L − L* > 5% of |L*|, penalty excluded):
  from a tiny init the flow sits on a saddle plateau (spec check A4), so its
  AVFs describe the plateau;
* the black contour is a zero gap (encoder as invariant as the projector);
* the strip above each map is the balanced (vanishing-init) closed form
  AVF_bal(enc) − AVF*(proj), the value a perfectly balanced run would reach.

Usage::

    python figures/fig_init_scale_sigma.py            # full run (a few minutes)
    python figures/fig_init_scale_sigma.py --quick    # seconds
    python figures/fig_init_scale_sigma.py --smoke    # 2 × 2 grid, 200 steps (the test suite's run)
    python figures/fig_init_scale_sigma.py --plot-only out/figures/fig_init_scale_sigma.npz
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landscape.reproduction.figure_io import run_figure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from landscape.reproduction.claims import Claim


NAME = "fig_init_scale_sigma"
REPORT_SIZE = "quick"
PAPER_SCALE = (
    "linear two-layer model only (our set-up, spec §I.4; the paper does not vary the init); report "
    "size: init scales {0.01, 0.1, 1} × σ {0.5, 2, 4}, 6000 safeguarded GD steps"
)


def compute(quick: bool = False, smoke: bool = False) -> dict[str, np.ndarray]:
    """The gap grid with and without weight decay."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from landscape.studies import encoder_projector as tl

    s, a = tl.overlap_config()
    if smoke:
        scales, sigmas, steps = np.array([0.1, 1.0]), np.array([0.5, 2.0]), 200
    elif quick:
        scales, sigmas, steps = np.array([0.01, 0.1, 1.0]), np.array([0.5, 2.0, 4.0]), 6000
    else:
        scales, sigmas, steps = np.geomspace(0.01, 3.0, 9), np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 6.0]), 40_000
    out: dict = {"init_scales": scales, "sigmas": sigmas, "steps": np.array(steps)}
    for tag, wd in (("", 0.0), ("wd_", 1e-2)):
        pd = tl.init_scale_phase_diagram(s, a, sigmas, scales, steps=steps, weight_decay=wd)
        out[tag + "gap"] = np.asarray(pd.gap)
        out[tag + "avf_encoder"] = np.asarray(pd.avf_encoder)
        out[tag + "avf_projector"] = np.asarray(pd.avf_projector)
        out[tag + "loss_excess"] = np.asarray(pd.loss_excess)
        out[tag + "converged"] = np.asarray(pd.converged())
        out[tag + "weight_decay"] = np.array(wd)
    out["balanced_gap"] = np.asarray(pd.balanced_gap)[0]
    out["optimal_loss"] = np.asarray(pd.optimal_loss)[0]
    return out


def render(data: dict[str, np.ndarray]) -> Figure:
    """Two gap maps (γ = 0 and γ > 0) with non-converged cells hatched and the balanced strip above."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    scales, sig = data["init_scales"], data["sigmas"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 6.2), gridspec_kw={"height_ratios": [1, 7]}, sharex="col")
    vmax = float(np.nanmax(np.abs(np.concatenate([data["gap"].ravel(), data["wd_gap"].ravel()]))))
    norm = TwoSlopeNorm(vmin=-max(vmax, 1e-3) * 0.3, vcenter=0.0, vmax=max(vmax, 1e-3))
    xi = np.arange(sig.size)
    yi = np.arange(scales.size)
    for col, tag in enumerate(("", "wd_")):
        gap = data[tag + "gap"]
        ax = axes[1, col]
        im = ax.pcolormesh(xi, yi, gap, cmap="RdBu_r", norm=norm, shading="nearest")
        bad = ~data[tag + "converged"].astype(bool)
        for i, j in zip(*np.nonzero(bad)):
            ax.add_patch(
                plt.Rectangle(
                    (j - 0.5, i - 0.5),
                    1,
                    1,
                    facecolor="0.75",
                    edgecolor="0.4",
                    hatch="xx",
                    lw=0.5,
                    alpha=0.85,
                    zorder=2,
                )
            )
        for i in range(scales.size):
            for j in range(sig.size):
                ax.text(
                    j,
                    i,
                    f"{gap[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    zorder=3,
                    color="0.3" if bad[i, j] else ("k" if abs(gap[i, j]) < 0.6 * vmax else "w"),
                )
        if np.nanmin(gap) < 0 < np.nanmax(gap):
            ax.contour(xi, yi, gap, levels=[0.0], colors="k", linewidths=1.0)
        ax.set_xticks(xi, [f"{v:g}" for v in sig])
        ax.set_yticks(yi, [f"{v:.2g}" for v in scales])
        ax.set(xlabel="augmentation strength σ", ylabel="init scale (std × √fan_in)")
        strip = axes[0, col]
        strip.imshow(
            data["balanced_gap"][None, :],
            cmap="RdBu_r",
            norm=norm,
            aspect="auto",
            extent=(-0.5, sig.size - 0.5, -0.5, 0.5),
        )
        for j in range(sig.size):
            strip.text(j, 0, f"{data['balanced_gap'][j]:.2f}", ha="center", va="center", fontsize=6.5)
        strip.set_yticks([0], ["balanced\nlimit"])
        gamma = float(data[tag + "weight_decay"])
        strip.set_title(f"AVF(encoder) − AVF(projector), weight decay γ = {gamma:g}  (grey: not converged)", fontsize=9)
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.9, label="AVF(enc) − AVF(proj)")
    fig.suptitle(f"init scale × σ, {int(data['steps'])} safeguarded GD steps", fontsize=10)
    return fig


def claims(data: dict[str, np.ndarray]) -> list[Claim]:
    """The encoder/projector asymmetry depends on the init scale; a tiny init sits on a saddle."""
    from landscape.reproduction.claims import Check, Claim

    j = int(np.argmin(np.abs(data["sigmas"] - 2.0)))
    sg = float(data["sigmas"][j])
    conv = data["converged"][:, j].astype(bool)
    small = int(np.argmax(conv)) if conv.any() else 0  # the smallest init scale that converged
    big = int(np.argmax(data["init_scales"]))
    gap_small, gap_big = float(data["gap"][small, j]), float(data["gap"][big, j])
    bal = float(data["balanced_gap"][j])
    sc_small, sc_big = float(data["init_scales"][small]), float(data["init_scales"][big])
    where = "spec §I.4 caveat to Model L2 (ours; the paper's claim is silent on the init)"
    # the run converged and a large init keeps the encoder lazy: the paper's reading and ours both need these
    common = (
        Check(
            f"converged run at init {sc_small:g}, σ = {sg:g}",
            float(conv[small]),
            "=",
            1.0,
            target_from="L − L* ≤ 5% |L*|",
        ),
        Check(
            f"AVF gap enc − proj at init {sc_big:g} minus at init {sc_small:g}, σ = {sg:g}",
            gap_big - gap_small,
            ">",
            0.2,
            target_from="a large init keeps the encoder lazy",
        ),
    )
    tiny = int(np.argmin(data["init_scales"]))
    excess = float(data["loss_excess"][tiny, j])
    lstar_abs = abs(float(data["optimal_loss"][j]))  # closed form L*, stored by compute
    return [
        Claim(
            key="cosentino-init-dependence",
            paper="cosentino2022",
            statement="the encoder stays non-invariant only from a large init: at tiny (balanced) init the "
            "encoder/projector asymmetry vanishes",
            where=where,
            checks=(
                *common,
                # 0.05: an AVF difference well below the 0.15 the balanced closed form predicts
                Check(
                    f"AVF gap at init {sc_small:g}, σ = {sg:g}",
                    gap_small,
                    "≈",
                    0.0,
                    atol=0.05,
                    target_from="spec: 'the encoder also becomes largely invariant'",
                ),
            ),
            correction=f"from a small init the gap shrinks to the balanced closed form AVF_bal(enc) − AVF*(proj), "
            f"which is > 0 for σ ≥ 1 ({bal:.3f} at σ = {sg:g}): the asymmetry is reduced, not removed",
            corrected=(
                *common,
                # 0.03: the residual imbalance of an init at scale 0.1 (O(scale²) of the factors)
                Check(
                    f"AVF gap at init {sc_small:g}, σ = {sg:g}",
                    gap_small,
                    "≈",
                    bal,
                    atol=0.03,
                    target_from="balanced closed form",
                ),
                Check(f"balanced closed-form gap at σ = {sg:g}", bal, ">", 0.05, target_from="0"),
            ),
            note="linear two-layer model, 6000 safeguarded GD steps",
        ),
        Claim(
            key="cosentino-tiny-init-saddle",
            paper="cosentino2022",
            statement="from a tiny init the two-layer flow sits on the saddle at the origin for a long time "
            "(spec check A4): a plateau is not the optimum",
            where="spec §I.5 A4 (ours)",
            checks=(
                Check(
                    f"(L − L*)/|L*| at init {float(data['init_scales'][tiny]):g}, σ = {sg:g}",
                    excess / lstar_abs,
                    "≈",
                    1.0,
                    atol=0.05,
                    target_from="L = 0 at the origin",
                ),
            ),
            note=f"{int(data['steps'])} steps",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
