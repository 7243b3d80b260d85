"""backward() step by step as a page or a GIF."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from ..engine import Value
from .dot import (
    _GRAPH_ATTRS,
    _NODE_ATTRS,
    _attrs,
    _caption_html,
    _check_options,
    _Frame,
    _Html,
    _value_label,
)
from .graph import Params, _label, _parameters, _short_name
from .render import _INSTALL_HINT, RendererNotFound, _locate_renderer, _render
from .steps import Step, backward_steps
from .style import NumberFormat, PathLike


def _steady_frames(
    steps: Sequence[Step],
    rankdir: str,
    number_format: NumberFormat,
    params: Optional[Params],
    captions: bool = True,
) -> List[_Frame]:
    """Frames whose nodes and caption keep one size from step to step.

    A grad's text changes length as backward() runs ("grad 0" → "grad -1.5"), and the
    layout with it, so an animation would jump. The renderer measures every text each
    node will show (one ``-Tplain`` run); each node then gets the widest as its width.
    """
    horizontal = rankdir in ("LR", "RL")
    names = _parameters(params)
    # the drawing's own rankdir: it decides which way a record's fields run
    measure = [
        f"\tgraph{_attrs({**_GRAPH_ATTRS, 'rankdir': rankdir})}\n",
        f"\tnode{_attrs(_NODE_ATTRS)}\n",
    ]
    texts: Dict[str, Value] = {}
    seen: Set[Tuple[Value, str]] = set()
    for step in steps:
        for node, grad in step.grads.items():
            shown = _short_name(names.get(node, ""))
            label = _value_label(node, grad, number_format, horizontal, shown)
            if (node, label) not in seen:
                seen.add((node, label))
                node_id = f"m{len(texts)}"
                texts[node_id] = node
                measure.append(f"\t{node_id}{_attrs({'label': label})}\n")
    for k, step in enumerate(steps if captions else ()):
        table = _Html(f'<table border="0" cellborder="0">{_caption_html(step.caption)}</table>')
        measure.append(f"\tc{k}{_attrs({'label': table, 'shape': 'plaintext', 'margin': '0'})}\n")
    plain = _render("digraph {\n" + "".join(measure) + "}\n", "plain").decode("utf-8")
    widths: Dict[Value, float] = {}
    caption_width = 0.0
    for line in plain.splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[0] == "node":
            width = float(parts[4])
            if parts[1] in texts:
                node = texts[parts[1]]
                widths[node] = max(widths.get(node, 0.0), width)
            else:
                caption_width = max(caption_width, width)
    # -Tplain rounds; a little slack keeps every text inside its fixed width
    widths = {node: width + 0.03 for node, width in widths.items()}
    points = int(caption_width * 72) + 4 if caption_width else None
    lines = max((len(step.caption.split("\n")) for step in steps), default=0)
    return [
        _Frame(
            step.node,
            set(step.done),
            step.caption if captions else "",
            widths,
            points,
            lines if captions else 0,
        )
        for step in steps
    ]


def _inline_svg(svg: str, prefix: str) -> str:
    """An SVG document as an element for an HTML page, its ids unique to the frame."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)  # implied in HTML; no URLs left
    svg = re.sub(r'\bid="([^"]*)"', rf'id="{prefix}\1"', svg)
    svg = re.sub(r"url\(#([^)]*)\)", rf"url(#{prefix}\1)", svg)
    return re.sub(r'href="#([^"]*)"', rf'href="#{prefix}\1"', svg)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #111827; }}
