r"""WS Fig. 1 with real networks: the last-layer landscape of an SSL-trained network vs augmentation σ².

Two set-ups share one compute/render path:

* ``--setup cpu`` (default): a small ConvNet (3 conv blocks, 16/32/32 channels,
  projector 32 → 64 → 16) on scikit-learn's 8×8 digits, each pixel standardised
  and scaled to variance 5 (so the input-space linear theory puts the three
  regimes at the paper's strengths σ² ∈ {1, 10, 50}), β-InfoNCE β = ½, Adam
  (lr 2e-3), coupled weight decay 1e-3, batch 256, 1,500 steps (400 quick), Gaussian-noise
  views; one extra strength σ² = 25 for panels (e, f).  The slices and the frozen-feature
  theory use 256 clean samples (the training batch: L(0) = β ln 256).
* ``--setup full``: ResNet-18 (CIFAR variant) on CIFAR-10 (binary version at
  ``--cifar-root``), per-channel standardised pixels, σ² ∈ {1, 10, 50}, weight
  decay 1e-3, output dimension 128, Euclidean InfoNCE (WS Eq. 1; its value at
  W = 0 is log 256 ≈ 5.545 for batch 256, the value at a = 0 in WS Fig. 1a),
  Adam with warm-up + cosine schedule, data-parallel over all local devices.
  Needs a GPU; the paper's optimiser, epochs and exact "SimCLR loss with
  normalization" are not stated (spec §5), so these are our choices.

Panels: (a) L(a·W_last) for the three strengths, with the Gaussian theory from
the frozen features; (b–d) L over the larger/smaller half of the output
directions (WS Fig. 1 b–d); (e) output-covariance spectrum of the last layer,
measured vs predicted from the frozen encoder's features; (f) encoder vs
projector AVF, effective rank and linear-probe accuracy against σ² (Cosentino).

Usage::

    python figures/fig1_resnet.py                 # CPU set-up (several minutes on 2 cores)
    python figures/fig1_resnet.py --quick         # CPU quick run, the report's size (about a minute)
    python figures/fig1_resnet.py --smoke         # CPU, two strengths, 10 steps (the test suite's run)
    python figures/fig1_resnet.py --setup full --cifar-root /data/cifar-10-batches-bin   # GPU
    python figures/fig1_resnet.py --plot-only out/figures/fig1_resnet_cpu.npz
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import numpy as np

from landscape.nn import augment, data, models, probe, train
from landscape.reproduction.figure_io import OUT_DIR, SMOKE_DPI, add_size_options, load, save, size_suffix
from landscape.studies import nonlinear_networks as ex

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from landscape.reproduction.claims import Claim


NAME = "fig1_resnet"
REPORT_SIZE = "quick"
PAPER_SCALE = (
    "CPU: a 3-block ConvNet (16/32/32 channels, out 16) on the 8×8 digits, β-InfoNCE β = ½, batch 256, "
    "400 Adam steps per strength (1,500 in the full CPU run), against the paper's ResNet-18 on CIFAR-10, "
    "SimCLR loss, out 128, trained to convergence: a GPU-scale run (--setup full) does not fit the "
    "report's CPU budget."
)


def config(setup: str, quick: bool, smoke: bool = False) -> dict:
    if smoke and setup != "cpu":
        raise ValueError("smoke is a CPU run: use it with setup 'cpu'")
    if smoke:
        # one strength, 10 steps, no refit, and an MLP with the ConvNet's layout (encoder, BN projector, last
        # layer) in place of the ConvNet: every stage of the pipeline once (XLA compilation dominates; the
        # ConvNet's own training is tests/test_nn_train.py's)
        return dict(
            setup="cpu",
            sigma2=[10.0],
            sweep=[],
            data_scale=5.0,
            loss="beta-infonce",
            beta=0.5,
            weight_decay=1e-3,
            learning_rate=2e-3,
            batch=64,
            steps=10,
            schedule="constant",
            eval_n=128,
            n_views=2,
            halves=3,
            scales=5,
            refit=False,
            net=dict(kind="mlp", hidden=(16,), proj_hidden=(16,), out_dim=8),
        )
    if setup == "cpu":
        return dict(
            setup="cpu",
            sigma2=[1.0, 10.0, 50.0],
            sweep=[] if quick else [25.0],
            data_scale=5.0,
            loss="beta-infonce",
            beta=0.5,
            weight_decay=1e-3,
            learning_rate=2e-3,
            batch=256,
            steps=400 if quick else 1500,
            schedule="constant",
            eval_n=256,
            n_views=8,
            halves=13,
            scales=41,
            refit=False,
            net=dict(kind="convnet", channels=(16, 32, 32), strides=(1, 2, 2), proj_hidden=(64,), out_dim=16),
        )
    if setup == "full":
        return dict(
            setup="full",
            sigma2=[1.0, 10.0, 50.0],
            sweep=[],
            data_scale=1.0,
            loss="infonce",
            beta=1.0,
            weight_decay=1e-3,
            learning_rate=1e-3,
            batch=256,
            steps=2000 if quick else 39_000,
            schedule="warmup-cosine",
            eval_n=2000,
            n_views=4,
            halves=13,
            scales=41,
            refit=True,
        )
    raise ValueError(f"setup must be 'cpu' or 'full', got {setup!r}")


def _load(cfg: dict, cifar_root):
    if cfg["setup"] == "cpu":
        x, y = data.load_digits()
        flat = x.reshape(len(x), -1).astype(np.float64)
        std = flat.std(axis=0)
        flat = (flat - flat.mean(axis=0)) / np.where(std > 0, std, 1.0) * np.sqrt(cfg["data_scale"])
        x = flat.reshape(x.shape).astype(np.float32)
        net = dict(cfg["net"])
        if net.pop("kind") == "mlp":
            model = models.MLP(in_dim=flat.shape[1], activation="relu", batch_norm=True, **net)
        else:
            model = models.ConvNet(in_channels=1, **net)
        return x, y, model
    if cifar_root is None:
        raise SystemExit("--setup full needs --cifar-root (the CIFAR-10 binary version, cifar-10-batches-bin)")
    x, y = data.load_cifar10(cifar_root, "train")
    x, _, _ = data.standardize(x)
    return x.astype(np.float32), y, models.ResNet18(out_dim=128)


def _train_one(model, x, s2, cfg, mesh):
    opt = train.make_optimizer(
        "adam",
        cfg["learning_rate"],
        schedule=cfg["schedule"],
        total_steps=cfg["steps"],
        warmup_steps=min(1000, cfg["steps"] // 10),
        weight_decay=cfg["weight_decay"],
    )
    loss_fn = ex._theory_loss(cfg["loss"], cfg["beta"])[0]
    t0 = time.time()
    state, losses = train.fit(
        model,
        opt,
        loss_fn,
        augment.make_augment("noise", sigma2=s2),
        x,
        key=jax.random.PRNGKey(0),
        steps=cfg["steps"],
        batch_size=cfg["batch"],
        steps_per_call=min(100, cfg["steps"]),
        mesh=mesh,
    )
    return jax.device_get(state), losses, time.time() - t0


def compute(
    setup: str = "cpu", quick: bool = False, cifar_root: str | os.PathLike[str] | None = None, smoke: bool = False
) -> dict[str, np.ndarray]:
    cfg = config(setup, quick, smoke)
    x, y, model = _load(cfg, cifar_root)
    flat = x.reshape(len(x), -1).astype(np.float64)
    a_hat = np.sort(np.linalg.eigvalsh(np.cov(flat.T, bias=True)))[::-1]
    strengths = list(cfg["sigma2"]) + list(cfg["sweep"])
    mesh = train.data_mesh() if jax.device_count() > 1 else None
    out: dict = {
        "quick": np.array(quick or smoke),
        "setup": np.array(setup),
        "sigma2": np.asarray(strengths, float),
        "n_main": np.array(len(cfg["sigma2"])),
        "data_eigenvalues": a_hat,
        "config": np.array(repr(cfg)),
        "device": np.array(str(jax.devices()[0].device_kind)),
        "network": np.array(cfg["net"]["kind"] if "net" in cfg else "resnet18"),
    }
    eval_idx = np.asarray(jax.random.permutation(jax.random.PRNGKey(5), len(x)))[: cfg["eval_n"]]
    out["eval_n"] = np.array(len(eval_idx))  # the denominator terms of the slices
    out["theory_beta"] = np.array(ex._theory_loss(cfg["loss"], cfg["beta"])[1])
    xe, ye = x[eval_idx], y[eval_idx]
    gamma = cfg["weight_decay"] / 2.0  # coupled weight decay wd ↔ penalty (wd/2)‖W‖²
    halves = np.linspace(0.0, 1.2, cfg["halves"])
    scales = np.linspace(-2.0, 2.0, cfg["scales"])
    if cfg["setup"] == "cpu":
        t0 = time.time()
        states, all_losses = ex.train_noise_runs(
            model,
            x,
            strengths,
            key=jax.random.PRNGKey(0),
            steps=cfg["steps"],
            batch_size=cfg["batch"],
            loss=cfg["loss"],
            beta=cfg["beta"],
            learning_rate=cfg["learning_rate"],
            weight_decay=cfg["weight_decay"],
            schedule=cfg["schedule"],
        )
        run_secs = (time.time() - t0) / len(strengths)
    for i, s2 in enumerate(strengths):
        if cfg["setup"] == "cpu":
            state, losses, secs = jax.device_get(ex.index_tree(states, i)), all_losses[i], run_secs
        else:
            state, losses, secs = _train_one(model, x, s2, cfg, mesh)
        out[f"s{i}_losses"] = losses
        out[f"s{i}_train_seconds"] = np.array(secs)
        if i == 0:  # the fixed direction of the second 1-D slice: the weakest strength's last layer
            fixed = np.asarray(models.last_layer(state.params), np.float64)
            out["fixed_direction"] = fixed
        r = ex.analyse(
            model,
            state.params,
            state.model_state,
            xe,
            s2,
            key=jax.random.PRNGKey(9),
            direction=fixed if i < len(cfg["sigma2"]) else None,
            loss=cfg["loss"],
            beta=cfg["beta"],
            weight_decay=gamma,
            n_views=cfg["n_views"],
            halves=halves,
            scales=scales,
            slices=i < len(cfg["sigma2"]),
            refit=cfg["refit"] and i < len(cfg["sigma2"]),
        )
        for k, v in r.items():
            out[f"s{i}_{k}"] = np.asarray(v)
        views = ex.noise_views(model, state.params, state.model_state, xe, s2, jax.random.PRNGKey(11), 2)
        clean = ex.clean_outputs(model, state.params, state.model_state, xe)
        lm = probe.layer_metrics(views, clean, ye, n_classes=10)
        for layer, vals in lm.items():
            for k, v in vals.items():
                out[f"s{i}_{layer}_{k}"] = np.array(v)
        out[f"s{i}_input_theory_rank"] = np.array(
            min(int(np.sum(cfg["beta"] * a_hat - (1 - cfg["beta"]) * s2 > gamma)), model.out_dim)
        )
        print(
            f"σ² = {s2:g}: trained in {secs:.0f} s, measured {r['measured_class']} (rank {r['measured_rank']}), "
            f"frozen-feature count {r['predicted_rank']}, input-space theory rank "
            f"{int(out[f's{i}_input_theory_rank'])}",
            flush=True,
        )
    return out


def render(d: dict[str, np.ndarray]) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    colors = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
    s2 = d["sigma2"]
    n_main = int(d["n_main"])
    fig = Figure(figsize=(16, 9), layout="constrained")
    axes = fig.subplots(2, 3)
    ax = axes[0, 0]
    for i in range(n_main):
        ax.plot(d[f"s{i}_scales"], d[f"s{i}_slice_1d"], color=colors[i], lw=1.8, label=f"σ² = {s2[i]:g}")
        ax.plot(d[f"s{i}_scales"], d[f"s{i}_slice_1d_theory"], ":", color=colors[i], lw=1)
        if f"s{i}_slice_fixed" in d:
            ax.plot(
                d[f"s{i}_scales"],
                d[f"s{i}_slice_fixed"],
                "--",
                color=colors[i],
                lw=1.2,
                label=f"σ² = {s2[i]:g}, fixed D = W_last(σ² = {s2[0]:g})" if i == n_main - 1 or i == 0 else None,
            )
    ax.set_xlabel(r"scale $a$ of $W_{\rm last}$")
    ax.set_ylabel(r"$L(aW_{\rm last})$ (dotted: Gaussian theory, frozen ϕ; dashed: fixed $D$)")
    ax.set_title("(a) 1-D slice")
    ax.legend(fontsize=8)
    for j, i in enumerate(range(min(n_main, 3))):
        ax = axes[0, 1] if j == 0 else axes[0, 2] if j == 1 else axes[1, 0]
        h = d[f"s{i}_halves"]
        z = d[f"s{i}_slice_halves"]
        cs = ax.contourf(h, h, z.T, levels=20, cmap="viridis")
        fig.colorbar(cs, ax=ax, shrink=0.8)
        k = np.unravel_index(np.argmin(z), z.shape)
        ax.plot(h[k[0]], h[k[1]], "*", color="red", ms=13)
        ax.set_xlabel(r"$r_1$: larger half of output directions")
        ax.set_ylabel(r"$r_2$: smaller half")
        ax.set_title(
            f"({'bcd'[j]}) σ² = {s2[i]:g}: measured {d[f's{i}_measured_class']}, "
            f"predicted {d[f's{i}_predicted_class']}",
            fontsize=9,
        )
    ax = axes[1, 1]
    for i in range(len(s2)):
        m = d[f"s{i}_measured_output_variances"]
        p = d[f"s{i}_predicted_output_variances"]
        c = colors[i % len(colors)]
        ax.semilogy(np.arange(1, len(m) + 1), np.maximum(m, 1e-8), "o", color=c, ms=4, label=f"σ² = {s2[i]:g}")
        ax.semilogy(np.arange(1, len(p) + 1), np.maximum(p, 1e-8), "-", color=c, lw=1)
    ax.axhline(1e-2, color="grey", ls=":", lw=1)
    ax.set_xlabel("index of the output direction")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(r"eigenvalues of $W\Sigma_\phi W^\top$ (dots measured, lines predicted)")
    ax.set_title("(e) last-layer output spectrum")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    order = np.argsort(s2)
    for layer, ls in (("encoder", "-"), ("projector", "--")):
        for metric, c in (("avf", colors[0]), ("probe_accuracy", colors[1])):
            vals = np.array([float(d[f"s{i}_{layer}_{metric}"]) for i in order])
            ax.plot(s2[order], vals, ls, marker="o", color=c, label=f"{layer} {metric}")
    ax2 = ax.twinx()
    for layer, ls in (("encoder", "-"), ("projector", "--")):
        vals = np.array([float(d[f"s{i}_{layer}_effective_rank"]) for i in order])
        ax2.plot(s2[order], vals, ls, marker="s", color=colors[2], label=f"{layer} effective rank")
    ax2.set_ylabel("effective rank", color=colors[2])
    ax.set_xscale("log")
    ax.set_xlabel(r"augmentation $\sigma^2$")
    ax.set_title("(f) encoder (h) vs projector (z)")
    handles, labels = ax.get_legend_handles_labels()
    handles2, labels2 = ax2.get_legend_handles_labels()
    ax.legend(handles + handles2, labels + labels2, fontsize=7, loc="upper left", bbox_to_anchor=(1.12, 1.0))
    net = {"mlp": "MLP", "convnet": "ConvNet"}.get(str(d.get("network", "convnet")), "ConvNet")
    title = (
        f"{net} on 8×8 digits (CPU set-up)" if str(d["setup"]) == "cpu" else "ResNet-18 on CIFAR-10"
    ) + f", run on {str(d['device'])}"
    fig.suptitle(title)
    return fig


def _halves_min(d: dict, i: int) -> tuple[float, float]:
    """(r₁, r₂) of the grid minimum of the larger/smaller-half slice of strength ``i``."""
    h, z = d[f"s{i}_halves"], d[f"s{i}_slice_halves"]
    k = np.unravel_index(np.argmin(z), z.shape)
    return float(h[k[0]]), float(h[k[1]])


def claims(d: dict[str, np.ndarray]) -> list[Claim]:
    """WS Fig. 1: the origin of the last layer becomes a minimum as augmentation grows (from the stored slices)."""
    import math

    from landscape.reproduction.claims import Check, Claim

    n_main = int(d["n_main"])
    s2 = d["sigma2"]
    last = n_main - 1
    where = "WS §1.3, Fig. 1"
    note = (
        f"{str(d['network'])} on {'digits' if str(d['setup']) == 'cpu' else 'CIFAR-10'}, "
        f"{'β-InfoNCE (β = ½)' if float(d['theory_beta']) < 1 else 'InfoNCE'}"
    )
    curv = {
        (i, k): ex.curvature_at_origin(d[f"s{i}_scales"], d[f"s{i}_{k}"])
        for i in range(n_main)
        for k in ("slice_1d", "slice_fixed")
    }
    out = [
        Claim(
            key="fig1_origin_minimum",
            paper="ziyin2023",
            where=where + "a",
            note=note + "; D = the weakest strength's trained last layer, used on every net's features",
            statement="the origin of the last layer turns from a maximum into a local minimum as augmentation "
            "grows (curvature of L(a·W_last) at a = 0 changes sign)",
            paper_number="σ² = 1: maximum at a = 0; σ² = 50: origin (close to) a local minimum",
            checks=(
                Check(f"d²L/da² at a = 0 along W_last, σ² = {s2[0]:g}", curv[(0, "slice_1d")], "<", 0.0),
                Check(f"d²L/da² at a = 0 along fixed D, σ² = {s2[last]:g}", curv[(last, "slice_fixed")], ">", 0.0),
                Check(f"d²L/da² at a = 0 along W_last, σ² = {s2[last]:g}", curv[(last, "slice_1d")], ">", 0.0),
            ),
        )
    ]
    sc = d["s0_scales"]
    a_min = float(abs(sc[np.argmin(d["s0_slice_1d"])]))
    da = float(sc[1] - sc[0])
    # the trained W is a minimum of the training loss: along its ray the minimum is at a = 1 up to the grid step and
    # the difference between the training batches and the evaluation views (1.5 grid steps)
    out.append(
        Claim(
            key="fig1_weak_minimum",
            paper="ziyin2023",
            where=where + "a",
            statement="weak augmentation (σ² = 1): deep minimum of L(a·W_last) near a ≈ 1",
            paper_number="minimum near a ≈ 1 (L ≈ 3.8), a shallower one near a ≈ −1.5",
            note=note + "; a Euclidean InfoNCE is even in a (L(aW) = L(−aW)), so the paper's asymmetric "
            "curve cannot come from it: we test |a|",
            checks=(
                Check(
                    f"|a| of the minimum of L(a·W_last), σ² = {s2[0]:g}",
                    a_min,
                    "≈",
                    1.0,
                    atol=1.5 * da,
                    target_from="paper, Fig. 1a",
                ),
            ),
        )
    )
    beta, n_terms = float(d["theory_beta"]), int(d["eval_n"])
    i0 = int(np.argmin(np.abs(sc)))
    l0 = [float(d[f"s{i}_slice_1d"][i0]) for i in range(n_main)]
    out.append(
        Claim(
            key="fig1_l0",
            paper="ziyin2023",
            where=where + "a",
            note=note,
            statement="every curve passes through the same L(0) = β·log(number of denominator terms)",
            paper_number="L(0) ≈ 5.54 ≈ ln 256 (β = 1)",
            # every view maps to 0 at a = 0: the sampled loss is exactly β·log n up to float32 rounding
            checks=tuple(
                Check(
                    f"L(0), σ² = {s2[i]:g}",
                    l0[i],
                    "≈",
                    beta * math.log(n_terms),
                    atol=1e-4,
                    target_from=f"closed form β·ln n, n = {n_terms}",
                )
                for i in range(n_main)
            ),
        )
    )
    h = d["s0_halves"]
    dh = float(h[1] - h[0])
    b = _halves_min(d, 0)
    mid = _halves_min(d, min(1, last))
    strong = _halves_min(d, last)
    out.append(
        Claim(
            key="fig1_halves",
            paper="ziyin2023",
            where=where + " b–d",
            note=note,
            statement="2-D slices (larger/smaller half of the output directions): interior minimum (weak), "
            "smaller half collapsed (intermediate), minimum at the origin (strong)",
            paper_number="(0.9, 0.85); (≈0.3, 0); (0, 0)",
            checks=(
                Check(f"min(r₁, r₂) of the minimum, σ² = {s2[0]:g}", min(b), ">", 0.5 * dh),
                Check(f"r₁ of the minimum, σ² = {s2[min(1, last)]:g}", mid[0], ">", 0.5 * dh),
                Check(f"r₂ of the minimum, σ² = {s2[min(1, last)]:g}", mid[1], "≤", 0.5 * dh),
                Check(f"r₁ + r₂ of the minimum, σ² = {s2[last]:g}", sum(strong), "≤", 0.5 * dh),
            ),
        )
    )
    ranks = [(int(d[f"s{i}_measured_rank"]), int(d[f"s{i}_predicted_rank"])) for i in range(n_main)]
    out.append(
        Claim(
            key="fig1_frozen_theory",
            paper="ziyin2023",
            where="WS §1.3 (Eq. 11)",
            note=note,
            statement="collapse of the last layer is decided by the stability of the origin: directions "
            "survive only where β·A_ϕ − (1−β)·C_ϕ − γ > 0 on the frozen features",
            checks=tuple(
                c
                for i, (m, p) in enumerate(ranks)
                for c in (
                    Check(
                        f"measured rank − frozen-feature count, σ² = {s2[i]:g} (a minimum keeps at most the "
                        "unstable directions)",
                        m - p,
                        "≤",
                        0,
                    ),
                    Check(f"measured rank = 0 iff count = 0, σ² = {s2[i]:g}", float((m == 0) == (p == 0)), "=", 1.0),
                )
            ),
        )
    )
    if str(d["setup"]) == "cpu":
        out.append(
            Claim(
                key="fig1_resnet18_cifar10",
                paper="ziyin2023",
                where=where,
                statement="the same landscape for ResNet-18 trained with SimCLR on CIFAR-10 (weight decay "
                "1e-3, output dimension 128)",
                untestable="needs a GPU and the CIFAR-10 files (no download at run time); this run is the "
                "CPU analogue above. With both: `python figures/fig1_resnet.py --setup full "
                "--cifar-root DIR`",
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    jax.config.update("jax_enable_x64", True)  # theory in float64; the networks are float32 by construction
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", choices=("cpu", "full"), default="cpu", help="cpu (digits ConvNet) or full (ResNet-18)")
    ap.add_argument("--cifar-root", help="folder of the CIFAR-10 binary version (full set-up)")
    add_size_options(ap)
    ap.add_argument("--plot-only", metavar="PATH", help="render a saved .npz instead of computing")
    ap.add_argument("--out", default=str(OUT_DIR), help="output folder (default out/figures)")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    stem = f"{NAME}_{args.setup}" + size_suffix(args)
    if args.plot_only:
        d = load(args.plot_only)
        stem = Path(args.plot_only).stem
    else:
        if args.smoke and args.setup != "cpu":
            raise SystemExit("--smoke is a CPU run: use it with --setup cpu")
        d = compute(args.setup, args.quick, args.cifar_root, smoke=args.smoke)
        print("saved", save(d, out_dir / f"{stem}.npz"))
    fig = render(d)
    png = out_dir / f"{stem}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=SMOKE_DPI if args.smoke else 110)
    print("saved", png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
