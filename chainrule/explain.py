"""A gradient as the chain rule writes it: a sum over paths of products of local derivatives.

    from chainrule import explain
    e = explain(o, x1)     # d(o)/d(x1), without touching any .grad
    print(e)               # a table: each path, its factors, its product, the total
    e.draw()               # the graph with the paths highlighted (needs chainrule.viz)

Each local derivative comes from the engine's own step (``chainrule.graph``: run with
grad 1 on zeroed inputs, every grad put back after), so a user's op explains as well as
a built-in one. Imports the engine and ``chainrule.graph``; the drawing imports
``chainrule.viz`` when it is asked for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .engine import Value
from .graph import Graph, local_derivatives

__all__ = ["explain", "Explanation", "Path", "PathLimitExceeded", "DEFAULT_MAX_PATHS", "rule",
           "hint", "close"]

DEFAULT_MAX_PATHS = 200  # a table longer than this explains nothing
# One colour per path in a drawing (the first six; the rest share the last).
PATH_COLORS = ("#2563eb", "#ea580c", "#7c3aed", "#059669", "#db2777", "#0891b2")


class PathLimitExceeded(ValueError):
    """More paths than ``max_paths``; ``count`` is how many there are."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


@dataclass(frozen=True, eq=False)
class Path:
    """One way from the root to the node: ``nodes[0]`` is the root, ``nodes[-1]`` the node.

    ``factors[k]`` is the local derivative d(nodes[k])/d(nodes[k+1]). ``product`` is
    their product from the root on, each multiplication done by the node's own step
    (so exactly as backward() multiplies; ``math.prod(factors)`` can differ from it in
    the last bit, for ``/`` and ``log``, whose steps divide instead).
    """

    nodes: Tuple[Value, ...]
    factors: Tuple[float, ...]
    product: float


def names_of(root: Value) -> Dict[Value, str]:
    """Readable names, the drawings' scheme (``chainrule.graph.Graph``, without params)."""
    return Graph(root).names


def _push(node: Value, child: Value, incoming: float) -> float:
    """What node's step adds to child.grad when node.grad is ``incoming``; grads restored."""
    return local_derivatives(node, incoming)[child]


class Explanation:
    """d(root)/d(node) path by path: ``paths``, ``total`` (= node.grad after a fresh
    ``root.backward()``), ``names``; ``print`` it for the table, ``draw()`` for a picture."""

    def __init__(self, root: Value, node: Value, paths: List[Path],
                 names: Dict[Value, str]) -> None:
        self.root, self.node, self.paths, self.names = root, node, paths, names
        products = [p.product for p in paths]
        # fsum: the exactly rounded sum, in no particular order. backward() adds in its
        # own order and shares the common part of paths, so where paths fork and rejoin
        # more than once the two can differ in the last bits; with 1 or 2 paths they agree.
        finite = all(math.isfinite(x) for x in products)
        self.total: float = math.fsum(products) if finite else sum(products, 0.0)

    def __len__(self) -> int:
        return len(self.paths)

    def rows(self) -> List[Tuple[str, str, str]]:
        """(path, factors, product) per path, as the table shows them."""
        return [(" → ".join(self.names[v] for v in p.nodes),
                 " × ".join(_num(f, paren=True) for f in p.factors) or "(none: node is the root)",
                 _num(p.product)) for p in self.paths]

    def __str__(self) -> str:
        r, n = self.names[self.root], self.names[self.node]
        count = len(self.paths)
        many = count != 1
        head = (f"d({r})/d({n}) = the sum over {count} path{'s' if many else ''} from {r} to {n} "
                f"of the product of the local derivatives along {'each' if many else 'it'}")
        rows = [("path", "factors", "product"), *self.rows()]
        widths = [max(len(row[k]) for row in rows) for k in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}".rstrip()
                 for a, b, c in rows]
        total = _num(self.total)
        if count > 1:
            sums = " + ".join(_num(p.product, paren=True) for p in self.paths[:6])
            more = " + …" if count > 6 else ""
            lines.append(f"total = {sums}{more} = {total}")
            lines.append(f"{n} is reached {count} ways, and the contributions ADD: that is why "
                         f"each backward step does {_term(n)}.grad += …, never =.")
        else:
            lines.append(f"total = {total}")
        lines.append(f"({n}.grad after a fresh {_term(r)}.backward() is this total.)")
        return "\n".join([head, *lines])

    __repr__ = __str__

    def draw(self, **options: Any) -> Any:
        """The graph (``chainrule.viz.draw_dot``; default: backward view, grads left blank,
        as explain never sets one) with each path thick, in its own colour; ``options``
        are draw_dot's."""
        from .viz import draw_dot  # lazily: the engine-only part works without graphviz

        options.setdefault("view", "backward")
        options.setdefault("blank_grads", True)
        options.setdefault("edge_labels", True)  # the factors: blank_grads alone hides them
        options.setdefault("title", self.title())
        drawing = draw_dot(self.root, **options)
        highlight(drawing, self.root, self.paths, options["view"])
        return drawing

    def title(self) -> str:
        r, n = self.names[self.root], self.names[self.node]
        parts = [f"path {k + 1} ({_colour_name(k)}): "
                 f"{' × '.join(_num(f, paren=True) for f in p.factors) or '1'} = {_num(p.product)}"
                 for k, p in enumerate(self.paths[:6])]
        if len(self.paths) > 6:
            parts.append(f"and {len(self.paths) - 6} more paths (teal)")
        return (f"d({r})/d({n}) = {_num(self.total)}: the sum over the coloured paths of the "
                "product of the local derivatives on their edges\n" + "\n".join(parts))


