"""The graph behind a Value: its order, node kinds and names, and local derivatives.

Knows only the engine, so drawings (``chainrule.viz``) and ``explain`` share it
without either needing the other (or graphviz). Local derivatives and the step-through
run the engine's own step seam (``start_backward``/``run_step``), so a picture and
backward() can't disagree.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from .engine import Constant, Value, run_step, start_backward  # noqa: F401 (steps' seam)

# The op's name in a short id ("mul7") and the symbol in a caption's expression.
OP_WORDS = {"+": "add", "*": "mul", "-": "sub", "/": "div", "**": "pow", "neg": "neg",
            "ReLU": "relu"}
_POSITIONAL = re.compile(r"p\d+")  # the names of a plain list's parameters

class GraphTooLarge(ValueError):
    """Too many values to read in one picture; the message says how to draw a part.

    ``sample`` is one term of a batch loss (a Value) when the graph looks like one, so
    ``draw_dot(error.sample, params=model)`` draws one sample's loss.
    """

    def __init__(self, count: int, limit: int, advice: str = "",
                 sample: Optional[Value] = None) -> None:
        self.count, self.limit, self.sample = count, limit, sample
        super().__init__(
            f"this drawing has {count} values, more than max_nodes={limit}, too many to read "
            f"in one picture. {advice}Or raise the limit with max_nodes={count} "
            "(layout then gets slow)."
        )


def unique_children(node: Value) -> Dict[Value, int]:
    """The distinct inputs of node, in order, with how often each is used (``a + a``: 2)."""
    counts: Dict[Value, int] = {}
    for child in node._prev:
        counts[child] = counts.get(child, 0) + 1
    return counts


def label_of(node: Value) -> str:
    """A value's label as text: any label shows as its ``str()``; ``""`` or None is none."""
    label = node.label
    return "" if label is None else str(label)


def local_derivatives(node: Value, incoming: float = 1.0) -> Dict[Value, float]:
    """d(node)/d(input) for each distinct input of node, found by running its step.

    Works for any op, a student's own included: the inputs' grads are saved and zeroed,
    the engine runs the node's step with ``node.grad`` = 1 (or ``incoming``: then each
    value is what the step adds to that input's grad, multiplied exactly as backward()
    multiplies), the inputs' grads are read, and every saved grad is put back exactly.
    An input used twice (``a + a``) gets the sum of its local derivatives (2 here). A leaf
    has no inputs: ``{}``. A node with inputs but no ``_backward`` raises the TypeError
    backward() raises.
    """
    children = list(unique_children(node))
    if not children:
        return {}
    saved = [child.grad for child in children]
    saved_own = node.grad
    try:
        for child in children:
            child.grad = 0.0
        node.grad = incoming
        run_step(node)
        return {child: child.grad for child in children}
    finally:
        for child, grad in zip(children, saved):
            child.grad = grad
        node.grad = saved_own


def safe_local_derivatives(node: Value) -> Dict[Value, Optional[float]]:
    try:
        return dict(local_derivatives(node))
    except Exception:  # a broken closure should not stop the picture
        return {child: None for child in unique_children(node)}


def parameter_names(params: Any) -> Dict[Value, str]:
    """Each parameter with its full name: a module (``named_parameters()``), a mapping or
    list of (name, Value) pairs, or plain Values (named p0, p1, ... in their order)."""
    if params is None:
        return {}
    named = getattr(params, "named_parameters", None)
    if callable(named):
        params = named()
    elif callable(getattr(params, "parameters", None)):
        params = params.parameters()
    items = params.items() if isinstance(params, Mapping) else params
    if isinstance(items, (str, bytes, Value)) or not isinstance(items, Iterable):
        raise TypeError(
            "params must be a module with named_parameters(), a {name: Value} mapping or a "
            f"list of Values, got {type(params).__name__}"
        )
    result: Dict[Value, str] = {}
    for k, item in enumerate(items):
        name, value = item if isinstance(item, tuple) and len(item) == 2 else (f"p{k}", item)
        if not isinstance(value, Value):
            raise TypeError(f"params must hold Values, got {type(value).__name__}: {value!r}")
        result.setdefault(value, str(name))
    return result


def short_name(name: str) -> str:
    """"layers.1.neurons.2.w.0" -> "L1.N2.w0": a word and its index become initial+index."""
    parts = name.split(".")
    out: List[str] = []
    k = 0
    while k < len(parts):
        word = parts[k]
        index = parts[k + 1] if k + 1 < len(parts) and parts[k + 1].isdigit() else None
        last = k + (2 if index is not None else 1) >= len(parts)
        if index is None:
            out.append(word)
        elif last:
            out.append(word + index)  # the parameter itself: w.0 -> w0
        else:
            out.append((word[:1].upper() or "_") + index)
        k += 2 if index is not None else 1
    return ".".join(out)


