r"""Plain gradient descent p ← p − lr·∇L(p) for the studies, through the one training loop.

The studies' full-batch, fixed-step descents (the encoder/projector model, the
linear ISSL, DISSL's free logits, the logistic and supervised probes) all run
:func:`~landscape.dynamics.descent.descend` with ``optax.sgd(lr)``; this module
only fixes their save points and their divergence rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape.dynamics.descent import descend

__all__ = ["sgd_descent"]


def sgd_descent(
    field: Callable, params0: Any, lr: Any, *, steps: int, n_save: int = 1, record: Callable | None = None
) -> tuple[Any, jax.Array, np.ndarray, Any]:
    r"""``steps`` steps p ← p − lr·field(p) from ``params0`` (any pytree), with ``n_save`` save points.

    With chunk, rest = divmod(steps, n_save), the ``rest`` leading steps run
    first, then ``record(p)`` is taken after every further ``chunk`` steps: at
    the steps rest + chunk·i, i = 1 … n_save (the last at ``steps``).  A step
    whose parameters are not finite (or whose squared norm overflows) is
    divergence: the parameters freeze at the last finite iterate.  ``lr`` may be
    traced; ``steps`` and ``n_save`` (≤ ``steps``) are static.

    Returns (params, diverged, save_steps, records): ``save_steps`` an int
    NumPy array (n_save,), ``records`` the stacked outputs of ``record``
    (``()`` without one).

    >>> import jax.numpy as jnp
    >>> p, diverged, at, losses = sgd_descent(lambda w: 2.0 * w, jnp.ones(2), 0.25, steps=5, n_save=2,
    ...                                       record=lambda w: jnp.sum(w * w))
    >>> p.tolist(), bool(diverged), at.tolist(), losses.tolist()     # w halves each step
    ([0.03125, 0.03125], False, [3, 5], [0.03125, 0.001953125])
    """
    chunk, rest = divmod(int(steps), int(n_save))
    if chunk < 1:
        raise ValueError(f"need 1 <= n_save <= steps, got n_save={n_save}, steps={steps}")
    dtype = jax.tree_util.tree_leaves(params0)[0].dtype
    sgd = optax.sgd(lr)
    limit = jnp.finfo(dtype).max
    params, lead_diverged = params0, jnp.asarray(False)
    if rest:
        params, lead_diverged, _, _, _ = descend(params, field, sgd, rest, rest, limit, lambda _: ())
    record = (lambda _: ()) if record is None else record
    params, diverged, _, _, records = descend(params, field, sgd, steps - rest, chunk, limit, record)
    records = jax.tree_util.tree_map(lambda r: r[1:], records)  # drop the record at the start
    return params, lead_diverged | diverged, rest + chunk * np.arange(1, n_save + 1), records