def explain(root: Value, node: Value, max_paths: int = DEFAULT_MAX_PATHS) -> Explanation:
    """d(root)/d(node) as the sum, over every path from root to node, of the product of
    the local derivatives along it. No ``.grad`` changes.

    Paths are counted first (one pass over the graph); above ``max_paths`` a
    ``PathLimitExceeded`` (a ValueError) names the count and a nearer node to explain.
    ``node`` must be ``root`` or a value root was computed from (else a ValueError).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain needs a Value as root, got {type(root).__name__}: {root!r}")
    if not isinstance(node, Value):
        raise TypeError(f"explain needs a Value as node, got {type(node).__name__}: {node!r}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int):
        raise TypeError(f"max_paths must be an int, got {type(max_paths).__name__}: {max_paths!r}")
    if max_paths < 1:
        raise ValueError(f"max_paths must be 1 or more, got {max_paths}")
    order = root.backward_order()  # every node before its inputs
    if node not in set(order):
        raise ValueError(
            f"explain: node {node!r} is not part of root's graph (root was not computed from "
            "it, so no path leads there); pass the root itself or one of the values it was "
            "built from"
        )
    names = names_of(root)
    reaches = _reaching(order, node)
    counts = _count_paths(order, reaches, root)
    count = counts[node]
    if count > max_paths:
        raise PathLimitExceeded(_too_many(names, counts, root, node, count, max_paths), count)
    locals_ = {v: local_derivatives(v) for v in order if v in reaches and v is not node}
    return Explanation(root, node, _walk(root, node, reaches, locals_), names)


def _reaching(order: Sequence[Value], node: Value) -> set:
    """The nodes with a path to ``node`` (node itself included)."""
    reaches = {node}
    for v in reversed(order):  # inputs first
        if any(c in reaches for c in v._prev):
            reaches.add(v)
    return reaches


def _count_paths(order: Sequence[Value], reaches: set, root: Value) -> Dict[Value, int]:
    counts: Dict[Value, int] = {root: 1}
    for v in order:  # consumers before inputs: v's count is final when we get to it
        for c in dict.fromkeys(v._prev):
            if c in reaches and v in counts:
                counts[c] = counts.get(c, 0) + counts[v]
    return counts


def _walk(root: Value, node: Value, reaches: set,
          locals_: Dict[Value, Dict[Value, float]]) -> List[Path]:
    """Every path root -> node, depth first, inputs in their order; iterative, so a deep
    graph explains as far as backward() goes (no recursion limit)."""
    if root is node:
        return [Path((root,), (), 1.0)]
    out: List[Path] = []
    nodes, products = [root], [1.0]
    factors: List[float] = []
    kids = [[c for c in dict.fromkeys(root._prev) if c in reaches]]
    next_kid = [0]
    while next_kid:
        v, k = nodes[-1], next_kid[-1]
        if k == len(kids[-1]):  # every input of v done: back up one node
            nodes.pop(), products.pop(), kids.pop(), next_kid.pop()
            if factors:
                factors.pop()
            continue
        next_kid[-1] += 1
        c = kids[-1][k]
        product = _push(v, c, products[-1])  # v's own step multiplies, as in backward()
        if c is node:
            out.append(Path((*nodes, c), (*factors, locals_[v][c]), product))
            continue
        nodes.append(c)
        factors.append(locals_[v][c])
        products.append(product)
        kids.append([x for x in dict.fromkeys(c._prev) if x in reaches])
        next_kid.append(0)
    return out


def _too_many(names: Dict[Value, str], counts: Dict[Value, int], root: Value, node: Value,
              count: int, limit: int) -> str:
    r, n = names[root], names[node]
    message = (f"explain({r}, {n}): {n} is reached by {count} paths from {r}, more than "
               f"max_paths={limit}, too many to read as a table. ")
    nearer = [v for v, k in counts.items() if v is not root and k <= limit and v._prev]
    if nearer:
        best = max(nearer, key=lambda v: counts[v])
        message += (f"Pick a node nearer the root: explain({r}, {names[best]}) has "
                    f"{counts[best]} path{'s' if counts[best] != 1 else ''}. ")
    return message + f"Or raise the limit with max_paths={count}."


def highlight(drawing: Any, root: Value, paths: Sequence[Path], view: str) -> None:
    """Thicken and colour the edges and records of ``paths`` in a draw_dot drawing.

    draw_dot names value ``v{i}`` and its op ``op{i}`` (i: position in the reversed
    backward order); an edge's attributes are extended by a second ``[...]`` list, which
    DOT allows and which overrides the first."""
    ids = {v: i for i, v in enumerate(root.backward_order()[::-1])}
    edges: Dict[Tuple[str, str], List[str]] = {}
    on_path: Dict[str, List[str]] = {}
    for k, path in enumerate(paths):
        colour = PATH_COLORS[min(k, len(PATH_COLORS) - 1)]
        for v in path.nodes:
            on_path.setdefault(f"v{ids[v]}", []).append(colour)
        for parent, child in zip(path.nodes, path.nodes[1:]):
            p, c = ids[parent], ids[child]
            if view == "backward":
                pairs = [(f"v{p}", f"op{p}"), (f"op{p}", f"v{c}")]
            else:  # forward and both draw data's direction (both: the dashed twin too)
                pairs = [(f"op{p}", f"v{p}"), (f"v{c}", f"op{p}")]
            for pair in pairs:
                colours = edges.setdefault(pair, [])
                if colour not in colours:
                    colours.append(colour)
    edge_line = re.compile(r"^\t(\w+) -> (\w+)(?: \[|$)")
    body = []
    for line in drawing.body:
        m = edge_line.match(line)
        found = edges.get((m.group(1), m.group(2))) if m else None
        wanted = view != "both" or "dir=back" in line  # both: the red twin only
        if found and wanted:
            both = ":".join(found)  # a shared edge: parallel lines, one per path
            extra = f' [color="{both}" fontcolor="{found[0]}" penwidth=3.5]'
            line = line.rstrip("\n") + extra + "\n"
        body.append(line)
    drawing.body[:] = body
    for node_id, colours in on_path.items():
        drawing.node(node_id, color=colours[0], penwidth="3")


# ------------------------------------------- the rules, in words, for checkers and quizzes


def rule(out: Value, child: Value, names: Optional[Dict[Value, str]] = None) -> str:
    """The chain-rule step from ``out`` to its input ``child`` as a sentence a student can
    follow ("at a * node multiply by the OTHER input (w1 = -3)")."""
    names = names or names_of(out)
    kids, op, o, c = out._prev, out._op, names[out], names[child]
    if kids.count(child) > 1:
        return (f"{c} is used {kids.count(child)} times by this {op or '?'}: add the "
                "contributions of every use")
    if op in ("+", "sum"):
        return (f"a {op} node passes its gradient unchanged to "
                f"{'both inputs' if len(kids) == 2 else 'every input'}")
    if op == "*" and len(kids) == 2:
        other = kids[1 - kids.index(child)]
        return f"at a * node multiply by the OTHER input ({names[other]} = {_num(other.data)})"
    if op == "-" and len(kids) == 2:
        return ("a - node passes its gradient unchanged to the first input and with its sign "
                "flipped to the second")
    if op == "/" and len(kids) == 2:
        a, b = (names[k] for k in kids)
        return f"a / node: multiply by 1/{b} for {a}, by -{a}/{b}**2 for {b}"
    if op.startswith("**") and op != "**":
        n = op[2:]
        return f"x**{n}: multiply by {n}*x**({n} - 1) with x = {c} = {_num(child.data)}"
    unary = {"tanh": f"tanh: multiply by 1 - {o}**2 ({o} = {_num(out.data)})",
             "exp": f"exp: multiply by the output itself ({o} = {_num(out.data)})",
             "log": f"log: multiply by 1/{c} ({c} = {_num(child.data)})",
             "neg": "neg: multiply by -1",
             "sigmoid": f"sigmoid: multiply by s*(1 - s) with s = {o} = {_num(out.data)}",
             "ReLU": f"ReLU: pass the gradient on where its input is > 0, else 0 "
                     f"({c} = {_num(child.data)})"}
    return unary.get(op, f"multiply the incoming gradient by d({o})/d({c}), the local derivative")


def close(answer: float, expected: float) -> bool:
    """A hand-typed number is right to about four digits (0.5 for 0.4999999999999999)."""
    return math.isclose(answer, expected, rel_tol=1e-3, abs_tol=1e-4)


def hint(answer: float, out: Value, child: Value, incoming: float, before: float = 0.0,
         names: Optional[Dict[Value, str]] = None) -> str:
    """Why ``answer`` is not what ``out``'s step leaves in ``child.grad`` (from ``before``,
    with ``out.grad`` = ``incoming``): the rule, and the likely slip when one fits."""
    names = names or names_of(out)
    c, o = names[child], names[out]
    local = _push(out, child, 1.0)
    share = _push(out, child, incoming)
    said = rule(out, child, names)
    if before and close(answer, share):
        return (f"a value used twice: add the two contributions. {c}.grad already holds "
                f"{_num(before)} from another use; this step ADDS {_num(share)} to it (+=)")
    if incoming != 1.0 and (close(answer, local) or close(answer, before + local)):
        if out._op in ("+", "sum"):
            return f"{said}: pass on {_term(o)}.grad ({_num(incoming)}), not 1"
        return (f"{said}, then multiply by the incoming gradient {_term(o)}.grad = "
                f"{_num(incoming)} (the chain rule)")
    if out._op == "*" and out._prev.count(child) == 1 and close(answer, before + child.data *
                                                                 incoming):
        return f"{said}: you multiplied by {c}'s own value"
    if close(answer, before - share) and share:
        return f"{said}: check the sign"
    return said


def _colour_name(k: int) -> str:
    return ("blue", "orange", "purple", "green", "pink", "teal")[min(k, 5)]


def _num(x: float, paren: bool = False) -> str:
    text = "0" if x == 0 else format(x, ".6g")
    return f"({text})" if paren and text.startswith("-") else text


def _term(name: str) -> str:
    return name if re.fullmatch(r"[\w.#]+", name) else f"({name})"

