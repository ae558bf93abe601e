"""The WS Fig. 4 set-up: no / dimensional / complete collapse at the three augmentation strengths.

The short run (tanh, 600 steps: measured = predicted = the pattern) is the figure's smoke test,
tests/test_figures_smoke.py::test_fig4_nonlinear_smoke; the converged runs here are ``slow``.
"""

import jax
import numpy as np
import pytest

from landscape.nn import data
from landscape.studies import nonlinear_networks as ex

PATTERN = ["none", "dimensional", "complete"]


def _run(activation: str, steps: int, **analyse_kw):
    cfg = ex.FIG4
    x = data.gaussian(jax.random.PRNGKey(cfg["data_seed"]), cfg["n"], cfg["variances"])
    model = ex.fig4_model(activation)
    state, losses = ex.train_noise_sweep(
        model,
        x,
        cfg["sigma2"],
        key=jax.random.PRNGKey(cfg["init_seed"]),
        steps=steps,
        batch_size=cfg["n"],
        beta=cfg["beta"],
        learning_rate=cfg["learning_rate"],
    )
    results = [
        ex.analyse(
            model,
            ex.index_tree(state.params, i),
            ex.index_tree(state.model_state, i),
            x,
            s2,
            key=jax.random.PRNGKey(9),
            beta=cfg["beta"],
            **analyse_kw,
        )
        for i, s2 in enumerate(cfg["sigma2"])
    ]
    return x, losses, results


def test_input_space_theory_predicts_the_pattern():
    cfg = ex.FIG4
    x = data.gaussian(jax.random.PRNGKey(cfg["data_seed"]), cfg["n"], cfg["variances"])
    a_hat = np.sort(np.linalg.eigvalsh(np.cov(x.astype(np.float64).T, bias=True)))[::-1]
    beta = cfg["beta"]
    ranks = [min(int(np.sum(beta * a_hat > (1 - beta) * s2)), cfg["out_dim"]) for s2 in cfg["sigma2"]]
    assert ranks == [2, 1, 0]


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_fig4_converged_pattern(activation):
    _, losses, res = _run(activation, ex.FIG4["steps"])
    assert [r["measured_class"] for r in res] == PATTERN
    assert [r["predicted_class"] for r in res] == PATTERN
    assert [r["refit_rank"] for r in res] == [2, 1, 0]
    # 1-D slice: a double well at weak augmentation, the origin is the minimum at strong augmentation
    weak, strong = res[0], res[2]
    mid = len(weak["scales"]) // 2
    assert abs(weak["scales"][np.argmin(weak["slice_1d"])]) > 0.5
    assert weak["slice_1d"][mid] - weak["slice_1d"].min() > 0.1
    assert strong["slice_1d"].min() >= strong["slice_1d"][mid] - 1e-4
    # the Gaussian theory of the slice, from the frozen features, follows the measured slice
    for r in res:
        np.testing.assert_allclose(r["slice_1d"], r["slice_1d_theory"], atol=0.08)
