"""Draw the graph behind a Value: the forward pass, the backward pass, and backward() step by step.

    from chainrule.viz import draw_dot
    draw_dot(o)                                   # a notebook shows the picture inline
    draw_dot(o, view="backward", params=model.parameters())
    save(draw_dot(o), "graph.svg")                # .svg, .png or .dot
    for step in backward_steps(o): ...            # one frame per node, as backward() runs
    animate(o, "backward.html")                   # or .gif

Every value is a record ``label | data | grad``; every operation is a small node of
its own. Node ids come from the position of the value in the graph, never from
``id()``, so the same code gives the same DOT text, byte for byte, in every run.

Views: ``forward`` draws data flowing from the inputs to the output; ``backward``
draws gradients flowing from the output back to the inputs, each edge labelled with
its local derivative d(out)/d(in); ``both`` draws the two on one layout.

Rendering needs a Graphviz ``dot`` program: ``$CHAINRULE_DOT``, else ``dot`` on PATH
(system Graphviz), else ``graphviz-pure`` (``pip install graphviz-pure``), also looked
for next to the running Python, where a Jupyter kernel's venv keeps it. Without one a
notebook shows the DOT text and one warning, and ``save(graph, "x.dot")`` still works.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
import sysconfig
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

try:
    import graphviz
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chainrule.viz needs the graphviz Python package: pip install chainrule[viz] "
        "(or pip install graphviz)"
    ) from _error

from .engine import Value, _missing_step

__all__ = [
    "draw_dot",
    "save",
    "backward_steps",
    "animate",
    "local_derivatives",
    "find_renderer",
    "Drawing",
    "Step",
    "GraphTooLarge",
    "RendererNotFound",
    "RenderError",
    "RendererWarning",
    "VIEWS",
    "DEFAULT_MAX_NODES",
    "EDGE_LABEL_LIMIT",
]

VIEWS = ("forward", "backward", "both")
DEFAULT_MAX_NODES = 500
# Up to this many values, edges carry their local derivative unless edge_labels=False;
# above it, only with edge_labels=True: a network's fan-in turns labels into clutter.
EDGE_LABEL_LIMIT = 30
ENV_RENDERER = "CHAINRULE_DOT"
TOOLTIP_FORMAT = ".12g"  # more than a record shows, yet stable across platforms' libm

NumberFormat = Union[str, Callable[[float], str]]
Params = Union[Iterable[Value], Any]  # Values, or a module with named_parameters()
PathLike = Union[str, "os.PathLike[str]"]

# ------------------------------------------------------------------------------ style
# Light fills keep black text readable on a projector; the border repeats the colour
# in a darker shade, so the kind of a node survives shading by |grad| and greyscale.
KINDS = {  # kind: (fill, border, legend text)
    "input": ("#dbeafe", "#1d4ed8", "input"),
    "parameter": ("#fde68a", "#b45309", "parameter"),
    "intermediate": ("#f3f4f6", "#6b7280", "intermediate"),
    "output": ("#bbf7d0", "#15803d", "output"),
}
FONT = "Helvetica"  # one name: every renderer has metrics for it, browsers map it to Arial
DATA_COLOR = "#4b5563"  # forward edges: data
GRAD_COLOR = "#dc2626"  # backward edges and gradient labels
PENDING_COLOR = "#9ca3af"  # step-through: not processed yet
SHADE_COLOR = (0xF8, 0x71, 0x71)  # |grad| shading goes from white to this red

_GRAPH_ATTRS = {
    "fontname": FONT,
    "fontsize": "14",
    "nodesep": "0.25",
    "ranksep": "0.45",
    "pad": "0.2",
    "bgcolor": "white",
}
_NODE_ATTRS = {
    "fontname": FONT,
    "fontsize": "14",
    "shape": "Mrecord",
    "style": "filled",
    "penwidth": "1.2",
    "height": "0.4",
}
_EDGE_ATTRS = {
    "fontname": FONT,
    "fontsize": "12",
    "arrowsize": "0.7",
    "penwidth": "1.4",
    "color": DATA_COLOR,
}
_OP_ATTRS = {
    "shape": "ellipse",
    "style": "filled",
    "fillcolor": "white",
    "color": "#374151",
    "fontsize": "13",
    "width": "0.4",
    "height": "0.32",
    "margin": "0.03,0.02",
}

_STUB_ATTRS = {"shape": "plaintext", "style": "solid", "fontcolor": PENDING_COLOR}  # "n more"

# ------------------------------------------------------------------------------ errors


class GraphTooLarge(ValueError):
    """The graph has more values than ``max_nodes``; the message says how to draw a part."""

    def __init__(self, count: int, limit: int) -> None:
        self.count, self.limit = count, limit
        super().__init__(
            f"this graph has {count} values, more than max_nodes={limit}, too many to read "
            f"in one picture. Draw the part around one value with "
            f"draw_dot(root, around=value, depth=2), or raise the limit with "
            f"max_nodes={count} (layout then gets slow)."
        )


class RendererNotFound(RuntimeError):
    """No Graphviz program to turn DOT into SVG or PNG; the message says how to get one."""


class RenderError(RuntimeError):
    """The renderer ran and failed; the message has its error output."""


class RendererWarning(UserWarning):
    """A notebook shows the DOT text instead of a picture; the message says why and what to
    install. Python's default filter shows it once per session, not at every display."""


