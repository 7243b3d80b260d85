"""animate(): the step-through page (drawn in the browser) and the GIF."""

from __future__ import annotations

import json
import math
import random
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from strategies import programs, run_program
from support import require
from viz_helpers import without_renderer

from chainrule import Value
from chainrule.nn import MLP
from chainrule.viz import GraphTooLarge, RendererNotFound, animate, browser, find_renderer
from chainrule.viz.animate import gif_frames, legend_html, steady_frames, text_width
from chainrule.viz.steps import replay
from chainrule.viz.style import KINDS, STATES

PAYLOAD = "</script><img id=pwned src=x onerror=document.title=1><!--"


def lecture(label: str = "o"):
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = label
    return o


def mlp_loss():
    model = MLP(2, [4, 4, 1], seed=1)  # micrograd's fine-grained graph: one node per * and +
    loss = (model([Value(0.5), Value(-1.0)]) - 1.0) ** 2
    return model, loss


def grads(root: Value):
    return [v.grad for v in root.backward_order()]


def page_data(page: str) -> dict:
    start = page.index('<script type="application/json" class="cr-data">')
    start = page.index(">", start) + 1
    return json.loads(page[start:page.index("</script>", start)])


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    without_renderer(monkeypatch, tmp_path)


# --------------------------------------------------------------------- grads untouched


def test_animate_leaves_every_grad_exactly_as_it_found_it(tmp_path):
    o = lecture()
    o.backward()
    o.backward()  # the README's order, twice: leaf grads doubled
    rng = random.Random(5)
    for v in o.backward_order():
        if not v._prev:
            v.grad += rng.uniform(-1, 1)  # and a few odd ones
    before = grads(o)
    animate(o, tmp_path / "steps.html")
    assert grads(o) == before
    if find_renderer() is not None:
        pytest.importorskip("PIL")
        animate(o, tmp_path / "steps.gif")
        assert grads(o) == before


@settings(max_examples=25)
@given(programs())
def test_animate_shows_a_fresh_pass_and_restores_grads_on_random_graphs(program):
    try:
        _, root = run_program(program, Value)
    except (ValueError, ZeroDivisionError, OverflowError):
        return  # out of the ops' domain: nothing to draw
    if not all(math.isfinite(v.data) for v in root.backward_order()):
        return
    for k, v in enumerate(root.backward_order()):
        v.grad = float(k) - 0.5
    before = grads(root)
    with tempfile.TemporaryDirectory() as folder:
        try:
            page = animate(root, Path(folder) / "s.html").read_text(encoding="utf-8")
        except (ValueError, ZeroDivisionError, OverflowError):  # backward() itself fails
            assert grads(root) == before and not list(Path(folder).iterdir())
            return
    assert grads(root) == before
    steps = replay(root)
    data = page_data(page)
    assert [f["caption"] for f in data["frames"]] == [s.caption for s in steps]
    assert len(steps) == 1 + sum(1 for v in root.backward_order() if v._prev)


# ------------------------------------------------------------------------------ page


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_page_carries_every_step_as_dot_for_the_browser(no_renderer, tmp_path):
    model, loss = mlp_loss()
    page = animate(loss, tmp_path / "steps.html", params=model).read_text(encoding="utf-8")
    steps = replay(loss, params=model)
    data = page_data(page)
    assert len(data["frames"]) == len(steps) == 1 + sum(1 for v in loss.backward_order()
                                                        if v._prev)
    assert [f["caption"] for f in data["frames"]] == [s.caption for s in steps]
    assert [f["node_id"] for f in data["frames"]] == [s.node_id for s in steps]
    assert steps[0].index == 0 and steps[0].node is loss and "seed" in steps[0].caption
    assert data["seconds_per_step"] == 1.5
    dots = browser.carried_dot(page)
    frames = steady_frames(steps, caption=False)
    assert dots == [s.draw(f, legend=False).source for s, f in zip(steps, frames)]
    assert all(f"\t{s.node_id} [" in d for s, d in zip(steps, dots))
    assert any("L1.N0.w0" in d for d in dots)  # params=model names reach the picture
    tags = Tags()
    tags.feed(page)
    names = [t for t, _ in tags.tags]
    assert "link" not in names and "img" not in names and "iframe" not in names
    assert not [a for t, a in tags.tags if a.get("src") or a.get("href")]  # nothing to fetch
    assert names.count("script") == 3  # the data, viz.js, the page's code
    assert browser.viz_js() in page
    assert {a.get("data-do") for t, a in tags.tags if t == "button"} == {
        "first", "prev", "play", "next", "last", "zoomin", "zoomout", "fit"}
    assert any(t == "select" and "cr-speed" in a.get("class", "") for t, a in tags.tags)
    box = next(a for t, a in tags.tags if "cr-steps" in a.get("class", "").split())
    assert box["tabindex"] == "0" and box["data-lm-suppress-shortcuts"] == "true"


