"""``predict``, ``accuracy`` and ``fit``: conveniences over the hand-written training loop.

``fit`` runs exactly the loop you would write yourself (and that demos/moons.py spells
out): for each mini-batch, forward the model, compute the loss, ``zero_grad()``,
``backward()``, ``step()``. It only adds the bookkeeping: a history per epoch, an
optional validation set and a progress bar.

How a model's output becomes a class (``predict``, ``accuracy``, ``fit``):

* one output (a single ``Value``, the score): the positive class when score > 0,
  else the negative one; classes are (0, 1) by default, or (-1, 1) for labels +-1.
  That is the sign of a hinge-loss score, and the 0.5 threshold of ``sigmoid(logit)``
  for a binary cross-entropy logit.
* several outputs (a list of Values, one per class): the index of the largest
  (the first one on ties), as for softmax cross-entropy logits.
"""

from __future__ import annotations

import sys
from numbers import Integral, Real
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _checks
from .data import batches
from .engine import Value
from .grad_mode import no_grad
from .tape import Tape

__all__ = ["predict", "accuracy", "fit"]

Output = Union[Value, Sequence[Value]]
Model = Callable[[Any], Output]


def _classify(output: Output, classes: Tuple[int, int]) -> int:
    if isinstance(output, Value):
        return classes[1] if output.data > 0 else classes[0]
    scores = [o.data for o in output]
    return max(range(len(scores)), key=scores.__getitem__)  # first max on ties


def _classes_for(y: Sequence[Any]) -> Tuple[int, int]:
    """Labels -1/+1 (hinge) or 0/1 (cross-entropy); only matters for one-output models."""
    return (-1, 1) if any(label == -1 for label in y) else (0, 1)


@no_grad()
def predict(model: Model, X: Sequence[Any], classes: Tuple[int, int] = (0, 1)) -> List[int]:
    """The predicted class of every point in ``X``, computed without recording a graph.

    For a one-output model ``classes`` names the (negative, positive) class,
    e.g. ``classes=(-1, 1)`` for a model trained with ``hinge``.
    """
    return [_classify(model(x), classes) for x in X]


@no_grad()
def accuracy(model: Model, X: Sequence[Any], y: Sequence[int]) -> float:
    """The fraction of points in ``X`` whose predicted class equals the label in ``y``.

    Labels may be 0/1, -1/+1 (one-output models) or 0..k-1 (k outputs).
    """
    if len(X) != len(y):
        raise ValueError(f"accuracy: X has {len(X)} samples but y has {len(y)}")
    if not len(X):
        raise ValueError("accuracy: got no samples")
    classes = _classes_for(y)
    return sum(_classify(model(x), classes) == t for x, t in zip(X, y)) / len(X)


def fit(
    model: Model,
    X: Sequence[Any],
    y: Sequence[Any],
    loss: Callable[[List[Output], List[Any]], Value],
    optimizer: Any,
    epochs: int,
    batch_size: Optional[int] = None,
    *,
    val: Optional[Tuple[Sequence[Any], Sequence[Any]]] = None,
    progress: Optional[bool] = None,
    shuffle: bool = True,
    seed: Optional[int] = None,
    schedule: Optional[Callable[[int], float]] = None,
    compile: Union[bool, str] = False,
) -> Dict[str, List[float]]:
    """Train ``model`` for ``epochs`` passes over ``(X, y)``; return the history.

    ``loss(outputs, targets)`` gets the model outputs and targets of one batch, e.g.
    ``hinge`` or ``lambda s, t: hinge(s, t) + l2(model, 1e-4)``. ``batch_size=None``
    trains on the full batch (one step per epoch, samples in order); otherwise the
    batches are reshuffled every epoch (``shuffle``), reproducibly for a ``seed``.
    ``schedule(epoch)``, if given, sets ``optimizer.lr`` at the start of each epoch.
    ``val=(X_val, y_val)`` is evaluated after each epoch without recording a graph.

    The history maps ``"loss"`` (and ``"accuracy"`` when every target is an int
    class label), plus ``"val_loss"``/``"val_accuracy"`` with ``val``, to one number
    per epoch. Training loss and accuracy are averaged over the epoch's batches as
    they went by (the parameters change during the epoch), as Keras reports them.
    A tqdm progress bar shows them when ``progress`` is True, or by default (None)
    when running in a terminal or notebook.

    ``compile=True`` (or ``"numpy"``) trains through ``chainrule.Tape``: a batch's
    graph is recorded, built once more and checked against the recording, then
    replayed with the batch's inputs; the history is the same as without it (bit for
    bit with True, the Python tape). Targets shape the loss graph (a hinge multiplies
    by them, cross-entropy indexes by them), so a tape serves one batch of targets:
    full batches and unshuffled mini-batches replay, shuffled ones (which rarely
    repeat) run eagerly. The model must be built from chainrule's own ops (see
    ``Tape``) and must not branch on ``.data``.
    """
    epochs = _checks.count(epochs, "fit: epochs", minimum=0)
    if compile not in (False, True, "python", "numpy"):
        raise ValueError(f"fit: compile must be False, True, 'python' or 'numpy', got "
                         f"{_checks.describe(compile)}")
    backend = "numpy" if compile == "numpy" else "python"
    loader = batches(X, y, len(X) if batch_size is None else batch_size,
                     shuffle=shuffle and batch_size is not None,
                     seed=seed)
    # int class labels of any kind (numpy.int64 too); bools and floats are targets
    classify = all(isinstance(t, Integral) and not isinstance(t, bool) for t in y)
    classes = _classes_for(y)
    keys = ["loss"] + ["accuracy"] * classify
    if val is not None:
        keys += ["val_" + key for key in keys]
        X_val, y_val = _checked_val(val)
        # Everything the end of an epoch computes, once before the first step: a bad
        # validation set raises now, with the model untouched.
        _validate(model, loss, X_val, y_val, classify)
    history: Dict[str, List[float]] = {key: [] for key in keys}
    tapes: Dict[Any, List[Any]] = {}

    bar = _progress_bar(epochs, progress)
    for epoch in range(epochs):
        if schedule is not None:
            optimizer.lr = schedule(epoch)
        total, correct = 0.0, 0
        for xb, yb in loader:
            if compile:
                value, outputs = _taped_step(model, loss, optimizer, xb, yb, tapes, backend)
            else:
                outputs = [model(x) for x in xb]
                batch_loss = loss(outputs, yb)
                optimizer.zero_grad()
                batch_loss.backward()
                optimizer.step()
                value = batch_loss.data
            total += value * len(xb)
            if classify:
                correct += sum(_classify(o, classes) == t for o, t in zip(outputs, yb))
        history["loss"].append(total / len(X))
        if classify:
            history["accuracy"].append(correct / len(X))
        if val is not None:
            val_loss, val_accuracy = _validate(model, loss, X_val, y_val, classify)
            history["val_loss"].append(val_loss)
            if val_accuracy is not None:
                history["val_accuracy"].append(val_accuracy)
        if bar is not None:
            bar.set_postfix({key: f"{values[-1]:.4g}" for key, values in history.items()})
            bar.update()
    if bar is not None:
        bar.close()
    return history


