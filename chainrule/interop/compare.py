"""Each chainrule loss's PyTorch counterpart, and one model's gradients in both, side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Union

from .. import nn
from ..gradcheck import format_table
from .models import Model, _plan, to_torch

__all__ = ["TORCH_LOSSES", "torch_loss", "compare_gradients", "GradientComparison"]

# chainrule.nn loss -> the PyTorch code that computes the same number (mean over samples).
TORCH_LOSSES = {
    "mse": "torch.nn.functional.mse_loss(pred, target)",
    "binary_cross_entropy_with_logits":
        "torch.nn.functional.binary_cross_entropy_with_logits(logit, target)",
    "binary_cross_entropy": "torch.nn.functional.binary_cross_entropy(prob, target)",
    "hinge": "torch.relu(1 - label * score).mean()",  # torch has no binary hinge loss
    "cross_entropy": "torch.nn.functional.cross_entropy(logits, target)",
    "l2": "alpha * sum((p ** 2).sum() for p in model.parameters())",  # = weight_decay 2*alpha
}

Loss = Union[str, Callable[..., Any]]


def _loss_name(loss: Loss) -> str:
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    if name not in TORCH_LOSSES or not (isinstance(loss, str) or getattr(nn, name) is loss):
        raise ValueError(f"unknown loss {loss!r}; choose one of chainrule.nn's "
                         f"{', '.join(n for n in TORCH_LOSSES if n != 'l2')}")
    return name


def torch_loss(loss: Loss) -> Callable[[Any, Sequence[Any]], Any]:
    """The torch counterpart of a chainrule loss: ``f(outputs, targets) -> 0-d tensor``.

    ``outputs`` is the torch model's output, shape ``(N,)`` or ``(N, C)`` for
    ``cross_entropy``; ``targets`` are the targets chainrule's loss takes (a list).
    """
    import torch
    import torch.nn.functional as F

    name = _loss_name(loss)
    if name == "l2":
        raise ValueError("l2 is a penalty on parameters, not a loss on outputs: torch writes it "
                         f"as {TORCH_LOSSES['l2']}, or as weight_decay=2*alpha in torch.optim")
    if name == "cross_entropy":
        return lambda out, y: F.cross_entropy(out, torch.tensor(y, dtype=torch.long))
    functions: Dict[str, Callable[..., Any]] = {
        "mse": F.mse_loss, "binary_cross_entropy": F.binary_cross_entropy,
        "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
        "hinge": lambda s, y: torch.relu(1 - y * s).mean(),
    }
    f = functions[name]
    return lambda out, y: f(out, torch.tensor(y, dtype=out.dtype))


@dataclass(frozen=True)
class Row:
    name: str
    chainrule: float
    torch: float
    abs_err: float
    rel_err: float
    ok: bool


def _row(name: str, ours: float, theirs: float, atol: float, rtol: float) -> Row:
    abs_err = abs(ours - theirs)
    scale = max(abs(ours), abs(theirs))
    ok = math.isfinite(theirs) and abs_err <= atol + rtol * abs(theirs)
    return Row(name, ours, theirs, abs_err, abs_err / scale if scale else 0.0, ok)


class GradientComparison:
    """chainrule's and torch's numbers side by side; truthy when every one matches.

    ``loss`` is the first row (the loss, or a recorded graph's output), ``rows`` one
    per parameter (or per leaf).
    """

    def __init__(self, loss: Row, rows: List[Row], atol: float, rtol: float,
                 what: str = "compare_gradients") -> None:
        self.loss, self.rows, self.atol, self.rtol, self.what = loss, rows, atol, rtol, what

    @property
    def ok(self) -> bool:
        return self.loss.ok and all(row.ok for row in self.rows)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def max_abs_err(self) -> float:
        return max([self.loss.abs_err] + [row.abs_err for row in self.rows])

    def __str__(self) -> str:
        header = ("value" if self.what == "record" else "parameter", "chainrule", "torch",
                  "abs err", "rel err", "")
        lines = [(r.name, f"{r.chainrule:.8g}", f"{r.torch:.8g}", f"{r.abs_err:.2e}",
                  f"{r.rel_err:.2e}", "ok" if r.ok else "MISMATCH")
                 for r in [self.loss, *self.rows]]
        bad = sum(not r.ok for r in self.rows) + (not self.loss.ok)
        total = len(self.rows) + 1
        verdict = (f"{self.what} passed: all {total} numbers match" if not bad else
                   f"{self.what} FAILED: {bad} of {total} numbers differ")
        return "\n".join([*format_table(header, lines),
                          f"{verdict} (atol={self.atol:g}, rtol={self.rtol:g})"])

    def __repr__(self) -> str:
        return str(self)


def compare_gradients(
    model: Model,
    X: Sequence[Any],
    y: Sequence[Any],
    loss: Loss,
    *,
    atol: float = 1e-12,
    rtol: float = 1e-9,
    verbose: bool = True,
) -> GradientComparison:
    """``loss(model(X), y)`` and its gradient in chainrule and in ``to_torch(model)``.

    ``loss`` is a chainrule.nn loss (or its name); torch computes its counterpart
    from ``TORCH_LOSSES``. A number matches when ``|chainrule - torch| <= atol +
    rtol * |torch|``. The model's grads are left as they were. Prints the table (the
    loss first, then one row per parameter) unless ``verbose=False``.
    """
    import torch

    name = _loss_name(loss)
    f = torch_loss(name)  # l2 raises here, before anything is computed
    X, y = list(X), list(y)
    params = model.parameters()
    saved = [p.grad for p in params]
    try:
        for p in params:
            p.grad = 0.0
        value = getattr(nn, name)([model(x) for x in X], y)
        value.backward()
        ours = {s.name: s.value.grad for s in _plan(model)[1]}
    finally:
        for p, grad in zip(params, saved):
            p.grad = grad
    net = to_torch(model)
    out = net(torch.tensor(X, dtype=torch.float64))
    if name != "cross_entropy" and out.shape[1] == 1:
        out = out[:, 0]
    theirs = f(out, y)
    theirs.backward()
    rows = []
    for s in _plan(model)[1]:
        grad = getattr(net[s.linear], s.kind).grad[s.at].item()
        rows.append(_row(s.name, ours[s.name], grad, atol, rtol))
    result = GradientComparison(_row(f"loss ({name})", value.data, theirs.item(), atol, rtol),
                                rows, atol, rtol)
    if verbose:
        print(result)
    return result
