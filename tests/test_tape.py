"""chainrule.Tape: a recorded graph replayed gives eager's numbers (bit for bit in Python)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import apply_op, programs, run_program
from support import require

from chainrule import Value
from chainrule.tape import Tape, TapeError, TapeOp

any_float = st.floats(allow_nan=True, allow_infinity=True)
replay_floats = st.one_of(st.floats(-3.0, 3.0), any_float)


def bits(x):
    """Equal bits for equal floats, NaN equal to NaN, -0.0 apart from 0.0."""
    return "nan" if x != x else x.hex()


def eager(program, leaves, live):
    """A fresh eager graph from ``leaves``: (nodes in backward order, errors).

    Steps the program as ``run_program`` does; a node the root does not depend on
    (not in ``live``) may fail without mattering, as it does for the tape.
    """
    nodes, errors = [Value(x) for x in leaves], []
    for kind, op, left, right in program[1]:
        try:
            if kind == "unary":
                nodes.append(apply_op(op, nodes[left]))
            elif isinstance(right, int):
                nodes.append(apply_op(op, nodes[left], nodes[right]))
            else:
                side, const = right
                a = nodes[left]
                nodes.append(apply_op(op, a, const) if side == "right" else apply_op(op, const, a))
        except (ArithmeticError, ValueError) as error:
            if len(nodes) in live:
                errors.append(error)
            nodes.append(Value(0.0))  # stands in for a failed node
    if errors:
        return None, errors
    root = nodes[-1] * 0.5 + nodes[len(nodes) // 2]
    order = root.backward_order()
    try:
        root.backward()
    except (ArithmeticError, ValueError) as error:
        return None, [error]
    return order, []


def record(program, backend="python"):
    """(tape, indices of the program's nodes the root depends on), or None."""
    try:
        nodes, root = run_program(program, Value)
    except (ArithmeticError, ValueError):
        return None  # a program the engine rejects at its first numbers: nothing to record
    leaves = nodes[: len(program[0])]
    live = set(root.backward_order())
    return Tape(root, inputs=leaves, backend=backend), {i for i, n in enumerate(nodes) if n in live}


def replay(tape, new):
    """forward + backward + sync on the tape: (nodes in backward order, error or None)."""
    try:
        tape.forward(new)
        tape.backward()
    except (ArithmeticError, ValueError) as error:
        return None, error
    tape.sync()
    return tape.root.backward_order(), None


def same_error(mine, theirs):
    """The tape raised one of the errors eager raises (the engine's type and message)."""
    assert mine is not None and theirs, (mine, theirs)
    assert (type(mine), str(mine)) in [(type(e), str(e)) for e in theirs]


@given(programs(), st.data())
def test_python_replay_is_eager_bit_for_bit(program, data):
    recorded = record(program)
    if recorded is None:
        return
    new = data.draw(st.lists(replay_floats, min_size=len(program[0]),
                             max_size=len(program[0])))
    expected, errors = eager(program, new, recorded[1])
    got, tape_error = replay(recorded[0], new)
    if errors or tape_error is not None:
        same_error(tape_error, errors)  # log of a negative, 1/0, overflow: the same error
        return
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):  # every node: data and grad, bit for bit
        assert (mine._op, bits(mine.data), bits(mine.grad)) == (
            theirs._op, bits(theirs.data), bits(theirs.grad))


def close(a, b, rel=1e-12, scale=0.0):
    """Within ``rel`` of ``b``, or of ``scale``: the largest term the computation added up.

    The numpy tape adds a node's gradient terms in another order than eager does, so
    where terms cancel (7e90 - 7e90 + 1) the result may differ by rounding of the
    largest term, not of the result.
    """
    if a != a or b != b or math.isinf(a) or math.isinf(b):
        return bits(a) == bits(b) or scale > 1e300  # near overflow the order decides
    return abs(a - b) <= rel * max(abs(b), scale)


def term_scale(root):
    """The largest |data| and |local derivative * grad| in the eager graph behind root."""
    order = root.backward_order()
    grads = [n.grad for n in order]
    tape = Tape(root)
    tape.forward()
    tape.backward()
    terms = [abs(x * r.grad) for r in tape.backward_ops for x in r.local]
    for n, g in zip(order, grads):  # the tape's backward added to the leaves: undo it
        n.grad = g
    return max([abs(n.data) for n in order] + terms)


