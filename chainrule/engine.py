"""The autograd engine: a scalar ``Value`` that records the operations applied to it.

Each op is its forward line and, right under it, its chain-rule step, as in micrograd.
One difference: the step is one function per op, shared by all its nodes and handed
the node, ``step(out, grad)``, instead of a closure per node capturing ``out``. So a
graph holds no reference cycles and is freed the moment its last name drops (the
README's Performance section has the measurements).
"""

from __future__ import annotations

import math
import threading
from itertools import repeat
from typing import Any, Callable, Iterable, List, Optional, Sequence, Set, Tuple, Union

from . import _scalar as num
from ._compat import ClassOnly, Closure, GraphGuards, micrograd_backward, missing_step
from .grad_mode import enable_grad, grad_enabled, is_grad_enabled, no_grad  # noqa: F401

__all__ = ["Value", "Constant", "start_backward", "run_step"]

Number = Union[int, float]
Operand = Union["Value", int, float]
GradFn = Callable[["Value", float], None]  # step(out, grad): push grad to out._prev


class Value(GraphGuards):
    """A scalar that remembers how it was computed, so gradients can flow back to it.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + 1
    >>> c.backward()
    >>> a.grad, b.grad
    (-3.0, 2.0)
    """

    # __dict__ lets client code keep its own attributes (p.m, p.v of an optimizer): 32
    # bytes a node (benchmarks/, the attrs row), and a dict only where one is set.
    __slots__ = ("data", "grad", "_prev", "_op", "_grad_fn", "label", "__dict__", "__weakref__")

    def __init__(
        self,
        data: Number,
        _children: Tuple[Value, ...] = (),
        _op: str = "",
        label: str = "",
        _backward: Optional[Callable[..., None]] = None,
    ) -> None:
        self.data = data if type(data) is float else num.real(data, "Value")
        self.grad = 0.0
        self._op = _op
        self.label = label
        self._prev = tuple(_children) if _children and grad_enabled.get() else ()
        # A user's op attaches its closure the micrograd way (see _backward below).
        self._grad_fn: Optional[GradFn] = _no_step if not self._prev else (
            None if _backward is None else Closure(_backward))

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "+")
        return _node(self.data + other.data, (self, other), "+", Value._add_backward)

    @staticmethod
    def _add_backward(out: Value, grad: float) -> None:  # d(a+b)/da = 1, d(a+b)/db = 1
        a, b = out._prev
        a.grad += grad
        b.grad += grad

    def __mul__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "*")
        return _node(self.data * other.data, (self, other), "*", Value._mul_backward)

    @staticmethod
    def _mul_backward(out: Value, grad: float) -> None:  # d(a*b)/da = b, d(a*b)/db = a
        a, b = out._prev
        a.grad += b.data * grad
        b.grad += a.data * grad

    def __sub__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "-")
        return _node(self.data - other.data, (self, other), "-", Value._sub_backward)

    @staticmethod
    def _sub_backward(out: Value, grad: float) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
        a, b = out._prev
        a.grad += grad
        b.grad -= grad

    def __truediv__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero in /: {num.fmt(self.data)} / Value(data={other.data})")
        return _node(self.data / other.data, (self, other), "/", Value._div_backward)

    @staticmethod
    def _div_backward(out: Value, grad: float) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b
        a, b = out._prev
        a.grad += grad / b.data
        b.grad -= grad * out.data / b.data  # torch's form: -a/b**2 loses digits to cancellation

    def __pow__(self, other: Operand) -> Value:
        if isinstance(other, Value):
            return self._pow_value(other)
        n = other if type(other) is float else num.real(other, "**")
        num.check_power(self.data, n)
        return _node(num.power(self.data, n, "**"), (self,), f"**{num.fmt(n)}", _PowerStep(n))

    # d(x**n)/dx = n * x**(n-1): the step is _PowerStep (below), which keeps n.

    def _pow_value(self, other: Value) -> Value:
        x, y = self.data, other.data
        if x < 0.0:
            raise ValueError(
                f"** with a Value exponent needs a non-negative base, got ({num.fmt(x)}) ** "
                f"Value({num.fmt(y)}): the gradient x**y * log(x) is not real for a negative base"
            )
        num.check_power(x, y)
        return _node(num.power(x, y, "**"), (self, other), "**", Value._pow_backward)

    @staticmethod
    def _pow_backward(out: Value, grad: float) -> None:  # d/dx = y*x**(y-1), d/dy = x**y*log(x)
        a, b = out._prev
        x = a.data
        a.grad += num.power_slope(x, b.data) * grad
        b.grad += (out.data * math.log(x) if x != 0.0 else 0.0) * grad  # NaN stays NaN

    def __neg__(self) -> Value:
        return _node(-self.data, (self,), "neg", Value._neg_backward)

    @staticmethod
    def _neg_backward(out: Value, grad: float) -> None:  # d(-a)/da = -1
        (a,) = out._prev
        a.grad -= grad

    def __radd__(self, other: Operand) -> Value:  # other + self
        return _lift(other, "+") + self

    def __rmul__(self, other: Operand) -> Value:  # other * self
        return _lift(other, "*") * self

    def __rsub__(self, other: Operand) -> Value:  # other - self
        return _lift(other, "-") - self

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        return _lift(other, "/") / self

    def __rpow__(self, other: Operand) -> Value:  # other ** self
        return _lift(other, "**") ** self

    # ---------------------------------------------------------------- functions

    def exp(self) -> Value:
        x = self.data
        try:
            e = math.exp(x)
        except OverflowError:  # name the op and the value, not a bare "math range error"
            raise OverflowError(f"exp overflows: exp({num.fmt(x)}) is larger than the largest "
                                "float (exp(x) is finite only for x <= 709.78)") from None
        return _node(e, (self,), "exp", Value._exp_backward)

    @staticmethod
    def _exp_backward(out: Value, grad: float) -> None:  # d(e**x)/dx = e**x
        (x,) = out._prev
        x.grad += out.data * grad

    def log(self) -> Value:
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log is defined only for x > 0, got log({num.fmt(x)})")
        return _node(math.log(x), (self,), "log", Value._log_backward)

    @staticmethod
    def _log_backward(out: Value, grad: float) -> None:  # d(log x)/dx = 1/x
        (x,) = out._prev
        x.grad += grad / x.data

    def tanh(self) -> Value:
        return _node(math.tanh(self.data), (self,), "tanh", Value._tanh_backward)

    @staticmethod
    def _tanh_backward(out: Value, grad: float) -> None:  # d(tanh x)/dx = 1 - tanh(x)**2
        (x,) = out._prev
        x.grad += (1.0 - out.data * out.data) * grad

    def sigmoid(self) -> Value:
        return _node(num.sigmoid(self.data), (self,), "sigmoid", Value._sigmoid_backward)

    @staticmethod
    def _sigmoid_backward(out: Value, grad: float) -> None:  # d(sigmoid x)/dx = s * (1 - s)
        (x,) = out._prev
        s = out.data
        x.grad += s * (1.0 - s) * grad

    def relu(self) -> Value:
        x = self.data  # written so that NaN stays NaN: a diverged model must not look fine
        return _node(0.0 if x <= 0.0 else x, (self,), "ReLU", Value._relu_backward)

    @staticmethod
    def _relu_backward(out: Value, grad: float) -> None:  # d(relu x)/dx = 1 if x > 0 else 0
        if not out.data <= 0.0:  # at a NaN input the gradient passes through, as in torch
            (x,) = out._prev
            x.grad += grad

    def __abs__(self) -> Value:
        return _node(abs(self.data), (self,), "abs", Value._abs_backward)

    @staticmethod
    def _abs_backward(out: Value, grad: float) -> None:  # d|x|/dx = sign(x), 0 at 0 (torch.sign)
        (a,) = out._prev
        x = a.data
        a.grad += ((x > 0.0) - (x < 0.0)) * grad  # 0 at NaN too, as torch

    def abs(self) -> Value:
        return self.__abs__()

    # ------------------------------------------------- n-ary ops (fast neurons)

    @staticmethod
    def _sum(values: Iterable[Operand]) -> Value:
        """``Value.sum([v1, ..., vn])``: one node for ``v1 + v2 + ... + vn``."""
        terms = tuple(v if isinstance(v, Value) else _lift(v, "sum") for v in values)
        return _node(sum([v.data for v in terms], 0.0), terms, "sum", Value._sum_backward)

    @staticmethod
    def _sum_backward(out: Value, grad: float) -> None:  # d(sum)/dv_i = 1 for every term
        for v in out._prev:
            v.grad += grad

    @staticmethod
    def _dot(ws: Sequence[Operand], xs: Sequence[Operand], bias: Optional[Operand] = None) -> Value:
        """``Value.dot(ws, xs, bias)``: one node for ``b + w1*x1 + ... + wn*xn``, a whole
        neuron's pre-activation. Its inputs are interleaved ``(w1, x1, ..., wn, xn, b)``,
        so a drawing reads like the sum it stands for."""
        if len(ws) != len(xs):
            raise ValueError(f"dot needs sequences of equal length, got {len(ws)} and {len(xs)}")
        values = (*ws, *xs) if bias is None else (*ws, *xs, bias)
        if not all(map(isinstance, values, repeat(Value))):  # numbers among them: lift once
            values = tuple(v if isinstance(v, Value) else _lift(v, "dot") for v in values)
        n = len(ws)
        b = None if bias is None else values[-1]
        return Value._dot_values(values[:n], values[n : 2 * n], b)  # type: ignore[arg-type]

    @staticmethod
    def _dot_values(ws: Sequence[Value], xs: Sequence[Value], bias: Optional[Value]) -> Value:
        """dot of Values, unchecked: nn's neurons call it (a layer checks its inputs once)."""
        inputs: List[Any] = [*ws, *xs]
        inputs[0::2], inputs[1::2] = ws, xs  # interleaved by slice assignment: fast, in C
        data = 0.0
        if bias is not None:  # adding from the bias is micrograd's order: (b + w1*x1) + ...
            inputs.append(bias)
            data = bias.data
        for w, x in zip(ws, xs):  # a loop, not sum(): Python 3.12's sum() compensates rounding
            data += w.data * x.data
        return _node(data, tuple(inputs), "dot", Value._dot_backward)

    @staticmethod
    def _dot_backward(out: Value, grad: float) -> None:  # d/dw_i = x_i, d/dx_i = w_i, d/db = 1
        inputs = out._prev  # (w1, x1, w2, x2, ..., wn, xn) or (..., wn, xn, bias)
        pairs = iter(inputs)
        for w, x in zip(pairs, pairs):  # consecutive pairs, no slices copied
            w.grad += x.data * grad
            x.grad += w.data * grad
        if len(inputs) % 2:
            inputs[-1].grad += grad

    # Both take every input as an argument, on the class: v.sum(...) would leave v out.
    sum = ClassOnly(_sum.__func__, "Value.sum([a, b, c])")  # type: ignore[attr-defined]
    dot = ClassOnly(_dot.__func__, "Value.dot(ws, xs, bias)")  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- backward

    def backward(self) -> None:
        """Fill ``.grad`` of every node this value depends on with d(self)/d(node).

        Leaves accumulate across calls (as in PyTorch); intermediate nodes are
        recomputed from zero on every call, so calling twice doubles leaf grads
        exactly. If a step raises, every ``.grad`` is put back as it was.
        """
        with _backward_lock:  # threads sharing part of a graph take turns, never mix
            order = self.backward_order()
            before = [node.grad for node in order]
            start_backward(self, order)
            try:
                for node in order:
                    if node._prev:
                        node._grad_fn(node, node.grad)  # type: ignore[misc]
            except BaseException as error:
                for node_, grad in zip(order, before):
                    node_.grad = grad
                if isinstance(error, TypeError) and node._grad_fn is None:
                    raise missing_step(node) from None
                raise

    def backward_order(self) -> List[Value]:
        """Every node reachable from self, each before all of its inputs: the order
        ``backward()`` visits them in, found without recursion (depth is limited by
        memory, not by Python's recursion limit)."""
        # Depth-first, inputs in their order; a node is appended once all its inputs
        # are (post-order), so the reversed list has every node before its inputs.
        order: List[Value] = []
        visited: Set[Value] = set()
        stack: List[Any] = [self]
        push, pop, seen, done = stack.append, stack.pop, visited.add, order.append  # hot loop
        all_seen = visited.issuperset
        while stack:
            node = pop()
            if node is _INPUTS_DONE:  # every input of the node below it is in order
                done(pop())
            elif node not in visited:
                seen(node)
                inputs = node._prev
                if not inputs:  # a leaf is done at once
                    done(node)
                    continue
                push(node)
                push(_INPUTS_DONE)  # a marker, not a (node, flag) pair per node
                if not all_seen(inputs):  # in C: most inputs are parameters met before
                    for child in reversed(inputs):  # the first input is popped first
                        if child not in visited:
                            push(child)
        order.reverse()
        return order

    # Comparisons and bool() read .data (as torch); == and hash stay object identity,
    # since Values are graph nodes used as dict keys: both are in _compat.GraphGuards.

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"

    # micrograd code sets and calls ``node._backward``; chainrule keeps the step in
    # ``_grad_fn``, and this property translates, so lecture code runs unchanged.
    _backward = micrograd_backward


