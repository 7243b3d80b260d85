"""Draw the graph behind a Value: the forward pass, the backward pass, and backward() step by step.

    from chainrule.viz import draw_dot, save, backward_steps, animate
    draw_dot(o)                                   # a notebook shows it, scaled to the cell
    draw_dot(o, view="backward", params=model)    # parameters named L0.N1.w0, ...
    save(draw_dot(o), "graph.svg")                # .svg, .png, .pdf or .dot
    for step in backward_steps(o): ...            # step 0 seeds, then one step per op
    animate(o, "backward.html")                   # or .gif; leaves every .grad as it was

Each value is a record ``name | data | grad``, each operation a small node of its own;
node ids come from the value's position in the graph, so the same code gives the same
DOT, byte for byte. Rendering uses ``$CHAINRULE_DOT``, else ``dot`` (system Graphviz),
else ``graphviz-pure``; where none runs, a notebook renders the DOT in the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from ..engine import Value
from ..graph import GraphTooLarge, local_derivatives
from .animate import animate
from .dot import draw_dot
from .render import (
    Drawing,
    RendererNotFound,
    RenderError,
    RendererWarning,
    find_renderer,
    graphviz,
    render_dot,
)
from .steps import Step, backward_steps
from .style import DEFAULT_MAX_NODES, EDGE_LABEL_LIMIT, VIEWS, Options, PathLike

__all__ = [
    "draw_dot",
    "save",
    "backward_steps",
    "animate",
    "local_derivatives",
    "find_renderer",
    "Drawing",
    "Step",
    "Options",
    "GraphTooLarge",
    "RendererNotFound",
    "RenderError",
    "RendererWarning",
    "VIEWS",
    "DEFAULT_MAX_NODES",
    "EDGE_LABEL_LIMIT",
]


def save(graph: Union[graphviz.Digraph, Value], path: PathLike, *, dpi: int = 144,
         **options: Any) -> Path:
    """Write a drawing to ``path``: ``.svg``, ``.png``, ``.pdf`` (rendered) or ``.dot``/``.gv``.

    ``graph`` is what ``draw_dot`` returned (any ``graphviz.Digraph`` works) or a Value,
    drawn with ``options`` (``draw_dot``'s). ``.dot`` needs no renderer; the others raise
    ``RendererNotFound`` (with install hints) when there is none, and PDF needs system
    Graphviz (``RenderError`` says so otherwise). ``dpi`` sets a PNG's resolution (144:
    sharp on a projector). The file is written only once the picture is complete.
    """
    if isinstance(graph, Value):
        graph = draw_dot(graph, **options)
    elif options:
        raise TypeError(f"save takes drawing options only with a Value, got {sorted(options)}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv"):
        path.write_text(graph.source, encoding="utf-8")
    elif suffix in (".svg", ".png", ".pdf"):
        dots = dpi if suffix == ".png" else None
        path.write_bytes(render_dot(graph.source, suffix[1:], dpi=dots))
    else:
        raise ValueError(f"save writes .svg, .png, .pdf, .dot or .gv files, not {path.name!r}")
    return path
