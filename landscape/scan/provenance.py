"""Which code produced a scan: the package version and the git commit of its source.

The commit is read with ``git rev-parse HEAD`` in the folder of the installed
package (an editable install or a checkout).  Outside a git work tree it is
``"unknown"``.  ``dirty`` says whether tracked files differ from the commit.

Example:
    >>> info = code_version()
    >>> sorted(info)
    ['git_commit', 'git_dirty', 'package_version']
"""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
from pathlib import Path

__all__ = ["code_version"]


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def _package_version() -> str:
    try:
        return importlib.metadata.version("landscape")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``{"package_version", "git_commit", "git_dirty"}`` of the running ``landscape``.

    The version is the installed distribution's (``importlib.metadata``), or
    ``"unknown"`` when the package runs from a folder that was never installed.
    """
    here = Path(__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], here)
    dirty = None
    if commit is not None:
        status = _git(["status", "--porcelain", "--untracked-files=no"], here)
        dirty = bool(status) if status is not None else None
    return {"package_version": _package_version(), "git_commit": commit or "unknown", "git_dirty": dirty}
