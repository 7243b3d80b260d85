"""DOT text for a drawing of the graph (text only: no subprocess, no mutation)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import (
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
)

from ..engine import Value
from .graph import (
    GraphTooLarge,
    Params,
    _kind,
    _label,
    _parameters,
    _safe_local_derivatives,
    _select,
    _short_name,
    _unique_children,
    _walk,
)
from .render import Drawing
from .style import (
    _EDGE_ATTRS,
    _GRAPH_ATTRS,
    _NODE_ATTRS,
    _OP_ATTRS,
    _STUB_ATTRS,
    DATA_COLOR,
    DEFAULT_MAX_NODES,
    EDGE_LABEL_LIMIT,
    GRAD_COLOR,
    KINDS,
    PENDING_COLOR,
    TOOLTIP_FORMAT,
    VIEWS,
    NumberFormat,
    _blend,
    _mirror,
    _number,
)

# --------------------------------------------------------------------- DOT escaping

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(text: str) -> str:
    """Newlines become one kind, tabs a space, other control characters U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("\ufffd", text)


def _escape_record(text: str) -> str:
    r"""Text for one field of a record label, inside a double-quoted DOT string.

    Record syntax gives ``{ } | < >`` a meaning, so they get a backslash; a backslash
    becomes ``\\`` and a quote ``\"``. Graphviz 2.x drops a space that follows a
    non-ASCII character in a record, so in such labels spaces become no-break spaces.
    """
    text = _clean(text)
    out = []
    nbsp = not text.isascii()
    for ch in text:
        if ch in "{}|<>":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == " " and nbsp:
            out.append("\u00a0")
        else:
            out.append(ch)
    return "".join(out)


def _escape_string(text: str) -> str:
    r"""Text for a plain label or tooltip (an escString): ``\`` and ``"`` escaped."""
    text = _clean(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n")


def _escape_html(text: str) -> str:
    return html.escape(_clean(text), quote=True).replace("\n", "<br/>")


class _Html(str):
    """An HTML-like label: written as <...>, not as a quoted string."""


def _attrs(attrs: Mapping[str, Optional[str]]) -> str:
    """``[key="value" ...]``; values are already escaped (or constants without quotes)."""
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        parts.append(f"{key}=<{value}>" if isinstance(value, _Html) else f'{key}="{value}"')
    return f" [{' '.join(parts)}]" if parts else ""



# ----------------------------------------------------------------------- the drawing


@dataclass
class _Frame:
    """What a step-through frame adds to a drawing, and what keeps frames aligned."""

    current: Value
    done: Set[Value]
    caption: str
    widths: Dict[Value, float] = field(default_factory=dict)  # inches, per value node
    caption_width: Optional[int] = None  # points
    caption_lines: int = 0  # pad the caption to this many lines



def _value_label(
    node: Value, grad: float, number_format: NumberFormat, horizontal: bool, name: str = ""
) -> str:
    """The record ``label | data | grad`` (no label field when the value has none)."""
    fields = [
        f"data {_escape_record(_number(node.data, number_format))}",
        f"grad {_escape_record(_number(grad, number_format))}",
    ]
    shown = _label(node) or name
    if shown:
        fields.insert(0, _escape_record(shown))
    label = "|".join(fields)
    # A record lays its fields across the rank direction; braces turn them back so the
    # record always reads left to right.
    return "{" + label + "}" if horizontal else label



def _check_options(view: str, rankdir: str, depth: int) -> None:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(map(repr, VIEWS))}, got {view!r}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'RL', 'TB' or 'BT', got {rankdir!r}")
    if depth < 0:
        raise ValueError(f"depth must be 0 or more, got {depth}")


