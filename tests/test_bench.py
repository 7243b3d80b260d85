"""benchmarks/bench.py runs end to end on a tiny configuration and writes the JSON it promises.

Never a timing assertion: speed is read from the benchmark's table, side by side with
micrograd, not enforced by a unit test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import missing

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
ROW_KEYS = {"workload", "size", "engine", "name", "unit", "samples", "median", "min", "max",
            "vs_micrograd", "errors"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    engines = ["chainrule-fused", "chainrule-fine", "chainrule-tape", "float-floor"]
    for module, engine in (("numpy", "chainrule-tape-numpy"), ("micrograd", "micrograd")):
        if importlib.util.find_spec(module) is not None:
            engines.append(engine)
    out = tmp_path_factory.mktemp("bench") / "result.json"
    cmd = [sys.executable, str(BENCH), "--quick", "--engines", *engines,
           "--chain-sizes", "50", "--wide-sizes", "64", "--memory-nodes", "1000",
           "--moons-points", "4", "--class-points", "3", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| workload |" in proc.stdout  # the markdown table is printed
    return json.loads(out.read_text())


def test_the_report_describes_the_run(report: dict) -> None:
    assert report["schema"] == 1
    assert report["quick"] is True and report["repeats"] == 1
    assert report["command"].startswith("python3 tasks.py bench --quick")
    assert {"cpu", "cores", "python", "platform"} <= set(report["machine"])
    assert report["sizes"]["chain"] == [50] and report["sizes"]["moons_points"] == 4
    assert "| workload |" in report["table_markdown"]


def test_every_cell_has_a_result_row(report: dict) -> None:
    rows = report["results"]
    cells = {(r["workload"], r["size"], r["engine"]) for r in rows}
    for engine in ("chainrule-fused", "chainrule-fine"):
        assert ("moons-step", None, engine) in cells
        assert ("wide", 64, engine) in cells
        assert ("memory", None, engine) in cells
    assert ("chain", 50, "chainrule-fine") in cells
    assert ("chain", 50, "chainrule-fused") not in cells  # a chain has no fused form
    for row in rows:
        assert ROW_KEYS <= set(row), row
        assert row["errors"] == [], row
        assert len(row["samples"]) == 1 and row["median"] > 0
        assert row["min"] <= row["median"] <= row["max"]
    units = {r["workload"]: r["unit"] for r in rows}
    assert units == {"moons-step": "s/step", "class-epoch": "s/step", "chain": "s/node",
                     "wide": "s/node", "memory": "bytes/node", "attrs": "bytes/node",
                     "lock": "s/call"}
    for engine in ("chainrule-tape", "float-floor"):
        assert ("moons-step", None, engine) in cells and ("class-epoch", None, engine) in cells
        assert ("wide", 64, engine) not in cells  # a step, not a graph to time by node


def test_every_engine_computes_the_same_loss(report: dict) -> None:
    """A cross-check, not a timing: same weights, same step, same loss (the tape bit for
    bit, the hand-written floats and numpy to rounding)."""
    for workload in ("moons-step", "class-epoch"):
        rows = {r["engine"]: r for r in report["results"] if r["workload"] == workload}
        fused = rows["chainrule-fused"]["check_loss"]
        assert rows["chainrule-tape"]["check_loss"] == fused
        assert rows["float-floor"]["check_loss"] == pytest.approx(fused, rel=1e-12)
        if "chainrule-tape-numpy" in rows:
            assert rows["chainrule-tape-numpy"]["check_loss"] == pytest.approx(fused, rel=1e-12)
        assert rows["chainrule-tape"]["record_s"] > 0


def test_the_tables_show_the_targets_and_the_costs(report: dict) -> None:
    table = report["table_markdown"]
    assert "| tape (python) vs eager fused |" in table
    assert "| tape (python): times the float floor |" in table
    assert "| class-epoch (per epoch) |" in table
    assert "| `__dict__` in `Value.__slots__`, every node | +" in table
    assert "with / without the thread lock |" in table
    attrs = next(r for r in report["results"] if r["workload"] == "attrs")
    assert attrs["median"] == attrs["node_bytes"] - attrs["twin_bytes"] > 0


def test_ratios_are_to_micrograd_in_the_same_run(report: dict) -> None:
    rows = {(r["workload"], r["size"], r["engine"]): r for r in report["results"]}
    if not any(engine == "micrograd" for _, _, engine in rows):
        missing("micrograd")
    for (workload, size, engine), row in rows.items():
        ref = rows.get((workload, size, "micrograd"))
        if engine == "micrograd":
            assert row["vs_micrograd"] == pytest.approx(1.0)
        elif ref is not None:
            assert row["vs_micrograd"] == pytest.approx(ref["median"] / row["median"])


def test_chainrule_leaves_nothing_for_the_cyclic_collector(report: dict) -> None:
    # Not a timing: the design says a graph is freed by reference counting alone.
    for row in report["results"]:
        if row["workload"] == "memory" and row["engine"].startswith("chainrule"):
            assert row["gc_collect_found"] == 0, row
            assert row["moons_step_gc_found"] == 0, row
            assert row["held_after_del_bytes"] < row["graph_bytes"] / 10, row
