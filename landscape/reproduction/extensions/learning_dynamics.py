r"""Phase diagrams of time: escape from small initialization, plateaus, stepwise learning, collapse.

Set-up: β-InfoNCE (β = ½) on A0 = diag(3, 2, 1.2, 0.5) with C = σ²I, so
m_i = βa_i − (1−β)σ² − γ, s_i = a_i + σ², k = β and λ*_i = m_i/(2ks_i²).  Every
number comes from gradient-flow scans through the scan engine
(:func:`landscape.phase.phase_scan`, ``method="flow"``: the batched
Dormand–Prince integrator, each point with its own step, events at θ = 0.01):

* scan A, W₀ = ε·I (aligned: each direction is logistic, the closed form of
  :mod:`landscape.theory.escape_times` holds): a (σ², γ) lattice at ε = 10⁻³,
  an ε sweep at (σ², γ) = (0.2, 0.05), and large-ε points (ε = 1) where
  directions die;
* scan B, W₀ = ε·N(0, 1) (not aligned: no closed form, the integrator is
  needed): the same ε sweep.

Panels: the plateau length (time to the first escape) over (σ², γ) with the
theory contours where the first escape time equals T; the directions learned
by T with the contours τ_k = T; escape times against ln(1/ε), both W₀, with
the small-initialization law τ = ln(θ/ε²)/(4m) (slope 1/(2m)); the staircase
of WᵀW's eigenvalues and the loss of scan B at the smallest ε.

Usage::

    python figures/learning_dynamics.py            # full size
    python figures/learning_dynamics.py --smoke    # tiny grids (the test suite's run)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.reproduction.figure_io import run_figure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from landscape.reproduction.claims import Claim

NAME = "learning_dynamics"
REPORT_SIZE = "quick"
PAPER_SCALE = (
    "d = 4 aligned β-InfoNCE problem: a 16×16 (σ², γ) lattice and a 9-point ε sweep (two W₀), integrated "
    "to T = 64 with 257 saves; small so that the two compiled scans and ~300 flows fit in seconds"
)
A = (3.0, 2.0, 1.2, 0.5)
BETA, THETA, T_END, T_REF = 0.5, 0.01, 64.0, 8.0
SWEEP_AT = (0.2, 0.05)  # (σ², γ) of the ε sweeps
RTOL, ATOL = 1e-9, 1e-12  # the integrator's tolerances; W's entries start at ε/√d, so atol matters at small ε
STEPS_WORTH = (
    1e4  # the claims allow the crossings this many steps' worth of the local tolerance (steps × event location)
)


def theory(sigma2: Any, gamma: Any, eps: Any) -> dict[str, np.ndarray]:
    """m, s, λ*, the exact times to θ (escape or collapse) and the small-init law, per direction (m descending)."""
    from landscape.theory.escape_times import level_time

    s2, g, e = (v[..., None] for v in np.broadcast_arrays(*(np.asarray(v, float) for v in (sigma2, gamma, eps))))
    a = np.asarray(A)
    m = BETA * a - (1 - BETA) * s2 - g
    s = a + s2
    order = np.argsort(-m, axis=-1, kind="stable")
    m, s = np.take_along_axis(m, order, -1), np.take_along_axis(s, order, -1)
    lam0 = e**2 + 0 * m
    t = np.asarray(level_time(lam0, m, s, BETA, THETA))
    law = np.where(m > 0, np.log(THETA / lam0) / (4 * np.where(m > 0, m, 1.0)), np.inf)
    return {"m": m, "s": s, "limit": np.maximum(m, 0) / (2 * BETA * s**2), "time": t, "law": law}


def _scan(sigma2, gamma, eps, init: str, times) -> dict[str, np.ndarray]:
    from landscape import phase
    from landscape.scan import Grid, Points

    model = phase.PhaseModel.diagonal(A, sigma2=0.0, loss="beta-infonce", beta=BETA)
    settings = phase.FlowSettings(times=tuple(times), threshold=THETA, init=init, rtol=RTOL, atol=ATOL)
    pts = Points("point", {"sigma2": sigma2, "weight_decay": gamma, "init_scale": eps})
    ds = phase.phase_scan(model, Grid([pts]), method="flow", settings=settings)
    keep = ("escape_time", "collapse_time", "plateau_length", "learning_order", "n_learned", "b_eigenvalues")
    out = {k: np.asarray(ds[k].values) for k in (*keep, "status", "loss_curve", "gram_curve")}
    return out


def compute(quick: bool = False, smoke: bool = False) -> dict[str, np.ndarray]:
    """Scans A (aligned) and B (Gaussian W₀) through the scan engine; plain NumPy arrays."""
    import jax

    jax.config.update("jax_enable_x64", True)
    n, n_eps, n_t = (3, 3, 33) if smoke else (10, 5, 129) if quick else (16, 9, 257)
    s2 = np.linspace(0.0, 2.0, n)
    gam = np.linspace(0.0, 0.6, n)
    eps = np.geomspace(1e-6, 1e-2, n_eps)
    times = np.linspace(0.0, T_END, n_t)
    lat_s2, lat_g = (x.ravel() for x in np.meshgrid(s2, gam, indexing="ij"))
    big_s2, big_g = np.array([1.0, 1.6]), np.array([0.15, 0.0])  # large ε: directions with m ≤ 0 or λ* < θ die
    cols = [
        np.concatenate([lat_s2, np.full(n_eps, SWEEP_AT[0]), big_s2]),
        np.concatenate([lat_g, np.full(n_eps, SWEEP_AT[1]), big_g]),
        np.concatenate([np.full(n * n, 1e-3), eps, np.ones(2)]),
    ]
    sa = _scan(cols[0], cols[1], cols[2], "identity", times)
    sb = _scan(np.full(n_eps, SWEEP_AT[0]), np.full(n_eps, SWEEP_AT[1]), eps, "gaussian", times)
    out = {"sigma2": s2, "gamma": gam, "eps": eps, "times": times, "n_lattice": np.asarray(n * n)}
    out["point_sigma2"], out["point_gamma"], out["point_eps"] = cols
    out.update({f"a_{k}": v for k, v in sa.items()})
    out.update({f"b_{k}": v for k, v in sb.items()})
    return out


def _parts(d: dict) -> tuple[slice, slice, slice]:
    nl, ne = int(d["n_lattice"]), len(d["eps"])
    return slice(0, nl), slice(nl, nl + ne), slice(nl + ne, None)


def render(d: dict[str, np.ndarray]) -> Figure:
    """Four panels: plateau and learned-count maps with theory contours, escape vs ln(1/ε), a staircase."""
    from matplotlib.figure import Figure

    lat, sw, _ = _parts(d)
    n = len(d["sigma2"])
    fig = Figure(figsize=(13, 9.5))
    axs = fig.subplots(2, 2)
    s2, g = d["sigma2"], d["gamma"]
    fine_s2, fine_g = np.linspace(s2[0], s2[-1], 121), np.linspace(g[0], g[-1], 121)
    fine = theory(fine_s2[:, None], fine_g[None, :], 1e-3)
    plateau = d["a_plateau_length"][lat].reshape(n, n)
    ax = axs[0, 0]
    mesh = ax.pcolormesh(s2, g, np.log10(np.where(np.isfinite(plateau), plateau, np.nan)).T, shading="nearest")
    fig.colorbar(mesh, ax=ax, label="log₁₀ plateau length (time to the first escape)")
    first = np.min(fine["time"], axis=-1)
    cs = ax.contour(fine_s2, fine_g, np.log10(np.minimum(first, 1e6)).T, levels=np.log10([2, 4, 8, 16, 32]), colors="w")
    ax.clabel(cs, fmt=lambda v: f"τ₁ = {10**v:.0f}")
    ax.set(xlabel="σ²", ylabel="γ", title=f"plateau at ε = 10⁻³ (W₀ = εI), θ = {THETA:g}; white: theory")
    ax = axs[0, 1]
    j = int(np.argmin(np.abs(d["times"] - T_REF)))
    learned = d["a_n_learned"][lat, j].reshape(n, n)
    mesh = ax.pcolormesh(s2, g, learned.T, shading="nearest", vmin=0, vmax=len(A), cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=f"directions learned by T = {d['times'][j]:g}")
    for k in range(len(A)):
        ax.contour(fine_s2, fine_g, (fine["time"][..., k] - d["times"][j]).T, levels=[0.0], colors="w")
    ax.set(xlabel="σ²", ylabel="γ", title="n learned; white: τ_k = T (closed form)")
    ax = axs[1, 0]
    x = np.log(1 / d["eps"])
    law = theory(SWEEP_AT[0], SWEEP_AT[1], d["eps"])
    for k in range(len(A)):
        (line,) = ax.plot(x, law["law"][:, k], "-", lw=1, label=f"ln(θ/ε²)/(4m), m = {law['m'][0, k]:.2f}")
        ax.plot(x, d["a_escape_time"][sw, k], "x", color=line.get_color())
        ax.plot(x, d["b_escape_time"][:, k], "o", mfc="none", color=line.get_color())
    ax.set(xlabel="ln(1/ε)", ylabel="escape time of the k-th eigenvalue", title="×: W₀ = εI, ○: W₀ = ε·N(0, 1)")
    ax.legend(fontsize=7)
    ax = axs[1, 1]
    ax.semilogy(d["times"], np.maximum(d["b_gram_curve"][0], 1e-300), lw=1)
    ax.axhline(THETA, color="k", ls=":", lw=0.8)
    ax.set_ylim(float(d["eps"][0]) ** 2 * 0.1, 1.0)
    ax2 = ax.twinx()
    ax2.plot(d["times"], d["b_loss_curve"][0], "k--", lw=0.8)
    ax2.set_ylabel("loss (dashed)")
    ax.set(xlabel="t", ylabel="eigenvalues of WᵀW", title=f"stepwise learning, W₀ = ε·N(0, 1), ε = {d['eps'][0]:g}")
    fig.tight_layout()
    return fig


def claims(d: dict[str, np.ndarray]) -> list[Claim]:
    """The closed form, the small-init law, the order of learning and the collapse times, from the stored scans."""
    from landscape.reproduction.claims import Check, Claim

    lat, sw, big = _parts(d)
    th = theory(d["point_sigma2"], d["point_gamma"], d["point_eps"])
    t_th = np.where(th["time"] <= T_END, th["time"], np.inf)
    esc, col = d["a_escape_time"], d["a_collapse_time"]
    # the k-th eigenvalue crosses θ when the k-th direction does (sorted times agree); a time error is
    # weighed by the slope d ln λ/dt = 4m − 8ks²θ at θ (the error of ln λ there), in units of the local
    # relative tolerance rtol + atol·√d/ε of a step
    local = RTOL + ATOL * np.sqrt(len(A)) / d["point_eps"]
    slope = np.abs(4 * th["m"] - 8 * BETA * th["s"] ** 2 * THETA) / local[:, None]
    small = slice(0, sw.stop)
    got_e, want_e, err = _sorted_error(esc[small], t_th[small], slope[small])
    got_c, want_c, err_c = _sorted_error(col[big], t_th[big], slope[big])
    out = [
        Claim(
            key="dyn_escape_closed_form",
            paper="extensions",
            where="landscape.theory.escape_times",
            statement="from W₀ = εI every direction escapes at the closed-form time t(θ) of its logistic "
            "equation; the scan's event times agree to the integrator's tolerance",
            checks=(
                Check(
                    "escapes found vs closed form (count)",
                    int(np.isfinite(got_e).sum()),
                    "=",
                    int(np.isfinite(want_e).sum()),
                ),
                Check("max |Δt|·|d ln λ/dt| at θ / local tolerance, escapes", float(err.max()), "≤", STEPS_WORTH),
            ),
        ),
        Claim(
            key="dyn_collapse_times",
            paper="extensions",
            where="landscape.theory.escape_times.level_time",
            statement="from a large W₀ = εI (λ₀ = 1 > θ) the dying directions (m ≤ 0, or λ* < θ) fall to θ "
            "at the closed-form times, exponential for m < 0 and algebraic at m = 0",
            checks=(
                Check(
                    "collapses found vs closed form (count)",
                    int(np.isfinite(got_c).sum()),
                    "=",
                    int(np.isfinite(want_c).sum()),
                ),
                Check("max |Δt|·|d ln λ/dt| at θ / local tolerance, collapses", float(err_c.max()), "≤", STEPS_WORTH),
            ),
        ),
    ]
    return out + _law_claims(d, sw) + _order_claims(d, lat, t_th)


def _sorted_error(got: np.ndarray, want: np.ndarray, slope: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sorted times (got, want) per row and |got − want|·slope (slope in the order of ``want``; 0 where both are inf)."""
    idx = np.argsort(want, axis=-1, kind="stable")
    want = np.take_along_axis(want, idx, -1)
    rate = np.take_along_axis(slope, idx, -1)
    got = np.sort(got, axis=-1)
    both = np.isfinite(got) & np.isfinite(want)
    diff = np.where(both, got, 0.0) - np.where(both, want, 0.0)
    return got, want, np.abs(diff) * rate


