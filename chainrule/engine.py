"""The autograd engine: a scalar ``Value`` that records the operations applied to it.

Each op below is written the way micrograd writes it: the forward computation, then,
right under it, the chain-rule step ``_<op>_backward`` that pushes the output's
gradient to the inputs. Two differences matter for speed:

* The step is *handed* the output node and its gradient, ``step(out, grad)``, instead
  of capturing ``out`` in a closure as micrograd does. A graph therefore holds no
  reference cycles and is freed by reference counting the moment its last name is
  dropped, without waking Python's cyclic garbage collector.
* Each op has one step function, shared by all its nodes (it finds the inputs in
  ``out._prev``), rather than a new closure per node. A node is then just a ``Value``
  and its ``_prev`` tuple: less memory, and fewer objects for the collector to scan
  while a graph is alive (a closure adds three to four objects per node; that made a
  fine-grained training step about three times slower).

The step is stored in ``node._grad_fn`` and ``backward()`` calls
``node._grad_fn(node, node.grad)``. micrograd's name still works both ways:
``node._backward()`` runs a node's step by hand, as in micrograd's lecture, and an op
written outside the engine attaches a closure the micrograd way,
``out._backward = _backward``, where ``_backward(grad)`` receives d(root)/d(out)
(the lecture's ``_backward()``, which reads ``out.grad`` itself, works too, at the
price of a reference cycle).
"""

from __future__ import annotations

import inspect
import math
from contextvars import ContextVar
from functools import wraps
from itertools import chain
from numbers import Real
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

__all__ = ["Value", "no_grad", "enable_grad", "is_grad_enabled"]

Number = Union[int, float]
Operand = Union["Value", int, float]
_F = TypeVar("_F", bound=Callable[..., Any])

# A ContextVar rather than a global flag: threads and asyncio tasks each see their own.
_grad_enabled: ContextVar[bool] = ContextVar("chainrule_grad_enabled", default=True)


GradFn = Callable[["Value", float], None]  # step(out, grad), as backward() calls it
_INPUTS_DONE = object()  # a marker in backward_order()'s stack


def _no_backward(out: Value, grad: float) -> None:
    """The step of a leaf: nothing to propagate to."""


class _Closure:
    """A closure attached the micrograd way, ``out._backward = _backward``, as a step.

    Both shapes work: chainrule's ``_backward(grad)``, handed d(root)/d(out), and the
    lecture's ``_backward()``, which reads ``out.grad`` itself (so it captures ``out``:
    a reference cycle that only the cyclic garbage collector frees).
    """

    __slots__ = ("closure", "takes_grad")

    def __init__(self, closure: Callable[..., None]) -> None:
        self.closure = closure
        self.takes_grad = _accepts_one_argument(closure)

    def __call__(self, out: Value, grad: float) -> None:
        if self.takes_grad:
            self.closure(grad)
        else:
            self.closure()


def _accepts_one_argument(func: Callable[..., None]) -> bool:
    try:
        inspect.signature(func).bind(0.0)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins): assume chainrule's shape
        return True
    return True


