"""micrograd's ways of writing an op, as the engine runs them. Private to ``engine``."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional


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
