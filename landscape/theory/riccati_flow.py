r"""Gradient flow in closed form for isotropic Σ = s·I and any W₀: the Gram Riccati equation.

With M = B − γI and Σ = s·I, the flow dW/dt = 2WM − 4ks²(WWᵀ)W makes the Gram
matrix G = WᵀW obey the matrix Riccati equation

    dG/dt = 2(MG + GM) − 8ks²·G²,

whose solution, for any W₀ (any rank, any d1), is

    G(t) = E·W₀ᵀ (I + 8ks²·W₀ K W₀ᵀ)⁻¹ W₀·E,   E = e^{2Mt},  K = ∫₀ᵗ e^{4Mτ} dτ.

(Proof: W(t) = R(t)W₀E with dR/dt = −4ks²·R W₀E²W₀ᵀ RᵀR solves the flow, and
Y = RᵀR obeys dY/dt = −8ks²·Y W₀E²W₀ᵀ Y, solved by Y = (I + 8ks²W₀KW₀ᵀ)⁻¹.)
Where G₀ is invertible this is the Lyapunov form G⁻¹(t) = E⁻¹G₀⁻¹E⁻¹ + 8ks²·E⁻¹KE⁻¹.

The loss depends on W only through G (Tr[(WΣWᵀ)²] = s²Tr[G²]), so the
trajectory returns a W_eff(t) with W_effᵀW_eff = G(t) (the true W(t) is R·W₀E,
the same up to a left rotation).  It is computed in the eigenbasis of M
(M = Q diag(m) Qᵀ) without overflow: with y_i = (W₀Q)_i·e^{ℓ_i}, e^{2ℓ_i} = 8ks²φ_i,
φ_i = (e^{4m_i t} − 1)/(4m_i), and Δ_i = 8ks²(1 − e^{−4m_i t})/(4m_i),

    QᵀGQ = Δ^{−1/2} Yᵀ(I + YYᵀ)⁻¹Y Δ^{−1/2}.

The columns of Y grow at different exponential rates, so Y is never formed:
with the columns sorted by log‖y_i‖ and W₀Q = Q_y R̂ (QR), Y = Q_y D T with
D = diag(e^{ℓ_i}) and T = D⁻¹R̂·diag(e^{ℓ}) bounded (|T_ij| ≤ ‖(W₀Q)_i‖), and
Yᵀ(I + YYᵀ)⁻¹Y = Tᵀ(D⁻² + TTᵀ)⁻¹T = PPᵀ, P the top block of the orthonormal
factor of [Tᵀ; D⁻¹].  Everything is in logarithms, so any finite t works, and
t = inf is evaluated at a time where every growing direction has converged
(e^{−4m_min t} = e^{−50}), with the directions m ≤ 0 set to 0.  Degenerate W₀
(a zero component along a growing eigenvector together with fewer rows than
growing directions) may lose accuracy; such a W₀ is usually aligned, and the
"aligned" closed form takes it.

Example (Σ = I, random W₀: the limit is the global minimum):
    >>> import jax, jax.numpy as jnp
    >>> import landscape as ls
    >>> a0 = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    >>> land = ls.effective_landscape(ls.Problem.from_arrays(a0, 4.0 * jnp.eye(2) - a0), "infonce")  # Σ = 4I
    >>> w0 = 0.1 * jax.random.normal(jax.random.PRNGKey(0), (2, 2))
    >>> state = isotropic_flow(land, w0)(jnp.inf)
    >>> bool(jnp.allclose(state.loss, ls.global_minimum(land, 2).loss))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.core.linalg import gram_spectrum
from landscape.theory.exact_flow import FlowState, check_initial_weights, check_times, exact_case

__all__ = ["isotropic_flow", "isotropic_weights"]


def isotropic_flow(landscape: EffectiveLandscape, w0: Any) -> Callable[[Any], FlowState]:
    """The exact flow for Σ = s·I as a function of t (scalar or any shape; inf = the limit).

    Raises ValueError when Σ is not isotropic.
    """
    w0 = check_initial_weights(landscape, w0, "isotropic_flow")
    case = exact_case(landscape, w0)
    if case.case is None:
        raise ValueError(f"isotropic_flow needs sigma = s·I: {case.reason}")
    dtype = w0.dtype
    m, q = np.linalg.eigh(np.asarray(landscape.b_eff, float))
    sigma = np.asarray(landscape.sigma, float)
    s = float(np.trace(sigma)) / landscape.dim
    c = 8.0 * float(np.asarray(landscape.quartic, float)) * s * s
    rate, basis = jnp.asarray(m, dtype), jnp.asarray(q, dtype)
    wq = jnp.asarray(np.asarray(w0, float) @ q, dtype)
    k_s2 = jnp.asarray(c / 8.0, dtype)
    # t = inf is evaluated where e^{−4 m_min t} is far below the resolution of float64.
    positive = m[m > 0]
    t_limit = jnp.asarray(50.0 / (4.0 * positive.min()) if positive.size else 1.0, dtype)

    args = (wq, rate, jnp.asarray(c, dtype), k_s2, t_limit)

    def flow(t: Any) -> FlowState:
        return _isotropic_states(*args, check_times(t, dtype))

    flow.basis = basis  # type: ignore[attr-defined]
    return flow


@jax.jit
def _isotropic_states(
    wq: jax.Array, rate: jax.Array, c: jax.Array, k_s2: jax.Array, t_limit: jax.Array, t: jax.Array
) -> FlowState:
    """Gram spectrum and loss at times ``t`` (any shape); one compiled program per shape for every problem."""

    def one(time: jax.Array) -> FlowState:
        w_eff = isotropic_weights(wq, rate, c, time, t_limit)
        gram = w_eff.T @ w_eff
        loss = -jnp.sum(rate * jnp.diagonal(gram)) + k_s2 * jnp.sum(gram * gram)
        return FlowState(gram_eigenvalues=gram_spectrum(w_eff), loss=loss)

    out = jax.vmap(one)(t.ravel())
    return FlowState(out.gram_eigenvalues.reshape(t.shape + (-1,)), out.loss.reshape(t.shape))


def isotropic_weights(wq: jax.Array, rate: jax.Array, c: jax.Array, t: jax.Array, t_limit: jax.Array) -> jax.Array:
    """W_eff(t) in the eigenbasis of M: W_effᵀW_eff = QᵀG(t)Q (see the module docstring).

    ``wq`` = W₀Q (d1×d0), ``rate`` = m (d0), ``c`` = 8ks², ``t`` a scalar ≥ 0; t = inf
    is evaluated at ``t_limit`` (where every growing direction has converged to the
    dtype's resolution) with the directions m ≤ 0 set to their limit 0.
    """
    d0 = wq.shape[1]
    at_inf = jnp.isinf(t)
    te = jnp.where(at_inf, t_limit, t)
    r = 4.0 * rate
    safe_r = jnp.where(r == 0, 1.0, r)
    h = jnp.where(r == 0, te, -jnp.expm1(-safe_r * te) / safe_r)  # Δ/c
    # ℓ = log √(cφ), φ = expm1(rt)/r = e^{rt}·h, without overflow.
    phi_low = jnp.where(r == 0, te, jnp.expm1(safe_r * te) / safe_r)  # bounded for r < 0
    log_phi = jnp.where(r > 0, r * te + jnp.log(jnp.where(r > 0, h, 1.0)), jnp.log(jnp.where(r > 0, 1.0, phi_low)))
    ell = 0.5 * (jnp.log(c) + log_phi)
    col = jnp.sqrt(jnp.sum(wq * wq, axis=0))
    key = ell + jnp.log(col)  # log ‖y_i‖: −inf for a zero column
    order = jnp.argsort(-key)
    ell_p = ell[order]
    rhat = jnp.linalg.qr(wq[:, order], mode="r")  # (k, d0), k = min(d1, d0)
    k = rhat.shape[0]
    upper = jnp.arange(d0)[None, :] >= jnp.arange(k)[:, None]
    # T = D_k⁻¹ R̂ D: bounded (|T_ij| ≤ ‖w₀ column i‖) after sorting by ‖y_i‖.
    log_t = jnp.log(jnp.abs(rhat)) + (ell_p[None, :] - ell_p[:k, None])
    tmat = jnp.where(upper & (rhat != 0), jnp.sign(rhat) * jnp.exp(jnp.where(upper, log_t, 0.0)), 0.0)
    # Yᵀ(I + YYᵀ)⁻¹Y = Tᵀ(D_k⁻² + TTᵀ)⁻¹T = PPᵀ with P the top block of the orthonormal factor of [Tᵀ; D_k⁻¹].
    stacked = jnp.concatenate([tmat.T, jnp.diag(jnp.exp(-ell_p[:k]))], axis=0)
    q_top = jnp.linalg.qr(stacked)[0][:d0]  # (d0, k)
    w_sorted = jnp.zeros((k, d0), wq.dtype).at[:, order].set(q_top.T)
    inv_sqrt_delta = jnp.where(at_inf & (rate <= 0), 0.0, 1.0 / jnp.sqrt(c * h))
    w_eff = w_sorted * inv_sqrt_delta[None, :]
    # At t = 0 (where Δ = 0) the answer is W₀Q itself, reduced to min(d1, d0) rows.
    start = jnp.linalg.qr(wq, mode="r") if wq.shape[0] > d0 else wq
    return jnp.where(t == 0, start, w_eff)
