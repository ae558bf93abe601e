r"""WS Fig. 3: per-sample normalization f/‖f‖ collapses directions at σ² far below their variance.

Setup (WS App. A, Fig. 3): training set of N = 100 points from N(0, I_32) (the
smallest eigenvalues of its centred covariance Â0 are ≈ 0.2), d1 = d0 = 32,
full batch, fresh isotropic Gaussian augmentation of variance σ² ∈ [0, 0.11]
at every step, InfoNCE with Euclidean similarity on f(x) = √c·Wx/‖Wx‖, c = 1.
Chosen here (not stated in the paper): Adam lr 3e-3 for 3000 steps (the
spectra do not change from 3000 to 8000 steps), W₀ = 0.1·N(0, 1)/√d0, 2 seeds.

Because f/‖f‖ ignores the scale of W, every simulated W is rescaled to
Tr[WΣWᵀ] = c (Σ = Â0 + σ²I) before its spectrum is taken; the theory is the
κ → ∞ model of :mod:`landscape.theory.normalization` on the same Â0 with B = Â0,
at the paper's quartic k = 1 and at k = ½ (the per-sample value: when every
‖f‖ is fixed the norm-fluctuation half of the quartic term is gone, see
:mod:`landscape.studies.per_sample_normalization`).

Panels: (a) the three smallest eigenvalues of WᵀW; (b) WᵀW along the three
lowest-variance data directions; (c) the number of collapsed directions
(simulation: eigenvalue below 1 % of the largest).

Usage::

    python figures/fig3_normalization.py            # full run (about a minute on 2 cores)
    python figures/fig3_normalization.py --quick    # seconds, small sizes
    python figures/fig3_normalization.py --smoke    # d = 6, 50 steps (the test suite's run)
    python figures/fig3_normalization.py --plot-only out/figures/fig3_normalization.npz
"""
from __future__ import annotations

import numpy as np

from landscape.reproduction.figure_io import run_figure

import jax
import jax.numpy as jnp

import landscape
import landscape.studies.per_sample_normalization as psn

NAME = "fig3_normalization"
COLLAPSE_RTOL = 1e-2          # simulation: collapsed when below 1 % of the largest eigenvalue
QUARTICS = (0.5, 1.0)         # κ-model curves: per-sample effective k = ½, paper k = 1


def config(quick: bool, smoke: bool = False) -> dict:
    """Sizes of the run: the paper's for ``quick=False``, a few-second version otherwise (``smoke``: tiny)."""
    if smoke:
        return dict(dim=6, n=20, sigma2=np.linspace(0.0, 0.11, 3), seeds=1, steps=50, lr=1e-2,
                    norm_target=1.0, n_theory=5, n_grid=64)
    if quick:
        return dict(dim=16, n=50, sigma2=np.linspace(0.0, 0.11, 6), seeds=1, steps=800, lr=1e-2,
                    norm_target=1.0, n_theory=111, n_grid=1024)
    return dict(dim=32, n=100, sigma2=np.linspace(0.0, 0.11, 12), seeds=2, steps=3000, lr=3e-3,
                norm_target=1.0, n_theory=221, n_grid=1024)


def compute(quick: bool = False, seed: int = 1, smoke: bool = False) -> dict:
    """Simulate per-sample normalization and evaluate the κ-model; plain NumPy arrays."""
    cfg = config(quick, smoke)
    x = psn.sample_dataset(jax.random.PRNGKey(seed), cfg["dim"], cfg["n"])
    run = psn.simulate(x, cfg["sigma2"], steps=cfg["steps"], learning_rate=cfg["lr"], n_seeds=cfg["seeds"],
                       norm_target=cfg["norm_target"], seed=seed)
    cov = run.data_cov
    eye = jnp.eye(cfg["dim"], dtype=cov.dtype)
    s2_sim = jnp.asarray(cfg["sigma2"], cov.dtype)

    def sim_grams(w, s2):
        wc = psn.rescale_to_norm(w, cov + s2 * eye, cfg["norm_target"])
        return wc.T @ wc

    grams = jax.vmap(lambda ws, s2: jax.vmap(lambda w: sim_grams(w, s2))(ws))(run.weights, s2_sim)
    sim_eig = np.asarray(run.gram_eigenvalues)                                  # ascending
    sim_dir = np.asarray(psn.spectrum_in_data_basis(grams, cov))[..., :3]
    sim_collapsed = (sim_eig / sim_eig.max(-1, keepdims=True) < COLLAPSE_RTOL).sum(-1)

    s2_th = np.linspace(0.0, float(cfg["sigma2"][-1]), cfg["n_theory"])
    th_eig, th_dir, th_collapsed, th_threshold = [], [], [], []
    for k in QUARTICS:
        sol = jax.vmap(lambda s2: psn.kappa_model(cov, s2, norm_target=cfg["norm_target"], quartic=k))(
            jnp.asarray(s2_th, cov.dtype))
        e = np.sort(np.asarray(sol.gram_eigenvalues), axis=-1)
        th_eig.append(e[:, :3])
        th_dir.append(np.asarray(psn.spectrum_in_data_basis(sol.gram, cov))[:, :3])
        th_collapsed.append(cfg["dim"] - np.asarray(sol.rank))
        problem = landscape.Problem.from_arrays(np.asarray(cov), np.zeros_like(np.asarray(cov)))
        th = landscape.hard_collapse_thresholds(problem, norm_target=cfg["norm_target"], quartic=k,
                                                sigma2_max=2.0 * float(s2_th[-1]), n_grid=cfg["n_grid"])
        # Thresholds come in the order of common_eigenbasis; sort them by data variance.
        _, a_basis, _ = landscape.common_eigenbasis(problem)
        th_threshold.append(np.asarray(th.collapse)[np.argsort(a_basis)][:3])
    data_var = np.linalg.eigvalsh(np.asarray(cov))
    return dict(
        quick=np.array(quick or smoke), sigma2=np.asarray(cfg["sigma2"]), sim_eigenvalues=sim_eig[..., :3],
        sim_direction_values=sim_dir, sim_collapsed=sim_collapsed, sim_final_loss=np.asarray(run.final_loss),
        theory_sigma2=s2_th, theory_quartic=np.asarray(QUARTICS), theory_eigenvalues=np.stack(th_eig),
        theory_direction_values=np.stack(th_dir), theory_collapsed=np.stack(th_collapsed),
        theory_collapse_sigma2=np.stack(th_threshold), data_variances=data_var,
        dim=np.array(cfg["dim"]), n_samples=np.array(cfg["n"]), steps=np.array(cfg["steps"]),
        learning_rate=np.array(cfg["lr"]), norm_target=np.array(cfg["norm_target"]),
    )


