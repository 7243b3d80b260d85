"""Checkers for the exercises in 05_exercises.ipynb and for 07_backprop_by_hand.ipynb.

Each ``check_*`` function runs a student's answer and returns a ``Verdict``: truthy
when the answer passes, and shown (in a notebook, or with ``print``) as one friendly
line, plus a gradcheck table when a gradient is off. A checker never raises: an
exercise left blank (its body still raises ``NotImplementedError``, or the answer is
still ``...``) is reported as "not done yet", and any other error is reported in one
line, without a traceback, together with a hint.

The gradients are judged with ``chainrule.gradcheck``: the analytic gradient that
``backward()`` computes through the student's closure must match a central
difference of the student's own forward computation.

tests/test_notebooks.py runs these checkers against the blank notebook (all "not
done yet"), the solutions notebook (all "passed") and some typical wrong answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, List, Tuple

from chainrule import Value, gradcheck
from chainrule.explain import close, explain, hint, local_derivatives, names_of, rule

__all__ = [
    "Verdict",
    "PASSED",
    "FAILED",
    "NOT_DONE",
    "MARKS",
    "check_sin",
    "check_softplus",
    "check_hand_gradients",
    "check_learning_rate",
    "line_fit_losses",
    "LINE_X",
    "LINE_Y",
    "check_grad",
    "reveal",
]

PASSED, FAILED, NOT_DONE = "passed", "failed", "not done yet"
# Plain ASCII marks: emoji turn into empty boxes on a projector without an emoji font.
MARKS = {PASSED: "[PASSED]", FAILED: "[NOT YET RIGHT]", NOT_DONE: "[NOT DONE YET]"}


@dataclass(frozen=True)
class Verdict:
    """What a checker found: ``status`` is PASSED, FAILED or NOT_DONE."""

    exercise: str
    status: str
    message: str

    def __bool__(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return f"{MARKS[self.status]} — {self.exercise}: {self.message}"

    __repr__ = __str__  # a checker cell's last line shows the verdict, nothing else


def _report(exercise: str, status: str, message: str) -> Verdict:
    return Verdict(exercise, status, message)


def _not_done(answer: Any) -> bool:
    return answer is ... or answer is None


def _error_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


# --------------------------------------------------------------- a new op's closure


def _check_unary_op(
    exercise: str,
    op: Callable[[Value], Value],
    forward: Callable[[float], float],
    slope_hint: str,
    points: List[float],
) -> Verdict:
    """Shared checks for a student-written op ``op(x: Value) -> Value``."""
    if _not_done(op):
        return _report(exercise, NOT_DONE, "define the function first.")
    for x0 in points:
        x = Value(x0, label="x")
        try:
            out = op(x)
        except NotImplementedError:
            return _report(exercise, NOT_DONE, "the function still raises NotImplementedError; "
                           "replace that line with your code.")
        except Exception as error:  # a checker reports, it never shows a traceback
            return _report(exercise, FAILED, f"calling it with Value({x0}) raised "
                           f"{_error_line(error)}")
        if not isinstance(out, Value):
            return _report(exercise, FAILED, f"it must return a Value, but returned "
                           f"{type(out).__name__} ({out!r}). Wrap the result: "
                           "Value(data, (x,), 'op')")
        expected = forward(x0)
        if not math.isclose(out.data, expected, rel_tol=1e-9, abs_tol=1e-12):
            return _report(exercise, FAILED, f"the forward value is off: at x = {x0} it gives "
                           f"{out.data:.6g}, expected {expected:.6g}.")
        if x not in out.backward_order():
            return _report(exercise, FAILED, "the result does not remember its input: pass "
                           "(x,) as the children, Value(data, (x,), 'op'), so backward() can "
                           "reach x.")
        composite = x not in out._prev  # built from existing ops: fine, but no closure
        # _grad_fn, not _backward: node._backward is always callable (it raises the
        # "has inputs but no _backward" error when there is no step to run)
        if not composite and out._grad_fn is None:
            return _report(exercise, FAILED, "the result has no closure: define "
                           "_backward(grad) and set out._backward = _backward before "
                           "returning out.")
        try:
            single = gradcheck(op, x, verbose=False)
            # Inside a bigger expression: catches a closure that forgets to multiply
            # by the incoming grad. Used twice: catches `x.grad = ...` instead of `+=`.
            chained = gradcheck(lambda v: op(v * v + 0.5) * -2.0, x, verbose=False)
            twice = gradcheck(lambda v: op(v) * 3.0 + op(v), x, verbose=False)
        except NotImplementedError:
            return _report(exercise, NOT_DONE, "the closure still raises NotImplementedError.")
        except Exception as error:
            hint = ""
            if isinstance(error, TypeError) and "positional argument" in str(error):
                hint = (" Hint: in chainrule the closure is handed the output's grad: "
                        "def _backward(grad): x.grad += (local derivative) * grad")
            return _report(exercise, FAILED, f"backward() through your op raised "
                           f"{_error_line(error)}.{hint}")
        if not single:
            row = single.rows[0]
            return _report(exercise, FAILED, f"at x = {x0} backward() gives x.grad = "
                           f"{row.analytic:.6g} but nudging x gives {row.numeric:.6g}. "
                           f"Hint: {slope_hint}\n{single}")
        if not chained:
            return _report(exercise, FAILED, "the gradient is right on its own but wrong inside "
                           "a bigger expression. Hint: multiply the local derivative by the "
                           "incoming grad (the chain rule).")
        if not twice:
            return _report(exercise, FAILED, "the gradient is right for one use of the op but "
                           "wrong when the same x is used twice. Hint: ADD to x.grad "
                           "(x.grad += ...), never overwrite it.")
    note = (" You built it from existing ops, which works too; for practice, also try "
            "writing its own closure." if composite else "")
    return _report(exercise, PASSED, f"forward values and gradients match gradcheck at "
                   f"{len(points)} points, also when used twice and inside a bigger "
                   f"expression.{note}")


def check_sin(sin: Callable[[Value], Value]) -> Verdict:
    """Exercise 1: ``sin(x)`` with its closure; d sin(x)/dx = cos(x)."""
    return _check_unary_op(
        "Exercise 1 (sin)", sin, math.sin,
        "the local derivative of sin(x) is cos(x), times the incoming grad.",
        [-2.0, -0.5, 0.3, 1.7],
    )


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def check_softplus(softplus: Callable[[Value], Value]) -> Verdict:
    """Exercise 2: ``softplus(x) = log(1 + exp(x))``; its derivative is sigmoid(x)."""
    return _check_unary_op(
        "Exercise 2 (softplus)", softplus, _softplus,
        "the local derivative of log(1 + exp(x)) is exp(x) / (1 + exp(x)), the sigmoid "
        "of x, times the incoming grad.",
        [-3.0, -0.4, 0.0, 1.2, 4.0],
    )


# ----------------------------------------------------------- a gradient by hand


def hand_gradient_function(a: Value, b: Value) -> Value:
    """The function of exercise 3: f(a, b) = (a*b + b)**2."""
    return (a * b + b) ** 2


def check_hand_gradients(df_da: Any, df_db: Any) -> Verdict:
    """Exercise 3: df/da and df/db of f(a, b) = (a*b + b)**2 at a = 2, b = -3."""
    exercise = "Exercise 3 (gradient by hand)"
    if _not_done(df_da) or _not_done(df_db):
        return _report(exercise, NOT_DONE, "fill in both df_da and df_db (they are still ...).")
    answers: List[Tuple[str, float]] = []
    for name, answer in (("df_da", df_da), ("df_db", df_db)):
        try:
            answers.append((name, float(answer)))
        except (TypeError, ValueError):
            return _report(exercise, FAILED, f"{name} must be a number, got {answer!r}.")
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    result = gradcheck(hand_gradient_function, a, b, verbose=False)
    wrong = [
        f"{name} = {mine:g} (not quite: check the chain rule for {row.name})"
        for (name, mine), row in zip(answers, result.rows)
        if not math.isclose(mine, row.numeric, rel_tol=1e-4, abs_tol=1e-4)
    ]
    if wrong:
        return _report(exercise, FAILED, "; ".join(wrong) + ". Hint: with u = a*b + b, "
                       "f = u**2, so df/da = df/du * du/da, and the same for b. What is u at "
                       "a = 2, b = -3? And b appears twice in u: each place adds to du/db.")
    return _report(exercise, PASSED, f"df/da = {answers[0][1]:g} and df/db = {answers[1][1]:g} "
                   "agree with backward() and with nudging (gradcheck).")


# ------------------------------------------------------------ a learning rate

# A small, fixed line-fit problem: y = 2x - 1 at six points, fitted from a = b = 0.
LINE_X = [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0]
LINE_Y = [2.0 * x - 1.0 for x in LINE_X]
LR_STEPS = 25
LR_GOAL = 1e-3


def _line_loss(a: Value, b: Value) -> Value:
    return Value.sum((a * x + b - y) ** 2 for x, y in zip(LINE_X, LINE_Y)) / len(LINE_X)


def line_fit_losses(learning_rate: float, steps: int = LR_STEPS) -> List[float]:
    """The loss after each of ``steps`` gradient-descent steps (stops early on overflow)."""
    a, b = Value(0.0, label="a"), Value(0.0, label="b")
    losses = []
    for _ in range(steps):
        try:
            loss = _line_loss(a, b)
        except OverflowError:
            losses.append(math.inf)
            break
        losses.append(loss.data)
        if not math.isfinite(loss.data):
            break
        a.grad = b.grad = 0.0
        loss.backward()
        a.data -= learning_rate * a.grad
        b.data -= learning_rate * b.grad
    return losses


def check_learning_rate(learning_rate: Any) -> Verdict:
    """Exercise 4: a learning rate that brings the line fit's loss below 0.001 in 25 steps."""
    exercise = "Exercise 4 (learning rate)"
    if _not_done(learning_rate):
        return _report(exercise, NOT_DONE, "set learning_rate to a number (it is still ...).")
    try:
        lr = float(learning_rate)
    except (TypeError, ValueError):
        return _report(exercise, FAILED, f"learning_rate must be a number, "
                       f"got {learning_rate!r}.")
    if not math.isfinite(lr) or lr <= 0:
        return _report(exercise, FAILED, f"learning_rate must be a positive number, got {lr:g}: "
                       "gradient descent steps *against* the gradient, by a positive amount.")
    # First make sure the gradient we follow is right, then follow it.
    if not gradcheck(_line_loss, Value(0.5, label="a"), Value(-0.5, label="b"), verbose=False):
        return _report(exercise, FAILED, "the loss gradient itself is wrong (gradcheck failed); "
                       "this is a bug in chainrule, not in your answer.")
    losses = line_fit_losses(lr)
    start, final = losses[0], losses[-1]
    if len(losses) < LR_STEPS or not math.isfinite(final) or final > start:
        where = (f"to {final:.3g} after {len(losses)} steps" if math.isfinite(final)
                 else f"until it overflows after {len(losses)} steps")
        return _report(exercise, FAILED, f"with learning_rate = {lr:g} the loss grows from "
                       f"{start:.3g} {where}: each step overshoots the minimum by more than "
                       "the last. Try a smaller learning rate.")
    if final > LR_GOAL:
        # Which way to go? Whichever of a slightly smaller or larger rate does better.
        smaller, larger = line_fit_losses(lr / 1.25)[-1], line_fit_losses(lr * 1.25)[-1]
        advice = ("The steps overshoot and bounce across the valley: try a smaller "
                   "learning rate." if smaller < larger else
                   "The steps are too timid: try a larger learning rate.")
        return _report(exercise, FAILED, f"with learning_rate = {lr:g} the loss goes from "
                       f"{start:.3g} to {final:.3g} in {LR_STEPS} steps; the goal is below "
                       f"{LR_GOAL:g}. {advice}")
    return _report(exercise, PASSED, f"with learning_rate = {lr:g} the loss falls from "
                   f"{start:.3g} to {final:.2g} in {LR_STEPS} steps.")


