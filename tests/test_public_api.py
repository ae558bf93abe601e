"""The top-level API: a curated __all__, lazy sub-packages, the version, and the old module paths."""

import importlib
import importlib.metadata
import subprocess
import sys
import warnings

import pytest

import landscape as ls
from landscape import _compat


def test_import_is_light():
    """``import landscape`` loads neither the training stack (optax, diffrax) nor plotting."""
    code = (
        "import sys, landscape; heavy = [m for m in ('optax', 'diffrax', 'matplotlib', 'zarr', 'xarray') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves():
    missing = [n for n in set(ls.__all__) | set(ls._HOME) if not hasattr(ls, n)]
    assert not missing
    assert set(ls.__all__) <= set(ls._HOME) | {"__version__"}
    for name in ls._SUBPACKAGES:
        assert getattr(ls, name).__name__ == f"landscape.{name}"


def test_version_from_metadata():
    assert ls.__version__ == importlib.metadata.version("landscape")


@pytest.mark.parametrize("old", sorted(_compat.MOVED))
def test_old_module_paths_forward_with_a_warning(old):
    new = importlib.import_module(_compat.MOVED[old])
    parent, _, leaf = old.rpartition(".")
    if not (parent == "landscape" and leaf in ls._HOME):  # those stay registered (below)
        sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=_compat.MOVED[old].replace(".", r"\.")):
        mod = importlib.import_module(old)
        public = [n for n in dir(new) if not n.startswith("_")]
        assert all(getattr(mod, n) is getattr(new, n) for n in public)
    if old in sys.modules and isinstance(sys.modules[old], _compat._Forward):
        sys.modules[old]._landscape_warn = True  # the next test warns again


def test_an_old_module_path_does_not_shadow_the_function_of_the_same_name():
    import landscape.effective_landscape  # noqa: F401  (the old module path)
    from landscape.losses.effective import effective_landscape

    assert ls.effective_landscape is effective_landscape


def test_old_from_import_and_attribute():
    sys.modules.pop("landscape.solve.stationary", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from landscape.solve.stationary import global_minimum

        two_layer = ls.two_layer
    assert global_minimum is ls.global_minimum
    assert two_layer is importlib.import_module("landscape.studies.encoder_projector")
    assert sum(issubclass(w.category, DeprecationWarning) for w in caught) >= 2