def _build(
    root: Value,
    *,
    format: str = "svg",
    rankdir: str = "LR",
    view: str = "both",
    params: Optional[Params] = None,
    number_format: NumberFormat = ".4g",
    shade: bool = False,
    legend: bool = True,
    edge_labels: Optional[bool] = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    around: Optional[Value] = None,
    depth: int = 2,
    title: Optional[str] = None,
    grads: Optional[Mapping[Value, float]] = None,
    frame: Optional[_Frame] = None,
) -> Drawing:
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot needs a Value to draw, got {type(root).__name__}")
    _check_options(view, rankdir, depth)

    order = _walk(root)
    consumers: Dict[Value, List[Value]] = {}
    if around is not None:
        shown, consumers = _select(order, around, depth)
        order = [node for node in order if node in shown]
    else:
        shown = set(order)
    if len(order) > max_nodes:
        raise GraphTooLarge(len(order), max_nodes)

    names = _parameters(params)
    short = {value: _short_name(name) for value, name in names.items()}
    if edge_labels is None:
        edge_labels = len(order) <= EDGE_LABEL_LIMIT
    grad_of: Callable[[Value], float] = grads.__getitem__ if grads is not None else (
        lambda v: v.grad
    )
    ids = {node: i for i, node in enumerate(order)}
    horizontal = rankdir in ("LR", "RL")
    max_grad = max((abs(grad_of(v)) for v in order), default=0.0) if shade else 0.0
    receivers = set(_unique_children(frame.current)) if frame is not None else set()

    graph_attrs = dict(_GRAPH_ATTRS)
    # A backward-only drawing points its edges from the output back to the inputs;
    # mirroring rankdir keeps every node where the forward drawing puts it.
    graph_attrs["rankdir"] = _mirror(rankdir) if view == "backward" else rankdir
    lines = [
        f"\tgraph{_attrs(graph_attrs)}\n",
        f"\tnode{_attrs(_NODE_ATTRS)}\n",
        f"\tedge{_attrs(_EDGE_ATTRS)}\n",
    ]
    edges: List[str] = []

    kinds_present = set()
    for node in order:
        kind = _kind(node, root, names)
        kinds_present.add(kind)
        fill, border, _ = KINDS[kind]
        grad = grad_of(node)
        attrs: Dict[str, Optional[str]] = {
            "label": _value_label(node, grad, number_format, horizontal, short.get(node, "")),
            "fillcolor": _blend(abs(grad) / max_grad) if shade and max_grad else fill,
            "color": border,
            "tooltip": _escape_string(
                f"{_label(node) or names.get(node) or 'value'}: "
                f"data {_number(node.data, TOOLTIP_FORMAT)}, grad {_number(grad, TOOLTIP_FORMAT)}"
            ),
        }
        if node is around:
            attrs["penwidth"] = "3"
        if frame is not None:
            if node in frame.widths:
                attrs["width"] = f"{frame.widths[node]:.3f}"
            if node is frame.current:
                attrs["penwidth"] = "3.5"
                attrs["color"] = GRAD_COLOR
            elif node not in frame.done:
                attrs["style"] = "filled,dashed"
                if node not in receivers:
                    attrs["fontcolor"] = PENDING_COLOR
        lines.append(f"\tv{ids[node]}{_attrs(attrs)}\n")

    for node in order:
        if not node._prev:
            continue
        i = ids[node]
        op_attrs: Dict[str, Optional[str]] = {"label": _escape_string(node._op or "?")}
        op_attrs.update(_OP_ATTRS)
        op_attrs["tooltip"] = _escape_string(f"op {node._op}")
        lines.append(f"\top{i}{_attrs(op_attrs)}\n")

        flowed = frame is None or node is frame.current or node in frame.done
        red = GRAD_COLOR if flowed else PENDING_COLOR
        grad_edge: Dict[str, Optional[str]] = {"color": red, "fontcolor": red}
        if view == "both":  # one edge, two lines: grey data forward, red gradient back
            grad_edge = {"dir": "both", "color": f"{DATA_COLOR}:{red}", "fontcolor": red}
        if frame is not None and node is frame.current:
            grad_edge["penwidth"] = "2.5"

        if view == "forward":
            edges.append(f"\top{i} -> v{i}\n")
        elif view == "backward":
            edges.append(f"\tv{i} -> op{i}{_attrs(grad_edge)}\n")
        else:
            edges.append(f"\top{i} -> v{i}{_attrs(grad_edge)}\n")

        derivatives = _safe_local_derivatives(node)
        hidden = 0
        for child, uses in _unique_children(node).items():
            if child not in shown:
                hidden += 1
                continue
            j = ids[child]
            d = derivatives[child]
            slope = "?" if d is None else _escape_string(_number(d, number_format))
            slope = slope if edge_labels else None
            times = f"×{uses}" if uses > 1 else None  # a + a: one edge, used twice
            if view == "forward":
                edges.append(f"\tv{j} -> op{i}{_attrs({'label': times})}\n")
            elif view == "backward":
                edges.append(f"\top{i} -> v{j}{_attrs({'label': slope, **grad_edge})}\n")
            else:
                both = {"label": slope, **grad_edge, "headlabel": times}
                if times:
                    both["labelfontcolor"] = DATA_COLOR
                edges.append(f"\tv{j} -> op{i}{_attrs(both)}\n")
        if hidden:
            stub = {"label": f"{hidden} more", **_STUB_ATTRS}
            lines.append(f"\tmore{i}{_attrs(stub)}\n")
            dashed = {"style": "dashed", "color": PENDING_COLOR}
            edges.append(f"\tmore{i} -> op{i}{_attrs(dashed)}\n")
    if around is not None:
        for node in order:
            outside = [c for c in consumers[node] if c not in shown]
            if outside:
                i = ids[node]
                stub = {"label": f"used by {len(outside)} more", **_STUB_ATTRS}
                lines.append(f"\tnext{i}{_attrs(stub)}\n")
                dashed = {"style": "dashed", "color": PENDING_COLOR}
                edges.append(f"\tv{i} -> next{i}{_attrs(dashed)}\n")

    caption = frame.caption if frame is not None else title
    label = _graph_label(
        [k for k in KINDS if k in kinds_present] if legend else [],
        view if legend and edges else None,  # no arrows, nothing to explain
        shade and legend,
        edge_labels,
        caption,
        frame.caption_width if frame is not None else None,
        frame.caption_lines if frame is not None else 0,
    )
    if label is not None:
        where = {"label": label, "labelloc": "t" if caption else "b", "labeljust": "l"}
        lines.append(f"\tgraph{_attrs(where)}\n")

    drawing = Drawing(name="computation graph", format=format)
    drawing.body.extend(lines + edges)
    return drawing


