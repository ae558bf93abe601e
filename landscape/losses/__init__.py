"""SSL losses: their effective quadratic forms B (``effective``)."""
from landscape.losses.effective import LOSSES, FORMS, QuadraticForm, quadratic_form

__all__ = ["LOSSES", "FORMS", "QuadraticForm", "quadratic_form"]
