"""explain(): a gradient as the sum over paths of products of local derivatives."""

from __future__ import annotations

import math

import graphs
import pytest
from graphs import lecture
from hypothesis import HealthCheck, assume, given, settings
from strategies import programs, run_program
from support import require

from chainrule import Value
from chainrule.explain import PathLimitExceeded, explain, hint, names_of, rule


def neuron():
    """The lecture's neuron, o = tanh(x1*w1 + x2*w2 + b), every value labelled."""
    v = lecture()
    return v["o"], v


def diamond():
    """a and b are each used twice: f = (a*b) * (a+b)."""
    g = graphs.diamond()
    return g["f"], g["a"], g["b"]


def fresh_grads(root):
    """node -> grad after a fresh backward(), leaves from zero; every grad put back."""
    order = root.backward_order()
    saved = [v.grad for v in order]
    for v in order:
        v.grad = 0.0
    root.backward()
    grads = {v: v.grad for v in order}
    for v, g in zip(order, saved):
        v.grad = g
    return grads


def test_neuron_every_value_one_path_equal_to_backward_bit_for_bit():
    o, v = neuron()
    grads = fresh_grads(o)
    for name, node in v.items():
        e = explain(o, node)
        assert len(e.paths) == 1
        assert e.total == grads[node], name  # a tree: exactly backward()'s number
    x1 = explain(o, v["x1"])
    path = x1.paths[0]
    assert [x1.names[n] for n in path.nodes] == ["o", "n", "x1*w1 + x2*w2", "x1*w1", "x1"]
    assert path.factors == (1 - o.data ** 2, 1.0, 1.0, -3.0)
    assert path.product == x1.total == grads[v["x1"]]
    assert math.isclose(x1.total, -1.5, rel_tol=1e-12)


def test_neuron_matches_pytorch(torch):
    o, v = neuron()
    t = {k: torch.tensor(v[k].data, dtype=torch.float64, requires_grad=True)
         for k in ("x1", "x2", "w1", "w2", "b")}
    torch.tanh(t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"]).backward()
    for k, tensor in t.items():
        assert math.isclose(explain(o, v[k]).total, tensor.grad.item(), rel_tol=1e-12,
                            abs_tol=1e-15)


def test_diamond_two_paths_add_with_the_students_numbers():
    f, a, b = diamond()
    e = explain(f, a)
    assert [[e.names[n] for n in p.nodes] for p in e.paths] == [["f", "d", "a"], ["f", "e", "a"]]
    assert [p.factors for p in e.paths] == [(1.0, 3.0), (-6.0, 1.0)]
    assert [p.product for p in e.paths] == [3.0, -6.0]
    assert e.total == -3.0 == fresh_grads(f)[a]
    text = str(e)
    assert "f → d → a  1 × 3" in text and "f → e → a  (-6) × 1" in text
    assert "total = 3 + (-6) = -3" in text
    assert "a.grad += …, never =" in text
    assert explain(f, b).total == -8.0 == fresh_grads(f)[b]


def test_value_used_twice_in_one_op_is_one_edge_with_both_derivatives():
    a = Value(3.0, label="a")
    b = a + a
    e = explain(b, a)
    assert len(e.paths) == 1 and e.paths[0].factors == (2.0,)
    assert e.total == 2.0 == fresh_grads(b)[a]
    c = a * a
    assert explain(c, a).total == 6.0 == fresh_grads(c)[a]


def test_no_grad_changes_anywhere_even_with_a_users_closure():
    f, a, b = diamond()

    def cube(x):  # micrograd's lecture style: the closure reads out.grad itself
        out = Value(x.data ** 3, (x,), "cube")

        def _backward():
            x.grad += 3 * x.data ** 2 * out.grad
        out._backward = _backward
        return out

    root = cube(f) + a
    order = root.backward_order()
    for k, node in enumerate(order):
        node.grad = 0.125 * k - 1.0  # anything but a fresh backward's numbers
    before = [node.grad for node in order]
    totals = {node: explain(root, node).total for node in order}
    assert [node.grad for node in order] == before
    grads = fresh_grads(root)
    for node in order:
        assert totals[node] == pytest.approx(grads[node], rel=1e-12)
    assert totals[a] == 3 * f.data ** 2 * -3.0 + 1.0


def test_division_and_log_on_a_tree_are_still_exact():
    # the steps of / and log divide, so math.prod(factors) may be off in the last bit;
    # the path's product runs each step and matches backward() exactly.
    x = Value(0.7, label="x")
    y = ((x / 3.0).log() / 7.0).exp() / 1.3
    e = explain(y, x)
    assert e.total == fresh_grads(y)[x]
    assert e.paths[0].product == pytest.approx(math.prod(e.paths[0].factors), rel=1e-15)


def test_root_itself_is_one_empty_path():
    f, _, _ = diamond()
    e = explain(f, f)
    assert len(e.paths) == 1 and e.paths[0].nodes == (f,) and e.paths[0].factors == ()
    assert e.total == 1.0
    leaf = Value(5.0, label="z")
    assert explain(leaf, leaf).total == 1.0


def ladder(levels):
    """x feeds (x + 1) * (x - 1), and so on: the paths double at every level."""
    x = Value(0.3, label="x")
    v = x
    for _ in range(levels):
        v = (v + 1.0) * (v - 1.0)
    return v, x


def test_too_many_paths_are_counted_first_and_refused_with_advice():
    root, x = ladder(10)
    with pytest.raises(PathLimitExceeded, match=r"explain\(mul\d+, x\): x is reached by 1024 "
                       r"paths from mul\d+, more than max_paths=200") as info:
        explain(root, x)
    assert info.value.count == 1024
    assert isinstance(info.value, ValueError)
    assert "Pick a node nearer the root: explain(" in str(info.value)
    assert "has 128 paths" in str(info.value)  # the farthest node still under the limit
    assert "max_paths=1024" in str(info.value)
    e = explain(root, x, max_paths=1024)
    assert len(e.paths) == 1024
    assert e.total == pytest.approx(fresh_grads(root)[x], rel=1e-12)


@pytest.mark.parametrize("args, error, match", [
    ((1.0, Value(1.0)), TypeError, "explain needs a Value as root, got float"),
    ((Value(1.0), "x"), TypeError, "explain needs a Value as node, got str"),
    ((Value(1.0), Value(2.0)), ValueError, "is not part of root's graph"),
])
def test_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        explain(*args)


@pytest.mark.parametrize("limit, error, match", [
    (True, TypeError, "max_paths must be an int, got bool"),
    ("10", TypeError, "max_paths must be an int, got str"),
    (0, ValueError, "max_paths must be 1 or more, got 0"),
])
def test_bad_max_paths(limit, error, match):
    v = Value(1.0)
    with pytest.raises(error, match=match):
        explain(v * 2, v, max_paths=limit)


def build(program):
    try:
        nodes, root = run_program(program, Value)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)
    assume(all(abs(n.data) < 1e3 for n in nodes + [root]))
    for node in nodes:  # x / x pushes +-1/x twice: near x = 0, backward()'s own rounding rules
        if node._op == "/":
            assume(abs(node._prev[1].data) > 1e-2)
    return nodes, root


