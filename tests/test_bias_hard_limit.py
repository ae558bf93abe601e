"""Theorem 2 at κ → ∞ (``bias_hard_normalization_limit``) against two independent routes.

1. The finite-κ bias minimum (``bias_global_minimum``) at large κ tends to it.
2. A direct minimisation in NumPy: in the whitened spectrum μ the problem is
   min Σ(kμ_i² − ℓ_i μ_i) over {μ ≥ 0, Σμ ≤ c}, the Euclidean projection of ℓ/(2k)
   onto that capped simplex; ‖b‖² = c − Σμ.
"""

from __future__ import annotations

import numpy as np
import pytest

import landscape as ls
from landscape.theory.bias import bias_hard_normalization_limit


def _problems():
    diag = ls.Problem.from_diagonal([2.0, 1.0, 0.6, 0.3, 0.15], [0.1, 0.1, 0.5, 0.1, 0.1])
    rng = np.random.default_rng(3)
    m = rng.normal(size=(4, 4))
    a0 = m @ m.T / 4 + 0.2 * np.eye(4)
    n = rng.normal(size=(4, 4))
    full = ls.Problem.from_arrays(a0, n @ n.T / 8 + 0.05 * np.eye(4))
    return {"diagonal": diag, "full": full}


PROBLEMS = _problems()


def _capped_simplex_minimum(lam: np.ndarray, k: float, c: float) -> np.ndarray:
    """argmin Σ(kμ² − ℓμ) over μ ≥ 0, Σμ ≤ c: project ℓ/(2k) onto the capped simplex (by sorting)."""
    y = lam / (2.0 * k)
    if np.maximum(y, 0.0).sum() <= c:
        return np.maximum(y, 0.0)
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - c
    m = np.nonzero(u - css / np.arange(1, y.size + 1) > 0)[0][-1]
    return np.maximum(y - css[m] / (m + 1), 0.0)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("c", [0.3, 3.0])  # ρ₀ > c (no bias) and ρ₀ < c (the bias takes the rest)
def test_hard_bias_limit_two_routes(name, c, tol):
    land = ls.effective_landscape(PROBLEMS[name], "infonce")
    d1 = PROBLEMS[name].dim
    sol = bias_hard_normalization_limit(land, d1, c)
    rho, bias = float(sol.rho), float(sol.bias_norm_sq)
    assert rho + bias == pytest.approx(c, rel=tol["exact"] * 10)
    assert float(np.linalg.norm(np.asarray(sol.bias))) ** 2 == pytest.approx(bias, rel=1e-5, abs=tol["exact"])

    # Route 2: direct minimisation over the whitened spectrum (NumPy, no closed form of the library).
    sigma, b_eff = np.asarray(land.sigma, float), np.asarray(land.b_eff, float)
    w, v = np.linalg.eigh(sigma)
    root = v @ np.diag(w**-0.5) @ v.T
    k = float(land.quartic)
    lam = np.linalg.eigvalsh(root @ b_eff @ root)
    mu = _capped_simplex_minimum(lam, k, c)
    assert rho == pytest.approx(mu.sum(), rel=tol["exact"] * 10)
    assert bias == pytest.approx(c - mu.sum(), abs=tol["exact"] * 10 * c)
    assert float(sol.loss) == pytest.approx(float(np.sum(k * mu**2 - lam * mu)), rel=tol["exact"] * 10)
    assert int(sol.rank) == int(np.sum(mu > 1e-9 * mu.max()))
    assert (bias > 0) == (c == 3.0)

    # Route 1: the finite-κ minimum over (W, b) at large κ (error O(1/κ)).
    big = ls.bias_global_minimum(ls.normalized_landscape(land, 1e5, c), d1)
    assert float(big.rho) == pytest.approx(rho, rel=1e-3)
    assert float(big.bias_norm_sq) == pytest.approx(bias, abs=1e-3 * c)
    assert float(big.loss) == pytest.approx(float(sol.loss), rel=1e-3)
    np.testing.assert_allclose(np.asarray(big.gram_eigenvalues), np.asarray(sol.gram_eigenvalues), rtol=1e-3, atol=1e-5)


def test_hard_bias_limit_takes_c_from_a_normalized_landscape():
    land = ls.effective_landscape(PROBLEMS["diagonal"], "infonce")
    a = bias_hard_normalization_limit(ls.normalized_landscape(land, 7.0, 3.0), 5)
    b = bias_hard_normalization_limit(land, 5, 3.0)
    assert float(a.bias_norm_sq) == float(b.bias_norm_sq)
    with pytest.raises(ValueError, match="norm_target"):
        bias_hard_normalization_limit(land, 5)
    with pytest.raises(ValueError, match="norm_target"):
        bias_hard_normalization_limit(land, 5, -1.0)
