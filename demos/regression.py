#!/usr/bin/env python3
"""Fit a line y = a*x + b with a single linear neuron and the mean squared error.

    python3 demos/regression.py [--steps 200] [--lr 0.1] [--seed 0]

The neuron computes ``w*x + b``, so after training its weight should be close to
the true slope ``a`` and its bias close to the true intercept ``b``.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Optional, Sequence

from chainrule.data import make_line
from chainrule.nn import Neuron, mse
from chainrule.optim import SGD

TRUE_A, TRUE_B = 2.0, -1.0


def _steps(text: str) -> int:
    """A usage error (exit 2), not a traceback, for a count that is not >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _learning_rate(text: str) -> float:
    """A finite number > 0: lr 0 would not train, and nan or inf would ruin every weight."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=_steps, default=200)
    parser.add_argument("--lr", type=_learning_rate, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = make_line(50, a=TRUE_A, b=TRUE_B, noise=0.1, seed=args.seed)
    neuron = Neuron(1, nonlin=False, seed=args.seed)  # linear: w*x + b (one * and one +)
    optimizer = SGD(neuron.parameters(), lr=args.lr)
    for step in range(args.steps):
        loss = mse([neuron(x) for x in X], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:3d}  loss {loss.data:.5f}")

    a, b = neuron.w[0].data, neuron.b.data
    print(f"learned a = {a:.4f}, b = {b:.4f}")
    print(f"true    a = {TRUE_A:.4f}, b = {TRUE_B:.4f}  (the data has noise 0.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
