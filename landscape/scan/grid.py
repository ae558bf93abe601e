r"""Parameter grids: products of named 1-D axes and explicit point lists.

A :class:`Grid` is an ordered product of *components*.  Each component adds
one dimension to the result:

* :class:`Axis`   one named parameter and its values, e.g. σ² ∈ {0, 0.5, 1};
* :class:`Points` an explicit list of points over several parameters at once,
  e.g. [(σ², γ) = (0.5, 0.1), (2.0, 0.3)]; its dimension is named by the
  component and each parameter becomes a coordinate along it.

The grid's points are the Cartesian product of the components, numbered in
C order (the last component varies fastest).  That flat numbering is how the
grid is cut into chunks and stored; :meth:`Grid.parameters` turns a range of
flat indices back into parameter values.

Values may be non-uniform and may repeat; they must be finite, and an axis may
not be empty.  A grid round-trips exactly through :meth:`Grid.to_json` /
:meth:`Grid.from_json` (Python's float repr is exact), which is how a store
records it.

Example:
    >>> g = Grid([Axis("sigma2", [0.0, 0.5, 2.0]), Axis("gamma", [0.1, 0.2])])
    >>> g.shape, g.size, g.dims
    ((3, 2), 6, ('sigma2', 'gamma'))
    >>> {k: v.tolist() for k, v in g.parameters(3, 6).items()}
    {'sigma2': [0.5, 2.0, 2.0], 'gamma': [0.2, 0.1, 0.2]}
    >>> Grid.from_json(g.to_json()) == g
    True
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from landscape.core.validation import require_memory

__all__ = ["Axis", "Points", "Grid", "parse_sweep", "as_grid"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_name(name: str, field: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{field} must be an identifier (letters, digits, underscore), got {name!r}")
    return name


def _values(values, field: str) -> np.ndarray:
    """A finite, non-empty 1-D float64 or int64 array (ints stay ints)."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{field} must be a 1-D list of numbers, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{field} is empty: a grid axis needs at least one value")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{field} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{field} must be finite; entry {bad} is {arr[bad]}")
    return arr


def _as_json_list(arr: np.ndarray) -> list:
    return [int(v) for v in arr] if arr.dtype.kind in "iu" else [float(v) for v in arr]


@dataclasses.dataclass(frozen=True, eq=False)
class Axis:
    """One named parameter and its values (one grid dimension named ``name``)."""

    name: str
    values: np.ndarray

    def __post_init__(self) -> None:
        _check_name(self.name, "axis name")
        object.__setattr__(self, "values", _values(self.values, f"axis {self.name!r}"))

    @property
    def dim(self) -> str:
        """The dimension this component adds (the parameter's name)."""
        return self.name

    @property
    def size(self) -> int:
        return int(self.values.size)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return (self.name,)

    def columns(self) -> dict[str, np.ndarray]:
        """Parameter values along this component's dimension."""
        return {self.name: self.values}

    def to_json(self) -> dict:
        return {"axis": self.name, "values": _as_json_list(self.values)}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Axis)
            and self.name == other.name
            and self.values.dtype == other.values.dtype
            and np.array_equal(self.values, other.values)
        )

    __hash__ = None


@dataclasses.dataclass(frozen=True, eq=False)
class Points:
    """An explicit list of points over several parameters (one dimension named ``name``).

    ``values`` maps each parameter to its value at every point; all lists must
    have the same, non-zero length.
    """

    name: str
    values: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        _check_name(self.name, "point-list name")
        if not isinstance(self.values, Mapping) or not self.values:
            raise ValueError(f"point list {self.name!r} needs a mapping of at least one parameter to values")
        cols = {}
        for key, vals in self.values.items():
            _check_name(key, f"parameter name in point list {self.name!r}")
            cols[key] = _values(vals, f"point list {self.name!r}, parameter {key!r}")
        sizes = {k: v.size for k, v in cols.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"point list {self.name!r}: every parameter needs the same number of values, got {sizes}")
        if self.name in cols:
            raise ValueError(f"point list {self.name!r}: its name may not also be one of its parameters")
        object.__setattr__(self, "values", cols)

    @classmethod
    def from_records(cls, name: str, records: Sequence[Mapping[str, float]]) -> Points:
        """Build from a list of ``{parameter: value}`` dicts with the same keys."""
        if not records:
            raise ValueError(f"point list {name!r} is empty: it needs at least one point")
        keys = list(records[0])
        for i, r in enumerate(records):
            if list(r) != keys:
                raise ValueError(f"point list {name!r}: point {i} has parameters {list(r)}, expected {keys}")
        return cls(name, {k: [r[k] for r in records] for k in keys})

    @property
    def dim(self) -> str:
        return self.name

    @property
    def size(self) -> int:
        return int(next(iter(self.values.values())).size)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def columns(self) -> dict[str, np.ndarray]:
        return dict(self.values)

    def to_json(self) -> dict:
        return {"points": self.name, "values": {k: _as_json_list(v) for k, v in self.values.items()}}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Points)
            and self.name == other.name
            and list(self.values) == list(other.values)
            and all(
                self.values[k].dtype == other.values[k].dtype and np.array_equal(self.values[k], other.values[k])
                for k in self.values
            )
        )

    __hash__ = None


Component = Axis | Points


