"""Losses: each returns one ``Value`` (the mean over the samples) to call ``backward()`` on.

A loss with a PyTorch name computes PyTorch's function (``torch.nn.functional.<name>``
with its default ``reduction='mean'``), values and gradients, in float64; the tests
compare them with torch. Each takes a list of model outputs and a list of targets
(a single output and a single target are accepted too). Outputs may be Values or
plain numbers (a number is a constant: no gradient).
"""

from __future__ import annotations

import math
import operator
from numbers import Integral, Real
from typing import Any, Iterable, List, Sequence, Tuple, Union

from .._checks import describe, number
from ..engine import Value

Number = Union[int, float]
Input = Union[Value, Number]

# torch clamps each log at -100 so that a probability of exactly 0 or 1 gives a finite
# loss, and the gradient's denominator p*(1-p) at EPSILON, a C++ `float` 1e-12
# (aten/src/ATen/native/Loss.cpp): 1e-12 rounded to float32, as written here.
_LOG_FLOOR = -100.0
_EPSILON = 9.999999960041972e-13


def _as_list(x: Any) -> List[Any]:
    if isinstance(x, (Value, Real)):
        return [x]
    return list(x)


def _as_value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _paired(preds: Any, targets: Any, loss: str, what: str = "targets") -> Tuple[list, list]:
    preds, targets = _as_list(preds), _as_list(targets)
    if not preds:
        raise ValueError(f"{loss}: got no predictions (an empty list)")
    if len(preds) != len(targets):
        raise ValueError(f"{loss}: got {len(preds)} predictions but {len(targets)} {what}; "
                         "they must have the same length")
    return preds, targets


def _targets01(targets: List[Any], name: str) -> List[float]:
    out = []
    for i, y in enumerate(targets):
        out.append(number(y, f"{name}: targets[{i}]", 0.0, 1.0, what="(a probability)"))
    return out


def _mean(terms: Iterable[Value], n: int) -> Value:
    return Value.sum(terms) / n


def mse(preds: Union[Value, Sequence[Input]], targets: Union[Input, Sequence[Input]]) -> Value:
    """Mean squared error ``mean((pred - target)**2)``, for regression (``F.mse_loss``)."""
    preds, targets = _paired(preds, targets, "mse")
    return _mean(((_as_value(p) - t) ** 2 for p, t in zip(preds, targets)), len(preds))


def _sigmoid(x: float) -> float:
    return Value(x).sigmoid().data  # the engine's stable sigmoid: one implementation


def binary_cross_entropy_with_logits(
    logits: Union[Value, Sequence[Input]], targets: Union[Number, Sequence[Number]]
) -> Value:
    """Mean binary cross-entropy of ``sigmoid(logit)`` against targets in [0, 1].

    Takes logits (raw scores), exactly like ``F.binary_cross_entropy_with_logits``.
    The stable form ``max(z, 0) - z*y + log(1 + exp(-|z|))`` never overflows, even at
    z = +-1000, and the gradient is exactly ``sigmoid(z) - y``, also at z = 0.
    """
    name = "binary_cross_entropy_with_logits"
    logits, targets = _paired(logits, targets, name)
    ys = _targets01(targets, name)
    return _mean((_bce_logit(_as_value(z), y) for z, y in zip(logits, ys)), len(ys))


def _bce_logit(z: Value, y: float) -> Value:
    x = z.data
    out = Value(max(x, 0.0) - x * y + math.log1p(math.exp(-abs(x))), (z,), "bce_logits")
    slope = _sigmoid(x) - y
    def _backward(grad: float) -> None:  # d/dz = sigmoid(z) - y
        z.grad += slope * grad
    out._backward = _backward
    return out


def binary_cross_entropy(
    probabilities: Union[Value, Sequence[Input]], targets: Union[Number, Sequence[Number]]
) -> Value:
    """Mean binary cross-entropy of probabilities in [0, 1], as ``F.binary_cross_entropy``.

    ``-(y*log(p) + (1-y)*log(1-p))`` with each log clamped at -100, as torch does, so
    p = 0 or 1 gives a finite loss. Pass ``sigmoid(z)``; for the raw score ``z`` use
    ``binary_cross_entropy_with_logits``, which is also stable where p rounds to 0 or 1.
    """
    name = "binary_cross_entropy"
    probabilities, targets = _paired(probabilities, targets, name)
    ys = _targets01(targets, name)
    ps = [_as_value(p) for p in probabilities]
    for i, p in enumerate(ps):
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(
                f"{name}: probabilities must be in [0, 1], got {describe(p.data)} at index {i}"
                " (it takes probabilities, like torch; for raw scores (logits) use "
                "binary_cross_entropy_with_logits)")
    return _mean((_bce_probability(p, y) for p, y in zip(ps, ys)), len(ys))


