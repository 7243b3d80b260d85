"""micrograd client code runs on chainrule with only the import changed.

Each test is one idiom of micrograd's test_engine.py and demo.ipynb, the nn-zero-to-hero
micrograd lecture, or EurekaLabsAI's micrograd.py, written as this project's own
scenario with its own numbers: expected values come from hand-derived formulas, PyTorch
in float64, or micrograd itself run side by side.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from strategies import programs, run_program
from support import require

from chainrule import Value, gradcheck
from chainrule.nn import MLP, Neuron

# ----------------------------------------------------------------- the lecture's helpers


def topo_sort(root):
    """The lecture's topological sort, written here: depth first, a set of visited nodes."""
    order, seen = [], set()

    def visit(v):
        if v not in seen:
            seen.add(v)
            for child in v._prev:
                visit(child)
            order.append(v)

    visit(root)
    return order


def walk_backward(root):
    """backward() by hand: seed the root, then call every node's _backward() root first."""
    root.grad = 1.0
    for node in reversed(topo_sort(root)):
        node._backward()


def neuron(x1, x2, w1, w2, b):
    """The lecture's two-input tanh neuron, every intermediate labelled."""
    x1, x2 = Value(x1, label="x1"), Value(x2, label="x2")
    w1, w2, b = Value(w1, label="w1"), Value(w2, label="w2"), Value(b, label="b")
    x1w1 = x1 * w1; x1w1.label = "x1*w1"  # noqa: E702 (the lecture's one-line style)
    x2w2 = x2 * w2; x2w2.label = "x2*w2"  # noqa: E702
    s = x1w1 + x2w2; s.label = "x1*w1 + x2*w2"  # noqa: E702
    n = s + b; n.label = "n"  # noqa: E702
    o = n.tanh(); o.label = "o"  # noqa: E702
    return {v.label: v for v in (x1, x2, w1, w2, b, x1w1, x2w2, s, n, o)}


# Own numbers: n = 0.5*2 + (-1)*0.75 + 0.25 = 0.5 exactly.
NEURON = dict(x1=0.5, x2=-1.0, w1=2.0, w2=0.75, b=0.25)


def neuron_grads_by_hand():
    """d o / d(each input) for o = tanh(x1*w1 + x2*w2 + b), from the chain rule on paper."""
    dn = 1 - math.tanh(0.5) ** 2
    p = NEURON
    return {"o": 1.0, "n": dn, "b": dn, "x1*w1 + x2*w2": dn, "x1*w1": dn, "x2*w2": dn,
            "x1": p["w1"] * dn, "w1": p["x1"] * dn, "x2": p["w2"] * dn, "w2": p["x2"] * dn}


# ------------------------------------------------------------ Values, labels, the ops


def test_labels_given_to_the_constructor_or_assigned_afterwards():
    a = Value(2.5, label="a")
    b = Value(-1.0, (), "", "b")  # micrograd's positional order: data, _children, _op, label
    e = a * b
    assert (a.label, b.label, e.label) == ("a", "b", "")
    e.label = "e"
    assert e.label == "e" and e.data == -2.5 and e._prev == (a, b)
    e.label = "renamed"
    assert e.label == "renamed"


X, Y = 1.5, -0.5
OPS = [
    # name, expression, value, gradient of each of (a, b): all derived by hand
    ("a + a", lambda a, b: a + a, 3.0, (2.0, 0.0)),
    ("-a", lambda a, b: -a, -1.5, (-1.0, 0.0)),
    ("a - b", lambda a, b: a - b, 2.0, (1.0, -1.0)),
    ("2 * a", lambda a, b: 2 * a, 3.0, (2.0, 0.0)),
    ("a / 2", lambda a, b: a / 2, 0.75, (0.5, 0.0)),
    ("2 / a", lambda a, b: 2 / a, 2 / X, (-2 / X**2, 0.0)),
    ("a ** 2", lambda a, b: a**2, 2.25, (3.0, 0.0)),
    ("b ** 3", lambda a, b: b**3, -0.125, (0.0, 0.75)),
    ("relu > 0", lambda a, b: a.relu(), 1.5, (1.0, 0.0)),
    ("relu < 0", lambda a, b: b.relu(), 0.0, (0.0, 0.0)),
    ("tanh", lambda a, b: a.tanh(), math.tanh(X), (1 - math.tanh(X) ** 2, 0.0)),
    ("exp", lambda a, b: a.exp(), math.exp(X), (math.exp(X), 0.0)),
    ("log", lambda a, b: a.log(), math.log(X), (1 / X, 0.0)),
    ("a * b + b", lambda a, b: a * b + b, -1.25, (-0.5, 2.5)),
    ("1 + -b*a", lambda a, b: 1 + -b * a, 1.75, (0.5, -1.5)),
    ("10 / (a*a)", lambda a, b: 10.0 / (a * a), 10 / 2.25, (-20 / X**3, 0.0)),
]


