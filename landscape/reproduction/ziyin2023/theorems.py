r"""WS Theorem 1, Propositions 1–3, Theorem 2: each closed form against gradient descent or enumeration.

The effective landscape L(W) = −Tr[WBWᵀ] + Tr[(WΣWᵀ)²] + γ‖W‖² (paper's k = 1) on the
test problems of the spec (§6, T1–T11), every closed form of :mod:`landscape.theory`
checked by a route that does not use it:

* **Theorem 1, Prop. 1** (T1, T2, T4, T5): Nesterov-restart gradient descent from a
  small random W₀ (:func:`landscape.batched_gradient_descent`, 4 seeds) against
  :func:`landscape.global_minimum`, commuting and rotated (non-commuting) A0; every
  stationary point of :func:`landscape.stationary_points` has ∇L = 0 and its Hessian
  (autodiff) says whether it is a local minimum;
* **collapse = competition of data and augmentation** and **weight decay**: GD on
  a σ² sweep (C = σ²I, B = A0 and B = A0 − C) and a γ sweep (two different C);
* **normalization** κ(ρ − c)² at finite κ (T7, Props. 2–3) and κ → ∞ (Eqs. WS-8/9,
  T8's threshold c₁ = 2/7 and App. C.1 (iv)): :func:`landscape.normalized_gradient_descent`
  (penalised, or projected onto ρ = c) against the closed forms;
* **Theorem 2** (bias + normalization, T9, App. C.2): GD over (W, b) against
  :func:`landscape.bias_global_minimum` and the enumerated b ≠ 0 branch.

Usage::

    python figures/theorems.py [--quick | --smoke] [--plot-only PATH]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from landscape.reproduction.figure_io import run_figure
from landscape.reproduction.ziyin2023 import theorem_runs as runs
from landscape.reproduction.ziyin2023.theorem_claims import claims  # noqa: F401  (the module protocol)
from landscape.reproduction.ziyin2023.theorem_plots import render  # noqa: F401  (the module protocol)

if TYPE_CHECKING:
    from collections.abc import Sequence


NAME = "theorems"
REPORT_SIZE = "full"
PAPER_SCALE = (
    "the paper's own test problems are closed-form statements without a stated size; these are the "
    "spec's T1–T11 problems (d ≤ 10) at full size, GD run to machine precision"
)


def compute(quick: bool = False, smoke: bool = False) -> dict[str, np.ndarray]:
    """Every closed form and its independent route; plain NumPy arrays (``smoke``/``quick``: fewer steps)."""
    import jax

    with jax.enable_x64(True):
        cfg = runs.config(quick, smoke)
        out = {"quick": np.array(bool(quick or smoke))}
        for part in (
            runs.unnormalized,
            runs.enumeration,
            runs.normalization_and_bias,
            runs.hard_normalization,
            runs.weak_augmentation,
            runs.errata,
        ):
            out.update(part(cfg))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    return run_figure(NAME, compute, render, __doc__, argv, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