def _law_claims(d: dict, sw: slice) -> list:
    """τ_k against ln(1/ε): slope 1/(2m_k), for the aligned and the Gaussian W₀."""
    from landscape.reproduction.claims import Check, Claim

    law = theory(SWEEP_AT[0], SWEEP_AT[1], d["eps"])
    m, lim = law["m"][0], law["limit"][0]
    eps = d["eps"]
    low = np.log(eps) <= 0.5 * (np.log(eps[0]) + np.log(eps[-1]))  # the small-ε half of the sweep
    x = np.log(1 / eps)
    gaps = np.abs(np.diff(np.r_[np.inf, m, -np.inf]))
    gap = np.minimum(gaps[:-1], gaps[1:])
    checks = []
    for tag, esc in (("W₀ = εI", d["a_escape_time"][sw]), ("W₀ = ε·N(0, 1)", d["b_escape_time"])):
        for k in np.flatnonzero(m > 0):
            ok = np.isfinite(esc[:, k]) & low
            if ok.sum() < 2:
                continue
            slope = float(np.polyfit(x[ok], esc[ok, k], 1)[0])
            span = float(np.ptp(x[ok]))
            # the O(1) correction −ln(1 − θ/λ*)/(4m) may drift by its size across the fitted range, and the
            # k-th eigenvalue of a non-aligned W₀ carries a crossover term (ε²/θ)^{gap/m}/(4m), largest at the
            # largest fitted ε, that the fit's slope sees over the range
            corr = abs(np.log1p(-THETA / lim[k])) / (4 * m[k])
            cross = (float(eps[ok].max()) ** 2 / THETA) ** (gap[k] / m[k]) / (4 * m[k])
            tol = (2 * corr + (2 * cross if "N(0" in tag else 0.0)) / span
            checks.append(
                Check(f"slope dτ_{k + 1}/dln(1/ε), {tag}", slope, "≈", 1 / (2 * m[k]), atol=tol, target_from="1/(2m)")
            )
    return [
        Claim(
            key="dyn_small_init_law",
            paper="extensions",
            where="landscape.theory.escape_times.escape_time_asymptotic",
            statement="small-initialization law: the k-th escape time grows like ln(1/ε)/(2m_k), for an aligned "
            "and for a random W₀, within the O(1) correction",
            checks=tuple(checks),
        )
    ]


