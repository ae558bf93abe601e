r"""The computations of :mod:`.loss_expansions` (run inside ``jax.enable_x64``)."""
from __future__ import annotations

import math

import jax
import numpy as np

import landscape as ls
from landscape.losses import population as P
from landscape.losses import quadratic_form
from landscape.reproduction.ziyin2023 import loss_expansions as E


def rows(cfg: dict) -> dict:
    """p, q of B (Monte Carlo ± s.e., paper, derived, sympy) for every row of :data:`~.loss_expansions.ROWS`."""
    problem = ls.Problem.from_diagonal(list(E.A_VAR), list(E.C_VAR))
    out = {"rows": np.array(list(E.ROWS)), "labels": np.array([v[0] for v in E.ROWS.values()])}
    mc, se, paper, derived, sym = [], [], [], [], []
    for i, (key, (_, name, params)) in enumerate(E.ROWS.items()):
        r = P.mc_expansion(jax.random.PRNGKey(100 + i), E.sample_loss(key), problem, n=E.N_QUAD,
                           n_batches=cfg["quad"], chunk=100, rank2=False, order=2)
        mc.append(r["pq"])
        se.append(r["pq_se"])
        pf, df = quadratic_form(name, form="paper", **params), quadratic_form(name, form="derived", **params)
        paper.append([float(pf.data_coef), float(pf.aug_coef)])
        derived.append([float(df.data_coef), float(df.aug_coef)])
        sym.append(E.sympy_quadratic(key))
    out.update(mc_pq=np.array(mc), mc_pq_se=np.array(se), paper_pq=np.array(paper), derived_pq=np.array(derived),
               sympy_pq=np.array(sym))
    return out


def quartic(cfg: dict) -> dict:
    """InfoNCE's quartic coefficient k along each axis and k₁, k₂ of k₁·Tr[S²] + k₂·(Tr S)² (N = 128)."""
    problem = ls.Problem.from_diagonal(list(E.A_VAR), list(E.C_VAR))
    r = P.mc_expansion(jax.random.PRNGKey(200), E.sample_loss("infonce"), problem, n=E.N_QUART,
                       n_batches=cfg["quart"], data="gaussian", chunk=100, rank2=True)
    ks, limit = E.sympy_infonce_quartic()
    return dict(k_axis=r["k_axis"], k_axis_se=r["k_axis_se"], k1=np.array(r["k1"]), k1_se=np.array(r["k1_se"]),
                k2=np.array(r["k2"]), k2_se=np.array(r["k2_se"]), sympy_k_axis=ks, sympy_k_limit=np.array(limit))


def weighted_probe(cfg: dict) -> dict:
    """Weighted InfoNCE on d = 1 with â = 1, σ² = 25, N = 50, α = 0.1: the paper's C-term is −0.45 of B here."""
    pr = E.PROBE
    problem = ls.Problem.from_diagonal([pr["a"]], [pr["sigma2"]])
    fn = lambda a, b: ls.losses.sample.weighted_infonce(a, b, pr["alpha"])
    coef = np.asarray(P.mc_taylor_coefficients(jax.random.PRNGKey(300), fn, problem, np.ones((1, 1, 1)), n=pr["n"],
                                               n_batches=cfg["probe"], chunk=500, order=2), float)
    b = -coef[:, 0, 2]
    paper = quadratic_form("weighted-infonce", form="paper", alpha=pr["alpha"], n_samples=pr["n"])
    derived = quadratic_form("weighted-infonce", form="derived", alpha=pr["alpha"], n_samples=pr["n"])
    return dict(probe_b=np.array(b.mean()), probe_b_se=np.array(b.std(ddof=1) / math.sqrt(b.size)),
                probe_paper=np.array(float(paper.data_coef) * pr["a"] + float(paper.aug_coef) * pr["sigma2"]),
                probe_derived=np.array(float(derived.data_coef) * pr["a"] + float(derived.aug_coef) * pr["sigma2"]),
                probe_setting=np.array([pr["a"], pr["sigma2"], pr["n"], pr["alpha"]]))


def vicreg_eps(cfg: dict, first: dict) -> dict:
    """VICReg's (p, q) at each ε of :data:`~.loss_expansions.VIC_EPS` (the first is the table's row)."""
    problem = ls.Problem.from_diagonal(list(E.A_VAR), list(E.C_VAR))
    i = list(E.ROWS).index("vicreg")
    mc, se, sym = [first["mc_pq"][i]], [first["mc_pq_se"][i]], [first["sympy_pq"][i]]
    for eps in E.VIC_EPS[1:]:
        r = P.mc_expansion(jax.random.PRNGKey(400), E.sample_loss("vicreg", eps), problem, n=E.N_QUAD,
                           n_batches=cfg["quad"], chunk=100, rank2=False, order=2)
        mc.append(r["pq"])
        se.append(r["pq_se"])
        sym.append(E.sympy_quadratic("vicreg", eps=eps))
    return dict(vic_eps=np.array(E.VIC_EPS), vic_mc_pq=np.array(mc), vic_mc_pq_se=np.array(se),
                vic_sympy_pq=np.array(sym))


def proposition4(cfg: dict) -> dict:
    """(1/8)Var|W(x − χ)|² and (1/8)E_x Var_χ(·|x) against Tr[(WΣWᵀ)²], W = e₁ᵀ + ½e₂ᵀ, x, χ ~ N(0, Σ).

    InfoNCE's u = ½|W(x − χ)|², so the cumulant term ½E_x Var_χ(u | x) is the second ratio.
    """
    rng = np.random.default_rng(4)
    sigma = np.array(E.A_VAR) + np.array(E.C_VAR)
    w = np.array([1.0, 0.5])
    tr_s2 = float(np.sum(w * w * sigma)) ** 2
    m, k = cfg["prop4"] // 20, 20
    x = rng.normal(size=(m, 1, 2)) * np.sqrt(sigma)
    chi = rng.normal(size=(m, k, 2)) * np.sqrt(sigma)
    u = ((x - chi) @ w) ** 2                               # |W(x − χ)|², m anchors × k negatives
    total = u.ravel().var(ddof=1) / 8.0 / tr_s2
    cond = u.var(axis=1, ddof=1) / 8.0 / tr_s2             # per anchor: (1/8)Var_χ(|W(x − χ)|² | x) / Tr[S²]
    # the total variance's s.e., by batches of anchors
    blocks = (u.reshape(20, -1).var(axis=1, ddof=1) / 8.0 / tr_s2)
    return dict(prop4_total=np.array(total), prop4_total_se=np.array(blocks.std(ddof=1) / math.sqrt(blocks.size)),
                prop4_conditional=np.array(cond.mean()),
                prop4_conditional_se=np.array(cond.std(ddof=1) / math.sqrt(cond.size)))


def compute(cfg: dict) -> dict:
    out = rows(cfg)
    for part in (quartic(cfg), weighted_probe(cfg), vicreg_eps(cfg, out), proposition4(cfg)):
        out.update(part)
    out.update(a_var=np.array(E.A_VAR), c_var=np.array(E.C_VAR), n_quad=np.array(E.N_QUAD),
               n_quart=np.array(E.N_QUART), batches=np.array([cfg["quad"], cfg["quart"], cfg["probe"]]))
    return out
