"""Check ``backward()`` against central differences, with a table a student can read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Sequence, Tuple

from .engine import Value, no_grad

__all__ = ["gradcheck", "GradcheckResult", "GradcheckRow"]


def format_table(header: Tuple[str, ...], lines: Sequence[Tuple[str, ...]]) -> List[str]:
    """Aligned columns, the first left-aligned, the rest right-aligned (gradcheck's and
    interop.compare_gradients' tables)."""
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*row).rstrip() for row in [header, *lines]]


@dataclass(frozen=True)
class GradcheckRow:
    name: str
    analytic: float
    numeric: float
    abs_err: float
    rel_err: float
    ok: bool


class GradcheckResult:
    """The per-input comparison; truthy when every input's gradient matches."""

    def __init__(self, rows: List[GradcheckRow], eps: float, atol: float, rtol: float) -> None:
        self.rows = rows
        self.eps, self.atol, self.rtol = eps, atol, rtol

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        header = ("input", "analytic", "numeric", "abs err", "rel err", "")
        lines = [
            (r.name, f"{r.analytic:.8g}", f"{r.numeric:.8g}", f"{r.abs_err:.2e}",
             f"{r.rel_err:.2e}", "ok" if r.ok else "MISMATCH")
            for r in self.rows
        ]
        bad = sum(not r.ok for r in self.rows)
        verdict = (
            f"gradcheck passed: {len(self.rows)} input(s) match"
            if not bad
            else f"gradcheck FAILED: {bad} of {len(self.rows)} input(s) differ"
        )
        tolerance = f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})"
        return "\n".join([*format_table(header, lines), f"{verdict} {tolerance}"])

    def __repr__(self) -> str:
        return str(self)


def gradcheck(
    f: Callable[..., Value],
    *values: Value,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    verbose: bool = True,
) -> GradcheckResult:
    """Compare d f(*values) / d value from ``backward()`` with a central difference.

    ``f`` is called with ``values`` and must return a ``Value``. An input passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``. Every ``data`` and ``grad``
    is left as it was, the inputs' and those of any other leaf ``f`` uses (a model's
    parameters, say). Prints the table unless ``verbose=False``.
    """
    if not values:
        raise ValueError("gradcheck needs at least one input Value to differentiate against")
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"gradcheck input {i} must be a Value, got {type(v).__name__}")

    out = f(*values)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    # backward() adds into every leaf f uses (a model's parameters too): put them all back.
    leaves = [node for node in out.backward_order() if not node._prev] + list(values)
    saved_grads = [leaf.grad for leaf in leaves]
    try:
        for v in values:
            v.grad = 0.0
        out.backward()
        analytic = [v.grad for v in values]
    finally:
        for leaf, grad in zip(leaves, saved_grads):
            leaf.grad = grad

    rows = []
    for i, v in enumerate(values):
        numeric = _central_difference(f, values, v, eps)
        abs_err = abs(analytic[i] - numeric)
        scale = max(abs(analytic[i]), abs(numeric))
        rel_err = abs_err / scale if scale else 0.0
        ok = math.isfinite(numeric) and abs_err <= atol + rtol * abs(numeric)
        name = v.label or f"input {i}"
        rows.append(GradcheckRow(name, analytic[i], numeric, abs_err, rel_err, ok))
    result = GradcheckResult(rows, eps, atol, rtol)
    if verbose:
        print(result)
    return result


def _central_difference(f: Callable[..., Value], values: tuple, v: Value, eps: float) -> float:
    x = v.data
    try:
        with no_grad():
            v.data = x + eps
            up = f(*values).data
            v.data = x - eps
            down = f(*values).data
    finally:
        v.data = x
    return (up - down) / (2 * eps)
