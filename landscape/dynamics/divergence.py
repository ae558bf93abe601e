"""Reporting runs that diverged."""

from __future__ import annotations

import numpy as np

from landscape.core.linalg import is_traced
from landscape.core.solution import Solution

__all__ = ["DivergenceError", "check_divergence"]


class DivergenceError(FloatingPointError, ValueError):
    """A training run left the region where its iterates are finite and bounded."""


DivergenceError.__module__ = "landscape.dynamics"


def check_divergence(solution: Solution) -> None:
    """Raise :class:`DivergenceError` if any run of a (possibly vmapped) solution diverged.

    The message names each diverged run by its batch index and the step (gradient
    descent) or save index (gradient flow) where it diverged.  Solutions without
    a divergence report (the closed form) pass.  Needs concrete values (call it
    outside ``jit``).

    >>> import jax.numpy as jnp
    >>> import landscape as ls
    >>> s = ls.Solution(*[jnp.zeros(())] * 5, diverged=jnp.array([False, True]),
    ...                 diverged_step=jnp.array([-1, 7]))
    >>> check_divergence(s)
    Traceback (most recent call last):
    ...
    landscape.dynamics.DivergenceError: 1 of 2 runs diverged: run (1,) at step 7
    """
    if solution.diverged is None:
        return None
    if is_traced(solution.diverged):
        raise ValueError("check_divergence needs concrete values; call it outside jax.jit")
    diverged = np.asarray(solution.diverged, bool)
    steps = np.broadcast_to(np.asarray(solution.diverged_step), diverged.shape)
    bad = np.argwhere(diverged)
    if bad.shape[0] == 0:
        return None
    shown = [
        (
            f"run {tuple(int(i) for i in idx)} at step {int(steps[tuple(idx)])}"
            if diverged.ndim
            else f"the run at step {int(steps)}"
        )
        for idx in bad[:10]
    ]
    more = f" (and {bad.shape[0] - 10} more)" if bad.shape[0] > 10 else ""
    raise DivergenceError(f"{bad.shape[0]} of {diverged.size} runs diverged: " + ", ".join(shown) + more)