h1 {{ font-size: 1.4em; margin: 0 0 .5em 0; }}
.controls {{ display: flex; align-items: center; gap: .8em; margin: .5em 0; }}
.controls button {{ font-size: 1.1em; padding: .3em .9em; }}
.controls input[type=range] {{ flex: 1; max-width: 40em; }}
.caption {{ font-size: 1.2em; min-height: 3em; margin: .4em 0; white-space: pre-line; }}
.frame {{ display: none; }}
.frame.current {{ display: block; }}
.frame svg {{ max-width: 100%; height: auto; }}
.hint {{ color: #6b7280; font-size: .9em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="controls">
<button type="button" id="prev" title="previous step (left arrow)">&#9664; previous</button>
<input type="range" id="slider" min="0" max="{last}" value="0" step="1" aria-label="step">
<button type="button" id="next" title="next step (right arrow)">next &#9654;</button>
<span id="counter">1 / {count}</span>
</div>
<p class="hint">Step with the buttons, the slider or the keyboard: &#8592; &#8594;, Home, End.</p>
{frames}<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var current = 0;
  function show(i) {{
    current = Math.max(0, Math.min(frames.length - 1, i));
    for (var k = 0; k < frames.length; k++) {{
      frames[k].className = k === current ? "frame current" : "frame";
    }}
    slider.value = current;
    counter.textContent = (current + 1) + " / " + frames.length;
  }}
  document.getElementById("prev").onclick = function () {{ show(current - 1); }};
  document.getElementById("next").onclick = function () {{ show(current + 1); }};
  slider.oninput = function () {{ show(parseInt(slider.value, 10)); }};
  document.addEventListener("keydown", function (e) {{
    var keys = {{ ArrowLeft: current - 1, ArrowRight: current + 1,
                 Home: 0, End: frames.length - 1 }};
    if (e.key in keys) {{ show(keys[e.key]); e.preventDefault(); }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""


def animate(
    root: Value,
    path: PathLike,
    *,
    view: str = "backward",
    seconds_per_step: float = 1.5,
    dpi: int = 96,
    **options: Any,
) -> Path:
    """Run ``root.backward()`` step by step and write the frames to ``path``.

    - ``.gif``: an animated GIF, one frame per step, looping; the last frame stays
      twice as long. Needs Pillow (``pip install Pillow``) and a renderer: ``dot`` and
      ``graphviz-pure`` both make the PNG frames. ``dpi`` sets their resolution.
    - ``.html``: a self-contained page, one inline SVG per step, with previous/next
      buttons, a slider and the arrow keys; no network, no external script.

    Leaves the same grads as ``root.backward()``. ``options`` are ``draw_dot``'s
    (``params=``, ``rankdir=``, ``number_format=``, ``legend=``, ...); the layout
    stays put from frame to frame. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".html", ".htm"):
        raise ValueError(f"animate writes .gif or .html files, not {path.name!r}")
    _check_options(view, options.get("rankdir", "LR"), options.get("depth", 2))
    if suffix == ".gif":
        try:
            from PIL import Image
        except ImportError as error:
            raise ImportError(
                "animate(root, 'x.gif') needs Pillow: pip install Pillow "
                "(an .html page needs nothing more)"
            ) from error
    program, reason = _locate_renderer()
    if program is None:  # fail before backward() runs
        raise RendererNotFound(f"{reason}\n{_INSTALL_HINT}")

    number_format = options.get("number_format", ".4g")
    steps = list(backward_steps(root, number_format=number_format))
    # A GIF carries each caption in its picture; the page shows it as text above it.
    frames = _steady_frames(
        steps,
        options.get("rankdir", "LR"),
        number_format,
        options.get("params"),
        captions=suffix == ".gif",
    )
    sources = [
        step.draw(view=view, _frame=frame, **options).source for step, frame in zip(steps, frames)
    ]

    if suffix == ".gif":
        images = [Image.open(io.BytesIO(_render(s, "png", dpi=dpi))) for s in sources]
        width = max(image.width for image in images)
        height = max(image.height for image in images)
        adaptive = getattr(Image, "Palette", Image).ADAPTIVE
        pictures = []
        for image in images:
            canvas = Image.new("RGB", (width, height), "white")
            rgba = image.convert("RGBA")
            canvas.paste(rgba, (0, 0), rgba)
            pictures.append(canvas.convert("P", palette=adaptive, colors=255))
        durations = [round(seconds_per_step * 1000)] * len(pictures)
        durations[-1] *= 2  # linger on the finished gradients
        pictures[0].save(
            path, save_all=True, append_images=pictures[1:], duration=durations, loop=0
        )
        return path

    parts = []
    for k, (step, source) in enumerate(zip(steps, sources)):
        svg = _inline_svg(_render(source, "svg").decode("utf-8"), f"f{k}-")
        parts.append(
            f'<div class="{"frame current" if k == 0 else "frame"}" id="frame{k}">\n'
            f'<p class="caption">{html.escape(step.caption)}</p>\n{svg}</div>\n'
        )
    name = _label(root) or "the output"
    title = html.escape(f"backward() step by step: {name}")
    page = _PAGE.format(title=title, last=len(steps) - 1, count=len(steps), frames="".join(parts))
    path.write_text(page, encoding="utf-8")
    return path
