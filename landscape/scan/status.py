r"""Per-point status flags of a scan, and how they are derived from the outputs.

Every grid point gets one ``int8`` flag, stored beside the outputs:

=====  ============  ==========================================================
code   name          meaning
=====  ============  ==========================================================
0      ok            every output of the point is finite
1      nonfinite     some floating-point output of the point is NaN or ±inf
2      diverged      the evaluation reported ``diverged = True`` for the point
3      missing       the point's chunk has not been computed (yet)
=====  ============  ==========================================================

Points are evaluated independently under ``vmap``, so a NaN at one point never
reaches its neighbours; the flag only records it.  An output named
``diverged`` (a boolean, any shape) is the evaluation's own report; any other
output is checked for non-finite values (``+inf`` allowed in the outputs that the
evaluation declares open-ended, such as times of events that did not happen).

Example:
    >>> import numpy as np
    >>> out = {"loss": np.array([1.0, np.nan, 3.0]), "diverged": np.array([False, False, True])}
    >>> point_status(out, 3).tolist()
    [0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

__all__ = ["OK", "NONFINITE", "DIVERGED", "MISSING", "STATUS_NAMES", "DIVERGED_OUTPUT", "point_status"]

OK, NONFINITE, DIVERGED, MISSING = 0, 1, 2, 3
STATUS_NAMES = ("ok", "nonfinite", "diverged", "missing")
#: The output name that an evaluation uses to report divergence itself.
DIVERGED_OUTPUT = "diverged"


def point_status(outputs: Mapping[str, np.ndarray], n: int, open_ended: Collection[str] = ()) -> np.ndarray:
    """Status of each of the ``n`` points of a chunk from its flat ``{name: (n, ...)}`` outputs.

    In the outputs named in ``open_ended`` (times of events, say) ``+inf`` is a value
    ("not reached"), not a failure; NaN and ``-inf`` still are.
    """
    status = np.full(n, OK, dtype=np.int8)
    bad = np.zeros(n, dtype=bool)
    for name, value in outputs.items():
        arr = np.asarray(value)
        if name == DIVERGED_OUTPUT or arr.dtype.kind not in "fc":
            continue
        flat = arr.reshape(n, -1)
        ok = np.isfinite(flat) | (np.isposinf(flat) if name in open_ended else False)
        bad |= ~ok.all(axis=1)
    status[bad] = NONFINITE
    if DIVERGED_OUTPUT in outputs:
        div = np.asarray(outputs[DIVERGED_OUTPUT]).reshape(n, -1).astype(bool).any(axis=1)
        status[div] = DIVERGED
    return status