def render(data: dict):
    """Three panels; simulation as markers (one per seed), κ-model as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s2, s2_th = data["sigma2"], data["theory_sigma2"]
    colors = ["tab:blue", "tab:orange", "tab:green"]
    styles = {0.5: "-", 1.0: "--"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))

    def theory(ax, key):
        for qi, k in enumerate(data["theory_quartic"]):
            for j in range(3):
                ax.plot(s2_th, data[key][qi][:, j], styles[float(k)], color=colors[j], lw=1.4 if k == 0.5 else 1.0,
                        alpha=0.9 if k == 0.5 else 0.6)

    def sim(ax, values):
        n_seeds = values.shape[1]
        for j in range(3):
            for sd in range(n_seeds):
                ax.plot(s2, values[:, sd, j], "o", color=colors[j], ms=5, mfc="none" if sd else colors[j])

    ax = axes[0]
    theory(ax, "theory_eigenvalues")
    sim(ax, data["sim_eigenvalues"])
    ax.set_title("(a) three smallest eigenvalues of WᵀW")
    ax = axes[1]
    theory(ax, "theory_direction_values")
    sim(ax, data["sim_direction_values"])
    a = data["data_variances"]
    ax.set_title(f"(b) WᵀW along the 3 lowest-variance data directions\n(â = {a[0]:.3f}, {a[1]:.3f}, {a[2]:.3f}; "
                 "dotted: k = ½ collapse points)", fontsize=10)
    for j, t in enumerate(data["theory_collapse_sigma2"][0]):
        if np.isfinite(t) and t <= s2_th[-1]:
            ax.axvline(t, color=colors[j], lw=0.6, ls=":")
    for ax in axes[:2]:
        ax.set_xlabel("augmentation strength σ²")
        ax.set_ylim(bottom=-0.005)
    ax = axes[2]
    for sd in range(data["sim_collapsed"].shape[1]):
        ax.plot(s2, data["sim_collapsed"][:, sd], "o", color="k", mfc="none" if sd else "k",
                label="simulation f/‖f‖" if sd == 0 else None)
    for qi, k in enumerate(data["theory_quartic"]):
        ax.step(s2_th, data["theory_collapsed"][qi], styles[float(k)], where="post", color="tab:red",
                label=f"κ→∞ model, k = {float(k):g}" + (" (per-sample)" if k == 0.5 else " (paper)"))
    ax.set_xlabel("augmentation strength σ²")
    ax.set_title("(c) number of collapsed directions")
    ax.legend(loc="upper left", fontsize=9)
    handles = [plt.Line2D([], [], color="gray", ls="-", label="κ→∞ model, k = ½"),
               plt.Line2D([], [], color="gray", ls="--", label="κ→∞ model, k = 1 (paper)"),
               plt.Line2D([], [], color="gray", marker="o", ls="none", label="simulation f/‖f‖ (rescaled to ρ = c)")]
    axes[0].legend(handles=handles, fontsize=8, loc="center right")
    fig.suptitle(f"Per-sample normalization, d = {int(data['dim'])}, N = {int(data['n_samples'])}, "
                 f"c = {float(data['norm_target']):g}; smallest data variance {a[0]:.2f} ≫ σ² at collapse")
    if bool(data.get("quick", False)):
        fig.text(0.5, 0.005, "QUICK RUN (small sizes, few steps): smoke test only", color="red", ha="center")
    fig.tight_layout()
    return fig

def main(argv=None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv, dpi=130)


if __name__ == "__main__":
    raise SystemExit(main())
