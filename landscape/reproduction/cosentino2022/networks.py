r"""Encoder + projector networks on digits and a synthetic torus: augmentation strength, projector width and depth.

Set-up (:mod:`landscape.studies.encoder_projector.networks`): MLP encoder
64 → 128 → 64 (ReLU), projector of ``depth`` hidden ReLU layers of ``width``
units and a linear map to ``width`` outputs, NT-Xent (τ = 0.2), Adam 1e-3,
batch 128, Gaussian-noise augmentation of strength σ on inputs of unit mean
variance, two seeds.  Sweeps:

* strength σ ∈ {0.25, 0.5, 1, 2} at width 64, depth 1;
* width ∈ {16, 64, 256} at depth 1 and depth ∈ {0 (linear), 1, 2} at width 64, at σ = 1.

Panels (top: digits, bottom: torus): AVF, effective rank and linear-probe
accuracy of the encoder output h and projector output z against σ; AVF and
probe accuracy against projector width and depth.

Usage::

    python figures/cosentino_networks.py            # the report's run (about a minute)
    python figures/cosentino_networks.py --quick    # fewer steps
    python figures/cosentino_networks.py --smoke    # 2 steps, 200 samples, one projector shape (the test suite's run)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landscape.reproduction.figure_io import run_figure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from landscape.reproduction.claims import Claim


NAME = "cosentino_networks"
REPORT_SIZE = "full"
PAPER_SCALE = (
    "MLP encoder (64→128→64) + MLP projector on 8×8 digits and a 2-torus in R⁶⁴, Gaussian-noise "
    "augmentation, 300 Adam steps, 2 seeds, width and depth varied one at a time; the paper trains "
    "ResNets with SimCLR augmentations on CIFAR-scale data (CPU budget of ~1 min)"
)
SIGMAS = (0.25, 0.5, 1.0, 2.0)
WIDTHS = (16, 64, 256)
DEPTHS = (0, 1, 2)
BASE = (64, 1)  # (width, depth) of the strength sweep
FIELDS = (
    "avf_input",
    "avf_encoder",
    "avf_projector",
    "erank_encoder",
    "erank_projector",
    "probe_encoder",
    "probe_projector",
    "avf_encoder_unit",
    "avf_projector_unit",
    "final_loss",
)


def compute(quick: bool = False, smoke: bool = False) -> dict[str, np.ndarray]:
    """The strength sweep (one program) and the width / depth sweeps (one program per projector shape)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from landscape.studies.encoder_projector import networks as nw

    steps = 2 if smoke else 150 if quick else 300
    x, y = nw.load_datasets(n=200 if smoke else None)
    batch = 64 if smoke else 128
    sigmas = np.array(SIGMAS[1::2] if smoke else SIGMAS)
    seeds = np.array([0, 1])
    out: dict = {
        "sigma": sigmas,
        "seeds": seeds,
        "steps": np.array(steps),
        "datasets": np.array(nw.DATASETS),
        "widths": np.array(WIDTHS),
        "depths": np.array(DEPTHS),
        "base": np.array(BASE),
    }
    m = nw.train_and_measure(x, y, sigmas, seeds, width=BASE[0], depth=BASE[1], steps=steps, batch_size=batch)
    for f in FIELDS:
        out["sweep_" + f] = np.asarray(getattr(m, f))  # (data set, σ, seed)
    j = int(np.argmin(np.abs(sigmas - 1.0)))
    out["shape_sigma"] = np.array(sigmas[j])
    for axis, values in (("width", WIDTHS), ("depth", DEPTHS)):
        runs = []
        for v in values:
            width, depth = (v, BASE[1]) if axis == "width" else (BASE[0], v)
            if (width, depth) == BASE or smoke:  # smoke: one compiled shape, the base run repeated
                runs.append({f: out["sweep_" + f][:, j] for f in FIELDS})
                continue
            r = nw.train_and_measure(x, y, [sigmas[j]], seeds, width=width, depth=depth, steps=steps, batch_size=batch)
            runs.append({f: np.asarray(getattr(r, f))[:, 0] for f in FIELDS})
        for f in FIELDS:
            out[f"{axis}_{f}"] = np.stack([r[f] for r in runs], axis=1)  # (data set, value, seed)
    return out


