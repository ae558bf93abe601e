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


@pytest.fixture(autouse=True)
def _package_doctests_in_float64(request):
    if Path(request.node.path).is_relative_to(PACKAGE):
        with jax.enable_x64(True):
            yield
    else:
        yield