def _checked_val(val: Any) -> Tuple[Sequence[Any], List[Any]]:
    if not isinstance(val, (tuple, list)) or len(val) != 2:
        raise TypeError(f"fit: val must be a pair (X_val, y_val), got {_checks.describe(val)}")
    X_val, y_val = val
    _checks.same_length(X_val, y_val, "fit: val")
    return X_val, list(y_val)


@no_grad()
def _validate(model: Model, loss: Callable[..., Value], X_val: Sequence[Any], y_val: List[Any],
              classify: bool) -> Tuple[float, Optional[float]]:
    val_loss = loss([model(x) for x in X_val], y_val).data
    return val_loss, accuracy(model, X_val, y_val) if classify else None


def _plain(x: Any) -> Any:
    """One sample as nested lists of numbers (a numpy row becomes a list)."""
    x = x.tolist() if hasattr(x, "tolist") else x
    return [_plain(v) for v in x] if isinstance(x, (list, tuple)) else x


def _leaves(x: Any) -> Any:
    """The sample's numbers as Values the tape can refill (a Value or a list, as given)."""
    if isinstance(x, list):
        return [_leaves(v) for v in x]
    return x if isinstance(x, Value) else Value(x)


def _taped_step(model: Model, loss: Callable[..., Value], optimizer: Any, xb: Sequence[Any],
                yb: List[Any], tapes: Dict[Any, Any], backend: str
                ) -> Tuple[float, List[Output]]:
    """One step, through a tape where one is ready for this batch's size and targets.

    ``tapes`` maps (size, targets) to None (seen once) or [tape, outputs, checked]. The
    first batch of a fit is recorded at once (a loss the tape cannot replay is refused
    before any step); any other batch when it comes back, so batches that never repeat
    (shuffled) cost what eager steps cost. A tape is replayed after a second build
    matched it.
    """
    xb = [_plain(x) for x in xb]
    key = (len(xb), tuple(t if isinstance(t, Real) else repr(t) for t in yb))
    seen = key in tapes
    recorded = tapes.get(key)
    if recorded is not None and recorded[2]:
        tape, outputs, _ = recorded
        value = tape.forward(xb)
        optimizer.zero_grad()
        tape.backward()
        optimizer.step()
        return value, [Value(tape.value(o)) if isinstance(o, Value) else
                       [Value(tape.value(v)) for v in o] for o in outputs]
    inputs = [_leaves(x) for x in xb]
    outputs = [model(x) for x in inputs]
    batch_loss = loss(outputs, yb)
    if recorded is None:
        if len(tapes) >= 64 and not seen:  # keep the newest batches
            del tapes[next(iter(tapes))]
        record = seen or not tapes
        tapes[key] = [Tape(batch_loss, inputs=inputs, backend=backend), outputs, False] \
            if record else None
    else:  # built again: the same graph, or Python code branched on .data
        recorded[0].check(batch_loss)
        recorded[2] = True
    optimizer.zero_grad()
    batch_loss.backward()
    optimizer.step()
    return batch_loss.data, outputs


def _progress_bar(total: int, progress: Optional[bool]) -> Any:
    """A tqdm bar over epochs, or None when off (not a terminal/notebook, or tqdm missing)."""
    notebook = _in_notebook()
    if progress is False or (progress is None and not (notebook or sys.stderr.isatty())):
        return None
    try:
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        if progress is None:  # asked for nothing in particular: train without a bar
            return None
        raise ImportError("fit(progress=True) needs tqdm: pip install tqdm") from None
    return tqdm(total=total, unit="epoch", desc="fit")


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return type(shell).__name__ == "ZMQInteractiveShell"
