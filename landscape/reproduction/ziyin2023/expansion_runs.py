r"""The computations of :mod:`.loss_expansions` (run inside ``jax.enable_x64``): its set-up, rows and probes."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import numpy as np

import landscape as ls
from landscape.losses import population as P
from landscape.losses import quadratic_form

A_VAR = (1.5, 0.5)
C_VAR = (0.25, 1.0)
N_QUAD = 64
N_QUART = 128
ALPHA = 0.1
BETA = 0.5
VIC = dict(inv_weight=25.0, var_weight=25.0, eps=1e-4)
VIC_EPS = (1e-4, 1e-2)
PROBE = dict(a=1.0, sigma2=25.0, n=50, alpha=0.1)  # the weighted-InfoNCE C-term probe (spec caveat 2)
SIGMAS = 4.0  # a Monte Carlo value agrees with a target within 4 standard errors

#: key → (label, name in the loss table, its parameters)
ROWS = {
    "infonce": ("InfoNCE", "infonce", {}),
    "weighted-infonce": (
        f"weighted InfoNCE (α = {ALPHA}, N = {N_QUAD})",
        "weighted-infonce",
        {"alpha": ALPHA, "n_samples": N_QUAD},
    ),
    "beta-infonce": (f"β-InfoNCE (β = {BETA} on the log-denominator)", "beta-infonce", {"beta": BETA}),
    "spectral": ("spectral contrastive", "spectral", {}),
    "barlow-twins": ("Barlow Twins, unnormalised 𝒞 = z1ᵀz2/n", "barlow-twins", {}),
    "vicreg": ("VICReg (λ_inv = λ_var = 25, ε = 1e-4, d1 = 1)", "vicreg", {"invariance_weight": VIC["inv_weight"]}),
}


def sample_loss(key: str, eps: float = VIC["eps"]) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """The real sample loss of row ``key`` as a function of the two views' outputs."""
    from landscape.losses import sample as S

    return {
        "infonce": lambda a, b: S.infonce(a, b),
        "weighted-infonce": lambda a, b: S.weighted_infonce(a, b, ALPHA),
        "beta-infonce": lambda a, b: S.beta_infonce(a, b, BETA),
        "spectral": S.spectral_contrastive,
        "barlow-twins": lambda a, b: S.barlow_twins(a, b, normalize="none"),
        "vicreg": lambda a, b: S.vicreg(a, b, **{**VIC, "eps": eps}),
    }[key]


#: the InfoNCE rows as (α, β) of :func:`landscape.losses.sample.euclidean_infonce` (what :func:`sample_loss` calls)
FAMILY = {"infonce": (1.0, 1.0), "weighted-infonce": (ALPHA, 1.0), "beta-infonce": (1.0, BETA)}


def all_losses(a: jax.Array, b: jax.Array) -> jax.Array:
    """Every row's sample loss at once, in the order of :data:`ROWS`, to be compiled once: the InfoNCE
    rows as one ``euclidean_infonce`` vmapped over (α, β) of :data:`FAMILY`, the others stacked."""
    import jax.numpy as jnp

    from landscape.losses import sample as S

    alphas, betas = (jnp.asarray(v, a.dtype) for v in zip(*FAMILY.values()))
    fam = jax.vmap(lambda x, y: S.euclidean_infonce(a, b, alpha=x, beta=y))(alphas, betas)
    others = [k for k in ROWS if k not in FAMILY]
    out = jnp.concatenate([fam, jnp.stack([sample_loss(k)(a, b) for k in others])])
    order = list(FAMILY) + others
    return out[np.array([order.index(k) for k in ROWS])]


