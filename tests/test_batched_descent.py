"""The fused, device-split batched GD kernel against the library's optax loop and the closed form."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import landscape as ls

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("d1", [2, 5, 7])
def test_same_iterates_as_gradient_descent_with_sgd(d1, tol, dense_landscape):
    land = dense_landscape(5)
    w0 = 0.05 * jax.random.normal(jax.random.PRNGKey(d1), (3, d1, 5))
    lr = jnp.asarray([0.05, 0.1, 0.2])
    run = ls.batched_gradient_descent(land, w0, lr=lr, steps=300)
    for i in range(3):
        ref = ls.gradient_descent(land, w0[i], optimizer=optax.sgd(float(lr[i])), steps=300)
        scale = float(jnp.abs(ref.weights).max())
        np.testing.assert_allclose(run.weights[i], ref.weights, atol=tol["exact"] * 100 * scale)
        assert float(run.loss[i]) == pytest.approx(float(ref.loss), abs=tol["exact"] * 100)
    assert not np.any(np.asarray(run.diverged)) and np.all(np.asarray(run.diverged_step) == -1)
    # One scalar step: the shared-operator path (single GEMMs for W·Σ and W·P) gives the same iterates.
    uniform = ls.batched_gradient_descent(land, w0, lr=0.1, steps=300)
    np.testing.assert_allclose(uniform.weights[1], run.weights[1], atol=tol["exact"] * 100)


def test_batched_landscapes_reach_their_closed_forms(tol):
    """One landscape per run (a σ² sweep), from small inits: each run lands on its own closed form."""
    a = jnp.asarray([2.0, 1.0, 0.5, 0.25])
    sig2 = jnp.linspace(0.0, 1.2, 6)
    lands = jax.vmap(lambda s: ls.effective_landscape(ls.Problem(jnp.diag(a), s * jnp.eye(4)), "beta-infonce"))(sig2)
    w0 = 1e-3 * jax.random.normal(jax.random.PRNGKey(1), (6, 4, 4))
    run = ls.batched_gradient_descent(lands, w0, lr=0.2, steps=20000, check_every=100)
    closed = jax.vmap(lambda land: ls.global_minimum(land, 4).loss)(lands)
    np.testing.assert_allclose(run.loss, closed, atol=tol["flow"])


def test_divergence_step_matches_gradient_descent(dense_landscape):
    land = dense_landscape(4)
    w0 = 0.3 * jax.random.normal(jax.random.PRNGKey(3), (2, 4, 4))
    lr = jnp.asarray([0.05, 3.0])
    exact = ls.batched_gradient_descent(land, w0, lr=lr, steps=200)
    ref = ls.gradient_descent(land, w0[1], optimizer=optax.sgd(3.0), steps=200)
    assert exact.diverged.tolist() == [False, True]
    assert bool(ref.diverged) and int(exact.diverged_step[1]) == int(ref.diverged_step)
    assert np.all(np.isfinite(np.asarray(exact.weights))) and np.all(np.isfinite(np.asarray(exact.loss)))
    # Checked every 8 steps: found at the first check at or after the true step.
    coarse = ls.batched_gradient_descent(land, w0, lr=lr, steps=200, check_every=8)
    s = int(coarse.diverged_step[1])
    assert s % 8 == 0 and int(ref.diverged_step) <= s < int(ref.diverged_step) + 8
    np.testing.assert_array_equal(coarse.weights[0], exact.weights[0])


def test_float32_runs_stay_float32(tol, dense_landscape):
    land = dense_landscape(3)
    w0 = (0.05 * jax.random.normal(jax.random.PRNGKey(0), (2, 3, 3))).astype(jnp.float32)
    run = ls.batched_gradient_descent(land, w0, lr=0.1, steps=2000)
    assert run.weights.dtype == jnp.float32
    closed = float(ls.global_minimum(land, 3).loss)
    np.testing.assert_allclose(run.loss, closed, atol=2e-3 * abs(closed) + tol["flow"])


def test_bad_input_names_the_field(dense_landscape):
    land = dense_landscape(3)
    w0 = jnp.zeros((2, 3, 3))
    for kwargs, field in (
        ({"lr": -1.0, "steps": 5}, "lr"),
        ({"lr": jnp.ones(3), "steps": 5}, "lr"),
        ({"lr": 0.1, "steps": 0}, "steps"),
        ({"lr": 0.1, "steps": 5, "check_every": 0}, "check_every"),
    ):
        with pytest.raises(ValueError, match=field):
            ls.batched_gradient_descent(land, w0, **kwargs)
    with pytest.raises(ValueError, match="w0"):
        ls.batched_gradient_descent(land, jnp.zeros((3, 3)), lr=0.1, steps=5)
    with pytest.raises(ValueError, match="columns"):
        ls.batched_gradient_descent(land, jnp.zeros((2, 3, 4)), lr=0.1, steps=5)


_SPLIT_SCRIPT = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import landscape as ls
a = jnp.asarray([2.0, 1.0, 0.5])
land = ls.effective_landscape(ls.Problem(jnp.diag(a), 0.3 * jnp.eye(3)), "infonce")
w0 = 0.1 * jax.random.normal(jax.random.PRNGKey(0), (5, 3, 3))
lr = jnp.asarray([0.05, 0.1, 0.1, 0.2, 4.0])
run = ls.batched_gradient_descent(land, w0, lr=lr, steps=150)
# One landscape per run as well (this path once hung when split over CPU devices).
lands = jax.vmap(lambda s: ls.effective_landscape(ls.Problem(jnp.diag(a), s * jnp.eye(3)), "infonce"))(
    jnp.linspace(0.0, 1.0, 40))
w1 = 0.1 * jax.random.normal(jax.random.PRNGKey(1), (40, 3, 3))
many = jax.jit(lambda w: ls.batched_gradient_descent(lands, w, lr=0.1, steps=150, check_every=10).weights)(w1)
print(json.dumps({"devices": len(jax.local_devices()), "w": np.asarray(run.weights).tolist(),
                  "step": np.asarray(run.diverged_step).tolist(), "many": np.asarray(many).tolist()}))
"""


