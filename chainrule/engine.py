"""The autograd engine: a scalar ``Value`` that records the operations applied to it.

Each op below is written the way micrograd writes it: the forward computation, then
the chain-rule closure ``_backward`` that pushes the output's gradient to the inputs.
One difference matters for speed: the closure is *handed* the output's gradient
(``_backward(grad)``) instead of reading ``out.grad``, so it never captures ``out``.
A graph therefore holds no reference cycles and is freed by reference counting the
moment its last name is dropped, without waking Python's cyclic garbage collector.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from functools import wraps
from numbers import Real
from operator import mul
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

__all__ = ["Value", "no_grad", "enable_grad", "is_grad_enabled"]

Number = Union[int, float]
Operand = Union["Value", int, float]
_F = TypeVar("_F", bound=Callable[..., Any])

# A ContextVar rather than a global flag: threads and asyncio tasks each see their own.
_grad_enabled: ContextVar[bool] = ContextVar("chainrule_grad_enabled", default=True)


def _no_backward(grad: float) -> None:
    """The closure of a leaf: nothing to propagate to."""


def _real(data: Any) -> float:
    if type(data) is float:
        return data
    if isinstance(data, Real) and not isinstance(data, Value):
        return float(data)
    raise TypeError(
        f"Value data must be a real number (int or float), got {type(data).__name__}: {data!r}"
    )


def _lift(other: Any, op: str) -> Value:
    """Wrap a number as a constant Value; name the op and the type when it is not one."""
    if isinstance(other, Value):
        return other
    try:
        return Value(other)
    except TypeError:
        raise TypeError(
            f"unsupported operand for {op}: Value and {type(other).__name__} ({other!r}); "
            "chainrule ops take a Value, an int or a float"
        ) from None


def _fmt(x: float) -> str:
    return f"{x:.6g}"


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to it.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + 1
    >>> c.backward()
    >>> a.grad, b.grad
    (-3.0, 2.0)
    """

    __slots__ = ("data", "grad", "_prev", "_op", "_backward", "label", "__weakref__")

    def __init__(
        self,
        data: Number,
        _children: Tuple[Value, ...] = (),
        _op: str = "",
        label: str = "",
        _backward: Optional[Callable[[float], None]] = None,
    ) -> None:
        self.data = data if type(data) is float else _real(data)
        self.grad = 0.0
        self._op = _op
        self.label = label
        # Under no_grad() the result is a plain leaf: no parents kept, nothing to call.
        if _children and _grad_enabled.get():
            self._prev = _children
            self._backward = _backward
        else:
            self._prev = ()
            self._backward = _no_backward

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "+")
        def _backward(grad: float) -> None:  # d(a+b)/da = 1, d(a+b)/db = 1
            self.grad += grad
            other.grad += grad
        return Value(self.data + other.data, (self, other), "+", "", _backward)

    def __mul__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "*")
        def _backward(grad: float) -> None:  # d(a*b)/da = b, d(a*b)/db = a
            self.grad += other.data * grad
            other.grad += self.data * grad
        return Value(self.data * other.data, (self, other), "*", "", _backward)

    def __sub__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "-")
        def _backward(grad: float) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
            self.grad += grad
            other.grad -= grad
        return Value(self.data - other.data, (self, other), "-", "", _backward)

    def __truediv__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero in /: {_fmt(self.data)} / Value(data={other.data})"
            )
        quotient = self.data / other.data
        def _backward(grad: float) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b**2 = -(a/b)/b
            self.grad += grad / other.data
            other.grad -= grad * quotient / other.data
        return Value(quotient, (self, other), "/", "", _backward)

    def __pow__(self, other: Operand) -> Value:
        if isinstance(other, Value):
            return self._pow_value(other)
        if not isinstance(other, (int, float)):
            _lift(other, "**")  # raises the TypeError that names the type
            other = float(other)
        n = other
        x = self.data
        _check_power(x, n, "**")
        def _backward(grad: float) -> None:  # d(x**n)/dx = n * x**(n-1)
            self.grad += _power_slope(x, n) * grad
        return Value(_power(x, n, "**"), (self,), f"**{n}", "", _backward)

    def _pow_value(self, other: Value) -> Value:
        x, y = self.data, other.data
        if x < 0.0:
            raise ValueError(
                f"** with a Value exponent needs a non-negative base, got "
                f"({_fmt(x)}) ** Value({_fmt(y)}): the gradient x**y * log(x) "
                "is not real for a negative base"
            )
        _check_power(x, y, "**")
        out_data = _power(x, y, "**")
        def _backward(grad: float) -> None:  # d/dx = y * x**(y-1), d/dy = x**y * log(x)
            self.grad += _power_slope(x, y) * grad
            other.grad += (out_data * math.log(x) if x > 0.0 else 0.0) * grad
        return Value(out_data, (self, other), "**", "", _backward)

    def __neg__(self) -> Value:
        def _backward(grad: float) -> None:  # d(-a)/da = -1
            self.grad -= grad
        return Value(-self.data, (self,), "neg", "", _backward)

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
        except OverflowError:
            raise OverflowError(
                f"exp overflows: exp({_fmt(x)}) is larger than the largest float "
                "(exp(x) is finite only for x <= 709.78)"
            ) from None
        def _backward(grad: float) -> None:  # d(e**x)/dx = e**x
            self.grad += e * grad
        return Value(e, (self,), "exp", "", _backward)

    def log(self) -> Value:
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log is defined only for x > 0, got log({_fmt(x)})")
        def _backward(grad: float) -> None:  # d(log x)/dx = 1/x
            self.grad += grad / x
        return Value(math.log(x), (self,), "log", "", _backward)

    def tanh(self) -> Value:
        t = math.tanh(self.data)  # math.tanh saturates to +-1, never overflows
        def _backward(grad: float) -> None:  # d(tanh x)/dx = 1 - tanh(x)**2
            self.grad += (1.0 - t * t) * grad
        return Value(t, (self,), "tanh", "", _backward)

    def sigmoid(self) -> Value:
        s = _sigmoid(self.data)
        def _backward(grad: float) -> None:  # d(sigmoid x)/dx = s * (1 - s)
            self.grad += s * (1.0 - s) * grad
        return Value(s, (self,), "sigmoid", "", _backward)

    def relu(self) -> Value:
        positive = self.data > 0.0
        def _backward(grad: float) -> None:  # d(relu x)/dx = 1 if x > 0 else 0
            if positive:
                self.grad += grad
        return Value(self.data if positive else 0.0, (self,), "ReLU", "", _backward)

    def __abs__(self) -> Value:
        x = self.data
        sign = (x > 0.0) - (x < 0.0)  # 0 at 0, as torch.sign
        def _backward(grad: float) -> None:  # d|x|/dx = sign(x)
            self.grad += sign * grad
        return Value(abs(x), (self,), "abs", "", _backward)

    def abs(self) -> Value:
        return self.__abs__()

    # ------------------------------------------------- n-ary ops (fast neurons)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """One node for ``v1 + v2 + ... + vn``: one closure instead of n-1."""
        terms = tuple(v if isinstance(v, Value) else _lift(v, "sum") for v in values)
        def _backward(grad: float) -> None:  # d(sum)/dv_i = 1 for every term
            for v in terms:
                v.grad += grad
        return Value(sum([v.data for v in terms], 0.0), terms, "sum", "", _backward)

    @staticmethod
    def dot(ws: Sequence[Operand], xs: Sequence[Operand], bias: Optional[Operand] = None) -> Value:
        """One node for ``w1*x1 + ... + wn*xn (+ bias)``: a whole neuron's pre-activation.

        Children are interleaved ``(w1, x1, w2, x2, ..., bias)``, so a drawing reads
        like the sum it stands for.
        """
        if len(ws) != len(xs):
            raise ValueError(f"dot needs sequences of equal length, got {len(ws)} and {len(xs)}")
        ws = [w if isinstance(w, Value) else _lift(w, "dot") for w in ws]
        xs = [x if isinstance(x, Value) else _lift(x, "dot") for x in xs]
        children: Tuple[Value, ...] = tuple(v for pair in zip(ws, xs) for v in pair)
        if bias is not None:
            bias = bias if isinstance(bias, Value) else _lift(bias, "dot")
            children += (bias,)
        w_data = [w.data for w in ws]
        x_data = [x.data for x in xs]
        # Starting from the bias adds in micrograd's order: ((b + w1*x1) + w2*x2) + ...
        data = sum(map(mul, w_data, x_data), bias.data if bias is not None else 0.0)
        def _backward(grad: float) -> None:  # d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1
            for w, x, wd, xd in zip(ws, xs, w_data, x_data):
                w.grad += xd * grad
                x.grad += wd * grad
            if bias is not None:
                bias.grad += grad
        return Value(data, children, "dot", "", _backward)

    # ---------------------------------------------------------------- backward

    def backward(self) -> None:
        """Fill ``.grad`` of every node this value depends on with d(self)/d(node).

        Leaves accumulate across calls (as in PyTorch); intermediate nodes are
        recomputed from zero on every call, so calling twice doubles leaf grads exactly.
        """
        order = self.backward_order()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0 if self._prev else self.grad + 1.0
        for node in order:
            if node._prev:
                node._backward(node.grad)

    def backward_order(self) -> List[Value]:
        """Every node reachable from self, each after all the nodes that consume it.

        This is the order ``backward()`` visits them in (a reverse topological order),
        found iteratively, so graph depth is limited by memory, not by recursion.
        """
        consumers = {self: 0}
        stack = [self]
        while stack:
            for child in stack.pop()._prev:
                if child in consumers:
                    consumers[child] += 1
                else:
                    consumers[child] = 1
                    stack.append(child)
        order = []
        ready = [self]
        while ready:
            node = ready.pop()
            order.append(node)
            for child in node._prev:
                remaining = consumers[child] - 1
                consumers[child] = remaining
                if not remaining:
                    ready.append(child)
        return order

    # ---------------------------------------------------------------- the rest

    def __lt__(self, other: Operand) -> bool:
        return self.data < _compared(other, "<")

    def __le__(self, other: Operand) -> bool:
        return self.data <= _compared(other, "<=")

    def __gt__(self, other: Operand) -> bool:
        return self.data > _compared(other, ">")

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _compared(other, ">=")

    # == and hash stay object identity: Values are graph nodes, used as dict keys.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"


