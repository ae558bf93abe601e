"""Beneficial and harmful collapse: closed-form representation, few-label probes on held-out data."""

import numpy as np
import pytest

import landscape as ls
from landscape.studies import beneficial_collapse as bc

A_S = [1.0] * 3
A_N = [0.5] * 16


def test_collapse_sigma2_matches_solver_rank():
    """σ²_c = βa/(1−β) from the formula vs the rank of the closed-form global minimum."""
    for beta in (0.4, 0.5, 0.7):
        s2c = bc.collapse_sigma2(0.5, beta=beta)
        below = bc.signal_nuisance_problem(A_S, A_N, 0.9 * s2c)
        above = bc.signal_nuisance_problem(A_S, A_N, 1.1 * s2c)
        r = [
            int(ls.global_minimum(ls.effective_landscape(p, "beta-infonce", beta=beta), p.dim).rank)
            for p in (below, above)
        ]
        assert r == [len(A_S) + len(A_N), len(A_S)]


def test_ssl_map_nearly_whitens_then_drops_nuisance(tol):
    w0 = bc.ssl_map(bc.signal_nuisance_problem(A_S, A_N, 0.0))
    z_var = np.diag(w0 @ np.diag(A_S + A_N) @ w0.T)
    np.testing.assert_allclose(z_var, z_var[0], rtol=tol["loose"])  # every kept dim gets about the same variance
    w1 = bc.ssl_map(bc.signal_nuisance_problem(A_S, A_N, 0.8))
    assert np.all(np.abs(np.diag(w1)[len(A_S) :]) < 1e-6)
    np.testing.assert_allclose(np.diag(w1)[: len(A_S)], np.diag(w0)[: len(A_S)], rtol=tol["loose"])


def test_probe_error_drops_once_nuisance_collapses():
    rng = np.random.default_rng(0)
    c = bc.probe_curve(rng, A_S, A_N, [0.0, 1.0], n_labels=12, n_repeats=6, n_test=500)
    kept, collapsed = c["error"].mean(1)
    assert list(c["rank"]) == [19, 3]
    assert collapsed < 0.1 < 0.3 < kept
    assert collapsed < c["raw_error"].mean()


def test_collapse_hurts_when_augmentation_hits_signal():
    rng = np.random.default_rng(1)
    c = bc.probe_curve(rng, A_S, A_N, [0.0, 1.5], n_labels=12, n_repeats=6, n_test=500, target="signal")
    kept, collapsed = c["error"].mean(1)
    assert list(c["rank"]) == [19, 16]
    assert collapsed > 0.9 > kept  # no signal left: no better than the mean


def test_gain_vanishes_with_many_labels():
    rng = np.random.default_rng(2)
    g = bc.gain_vs_labels(rng, A_S, A_N, [8, 400], sigma2_kept=0.0, sigma2_collapsed=1.0, n_repeats=6, n_test=500)
    assert g["gain"][0] > 0.3
    assert abs(g["gain"][1]) < 0.02
    # at 400 labels the gain is tiny (< 0.02) but its standard error is tinier still: it counts only without
    # a minimum gain (the figure's 0.02 stops at 8)
    assert 0 < g["gain"][1] < 0.02 and g["gain"][1] > 2 * g["gain_se"][1] and g["gain"][0] > 2 * g["gain_se"][0]
    assert bc.largest_gain_size(g["n_labels"], g["gain"], g["gain_se"]) == 400
    assert bc.largest_gain_size(g["n_labels"], g["gain"], g["gain_se"], min_gain=0.02) == 8


def test_largest_gain_size_stops_at_the_first_insignificant_gain():
    n, se = [4, 8, 16, 32], [0.1] * 4
    assert bc.largest_gain_size(n, [0.5, 0.3, 0.1, 0.5], se) == 8  # 0.1 < 2·se: stop, 32 not counted
    assert bc.largest_gain_size(n, [0.5, 0.3, 0.25, 0.21], se) == 32
    assert bc.largest_gain_size(n, [0.5, 0.3, 0.25, 0.21], se, min_gain=0.22) == 16
    assert bc.largest_gain_size(n, [0.1, 0.5, 0.5, 0.5], se) is None


def test_logistic_probe_is_scored_on_held_out_data():
    rng = np.random.default_rng(3)
    d = 40
    x = rng.standard_normal((20, d))
    lab = rng.integers(0, 2, 20)  # pure noise labels: memorised on train, chance on test
    train = bc.logistic_probe_accuracy(x, lab, x, lab, l2=1e-6, steps=3000)
    xt = rng.standard_normal((2000, d))
    test = bc.logistic_probe_accuracy(x, lab, xt, rng.integers(0, 2, 2000), l2=1e-6, steps=3000)
    assert train == 1.0 and abs(test - 0.5) < 0.06


def test_validation():
    with pytest.raises(ValueError, match="target"):
        bc.signal_nuisance_problem(A_S, A_N, 1.0, target="both")
    with pytest.raises(ValueError, match="sigma2"):
        bc.signal_nuisance_problem(A_S, A_N, -1.0)
    with pytest.raises(ValueError, match="teacher"):
        bc.sample_signal_nuisance(np.random.default_rng(0), A_S, A_N, [1.0], 5)
