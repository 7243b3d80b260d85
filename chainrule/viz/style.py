"""Colours, fonts, and the one set of defaults every drawing, step and page shares."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple, Union

VIEWS = ("forward", "backward", "both")
RANKDIRS = ("LR", "RL", "TB", "BT")
DEFAULT_MAX_NODES = 500
# Up to this many values, edges carry their local derivative unless edge_labels=False;
# above it, only with edge_labels=True: a network's fan-in turns labels into clutter.
EDGE_LABEL_LIMIT = 30
ENV_RENDERER = "CHAINRULE_DOT"
TOOLTIP_FORMAT = ".12g"  # more than a record shows, yet stable across platforms' libm
# dot fails on a quoted string over 16 KiB ("longer than 16384?"): a record shows at most
# this many characters of a label; the tooltip keeps it all, split by line continuations.
LABEL_LIMIT = 60
NumberFormat = Union[str, Callable[[float], str]]
PathLike = Union[str, "os.PathLike[str]"]

# Light fills keep black text readable on a projector; the border repeats the colour
# in a darker shade, so the kind of a node survives shading by |grad| and greyscale.
KINDS = {  # kind: (fill, border, legend text)
    "input": ("#dbeafe", "#1d4ed8", "input"),
    "parameter": ("#fde68a", "#b45309", "parameter"),
    "constant": ("#ffffff", "#9ca3af", "constant"),
    "intermediate": ("#f3f4f6", "#6b7280", "intermediate"),
    "output": ("#bbf7d0", "#15803d", "output"),
}
FONT = "Helvetica"  # one name: every renderer has metrics for it, browsers map it to Arial
DATA_COLOR = "#4b5563"  # forward edges: data (solid grey)
GRAD_COLOR = "#dc2626"  # backward edges (dashed red) and gradient labels
PENDING_COLOR = "#9ca3af"  # step-through: not reached yet
SHADE_COLOR = (0xEF, 0x44, 0x44)  # shade=True: |grad| goes from white to this red
# A step-through frame's states, in the order of its legend: state -> legend text.
STATES = {
    "current": "thick red: this step",
    "updated": "red: just got gradient",
    "final": "solid: grad final",
    "pending": "dashed grey: not reached yet",
}
STATE_ATTRS = {  # how a frame draws each state (a value record's DOT attributes)
    "current": {"penwidth": "3.5", "color": GRAD_COLOR},
    "updated": {"penwidth": "2", "color": GRAD_COLOR},
    "final": {},
    "pending": {"style": "filled,dashed", "fontcolor": PENDING_COLOR},
}

GRAPH_ATTRS = {
    "fontname": FONT,
    "fontsize": "14",
    "nodesep": "0.2",
    "ranksep": "0.3",
    "pad": "0.15",
    "bgcolor": "white",
}
NODE_ATTRS = {
    "fontname": FONT,
    "fontsize": "14",
    "shape": "Mrecord",
    "style": "filled",
    "penwidth": "1.2",
    "height": "0.3",
}
EDGE_ATTRS = {
    "fontname": FONT,
    "fontsize": "13",
    "arrowsize": "0.7",
    "penwidth": "1.4",
    "color": DATA_COLOR,
}
OP_ATTRS = {
    "shape": "ellipse",
    "style": "filled",
    "fillcolor": "white",
    "color": "#374151",
    "fontsize": "14",
    "width": "0.4",
    "height": "0.32",
    "margin": "0.03,0.02",
}
STUB_ATTRS = {"shape": "plaintext", "style": "solid", "fontcolor": PENDING_COLOR}  # "n more"


@dataclass(frozen=True)
class Options:
    """Every drawing option and its default, in one place (``draw_dot``'s keywords).

    ``Options.make(**keywords)`` checks names and values; ``draw_dot``, ``Step.draw``,
    ``backward_steps`` and ``animate`` all take these keywords.
    """

    format: str = "svg"  # render()/pipe()'s default format, as in micrograd
    rankdir: str = "LR"  # LR: inputs left, output right; TB: top to bottom; RL, BT
    view: str = "both"  # forward, backward or both
    params: Any = None  # a module, its named_parameters(), a {name: Value} or a list
    number_format: NumberFormat = ".4g"  # a format spec or a function float -> str
    shade: bool = False  # fill values redder the larger |grad|
    legend: bool = True  # a key under the graph
    edge_labels: Optional[bool] = None  # local derivatives on edges; None: small graphs
    max_nodes: int = DEFAULT_MAX_NODES  # more values raise GraphTooLarge
    around: Any = None  # draw only the values near this one ...
    depth: int = 2  # ... at most this many ops away
    title: Optional[str] = None  # a caption above the graph
    fit: bool = True  # a notebook scales the picture down to the cell's width
    size: Optional[Union[str, Tuple[float, float]]] = None  # files: at most (w, h) inches
    blank_grads: bool = False  # empty grad fields, for a handout to fill in by hand

    @classmethod
    def make(cls, **keywords: Any) -> Options:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - names)
        if unknown:
            raise TypeError(
                f"unknown drawing option {unknown[0]!r}; "
                f"the options are: {', '.join(sorted(names))}"
            )
        return cls(**keywords)

    def replace(self, **keywords: Any) -> Options:
        return dataclasses.replace(self, **keywords) if keywords else self

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            allowed = ", ".join(map(repr, VIEWS))
            raise ValueError(f"view must be one of {allowed}, got {self.view!r}")
        if self.rankdir not in RANKDIRS:
            raise ValueError(f"rankdir must be 'LR', 'RL', 'TB' or 'BT', got {self.rankdir!r}")
        for name in ("depth", "max_nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
        if self.depth < 0:
            raise ValueError(f"depth must be 0 or more, got {self.depth}")
        if self.max_nodes < 1:
            raise ValueError(f"max_nodes must be 1 or more, got {self.max_nodes}")
        if not (callable(self.number_format) or isinstance(self.number_format, str)):
            raise TypeError(
                "number_format must be a format spec like '.4g' or a function, "
                f"got {type(self.number_format).__name__}"
            )
        graph_size(self.size)  # raises for a bad size


def graph_size(size: Optional[Union[str, Tuple[float, float]]]) -> Optional[str]:
    """Graphviz's ``size`` attribute: the largest width and height in inches."""
    if size is None or isinstance(size, str):
        return size
    ok = isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in size
    )
    if not ok:
        raise ValueError(
            f"size must be (width, height) in inches, e.g. (13.3, 7.5) for a 16:9 slide, "
            f"or a Graphviz size string like '8,5'; got {size!r}"
        )
    return f"{size[0]:g},{size[1]:g}"


def number(x: float, number_format: NumberFormat) -> str:
    if callable(number_format):
        return str(number_format(x))
    if x == 0:
        x = 0.0  # no "-0" on the board
    return format(x, number_format)


def mirror(rankdir: str) -> str:
    return {"LR": "RL", "RL": "LR", "TB": "BT", "BT": "TB"}[rankdir]


def blend(t: float) -> str:
    """White (t=0) to SHADE_COLOR (t=1): the fill of shade=True and of its legend."""
    t = max(0.0, min(1.0, t))
    r, g, b = (round(255 + (c - 255) * t) for c in SHADE_COLOR)
    return f"#{r:02x}{g:02x}{b:02x}"
