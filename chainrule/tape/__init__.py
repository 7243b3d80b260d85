"""Record a graph once, replay it fast: ``tape = Tape(loss)``, then ``tape.forward()``,
``tape.backward()``, as often as the numbers change.

A training step builds the same graph every step; only the numbers change. A tape keeps
that graph as a flat list of op codes and integer slots into one list of numbers, and
replays it without making a single ``Value``. ``backend="python"`` does each op's
arithmetic exactly as the engine does, in backward()'s order, so the numbers are the
eager ones bit for bit; ``backend="numpy"`` does all the ops of one kind at one depth
as one vector operation (it adds a gradient's terms in another order, so it agrees
with eager to rounding: 1e-12 of the largest term).

What a tape cannot see: Python code that reads ``.data`` while the graph is built
(``if v.data > 0``, ``max(a, b)`` on Values, a constant picked by a comparison) ran
once, at record time; the tape replays the ops that were chosen then. The ops' own
branches (relu, abs, ``**``) are replayed from the new numbers and stay right.
``tape.check(root)`` compares a newly built graph with the recording and raises
``TapeError`` if its shape or its constants differ.
"""

from __future__ import annotations

import math
from numbers import Real
from operator import mul
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .. import _scalar as num
from ..engine import Constant, Value, _backward_lock, _PowerStep
from ..grad_mode import no_grad

__all__ = ["Tape", "TapeError", "TapeOp"]

ADD, MUL, SUB, DIV, POW, NEG, EXP, LOG, TANH, SIGMOID, RELU, ABS, SUM, DOT, POWN = range(15)
DOTC, SUMC = 15, 16  # dot and sum whose operands sit in consecutive slots: slices, no loop
DOTCR, DOTCR2 = 17, 18  # relu(dot) of a hidden neuron as one entry; DOTCR2: of 2 inputs
_STEPS: Dict[Any, int] = {
    Value._add_backward: ADD, Value._mul_backward: MUL, Value._sub_backward: SUB,
    Value._div_backward: DIV, Value._pow_backward: POW, Value._neg_backward: NEG,
    Value._exp_backward: EXP, Value._log_backward: LOG, Value._tanh_backward: TANH,
    Value._sigmoid_backward: SIGMOID, Value._relu_backward: RELU, Value._abs_backward: ABS,
    Value._sum_backward: SUM, Value._dot_backward: DOT,
}
_UNARY: Dict[int, Callable[[float], float]] = {
    NEG: float.__neg__, EXP: math.exp, LOG: math.log, TANH: math.tanh, SIGMOID: num.sigmoid,
    ABS: abs}


class TapeError(ValueError):
    """A graph a tape cannot replay (a user op), or one that differs from the recording."""


class TapeOp(NamedTuple):
    """One row of ``tape.ops`` / ``tape.backward_ops``."""

    op: str
    inputs: Tuple[str, ...]
    output: str
    local: Tuple[float, ...]  # d(output)/d(input) for each input, at the current numbers
    grad: Optional[float] = None  # d(root)/d(output) after a backward(), in backward_ops


class OpTable(List[TapeOp]):
    """A list of ``TapeOp`` rows that prints as a table."""

    def __init__(self, rows: Iterable[TapeOp], title: str) -> None:
        super().__init__(rows)
        self.title = title

    def __getitem__(self, i: Any) -> Any:
        got = super().__getitem__(i)
        return OpTable(got, self.title) if isinstance(i, slice) else got

    def __str__(self) -> str:
        cells = [("#", "op", "inputs", "output", "local derivatives")]
        for k, r in enumerate(self):
            local = ", ".join(f"d/d{n} = {x:.6g}" for n, x in zip(r.inputs, r.local))
            grad = "" if r.grad is None else f" (grad {r.grad:.6g})"
            cells.append((str(k), r.op, ", ".join(r.inputs), r.output + grad, local))
        widths = [max(len(c[i]) for c in cells) for i in range(4)]
        lines = [self.title] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4]
                                for row in cells]
        return "\n".join(line.rstrip() for line in lines)


def _code(node: Value) -> Tuple[int, Any]:
    step = node._grad_fn
    code = _STEPS.get(step) if step is not None else None
    if code is not None:
        return code, None
    if isinstance(step, _PowerStep):
        return POWN, step.exponent
    raise TapeError(
        f"Tape: cannot record op {node._op!r} ({node!r}): only chainrule's built-in ops can "
        "be replayed; an op attached the micrograd way (out._backward = ...) has no forward "
        "the tape could rerun. Build it from built-in ops, or train it eagerly")


