"""DOT for a drawing of the graph, built with graphviz's own node()/edge() and quoting.

Text only: no subprocess, no change to any Value. What graphviz can't do for us is
record-field escaping, long strings (dot's 16 KiB limit) and our deterministic ids:
value ``v{i}`` and its op ``op{i}``, i = the value's position in ``graph.walk``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..engine import Value
from ..graph import Graph, safe_local_derivatives, unique_children
from .render import Drawing, graphviz
from .style import (
    DATA_COLOR,
    EDGE_ATTRS,
    EDGE_LABEL_LIMIT,
    GRAD_COLOR,
    GRAPH_ATTRS,
    KINDS,
    LABEL_LIMIT,
    NODE_ATTRS,
    OP_ATTRS,
    PENDING_COLOR,
    STATE_ATTRS,
    STATES,
    STUB_ATTRS,
    TOOLTIP_FORMAT,
    Options,
    blend,
    graph_size,
    mirror,
    number,
)

OPTIONS = Options()  # the defaults, once
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CHUNK = 2000  # characters per line of a long DOT string (dot stops at 16 KiB a line)


def _clean(text: str) -> str:
    """Newlines become one kind, tabs a space, other control characters U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("\ufffd", text)


def shorten(text: str, limit: int = LABEL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _lines(text: str) -> str:
    r"""A long escaped string split by backslash-newline, DOT's line continuation, at a
    place that doesn't cut an escape (``\\`` or ``\"``) in two."""
    if len(text) <= _CHUNK:
        return text
    parts, start = [], 0
    while len(text) - start > _CHUNK:
        cut = start + _CHUNK
        while cut > start + 1 and text[cut - 1] == "\\":
            cut -= 1
        if (cut - start) % 2 and text[start:cut].endswith("\\"):  # pragma: no cover
            cut -= 1
        parts.append(text[start:cut])
        start = cut
    parts.append(text[start:])
    return "\\\n".join(parts)


def escape_record(text: str) -> str:
    r"""One field of a record label: ``{ } | < >`` and ``\`` get a backslash, newlines
    become ``\n`` (graphviz quotes the quotes). Graphviz 2.x drops a space after a
    non-ASCII character in a record, so such labels get no-break spaces."""
    text = _clean(text)
    out = []
    nbsp = not text.isascii()
    for ch in text:
        if ch in "{}|<>\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == " " and nbsp:
            out.append("\u00a0")
        else:
            out.append(ch)
    return "".join(out)


def plain(text: str) -> graphviz.quoting.NoHtml:
    """A plain label or tooltip: backslashes literal, never read as HTML, any length."""
    return graphviz.nohtml(_lines(_clean(text).replace("\\", "\\\\").replace("\n", "\\n")))


def _html(text: str) -> str:
    return html.escape(_clean(text), quote=True).replace("\n", "<br/>")


@dataclass
class Frame:
    """What a step-through frame adds to a drawing, and what keeps frames aligned."""

    current: Value
    states: Dict[Value, str]  # node -> a key of style.STATES
    caption: str
    widths: Dict[Value, float] = field(default_factory=dict)  # inches, per value node
    caption_width: Optional[int] = None  # points
    caption_lines: int = 0  # pad the caption to this many lines


def value_label(name: str, data: float, grad: Optional[float], opts: Options) -> str:
    """The record ``name | data | grad``, its fields stacked: narrow enough to fit a cell."""
    shown = "grad ________" if grad is None else f"grad {number(grad, opts.number_format)}"
    fields = [shorten(name), f"data {number(data, opts.number_format)}", shown]
    label = "|".join(escape_record(f) for f in fields if f)
    # A record lays its fields across the rank direction: in LR they stack as they are,
    # in TB braces turn them to stack too.
    return label if opts.rankdir in ("LR", "RL") else "{" + label + "}"


def _op_label(graph: Graph, node: Value) -> str:
    if node._op != "dot":
        return node._op or "?"
    # a fused neuron: its pairs in the order of the sum, w1·x1 + w2·x2 + ... + bias
    kids, names = node._prev, graph.names
    pairs = [f"{shorten(names[kids[k]], 16)}*{shorten(names[kids[k + 1]], 16)}"
             for k in range(0, len(kids) - 1, 2)]
    if len(kids) % 2:
        pairs.append(shorten(names[kids[-1]], 16))
    return "dot\n" + "\n".join(("+ " if k else "") + p for k, p in enumerate(pairs))


def build(root: Value, opts: Options = OPTIONS, grads: Optional[Mapping[Value, float]] = None,
          frame: Optional[Frame] = None) -> Drawing:
    """The drawing of ``root``'s graph with ``opts``; ``grads``/``frame``: a step's."""
    graph = Graph(root, opts.params)
    order = graph.order
    shown = set(order)
    if opts.around is not None:
        shown = graph.around(opts.around, opts.depth)
        order = [node for node in order if node in shown]
    if len(order) > opts.max_nodes:
        graph.too_large(len(order), opts.max_nodes, opts.around, opts.depth)
    ids, names = graph.ids, graph.names
    view = opts.view
    edge_labels = opts.edge_labels
    if edge_labels is None:  # a handout leaves the local derivatives to the students too
        edge_labels = len(order) <= EDGE_LABEL_LIMIT and not opts.blank_grads
    grad_of = grads.__getitem__ if grads is not None else (lambda v: v.grad)
    shade = opts.shade and not opts.blank_grads
    max_grad = max((abs(grad_of(v)) for v in order), default=0.0) if shade else 0.0
    states = frame.states if frame is not None else {}

    attrs = dict(GRAPH_ATTRS, rankdir=mirror(opts.rankdir) if view == "backward" else opts.rankdir)
    size = graph_size(opts.size)
    if size:
        attrs["size"] = size
    g = Drawing(name="computation graph", format=opts.format, graph_attr=attrs,
                node_attr=NODE_ATTRS, edge_attr=EDGE_ATTRS)
    g.fit = opts.fit

    kinds = set()
    for node in order:
        kind = graph.kind(node)
        kinds.add(kind)
        fill, border, _ = KINDS[kind]
        grad = None if opts.blank_grads else grad_of(node)
        tip = f"{graph.full_names[node]}: data {number(node.data, TOOLTIP_FORMAT)}"
        if grad is not None:
            tip += f", grad {number(grad, TOOLTIP_FORMAT)}"
        a: Dict[str, Any] = {
            "label": value_label(names[node], node.data, grad, opts),
            "fillcolor": blend(abs(grad or 0.0) / max_grad) if max_grad else fill,
            "color": border,
            "tooltip": plain(tip),
        }
        if node is opts.around:
            a["penwidth"] = "3"
        state = states.get(node)
        if state:
            a["class"] = state  # <g class="node current"> in the SVG, for the page
        if frame is not None and node in frame.widths:
            a["width"] = f"{frame.widths[node]:.3f}"
        if state:
            a.update(STATE_ATTRS[state])
        g.node(f"v{ids[node]}", **a)

    for node in order:
        if not node._prev:
            continue
        i = ids[node]
        g.node(f"op{i}", label=plain(_op_label(graph, node)), tooltip=plain(f"op {node._op}"),
               **OP_ATTRS, **({"class": states[node]} if node in states else {}))
        flowed = frame is None or states.get(node) in ("current", "final")
        red = GRAD_COLOR if flowed else PENDING_COLOR
        back: Dict[str, str] = {"color": red, "fontcolor": red}
        if view == "both":  # a second edge beside the grey one: dashed red, arrow back
            back.update(style="dashed", dir="back", arrowtail="vee")
        if frame is not None and node is frame.current:
            back["penwidth"] = "2.5"
        # one direction of edges for the layout; a backward-only drawing points them back
        # and mirrors rankdir, so every node stays where the forward drawing puts it
        if view != "backward":
            g.edge(f"op{i}", f"v{i}")
        if view == "both":
            g.edge(f"op{i}", f"v{i}", **back)
        if view == "backward":
            g.edge(f"v{i}", f"op{i}", **back)
        derivatives = safe_local_derivatives(node)
        hidden = 0
        for child, uses in unique_children(node).items():
            if child not in shown:
                hidden += 1
                continue
            j = ids[child]
            d = derivatives[child]
            times = {"label": f"×{uses}"} if uses > 1 else {}  # a + a: one edge, used twice
            slope = "?" if d is None else number(d, opts.number_format)
            local = {"label": plain(slope)} if edge_labels else {}
            if view != "backward":
                g.edge(f"v{j}", f"op{i}", **times)
            if view == "both":
                g.edge(f"v{j}", f"op{i}", **local, **back)
            if view == "backward":
                g.edge(f"op{i}", f"v{j}", **local, **back)
        if hidden:
            g.node(f"more{i}", label=f"{hidden} more", **STUB_ATTRS)
            g.edge(f"more{i}", f"op{i}", style="dashed", color=PENDING_COLOR)
    if opts.around is not None:
        for node in order:
            outside = [c for c in graph.consumers[node] if c not in shown]
            if outside:
                i = ids[node]
                g.node(f"next{i}", label=f"used by {len(outside)} more", **STUB_ATTRS)
                g.edge(f"v{i}", f"next{i}", style="dashed", color=PENDING_COLOR)

    caption = frame.caption if frame is not None else opts.title
    swatches, lines = legend_rows(
        [k for k in KINDS if k in kinds] if opts.legend else [],
        view if opts.legend and len(order) > 1 else None,
        max_grad if opts.legend else 0.0,
        edge_labels,
        opts,
        frame is not None and opts.legend,
    )
    label = graph_label(swatches, lines, caption, frame)
    if label is not None:
        g.attr("graph", label=label, labelloc="t" if caption else "b", labeljust="l")
    return g


def caption_html(caption: str, width: Optional[int] = None, lines: int = 0) -> str:
    rows = caption.split("\n")
    rows += ["&#160;"] * (lines - len(rows))  # a blank line keeps its height
    text = "".join(f'{row if row == "&#160;" else _html(row)}<br align="left"/>' for row in rows)
    size = f' width="{width}"' if width else ""
    return f'<tr><td align="left" balign="left"{size}><font point-size="16">{text}</font></td></tr>'


def _width(text: str) -> int:
    """About how wide Helvetica 14 sets ``text``, in points (for the key's filler cell)."""
    return int(len(text) * 7.6) + 10


def legend_rows(kinds: Sequence[str], view: Optional[str], max_grad: float, edge_labels: bool,
                opts: Options, states: bool) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """The key: a row of swatches (kinds of node, the |grad| scale) as (html cell, text),
    then lines of text (what each arrow means, the frame states) as (colour, text)."""
    swatches = []
    for kind in kinds:
        fill, border, text = KINDS[kind]
        fill = "white" if max_grad else fill  # shaded fills say |grad|; the border says kind
        swatches.append((f'<td bgcolor="{fill}" border="1" color="{border}" style="rounded">'
                         f"{text}</td>", text))
    if max_grad:
        swatches.append(("<td>fill: |grad|</td>", "fill: |grad|"))
        for t in (0.0, 0.25, 0.5, 0.75, 1.0):
            shown = number(t * max_grad, opts.number_format)
            swatches.append((f'<td bgcolor="{blend(t)}" border="1" color="#9ca3af">'
                             f"{_html(shown)}</td>", shown))
    lines = []
    if view in ("forward", "both"):
        grey = "solid grey" if view == "both" else "grey"
        lines.append((DATA_COLOR, f"{grey} arrows: data, forward"))
    if view in ("backward", "both"):
        line = "dashed red arrows, pointing back" if view == "both" else "red arrows"
        note = ("label: local derivative d(op result)/d(input)" if edge_labels
                else "local derivatives hidden (edge_labels=True)")
        lines.append((GRAD_COLOR, f"{line}: gradients, backward; {note}"))
    if states:
        lines.append(("black", " · ".join(STATES.values())))
    return swatches, lines


def graph_label(swatches: Sequence[Tuple[str, str]], lines: Sequence[Tuple[str, str]],
                caption: Optional[str], frame: Optional[Frame]) -> Any:
    """The caption (if any) above the key, as one HTML-like table, or None.

    One flat table: swatches in the first row, then a line of text per row spanning
    them; a last, empty swatch takes the slack, so the swatches keep their own width."""
    rows = []
    if caption:
        rows.append(caption_html(caption, frame.caption_width if frame else None,
                                 frame.caption_lines if frame else 0))
    span = len(swatches) + 1
    if swatches:
        slack = max([_width(t) for _, t in lines], default=0) - sum(_width(t) for _, t in swatches)
        filler = f'<td width="{slack}"></td>' if slack > 0 else "<td></td>"
        rows.append(f"<tr>{''.join(cell for cell, _ in swatches)}{filler}</tr>")
    for colour, text in lines:
        line = f'<font color="{colour}">{_html(text)}</font>'
        rows.append(f'<tr><td colspan="{span}" align="left">{line}</td></tr>')
    if caption:
        rows[0] = rows[0].replace("<td ", f'<td colspan="{span}" ', 1)
    if not rows:
        return None
    table = '<table border="0" cellborder="0" cellspacing="4" cellpadding="3">'
    return f'<{table}{"".join(rows)}</table>>'


def draw_dot(root: Value, format: str = OPTIONS.format, rankdir: str = OPTIONS.rankdir,
             view: str = OPTIONS.view, **options: Any) -> Drawing:
    """Draw the graph that computed ``root``, as a ``graphviz.Digraph`` (a ``Drawing``).

    In a notebook the result shows itself, scaled to the cell's width; ``save(g, "g.png")``
    writes a file; ``g.source`` is the DOT text. Each value is a record ``name | data |
    grad``, each op a small ellipse of its own. The options (defaults in ``Options``):

    - ``rankdir``: ``"LR"`` (inputs left, output right), ``"TB"``, ``"RL"`` or ``"BT"``.
    - ``view``: ``"forward"`` (solid grey arrows: data), ``"backward"`` (red arrows:
      gradients, each labelled with its local derivative d(op result)/d(input)) or
      ``"both"`` (the two on one layout, gradient arrows dashed).
    - ``params``: the model (or its ``named_parameters()``, or a list of Values):
      parameters are coloured apart from inputs and named ``L1.N2.w0`` (full name in
      the tooltip). Unlabelled inputs are named x0, x1, ...; unlabelled results by op
      and id (``mul7``).
    - ``number_format``: a format spec (``".4g"``) or a function from float to str.
    - ``shade``: fill each value redder the larger its ``|grad|`` (the key shows the scale).
    - ``legend``: the key under the graph; ``title``: a caption above it.
    - ``edge_labels``: local derivatives on gradient edges; None: up to 30 values.
    - ``max_nodes``: more values than this raise ``GraphTooLarge``, which says what to draw.
    - ``around``, ``depth``: only the values at most ``depth`` ops from ``around``.
    - ``fit``: a notebook scales the picture to the cell (click: full size);
      ``size=(w, h)``: files at most w x h inches (e.g. ``(13.3, 7.5)``, a 16:9 slide).
    - ``blank_grads``: empty grad fields, for a handout to fill in by hand.
    """
    return build(root, Options.make(format=format, rankdir=rankdir, view=view, **options))

