"""The numpy tape replays a layer's dots over a batch as one matrix product."""

from __future__ import annotations

import math
import random

import pytest
from support import require

from chainrule import Value
from chainrule.data import make_moons
from chainrule.nn import MLP, Layer, hinge, l2
from chainrule.tape import Tape
from chainrule.tape.numpy_backend import PRODUCT
from chainrule.tape.record import DOT, RELU


def pattern(x):
    """What must agree exactly: NaN, the sign of an inf, or 'finite'."""
    return "nan" if x != x else repr(x) if math.isinf(x) else "finite"


def largest_term(root):
    """The largest |data| and |local derivative * grad| in the eager graph behind ``root``
    (after ``root.backward()``): the numpy tape agrees with eager to 1e-12 of it."""
    ops = [n for n in root.backward_order() if n._prev]
    rows = Tape(root).backward_ops  # python replay: the local derivatives at eager's numbers
    return max([abs(n.data) for n in ops]
               + [abs(x * n.grad) for r, n in zip(rows, ops) for x in r.local])


def close(a, b, scale):
    if not (math.isfinite(a) and math.isfinite(b)):
        return pattern(a) == pattern(b)
    return abs(a - b) <= 1e-12 * max(abs(b), scale)


def product_shapes(tape, backward=False):
    """(samples, inputs, neurons, relu fused) of each product, in the order they run.

    The backward groups by depth from the root, not from the leaves: its products are
    found in its own groups (the same ones, for an MLP)."""
    plan = tape._np
    groups = plan.bwd if backward else plan.fwd
    return [(*m.shape, m.relu is not None) for code, m, _, _ in groups if code == PRODUCT]


def group_sizes(tape, op):
    """The number of entries in each forward group of ``op`` that is not a product."""
    return [c.shape[1] for code, c, _, _ in tape._np.fwd if code == op]


def test_the_moons_mlp_layers_run_as_matrix_products_with_the_relu_fused():
    require("numpy")
    X, labels = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337, fused=True)
    inputs = [[Value(v) for v in x] for x in X]
    loss = hinge([model(x) for x in inputs], [2 * t - 1 for t in labels])
    tape = Tape(loss + l2(model.parameters(), 1e-4), inputs=inputs, backend="numpy")
    assert product_shapes(tape) == [(100, 2, 16, True), (100, 16, 16, True),
                                    (100, 16, 1, False)]
    assert product_shapes(tape, backward=True) == product_shapes(tape)[::-1]
    # No dot is left to the term-by-term path, and no hidden neuron's relu to its own group.
    assert group_sizes(tape, DOT) == []
    assert group_sizes(tape, RELU) == [100]  # the hinge's


def mlp_loss(model, rows, targets):
    outs = [model(x) for x in rows]
    outs = [o if isinstance(o, list) else [o] for o in outs]
    err = Value.sum([(Value.sum(o) - t) ** 2 for o, t in zip(outs, targets)])
    return err / len(rows) + l2(model.parameters(), 1e-3)


