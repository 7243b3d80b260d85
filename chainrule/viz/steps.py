"""backward() one op at a time, from zero: ``Step``, its caption, ``backward_steps``.

Every step runs the engine's own seam (``start_backward``, ``run_step``), so its numbers
are a fresh backward()'s, bit for bit, whatever the ``.grad``s were before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..engine import Constant, Value
from ..graph import Graph, run_step, safe_local_derivatives, start_backward, unique_children
from .dot import Frame, build
from .render import Drawing
from .style import Options, number

_MAX_LINES = 8  # updates listed in a caption; the rest are summed up in one line
_NARY = ("sum", "dot")


@dataclass(frozen=True, eq=False)
class Step:
    """One frame of the step-through: step 0 seeds the root, step k runs the k-th op.

    ``grads`` maps every node to its gradient so far in this pass (from zero);
    ``updates`` maps each input the step pushed to: (local derivative, incoming grad);
    ``states`` maps every node to a key of ``style.STATES``.
    """

    index: int
    total: int  # the number of steps: the seed plus one per op node
    node: Value
    node_id: str  # its DOT id ("v12"), the <title> of its <g class="node"> in the SVG
    caption: str  # lines split by "\n"
    grads: Dict[Value, float] = field(repr=False)
    updates: Dict[Value, Tuple[Optional[float], float]] = field(repr=False)
    states: Dict[Value, str] = field(repr=False)
    root: Value = field(repr=False)
    options: Options = field(repr=False)

    def draw(self, frame: Optional[Frame] = None, **options: Any) -> Drawing:
        """This frame as a drawing; ``options`` are ``draw_dot``'s (default view backward)."""
        frame = frame or Frame(self.node, self.states, self.caption)
        return build(self.root, self.options.replace(**options), self.grads, frame)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kw: Any) -> Any:
        return self.draw()._repr_mimebundle_(include, exclude, **kw)


def _options(options: Dict[str, Any]) -> Options:
    return Options.make(**{"view": "backward", **options})  # a step reads best backward


def paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def expression(node: Value, names: Dict[Value, str]) -> str:
    """The op as a formula of its inputs' names: "x1·w1", "tanh(n)", "w0·x0 + ... + b"."""
    kids = [names[c] for c in node._prev]
    op = node._op
    if op == "dot":
        pairs = [f"{kids[k]}·{kids[k + 1]}" for k in range(0, len(kids) - 1, 2)]
        return " + ".join(pairs + kids[len(pairs) * 2:])
    if op == "sum" or (op == "+" and len(kids) == 2):
        return " + ".join(kids) if len(kids) <= 4 else f"{kids[0]} + … + {kids[-1]}"
    infix = {"*": "·", "-": " - ", "/": "/", "**": "**"}
    if op in infix and len(kids) == 2:
        return infix[op].join(kids)
    if op.startswith("**") and len(kids) == 1:
        return f"{kids[0]}**{op[2:]}"
    if op == "neg":
        return f"-{kids[0]}"
    return f"{(op or '?').lower()}({', '.join(kids)})"


def formula(node: Value, child: Value, names: Dict[Value, str]) -> Optional[str]:
    """d(node)/d(child) in words of names ("w1", "1 - o²"), or None where we have none."""
    kids, op, out = node._prev, node._op, names[node]
    if kids.count(child) != 1:
        return None  # a + a: the sum of two rules; the number says it
    k = kids.index(child)
    other = names[kids[1 - k]] if len(kids) == 2 else ""
    a = names[kids[0]]
    if op in ("+", "sum") or (op == "dot" and k == len(kids) - 1 and len(kids) % 2):
        return "1"
    if op == "dot":
        return names[kids[k + 1 if k % 2 == 0 else k - 1]]
    if op.startswith("**") and op != "**" and len(kids) == 1:
        return _power_rule(op[2:], a)
    if len(kids) == 2:
        b = names[kids[1]]
        two = {"*": other, "-": "1" if k == 0 else "-1",
               "/": f"1/{b}" if k == 0 else f"-{a}/{b}²",
               "**": f"{b}·{a}**({b} - 1)" if k == 0 else f"{out}·ln {a}"}
        return two.get(op)
    if len(kids) != 1:
        return None
    if op == "ReLU":  # a condition, not a formula: "= 1 since n > 0"
        return f"since {a} > 0" if kids[0].data > 0 else f"since {a} ≤ 0"
    if op == "abs":
        return f"since {a} ≥ 0" if kids[0].data >= 0 else f"since {a} < 0"
    one = {"neg": "-1", "exp": out, "log": f"1/{a}", "tanh": f"1 - {out}²",
           "sigmoid": f"{out}·(1 - {out})"}
    return one.get(op)


def _term(name: str) -> str:
    """A name as a term of a formula: "(x1*w1 + x2*w2).grad", "x1.grad"."""
    plain = name.replace(".", "").replace("_", "").replace("#", "").isalnum()
    return name if plain else f"({name})"


