"""Root test configuration: the doctests of the package run in float64, as their examples state values.

It lives outside the package so that it does not ship in the wheel.  The
precision is set per doctest with JAX's ``enable_x64`` context (restored after
each), so the tests under ``tests/`` keep the precision ``tests/conftest.py``
reads from ``JAX_ENABLE_X64``.
"""

from pathlib import Path

import jax
import pytest

PACKAGE = Path(__file__).parent / "landscape"


def _enable_x64():
    """JAX's x64 context: ``jax.enable_x64`` from JAX 0.8, ``jax.experimental.enable_x64`` before."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64

    return enable_x64()


@pytest.fixture(autouse=True)
def _package_doctests_in_float64(request):
    if Path(request.node.path).is_relative_to(PACKAGE):
        with _enable_x64():
            yield
    else:
        yield