def _node(data: float, inputs: Tuple[Value, ...], op: str, step: GradFn) -> Value:
    """A built-in op's result: ``Value(data, inputs, op)`` with its shared step."""
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out._op = op
    out.label = ""
    if _recording():
        out._prev = inputs
        out._grad_fn = step
    else:  # under no_grad() the result is a plain leaf
        out._prev = ()
        out._grad_fn = _no_step
    return out


_new_value = object.__new__
_recording = grad_enabled.get  # bound once: a method lookup per node costs 4x the call


class _PowerStep:
    """The step of ``x ** n`` for a number n: d(x**n)/dx = n * x**(n-1)."""

    __slots__ = ("exponent",)

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def __call__(self, out: Value, grad: float) -> None:
        (x,) = out._prev
        x.grad += num.power_slope(x.data, self.exponent) * grad


def _no_step(out: Value, grad: float) -> None:
    """The step of a leaf: nothing to pass on."""


_INPUTS_DONE = object()  # a marker in backward_order()'s stack
_backward_lock = threading.RLock()


# ------------------------------------------------ the seam for step-by-step views


def start_backward(root: Value, order: Sequence[Value]) -> None:
    """What backward() does before the first step: every intermediate grad is zeroed
    and the root is seeded (1, or +1 for a leaf root, which accumulates like any leaf).
    The step-through in ``chainrule.viz`` calls this so the two can never disagree."""
    for node in order:
        if node._prev:
            node.grad = 0.0
    root.grad = 1.0 if root._prev else root.grad + 1.0


def run_step(node: Value) -> None:
    """One node's chain-rule step, as backward() runs it."""
    step = node._grad_fn
    if step is None:
        raise missing_step(node)
    step(node, node.grad)


class Constant(Value):
    """A number written in an expression, like the 1 in ``x + 1``: a leaf Value that
    drawings and captions call by its number, never an input or a parameter."""

    __slots__ = ()


def _lift(other: Any, op: str) -> Value:
    """Wrap a number as a Constant; name the op and the type when it is not a number."""
    return other if isinstance(other, Value) else Constant(num.real(other, op))