_INSTALL_HINT = (
    "Install one of:\n"
    "  - Graphviz: apt-get install graphviz (brew install graphviz, conda install graphviz, "
    "winget install graphviz)\n"
    "  - graphviz-pure, a self-contained dot: pip install graphviz-pure "
    "(or pip install chainrule[render])\n"
    f"or set {ENV_RENDERER} to the path of a dot program. "
    "Saving DOT text needs none: save(graph, 'graph.dot')."
)


# ---------------------------------------------------------------------- the renderer


def _scripts_dir() -> Optional[str]:
    """The running interpreter's scripts directory (a venv's bin/ even when not activated)."""
    return sysconfig.get_path("scripts")


def _locate_renderer() -> Tuple[Optional[str], str]:
    """(path or None, how it was found or why none was)."""
    configured = os.environ.get(ENV_RENDERER, "").strip()
    if configured:
        found = shutil.which(configured)
        if found:
            return found, f"${ENV_RENDERER}"
        return None, f"{ENV_RENDERER}={configured!r} is not an executable program."
    for name in ("dot", "graphviz-pure"):
        found = shutil.which(name)
        if found:
            return found, "PATH"
    scripts = _scripts_dir()
    if scripts:
        found = shutil.which("graphviz-pure", path=scripts)
        if found:
            return found, "the Python scripts directory"
    return None, "No Graphviz renderer found: neither dot nor graphviz-pure is on PATH."


def find_renderer() -> Optional[str]:
    """The path of the program that renders DOT, or None.

    Looked for in this order: the ``CHAINRULE_DOT`` environment variable (a name or a
    path), ``dot`` on PATH, ``graphviz-pure`` on PATH, ``graphviz-pure`` in the running
    interpreter's scripts directory. Looked up on every call, so a change of PATH counts.
    """
    return _locate_renderer()[0]


