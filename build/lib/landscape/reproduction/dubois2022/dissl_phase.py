r"""The per-batch DISSL landscape (Dubois et al.'s distillation objective, spec T4 and D5).

With an invariant teacher copied by its student and every sample spread uniformly
over g of the C pseudo-classes (disjoint groups in a batch of B),

    L(g) = (1 + β) log g − λ log min(B·g, C).

Panels:

* (λ, β) phase diagram for B = 256, C = 16384: collapse for λ < 0, one
  deterministic class per sample for 0 ≤ λ < 1 + β, soft assignments with
  g* = C/B = 64 for λ > 1 + β; colour = log g* / log(C/B), the line λ = 1 + β,
  and the authors' defaults (λ, β) = (2.3, 0.8);
* L(g) for the defaults and for λ = 1.5, with the D5 table values;
* an independent route on a small batch (B = 4, C = 16): gradient descent on free
  teacher logits; colour = exp(mean per-sample entropy), the effective g reached.
  In the deterministic phase it reaches g = 1 exactly; in the soft phase it finds
  soft assignments but may stall with unused classes (g between 1 and C/B).

Usage::

    python figures/fig_dissl_phase.py            # full run (a minute)
    python figures/fig_dissl_phase.py --quick    # seconds
    python figures/fig_dissl_phase.py --smoke    # tiny descent grid (the test suite's size)
    python figures/fig_dissl_phase.py --plot-only out/figures/fig_dissl_phase.npz
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

NAME = "fig_dissl_phase"


def compute(quick: bool = False, smoke: bool = False) -> dict:
    """Closed-form phase map, L(g) curves, and gradient descent on free logits (``smoke``: a 2×2 descent grid)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from landscape.studies import idealized as ideal

    b, c = 256, 16384
    lams = np.linspace(-0.5, 4.0, 91)
    betas = np.linspace(0.0, 2.0, 81)
    g, k, loss = (np.asarray(v) for v in ideal.dissl_optimal_spread(lams[:, None], betas[None, :], b, c))
    gs = 2.0 ** np.arange(0, 15)
    curves = {lam: np.asarray(ideal.dissl_spread_loss(gs, lam, 0.8, b, c)) for lam in (2.3, 1.5)}
    d5_g = np.array([1, 64.0]) if smoke else np.array([1, 8, 64, 128, 16384.0])      # explicit B×C tables
    table_loss = jax.jit(lambda gg: ideal.dissl_batch_loss(*2 * [ideal.spread_distribution(b, c, gg)]),
                         static_argnums=0)          # the B×C tables are built inside: no 4M-entry eager arrays
    d5 = np.array([float(table_loss(int(gg))) for gg in d5_g])

    sb, sc = 4, 16
    gd_lams = np.linspace(0.5, 4.0, 2 if smoke else 5 if quick else 10)
    gd_betas = np.linspace(0.0, 1.6, 2 if smoke else 3 if quick else 6)
    steps = 30 if smoke else 800 if quick else 3000
    lam_grid, beta_grid = np.meshgrid(gd_lams, gd_betas, indexing="ij")
    run = jax.jit(jax.vmap(lambda lm, bt: ideal.dissl_descend(jax.random.PRNGKey(0), sb, sc, lm, bt, steps=steps)))
    gd_loss, gd_g, gd_k = (np.asarray(v).reshape(lam_grid.shape)
                           for v in run(jnp.asarray(lam_grid.ravel()), jnp.asarray(beta_grid.ravel())))
    gd_opt = np.asarray(ideal.dissl_optimal_spread(lam_grid, beta_grid, sb, sc)[2])
    return dict(batch=np.array(b), classes=np.array(c), lambdas=lams, betas=betas, g_opt=g, k_opt=k, loss_opt=loss,
                g_curve=gs, curve_default=curves[2.3], curve_low=curves[1.5], d5_g=d5_g, d5_loss=d5,
                small_batch=np.array(sb), small_classes=np.array(sc), gd_lambdas=gd_lams, gd_betas=gd_betas,
                gd_loss=gd_loss, gd_g=gd_g, gd_k=gd_k, gd_loss_opt=gd_opt, gd_steps=np.array(steps))


def render(data: dict):
    """Phase map, L(g) curves, gradient-descent map."""
    import matplotlib.pyplot as plt

    b, c = int(data["batch"]), int(data["classes"])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    lams, betas = data["lambdas"], data["betas"]
    frac = np.log(data["g_opt"]) / np.log(c / b)
    frac = np.where(data["k_opt"] == 1, -0.4, frac)          # collapse shown apart
    im = ax.pcolormesh(lams, betas, frac.T, cmap="coolwarm", vmin=-0.4, vmax=1.0, shading="nearest")
    ax.plot(1 + betas, betas, "k-", lw=1.2, label="λ = 1 + β")
    ax.axvline(0, color="k", lw=0.8, ls=":")
    ax.plot([2.3], [0.8], "*", color="gold", ms=14, mec="k", label="defaults (2.3, 0.8)")
    ax.text(-0.45, 1.8, "collapse", fontsize=8)
    ax.text(0.3, 1.8, "deterministic\ng* = 1", fontsize=8)
    ax.text(3.0, 0.3, f"soft\ng* = C/B = {c // b}", fontsize=8)
    ax.set(xlabel="maximality weight λ", ylabel="determinism weight β", title=f"per-batch optimum, B = {b}, C = {c}")
    ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(im, ax=ax, label="log g* / log(C/B)  (collapse: −0.4)")

    ax = axes[1]
    ax.semilogx(data["g_curve"], data["curve_default"], "o-", ms=3, label="λ = 2.3, β = 0.8")
    ax.semilogx(data["g_curve"], data["curve_low"], "s-", ms=3, label="λ = 1.5, β = 0.8")
    ax.semilogx(data["d5_g"], data["d5_loss"], "kx", ms=8, label="batch loss on explicit tables (D5)")
    ax.axvline(c / b, color="0.5", ls=":")
    ax.set(xlabel="classes per sample g", ylabel="L(g)", title="L(g) = (1+β) log g − λ log min(Bg, C)")
    ax.legend(fontsize=7)

    ax = axes[2]
    gl, gb = data["gd_lambdas"], data["gd_betas"]
    sb, sc = int(data["small_batch"]), int(data["small_classes"])
    im = ax.pcolormesh(gl, gb, data["gd_g"].T, cmap="viridis", vmin=1, vmax=sc / sb, shading="nearest")
    for i in range(gl.size):
        for j in range(gb.size):
            gap = data["gd_loss"][i, j] - data["gd_loss_opt"][i, j]
            above = gap > 0.02 * abs(data["gd_loss_opt"][i, j])
            ax.text(gl[i], gb[j], f"{data['gd_g'][i, j]:.1f}" + ("*" if above else ""), ha="center",
                    va="center", fontsize=6.5, color="w" if data["gd_g"][i, j] < 2.5 else "k")
    ax.plot(1 + gb, gb, "r-", lw=1.2, label="λ = 1 + β")
    ax.set(xlabel="λ", ylabel="β", title=f"descent on free logits, B = {sb}, C = {sc} (*: > 2% above L*)")
    ax.legend(fontsize=7, loc="upper left")
    fig.colorbar(im, ax=ax, label="exp(mean per-sample entropy)")
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