def walk(root: Value) -> List[Value]:
    """Every value root depends on, inputs first: ``root.backward_order()`` reversed
    (micrograd's ``build_topo``), one order for node ids, steps and backward() itself."""
    return root.backward_order()[::-1]


class Graph:
    """The values behind ``root`` with their ids, kinds, names and consumers."""

    def __init__(self, root: Value, params: Any = None) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"draw_dot needs a Value to draw, got {type(root).__name__}")
        self.root = root
        self.order = walk(root)
        self.ids = {node: i for i, node in enumerate(self.order)}
        full = parameter_names(params)
        self.params: Set[Value] = set(full)
        self.consumers: Dict[Value, List[Value]] = {node: [] for node in self.order}
        for node in self.order:
            for child in unique_children(node):
                self.consumers[child].append(node)
        self.names, self.full_names = self._name(full)

    def _name(self, full: Dict[Value, str]) -> Tuple[Dict[Value, str], Dict[Value, str]]:
        shorts = {v: short_name(n) for v, n in full.items()}
        taken: Dict[str, int] = {}
        for s in shorts.values():
            taken[s] = taken.get(s, 0) + 1
        names: Dict[Value, str] = {}
        full_names: Dict[Value, str] = {}
        used: Set[str] = set()
        inputs = 0
        labels = {label_of(v) for v in self.order}
        for node in self.order:  # labels first; then parameters; then positions and ops
            label = label_of(node)
            if label:
                name = label
            elif node in full:
                name = shorts[node] if taken[shorts[node]] == 1 else full[node]
            elif isinstance(node, Constant):  # a number written in the expression
                name = format(node.data, "g")
            elif not node._prev:
                while f"x{inputs}" in used or f"x{inputs}" in labels:
                    inputs += 1
                name = f"x{inputs}"
                inputs += 1
            else:
                word = 'pow' if node._op.startswith('**') else OP_WORDS.get(node._op, node._op)
                name = f"{word}{self.ids[node]}"
            if name in used and not isinstance(node, Constant):  # the id tells them apart
                name = f"{name}#{self.ids[node]}"
            used.add(name)
            names[node] = name
            # a labelled value's label says it all, unless a module gave it its own name
            named = node in full and not _POSITIONAL.fullmatch(full[node])
            full_names[node] = full[node] if named else (label or name)
        return names, full_names

    def kind(self, node: Value) -> str:
        if node is self.root:
            return "output"
        if node._prev:
            return "intermediate"
        if node in self.params:
            return "parameter"
        return "constant" if isinstance(node, Constant) else "input"

    def around(self, center: Value, depth: int) -> Set[Value]:
        """The values within ``depth`` ops of ``center``, either way along the edges."""
        if center not in self.ids:
            raise ValueError(
                f"around={center!r} is not part of this graph: it must be the root or a value "
                "the root was computed from"
            )
        distance = {center: 0}
        queue = deque([center])
        while queue:
            node = queue.popleft()
            if distance[node] == depth:
                continue
            for other in list(unique_children(node)) + self.consumers[node]:
                if other not in distance:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        return set(distance)

    def sample(self) -> Optional[Value]:
        """One term of a batch loss: below a chain of one-input ops (a mean's ``* 1/n``),
        the first op-node term of a sum of several similar terms; None if there is none."""
        node = self.root
        while True:
            ops = [c for c in unique_children(node) if c._prev]
            if len(ops) != 1 or node._op in ("+", "sum"):
                break
            node = ops[0]
        terms: List[Value] = []
        stack = [node]
        while stack:  # sum(losses) is a left-deep chain of unlabelled "+" nodes
            n = stack.pop()
            if n._op in ("+", "sum") and (n is node or not label_of(n)):
                stack.extend(reversed(n._prev))
            elif n._prev:
                terms.append(n)
        return terms[0] if len(terms) >= 2 else None

    def too_large(self, count: int, limit: int, center: Optional[Value], depth: int) -> None:
        advice, sample = "", self.sample()
        if center is not None and depth > 0:
            smaller = len(self.around(center, depth - 1))
            advice = f"Try depth={depth - 1} ({smaller} values). "
        elif center is None:
            advice = "Draw the part around one value with draw_dot(root, around=value, depth=1). "
        if sample is not None:
            size = len(walk(sample))
            advice += (
                f"It looks like a batch loss (a sum of similar terms): draw one sample's loss "
                f"with draw_dot(error.sample, params=model) ({size} values), where error is "
                "this GraphTooLarge, or build it from one sample, e.g. "
                "draw_dot(loss_fn(model(xs[0]), ys[0]), params=model). "
            )
        raise GraphTooLarge(count, limit, advice, sample)

