"""Argument checks shared by nn, optim, data and train (private: no public names here).

One rule: the wrong type raises ``TypeError``, the wrong value raises ``ValueError``,
and the message names the argument, the value and what is allowed::

    count(2.5, "nin")          TypeError:  nin must be an int >= 1, got 2.5 (float)
    number(-1, "lr", low=0)    ValueError: lr must be a finite number >= 0, got -1 (int)

Each check returns the value in its plain form (a numpy integer becomes an int, any
real number a float), so callers store what the check returns.
"""

from __future__ import annotations

import math
import operator
import random
from numbers import Integral, Real
from types import ModuleType
from typing import Any, Sequence, Union

__all__ = [
    "describe", "count", "number", "flag", "choice", "rng_or_global", "seeded_rng",
    "same_length",
]

# None: the global random (micrograd's); the module itself is accepted for the same.
Seed = Union[int, random.Random, ModuleType, None]


def describe(x: Any) -> str:
    """``x`` for a message: its repr and type, e.g. ``2.5 (float)``; huge ints shortened."""
    if isinstance(x, Integral) and not isinstance(x, bool) and abs(int(x)).bit_length() > 64:
        # str() of a 10**5000 would itself raise (CPython's int-to-str digit limit).
        digits = int(abs(int(x)).bit_length() * math.log10(2)) + 1
        return f"an integer of about {digits} digits ({type(x).__name__})"
    text = repr(x)
    if len(text) > 80:
        text = text[:60] + "..." + text[-10:]
    return f"{text} ({type(x).__name__})"


def count(x: Any, name: str, minimum: int = 1) -> int:
    """A whole number >= ``minimum`` (numpy integers welcome; bool is not a count)."""
    if isinstance(x, bool) or not isinstance(x, Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {describe(x)}")
    if x < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {describe(x)}")
    return operator.index(x)


def _bounds(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if high == math.inf:
        return f"{'>' if low_open else '>='} {low:g}" if low > -math.inf else ""
    if low == -math.inf:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def number(
    x: Any,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "",
) -> float:
    """A finite real number in the given range, as a float.

    An int too large for a float (``10**400``) is a ``ValueError`` here, not Python's
    bare ``OverflowError``. ``what`` adds a hint after the range, e.g. "(a standard
    deviation)".
    """
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(_not_a_number(x, name, low, high, low_open, high_open, what))
    try:
        value = float(x)
    except OverflowError:
        raise ValueError(_not_a_number(x, name, low, high, low_open, high_open, what)
                         + ", beyond the range of a float") from None
    if not (math.isfinite(value) and (low < value if low_open else low <= value)
            and (value < high if high_open else value <= high)):
        raise ValueError(_not_a_number(x, name, low, high, low_open, high_open, what))
    return value


def _not_a_number(x: Any, name: str, low: float, high: float, low_open: bool, high_open: bool,
                  what: str) -> str:
    allowed = " ".join(p for p in ("a finite number", _bounds(low, high, low_open, high_open),
                                   what) if p)
    return f"{name} must be {allowed}, got {describe(x)}"


def flag(x: Any, name: str) -> bool:
    """A switch: a real bool, since ``"false"`` is truthy and 0/1 hide typos."""
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be True or False, got {describe(x)}")
    return x


def choice(x: Any, options: Sequence[str], name: str) -> str:
    """One of the named ``options`` (strings)."""
    allowed = ", ".join(map(repr, options))
    if not isinstance(x, str):
        raise TypeError(f"{name} must be one of {allowed}, got {describe(x)}")
    if x not in options:
        raise ValueError(f"unknown {name} {x!r}; choose one of {allowed}")
    return x


def _seed(seed: Any, name: str) -> Union[int, random.Random, ModuleType, None]:
    if seed is None or isinstance(seed, random.Random) or seed is random:
        return seed
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"{name} must be an int, a random.Random or None, got {describe(seed)}")
    return operator.index(seed)


def rng_or_global(seed: Seed, name: str = "seed") -> Union[random.Random, ModuleType]:
    """Where weights come from: ``None`` means the global ``random`` module (micrograd's
    draw order), an int a private ``random.Random(seed)``, a ``random.Random`` itself."""
    checked = _seed(seed, name)
    if checked is None or isinstance(checked, ModuleType):  # a Layer hands on the module
        return random
    return checked if isinstance(checked, random.Random) else random.Random(checked)


def seeded_rng(seed: Seed, name: str = "seed") -> random.Random:
    """Where data comes from: always a private generator, fresh entropy for ``None``,
    so drawing data never disturbs the global ``random`` state."""
    checked = _seed(seed, name)
    if isinstance(checked, ModuleType):
        raise TypeError(f"{name} must be an int, a random.Random or None, got the random module")
    return checked if isinstance(checked, random.Random) else random.Random(checked)


def same_length(X: Sequence[Any], y: Sequence[Any], who: str) -> None:
    """``X`` and ``y`` pair up sample by sample and are not empty."""
    if len(X) != len(y):
        raise ValueError(f"{who}: X has {len(X)} samples but y has {len(y)}; "
                         "they must have the same length")
    if not len(X):
        raise ValueError(f"{who}: got no samples (X and y are empty)")
