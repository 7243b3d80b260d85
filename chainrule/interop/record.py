"""Record a torch computation on 0-d tensors as a chainrule graph, to draw it and step through it.

    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    with record(names={"x": x}) as graph:
        y = torch.tanh(x * 3 + 1)
    graph.backward()          # chainrule's backward on the Values, torch's on the tensors
    draw_dot(graph.output)    # label | data | grad, as for any chainrule graph

Every torch call inside the block reaches ``__torch_function__`` of a
``torch.overrides.TorchFunctionMode``
(https://pytorch.org/docs/stable/notes/extending.html#extending-all-torch-api-with-modes).
torch computes as usual; each op chainrule has is then repeated on ``Value`` s with
chainrule's own operators, so the graph holds the engine's ops, steps and op strings.
"""

from __future__ import annotations

import contextlib
import operator
from numbers import Real
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ..engine import Value
from .compare import GradientComparison, _row

__all__ = ["record", "RecordedGraph", "UnsupportedOp", "RECORDED_OPS"]


class UnsupportedOp(NotImplementedError):
    """A torch op inside ``record()`` that chainrule has no op for."""


def _sum(v: Value) -> Value:
    return Value.sum([v])


# chainrule op -> how to compute it on Values (chainrule's own operators and methods).
_COMPUTE: Dict[str, Callable[..., Value]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "neg": operator.neg, "exp": Value.exp, "log": Value.log,
    "tanh": Value.tanh, "sigmoid": Value.sigmoid, "relu": Value.relu, "abs": Value.abs,
    "sum": _sum,
}
_BINARY = ("add", "sub", "mul", "div", "pow")
_TORCH_NAMES = {  # torch's spellings of each op, beyond torch.<op> and Tensor.<op>
    "sub": ("subtract",), "mul": ("multiply",), "div": ("divide", "true_divide"),
    "neg": ("negative",), "abs": ("absolute",),
}


def _names() -> Dict[str, Tuple[str, bool]]:
    """Every torch name ``resolve_name`` gives a supported op -> (op, reversed operands)."""
    names: Dict[str, Tuple[str, bool]] = {}
    for op in _COMPUTE:
        for spelling in (op, *_TORCH_NAMES.get(op, ())):
            names[f"torch.{spelling}"] = (op, False)
            names[f"torch.Tensor.{spelling}"] = (op, False)
            if op in _BINARY and op != "pow":
                names[f"torch.Tensor.{spelling}_"] = (op, False)  # in place: x.add_(y)
    dunder = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv", "pow": "pow"}
    for op, name in dunder.items():
        names[f"torch.Tensor.__{name}__"] = (op, False)
        names[f"torch.Tensor.__r{name}__"] = (op, True)
        names[f"torch.Tensor.__i{name}__"] = (op, False)
    names["torch.rsub"] = ("sub", True)
    names["torch.Tensor.__neg__"] = ("neg", False)
    names["torch.Tensor.__abs__"] = ("abs", False)
    for op in ("tanh", "sigmoid", "relu"):
        names[f"torch.nn.functional.{op}"] = (op, False)
    return names


_OPS = _names()
RECORDED_OPS = tuple(_COMPUTE)
# Keyword arguments torch passes that change nothing, with the one value that is allowed.
_NEUTRAL = {"alpha": 1, "inplace": False, "dtype": None, "rounding_mode": None, "out": None}
# Calls that compute nothing to record: reading a tensor, torch's own backward.
_PASS = {"torch.Tensor.backward", "torch.autograd.backward", "torch.Tensor.detach",
         "torch.Tensor.requires_grad_", "torch.Tensor.retain_grad"}


def _mode_type() -> type:
    """The TorchFunctionMode subclass, made on first use so that torch stays optional."""
    global _MODE
    if _MODE is None:
        from torch.overrides import TorchFunctionMode

        class Recorder(TorchFunctionMode):
            def __init__(self, graph: RecordedGraph) -> None:
                super().__init__()
                self.graph = graph

            def __torch_function__(self, func: Any, types: Any, args: Any = (),
                                   kwargs: Any = None) -> Any:
                return self.graph._call(func, args, kwargs or {})

        _MODE = Recorder
    return _MODE


_MODE: Optional[type] = None