class Grid:
    """The Cartesian product of :class:`Axis` and :class:`Points` components (C order)."""

    def __init__(self, components: Iterable[Component]):
        comps = tuple(components)
        if not comps:
            raise ValueError("a grid needs at least one axis or point list")
        for c in comps:
            if not isinstance(c, (Axis, Points)):
                raise ValueError(f"grid components must be Axis or Points, got {type(c).__name__}")
        dims = [c.dim for c in comps]
        params = [p for c in comps for p in c.parameter_names]
        names = dims + [p for c in comps if isinstance(c, Points) for p in c.parameter_names]
        seen = set()
        for n in names:
            if n in seen:
                raise ValueError(f"grid name {n!r} is used twice; every dimension and parameter needs its own name")
            seen.add(n)
        self.components = comps
        self._params = tuple(params)

    # ---------------------------------------------------------------- shape
    @property
    def dims(self) -> tuple[str, ...]:
        """One dimension name per component."""
        return tuple(c.dim for c in self.components)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(c.size for c in self.components)

    @property
    def size(self) -> int:
        """Number of points (the product of the component sizes)."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every parameter that the grid sets, in component order."""
        return self._params

    # ---------------------------------------------------------------- values
    def parameters(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Parameter values at the flat indices ``start ≤ i < stop`` (C order)."""
        stop = self.size if stop is None else stop
        if not 0 <= start <= stop <= self.size:
            raise ValueError(f"flat index range must satisfy 0 <= start <= stop <= {self.size}, got [{start}, {stop})")
        idx = np.unravel_index(np.arange(start, stop, dtype=np.int64), self.shape)
        out = {}
        for comp, i in zip(self.components, idx):
            for name, col in comp.columns().items():
                out[name] = col[i]
        return out

    def coords(self) -> dict[str, tuple]:
        """xarray coordinates: each axis indexes its dimension; point lists add one coordinate per parameter."""
        coords: dict[str, tuple] = {}
        for c in self.components:
            if isinstance(c, Axis):
                coords[c.name] = (c.name, c.values)
            else:
                coords[c.name] = (c.name, np.arange(c.size))
                for k, v in c.values.items():
                    coords[k] = (c.name, v)
        return coords

    # ---------------------------------------------------------------- (de)serialisation
    def to_json(self) -> str:
        """A canonical JSON text of the grid (exact: floats use their shortest repr)."""
        return json.dumps([c.to_json() for c in self.components], separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Grid:
        items = json.loads(text)
        comps: list[Component] = []
        for it in items:
            if "axis" in it:
                comps.append(Axis(it["axis"], _typed(it["values"])))
            else:
                comps.append(Points(it["points"], {k: _typed(v) for k, v in it["values"].items()}))
        return cls(comps)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grid) and self.components == other.components

    __hash__ = None

    def __repr__(self) -> str:
        parts = [f"{c.dim}[{c.size}]" for c in self.components]
        return f"Grid({' × '.join(parts)}, {self.size} points)"

    def rename(self, mapping: Mapping[str, str]) -> Grid:
        """The same grid with parameter (and axis) names replaced through ``mapping``."""
        comps: list[Component] = []
        for c in self.components:
            if isinstance(c, Axis):
                comps.append(Axis(mapping.get(c.name, c.name), c.values))
            else:
                comps.append(Points(c.name, {mapping.get(k, k): v for k, v in c.values.items()}))
        return Grid(comps)


def _typed(values: list) -> np.ndarray:
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray(values, dtype=np.float64)


def parse_sweep(text: str) -> Axis:
    """An :class:`Axis` from ``NAME=START:STOP:NUM`` (inclusive linspace) or ``NAME=v1,v2,...``.

    Integer lists stay integers; ``START:STOP:NUM`` always gives floats.

    >>> parse_sweep("sigma2=0:1:3").values.tolist()
    [0.0, 0.5, 1.0]
    >>> parse_sweep("n_samples=10,20,20").values.tolist()
    [10, 20, 20]
    """
    if not isinstance(text, str) or "=" not in text:
        raise ValueError(f"a sweep must look like NAME=START:STOP:NUM or NAME=v1,v2,...; got {text!r}")
    name, spec = (s.strip() for s in text.split("=", 1))
    _check_name(name, "sweep name")
    if spec == "":
        raise ValueError(f"sweep {name!r} is empty: give START:STOP:NUM or v1,v2,...")
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise ValueError(f"sweep {name!r}: range must be START:STOP:NUM, got {spec!r}")
        try:
            start, stop = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"sweep {name!r}: START and STOP must be numbers, got {spec!r}") from None
        try:
            num = int(parts[2])
        except ValueError:
            raise ValueError(f"sweep {name!r}: NUM must be an integer, got {parts[2]!r}") from None
        if num < 1:
            raise ValueError(f"sweep {name!r} is empty: NUM must be >= 1, got {num}")
        require_memory(8.0 * num, f"sweep {name!r} ({num} values)")
        return Axis(name, np.linspace(start, stop, num))
    items = [s.strip() for s in spec.split(",")]
    if any(s == "" for s in items):
        raise ValueError(f"sweep {name!r}: empty entry in {spec!r}")
    try:
        if all(re.fullmatch(r"[+-]?\d+", s) for s in items):
            return Axis(name, np.array([int(s) for s in items], dtype=np.int64))
        return Axis(name, np.array([float(s) for s in items]))
    except ValueError:
        raise ValueError(f"sweep {name!r}: values must be numbers, got {spec!r}") from None


#: What :func:`as_grid` accepts: a grid, one component, a list of components, or ``{name: values}``.
GridLike = Grid | Axis | Points | Sequence[Axis | Points] | Mapping[str, Any]  # values: what Axis accepts


def as_grid(grid: GridLike) -> Grid:
    """Accept a :class:`Grid`, one component, a list of components, or ``{name: values}``."""
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, (Axis, Points)):
        return Grid([grid])
    if isinstance(grid, Mapping):
        return Grid([Axis(k, v) for k, v in grid.items()])
    if isinstance(grid, (list, tuple)):
        return Grid(grid)
    raise ValueError(
        f"grid must be a Grid, an Axis, a Points, a list of them or a dict of axes; got {type(grid).__name__}"
    )