@given(programs(), st.lists(st.floats(-3.0, 3.0), min_size=4, max_size=4))
def test_numpy_replay_matches_eager_to_1e_12(program, new):
    require("numpy")
    recorded = record(program, backend="numpy")
    if recorded is None:
        return
    new = new[: len(program[0])]
    expected, errors = eager(program, new, recorded[1])
    got, tape_error = replay(recorded[0], new)
    if errors or tape_error is not None:
        same_error(tape_error, errors)
        return
    scale = term_scale(expected[0])
    for mine, theirs in zip(got, expected):
        assert mine._op == theirs._op
        assert close(mine.data, theirs.data, scale=scale), (mine, theirs, scale)
        assert close(mine.grad, theirs.grad, scale=scale), (mine, theirs, scale)


def neural_graph(ws, xs, fused):
    """dot or sum nodes, relu, tanh, sigmoid and a loss: every n-ary op and slot layout."""
    h = []
    for i, w in enumerate(ws):
        if fused:
            pre = Value.dot(w[:3], xs, w[3] if i != 1 else None)
        else:
            pre = Value.sum([w[0] * xs[0], w[1] * xs[1], xs[2] * w[2], w[3]])
        h.append([pre.relu, pre.tanh, pre.sigmoid][i]())
    out = Value.dot(h, [h[2], ws[0][0], h[0]], h[1])  # shared, repeated operands: no slices
    gate = Value.dot(h, xs).relu()  # relu(dot) whose weights are not leaves
    return Value.sum([(out - 0.5) ** 2, gate, 1e-3 * Value.sum(p * p for w in ws for p in w)])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_dot_and_sum_graphs_replay_with_new_inputs_and_parameters(fused, backend):
    if backend == "numpy":
        require("numpy")
    rng = random.Random(0)
    ws = [[Value(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(3)]
    params = [p for w in ws for p in w]
    xs = [Value(v) for v in (0.5, -1.0, 2.0)]
    tape = Tape(neural_graph(ws, xs, fused), inputs=xs, backend=backend)
    for batch in ([0.1, 0.2, 0.3], [-2.0, 1.5, 0.25], [3.0, -3.0, 1.0]):
        for p in params:
            p.data += rng.uniform(-0.1, 0.1)  # as after an optimizer step
        fresh = neural_graph(ws, [Value(v) for v in batch], fused)
        fresh.backward()
        want = [p.grad for p in params]
        for p in params:
            p.grad = 0.0
        loss = tape.forward(batch)
        tape.backward()
        got = [p.grad for p in params]
        if backend == "python":
            assert (bits(loss), [bits(g) for g in got]) == (bits(fresh.data),
                                                            [bits(g) for g in want])
        else:
            assert close(loss, fresh.data) and all(map(close, got, want)), (got, want)
        for p in params:
            p.grad = 0.0


# ------------------------------------------------------------------ semantics and errors


def small_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    return a, b, (c + a).relu() + 1


def test_leaf_grads_accumulate_and_intermediates_start_from_zero_as_in_eager():
    a, b, root = small_graph()
    a.data, b.data = 2.0, 3.0  # c + a = 8 > 0: the relu passes
    tape = Tape(root)
    tape.forward()
    tape.backward()
    tape.backward()  # twice: leaf grads double, as two root.backward() calls do
    got = (a.grad, b.grad)
    a.grad = b.grad = 0.0
    root = (a * b + a).relu() + 1
    root.backward()
    root.backward()
    assert got == (a.grad, b.grad) == (8.0, 4.0)


def test_forward_writes_the_root_and_sync_writes_every_node():
    a, b, root = small_graph()
    tape = Tape(root, inputs=[a, b])
    s = root._prev[0]._prev[0]  # c + a, under the relu
    c = s._prev[0]
    assert tape.forward([1.0, 4.0]) == 6.0 == root.data
    assert (a.data, b.data) == (1.0, 4.0)  # the inputs hold the batch's numbers
    assert c.data == -6.0  # not yet written: the tape keeps intermediates
    tape.backward()
    assert tape.value(c) == 4.0 and c.grad == 0.0
    tape.sync()
    assert (c.data, c.grad, s.data, s.grad, root.grad) == (4.0, 1.0, 5.0, 1.0, 1.0)
    assert (a.grad, b.grad) == (5.0, 1.0)


def test_ops_and_backward_ops_print_as_tables_first_in_last_out():
    a, b, root = small_graph()
    tape = Tape(root)
    assert tape.ops[0] == TapeOp("*", ("a", "b"), "c", (-3.0, 2.0))
    assert [r.op for r in tape.ops] == ["*", "+", "ReLU", "+"]
    assert [r.op for r in tape.backward_ops] == ["+", "ReLU", "+", "*"]
    assert str(tape.ops) == "\n".join([
        "forward ops, first to last",
        "#  op    inputs    output  local derivatives",
        "0  *     a, b      c       d/da = -3, d/db = 2",
        "1  +     c, a      add3    d/dc = 1, d/da = 1",
        "2  ReLU  add3      relu4   d/dadd3 = 0",
        "3  +     relu4, 1  add6    d/drelu4 = 1, d/d1 = 1",
    ])
    tape.forward()
    tape.backward()
    lines = str(tape.backward_ops).splitlines()
    assert lines[0].startswith("backward ops, first in last out")
    assert lines[2:4] == ["0  +     relu4, 1  add6 (grad 1)   d/drelu4 = 1, d/d1 = 1",
                          "1  ReLU  add3      relu4 (grad 1)  d/dadd3 = 0"]
    assert tape.backward_ops[2] == TapeOp("+", ("c", "a"), "add3", (1.0, 1.0), 0.0)
    assert str(tape.ops[1:2]).splitlines()[2] == "0  +   c, a    add3    d/dc = 1, d/da = 1"


def test_a_user_op_is_refused_with_its_name():
    x = Value(0.5)
    out = Value(x.data ** 3, (x,), "cube")
    out._backward = lambda grad: None
    with pytest.raises(TapeError, match=r"cannot record op 'cube'.*built-in ops"):
        Tape(out + 1)


@pytest.mark.parametrize("backend", ["python", "numpy"])
@pytest.mark.parametrize("build, new, error, message", [
    (lambda x: x.log(), -1.0, ValueError, r"^log is defined only for x > 0, got log\(-1\)$"),
    (lambda x: 1 / x, 0.0, ZeroDivisionError, r"^division by zero in /: 1 / Value\(data=0.0\)$"),
    (lambda x: x.exp(), 800.0, OverflowError, r"^exp overflows: exp\(800\)"),
    (lambda x: x ** 0.5, -4.0, ValueError, r"negative base to a fractional power"),
    (lambda x: x ** -1, 0.0, ZeroDivisionError, r"0 raised to a negative power"),
])
def test_domain_errors_at_replay_are_the_engines_and_change_nothing(backend, build, new, error,
                                                                     message):
    if backend == "numpy":
        require("numpy")
    with pytest.raises(error, match=message):
        build(Value(new))  # what eager says
    x = Value(2.0)
    root = build(x) * 2
    tape = Tape(root, inputs=[x], backend=backend)
    before = root.data
    with pytest.raises(error, match=message):
        tape.forward([new])
    assert (x.data, root.data) == (2.0, before)


def test_a_gradient_infinite_at_replay_raises_as_eager_and_leaves_grads():
    x = Value(4.0)
    tape = Tape(x ** 0.5, inputs=[x])
    tape.forward([0.0])
    with pytest.raises(ZeroDivisionError, match=r"the gradient of x \*\* 0.5 is infinite"):
        tape.backward()
    assert x.grad == 0.0


def test_nan_and_inf_propagate_as_in_eager_without_skipping_zero_gradients():
    x, w = Value(1.0), Value(2.0)
    tape = Tape((x * w).relu() * 0.0 + w, inputs=[x])
    tape.forward([math.inf])
    tape.backward()
    # eager: relu(inf) = inf, grad 0 * ... ; d/dw picks up x * 0.0 = inf * 0 = nan
    x2, w2 = Value(math.inf), Value(2.0)
    ((x2 * w2).relu() * 0.0 + w2).backward()
    assert bits(w.grad) == bits(w2.grad) == "nan" and bits(x.grad) == bits(x2.grad)


@pytest.mark.parametrize("x_value, w_grad", [(3.0, -0.0), (math.inf, 0.0), (math.nan, 0.0)])
def test_a_dead_neuron_passes_zero_gradients_bit_for_bit(x_value, w_grad):
    """relu(dot) with a zero gradient: skipped only where that changes no bit (-0.0, inf)."""
    def build(w, x, b):
        return Value.dot([w], [x], b).relu() * 2.0 + b

    w, x, b = Value(-1.0), Value(1.0), Value(0.5)
    tape = Tape(build(w, x, b), inputs=[x])
    w.grad = w_grad
    tape.forward([x_value])
    tape.backward()
    w2, b2 = Value(-1.0), Value(0.5)
    w2.grad = w_grad
    build(w2, Value(x_value), b2).backward()
    assert (bits(w.grad), bits(b.grad)) == (bits(w2.grad), bits(b2.grad))


def test_check_catches_python_control_flow_frozen_at_record_time():
    w = Value(1.5)

    def model(x):  # a branch on .data: the tape sees only the branch taken when recording
        return x * w if x.data > 0 else x * w * -1.0

    x = Value(2.0)
    tape = Tape(model(x), inputs=[x])
    tape.check(model(Value(3.0)))  # same branch: same graph
    with pytest.raises(TapeError, match=r"Tape.check: the graph has 5 nodes, the recording 3.*"
                                        r"frozen when a tape records"):
        tape.check(model(Value(-3.0)))

    def scaled(x):  # same shape, another constant
        return x * (2.0 if x.data > 0 else 3.0)

    tape = Tape(scaled(x), inputs=[x])
    with pytest.raises(TapeError, match=r"node 1 differs: recorded leaf Value\(data=2.0"
                                        r".*now leaf Value\(data=3.0"):
        tape.check(scaled(Value(-1.0)))


def test_bad_arguments_name_what_is_wrong():
    x = Value(1.0)
    y = x * 2
    with pytest.raises(TypeError, match="Tape: root must be a Value, got float"):
        Tape(1.0)
    with pytest.raises(ValueError, match="backend must be 'python' or 'numpy', got 'torch'"):
        Tape(y, backend="torch")
    with pytest.raises(ValueError, match=r"inputs\[0\] is made by op '\*'; inputs must be leaves"):
        Tape(y, inputs=[y])
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value leaf, got float"):
        Tape(y, inputs=[x, 2.0])
    tape = Tape(y, inputs=[x])
    with pytest.raises(ValueError, match="expected 1 input numbers .as recorded., got 2"):
        tape.forward([1.0, 2.0])
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a real number, got str: '3'"):
        tape.forward(["3"])
    assert x.data == 1.0


# --------------------------------------------------------- micrograd's demo, 100 SGD steps


@pytest.mark.slow
@pytest.mark.parametrize("fused", [True, False])
def test_100_sgd_steps_of_micrograds_demo_give_the_same_losses_bit_for_bit(fused):
    from chainrule.data import make_moons
    from chainrule.nn import MLP, hinge, l2

    X, labels = make_moons(100, noise=0.1, seed=1337)
    y = [2 * t - 1 for t in labels]

    def run(taped):
        model = MLP(2, [16, 16, 1], seed=1337, fused=fused)
        params = model.parameters()
        inputs = [[Value(v) for v in x] for x in X]
        loss = hinge([model(x) for x in inputs], y) + l2(params, 1e-4)
        tape = Tape(loss, inputs=inputs) if taped else None
        losses = []
        for k in range(100):
            if taped:
                value = tape.forward(X)
                model.zero_grad()
                tape.backward()
            else:
                loss = hinge([model(x) for x in X], y) + l2(params, 1e-4)
                model.zero_grad()
                loss.backward()
                value = loss.data
            losses.append(value)
            for p in params:
                p.data -= (1.0 - 0.9 * k / 100) * p.grad
        return losses, [p.data for p in params]

    assert run(True) == run(False)
