"""Graduating to PyTorch: the same model, the same numbers, the same pictures.

    from chainrule.interop import to_torch, from_torch, compare_gradients, record
    net = to_torch(model)                      # torch.nn.Sequential, float64, same weights
    compare_gradients(model, X, y, mse)        # a table: chainrule's grad beside torch's
    topt = optimizer_to_torch(opt, model, net)  # training continues in torch, same numbers
    with record() as graph:                    # a torch computation as a chainrule graph
        ...

torch is optional: it is imported only when one of these runs
(``pip install chainrule[torch]``). Neuron ``j`` of layer ``i`` is row ``j`` of the
``i``-th ``Linear``: ``layers.i.neurons.j.w.k`` is ``weight[j, k]``.
"""

from .compare import TORCH_LOSSES, GradientComparison, compare_gradients, torch_loss
from .models import TORCH_ACTIVATIONS, from_torch, parameter_names, to_torch
from .optimizers import TORCH_OPTIMIZERS, optimizer_from_torch, optimizer_to_torch
from .record import RECORDED_OPS, RecordedGraph, UnsupportedOp, record

__all__ = [
    "to_torch", "from_torch", "parameter_names", "compare_gradients", "GradientComparison",
    "torch_loss", "optimizer_to_torch", "optimizer_from_torch", "record", "RecordedGraph",
    "UnsupportedOp", "TORCH_LOSSES", "TORCH_ACTIVATIONS", "TORCH_OPTIMIZERS", "RECORDED_OPS",
]