@pytest.mark.parametrize("nin, nouts, batch, activation", [
    (2, [16, 16, 1], 100, "relu"),
    (3, [8, 4], 7, "tanh"),
    (4, [5, 5, 2], 12, "linear"),
    (1, [3, 1], 2, "relu"),
    (5, [6, 3], 1, "relu"),
])
def test_products_give_eagers_values_and_gradients_with_new_inputs(nin, nouts, batch,
                                                                   activation):
    require("numpy")
    rng = random.Random(nin * 100 + batch)
    model = MLP(nin, nouts, activation=activation, seed=rng.randrange(1000), fused=True)
    params = model.parameters()

    def data():
        return ([[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(batch)],
                [rng.uniform(-1, 1) for _ in range(batch)])

    first, targets = data()
    inputs = [[Value(v) for v in x] for x in first]
    flat_inputs = [v for x in inputs for v in x]
    tape = Tape(mlp_loss(model, inputs, targets), inputs=inputs, backend="numpy")
    widths = [nin] + nouts
    assert product_shapes(tape) == [  # every layer one product
        (batch, widths[i], widths[i + 1], activation == "relu" and i < len(nouts) - 1)
        for i in range(len(nouts))]
    assert product_shapes(tape, backward=True) == product_shapes(tape)[::-1]
    for step in range(3):
        new, _ = data()  # targets are constants of the recording
        for p in params:
            p.data += rng.uniform(-0.1, 0.1)  # as after an optimizer step
            p.grad = 0.0
        fresh = [[Value(v) for v in x] for x in new]
        eager = mlp_loss(model, fresh, targets)
        eager.backward()
        want = [p.grad for p in params] + [v.grad for x in fresh for v in x]
        scale = largest_term(eager)
        for v in params + flat_inputs:
            v.grad = 0.0
        loss = tape.forward(new)
        tape.backward()
        got = [p.grad for p in params] + [v.grad for v in flat_inputs]
        assert all(type(g) is float for g in got)
        assert close(loss, eager.data, scale), (step, loss, eager.data)
        bad = [(k, g, w) for k, (g, w) in enumerate(zip(got, want)) if not close(g, w, scale)]
        assert not bad, (step, bad[:5], scale)
    # sync: every node's number and every op's gradient (the fused relus' dots too); a
    # constant's gradient adds up over the three backward() calls
    tape.sync()
    recorded = tape.root.backward_order()
    nodes = eager.backward_order()
    assert len(recorded) == len(nodes)
    for mine, theirs in zip(recorded, nodes):
        assert mine._op == theirs._op and close(mine.data, theirs.data, scale)
        assert not mine._prev or close(mine.grad, theirs.grad, scale)


def blas_that_skips_zeros(real):
    """A matmul that skips a zero factor (reference BLAS does): 0 * inf gives 0, not NaN."""
    def matmul(np, a, b, exact):
        if exact:
            return real(np, a, b, exact)
        terms = a[:, :, None] * b[None, :, :]
        return np.where((a[:, :, None] == 0) | (b[None, :, :] == 0), 0.0, terms).sum(1)
    return matmul


def layer_graph(xs, layer):
    """A relu layer on each sample, its outputs weighted into one loss."""
    return Value.sum([o * c for x in xs for o, c in zip(layer(x), [1.0, -2.0, 0.5])])


@pytest.mark.parametrize("blas", ["numpy", "skips zeros"])
@pytest.mark.parametrize("case", ["nan weight", "inf input", "inf input, zero weight"])
def test_nan_and_inf_give_eagers_pattern(monkeypatch, blas, case):
    require("numpy")
    from chainrule.tape import numpy_backend

    if blas == "skips zeros":  # the tape must not rely on the BLAS making 0 * inf
        monkeypatch.setattr(numpy_backend, "_matmul", blas_that_skips_zeros(
            numpy_backend._matmul))

    def build():
        layer = Layer(2, 3, seed=3, fused=True)
        for n, w in zip(layer.neurons, [(-1.0, 0.5), (-0.5, 0.25), (-2.0, 1.0)]):
            n.w[0].data, n.w[1].data = w  # negative on x0: an inf x0 kills the neuron
            n.b.data = 0.125
        xs = [[Value(v) for v in x] for x in [(0.5, 2.0), (1.5, -1.0), (0.25, 3.0)]]
        if case == "nan weight":
            layer.neurons[1].w[1].data = math.nan
        else:
            xs[0][0].data = math.inf
        if case == "inf input, zero weight":  # 0 * inf: NaN in the forward too
            layer.neurons[2].w[0].data = 0.0
        return layer, xs

    layer, xs = build()
    eager = layer_graph(xs, layer)  # at the numbers as built: the case's inf or NaN
    eager.backward()
    want = [v.grad for v in layer.parameters() + [v for x in xs for v in x]]
    layer, xs = build()
    start = [[v.data for v in x] for x in xs]
    for x in xs:
        x[0].data = 9.0  # record at other numbers: the case comes with forward(inputs)
    tape = Tape(layer_graph(xs, layer), inputs=xs, backend="numpy")
    assert product_shapes(tape) == [(3, 2, 3, True)]
    loss = tape.forward(start)
    tape.backward()
    got = [v.grad for v in layer.parameters() + [v for x in xs for v in x]]
    assert pattern(loss) == pattern(eager.data)
    assert [pattern(g) for g in got] == [pattern(w) for w in want]
    assert {"nan", "finite"} <= {pattern(w) for w in want}  # a mixed pattern: a real test
    assert all(close(g, w, 10.0) for g, w in zip(got, want))  # every finite term is < 10


def test_a_product_only_the_backward_finds_gives_eagers_nan(monkeypatch):
    require("numpy")
    from chainrule.tape import numpy_backend

    monkeypatch.setattr(numpy_backend, "_matmul", blas_that_skips_zeros(numpy_backend._matmul))

    def build(x):
        w = [Value(2.0), Value(-1.0)]
        late = [Value(0.5).tanh(), Value(1.5).tanh()]  # a sample one level up
        return w, Value.sum([Value.dot(w, x) * 0.0, Value.dot(w, late) * 1.0])

    x = [Value(1.0), Value(2.0)]
    w, root = build(x)
    tape = Tape(root, inputs=x, backend="numpy")
    # Forward, the two dots are at levels 1 and 2; backward, both at depth 2 from the root.
    assert product_shapes(tape) == [] and product_shapes(tape, backward=True) == [
        (2, 2, 1, False)]
    tape.forward([math.inf, 2.0])
    tape.backward()
    w2, eager = build([Value(math.inf), Value(2.0)])
    eager.backward()
    assert [pattern(v.grad) for v in w] == [pattern(v.grad) for v in w2] == ["nan", "finite"]


def odd_dots(ws, xs, b):
    """One full product, and dots at its depth that are not part of one."""
    layer = [[Value.dot(w, x, b).relu() for w in ws] for x in xs]  # a full product
    own = [Value.dot(w, x) for w, x in zip(ws, reversed(xs))]  # each neuron its own input
    twice = Value.dot(ws[0], xs[0], b)  # the dot of (neuron 0, sample 0) a second time
    shared = Value.dot([ws[1][0], ws[1][0], xs[2][1]], xs[3])  # repeated and shared slots
    terms = [v for row in layer for v in row] + own + [twice.tanh(), shared]
    return Value.sum([t * (k % 3 - 1.0) for k, t in enumerate(terms)])


def test_dots_that_are_not_a_full_product_run_term_by_term():
    require("numpy")
    rng = random.Random(5)
    ws = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    xs = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    b = Value(0.3)
    leaves = [v for w in ws + xs for v in w] + [b]
    tape = Tape(odd_dots(ws, xs, b), inputs=xs, backend="numpy")
    # The 16 relu dots form one product; the 4 + 1 + 1 others at that depth (of 3 pairs)
    # stay term by term. Backward, two of those (the neuron without bias and `shared`, on
    # one sample) are at their own depth and run as a product of their own.
    assert product_shapes(tape) == [(4, 3, 4, True)]
    assert group_sizes(tape, DOT) == [6]
    assert sorted(product_shapes(tape, backward=True)) == [(1, 3, 2, False), (4, 3, 4, True)]
    for v in leaves:
        v.data += rng.uniform(-0.5, 0.5)
    loss = tape.forward([[v.data for v in x] for x in xs])
    tape.backward()
    got = [v.grad for v in leaves]
    for v in leaves:
        v.grad = 0.0
    eager = odd_dots(ws, xs, b)
    eager.backward()
    want = [v.grad for v in leaves]
    scale = largest_term(eager)
    assert close(loss, eager.data, scale)
    assert all(close(g, w, scale) for g, w in zip(got, want)), (got, want)


def test_neurons_that_each_read_other_inputs_make_no_product():
    require("numpy")
    rng = random.Random(6)
    ws = [[Value(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(6)]
    xs = [[Value(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(6)]
    root = Value.sum([Value.dot(w, x).relu() for w, x in zip(ws, xs)])
    tape = Tape(root, inputs=xs, backend="numpy")
    assert product_shapes(tape) == [] and group_sizes(tape, DOT) == [6]
    new = [[rng.uniform(-1, 1) for _ in x] for x in xs]
    loss = tape.forward(new)
    tape.backward()
    got = [v.grad for w in ws for v in w]
    for w in ws:
        for v in w:
            v.grad = 0.0
    eager = Value.sum([Value.dot(w, [Value(v) for v in x]).relu() for w, x in zip(ws, new)])
    eager.backward()
    scale = largest_term(eager)
    assert close(loss, eager.data, scale)
    assert all(close(g, v.grad, scale) for g, v in zip(got, [v for w in ws for v in w]))
