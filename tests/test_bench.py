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
from conftest import _missing

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
ROW_KEYS = {"workload", "size", "engine", "name", "unit", "samples", "median", "min", "max",
            "vs_micrograd", "errors"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    engines = ["chainrule-fused", "chainrule-fine"]
    if importlib.util.find_spec("micrograd") is not None:
        engines.append("micrograd")
    out = tmp_path_factory.mktemp("bench") / "result.json"
    cmd = [sys.executable, str(BENCH), "--quick", "--engines", *engines,
           "--chain-sizes", "50", "--wide-sizes", "64", "--memory-nodes", "1000",
           "--moons-points", "4", "--out", str(out)]
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
    assert units == {"moons-step": "s/step", "chain": "s/node", "wide": "s/node",
                     "memory": "bytes/node"}


def test_ratios_are_to_micrograd_in_the_same_run(report: dict) -> None:
    rows = {(r["workload"], r["size"], r["engine"]): r for r in report["results"]}
    if not any(engine == "micrograd" for _, _, engine in rows):
        _missing("micrograd", "CHAINRULE_REQUIRE_EXTRAS", "pip install -e '.[bench]'")
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
