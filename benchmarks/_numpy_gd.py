"""The baseline: plain NumPy gradient descent on one landscape point at a time.

This is the loop a researcher writes without the closed form or a batched JAX
solver: the analytic gradient −2WB + 4k(WΣWᵀ)WΣ + 2γW with NumPy matrix
products, a fixed learning rate, and a stopping rule checked inside the loop.
"""

from __future__ import annotations

import time

import numpy as np


def landscape_to_numpy(land) -> dict:
    """B, Σ, k, γ of one (unbatched) EffectiveLandscape as NumPy float64."""
    return {
        "b": np.asarray(land.b, np.float64),
        "sigma": np.asarray(land.sigma, np.float64),
        "k": float(land.quartic),
        "gamma": float(land.weight_decay),
    }


def np_loss(p: dict, w: np.ndarray) -> float:
    s = w @ p["sigma"] @ w.T
    return float(-np.sum((w @ p["b"]) * w) + p["k"] * np.sum(s * s) + p["gamma"] * np.sum(w * w))


def np_gradient(p: dict, w: np.ndarray) -> np.ndarray:
    ws = w @ p["sigma"]
    s = ws @ w.T
    return -2.0 * (w @ p["b"]) + 4.0 * p["k"] * (s @ ws) + 2.0 * p["gamma"] * w


def np_gradient_diagonal(p: dict, w: np.ndarray) -> np.ndarray:
    """``np_gradient`` for diagonal B and Σ: W·Σ and W·B as column scalings (two products)."""
    ws = w * np.diag(p["sigma"])
    s = ws @ w.T
    return -2.0 * (w * np.diag(p["b"])) + 4.0 * p["k"] * (s @ ws) + 2.0 * p["gamma"] * w


def gd_until_gradient_small(
    p: dict, w0: np.ndarray, lr: float, *, gtol: float = 1e-9, max_steps: int = 200_000
) -> dict:
    """GD until ‖∇L‖_F ≤ gtol (no knowledge of the answer), or ``max_steps``."""
    w = np.array(w0, np.float64, copy=True)
    t0 = time.perf_counter()
    steps = 0
    converged = False
    while steps < max_steps:
        g = np_gradient(p, w)
        if np.sqrt(np.sum(g * g)) <= gtol:
            converged = True
            break
        w -= lr * g
        steps += 1
    seconds = time.perf_counter() - t0
    return {"w": w, "loss": np_loss(p, w), "steps": steps, "seconds": seconds, "converged": converged}


def gd_until_loss_gap(
    p: dict,
    w0: np.ndarray,
    lr: float,
    target: float,
    *,
    rtol: float,
    atol: float,
    momentum: float = 0.0,
    nesterov_restart: bool = False,
    diagonal: bool = False,
    check_every: int = 10,
    max_steps: int = 200_000,
) -> dict:
    """GD (optionally heavy-ball momentum, optax.sgd's convention, or Nesterov's method with
    adaptive restart) until |L − target| ≤ rtol·|target| + atol, checked every
    ``check_every`` steps.  ``diagonal``: the gradient by column scalings (diagonal B, Σ)."""
    grad = np_gradient_diagonal if diagonal else np_gradient
    w = np.array(w0, np.float64, copy=True)
    v = np.zeros_like(w)
    y, theta = w.copy(), 1.0
    tol = rtol * abs(target) + atol
    t0 = time.perf_counter()
    steps = 0
    converged = abs(np_loss(p, w) - target) <= tol
    while not converged and steps < max_steps:
        for _ in range(check_every):
            if nesterov_restart:
                g = grad(p, y)
                w_new = y - lr * g
                theta_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * theta * theta))
                beta = (theta - 1.0) / theta_new
                if np.sum(g * (w_new - w)) > 0:  # momentum points uphill: restart
                    theta_new, beta = 1.0, 0.0
                y = w_new + beta * (w_new - w)
                w, theta = w_new, theta_new
                continue
            g = grad(p, w)
            if momentum:
                v = momentum * v + g  # optax.sgd: trace = g + momentum·trace
                w -= lr * v
            else:
                w -= lr * g
        steps += check_every
        converged = abs(np_loss(p, w) - target) <= tol
    seconds = time.perf_counter() - t0
    return {"w": w, "loss": np_loss(p, w), "steps": steps, "seconds": seconds, "converged": converged}
