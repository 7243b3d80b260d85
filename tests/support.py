"""Helpers shared by the test modules (imported as ``support``, never from conftest).

``require(name)`` is the one gate for every optional dependency: for a casual user it
skips (and the run ends with one summary line per group, "47 torch tests skipped:
pip install torch==2.13.0"); where CI sets the group's ``CHAINRULE_REQUIRE_*``
variable, it fails instead, so a missing dependency never hides behind a green run.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sysconfig
from typing import Any, Callable, Dict, NamedTuple, Optional

import pytest


class Dependency(NamedTuple):
    env: str  # the CHAINRULE_REQUIRE_* variable CI sets
    hint: str  # what a user runs to get it
    find: Callable[[], Optional[Any]]  # the module or path, or None when missing


def _module(name: str) -> Callable[[], Optional[Any]]:
    def find() -> Optional[Any]:
        try:
            return importlib.import_module(name)
        except ImportError:
            return None
    return find


def _program(name: str, *, beside_python: bool = False) -> Callable[[], Optional[str]]:
    def find() -> Optional[str]:
        found = shutil.which(name)
        if found is None and beside_python:  # a venv's bin/ that is not on PATH
            found = shutil.which(name, path=sysconfig.get_path("scripts"))
        return found
    return find


EXTRAS = "pip install -e '.[test]'"
DEPENDENCIES: Dict[str, Dependency] = {
    "torch": Dependency("CHAINRULE_REQUIRE_TORCH", "pip install torch==2.13.0", _module("torch")),
    "numpy": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("numpy")),
    "micrograd": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("micrograd")),
    "tqdm": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("tqdm")),
    "nbmake": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("nbmake")),
    "nbclient": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("nbclient")),
    "nbformat": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("nbformat")),
    "ipywidgets": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("ipywidgets")),
    "jupyterlite": Dependency(
        "CHAINRULE_REQUIRE_BROWSER", "pip install -e '.[lite]'", _module("jupyterlite_core")
    ),
    "websocket": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("websocket")),
    "graphviz": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("graphviz")),
    "PIL": Dependency("CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _module("PIL")),
    "graphviz-pure": Dependency(
        "CHAINRULE_REQUIRE_EXTRAS", EXTRAS, _program("graphviz-pure", beside_python=True)
    ),
    "dot": Dependency("CHAINRULE_REQUIRE_DOT", "apt-get install graphviz", _program("dot")),
    "node": Dependency("CHAINRULE_REQUIRE_BROWSER", "apt-get install nodejs npm", _program("node")),
    "chromium": Dependency(
        "CHAINRULE_REQUIRE_BROWSER", "apt-get install chromium", _program("chromium")
    ),
}


def missing(name: str, detail: str = "") -> None:
    """Skip as the group ``name`` is missing, or fail where CI requires that group."""
    dep = DEPENDENCIES[name]
    why = f"{name} not available" + (f" ({detail})" if detail else "")
    if os.environ.get(dep.env):
        pytest.fail(f"{why}, but {dep.env} is set, so it is required: {dep.hint}")
    pytest.skip(f"{name} tests skipped: {dep.hint}")


def require(name: str) -> Any:
    """The module (or the program's path) for ``name``, else a skip or, in CI, a failure."""
    found = DEPENDENCIES[name].find()
    if found is None:
        missing(name)
    return found
