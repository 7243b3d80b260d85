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
from numbers import Integral
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .data import batches
from .engine import Value, no_grad

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
    """
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    epochs = int(epochs)
    loader = batches(X, y, len(X) if batch_size is None else batch_size,
                     shuffle=shuffle and batch_size is not None,
                     seed=seed)
    # int class labels of any kind (numpy.int64 too); bools and floats are targets
    classify = all(isinstance(t, Integral) and not isinstance(t, bool) for t in y)
    classes = _classes_for(y)
    keys = ["loss"] + ["accuracy"] * classify
    if val is not None:
        keys += ["val_" + key for key in keys]
    history: Dict[str, List[float]] = {key: [] for key in keys}

    bar = _progress_bar(epochs, progress)
    for epoch in range(epochs):
        if schedule is not None:
            optimizer.lr = schedule(epoch)
        total, correct = 0.0, 0
        for xb, yb in loader:
            outputs = [model(x) for x in xb]
            batch_loss = loss(outputs, yb)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.data * len(xb)
            if classify:
                correct += sum(_classify(o, classes) == t for o, t in zip(outputs, yb))
        history["loss"].append(total / len(X))
        if classify:
            history["accuracy"].append(correct / len(X))
        if val is not None:
            with no_grad():
                X_val, y_val = val
                history["val_loss"].append(loss([model(x) for x in X_val], list(y_val)).data)
            if classify:
                history["val_accuracy"].append(accuracy(model, X_val, y_val))
        if bar is not None:
            bar.set_postfix({key: f"{values[-1]:.4g}" for key, values in history.items()})
            bar.update()
    if bar is not None:
        bar.close()
    return history


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
