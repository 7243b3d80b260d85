"""chainrule in Pyodide (Python on WebAssembly) under Node, with no renderer and no network.

tests/js/pyodide_run.mjs loads the npm ``pyodide`` package pinned in tests/js/package.json
(``npm ci --prefix tests/js``), mounts this repository's ``chainrule/`` and the installed
pure-Python ``graphviz`` package, runs tests/js/workload.py there, and renders every DOT
text the notebook output and the ``animate()`` page carry with the vendored viz.js.
The same workload runs here in CPython; the numbers must agree.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
from support import missing, require

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "js"
VIZ_JS = ROOT / "chainrule" / "viz" / "vendor" / "viz-global.js"

RUN = """
import sys
sys.path.insert(0, "/mnt/tests")
import workload
RESULT = workload.run("/mnt/out")
RESULT["dots"] = RESULT["notebook_dots"] + RESULT["page_dots"]
"""


def cpython_workload(tmp_path: Path, monkeypatch) -> dict:
    from chainrule.viz import render

    monkeypatch.setenv("PATH", str(tmp_path))  # no dot, no graphviz-pure: as in Pyodide
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setattr(render, "_scripts_dir", lambda: None)
    spec = importlib.util.spec_from_file_location("workload", JS / "workload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "cpython"
    out.mkdir()
    return module.run(out)


@pytest.fixture(scope="module")
def pyodide_run(tmp_path_factory):
    node = require("node")
    if not (JS / "node_modules" / "pyodide" / "pyodide.mjs").exists():
        missing("node", "the npm pyodide package: npm ci --prefix tests/js")
    graphviz = require("graphviz")
    tmp = tmp_path_factory.mktemp("pyodide")
    (tmp / "out").mkdir()
    (tmp / "run.py").write_text(RUN, encoding="utf-8")
    config = {
        "script": str(tmp / "run.py"),
        "mounts": {
            "/mnt/src/chainrule": str(ROOT / "chainrule"),
            "/mnt/site/graphviz": str(Path(graphviz.__file__).parent),
            "/mnt/tests": str(JS),
            "/mnt/out": str(tmp / "out"),
        },
        "sys_path": ["/mnt/src", "/mnt/site"],
        "vizjs": str(VIZ_JS),
    }
    (tmp / "config.json").write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run([node, str(JS / "pyodide_run.mjs"), str(tmp / "config.json")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), tmp / "out"


def test_pyodide_runs_the_readme_example_exactly(pyodide_run):
    result, _ = pyodide_run
    py = result["python"]
    assert result["platform"] == py["platform"] == "emscripten"
    assert {k: py["readme"][k] for k in ("c", "a.grad", "b.grad")} == {
        "c": -5.0, "a.grad": -3.0, "b.grad": 2.0}  # IEEE arithmetic: exact everywhere
    # tanh comes from the platform's libm (musl in Pyodide, glibc here): within 2 ulp
    assert py["readme"]["o"] == pytest.approx(0.5 ** 0.5, rel=3e-16)
    assert py["readme"]["x1.grad"] == pytest.approx(-1.5, rel=5e-16)
    assert py["readme"]["w1.grad"] == pytest.approx(1.0, rel=5e-16)
    assert result["network"] == []


def test_pyodide_trains_moons_with_cpythons_losses(pyodide_run, tmp_path, monkeypatch):
    py = pyodide_run[0]["python"]
    here = cpython_workload(tmp_path, monkeypatch)
    assert py["readme"] == pytest.approx(here["readme"], rel=5e-16, abs=0)
    assert len(py["losses"]) == 4 and py["losses"][-1] < py["losses"][0]
    # exp/log come from each platform's libm; the rest is IEEE arithmetic, step for step
    assert py["losses"] == pytest.approx(here["losses"], rel=1e-13, abs=0)


def test_pyodide_pictures_draw_with_the_vendored_viz_js(pyodide_run, tmp_path, monkeypatch):
    result, out = pyodide_run
    py = result["python"]
    here = cpython_workload(tmp_path, monkeypatch)
    assert py["renderer"] is None  # no subprocess in Pyodide: the page draws
    assert py["mimetypes"] == ["text/html", "text/plain"]
    assert len(py["notebook_dots"]) == 1 and len(py["page_dots"]) == 6  # seed + 5 ops
    # the same code gives the same DOT, byte for byte, in either interpreter
    assert py["notebook_dots"] == here["notebook_dots"]
    assert py["page_dots"] == here["page_dots"]
    # animate() left backward()'s grads alone (x1, w1, x2, w2, b, o)
    assert py["grads_after"] == pytest.approx([-1.5, 1.0, 0.5, 0.0, 0.5, 1.0], rel=5e-16)
    assert py["grads_after"] == pytest.approx(here["grads_after"], rel=5e-16, abs=0)
    assert result["graphviz"] == "16.1.0"
    rendered = result["rendered"]
    assert [r["status"] for r in rendered] == ["success"] * 7, rendered[0]["errors"]
    for dot, r in zip(py["dots"], rendered):
        titles = re.findall(r"<title>(v\d+|op\d+)</title>", r["svg"])
        assert sorted(titles) == sorted(re.findall(r"^\t(v\d+|op\d+) \[", dot, re.M))
        assert "x1" in r["svg"] and "w1" in r["svg"]
    sizes = {re.search(r'<svg width="([\d.]+pt)" height="([\d.]+pt)"', r["svg"]).groups()
             for r in rendered[1:]}
    assert len(sizes) == 1  # the page's frames keep one layout from step to step
    page = (out / "steps.html").read_text(encoding="utf-8")
    assert '<script type="application/json" class="cr-data">' in page
