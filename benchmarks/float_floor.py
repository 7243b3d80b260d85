"""The float floor: micrograd's moons training step written by hand on plain Python floats.

Forward, backward (the chain rule worked out for this one network) and the SGD update,
with no graph and no Value: the least work pure Python can do for this step, so the
benchmark can say how close a tape replay gets to it. Same initial weights and same
loss as micrograd's demo (to rounding: the sums run in another order).
"""

from __future__ import annotations

import random
from operator import mul
from typing import Callable, List, Sequence


def initial_weights(sizes: Sequence[int], seed: int = 1337) -> List[List[List[float]]]:
    """micrograd's init: U(-1, 1) per weight, neuron by neuron; biases start at 0.

    Returns, per layer, one row per neuron: its weights, then its bias.
    """
    random.seed(seed)
    return [[[random.uniform(-1, 1) for _ in range(nin)] + [0.0] for _ in range(nout)]
            for nin, nout in zip(sizes, sizes[1:])]


def moons_step(layers: List[List[List[float]]], X: Sequence[Sequence[float]],
               y: Sequence[int], alpha: float = 1e-4) -> Callable[[int], float]:
    """A step(k) function: max-margin loss + alpha * L2 on the full batch, then SGD with
    micrograd's learning rate 1 - 0.9 k / 100. ReLU hidden layers, a linear output."""
    n = len(X)
    last = len(layers) - 1

    def step(k: int) -> float:
        grads = [[[0.0] * len(row) for row in layer] for layer in layers]
        data_loss = 0.0
        for x, t in zip(X, y):
            acts = [list(x)]  # the input of each layer, kept for the backward pass
            for i, layer in enumerate(layers):
                h = acts[-1]
                z = [sum(map(mul, row, h), row[-1]) for row in layer]  # zip stops at len(h)
                acts.append(z if i == last else [v if v > 0.0 else 0.0 for v in z])
            score = acts[-1][0]
            margin = 1.0 - t * score
            if margin <= 0.0:
                continue  # relu(margin) = 0: no loss and no gradient from this point
            data_loss += margin
            g = [-t / n]  # d(loss)/d(score)
            for i in range(last, -1, -1):
                h, layer, grad = acts[i], layers[i], grads[i]
                if i != last:  # through the relu: only where it passed
                    g = [gj if a > 0.0 else 0.0 for gj, a in zip(g, acts[i + 1])]
                back = [0.0] * len(h)
                for row, grow, gj in zip(layer, grad, g):
                    if gj == 0.0:
                        continue
                    for m, hm in enumerate(h):
                        grow[m] += hm * gj
                        back[m] += row[m] * gj
                    grow[-1] += gj
                g = back
        reg = 0.0
        lr = 1.0 - 0.9 * k / 100
        for layer, grad in zip(layers, grads):
            for row, grow in zip(layer, grad):
                for m, p in enumerate(row):
                    reg += p * p
                    row[m] = p - lr * (grow[m] + 2.0 * alpha * p)
        return data_loss / n + alpha * reg

    return step
