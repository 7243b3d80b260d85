"""Neurons, layers, MLPs, losses and model files, built from ``Value`` as micrograd builds them.

``Neuron``, ``Layer`` and ``MLP`` keep micrograd's signatures, defaults, graph and
weight-drawing order, so micrograd's demo runs unchanged (only the import differs).
On top they have PyTorch's bookkeeping: ``named_parameters()``,
``state_dict()``/``load_state_dict()`` and ``save()``/``from_file()`` as JSON.

module.py: ``Module``; layers.py: ``Neuron``, ``Layer``, ``MLP``; losses.py: the losses
(PyTorch's names mean PyTorch's functions); io.py: the model-file format.
"""

from .io import ModelFileError
from .layers import ACTIVATIONS, INITS, MLP, Layer, Neuron
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    mse,
)
from .module import Module

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "ModelFileError",
    "mse", "binary_cross_entropy_with_logits", "binary_cross_entropy", "hinge",
    "cross_entropy", "l2",
    "ACTIVATIONS", "INITS",
]
