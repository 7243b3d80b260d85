"""Fixtures for optional tools, the hypothesis profile, and one line per skipped group."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import settings
from support import require

# One profile for every property test (minitorch's pattern); CI and users share it.
settings.register_profile("chainrule", deadline=None, print_blob=True)
settings.load_profile("chainrule")


@pytest.fixture(scope="session")
def torch():
    """PyTorch (tests use float64), or a skip; a failure when CHAINRULE_REQUIRE_TORCH is set."""
    return require("torch")


@pytest.fixture(scope="session")
def dot_program() -> str:
    """Path of the system Graphviz ``dot``, or a skip; a failure when CHAINRULE_REQUIRE_DOT."""
    return require("dot")


_SKIP_GROUP = re.compile(r"^(.+ tests skipped: .+)$")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Summarise skips as "47 torch tests skipped: pip install torch==2.13.0", one per group."""
    groups: Counter = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ") if hasattr(reason, "removeprefix") else reason
        match = _SKIP_GROUP.match(reason)
        groups[match.group(1) if match else reason] += 1
    for reason, count in sorted(groups.items()):
        name, _, rest = reason.partition(" tests skipped: ")
        line = f"{count} {name} tests skipped: {rest}" if rest else f"{count} skipped: {reason}"
        terminalreporter.write_line(line)
