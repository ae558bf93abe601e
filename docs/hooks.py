"""Build-time pages of the documentation site (a MkDocs hook, see mkdocs.yml).

Everything here is generated from the repository on every build, so the site cannot
drift from the code:

* ``examples/<stem>.md``: each ``docs/examples/<stem>.py`` (jupytext percent format)
  is run cell by cell in a fresh Python process; the page shows each cell, what it
  printed and the figures it saved.  A failing example fails the build.
* ``gallery.md``: one entry per reproduction experiment (its ``NAME``, the first line of
  its docstring, the command that makes it), read with ``ast`` from
  ``landscape/reproduction/``; the figure is shown when ``out/reproduction/NAME.png``
  exists (after ``make run``), and a placeholder line says how to make it otherwise.
* ``reproduction.md``: ``paper_repro/REPORT.md`` when ``make run`` has written it, with
  its image links pointed at the gallery's copies; a placeholder otherwise.
* ``benchmarks.md`` and ``changelog.md``: ``benchmarks/README.md`` and ``CHANGELOG.md``.
* ``api/*.md``: ``:::`` directives for every name in ``landscape.__all__`` and every
  public module of every sub-package (found on disk, so a new module is documented
  without editing this file).

Nothing is imported from ``landscape`` here; the examples and mkdocstrings do that.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.landscape")

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "landscape"
EXAMPLES = ROOT / "docs" / "examples"
FIGURES = ROOT / "out" / "reproduction"
REPORT = ROOT / "paper_repro" / "REPORT.md"

# ----------------------------------------------------------------------------- helpers


def _literal(tree: ast.Module, name: str):
    """The value of the module-level constant ``name`` (a literal), or None."""
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            try:
                return ast.literal_eval(value)
            except ValueError:
                return None
    return None


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _first_line(doc: str | None) -> str:
    line = (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""
    return line.rstrip(".")


def _add(files: Files, config, uri: str, content: str | bytes | None = None, path: Path | None = None) -> None:
    old = files.get_file_from_path(uri)
    if old is not None:
        files.remove(old)
    if path is not None:
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    else:
        files.append(File.generated(config, uri, content=content))


# ----------------------------------------------------------------------------- examples

# Runs an example one cell at a time in one namespace; after each cell it prints a
# marker line with the cell's index and the figures it saved (new *.png files in cwd).
_RUNNER = r"""
import json, os, sys
path = sys.argv[1]
cells = json.loads(sys.stdin.read())
ns = {"__name__": "__main__", "__file__": path}
seen = set(os.listdir("."))
for i, code in enumerate(cells):
    exec(compile(code, f"{path} (cell {i + 1})", "exec"), ns)
    try:
        import matplotlib.pyplot as plt
        plt.close("all")
    except ImportError:
        pass
    now = set(os.listdir("."))
    new = sorted(f for f in now - seen if f.endswith(".png"))
    seen = now
    sys.stdout.flush()
    print("\n@@cell %d %s@@" % (i, json.dumps(new)), flush=True)
"""

_CELL = re.compile(r"^# %%(.*)$", re.M)


def _cells(source: str) -> list[tuple[str, str]]:
    """(kind, text) per percent cell: kind is "markdown" or "code"; text before the first marker is skipped."""
    parts = _CELL.split(source)
    out = []
    for header, body in zip(parts[1::2], parts[2::2]):
        body = body.strip("\n")
        if "[markdown]" in header:
            text = "\n".join(re.sub(r"^# ?", "", line) for line in body.splitlines())
            out.append(("markdown", text))
        elif body.strip():
            out.append(("code", body))
    return out


def _run_example(path: Path, workdir: Path) -> tuple[list[tuple[str, str]], dict[int, tuple[str, list[str]]], float]:
    cells = _cells(path.read_text(encoding="utf-8"))
    code = [text for kind, text in cells if kind == "code"]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    flags = env.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:  # the jaxlib 0.10 CPU hang (docs/known-issues.md)
        env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path)],
        input=json.dumps(code),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise PluginError(
            f"docs example {path.relative_to(ROOT)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    outputs: dict[int, tuple[str, list[str]]] = {}
    chunks = re.split(r"\n?@@cell (\d+) (\[.*?\])@@\n", proc.stdout)
    for text, index, figs in zip(chunks[0::3], chunks[1::3], chunks[2::3]):
        outputs[int(index)] = (text.strip("\n"), json.loads(figs))
    return cells, outputs, seconds


def _example_page(path: Path, cells, outputs, seconds: float, stem: str) -> str:
    rel = path.relative_to(ROOT).as_posix()
    lines = []
    code_index = 0
    for kind, text in cells:
        if kind == "markdown":
            lines += [text, ""]
            continue
        lines += ["```python", text, "```", ""]
        out, figs = outputs.get(code_index, ("", []))
        if out.strip():
            lines += ['``` { .text .no-copy title="output" }', out, "```", ""]
        for fig in figs:
            lines += [f"![{fig}]({stem}/{fig})", ""]
        code_index += 1
    lines += [
        "---",
        "",
        f"*Source: `{rel}` (jupytext percent format: open it as a notebook, or run "
        f"`python {rel}`). Run when this site was built, in {seconds:.0f} s on CPU.*",
        "",
    ]
    return "\n".join(lines)


def _examples(files: Files, config, tmp: Path) -> None:
    total = 0.0
    for path in sorted(EXAMPLES.glob("*.py")):
        stem = path.stem
        workdir = tmp / "examples" / stem
        workdir.mkdir(parents=True)
        cells, outputs, seconds = _run_example(path, workdir)
        total += seconds
        log.info("example %s ran in %.1f s", path.name, seconds)
        _add(files, config, f"examples/{stem}.md", _example_page(path, cells, outputs, seconds, stem))
        for png in sorted(workdir.glob("*.png")):
            _add(files, config, f"examples/{stem}/{png.name}", path=png)
    log.info("examples: %.1f s in all", total)


# ----------------------------------------------------------------------------- gallery and report


def _experiments() -> list[dict]:
    """NAME, title, paper scale and module path of every reproduction experiment, in the report's order."""
    base = PKG / "reproduction"
    order = _literal(_parse(base / "__init__.py"), "EXPERIMENTS") or ()
    papers = _literal(_parse(base / "claims.py"), "PAPERS") or {}
    found = {}
    for mod in sorted(base.glob("*/*.py")):
        if mod.name.startswith("_"):
            continue
        tree = _parse(mod)
        name = _literal(tree, "NAME")
        if not isinstance(name, str):
            continue
        dotted = f"{mod.parent.name}.{mod.stem}"
        paper = papers.get(mod.parent.name) or mod.parent.name
        found[dotted] = {
            "name": name,
            "title": _first_line(ast.get_docstring(tree)),
            "module": dotted,
            "scale": _literal(tree, "PAPER_SCALE") or "",
            "paper": paper,
        }
    rank = {p: i for i, p in enumerate(order)}
    return sorted(found.values(), key=lambda e: (rank.get(e["module"], len(rank)), e["module"]))


