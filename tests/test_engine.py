"""The engine's contract: values, gradients, graph semantics, numerics and errors."""

from __future__ import annotations

import gc
import math
import threading
import weakref

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import away_from_zero, finite, programs, run_program

from chainrule import Value, enable_grad, gradcheck, is_grad_enabled, no_grad

# ----------------------------------------------------------------------------- helpers



def grads_of(f, *xs):
    values = [Value(x) for x in xs]
    out = f(*values)
    out.backward()
    return out.data, [v.grad for v in values]


def check(f, *xs, rtol=1e-5):
    result = gradcheck(f, *[Value(x) for x in xs], atol=1e-6, rtol=rtol, verbose=False)
    assert result, str(result)


# ------------------------------------------------------------------------- construction


def test_data_is_stored_as_float_and_repr_reads_like_micrograd():
    v = Value(2)
    assert v.data == 2.0 and type(v.data) is float
    assert v.grad == 0.0
    assert repr(v) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-1.5, label="w")) == "Value(data=-1.5, grad=0.0, label='w')"


def test_micrograd_attribute_names_and_ordered_children():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert c._prev == (a, b) and isinstance(c._prev, tuple)
    assert c._op == "*" and c.label == ""
    d = Value(3.0, (a, b), "custom", label="d")
    assert d._prev == (a, b) and d._op == "custom" and d.label == "d"


def test_other_real_number_types_are_accepted():
    from decimal import Decimal
    from fractions import Fraction

    assert Value(Decimal("1.25")).data == 1.25
    assert Value(Fraction(1, 4)).data == 0.25
    assert Value(True).data == 1.0
    assert Value(np.array(2.5)).data == 2.5  # a 0-d array converts; a longer one does not
    with pytest.raises(TypeError, match="got ndarray"):
        Value(np.array([1.0, 2.0]))


def test_numpy_scalars_and_bools_are_real_numbers():
    assert Value(np.float64(1.5)).data == 1.5
    assert Value(np.int64(3)).data == 3.0
    assert Value(np.float32(0.5)).data == 0.5
    assert type(Value(np.float32(0.5)).data) is float


@pytest.mark.parametrize(
    "bad, name",
    [("3", "str"), (None, "NoneType"), ([1], "list"), (1 + 2j, "complex"), ((1.0,), "tuple")],
)
def test_non_numbers_are_rejected_with_the_type_named(bad, name):
    with pytest.raises(TypeError, match=rf"Value data must be a real number.*got {name}"):
        Value(bad)


def test_a_value_cannot_wrap_a_value():
    with pytest.raises(TypeError, match="got Value"):
        Value(Value(1.0))


@pytest.mark.parametrize(
    "expr, op",
    [
        (lambda v: v + "a", r"\+"),
        (lambda v: "a" + v, r"\+"),
        (lambda v: v * None, r"\*"),
        (lambda v: [1] - v, "-"),
        (lambda v: v / "2", "/"),
        (lambda v: v ** "2", r"\*\*"),
        (lambda v: Value.sum([v, "x"]), "sum"),
        (lambda v: Value.dot([v], ["x"]), "dot"),
    ],
)
def test_bad_operands_name_the_op_and_the_type(expr, op):
    message = rf"unsupported operand for {op}: Value and (str|NoneType|list)"
    with pytest.raises(TypeError, match=message):
        expr(Value(1.0))


# ---------------------------------------------------------------------- every operation