# ------------------------------------------------------- backprop by hand (notebook 07)


def _number(answer: Any) -> bool:
    return isinstance(answer, (int, float)) and not isinstance(answer, bool)


def _term(name: str) -> str:
    return name if name.replace("_", "").isalnum() else f"({name})"


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.4g}"


def check_grad(root: Value, node: Value) -> Verdict:
    """Backprop by hand: is the ``node.grad`` the student set right, given the grads they
    set on the values it feeds (reverse order: those come first)? Says which rule broke."""
    if not isinstance(root, Value) or not isinstance(node, Value):
        return _report("check_grad", FAILED, "call it as check_grad(output, value), with two "
                       f"Values; got {type(root).__name__} and {type(node).__name__}.")
    try:
        return _check_grad(root, node)
    except Exception as error:  # a checker reports, it never shows a traceback
        return _report(f"{node.label or 'value'}.grad", FAILED,
                       f"checking it raised {_error_line(error)}")


def _check_grad(root: Value, node: Value) -> Verdict:
    names = names_of(root)
    name = _term(names.get(node, "this value"))
    exercise = f"{name}.grad"
    if node not in names:
        return _report(exercise, FAILED, f"{node!r} is not part of the graph of "
                       f"{root!r}: check which variable you passed.")
    answer = node.grad
    if _not_done(answer):
        return _report(exercise, NOT_DONE, f"fill in {name}.grad = ... with your number.")
    if not _number(answer):
        return _report(exercise, FAILED, f"{name}.grad must be a number, got {answer!r}.")
    if node is root:
        if close(answer, 1.0):
            return _report(exercise, PASSED, f"d({name})/d({name}) = 1: the output's own "
                           "gradient seeds the backward pass.")
        return _report(exercise, FAILED, f"the output's gradient is d({name})/d({name}): how "
                       f"much does {name} change when {name} changes by a little?")
    consumers = [v for v in root.backward_order() if node in v._prev]
    for parent in consumers:  # reverse order: the gradients flowing in must be right first
        mine = parent.grad
        if _not_done(mine) or not _number(mine):
            return _report(exercise, NOT_DONE, f"go in reverse order: {name} feeds into "
                           f"{names[parent]}, so fill in and check {_term(names[parent])}.grad "
                           "first.")
        if not close(mine, explain(root, parent).total):
            return _report(exercise, FAILED, f"{name}'s gradient is built from "
                           f"{_term(names[parent])}.grad, which is not right yet: fix that "
                           "one first.")
    shares = [(p, explain(root, p).total) for p in consumers]
    parts = [(p, g, local_derivatives(p)[node] * g) for p, g in shares]
    expected = explain(root, node).total
    how = " plus ".join(f"{_fmt(c)} through {names[p]}" for p, _, c in parts)
    if close(answer, expected):
        parent, incoming, _ = parts[0]
        detail = (f"{how}: a value used twice gets the SUM of its contributions."
                  if len(parts) > 1 else
                  f"{rule(parent, node, names)}: {_fmt(local_derivatives(parent)[node])} "
                  f"× {_term(names[parent])}.grad ({_fmt(incoming)}).")
        return _report(exercise, PASSED, f"{name}.grad = {_fmt(answer)} is right — {detail}")
    if len(parts) > 1:
        found = [p for p, _, c in parts if close(answer, c)]
        got = (f"you have the part through {names[found[0]]} only. " if found else "")
        return _report(exercise, FAILED, f"{name}.grad = {_fmt(answer)} is not right yet: "
                       f"{got}Hint: a value used twice: add the two contributions, one per "
                       f"use ({', '.join(names[p] for p, _, _ in parts)}).")
    parent, incoming, _ = parts[0]
    return _report(exercise, FAILED, f"{name}.grad = {_fmt(answer)} is not right yet. "
                   f"Hint: {hint(answer, parent, node, incoming, 0.0, names)}.")


def reveal(root: Value) -> Verdict:
    """Compare every grad set by hand with backward()'s, then leave backward()'s grads."""
    names = names_of(root)
    order = root.backward_order()
    answers = {v: v.grad for v in order}
    for v in order:
        v.grad = 0.0
    root.backward()
    rows, right, done = [], 0, 0
    for v in order:
        mine = answers[v]
        blank = _not_done(mine) or not _number(mine)
        ok = not blank and close(mine, v.grad)
        done += not blank
        right += ok
        mark = "(blank)" if blank else ("right" if ok else "WRONG")
        rows.append((names[v], "" if blank else _fmt(mine), _fmt(v.grad), mark))
    widths = [max(len(r[k]) for r in rows + [("value", "yours", "backward()", "")])
              for k in range(4)]
    table = "\n".join(f"  {a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}"
                       for a, b, c, d in [("value", "yours", "backward()", "")] + rows)
    status = PASSED if right == len(order) else (NOT_DONE if done < len(order) else FAILED)
    return _report("backward() reveals", status, f"{right} of {len(order)} gradients you "
                   f"filled in by hand agree with backward().\n{table}")