@pytest.mark.parametrize("name, f, value, grads", OPS, ids=[op[0] for op in OPS])
def test_micrograd_ops_give_the_value_and_gradients_derived_by_hand(name, f, value, grads):
    a, b = Value(X), Value(Y)
    out = f(a, b)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-14, abs=0)
    assert (a.grad, b.grad) == pytest.approx(grads, rel=1e-14, abs=0)


def test_op_names_are_micrograds_where_the_lecture_draws_them():
    a = Value(X)
    assert [(a + 1)._op, (a * 2)._op, (a**2)._op, a.relu()._op, a.tanh()._op, a.exp()._op] == [
        "+", "*", "**2", "ReLU", "tanh", "exp"]
    assert (a + a)._prev == (a, a)  # ordered: a + a is drawn with both edges


def test_sum_of_values_starts_from_the_number_zero():
    terms = [Value(0.5), Value(-2.0), Value(4.0)]
    total = sum(t * t for t in terms)  # 0 + Value: __radd__, as every micrograd loss does
    total.backward()
    assert total.data == 0.25 + 4.0 + 16.0
    assert [t.grad for t in terms] == [1.0, -4.0, 8.0]


def test_identity_equality_so_client_traces_find_equal_valued_nodes():
    # EurekaLabsAI's trace() collects nodes in a list with `v not in nodes` (== per item);
    # two different nodes holding 1.0 must both be found, and hash as different set members.
    a, b = Value(1.0), Value(1.0)
    nodes, stack = [], [a * b]
    while stack:
        v = stack.pop()
        if v not in nodes:
            nodes.append(v)
            stack.extend(v._prev)
    assert len(nodes) == 3 and len(set(nodes)) == 3
    assert a in [a] and a not in [b]


def on_both(torch, build, *xs):
    """(value, grads) of build on chainrule Values and on float64 torch tensors."""
    ours = [Value(x) for x in xs]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out, tout = build(*ours), build(*theirs)
    out.backward()
    tout.backward()
    return (out.data, [v.grad for v in ours]), (tout.item(), [t.grad.item() for t in theirs])


def test_an_expression_like_micrograds_sanity_check_equals_torch_exactly(torch):
    def build(u, w):
        s = 3 * u - w
        t = (s * w).relu() + s * s
        r = (u - s).relu() + t * u + (w * w).relu()
        return r * u + t

    # +, -, * and relu round alike and these numbers need few bits: equal to the last bit.
    ours, theirs = on_both(torch, build, 1.25, -0.75)
    assert ours == theirs


def test_an_expression_like_micrograds_more_ops_matches_torch(torch):
    def build(p, q):  # rebinding with +=, constants on both sides, **, /, reverse /, -p
        r = p * q - q**3
        s = p - q
        s += s * 0.5 + 2
        s += 1 + (-p) + s
        r += 2 * r + (q - p).relu()
        r += r / 4 + (p + q).relu()
        g = (s - r) ** 2 / 3.0
        g += 5.0 / g
        return g

    (value, grads), (tvalue, tgrads) = on_both(torch, build, 0.75, -1.5)
    assert value == pytest.approx(tvalue, rel=1e-14)
    assert grads == pytest.approx(tgrads, rel=1e-13)


def test_numpy_numbers_mix_with_values_as_in_the_demo():
    np = require("numpy")
    row = np.array([0.5, -1.25])
    xs = list(map(Value, row))  # the demo's inputs
    label = np.int64(1) * 2 - 1  # its labels are numpy integers
    score = xs[0] * 4.0 + xs[1]
    margin = (1 + -label * score).relu()
    margin.backward()
    assert isinstance(margin, Value) and type(xs[0].data) is float
    assert margin.data == 1 + -(2.0 - 1.25)
    assert (xs[0].grad, xs[1].grad) == (-4.0, -1.0)


