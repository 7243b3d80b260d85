"""Graphviz in the page: DOT drawn by the vendored viz.js where no local renderer runs.

Pyodide and JupyterLite have no subprocess, so neither ``dot`` nor ``graphviz-pure``
can run there; a bare venv may have neither. The page can: ``vendor/viz-global.js``
is Graphviz compiled to WebAssembly (@viz-js/viz, see ``vendor/VENDOR.md``). This
module knows only DOT text and the package data, never a ``Value``.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import sys
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from string import Template
from typing import Any, List

VIZ_JS_VERSION = "3.31.0"  # @viz-js/viz, Graphviz 16.1.0 inside
VIZ_JS_NAME = "viz-global.js"
_HERE = Path(__file__).resolve().parent  # package data sits beside this module

_counter = itertools.count()
_script_sent = False  # has this process handed the page viz.js already?


@cache
def _data(folder: str, name: str) -> str:
    return (_HERE / folder / name).read_text(encoding="utf-8")


def viz_js() -> str:
    """The text of the vendored viz.js: a classic script that defines ``window.Viz``."""
    return _data("vendor", VIZ_JS_NAME)


def template(name: str) -> Template:
    """A page template from ``templates/`` (``$name`` placeholders, ``string.Template``)."""
    return Template(_data("templates", name))


def asset(name: str) -> str:
    """A script or style sheet from ``templates/``, inserted as it is."""
    return _data("templates", name).strip()


def script_json(data: Any) -> str:
    """JSON for a ``<script type="application/json">``: no ``</script>``, ``<!--`` or ``&``
    survives, so text in a label can never end the element or start markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def script_text(source: str) -> str:
    """Script source for inlining in a ``<script>`` element, refused if it could end it."""
    if "</script" in source.lower() or "<!--" in source:
        raise ValueError("a script with '</script' or '<!--' in it cannot be inlined in a page")
    return source


def reset() -> None:
    """Make the next ``notebook_html`` carry viz.js again (after clearing the output that
    brought it, say). A kernel restart does the same."""
    global _script_sent
    _script_sent = False


def notebook_html(dot_text: str, *, fit: bool = True) -> str:
    """HTML for a notebook output that draws ``dot_text`` in the page with viz.js.

    ``fit``: the drawing scales down to the cell's width, with a "full size" button;
    otherwise it keeps its natural size and the output scrolls. viz.js itself comes
    once per page: with the first output of this process (every output in Colab, where
    each output is a page of its own); the others wait for it. Without JavaScript
    (an untrusted notebook) the output says so and shows the DOT text.
    """
    global _script_sent
    if not isinstance(dot_text, str):
        raise TypeError(f"dot_text must be a str of DOT, got {type(dot_text).__name__}")
    if not isinstance(fit, bool):
        raise TypeError(f"fit must be True or False, got {fit!r}")
    digest = hashlib.sha256(dot_text.encode("utf-8")).hexdigest()[:12]
    box = f"chainrule-viz-{digest}-{next(_counter)}"
    carry = not _script_sent or "google.colab" in sys.modules
    vizjs = ""
    if carry:
        vizjs = (f'<script type="text/plain" data-chainrule-vizjs="{VIZ_JS_VERSION}">'
                 f"{script_text(viz_js())}</script>\n")
        _script_sent = True
    return template("notebook.html").substitute(
        id=box,
        fit="1" if fit else "0",
        dot=html.escape(dot_text, quote=False),
        vizjs=vizjs,
        loader=asset("notebook.js"),
    )


class _Carried(HTMLParser):
    """Collects the DOT a page carries: ``<pre class="cr-dot">`` and ``.cr-data`` JSON."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dots: List[str] = []
        self._into: Any = None

    def handle_starttag(self, tag: str, attrs: List[Any]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if (tag == "pre" and "cr-dot" in classes) or (tag == "script" and "cr-data" in classes):
            self._into = [tag]

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self._into.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._into is None or tag != self._into[0]:
            return
        text = "".join(self._into[1:])
        self._into = None
        if tag == "pre":
            self.dots.append(text)
        else:
            data = json.loads(text)
            lines = data["lines"]
            self.dots.extend("\n".join(lines[i] for i in f["lines"]) for f in data["frames"])


def carried_dot(page: str) -> List[str]:
    """The DOT texts in a notebook output of ``notebook_html`` or an ``animate()`` page, in
    order (one per drawing or per step): what the page hands to viz.js."""
    parser = _Carried()
    parser.feed(page)
    parser.close()
    return parser.dots
