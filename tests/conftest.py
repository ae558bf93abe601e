"""Test configuration: float64 or float32 from JAX_ENABLE_X64, with matching tolerances.

`make test` runs the suite once with JAX_ENABLE_X64=1 and once with 0.  Tests
that need float64 carry the ``x64_only`` marker and are skipped in float32.
"""

import os

import jax
import pytest

X64 = os.environ.get("JAX_ENABLE_X64", "1").lower() not in ("0", "false", "")
jax.config.update("jax_enable_x64", X64)
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_collection_modifyitems(config, items):
    # Long runs (``slow``) are skipped unless the marker expression names them (`make test-slow`
    # uses -m slow; `make test` deselects them with -m "not slow"), so a bare `pytest` stays short.
    run_slow = "slow" in (config.getoption("markexpr") or "")
    skip_slow = pytest.mark.skip(reason="long run: select with -m slow")
    skip_x64 = pytest.mark.skip(reason="needs float64 (JAX_ENABLE_X64=1)")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if not X64 and "x64_only" in item.keywords:
            item.add_marker(skip_x64)


@pytest.fixture
def x64() -> bool:
    """Whether the suite runs in float64."""
    return X64


@pytest.fixture
def tol() -> dict:
    """Tolerances for the active precision: exact ≈ closed-form identities, flow ≈ converged dynamics."""
    if X64:
        return {"exact": 1e-10, "flow": 1e-6, "loose": 1e-4}
    return {"exact": 2e-4, "flow": 2e-3, "loose": 2e-2}


@pytest.fixture
def dense_landscape():
    """A factory of non-commuting β-InfoNCE landscapes: dense A0 with eigenvalues linspace(0.2, 2, d)
    in a random basis, diagonal C with variances in [0, 0.8), weight decay ``gamma``."""
    import numpy as np

    import landscape as ls

    def make(d: int, seed: int = 0, gamma: float = 0.05):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        a0 = (q * np.linspace(0.2, 2.0, d)) @ q.T
        p = ls.Problem.from_arrays(0.5 * (a0 + a0.T), np.diag(rng.uniform(0.0, 0.8, d)))
        return ls.effective_landscape(p, "beta-infonce", weight_decay=gamma)

    return make
