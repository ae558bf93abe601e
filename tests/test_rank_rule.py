"""One rule for "this direction survives" (landscape.core.linalg), shared by every rank in the package.

The expected ranks are derived here from the signs of b_i = a_i − γ (infonce, commuting
problems) and from the tolerance stated in landscape.core.linalg: 16·eps·scale.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import landscape as ls
from landscape.core.linalg import SURVIVAL_ULPS, surviving_rank

EPS = float(jnp.finfo(jnp.result_type(float)).eps)


def _solvers(land, out_dim):
    return ls.global_minimum(land, out_dim), ls.global_minimum_diagonal(land, out_dim)


def test_the_flow_example_collapses_to_rank_zero():
    """`landscape flow --a 3,2,1 --sigma2 1 --weight-decay 3.05`: every b_i = a_i − 3.05 < 0.

    Descent leaves eigenvalues of about 1e-28 after 1000 steps; a cut relative to the largest
    eigenvalue alone counted one of them as surviving (rank 1).
    """
    land = ls.effective_landscape(ls.Problem.from_diagonal([3.0, 2.0, 1.0], 1.0), "infonce", weight_decay=3.05)
    cf = ls.global_minimum(land, 3)
    lr = 0.5 * float(ls.max_stable_learning_rate(land, cf.weights))
    run = ls.gradient_descent(
        land, ls.random_init(jax.random.PRNGKey(0), 3, 3), optimizer=optax.sgd(lr), steps=1000, save_every=1000
    )
    top = float(run.gram_eigenvalues[0])
    assert 0.0 < top < 1e-20
    assert int(run.rank) == int(cf.rank) == int(ls.predicted_rank(land, 3)) == 0
    assert ls.origin_type(land) == "strict-minimum"


def test_a_converged_w_has_the_closed_form_rank():
    """The Gram rule of trained weights applied to the closed-form W* gives the closed form's rank."""
    a, c = [3.0, 2.0, 1.5, 1.0, 0.5, 0.2], [0.5, 2.5, 0.3, 1.2, 0.1, 1.0]
    for gamma, expect in ((0.0, 6), (0.6, 4), (1.2, 3), (3.5, 0)):
        land = ls.effective_landscape(ls.Problem.from_diagonal(a, c), "infonce", weight_decay=gamma)
        cf = ls.global_minimum(land, 6)
        assert int(cf.rank) == int(ls.solution_from_weights(land, cf.weights).rank) == expect
        assert expect == int(np.sum(np.asarray(a) > gamma))


def test_ties_at_the_cap_and_on_the_threshold():
    # Four equal b/s = 1/2 with cap 2: exactly two are kept, nothing is near a threshold.
    land = ls.effective_landscape(ls.Problem.from_diagonal([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]), "infonce")
    for sol in _solvers(land, 2):
        assert int(sol.rank) == int(np.sum(np.asarray(sol.kept))) == 2 and int(sol.near_threshold) == 0
    # Three directions exactly on their threshold (b_i = 1 − 1 = 0), one alive: rank 1, three undecidable.
    land = ls.effective_landscape(ls.Problem.from_diagonal([1.0, 1.0, 2.0, 1.0], 0.5), "infonce", weight_decay=1.0)
    b, s, k = ls.direction_spectra("infonce", jnp.asarray([1.0, 1.0, 2.0, 1.0]), 0.5, weight_decay=1.0)
    for sol in _solvers(land, 4) + (ls.direction_minimum(b, s, k),):
        assert int(sol.rank) == 1 and int(sol.near_threshold) == 3
    assert int(ls.predicted_rank(land, 4)) == 1 and ls.origin_type(land) == "saddle"


def test_rank_and_predicted_rank_disagree_only_with_a_flag():
    """b = (1, 64·eps) with s = (2, 100): b₂ clears the b-tolerance 16·eps·‖b‖, but λ₂ = b₂/100 = 0.64·eps is
    below the whitened tolerance 16·eps·‖b‖·(1/2 + 1/100) ≈ 8.2·eps.  The two counts differ, and
    ``near_threshold`` says so."""
    a2 = 1.0 + 64.0 * EPS
    land = ls.effective_landscape(ls.Problem.from_diagonal([2.0, a2], [0.0, 100.0 - a2]), "infonce", weight_decay=1.0)
    assert float(land.b_eff[1, 1]) == 64.0 * EPS
    b, s, k = ls.direction_spectra("infonce", jnp.asarray([2.0, a2]), jnp.asarray([0.0, 100.0 - a2]), weight_decay=1.0)
    for sol in _solvers(land, 2) + (ls.direction_minimum(b, s, k),):
        assert int(sol.rank) == 1 and int(sol.near_threshold) == 1
    assert int(ls.predicted_rank(land, 2)) == 2


def test_disagreement_implies_near_threshold_on_dense_problems(dense_landscape):
    """Non-commuting landscapes with γ set to an eigenvalue of B (one b_i ≈ 0 up to rounding)."""
    lands = []
    for seed in range(6):
        base = dense_landscape(4, seed, gamma=0.0)
        for g in np.linalg.eigvalsh(np.asarray(base.b, float)):
            lands.append(base.__class__(base.b, base.sigma, base.quartic, jnp.asarray(g, base.b.dtype)))
    stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *lands)
    rank, pred, near = jax.jit(
        jax.vmap(
            lambda land: (
                ls.global_minimum(land, 4).rank,
                ls.predicted_rank(land, 4),
                ls.global_minimum(land, 4).near_threshold,
            )
        )
    )(stacked)
    rank, pred, near = map(np.asarray, (rank, pred, near))
    assert np.all(near >= 1)  # every landscape sits on a threshold
    assert np.all((rank == pred) | (near >= 1))
    assert np.all(np.abs(rank - pred) <= near)


def test_the_cut_is_relative_to_the_landscape_scale_not_to_the_largest_value():
    scale = 2.0
    tol = SURVIVAL_ULPS * EPS * scale
    assert int(surviving_rank(jnp.array([0.9 * tol, 0.5 * tol]), scale)) == 0
    assert int(surviving_rank(jnp.array([1.1 * tol, 0.5 * tol]), scale)) == 1
    # rtol and floor only raise the cut.
    assert int(surviving_rank(jnp.array([1.0, 1e-3]), scale, rtol=1e-2)) == 1
    assert int(surviving_rank(jnp.array([1.0, 1e-3]), scale, floor=2.0)) == 0