def _bce_probability(p: Value, y: float) -> Value:
    x = p.data
    log_p = max(math.log(x), _LOG_FLOOR) if x > 0.0 else _LOG_FLOOR
    log_q = max(math.log1p(-x), _LOG_FLOOR) if x < 1.0 else _LOG_FLOOR
    out = Value((y - 1.0) * log_q - y * log_p, (p,), "bce")
    slope = (x - y) / max((1.0 - x) * x, _EPSILON)  # torch's backward formula
    def _backward(grad: float) -> None:  # d/dp = (p - y) / (p * (1 - p))
        p.grad += slope * grad
    out._backward = _backward
    return out


def hinge(scores: Union[Value, Sequence[Input]], labels: Union[Number, Sequence[Number]]) -> Value:
    """The max-margin (SVM) loss of micrograd's demo: ``mean(relu(1 - y*score))``, y = +-1.

    torch has no function by this name (``F.hinge_embedding_loss`` is another loss);
    in torch it is ``torch.clamp(1 - y * s, min=0).mean()``.
    """
    scores, labels = _paired(scores, labels, "hinge", "labels")
    for i, y in enumerate(labels):
        if isinstance(y, bool) or not isinstance(y, Real):
            raise TypeError(f"hinge: labels must be -1 or +1, got {describe(y)} at index {i}")
        if y not in (-1, 1):
            raise ValueError(f"hinge: labels must be -1 or +1, got {y!r} at index {i} "
                             "(for 0/1 labels use 2*y - 1, or "
                             "binary_cross_entropy_with_logits)")
    return _mean(((1 - int(y) * _as_value(s)).relu() for s, y in zip(scores, labels)),
                 len(scores))


def cross_entropy(
    logits: Union[Sequence[Input], Sequence[Sequence[Input]]],
    target: Union[int, Sequence[int]],
) -> Value:
    """Softmax cross-entropy ``-log softmax(logits)[target]`` (``F.cross_entropy``).

    One sample: a list of k logits and an int class index in [0, k). A batch: a list
    of such lists and a list of indices; returns the mean. Computed as
    ``logsumexp(z) - z[target]`` with the max subtracted first, so logits of +-1000
    are fine; the gradient is ``softmax(z) - onehot(target)``.
    """
    rows: List[Any] = list(logits)
    if not rows:
        raise ValueError("cross_entropy: got no logits (an empty list)")
    if isinstance(rows[0], (Value, Real)):  # one sample
        return _cross_entropy_one(rows, target, "")
    targets = _as_list(target)
    if len(rows) != len(targets):
        raise ValueError(f"cross_entropy: got {len(rows)} samples of logits but "
                         f"{len(targets)} targets; they must have the same length")
    losses = [_cross_entropy_one(list(z), t, f" (sample {i})")
              for i, (z, t) in enumerate(zip(rows, targets))]
    return _mean(losses, len(losses))


def _cross_entropy_one(logits: List[Any], target: Any, where: str) -> Value:
    k = len(logits)
    if not k:
        raise ValueError(f"cross_entropy: got no logits (an empty list){where}")
    allowed = f"a class index in [0, {k - 1}] for {k} logits"
    if isinstance(target, bool) or not isinstance(target, Integral):
        raise TypeError(f"cross_entropy: target must be {allowed}, got {describe(target)}{where}")
    if not 0 <= target < k:
        raise ValueError(f"cross_entropy: target must be {allowed}, got {target!r}{where}")
    target = operator.index(target)
    zs = tuple(_as_value(z) for z in logits)
    m = max(z.data for z in zs)
    exps = [math.exp(z.data - m) for z in zs]  # every exponent <= 0: no overflow
    total = sum(exps)
    probs = [e / total for e in exps]
    out = Value(m + math.log(total) - zs[target].data, zs, "cross_entropy")
    def _backward(grad: float) -> None:  # d/dz_i = softmax_i - [i == target]
        for i, z in enumerate(zs):
            z.grad += (probs[i] - (i == target)) * grad
    out._backward = _backward
    return out


def l2(params: Any, alpha: float) -> Value:
    """L2 penalty ``alpha * sum(p*p)``, micrograd's regularizer (``alpha=1e-4`` there).

    Pass ``model.parameters()`` (or the model itself). torch has no loss by this name;
    its gradient ``2*alpha*p`` is ``torch.optim.SGD(weight_decay=2*alpha)``'s.
    """
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    params = list(params)
    if not params:
        raise ValueError("l2: got no parameters (an empty list)")
    alpha = number(alpha, "l2: alpha", 0.0)
    return alpha * Value.sum(p * p for p in params)