def test_page_frames_keep_every_value_node_one_width():
    o = lecture()
    steps = replay(o)
    frames = steady_frames(steps, caption=False)
    assert all(f.widths is frames[0].widths for f in frames)
    assert set(frames[0].widths) == set(o.backward_order())
    # the widest text the x1 record ever shows is "data 2" / "grad -1.5"; +16 pt padding
    expected = (text_width("grad -1.5", 14) + 16) / 72 * 1.04 + 2 / 72
    x1 = next(v for v in o.backward_order() if v.label == "x1")
    assert frames[0].widths[x1] == pytest.approx(expected, rel=1e-12)


def test_text_width_uses_helvetica_metrics():
    assert text_width("grad 0", 14) == pytest.approx((556 + 333 + 556 + 556 + 278 + 556) * 0.014)
    assert text_width("iiii", 10) == pytest.approx(4 * 2.22)
    assert text_width("WW\nl", 10) == pytest.approx(18.88)  # the widest line
    assert text_width("×", 10) == pytest.approx(5.56) and text_width("漢", 10) == 10


def test_legend_explains_kinds_states_and_arrows():
    key = legend_html("backward", list(KINDS))
    for text in [t for _, _, t in KINDS.values()] + list(STATES.values()):
        assert text in key or text.replace("'", "&#x27;") in key
    assert "local derivative d(op result)/d(input)" in key and "data, forward" not in key
    assert "data, forward" in legend_html("both", ["input"])


def test_page_legend_follows_the_legend_option(tmp_path):
    with_key = animate(lecture(), tmp_path / "a.html").read_text(encoding="utf-8")
    without = animate(lecture(), tmp_path / "b.html", legend=False).read_text(encoding="utf-8")
    assert with_key.count('class="cr-item"') == 3 + len(STATES) + 1  # 3 kinds, states, an arrow
    assert without.count('class="cr-item"') == 0
    assert browser.carried_dot(with_key) == browser.carried_dot(without)  # frames never keyed


def test_labels_cannot_inject_script_into_the_page(no_renderer, tmp_path):
    o = lecture(label=PAYLOAD)
    page = animate(o, tmp_path / "s.html").read_text(encoding="utf-8")
    assert PAYLOAD not in page and "<img" not in page
    assert any(PAYLOAD in d for d in browser.carried_dot(page))  # kept, as data
    assert PAYLOAD in page_data(page)["frames"][0]["caption"]