# (name, f, points, value, derivative) for one-input functions, checked exactly.
UNARY_CASES = [
    ("neg", lambda x: -x, [0.0, -2.5, 3.0, 1e300], lambda x: -x, lambda x: -1.0),
    ("exp", lambda x: x.exp(), [0.0, -3.0, 1.5, 700.0, -745.0], math.exp, math.exp),
    ("log", lambda x: x.log(), [1e-300, 0.5, 1.0, 7.0, 1e300], math.log, lambda x: 1 / x),
    ("tanh", lambda x: x.tanh(), [0.0, -0.7, 2.0, 30.0], math.tanh,
     lambda x: 1 - math.tanh(x) ** 2),
    ("sigmoid", lambda x: x.sigmoid(), [0.0, -4.0, 4.0],
     lambda x: 1 / (1 + math.exp(-x)), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
    ("relu", lambda x: x.relu(), [0.0, -2.0, 3.5, -1e300, 1e300],
     lambda x: max(x, 0.0), lambda x: 1.0 if x > 0 else 0.0),
    ("abs", abs, [0.0, -2.0, 3.5], abs, lambda x: (x > 0) - (x < 0)),
    ("abs-method", lambda x: x.abs(), [-0.25], abs, lambda x: -1.0),
    ("square", lambda x: x**2, [0.0, -3.0, 1.5], lambda x: x * x, lambda x: 2 * x),
    ("cube", lambda x: x**3, [0.0, -2.0, 1.5], lambda x: x**3, lambda x: 3 * x * x),
    ("inverse", lambda x: x**-1, [-2.0, 0.5], lambda x: 1 / x, lambda x: -1 / (x * x)),
    ("sqrt", lambda x: x**0.5, [0.25, 4.0], math.sqrt, lambda x: 0.5 / math.sqrt(x)),
    ("pow0", lambda x: x**0, [0.0, -2.0, 5.0], lambda x: 1.0, lambda x: 0.0),
    ("pow1", lambda x: x**1, [0.0, -2.0], lambda x: x, lambda x: 1.0),
    ("neg-base-int-pow", lambda x: x**2.0, [-3.0], lambda x: 9.0, lambda x: -6.0),
    ("add-const", lambda x: x + 2, [0.0, -1.0], lambda x: x + 2, lambda x: 1.0),
    ("radd-const", lambda x: 2 + x, [0.0, -1.0], lambda x: 2 + x, lambda x: 1.0),
    ("sub-const", lambda x: x - 2, [0.0, 5.0], lambda x: x - 2, lambda x: 1.0),
    ("rsub-const", lambda x: 2 - x, [0.0, 5.0], lambda x: 2 - x, lambda x: -1.0),
    ("mul-const", lambda x: x * 3, [0.0, -1.5], lambda x: 3 * x, lambda x: 3.0),
    ("rmul-const", lambda x: 3 * x, [0.0, -1.5], lambda x: 3 * x, lambda x: 3.0),
    ("div-const", lambda x: x / 4, [0.0, -1.5], lambda x: x / 4, lambda x: 0.25),
    ("rdiv-const", lambda x: 2 / x, [-4.0, 0.5], lambda x: 2 / x, lambda x: -2 / (x * x)),
    ("rpow-const", lambda x: 2**x, [0.0, -3.0, 10.0], lambda x: 2**x,
     lambda x: 2**x * math.log(2)),
    ("zero-rpow", lambda x: 0**x, [2.0, 0.0], lambda x: 0.0**x, lambda x: 0.0),
]


@pytest.mark.parametrize(
    "name, f, points, value, slope", UNARY_CASES, ids=[c[0] for c in UNARY_CASES]
)
def test_unary_value_and_gradient(name, f, points, value, slope):
    for x in points:
        data, (grad,) = grads_of(f, x)
        assert data == pytest.approx(value(x), rel=1e-15, abs=0), (name, x)
        assert grad == pytest.approx(slope(x), rel=1e-15, abs=1e-300), (name, x)


@pytest.mark.parametrize(
    "name, f, a, b, value, da, db",
    [
        ("add", lambda a, b: a + b, 2.0, -5.0, -3.0, 1.0, 1.0),
        ("sub", lambda a, b: a - b, 2.0, -5.0, 7.0, 1.0, -1.0),
        ("mul", lambda a, b: a * b, 2.0, -5.0, -10.0, -5.0, 2.0),
        ("mul-zero", lambda a, b: a * b, 0.0, -5.0, 0.0, -5.0, 0.0),
        ("div", lambda a, b: a / b, 3.0, -2.0, -1.5, -0.5, -0.75),
        ("div-zero-numerator", lambda a, b: a / b, 0.0, 4.0, 0.0, 0.25, 0.0),
        ("pow", lambda a, b: a**b, 2.0, 3.0, 8.0, 12.0, 8.0 * math.log(2.0)),
        ("pow-zero-base", lambda a, b: a**b, 0.0, 2.0, 0.0, 0.0, 0.0),
        ("pow-zero-exponent", lambda a, b: a**b, 5.0, 0.0, 1.0, 0.0, math.log(5.0)),
        ("pow-zero-zero", lambda a, b: a**b, 0.0, 0.0, 1.0, 0.0, 0.0),
        ("large", lambda a, b: a * b, 1e150, -1e150, -1e300, -1e150, 1e150),
    ],
)
def test_binary_value_and_gradient(name, f, a, b, value, da, db):
    data, grads = grads_of(f, a, b)
    assert data == pytest.approx(value, rel=1e-15)
    assert grads == pytest.approx([da, db], rel=1e-15)


def test_sum_and_dot_values_and_gradients():
    a, b, c = Value(1.5), Value(-2.0), Value(4.0)
    s = Value.sum([a, b, c, a, 2.0])
    assert s._op == "sum" and s.data == 7.0
    s.backward()
    assert (a.grad, b.grad, c.grad) == (2.0, 1.0, 1.0)

    ws = [Value(0.5), Value(-1.0)]
    xs = [Value(2.0), Value(3.0)]
    bias = Value(0.25)
    d = Value.dot(ws, xs, bias)
    assert d._op == "dot" and d.data == 0.5 * 2.0 - 1.0 * 3.0 + 0.25
    assert d._prev == (ws[0], xs[0], ws[1], xs[1], bias)
    d.backward()
    assert [w.grad for w in ws] == [2.0, 3.0]
    assert [x.grad for x in xs] == [0.5, -1.0]
    assert bias.grad == 1.0


def test_dot_accepts_numbers_and_no_bias_and_matches_the_fine_grained_sum():
    ws = [Value(w) for w in (0.3, -0.7, 1.1)]
    xs = [0.2, -1.3, 0.9]
    fused = Value.dot(ws, xs, 0.1)
    fine = sum((w * x for w, x in zip(ws, xs)), Value(0.1))
    assert fused.data == fine.data  # the same additions, ((b + w1x1) + w2x2) + w3x3
    p = [w.data * x for w, x in zip(ws, xs)]
    assert Value.dot(ws, xs).data == (p[0] + p[1]) + p[2]
    assert Value.sum([]).data == 0.0 and Value.dot([], []).data == 0.0


def test_dot_adds_one_product_at_a_time_as_micrograds_graph_does():
    # 1e16 + 1 rounds back to 1e16 in float64, so the sum in this order is 0. A
    # compensated sum (Python 3.12's sum(), math.fsum) would give 1 and a fused
    # neuron would stop matching the fine-grained one.
    ws, xs = [Value(1.0), Value(1.0), Value(1.0)], [1e16, 1.0, -1e16]
    fine = sum((w * x for w, x in zip(ws, xs)), Value(0.0))
    assert fine.data == 0.0
    assert Value.dot(ws, xs, 0.0).data == 0.0 and Value.dot(ws, xs).data == 0.0


def test_dot_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="dot needs sequences of equal length, got 2 and 3"):
        Value.dot([1.0, 2.0], [1.0, 2.0, 3.0])


