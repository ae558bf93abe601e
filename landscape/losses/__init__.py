"""SSL losses: their effective quadratic forms B (``effective``), sample and population losses."""

from landscape.losses.effective import FORMS, LOSSES, QuadraticForm, effective_landscape, quadratic_form

__all__ = ["LOSSES", "FORMS", "QuadraticForm", "quadratic_form", "effective_landscape"]
from landscape.losses import population, sample  # noqa: E402, F401  (re-exported sub-modules; symbolic is imported on demand: it loads sympy)
from landscape.losses.population import exact_gaussian_infonce  # noqa: E402, F401  (re-exported)
