"""The printable tables ``tape.ops`` and ``tape.backward_ops``: one row per op with its
inputs, its output and its local derivatives at the current numbers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, List, NamedTuple, Optional, Tuple

from .. import _scalar as num
from .record import (
    ABS,
    ADD,
    DIV,
    DOT,
    DOTC,
    EXP,
    LOG,
    MUL,
    NEG,
    POW,
    POWN,
    RELU,
    SIGMOID,
    SUB,
    SUM,
    SUMC,
    TANH,
    Entry,
    operands,
)

if TYPE_CHECKING:
    from . import Tape


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


def forward_ops(tape: Tape) -> OpTable:
    return OpTable((_row(tape, c, e) for c, e in reversed(tape._bwd)),
                   "forward ops, first to last")


def backward_ops(tape: Tape) -> OpTable:
    return OpTable((_row(tape, c, e, grads=True) for c, e in tape._bwd),
                   "backward ops, first in last out: each input's .grad += local * "
                   "output's grad")


def _row(tape: Tape, code: int, e: Entry, grads: bool = False) -> TapeOp:
    n = tape._nodes[e[0]]
    grad = float(tape._G[e[0]]) if grads and tape._G is not None else None
    return TapeOp(n._op, tuple(tape._names[i] for i in operands(code, e)),  # type: ignore[union-attr]
                  tape._names[e[0]], tuple(float(v) for v in _local(tape, code, e)), grad)


def _local(tape: Tape, code: int, e: Entry) -> Tuple[float, ...]:
    D = tape._D.tolist() if tape._np is not None else tape._D
    o, *s = e
    if code in (DOT, DOTC):
        return (*[v for w, x in s[-1] for v in (D[x], D[w])], *([1.0] if s[-2] else []))
    if code in (SUM, SUMC):
        return (1.0,) * len(operands(code, e))
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
