"""SSL losses: their effective quadratic forms B (``effective``)."""
from landscape.losses.effective import LOSSES, FORMS, QuadraticForm, quadratic_form

__all__ = ["LOSSES", "FORMS", "QuadraticForm", "quadratic_form"]
from landscape.losses import sample, population  # noqa: E402  (symbolic is imported on demand: it loads sympy)
from landscape.losses.population import exact_gaussian_infonce, exact_gaussian_minimum, exact_gaussian_gram_eigenvalues  # noqa: E402
