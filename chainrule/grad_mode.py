"""Turning graph recording off and on: ``no_grad``, ``enable_grad``, ``is_grad_enabled``.

Named and shaped after PyTorch's ``torch.autograd.grad_mode``: each is a context
manager and a decorator (``@no_grad()`` or bare ``@no_grad``), generators included.
"""

from __future__ import annotations

import contextlib
import inspect
from contextvars import ContextVar
from functools import wraps
from typing import Any, Callable, List, Optional, TypeVar

__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]

_F = TypeVar("_F", bound=Callable[..., Any])

# A ContextVar rather than a global flag: threads and asyncio tasks each see their own.
grad_enabled: ContextVar[bool] = ContextVar("chainrule_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """True when ops record a graph (the default), False inside ``no_grad()``."""
    return grad_enabled.get()


class no_grad(contextlib.ContextDecorator):
    """Compute values without recording a graph: ``with no_grad(): ...``, ``@no_grad()``
    or ``@no_grad``, as in PyTorch. For evaluation, plotting and parameter updates;
    results are plain leaves.
    """

    _enabled = False

    def __new__(cls, func: Optional[Callable[..., Any]] = None) -> Any:
        if func is None:
            return super().__new__(cls)
        return cls()(func)  # used bare, as @no_grad: decorate func right away

    def __init__(self, func: Optional[Callable[..., Any]] = None) -> None:
        self._tokens: List[Any] = []  # a stack, so one instance can be entered re-entrantly

    def __enter__(self) -> None:
        self._tokens.append(grad_enabled.set(self._enabled))

    def __exit__(self, *exc: object) -> None:
        grad_enabled.reset(self._tokens.pop())

    def __call__(self, func: _F) -> _F:
        if inspect.isgeneratorfunction(func):
            return _wrap_generator(func, type(self))  # type: ignore[return-value]
        return super().__call__(func)


class enable_grad(no_grad):
    """Turn graph recording back on inside a ``no_grad()`` block."""

    _enabled = True


def _wrap_generator(func: Callable[..., Any], mode: type) -> Callable[..., Any]:
    """The body of a generator runs at each next(), send(), throw() and close(), long
    after the call returned, so each of them runs inside the mode (as torch does)."""

    @wraps(func)
    def generator(*args: Any, **kwargs: Any) -> Any:
        inner = func(*args, **kwargs)
        try:
            with mode():
                request = inner.send(None)
            while True:
                try:
                    response = yield request
                except GeneratorExit:
                    with mode():
                        inner.close()
                    raise
                except BaseException as error:  # thrown in by the caller: pass it on
                    with mode():
                        request = inner.throw(error)
                else:
                    with mode():
                        request = inner.send(response)
        except StopIteration as stop:
            return stop.value

    return generator