def _real(data: Any) -> float:
    """``float(data)`` for a real number (int, numpy scalar, Fraction, Decimal, ...)."""
    if type(data) is float:
        return data
    # Strings convert with float() too, but "3" is a typo here, not a number.
    if not isinstance(data, (str, bytes, Value)) and hasattr(type(data), "__float__"):
        try:
            return float(data)
        except (TypeError, ValueError):
            pass
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

    __slots__ = ("data", "grad", "_prev", "_op", "_grad_fn", "label", "__weakref__")

    def __init__(
        self,
        data: Number,
        _children: Tuple[Value, ...] = (),
        _op: str = "",
        label: str = "",
        _backward: Optional[Callable[[float], None]] = None,
        _grad_fn: Optional[GradFn] = None,
    ) -> None:
        # An op defined outside the engine passes a closure _backward(grad), the
        # micrograd way; the built-in ops below pass their shared _grad_fn instead.
        self.data = data if type(data) is float else _real(data)
        self.grad = 0.0
        self._op = _op
        self.label = label
        # Under no_grad() the result is a plain leaf: no parents kept, nothing to call.
        if _children and _grad_enabled.get():
            self._prev = _children
            self._grad_fn = _grad_fn if _backward is None else _Closure(_backward)
        else:
            self._prev = ()
            self._grad_fn = _no_backward

    @property
    def _backward(self) -> Optional[Callable[..., None]]:
        """This node's chain-rule step, by micrograd's name.

        ``node._backward()`` pushes ``node.grad`` to the inputs, as in micrograd's
        lecture; ``node._backward(g)`` pushes ``g`` instead. The function is made on
        each access and never stored, so the node holds no reference to it.
        """
        step = self._grad_fn
        if step is None:  # an op built outside the engine that attached no closure yet
            return None
        def run(grad: Optional[float] = None) -> None:
            step(self, self.grad if grad is None else grad)
        return run

    @_backward.setter
    def _backward(self, closure: Optional[Callable[[float], None]]) -> None:
        self._grad_fn = None if closure is None else _Closure(closure)

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "+")
        return Value(self.data + other.data, (self, other), "+", "", None, Value._add_backward)

    @staticmethod
    def _add_backward(out: Value, grad: float) -> None:  # d(a+b)/da = 1, d(a+b)/db = 1
        a, b = out._prev
        a.grad += grad
        b.grad += grad

    def __mul__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "*")
        return Value(self.data * other.data, (self, other), "*", "", None, Value._mul_backward)

    @staticmethod
    def _mul_backward(out: Value, grad: float) -> None:  # d(a*b)/da = b, d(a*b)/db = a
        a, b = out._prev
        a.grad += b.data * grad
        b.grad += a.data * grad

    def __sub__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "-")
        return Value(self.data - other.data, (self, other), "-", "", None, Value._sub_backward)

    @staticmethod
    def _sub_backward(out: Value, grad: float) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
        a, b = out._prev
        a.grad += grad
        b.grad -= grad

    def __truediv__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _lift(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero in /: {_fmt(self.data)} / Value(data={other.data})"
            )
        return Value(self.data / other.data, (self, other), "/", "", None, Value._div_backward)

    @staticmethod
    def _div_backward(out: Value, grad: float) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b
        a, b = out._prev
        a.grad += grad / b.data
        b.grad -= grad * out.data / b.data

    def __pow__(self, other: Operand) -> Value:
        if isinstance(other, Value):
            return self._pow_value(other)
        if not isinstance(other, (int, float)):
            _lift(other, "**")  # raises the TypeError that names the type
            other = float(other)
        n = other
        x = self.data
        _check_power(x, n, "**")
        def _backward(out: Value, grad: float) -> None:  # d(x**n)/dx = n * x**(n-1)
            self.grad += _power_slope(x, n) * grad  # a closure: it needs n (never out)
        return Value(_power(x, n, "**"), (self,), f"**{n}", "", None, _backward)

    def _pow_value(self, other: Value) -> Value:
        x, y = self.data, other.data
        if x < 0.0:
            raise ValueError(
                f"** with a Value exponent needs a non-negative base, got "
                f"({_fmt(x)}) ** Value({_fmt(y)}): the gradient x**y * log(x) "
                "is not real for a negative base"
            )
        _check_power(x, y, "**")
        return Value(_power(x, y, "**"), (self, other), "**", "", None, Value._pow_backward)

    @staticmethod
    def _pow_backward(out: Value, grad: float) -> None:  # d/dx = y * x**(y-1), d/dy = x**y * log(x)
        a, b = out._prev
        x = a.data
        a.grad += _power_slope(x, b.data) * grad
        b.grad += (out.data * math.log(x) if x > 0.0 else 0.0) * grad

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), "neg", "", None, Value._neg_backward)

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
        except OverflowError:
            raise OverflowError(
                f"exp overflows: exp({_fmt(x)}) is larger than the largest float "
                "(exp(x) is finite only for x <= 709.78)"
            ) from None
        return Value(e, (self,), "exp", "", None, Value._exp_backward)

    @staticmethod
    def _exp_backward(out: Value, grad: float) -> None:  # d(e**x)/dx = e**x
        (x,) = out._prev
        x.grad += out.data * grad

    def log(self) -> Value:
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log is defined only for x > 0, got log({_fmt(x)})")
        return Value(math.log(x), (self,), "log", "", None, Value._log_backward)

    @staticmethod
    def _log_backward(out: Value, grad: float) -> None:  # d(log x)/dx = 1/x
        (x,) = out._prev
        x.grad += grad / x.data

    def tanh(self) -> Value:
        t = math.tanh(self.data)  # math.tanh saturates to +-1, never overflows
        return Value(t, (self,), "tanh", "", None, Value._tanh_backward)

    @staticmethod
    def _tanh_backward(out: Value, grad: float) -> None:  # d(tanh x)/dx = 1 - tanh(x)**2
        (x,) = out._prev
        t = out.data
        x.grad += (1.0 - t * t) * grad

    def sigmoid(self) -> Value:
        return Value(_sigmoid(self.data), (self,), "sigmoid", "", None, Value._sigmoid_backward)

    @staticmethod
    def _sigmoid_backward(out: Value, grad: float) -> None:  # d(sigmoid x)/dx = s * (1 - s)
        (x,) = out._prev
        s = out.data
        x.grad += s * (1.0 - s) * grad

    def relu(self) -> Value:
        x = self.data
        # Written so that NaN stays NaN: a diverged model must not look like a zero loss.
        return Value(0.0 if x <= 0.0 else x, (self,), "ReLU", "", None, Value._relu_backward)

    @staticmethod
    def _relu_backward(out: Value, grad: float) -> None:  # d(relu x)/dx = 1 if x > 0 else 0
        if out.data > 0.0:
            (x,) = out._prev
            x.grad += grad

    def __abs__(self) -> Value:
        return Value(abs(self.data), (self,), "abs", "", None, Value._abs_backward)

    @staticmethod
    def _abs_backward(out: Value, grad: float) -> None:  # d|x|/dx = sign(x), 0 at 0 as torch.sign
        (a,) = out._prev
        x = a.data
        a.grad += ((x > 0.0) - (x < 0.0)) * grad

    def abs(self) -> Value:
        return self.__abs__()

    # ------------------------------------------------- n-ary ops (fast neurons)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """One node for ``v1 + v2 + ... + vn``: one node instead of n-1."""
        terms = tuple(v if isinstance(v, Value) else _lift(v, "sum") for v in values)
        return Value(sum([v.data for v in terms], 0.0), terms, "sum", "", None, Value._sum_backward)

    @staticmethod
    def _sum_backward(out: Value, grad: float) -> None:  # d(sum)/dv_i = 1 for every term
        for v in out._prev:
            v.grad += grad

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
        children: Tuple[Value, ...] = tuple(chain.from_iterable(zip(ws, xs)))
        if bias is not None:
            bias = bias if isinstance(bias, Value) else _lift(bias, "dot")
            children += (bias,)
        # Starting from the bias adds in micrograd's order: ((b + w1*x1) + w2*x2) + ...
        start = bias.data if bias is not None else 0.0
        data = sum([w.data * x.data for w, x in zip(ws, xs)], start)
        return Value(data, children, "dot", "", None, Value._dot_backward)

    @staticmethod
    def _dot_backward(out: Value, grad: float) -> None:  # d/dw_i = x_i, d/dx_i = w_i, d/db = 1
        inputs = out._prev  # (w1, x1, w2, x2, ..., wn, xn) or (..., wn, xn, bias)
        for w, x in zip(inputs[0::2], inputs[1::2]):
            w.grad += x.data * grad
            x.grad += w.data * grad
        if len(inputs) % 2:
            inputs[-1].grad += grad

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
        try:
            for node in order:
                if node._prev:
                    node._grad_fn(node, node.grad)
        except TypeError:
            if node._grad_fn is None:
                raise _missing_step(node) from None
            raise

    def backward_order(self) -> List[Value]:
        """Every node reachable from self, each after all the nodes that consume it.

        This is the order ``backward()`` visits them in (a reverse topological order),
        found iteratively, so graph depth is limited by memory, not by recursion.
        """
        # Depth-first, inputs in their order: a node is appended once all its inputs
        # are (a post-order), so the reverse has every node before its inputs. The
        # stack holds only nodes and a marker, no (node, flag) pairs: a pair per node
        # is a container that lives until popped, and makes the collector scan the graph.
        order: List[Value] = []
        visited = set()
        stack: List[Any] = [self]
        while stack:
            node = stack.pop()
            if node is _INPUTS_DONE:  # every input of the node below it is in order
                order.append(stack.pop())
            elif node not in visited:
                visited.add(node)
                inputs = node._prev
                if not inputs:  # a leaf is done at once
                    order.append(node)
                    continue
                stack.append(node)
                stack.append(_INPUTS_DONE)
                for child in reversed(inputs):  # the first input is popped first
                    if child not in visited:
                        stack.append(child)
        order.reverse()
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