# ------------------------------------------------------ the lecture's backward by hand


def test_lecture_hand_walk_in_reverse_topological_order_matches_the_chain_rule():
    nodes, auto = neuron(**NEURON), neuron(**NEURON)
    o = nodes["o"]
    order = topo_sort(o)
    assert len(order) == 10 and order[-1] is o
    for v in order:  # every node comes after its inputs
        assert all(order.index(c) < order.index(v) for c in v._prev)
    walk_backward(o)
    by_hand = {k: v.grad for k, v in nodes.items()}
    assert by_hand == pytest.approx(neuron_grads_by_hand(), rel=1e-15, abs=0)
    auto["o"].backward()
    assert by_hand == {k: v.grad for k, v in auto.items()}  # exactly what backward() gives


def test_lecture_node_by_node_backward_calls():
    nodes = neuron(**NEURON)
    g = neuron_grads_by_hand()
    o, n, b, s = nodes["o"], nodes["n"], nodes["b"], nodes["x1*w1 + x2*w2"]
    o.grad = 1.0
    o._backward()
    assert n.grad == pytest.approx(g["n"], rel=1e-15) and b.grad == 0.0
    n._backward()
    assert b.grad == n.grad and s.grad == n.grad
    b._backward()  # a leaf: nothing to pass on, nothing changes
    assert b.grad == n.grad and nodes["x1"].grad == 0.0
    s._backward()
    nodes["x2*w2"]._backward()
    nodes["x1*w1"]._backward()
    got = {k: v.grad for k, v in nodes.items()}
    assert got == pytest.approx(g, rel=1e-15, abs=0)
    o._backward()  # micrograd's steps add (+=): a second call adds the same amount again
    assert n.grad == 2 * got["n"]


def test_lecture_grads_set_by_hand_are_plain_attributes():
    nodes = neuron(**NEURON)
    x1, w1, x1w1 = nodes["x1"], nodes["w1"], nodes["x1*w1"]
    x1w1.grad = 0.5
    x1.grad = w1.data * x1w1.grad
    w1.grad = x1.data * x1w1.grad
    assert (x1.grad, w1.grad) == (1.0, 0.25)
    x1.grad = 0.0
    x1w1._backward()  # the step reads the grad set by hand
    assert (x1.grad, w1.grad) == (1.0, 0.5)


def test_lecture_a_plus_a_bug_does_not_happen():
    a = Value(3.0, label="a")
    b = a + a; b.label = "b"  # noqa: E702
    walk_backward(b)
    assert a.grad == 2.0  # the step adds for each of the two edges
    a2 = Value(-2.0)
    c = Value(3.0)
    f = (a2 * c) * (a2 + c)  # a2 and c each reach f by two paths
    f.backward()
    assert (a2.grad, c.grad) == (c.data * (a2.data + c.data) + a2.data * c.data,
                                 a2.data * (a2.data + c.data) + a2.data * c.data)


@settings(max_examples=80, suppress_health_check=[HealthCheck.filter_too_much])
@given(program=programs())
def test_hand_written_topo_sort_gives_the_grads_of_backward_on_random_graphs(program):
    try:
        nodes_auto, root_auto = run_program(program, Value)
        nodes_hand, root_hand = run_program(program, Value)
        root_auto.backward()
        walk_backward(root_hand)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)
    for auto, hand in zip(nodes_auto, nodes_hand):
        assert hand.grad == pytest.approx(auto.grad, rel=1e-12, abs=1e-12, nan_ok=True)


# ------------------------------------------------------------- user ops, the micrograd way


def cube(v):
    """A user's op attached as micrograd does: a zero-argument closure reading out.grad."""
    out = Value(v.data**3, (v,), "cube")

    def _backward():
        v.grad += 3 * v.data**2 * out.grad
    out._backward = _backward
    return out


