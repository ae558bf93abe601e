"""Nesterov's method with adaptive restart: the batched kernel and the optax transformation
against a written-out loop, acceleration against plain GD, and the CLI option."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import landscape as ls
from landscape.cli import main


def _nesterov_restart_reference(land, w0, lr, steps):
    """Nesterov's method with gradient restart written out with ``landscape.gradient``, one run:
    the last iterate x and the extrapolated point y."""
    x, y, theta = w0, w0, 1.0
    for _ in range(steps):
        g = ls.gradient(land, y)
        x_new = y - lr * g
        theta_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * theta * theta))
        beta = (theta - 1.0) / theta_new
        if float(jnp.sum(g * (x_new - x))) > 0:
            theta_new, beta = 1.0, 0.0
        x, y, theta = x_new, x_new + beta * (x_new - x), theta_new
    return x, y


def test_nesterov_restart_matches_a_plain_loop_and_beats_gd(tol, dense_landscape):
    land = dense_landscape(4)
    w0 = 0.02 * jax.random.normal(jax.random.PRNGKey(21), (2, 3, 4))
    lr = jnp.asarray([0.05, 0.1])
    run = ls.batched_gradient_descent(land, w0, lr=lr, steps=120, nesterov_restart=True, check_every=30)
    for i in range(2):
        ref, _ = _nesterov_restart_reference(land, w0[i], float(lr[i]), 120)
        np.testing.assert_allclose(run.weights[i], ref, atol=tol["exact"] * 1000 * float(jnp.abs(ref).max()))
    # Acceleration: from a small init, the accelerated runs are at the closed form
    # after a number of steps at which plain GD is still far from it.
    closed = float(ls.global_minimum(land, 3).loss)
    # (100 steps: relative gaps ~1e-13 accelerated vs 2.5e-4 and 2e-2 plain in float64;
    # the accelerated ones sit at the rounding floor, ~2e-6, in float32.)
    fast = ls.batched_gradient_descent(land, w0, lr=0.1, steps=100, nesterov_restart=True)
    slow = ls.batched_gradient_descent(land, w0, lr=0.1, steps=100)
    gap_fast = np.abs(np.asarray(fast.loss) - closed) / abs(closed)
    gap_slow = np.abs(np.asarray(slow.loss) - closed) / abs(closed)
    assert np.all(gap_fast < 2e-5) and np.all(gap_slow > 1e-4)
    with pytest.raises(ValueError, match="momentum"):
        ls.batched_gradient_descent(land, w0, lr=0.1, steps=5, momentum=0.5, nesterov_restart=True)


def test_optax_transformation_follows_the_same_iteration(tol, dense_landscape):
    """gradient_descent + nesterov_restart: its parameters are the extrapolated points y."""
    land = dense_landscape(4, seed=1)
    w0 = 0.02 * jax.random.normal(jax.random.PRNGKey(24), (3, 4))
    run = ls.gradient_descent(land, w0, optimizer=ls.nesterov_restart(0.1), steps=80, save_every=80)
    _, y = _nesterov_restart_reference(land, w0, 0.1, 80)
    np.testing.assert_allclose(run.weights, y, atol=tol["exact"] * 1000 * float(jnp.abs(y).max()))
    # After enough steps it is at the closed form, as the batched kernel is.
    long = ls.gradient_descent(land, w0, optimizer=ls.nesterov_restart(0.1), steps=400)
    closed = ls.global_minimum(land, 3)
    assert float(long.loss) == pytest.approx(float(closed.loss), rel=tol["flow"], abs=tol["flow"])
    np.testing.assert_allclose(long.gram_eigenvalues, closed.gram_eigenvalues, atol=tol["flow"])
    # A step far beyond the stable range is reported as divergence, not returned as NaN.
    blow = ls.gradient_descent(land, w0, optimizer=ls.nesterov_restart(20.0), steps=200)
    assert bool(blow.diverged) and int(blow.diverged_step) > 0


def test_optax_transformation_refuses_bad_input():
    for bad in (0.0, -1.0, float("nan"), "fast", True):
        with pytest.raises(ValueError, match="learning_rate"):
            ls.nesterov_restart(bad)
    # a NumPy scalar is accepted as the step: the first update (θ = 1, no momentum yet) is −lr·g
    g = jnp.array([1.0, -2.0, 0.5])
    opt32 = ls.nesterov_restart(np.float32(0.1))
    first, _ = opt32.update(g, opt32.init(jnp.zeros(3)), jnp.zeros(3))
    np.testing.assert_allclose(np.asarray(first), -0.1 * np.asarray(g), rtol=1e-6)
    opt = ls.nesterov_restart(0.1)
    state = opt.init(jnp.ones(3))
    with pytest.raises(ValueError, match="params"):
        opt.update(jnp.ones(3), state)


def test_cli_flow_with_nesterov_reaches_the_closed_form(capsys):
    code = main(
        [
            "flow",
            "--loss",
            "infonce",
            "--a",
            "3,2,1,0.5",
            "--sigma2",
            "1.2",
            "--optimizer",
            "nesterov",
            "--steps",
            "300",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["optimizer"] == "nesterov" and not report["diverged"]
    assert report["rank"] == 4
    assert abs(report["loss"] - report["closed_form"]["loss"]) <= 1e-6 * abs(report["closed_form"]["loss"])