def test_comparisons_use_data_and_equality_is_identity():
    a, b = Value(1.0), Value(1.0)
    assert (a < 2) is True and (a <= b) is True and (a > b) is False and (a >= 1.0) is True
    assert (2 > a) is True and (0.5 < a) is True
    assert a != b and a == a
    assert len({a, b}) == 2 and {a: 1}[a] == 1
    with pytest.raises(TypeError, match="cannot compare Value < str"):
        a < "x"  # noqa: B015


# --------------------------------------------------------- property tests: every op


@settings(max_examples=60)
@given(x=finite)
@pytest.mark.parametrize(
    "f",
    [
        lambda x: -x,
        lambda x: x.tanh(),
        lambda x: x.sigmoid(),
        lambda x: (x * 0.1).exp(),
        lambda x: x**2,
        lambda x: x**3,
        lambda x: 3 - x,
        lambda x: x * x * x - 2 * x,
    ],
    ids=["neg", "tanh", "sigmoid", "exp", "square", "cube", "rsub", "poly"],
)
def test_smooth_ops_match_central_differences(f, x):
    check(f, x)


@settings(max_examples=60)
@given(x=away_from_zero)
@pytest.mark.parametrize(
    "f",
    [lambda x: x.relu(), abs, lambda x: 1 / x, lambda x: x**-2, lambda x: abs(x).log()],
    ids=["relu", "abs", "rdiv", "inverse-square", "log"],
)
def test_ops_with_a_kink_or_pole_at_zero_match_central_differences(f, x):
    check(f, x)


@settings(max_examples=60)
@given(a=finite, b=away_from_zero)
@pytest.mark.parametrize(
    "f",
    [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b],
    ids=["add", "sub", "mul", "div"],
)
def test_binary_ops_match_central_differences(f, a, b):
    check(f, a, b)


