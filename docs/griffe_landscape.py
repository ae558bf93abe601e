"""A griffe extension (loaded by mkdocstrings, see mkdocs.yml) that adapts the package's docstrings to Markdown.

The docstrings are Google style with a few reStructuredText habits that read well in a terminal
(``help()``) but not as Markdown; this rewrites them for the site only, never in the source:

* ``Example:`` (singular) becomes ``Examples:``, so the doctest lines are parsed as an examples
  section and shown as code (Markdown would read ``>>>`` as nested quotes and ``[1.0, 2.0]`` as
  a link);
* Sphinx roles (``:func:`~a.b`` and the like) become inline code (``b``; the full path without ``~``);
* doctest blocks outside an examples section are put in ``pycon`` code fences;
* reStructuredText simple tables (rows framed by ``=====  ====`` lines) become Markdown tables.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|data|attr|obj|exc):`(~?)([^`]+)`")
_BORDER = re.compile(r"^(\s*)(=+(?: +=+)+)\s*$")
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


def _role(m: re.Match) -> str:
    target = m.group(2).strip()
    return f"`{target.rsplit('.', 1)[-1] if m.group(1) else target}`"


def _columns(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _cells(line: str, cols: list[tuple[int, int]]) -> list[str]:
    out = []
    for i, (start, _) in enumerate(cols):
        end = cols[i + 1][0] if i + 1 < len(cols) else None
        out.append(line[start:end].strip())
    return out


def _tables(text: str) -> str:
    """Replace each RST simple table (header, border, rows, border) by a Markdown table."""
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = _BORDER.match(lines[i])
        borders = [j for j in range(i, len(lines)) if _BORDER.match(lines[j])][:3] if m else []
        if len(borders) < 3 or borders[0] != i or any(not lines[j].strip() for j in range(i, borders[2])):
            out.append(lines[i])
            i += 1
            continue
        indent, cols = m.group(1), _columns(lines[i])
        header = [_cells(lines[j], cols) for j in range(borders[0] + 1, borders[1])]
        rows: list[list[str]] = []
        for j in range(borders[1] + 1, borders[2]):
            cells = _cells(lines[j], cols)
            if rows and not cells[0]:  # a continuation line of the previous row
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
            else:
                rows.append(cells)
        head = [" ".join(h[k] for h in header).strip() for k in range(len(cols))]
        esc = [[c.replace("|", "\\|") for c in r] for r in [head] + rows]
        out += [""] + [indent + "| " + " | ".join(r) + " |" for r in esc[:1]]
        out += [indent + "|" + "---|" * len(cols)] + [indent + "| " + " | ".join(r) + " |" for r in esc[1:]] + [""]
        i = borders[2] + 1
    return "\n".join(out)


_HEADER = re.compile(r"^(\s*)([A-Z][A-Za-z ]*):\s*$")


def _fence_doctests(text: str) -> str:
    """Put each doctest block (``>>>`` lines and their output) outside an Examples section in a code fence."""
    lines, out = text.split("\n"), []
    in_examples, section_indent, i = False, -1, 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        header = _HEADER.match(line)
        if header:
            in_examples, section_indent = header.group(2) == "Examples", indent
        elif line.strip() and indent <= section_indent:
            in_examples = False
        if line.lstrip().startswith(">>>") and not in_examples:
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            pad = " " * indent
            out += [pad + "```pycon"] + lines[i:j] + [pad + "```"]
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def markdown_docstring(text: str) -> str:
    """The docstring ``text`` with the rewrites of this module applied."""
    text = _EXAMPLE.sub(r"\1Examples:", text)
    text = _ROLE.sub(_role, text)
    return _fence_doctests(_tables(text))


class LandscapeDocstrings(griffe.Extension):
    """Rewrite every loaded docstring with :func:`markdown_docstring`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
