"""A chainrule model as a ``torch.nn.Sequential`` and back, weight for weight.

Neuron ``j`` of layer ``i`` is row ``j`` of the ``i``-th ``Linear``: its weight ``w.k``
is ``weight[j, k]`` and its bias ``b`` is ``bias[j]`` (``Linear`` computes
``x @ weight.T + bias``, one row per output).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

from ..engine import Value
from ..nn import MLP, Layer, Neuron

__all__ = ["to_torch", "from_torch", "parameter_names", "TORCH_ACTIVATIONS"]

Model = Union[MLP, Layer, Neuron]

# chainrule's activation -> the torch.nn module that applies it ("linear": none).
TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": None}


class Slot(NamedTuple):
    """Where one chainrule parameter lives in the torch model."""

    name: str  # chainrule's name, "layers.0.neurons.1.w.0"
    value: Value
    linear: int  # index of its Linear in the Sequential
    kind: str  # "weight" or "bias"
    at: Tuple[int, ...]  # (j, k) in weight, (j,) in bias


def _layers(model: Any) -> List[List[Neuron]]:
    """The model as a list of layers, each a list of neurons (an MLP, a Layer or a Neuron)."""
    if isinstance(model, MLP):
        return [list(layer.neurons) for layer in model.layers]
    if isinstance(model, Layer):
        return [list(model.neurons)]
    if isinstance(model, Neuron):
        return [[model]]
    raise TypeError(f"expected a chainrule MLP, Layer or Neuron, got {type(model).__name__}")


def _activation(neuron: Neuron) -> str:
    return neuron.activation if neuron.nonlin else "linear"


def _plan(model: Any) -> Tuple[List[Tuple[int, int, str]], List[Slot]]:
    """``(nin, nout, activation)`` per layer and every parameter's slot, in torch's layout."""
    layers = _layers(model)
    names = {id(p): name for name, p in model.named_parameters()}
    shapes, slots = [], []
    position = 0  # index in the Sequential: each Linear, then its activation (if any)
    for neurons in layers:
        act = _activation(neurons[0])
        shapes.append((neurons[0].nin, len(neurons), act))
        for j, neuron in enumerate(neurons):
            for k, w in enumerate(neuron.w):
                slots.append(Slot(names[id(w)], w, position, "weight", (j, k)))
            slots.append(Slot(names[id(neuron.b)], neuron.b, position, "bias", (j,)))
        position += 1 if TORCH_ACTIVATIONS[act] is None else 2
    return shapes, slots


def parameter_names(model: Model) -> Dict[str, str]:
    """chainrule parameter name -> where it lives in ``to_torch(model)``.

    >>> parameter_names(MLP(2, [3, 1]))["layers.1.neurons.0.w.2"]
    '2.weight[0, 2]'
    """
    _, slots = _plan(model)
    return {s.name: f"{s.linear}.{s.kind}[{', '.join(map(str, s.at))}]" for s in slots}


def to_torch(model: Model) -> Any:
    """A ``torch.nn.Sequential`` (float64) computing exactly what ``model`` computes.

    ``MLP(2, [16, 16, 1])`` becomes ``Sequential(Linear(2, 16), ReLU(), Linear(16, 16),
    ReLU(), Linear(16, 1))`` with the same weights (copied: the two train apart).
    It takes a batch: ``to_torch(model)(torch.tensor(X, dtype=torch.float64))`` has
    shape ``(len(X), nout)``, where ``model(x)`` gives one sample's Value (or list).
    """
    import torch

    shapes, slots = _plan(model)
    modules: List[Any] = []
    for nin, nout, act in shapes:
        modules.append(torch.nn.Linear(nin, nout, dtype=torch.float64))
        module = TORCH_ACTIVATIONS[act]
        if module is not None:
            modules.append(getattr(torch.nn, module)())
    seq = torch.nn.Sequential(*modules)
    with torch.no_grad():
        for s in slots:
            getattr(seq[s.linear], s.kind)[s.at] = s.value.data
    return seq


def _layer_name(index: int, layer: Any) -> str:
    return f"layer {index} ({type(layer).__name__})"


def from_torch(module: Any, *, fused: Optional[bool] = None) -> MLP:
    """The chainrule ``MLP`` for a ``torch.nn.Sequential`` of ``Linear`` and activations.

    Accepts ``Linear`` layers (with bias), each but the last followed by the same
    activation (``ReLU``, ``Tanh`` or ``Sigmoid``) or by none (then "linear"):
    the shapes an ``MLP`` has. Anything else raises an error naming the first layer
    that does not fit, by index and type. Weights are copied exactly (float32 and
    float16 widen to float64 without rounding). ``fused`` is passed on to ``MLP``.
    """
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch expects a torch.nn.Sequential of Linear and activation "
                        f"layers, got {type(module).__name__}")
    layers = list(module)
    if not layers:
        raise ValueError("from_torch: the Sequential is empty; an MLP needs a Linear layer")
    supported = {name: act for act, name in TORCH_ACTIVATIONS.items() if name is not None}
    linears: List[Any] = []
    hidden: Optional[str] = None  # the hidden activation, once a second Linear shows it
    pending: Optional[str] = None  # the activation seen since the last Linear
    for i, layer in enumerate(layers):
        if isinstance(layer, torch.nn.Linear):
            _check_linear(i, layer, linears[-1] if linears else None)
            if linears:
                act = pending or "linear"
                if hidden is not None and act != hidden:
                    culprit = (_layer_name(i - 1, layers[i - 1]) if pending else
                               f"{_layer_name(i, layer)} (no activation before it)")
                    raise ValueError(f"from_torch: {culprit} does not match the earlier hidden "
                                     f"layers' activation {hidden!r}; an MLP uses one "
                                     "activation for every hidden layer")
                hidden = act
            linears.append(layer)
            pending = None
        elif type(layer).__name__ in supported and isinstance(layer, torch.nn.Module):
            if not linears or pending is not None:
                where = "first" if not linears else "second activation in a row"
                raise ValueError(f"from_torch: {_layer_name(i, layer)} is not supported here "
                                 f"({where}): an MLP applies one activation after a Linear")
            pending = supported[type(layer).__name__]
        else:
            raise TypeError(f"from_torch: {_layer_name(i, layer)} is not supported: an MLP is "
                            "built from Linear, ReLU, Tanh and Sigmoid layers")
    if pending is not None:
        i = len(layers) - 1
        raise ValueError(f"from_torch: {_layer_name(i, layers[i])} after the last Linear is not "
                         "supported: an MLP's last layer is linear (apply the activation, or "
                         "a loss such as binary_cross_entropy_with_logits, to its output)")
    options: Dict[str, Any] = {} if fused is None else {"fused": fused}
    nouts = [layer.out_features for layer in linears]
    model = MLP(linears[0].in_features, nouts, activation=hidden or "relu", seed=0, **options)
    # The MLP has the Sequential's layout, so each slot indexes the module directly.
    _, slots = _plan(model)
    arrays = {i: [getattr(layer, kind).detach().double().tolist() for kind in ("weight", "bias")]
               for i, layer in enumerate(layers) if isinstance(layer, torch.nn.Linear)}
    state = {}
    for s in slots:
        weight, bias = arrays[s.linear]
        state[s.name] = weight[s.at[0]][s.at[1]] if s.kind == "weight" else bias[s.at[0]]
    _check_finite(state, model)
    model.load_state_dict(state)
    return model


def _check_linear(i: int, layer: Any, previous: Any) -> None:
    if layer.bias is None:
        raise ValueError(f"from_torch: {_layer_name(i, layer)} has no bias (bias=False); every "
                         "chainrule neuron has one")
    if not layer.weight.dtype.is_floating_point:
        raise TypeError(f"from_torch: {_layer_name(i, layer)} has weights of dtype "
                        f"{layer.weight.dtype}; expected a floating-point dtype")
    if tuple(layer.weight.shape) != (layer.out_features, layer.in_features):
        raise ValueError(f"from_torch: {_layer_name(i, layer)} has a weight of shape "
                         f"{tuple(layer.weight.shape)}, expected "
                         f"({layer.out_features}, {layer.in_features})")
    if previous is not None and layer.in_features != previous.out_features:
        raise ValueError(f"from_torch: {_layer_name(i, layer)} takes {layer.in_features} "
                         f"inputs, but the layer before it gives {previous.out_features}")


def _check_finite(state: Dict[str, float], model: Model) -> None:
    names = parameter_names(model)
    for name, x in state.items():
        if not math.isfinite(x):
            raise ValueError(f"from_torch: {names[name]} is {x}; chainrule parameters must be "
                             "finite numbers")
