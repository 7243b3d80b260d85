"""The traps closed for learners: values that would leave the graph, misused n-ary ops,
numbers beyond float range, NaN in gradients, failed and concurrent backward() calls,
client attributes, and the grad-mode decorators on generators."""

from __future__ import annotations

import math
import sys
import threading

import pytest
from support import require

from chainrule import Value, enable_grad, is_grad_enabled, no_grad
from chainrule.engine import run_step, start_backward

# ------------------------------------------------------------- leaving the graph


@pytest.mark.parametrize("call", [math.exp, math.tanh, math.log, math.sqrt, float, math.floor])
def test_math_functions_on_a_value_are_an_error_that_says_what_to_write(call):
    x = Value(2.0)
    with pytest.raises(TypeError, match=r"would leave the graph.*v\.exp\(\).*v\.data"):
        call(x)


def test_math_exp_times_x_can_no_longer_give_a_silently_wrong_gradient():
    x = Value(1.0)
    with pytest.raises(TypeError, match="leave the graph"):
        math.exp(x) * x  # noqa: B018  (with __float__ this gave x.grad = e instead of 2e)
    y = x.exp() * x
    y.backward()
    assert x.grad == 2 * math.e


@pytest.mark.parametrize("call, hint", [
    (int, r"int\(\) of a Value would leave the graph"),
    (round, r"round\(\) of a Value would leave the graph"),
    (lambda v: v // 2, r"no // on Values.*a / b for division, or a\.data // b"),
    (lambda v: 7 // v, r"no // on Values"),
    (lambda v: v % 2, r"no % on Values.*a\.data % b"),
    (lambda v: 7 % v, r"no % on Values"),
    (lambda v: divmod(v, 2), r"no divmod on Values.*divmod\(a\.data, b\)"),
    (lambda v: divmod(7, v), r"no divmod on Values"),
])
def test_operations_without_a_gradient_name_what_to_write_instead(call, hint):
    with pytest.raises(TypeError, match=hint):
        call(Value(5.0))


def test_bool_follows_torch_nonzero_is_true():
    assert bool(Value(0.5)) and bool(Value(-2.0)) and bool(Value(float("nan")))
    assert not bool(Value(0.0)) and not bool(Value(-0.0))
    torch = require("torch")
    for x in (0.5, -2.0, 0.0, -0.0, float("nan")):
        assert bool(Value(x)) == bool(torch.tensor(x))


def test_sum_and_dot_called_on_one_value_are_errors_not_silently_wrong():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    with pytest.raises(TypeError, match=r"write Value\.sum\(\[a, b, c\]\).*leave v itself out"):
        a.sum()
    with pytest.raises(TypeError, match=r"write Value\.sum"):
        a.sum([b, c])  # used to give 5, ignoring a
    with pytest.raises(TypeError, match=r"write Value\.dot\(ws, xs, bias\)"):
        a.dot([b], [c])
    assert Value.sum([a, b, c]).data == 6.0  # the class form is unchanged
    assert Value.dot([a], [b], c).data == 5.0


# ------------------------------------------------------ numbers beyond float range


@pytest.mark.parametrize("make, message", [
    (lambda: Value(10**400), r"^Value: an int of 401 digits \(10000000\.\.\.\) is beyond the "
                             r"float range"),
    (lambda: Value(1.0) + 10**400, r"^\+: an int of 401 digits"),
    (lambda: 10**400 * Value(1.0), r"^\*: an int of 401 digits"),
    (lambda: Value(2.0) ** 10**400, r"^\*\*: an int of 401 digits"),
    (lambda: Value(1.0) / -(10**400), r"^/: an int of 401 digits \(-1000000"),
])
def test_huge_integers_raise_the_projects_error_naming_the_op(make, message):
    with pytest.raises(OverflowError, match=message):
        make()


def test_a_huge_exponent_that_fits_a_float_is_still_checked_for_overflow():
    with pytest.raises(OverflowError, match=r"\*\* overflows: 2 \*\* 1e\+300"):
        Value(2.0) ** 10**300


# ----------------------------------------------------------------- NaN, as torch


def test_nan_reaches_the_gradient_of_relu_and_of_a_value_exponent_as_in_torch():
    torch = require("torch")
    nan = float("nan")
    x = Value(nan)
    x.relu().backward()
    tx = torch.tensor(nan, dtype=torch.float64, requires_grad=True)
    torch.relu(tx).backward()
    assert x.grad == tx.grad.item() == 1.0  # torch passes the gradient through at NaN

    base, exponent = Value(nan), Value(2.0)
    (base**exponent).backward()
    tb = torch.tensor(nan, dtype=torch.float64, requires_grad=True)
    te = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (tb**te).backward()
    assert math.isnan(exponent.grad) and math.isnan(te.grad.item())
    assert math.isnan(base.grad) and math.isnan(tb.grad.item())

    zero, two = Value(0.0), Value(2.0)
    (zero**two).backward()  # log(0) never reached: torch's gradient is 0 here
    assert zero.grad == 0.0 and two.grad == 0.0

    y = Value(nan)
    abs(y).backward()
    ty = torch.tensor(nan, dtype=torch.float64, requires_grad=True)
    ty.abs().backward()
    assert y.grad == ty.grad.item() == 0.0


# ----------------------------------------------------------- a failed backward()


def test_a_backward_that_raises_leaves_every_grad_as_it_was():
    a, b, c = Value(2.0), Value(3.0), Value(0.0)
    a.grad, b.grad, c.grad = 0.5, -1.0, 7.0
    root = c**0.5 + a * b  # the sqrt step raises after a and b got their share
    middle = root._prev[1]
    middle.grad = 42.0
    with pytest.raises(ZeroDivisionError, match=r"gradient of x \*\* 0.5 is infinite at x = 0"):
        root.backward()
    assert (a.grad, b.grad, c.grad, middle.grad, root.grad) == (0.5, -1.0, 7.0, 42.0, 0.0)


def test_a_user_step_that_raises_restores_grads_too():
    x = Value(1.0)
    out = Value(2.0, (x,), "boom")
    def _backward(grad: float) -> None:
        x.grad += grad
        raise RuntimeError("broken step")
    out._backward = _backward
    root = out * 3 + x
    with pytest.raises(RuntimeError, match="broken step"):
        root.backward()
    assert x.grad == 0.0 and out.grad == 0.0


# ------------------------------------------------------------------ threads


def test_threads_calling_backward_through_a_shared_graph_get_exact_gradients():
    x = Value(1.0)
    shared = x * 1.0 + 0.0  # a shared intermediate: its grad is reset by every backward
    roots = [shared * 1.0 for _ in range(4)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke a race
    try:
        def work(root: Value) -> None:
            for _ in range(300):
                root.backward()
        threads = [threading.Thread(target=work, args=(r,)) for r in roots]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert x.grad == 1200.0


# ------------------------------------------------------------ the step seam


def test_start_backward_and_run_step_are_backward_in_pieces():
    a, b = Value(2.0), Value(-3.0)
    a.grad = 10.0
    c = a * b
    d = c + a
    c.grad = 99.0  # a stale intermediate grad is reset, a leaf's is kept
    order = d.backward_order()
    start_backward(d, order)
    assert (d.grad, c.grad, a.grad) == (1.0, 0.0, 10.0)
    for node in order:
        if node._prev:
            run_step(node)
    assert a.grad == 10.0 + 1.0 + (-3.0) and b.grad == 2.0


def test_run_step_explains_a_node_without_a_step():
    x = Value(0.4)
    out = Value(0.5, (x,), "sin")
    with pytest.raises(TypeError, match=r"made by op 'sin', has inputs but no _backward"):
        run_step(out)


# ------------------------------------------------------------ client attributes


def test_client_code_may_keep_its_own_attributes_on_a_value():
    p = Value(0.5, label="w")
    p.m, p.v = 0.0, 0.0  # an optimizer's moments, kept on the parameter itself
    p._vis_color = "red"  # a drawing's colour, as EurekaLabsAI's micrograd sets it
    p.m = 0.9 * p.m + 0.1 * 2.0
    assert (p.m, p.v, p._vis_color) == (pytest.approx(0.2), 0.0, "red")
    q = p * 2  # attributes stay on the Value they were set on
    assert not hasattr(q, "m") and q.label == ""


def test_a_typo_in_a_builtin_attribute_name_still_fails_loudly_on_reading():
    with pytest.raises(AttributeError):
        Value(1.0).gard  # noqa: B018


# ------------------------------------------------------------------ grad mode


def test_no_grad_on_a_generator_reaches_throw_and_close():
    seen = []

    @no_grad()
    def numbers():
        try:
            while True:
                try:
                    yield is_grad_enabled()
                except ValueError as error:
                    seen.append((str(error), is_grad_enabled()))
        finally:
            seen.append(("closed", is_grad_enabled()))

    gen = numbers()
    assert next(gen) is False and is_grad_enabled()
    assert gen.throw(ValueError("reset")) is False  # thrown in, handled inside no_grad
    gen.close()
    assert seen == [("reset", False), ("closed", False)] and is_grad_enabled()


def test_enable_grad_inside_no_grad_and_as_a_decorator():
    @enable_grad()
    def build(x: Value) -> Value:
        return x * 2

    with no_grad():
        y = build(Value(1.0))
        z = Value(1.0) * 2
    assert len(y._prev) == 2 and z._prev == ()


def test_no_grad_decorator_keeps_return_values_and_the_function_name():
    @no_grad
    def double(x: Value) -> Value:
        return x * 2

    assert double.__name__ == "double" and double(Value(3.0)).data == 6.0
    assert double(Value(3.0))._prev == ()
