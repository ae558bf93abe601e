"""The package's shape: imports point down the layers, no cycle, small modules and functions.

The layers, lowest first (DESIGN: problem → landscape → solution → scan → figure):

    core → losses, metrics, scan → theory → dynamics, nn → phase, diagnosis → plot → studies → reproduction → cli

A module may import from its own sub-package and from any lower layer; ``scan``
is SSL-agnostic and imports nothing of the package but ``core``.  Below ``studies``
no module imports the top-level ``landscape`` (whose names load lazily from every
layer); a package's ``__init__`` may import its submodules, never the reverse.  Function-level
imports count, so a cycle cannot hide inside a function.
"""

from __future__ import annotations

import ast
import bisect
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "landscape"
LAYER = {
    "core": 0,
    "losses": 1,
    "metrics": 1,
    "scan": 1,
    "theory": 2,
    "dynamics": 3,
    "nn": 3,
    "phase": 4,
    "diagnosis": 4,
    "plot": 5,
    "studies": 6,
    "reproduction": 7,
    "cli": 8,
}
# Sizes are counted in tokens (names, operators, literals; not comments or whitespace), so that
# the formatter's layout does not change them.  The limits are the earlier ones of 500 lines per
# module and 80 per function, written in the denser layout before `ruff format`, translated: at
# commit 2afc684 the largest module within 500 lines had 4,545 tokens and the largest function
# within 80 lines 1,038.
MAX_MODULE_TOKENS = 4600
MAX_FUNCTION_TOKENS = 1050
LONG_REASON = "Long:"  # a docstring paragraph that starts with this explains a longer function


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Modules of the package that ``name`` imports anywhere in its body (not in docstrings)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:  # `from pkg import submodule` depends on the submodule only
                found.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _group(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_subpackage_has_a_layer():
    # _compat: the old paths' forwarding table; xarray_backend: the entry point xarray loads with every
    # engine lookup, kept outside the sub-packages so that it imports neither JAX nor the scan layer
    groups = {_group(n) for n in MODULES} - {None, "_compat", "xarray_backend"}
    loose = sorted(g for g in groups if g not in LAYER)
    assert not loose, f"modules outside the layered sub-packages: {loose}"


def test_imports_point_down():
    bad = []
    for name, deps in GRAPH.items():
        src = _group(name)
        if src is None or src in ("_compat", "xarray_backend"):
            continue  # landscape/__init__.py re-exports from every layer
        for dep in deps:
            dst = _group(dep)
            if dst is None and LAYER[src] < LAYER["studies"]:
                bad.append(f"{name} imports the top-level package ({dep})")
            elif dst is None:
                continue  # studies and cli may start from the curated top-level names
            elif dst != src and not LAYER[dst] < LAYER[src]:
                bad.append(f"{name} (layer {src}) imports {dep} (layer {dst})")
            elif src == "scan" and dst not in ("scan", "core"):
                bad.append(f"{name}: scan is SSL-agnostic but imports {dep}")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycle():
    index, low, on, stack, cycles = {}, {}, set(), [], []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    """The tokens that carry code: no comments, line breaks or indentation."""
    return [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in _LAYOUT_TOKENS]


_LAYOUT_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_and_function_sizes(name):
    path = MODULES[name]
    text = path.read_text(encoding="utf-8")
    tokens = _tokens(text)
    assert len(tokens) <= MAX_MODULE_TOKENS, f"{path.name}: {len(tokens)} tokens (at most {MAX_MODULE_TOKENS})"
    starts = [t.start[0] for t in tokens]
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            size = bisect.bisect_right(starts, node.end_lineno) - bisect.bisect_left(starts, node.lineno)
            doc = ast.get_docstring(node) or ""
            if size > MAX_FUNCTION_TOKENS and LONG_REASON not in doc:
                long.append(f"{node.name} ({size} tokens, no '{LONG_REASON}' reason in its docstring)")
    assert not long, f"{name}: " + "; ".join(long)


def test_size_measure_ignores_layout():
    """The same code in two layouts has the same size; a comment adds nothing."""
    dense = "def f(a, b):\n    return g(a, b, c=1)  # note\n"
    spread = "def f(\n    a,\n    b,\n):\n    return g(\n        a,\n        b,\n        c=1,\n    )\n"
    assert len(_tokens(dense)) == len(_tokens(spread)) - 2  # the two magic trailing commas


def test_no_private_name_crosses_modules():
    """A private name (``_x``) is imported only within its own sub-package."""
    bad = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("landscape"):
                mod = node.module
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__") and _group(mod) != _group(name):
                        bad.append(f"{name} imports {mod}.{a.name}")
    assert not bad, "\n".join(sorted(bad))