def _render(source: str, fmt: str, *, dpi: Optional[int] = None) -> bytes:
    """Run the renderer on DOT text; ``fmt`` is a -T format (svg, png)."""
    program, reason = _locate_renderer()
    if program is None:
        raise RendererNotFound(f"{reason}\n{_INSTALL_HINT}")
    command = [program, "-Kdot", f"-T{fmt}", "-q"]
    if dpi:
        command.append(f"-Gdpi={dpi}")
    try:
        done = subprocess.run(
            command, input=source.encode("utf-8"), capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RenderError(f"could not run {program}: {error}") from error
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{program} -T{fmt} failed (exit status {done.returncode}): {message}")
    return done.stdout


# ------------------------------------------------------------------- the Digraph type


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with the program chainrule finds.

    ``pipe()``, ``render()``, ``view()`` and the notebook display use
    ``find_renderer()`` (system ``dot`` or ``graphviz-pure``) instead of insisting on
    ``dot``. With no renderer a notebook shows the DOT text and one warning with
    install hints, never a traceback; ``pipe()``, ``render()`` and ``view()`` raise
    ``RendererNotFound`` with the same hints. Everything else is the plain
    ``graphviz.Digraph``: ``.source``, ``.node()``, ``.save()``, ...
    """

    def pipe(  # type: ignore[override]
        self,
        format: Optional[str] = None,
        renderer: Optional[str] = None,
        formatter: Optional[str] = None,
        neato_no_op: Union[bool, int, None] = None,
        quiet: bool = False,
        *,
        engine: Optional[str] = None,
        encoding: Optional[str] = None,
    ) -> Union[bytes, str]:
        """The rendered graph as bytes (or str with ``encoding``), e.g. ``pipe("svg")``."""
        if renderer or formatter or neato_no_op or engine not in (None, "dot"):
            return super().pipe(  # graphviz's own machinery, which runs `dot` by name
                format=format,
                renderer=renderer,
                formatter=formatter,
                neato_no_op=neato_no_op,
                quiet=quiet,
                engine=engine,
                encoding=encoding,
            )
        data = _render(self.source, format or self.format)
        return data.decode(encoding) if encoding is not None else data

    def render(  # type: ignore[override]
        self,
        filename: Optional[PathLike] = None,
        directory: Optional[PathLike] = None,
        view: bool = False,
        cleanup: bool = False,
        format: Optional[str] = None,
        renderer: Optional[str] = None,
        formatter: Optional[str] = None,
        neato_no_op: Union[bool, int, None] = None,
        quiet: bool = False,
        quiet_view: bool = False,
        *,
        outfile: Optional[PathLike] = None,
        engine: Optional[str] = None,
        raise_if_result_exists: bool = False,
        overwrite_source: bool = False,
    ) -> str:
        """Save the DOT source to a file and render it beside it; returns the rendered path.

        The files are graphviz's: ``g.render(directory="out")`` writes
        ``out/computation graph.gv`` and ``out/computation graph.gv.svg``;
        ``g.render(outfile="g.png")`` writes ``g.gv`` and ``g.png``. ``cleanup`` deletes
        the DOT file afterwards, ``view`` opens the result. Without a renderer this
        raises ``RendererNotFound`` (with what to install) before any file is written.
        """
        if renderer or formatter or neato_no_op or engine not in (None, "dot"):
            return super().render(  # graphviz's own machinery, which runs `dot` by name
                filename=filename,
                directory=directory,
                view=view,
                cleanup=cleanup,
                format=format,
                renderer=renderer,
                formatter=formatter,
                neato_no_op=neato_no_op,
                quiet=quiet,
                quiet_view=quiet_view,
                outfile=outfile,
                engine=engine,
                raise_if_result_exists=raise_if_result_exists,
                overwrite_source=overwrite_source,
            )
        if raise_if_result_exists and overwrite_source:
            raise ValueError("overwrite_source cannot be combined with raise_if_result_exists")
        fmt = format or self.format
        if outfile is not None:  # the paths as graphviz.Digraph.render() makes them
            outfile = Path(outfile)
            fmt = format or outfile.suffix[1:].lower()
            if not fmt:
                raise ValueError(f"cannot tell the format of {os.fspath(outfile)!r}: "
                                 "give it a suffix (.svg, .png, ...) or pass format=")
            if directory is None:
                outfile = Path(self.directory, outfile)
            if filename is None:
                filename = outfile.with_suffix(".gv")
        source_path = os.path.join(
            self.directory if directory is None else directory,
            self.filename if filename is None else filename,
        )
        target = Path(outfile if outfile is not None else f"{source_path}.{fmt}")
        if raise_if_result_exists and target.exists():
            raise getattr(graphviz, "FileExistsError", FileExistsError)(
                f"output file exists: {os.fspath(target)!r}"
            )
        if not overwrite_source and target.resolve() == Path(source_path).resolve():
            raise ValueError(f"outfile {target.name!r} must be different from the DOT file "
                             "(pass overwrite_source=True to override)")
        data = _render(self.source, fmt)  # first: no renderer, no files
        saved = self.save(filename, directory=directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if cleanup:
            os.remove(saved)
        rendered = os.fspath(target)
        if view or quiet_view:
            graphviz.view(rendered, quiet=quiet_view)
        return rendered

    def view(  # type: ignore[override]
        self,
        filename: Optional[PathLike] = None,
        directory: Optional[PathLike] = None,
        cleanup: bool = False,
        quiet: bool = False,
        quiet_view: bool = False,
    ) -> str:
        """``render()`` the drawing and open it in the system's viewer; returns its path."""
        return self.render(
            filename=filename,
            directory=directory,
            view=True,
            cleanup=cleanup,
            quiet=quiet,
            quiet_view=quiet_view,
        )

    def _repr_mimebundle_(
        self,
        include: Optional[Iterable[str]] = None,
        exclude: Optional[Iterable[str]] = None,
        **_: Any,
    ) -> Dict[str, Union[bytes, str]]:
        wanted = set(include) if include is not None else {"image/svg+xml"}
        wanted -= set(exclude or ())
        formats = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpeg"}
        bundle: Dict[str, Union[bytes, str]] = {}
        try:
            for mimetype, fmt in formats.items():
                if mimetype in wanted:
                    data = _render(self.source, fmt)
                    bundle[mimetype] = data.decode("utf-8") if fmt == "svg" else data
        except Exception as error:  # a display must never end in a traceback
            warnings.warn(
                f"chainrule.viz shows the DOT text instead of a picture. {error}",
                RendererWarning,
                stacklevel=2,
            )
            return {"text/plain": self.source}
        return bundle


# ------------------------------------------------------------------ graph traversal


def _walk(root: Value) -> List[Value]:
    """Every value root depends on, inputs first: ``root.backward_order()`` reversed.

    One order for the drawing's node ids, the step-through and backward() itself. It is
    micrograd's ``build_topo`` (a depth-first post-order along the ordered ``_prev``):
    for ``tanh(x1*w1 + x2*w2 + b)`` it gives x1, w1, x1*w1, x2, w2, ..., b, ..., tanh.
    """
    return root.backward_order()[::-1]


def _unique_children(node: Value) -> Dict[Value, int]:
    """The distinct inputs of node, in order, with how often each is used (``a + a``: 2)."""
    counts: Dict[Value, int] = {}
    for child in node._prev:
        counts[child] = counts.get(child, 0) + 1
    return counts


# backward() in parts. Value.backward() is one loop; the step-through and the local
# derivatives need its parts, so these two functions are the one place viz repeats
# the engine's rules. Keep them in step with Value.backward().


def _start_backward(root: Value) -> List[Value]:
    """Do what ``root.backward()`` does before its first step; return its visiting order.

    Non-leaf grads restart from 0 (backward() recomputes them on every call). The root
    is seeded: its grad becomes 1 if it has inputs; a leaf root, like every leaf,
    accumulates, so its grad gains 1. Other leaves keep their grads to add to.
    """
    order = root.backward_order()
    for node in order:
        if node._prev:
            node.grad = 0.0
    root.grad = 1.0 if root._prev else root.grad + 1.0
    return order


def _run_step(node: Value, grad: float) -> None:
    """Run the chain-rule step of a node with inputs, handing it d(root)/d(node) = grad.

    Called as backward() calls it, ``node._grad_fn(node, grad)``, so a closure attached
    the micrograd way works in both shapes: ``_backward(grad)`` and the lecture's
    ``_backward()``, which reads ``out.grad`` instead.
    """
    step = node._grad_fn
    if step is None:
        raise _missing_step(node)
    step(node, grad)


def local_derivatives(node: Value) -> Dict[Value, float]:
    """d(node)/d(input) for each distinct input of node, found by running its step.

    Works for any op, a student's own included: the inputs' grads are saved and zeroed,
    the node's step pushes a unit gradient (``node.grad`` is 1 meanwhile, for a
    lecture-style closure that reads it), the inputs' grads are read, and every saved
    grad is put back exactly. An input used twice (``a + a``) gets the sum of its two
    local derivatives (2 here). A leaf has no inputs: ``{}``. A node with inputs but
    no ``_backward`` raises the TypeError backward() raises.
    """
    children = list(_unique_children(node))
    if not children:
        return {}
    saved = [child.grad for child in children]
    saved_own = node.grad
    try:
        for child in children:
            child.grad = 0.0
        node.grad = 1.0
        _run_step(node, 1.0)
        return {child: child.grad for child in children}
    finally:
        for child, grad in zip(children, saved):
            child.grad = grad
        node.grad = saved_own


def _safe_local_derivatives(node: Value) -> Dict[Value, Optional[float]]:
    try:
        return dict(local_derivatives(node))
    except Exception:  # a broken closure should not stop the picture
        return {child: None for child in _unique_children(node)}


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


def _number(x: float, number_format: NumberFormat) -> str:
    if callable(number_format):
        return str(number_format(x))
    if x == 0:
        x = 0.0  # no "-0" on the board
    return format(x, number_format)


def _mirror(rankdir: str) -> str:
    return {"LR": "RL", "RL": "LR", "TB": "BT", "BT": "TB"}[rankdir]


def _blend(t: float) -> str:
    t = max(0.0, min(1.0, t))
    r, g, b = (round(255 + (c - 255) * t) for c in SHADE_COLOR)
    return f"#{r:02x}{g:02x}{b:02x}"


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


def _label(node: Value) -> str:
    """A value's label as text: any label shows as its ``str()``; ``""`` or None is none."""
    label = node.label
    return "" if label is None else str(label)


def _kind(node: Value, root: Value, params: Set[Value]) -> str:
    if node is root:
        return "output"
    if node._prev:
        return "intermediate"
    return "parameter" if node in params else "input"


def _parameters(params: Optional[Params]) -> Dict[Value, str]:
    """The parameters, each with the name its module gives it ("" without a module).

    ``params`` is an iterable of Values (``model.parameters()``) or a module with
    ``named_parameters()`` (or ``parameters()``), e.g. ``chainrule.nn.MLP``.
    """
    if params is None:
        return {}
    named = getattr(params, "named_parameters", None)
    if callable(named):
        return {value: str(name) for name, value in named()}
    listed = getattr(params, "parameters", None)
    values = listed() if callable(listed) else params
    result = {}
    for value in values:
        if not isinstance(value, Value):
            raise TypeError(f"params must hold Values, got {type(value).__name__}: {value!r}")
        result[value] = ""
    return result


def _short_name(name: str) -> str:
    """A parameter's name as its record shows it: the tail from the last word on.

    "layers.0.neurons.1.w.0" -> "w.0", "layers.1.neurons.0.b" -> "b"; the full name
    is in the tooltip.
    """
    parts = name.split(".")
    for k in range(len(parts) - 1, -1, -1):
        if not parts[k].isdigit():
            return ".".join(parts[k:])
    return name


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


def _select(
    order: Sequence[Value], around: Value, depth: int
) -> Tuple[Set[Value], Dict[Value, List[Value]]]:
    """The values within ``depth`` ops of ``around``, either way along the edges."""
    consumers: Dict[Value, List[Value]] = {node: [] for node in order}
    for node in order:
        for child in _unique_children(node):
            consumers[child].append(node)
    if around not in consumers:
        raise ValueError(
            f"around={around!r} is not part of this graph: it must be the root or a value "
            "the root was computed from"
        )
    distance = {around: 0}
    queue = deque([around])
    while queue:
        node = queue.popleft()
        if distance[node] == depth:
            continue
        for other in list(_unique_children(node)) + consumers[node]:
            if other not in distance:
                distance[other] = distance[node] + 1
                queue.append(other)
    return set(distance), consumers


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


# ----------------------------------------------------------------------------- files


def save(graph: Union[graphviz.Digraph, Value], path: PathLike, *, dpi: int = 144) -> Path:
    """Write a drawing to ``path``: ``.svg`` or ``.png`` (rendered), ``.dot``/``.gv`` (text).

    ``graph`` is what ``draw_dot`` returned (any ``graphviz.Digraph`` works) or a Value,
    drawn with the defaults. ``.dot`` needs no renderer; ``.svg`` and ``.png`` raise
    ``RendererNotFound`` (with install hints) when there is none. ``dpi`` sets the
    resolution of a PNG (144: sharp on a projector). Returns the path written.
    """
    if isinstance(graph, Value):
        graph = draw_dot(graph)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv"):
        path.write_text(graph.source, encoding="utf-8")
    elif suffix in (".svg", ".png"):
        path.write_bytes(_render(graph.source, suffix[1:], dpi=dpi if suffix == ".png" else None))
    else:
        raise ValueError(f"save writes .svg, .png, .dot or .gv files, not {path.name!r}")
    return path


# ---------------------------------------------------------------------- step-through


@dataclass(frozen=True, eq=False)
class Step:
    """One frame of ``backward_steps``: the moment right after ``node`` was processed.

    When backward() reaches ``node`` its grad is final (every consumer is done);
    processing it runs its closure, which adds grad times each local derivative to
    the grads of its inputs.
    """

    index: int  # position of node in root.backward_order(), from 0
    total: int  # the number of steps: one per node
    node: Value  # the node just processed
    done: Tuple[Value, ...]  # the nodes processed before it, in order
    pending: Tuple[Value, ...]  # the nodes still to process, in order
    grads: Dict[Value, float] = field(repr=False)  # every node's grad after this step
    root: Value = field(repr=False)
    caption: str = ""  # what happened, in words, for a class (lines split by "\n")

    def draw(self, view: str = "backward", **options: Any) -> Drawing:
        """This frame as a drawing: the node outlined red, pending nodes dashed.

        The inputs that just received gradient keep black text; the other pending
        nodes are grey. ``options`` are ``draw_dot``'s.
        """
        frame = options.pop("_frame", None) or _Frame(self.node, set(self.done), self.caption)
        return _build(self.root, view=view, grads=self.grads, frame=frame, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kw: Any) -> Any:
        return self.draw()._repr_mimebundle_(include, exclude, **kw)


def _grad_name(node: Value, number_format: NumberFormat) -> str:
    if _label(node):
        return f"{_label(node)}.grad"
    if node._op:
        return f"grad of the {node._op} node"
    return f"grad of the constant {_number(node.data, number_format)}"


def _wrap(items: Sequence[str], width: int = 90) -> List[str]:
    lines: List[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return lines


def _caption(
    index: int,
    total: int,
    node: Value,
    grad: float,
    derivatives: Mapping[Value, Optional[float]],
    number_format: NumberFormat,
) -> str:
    name = _label(node) or (f"the {node._op} node" if node._op else "the constant")
    g = _number(grad, number_format)
    head = f"step {index + 1} of {total}: {name}"
    if not derivatives:
        return f"{head} is a leaf, nothing to pass on; {_grad_name(node, number_format)} = {g}"
    pushes = [
        f"{_grad_name(child, number_format)} += "
        f"{'?' if d is None else _number(d, number_format)} × {g}"
        for child, d in derivatives.items()
    ]
    return "\n".join([f"{head} has its final grad {g} and passes it on:", *_wrap(pushes)])


def backward_steps(root: Value, *, number_format: NumberFormat = ".4g") -> Iterator[Step]:
    """Run ``root.backward()`` one node at a time, yielding a ``Step`` after each node.

    Nodes come in ``root.backward_order()``, the order backward() visits them, and
    each step holds a snapshot of every grad at that moment. Iterating to the end
    leaves exactly the grads ``root.backward()`` leaves: intermediate grads are
    recomputed from zero, leaf grads accumulate. Stopping early leaves it half done.
    """
    order = _start_backward(root)
    total = len(order)
    for index, node in enumerate(order):
        derivatives = _safe_local_derivatives(node)
        grad = node.grad
        if node._prev:
            _run_step(node, grad)
        yield Step(
            index=index,
            total=total,
            node=node,
            done=tuple(order[:index]),
            pending=tuple(order[index + 1 :]),
            grads={v: v.grad for v in order},
            root=root,
            caption=_caption(index, total, node, grad, derivatives, number_format),
        )


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
