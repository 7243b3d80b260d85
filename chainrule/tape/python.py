"""The pure-Python replay: each op's arithmetic exactly as the engine does it, so the
numbers are the eager ones bit for bit.

The forward runs the entries grouped by depth and op; the backward runs them in
backward()'s order (``tape._run``), with relu(dot) of a hidden neuron fused into one
entry and zero gradients skipped only where skipping changes no bit.
"""

from __future__ import annotations

import math
from operator import mul
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List

from .. import _scalar as num
from ..engine import Value
from ..grad_mode import no_grad
from .record import (
    ABS,
    ADD,
    DIV,
    DOT,
    DOTC,
    DOTCR,
    DOTCR2,
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
    op_code,
)

if TYPE_CHECKING:
    from . import Tape

_UNARY: Dict[int, Callable[[float], float]] = {
    NEG: float.__neg__, EXP: math.exp, LOG: math.log, TANH: math.tanh, SIGMOID: num.sigmoid,
    ABS: abs}
_EAGER: Dict[int, Callable[..., Value]] = {
    ADD: Value.__add__, MUL: Value.__mul__, SUB: Value.__sub__, DIV: Value.__truediv__,
    POW: Value.__pow__, NEG: Value.__neg__, EXP: Value.exp, LOG: Value.log, TANH: Value.tanh,
    SIGMOID: Value.sigmoid, RELU: Value.relu, ABS: Value.__abs__}


def _added_in_order(terms: Iterable[float], start: float) -> float:
    for t in terms:
        start += t
    return start


# A dot adds its products one by one, as the engine's loop does. sum() does the same
# up to Python 3.11, in C; from 3.12 it compensates rounding, so it cannot stand in.
_SUM_IS_PLAIN = sum([1e16, 1.0, -1e16]) == 0.0  # 0.0 when 1.0 is lost, as in a plain loop
added: Callable[[Iterable[float], float], float] = sum if _SUM_IS_PLAIN else _added_in_order


def forward(tape: Tape) -> float:
    """Recompute every entry from the leaves' ``.data``, op by op as the engine does."""
    D = tape._D
    for i, n in tape._leaves:
        D[i] = n.data
    W = [D[w0:w1] for w0, w1 in tape._blocks]
    for code, es in tape._fwd:
        if code == DOTCR:
            last = -1
            for r, o, k, x0, x1, b, _ in es:
                if x0 != last:  # a layer's neurons read one input block: slice it once
                    h, last = D[x0:x1], x0
                z = D[o] = added(map(mul, W[k], h), D[b])
                D[r] = 0.0 if z <= 0.0 else z
        elif code == DOTCR2:  # the engine's dot: the same additions in the same order
            for r, o, w0, w1, x0, x1, b, _ in es:
                z = D[o] = D[b] + D[w0] * D[x0] + D[w1] * D[x1]
                D[r] = 0.0 if z <= 0.0 else z
        elif code == DOTC:
            for o, w0, w1, x0, x1, b, _ in es:
                D[o] = added(map(mul, D[w0:w1], D[x0:x1]), D[b])
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
                D[o] = added([D[w] * D[x] for w, x in pairs], D[b])
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
    return D[tape._root]


def raise_as_eager(order: List[Value]) -> None:
    """Rerun the ops on Values (no graph) so the engine raises its own error."""
    vals: Dict[Value, Value] = {}
    with no_grad():
        for n in reversed(order):
            if not n._prev:
                vals[n] = Value(n.data)
                continue
            code, p = op_code(n)
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


def backward(tape: Tape) -> List[float]:
    """Every slot's gradient, each step's arithmetic as the engine's, in backward()'s order."""
    D = tape._D
    G = [0.0] * len(D)
    # A zero gradient may be skipped only where that changes no bit: where adding
    # `finite * 0.0` (= +-0.0) is a no-op, which it is for every sum that does not
    # start at -0.0. Intermediate grads start at +0.0 and can never become -0.0; a
    # leaf's .grad could, so one -0.0 among them turns skipping off.
    skip = True
    for i, n in tape._leaves:
        g = G[i] = n.grad
        if g == 0.0 and math.copysign(1.0, g) < 0.0:
            skip = False
    r = tape._root
    G[r] = 1.0 if tape.root._prev else G[r] + 1.0
    for code, e in tape._run:  # backward()'s order and each step's own arithmetic
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
