"""Problem construction and validation: bad input is refused with the field named."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls


def test_diagonal_and_isotropic_constructors():
    p = ls.Problem.from_diagonal([3.0, 2.0, 1.0], [0.5, 1.0, 2.0])
    np.testing.assert_allclose(np.diag(p.sigma), [3.5, 3.0, 3.0])
    q = ls.Problem.isotropic([3.0, 2.0, 1.0], 0.25)
    np.testing.assert_allclose(np.asarray(q.aug_cov), 0.25 * np.eye(3))
    r = ls.Problem.from_diagonal([3.0, 2.0], 0.5)  # scalar augmentation = isotropic
    np.testing.assert_allclose(np.diag(r.aug_cov), [0.5, 0.5])
    assert p.is_commuting() and p.is_diagonal()


def test_non_commuting_pair_is_supported():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    a0 = q @ np.diag([3.0, 2.0, 1.0, 0.5]) @ q.T
    p = ls.Problem.from_arrays(a0, np.diag([0.1, 0.2, 0.3, 0.4]))
    assert not p.is_commuting()


def test_problem_is_a_pytree_under_jit_and_vmap():
    p = ls.Problem.from_diagonal([3.0, 2.0], [1.0, 1.0])
    trace = jax.jit(lambda pr: jnp.trace(pr.sigma))(p)
    assert float(trace) == pytest.approx(7.0)
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x, 2 * x]), p)
    traces = jax.vmap(lambda pr: jnp.trace(pr.sigma))(batch)
    np.testing.assert_allclose(np.asarray(traces), [7.0, 14.0])


@pytest.mark.parametrize(
    "a0, c, field",
    [
        (np.ones((2, 3)), np.eye(2), "data_cov"),  # not square
        (np.array([[1.0, 0.5], [0.0, 1.0]]), np.eye(2), "data_cov"),  # not symmetric
        (np.diag([1.0, -1.0]), np.eye(2), "data_cov"),  # not PSD
        (np.eye(2), np.diag([1.0, -0.5]), "aug_cov"),  # not PSD
        (np.eye(2), np.eye(3), "same shape"),  # mismatched
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), np.eye(2), "data_cov"),  # NaN
        (np.zeros((2, 2)), np.zeros((2, 2)), "sigma"),  # singular Σ
    ],
)
def test_bad_matrices_are_refused_with_field_name(a0, c, field):
    with pytest.raises(ValueError, match=field):
        ls.Problem.from_arrays(a0, c)


def test_bad_variances_are_refused():
    with pytest.raises(ValueError, match="data_var"):
        ls.Problem.from_diagonal([1.0, -2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="aug_var"):
        ls.Problem.from_diagonal([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="same length"):
        ls.Problem.from_diagonal([1.0, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="sigma2"):
        ls.Problem.isotropic([1.0, 2.0], -0.1)


def test_indefinite_augmentation_allowed_only_on_request():
    a0, c = np.diag([2.0, 1.0]), np.diag([-0.5, 0.2])
    with pytest.raises(ValueError, match="aug_cov"):
        ls.Problem.from_arrays(a0, c)
    p = ls.Problem.from_arrays(a0, c, allow_indefinite_aug=True)
    np.testing.assert_allclose(np.diag(p.sigma), [1.5, 1.2])
