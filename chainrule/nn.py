"""Neurons, layers, MLPs and losses, built from ``Value`` exactly as micrograd builds them.

``Neuron``, ``Layer`` and ``MLP`` keep micrograd's signatures, defaults and the order
in which they draw their initial weights from Python's ``random`` module, so
micrograd's demo runs unchanged (only the import differs) and prints the same losses.
On top of that they have PyTorch's bookkeeping: ``named_parameters()``,
``state_dict()``/``load_state_dict()`` and ``save()``/``from_file()`` as JSON.

Two ways to compute a neuron, same numbers:

* ``fused=True`` (default): one ``Value.dot(w, x, b)`` node per neuron, then the
  activation. Few nodes, so training is fast.
* ``fused=False``: micrograd's ``sum((wi*xi for ...), b)``, one node per multiply and
  per add. Slower, but every step shows up when you draw the graph.

The losses at the bottom each return a single ``Value`` you can call ``backward()`` on.
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import os
import random
from numbers import Integral, Real
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from .engine import Value, _sigmoid

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "ModelFileError",
    "mse", "binary_cross_entropy_with_logits", "binary_cross_entropy", "hinge",
    "cross_entropy", "l2",
    "ACTIVATIONS", "INITS",
]

Number = Union[int, float]
Input = Union[Value, Number]
Seed = Union[int, random.Random, None]
PathLike = Union[str, "os.PathLike[str]"]
_M = TypeVar("_M", bound="Module")

# The file format written by Module.save(); bump it when the layout changes.
FORMAT = "chainrule-model"
FORMAT_VERSION = 1
# A model file nests three levels deep (document, architecture, nouts); anything much
# deeper is not a model file, and walking it could exhaust Python's recursion limit.
MAX_FILE_DEPTH = 16

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("uniform", "normal", "xavier", "he")
_NONLIN: Dict[str, Optional[Callable[[Value], Value]]] = {
    "relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid, "linear": None,
}
_REPR_NAME = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


class ModelFileError(ValueError):
    """A saved model that cannot be loaded: not UTF-8 JSON, truncated, or for another model."""


# ============================================================================ Module


class Module:
    """Base class: anything that owns parameters (``Value`` leaves that training updates).

    A subclass lists its parameters in ``named_parameters()``; everything else
    (``parameters``, ``zero_grad``, ``state_dict``, ``save``, ...) is built on it.
    A micrograd-style subclass that only overrides ``parameters()`` works too: its
    parameters are then named ``"0"``, ``"1"``, ...
    """

    # The type each option in ``_options()`` must have in a model file.
    _OPTION_TYPES: Dict[str, type] = {}

    def named_parameters(self) -> List[Tuple[str, Value]]:
        """``(name, parameter)`` pairs in a fixed order, names like ``layers.0.neurons.3.w.1``."""
        if type(self).parameters is not Module.parameters:
            return [(str(i), p) for i, p in enumerate(self.parameters())]
        return []

    def parameters(self) -> List[Value]:
        """Every parameter, in the order micrograd lists them (optimizers rely on it)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Reset every parameter's gradient: ``backward()`` adds to ``.grad``, never resets it."""
        for p in self.parameters():
            p.grad = 0.0

    # ------------------------------------------------------------ state and files

    def state_dict(self) -> Dict[str, float]:
        """The parameters' values by name: plain floats, a copy, JSON-ready."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Set every parameter from ``state`` (as made by ``state_dict()``).

        Checks everything before changing anything: on any error the model is
        exactly as it was. Names must match exactly; values must be finite numbers.
        """
        self._assign(self._checked_values(state, "state_dict"))

    def save(self, path: PathLike) -> None:
        """Write architecture and parameters to ``path`` as JSON (readable, never pickle)."""
        params = self.state_dict()
        for name, x in params.items():
            if not math.isfinite(x):
                raise ValueError(f"cannot save: parameter {name!r} is {x} (not finite)")
        doc = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "architecture": self._architecture(),
            "options": self._options(),
            "parameters": params,
        }
        # Write a temporary file, then rename: a crash never leaves half a model behind,
        # and a failure never leaves the temporary file behind either.
        tmp = f"{os.fspath(path)}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException as error:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            if isinstance(error, OSError) and error.errno is not None:
                reason = error.strerror or str(error)
                if os.path.isdir(path):
                    reason = "it is a directory"
                raise type(error)(error.errno, f"cannot save the model to "
                                               f"{os.fspath(path)!r}: {reason}") from error
            raise

    def load(self, path: PathLike) -> None:
        """Load parameters saved by ``save()`` into this model, in place.

        The file must describe the same architecture. Raises ``ModelFileError``
        (a ``ValueError``) naming what is wrong, and then leaves the model unchanged.
        """
        doc = _read_model_file(path)
        where = str(path)
        self._checked_options(doc, where)
        arch = doc["architecture"]
        if arch != self._architecture():
            raise ModelFileError(
                f"{where}: architecture differs: the file has {_describe(arch)}, "
                f"this model is {_describe(self._architecture())}"
            )
        self._assign(self._checked_values(doc["parameters"], where))

    @classmethod
    def from_file(cls: Type[_M], path: PathLike) -> _M:
        """Build a model from a file written by ``save()``: ``model = MLP.from_file(path)``.

        Builds the architecture the file describes (it must be a ``cls``), then loads
        the parameters. Does not touch the global ``random`` state.
        """
        doc = _read_model_file(path)
        arch = dict(doc["architecture"])
        kind = arch.pop("type", None)
        if kind != cls.__name__:
            raise ModelFileError(f"{path}: the file holds a {kind}, not a {cls.__name__}")
        options = cls._checked_options(doc, str(path))
        try:
            # A throwaway seed: the weights are overwritten right away, and the global
            # random state stays untouched.
            model = cls(**arch, **options, seed=0)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: cannot build {_describe(doc['architecture'])}: "
                                 f"{error}") from None
        model.load(path)
        return model

    def _architecture(self) -> Dict[str, Any]:
        """What must match for parameters to fit: the constructor's shape arguments."""
        return {"type": type(self).__name__}

    def _options(self) -> Dict[str, Any]:
        """Constructor arguments that do not change the numbers (kept for from_file)."""
        return {}

    @classmethod
    def _checked_options(cls, doc: Dict[str, Any], where: str) -> Dict[str, Any]:
        """The file's ``options``, each known one checked for its type (JSON true/false...)."""
        options = doc.get("options", {})
        if not isinstance(options, dict):
            raise ModelFileError(f"{where}: 'options' must be a JSON object, "
                                 f"got {_kind(options)}")
        for key, kind in cls._OPTION_TYPES.items():
            if key in options and type(options[key]) is not kind:
                expected = "true or false" if kind is bool else f"a {kind.__name__}"
                raise ModelFileError(f"{where}: option {key!r} must be {expected}, "
                                     f"got {_kind(options[key])}")
        return options

    def _checked_values(self, state: Any, where: str) -> List[float]:
        """The new values in parameter order, after checking all of them."""
        if not isinstance(state, dict):
            raise ModelFileError(f"{where}: parameters must be a name -> number mapping, "
                                 f"got {_kind(state)}")
        names = [name for name, _ in self.named_parameters()]
        missing = [n for n in names if n not in state]
        unexpected = [n for n in state if n not in set(names)]
        if missing or unexpected:
            parts = [f"expected {len(names)} parameters, got {len(state)}"]
            if missing:
                parts.append(f"missing {_some(missing)}")
            if unexpected:
                parts.append(f"unexpected {_some(unexpected)}")
            raise ModelFileError(f"{where}: " + "; ".join(parts))
        values = []
        for name in names:
            x = state[name]
            if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
                raise ModelFileError(
                    f"{where}: parameter {name!r} must be a finite number, got {_kind(x)}"
                )
            values.append(float(x))
        return values

    def _assign(self, values: List[float]) -> None:
        for p, x in zip(self.parameters(), values):
            p.data = x


