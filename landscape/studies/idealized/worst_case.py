r"""The worst-case risk W_n of a zero-training-error linear probe (check D4), closed form and Monte Carlo.

W_n = Σ_c p_c (1 − p_c)^n for invariant, affinely independent codes: the worst
empirical-risk minimiser errs exactly on the classes missing from the n-sample.
:func:`worst_case_risk_monte_carlo` estimates the same quantity for any code
table by sampling and linear programs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from landscape.studies.idealized.separability import code_table, separable

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jaxtyping import Float, Int
    from numpy.typing import ArrayLike

__all__ = ["worst_case_risk", "worst_case_risk_uniform", "worst_case_risk_monte_carlo"]


def worst_case_risk(class_probs: Float[ArrayLike, "*batch c"], n: ArrayLike) -> jax.Array:
    r"""W_n = Σ_c p_c (1 − p_c)^n: worst-ERM 0-1 risk of invariant, affinely independent codes.

    With one code per class and the codes affinely independent, every class
    seen in the n training samples is classified correctly by every
    zero-training-error probe, and an adversarial probe (and task) errs on
    every unseen class; W_n is the expected mass of the unseen classes.  Under
    ``jit``/``vmap``; ``n`` may be an array (broadcast).

    >>> round(float(worst_case_risk([0.5, 0.5], 1)), 6)
    0.5
    """
    p = jnp.asarray(class_probs)
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(jnp.result_type(float))
    n = jnp.asarray(n, p.dtype)
    return jnp.sum(p * jnp.power(1.0 - p, n[..., None]), axis=-1)


def worst_case_risk_uniform(n_classes: ArrayLike, n: ArrayLike) -> jax.Array:
    r"""W_n = (1 − 1/C)^n for C equally likely classes (check D4); broadcasts.

    >>> [round(float(worst_case_risk_uniform(c, n)), 4) for c, n in [(10, 50), (100, 20), (1000, 1000)]]
    [0.0052, 0.8179, 0.3677]
    """
    c = jnp.asarray(n_classes, jnp.result_type(float))
    return jnp.power(1.0 - 1.0 / c, jnp.asarray(n, c.dtype))


def worst_case_risk_monte_carlo(
    codes: Float[ArrayLike, "m ..."],
    labels: Int[ArrayLike, " m"],
    n: int,
    *,
    probs: Float[ArrayLike, " m"] | None = None,
    tasks: Int[ArrayLike, "n_tasks c"] | None = None,
    n_trials: int = 100,
    seed: int = 0,
) -> float:
    r"""Monte Carlo W_n for any table of distinct codes, by linear programs.

    ``codes`` (m×d) are the distinct inputs' codes, ``labels`` (m,) their
    classes and ``probs`` (m,) their probabilities (uniform by default).  For
    each trial, n inputs are drawn; a binary invariant task t (a labelling of
    the classes) labels them; a test code z is *vulnerable* when some affine
    probe has zero training error yet labels z wrongly — an LP on the training
    codes plus z with the flipped label (codes equal to a training code are
    never vulnerable).  The trial's risk is the probability mass of the
    vulnerable codes; the estimate is the mean over trials, maximised over
    ``tasks`` ((n_tasks, C) 0/1 labellings of the sorted classes; default: the
    task that isolates the first class).  Assumes every task is realisable on
    the training codes.  Cost: n_trials × n_tasks × (unseen codes) LPs.

    For invariant affinely independent codes this estimates Σ_c p_c(1 − p_c)^n;
    codes that are not invariant give a strictly larger value.

    >>> import numpy as np
    >>> est = worst_case_risk_monte_carlo(np.eye(3), [0, 1, 2], 2, n_trials=200)
    >>> abs(est - float(worst_case_risk_uniform(3, 2))) < 0.06
    True
    """
    z, y = code_table(codes, labels)
    m = z.shape[0]
    classes = np.unique(y)
    if probs is None:
        q = np.full(m, 1.0 / m)
    else:
        q = np.asarray(probs, float)
        if q.shape != (m,) or np.any(q < 0) or not np.isclose(q.sum(), 1.0):
            raise ValueError(f"probs must be {m} non-negative numbers summing to 1")
    if tasks is None:
        tasks = (classes == classes[0]).astype(np.int64)[None, :]
    tasks = np.atleast_2d(np.asarray(tasks, np.int64))
    if tasks.shape[1] != classes.size:
        raise ValueError(f"tasks must have one label per class ({classes.size}), got shape {tasks.shape}")
    n = int(n)
    if n < 1 or int(n_trials) < 1:
        raise ValueError(f"n and n_trials must be >= 1, got {n} and {n_trials}")
    cls_index = np.searchsorted(classes, y)
    rng = np.random.default_rng(seed)
    best = 0.0
    for task in tasks:
        lab = task[cls_index]
        total = 0.0
        for _ in range(int(n_trials)):
            draw = np.unique(rng.choice(m, size=n, p=q))
            seen = np.zeros(m, bool)
            seen[draw] = True
            risk = 0.0
            for j in np.flatnonzero(~seen):
                pts = np.vstack([z[draw], z[j][None, :]])
                lbl = np.concatenate([lab[draw], [1 - lab[j]]])
                if separable(pts, lbl):
                    risk += q[j]
            total += risk
        best = max(best, total / int(n_trials))
    return float(best)
