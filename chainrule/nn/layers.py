"""``Neuron``, ``Layer`` and ``MLP``, built from ``Value`` exactly as micrograd builds them.

They keep micrograd's signatures, defaults, graph and the order in which they draw
their initial weights from Python's ``random`` module, so micrograd's demo runs
unchanged (only the import differs) and prints the same losses.

Two ways to compute a neuron, same numbers:

* default (``fused=False``): micrograd's ``sum((wi*xi for ...), b)``, one node per
  multiply and per add, so a drawing shows every step of the lecture.
* ``fused=True``: one ``Value.dot(w, x, b)`` node per neuron, then the activation.
  Far fewer nodes, so training is several times faster and drawings are compact.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .._checks import Seed, choice, count, describe, flag, rng_or_global
from ..engine import Value
from .module import Module

Number = Union[int, float]
Input = Union[Value, Number]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("uniform", "normal", "xavier", "he")
_NONLIN: Dict[str, Optional[Callable[[Value], Value]]] = {
    "relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid, "linear": None,
}
_dot_values = Value._dot_values  # the fused neuron's node (see Neuron._forward)
_REPR_NAME = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


def _inputs(x: Any, who: str, nin: int) -> List[Any]:
    """The inputs of one sample as a list: any iterable of numbers or Values, or one of them."""
    if isinstance(x, (Value, Real)):  # a width-1 layer hands on a single Value
        return [x]
    if not isinstance(x, (str, bytes)):
        try:
            return list(x)
        except TypeError:
            pass
    raise TypeError(f"{who} expects {nin} inputs (a list or other iterable of numbers or "
                    f"Values), got {describe(x)}")


def _initial_weights(init: str, nin: int, fan_out: int, rng: Any) -> List[float]:
    if init == "uniform":  # micrograd: random.uniform(-1, 1), one call per weight
        return [rng.uniform(-1, 1) for _ in range(nin)]
    if init == "normal":
        return [rng.gauss(0.0, 1.0) for _ in range(nin)]
    if init == "xavier":  # Glorot: keeps the variance of activations and gradients
        a = math.sqrt(6.0 / (nin + fan_out))
        return [rng.uniform(-a, a) for _ in range(nin)]
    std = math.sqrt(2.0 / nin)  # he (Kaiming): suits ReLU, which zeroes half its inputs
    return [rng.gauss(0.0, std) for _ in range(nin)]


def _arch_keys(arch: Dict[str, Any], keys: Sequence[str]) -> None:
    """A file's architecture has exactly the constructor's shape arguments."""
    got = set(arch) - {"type"}
    if got != set(keys):
        raise ValueError(f"the architecture must have the keys {', '.join(map(repr, keys))}, "
                         f"got {', '.join(map(repr, sorted(got, key=str))) or 'none'}")


class Neuron(Module):
    """``act(w . x + b)``: ``nin`` weights and a bias, micrograd's neuron.

    ``nonlin=False`` makes it linear (micrograd's switch); otherwise ``activation``
    ('relu', 'tanh', 'sigmoid', 'linear') is applied. ``init`` chooses the weights:
    'uniform' U(-1, 1) (micrograd), 'normal' N(0, 1), 'xavier' U(-a, a) with
    a = sqrt(6 / (nin + fan_out)), 'he' N(0, 2 / nin). The bias starts at 0. Weights
    come from the global ``random`` (micrograd's order) unless ``seed`` is an int
    (a private ``random.Random(seed)``) or a ``random.Random`` to draw from.
    ``fused=True`` computes ``w . x + b`` as one ``dot`` node instead of micrograd's
    one node per ``*`` and ``+``.
    """

    _OPTION_TYPES = {"fused": bool}

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str = "relu",
        init: str = "uniform",
        seed: Seed = None,
        fused: bool = False,
        fan_out: int = 1,
    ) -> None:
        nin = self.nin = count(nin, "Neuron: nin (the number of inputs)")
        self.nonlin = flag(nonlin, "Neuron: nonlin")
        self.activation = choice(activation, ACTIVATIONS, "activation")
        choice(init, INITS, "init")
        fan_out = count(fan_out, "Neuron: fan_out")
        self.fused = flag(fused, "Neuron: fused")
        self.w = [Value(x) for x in _initial_weights(init, nin, fan_out, rng_or_global(seed))]
        self.b = Value(0.0)
        self._act = _NONLIN[activation] if self.nonlin else None

    def __call__(self, x: Union[Iterable[Input], Input]) -> Value:
        x = _inputs(x, "Neuron", self.nin) if type(x) is not list else x
        if len(x) != self.nin:
            raise ValueError(f"Neuron expects {self.nin} inputs, got {len(x)}")
        # Plain numbers become input Values (drawn as inputs x0, x1, ..., not as constants).
        return self._forward([xi if isinstance(xi, Value) else Value(xi) for xi in x])

    def _forward(self, x: List[Value]) -> Value:
        """The neuron on a checked list of input Values (a Layer's hot path)."""
        if self.fused:
            try:  # unchecked: x was checked, self.w and self.b are the neuron's own Values
                act = _dot_values(self.w, x, self.b)
            except AttributeError:  # a number put into self.w: Value.dot lifts it, or says why not
                act = Value.dot(self.w, x, self.b)
        else:  # micrograd's line: b + w0*x0, then + w1*x1, ...
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return self._act(act) if self._act is not None else act

    def named_parameters(self) -> List[Tuple[str, Value]]:
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def parameters(self) -> List[Value]:  # as named_parameters(), without making the names
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{_REPR_NAME[self.activation if self.nonlin else 'linear']}Neuron({self.nin})"

    def _architecture(self) -> Dict[str, Any]:
        return {"type": "Neuron", "nin": self.nin, "nonlin": self.nonlin,
                "activation": self.activation}

    def _options(self) -> Dict[str, Any]:
        return {"fused": self.fused}

    @classmethod
    def _parameter_count(cls, arch: Dict[str, Any]) -> int:
        _arch_keys(arch, ("nin", "nonlin", "activation"))
        flag(arch["nonlin"], "nonlin")
        choice(arch["activation"], ACTIVATIONS, "activation")
        return count(arch["nin"], "nin") + 1


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs (micrograd's Layer).

    Returns a list of ``nout`` Values, or a single Value when ``nout == 1``.
    Keyword arguments are those of ``Neuron``.
    """

    _OPTION_TYPES = {"fused": bool}

    def __init__(
        self,
        nin: int,
        nout: int,
        nonlin: bool = True,
        *,
        activation: str = "relu",
        init: str = "uniform",
        seed: Seed = None,
        fused: bool = False,
    ) -> None:
        nin = count(nin, "Layer: nin (the number of inputs)")
        nout = count(nout, "Layer: nout (the number of neurons)")
        flag(fused, "Layer: fused")
        rng = rng_or_global(seed)  # one generator for all neurons: draws in micrograd's order
        self.nin = nin
        self.neurons = [
            Neuron(nin, nonlin, activation=activation, init=init, seed=rng, fused=fused,
                   fan_out=nout)
            for _ in range(nout)
        ]

    def __call__(self, x: Union[Iterable[Input], Input]) -> Union[Value, List[Value]]:
        if type(x) is not list:
            x = _inputs(x, "Layer", self.nin)
        # Wrap plain numbers once, so every neuron reads the same input node (and a
        # drawing shows each input once).
        values = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
        if len(values) != self.nin:
            raise ValueError(f"Layer expects {self.nin} inputs, got {len(values)}")
        out = self._forward(values)
        return out[0] if len(out) == 1 else out

    def _forward(self, values: List[Value]) -> List[Value]:
        """The layer on a checked list of input Values (an MLP's hot path)."""
        return [n._forward(values) for n in self.neurons]

    def named_parameters(self) -> List[Tuple[str, Value]]:
        return [(f"neurons.{i}.{name}", p)
                for i, n in enumerate(self.neurons) for name, p in n.named_parameters()]

    def parameters(self) -> List[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"

    def _architecture(self) -> Dict[str, Any]:
        first = self.neurons[0]
        return {"type": "Layer", "nin": self.nin, "nout": len(self.neurons),
                "nonlin": first.nonlin, "activation": first.activation}

    def _options(self) -> Dict[str, Any]:
        return {"fused": self.neurons[0].fused}

    @classmethod
    def _parameter_count(cls, arch: Dict[str, Any]) -> int:
        _arch_keys(arch, ("nin", "nout", "nonlin", "activation"))
        flag(arch["nonlin"], "nonlin")
        choice(arch["activation"], ACTIVATIONS, "activation")
        return count(arch["nout"], "nout") * (count(arch["nin"], "nin") + 1)


def _widths(nouts: Any) -> List[int]:
    widths = (list(nouts) if hasattr(nouts, "__iter__") and not isinstance(nouts, (str, dict))
              else None)
    if not widths:
        error = TypeError if widths is None else ValueError
        raise error(f"MLP: nouts must be a non-empty list of layer widths, e.g. [16, 16, 1], "
                    f"got {describe(nouts)}")
    return [count(width, "MLP: every layer width in nouts") for width in widths]


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` maps 2 inputs to 1 score.

    Hidden layers use ``activation`` (ReLU by default), the last layer is linear
    (micrograd). Returns a single Value when the last layer has width 1, else a list.
    Keyword arguments are those of ``Neuron``; with ``seed=None`` weights are drawn
    from the global ``random`` in micrograd's order.
    """

    _OPTION_TYPES = {"fused": bool}

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str = "relu",
        init: str = "uniform",
        seed: Seed = None,
        fused: bool = False,
    ) -> None:
        nin = count(nin, "MLP: nin (the number of inputs)")
        nouts = _widths(nouts)
        choice(activation, ACTIVATIONS, "activation")
        choice(init, INITS, "init")
        flag(fused, "MLP: fused")
        rng = rng_or_global(seed)
        sz = [nin] + nouts
        self.nin = nin
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1, activation=activation,
                  init=init, seed=rng, fused=fused)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Union[Iterable[Input], Input]) -> Union[Value, List[Value]]:
        if type(x) is not list:
            x = _inputs(x, "MLP", self.nin)
        if len(x) != self.nin:
            raise ValueError(f"MLP expects {self.nin} inputs, got {len(x)}")
        values = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
        for layer in self.layers:  # a Layer's output needs no checks before the next Layer
            values = layer._forward(values) if type(layer) is Layer else _inputs(
                layer(values), "MLP", 1)  # a layer swapped in by hand is called as such
        return values[0] if len(values) == 1 else values

    def named_parameters(self) -> List[Tuple[str, Value]]:
        return [(f"layers.{i}.{name}", p)
                for i, layer in enumerate(self.layers) for name, p in layer.named_parameters()]

    def parameters(self) -> List[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

    def _architecture(self) -> Dict[str, Any]:
        hidden = self.layers[0].neurons[0]
        return {"type": "MLP", "nin": self.nin,
                "nouts": [len(layer.neurons) for layer in self.layers],
                "activation": hidden.activation}

    def _options(self) -> Dict[str, Any]:
        return {"fused": self.layers[0].neurons[0].fused}

    @classmethod
    def _parameter_count(cls, arch: Dict[str, Any]) -> int:
        _arch_keys(arch, ("nin", "nouts", "activation"))
        choice(arch["activation"], ACTIVATIONS, "activation")
        if not isinstance(arch["nouts"], list):
            raise TypeError(f"nouts must be a list of layer widths, got {describe(arch['nouts'])}")
        sizes = [count(arch["nin"], "nin")] + _widths(arch["nouts"])
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