def _read_model_file(path: PathLike) -> Dict[str, Any]:
    """Parse and check the envelope of a model file; parameters are checked by the caller.

    Anything that is not a model file raises ``ModelFileError`` naming the file;
    only operating-system errors (no such file, no permission) pass through as they are.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not a model file: not UTF-8 text "
                             f"({error.reason} at byte {error.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        body = text.strip()
        cut_short = not body or (body.startswith("{") and not body.endswith("}"))
        hint = " (the file looks truncated)" if cut_short else ""
        raise ModelFileError(f"{path}: not valid JSON{hint}: {error}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: not a model file: its JSON is nested too deeply") from None
    except ValueError as error:  # any other decoding failure, e.g. an over-long integer
        raise ModelFileError(f"{path}: not valid JSON: {error}") from None
    if _nested_deeper_than(doc, MAX_FILE_DEPTH):
        raise ModelFileError(f"{path}: not a model file: its JSON is nested more than "
                             f"{MAX_FILE_DEPTH} levels deep")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a chainrule model file "
                             f"(expected a JSON object with \"format\": \"{FORMAT}\")")
    if doc.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: unsupported format version {doc.get('version')!r} "
                             f"(this chainrule reads version {FORMAT_VERSION})")
    for key in ("architecture", "parameters"):
        if not isinstance(doc.get(key), dict):
            raise ModelFileError(f"{path}: {key!r} must be a JSON object, "
                                 f"got {_kind(doc.get(key))}")
    return doc


def _nested_deeper_than(doc: Any, limit: int) -> bool:
    """Whether lists/objects in ``doc`` nest more than ``limit`` levels (no recursion)."""
    stack = [(doc, 1)] if isinstance(doc, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _kind(x: Any) -> str:
    return f"{x!r} ({type(x).__name__})"


def _some(names: List[str], limit: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _describe(arch: Dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in arch.items() if k != "type")
    return f"{arch.get('type')}({args})"


# ============================================================================ layers


def _check_positive_int(x: Any, what: str) -> int:
    """``x`` as a plain int (numpy integers welcome); bool is not a count."""
    if isinstance(x, bool) or not isinstance(x, Integral) or x < 1:
        raise ValueError(f"{what} must be a positive int, got {x!r}")
    return operator.index(x)


def _check_flag(x: Any, what: str) -> bool:
    if not isinstance(x, bool):
        raise TypeError(f"{what} must be True or False, got {_kind(x)}")
    return x


def _check_choice(x: Any, options: Sequence[str], what: str) -> str:
    if x not in options:
        raise ValueError(f"unknown {what} {x!r}; choose one of {', '.join(map(repr, options))}")
    return x


def _rng(seed: Seed) -> Optional[random.Random]:
    """A private generator for ``seed``, or None: then the global ``random`` (micrograd's)."""
    if seed is None:
        return None
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an int, a random.Random or None, got {_kind(seed)}")
    return random.Random(operator.index(seed))


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
                    f"Values), got {_kind(x)}")


