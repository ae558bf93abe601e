"""Old module paths of the flat layout, kept importable for one release.

Before the layered layout, modules sat at ``landscape.problem``,
``landscape.solve.stationary``, ``landscape.flow`` and so on.  Importing one of
those paths still works: it returns a stand-in module that forwards every
attribute to the module's new home and issues a :class:`DeprecationWarning`
naming that home.  The table below is the whole mapping.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

#: old module path → new module path
MOVED = {
    "landscape.problem": "landscape.core.problem",
    "landscape.effective_landscape": "landscape.core.effective_landscape",
    "landscape.solution": "landscape.core.solution",
    "landscape._validation": "landscape.core.validation",
    "landscape.solve": "landscape.theory",
    "landscape.solve.stationary": "landscape.theory.stationary_points",
    "landscape.solve.per_direction": "landscape.theory.per_direction",
    "landscape.solve.collapse": "landscape.theory.collapse_thresholds",
    "landscape.solve.normalization": "landscape.theory.normalization",
    "landscape.solve.bias": "landscape.theory.bias",
    "landscape.solve.two_layer": "landscape.studies.encoder_projector",
    "landscape.flow": "landscape.dynamics",
    "landscape.flow.descent": "landscape.dynamics.descent",
    "landscape.flow.batched_descent": "landscape.dynamics.batched_descent",
    "landscape.flow.nesterov_restart": "landscape.dynamics.nesterov_restart",
    "landscape.flow.normalized_descent": "landscape.dynamics.normalized_descent",
    "landscape.flow.ode": "landscape.dynamics.ode",
    "landscape.flow.stability": "landscape.dynamics.stability",
    "landscape.flow.divergence": "landscape.dynamics.divergence",
    "landscape.phase_figures": "landscape.plot.phase_figures",
    "landscape.ideal": "landscape.studies.idealized",
    "landscape.linear_training": "landscape.studies.linear_training",
    "landscape.per_sample_normalization": "landscape.studies.per_sample_normalization",
    "landscape.beneficial_collapse": "landscape.studies.beneficial_collapse",
    "landscape.imbalance": "landscape.studies.class_imbalance",
    "landscape.imbalance_nn": "landscape.studies.class_imbalance.network",
    "landscape.supervised": "landscape.studies.class_imbalance.supervised",
    "landscape.nn.experiments": "landscape.studies.nonlinear_networks",
    "landscape.cli_scan": "landscape.cli.scan",
    "landscape.cli_geometry": "landscape.cli.geometry",
    "landscape.cli_imbalance": "landscape.cli.imbalance",
    "landscape.cli_nn": "landscape.cli.nn",
    "landscape.phase_job": "landscape.cli.phase_job",
}


def warn_moved(old: str, new: str) -> None:
    warnings.warn(
        f"{old} has moved to {new}; the old name works until the next release", DeprecationWarning, stacklevel=3
    )


class _Forward(types.ModuleType):
    """A stand-in for an old module path: attributes come from the new module.

    With ``warn_on_use`` the warning comes with the first attribute read instead
    of at import (for stand-ins registered before anyone imports them).
    """

    def __init__(self, old: str, new: str, *, warn_on_use: bool = False):
        super().__init__(old, f"Moved to :mod:`{new}`.")
        self.__path__ = []  # a package, so that old sub-paths import too
        self._landscape_new = new
        self._landscape_warn = warn_on_use

    def __getattr__(self, name: str):
        if name.startswith("__") or name.startswith("_landscape"):
            raise AttributeError(name)
        if self._landscape_warn:
            self._landscape_warn = False
            warn_moved(self.__name__, self._landscape_new)
        return getattr(importlib.import_module(self._landscape_new), name)

    def __dir__(self):
        return sorted(set(dir(importlib.import_module(self._landscape_new))))


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return _Forward(spec.name, MOVED[spec.name])

    def exec_module(self, module):
        warn_moved(module.__name__, MOVED[module.__name__])


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)
        return None


def install(top_level_names=()) -> None:
    """Put the finder of old paths on ``sys.meta_path`` (once).

    An old module ``landscape.X`` whose name X is also a top-level function (the
    module ``landscape.effective_landscape`` and the function
    ``landscape.effective_landscape``) is registered in ``sys.modules`` at once:
    importing a module sets it as an attribute of its parent package, which would
    otherwise replace the function by the stand-in module.
    """
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
    for old, new in MOVED.items():
        parent, _, leaf = old.rpartition(".")
        if parent == "landscape" and leaf in top_level_names and old not in sys.modules:
            sys.modules[old] = _Forward(old, new, warn_on_use=True)