def test_animate_refuses_bad_arguments(tmp_path):
    o = lecture()
    with pytest.raises(ValueError, match=r"animate writes \.html \(or \.htm\) or \.gif files, "
                                         r"not 'steps\.mp4'"):
        animate(o, tmp_path / "steps.mp4")
    with pytest.raises(TypeError, match="path must be a str or a path, got int"):
        animate(o, 3)
    with pytest.raises(TypeError, match="seconds_per_step must be a number, got '1'"):
        animate(o, tmp_path / "s.html", seconds_per_step="1")
    with pytest.raises(ValueError, match="seconds_per_step must be from 0.05 to 60, got 0"):
        animate(o, tmp_path / "s.html", seconds_per_step=0)
    with pytest.raises(ValueError, match="dpi must be a whole number from 24 to 600, got 1.5"):
        animate(o, tmp_path / "s.gif", dpi=1.5)
    with pytest.raises(TypeError, match="animate needs a Value, got float"):
        animate(1.0, tmp_path / "s.html")
    with pytest.raises(TypeError, match="unknown drawing option 'colour'"):
        animate(o, tmp_path / "s.html", colour="red")
    with pytest.raises(GraphTooLarge, match="more than max_nodes=5"):
        animate(o, tmp_path / "s.html", max_nodes=5)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_gif_without_a_renderer_says_the_page_needs_none(no_renderer, tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(RendererNotFound, match=r"a GIF needs a local renderer .*\.html page "
                                               r"draws in the browser"):
        animate(lecture(), tmp_path / "s.gif")
    assert not (tmp_path / "s.gif").exists()


# ------------------------------------------------------------------------------- GIF


def test_gif_has_a_captioned_frame_per_step(dot_program, tmp_path):
    Image = require("PIL").Image
    o = lecture()
    path = animate(o, tmp_path / "steps.gif", seconds_per_step=0.5)
    steps = replay(o)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(steps) == 6
        assert gif.info.get("loop") == 0
        durations, tops = [], []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
            tops.append(gif.convert("L").crop((0, 0, gif.width, 40)).tobytes())
    assert durations == [500] * 5 + [1000]
    assert len(set(tops)) == len(tops)  # each frame shows its own caption


def test_gif_frames_put_the_caption_above_the_graph():
    Image = require("PIL").Image
    import io

    graph = Image.new("RGB", (300, 100), "white")
    buffer = io.BytesIO()
    graph.save(buffer, format="PNG")
    blank, worded = gif_frames([buffer.getvalue()] * 2, ["", "step 1 of 1: x.grad += 2"], 96)
    assert blank.size == worded.size and blank.width == 8 * 96  # room for a caption's line
    ink = [sum(1 for p in im.convert("L").crop((0, 0, im.width, 30)).tobytes() if p < 128)
           for im in (blank, worded)]
    assert ink[0] == 0 and ink[1] > 50


# ---------------------------------------------------------------------- in Chromium
# Driven over the DevTools protocol (tests/cdp.py), waiting in real time: --virtual-time-budget
# races past viz.js compiling its WebAssembly on a loaded machine.

STATE = """(() => { const box = document.querySelector(".cr-steps");
  return box && box.dataset.step !== undefined ? Object.assign({}, box.dataset, {
    caption: box.querySelector(".cr-caption").textContent,
    svgs: box.querySelectorAll(".cr-stage > svg").length,
    titles: Array.from(box.querySelectorAll(".cr-stage g.node > title"), t => t.textContent),
    status: box.querySelector(".cr-status").style.display,
    hash: location.hash }) : null; })()"""


@pytest.fixture(scope="module")
def browser_tab():
    chromium = require("chromium")
    from cdp import Browser

    with Browser(chromium) as tab:
        yield tab


def shown(tab, url: str, step: str) -> dict:
    tab.open(url)
    return tab.wait_for(STATE, 180, f"step {step} drawn",
                        check=lambda s: bool(s) and s.get("step") == step and s["svgs"] == 1)


def test_page_draws_in_chromium_with_no_renderer(browser_tab, no_renderer, tmp_path):
    o = lecture(label=PAYLOAD)
    path = animate(o, tmp_path / "steps.html")
    steps = replay(o)
    state = shown(browser_tab, path.as_uri() + "#step=3", "3")
    assert state["caption"] == steps[3].caption and "error" not in state
    assert "v0" in state["titles"] and steps[3].node_id in state["titles"]
    assert float(state["textPx"]) >= 11 and state["mode"] == "whole"
    assert state["status"] == "none"
    assert browser_tab.evaluate('document.querySelectorAll("img").length') == 0  # inert label
    assert browser_tab.evaluate("document.title") == "backward() step by step: " + PAYLOAD
    fetched = [r["url"] for r in browser_tab.requests.values()]
    assert fetched and all(url.startswith("file://") for url in fetched)  # offline, one file
    browser_tab.screenshot(tmp_path / "page.png")


def test_mlp_page_zooms_to_legible_text_and_follows(browser_tab, no_renderer, tmp_path):
    model, loss = mlp_loss()
    path = animate(loss, tmp_path / "mlp.html", params=model)
    state = shown(browser_tab, path.as_uri() + "#step=5", "5")
    assert state["mode"] == "follow"  # the whole graph would be too small to read
    assert float(state["textPx"]) >= 11  # on a 1400 px wide window
    node_id = replay(loss, params=model)[5].node_id
    where = browser_tab.evaluate(CENTRES.replace("NODE", node_id))
    assert abs(where["node"][0] - where["view"][0]) < 120  # followed: near the middle
    assert abs(where["node"][1] - where["view"][1]) < 120
    before = float(state["tx"])
    for kind, x in (("mousePressed", 700), ("mouseMoved", 800), ("mouseReleased", 800)):
        browser_tab.send("Input.dispatchMouseEvent", browser_tab.session, type=kind, x=x, y=500,
                         button="left", buttons=1 if kind == "mouseMoved" else 0, clickCount=1)
    dragged = browser_tab.evaluate(STATE)
    assert dragged["mode"] == "manual" and float(dragged["tx"]) == pytest.approx(before + 100)


CENTRES = """(() => { const box = (e) => { const r = e.getBoundingClientRect();
    return [r.x + r.width / 2, r.y + r.height / 2]; };
  const g = Array.from(document.querySelectorAll(".cr-stage g.node"))
    .find(g => g.querySelector("title").textContent === "NODE");
  return {node: box(g), view: box(document.querySelector(".cr-view"))}; })()"""


def press(tab, key: str, code: int) -> None:
    for kind in ("keyDown", "keyUp"):
        tab.send("Input.dispatchKeyEvent", tab.session, type=kind, key=key, code=key,
                 windowsVirtualKeyCode=code)


def test_keys_work_when_the_page_is_a_notebook_output(browser_tab, no_renderer, tmp_path):
    o = lecture()
    page = animate(o, tmp_path / "steps.html").read_text(encoding="utf-8")
    # as in a notebook: the page's body inside an output area, which the page can't own
    embedded = page.replace("<body>", '<body><div class="jp-OutputArea-output">', 1)
    embedded = embedded.replace("</body>", "</div></body>", 1)
    (tmp_path / "nb.html").write_text(embedded, encoding="utf-8")
    shown(browser_tab, (tmp_path / "nb.html").as_uri() + "#step=2", "0")  # the hash isn't its
    at = browser_tab.evaluate('(() => { const r = document.querySelector(".cr-caption")'
                              '.getBoundingClientRect(); return [r.x + 5, r.y + 5]; })()')
    for kind in ("mousePressed", "mouseReleased"):  # a click on the step-through focuses it
        browser_tab.send("Input.dispatchMouseEvent", browser_tab.session, type=kind, x=at[0],
                         y=at[1], button="left", clickCount=1)
    assert browser_tab.evaluate('document.activeElement.className').startswith("cr-steps")
    seen = []
    for key, code in [("ArrowRight", 39), ("ArrowRight", 39), ("ArrowLeft", 37), ("End", 35)]:
        press(browser_tab, key, code)
        seen.append(browser_tab.evaluate(STATE)["step"])
    assert seen == ["1", "2", "1", "5"]
    assert browser_tab.evaluate(STATE)["hash"] == "#step=2"  # the notebook's URL untouched


def click(tab, selector: str) -> None:
    tab.evaluate(f'document.querySelector("{selector}").click()')


def test_play_runs_to_the_end_and_zoom_buttons_scale(browser_tab, no_renderer, tmp_path):
    model, loss = mlp_loss()
    path = animate(loss, tmp_path / "mlp.html", params=model, seconds_per_step=0.05)
    last = str(len(replay(loss, params=model)) - 1)
    follow = shown(browser_tab, path.as_uri() + "#step=60", "60")
    click(browser_tab, "[data-do=fit]")
    whole = browser_tab.evaluate(STATE)
    assert whole["mode"] == "whole" and float(whole["textPx"]) < float(follow["textPx"])
    click(browser_tab, "[data-do=zoomin]")
    zoomed = browser_tab.evaluate(STATE)
    assert zoomed["mode"] == "manual"
    assert float(zoomed["scale"]) == pytest.approx(1.25 * float(whole["scale"]), rel=1e-3)
    click(browser_tab, "[data-do=zoomout]")
    assert float(browser_tab.evaluate(STATE)["scale"]) == pytest.approx(float(whole["scale"]),
                                                                         rel=1e-3)
    click(browser_tab, ".cr-play")
    end = browser_tab.wait_for(STATE, 120, "the last step", check=lambda s: s["step"] == last)
    assert end["caption"] == replay(loss, params=model)[-1].caption
    browser_tab.wait_for('document.querySelector(".cr-play").textContent', 10, "play again",
                         check=lambda text: "play" in text)
    assert browser_tab.evaluate("location.hash") == f"#step={last}"  # its own page: a link


IFRAME_STATE = """(() => { const frame = document.querySelector("iframe");
  const doc = frame && frame.contentDocument;
  const box = doc && doc.querySelector(".cr-steps");
  return box && box.dataset.step !== undefined ? Object.assign({}, box.dataset, {
    svgs: box.querySelectorAll(".cr-stage > svg").length,
    error: box.getAttribute("data-error") }) : null; })()"""


def test_page_steps_inside_a_srcdoc_iframe_as_notebook_01_embeds_it(browser_tab, no_renderer,
                                                                   tmp_path):
    import html

    page = animate(lecture(), tmp_path / "steps.html").read_text(encoding="utf-8")
    outer = f'<iframe srcdoc="{html.escape(page)}" style="width:1200px;height:700px"></iframe>'
    (tmp_path / "outer.html").write_text(f"<!doctype html><body>{outer}</body>", encoding="utf-8")
    browser_tab.open((tmp_path / "outer.html").as_uri())
    browser_tab.wait_for(IFRAME_STATE, 180, "the embedded page drawn",
                         check=lambda s: bool(s) and s["svgs"] == 1)
    browser_tab.evaluate('document.querySelector("iframe").contentDocument'
                         '.querySelector(".cr-steps").focus()')
    for _ in range(3):  # stepping rewrites no URL in an about:srcdoc frame, and never fails
        browser_tab.evaluate('document.querySelector("iframe").contentDocument'
                             '.querySelector(".cr-steps").dispatchEvent(new KeyboardEvent('
                             '"keydown", {key: "ArrowRight", bubbles: true}))')
    state = browser_tab.wait_for(IFRAME_STATE, 60, "step 3 in the iframe",
                                 check=lambda s: bool(s) and s["step"] == "3")
    assert state["error"] is None