def test_user_op_with_a_zero_argument_closure_backpropagates():
    x = Value(1.5)
    y = cube(x) * 2 + x
    assert y.data == 2 * 3.375 + 1.5
    y.backward()
    assert x.grad == 2 * 3 * 1.5**2 + 1
    y.backward()  # intermediate grads are recomputed, the leaf accumulates: exactly twice
    assert x.grad == 2 * (2 * 3 * 1.5**2 + 1)


def test_user_op_runs_in_the_hand_walk_and_passes_gradcheck():
    x = Value(-0.75)
    y = cube(x.tanh()) + cube(x)
    walk_backward(y)
    t = math.tanh(-0.75)
    assert x.grad == pytest.approx(3 * t**2 * (1 - t**2) + 3 * 0.75**2, rel=1e-14)
    result = gradcheck(lambda v: cube(v.tanh()) + cube(v), Value(-0.75), verbose=False)
    assert result, str(result)


def test_user_op_with_two_inputs_built_with_positional_children():
    def scaled_product(a, b, k=3.0):  # out = k*a*b, EurekaLabsAI's Value(data, _prev, _op)
        out = Value(k * a.data * b.data, (a, b), "kab")

        def _backward():
            a.grad += k * b.data * out.grad
            b.grad += k * a.data * out.grad
        out._backward = _backward
        return out

    a, b = Value(0.5), Value(-2.0)
    out = scaled_product(a, b) * a
    out.backward()
    # out = 3 a^2 b: d/da = 6ab = -6, d/db = 3a^2 = 0.75
    assert (out.data, a.grad, b.grad) == (-1.5, -6.0, 0.75)
    assert out._prev[0]._op == "kab" and out._prev[0]._prev == (a, b)


def test_hand_walk_over_a_user_op_without_a_closure_explains_the_mistake():
    a = Value(2.0)
    forgot = Value(a.data**2, (a,), "square")  # the user never set forgot._backward
    with pytest.raises(TypeError, match=r"made by op 'square', has inputs but no _backward"):
        walk_backward(forgot)
    assert a.grad == 0.0


# ---------------------------------------------- an optimizer that keeps state on Values


class AdamOnValues:
    """Adam as EurekaLabsAI's micrograd writes optimizers: moments stored on each Value."""

    def __init__(self, params, lr=0.05, betas=(0.9, 0.99), eps=1e-8):
        self.params, self.lr, self.eps = list(params), lr, eps
        self.beta1, self.beta2 = betas
        self.t = 0
        for p in self.params:
            p.m = 0.0
            p.v = 0.0

    def step(self):
        self.t += 1
        for p in self.params:
            p.m = self.beta1 * p.m + (1 - self.beta1) * p.grad
            p.v = self.beta2 * p.v + (1 - self.beta2) * p.grad**2
            m_hat = p.m / (1 - self.beta1**self.t)
            v_hat = p.v / (1 - self.beta2**self.t)
            p.data -= self.lr * m_hat / (v_hat**0.5 + self.eps)

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0


def adam_loss(w, u):
    return (w - 3) ** 2 + (u * w - 1) ** 2 + (u.tanh() + 0.5).exp()


def test_optimizer_state_kept_as_attributes_on_values():
    w, u = Value(0.5), Value(-1.0)
    assert not hasattr(w, "m")  # no attribute until the client sets one
    opt = AdamOnValues([w, u])
    loss = adam_loss(w, u)
    loss.backward()
    gw, gu = w.grad, u.grad
    opt.step()
    assert (w.m, w.v, u.m, u.v) == ((1 - 0.9) * gw, (1 - 0.99) * gw**2,
                                    (1 - 0.9) * gu, (1 - 0.99) * gu**2)
    # After one step the bias-corrected ratio is g/|g|: each weight moves by lr.
    assert w.data == pytest.approx(0.5 - 0.05 * math.copysign(1, gw), abs=1e-8)
    assert u.data == pytest.approx(-1.0 - 0.05 * math.copysign(1, gu), abs=1e-8)
    opt.zero_grad()
    adam_loss(w, u).backward()  # the state survives a new graph and backward()
    assert w.m == (1 - 0.9) * gw and w.grad != 0.0


