#!/usr/bin/env python3
"""Train micrograd's moons classifier with chainrule, then draw what it learned.

    python3 demos/moons.py                      # what `python3 tasks.py demo` runs
    python3 demos/moons.py --optimizer adam --batch-size 20 --epochs 30
    python3 demos/moons.py --compile            # the same numbers, replayed from a Tape

A 2-16-16-1 ReLU network learns to separate two interleaving half moons (100
points), with micrograd's recipe: the max-margin (hinge) loss on labels -1/+1, an
L2 penalty of 1e-4, and SGD whose learning rate decays linearly from 1.0 to 0.1.
The loop below is the whole of training; nothing is hidden in a library call.

Writes to ``demos/out/``, where the notebooks write too (or ``--out DIR``):

- decision_boundary.png  the model's score over the plane, with the data
- training_curves.png    loss and accuracy per step
- model.json             the trained model; ``MLP.from_file("demos/out/model.json")``
- neuron_forward.svg     one hidden neuron inside the network: data flowing forward
- neuron_backward.svg    the same neuron: the score's gradients flowing back
  (``.dot`` text instead of ``.svg`` when no Graphviz renderer is installed)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from chainrule import Tape, Value, no_grad
from chainrule.data import Batches, batches, make_moons
from chainrule.nn import MLP, hinge, l2
from chainrule.optim import SGD, Adam
from chainrule.train import accuracy

N_SAMPLES = 100
NOISE = 0.1
ALPHA = 1e-4  # the L2 penalty's weight, micrograd's value
OUT = Path(__file__).resolve().parent / "out"  # demos/out/, beside the notebooks' output


def learning_rate(text: str) -> float:
    """--lr: a finite number >= 0 (0 trains nothing, which can be the point of a lesson)."""
    try:
        lr = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(lr) or lr < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return lr


def usable_out(path: Path) -> Optional[str]:
    """Why ``path`` cannot take the demo's files, or None; makes the directory."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):  # writable for this user (root included)?
            pass
    except OSError as error:
        return f"cannot write to {os.fspath(path)!r}: {error.strerror or error}"
    return None


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="optimizer steps (default 100; or give --epochs)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the data instead of --steps")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"samples per step (default: all {N_SAMPLES}, full batch)")
    parser.add_argument("--seed", type=int, default=1337,
                        help="seed for the data, the weights and the batch order")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 16],
                        help="hidden layer widths (default: 16 16)")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--lr", type=learning_rate, default=None,
                        help="initial learning rate (default: 1.0 for sgd, 0.03 for adam)")
    parser.add_argument("--compile", action="store_true",
                        help="record the graph once in a Tape and replay it: the same numbers, "
                             "several times faster on the full batch (shuffled mini-batches "
                             "rarely repeat their labels: those train eagerly)")
    parser.add_argument("--out", type=Path, default=OUT, help="output directory (demos/out/)")
    args = parser.parse_args(argv)
    if args.steps is not None and args.epochs is not None:
        parser.error("give --steps or --epochs, not both")
    for name in ("steps", "epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if any(width < 1 for width in args.hidden):
        parser.error(f"--hidden widths must be at least 1, got {args.hidden}")
    problem = usable_out(args.out)  # before training: a bad --out must not cost the run
    if problem:
        parser.error(f"--out: {problem}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    model, history, X, y = train(args)

    args.out.mkdir(parents=True, exist_ok=True)
    written = [
        plot_decision_boundary(model, X, y, args.out / "decision_boundary.png"),
        plot_curves(history, args.out / "training_curves.png"),
        save_model(model, args.out / "model.json"),
        *draw_one_neuron(model, X, args.out),
    ]
    for path in written:
        print(f"wrote {path}")

    correct = round(accuracy(model, X, y) * len(X))
    percent = 100 * correct // len(X)  # 100% only when every point is right
    print(f"train accuracy {percent}% ({correct}/{len(X)}) after {len(history['loss'])} steps, "
          f"final loss {history['loss'][-1]:.4f}, {time.perf_counter() - started:.1f}s")
    return 0


def train(args: argparse.Namespace) -> Tuple[MLP, Dict[str, List[float]], List[Any], List[int]]:
    """The whole training run: data, model, optimizer and the loop. Seeded: reproducible."""
    X, labels = make_moons(N_SAMPLES, noise=NOISE, seed=args.seed)
    y = [2 * label - 1 for label in labels]  # the hinge loss wants -1/+1
    # fused: one Value.dot node per neuron, so 100 steps take seconds; the neuron drawn
    # at the end is rebuilt with micrograd's fine-grained graph (fused=False).
    model = MLP(2, [*args.hidden, 1], seed=args.seed, fused=True)
    print(f"model: MLP(2, {[*args.hidden, 1]}), {len(model.parameters())} parameters; "
          f"data: {N_SAMPLES} moons points")

    loader = batches(X, y, args.batch_size or N_SAMPLES, shuffle=args.batch_size is not None,
                     seed=args.seed)
    steps = args.epochs * len(loader) if args.epochs is not None else (args.steps or 100)
    default_lr = 1.0 if args.optimizer == "sgd" else 0.03
    lr = default_lr if args.lr is None else args.lr  # --lr 0 means 0
    optimizer: Any = (SGD if args.optimizer == "sgd" else Adam)(model.parameters(), lr=lr)
    lr0 = optimizer.lr

    history: Dict[str, List[float]] = {"loss": [], "accuracy": []}
    tapes: Dict[Tuple[int, ...], Optional[Tuple[Tape, List[Value]]]] = {}
    stream = _endless(loader)
    bar = _progress(steps)
    for k in bar:
        xb, yb = next(stream)
        taped = taped_step(model, xb, yb, tapes) if args.compile else None
        if taped is not None:
            loss_value, scores = taped
        else:
            scores = [model(x) for x in xb]
            loss = hinge(scores, yb) + l2(model, ALPHA)
            optimizer.zero_grad()
            loss.backward()
            loss_value = loss.data
        optimizer.lr = lr0 * (1.0 - 0.9 * k / steps)  # micrograd's linear decay
        optimizer.step()
        correct = sum((s.data > 0) == (t > 0) for s, t in zip(scores, yb))
        history["loss"].append(loss_value)
        history["accuracy"].append(correct / len(yb))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss_value:.4f}", acc=f"{correct / len(yb):.0%}")
        elif k % 10 == 0 or k == steps - 1:
            print(f"step {k} loss {loss_value:.4f} accuracy {correct / len(yb):.0%}")
    return model, history, X, y


def taped_step(model: MLP, xb: List[Any], yb: List[int],
               tapes: Dict[Tuple[int, ...], Optional[Tuple[Tape, List[Value]]]]
               ) -> Optional[Tuple[float, List[Any]]]:
    """Forward and backward through a Tape, or None: train this batch eagerly.

    The labels are constants in the hinge loss's graph, so a tape serves one batch of
    labels: recorded when that batch comes back (the full batch: at the second step),
    then replayed with the batch's inputs. Shuffled batches rarely come back.
    """
    key = tuple(yb)
    if key not in tapes:
        tapes[key] = None
        return None
    if tapes[key] is None:
        inputs = [[Value(v) for v in x] for x in xb]  # the leaves a replay refills
        scores = [model(x) for x in inputs]
        tapes[key] = (Tape(hinge(scores, yb) + l2(model, ALPHA), inputs=inputs), scores)
    tape, scores = tapes[key]  # type: ignore[misc]
    loss_value = tape.forward(xb)
    model.zero_grad()
    tape.backward()
    return loss_value, [Value(tape.value(s)) for s in scores]


def _endless(loader: Batches) -> Iterator[Any]:
    """One epoch after another; with shuffling, each epoch in a new order."""
    while True:
        yield from loader


def _progress(steps: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: fall back to a line every 10 steps
        return range(steps)
    return tqdm(range(steps), desc="train", unit="step")


def plot_decision_boundary(model: MLP, X: List[List[float]], y: List[int], path: Path) -> Path:
    """Colour the plane by the sign of the model's score, then scatter the data on top."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    h = 0.05
    xs = _arange(min(p[0] for p in X) - 0.5, max(p[0] for p in X) + 0.5, h)
    ys = _arange(min(p[1] for p in X) - 0.5, max(p[1] for p in X) + 0.5, h)
    with no_grad():  # thousands of forward passes: record no graph
        scores = [[model([a, b]).data for a in xs] for b in ys]
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.contourf(xs, ys, [[s > 0 for s in row] for row in scores], levels=[-0.5, 0.5, 1.5],
                colors=["#f4b6b6", "#b6cdf4"], alpha=0.8)
    ax.contour(xs, ys, scores, levels=[0.0], colors="k", linewidths=1)
    for label, colour in ((-1, "#c62828"), (1, "#1565c0")):
        pts = [p for p, t in zip(X, y) if t == label]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=colour, s=18,
                   edgecolors="white", linewidths=0.5, label=f"y = {label:+d}")
    ax.set_title("decision boundary (score = 0)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _arange(start: float, stop: float, step: float) -> List[float]:
    return [start + i * step for i in range(int((stop - start) / step) + 1)]


def plot_curves(history: Dict[str, List[float]], path: Path) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax_loss, ax_acc = fig.subplots(1, 2)
    steps = range(len(history["loss"]))
    ax_loss.plot(steps, history["loss"], color="#c62828")
    ax_loss.set(title="loss (hinge + L2)", xlabel="step", yscale="log")
    ax_acc.plot(steps, [100 * a for a in history["accuracy"]], color="#1565c0")
    ax_acc.set(title="accuracy on the batch (%)", xlabel="step", ylim=(0, 102))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def save_model(model: MLP, path: Path) -> Path:
    model.save(path)
    return path


def draw_one_neuron(model: MLP, X: List[List[float]], out: Path) -> List[Path]:
    """Draw the first hidden neuron, forward and backward, inside the network's score.

    The gradients drawn are d(score)/d(each value) for one point, flowed back through
    the whole network to the neuron (drawn on its own, it would show grad 1 everywhere;
    the trained model's hinge loss is 0 on every point, so it would show 0).
    """
    try:
        from chainrule.viz import RendererNotFound, draw_dot, save
    except ImportError as error:  # viz needs the graphviz package (the "viz" extra)
        print(f"skipped the neuron graphs: {error}")
        return []

    neurons = [n for layer in model.layers for n in layer.neurons]
    fused = [n.fused for n in neurons]
    first = model.layers[0].neurons[0]
    with no_grad():  # a point where the neuron fires, so its gradient is not zero
        k = next((i for i, x in enumerate(X) if first(x).data > 0), 0)
    for n in neurons:  # micrograd's graph, one node per * and +: every step visible
        n.fused = False
    try:
        x = [Value(v, label=f"x{i}") for i, v in enumerate(X[k])]
        hidden = score = model.layers[0](x)  # layer by layer, to keep the first layer's outputs
        for layer in model.layers[1:]:
            score = layer(score)
        model.zero_grad()
        score.backward()
        neuron_out = hidden[0]
        neuron_out.label = "h (L0.N0)"
    finally:
        for n, was in zip(neurons, fused):
            n.fused = was

    written = []
    title = (f"the first hidden neuron inside the network, on point {k} "
             f"(score {score.data:.3g}; each grad is d score / d value)")
    for view in ("forward", "backward"):
        graph = draw_dot(neuron_out, view=view, params=model, title=title)
        try:
            written.append(save(graph, out / f"neuron_{view}.svg"))
        except RendererNotFound:
            written.append(save(graph, out / f"neuron_{view}.dot"))
    model.zero_grad()
    return written


if __name__ == "__main__":
    sys.exit(main())
