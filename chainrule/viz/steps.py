"""backward() one node at a time: Step, its caption, backward_steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import (
    Any,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from ..engine import Value
from .dot import _build, _Frame
from .graph import _label, _run_step, _safe_local_derivatives, _start_backward
from .render import Drawing
from .style import NumberFormat, _number

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