def test_optimizer_state_on_values_trains_like_torch_adam(torch):
    w, u = Value(0.5), Value(-1.0)
    opt = AdamOnValues([w, u])
    tw = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    tu = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tw, tu], lr=0.05, betas=(0.9, 0.99), eps=1e-8)
    for _ in range(25):
        opt.zero_grad()
        adam_loss(w, u).backward()
        opt.step()
        topt.zero_grad()
        adam_loss(tw, tu).backward()
        topt.step()
    assert w.data == pytest.approx(tw.item(), rel=1e-11)
    assert u.data == pytest.approx(tu.item(), rel=1e-11)
    state = topt.state[tw]
    assert w.m == pytest.approx(state["exp_avg"].item(), rel=1e-11)
    assert w.v == pytest.approx(state["exp_avg_sq"].item(), rel=1e-11)


def test_model_parameters_take_client_attributes_too():
    model = MLP(2, [3, 1], seed=4)
    params = model.parameters()
    for i, p in enumerate(params):
        p.m, p.v = float(i), -float(i)
        p._vis_color = "lightgreen"  # EurekaLabsAI's vis_color() sets this
    before = [p.data for p in params]
    model([0.5, -1.0]).backward()
    assert [(p.m, p.v, p._vis_color) for p in params] == [
        (float(i), -float(i), "lightgreen") for i in range(len(params))]
    assert [p.data for p in params] == before


# ---------------------------------------------------------------- micrograd's demo loop


POINTS = [((1.0, 0.5), 1), ((0.5, 1.5), 1), ((2.0, -0.5), 1), ((1.5, 1.0), 1),
          ((-1.0, -0.5), -1), ((-0.5, -1.5), -1), ((-2.0, 0.5), -1), ((-1.5, -1.0), -1)]


