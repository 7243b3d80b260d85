"""gradcheck: agrees with correct closures, catches wrong ones, and explains itself."""

from __future__ import annotations

import math

import pytest

from chainrule import Value, gradcheck


def sin_with(derivative):
    """A user-written op, as in the exercises: forward line plus its closure."""

    def sin(x: Value) -> Value:
        def _backward(grad: float) -> None:
            x.grad += derivative(x.data) * grad

        return Value(math.sin(x.data), (x,), "sin", "", _backward)

    return sin


def test_a_correct_closure_passes_and_the_result_is_truthy(capsys):
    x = Value(0.7, label="x")
    result = gradcheck(sin_with(math.cos), x)
    assert result and result.ok
    row = result.rows[0]
    assert row.name == "x" and row.ok
    assert row.analytic == math.cos(0.7)
    assert row.numeric == pytest.approx(math.cos(0.7), abs=1e-9)
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["input", "analytic", "numeric", "abs", "err",
                                               "rel", "err"]
    assert "gradcheck passed: 1 input(s) match" in printed


def test_a_wrong_closure_fails_and_the_table_says_where():
    x, y = Value(0.7, label="x"), Value(2.0)
    wrong_sin = sin_with(lambda v: -math.cos(v))  # sign error, the classic mistake
    result = gradcheck(lambda a, b: wrong_sin(a) * b, x, y, verbose=False)
    assert not result
    assert [row.ok for row in result.rows] == [False, True]
    assert result.rows[0].abs_err == pytest.approx(4 * math.cos(0.7), rel=1e-6)
    assert result.rows[0].rel_err == pytest.approx(2.0, rel=1e-6)
    text = str(result)
    assert "MISMATCH" in text and "input 1" in text
    assert "gradcheck FAILED: 1 of 2 input(s) differ" in text


def test_inputs_keep_their_data_and_grad():
    x = Value(1.5)
    x.grad = 42.0
    gradcheck(lambda v: v * v * v, x, verbose=False)
    assert x.data == 1.5 and x.grad == 42.0


def test_other_leaves_keep_their_grad_too():
    w = Value(3.0)
    w.grad = 0.25
    assert gradcheck(lambda x: x * w + w * w, Value(2.0), verbose=False)
    assert w.grad == 0.25 and w.data == 3.0


def test_tolerances_are_applied_as_documented():
    # analytic 3.0 vs numeric 3.0 + tiny: atol decides the verdict
    x = Value(1.0)
    off_by = sin_with(lambda v: math.cos(v) + 1e-4)
    assert not gradcheck(off_by, x, atol=1e-5, rtol=0.0, verbose=False)
    assert gradcheck(off_by, x, atol=1e-3, rtol=0.0, verbose=False)
    assert gradcheck(off_by, x, atol=0.0, rtol=1e-3, verbose=False)


def test_non_finite_numeric_gradient_is_a_failure():
    # (x * 1e308) * 10 overflows to inf, so the central difference is inf - inf = nan
    result = gradcheck(lambda v: (v * 1e308) * 10, Value(1.0), verbose=False)
    assert not result
    assert math.isnan(result.rows[0].numeric)
    assert "MISMATCH" in str(result)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: gradcheck(lambda: Value(1.0)), ValueError, "at least one input Value"),
        (lambda: gradcheck(lambda v: v, 1.0), TypeError, "input 0 must be a Value, got float"),
        (lambda: gradcheck(lambda v: v.data, Value(1.0)), TypeError,
         "f must return a Value, got float"),
    ],
)
def test_misuse_is_explained(call, error, message):
    with pytest.raises(error, match=message):
        call()
