"""``Module``: the bookkeeping every model shares (parameters, zero_grad, state, files)."""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar, Union

from ..engine import Value
from . import io
from .io import ModelFileError

PathLike = Union[str, "os.PathLike[str]"]
_M = TypeVar("_M", bound="Module")


class Module:
    """Base class: anything that owns parameters (``Value`` leaves that training updates).

    A subclass lists its parameters in ``named_parameters()``; everything else
    (``parameters``, ``zero_grad``, ``state_dict``, ``save``, ...) is built on it.
    A micrograd-style subclass that only overrides ``parameters()`` works too: its
    parameters are then named ``"0"``, ``"1"``, ...
    """

    # The JSON type of each option in ``_options()`` (checked when a file is read).
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

        Checks everything before changing anything: on any error (``ModelFileError``,
        a ``ValueError``) the model is exactly as it was. Names must match exactly;
        values must be finite numbers.
        """
        named = self.named_parameters()
        values = io.checked_values([name for name, _ in named], state, "state_dict")
        for (_, p), x in zip(named, values):
            p.data = x

    def save(self, path: PathLike) -> None:
        """Write architecture and parameters to ``path`` as JSON (readable, never pickle).

        A reader of ``path`` sees the whole old file or the whole new one, never a mix;
        on failure the old file is untouched and nothing else is left behind.
        """
        params = self.state_dict()
        for name, x in params.items():
            if not math.isfinite(x):
                raise ValueError(f"cannot save: parameter {name!r} is {x} (not finite)")
        io.write_model_file({
            "format": io.FORMAT,
            "version": io.FORMAT_VERSION,
            "architecture": self._architecture(),
            "options": self._options(),
            "parameters": params,
        }, path)

    def load(self, path: PathLike) -> None:
        """Load parameters saved by ``save()`` into this model, in place.

        The file must describe the same architecture. Raises ``ModelFileError``
        (a ``ValueError``) naming the file and what is wrong, and then leaves the
        model unchanged. Applies every check ``from_file`` applies.
        """
        named = self.named_parameters()
        f, size = io.open_model_file(path)
        with f:
            raw = io.read_limited(f, size, io.max_file_size(len(named)),
                                  path, f"a model of {len(named)} parameters")
        doc = io.parse_model_file(raw, path)
        self._load_document(doc, named, str(path))

    def _load_document(self, doc: Dict[str, Any], named: List[Tuple[str, Value]],
                       where: str) -> None:
        io.checked_options(doc.get("options", {}), self._OPTION_TYPES, type(self).__name__,
                           where)
        arch, mine = doc["architecture"], self._architecture()
        if not io.same_json(arch, mine):
            raise ModelFileError(f"{where}: architecture differs: the file has "
                                 f"{io.describe_architecture(arch)}, this model is "
                                 f"{io.describe_architecture(mine)}")
        values = io.checked_values([name for name, _ in named], doc["parameters"], where)
        for (_, p), x in zip(named, values):
            p.data = x

    @classmethod
    def from_file(cls: Type[_M], path: PathLike) -> _M:
        """Build a model from a file written by ``save()``: ``model = MLP.from_file(path)``.

        Checks the architecture the file describes (it must be a ``cls``) and that its
        parameter count matches the file's parameters before building anything; a
        file far larger than its architecture needs is refused from its size. Does not
        touch the global ``random`` state.
        """
        where = str(path)
        f, size = io.open_model_file(path)
        with f:
            limit = io.max_file_size(io.MAX_PARAMETERS)
            why = f"a model of at most {io.MAX_PARAMETERS} parameters"
            head = f.read(io.HEADER_BYTES)
            peeked = io.peek_architecture(head)
            if peeked is not None:  # the file's own architecture bounds its size
                count = cls._checked_count(peeked, where)
                if count is not None:
                    limit, why = io.max_file_size(count), io.describe_architecture(peeked)
            raw = io.read_limited(f, size, limit, path, why, head)
        doc = io.parse_model_file(raw, path)
        arch = doc["architecture"]
        n = cls._checked_count(arch, where)
        if n is not None and n != len(doc["parameters"]):
            raise ModelFileError(f"{where}: {io.describe_architecture(arch)} has {n} parameters, "
                                 f"but the file lists {len(doc['parameters'])}")
        options = io.checked_options(doc.get("options", {}), cls._OPTION_TYPES, cls.__name__,
                                     where)
        kwargs = {k: v for k, v in arch.items() if k != "type"}
        try:
            # A throwaway seed: the weights are overwritten right away, and the global
            # random state stays untouched.
            model = cls(**kwargs, **options, seed=0)  # type: ignore[call-arg]
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: cannot build {io.describe_architecture(arch)}: "
                                 f"{error}") from None
        model._load_document(doc, model.named_parameters(), where)
        return model

    @classmethod
    def _checked_count(cls, arch: Dict[str, Any], where: str) -> Optional[int]:
        """The parameter count ``arch`` implies, checked against the file and the limit."""
        if arch.get("type") != cls.__name__:
            raise ModelFileError(f"{where}: the file holds a {describe_type(arch.get('type'))}, "
                                 f"not a {cls.__name__}")
        try:
            n = cls._parameter_count(arch)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: cannot build {io.describe_architecture(arch)}: "
                                 f"{error}") from None
        if n is not None and n > io.MAX_PARAMETERS:
            raise ModelFileError(f"{where}: {io.describe_architecture(arch)} would have {n} "
                                 f"parameters, more than the {io.MAX_PARAMETERS} a chainrule "
                                 "model file may hold; not built")
        return n

    @classmethod
    def _parameter_count(cls, arch: Dict[str, Any]) -> Optional[int]:
        """How many parameters ``cls(**arch)`` has, computed without building it.

        Raises ``TypeError``/``ValueError`` for an architecture ``cls`` cannot build;
        ``None`` when unknown (a user's subclass): then only the global limit applies.
        """
        return None

    def _architecture(self) -> Dict[str, Any]:
        """What must match for parameters to fit: the constructor's shape arguments."""
        return {"type": type(self).__name__}

    def _options(self) -> Dict[str, Any]:
        """Constructor arguments that do not change the numbers (kept for from_file)."""
        return {}


def describe_type(kind: Any) -> str:
    return kind if isinstance(kind, str) and len(kind) < 60 else repr(kind)[:60]
