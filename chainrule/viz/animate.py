"""backward() step by step as a page (drawn in the browser) or a GIF (drawn by dot).

The page carries every frame as DOT text and the vendored viz.js (``browser``), so it
draws with no renderer installed, offline, the same everywhere. The GIF needs a local
renderer for its PNG frames and Pillow to put the captions on them.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from ..engine import Value
from ..graph import Graph
from . import browser
from .dot import Frame, value_label
from .render import INSTALL_HINT, RendererNotFound, find_renderer, render_dot
from .steps import Step, replay
from .style import DATA_COLOR, FONT, GRAD_COLOR, KINDS, NODE_ATTRS, PENDING_COLOR, STATES, PathLike

# Helvetica's advance widths (Adobe AFM, 1/1000 em) for ASCII 32..126: the metrics
# Graphviz itself estimates text with when it has no fonts, as viz.js has none.
_HELVETICA = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
]
_WIDE = 1000  # an East Asian character; any other is taken as wide as a digit
_FIELD_PAD = 16  # points a record adds around a field's text (Graphviz: 4 * GAP)
_FIELDS = re.compile(r"(?<!\\)\|")


def text_width(text: str, points: float) -> float:
    """The width in points of ``text`` set in Helvetica at ``points``, one line per "\\n"."""
    def line(s: str) -> float:
        units = 0
        for ch in s:
            code = ord(ch)
            units += _HELVETICA[code - 32] if 32 <= code < 127 else (
                _WIDE if code >= 0x1100 else 556)
        return units * points / 1000
    return max(line(s) for s in text.split("\n"))


def _record_width(label: str, points: float) -> float:
    """Inches a record label needs: its widest field (fields stack in every rankdir)."""
    fields = _FIELDS.split(label.strip("{}"))
    texts = [re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), f)
             for f in fields]
    return (max(text_width(t, points) for t in texts) + _FIELD_PAD) / 72


def steady_frames(steps: Sequence[Step], caption: bool) -> List[Frame]:
    """Frames whose value nodes keep one width from step to step, so the layout stays put
    as "grad 0" becomes "grad -1.5": each node gets the widest text it ever shows.

    Widths are estimated from the font metrics, no renderer needed; 4% and 2 points of
    slack absorb the renderer's own rounding (the width is a minimum, never a clip).
    """
    if not steps:
        return []
    opts = steps[0].options
    names = Graph(steps[0].root, opts.params).names
    size = float(NODE_ATTRS["fontsize"])
    widths: Dict[Value, float] = {}
    for step in steps:
        for node, grad in step.grads.items():
            label = value_label(names[node], node.data, None if opts.blank_grads else grad, opts)
            widths[node] = max(widths.get(node, 0.0), _record_width(label, size))
    widths = {node: w * 1.04 + 2 / 72 for node, w in widths.items()}
    return [Frame(s.node, s.states, s.caption if caption else "", widths) for s in steps]


# -------------------------------------------------------------------------- the page


def _swatch(text: str, css: str, inner: str = "") -> str:
    return (f'<span class="cr-item"><span class="cr-swatch" style="{css}">{inner}</span>'
            f"{html.escape(text)}</span>")


def legend_html(view: str, kinds: Sequence[str]) -> str:
    """The page's key: kinds of value, the states of a step, what each arrow means."""
    parts = []
    for kind in kinds:
        fill, border, text = KINDS[kind]
        parts.append(_swatch(text, f"background:{fill};border:1.5px solid {border}"))
    looks = {
        "current": f"border:3px solid {GRAD_COLOR}",
        "updated": f"border:2px solid {GRAD_COLOR}",
        "final": "border:1.5px solid #6b7280",
        "pending": f"border:1.5px dashed #6b7280;color:{PENDING_COLOR}",
    }
    for state, text in STATES.items():
        parts.append(_swatch(text, f"background:#f3f4f6;{looks.get(state, '')}", "ab"))
    if view != "backward":
        parts.append(f'<span class="cr-item"><span class="cr-arrow" style="color:{DATA_COLOR}">'
                     f"</span>data, forward</span>")
    if view != "forward":
        dash = "dashed" if view == "both" else "solid"
        parts.append(
            f'<span class="cr-item"><span class="cr-arrow" style="color:{GRAD_COLOR};'
            f'border-top-style:{dash}"></span>gradient, backward; edge label: local derivative '
            "d(op result)/d(input)</span>")
    return "\n".join(parts)


def page_html(steps: Sequence[Step], frames: Sequence[Frame], seconds_per_step: float) -> str:
    """The self-contained step-through page for ``steps`` (see templates/steps.*)."""
    root = steps[0].root
    opts = steps[0].options.replace(legend=False)  # the page draws its own key
    graph = Graph(root, opts.params)
    sources = [step.draw(frame, legend=False).source for step, frame in zip(steps, frames)]
    table: Dict[str, int] = {}  # frames share most lines: each is kept once
    shown = []
    for step, source in zip(steps, sources):
        rows = [table.setdefault(line, len(table)) for line in source.split("\n")]
        shown.append({"lines": rows, "caption": step.caption, "node_id": step.node_id})
    kinds = [k for k in KINDS if any(graph.kind(v) == k for v in graph.order)]
    title = f"backward() step by step: {graph.names[root]}"
    return browser.template("steps.html").substitute(
        title=html.escape(title),
        uid="cr-steps-" + hashlib.sha256("\n".join(sources).encode("utf-8")).hexdigest()[:12],
        css=browser.asset("steps.css").replace("Helvetica", FONT),
        legend=legend_html(opts.view, kinds) if steps[0].options.legend else "",
        last=len(steps) - 1,
        data=browser.script_json(
            {"lines": list(table), "frames": shown, "seconds_per_step": seconds_per_step}
        ),
        vizjs=browser.script_text(browser.viz_js()),
        js=browser.asset("steps.js"),
    )


