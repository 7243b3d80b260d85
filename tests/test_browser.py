"""The in-page renderer: the vendored viz.js, notebook outputs that draw with no renderer,
checked in headless Chromium."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
from pathlib import Path

import pytest
from support import require
from viz_helpers import without_renderer

from chainrule import Value
from chainrule.viz import browser, draw_dot, render

VENDOR = Path(browser.__file__).parent / "vendor"
VIZ_JS_SHA256 = "c9e0b310f9883910e01c66054b48b7ff4be3d8695141116635e72b0af152692e"
PAYLOAD = "</script><img id=pwned src=x onerror=document.title=1><!--"  # a label that bites


def lecture(label: str = "o") -> Value:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = label
    o.backward()
    return o


@pytest.fixture(scope="module")
def browser_tab():
    """Chromium over the DevTools protocol (tests/cdp.py): waits in real time, as viz.js
    compiles its WebAssembly at a loaded machine's pace."""
    chromium = require("chromium")  # looked up before no_renderer empties PATH
    from cdp import Browser

    with Browser(chromium) as tab:
        yield tab


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    without_renderer(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def fresh_page():
    browser.reset()  # every test starts as a fresh kernel: the first output carries viz.js
    yield
    browser.reset()


# ------------------------------------------------------------------- the vendored file


def test_vendored_viz_js_is_the_recorded_file():
    data = (VENDOR / "viz-global.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == VIZ_JS_SHA256
    record = (VENDOR / "VENDOR.md").read_text(encoding="utf-8")
    assert VIZ_JS_SHA256 in record and f"@viz-js/viz` {browser.VIZ_JS_VERSION}" in record
    assert f"{len(data):,} bytes" in record
    assert data.startswith(b"/*!\nViz.js " + browser.VIZ_JS_VERSION.encode())
    licence = (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert "Permission is hereby granted, free of charge" in licence  # MIT: Viz.js, Expat
    assert "Eclipse Public License - v 1.0" in licence  # Graphviz


def test_viz_js_can_be_inlined_in_a_page():
    text = browser.viz_js()
    assert browser.script_text(text) is text
    with pytest.raises(ValueError, match="cannot be inlined"):
        browser.script_text("var s = '</SCRIPT>';")
    with pytest.raises(ValueError, match="cannot be inlined"):
        browser.script_text("var s = '<!--';")


@pytest.mark.parametrize("text", [PAYLOAD, "a & b <c> \u2028 \"q\" \\", "</script >"])
def test_script_json_cannot_end_its_element(text):
    data = browser.script_json({"label": text, "lines": [text]})
    assert "<" not in data and ">" not in data and "&" not in data
    assert json.loads(data) == {"label": text, "lines": [text]}


# --------------------------------------------------------------------- notebook outputs


def test_notebook_html_carries_viz_js_once_per_page(monkeypatch):
    dot = draw_dot(lecture()).source
    first, second = browser.notebook_html(dot), browser.notebook_html(dot, fit=False)
    assert first.count('<script type="text/plain"') == 1 and browser.viz_js() in first
    assert '<script type="text/plain"' not in second and len(second) < 20_000
    assert 'data-fit="1"' in first and 'data-fit="0"' in second
    assert browser.carried_dot(first) == browser.carried_dot(second) == [dot]
    browser.reset()
    assert browser.viz_js() in browser.notebook_html(dot)  # reset: carried again
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    assert browser.viz_js() in browser.notebook_html(dot)  # Colab: each output its own page


def test_notebook_html_refuses_what_is_not_dot_text():
    with pytest.raises(TypeError, match="dot_text must be a str of DOT, got bytes"):
        browser.notebook_html(b"digraph {}")
    with pytest.raises(TypeError, match="fit must be True or False, got 1"):
        browser.notebook_html("digraph {}", fit=1)


def test_notebook_html_escapes_labels():
    dot = draw_dot(lecture(label=PAYLOAD)).source
    assert PAYLOAD in dot  # in the tooltip, as it is
    out = browser.notebook_html(dot)
    assert PAYLOAD not in out and "<img" not in out and html.escape(PAYLOAD) in out
    assert browser.carried_dot(out) == [dot]


def test_a_drawing_with_no_renderer_displays_as_in_page_html(no_renderer, recwarn):
    drawing = draw_dot(lecture())
    bundle = drawing._repr_mimebundle_()
    assert sorted(bundle) == ["text/html", "text/plain"]
    assert browser.carried_dot(bundle["text/html"]) == [drawing.source]
    assert browser.viz_js() in bundle["text/html"]
    assert not [w for w in recwarn if issubclass(w.category, render.RendererWarning)]


def notebook_page(tmp_path: Path, outputs) -> Path:
    cells = "".join(f'<div class="jp-OutputArea-output">{o}</div>\n' for o in outputs)
    page = tmp_path / "notebook.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
                    f'<body style="width:900px">{cells}</body></html>', encoding="utf-8")
    return page


DRAWN = """(() => ({drawn: document.querySelectorAll('[data-drawn="1"]').length,
  svgs: Array.from(document.querySelectorAll(".chainrule-viz .cr-box > svg"), svg => ({
    width: svg.getAttribute("width"), max: svg.style.maxWidth,
    titles: Array.from(svg.querySelectorAll("g.node > title"), t => t.textContent),
    texts: Array.from(svg.querySelectorAll("text"), t => t.textContent)})),
  hidden: Array.from(document.querySelectorAll(".cr-msg"), m => m.style.display),
  messages: Array.from(document.querySelectorAll(".cr-msg p"), m => m.textContent),
  scripts: document.querySelectorAll('script[type="text/plain"]').length,
  pwned: document.querySelectorAll("img").length + (document.title === "1" ? 1 : 0)}))()"""


def test_notebook_outputs_draw_in_chromium_with_no_renderer(browser_tab, no_renderer, tmp_path):
    drawings = [draw_dot(lecture()), draw_dot(lecture(), view="backward", rankdir="TB"),
                draw_dot(lecture(label=PAYLOAD), fit=False)]
    outputs = [d._repr_mimebundle_()["text/html"] for d in drawings]
    assert sum(browser.viz_js() in o for o in outputs) == 1
    browser_tab.open(notebook_page(tmp_path, outputs).as_uri())
    state = browser_tab.wait_for(DRAWN, 180, "three drawings", check=lambda s: s["drawn"] == 3)
    assert state["hidden"] == ["none"] * 3 and state["scripts"] == 1
    for drawing, svg in zip(drawings, state["svgs"]):
        assert sorted(svg["titles"]) == sorted(re.findall(r"^\t(v\d+|op\d+) \[",
                                                          drawing.source, re.M))
        assert "x1" in svg["texts"]
    assert [svg["max"] for svg in state["svgs"]] == [s["width"] for s in state["svgs"][:2]] + [""]
    assert state["pwned"] == 0  # the label's <img onerror> is text in the picture, inert
    assert PAYLOAD in state["svgs"][2]["texts"]  # drawn, as the words it is
    browser_tab.screenshot(tmp_path / "notebook.png")


def test_an_output_drawn_before_the_one_carrying_viz_js_waits_for_it(browser_tab, tmp_path):
    carrier = browser.notebook_html(draw_dot(lecture()).source)
    later = browser.notebook_html(draw_dot(lecture(), view="forward").source)
    browser_tab.open(notebook_page(tmp_path, [later, carrier]).as_uri())  # out of order
    state = browser_tab.wait_for(DRAWN, 180, "both drawings", check=lambda s: s["drawn"] == 2)
    assert state["scripts"] == 1 and state["hidden"] == ["none", "none"]


def test_an_output_without_its_script_says_what_to_do(browser_tab, tmp_path):
    browser.notebook_html("digraph { a -> b }")  # its output was cleared: the page lacks viz.js
    later = browser.notebook_html("digraph { a -> b }")
    browser_tab.open(notebook_page(tmp_path, [later]).as_uri())
    state = browser_tab.wait_for(DRAWN, 60, "the message (after 5 s of waiting)",
                                 check=lambda s: any("reset()" in m for m in s["messages"]))
    assert "Run chainrule.viz.browser.reset() and display the drawing again" in state["messages"][0]
    assert state["drawn"] == 0 and state["svgs"] == []
