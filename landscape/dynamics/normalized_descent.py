r"""Gradient descent with normalization: finite κ, hard normalization (κ → ∞), and a bias.

Three training problems, each the numerical twin of a closed form in
:mod:`landscape.theory.normalization` and :mod:`landscape.theory.bias`:

* **finite κ**: descend L(W) = E(W) + κ(ρ − c)² with ρ = Tr[WΣWᵀ] and
  E(W) = −Tr[W(B − γI)Wᵀ] + k·Tr[(WΣWᵀ)²] (twin of
  :func:`~landscape.normalized_global_minimum`);
* **finite κ with a bias** f = Wx + b: descend L(W, b) = E(W) + κ(ρ + ‖b‖² − c)²
  over both (twin of :func:`~landscape.bias_global_minimum`);
* **hard normalization**: minimise E on the constraint set h(W, b) = ρ + ‖b‖² = c
  (without a bias: ρ = c), the κ → ∞ limit (twin of
  :func:`~landscape.hard_normalization_limit`).

Hard normalization is Riemannian gradient descent: the gradient of E is
projected onto the tangent space of {h = c},

    g_t = g − (⟨g, n⟩/⟨n, n⟩)·n,      n = ∇h = (2WΣ, 2b),

the optax optimizer steps along g_t, and the result is scaled back onto the
constraint, p ← p·√(c/h(p)) (h is homogeneous of degree 2, so the scaling lands
exactly on h = c).  Its fixed points are the KKT points ∇E = λ∇h, i.e. the
stationary points of the constrained problem; the initial point is scaled onto
the constraint first.

A run that starts with b = 0 keeps b = 0 (∂L/∂b ∝ b), so the bias is started
at a small random value like W.

Example (WS §6, T7 first row: κ = 1, c = 1):
    >>> import jax, optax
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([2.0, 1.0, 0.6, 0.3, 0.15], [0.1, 0.1, 0.5, 0.1, 0.1])
    >>> nl = ls.normalized_landscape(ls.effective_landscape(p, "infonce"), kappa=1.0, norm_target=1.0)
    >>> w0 = ls.random_init(jax.random.PRNGKey(0), 5, 5, 1e-2)
    >>> run = ls.normalized_gradient_descent(nl, w0, optimizer=optax.sgd(0.05, momentum=0.9), steps=4000)
    >>> round(float(run.rho), 4), round(float(run.loss), 5)     # closed form: 1.1464, -0.60976
    (1.1464, -0.60976)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from landscape.core.effective_landscape import gradient as _eff_gradient
from landscape.core.effective_landscape import loss as _eff_loss
from landscape.core.normalized_landscape import (
    NormalizedLandscape,
    NormalizedSolution,
    biased_gradient,
    biased_loss,
    normalized_gradient,
    normalized_loss,
    output_norm,
)
from landscape.core.solution import DEFAULT_RANK_RTOL, gram_spectrum, trained_rank
from landscape.core.spectrum import rank_scales, stationary_norm_bound
from landscape.dynamics._checks import check_finite_weights, check_weights, descent_options, in_dtype, int_in_range
from landscape.dynamics.descent import descend, squared_norm
from landscape.dynamics.stability import _lanczos_top

__all__ = ["normalized_gradient_descent", "normalized_max_stable_learning_rate"]


# ---------------------------------------------------------------- the three problems
def _split(params) -> tuple[jax.Array, jax.Array | None]:
    return (params[0], params[1]) if isinstance(params, tuple) else (params, None)


def _constraint(nl: NormalizedLandscape, params) -> jax.Array:
    """h(W, b) = Tr[WΣWᵀ] + ‖b‖², the average squared output norm with the bias."""
    w, b = _split(params)
    h = output_norm(nl, w)
    return h if b is None else h + jnp.sum(b * b)


def _objective(nl: NormalizedLandscape, params, hard: bool) -> jax.Array:
    """The loss each mode minimises (on the constraint set, for ``hard``)."""
    w, b = _split(params)
    if hard:
        return _eff_loss(nl.base, w)
    return normalized_loss(nl, w) if b is None else biased_loss(nl, w, b)


def _tangent(nl: NormalizedLandscape, params, g):
    """g minus its component along the constraint normal n = ∇h = (2WΣ, 2b)."""
    w, b = _split(params)
    n = (2.0 * (w @ nl.sigma), 2.0 * b) if b is not None else 2.0 * (w @ nl.sigma)
    dot = lambda x, y: sum(
        jnp.sum(u * v)
        for u, v in zip(
            jax.tree_util.tree_leaves(x),  # noqa: E731
            jax.tree_util.tree_leaves(y),
        )
    )
    nn = dot(n, n)
    coef = dot(g, n) / jnp.where(nn > 0, nn, 1.0)
    return jax.tree_util.tree_map(lambda gi, ni: gi - coef * ni, g, n)


def _field(nl: NormalizedLandscape, params, hard: bool):
    """The descent direction: the gradient (finite κ) or its tangent projection (hard)."""
    w, b = _split(params)
    if hard:
        g = _eff_gradient(nl.base, w)
        return _tangent(nl, params, g if b is None else (g, jnp.zeros_like(b)))
    return normalized_gradient(nl, w) if b is None else biased_gradient(nl, w, b)


def _retract(nl: NormalizedLandscape, params):
    """Scale the parameters onto h = c."""
    h = _constraint(nl, params)
    factor = jnp.sqrt(nl.norm_target / jnp.where(h > 0, h, 1.0))
    return jax.tree_util.tree_map(lambda x: x * factor, params)


def _check_landscape(nl: Any) -> None:
    if not isinstance(nl, NormalizedLandscape):
        raise ValueError(
            "nl must be a NormalizedLandscape (landscape.normalized_landscape(landscape, kappa, c)); "
            f"got {type(nl).__name__}"
        )


def _check_bias(bias: Any, out_dim: int, dtype) -> jax.Array:
    bias = jnp.asarray(bias)
    if bias.shape != (out_dim,):
        raise ValueError(f"bias0 must have shape ({out_dim},) (one entry per output), got {bias.shape}")
    if not jnp.issubdtype(bias.dtype, jnp.floating):
        raise ValueError(f"bias0 must be a floating-point array, got dtype {bias.dtype}")
    check_finite_weights(bias, "bias0")
    return bias.astype(dtype)


# ---------------------------------------------------------------- descent
def normalized_gradient_descent(
    nl: NormalizedLandscape,
    w0: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    steps: int,
    bias0: jax.Array | None = None,
    hard: bool = False,
    save_every: int | None = None,
    rank_rtol: float = DEFAULT_RANK_RTOL,
    divergence_factor: float = 1e8,
) -> NormalizedSolution:
    r"""Train W (and b when ``bias0`` is given) on the normalized landscape ``nl``.

    ``hard=False`` descends the penalised loss with strength ``nl.kappa``;
    ``hard=True`` ignores κ and minimises E(W) on ρ + ‖b‖² = c by projected
    (Riemannian) descent, as in the module docstring.  ``steps``, ``save_every``
    and divergence follow :func:`~landscape.gradient_descent` (the scale of the
    divergence test is 1 + ‖W₀‖² + ‖b₀‖² + N + c·d0/λ_min(Σ), N the bound on ‖W‖²
    at the unnormalized stationary points of
    :func:`~landscape.core.spectrum.stationary_norm_bound`; the last term bounds
    ‖W‖² on ρ ≤ c).

    Returns:
        A :class:`~landscape.NormalizedSolution` at the final (or frozen)
        parameters: ``loss`` is the mode's objective (the base loss E for
        ``hard``), ``rho`` = Tr[WΣWᵀ], ``bias`` (zeros without a bias) and
        ``bias_norm_sq``, plus ``times``, ``trajectory_eigenvalues``,
        ``trajectory_loss``, ``diverged`` and ``diverged_step``.

    >>> import jax, optax
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([1.0] * 4, [3.0, 0.0, 0.0, 0.0]), "infonce")
    >>> nl = ls.normalized_landscape(land, norm_target=1.0)
    >>> w0 = ls.random_init(jax.random.PRNGKey(1), 4, 4, 1e-2)
    >>> run = ls.normalized_gradient_descent(nl, w0, optimizer=optax.sgd(0.1), steps=3000, hard=True)
    >>> [round(float(v), 6) for v in run.gram.diagonal()], round(float(run.rho), 12)   # the noisy direction collapses
    ([0.0, 0.333333, 0.333333, 0.333333], 1.0)
    >>> [round(float(v), 6) for v in ls.hard_normalization_limit(nl, 4).gram.diagonal()]
    [0.0, 0.333333, 0.333333, 0.333333]
    """
    _check_landscape(nl)
    w0 = check_weights(w0, nl.base)
    nl = in_dtype(nl, w0.dtype)
    steps, save_every = descent_options(steps, save_every, rank_rtol, divergence_factor)
    hard = bool(hard)
    out_dim = w0.shape[0]
    params0 = w0 if bias0 is None else (w0, _check_bias(bias0, out_dim, w0.dtype))
    if hard:
        params0 = _retract(nl, params0)

    s_eig = jnp.linalg.eigvalsh(nl.sigma)
    s_min = jnp.maximum(s_eig[0], jnp.finfo(w0.dtype).eps * jnp.trace(nl.sigma))
    scale = 1.0 + squared_norm(params0) + stationary_norm_bound(nl.base, out_dim) + nl.norm_target * nl.dim / s_min
    limit = divergence_factor * scale

    def record(p):
        return gram_spectrum(_split(p)[0]), _objective(nl, p, hard)

    params, diverged, div_step, times, (eigs, losses) = descend(
        params0,
        lambda p: _field(nl, p, hard),
        optimizer,
        steps,
        save_every,
        limit,
        record,
        retract=(lambda p: _retract(nl, p)) if hard else None,
    )
    # Gram scale of the survival rule: the base landscape's, or c/s_min ≥ ρ/s_min on the shell ρ ≤ c.
    gram_scale = jnp.maximum(rank_scales(nl.base).gram, nl.norm_target / s_eig[0])
    return _normalized_solution(
        nl,
        params,
        hard,
        gram_scale,
        rank_rtol,
        times=times,
        trajectory_eigenvalues=eigs,
        trajectory_loss=losses,
        diverged=diverged,
        diverged_step=div_step,
    )


def _normalized_solution(
    nl: NormalizedLandscape, params, hard: bool, gram_scale, rank_rtol, **trajectory
) -> NormalizedSolution:
    """The :class:`~landscape.NormalizedSolution` at the final parameters (W or (W, b)) of a run."""
    w, b = _split(params)
    eig = gram_spectrum(w)
    bias = jnp.zeros((w.shape[0],), w.dtype) if b is None else b
    return NormalizedSolution(
        weights=w,
        gram=w.T @ w,
        gram_eigenvalues=eig,
        rank=trained_rank(eig, gram_scale, rank_rtol),
        loss=_objective(nl, params, hard),
        rho=output_norm(nl, w),
        bias=bias,
        bias_norm_sq=jnp.sum(bias * bias),
        **trajectory,
    )


# ---------------------------------------------------------------- step size
def normalized_max_stable_learning_rate(
    nl: NormalizedLandscape, w: jax.Array, bias: jax.Array | None = None, *, hard: bool = False, iterations: int = 80
) -> jax.Array:
    r"""2/λ_max of the Jacobian of the descent direction at (W, b): the largest stable plain-GD step there.

    For finite κ this is the Hessian of the penalised loss over (W, b).  For
    ``hard`` it is the Jacobian of the projected gradient restricted to the
    tangent space, P·J·P (symmetrised), which at a KKT point is the Hessian of
    the Lagrangian E − λ(h − c) on the tangent space: the curvature that the
    projected iteration sees.  Dense up to 1024 parameters, Lanczos above.
    Returns ``inf`` when no eigenvalue is positive.

    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> land = ls.effective_landscape(ls.Problem.from_diagonal([2.0], [0.0]), "infonce")
    >>> nl = ls.normalized_landscape(land, kappa=0.0)                   # κ = 0: the base landscape
    >>> round(float(normalized_max_stable_learning_rate(nl, jnp.full((1, 1), 0.5))), 6)
    0.25
    """
    _check_landscape(nl)
    w = check_weights(w, nl.base)
    nl = in_dtype(nl, w.dtype)
    iterations = int_in_range(iterations, "iterations", 1)
    params = w if bias is None else (w, _check_bias(bias, w.shape[0], w.dtype))
    flat, unravel = ravel_pytree(params)

    def project(v):
        return ravel_pytree(_tangent(nl, params, unravel(v)))[0] if hard else v

    def field(v):
        return ravel_pytree(_field(nl, unravel(v), hard))[0]

    def matvec(v):
        pv = project(v)
        jv = jax.jvp(field, (flat,), (pv,))[1]
        return project(jv)

    n = flat.size
    if n <= 1024:
        jac = jax.vmap(matvec)(jnp.eye(n, dtype=flat.dtype))
        top = jnp.linalg.eigvalsh(0.5 * (jac + jac.T))[-1]
    else:
        top = _lanczos_top(matvec, n, iterations, jax.random.PRNGKey(0), flat.dtype)
    return jnp.where(top > 0, 2.0 / jnp.where(top > 0, top, 1.0), jnp.inf)
