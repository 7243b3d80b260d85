"""Numbers for the engine: conversions, domain checks and the error messages that name
the op and the value. Private to ``engine``; imports nothing of the package."""

from __future__ import annotations

import math
from typing import Any


def real(data: Any, op: str) -> float:
    """``float(data)`` for a real number (int, numpy scalar, Fraction, Decimal, ...)."""
    # A Value's own __float__ raises (it would leave the graph); strings convert with
    # float() too, but "3" is a typo here, not a number.
    if not isinstance(data, (str, bytes)) and hasattr(type(data), "__float__"):
        try:
            return float(data)
        except OverflowError:
            raise OverflowError(
                f"{op}: {short(data)} is beyond the float range (about ±1.8e308)"
            ) from None
        except (TypeError, ValueError):
            pass
    if op == "Value":
        raise TypeError(f"Value data must be a real number (int or float), got "
                        f"{type(data).__name__}: {short(data)}")
    raise TypeError(f"unsupported operand for {op}: Value and {type(data).__name__} "
                    f"({short(data)}); chainrule ops take a Value, an int or a float")


def short(x: Any) -> str:
    text = repr(x)
    if isinstance(x, int) and len(text) > 30:
        return f"an int of {len(text.lstrip('-'))} digits ({text[:8]}...)"
    return text if len(text) <= 80 else text[:77] + "..."


def fmt(x: float) -> str:
    return f"{x:.6g}"


def left_graph(v: Any, how: str) -> str:
    return (f"{how} of a Value would leave the graph, so no gradient could flow back: use "
            f"v.exp(), v.log(), v.tanh(), v.relu() ... (chainrule ops) to stay in the graph, or "
            f"v.data for the plain number ({v!r})")


def no_op(op: str, instead: str) -> str:
    return f"chainrule has no {op} on Values (it has no useful gradient): write {instead}"


def sigmoid(x: float) -> float:
    # Only ever exponentiate a non-positive number, so neither tail overflows.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def check_power(x: float, n: float) -> None:
    if x == 0.0 and n < 0:
        raise ZeroDivisionError(f"**: 0 raised to a negative power, {fmt(x)} ** {fmt(n)}")
    if x < 0.0 and not float(n).is_integer():
        raise ValueError(
            f"**: a negative base to a fractional power is not real, {fmt(x)} ** {fmt(n)}"
        )


def power_slope(x: float, n: float) -> float:
    """d(x**n)/dx = n * x**(n-1), which is 0 for n == 0 even at x == 0."""
    return n * power(x, n - 1, f"the gradient of x ** {fmt(n)}") if n else 0.0


def power(x: float, n: float, what: str) -> float:
    try:
        return float(x**n)
    except ZeroDivisionError:
        raise ZeroDivisionError(f"{what} is infinite at x = {fmt(x)}") from None
    except OverflowError:
        raise OverflowError(f"{what} overflows: {fmt(x)} ** {fmt(n)}") from None