def _gallery(files: Files, config) -> set[str]:
    shown = set()
    lines = [
        "# Figure gallery",
        "",
        "Every figure of the reproduction, with one line on what it shows and the command that makes it. "
        "`make run` (= `landscape reproduce`) makes all of them at once; "
        "`landscape reproduce --only NAME` makes one, and `landscape reproduce --plot-only` redraws "
        "them from the stored data without recomputing. Data and figures go to `out/reproduction/`; "
        "the claims each figure tests are in the [reproduction report](reproduction.md).",
        "",
    ]
    paper = None
    for e in _experiments():
        if e["paper"] != paper:
            paper = e["paper"]
            lines += [f"## {paper}", ""]
        png = FIGURES / f"{e['name']}.png"
        lines += [
            f"### {e['name']}",
            "",
            f"{e['title']}.",
            "",
            f"```sh\nlandscape reproduce --only {e['name']}\n```",
            "",
        ]
        if png.exists():
            _add(files, config, f"gallery/{png.name}", path=png)
            shown.add(png.name)
            lines += [f"![{e['name']}](gallery/{png.name})", ""]
        else:
            lines += [
                f"*Not built here: `out/reproduction/{png.name}` does not exist. "
                "Run the command above (or `make run`), then rebuild the docs.*",
                "",
            ]
        if e["scale"]:
            lines += [f"Against the paper: {e['scale']}", ""]
        lines += [
            f"Module: [`landscape.reproduction.{e['module']}`](api/reproduction.md#landscape.reproduction."
            f"{e['module']})",
            "",
        ]
    _add(files, config, "gallery.md", "\n".join(lines))
    return shown


def _report(files: Files, config, shown: set[str]) -> None:
    head = [
        "# Reproduction report",
        "",
        "The report below is **generated**: `make run` (= `landscape reproduce`) computes every experiment, "
        "stores its arrays and figure under `out/reproduction/`, and writes `paper_repro/REPORT.md` and "
        "`paper_repro/REPORT.html` from the stored data (every claim of the three papers, our number, the "
        "paper's, the verdict). The site includes `REPORT.md` as it was when the site was built. "
        "See [Reproduce the papers](howto/reproduce.md) and the [figure gallery](gallery.md).",
        "",
    ]
    if not REPORT.exists():
        body = [
            '!!! note "No report in this checkout"',
            "    `paper_repro/REPORT.md` does not exist yet. Run `make run` (about the time the "
            "experiments take on your machine), then `make docs` again to include it here.",
            "",
        ]
    else:
        text = REPORT.read_text(encoding="utf-8")
        text = re.sub(r"^# .*\n", "", text, count=1, flags=re.M)  # our own title replaces it

        def image(m: re.Match) -> str:
            name = Path(m.group(2)).name
            if name not in shown and (FIGURES / name).exists():
                _add(files, config, f"gallery/{name}", path=FIGURES / name)
                shown.add(name)
            if name in shown:
                return f"![{m.group(1)}](gallery/{name})"
            return f"*(figure `{name}` not found under `out/reproduction/`)*"

        text = re.sub(r"!\[([^\]]*)\]\(([^)]+\.png)\)", image, text)
        body = [text]
    _add(files, config, "reproduction.md", "\n".join(head + body))