@settings(max_examples=60)
@given(a=st.floats(0.1, 5), b=st.floats(-3, 3))
def test_value_power_matches_central_differences(a, b):
    check(lambda a, b: a**b, a, b)
    check(lambda b: 2.5**b, b)


@settings(max_examples=40)
@given(ws=st.lists(finite, min_size=1, max_size=6), data=st.data())
def test_sum_and_dot_match_central_differences(ws, data):
    xs = data.draw(st.lists(finite, min_size=len(ws), max_size=len(ws)))
    n = len(ws)
    check(lambda *v: Value.dot(v[:n], v[n:], v[0]), *ws, *xs)
    check(lambda *v: Value.sum(v) * v[0], *ws)


# ---------------------------------------------------------- graph shapes and semantics


def test_reused_node_in_a_diamond():
    a = Value(3.0)
    b = a + a  # a used twice by one node
    c = b * b  # b used twice by one node
    c.backward()
    assert c.data == 36.0
    assert b.grad == 12.0  # 2b
    assert a.grad == 24.0  # 8a


def test_node_with_many_parents_and_constants_on_both_sides():
    x = Value(0.5)
    parents = [x * k for k in range(1, 11)] + [k - x for k in range(5)] + [x / 2, 2 / x]
    root = Value.sum(parents)
    root.backward()
    expected = sum(range(1, 11)) - 5 + 0.5 - 2 / 0.25
    assert x.grad == pytest.approx(expected, rel=1e-15)


def test_diamond_through_different_ops_matches_central_differences():
    def f(a, b):
        shared = a * b + 1
        left, right = shared.tanh(), shared.exp()
        return left * right - shared**2 / (right + 1)

    check(f, 0.3, -0.8)


def test_second_backward_doubles_leaf_grads_and_recomputes_the_rest():
    a, b, d = Value(2.0), Value(-3.0), Value(10.0)
    c = a + b
    e = c * d
    e.backward()
    assert (a.grad, b.grad, c.grad, d.grad, e.grad) == (10.0, 10.0, 10.0, -1.0, 1.0)
    e.backward()
    assert (a.grad, b.grad, d.grad) == (20.0, 20.0, -2.0)  # leaves: exactly twice
    assert (c.grad, e.grad) == (10.0, 1.0)  # non-leaves: recomputed, not accumulated


def test_backward_of_a_leaf_accumulates_one():
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_backward_order_puts_every_node_after_its_consumers():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = e.backward_order()
    assert len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for child in node._prev:
            assert position[child] > position[node]
    assert order[0] is e
    assert e.backward_order() == order  # deterministic


def test_a_million_node_chain_forward_and_backward():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert y.data == 1_000_000.5
    assert x.grad == 1.0
    del y  # freeing a deep chain must not recurse either


def test_a_deep_chain_of_tanh_matches_the_product_of_slopes():
    x = Value(0.3)
    y, slope = x, 1.0
    for _ in range(20_000):
        z = y.data * 1.0001 + 0.001
        slope *= 1.0001 * (1 - math.tanh(z) ** 2)
        y = (y * 1.0001 + 0.001).tanh()
    y.backward()
    assert x.grad == pytest.approx(slope, rel=1e-9)


def test_graph_is_freed_by_reference_counting_alone():
    gc.collect()
    gc.disable()
    try:
        a, b = Value(2.0), Value(3.0)
        hidden = (a * b).tanh()
        loss = Value.dot([hidden, a], [b, 2.0], 1.0).relu() + hidden.exp()
        loss.backward()
        watched = [weakref.ref(hidden), weakref.ref(loss)]
        watched += [weakref.ref(node) for node in loss.backward_order() if node._prev]
        del hidden, loss
        assert [ref() for ref in watched] == [None] * len(watched)
        assert a.grad != 0.0  # the leaves the user still holds are untouched
    finally:
        gc.enable()


def test_backward_steps_hold_no_reference_to_their_output():
    a = Value(1.0)
    out = (a * 2 + a.tanh()) ** 2 + Value.dot([a], [a], a).relu()
    for node in out.backward_order():
        step = node._grad_fn  # what the node keeps; _backward is made on each access
        step = getattr(step, "closure", step)
        cells = getattr(step, "__closure__", None) or ()
        assert all(cell.cell_contents is not node for cell in cells)
        assert node not in gc.get_referents(node._grad_fn)
    powers = [n for n in out.backward_order() if n._op == "**2"]
    assert len(powers) == 1 and powers[0]._grad_fn.exponent == 2.0  # the step keeps n, not out