def demo_loss(model, alpha=1e-4):
    """The demo's loss, written here: mean hinge margin plus L2 on every parameter."""
    inputs = [list(map(Value, xy)) for xy, _ in POINTS]
    scores = list(map(model, inputs))
    losses = [(1 + -y * s).relu() for (_, y), s in zip(POINTS, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = sum((y > 0) == (s.data > 0) for (_, y), s in zip(POINTS, scores)) / len(POINTS)
    return data_loss + reg_loss, accuracy


def test_demo_loop_with_hand_zeroed_grads_and_sgd_converges():
    model = MLP(2, [8, 1], seed=11)
    losses = []
    for k in range(25):
        loss, acc = demo_loss(model)
        for p in model.parameters():
            p.grad = 0
        loss.backward()
        lr = 0.5 - 0.4 * k / 25
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    final, acc = demo_loss(model)
    assert acc == 1.0 and final.data < 0.05 < losses[0]
    assert all(type(p.data) is float and type(p.grad) is float for p in model.parameters())


def test_demo_loss_and_gradients_equal_torch(torch):
    model = MLP(2, [4, 1], seed=5)
    loss, _ = demo_loss(model)
    model.zero_grad()
    loss.backward()

    def t(v):
        return torch.tensor(v.data, dtype=torch.float64, requires_grad=True)

    hidden = [([t(w) for w in n.w], t(n.b)) for n in model.layers[0].neurons]
    out = model.layers[1].neurons[0]
    ow, ob = [t(w) for w in out.w], t(out.b)
    terms = []
    for x, y in POINTS:
        h = [torch.relu(sum(wi * xi for wi, xi in zip(ws, x)) + b) for ws, b in hidden]
        score = sum(wi * hi for wi, hi in zip(ow, h)) + ob
        terms.append(torch.relu(1 - y * score))
    tparams = [p for ws, b in hidden for p in ws + [b]] + ow + [ob]
    tloss = sum(terms) / len(terms) + 1e-4 * sum(p * p for p in tparams)
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=1e-14)
    assert [p.grad for p in model.parameters()] == pytest.approx(
        [p.grad.item() for p in tparams], rel=1e-12, abs=1e-15)


def test_demo_loop_gives_micrograds_numbers():
    require("micrograd")
    from micrograd.engine import Value as MgValue
    from micrograd.nn import MLP as MgMLP

    state = random.getstate()
    try:
        random.seed(1337)
        theirs = MgMLP(2, [6, 6, 1])
        random.seed(1337)
        ours = MLP(2, [6, 6, 1])  # the global random, drawn in micrograd's order
    finally:
        random.setstate(state)
    assert repr(ours) == repr(theirs)
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    # the same graph: node for node, op for op (micrograd's _prev is a set, so count them)
    ours_graph = topo_sort(ours([Value(0.5), Value(-1.0)]))
    theirs_graph = topo_sort(theirs([MgValue(0.5), MgValue(-1.0)]))
    assert Counter(v._op for v in ours_graph) == Counter(v._op for v in theirs_graph)

    def run(model, value):
        out = []
        for k in range(6):
            scores = [model([value(a), value(b)]) for (a, b), _ in POINTS]
            losses = [(1 + -y * s).relu() for (_, y), s in zip(POINTS, scores)]
            loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= (1.0 - 0.9 * k / 6) * p.grad
            out.append(loss.data)
        return out

    mine, reference = run(ours, Value), run(theirs, MgValue)
    assert mine[0] == reference[0]  # same graph, same forward: the same bits
    # micrograd keeps _prev as a set, so it adds a weight's gradient terms in an order
    # set by memory addresses; the sums then differ in the last bits.
    assert mine == pytest.approx(reference, rel=1e-12)


def test_micrograd_names_for_the_model_pieces():
    n = Neuron(3, nonlin=False, seed=2)
    model = MLP(3, [2, 1], seed=2)
    assert len(n.w) == 3 and n.b.data == 0.0 and n.parameters() == n.w + [n.b]
    assert [len(layer.neurons) for layer in model.layers] == [2, 1]
    assert repr(model) == ("MLP of [Layer of [ReLUNeuron(3), ReLUNeuron(3)], "
                           "Layer of [LinearNeuron(2)]]")
    assert isinstance(model([1.0, 2.0, 3.0]), Value)  # one output: a Value, not a list


# --------------------------------------------------- drawing the graph the lecture's way


def trace(root):
    """Nodes and edges reachable from root through _prev (iteratively, our own way)."""
    nodes, edges, stack = [], [], [root]
    while stack:
        v = stack.pop()
        if any(v is n for n in nodes):
            continue
        nodes.append(v)
        for child in v._prev:
            edges.append((child, v))
            stack.append(child)
    return nodes, edges


def draw(root):
    """A graphviz drawing from _prev, _op, label, data and grad, as the lecture builds one."""
    graphviz = require("graphviz")
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    nodes, edges = trace(root)
    for n in nodes:
        uid = str(id(n))
        color = getattr(n, "_vis_color", "white")
        dot.node(uid, f"{{ {n.label} | data {n.data:.3f} | grad {n.grad:.3f} }}",
                 shape="record", style="filled", fillcolor=color)
        if n._op:
            dot.node(uid + n._op, n._op)
            dot.edge(uid + n._op, uid)
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + parent._op)
    return dot


def test_lecture_style_drawing_from_prev_op_and_label():
    require("dot")
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b; e.label = "e"  # noqa: E702
    d = e + c; d.label = "d"  # noqa: E702
    f = Value(-2.0, label="f")
    L = d * f; L.label = "L"  # noqa: E702
    L.backward()
    dot = draw(L)
    src = dot.source
    # dL/da = f * b = 6, dL/db = f * a = -4, dL/dc = dL/de = f = -2, dL/df = d = 4
    for text in ("a | data 2.000 | grad 6.000", "b | data -3.000 | grad -4.000",
                 "c | data 10.000 | grad -2.000", "e | data -6.000 | grad -2.000",
                 "f | data -2.000 | grad 4.000", "L | data -8.000 | grad 1.000"):
        assert text in src
    # 7 values, 3 op nodes; an edge into each op from each input, one from each op out
    assert src.count("shape=record") == 7 and src.count("->") == 6 + 3
    svg = dot.pipe(format="svg").decode()
    assert svg.count('class="node"') == 7 + 3 and "grad 6.000" in svg


def test_drawing_shows_both_edges_of_a_plus_a_and_client_colors():
    require("dot")
    a = Value(3.0, label="a")
    a._vis_color = "lightblue"
    b = a + a; b.label = "b"  # noqa: E702
    b.backward()
    src = draw(b).source
    assert src.count(f'{id(a)} -> "{id(b)}+"') == 2  # _prev is ordered: (a, a)
    assert "fillcolor=lightblue" in src and "grad 2.000" in src
