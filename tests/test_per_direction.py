"""The batched per-direction closed form against independent routes, point by point.

* the dense Theorem-1 solver :func:`landscape.global_minimum` (eigendecompositions of Σ and
  Σ^{-1/2}(B − γI)Σ^{-1/2}; it shares no code with the per-direction core), whose Gram matrix
  is diagonal in input coordinates for a diagonal problem;
* the rule written out here in NumPy (float64): keep the d1 largest positive ℓ_i = b_i/s_i
  (ties: lower index first), λ_i = b_i/(2k s_i²) there, L* = −Σ_kept ℓ_i²/(4k).

(:func:`landscape.global_minimum_diagonal` runs the same core as ``direction_minimum``,
so it is not used as a reference here.)
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.theory.per_direction import _merge_pairs


def _matrix_route(a, c, loss, out_dim, gamma=0.0, **kw):
    """The dense solver and the diagonal of its Gram matrix (per input coordinate)."""
    land = ls.effective_landscape(ls.Problem.from_diagonal(a, c), loss, weight_decay=gamma, **kw)
    full = ls.global_minimum(land, out_dim)
    return full, np.diag(np.asarray(full.gram))


def _numpy_route(b, s, k, out_dim):
    """(kept, λ per direction, loss) of the module docstring's rule, in NumPy float64."""
    b, s, k = np.asarray(b, float), np.asarray(s, float), float(np.asarray(k))
    ell = b / s
    order = sorted(range(ell.size), key=lambda i: (-ell[i], i))
    kept = np.zeros(ell.size, bool)
    kept[[i for i in order[:out_dim] if ell[i] > 0]] = True
    return kept, np.where(kept, b / (2.0 * k * s * s), 0.0), -np.sum(ell[kept] ** 2) / (4.0 * k)


@pytest.mark.parametrize("out_dim", [3, 9, 12])
def test_matches_global_minimum_on_random_problems(out_dim, tol):
    """Random diagonal problems of every loss and form, d = 9, with and without a binding rank cap."""
    rng = np.random.default_rng(out_dim)
    d = 9
    for trial, loss in enumerate(["infonce", "beta-infonce", "spectral", "vicreg", "barlow-twins"]):
        form = "paper" if trial % 2 else "derived"
        a = rng.uniform(0.05, 3.0, d)
        c = rng.uniform(0.0, 3.0, d)
        gamma = float(rng.uniform(0.0, 0.5))
        b, s, k = ls.direction_spectra(loss, a, c, weight_decay=gamma, form=form)
        fast = ls.direction_minimum(b, s, k, out_dim)
        full, full_diag = _matrix_route(a, c, loss, out_dim, gamma, form=form)
        kept, lam, loss_np = _numpy_route(b, s, k, out_dim)
        assert int(fast.rank) == int(full.rank) == int(kept.sum()), (loss, form)
        np.testing.assert_array_equal(fast.kept, kept)
        assert float(fast.loss) == pytest.approx(float(full.loss), rel=tol["exact"], abs=tol["exact"])
        assert float(fast.loss) == pytest.approx(loss_np, rel=tol["exact"], abs=tol["exact"])
        np.testing.assert_allclose(
            fast.gram_eigenvalues, full.gram_eigenvalues, rtol=tol["exact"] * 10, atol=tol["exact"]
        )
        # Per input coordinate it is the diagonal of the dense solver's Gram matrix, and b_i/(2k s_i²).
        np.testing.assert_allclose(fast.gram_per_direction, full_diag, atol=tol["exact"])
        np.testing.assert_allclose(fast.gram_per_direction, lam, rtol=tol["exact"], atol=tol["exact"])


def test_grid_equals_point_by_point_and_chunking_is_invisible(tol):
    a = np.logspace(-1, 0.7, 9)
    sigma2 = np.linspace(0.0, 6.0, 13)
    gamma = np.linspace(0.0, 1.5, 7)
    b, s, k = ls.direction_spectra("beta-infonce", a, sigma2[:, None, None], weight_decay=gamma[None, :, None])
    assert b.shape == (13, 7, 9)
    grid = ls.direction_minimum(b, s, k, out_dim=5, chunk=10)  # 91 points: 10 blocks, the last padded
    one = ls.direction_minimum(b, s, k, out_dim=5, chunk=10_000)
    for field in ("gram_eigenvalues", "rank", "loss", "kept"):
        np.testing.assert_array_equal(getattr(grid, field), getattr(one, field))
    for i in (0, 4, 12):
        for j in (0, 3, 6):
            full, _ = _matrix_route(a, sigma2[i], "beta-infonce", 5, gamma[j])
            kept, _, _ = _numpy_route(b[i, j], s[i, j], k, 5)
            assert int(grid.rank[i, j]) == int(full.rank) == int(kept.sum())
            assert float(grid.loss[i, j]) == pytest.approx(float(full.loss), abs=tol["exact"])
            np.testing.assert_array_equal(np.asarray(grid.kept[i, j]), kept)


def test_ties_and_rank_cap_keep_lower_indices_first(tol):
    """Four identical directions, cap 2: the first two are kept; loss and spectrum as the matrix route."""
    a = np.array([1.0, 2.0, 2.0, 2.0, 2.0, 0.5])
    c = np.full(6, 0.5)
    b, s, k = ls.direction_spectra("infonce", a, c)
    fast = ls.direction_minimum(b, s, k, out_dim=2)
    np.testing.assert_array_equal(fast.kept, [False, True, True, False, False, False])
    np.testing.assert_array_equal(fast.kept, _numpy_route(b, s, k, 2)[0])
    full, _ = _matrix_route(a, c, "infonce", 2)
    assert float(fast.loss) == pytest.approx(float(full.loss), abs=tol["exact"])
    np.testing.assert_allclose(fast.gram_eigenvalues, full.gram_eigenvalues, atol=tol["exact"])


