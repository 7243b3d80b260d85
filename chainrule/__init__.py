"""chainrule: a scalar autograd engine for learning and teaching how neural networks train."""

from .engine import Value
from .explain import explain
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import gradcheck
from .tape import Tape

__version__ = "0.1.0"

__all__ = [
    "Value", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck", "explain", "Tape",
    "__version__",
]
