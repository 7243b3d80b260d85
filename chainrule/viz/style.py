"""Colours, fonts, and the defaults every drawing shares."""

from __future__ import annotations

import os
from typing import (
    Callable,
    Union,
)

VIEWS = ("forward", "backward", "both")
DEFAULT_MAX_NODES = 500
# Up to this many values, edges carry their local derivative unless edge_labels=False;
# above it, only with edge_labels=True: a network's fan-in turns labels into clutter.
EDGE_LABEL_LIMIT = 30
ENV_RENDERER = "CHAINRULE_DOT"
TOOLTIP_FORMAT = ".12g"  # more than a record shows, yet stable across platforms' libm
NumberFormat = Union[str, Callable[[float], str]]
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
