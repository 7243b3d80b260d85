"""The graph behind a Value: walking it, node kinds and names, local derivatives."""

from __future__ import annotations

from collections import deque
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from ..engine import Value, _missing_step

Params = Union[Iterable[Value], Any]  # Values, or a module with named_parameters()


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