def test_on_a_threshold_the_direction_counts_as_collapsed():
    # b_0 = ½(a − c) − γ = 0 exactly.
    b, s, k = ls.direction_spectra("beta-infonce", np.array([2.0, 1.0]), np.array([1.0, 0.0]), weight_decay=0.5)
    sol = ls.direction_minimum(b, s, k)
    assert np.asarray(b).tolist() == [0.0, 0.0]  # both exactly on their threshold
    assert sol.kept.tolist() == [False, False]
    assert int(sol.rank) == int(np.sum(np.asarray(b) > 0)) == 0 and float(sol.loss) == 0.0


@pytest.mark.x64_only
def test_many_directions_use_the_sort_fallback(tol):
    rng = np.random.default_rng(7)
    d = 80
    a, c = rng.uniform(0.1, 2.0, d), rng.uniform(0.0, 2.0, d)
    b, s, k = ls.direction_spectra("beta-infonce", a, c)
    fast = ls.direction_minimum(b, s, k, out_dim=20)
    full, full_diag = _matrix_route(a, c, "beta-infonce", 20)
    kept, lam, _ = _numpy_route(b, s, k, 20)
    assert int(fast.rank) == int(full.rank) == int(kept.sum()) == 20
    np.testing.assert_allclose(fast.gram_eigenvalues, full.gram_eigenvalues, atol=tol["exact"])
    np.testing.assert_array_equal(np.asarray(fast.kept), kept)
    np.testing.assert_allclose(fast.gram_per_direction, full_diag, atol=tol["exact"])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 32, 33, 64, 65, 100])
def test_sort_descending_equals_numpy(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(4, n))
    x[:, : n // 3] = np.round(x[:, : n // 3])  # ties
    x = np.asarray(jnp.asarray(x))  # the active precision
    np.testing.assert_array_equal(ls.sort_descending(jnp.asarray(x)), -np.sort(-x, axis=-1))
    np.testing.assert_array_equal(ls.sort_descending(jnp.asarray(x.T), axis=0), -np.sort(-x.T, axis=0))


def test_merge_network_sorts_every_zero_one_input():
    """0-1 principle: a comparator network sorts everything iff it sorts all 0/1 inputs."""
    n = 8
    pairs = _merge_pairs(n)
    for code in range(2**n):
        v = [(code >> i) & 1 for i in range(n)]
        for i, j in pairs:
            v[i], v[j] = max(v[i], v[j]), min(v[i], v[j])
        assert v == sorted(v, reverse=True)


def test_gradient_of_the_minimum_is_the_envelope_derivative(tol):
    """dL*/dσ² through the closed form = ∂L/∂σ² at fixed W* (envelope theorem), an independent route."""
    a = np.array([3.0, 1.5, 0.7, 0.2])

    def l_star(sigma2, gamma):
        b, s, k = ls.direction_spectra("beta-infonce", a, sigma2, weight_decay=gamma)
        return ls.direction_minimum(b, s, k).loss

    def l_at(w, sigma2, gamma):
        land = ls.effective_landscape(
            ls.Problem(jnp.diag(jnp.asarray(a)), sigma2 * jnp.eye(4)), "beta-infonce", weight_decay=gamma
        )
        return ls.loss(land, w)

    for sigma2, gamma in ((0.5, 0.0), (1.2, 0.1), (2.0, 0.3)):
        w_star = ls.global_minimum(
            ls.effective_landscape(ls.Problem.from_diagonal(a, sigma2), "beta-infonce", weight_decay=gamma), 4
        ).weights
        got = jax.grad(l_star, argnums=(0, 1))(sigma2, gamma)
        expect = jax.grad(l_at, argnums=(1, 2))(w_star, sigma2, gamma)
        np.testing.assert_allclose(got, expect, rtol=tol["exact"] * 100, atol=tol["exact"])


def test_jit_with_traced_inputs(tol):
    a = jnp.asarray([2.0, 1.0, 0.5])
    f = jax.jit(lambda s2: ls.direction_minimum(*ls.direction_spectra("beta-infonce", a, s2[:, None]), out_dim=2))
    sol = f(jnp.linspace(0.0, 3.0, 7))
    assert sol.rank.shape == (7,) and sol.gram_eigenvalues.shape == (7, 3)
    # b = ½a − ½σ² > 0 for a_i > σ²: 3, 2, 1, 1, 0, 0, 0 directions, capped at 2.
    assert sol.rank.tolist() == [2, 2, 1, 1, 0, 0, 0]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="s .*> 0"):
        ls.direction_minimum(jnp.ones(3), jnp.asarray([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="quartic"):
        ls.direction_minimum(jnp.ones(3), jnp.ones(3), quartic=0.0)
    with pytest.raises(ValueError, match="out_dim"):
        ls.direction_minimum(jnp.ones(3), jnp.ones(3), out_dim=0)
    with pytest.raises(ValueError, match="last axis"):
        ls.direction_minimum(jnp.ones(()), jnp.ones(()))
    with pytest.raises(ValueError, match="loss"):
        ls.direction_spectra("simclr-v9", [1.0], [0.5])
