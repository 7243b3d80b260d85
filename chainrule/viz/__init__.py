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

from pathlib import Path
from typing import Union

from ..engine import Value
from .animate import animate
from .dot import draw_dot
from .graph import GraphTooLarge, local_derivatives
from .render import (
    Drawing,
    RendererNotFound,
    RenderError,
    RendererWarning,
    _render,
    find_renderer,
    graphviz,
)
from .steps import Step, backward_steps
from .style import DEFAULT_MAX_NODES, EDGE_LABEL_LIMIT, VIEWS, PathLike

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

