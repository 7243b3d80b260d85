"""Shared fixtures: optional reference tools that skip for a casual user but not in CI.

CI sets CHAINRULE_REQUIRE_TORCH=1, CHAINRULE_REQUIRE_DOT=1 and
CHAINRULE_REQUIRE_EXTRAS=1 (the test extra's packages: nbmake, graphviz-pure, micrograd),
which turn a skip into a failure, so a missing dependency can never hide behind a
green run.
"""

from __future__ import annotations

import importlib
import os
import shutil

import pytest


def _missing(what: str, env: str, hint: str) -> None:
    if os.environ.get(env):
        pytest.fail(f"{what} is required here ({env} is set) but not available: {hint}")
    pytest.skip(f"{what} not available ({hint})", allow_module_level=True)


def require_module(name: str, hint: str = "pip install -e '.[test]'"):
    """Import a module of the test extra, or skip (fail when CHAINRULE_REQUIRE_EXTRAS)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(name, "CHAINRULE_REQUIRE_EXTRAS", hint)


@pytest.fixture(scope="session")
def torch():
    """PyTorch in float64, or a skip (a failure when CHAINRULE_REQUIRE_TORCH is set)."""
    try:
        module = importlib.import_module("torch")
    except ImportError:
        _missing("torch", "CHAINRULE_REQUIRE_TORCH", "pip install torch==2.13.0")
    return module


@pytest.fixture(scope="session")
def dot_program() -> str:
    """Path of the system Graphviz ``dot``, or a skip (a failure when CHAINRULE_REQUIRE_DOT)."""
    path = shutil.which("dot")
    if path is None:
        _missing("the Graphviz dot program", "CHAINRULE_REQUIRE_DOT", "apt-get install graphviz")
    return path