@settings(max_examples=150, suppress_health_check=[HealthCheck.filter_too_much])
@given(program=programs())
def test_random_dags_total_is_backwards_grad_and_no_grad_moves(program):
    nodes, root = build(program)
    order = root.backward_order()
    for k, node in enumerate(order):
        node.grad = -7.5 + k  # sentinels
    before = [node.grad for node in order]
    try:
        explanations = {node: explain(root, node, max_paths=100_000) for node in order}
    except (ZeroDivisionError, ValueError, OverflowError):  # a step backward() can't run either
        assert [node.grad for node in order] == before
        assume(False)
    assert [node.grad for node in order] == before
    try:
        grads = fresh_grads(root)
    except (ZeroDivisionError, ValueError, OverflowError):
        assume(False)
    for node, e in explanations.items():
        products = [p.product for p in e.paths]
        assume(all(math.isfinite(p) for p in products))
        scale = math.fsum(abs(p) for p in products)
        assert abs(e.total - grads[node]) <= 1e-12 * scale + 1e-300, str(e)
        if len(e.paths) == 1:  # a single path: backward() multiplies the same way
            assert e.total == grads[node]
        for p in e.paths:
            assert p.nodes[0] is root and p.nodes[-1] is node
            assert len(p.factors) == len(p.nodes) - 1


def test_names_are_the_drawings_names():
    require("graphviz")
    from chainrule.graph import Graph

    root, _ = ladder(2)
    f, a, _ = diamond()
    mixed = f * 2.0 + a + Value(1.0) + (a * a).tanh()
    for r in (root, f, mixed):
        assert names_of(r) == Graph(r).names


def test_draw_highlights_exactly_the_paths_edges():
    require("graphviz")
    f, a, _ = diamond()
    e = explain(f, a)
    source = e.draw().source
    thick = [line.split(" [")[0].strip() for line in source.splitlines()
             if "penwidth=3.5" in line]
    ids = {v: i for i, v in enumerate(f.backward_order()[::-1])}
    d, ee = e.paths[0].nodes[1], e.paths[1].nodes[1]
    i = lambda v: ids[v]  # noqa: E731
    expected = {f"v{i(f)} -> op{i(f)}", f"op{i(f)} -> v{i(d)}", f"v{i(d)} -> op{i(d)}",
                f"op{i(d)} -> v{i(a)}", f"op{i(f)} -> v{i(ee)}", f"v{i(ee)} -> op{i(ee)}",
                f"op{i(ee)} -> v{i(a)}"}
    assert set(thick) == expected and len(thick) == len(expected)
    assert any(f"op{i(d)} -> v{i(a)} [label=3" in line for line in source.splitlines())
    assert f'v{i(f)} -> op{i(f)} [color="#dc2626" fontcolor="#dc2626"] [color="#2563eb:#ea580c"' \
        in source  # the shared first edge: two parallel colours
    assert "path 1 (blue): 1 × 3 = 3" in source and "path 2 (orange): (-6) × 1 = -6" in source
    both = e.draw(view="both").source
    assert sum("penwidth=3.5" in line for line in both.splitlines()) == len(expected)
    assert all("dir=back" in line for line in both.splitlines() if "penwidth=3.5" in line)


