"""micrograd's ways of writing an op, as the engine runs them. Private to ``engine``."""

from __future__ import annotations

import inspect
from numbers import Real
from typing import Any, Callable, Optional

from . import _scalar as num


class Closure:
    """A closure set as ``out._backward = _backward``, run as a step. Both shapes work:
    chainrule's ``_backward(grad)`` and the lecture's ``_backward()``, which reads
    ``out.grad`` itself (and so keeps a reference cycle the garbage collector frees)."""

    __slots__ = ("closure", "takes_grad")

    def __init__(self, closure: Callable[..., None]) -> None:
        self.closure = closure
        self.takes_grad = accepts_one_argument(closure)

    def __call__(self, out: Any, grad: float) -> None:
        if self.takes_grad:
            self.closure(grad)
        else:
            self.closure()


def accepts_one_argument(func: Callable[..., None]) -> bool:
    try:
        inspect.signature(func).bind(0.0)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins): assume chainrule's shape
        return True
    return True


def missing_step(node: Any) -> TypeError:
    return TypeError(
        f"{node!r}, made by op {node._op!r}, has inputs but no _backward: "
        "set out._backward = _backward, where _backward(grad) adds "
        "(local derivative) * grad to each input's .grad"
    )



def _get_backward(node: Any) -> Callable[..., None]:
    """``node._backward()`` pushes ``node.grad`` to the inputs (micrograd's lecture);
    ``node._backward(g)`` pushes ``g``. Made on each access, never stored."""
    step = node._grad_fn

    def run(grad: Optional[float] = None) -> None:
        if step is None:  # a user's op that attached no closure yet
            raise missing_step(node)
        step(node, node.grad if grad is None else grad)
    return run


def _set_backward(node: Any, closure: Optional[Callable[..., None]]) -> None:
    node._grad_fn = None if closure is None else Closure(closure)


# Value._backward: micrograd's name for a node's step, read and set as micrograd does.
micrograd_backward = property(_get_backward, _set_backward, doc=_get_backward.__doc__)


class ClassOnly:
    """``Value.sum`` and ``Value.dot`` take all their inputs as arguments: called on
    one value (``v.sum()``, ``a.sum([b, c])``) they would ignore it, so that is an error."""

    def __init__(self, func: Callable[..., Any], example: str) -> None:
        self.func, self.example = func, example
        self.__doc__ = func.__doc__

    def __get__(self, obj: Optional[Any], cls: Any = None) -> Callable[..., Any]:
        if obj is None:
            return self.func
        def refuse(*args: Any, **kwargs: Any) -> Any:
            name = self.func.__name__[1:]
            raise TypeError(f"Value.{name} takes every input as an argument, on the class: "
                            f"write {self.example} (v.{name}(...) would leave v itself out)")
        return refuse


class GraphGuards:
    """Value as a Python number outside the graph. Comparisons and ``bool()`` read
    ``.data``; ``==`` and ``hash`` stay object identity (Values are graph nodes, used as
    dict keys). What would silently leave the graph, or has no gradient, is an error
    that says what to write (``math.exp(v)`` calls ``__float__``, and with a working
    one ``math.exp(x) * x`` would give x.grad = e instead of 2e)."""

    __slots__ = ()
    data: float

    def __lt__(self, other: Any) -> bool:
        return self.data < _compared(other, "<")

    def __le__(self, other: Any) -> bool:
        return self.data <= _compared(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self.data > _compared(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self.data >= _compared(other, ">=")

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __bool__(self) -> bool:  # as torch: a scalar is true when it is not zero
        return self.data != 0.0

    def __float__(self) -> float:  # math.exp(v) calls it, and the gradient would be lost
        raise TypeError(num.left_graph(self, "float()"))

    def __int__(self) -> int:
        raise TypeError(num.left_graph(self, "int()"))

    def __round__(self, ndigits: Optional[int] = None) -> Any:
        raise TypeError(num.left_graph(self, "round()"))

    def __floordiv__(self, other: Any) -> Any:
        raise TypeError(num.no_op("//", "a / b for division, or a.data // b"))

    def __mod__(self, other: Any) -> Any:
        raise TypeError(num.no_op("%", "a - b * k with your own k, or a.data % b"))

    def __divmod__(self, other: Any) -> Any:
        raise TypeError(num.no_op("divmod", "divmod(a.data, b) for the numbers"))

    __rfloordiv__, __rmod__, __rdivmod__ = __floordiv__, __mod__, __divmod__


def _compared(other: Any, op: str) -> float:
    if isinstance(other, GraphGuards):  # a Value
        return other.data
    if isinstance(other, Real):
        return other  # type: ignore[return-value]
    raise TypeError(f"cannot compare Value {op} {type(other).__name__} ({num.short(other)})")