# --------------------------------------------------------------------------- the GIF


def _font(pixels: int) -> Any:
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "Arial.ttf", "Helvetica.ttc"):
        try:
            return ImageFont.truetype(name, pixels)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=pixels)  # Pillow >= 10.1
    except TypeError:  # pragma: no cover - old Pillow: a small bitmap font
        return ImageFont.load_default()


def _wrap(draw: Any, text: str, font: Any, width: int) -> List[str]:
    lines: List[str] = []
    for paragraph in text.split("\n"):
        words, line = paragraph.split(" "), ""
        for word in words:
            trial = f"{line} {word}" if line else word
            if line and draw.textlength(trial, font=font) > width:
                lines.append(line)
                line = "    " + word  # a continued line is indented
            else:
                line = trial
        lines.append(line)
    return lines


def gif_frames(pngs: Sequence[bytes], captions: Sequence[str], dpi: int) -> List[Any]:
    """One picture per step: its caption above the graph, on one canvas size for all."""
    from PIL import Image, ImageDraw

    images = [Image.open(io.BytesIO(png)).convert("RGBA") for png in pngs]
    width = max(max(image.width for image in images), 8 * dpi)
    font = _font(round(16 * dpi / 72))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    wrapped = [_wrap(measure, caption, font, width - 2 * dpi // 4) for caption in captions]
    line_height = round(font.size * 1.3) if hasattr(font, "size") else 14
    top = max(len(lines) for lines in wrapped) * line_height + dpi // 4
    height = top + max(image.height for image in images)
    adaptive = getattr(Image, "Palette", Image).ADAPTIVE
    pictures = []
    for image, lines in zip(images, wrapped):
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, (0, top), image)
        draw = ImageDraw.Draw(canvas)
        for k, line in enumerate(lines):
            draw.text((dpi // 4, dpi // 8 + k * line_height), line, fill="#111827", font=font)
        pictures.append(canvas.convert("P", palette=adaptive, colors=255))
    return pictures


def _write_gif(steps: Sequence[Step], frames: Sequence[Frame], path: Path,
               seconds_per_step: float, dpi: int) -> None:
    pngs = [render_dot(step.draw(frame).source, "png", dpi=dpi)
            for step, frame in zip(steps, frames)]
    pictures = gif_frames(pngs, [step.caption for step in steps], dpi)
    durations = [round(seconds_per_step * 1000)] * len(pictures)
    durations[-1] *= 2  # linger on the finished gradients
    buffer = io.BytesIO()  # written whole at the end: a failure leaves no half file
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=durations, loop=0)
    path.write_bytes(buffer.getvalue())


def _check(path: PathLike, seconds_per_step: Any, dpi: Any) -> Tuple[Path, str]:
    if not isinstance(path, (str, Path)) and not hasattr(path, "__fspath__"):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".html", ".htm"):
        raise ValueError(f"animate writes .html (or .htm) or .gif files, not {path.name!r}")
    if isinstance(seconds_per_step, bool) or not isinstance(seconds_per_step, (int, float)):
        raise TypeError(f"seconds_per_step must be a number, got {seconds_per_step!r}")
    if not 0.05 <= seconds_per_step <= 60:
        raise ValueError(f"seconds_per_step must be from 0.05 to 60, got {seconds_per_step!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 24 <= dpi <= 600:
        raise ValueError(f"dpi must be a whole number from 24 to 600, got {dpi!r}")
    return path, suffix


def animate(
    root: Value,
    path: PathLike,
    *,
    seconds_per_step: float = 1.5,
    dpi: int = 96,
    **options: Any,
) -> Path:
    """Write backward() on ``root``, step by step, to ``path``; returns the path.

    - ``.html``: a self-contained page that draws each step in the browser (the
      embedded viz.js: no renderer, no network needed): a legend, step 0 (the seed),
      play/pause and speed, zoom, pan and follow the current node, keys, ``#step=5``
      links. It works as a notebook output too (click it, then use the keys).
    - ``.gif``: one picture per step with its caption, looping; the last one stays
      twice as long. Needs Pillow and a renderer (``dot`` or ``graphviz-pure``).

    The steps are those of a fresh ``backward()``, and every ``.grad`` is left exactly
    as it was. ``options`` are ``draw_dot``'s (``params=model``, ``rankdir``,
    ``number_format``, ``view``: ``"backward"`` unless given, ...).
    """
    path, suffix = _check(path, seconds_per_step, dpi)
    if suffix == ".gif":
        try:
            import PIL  # noqa: F401
        except ImportError as error:
            raise ImportError("animate(root, 'x.gif') needs Pillow: pip install Pillow "
                              "(an .html page needs nothing more)") from error
        if find_renderer() is None:  # before any work: nothing is written
            raise RendererNotFound("a GIF needs a local renderer for its pictures "
                                   f"(an .html page draws in the browser and needs none).\n"
                                   f"{INSTALL_HINT}")
    steps = replay(root, **options)
    if suffix == ".gif":
        _write_gif(steps, steady_frames(steps, caption=False), path, seconds_per_step, dpi)
    else:
        page = page_html(steps, steady_frames(steps, caption=False), seconds_per_step)
        path.write_text(page, encoding="utf-8")
    return path