class Neuron(Module):
    """``act(w . x + b)``: ``nin`` weights and a bias, micrograd's neuron.

    ``nonlin=False`` makes it linear (micrograd's switch); otherwise ``activation``
    ('relu', 'tanh', 'sigmoid', 'linear') is applied. ``init`` chooses the weights:
    'uniform' U(-1, 1) (micrograd), 'normal' N(0, 1), 'xavier' U(-a, a) with
    a = sqrt(6 / (nin + fan_out)), 'he' N(0, 2 / nin). The bias starts at 0. Weights
    come from the global ``random`` (micrograd's order) unless ``seed`` is an int
    (a private ``random.Random(seed)``) or a ``random.Random`` to draw from.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str = "relu",
        init: str = "uniform",
        seed: Seed = None,
        fused: bool = True,
        fan_out: int = 1,
    ) -> None:
        nin = self.nin = _check_positive_int(nin, "Neuron: nin (the number of inputs)")
        self.nonlin = bool(nonlin)
        self.activation = _check_choice(activation, ACTIVATIONS, "activation")
        _check_choice(init, INITS, "init")
        fan_out = _check_positive_int(fan_out, "Neuron: fan_out")
        self.fused = _check_flag(fused, "Neuron: fused")
        self.w = [Value(x) for x in _initial_weights(init, nin, fan_out, _rng(seed) or random)]
        self.b = Value(0.0)
        self._act = _NONLIN[activation] if self.nonlin else None

    def __call__(self, x: Union[Iterable[Input], Input]) -> Value:
        if type(x) is not list:  # the hot path (a Layer's list) skips the conversion
            x = _inputs(x, "Neuron", self.nin)
        if len(x) != self.nin:
            raise ValueError(f"Neuron expects {self.nin} inputs, got {len(x)}")
        if self.fused:
            act = Value.dot(self.w, x, self.b)
        else:
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return self._act(act) if self._act is not None else act

    def named_parameters(self) -> List[Tuple[str, Value]]:
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def __repr__(self) -> str:
        return f"{_REPR_NAME[self.activation if self.nonlin else 'linear']}Neuron({self.nin})"

    def _architecture(self) -> Dict[str, Any]:
        return {"type": "Neuron", "nin": self.nin, "nonlin": self.nonlin,
                "activation": self.activation}

    _OPTION_TYPES = {"fused": bool}

    def _options(self) -> Dict[str, Any]:
        return {"fused": self.fused}


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


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs (micrograd's Layer).

    Returns a list of ``nout`` Values, or a single Value when ``nout == 1``.
    Keyword arguments are those of ``Neuron``.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        nonlin: bool = True,
        *,
        activation: str = "relu",
        init: str = "uniform",
        seed: Seed = None,
        fused: bool = True,
    ) -> None:
        nin = _check_positive_int(nin, "Layer: nin (the number of inputs)")
        nout = _check_positive_int(nout, "Layer: nout (the number of neurons)")
        _check_flag(fused, "Layer: fused")
        rng = _rng(seed)  # one generator for all neurons: draws in micrograd's order
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
        x = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def named_parameters(self) -> List[Tuple[str, Value]]:
        return [(f"neurons.{i}.{name}", p)
                for i, n in enumerate(self.neurons) for name, p in n.named_parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"

    def _architecture(self) -> Dict[str, Any]:
        first = self.neurons[0]
        return {"type": "Layer", "nin": self.nin, "nout": len(self.neurons),
                "nonlin": first.nonlin, "activation": first.activation}

    _OPTION_TYPES = {"fused": bool}

    def _options(self) -> Dict[str, Any]:
        return {"fused": self.neurons[0].fused}


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` maps 2 inputs to 1 score.

    Hidden layers use ``activation`` (ReLU by default), the last layer is linear
    (micrograd). Returns a single Value when the last layer has width 1, else a list.
    Keyword arguments are those of ``Neuron``; with ``seed=None`` weights are drawn
    from the global ``random`` in micrograd's order.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str = "relu",
        init: str = "uniform",
        seed: Seed = None,
        fused: bool = True,
    ) -> None:
        nin = _check_positive_int(nin, "MLP: nin (the number of inputs)")
        widths = (list(nouts) if hasattr(nouts, "__iter__") and not isinstance(nouts, str)
                  else [])
        if not widths:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer widths, "
                             f"e.g. [16, 16, 1], got {nouts!r}")
        nouts = [_check_positive_int(width, "MLP: every layer width in nouts")
                 for width in widths]
        _check_choice(activation, ACTIVATIONS, "activation")
        _check_choice(init, INITS, "init")
        _check_flag(fused, "MLP: fused")
        rng = _rng(seed)
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
        for layer in self.layers:
            x = layer(x)
        return x

    def named_parameters(self) -> List[Tuple[str, Value]]:
        return [(f"layers.{i}.{name}", p)
                for i, layer in enumerate(self.layers) for name, p in layer.named_parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

    def _architecture(self) -> Dict[str, Any]:
        hidden = self.layers[0].neurons[0]
        return {"type": "MLP", "nin": self.nin,
                "nouts": [len(layer.neurons) for layer in self.layers],
                "activation": hidden.activation}

    _OPTION_TYPES = {"fused": bool}

    def _options(self) -> Dict[str, Any]:
        return {"fused": self.layers[0].neurons[0].fused}


# ============================================================================ losses
#
# Each loss takes a list of model outputs and a list of targets (a single Value and a
# single target are accepted too) and returns the mean over the samples as one Value.
# Outputs may be Values or plain numbers (a number is a constant: no gradient).


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


def mse(preds: Union[Value, Sequence[Input]], targets: Union[Input, Sequence[Input]]) -> Value:
    """Mean squared error ``mean((pred - target)**2)``, for regression."""
    preds, targets = _paired(preds, targets, "mse")
    return Value.sum((_as_value(p) - t) ** 2 for p, t in zip(preds, targets)) / len(preds)


def binary_cross_entropy_with_logits(
    logits: Union[Value, Sequence[Input]], targets: Union[Number, Sequence[Number]]
) -> Value:
    """Mean binary cross-entropy of ``sigmoid(logit)`` against targets in [0, 1].

    Takes logits (raw scores), not probabilities, exactly like PyTorch's
    ``F.binary_cross_entropy_with_logits``. The stable form
    ``max(z, 0) - z*y + log(1 + exp(-|z|))`` never overflows, even at z = +-1000,
    and the gradient is exactly ``sigmoid(z) - y``, also at z = 0.
    """
    return _binary_cross_entropy(logits, targets, "binary_cross_entropy_with_logits")


def binary_cross_entropy(
    logits: Union[Value, Sequence[Input]], targets: Union[Number, Sequence[Number]]
) -> Value:
    """``binary_cross_entropy_with_logits`` under a shorter name: it takes LOGITS.

    On logits, like torch's ``binary_cross_entropy_with_logits`` -- not like torch's
    ``F.binary_cross_entropy``, which takes probabilities. Pass the raw score ``z``,
    never ``sigmoid(z)``: a probability would be read as a logit, and the loss would
    be silently wrong.
    """
    return _binary_cross_entropy(logits, targets, "binary_cross_entropy")


def _binary_cross_entropy(logits: Any, targets: Any, name: str) -> Value:
    logits, targets = _paired(logits, targets, name)
    for i, y in enumerate(targets):
        if isinstance(y, Value) or not isinstance(y, Real) or not 0.0 <= y <= 1.0:
            raise ValueError(f"{name}: targets must be numbers in [0, 1], "
                             f"got {y!r} at index {i}")
    return Value.sum(_bce(_as_value(z), float(y)) for z, y in zip(logits, targets)) / len(logits)


def _bce(z: Value, y: float) -> Value:
    x = z.data
    data = max(x, 0.0) - x * y + math.log1p(math.exp(-abs(x)))
    slope = _sigmoid(x) - y
    def _backward(grad: float) -> None:  # d/dz = sigmoid(z) - y
        z.grad += slope * grad
    return Value(data, (z,), "bce", _backward=_backward)


def hinge(scores: Union[Value, Sequence[Input]], labels: Union[Number, Sequence[Number]]) -> Value:
    """The max-margin (SVM) loss of micrograd's demo: ``mean(relu(1 - y*score))``, y = +-1."""
    scores, labels = _paired(scores, labels, "hinge", "labels")
    for i, y in enumerate(labels):
        if isinstance(y, Value) or y not in (-1, 1):
            raise ValueError(f"hinge: labels must be -1 or +1, got {y!r} at index {i} "
                             "(for 0/1 labels use 2*y - 1, or "
                             "binary_cross_entropy_with_logits)")
    return Value.sum((1 - int(y) * _as_value(s)).relu()
                     for s, y in zip(scores, labels)) / len(scores)


