"""The workshop as a static JupyterLite site (lite/build.py), run in headless chromium, offline.

The site is built into a temporary folder, served by ``python -m http.server`` on 127.0.0.1,
and driven over the DevTools protocol (tests/cdp.py) with every other host unresolvable: the
Pyodide kernel must start from the site's own files, notebook 01 must run top to bottom with
no error and draw its graphs, and the exercise checkers of notebook 05 must run.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from support import require

import chainrule

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "@jupyterlite/pyodide-kernel-extension:kernel"
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

pytestmark = pytest.mark.slow

WIDGET = "jupyterapp.shell.currentWidget"
STATE = f"""(() => {{
  const w = {WIDGET}, cells = w.context.model.toJSON().cells.filter(c => c.cell_type === 'code');
  return {{kernel: w.sessionContext.session?.kernel?.status ?? 'none',
           ran: cells.filter(c => c.execution_count !== null).length, cells: cells.length,
           failed: cells.some(c => c.outputs.some(o => o.output_type === 'error'))}};
}})()"""
# Rendered Graphviz drawings: the page's own, and those inside same-origin iframes.
GRAPHS = """[document, ...[...document.querySelectorAll('.jp-OutputArea-output iframe')]
  .map(f => f.contentDocument).filter(Boolean)]
  .reduce((n, d) => n + d.querySelectorAll('svg g.graph').length, 0)"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("node")  # npm ci fetches the pyodide package
    require("jupyterlite")
    require("websocket")
    output = tmp_path_factory.mktemp("lite") / "site"
    subprocess.run([sys.executable, "lite/build.py", "--output", str(output)], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    config_file = output / "jupyter-lite.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    data = config["jupyter-config-data"]
    assert data["litePluginSettings"][KERNEL]["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert data["litePluginSettings"][KERNEL]["disablePyPIFallback"] is True
    data["exposeAppInBrowser"] = "true"  # window.jupyterapp, for the test to drive
    config_file.write_text(json.dumps(config), encoding="utf-8")
    return output


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(site),
         str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Any]:
    chromium = require("chromium")
    from cdp import Browser

    with Browser(chromium, OFFLINE) as opened:
        yield opened


def site_bytes(browser: Any, base_url: str) -> int:
    """Bytes on the wire (headers included) of every response from the site so far."""
    return sum(r["bytes"] for r in browser.requests.values() if r["url"].startswith(base_url))


def open_notebook(browser: Any, base_url: str, path: str) -> None:
    """Open ``path`` in the site's Notebook app and wait for its kernel to be ready."""
    browser.open(f"{base_url}notebooks/index.html?path={path}")
    browser.wait_for(f"!!window.jupyterapp && !!{WIDGET}?.sessionContext", 90, "the notebook")
    browser.wait_for(STATE, 180, "the kernel", lambda s: s["kernel"] == "idle")


def execute(browser: Any, code: str) -> str:
    """Run ``code`` in the open notebook's kernel: its printed text and error lines."""
    return browser.evaluate(f"""(async code => {{
      const future = {WIDGET}.sessionContext.session.kernel.requestExecute({{code}}), out = [];
      future.onIOPub = m => {{
        if (m.header.msg_type === 'stream') out.push(m.content.text);
        if (m.header.msg_type === 'error') out.push(m.content.ename + ': ' + m.content.evalue);
      }};
      await future.done;
      return out.join('');
    }})({json.dumps(code)})""")


def run_notebook(browser: Any, base_url: str, path: str) -> Dict[str, Any]:
    """Open ``path`` in the site's Notebook app, run all cells; its nbformat JSON, timings."""
    started, downloaded = time.monotonic(), site_bytes(browser, base_url)
    open_notebook(browser, base_url, path)
    ready = time.monotonic()
    browser.evaluate("jupyterapp.commands.execute('notebook:run-all-cells'), true")
    state = browser.wait_for(STATE, 240, "all cells to run", lambda s: s["kernel"] == "idle"
                             and (s["ran"] == s["cells"] or s["failed"]))
    notebook = json.loads(browser.evaluate(f"JSON.stringify({WIDGET}.context.model.toJSON())"))
    print(f"\n{path}: kernel ready in {ready - started:.1f} s, {state['cells']} cells ran in "
          f"{time.monotonic() - ready:.1f} s; the browser downloaded "
          f"{(site_bytes(browser, base_url) - downloaded) / 1e6:.1f} MB for it")
    return notebook


def problems(notebook: Dict[str, Any]) -> List[str]:
    """Every error and stderr output, and every code cell that did not run."""
    found = []
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell["execution_count"] is None:
            found.append(f"cell {number} did not run")
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                found.append(f"cell {number}: {out['ename']}: {out['evalue']}")
            elif out["output_type"] == "stream" and out["name"] == "stderr":
                found.append(f"cell {number} stderr: {out['text'][:300]}")
    return found


def assert_offline(browser: Any, base_url: str) -> None:
    """Every request so far, the kernel worker's included, went to the site and succeeded."""
    seen = list(browser.requests.values())
    assert any(r["url"].endswith("/static/pyodide/pyodide.asm.wasm") for r in seen)
    assert any(r["url"].endswith(".whl") for r in seen)  # fetched by the kernel's worker
    assert [url for url in browser.urls if not url.startswith(("data:", "blob:", base_url))] == []
    # A 404 is expected only for the favicon and for the server-side listing of a folder that
    # exists only in the browser's storage (Path("out").mkdir() goes through "Untitled Folder").
    failed = [(r["url"], r["status"]) for r in seen if r["status"] and r["status"] >= 400
              and not (r["status"] == 404 and (r["url"].endswith("/favicon.ico")
                                               or "/api/contents/" in r["url"]))]
    assert failed == []


def text_of(notebook: Dict[str, Any]) -> str:
    return "".join(out.get("text", "") for cell in notebook["cells"] if cell["cell_type"] == "code"
                   for out in cell["outputs"])


def test_the_pyodide_lock_lists_exactly_the_wheels_the_site_ships(site: Path) -> None:
    static = site / "static" / "pyodide"
    lock = json.loads((static / "pyodide-lock.json").read_text(encoding="utf-8"))
    entries = lock["packages"].values()
    assert sorted(e["file_name"] for e in entries) == sorted(p.name for p in static.glob("*.whl"))
    for entry in entries:
        assert hashlib.sha256((static / entry["file_name"]).read_bytes()).hexdigest() == \
            entry["sha256"], entry["name"]
    names = {e["name"] for e in entries}
    assert {"micropip", "ipython", "jedi", "chainrule", "graphviz", "tqdm"} <= names
    assert "matplotlib" not in names  # no WebAssembly wheels of it on PyPI: see lite/build.py
    piplite = json.loads((site / "pypi" / "all.json").read_text(encoding="utf-8"))
    assert sorted(piplite) == ["comm"]


def test_notebook_01_runs_with_its_graphs(browser: Any, base_url: str,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    notebook = run_notebook(browser, base_url, "01_derivatives_and_value.ipynb")
    assert problems(notebook) == []
    assert "dL/da = 8" in text_of(notebook)  # backward() ran in Pyodide
    graphs = browser.wait_for(GRAPHS, 30, "a rendered graph", lambda n: n >= 1)
    browser.evaluate("document.querySelector('.jp-OutputArea-output svg g.graph')"
                     ".closest('.jp-Cell').scrollIntoView(), true")
    shot = browser.screenshot(tmp_path_factory.mktemp("shots") / "notebook01.png")
    print(f"{graphs} graphs drawn; screenshot {shot}")
    assert_offline(browser, base_url)


def test_exercise_checkers_pass_on_the_solutions(browser: Any, base_url: str) -> None:
    notebook = run_notebook(browser, base_url, "solutions/05_exercises.ipynb")
    assert problems(notebook) == []
    text = text_of(notebook)
    assert text.count("[PASSED]") == 4
    assert "4 of 4 exercises passed" in text
    assert_offline(browser, base_url)


def test_exercise_checkers_wait_on_the_blanks(browser: Any, base_url: str) -> None:
    notebook = run_notebook(browser, base_url, "05_exercises.ipynb")
    assert problems(notebook) == []
    assert "0 of 4 exercises passed" in text_of(notebook)
    assert_offline(browser, base_url)


def test_the_kernel_has_this_chainrule_and_pip_finds_only_what_the_site_ships(
        browser: Any, base_url: str) -> None:
    if browser.page is None:  # run on its own: any notebook's kernel will do
        open_notebook(browser, base_url, "05_exercises.ipynb")
    assert execute(browser, "import chainrule; print(chainrule.__version__)") == \
        f"{chainrule.__version__}\n"
    assert execute(browser, "%pip install graphviz") == ""  # preloaded: nothing to do
    assert execute(browser, "%pip install numpy").endswith(
        "numpy could not be installed: PyPI fallback is disabled")
    assert_offline(browser, base_url)