def sympy_quadratic(key: str, n: int = N_QUAD, eps: float = VIC["eps"]) -> tuple[float, float]:
    """(p, q) of B from the symbolic finite-N expansion (exact-moment data)."""
    import sympy as sp

    from landscape.losses import symbolic as sy

    if key == "spectral":
        q2 = sy.spectral_expansion()[0]
    elif key == "barlow-twins":
        q2 = sy.barlow_twins_expansion("exact-moment")[0]
    elif key == "vicreg":
        q2 = sy.vicreg_quadratic("exact-moment").subs(
            {
                sp.Symbol("lambda_inv", positive=True): VIC["inv_weight"],
                sp.Symbol("lambda_var", positive=True): VIC["var_weight"],
                sp.Symbol("epsilon", positive=True): sp.nsimplify(eps),
            }
        )
    else:
        alpha = ALPHA if key == "weighted-infonce" else 1.0
        beta = BETA if key == "beta-infonce" else 1.0
        q2 = sy.infonce_expansion(1, "exact-moment")[0].subs({sy.alpha: alpha, sy.beta: beta})
    q2 = q2.subs({sy.N: n})
    return -float(sp.diff(q2, sy.a)), -float(sp.diff(q2, sy.c))


def sympy_infonce_quartic_limit() -> float:
    """InfoNCE's large-N quartic k from its closed form (``infonce_quartic_large_n``; the finite-N k along
    each axis is :func:`sympy_quartic`'s)."""
    import sympy as sp

    from landscape.losses import symbolic as sy

    return float(sp.simplify(sy.infonce_quartic_large_n(1).subs({sy.beta: 1}) / (sy.a + sy.c) ** 2))


def sympy_quartic(key: str, n: int = N_QUART) -> tuple[np.ndarray, np.ndarray]:
    """k = c₄/s_i² along each axis from the 1-D sympy t⁴ coefficient (Gaussian data): at N = n and N → ∞."""
    import sympy as sp

    from landscape.losses import symbolic as sy

    if key == "spectral":
        q4 = sy.spectral_expansion()[1].subs(sy.s, sy.a + sy.c)
    elif key == "barlow-twins":
        q4 = sy.barlow_twins_expansion("gaussian")[1]
    elif key == "vicreg":
        per_s2 = sy.vicreg_quartic().subs(
            {
                sp.Symbol("lambda_var", positive=True): VIC["var_weight"],
                sp.Symbol("epsilon", positive=True): sp.nsimplify(VIC["eps"]),
            }
        )
        q4 = per_s2 * (sy.a + sy.c) ** 2
    else:
        alpha = ALPHA if key == "weighted-infonce" else 1.0
        beta = BETA if key == "beta-infonce" else 1.0
        q4 = sy.infonce_expansion(1, "gaussian")[1].subs({sy.alpha: sp.nsimplify(alpha), sy.beta: sp.nsimplify(beta)})

    def per_axis(expr):
        return np.array([float(expr.subs({sy.a: a, sy.c: c})) / (a + c) ** 2 for a, c in zip(A_VAR, C_VAR)])

    return per_axis(q4.subs(sy.N, n)), per_axis(sp.limit(q4, sy.N, sp.oo))


def library_quartic(key: str) -> float:
    """The quartic coefficient that :func:`landscape.losses.effective_landscape` uses for row ``key`` (defaults)."""
    from landscape.losses import effective_landscape

    _, name, params = ROWS[key]
    return float(effective_landscape(ls.Problem.from_diagonal(list(A_VAR), list(C_VAR)), name, **params).quartic)


def two_row_k2(k_axis: np.ndarray) -> dict:
    r"""The k₂ that a two-row W = [e₁; e₂] must show where the quartic is not k·Tr[S²] (Gaussian data, N = 128).

    Barlow Twins: only the off-diagonal term couples the rows, λ_off·E[𝒞₁₂² + 𝒞₂₁²] = 2λ_off s₁s₂/N, so
    k₂ = λ_off/N.  VICReg: the hinge is a mean over the d features, (1/d)Σ_k S_kk², so with d = 2 its
    t⁴ term halves against the one-row sum: k₂ = −(k₁s₁² + k₂s₂²)/(4s₁s₂) + λ_cov/(N − 1) (k_i of one
    row; the covariance term gives 2λ_cov E Ĉ₁₂² = 2λ_cov s₁s₂/(N − 1)).
    """
    import inspect

    from landscape.losses import sample as S

    lam_off = inspect.signature(S.barlow_twins).parameters["lambda_offdiag"].default
    lam_cov = inspect.signature(S.vicreg).parameters["cov_weight"].default
    s = np.array(A_VAR) + np.array(C_VAR)
    vic = -(k_axis[0] * s[0] ** 2 + k_axis[1] * s[1] ** 2) / (4 * s[0] * s[1]) + lam_cov / (N_QUART - 1)
    return dict(bt_k2_derived=np.array(lam_off / N_QUART), vic_k2_derived=np.array(vic))


