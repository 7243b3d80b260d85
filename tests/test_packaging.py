"""Packaging: pyproject.toml's [project] table and setup.cfg describe one project."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# setup.cfg's keys and the pyproject.toml field each one fills (PEP 621 names)
SETUP_CFG_FIELDS = {
    ("metadata", "version"): "version",
    ("metadata", "description"): "description",
    ("metadata", "long_description"): "readme",
    ("metadata", "license"): "license",
    ("metadata", "classifiers"): "classifiers",
    ("options", "python_requires"): "requires-python",
    ("options", "install_requires"): "dependencies",
}


def pyproject_project() -> dict:
    """name and dynamic of the [project] table (read by hand: tomllib is 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]
    name = re.search(r'^name\s*=\s*"([^"]+)"', table, re.M)
    dynamic = re.search(r"^dynamic\s*=\s*\[(.*?)\]", table, re.M | re.S)
    assert name and dynamic, "pyproject.toml's [project] needs name and dynamic"
    return {"name": name.group(1), "dynamic": re.findall(r'"([^"]+)"', dynamic.group(1))}


def test_pyproject_dynamic_fields_are_exactly_those_setup_cfg_sets():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    project = pyproject_project()
    assert project["name"] == config["metadata"]["name"]
    expected = {field for (section, key), field in SETUP_CFG_FIELDS.items()
                if config.has_option(section, key)}
    if config.has_section("options.extras_require"):
        expected.add("optional-dependencies")
    assert sorted(project["dynamic"]) == sorted(expected)
    # and nothing setup.cfg sets in [metadata] is left without a pyproject field
    known = {key for section, key in SETUP_CFG_FIELDS if section == "metadata"}
    unmapped = set(config["metadata"]) - known - {"name", "long_description_content_type"}
    assert not unmapped, f"setup.cfg [metadata] keys with no dynamic field: {unmapped}"
