"""The effective loss, its analytic gradient, the Hessian at the origin and the slices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls


def random_setup(seed, d0=5, d1=3, commuting=False):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 3.0, d0)
    c = rng.uniform(0.1, 2.0, d0)
    a0 = np.diag(a)
    if not commuting:
        q, _ = np.linalg.qr(rng.normal(size=(d0, d0)))
        a0 = q @ a0 @ q.T
    p = ls.Problem.from_arrays(a0, np.diag(c))
    land = ls.effective_landscape(p, "beta-infonce", form="derived", beta=0.6, quartic=0.8, weight_decay=0.1)
    w = jnp.asarray(rng.normal(size=(d1, d0)) * 0.3)
    return p, land, w


def numpy_loss(b, sigma, k, gamma, w):
    s = w @ sigma @ w.T
    return -np.trace(w @ b @ w.T) + k * np.trace(s @ s) + gamma * np.sum(w * w)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_matches_numpy(seed, tol):
    _, land, w = random_setup(seed)
    ref = numpy_loss(
        np.asarray(land.b, float),
        np.asarray(land.sigma, float),
        float(land.quartic),
        float(land.weight_decay),
        np.asarray(w, float),
    )
    assert float(ls.loss(land, w)) == pytest.approx(ref, rel=tol["exact"], abs=tol["exact"])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(3, 5), (5, 5), (7, 5)])
def test_analytic_gradient_matches_autodiff(seed, shape, tol):
    _, land, _ = random_setup(seed)
    w = jnp.asarray(np.random.default_rng(seed + 10).normal(size=shape) * 0.4)
    g = ls.gradient(land, w)
    g_ad = jax.grad(lambda x: ls.loss(land, x))(w)
    np.testing.assert_allclose(np.asarray(g), np.asarray(g_ad), rtol=tol["exact"] * 10, atol=tol["exact"] * 10)


def test_gradient_of_gradient_matches_hessian_vector_product(tol):
    # The analytic gradient must itself be differentiable (used by Hessian-vector products).
    _, land, w = random_setup(3)
    v = jnp.ones_like(w) * 0.1
    hvp_analytic = jax.jvp(lambda x: ls.gradient(land, x), (w,), (v,))[1]
    hvp_autodiff = jax.jvp(jax.grad(lambda x: ls.loss(land, x)), (w,), (v,))[1]
    np.testing.assert_allclose(np.asarray(hvp_analytic), np.asarray(hvp_autodiff), rtol=1e-4, atol=tol["exact"] * 10)


@pytest.mark.parametrize("d1", [1, 2, 4])
def test_hessian_at_origin_matches_autodiff(d1, tol):
    _, land, _ = random_setup(4)
    d0 = land.dim
    h = jax.hessian(lambda flat: ls.loss(land, flat.reshape(d1, d0)))(jnp.zeros(d1 * d0, land.b.dtype))
    np.testing.assert_allclose(
        np.asarray(ls.hessian_at_origin(land, d1)), np.asarray(h), rtol=tol["exact"], atol=tol["exact"]
    )


def test_landau_slice_is_exact_quartic_polynomial(tol):
    # T11: L(a W0) = -a^2 T2 + a^4 T4 for every W0 and a.
    _, land, w0 = random_setup(5)
    scales = jnp.linspace(-2.0, 2.0, 41)
    direct = jax.vmap(lambda a: ls.loss(land, a * w0))(scales)
    np.testing.assert_allclose(
        np.asarray(ls.radial_slice(land, w0, scales)),
        np.asarray(direct),
        rtol=tol["exact"] * 10,
        atol=tol["exact"] * 10,
    )
    t2, t4 = ls.landau_coefficients(land, w0)
    # The origin is a local minimum along the ray iff T2 <= 0: compare with the sign of L at small a.
    small = float(ls.loss(land, 1e-2 * w0))
    assert (float(t2) <= 0) == (small >= 0)
    assert float(t4) > 0


def test_landau_slice_origin_stability_switches_with_augmentation():
    # beta-InfoNCE (paper form, beta=1/2): B = A0 - C.  With C = s * I the origin along W0 = e1
    # is a maximum for s < a1 and a minimum for s > a1.
    w0 = jnp.zeros((1, 3)).at[0, 0].set(1.0)
    for s2, origin_min in [(0.5, False), (2.5, True)]:
        land = ls.effective_landscape(ls.Problem.isotropic([2.0, 1.0, 0.5], s2), "beta-infonce", form="paper")
        t2, _ = ls.landau_coefficients(land, w0)
        assert (float(t2) <= 0) == origin_min


def test_spectral_halves_slice(tol):
    _, land, w = random_setup(6, d1=4)
    r1 = jnp.array([0.0, 0.5, 1.0, 1.2])
    r2 = jnp.array([1.0, 0.3, 1.0, 0.0])
    vals = ls.spectral_halves_slice(land, w, r1, r2)
    u, s, vt = np.linalg.svd(np.asarray(w, float), full_matrices=False)
    for i in range(4):
        scale = np.where(np.arange(4) < 2, float(r1[i]), float(r2[i]))
        ref = numpy_loss(
            np.asarray(land.b, float),
            np.asarray(land.sigma, float),
            float(land.quartic),
            float(land.weight_decay),
            (u * (s * scale)) @ vt,
        )
        assert float(vals[i]) == pytest.approx(ref, rel=tol["exact"] * 10, abs=tol["exact"] * 10)
    # scaling both halves by one recovers L(W); a grid broadcasts.
    assert float(vals[2]) == pytest.approx(float(ls.loss(land, w)), rel=tol["exact"] * 10)
    grid = ls.spectral_halves_slice(land, w, jnp.linspace(0, 1.2, 5)[:, None], jnp.linspace(0, 1.2, 7)[None, :])
    assert grid.shape == (5, 7)
    assert float(grid[0, 0]) == pytest.approx(0.0, abs=tol["exact"])