def _op(kind):
    p, q = Value(1.5, label="p"), Value(-2.0, label="q")
    out = {
        "+": lambda: p + q, "-": lambda: p - q, "*": lambda: p * q, "/": lambda: p / q,
        "**2": lambda: p ** 2, "tanh": lambda: p.tanh(), "exp": lambda: p.exp(),
        "log": lambda: p.log(), "neg": lambda: -p, "sigmoid": lambda: p.sigmoid(),
        "ReLU": lambda: q.relu(), "sum": lambda: Value.sum([p, q, 0.5]), "twice": lambda: p * p,
    }[kind]()
    out.label = "out"
    return out, (q if kind == "ReLU" else p)


@pytest.mark.parametrize("kind, words", [
    ("+", "a + node passes its gradient unchanged to both inputs"),
    ("sum", "a sum node passes its gradient unchanged to every input"),
    ("-", "a - node passes its gradient unchanged to the first input and with its sign "
          "flipped to the second"),
    ("*", "at a * node multiply by the OTHER input (q = -2)"),
    ("/", "a / node: multiply by 1/q for p, by -p/q**2 for q"),
    ("**2", "x**2: multiply by 2*x**(2 - 1) with x = p = 1.5"),
    ("tanh", "tanh: multiply by 1 - out**2 (out = 0.905148)"),
    ("exp", "exp: multiply by the output itself (out = 4.48169)"),
    ("log", "log: multiply by 1/p (p = 1.5)"),
    ("neg", "neg: multiply by -1"),
    ("sigmoid", "sigmoid: multiply by s*(1 - s) with s = out = 0.817574"),
    ("ReLU", "ReLU: pass the gradient on where its input is > 0, else 0 (q = -2)"),
    ("twice", "p is used 2 times by this *: add the contributions of every use"),
])
def test_rule_says_each_ops_step_in_words(kind, words):
    out, child = _op(kind)
    assert rule(out, child) == words


def test_rule_of_a_users_op_is_the_general_chain_rule():
    p = Value(2.0, label="p")
    out = Value(p.data ** 3, (p,), "cube", label="out")
    out._backward = lambda grad: None
    assert rule(out, p) == ("multiply the incoming gradient by d(out)/d(p), the local "
                            "derivative")


def test_hint_names_the_slip_it_recognises():
    p, q = Value(1.5, label="p"), Value(-2.0, label="q")
    out = p * q
    out.label = "out"
    # incoming 3: right is q * 3 = -6 (plus whatever p.grad held before)
    assert hint(-2.0, out, p, 3.0).endswith("then multiply by the incoming gradient out.grad = 3 "
                                            "(the chain rule)")
    assert hint(4.5, out, p, 3.0).endswith("you multiplied by p's own value")
    assert hint(6.0, out, p, 3.0).endswith("check the sign")
    assert hint(-6.0, out, p, 3.0, before=1.0).startswith(
        "a value used twice: add the two contributions. p.grad already holds 1 from another "
        "use; this step ADDS -6 to it (+=)")
    assert hint(17.0, out, p, 3.0) == "at a * node multiply by the OTHER input (q = -2)"
    s = p + q
    s.label = "s"
    assert hint(1.0, s, q, 0.25) == ("a + node passes its gradient unchanged to both inputs: "
                                     "pass on s.grad (0.25), not 1")
    assert p.grad == q.grad == out.grad == s.grad == 0.0  # hints run steps, touch no grad


def test_a_step_that_raises_in_backward_raises_the_same_here_and_moves_no_grad():
    x = Value(0.0, label="x")
    y = x ** 0.5 + x
    x.grad, y.grad = 0.75, -2.0
    with pytest.raises(ZeroDivisionError, match=r"the gradient of x \*\* 0.5 is infinite at x = 0"):
        y.backward()
    with pytest.raises(ZeroDivisionError, match=r"the gradient of x \*\* 0.5 is infinite at x = 0"):
        explain(y, x)
    assert (x.grad, y.grad) == (0.75, -2.0)


def test_a_deep_chain_explains_without_recursion():
    x = Value(0.5, label="x")
    v = x
    for _ in range(5000):
        v = (v * 0.999).tanh() + 0.001
    e = explain(v, x)
    assert len(e.paths) == 1 and len(e.paths[0].nodes) == 3 * 5000 + 1
    assert e.total == fresh_grads(v)[x]