# ----------------------------------------------------------------------------- benchmarks, changelog


def _repo_page(files: Files, config, uri: str, source: Path, title: str, intro: str, links: dict[str, str]) -> None:
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"^# .*\n", "", text, count=1, flags=re.M)
    for old, new in links.items():
        text = text.replace(f"]({old})", f"]({new})")
    _add(files, config, uri, f"# {title}\n\n{intro}\n\n{text}")


# ----------------------------------------------------------------------------- API reference


def _public_modules(package: Path, dotted: str) -> list[str]:
    """Dotted names of the public modules under ``package`` (recursively), in file order."""
    out = []
    for entry in sorted(package.iterdir()):
        if entry.name.startswith("_"):
            continue
        if entry.is_file() and entry.suffix == ".py":
            out.append(f"{dotted}.{entry.stem}")
        elif entry.is_dir() and (entry / "__init__.py").exists():
            out.append(f"{dotted}.{entry.name}")
            out += _public_modules(entry, f"{dotted}.{entry.name}")
    return out


def _defining_module(module: str, name: str) -> str:
    """The module that defines ``name``, following ``from X import name`` in a package's ``__init__``."""
    path = ROOT / Path(*module.split("."))
    init = path / "__init__.py"
    if not init.exists():
        return module
    for node in _parse(init).body:
        if isinstance(node, ast.ImportFrom) and node.module and any(a.name == name for a in node.names):
            return _defining_module(node.module, name)
    return module


def _api(files: Files, config) -> None:
    tree = _parse(PKG / "__init__.py")
    home, names = _literal(tree, "_HOME"), _literal(tree, "__all__")
    subpackages = _literal(tree, "_SUBPACKAGES")
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings, one page per sub-package; each page documents every public "
        "module of the sub-package (the names in its `__all__`).",
        "",
    ]
    lines += [
        f"- [`landscape.{s}`]({s}.md): {_first_line(ast.get_docstring(_parse(PKG / s / '__init__.py')))}"
        for s in subpackages
    ]
    lines += [
        "",
        "## The top-level names",
        "",
        "`import landscape as ls` gives these names (each loads on first use) and `ls.__version__`, the "
        "installed package's version. Each links to its documentation in the module that defines it.",
        "",
        "| name | defined in | summary |",
        "|---|---|---|",
    ]
    for n in names:
        if n == "__version__":
            continue
        module = _defining_module(home[n], n)
        sub = module.split(".")[1]
        doc = _docstring_of(module, n)
        anchor = f"{module}.{n}" if doc is not None else module  # a constant has no docstring of its own
        lines.append(f"| [`ls.{n}`]({sub}.md#{anchor}) | `{module}` | {doc or 'a constant of the module'} |")
    lines.append("")
    _add(files, config, "api/index.md", "\n".join(lines))
    for s in subpackages:
        page = [
            f"# `landscape.{s}`",
            "",
            f"::: landscape.{s}",
            "    options:",
            "      members: false",
            "      show_root_heading: false",
            "",
        ]
        for mod in _public_modules(PKG / s, f"landscape.{s}"):
            page += [f"::: {mod}", "    options:", "      show_submodules: false", ""]
        _add(files, config, f"api/{s}.md", "\n".join(page))


def _docstring_of(module: str, name: str) -> str | None:
    """First line of the docstring of ``name`` (a function or class) in ``module``, for the summary table."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for node in _parse(path).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return _first_line(ast.get_docstring(node)).replace("|", "\\|")
    return None


# ----------------------------------------------------------------------------- the hook


_TMP: tempfile.TemporaryDirectory | None = None


def on_files(files: Files, config) -> Files:
    global _TMP
    if _TMP is not None:
        _TMP.cleanup()
    _TMP = tempfile.TemporaryDirectory(prefix="landscape-docs-")
    tmp = Path(_TMP.name)
    shown = _gallery(files, config)
    _report(files, config, shown)
    _repo_page(
        files,
        config,
        "benchmarks.md",
        ROOT / "benchmarks" / "README.md",
        "Benchmarks",
        "*This page is `benchmarks/README.md`; `make bench` runs the scripts.*",
        {"../CHANGELOG.md": "changelog.md"},
    )
    _repo_page(files, config, "changelog.md", ROOT / "CHANGELOG.md", "Changelog", "*This page is `CHANGELOG.md`.*", {})
    _api(files, config)
    if os.environ.get("LANDSCAPE_DOCS_SKIP_EXAMPLES") != "1":
        _examples(files, config, tmp)
    else:
        log.warning("LANDSCAPE_DOCS_SKIP_EXAMPLES=1: the examples were not run")  # fails a strict build
        for path in sorted(EXAMPLES.glob("*.py")):
            _add(files, config, f"examples/{path.stem}.md", f"# {path.stem}\n\n(not run)\n")
    return files


def on_post_build(config) -> None:
    global _TMP
    if _TMP is not None:
        _TMP.cleanup()
        _TMP = None
