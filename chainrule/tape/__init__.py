"""Record a graph once, replay it fast: ``tape = Tape(loss)``, then ``tape.forward()``,
``tape.backward()``, as often as the numbers change.

A training step builds the same graph every step; only the numbers change. A tape keeps
that graph as a flat list of op codes and integer slots into one list of numbers, and
replays it without making a single ``Value``. ``backend="python"`` does each op's
arithmetic exactly as the engine does, in backward()'s order, so the numbers are the
eager ones bit for bit; ``backend="numpy"`` does all the ops of one kind at one depth
as one vector operation, and a layer's dots over a batch as one matrix product (it adds
a gradient's terms in another order, so it agrees with eager to rounding: 1e-12 of the
largest term).

What a tape cannot see: Python code that reads ``.data`` while the graph is built
(``if v.data > 0``, ``max(a, b)`` on Values, a constant picked by a comparison) ran
once, at record time; the tape replays the ops that were chosen then. The ops' own
branches (relu, abs, ``**``) are replayed from the new numbers and stay right.
``tape.check(root)`` compares a newly built graph with the recording and raises
``TapeError`` if its shape or its constants differ.

record.py: the graph walked into op codes and slots, and ``check``; python.py: the
replay bit-identical to eager; numpy_backend.py: the vector replay; table.py: the
printable ``ops`` / ``backward_ops``.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from ..engine import Value, _backward_lock
from . import python, record, table
from .numpy_backend import NumpyPlan
from .record import TapeError
from .table import OpTable, TapeOp

__all__ = ["Tape", "TapeError", "TapeOp"]


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
        self._sig = [(record.op_code(n) if n._prev else None) for n in order]
        forward, sigs = order[::-1], self._sig[::-1]
        slot, nodes = record.layout(forward, sigs)
        self._slot, self._nodes = slot, nodes
        self._leaves = [(slot[n], n) for n in forward if not n._prev]
        self._root = slot[root]
        self._names = record.node_names(forward, nodes)
        self._inputs = [record.input_leaf(x, i) for i, x in enumerate(record.flat(inputs or []))]
        # Entries: (code, out, operands...); python forward runs them grouped by depth.
        entries, level = record.entries(forward, sigs, slot)
        self._bwd = [(entries[n][0], entries[n][1:]) for n in order if n._prev]
        self._run, self._blocks, self._fwd = record.schedule(order, entries, level, slot, nodes)
        self._D: Any = [0.0] * len(nodes)
        for i, n in self._leaves:
            self._D[i] = n.data
        for n in entries:
            self._D[slot[n]] = n.data
        self._G: Any = None
        self._np: Any = None
        if backend == "numpy":
            self._np = NumpyPlan(self, order, entries, level)
            self._D = self._np.np.array(self._D)

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
            numbers = record.flat(inputs)
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
            value = self._np.forward(self) if self._np is not None else python.forward(self)
        except (ArithmeticError, ValueError):
            try:
                python.raise_as_eager(self._order)  # the engine's error for the first op that fails
            finally:
                for n, x in zip(nodes, old):  # and no Value has changed
                    n.data = x
            raise
        self.root.data = value
        return value

    def backward(self) -> None:
        """Give every leaf the gradient ``root.backward()`` would, added to its ``.grad``.

        Intermediate gradients are kept in the tape (``sync()`` writes them); if a
        step raises, no ``.grad`` has changed.
        """
        with _backward_lock:  # as backward(): threads sharing leaves take turns
            G = self._np.backward(self) if self._np is not None else python.backward(self)
            for i, n in self._leaves:
                n.grad = G[i]
        self._G = G

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
        record.check(root, self._order, self._sig, self._inputs)

    @property
    def ops(self) -> OpTable:
        """The forward ops in the order they run (inputs before outputs)."""
        return table.forward_ops(self)

    @property
    def backward_ops(self) -> OpTable:
        """The backward ops, first in last out: the last forward op's gradient step first."""
        return table.backward_ops(self)

    def __len__(self) -> int:
        return len(self._bwd)

    def __repr__(self) -> str:
        return (f"Tape({len(self._bwd)} ops, {len(self._leaves)} leaves, "
                f"{len(self._inputs)} inputs, backend={self.backend!r})")