def _caption_html(caption: str, width: Optional[int] = None, lines: int = 0) -> str:
    rows = caption.split("\n")
    rows += ["&#160;"] * (lines - len(rows))  # a blank line keeps its height
    text = "".join(
        f'{row if row == "&#160;" else _escape_html(row)}<br align="left"/>' for row in rows
    )
    size = f' width="{width}"' if width else ""
    return f'<tr><td align="left" balign="left"{size}><font point-size="16">{text}</font></td></tr>'


def _graph_label(
    kinds: Sequence[str],
    view: Optional[str],
    shade: bool,
    edge_labels: bool,
    caption: Optional[str],
    caption_width: Optional[int] = None,
    caption_lines: int = 0,
) -> Optional[_Html]:
    """The caption (if any) above a colour key for the kinds of node drawn."""
    rows = [_caption_html(caption, caption_width, caption_lines)] if caption else []
    cells = []
    for kind in kinds:
        fill, border, text = KINDS[kind]
        cells.append(
            f'<td bgcolor="{fill}" border="1" color="{border}" style="rounded">{text}</td>'
        )
    if view in ("forward", "both"):
        cells.append(f'<td><font color="{DATA_COLOR}">grey arrows: data, forward</font></td>')
    if view in ("backward", "both"):
        note = (
            "edge label: local derivative d(out)/d(in)"
            if edge_labels
            else "local derivatives hidden (edge_labels=True shows them)"
        )
        cells.append(
            f'<td><font color="{GRAD_COLOR}">red arrows: gradients, backward; {note}</font></td>'
        )
    if shade:
        cells.append(f'<td bgcolor="{_blend(1.0)}">redder: larger |grad|</td>')
    if cells:
        rows.append(
            '<tr><td align="left"><table border="0" cellborder="0" cellspacing="4" '
            f'cellpadding="3"><tr>{"".join(cells)}</tr></table></td></tr>'
        )
    if not rows:
        return None
    return _Html(f'<table border="0" cellborder="0" cellspacing="0">{"".join(rows)}</table>')


def draw_dot(
    root: Value,
    format: str = "svg",
    rankdir: str = "LR",
    view: str = "both",
    *,
    params: Optional[Params] = None,
    number_format: NumberFormat = ".4g",
    shade: bool = False,
    legend: bool = True,
    edge_labels: Optional[bool] = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    around: Optional[Value] = None,
    depth: int = 2,
    title: Optional[str] = None,
) -> Drawing:
    """Draw the graph that computed ``root``, as a ``graphviz.Digraph`` (a ``Drawing``).

    In a notebook the result shows itself as SVG; ``save(g, "g.png")`` writes a file;
    ``g.source`` is the DOT text. Each value is a record ``label | data | grad``, each
    op a small ellipse of its own.

    - ``format``: the default output format of ``render()``/``pipe()`` (micrograd's).
    - ``rankdir``: ``"LR"`` (inputs left, output right), ``"TB"``, ``"RL"`` or ``"BT"``.
    - ``view``: ``"forward"`` (data flows from the inputs to the output),
      ``"backward"`` (gradients flow from the output back to every input, each edge
      labelled with its local derivative d(out)/d(in)) or ``"both"`` (one layout, each
      edge a grey data line and a red gradient line).
    - ``params``: the parameters, coloured apart from the inputs: Values (e.g.
      ``model.parameters()``) or the model itself, whose parameter names then label
      unlabelled parameters ("w.0", "b"). Without it every leaf counts as an input:
      labels are never used to guess.
    - ``number_format``: a format spec (default ``".4g"``: 4 significant digits) or a
      function from float to str.
    - ``shade``: fill each value redder the larger its ``|grad|``.
    - ``legend``: a colour key under the graph.
    - ``edge_labels``: label gradient edges with their local derivatives; the default
      (None) does so up to ``EDGE_LABEL_LIMIT`` (30) values, where they stay readable.
    - ``max_nodes``: drawing more values than this raises ``GraphTooLarge``.
    - ``around``, ``depth``: draw only the values at most ``depth`` ops away from the
      value ``around`` (either direction); cut-off neighbours appear as "n more".
    - ``title``: a caption above the graph.
    """
    return _build(
        root,
        format=format,
        rankdir=rankdir,
        view=view,
        params=params,
        number_format=number_format,
        shade=shade,
        legend=legend,
        edge_labels=edge_labels,
        max_nodes=max_nodes,
        around=around,
        depth=depth,
        title=title,
    )