def rows(cfg: dict) -> dict:
    """p, q of B (Monte Carlo ± s.e., paper, derived, sympy) for every row of :data:`ROWS`."""
    problem = ls.Problem.from_diagonal(list(A_VAR), list(C_VAR))
    out = {"rows": np.array(list(ROWS)), "labels": np.array([v[0] for v in ROWS.values()])}
    mc, se, paper, derived, sym = [], [], [], [], []
    for i, (key, (_, name, params)) in enumerate(ROWS.items()):
        r = P.mc_expansion(
            jax.random.PRNGKey(100 + i),
            sample_loss(key),
            problem,
            n=N_QUAD,
            n_batches=cfg["quad"],
            chunk=100,
            rank2=False,
            order=2,
        )
        mc.append(r["pq"])
        se.append(r["pq_se"])
        pf, df = quadratic_form(name, form="paper", **params), quadratic_form(name, form="derived", **params)
        paper.append([float(pf.data_coef), float(pf.aug_coef)])
        derived.append([float(df.data_coef), float(df.aug_coef)])
        sym.append(sympy_quadratic(key))
    out.update(
        mc_pq=np.array(mc),
        mc_pq_se=np.array(se),
        paper_pq=np.array(paper),
        derived_pq=np.array(derived),
        sympy_pq=np.array(sym),
    )
    return out


def quartic(cfg: dict) -> dict:
    """Every row's quartic coefficient on fresh Gaussian data (N = 128): k along each axis and k₁, k₂ of
    k₁·Tr[S²] + k₂·(Tr S)², all losses on common batches in one compilation (``q_*``, one row per loss;
    InfoNCE's also under the names of Caveat 1), with the sympy k (N = 128 and N → ∞) and the library's k.
    """
    problem = ls.Problem.from_diagonal(list(A_VAR), list(C_VAR))
    keys = list(ROWS)
    r = P.mc_expansion(
        jax.random.PRNGKey(200),
        all_losses,
        problem,
        n=N_QUART,
        n_batches=cfg["quart"],
        data="gaussian",
        chunk=100,
        rank2=True,
    )
    i = keys.index("infonce")
    finite, large = zip(*(sympy_quartic(k) for k in keys))
    fields = ("k_axis", "k_axis_se", "k1", "k1_se", "k2", "k2_se")
    return (
        {f: r[f][i] for f in fields}
        | {f"q_{f}": r[f] for f in fields}
        | dict(
            sympy_k_axis=finite[i],
            sympy_k_limit=np.array(sympy_infonce_quartic_limit()),
            q_sympy_k=np.array(finite),
            q_derived_k=np.array(large),
            q_library_k=np.array([library_quartic(k) for k in keys]),
        )
        | two_row_k2(finite[keys.index("vicreg")])
    )


def weighted_probe(cfg: dict) -> dict:
    """Weighted InfoNCE on d = 1 with â = 1, σ² = 25, N = 50, α = 0.1: the paper's C-term is −0.45 of B here."""
    pr = PROBE
    problem = ls.Problem.from_diagonal([pr["a"]], [pr["sigma2"]])
    fn = lambda a, b: ls.losses.sample.weighted_infonce(a, b, pr["alpha"])
    coef = np.asarray(
        P.mc_taylor_coefficients(
            jax.random.PRNGKey(300),
            fn,
            problem,
            np.ones((1, 1, 1)),
            n=pr["n"],
            n_batches=cfg["probe"],
            chunk=500,
            order=2,
        ),
        float,
    )
    b = -coef[:, 0, 2]
    paper = quadratic_form("weighted-infonce", form="paper", alpha=pr["alpha"], n_samples=pr["n"])
    derived = quadratic_form("weighted-infonce", form="derived", alpha=pr["alpha"], n_samples=pr["n"])
    return dict(
        probe_b=np.array(b.mean()),
        probe_b_se=np.array(b.std(ddof=1) / math.sqrt(b.size)),
        probe_paper=np.array(float(paper.data_coef) * pr["a"] + float(paper.aug_coef) * pr["sigma2"]),
        probe_derived=np.array(float(derived.data_coef) * pr["a"] + float(derived.aug_coef) * pr["sigma2"]),
        probe_setting=np.array([pr["a"], pr["sigma2"], pr["n"], pr["alpha"]]),
    )


