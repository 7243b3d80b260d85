"""Recording: a graph walked once into op codes and integer slots, and the check that a
new graph is the recorded one.

An entry is ``(code, out, operands...)``: ``out`` and the operands are slots into one
list of numbers (slot 0 holds 0.0: the bias of a dot without one). The replays in
python.py and numpy_backend.py read nothing else.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..engine import Constant, Value, _PowerStep

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
_WORDS = {"+": "add", "*": "mul", "-": "sub", "/": "div", "**": "pow", "ReLU": "relu"}
_FROZEN = ("Python control flow that reads .data is frozen when a tape records; "
           "record a new Tape for this graph")

Entry = Tuple[Any, ...]


class TapeError(ValueError):
    """A graph a tape cannot replay (a user op), or one that differs from the recording."""


def op_code(node: Value) -> Tuple[int, Any]:
    """``(op code, exponent or None)`` of a node with inputs; ``TapeError`` for a user op."""
    step = node._grad_fn
    found = _STEPS.get(step) if step is not None else None
    if found is not None:
        return found, None
    if isinstance(step, _PowerStep):
        return POWN, step.exponent
    raise TapeError(
        f"Tape: cannot record op {node._op!r} ({node!r}): only chainrule's built-in ops can "
        "be replayed; an op attached the micrograd way (out._backward = ...) has no forward "
        "the tape could rerun. Build it from built-in ops, or train it eagerly")


def input_leaf(x: Any, i: int) -> Value:
    if not isinstance(x, Value):
        raise TypeError(f"Tape: inputs[{i}] must be a Value leaf, got {type(x).__name__}")
    if x._prev:
        raise ValueError(f"Tape: inputs[{i}] is made by op {x._op!r}; inputs must be leaves")
    return x  # one the root does not depend on is allowed: its number changes nothing


def flat(xs: Any) -> List[Any]:
    if isinstance(xs, (list, tuple)):
        return [y for x in xs for y in flat(x)]
    return [xs]


def layout(forward: List[Value], sigs: List[Optional[Tuple[int, Any]]]
           ) -> Tuple[Dict[Value, int], List[Optional[Value]]]:
    """A slot for every node (``forward``: inputs first); a dot's weights, its inputs and
    a sum's terms get consecutive slots where they can."""
    slot: Dict[Value, int] = {}
    nodes: List[Optional[Value]] = [None]  # slot 0 holds 0.0: the bias of a dot without one

    def block(vs: Sequence[Value]) -> None:  # consecutive slots, so a slice reads them
        if len(set(vs)) == len(vs) and not any(v in slot for v in vs):
            for v in vs:
                slot[v] = len(nodes)
                nodes.append(v)

    for n, sig in zip(forward, sigs):
        if sig is not None and sig[0] == DOT:
            block(n._prev[0::2][: len(n._prev) // 2])
            block(n._prev[1::2][: len(n._prev) // 2])
        elif sig is not None and sig[0] == SUM:
            block(n._prev)
    for n in forward:
        if n not in slot:
            slot[n] = len(nodes)
            nodes.append(n)
    return slot, nodes


def node_names(forward: List[Value], nodes: List[Optional[Value]]) -> List[str]:
    """Each slot's name as draw_dot names it: "mul2" (an op and its position), "1" (a
    constant)."""
    names = {n: n.label or (format(n.data, "g") if isinstance(n, Constant) else (
        _WORDS.get(n._op[:2] if n._op.startswith("**") else n._op, n._op)
        if n._prev else "v") + str(k)) for k, n in enumerate(forward)}
    return [""] + [names[n] for n in nodes[1:]]  # type: ignore[index]


def entries(forward: List[Value], sigs: List[Optional[Tuple[int, Any]]],
            slot: Dict[Value, int]) -> Tuple[Dict[Value, Entry], Dict[Value, int]]:
    """Every op node's entry, and every node's depth from the leaves."""
    level: Dict[Value, int] = {}
    found: Dict[Value, Entry] = {}
    for n, sig in zip(forward, sigs):
        if sig is None:
            level[n] = 0
            continue
        level[n] = 1 + max(map(level.__getitem__, n._prev))  # map: C, for 1e6 edges
        found[n] = _entry(n, sig, slot)
    return found, level


def _entry(n: Value, sig: Tuple[int, Any], slot: Dict[Value, int]) -> Entry:
    code, exponent = sig
    s = list(map(slot.__getitem__, n._prev))
    o = slot[n]
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


def operands(code: int, e: Entry) -> List[int]:
    """The slots an entry reads (``e`` without its code), in its node's ``_prev`` order."""
    o, *s = e
    if code in (DOT, DOTC):
        return [v for pair in s[-1] for v in pair] + ([s[-2]] if s[-2] else [])
    if code == SUMC:
        return list(range(s[0], s[1]))
    if code == SUM:
        return list(s[0])
    return s[:1] if code == POWN else s


def schedule(order: List[Value], found: Dict[Value, Entry], level: Dict[Value, int],
             slot: Dict[Value, int], nodes: List[Optional[Value]]
             ) -> Tuple[List[Tuple[int, Entry]], List[Tuple[int, int]],
                        List[Tuple[int, List[Entry]]]]:
    """``(run, blocks, fwd)``: the entries in backward()'s order, the weight blocks sliced
    once a forward, and the entries grouped by depth and op for the python forward."""
    # relu(dot) as one entry where backward() runs the relu's step, then at once the
    # dot's (the dot right after the relu in its order, and nothing else reads it).
    uses = Counter(chain.from_iterable(n._prev for n in order))
    pairs_ = {n: order[i + 1] for i, n in enumerate(order[:-1])
              if found.get(n, (None,))[0] == RELU and order[i + 1] is n._prev[0]
              and found.get(n._prev[0], (None,))[0] == DOTC and uses[n._prev[0]] == 1}
    dots = set(pairs_.values())
    run: List[Tuple[int, Entry]] = []
    groups: Dict[Tuple[int, int], List[Entry]] = {}
    blocks: Dict[Tuple[int, int], int] = {}  # a neuron's weights, sliced once a forward
    leaf_blocks: Dict[Tuple[int, int], bool] = {}  # a weight block -> every slot a leaf

    def leaves_only(w0: int, w1: int) -> bool:  # once a block: layers share them
        if (w0, w1) not in leaf_blocks:
            leaf_blocks[w0, w1] = not any(v._prev for v in nodes[w0:w1])  # type: ignore[union-attr]
        return leaf_blocks[w0, w1]

    for n in order:
        e: Entry
        if n in pairs_:
            o, w0, w1, x0, x1, b, pairs = found[pairs_[n]][1:]
            depth = level[pairs_[n]]
            if w1 - w0 == 2:  # 2 inputs (every toy dataset's first layer): no slices
                e = (DOTCR2, slot[n], o, w0, w0 + 1, x0, x0 + 1, b, pairs)
            elif leaves_only(w0, w1):
                e = (DOTCR, slot[n], o, blocks.setdefault((w0, w1), len(blocks)), x0, x1,
                     b, pairs)
            else:  # the relu and the dot each as themselves (the dot comes next)
                dots.discard(pairs_[n])
                e, depth = found[n], level[n]
        elif n in found and n not in dots:
            e, depth = found[n], level[n]
        else:
            continue
        run.append((e[0], e[1:]))
        groups.setdefault((depth, e[0]), []).append(e[1:])
    fwd = [(code, es[::-1]) for (_, code), es in sorted(groups.items())]
    return run, list(blocks), fwd


def check(root: Value, recorded: List[Value], sigs: List[Optional[Tuple[int, Any]]],
          inputs: List[Value]) -> None:
    """``Tape.check``: raise ``TapeError`` unless ``root``'s graph is ``recorded``."""
    order = root.backward_order()
    pos = {n: i for i, n in enumerate(order)}
    mine = {n: i for i, n in enumerate(recorded)}
    leaves_in = set(inputs)
    if len(order) != len(recorded):
        raise TapeError(f"Tape.check: the graph has {len(order)} nodes, the recording "
                        f"{len(recorded)}: {_FROZEN}")
    for i, (new, old) in enumerate(zip(order, recorded)):
        same = (sigs[i] == (op_code(new) if new._prev else None)
                and [pos[c] for c in new._prev] == [mine[c] for c in old._prev])
        if same and not old._prev and new is not old and old not in leaves_in:
            same = new.data == old.data or (new.data != new.data and old.data != old.data)
        if not same:
            raise TapeError(f"Tape.check: node {i} differs: recorded {old._op or 'leaf'} "
                            f"{old!r}, now {new._op or 'leaf'} {new!r}: {_FROZEN}")
