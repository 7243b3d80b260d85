"""Shared helpers for the viz tests: the lecture graphs, a DOT parser, snapshots, fixtures.

DOT snapshots live in tests/snapshots/viz/; after an intended change of the drawing,
regenerate them with

    CHAINRULE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_viz_dot.py

and look at the diff (and at a rendering) before committing them.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from graphs import lecture  # noqa: F401 (the viz tests import it from here)
from support import require

from chainrule import Value
from chainrule.viz import find_renderer, render

SNAPSHOTS = Path(__file__).parent / "snapshots" / "viz"
ROOT = Path(__file__).resolve().parents[1]



def neuron(fused: bool = True):
    ws = [Value(v, label=f"w{i}") for i, v in enumerate([0.5, -1.0, 2.0])]
    xs = [Value(v, label=f"x{i}") for i, v in enumerate([1.0, -2.0, 0.5])]
    b = Value(0.25, label="b")
    if fused:
        out = Value.dot(ws, xs, b).relu()
    else:
        out = sum((w * x for w, x in zip(ws, xs)), b).relu()
    out.label = "out"
    return out, ws + [b]


ATTR = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|<(.*)>|([^\s\]"]+))')
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$")
NODE = re.compile(r"^\t(\w+) \[(.*)\]$")


def attrs(text: str) -> Dict[str, str]:
    return {m.group(1): next(g for g in m.groups()[1:] if g is not None)
            for m in ATTR.finditer(text or "")}


def parse(source: str) -> Tuple[Dict[str, Dict[str, str]], List[Tuple[str, str, Dict[str, str]]]]:
    """(nodes by id, edges) of the DOT text draw_dot writes (one statement a line)."""
    nodes, edges = {}, []
    for line in source.splitlines():
        edge = EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2), attrs(edge.group(3))))
            continue
        node = NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = attrs(node.group(2))
    return nodes, edges


def ids_by_label(nodes: Dict[str, Dict[str, str]]) -> Dict[str, str]:
    """Value node id by its name (the record's first field)."""
    return {a["label"].strip("{}").split("|")[0]: node_id
            for node_id, a in nodes.items() if node_id.startswith("v")}


def render_with(program: str, source: str, fmt: str = "svg") -> subprocess.CompletedProcess:
    return subprocess.run(
        [program, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, timeout=60
    )


def svg_texts(svg: bytes) -> List[str]:
    """The text of every <text> element, as a reader of the picture sees it."""
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg.decode("utf-8"), flags=re.S)
    return [" ".join(html.unescape(t).replace("\u00a0", " ").split()) for t in texts]


def graphviz_pure() -> str:
    """The graphviz-pure program, or a skip (a failure in CI, which installs the test extra)."""
    return require("graphviz-pure")


def check_snapshot(name: str, text: str, directory: Path = SNAPSHOTS) -> None:
    """Compare with the stored snapshot; a missing one fails (only an update writes one)."""
    path = directory / f"{name}.dot"
    if os.environ.get("CHAINRULE_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    elif not path.exists():
        pytest.fail(f"snapshot {path} is missing: run with CHAINRULE_UPDATE_SNAPSHOTS=1")
    expected = path.read_bytes().decode("utf-8").replace("\r\n", "\n")  # a CRLF checkout
    assert text == expected, (
        f"DOT for {name!r} differs from {path}; if the change is intended, "
        "regenerate with CHAINRULE_UPDATE_SNAPSHOTS=1"
    )


def without_renderer(monkeypatch, tmp_path) -> None:
    """A world without dot and graphviz-pure: empty PATH, no scripts dir, no env var."""
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(render, "_scripts_dir", lambda: None)
    assert find_renderer() is None