def vicreg_eps(cfg: dict, first: dict) -> dict:
    """VICReg's (p, q) at each ε of :data:`VIC_EPS` (the first is the table's row)."""
    problem = ls.Problem.from_diagonal(list(A_VAR), list(C_VAR))
    i = list(ROWS).index("vicreg")
    mc, se, sym = [first["mc_pq"][i]], [first["mc_pq_se"][i]], [first["sympy_pq"][i]]
    for eps in VIC_EPS[1:]:
        r = P.mc_expansion(
            jax.random.PRNGKey(400),
            sample_loss("vicreg", eps),
            problem,
            n=N_QUAD,
            n_batches=cfg["quad"],
            chunk=100,
            rank2=False,
            order=2,
        )
        mc.append(r["pq"])
        se.append(r["pq_se"])
        sym.append(sympy_quadratic("vicreg", eps=eps))
    return dict(
        vic_eps=np.array(VIC_EPS), vic_mc_pq=np.array(mc), vic_mc_pq_se=np.array(se), vic_sympy_pq=np.array(sym)
    )


def proposition4(cfg: dict) -> dict:
    """(1/8)Var|W(x − χ)|² and (1/8)E_x Var_χ(·|x) against Tr[(WΣWᵀ)²], W = e₁ᵀ + ½e₂ᵀ, x, χ ~ N(0, Σ).

    InfoNCE's u = ½|W(x − χ)|², so the cumulant term ½E_x Var_χ(u | x) is the second ratio.
    """
    rng = np.random.default_rng(4)
    sigma = np.array(A_VAR) + np.array(C_VAR)
    w = np.array([1.0, 0.5])
    tr_s2 = float(np.sum(w * w * sigma)) ** 2
    m, k = cfg["prop4"] // 20, 20
    x = rng.normal(size=(m, 1, 2)) * np.sqrt(sigma)
    chi = rng.normal(size=(m, k, 2)) * np.sqrt(sigma)
    u = ((x - chi) @ w) ** 2  # |W(x − χ)|², m anchors × k negatives
    total = u.ravel().var(ddof=1) / 8.0 / tr_s2
    cond = u.var(axis=1, ddof=1) / 8.0 / tr_s2  # per anchor: (1/8)Var_χ(|W(x − χ)|² | x) / Tr[S²]
    # the total variance's s.e., by batches of anchors
    blocks = u.reshape(20, -1).var(axis=1, ddof=1) / 8.0 / tr_s2
    return dict(
        prop4_total=np.array(total),
        prop4_total_se=np.array(blocks.std(ddof=1) / math.sqrt(blocks.size)),
        prop4_conditional=np.array(cond.mean()),
        prop4_conditional_se=np.array(cond.std(ddof=1) / math.sqrt(cond.size)),
    )


def compute(cfg: dict) -> dict[str, np.ndarray]:
    out = rows(cfg)
    for part in (quartic(cfg), weighted_probe(cfg), vicreg_eps(cfg, out), proposition4(cfg)):
        out.update(part)
    out.update(
        a_var=np.array(A_VAR),
        c_var=np.array(C_VAR),
        n_quad=np.array(N_QUAD),
        n_quart=np.array(N_QUART),
        batches=np.array([cfg["quad"], cfg["quart"], cfg["probe"]]),
    )
    return out