# ---------------------------------------------------------------------------- no_grad


def test_no_grad_records_nothing_and_restores_on_exit():
    a = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        b = (a * 3).tanh() + Value.dot([a], [a])
    assert is_grad_enabled()
    assert b._prev == () and b.data == pytest.approx(math.tanh(6.0) + 4.0)
    b.backward()
    assert a.grad == 0.0  # nothing flowed back to a
    assert (a * 3)._prev != ()


def test_no_grad_as_decorator_nested_and_after_an_exception():
    @no_grad()
    def evaluate(v):
        assert not is_grad_enabled()
        return v * v

    a = Value(3.0)
    assert evaluate(a)._prev == () and evaluate(a).data == 9.0
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            assert (a * a)._prev == (a, a)
        assert not is_grad_enabled()
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()


def test_no_grad_as_bare_decorator_and_on_generators():
    @no_grad
    def evaluate(v):
        return v * v

    @no_grad()
    def predictions(vs):
        for v in vs:
            received = yield v * 2
            assert received is None or received == "ok"

    a = Value(3.0)
    assert evaluate(a)._prev == () and evaluate.__name__ == "evaluate"
    outs = list(predictions([a, a]))
    assert [o.data for o in outs] == [6.0, 6.0] and all(o._prev == () for o in outs)
    assert is_grad_enabled()
    gen = predictions([a, a])
    next(gen)
    assert is_grad_enabled()  # between steps the caller's mode is back
    assert gen.send("ok")._prev == ()


def test_no_grad_is_per_thread():
    seen = []
    inside, release = threading.Event(), threading.Event()

    def worker():
        inside.wait()
        seen.append(is_grad_enabled())
        release.set()

    thread = threading.Thread(target=worker)
    thread.start()
    with no_grad():
        inside.set()
        release.wait(5)
    thread.join(5)
    assert seen == [True]


# ------------------------------------------------------------------------------ numerics


def test_nan_propagates_through_relu_instead_of_vanishing():
    assert math.isnan(Value(float("nan")).relu().data)
    assert math.isnan((1 - Value(float("nan"))).relu().data)  # a hinge term stays NaN


def test_saturating_functions_stay_finite_at_extremes():
    assert Value(1000.0).tanh().data == 1.0 and Value(-1000.0).tanh().data == -1.0
    assert Value(1000.0).sigmoid().data == 1.0 and Value(-1000.0).sigmoid().data == 0.0
    assert Value(-40.0).sigmoid().data == pytest.approx(math.exp(-40.0), rel=1e-15)
    for x in (1000.0, -1000.0):
        v = Value(x)
        v.sigmoid().backward()
        assert v.grad == 0.0
    assert Value(700.0).exp().data == pytest.approx(1.0142320547350045e304, rel=1e-15)


@pytest.mark.parametrize(
    "expr, error, message",
    [
        (lambda: Value(1000.0).exp(), OverflowError, r"exp overflows: exp\(1000\)"),
        (lambda: Value(0.0).log(), ValueError, r"log is defined only for x > 0, got log\(0\)"),
        (lambda: Value(-1.0).log(), ValueError, r"log is defined only for x > 0, got log\(-1\)"),
        (lambda: Value(-2.0) ** Value(0.5), ValueError,
         r"non-negative base, got \(-2\) \*\* Value\(0.5\)"),
        (lambda: (-2) ** Value(0.5), ValueError,
         r"non-negative base, got \(-2\) \*\* Value\(0.5\)"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"0 raised to a negative power, 0 \*\* -1"),
        (lambda: Value(-8.0) ** (1 / 3), ValueError,
         r"negative base to a fractional power is not real, -8 \*\* 0.333333"),
        (lambda: 1 / Value(0.0), ZeroDivisionError,
         r"division by zero in /: 1 / Value\(data=0.0\)"),
        (lambda: Value(3.0) / 0, ZeroDivisionError,
         r"division by zero in /: 3 / Value\(data=0.0\)"),
        (lambda: Value(10.0) ** 400, OverflowError, r"\*\* overflows: 10 \*\* 400"),
    ],
)
def test_out_of_domain_input_names_the_op_and_the_value(expr, error, message):
    with pytest.raises(error, match=message):
        expr()


def test_infinite_gradient_is_an_error_not_a_silent_value():
    x = Value(0.0)
    y = x**0.5
    assert y.data == 0.0
    with pytest.raises(ZeroDivisionError, match=r"the gradient of x \*\* 0.5 is infinite at x = 0"):
        y.backward()


