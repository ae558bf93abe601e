"""Packaging facts: the citation, the typing marker, the license field, the declared version floors, the xarray backend."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_citation_names_the_software_version_and_the_three_papers():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", text, re.M)
    assert re.search(r"^version: \"?([^\"\n]+)\"?$", text, re.M).group(1) == PYPROJECT["project"]["version"]
    assert re.search(r"^license: (\S+)$", text, re.M).group(1) == PYPROJECT["project"]["license"]
    for arxiv in ("2210.00638", "2205.06926", "2209.06235"):
        assert f"arXiv:{arxiv}" in text


def test_typed_marker_license_and_backend_are_declared():
    project = PYPROJECT["project"]
    assert (ROOT / "landscape" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["landscape"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert any(re.fullmatch(r"setuptools>=(7[7-9]|[89]\d)(\.\d+)*", r) for r in PYPROJECT["build-system"]["requires"])
    assert (
        project["entry-points"]["xarray.backends"]["landscape"] == "landscape.xarray_backend:LandscapeBackendEntrypoint"
    )


def test_every_floor_is_the_one_recorded_as_checked():
    """docs/supported_versions.md records the check of each floor; the two must not drift apart."""
    doc = (ROOT / "docs" / "supported_versions.md").read_text(encoding="utf-8")
    for req in PYPROJECT["project"]["dependencies"]:
        name, floor = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([^,;\s]+)", req).groups()
        assert f"`{name}>={floor}`" in doc, f"{name}>={floor} is not the floor recorded in docs/supported_versions.md"