def render(data: dict[str, np.ndarray]) -> Figure:
    """Two rows (data sets) × four panels: AVF, rank, probe against σ; AVF and probe against width/depth."""
    import matplotlib.pyplot as plt

    sig = data["sigma"]
    enc, proj = "tab:blue", "tab:red"
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    for r, name in enumerate(data["datasets"]):

        def band(ax, x, key, color, label, style="o-"):
            v = data[key][r]  # noqa: B023  (called in this iteration)
            ax.plot(x, v.mean(-1), style, color=color, label=label)
            ax.fill_between(x, v.min(-1), v.max(-1), color=color, alpha=0.2)

        ax = axes[r, 0]
        band(ax, sig, "sweep_avf_encoder", enc, "encoder h")
        band(ax, sig, "sweep_avf_projector", proj, "projector z")
        band(ax, sig, "sweep_avf_input", "0.5", "input x")
        ax.set(xscale="log", xlabel="noise strength σ", ylabel="AVF (0 = invariant)", title=f"{name}: invariance")
        ax.legend(fontsize=7)
        ax = axes[r, 1]
        band(ax, sig, "sweep_erank_encoder", enc, "encoder h")
        band(ax, sig, "sweep_erank_projector", proj, "projector z")
        ax.set(xscale="log", xlabel="σ", ylabel="effective rank (clean inputs)", title=f"{name}: dimension")
        ax.legend(fontsize=7)
        ax = axes[r, 2]
        band(ax, sig, "sweep_probe_encoder", enc, "encoder h")
        band(ax, sig, "sweep_probe_projector", proj, "projector z")
        ax.set(xscale="log", xlabel="σ", ylabel="linear-probe accuracy (held out)", title=f"{name}: probe")
        ax.legend(fontsize=7)
        ax = axes[r, 3]
        pos = np.arange(3)
        for axis, shift, mk in (("width", -0.1, "o"), ("depth", 0.1, "s")):
            gap = data[f"{axis}_avf_encoder"][r] - data[f"{axis}_avf_projector"][r]
            pgap = data[f"{axis}_probe_encoder"][r] - data[f"{axis}_probe_projector"][r]
            ax.errorbar(
                pos + shift,
                gap.mean(-1),
                yerr=np.ptp(gap, -1) / 2,
                fmt=mk + "-",
                color="tab:purple",
                label=f"AVF(h) − AVF(z), {axis}",
            )
            ax.errorbar(
                pos + shift,
                pgap.mean(-1),
                yerr=np.ptp(pgap, -1) / 2,
                fmt=mk + "--",
                color="tab:green",
                label=f"probe(h) − probe(z), {axis}",
            )
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xticks(pos, [f"w {w} / d {d}" for w, d in zip(data["widths"], data["depths"])], fontsize=7)
        ax.set(
            ylabel="encoder − projector",
            title=f"{name}: width (d = {int(data['base'][1])}), depth (w = {int(data['base'][0])}), "
            f"σ = {float(data['shape_sigma']):g}",
        )
        ax.legend(fontsize=6)
        for ax in axes[r, :3]:
            ax.set_xticks(sig, [f"{v:g}" for v in sig])
            ax.minorticks_off()
    fig.suptitle(
        f"MLP encoder + projector, NT-Xent, {int(data['steps'])} Adam steps, seeds "
        f"{', '.join(str(s) for s in data['seeds'])} (band: seed range)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _gap(data: dict, prefix: str, metric: str) -> np.ndarray:
    """encoder − projector of ``metric`` per run: (data set, value, seed)."""
    return data[f"{prefix}_{metric}_encoder"] - data[f"{prefix}_{metric}_projector"]


def _seed_tol(*arrays) -> float:
    """The largest seed-to-seed range of the compared per-seed arrays: a difference below it is noise."""
    return float(max(np.max(np.ptp(a, axis=-1)) for a in arrays))


def _sweep_checks(data: dict) -> tuple[list, list, list, list, list]:
    """Per data set: the checks of invariance, its correction, rank, its correction, and probe."""
    from landscape.reproduction.claims import Check

    sig = data["sigma"]
    lo, hi = 0, len(sig) - 1
    inv, inv_fix, rank, rank_fix, probe = [], [], [], [], []
    avf, pr = _gap(data, "sweep", "avf"), _gap(data, "sweep", "probe")
    for r, name in enumerate(str(n) for n in data["datasets"]):
        tol = _seed_tol(avf[r])
        inv.append(
            Check(
                f"{name}: min over σ of AVF(h) − AVF(z) (seed mean)",
                avf[r].mean(-1).min(),
                ">",
                0.0,
                target_from="projector more invariant at every σ",
            )
        )
        inv_fix += [
            Check(
                f"{name}: AVF(h) − AVF(z) at σ = {sig[hi]:g}",
                avf[r, hi].mean(),
                ">",
                tol,
                target_from="seed range of the gap",
            ),
            Check(
                f"{name}: growth of AVF(h) − AVF(z) from σ = {sig[lo]:g} to {sig[hi]:g}",
                avf[r, hi].mean() - avf[r, lo].mean(),
                ">",
                2 * tol,
                target_from="2 × seed range",
            ),
        ]
        eh, ez = data["sweep_erank_encoder"][r].mean(-1), data["sweep_erank_projector"][r].mean(-1)
        rank.append(
            Check(
                f"{name}: max over σ of erank(z) − erank(h)",
                (ez - eh).max(),
                "<",
                0.0,
                target_from="projector lower-rank at every σ",
            )
        )
        rank_fix.append(
            Check(
                f"{name}: erank(z) ratio σ = {sig[lo]:g} / σ = {sig[hi]:g}",
                ez[lo] / ez[hi],
                ">",
                eh[lo] / eh[hi],
                target_from="the same ratio of erank(h)",
            )
        )
        ptol = _seed_tol(pr[r])
        probe.append(
            Check(
                f"{name}: min over σ of probe(h) − probe(z) (seed mean)",
                pr[r].mean(-1).min(),
                "≥",
                -ptol,
                target_from="0 within the seed range",
            )
        )
    return inv, inv_fix, rank, rank_fix, probe


def _shape_checks(data: dict, axis: str, sign: float, metric: str) -> list:
    """Per data set: sign·[gap at the largest minus at the smallest ``axis`` value] > seed range."""
    from landscape.reproduction.claims import Check

    g = _gap(data, axis, metric)
    vals = data[f"{axis}s"]
    out = []
    for r, name in enumerate(str(n) for n in data["datasets"]):
        d = sign * (g[r, -1].mean() - g[r, 0].mean())
        lo_hi = (vals[-1], vals[0]) if sign > 0 else (vals[0], vals[-1])
        out.append(
            Check(
                f"{name}: {metric}(h) − {metric}(z) at {axis} {lo_hi[0]} minus at {axis} {lo_hi[1]}",
                d,
                ">",
                _seed_tol(g[r, [0, -1]]),
                target_from="seed range",
            )
        )
    return out


def claims(data: dict[str, np.ndarray]) -> list[Claim]:
    """Invariance, rank and probe of encoder vs projector networks, against σ, width and depth."""
    from landscape.reproduction.claims import Claim

    inv, inv_fix, rank, rank_fix, probe = _sweep_checks(data)
    pr = _gap(data, "sweep", "probe")
    grow = []
    from landscape.reproduction.claims import Check

    for r, name in enumerate(str(n) for n in data["datasets"]):
        grow.append(
            Check(
                f"{name}: growth of probe(h) − probe(z) from σ = {data['sigma'][0]:g} to {data['sigma'][-1]:g}",
                pr[r, -1].mean() - pr[r, 0].mean(),
                ">",
                _seed_tol(pr[r]),
                target_from="seed range",
            )
        )
    note = f"MLP encoder + projector, NT-Xent, Gaussian noise, {int(data['steps'])} Adam steps, 2 seeds"
    c = dict(paper="cosentino2022", note=note)
    return [
        Claim(
            key="cosentino-net-invariance",
            statement="networks: the projector output is more invariant than "
            "the encoder output at each augmentation strength, increasingly so",
            where="abstract; spec §I.4 E-A1",
            checks=inv,
            correction="only at strong augmentation: at weak noise the projector is the less "
            "invariant output; the encoder-minus-projector AVF gap grows with σ and is positive at σ = 2",
            corrected=inv_fix,
            **c,
        ),
        Claim(
            key="cosentino-net-rank",
            statement="networks: the projector output has a lower effective rank than the encoder output",
            where="abstract; spec §I.4 E-A1",
            checks=rank,
            correction="the projector's effective rank falls with σ much faster than the encoder's (it is "
            "higher than the encoder's at weak augmentation)",
            corrected=rank_fix,
            **c,
        ),
        Claim(
            key="cosentino-net-probe",
            statement="networks: a linear probe on the encoder output is at least "
            "as accurate as on the projector output",
            where="abstract; spec §I.2",
            checks=probe,
            **c,
        ),
        Claim(
            key="cosentino-net-probe-growth",
            statement="networks: the probe accuracy lost at the projector grows with augmentation strength",
            where="spec §I.4 E-A1 (expected)",
            checks=grow,
            **c,
        ),
        Claim(
            key="cosentino-net-width",
            statement="networks: a wider projector absorbs more invariance (larger AVF(h) − AVF(z))",
            where="abstract v2; spec §I.4 E-A2 (direction UNSURE)",
            checks=_shape_checks(data, "width", 1.0, "avf"),
            correction="the opposite: a narrower projector absorbs more invariance and loses more probe accuracy",
            corrected=_shape_checks(data, "width", -1.0, "avf") + _shape_checks(data, "width", -1.0, "probe"),
            **c,
        ),
        Claim(
            key="cosentino-net-depth",
            statement="networks: a deeper projector absorbs more invariance (larger AVF(h) − AVF(z))",
            where="abstract v2; spec §I.4 E-A2 (direction UNSURE)",
            checks=_shape_checks(data, "depth", 1.0, "avf"),
            **c,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