# ------------------------------------------------------ random expression DAGs vs references

def build_ours(program, limit, margin):
    """Run the program on Values, rejecting out-of-domain and ill-conditioned cases.

    Within ``margin`` of a kink or a pole, a gradient is either undefined or the sum
    of huge terms that cancel, where the order of float additions decides the result.
    """
    try:
        nodes, root = run_program(program, Value)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)
    assume(all(abs(n.data) < limit for n in nodes + [root]))
    for node in nodes:  # every node: a central difference re-runs the whole program
        if node._op in ("ReLU", "abs", "log", "/") or node._op.startswith("**"):
            assume(abs(node._prev[0].data) > margin)
        if node._op == "/":
            assume(abs(node._prev[1].data) > margin)
        if node._op == "**":
            assume(node._prev[0].data > margin)
    return nodes, root


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
@given(program=programs())
def test_random_dags_match_central_differences(program):
    nodes, root = build_ours(program, limit=1e3, margin=1e-2)
    leaves = nodes[: len(program[0])]
    try:
        root.backward()
    except ZeroDivisionError:
        assume(False)

    def f(*xs):
        return run_program((xs, program[1]), lambda v: v)[1]

    result = gradcheck(f, *leaves, eps=1e-6, atol=1e-5, rtol=1e-4, verbose=False)
    assert result, str(result)


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
@given(program=programs())
def test_random_dags_match_pytorch_in_float64(program, torch):
    nodes, root = build_ours(program, limit=1e6, margin=1e-3)
    try:
        root.backward()
    except ZeroDivisionError:
        assume(False)
    tensors, troot = run_program(
        program, lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True)
    )
    troot.backward()
    n_leaves = len(program[0])
    for ours, theirs in zip(nodes + [root], tensors + [troot]):
        assert math.isclose(ours.data, theirs.item(), rel_tol=1e-12, abs_tol=1e-12)
    for leaf, tleaf in zip(nodes[:n_leaves], tensors[:n_leaves]):
        expected = 0.0 if tleaf.grad is None else tleaf.grad.item()
        assume(math.isfinite(expected))
        scale = max(1.0, max(abs(n.data) for n in nodes))
        assert math.isclose(leaf.grad, expected, rel_tol=1e-12, abs_tol=1e-12 * scale), (
            leaf.grad, expected)


# ------------------------------------------------------------ ops written outside the engine


def test_an_op_attached_the_micrograd_way_backpropagates():
    def sin(x: Value) -> Value:
        out = Value(math.sin(x.data), (x,), "sin")
        def _backward(grad: float) -> None:
            x.grad += math.cos(x.data) * grad
        out._backward = _backward
        return out

    check(lambda x: sin(x * x) * 3, 0.4)
    x = Value(0.4)
    out = sin(x)
    out._backward(2.0)  # micrograd's attribute runs the attached closure
    assert x.grad == 2.0 * math.cos(0.4)


def test_the_lecture_step_by_step_backward_runs_unchanged():
    # micrograd's lecture: set o.grad by hand, then call each node's _backward() in turn
    x1, w1, b = Value(2.0), Value(-3.0), Value(6.8813735870195432)
    x1w1 = x1 * w1
    n = x1w1 + b
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    n._backward()
    x1w1._backward()
    assert n.grad == pytest.approx(0.5) and b.grad == pytest.approx(0.5)
    assert x1.grad == pytest.approx(-1.5) and w1.grad == pytest.approx(1.0)
    leaf = Value(1.0)
    leaf.grad = 0.25
    leaf._backward()  # a leaf's step passes nothing on and changes nothing
    assert leaf.grad == 0.25 and x1.grad == pytest.approx(-1.5)


def test_a_lecture_style_closure_without_an_argument_still_works():
    x = Value(0.4)
    out = Value(math.exp(x.data), (x,), "exp")
    def _backward():  # micrograd's lecture: reads out.grad itself
        x.grad += out.data * out.grad
    out._backward = _backward
    (out * 2).backward()
    assert x.grad == 2 * math.exp(0.4)


def test_a_node_with_inputs_but_no_backward_is_explained():
    x = Value(0.4)
    out = Value(math.sin(x.data), (x,), "sin")
    with pytest.raises(TypeError, match=r"made by op 'sin', has inputs but no _backward"):
        (out * 2).backward()