def _missing_step(node: Value) -> TypeError:
    return TypeError(
        f"{node!r}, made by op {node._op!r}, has inputs but no _backward: "
        "set out._backward = _backward, where _backward(grad) adds "
        "(local derivative) * grad to each input's .grad"
    )


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
    """Compute values without recording a graph: ``with no_grad(): ...``, ``@no_grad()``
    or ``@no_grad``, as in PyTorch.

    For evaluation, plotting and parameter updates. Results are plain leaves.
    """

    _enabled = False

    def __new__(cls, func: Optional[Callable[..., Any]] = None) -> Any:
        if func is None:
            return super().__new__(cls)
        return cls()(func)  # used bare, as @no_grad: decorate func right away

    def __init__(self, func: Optional[Callable[..., Any]] = None) -> None:
        self._tokens: List[Any] = []

    def __enter__(self) -> None:
        self._tokens.append(_grad_enabled.set(self._enabled))

    def __exit__(self, *exc: object) -> None:
        _grad_enabled.reset(self._tokens.pop())

    def __call__(self, func: _F) -> _F:
        mode = type(self)

        if inspect.isgeneratorfunction(func):
            # The body of a generator runs at each next(), long after the call returned.
            @wraps(func)
            def generator(*args: Any, **kwargs: Any) -> Any:
                steps = func(*args, **kwargs)
                sent = None
                while True:
                    with mode():
                        try:
                            value = steps.send(sent)
                        except StopIteration as stop:
                            return stop.value
                    sent = yield value

            return generator  # type: ignore[return-value]

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
