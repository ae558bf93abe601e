r"""Symbolic (sympy) expansions of the real losses for a linear model on Gaussian data.

The route is independent of the JAX losses: each loss is written as a sympy
expression in a few scalar Gaussian variables, expanded in the scale t of the
weights (W = t·W₀), and averaged with Isserlis' theorem
(:func:`gaussian_expectation`).  Results are exact rational functions of the
symbols a (data variance), c (augmentation variance), N (data-set size), α, β.

* :func:`infonce_expansion` — coefficients of t² and t⁴ of the (α, β)
  Euclidean InfoNCE per anchor, at finite N, with the sum over the N − 1
  negatives handled through its power sums; 1-D, or 2-D with W₀ = diag(w₁, w₂)
  to separate Tr[S²] from (Tr S)².
* :func:`exact_gaussian_expansion` — series and per-direction minimiser of the
  exact Gaussian population loss of :mod:`landscape.losses.population`.
* :func:`proposition4_variances` — (1/8)Var|W(x − χ)|² (the paper's quartic
  term, WS Prop. 4) against (1/8)E_x Var_χ (the term that the cumulant
  expansion of log E_χ e^{−u} actually produces).
* :func:`spectral_expansion`, :func:`barlow_twins_expansion`,
  :func:`vicreg_quadratic` — the other losses, 1-D.

Example:
    >>> from landscape.losses import symbolic as sy
    >>> total, conditional = sy.proposition4_variances()
    >>> total, conditional
    (s**2, 3*s**2/4)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import sympy as sp

__all__ = [
    "gaussian_expectation",
    "infonce_expansion",
    "exact_gaussian_expansion",
    "exact_gaussian_minimiser_check",
    "proposition4_variances",
    "spectral_expansion",
    "barlow_twins_expansion",
    "vicreg_quadratic",
    "vicreg_quartic",
]

a, c, s, t, N, alpha, beta = sp.symbols("a c s t N alpha beta", positive=True)


def _double_factorial_moment(k: int) -> int:
    """E[g^k] for a standard normal g: 0 for odd k, (k − 1)!! for even k."""
    if k % 2:
        return 0
    out = 1
    for m in range(k - 1, 0, -2):
        out *= m
    return out


def gaussian_expectation(expr: sp.Expr, normals: Sequence[sp.Symbol]) -> sp.Expr:
    """E[expr] for a polynomial ``expr`` in independent standard normal ``normals`` (Isserlis).

    >>> g, h = sp.symbols("g h")
    >>> gaussian_expectation((g + 2*h)**4, [g, h])
    75
    """
    poly = sp.Poly(sp.expand(expr), *normals)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        m = 1
        for k in powers:
            m *= _double_factorial_moment(k)
            if m == 0:
                break
        if m:
            total += coeff * m
    return sp.simplify(total)


# ------------------------------------------------------------------ InfoNCE family
def _per_anchor_series():
    """Series in t (to t⁴) of u₊ + β log(α e^{−u₊} + Σ_{j≤M} e^{−u_j}) with u = t²·v.

    The sum enters through its power sums P1 = Σ v_j, P2 = Σ v_j², so the
    number of negatives M stays a symbol.
    """
    vp, p1, p2, m = sp.symbols("v_p P1 P2 M", positive=True)
    den = alpha * (1 - t**2 * vp + t**4 * vp**2 / 2) + m - t**2 * p1 + t**4 * p2 / 2
    ell = t**2 * vp + beta * sp.log(den)
    ser = sp.series(ell, t, 0, 6).removeO()
    c2 = sp.simplify(ser.coeff(t, 2))
    c4 = sp.simplify(ser.coeff(t, 4))
    return vp, p1, p2, m, c2, c4


@functools.cache
def infonce_expansion(dim: int = 1, data: str = "gaussian") -> tuple[sp.Expr, sp.Expr]:
    r"""t² and t⁴ coefficients of the per-anchor (α, β) Euclidean InfoNCE, finite N.

    ``dim = 1``: W₀ = 1 on 1-D data of variance a with noise variance c (so
    s = a + c); the coefficients are in terms of a, c, N, α, β.  ``dim = 2``:
    W₀ = diag(w₁, w₂) on diagonal data (a₁, a₂), noise (c₁, c₂); the
    coefficients are polynomials in w₁, w₂.

    ``data="gaussian"``: every data point is a fresh N(0, a) draw (negatives are
    independent of the anchor).  ``data="exact-moment"``: a fixed data set with
    mean 0 and (1/N)Σx̂² = a exactly (only the noise is random); only the t²
    coefficient is returned (the t⁴ one needs fourth data moments), the second
    entry is None.

    >>> q2, q4 = infonce_expansion(1, "exact-moment")
    >>> b = beta*N*a/(N - 1 + alpha) - (1 - beta)*c     # q2 = −b: B = βN/(N−1+α)·A0 − (1−β)C
    >>> sp.simplify(q2 + b)
    0
    """
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 or 2, got {dim}")
    if data not in ("gaussian", "exact-moment"):
        raise ValueError(f"data must be 'gaussian' or 'exact-moment', got {data!r}")
    vp, p1, p2, m, c2, c4 = _per_anchor_series()
    if data == "exact-moment":
        if dim != 1:
            raise ValueError("data='exact-moment' is implemented for dim = 1")
        # Given the data set: E_noise v₊ = c; (1/N)Σ_i Σ_{j≠i} E_noise v_ij = N a + (N − 1) c.
        q2 = c2.subs({vp: c, p1: N * a + (N - 1) * c}).subs(m, N - 1)
        return sp.simplify(q2), None
    v_pos, v_n1, v_n2, normals = _anchor_distances(dim)
    E = lambda expr: gaussian_expectation(expr, normals)  # noqa: E731
    mean_vn = E(v_n1)
    mom = {
        "pos": E(v_pos),
        "pos2": E(v_pos**2),
        "n2": E(v_n1**2),
        "nn": E(v_n1 * v_n2),
        "pn": E(v_pos * v_n1),
    }
    # E over the power sums: E P1 = M E v_n, E P2 = M E v_n², E P1² = M E v_n² + M(M−1) E v_n v_n',
    # E v₊P1 = M E v₊v_n; c2 is linear, c4 quadratic in (v₊, P1, P2).
    q2 = c2.subs({p1: m * mean_vn, vp: mom["pos"]})
    poly4 = sp.Poly(sp.expand(c4), vp, p1, p2)
    q4 = sp.Integer(0)
    table = {
        (0, 0, 0): 1,
        (1, 0, 0): mom["pos"],
        (0, 1, 0): m * mean_vn,
        (0, 0, 1): m * mom["n2"],
        (2, 0, 0): mom["pos2"],
        (0, 2, 0): m * mom["n2"] + m * (m - 1) * mom["nn"],
        (1, 1, 0): m * mom["pn"],
    }
    for powers, coeff in poly4.terms():
        if powers not in table:
            raise AssertionError(f"unexpected monomial {powers} in the t^4 coefficient")
        q4 += coeff * table[powers]
    q2 = sp.simplify(q2.subs(m, N - 1))
    q4 = sp.factor(sp.simplify(q4.subs(m, N - 1)))
    return q2, q4


def _anchor_distances(dim: int):
    """(v₊, v_n1, v_n2, normals): halved squared distances of the anchor's output to its positive and two
    negatives, as polynomials in independent standard normals (``normals``).

    ``dim = 1``: W₀ = 1, data √a·g, noise √c·e.  ``dim = 2``: W₀ = diag(w₁, w₂) on
    diagonal data (a₁, a₂) and noise (c₁, c₂).  The positive shares the anchor's data draw.
    """
    if dim == 1:
        g = sp.symbols("g0:3")  # data of anchor, negative 1, negative 2
        e = sp.symbols("e0:4")  # noise: anchor, positive, negative 1, negative 2
        x = sp.sqrt(a) * g[0] + sp.sqrt(c) * e[0]
        xp = sp.sqrt(a) * g[0] + sp.sqrt(c) * e[1]
        n1 = sp.sqrt(a) * g[1] + sp.sqrt(c) * e[2]
        n2 = sp.sqrt(a) * g[2] + sp.sqrt(c) * e[3]
        return (x - xp) ** 2 / 2, (x - n1) ** 2 / 2, (x - n2) ** 2 / 2, list(g) + list(e)
    w1, w2, a1, a2, c1, c2s = sp.symbols("w1 w2 a1 a2 c1 c2", positive=True)
    normals = []

    def point(tag, data_sym=None):
        gs = sp.symbols(f"g{tag}_0:2") if data_sym is None else data_sym
        es = sp.symbols(f"e{tag}_0:2")
        normals.extend(es)
        if data_sym is None:
            normals.extend(gs)
        return [sp.sqrt(a1) * gs[0] + sp.sqrt(c1) * es[0], sp.sqrt(a2) * gs[1] + sp.sqrt(c2s) * es[1]], gs

    x, g_anchor = point("x")
    xp, _ = point("p", g_anchor)
    n1, _ = point("n1")
    n2, _ = point("n2")

    def v(u, z):
        return (w1**2 * (u[0] - z[0]) ** 2 + w2**2 * (u[1] - z[1]) ** 2) / 2

    return v(x, xp), v(x, n1), v(x, n2), normals


def infonce_quartic_large_n(dim: int = 1) -> sp.Expr:
    """N → ∞ limit of the t⁴ coefficient of :func:`infonce_expansion` (Gaussian data).

    >>> infonce_quartic_large_n(1)     # (3β/4)·s² with s = a + c
    3*beta*(a + c)**2/4
    """
    _, q4 = infonce_expansion(dim, "gaussian")
    return sp.factor(sp.limit(q4, N, sp.oo))


# ------------------------------------------------------------- exact Gaussian loss
def exact_gaussian_expansion(order: int = 6) -> dict[int, sp.Expr]:
    r"""Taylor coefficients in t of ℓ(t) = c t² − (β/2)(log(1 + s t²) + s t²/(1 + s t²)), s = a + c.

    Returns {power: coefficient}.  The t² coefficient is −(βa − (1 − β)c), i.e.
    B = βA0 − (1 − β)C, and the t⁴ coefficient is (3β/4)s² (k = ¾ per unit β).

    >>> co = exact_gaussian_expansion(6)
    >>> sp.simplify(co[2] + (beta*a - (1 - beta)*c)), co[4], co[6]
    (0, 3*beta*(a + c)**2/4, -2*beta*(a + c)**3/3)
    """
    ell = c * t**2 - beta / 2 * (sp.log(1 + s * t**2) + s * t**2 / (1 + s * t**2))
    ser = sp.expand(sp.series(ell, t, 0, order + 1).removeO())
    return {k: sp.factor(ser.coeff(t, k).subs(s, a + c)) for k in range(2, order + 1, 2)}


def exact_gaussian_minimiser_check() -> sp.Expr:
    r"""Residual of dℓ/dλ = 0 at λ* = (1/y − 1)/s, y = (−1 + √(1 + 8c/(βs)))/2; simplifies to 0.

    >>> exact_gaussian_minimiser_check()
    0
    """
    lam = sp.symbols("lambda", positive=True)
    ell = c * lam - beta / 2 * (sp.log(1 + s * lam) + s * lam / (1 + s * lam))
    y = (-1 + sp.sqrt(1 + 8 * c / (beta * s))) / 2
    star = (1 / y - 1) / s
    return sp.simplify(sp.diff(ell, lam).subs(lam, star))


def proposition4_variances() -> tuple[sp.Expr, sp.Expr]:
    r"""(1/8)Var|x − χ|² and (1/8)E_x Var_χ|x − χ|² for 1-D x, χ ~ N(0, s) independent.

    WS Prop. 4 uses the first (total variance, = s², coefficient 1); the
    cumulant expansion of E_x log E_χ e^{−u} gives the second (= ¾ s²).
    """
    g, h = sp.symbols("g h")
    x, chi = sp.sqrt(s) * g, sp.sqrt(s) * h
    q = (x - chi) ** 2
    total = gaussian_expectation(q**2, [g, h]) - gaussian_expectation(q, [g, h]) ** 2
    # conditional on x: E_χ q² − (E_χ q)², then E_x
    cond_mean = gaussian_expectation(q, [h])
    cond_var = gaussian_expectation(q**2, [h]) - cond_mean**2
    conditional = gaussian_expectation(cond_var, [g])
    return sp.simplify(total / 8), sp.simplify(conditional / 8)


# ------------------------------------------------------------------ other losses
def spectral_expansion() -> tuple[sp.Expr, sp.Expr]:
    """(t², t⁴) coefficients of the 1-D spectral contrastive loss: (−2a, s²) with s = a + c."""
    g = sp.symbols("g0:2")
    e = sp.symbols("e0:3")
    x = sp.sqrt(a) * g[0] + sp.sqrt(c) * e[0]
    xp = sp.sqrt(a) * g[0] + sp.sqrt(c) * e[1]
    chi = sp.sqrt(a) * g[1] + sp.sqrt(c) * e[2]
    normals = list(g) + list(e)
    q2 = -2 * gaussian_expectation(x * xp, normals)
    q4 = gaussian_expectation((x * chi) ** 2, normals)
    return sp.simplify(q2), sp.factor(sp.simplify(q4.subs(a, s - c)))


def barlow_twins_expansion(data: str = "exact-moment") -> tuple[sp.Expr, sp.Expr]:
    r"""(t², t⁴) coefficients of 1-D unnormalised Barlow Twins (1 − 𝒞)², 𝒞 = (1/N)Σ_i x_i x_i′.

    E[𝒞] = a gives −2a.  E[𝒞²] = a² + (2ac + c²)/N for an exact-moment data set
    and a² + (s² + a²)/N for fresh Gaussian data.  The off-diagonal λ term is
    quartic and absent in 1-D.
    """
    g, e1, e2 = sp.symbols("g e1 e2")
    normals = [e1, e2]
    if data == "exact-moment":
        xh = sp.sqrt(a) * g  # E over the data set: (1/N)Σ x̂² = a exactly, x̂ fixed
        pair = (xh + sp.sqrt(c) * e1) * (xh + sp.sqrt(c) * e2)
        m1 = gaussian_expectation(pair, normals)
        m2 = gaussian_expectation(pair**2, normals)
        # averaging over the fixed data set needs only (1/N)Σx̂² = a and (1/N)Σx̂⁴, and the
        # cross terms of 𝒞² between different points: E𝒞² = (E𝒞)² + (1/N)·mean_i Var_noise(pair_i)
        mean_c = gaussian_expectation(m1, [g])  # a
        var_pair = sp.expand(m2 - m1**2)  # 2 a c g² + c²
        mean_var = gaussian_expectation(var_pair, [g])
        q4 = mean_c**2 + mean_var / N
    elif data == "gaussian":
        pair = (sp.sqrt(a) * g + sp.sqrt(c) * e1) * (sp.sqrt(a) * g + sp.sqrt(c) * e2)
        allv = [g, e1, e2]
        mean_c = gaussian_expectation(pair, allv)
        q4 = mean_c**2 + (gaussian_expectation(pair**2, allv) - mean_c**2) / N
    else:
        raise ValueError(f"data must be 'gaussian' or 'exact-moment', got {data!r}")
    return sp.simplify(-2 * mean_c), sp.factor(sp.simplify(q4))


def vicreg_quadratic(data: str = "exact-moment") -> sp.Expr:
    r"""t² coefficient of 1-D VICReg (d = 1): λ_inv·E(x − x′)² + λ_var·(−E[v̂]/(2√ε)).

    The variance hinge max(0, γ − √(v̂ t² + ε)) is smooth at t = 0 when γ > √ε;
    its t² coefficient is −v̂/(2√ε), with v̂ the unbiased batch variance, whose
    mean is s for Gaussian data and N a/(N − 1) + c for an exact-moment set.
    Returned in terms of the symbols lambda_inv, lambda_var, epsilon.
    """
    lam_inv, lam_var, eps, v = sp.symbols("lambda_inv lambda_var epsilon v", positive=True)
    hinge = -sp.sqrt(v * t**2 + eps)
    h2 = sp.series(hinge, t, 0, 3).removeO().coeff(t, 2)
    mean_v = N * a / (N - 1) + c if data == "exact-moment" else a + c
    inv = 2 * c  # E(x − x′)² = 2c
    return sp.simplify(lam_inv * inv + lam_var * h2.subs(v, mean_v))


def vicreg_quartic() -> sp.Expr:
    r"""t⁴ coefficient of 1-D VICReg (d = 1) on fresh Gaussian data, per unit s² = (a + c)².

    Only the variance hinge contributes (the covariance term vanishes for d = 1):
    −√(v̂t² + ε) has t⁴ coefficient v̂²/(8ε^{3/2}), and the unbiased batch variance
    of N Gaussian points has E[v̂²] = s²(1 + 2/(N − 1)).

    >>> vicreg_quartic()
    lambda_var*(N + 1)/(8*epsilon**(3/2)*(N - 1))
    """
    lam_var, eps, v = sp.symbols("lambda_var epsilon v", positive=True)
    h4 = sp.series(-sp.sqrt(v * t**2 + eps), t, 0, 5).removeO().coeff(t, 4)
    # E[v̂²] = Var(v̂) + (E v̂)² = 2s²/(N − 1) + s² for the unbiased variance of Gaussian data
    return sp.simplify(lam_var * h4.subs(v, 1) * (1 + 2 / (N - 1)))