def test_split_over_devices_gives_identical_runs():
    """5 runs over 2 forced CPU devices (padded to 6) = the same runs on one device, bit for bit."""
    out = {}
    for n_dev in (1, 2):
        env = dict(
            os.environ,
            XLA_FLAGS=f"--xla_force_host_platform_device_count={n_dev} --xla_cpu_multi_thread_eigen=false",
            PYTHONPATH=str(ROOT),
        )
        res = subprocess.run(
            [sys.executable, "-c", _SPLIT_SCRIPT], env=env, capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, res.stderr[-2000:]
        out[n_dev] = json.loads(res.stdout.strip().splitlines()[-1])
    assert out[1]["devices"] == 1 and out[2]["devices"] == 2
    assert out[1]["w"] == out[2]["w"] and out[1]["step"] == out[2]["step"] and out[1]["many"] == out[2]["many"]
    assert out[2]["step"][4] > 0 and out[2]["step"][:4] == [-1] * 4


def test_per_run_divergence_scale_bounds_the_closed_form_norm(dense_landscape):
    """The eigendecomposition-free scale used for batches of landscapes is ≥ ‖W*‖² (up to power-iteration slack)."""
    from landscape.dynamics.batched_descent import _norm2_bound

    rng = np.random.default_rng(5)
    for seed in range(5):
        land = dense_landscape(6, seed=seed, gamma=float(rng.uniform(0, 0.3)))
        exact = float(jnp.trace(ls.global_minimum(land, 6).gram))
        bound = float(_norm2_bound(land, 6))
        assert bound >= 0.9 * exact
        assert bound <= 1e4 * max(exact, 1e-3)  # and of the same order: a scale, not infinity


def test_blocks_do_not_change_the_runs(dense_landscape):
    """Blocks of 4 runs (10 runs: the last block padded) = one block of all runs, bit for bit."""
    land = dense_landscape(4)
    w0 = 0.1 * jax.random.normal(jax.random.PRNGKey(9), (10, 3, 4))
    lr = jnp.linspace(0.05, 0.3, 10).at[7].set(5.0)
    a = ls.batched_gradient_descent(land, w0, lr=lr, steps=120, check_every=7, block_size=4)
    b = ls.batched_gradient_descent(land, w0, lr=lr, steps=120, check_every=7, block_size=1000)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert bool(a.diverged[7]) and int(np.sum(np.asarray(a.diverged))) == 1
    with pytest.raises(ValueError, match="block_size"):
        ls.batched_gradient_descent(land, w0, lr=0.1, steps=5, block_size=0)


@pytest.mark.parametrize("check_every", [1, 25])
def test_momentum_matches_optax_heavy_ball(check_every, tol, dense_landscape):
    land = dense_landscape(5)
    w0 = 0.05 * jax.random.normal(jax.random.PRNGKey(11), (3, 4, 5))
    lr = jnp.asarray([0.02, 0.05, 3.0])
    run = ls.batched_gradient_descent(land, w0, lr=lr, steps=400, momentum=0.9, check_every=check_every)
    for i in range(2):
        ref = ls.gradient_descent(land, w0[i], optimizer=optax.sgd(float(lr[i]), momentum=0.9), steps=400)
        scale = float(jnp.abs(ref.weights).max())
        np.testing.assert_allclose(run.weights[i], ref.weights, atol=tol["exact"] * 100 * scale)
    ref = ls.gradient_descent(land, w0[2], optimizer=optax.sgd(3.0, momentum=0.9), steps=400)
    assert bool(run.diverged[2]) and bool(ref.diverged)
    if check_every == 1:
        assert int(run.diverged_step[2]) == int(ref.diverged_step)
    with pytest.raises(ValueError, match="momentum"):
        ls.batched_gradient_descent(land, w0, lr=0.1, steps=5, momentum=1.0)


@pytest.mark.parametrize("method", [dict(momentum=0.9), dict(nesterov_restart=True)])
def test_momentum_state_continues_a_run(method, dense_landscape):
    """Two calls chained through momentum_state = one call of the summed length, bit for bit."""
    land = dense_landscape(4)
    w0 = 0.05 * jax.random.normal(jax.random.PRNGKey(22), (3, 4, 4))
    lr = jnp.asarray([0.02, 0.05, 0.1])
    whole = ls.batched_gradient_descent(land, w0, lr=lr, steps=90, check_every=10, **method)
    first = ls.batched_gradient_descent(land, w0, lr=lr, steps=40, check_every=10, **method)
    second = ls.batched_gradient_descent(
        land, first.weights, lr=lr, steps=50, check_every=10, momentum_state=first.momentum_state, **method
    )
    np.testing.assert_array_equal(np.asarray(second.weights), np.asarray(whole.weights))
    # Restarting from rest instead is a different run.
    cold = ls.batched_gradient_descent(land, first.weights, lr=lr, steps=50, check_every=10, **method)
    assert float(jnp.max(jnp.abs(cold.weights - whole.weights))) > 1e-6
    with pytest.raises(ValueError, match="momentum_state"):
        bad = jax.tree_util.tree_map(lambda x: x[:2], first.momentum_state)
        ls.batched_gradient_descent(land, w0, lr=lr, steps=5, momentum_state=bad, **method)
    with pytest.raises(ValueError, match="momentum_state"):
        ls.batched_gradient_descent(land, w0, lr=lr, steps=5, momentum_state=jnp.zeros_like(w0))


@pytest.mark.parametrize("method", [dict(), dict(momentum=0.9), dict(nesterov_restart=True)])
def test_assume_diagonal_gives_the_dense_iterates(method, tol):
    """Diagonal landscapes: column scalings instead of products, same iterates; shared and per run."""
    a = jnp.asarray([2.0, 1.0, 0.5, 0.25, 0.1])
    sig2 = jnp.asarray([0.0, 0.4, 0.9])
    lands = jax.vmap(
        lambda s: ls.effective_landscape(ls.Problem(jnp.diag(a), s * jnp.eye(5)), "beta-infonce", weight_decay=0.05)
    )(sig2)
    w0 = 0.01 * jax.random.normal(jax.random.PRNGKey(23), (3, 3, 5))
    lr = jnp.asarray([0.1, 0.15, 0.2])
    dense = ls.batched_gradient_descent(lands, w0, lr=lr, steps=200, check_every=50, **method)
    diag = ls.batched_gradient_descent(lands, w0, lr=lr, steps=200, check_every=50, assume_diagonal=True, **method)
    np.testing.assert_allclose(diag.weights, dense.weights, atol=tol["exact"] * 10)
    np.testing.assert_allclose(diag.loss, dense.loss, atol=tol["exact"] * 10)
    one = jax.tree_util.tree_map(lambda x: x[1], lands)
    shared = ls.batched_gradient_descent(one, w0, lr=0.15, steps=200, check_every=50, assume_diagonal=True, **method)
    np.testing.assert_allclose(shared.weights[1], dense.weights[1], atol=tol["exact"] * 10)
    np.testing.assert_allclose(shared.loss[1], dense.loss[1], atol=tol["exact"] * 10)
    # An unstable step is still reported as divergence on the diagonal path.
    blow = ls.batched_gradient_descent(
        one, w0, lr=jnp.asarray([0.15, 50.0, 0.15]), steps=200, assume_diagonal=True, **method
    )
    assert np.asarray(blow.diverged).tolist() == [False, True, False]
    assert bool(jnp.all(jnp.isfinite(blow.weights)))


def test_assume_diagonal_refuses_an_off_diagonal_entry(dense_landscape):
    land = dense_landscape(4)
    w0 = 0.01 * jnp.ones((2, 4, 4))
    with pytest.raises(ValueError, match="assume_diagonal.*landscape.b"):
        ls.batched_gradient_descent(land, w0, lr=0.1, steps=5, assume_diagonal=True)
