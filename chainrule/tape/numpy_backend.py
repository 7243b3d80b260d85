"""The numpy replay: all the entries of one op (and arity) at one depth as one vector op,
and the dots of a layer over a batch as one matrix product.

It adds a gradient's terms in another order than the engine, so it agrees with eager to
rounding (1e-12 of the largest term). numpy is imported only when a numpy tape is made:
the engine has no runtime dependency.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import chain
from operator import mul
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Set, Tuple

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

PRODUCT = -1  # the code of a group that is a Product (record.py's codes are >= 0)
Group = Tuple[int, Any, Any, Any]  # (code, slots or a Product, exponents, scatter slots)
Row = Tuple[Value, int, List[int], Any]  # (node, code, [out, operands...], exponent)


class Product(NamedTuple):
    """Dots that pair every row of ``x`` (a sample's inputs) with every row of ``w`` (a
    neuron's weights): ``out = x @ w.T + b``. Each field holds slots."""

    x: Any  # (S, k)
    w: Any  # (R, k)
    b: Any  # (R,), or None where no neuron has a bias
    out: Any  # (S, R)
    relu: Any  # (S, R): relu of each dot, where that relu is every dot's only reader; or None

    @property
    def shape(self) -> Tuple[int, int, int]:
        """(samples, inputs per sample, neurons)."""
        return (len(self.x), self.x.shape[1], len(self.w))


class Grads(Dict[int, float]):
    """Every slot's gradient: a leaf's as a float (what ``Tape.backward`` reads), any
    other's made from the array when asked (``sync``, ``backward_ops``). A list of every
    slot would make a float per node each step, for the few that are read."""

    array: Any

    def __missing__(self, i: int) -> float:
        return float(self.array[i])


class NumpyPlan:
    """The tape as vector ops: the entries of one op (and arity) at one depth at once.

    Forward depth counts from the leaves, backward depth from the root, so every
    entry of a group has all it reads ready. Dots that form a matrix product run as one
    (``products``); other sums and dots add term by term, in the engine's order.
    Scattered gradients are added with ``np.add.at``.
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
        self.leaf_list: List[int] = self.leaf_idx.tolist()
        depth: Dict[Value, int] = {tape.root: 0}
        get = depth.get
        for n in order:
            d = depth[n] + 1
            for c in n._prev:
                if get(c, 0) < d:
                    depth[c] = d
        rows: List[Row] = []
        for n, e in entries.items():
            code = {DOTC: DOT, SUMC: SUM}.get(e[0], e[0])
            if e[0] == DOTC:  # (bias or the 0 slot, w1, x1, ..., wk, xk), from the ranges
                ops = [e[6]] * (1 + 2 * (e[3] - e[2]))
                ops[1::2], ops[2::2] = range(e[2], e[3]), range(e[4], e[5])
            else:
                ops = operands(e[0], e[1:])
            if code == DOT and e[0] != DOTC:
                b = ops.pop() if len(ops) % 2 else 0
                ops = [b] + ops
            elif code == POWN:
                ops = ops[:1]
            rows.append((n, code, [e[1]] + ops, e[3] if code == POWN else None))
        # How often each slot is read, plus once for the entry that writes it.
        uses = Counter(chain.from_iterable(r for _, _, r, _ in rows))
        self.fwd = self._groups(rows, level, uses)
        self.bwd = self._groups(rows, depth, uses)
        self.products: List[Product] = [c for code, c, _, _ in self.fwd if code == PRODUCT]
        # Backward groups by depth from the root: it may find products the forward does not.
        self.matmuls = any(code == PRODUCT for code, _, _, _ in self.fwd + self.bwd)

    def _groups(self, entries: List[Row], depth: Dict[Value, int],
                uses: Counter[int]) -> List[Group]:
        np = self.np
        by: Dict[Tuple[int, int, int], List[List[int]]] = {}
        params: Dict[Tuple[int, int, int], List[float]] = {}
        for n, code, row, exponent in entries:
            key = (depth[n], code, len(row) - 1)
            by.setdefault(key, []).append(row)
            if code == POWN:
                params.setdefault(key, []).append(exponent)
        relu_of = {r[1]: r[0] for key, rows in by.items() if key[1] == RELU for r in rows}
        fused: Set[int] = set()
        found: Dict[Tuple[int, int, int], List[Product]] = {}
        for key, rows in by.items():
            if key[1] != DOT or key[2] < 3:  # a dot of no pairs is its bias
                continue
            found[key], by[key] = self._products(rows)
            for k, m in enumerate(found[key]):
                outs = m.out.ravel().tolist()
                if all(uses[o] == 2 and o in relu_of for o in outs):
                    relu = [relu_of[o] for o in outs]
                    found[key][k] = m._replace(relu=np.array(relu, dtype=np.intp).reshape(
                        m.out.shape))
                    fused.update(relu)
        out: List[Group] = []
        for key in sorted(by):
            out += [(PRODUCT, m, None, None) for m in found.get(key, [])]
            rows = [r for r in by[key] if r[0] not in fused] if key[1] == RELU else by[key]
            if not rows:
                continue
            cols = np.array(rows, dtype=np.intp).T.copy()  # row 0: outputs, then operands
            flat = None  # the slots a sum's or dot's gradient terms are added to, in order
            if key[1] == DOT:
                flat = np.concatenate([cols[1:2], cols[2::2], cols[3::2]]).ravel()
            elif key[1] == SUM:
                flat = cols[1:].ravel()
            out.append((key[1], cols, np.array(params[key]) if key in params else None, flat))
        return out

    def _products(self, rows: List[List[int]]) -> Tuple[List[Product], List[List[int]]]:
        """The dots among ``rows`` (one group's) that form matrix products, and the rest.

        A neuron is a bias and weight slots; its samples are the input slots it is
        dotted with. Neurons with the same samples form one product, if it holds at
        least an eighth of the group's dots: smaller ones run with the rest.
        """
        np = self.np
        neurons: Dict[Tuple[int, ...], List[List[int]]] = {}
        for r in rows:  # r: [out, bias, w1, x1, ..., wk, xk]
            neurons.setdefault((r[1], *r[2::2]), []).append(r)
        by_samples: Dict[Tuple[Tuple[int, ...], ...], List[List[List[int]]]] = {}
        for rs in neurons.values():
            once = {tuple(r[3::2]): r for r in reversed(rs)}  # a dot made twice: one of them
            samples = tuple(sorted(once))
            by_samples.setdefault(samples, []).append([once[x] for x in samples])
        found: List[Product] = []
        taken: Set[int] = set()
        for samples, ns in by_samples.items():
            if len(samples) * len(ns) < max(2, len(rows) / 8):
                continue
            b = [rs[0][1] for rs in ns]
            m = Product(np.array(samples, dtype=np.intp),
                        np.array([rs[0][2::2] for rs in ns], dtype=np.intp),
                        np.array(b, dtype=np.intp) if any(b) else None,
                        np.array([[r[0] for r in rs] for rs in ns], dtype=np.intp).T.copy(),
                        None)
            found.append(m)
            taken.update(m.out.ravel().tolist())
        return found, [r for r in rows if r[0] not in taken]

    # ------------------------------------------------------------------ replay

    def forward(self, tape: Tape) -> float:
        np = self.np
        with np.errstate(all="ignore"):
            if not self.matmuls:
                return self._forward(tape, exact=False)
            try:
                value = self._forward(tape, exact=False)
                if math.isfinite(tape._D.sum()):
                    return value
            except FloatingPointError:
                pass
            return self._forward(tape, exact=True)  # an inf or NaN: see _matmul

    def _forward(self, tape: Tape, exact: bool) -> float:
        np, D = self.np, tape._D
        D[self.leaf_idx] = [n.data for n in self.leaf_nodes]
        for code, c, p, _ in self.fwd:
            if code == PRODUCT:
                z = _matmul(np, D[c.x], D[c.w].T, exact)
                if c.b is not None:
                    z += D[c.b]
                D[c.out] = z
                if c.relu is not None:
                    D[c.relu] = np.where(z <= 0.0, 0.0, z)
                continue
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

    def backward(self, tape: Tape) -> Grads:
        np = self.np
        with np.errstate(all="ignore"):
            G = self._backward(tape, exact=False)
            if self.matmuls and not math.isfinite(G.sum() + tape._D.sum()):
                G = self._backward(tape, exact=True)  # an inf or NaN: see _matmul
        grads = Grads(zip(self.leaf_list, G[self.leaf_idx].tolist()))
        grads.array = G
        return grads

    def _backward(self, tape: Tape, exact: bool) -> Any:
        np, D = self.np, tape._D
        G = np.zeros(len(D))
        G[self.leaf_idx] = [n.grad for n in self.leaf_nodes]
        r = tape._root
        G[r] = 1.0 if tape.root._prev else G[r] + 1.0
        add = np.add.at  # unbuffered: a slot repeated in the indices gets every term
        for code, c, p, flat in self.bwd:
            if code == PRODUCT:  # d/dw = g.T @ x, d/dx = g @ w, d/db = column sums of g
                if c.relu is not None:  # the relu's step first: its dot has no other reader
                    g = G[c.out] = np.where(D[c.relu] <= 0.0, 0.0, G[c.relu])
                else:
                    g = G[c.out]
                add(G, c.w.ravel(), _matmul(np, g.T, D[c.x], exact).ravel())
                add(G, c.x.ravel(), _matmul(np, g, D[c.w], exact).ravel())
                if c.b is not None:
                    add(G, c.b, g.sum(0))
                continue
            g = G[c[0]]
            if code == SUM:
                add(G, flat, np.tile(g, len(c) - 1))
                continue
            if code == DOT:  # bias row, then w, x rows: d/dw = x, d/dx = w, d/db = 1
                w, x = c[2::2], c[3::2]
                add(G, flat, np.concatenate([g[None], D[x] * g, D[w] * g]).ravel())
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
            for idx, v in pairs:
                add(G, idx, v)
        return G


def _matmul(np: Any, a: Any, b: Any, exact: bool) -> Any:
    """``a @ b``, or with ``exact`` every product ``a[i, k] * b[k, j]`` made and summed, as
    eager makes them: a BLAS may skip a zero factor, so ``0 * inf`` would not give NaN.
    The replay reruns with ``exact`` only when an inf or NaN is among its numbers."""
    if not exact:
        return a @ b
    return (a[:, :, None] * b[None, :, :]).sum(1)


def _fail_if(np: Any, bad: Any) -> None:
    if np.any(bad):
        raise FloatingPointError  # Tape.forward then raises the engine's own error