def _input(x: Any, i: int) -> Value:
    if not isinstance(x, Value):
        raise TypeError(f"Tape: inputs[{i}] must be a Value leaf, got {type(x).__name__}")
    if x._prev:
        raise ValueError(f"Tape: inputs[{i}] is made by op {x._op!r}; inputs must be leaves")
    return x  # one the root does not depend on is allowed: its number changes nothing


def _flat(xs: Any) -> List[Any]:
    if isinstance(xs, (list, tuple)):
        return [y for x in xs for y in _flat(x)]
    return [xs]


class Tape:
    """The graph behind ``root``, recorded once, replayed by ``forward()`` and ``backward()``.

    >>> w, x = Value(2.0), Value(3.0)
    >>> tape = Tape((w * x).relu(), inputs=[x])
    >>> tape.forward([5.0]), tape.backward(), w.grad
    (10.0, None, 5.0)

    ``inputs``: leaves (a Value, or nested lists of them) whose numbers ``forward(x)``
    replaces, so one tape serves every mini-batch of one size. Every other leaf
    (parameters, constants) is read from its ``.data`` at each ``forward()``.
    ``backend``: "python" (bit-identical to eager) or "numpy" (vector ops; needs numpy).
    Recording refuses an op attached the micrograd way (``TapeError``): the tape can
    only rerun chainrule's built-in ops.
    """

    def __init__(self, root: Value, *, inputs: Any = None, backend: str = "python") -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Tape: root must be a Value, got {type(root).__name__}")
        if backend not in ("python", "numpy"):
            raise ValueError(f"Tape: backend must be 'python' or 'numpy', got {backend!r}")
        self.backend, self.root = backend, root
        order = root.backward_order()
        self._order = order
        self._sig = [(_code(n) if n._prev else None) for n in order]
        forward = order[::-1]
        slot: Dict[Value, int] = {}
        nodes: List[Optional[Value]] = [None]  # slot 0 holds 0.0: the bias of a dot without one

        def block(vs: Sequence[Value]) -> None:  # consecutive slots, so a slice reads them
            if len(set(vs)) == len(vs) and not any(v in slot for v in vs):
                for v in vs:
                    slot[v] = len(nodes)
                    nodes.append(v)

        for n, sig in zip(forward, self._sig[::-1]):
            if sig is not None and sig[0] == DOT:
                block(n._prev[0::2][: len(n._prev) // 2])
                block(n._prev[1::2][: len(n._prev) // 2])
            elif sig is not None and sig[0] == SUM:
                block(n._prev)
        for n in forward:
            if n not in slot:
                slot[n] = len(nodes)
                nodes.append(n)
        self._slot, self._nodes = slot, nodes
        self._leaves = [(slot[n], n) for n in forward if not n._prev]
        self._root = slot[root]
        # Named as draw_dot names them: "mul2" (an op and its position), "1" (a constant).
        names = {n: n.label or (format(n.data, "g") if isinstance(n, Constant) else (
            _WORDS.get(n._op[:2] if n._op.startswith("**") else n._op, n._op)
            if n._prev else "v") + str(k)) for k, n in enumerate(forward)}
        self._names = [""] + [names[n] for n in nodes[1:]]  # type: ignore[index]
        self._inputs = [_input(x, i) for i, x in enumerate(_flat(inputs or []))]
        # Entries: (code, out, operands...); python forward runs them grouped by depth.
        level: Dict[Value, int] = {}
        entries: Dict[Value, Tuple[Any, ...]] = {}
        for n, sig in zip(forward, self._sig[::-1]):
            if sig is None:
                level[n] = 0
                continue
            level[n] = 1 + max(level[c] for c in n._prev)
            entries[n] = self._entry(n, sig)
        self._bwd = [(entries[n][0], entries[n][1:]) for n in order if n._prev]
        # relu(dot) as one entry where backward() runs the relu's step, then at once the
        # dot's (the dot right after the relu in its order, and nothing else reads it).
        uses: Dict[Value, int] = {}
        for n in order:
            for c in n._prev:
                uses[c] = uses.get(c, 0) + 1
        pairs_ = {n: order[i + 1] for i, n in enumerate(order[:-1])
                  if entries.get(n, (None,))[0] == RELU and order[i + 1] is n._prev[0]
                  and entries.get(n._prev[0], (None,))[0] == DOTC and uses[n._prev[0]] == 1}
        dots = set(pairs_.values())
        run: List[Tuple[int, Tuple[Any, ...]]] = []
        groups: Dict[Tuple[int, int], List[Tuple[Any, ...]]] = {}
        blocks: Dict[Tuple[int, int], int] = {}  # a neuron's weights, sliced once a forward
        for n in order:
            e: Tuple[Any, ...]
            if n in pairs_:
                o, w0, w1, x0, x1, b, pairs = entries[pairs_[n]][1:]
                depth = level[pairs_[n]]
                if w1 - w0 == 2:  # 2 inputs (every toy dataset's first layer): no slices
                    e = (DOTCR2, slot[n], o, w0, w0 + 1, x0, x0 + 1, b, pairs)
                elif all(not v._prev for v in nodes[w0:w1]):  # type: ignore[union-attr]
                    e = (DOTCR, slot[n], o, blocks.setdefault((w0, w1), len(blocks)), x0, x1,
                         b, pairs)
                else:  # the relu and the dot each as themselves (the dot comes next)
                    dots.discard(pairs_[n])
                    e, depth = entries[n], level[n]
            elif n in entries and n not in dots:
                e, depth = entries[n], level[n]
            else:
                continue
            run.append((e[0], e[1:]))
            groups.setdefault((depth, e[0]), []).append(e[1:])
        self._run, self._blocks = run, list(blocks)
        self._fwd = [(code, es[::-1]) for (_, code), es in sorted(groups.items())]
        self._D: Any = [0.0] * len(nodes)
        for i, n in self._leaves:
            self._D[i] = n.data
        for n in entries:
            self._D[slot[n]] = n.data
        self._G: Any = None
        self._np: Any = None
        if backend == "numpy":
            self._np = _NumpyPlan(self, order, entries, level)
            self._D = self._np.np.array(self._D)

    def _entry(self, n: Value, sig: Tuple[int, Any]) -> Tuple[Any, ...]:
        code, exponent = sig
        s = [self._slot[c] for c in n._prev]
        o = self._slot[n]
        if code == POWN:
            return (POWN, o, s[0], exponent)
        if code == SUM:
            if s == list(range(s[0], s[0] + len(s))):
                return (SUMC, o, s[0], s[0] + len(s))
            return (SUM, o, tuple(s))
        if code == DOT:
            k = len(s) // 2
            ws, xs, b = s[0:2 * k:2], s[1:2 * k:2], (s[-1] if len(s) % 2 else 0)
            pairs = tuple(zip(ws, xs))  # backward walks them in the engine's order
            if k and ws == list(range(ws[0], ws[0] + k)) and xs == list(range(xs[0], xs[0] + k)):
                return (DOTC, o, ws[0], ws[0] + k, xs[0], xs[0] + k, b, pairs)
            return (DOT, o, b, pairs)
        return (code, o, *s)

    # ------------------------------------------------------------------ replay

    def forward(self, inputs: Any = None) -> float:
        """Recompute every node from the leaves' current ``.data``; return the root's value.

        ``inputs``: new numbers for the input leaves named at record time (same
        nesting), written to those leaves' ``.data`` first. The result is also
        written to ``root.data``; ``sync()`` writes every node. If an op raises (the
        engine's own error: log of a negative, division by zero), no Value has changed.
        """
        nodes = self._inputs
        old = [n.data for n in nodes] if inputs is not None else []
        if inputs is not None:
            numbers = _flat(inputs)
            if len(numbers) != len(nodes):
                raise ValueError(f"Tape.forward: expected {len(nodes)} input numbers "
                                 f"(as recorded), got {len(numbers)}")
            for i, x in enumerate(numbers):
                if type(x) is not float:
                    if isinstance(x, bool) or not isinstance(x, Real):
                        raise TypeError(f"Tape.forward: inputs[{i}] must be a real number, "
                                        f"got {type(x).__name__}: {x!r}")
                    numbers[i] = float(x)
            for n, x in zip(nodes, numbers):
                n.data = x
        try:
            value = self._np.forward(self) if self._np is not None else self._forward_python()
        except (ArithmeticError, ValueError):
            try:
                self._raise_as_eager()  # the engine's own error for the first op that fails
            finally:
                for n, x in zip(nodes, old):  # and no Value has changed
                    n.data = x
            raise
        self.root.data = value
        return value

    def _forward_python(self) -> float:
        D = self._D
        for i, n in self._leaves:
            D[i] = n.data
        W = [D[w0:w1] for w0, w1 in self._blocks]
        for code, es in self._fwd:
            if code == DOTCR:
                last = -1
                for r, o, k, x0, x1, b, _ in es:
                    if x0 != last:  # a layer's neurons read one input block: slice it once
                        h, last = D[x0:x1], x0
                    z = D[o] = sum(map(mul, W[k], h), D[b])
                    D[r] = 0.0 if z <= 0.0 else z
            elif code == DOTCR2:  # sum() as the engine's dot: the same additions
                for r, o, w0, w1, x0, x1, b, _ in es:
                    z = D[o] = sum((D[w0] * D[x0], D[w1] * D[x1]), D[b])
                    D[r] = 0.0 if z <= 0.0 else z
            elif code == DOTC:
                for o, w0, w1, x0, x1, b, _ in es:
                    D[o] = sum(map(mul, D[w0:w1], D[x0:x1]), D[b])
            elif code == RELU:
                for o, a in es:
                    x = D[a]
                    D[o] = 0.0 if x <= 0.0 else x  # as the engine: NaN stays NaN
            elif code == ADD:
                for o, a, b in es:
                    D[o] = D[a] + D[b]
            elif code == MUL:
                for o, a, b in es:
                    D[o] = D[a] * D[b]
            elif code == SUB:
                for o, a, b in es:
                    D[o] = D[a] - D[b]
            elif code == DIV:
                for o, a, b in es:
                    D[o] = D[a] / D[b]  # ZeroDivisionError: re-raised as the engine's
            elif code in _UNARY:
                f = _UNARY[code]
                for o, a in es:
                    D[o] = f(D[a])
            elif code == SUMC:
                for o, s0, s1 in es:
                    D[o] = sum(D[s0:s1], 0.0)
            elif code == SUM:
                for o, s in es:
                    D[o] = sum([D[i] for i in s], 0.0)
            elif code == DOT:
                for o, b, pairs in es:
                    D[o] = sum([D[w] * D[x] for w, x in pairs], D[b])
            elif code == POWN:
                for o, a, exponent in es:
                    num.check_power(D[a], exponent)
                    D[o] = num.power(D[a], exponent, "**")
            else:  # POW, a Value exponent
                for o, a, b in es:
                    if D[a] < 0.0:
                        raise ValueError
                    num.check_power(D[a], D[b])
                    D[o] = num.power(D[a], D[b], "**")
        return D[self._root]

    def _raise_as_eager(self) -> None:
        """Rerun the ops on Values (no graph) so the engine raises its own error."""
        vals: Dict[Value, Value] = {}
        with no_grad():
            for n in reversed(self._order):
                if not n._prev:
                    vals[n] = Value(n.data)
                    continue
                code, p = _code(n)
                xs = [vals[c] for c in n._prev]
                if code == DOT:
                    k = len(xs) // 2
                    vals[n] = Value.dot(xs[0:2 * k:2], xs[1:2 * k:2], xs[-1] if len(xs) % 2
                                        else None)
                elif code == SUM:
                    vals[n] = Value.sum(xs)
                elif code == POWN:
                    vals[n] = xs[0] ** p
                else:
                    vals[n] = _EAGER[code](*xs)

    def backward(self) -> None:
        """Give every leaf the gradient ``root.backward()`` would, added to its ``.grad``.

        Intermediate gradients are kept in the tape (``sync()`` writes them); if a
        step raises, no ``.grad`` has changed.
        """
        with _backward_lock:  # as backward(): threads sharing leaves take turns
            G = self._np.backward(self) if self._np is not None else self._backward_python()
            for i, n in self._leaves:
                n.grad = G[i]
        self._G = G

    def _backward_python(self) -> List[float]:
        D = self._D
        G = [0.0] * len(D)
        # A zero gradient may be skipped only where that changes no bit: where adding
        # `finite * 0.0` (= +-0.0) is a no-op, which it is for every sum that does not
        # start at -0.0. Intermediate grads start at +0.0 and can never become -0.0; a
        # leaf's .grad could, so one -0.0 among them turns skipping off.
        skip = True
        for i, n in self._leaves:
            g = G[i] = n.grad
            if g == 0.0 and math.copysign(1.0, g) < 0.0:
                skip = False
        r = self._root
        G[r] = 1.0 if self.root._prev else G[r] + 1.0
        for code, e in self._run:  # backward()'s order and each step's own arithmetic
            # Plain loops: CPython 3.11 runs `G[w] += D[x] * g` on floats faster than map().
            if code == DOTCR2:  # relu(w0*x0 + w1*x1 + b): both steps, unrolled
                r, o, w0, w1, x0, x1, b, _ = e
                if not D[r] <= 0.0:
                    G[o] += G[r]
                g = G[o]
                if g == 0.0 and skip and D[o] - D[o] == 0.0:
                    continue
                G[w0] += D[x0] * g
                G[x0] += D[w0] * g
                G[w1] += D[x1] * g
                G[x1] += D[w1] * g
                if b:
                    G[b] += g
            elif code == DOTCR or code == DOTC or code == DOT:
                if code == DOTCR:
                    r, o = e[0], e[1]
                    if not D[r] <= 0.0:  # the relu's step, then the dot's
                        G[o] += G[r]
                else:
                    o = e[0]
                b, pairs = e[-2], e[-1]
                g = G[o]
                if g == 0.0 and skip and D[o] - D[o] == 0.0:
                    continue  # a finite dot has finite operands: every update adds +-0.0
                for w, x in pairs:
                    G[w] += D[x] * g
                    G[x] += D[w] * g
                if b:
                    G[b] += g
            elif code == RELU:
                o, a = e
                if not D[o] <= 0.0:  # as the engine: a NaN passes the gradient on
                    G[a] += G[o]
            elif code == MUL:
                o, a, b = e
                g = G[o]
                if g == 0.0 and skip and D[o] - D[o] == 0.0:
                    continue  # as for dot: a finite product has finite factors
                G[a] += D[b] * g
                G[b] += D[a] * g
            elif code == ADD:
                o, a, b = e
                g = G[o]
                if g == 0.0 and skip:
                    continue
                G[a] += g
                G[b] += g
            elif code == SUB:
                o, a, b = e
                g = G[o]
                G[a] += g
                G[b] -= g
            elif code == SUMC:
                o, s0, s1 = e
                g = G[o]
                for i in range(s0, s1):
                    G[i] += g
            elif code == SUM:
                o, s = e
                g = G[o]
                for i in s:
                    G[i] += g
            elif code == DIV:
                o, a, b = e
                g = G[o]
                G[a] += g / D[b]
                G[b] -= g * D[o] / D[b]
            elif code == NEG:
                G[e[1]] -= G[e[0]]
            elif code == EXP:
                G[e[1]] += D[e[0]] * G[e[0]]
            elif code == LOG:
                G[e[1]] += G[e[0]] / D[e[1]]
            elif code == TANH:
                t = D[e[0]]
                G[e[1]] += (1.0 - t * t) * G[e[0]]
            elif code == SIGMOID:
                s_ = D[e[0]]
                G[e[1]] += s_ * (1.0 - s_) * G[e[0]]
            elif code == ABS:
                x = D[e[1]]
                G[e[1]] += ((x > 0.0) - (x < 0.0)) * G[e[0]]
            elif code == POWN:
                o, a, exponent = e
                G[a] += num.power_slope(D[a], exponent) * G[o]
            else:  # POW
                o, a, b = e
                x, g = D[a], G[o]
                G[a] += num.power_slope(x, D[b]) * g
                G[b] += (D[o] * math.log(x) if x != 0.0 else 0.0) * g
        return G

    # ----------------------------------------------------------- inspection

    def value(self, node: Value) -> float:
        """The replayed ``.data`` of a recorded node (without writing it to the node)."""
        return float(self._D[self._slot[node]])

    def sync(self) -> None:
        """Write every node's replayed ``.data`` (and, after a backward, ``.grad``) back
        to its ``Value``, so ``draw_dot`` shows the current numbers."""
        D, G = self._D, self._G
        for i, n in enumerate(self._nodes):
            if n is not None:
                n.data = float(D[i])
                if G is not None and n._prev:
                    n.grad = float(G[i])

    def check(self, root: Value) -> None:
        """Raise ``TapeError`` unless the graph behind ``root`` is the recorded one:
        same ops, same wiring, same leaves (the same parameter, or a constant with the
        same number). Catches Python control flow on ``.data`` that chose other ops."""
        order = root.backward_order()
        pos = {n: i for i, n in enumerate(order)}
        mine = {n: i for i, n in enumerate(self._order)}
        inputs = set(self._inputs)
        if len(order) != len(self._order):
            raise TapeError(f"Tape.check: the graph has {len(order)} nodes, the recording "
                            f"{len(self._order)}: {_FROZEN}")
        for i, (new, old) in enumerate(zip(order, self._order)):
            same = (self._sig[i] == (_code(new) if new._prev else None)
                    and [pos[c] for c in new._prev] == [mine[c] for c in old._prev])
            if same and not old._prev and new is not old and old not in inputs:
                same = new.data == old.data or (new.data != new.data and old.data != old.data)
            if not same:
                raise TapeError(f"Tape.check: node {i} differs: recorded {old._op or 'leaf'} "
                                f"{old!r}, now {new._op or 'leaf'} {new!r}: {_FROZEN}")

    def _local(self, code: int, e: Tuple[Any, ...]) -> Tuple[float, ...]:
        D = self._D.tolist() if self._np is not None else self._D
        o, *s = e
        if code in (DOT, DOTC):
            return (*[v for w, x in s[-1] for v in (D[x], D[w])], *([1.0] if s[-2] else []))
        if code in (SUM, SUMC):
            return (1.0,) * len(self._operands(code, e))
        x = D[s[0]]
        try:
            return {
                ADD: lambda: (1.0, 1.0), SUB: lambda: (1.0, -1.0), NEG: lambda: (-1.0,),
                MUL: lambda: (D[s[1]], x), DIV: lambda: (1.0 / D[s[1]], -D[o] / D[s[1]]),
                EXP: lambda: (D[o],), LOG: lambda: (1.0 / x,), TANH: lambda: (1 - D[o] ** 2,),
                SIGMOID: lambda: (D[o] * (1.0 - D[o]),), RELU: lambda: (float(not D[o] <= 0.0),),
                ABS: lambda: (float((x > 0.0) - (x < 0.0)),),
                POWN: lambda: (num.power_slope(x, s[1]),),
                POW: lambda: (num.power_slope(x, D[s[1]]), D[o] * math.log(x) if x else 0.0),
            }[code]()
        except (ArithmeticError, ValueError):
            return (math.inf,)  # d(x**n)/dx at x = 0 for n < 1

    def _operands(self, code: int, e: Tuple[Any, ...]) -> List[int]:
        o, *s = e
        if code in (DOT, DOTC):
            return [v for pair in s[-1] for v in pair] + ([s[-2]] if s[-2] else [])
        if code == SUMC:
            return list(range(s[0], s[1]))
        if code == SUM:
            return list(s[0])
        return s[:1] if code == POWN else s

    def _row(self, code: int, e: Tuple[Any, ...], grads: bool = False) -> TapeOp:
        n = self._nodes[e[0]]
        grad = float(self._G[e[0]]) if grads and self._G is not None else None
        return TapeOp(n._op, tuple(self._names[i] for i in self._operands(code, e)),  # type: ignore[union-attr]
                      self._names[e[0]], tuple(float(v) for v in self._local(code, e)), grad)

    @property
    def ops(self) -> OpTable:
        """The forward ops in the order they run (inputs before outputs)."""
        return OpTable((self._row(c, e) for c, e in reversed(self._bwd)),
                       "forward ops, first to last")

    @property
    def backward_ops(self) -> OpTable:
        """The backward ops, first in last out: the last forward op's gradient step first."""
        return OpTable((self._row(c, e, grads=True) for c, e in self._bwd),
                       "backward ops, first in last out: each input's .grad += local * "
                       "output's grad")

    def __len__(self) -> int:
        return len(self._bwd)

    def __repr__(self) -> str:
        return (f"Tape({len(self._bwd)} ops, {len(self._leaves)} leaves, "
                f"{len(self._inputs)} inputs, backend={self.backend!r})")


_WORDS = {"+": "add", "*": "mul", "-": "sub", "/": "div", "**": "pow", "ReLU": "relu"}
_FROZEN = ("Python control flow that reads .data is frozen when a tape records; "
           "record a new Tape for this graph")
_EAGER: Dict[int, Callable[..., Value]] = {
    ADD: Value.__add__, MUL: Value.__mul__, SUB: Value.__sub__, DIV: Value.__truediv__,
    POW: Value.__pow__, NEG: Value.__neg__, EXP: Value.exp, LOG: Value.log, TANH: Value.tanh,
    SIGMOID: Value.sigmoid, RELU: Value.relu, ABS: Value.__abs__}


class _NumpyPlan:
    """The tape as vector ops: the entries of one op (and arity) at one depth at once.

    Forward depth counts from the leaves, backward depth from the root, so every
    entry of a group has all it reads ready. Sums and dots add term by term, in the
    engine's order; scattered gradients are added with ``bincount``.
    """

    def __init__(self, tape: Tape, order: List[Value], entries: Dict[Value, Tuple[Any, ...]],
                 level: Dict[Value, int]) -> None:
        try:
            import numpy as np
        except ImportError:
            raise ImportError("Tape(backend='numpy') needs numpy: pip install "
                              "'chainrule[numpy]'") from None
        self.np = np
        self.leaf_idx = np.array([i for i, _ in tape._leaves], dtype=np.intp)
        self.leaf_nodes = [n for _, n in tape._leaves]
        depth: Dict[Value, int] = {tape.root: 0}
        for n in order:
            for c in n._prev:
                depth[c] = max(depth.get(c, 0), depth[n] + 1)
        self.fwd = self._groups(tape, entries, level, reverse=False)
        self.bwd = self._groups(tape, entries, depth, reverse=False)

    def _groups(self, tape: Tape, entries: Dict[Value, Tuple[Any, ...]],
                depth: Dict[Value, int], reverse: bool) -> List[Tuple[Any, ...]]:
        np = self.np
        by: Dict[Tuple[int, int, int], List[List[int]]] = {}
        params: Dict[Tuple[int, int, int], List[float]] = {}
        for n, e in entries.items():
            code = {DOTC: DOT, SUMC: SUM}.get(e[0], e[0])
            ops = tape._operands(e[0], e[1:])
            if code == DOT:  # (w1, x1, ..., wk, xk, bias or the 0 slot)
                b = ops.pop() if len(ops) % 2 else 0
                ops = [b] + ops
            elif code == POWN:
                ops = ops[:1]
            key = (depth[n], code, len(ops))
            by.setdefault(key, []).append([e[1]] + ops)
            if code == POWN:
                params.setdefault(key, []).append(e[3])
        out = []
        for key in sorted(by):
            cols = np.array(by[key], dtype=np.intp).T.copy()  # row 0: outputs, then operands
            out.append((key[1], cols, np.array(params[key]) if key in params else None))
        return out

    def forward(self, tape: Tape) -> float:
        np, D = self.np, tape._D
        D[self.leaf_idx] = [n.data for n in self.leaf_nodes]
        with np.errstate(all="ignore"):
            for code, c, p in self.fwd:
                o, a = c[0], D[c[1]]
                if code == ADD:
                    D[o] = a + D[c[2]]
                elif code == MUL:
                    D[o] = a * D[c[2]]
                elif code == SUB:
                    D[o] = a - D[c[2]]
                elif code == DIV:
                    b = D[c[2]]
                    _fail_if(np, b == 0.0)
                    D[o] = a / b
                elif code == RELU:
                    D[o] = np.where(a <= 0.0, 0.0, a)
                elif code == NEG:
                    D[o] = -a
                elif code == ABS:
                    D[o] = np.abs(a)
                elif code == TANH:
                    D[o] = np.tanh(a)
                elif code == EXP:
                    r = np.exp(a)
                    _fail_if(np, np.isinf(r) & np.isfinite(a))
                    D[o] = r
                elif code == LOG:
                    _fail_if(np, a <= 0.0)
                    D[o] = np.log(a)
                elif code == SIGMOID:
                    pos = a >= 0.0
                    e = np.exp(np.where(pos, -a, a))
                    D[o] = np.where(pos, 1.0 / (1.0 + e), e / (1.0 + e))
                elif code in (SUM, DOT):
                    if len(o) == 1:  # one long sum (a loss, a penalty): Python's own sum
                        terms = D[c[1:, 0]].tolist()
                        if code == DOT:
                            terms = [terms[0]] + list(map(mul, terms[1::2], terms[2::2]))
                        D[o] = sum(terms[1:], terms[0]) if code == DOT else sum(terms, 0.0)
                        continue
                    acc = D[c[1]] if code == DOT else np.zeros(len(o))
                    step = 2 if code == DOT else 1
                    for j in range(2 if code == DOT else 1, len(c), step):
                        acc = acc + (D[c[j]] * D[c[j + 1]] if code == DOT else D[c[j]])
                    D[o] = acc
                else:  # POWN (exponents in p) or POW (a Value exponent)
                    n = p if code == POWN else D[c[2]]
                    _fail_if(np, ((a == 0.0) & (n < 0)) | ((a < 0.0) & (n != np.round(n))))
                    if code == POW:
                        _fail_if(np, a < 0.0)
                    r = np.power(a, n)
                    _fail_if(np, np.isinf(r) & np.isfinite(a) & np.isfinite(n))
                    D[o] = r
        return float(D[tape._root])

    def backward(self, tape: Tape) -> List[float]:
        np, D = self.np, tape._D
        size = len(D)
        G = np.zeros(size)
        G[self.leaf_idx] = [n.grad for n in self.leaf_nodes]
        r = tape._root
        G[r] = 1.0 if tape.root._prev else G[r] + 1.0
        with np.errstate(all="ignore"):
            for code, c, p in self.bwd:
                g = G[c[0]]
                if code in (SUM, DOT):
                    if code == SUM:
                        idx, val = c[1:], np.broadcast_to(g, c[1:].shape)
                    else:  # bias row, then w, x rows: d/dw = x, d/dx = w, d/db = 1
                        w, x = c[2::2], c[3::2]
                        idx = np.concatenate([c[1:2], w, x])
                        val = np.concatenate([g[None], D[x] * g, D[w] * g])
                    G += np.bincount(idx.ravel(), val.ravel(), size)
                    continue
                a = D[c[1]]
                if code == ADD:
                    pairs = [(c[1], g), (c[2], g)]
                elif code == MUL:
                    pairs = [(c[1], D[c[2]] * g), (c[2], a * g)]
                elif code == SUB:
                    pairs = [(c[1], g), (c[2], -g)]
                elif code == DIV:
                    b = D[c[2]]
                    pairs = [(c[1], g / b), (c[2], -(g * D[c[0]] / b))]
                elif code == RELU:
                    pairs = [(c[1], np.where(D[c[0]] <= 0.0, 0.0, g))]
                elif code == NEG:
                    pairs = [(c[1], -g)]
                elif code == ABS:
                    pairs = [(c[1], ((a > 0.0).astype(float) - (a < 0.0)) * g)]
                elif code == EXP:
                    pairs = [(c[1], D[c[0]] * g)]
                elif code == LOG:
                    pairs = [(c[1], g / a)]
                elif code == TANH:
                    t = D[c[0]]
                    pairs = [(c[1], (1.0 - t * t) * g)]
                elif code == SIGMOID:
                    s = D[c[0]]
                    pairs = [(c[1], s * (1.0 - s) * g)]
                else:  # POWN, POW: d/dx = n * x**(n-1) (0 for n = 0), d/dy = x**y * log x
                    n = p if code == POWN else D[c[2]]
                    slope = np.where(n != 0, n * np.power(a, n - 1), 0.0)
                    bad = np.flatnonzero(np.isinf(slope) & np.isfinite(a) & np.isfinite(n))
                    for k in bad:  # the engine's own error (infinite at 0, or overflow)
                        num.power_slope(float(a[k]), float(n[k]))
                    pairs = [(c[1], slope * g)]
                    if code == POW:
                        nz = a != 0.0
                        pairs.append((c[2], np.where(nz, D[c[0]] * np.log(np.where(nz, a, 1.0)),
                                                     0.0) * g))
                idx = np.concatenate([i for i, _ in pairs])
                G += np.bincount(idx, np.concatenate([v for _, v in pairs]), size)
        return G.tolist()


def _fail_if(np: Any, bad: Any) -> None:
    if np.any(bad):
        raise FloatingPointError  # Tape.forward then raises the engine's own error
