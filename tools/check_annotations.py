"""Every public function and method of the package is annotated: each parameter and the return.

Public: a top-level function or a method of a top-level class, in a module whose path has no
part starting with ``_`` (``__init__.py`` counts as public), whose own name has no leading ``_``
(dunder methods are public; ``__init__`` needs no return annotation).  ``self`` and ``cls``
need none.  ruff's ANN rules cannot leave out private helpers' arguments, hence this check.

    python tools/check_annotations.py            # exit 1 and one line per gap
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "landscape"


def _public_module(path: Path) -> bool:
    return not any(part.startswith("_") and part != "__init__.py" for part in path.relative_to(ROOT).parts)


def _public_name(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _gaps(fn: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> list[str]:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]
    skip = {"self", "cls"} if is_method else set()
    gaps = [p.arg for p in params if p.annotation is None and p.arg not in skip]
    if fn.returns is None and fn.name != "__init__":
        gaps.append("return")
    return gaps


def main() -> int:
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        if not _public_module(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        defs: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str, bool]] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                defs.append((node, node.name, False))
            elif isinstance(node, ast.ClassDef) and _public_name(node.name):
                for m in node.body:
                    if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef):
                        defs.append((m, f"{node.name}.{m.name}", True))
        for fn, qualname, is_method in defs:
            if _public_name(fn.name) and (gaps := _gaps(fn, is_method)):
                rel = path.relative_to(ROOT.parent)
                problems.append(f"{rel}:{fn.lineno}: {qualname} is missing annotations for {', '.join(gaps)}")
    print("\n".join(problems))
    if problems:
        print(f"{len(problems)} public functions not fully annotated", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