def _order_claims(d: dict, lat: slice, t_th: np.ndarray) -> list:
    """Stepwise learning in the order of m (Gaussian W₀, the ε sweep); the n-learned map against τ_k = T."""
    from landscape.reproduction.claims import Check, Claim

    # the order of m is the small-ε limit: checked on the lower half of the ε sweep (ln(1/ε) beyond its middle);
    # at larger ε the O(1) differences of the random initial projections can still swap neighbours
    eps = d["eps"]
    low = np.log(eps) <= 0.5 * (np.log(eps[0]) + np.log(eps[-1]))
    order = d["b_learning_order"][low]
    wrong = sum(int(np.any(row[row >= 0] != np.arange(int((row >= 0).sum())))) for row in order)
    learned_any = int(np.sum(order[:, 0] >= 0))
    swapped = [
        f"{e:.0e}"
        for e, row in zip(eps, d["b_learning_order"])
        if np.any(row[row >= 0] != np.arange(int((row >= 0).sum())))
    ]
    times = d["times"]
    j = int(np.argmin(np.abs(times - T_REF)))
    tl = t_th[lat]
    expected = np.sum(tl < times[j], axis=-1)
    near = np.any(np.abs(tl - times[j]) < times[1] - times[0], axis=-1)
    miss = int(np.sum((d["a_n_learned"][lat, j] != expected) & ~near))
    return [
        Claim(
            key="dyn_learning_order",
            paper="extensions",
            where="landscape.phase.flow_times (learning_order)",
            statement="stepwise learning: from a small random W₀ the directions are learned one at a time in "
            "decreasing order of m = b − γ",
            checks=(
                Check(
                    "ε ≤ the sweep's geometric middle whose learning order differs from the order of m", wrong, "=", 0
                ),
                Check("such ε values where some direction was learned", learned_any, "≥", 1),
            ),
            note="order swapped at ε = " + (", ".join(swapped) if swapped else "none") + " over the whole sweep",
        ),
        Claim(
            key="dyn_learned_by_T",
            paper="extensions",
            where="landscape.phase.flow_times (n_learned)",
            statement=f"the number of directions learned by T = {times[j]:g} over (σ², γ) is #{{k: τ_k < T}} of "
            "the closed form (lattice points farther than one save step from a contour)",
            checks=(Check("lattice points that disagree", miss, "=", 0),),
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return run_figure(NAME, compute, render, __doc__ or "", argv)