def _same(a: str, b: str) -> bool:
    return a.replace("·", "*").replace(" ", "") == b.replace("·", "*").replace(" ", "")


def _power_rule(exponent: str, a: str) -> str:
    """d(a**n)/da as a teacher writes it: 2·a for n = 2, 3·a**2, -1·a**(-2)."""
    try:
        n = float(exponent)
    except ValueError:
        return f"{exponent}·{a}**({exponent} - 1)"
    m = n - 1
    if m == 0:
        return exponent
    power = a if m == 1 else f"{a}**{m:g}" if m > 0 else f"{a}**({m:g})"
    return f"{exponent}·{power}"


def caption(index: int, total: int, node: Value, incoming: float,
            updates: Dict[Value, Tuple[Optional[float], float]], names: Dict[Value, str],
            opts: Options) -> str:
    fmt = opts.number_format
    name, g = _term(names[node]), number(incoming, fmt)
    head = f"step {index} of {total - 1}: "
    if index == 0:
        return head + f"seed the output: {name}.grad = 1 (d({names[node]})/d({names[node]}) = 1)"
    expr = expression(node, names)
    said = names[node] if _same(names[node], expr) else f"{name} = {expr}"
    lines = [head + f"{said} has its final grad {g} and passes it to its inputs:"]
    shown = list(updates) if len(updates) <= _MAX_LINES + 2 else list(updates)[:_MAX_LINES]
    for child in shown:
        d = updates[child][0]
        c = _term(names[child])
        rule = formula(node, child, names)
        slope = "?" if d is None else number(d, fmt)
        if rule is None or rule == slope:
            local = slope
        elif rule.startswith("since"):
            local = f"{slope} {rule}"
        else:
            local = f"{rule} = {slope}"
        whose = f"the constant {c}'s grad" if isinstance(child, Constant) else f"{c}.grad"
        lines.append(f"{whose} += {paren(slope)} × {paren(g)} — local "
                     f"d({shorten_expr(expr)})/d({names[child]}) = {local}, incoming {g}")
    rest = [names[c] for c in updates if c not in shown]
    if rest:
        lines.append(f"… and {len(rest)} more inputs ({', '.join(rest[:4])}"
                     f"{', …' if len(rest) > 4 else ''}): each grad += local × {paren(g)}")
    return "\n".join(lines)


def shorten_expr(expr: str) -> str:
    return expr if len(expr) <= 24 else expr[:23] + "…"


def _pass(root: Value, opts: Options) -> Iterator[Step]:
    """The steps of one backward() from zero; every grad is put back as it was after."""
    graph = Graph(root, opts.params)
    order = root.backward_order()
    saved = [v.grad for v in order]
    ops = [node for node in order if node._prev]
    total = 1 + len(ops)
    waiting = {v: len(graph.consumers[v]) for v in order}  # consumers not yet run
    states = {v: "pending" for v in order}
    try:
        for v in order:
            if not v._prev:
                v.grad = 0.0  # this pass only; leaves accumulate on top of it
        start_backward(root, order)
        node, updates, incoming = root, {}, 1.0
        for index in range(total):
            if index:
                node = ops[index - 1]
                incoming = node.grad
                derivatives = safe_local_derivatives(node)
                run_step(node)
                updates = {c: (derivatives[c], incoming) for c in unique_children(node)}
                for child in updates:
                    waiting[child] -= 1
            for v, s in states.items():
                if s in ("current", "updated"):
                    states[v] = "final" if not waiting[v] else "pending"
            states[node] = "current"
            for child in updates:
                states[child] = "updated"
            yield Step(index, total, node, f"v{graph.ids[node]}",
                       caption(index, total, node, incoming, updates, graph.names, opts),
                       {v: v.grad for v in order}, updates, dict(states), root, opts)
            if index == 0:
                states[root] = "final" if not waiting[root] else "pending"
    finally:
        for v, g in zip(order, saved):
            v.grad = g


def backward_steps(root: Value, **options: Any) -> Iterator[Step]:
    """Run backward() on ``root`` one op at a time, yielding a ``Step`` after each.

    Step 0 seeds the root (grad 1); step k runs the k-th op node of
    ``root.backward_order()`` and shows what it adds to each input's grad. The steps
    show this pass from zero, whatever the ``.grad``s were before; iterating to the end
    leaves exactly the grads ``root.backward()`` leaves (stopping early leaves them as
    they were). ``options`` are ``draw_dot``'s (``params=model``, ``number_format``, ...).
    """
    opts = _options(options)
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps needs a Value, got {type(root).__name__}")
    yield from _pass(root, opts)
    root.backward()


def replay(root: Value, **options: Any) -> List[Step]:
    """Every step of a fresh backward(), and every ``.grad`` left exactly as it was."""
    if not isinstance(root, Value):
        raise TypeError(f"animate needs a Value, got {type(root).__name__}")
    return list(_pass(root, _options(options)))