def _compared(other: Any, op: str) -> float:
    if isinstance(other, Value):
        return other.data
    if isinstance(other, Real):
        return other
    raise TypeError(f"cannot compare Value {op} {type(other).__name__} ({other!r})")


def _sigmoid(x: float) -> float:
    # Only ever exponentiate a non-positive number, so neither tail overflows.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _check_power(x: float, n: float, op: str) -> None:
    if x == 0.0 and n < 0:
        raise ZeroDivisionError(f"{op}: 0 raised to a negative power, {_fmt(x)} ** {_fmt(n)}")
    if x < 0.0 and not float(n).is_integer():
        raise ValueError(
            f"{op}: a negative base to a fractional power is not real, {_fmt(x)} ** {_fmt(n)}"
        )


def _power_slope(x: float, n: float) -> float:
    """d(x**n)/dx = n * x**(n-1), which is 0 for n == 0 even at x == 0."""
    return n * _power(x, n - 1, f"the gradient of x ** {_fmt(n)}") if n else 0.0


def _power(x: float, n: float, what: str) -> float:
    try:
        return float(x**n)
    except ZeroDivisionError:
        raise ZeroDivisionError(f"{what} is infinite at x = {_fmt(x)}") from None
    except OverflowError:
        raise OverflowError(f"{what} overflows: {_fmt(x)} ** {_fmt(n)}") from None


class no_grad:
    """Compute values without recording a graph: ``with no_grad(): ...`` or ``@no_grad()``.

    For evaluation, plotting and parameter updates. Results are plain leaves.
    """

    _enabled = False

    def __init__(self) -> None:
        self._tokens: List[Any] = []

    def __enter__(self) -> None:
        self._tokens.append(_grad_enabled.set(self._enabled))

    def __exit__(self, *exc: object) -> None:
        _grad_enabled.reset(self._tokens.pop())

    def __call__(self, func: _F) -> _F:
        mode = type(self)

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mode():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class enable_grad(no_grad):
    """Turn graph recording back on inside a ``no_grad()`` block."""

    _enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled.get()
