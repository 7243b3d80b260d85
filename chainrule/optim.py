"""Optimizers with PyTorch's names and update rules: ``SGD``, ``Adam`` and ``AdamW``.

An optimizer holds a list of parameters (``Value`` leaves) and, after
``loss.backward()``, ``step()`` moves each one against its gradient::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for k in range(steps):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

Updates are plain float arithmetic on ``.data`` (no graph is recorded), written in
the same order of operations as ``torch.optim``'s reference implementation so that,
in float64, the numbers agree with PyTorch bit for bit. ``lr`` is an attribute you
may change between steps (a learning-rate schedule).
"""

from __future__ import annotations

import math
import operator
import warnings
from numbers import Integral
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ._checks import describe, flag, number
from .engine import Value

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]

# The largest step count a state may hold: every int up to 2**53 is a float exactly
# (torch keeps ``step`` as a float tensor); 10**401 would overflow ``beta ** step``.
MAX_STEPS = 2**53


def _ieee_div(a: float, b: float) -> float:
    """``a / b`` as IEEE 754 (and torch) divides: x/0 is +-inf, 0/0 is nan; Python raises."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


class Optimizer:
    """What every optimizer shares: the parameter list, ``zero_grad`` and ``lr``."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        if not hasattr(params, "__iter__"):
            hint = " (did you mean model.parameters()?)" if hasattr(params, "parameters") else ""
            raise TypeError(f"{type(self).__name__}: params must be a list of Values, "
                            f"got {type(params).__name__}{hint}")
        self.params: List[Value] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        seen = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: parameter {i} must be a Value, "
                                f"got {type(p).__name__}")
            if p._prev:
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} is not a leaf: it was computed "
                    f"(by {p._op or 'an op'!r}) from other Values, so updating it would not "
                    "change them; pass the leaf Values it was computed from (torch: "
                    "\"can't optimize a non-leaf Tensor\")")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {i} appears twice in "
                                 "the list; it would be updated twice per step")
            seen.add(id(p))
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate; set it between steps to follow a schedule."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = number(value, "lr (the learning rate)", 0.0)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (``backward()`` adds to it)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    # -------------------------------------------------------------- state

    def _hyperparameters(self) -> Dict[str, Any]:
        return {"lr": self.lr}

    def _buffers(self) -> Dict[str, List[Any]]:
        return {}

    def state_dict(self) -> Dict[str, Any]:
        """Hyperparameters and per-parameter buffers as plain JSON-safe data."""
        return {"type": type(self).__name__, "hyperparameters": self._hyperparameters(),
                **{name: list(buf) for name, buf in self._buffers().items()}}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned; checks everything before changing anything.

        Types are checked strictly (a switch must be true/false, a count an int, a
        buffer entry a finite number); on any error a ``ValueError`` names the key and
        the optimizer is exactly as it was.
        """
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != name:
            got = describe(state.get("type")) if isinstance(state, dict) else describe(state)
            raise ValueError(f"{where}: expected the state of a {name}, got {got}")
        known = {"type", "hyperparameters", *self._buffers(), *self._extra_keys}
        unexpected = sorted(str(key) for key in state if key not in known)
        if unexpected:
            raise ValueError(f"{where}: unexpected key(s) {', '.join(map(repr, unexpected))}; "
                             f"a {name} state has {sorted(known)}")
        hyper = state.get("hyperparameters")
        if not isinstance(hyper, dict) or set(hyper) != set(self._hyperparameters()):
            raise ValueError(f"{where}: 'hyperparameters' must have the keys "
                             f"{sorted(self._hyperparameters())}, got {describe(hyper)}")
        buffers = {}
        for key, current in self._buffers().items():
            buf = state.get(key)
            if not isinstance(buf, list) or len(buf) != len(current):
                size = len(buf) if isinstance(buf, list) else type(buf).__name__
                raise ValueError(f"{where}: {key!r} must be a list of "
                                 f"{len(current)} numbers (one per parameter), got {size}")
            for i, x in enumerate(buf):
                if x is None and key in self._optional_buffers:
                    continue
                try:
                    number(x, f"{where}: {key}[{i}]")
                except TypeError as error:  # a bad entry in a state is a bad value of the state
                    raise ValueError(str(error)) from None
            buffers[key] = [None if x is None else float(x) for x in buf]
        extra = self._checked_extra(state)
        try:  # the constructor validates the hyperparameters, types included
            probe = type(self)([Value(0.0)], **hyper)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: hyperparameters: {error}") from None
        # Take the probe's attributes, not the raw state: betas a tuple, numbers floats.
        for key in self._hyperparameters():
            setattr(self, key, getattr(probe, key))
        for key, value in {**buffers, **extra}.items():
            setattr(self, key, value)

    _optional_buffers: Tuple[str, ...] = ()  # buffers that hold None before the first step
    _extra_keys: Tuple[str, ...] = ()  # top-level state keys read by _checked_extra

    def _checked_extra(self, state: Dict[str, Any]) -> Dict[str, Any]:
        """Further state beyond hyperparameters and buffers, checked (subclasses add)."""
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay (torch.optim.SGD).

    Per parameter p with gradient g, as PyTorch does it::

        g = g + weight_decay * p                    # L2 penalty folded into the gradient
        buf = g  (first step),  else  buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf  if nesterov  else  buf
        p = p - lr * g
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = number(momentum, "SGD: momentum", 0.0)
        self.dampening = number(dampening, "SGD: dampening", 0.0)
        self.weight_decay = number(weight_decay, "SGD: weight_decay", 0.0)
        self.nesterov = flag(nesterov, "SGD: nesterov")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        # None until the first step, when the buffer starts as the gradient itself.
        self.momentum_buffer: List[Optional[float]] = [None] * len(self.params)

    def step(self) -> None:
        lr, momentum, dampening = self.lr, self.momentum, self.dampening
        weight_decay, buffers = self.weight_decay, self.momentum_buffer
        for i, p in enumerate(self.params):
            g = p.grad
            if weight_decay != 0:
                g = g + weight_decay * p.data
            if momentum != 0:
                buf = buffers[i]
                buf = g if buf is None else buf * momentum + (1 - dampening) * g
                buffers[i] = buf
                g = g + momentum * buf if self.nesterov else buf
            p.data = p.data + -lr * g

    def _hyperparameters(self) -> Dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov}

    def _buffers(self) -> Dict[str, List[Any]]:
        return {"momentum_buffer": self.momentum_buffer}

    _optional_buffers = ("momentum_buffer",)


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly as ``torch.optim.Adam``.

    Keeps running averages of the gradient (``exp_avg``) and of its square
    (``exp_avg_sq``) and steps by their ratio, so each parameter gets its own step
    size. ``weight_decay`` adds ``weight_decay * p`` to the gradient (L2, as in
    ``torch.optim.Adam``); with ``decoupled_weight_decay=True`` (torch's name) it
    instead shrinks the parameter by ``lr * weight_decay`` before the step (AdamW,
    ``torch.optim.AdamW``). ``decoupled=`` is a deprecated spelling of the same switch.

    ``steps`` counts the steps taken (``state_dict()["step"]``, torch's key).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        decoupled: Optional[bool] = None,
    ) -> None:
        if decoupled is not None:
            if decoupled_weight_decay is not False:
                raise TypeError(f"{type(self).__name__}: give decoupled_weight_decay, not also "
                                "its deprecated spelling decoupled")
            warnings.warn("Adam(decoupled=...) is deprecated; use decoupled_weight_decay=... "
                          "(torch.optim.Adam's name)", DeprecationWarning, stacklevel=2)
            decoupled_weight_decay = decoupled
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), "
                            f"got {describe(betas)}")
        if len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), "
                             f"got {describe(betas)}")
        self.betas = (number(betas[0], "Adam: betas[0]", 0.0, 1.0, high_open=True),
                      number(betas[1], "Adam: betas[1]", 0.0, 1.0, high_open=True))
        self.eps = number(eps, "Adam: eps", 0.0)
        self.weight_decay = number(weight_decay, "Adam: weight_decay", 0.0)
        self.decoupled_weight_decay = flag(decoupled_weight_decay, "Adam: decoupled_weight_decay")
        self.steps = 0
        self.exp_avg: List[float] = [0.0] * len(self.params)
        self.exp_avg_sq: List[float] = [0.0] * len(self.params)

    def step(self) -> None:
        lr, (beta1, beta2), eps, weight_decay = self.lr, self.betas, self.eps, self.weight_decay
        decoupled = self.decoupled_weight_decay
        self.steps += 1
        step = self.steps
        # The same scalars torch computes once per parameter, in the same order.
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        weight = 1 - beta1
        exp_avg, exp_avg_sq = self.exp_avg, self.exp_avg_sq
        for i, p in enumerate(self.params):
            g = p.grad
            if weight_decay != 0:
                if decoupled:
                    p.data = p.data * (1 - lr * weight_decay)
                else:
                    g = g + weight_decay * p.data
            m = exp_avg[i]
            # exp_avg.lerp_(grad, 1 - beta1): torch's lerp picks its formula by weight.
            m = m + weight * (g - m) if weight < 0.5 else g - (g - m) * (1 - weight)
            v = exp_avg_sq[i] * beta2 + (1 - beta2) * g * g
            exp_avg[i], exp_avg_sq[i] = m, v
            denom = math.sqrt(v) / bias_correction2_sqrt + eps
            # denom is 0 only with eps=0 and a zero gradient so far: torch gives nan there.
            update = -step_size * m
            p.data = p.data + (update / denom if denom else _ieee_div(update, denom))

    def _hyperparameters(self) -> Dict[str, Any]:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay,
                "decoupled_weight_decay": self.decoupled_weight_decay}

    def _buffers(self) -> Dict[str, List[Any]]:
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}

    def state_dict(self) -> Dict[str, Any]:
        return {**super().state_dict(), "step": self.steps}

    _extra_keys = ("step",)

    def _checked_extra(self, state: Dict[str, Any]) -> Dict[str, Any]:
        step = state.get("step")
        if (isinstance(step, bool) or not isinstance(step, Integral)
                or not 0 <= operator.index(step) <= MAX_STEPS):
            raise ValueError(f"{type(self).__name__}.load_state_dict: 'step' (the number of "
                             f"steps taken) must be an int in [0, 2**53], got {describe(step)}")
        for i, v in enumerate(state.get("exp_avg_sq", ())):
            if v < 0:  # a running mean of squares: its square root is taken at every step
                raise ValueError(f"{type(self).__name__}.load_state_dict: exp_avg_sq[{i}] (a "
                                 f"running mean of squared gradients) must be >= 0, got {v!r}")
        return {"steps": operator.index(step)}


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``, same default decay 1e-2)."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)

    def _hyperparameters(self) -> Dict[str, Any]:
        hyper = super()._hyperparameters()
        del hyper["decoupled_weight_decay"]
        return hyper
