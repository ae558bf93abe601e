r"""Encoder vs projector against augmentation strength σ (the linear version of Cosentino et al.'s claim).

Model (spec §I.4): x = s + σξ with Σ_s = diag(linspace(3, 0.5, 10)) on coordinates
0–9 and Σ_a = I on coordinates 6–21 (D = 32); encoder W1 (32×32), projector W2
(16×32), spectral contrastive loss, gradient descent from init scale 0.3 for 40000
steps at the spec's step size, with and without weight decay γ = 1e-2.

Panels, encoder output (representation, h = W1x) vs projector output (embedding,
z = W2W1x):

* AVF against σ — trained encoder and projector; the closed-form optimum's
  projector AVF; the balanced (tiny-init) encoder AVF; the identity map's AVF;
* effective rank of the output covariance on augmented inputs;
* population ridge-probe R² of y = Σ_i s_i on clean inputs;
* largest principal angle between the augmentation subspace and the projector's
  removed subspace, and between the projector's kept subspace and the clean
  data subspace (encoder coordinates).

Usage::

    python figures/fig_encoder_projector.py            # full run (about a minute)
    python figures/fig_encoder_projector.py --quick    # seconds
    python figures/fig_encoder_projector.py --smoke    # two σ, 200 steps (the test suite's run)
    python figures/fig_encoder_projector.py --plot-only out/figures/fig_encoder_projector.npz
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

NAME = "fig_encoder_projector"


def compute(quick: bool = False, smoke: bool = False) -> dict:
    """Sweep σ (trained, with and without weight decay) and the closed form on a dense σ grid."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from landscape import metrics
    from landscape.studies import encoder_projector as tl

    s, a = tl.overlap_config()
    if smoke:
        sigmas, steps = np.array([0.5, 2.0]), 200
    elif quick:
        sigmas, steps = np.array([0.25, 1.0, 2.0, 4.0]), 4000
    else:
        sigmas, steps = np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8.0]), 40_000
    out: dict = {"sigma": sigmas, "steps": np.array(steps), "init_scale": np.array(0.3)}
    for tag, wd in (("", 0.0), ("wd_", 1e-2)):
        res = tl.augmentation_sweep(s, a, sigmas, steps=steps, init_scale=0.3, weight_decay=wd)
        for field in res.report._fields:
            out[tag + field] = np.asarray(getattr(res.report, field))
        out[tag + "loss"] = np.asarray(res.loss)
        out["weight_decay" if tag else "no_weight_decay"] = np.array(wd)
    out["optimal_loss"] = np.asarray(res.optimal_loss)
    dense = np.linspace(0.05, sigmas.max(), 5 if smoke else 40 if quick else 120)
    sj, aj = jnp.asarray(s), jnp.asarray(a)

    def closed(sg):
        prob = tl.augmentation_problem(sj, aj, sg)
        p = tl.closed_form(prob, 16).product
        eye = jnp.eye(32, dtype=sj.dtype)
        return (metrics.avf_linear(p, prob.data_cov, prob.aug_cov), tl.balanced_encoder_avf(prob, 16),
                metrics.avf_linear(eye, prob.data_cov, prob.aug_cov),
                metrics.effective_rank(p @ prob.sigma @ p.T, covariance=True))

    avf_opt, avf_bal, avf_id, erank_opt = jax.jit(jax.vmap(closed))(jnp.asarray(dense))
    out.update(dense_sigma=dense, dense_avf_optimum=np.asarray(avf_opt), dense_avf_balanced=np.asarray(avf_bal),
               dense_avf_identity=np.asarray(avf_id), dense_erank_optimum=np.asarray(erank_opt))
    return out


def render(data: dict):
    """Four panels: AVF, effective rank, ridge-probe R², principal angles, against σ."""
    import matplotlib.pyplot as plt

    sig = data["sigma"]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.0))
    enc, proj = "tab:blue", "tab:red"
    ax = axes[0]
    ax.plot(sig, data["avf_encoder"], "o-", color=enc, label="encoder (trained)")
    ax.plot(sig, data["avf_projector"], "o-", color=proj, label="projector (trained)")
    ax.plot(sig, data["wd_avf_encoder"], "s--", color=enc, mfc="none", label=f"encoder, γ = {float(data['weight_decay']):g}")
    ax.plot(sig, data["wd_avf_projector"], "s--", color=proj, mfc="none", label=f"projector, γ = {float(data['weight_decay']):g}")
    ax.plot(data["dense_sigma"], data["dense_avf_optimum"], "-", color=proj, lw=0.8, alpha=0.6,
            label="projector, closed form")
    ax.plot(data["dense_sigma"], data["dense_avf_balanced"], ":", color=enc, label="encoder, balanced limit")
    ax.plot(data["dense_sigma"], data["dense_avf_identity"], "-", color="0.6", lw=0.8, label="input (identity)")
    ax.set(xlabel="augmentation strength σ", ylabel="AVF  (0 = invariant)", title="invariance")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(sig, data["erank_encoder"], "o-", color=enc, label="encoder")
    ax.plot(sig, data["erank_projector"], "o-", color=proj, label="projector")
    ax.plot(sig, data["wd_erank_encoder"], "s--", color=enc, mfc="none", label="encoder, weight decay")
    ax.plot(data["dense_sigma"], data["dense_erank_optimum"], "-", color=proj, lw=0.8, alpha=0.6,
            label="projector, closed form")
    ax.axhline(6, color="0.6", lw=0.8, ls=":")
    ax.text(sig.max(), 6.2, "6 clean signal directions", ha="right", fontsize=7, color="0.4")
    ax.set(xlabel="σ", ylabel="effective rank of output covariance", title="dimension")
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(sig, data["r2_encoder"], "o-", color=enc, label="encoder")
    ax.plot(sig, data["r2_projector"], "o-", color=proj, label="projector")
    ax.plot(sig, data["wd_r2_encoder"], "s--", color=enc, mfc="none", label="encoder, weight decay")
    ax.plot(sig, data["wd_r2_projector"], "s--", color=proj, mfc="none", label="projector, weight decay")
    ax.set(xlabel="σ", ylabel="ridge-probe R² (clean inputs)", title="downstream information")
    ax.legend(fontsize=7)
    ax = axes[3]
    ax.semilogy(sig, data["angle_removed_aug"], "o-", color="tab:green", label="∠(T_aug, removed N_g)")
    ax.semilogy(sig, data["angle_kept_clean"], "o-", color="tab:purple", label="∠(kept R_g, clean data)")
    ax.set(xlabel="σ", ylabel="largest principal angle (rad)", title="projector subspaces (encoder coords)")
    ax.legend(fontsize=7)
    fig.suptitle(f"two-layer linear model, spectral contrastive loss, init 0.3, {int(data['steps'])} GD steps",
                 fontsize=10)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
