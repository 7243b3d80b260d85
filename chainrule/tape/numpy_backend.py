"""The numpy replay: all the entries of one op (and arity) at one depth as one vector op.

It adds a gradient's terms in another order than the engine, so it agrees with eager to
rounding (1e-12 of the largest term). numpy is imported only when a numpy tape is made:
the engine has no runtime dependency.
"""

from __future__ import annotations

from operator import mul
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from .. import _scalar as num
from ..engine import Value
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


class NumpyPlan:
    """The tape as vector ops: the entries of one op (and arity) at one depth at once.

    Forward depth counts from the leaves, backward depth from the root, so every
    entry of a group has all it reads ready. Sums and dots add term by term, in the
    engine's order; scattered gradients are added with ``bincount``.
    """

    def __init__(self, tape: Tape, order: List[Value], entries: Dict[Value, Entry],
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
        self.fwd = self._groups(entries, level)
        self.bwd = self._groups(entries, depth)

    def _groups(self, entries: Dict[Value, Entry], depth: Dict[Value, int]
                ) -> List[Tuple[Any, ...]]:
        np = self.np
        by: Dict[Tuple[int, int, int], List[List[int]]] = {}
        params: Dict[Tuple[int, int, int], List[float]] = {}
        for n, e in entries.items():
            code = {DOTC: DOT, SUMC: SUM}.get(e[0], e[0])
            ops = operands(e[0], e[1:])
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