def cross_entropy(
    logits: Union[Sequence[Input], Sequence[Sequence[Input]]],
    target: Union[int, Sequence[int]],
) -> Value:
    """Softmax cross-entropy ``-log softmax(logits)[target]`` for one sample or a batch.

    One sample: a list of k logits and an int class index in [0, k). A batch: a list
    of such lists and a list of indices; returns the mean. Computed as
    ``logsumexp(z) - z[target]`` with the max subtracted first, so logits of +-1000
    are fine; the gradient is ``softmax(z) - onehot(target)``.
    """
    logits = list(logits)
    if not logits:
        raise ValueError("cross_entropy: got no logits (an empty list)")
    if isinstance(logits[0], (Value, Real)):  # one sample
        return _cross_entropy_one(logits, target, "")
    targets = _as_list(target)
    if len(logits) != len(targets):
        raise ValueError(f"cross_entropy: got {len(logits)} samples of logits but "
                         f"{len(targets)} targets; they must have the same length")
    losses = [_cross_entropy_one(list(z), t, f" (sample {i})")
              for i, (z, t) in enumerate(zip(logits, targets))]
    return Value.sum(losses) / len(losses)


def _cross_entropy_one(logits: List[Any], target: Any, where: str) -> Value:
    k = len(logits)
    if not k:
        raise ValueError(f"cross_entropy: got no logits (an empty list){where}")
    if isinstance(target, bool) or not isinstance(target, Integral) or not 0 <= target < k:
        raise ValueError(f"cross_entropy: target must be a class index in [0, {k - 1}] "
                         f"for {k} logits, got {target!r}{where}")
    target = operator.index(target)
    zs = tuple(_as_value(z) for z in logits)
    m = max(z.data for z in zs)
    exps = [math.exp(z.data - m) for z in zs]  # every exponent <= 0: no overflow
    total = sum(exps)
    data = m + math.log(total) - zs[target].data
    probs = [e / total for e in exps]
    def _backward(grad: float) -> None:  # d/dz_i = softmax_i - [i == target]
        for i, z in enumerate(zs):
            z.grad += (probs[i] - (i == target)) * grad
    return Value(data, zs, "cross_entropy", _backward=_backward)


def l2(params: Union[Module, Iterable[Value]], alpha: float) -> Value:
    """L2 penalty ``alpha * sum(p*p)``, micrograd's regularizer (``alpha=1e-4`` there).

    Pass ``model.parameters()`` (or the model itself).
    """
    if isinstance(params, Module):
        params = params.parameters()
    params = list(params)
    if not params:
        raise ValueError("l2: got no parameters (an empty list)")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 <= alpha < math.inf:
        raise ValueError(f"l2: alpha must be a finite number >= 0, got {alpha!r}")
    return alpha * Value.sum(p * p for p in params)