class RecordedGraph:
    """The Values ``record()`` made: one per tensor its ops read or wrote.

    ``output`` is the Value of the last recorded op (the root to draw),
    ``output_tensor`` the tensor it mirrors. ``value(t)`` is the Value of tensor ``t``.
    """

    def __init__(self) -> None:
        self._values: Dict[int, Tuple[Any, Value]] = {}  # id(tensor) -> (tensor, Value)
        self.output: Optional[Value] = None
        self.output_tensor: Any = None

    def value(self, tensor: Any) -> Value:
        """The Value standing for ``tensor`` (a new leaf if no recorded op made it)."""
        import torch

        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"expected a torch tensor, got {type(tensor).__name__}")
        entry = self._values.get(id(tensor))
        if entry is None or entry[0] is not tensor:
            if tensor.dim() != 0:
                raise ValueError(f"record() draws computations on 0-d tensors (single numbers), "
                                 f"got a tensor of shape {tuple(tensor.shape)}")
            entry = self._values[id(tensor)] = (tensor, Value(tensor.item()))
        return entry[1]

    def label(self, tensor: Any, name: str) -> Value:
        """Name ``tensor``'s Value in drawings: ``graph.label(w, "w")``."""
        if not isinstance(name, str):
            raise TypeError(f"label: name must be a str, got {type(name).__name__}")
        v = self.value(tensor)
        v.label = name
        return v

    def leaves(self) -> List[Tuple[Any, Value]]:
        """``(tensor, Value)`` for every tensor the recorded ops read but did not make."""
        return [(t, v) for t, v in self._values.values() if not v._prev]

    def parameters(self) -> List[Value]:
        """The leaves whose tensor requires grad: ``draw_dot(g.output, params=g.parameters())``."""
        return [v for t, v in self.leaves() if t.requires_grad]

    def backward(self) -> None:
        """chainrule's ``backward()`` on ``output``, then torch's on ``output_tensor``.

        Both sets of gradients fill in (leaf grads accumulate on both sides, as in
        torch), so ``compare()`` can set them side by side and ``draw_dot`` shows
        chainrule's. torch keeps its graph (``retain_graph=True``) for a second call.
        """
        if self.output is None:
            raise ValueError("record(): nothing was recorded, so there is no output to "
                             "differentiate; compute with torch ops inside the with block")
        self.output.backward()
        if self.output_tensor.requires_grad:
            self.output_tensor.backward(retain_graph=True)

    def compare(self, *, atol: float = 1e-12, rtol: float = 1e-9,
                verbose: bool = True) -> GradientComparison:
        """The output and each leaf's grad, chainrule's beside torch's (after ``backward()``)."""
        if self.output is None:
            raise ValueError("record(): nothing was recorded, so there is nothing to compare")
        rows = []
        for i, (t, v) in enumerate(self.leaves()):
            if t.requires_grad and t.grad is not None:
                rows.append(_row(v.label or f"leaf {i}", v.grad, t.grad.item(), atol, rtol))
        output = _row("output", self.output.data, self.output_tensor.item(), atol, rtol)
        result = GradientComparison(output, rows, atol, rtol, what="record")
        if verbose:
            print(result)
        return result

    # ------------------------------------------------------------ the mode's hook

    def _call(self, func: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        import torch
        from torch.overrides import resolve_name

        name = resolve_name(func) or getattr(func, "__qualname__", repr(func))
        entry = _OPS.get(name)
        if entry is None or not torch.is_grad_enabled():
            result = func(*args, **kwargs)
            if (entry is None and name not in _PASS and not name.endswith((".__get__", ".__set__"))
                    and _makes_float_tensor(result, args)):
                raise UnsupportedOp(f"record(): {name} is not an op chainrule records; it "
                                    f"records {', '.join(RECORDED_OPS)} on 0-d tensors")
            return result
        op, swapped = entry
        for key, value in kwargs.items():
            if key not in _NEUTRAL or value != _NEUTRAL[key]:
                raise UnsupportedOp(f"record(): {name}(..., {key}={value!r}) is not supported; "
                                    "chainrule's op takes no such option")
        if len(args) != (2 if op in _BINARY else 1):
            raise UnsupportedOp(f"record(): {name} with {len(args)} positional arguments is "
                                f"not supported; chainrule's {op} takes "
                                f"{2 if op in _BINARY else 1}")
        operands = [self._operand(a, name) for a in args]
        result = func(*args, **kwargs)
        if swapped:
            operands.reverse()
        value = _COMPUTE[op](*operands)
        self._values[id(result)] = (result, value)
        self.output, self.output_tensor = value, result
        return result

    def _operand(self, x: Any, name: str) -> Any:
        import torch

        if isinstance(x, torch.Tensor):
            if x.dim() != 0:
                raise ValueError(f"record() draws computations on 0-d tensors (single numbers); "
                                 f"{name} got a tensor of shape {tuple(x.shape)}")
            return self.value(x)
        if isinstance(x, Real) and not isinstance(x, bool):
            return x  # a constant: chainrule makes it a leaf Value, as in `x * 3`
        raise TypeError(f"record(): {name} got {type(x).__name__} {x!r}; chainrule records "
                        "0-d tensors and Python numbers")


def _makes_float_tensor(result: Any, args: Tuple[Any, ...]) -> bool:
    """Whether a call computed a floating-point tensor from tensors (so it had to be recorded)."""
    import torch

    def tensors(x: Any) -> Iterator[Any]:
        if isinstance(x, torch.Tensor):
            yield x
        elif isinstance(x, (list, tuple)):
            for item in x:
                yield from tensors(item)

    made = list(tensors(result))
    return any(t.is_floating_point() for t in made) and any(True for _ in tensors(args))


@contextlib.contextmanager
def record(names: Optional[Mapping[str, Any]] = None) -> Iterator[RecordedGraph]:
    """``with record(names={"x": x}) as graph:`` records torch ops on 0-d tensors as Values.

    Supported: ``RECORDED_OPS`` (add, sub, mul, div, pow, neg, exp, log, tanh,
    sigmoid, relu, abs, sum of a 0-d tensor) as ``torch.*`` functions, Tensor methods,
    operators and ``torch.nn.functional.{tanh, sigmoid, relu}``; Python numbers are
    constants. Any other op that computes a float tensor raises ``UnsupportedOp``
    naming it; an op on a tensor with dimensions raises a ``ValueError``. Under
    ``torch.no_grad()`` nothing is recorded (the results are leaves, as in torch).
    ``names`` labels tensors in drawings; so does ``graph.label(t, "x")``. Use
    float64 tensors: chainrule computes in float64, so a float32 computation's
    numbers differ from the drawing's in the 8th digit (``graph.compare()`` shows it).
    """
    graph = RecordedGraph()
    for name, tensor in (names or {}).items():
        graph.label(tensor, name)
    with _mode_type()(graph):
        yield graph
