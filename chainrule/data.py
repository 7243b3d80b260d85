"""Toy datasets and mini-batches in pure Python (no numpy, no scikit-learn).

Every generator returns ``(X, y)``: ``X`` a list of points (each a list of floats),
``y`` a list of labels (ints) or targets (floats). Each call draws from its own
``random.Random(seed)``, so the same seed gives the same data on every machine and
never disturbs the global ``random`` state (which micrograd-style weight init uses).
``seed=None`` gives fresh data every call.

``make_shapes`` draws small grey-scale pictures instead of points ("cat or not"); each
image is a list of rows of pixel brightnesses, and ``flatten`` turns it into the flat
list of numbers a network takes as input.

``batches(X, y, batch_size)`` cuts a dataset into mini-batches, one epoch per pass.
"""

from __future__ import annotations

import math
import operator
import random
from numbers import Integral, Real
from typing import Any, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union, cast

from ._checks import count, describe, flag, number, same_length, seeded_rng

__all__ = [
    "make_moons", "make_circles", "make_xor", "make_spiral", "make_blobs", "make_line",
    "make_shapes", "flatten", "train_test_split", "batches", "Batches",
]

T = TypeVar("T")
U = TypeVar("U")
Point = List[float]
Image = List[List[float]]


def _check_n(n_samples: Any, minimum: int = 1) -> int:
    return count(n_samples, "n_samples", minimum)


def _check_noise(noise: Any, what: str = "noise") -> float:
    return number(noise, what, 0.0, what="(a standard deviation)")


def _check_range(pair: Any, name: str) -> Tuple[float, float]:
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"{name} must be (low, high), got {pair!r}")
    lo, hi = number(pair[0], f"{name}[0]"), number(pair[1], f"{name}[1]")
    if not lo < hi:
        raise ValueError(f"{name} must be (low, high) with low < high, got {pair!r}")
    return lo, hi


def _linspace(start: float, stop: float, n: int) -> List[float]:
    """n evenly spaced numbers from start to stop inclusive (numpy.linspace)."""
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    return [start + i * step for i in range(n)]


def _shuffled(X: List[T], y: List[U], rng: random.Random) -> Tuple[List[T], List[U]]:
    order = list(range(len(X)))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def _jitter(points: List[Point], noise: float, rng: random.Random) -> List[Point]:
    if not noise:
        return points
    return [[x + rng.gauss(0.0, noise) for x in p] for p in points]


def make_moons(
    n_samples: int = 100, noise: float = 0.1, seed: Optional[int] = None
) -> Tuple[List[Point], List[int]]:
    """Two interleaving half circles in 2-D (scikit-learn's moons), labels 0 and 1.

    The upper moon (label 0) gets ``n_samples // 2`` points, the lower one (label 1)
    the rest; Gaussian ``noise`` is added to each coordinate; the order is shuffled.
    For micrograd's hinge loss use labels ``2*y - 1`` (i.e. -1 and +1).
    """
    n_samples, noise = _check_n(n_samples, 2), _check_noise(noise)
    rng = seeded_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    inner = [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n_in)]
    X = _jitter(outer + inner, noise, rng)
    return _shuffled(X, [0] * n_out + [1] * n_in, rng)


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: Optional[int] = None
) -> Tuple[List[Point], List[int]]:
    """A small circle (label 1) inside a large one (label 0), radius ratio ``factor``.

    Not linearly separable, so a model needs a hidden layer.
    """
    n_samples, noise = _check_n(n_samples, 2), _check_noise(noise)
    factor = number(factor, "factor (inner radius / outer radius)", 0.0, 1.0,
                    low_open=True, high_open=True)
    rng = seeded_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out

    def circle(n: int, r: float) -> List[Point]:
        angles = [2 * math.pi * i / n for i in range(n)]
        return [[r * math.cos(t), r * math.sin(t)] for t in angles]

    X = _jitter(circle(n_out, 1.0) + circle(n_in, factor), noise, rng)
    return _shuffled(X, [0] * n_out + [1] * n_in, rng)


def make_xor(
    n_samples: int = 100, noise: float = 0.0, seed: Optional[int] = None
) -> Tuple[List[Point], List[int]]:
    """Points uniform in the square [-1, 1]^2, label 1 where the signs of x and y differ.

    The classic problem no single neuron can solve. Labels come from the clean
    points; ``noise`` then moves them, so with noise some points cross an axis.
    """
    n_samples, noise = _check_n(n_samples), _check_noise(noise)
    rng = seeded_rng(seed)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n_samples)]
    y = [int((a > 0) != (b > 0)) for a, b in X]
    return _jitter(X, noise, rng), y


def make_spiral(
    n_samples: int = 150, n_classes: int = 3, noise: float = 0.2, seed: Optional[int] = None
) -> Tuple[List[Point], List[int]]:
    """``n_classes`` interleaved spiral arms (CS231n's spiral), labels 0 .. n_classes-1.

    Arm k gets ``n_samples // n_classes`` points (the first arms one more when it
    does not divide), at radius 0 to 1; ``noise`` perturbs the angle.
    """
    n_samples, noise = _check_n(n_samples), _check_noise(noise)
    n_classes = count(n_classes, "n_classes")
    if n_samples < n_classes:
        raise ValueError(f"n_samples ({n_samples}) must be at least n_classes ({n_classes})")
    rng = seeded_rng(seed)
    X: List[Point] = []
    y: List[int] = []
    for k in range(n_classes):
        n = n_samples // n_classes + (k < n_samples % n_classes)
        for r, t in zip(_linspace(0.0, 1.0, n), _linspace(4.0 * k, 4.0 * (k + 1), n)):
            t += rng.gauss(0.0, noise) if noise else 0.0
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(k)
    return _shuffled(X, y, rng)


def make_blobs(
    n_samples: int = 100,
    centers: Union[int, Sequence[Sequence[float]]] = 3,
    std: float = 1.0,
    n_features: int = 2,
    box: Tuple[float, float] = (-10.0, 10.0),
    seed: Optional[int] = None,
) -> Tuple[List[Point], List[int]]:
    """Gaussian blobs: points around ``centers`` with standard deviation ``std``.

    ``centers`` is a number of blobs (centers drawn uniformly in ``box`` in every
    coordinate) or a list of center points. Label k is blob k; samples are split as
    evenly as possible (the first blobs get one more) and the order is shuffled.
    """
    n_samples = _check_n(n_samples)
    std = _check_noise(std, "std")
    rng = seeded_rng(seed)
    if isinstance(centers, bool):
        raise TypeError(f"centers must be an int >= 1 or a list of points, got {centers!r}")
    if isinstance(centers, Integral):
        if centers < 1:
            raise ValueError(f"centers must be an int >= 1 or a list of points, got {centers}")
        centers = operator.index(centers)
        n_features = count(n_features, "n_features")
        lo, hi = _check_range(box, "box")
        points = [[rng.uniform(lo, hi) for _ in range(n_features)] for _ in range(centers)]
    else:
        points = [[float(c) for c in center] for center in cast(Sequence[Sequence[float]], centers)]
        if not points or len({len(p) for p in points}) != 1 or not points[0]:
            raise ValueError("centers must be a non-empty list of points of equal dimension")
    k = len(points)
    if n_samples < k:
        raise ValueError(f"n_samples ({n_samples}) must be at least the number of centers ({k})")
    X: List[Point] = []
    y: List[int] = []
    for label, center in enumerate(points):
        for _ in range(n_samples // k + (label < n_samples % k)):
            X.append([c + rng.gauss(0.0, std) for c in center])
            y.append(label)
    return _shuffled(X, y, rng)


def make_line(
    n_samples: int = 50,
    a: float = 2.0,
    b: float = -1.0,
    noise: float = 0.1,
    x_range: Tuple[float, float] = (-1.0, 1.0),
    seed: Optional[int] = None,
) -> Tuple[List[Point], List[float]]:
    """Regression data on the line ``y = a*x + b`` plus Gaussian ``noise``.

    ``X`` holds one-feature points ``[x]`` (x uniform in ``x_range``), so a
    ``Neuron(1, nonlin=False)`` can fit it; ``y`` holds the float targets.
    """
    n_samples, noise = _check_n(n_samples), _check_noise(noise)
    lo, hi = _check_range(x_range, "x_range")
    a, b = number(a, "a (the slope)"), number(b, "b (the intercept)")
    rng = seeded_rng(seed)
    xs = [rng.uniform(lo, hi) for _ in range(n_samples)]
    y = [a * x + b + (rng.gauss(0.0, noise) if noise else 0.0) for x in xs]
    return [[x] for x in xs], y


# "#" is a lit pixel. Cats: a head with two pointed ears and two dark eyes; "not": a plus
# sign and square outlines. Each fits in 6x6, so an 8x8 picture leaves room to move it.
_SHAPES = {
    1: (("#...#", "##.##", "#####", "#.#.#", ".###."),
        ("#....#", "##..##", "######", "#.##.#", "######", ".####.")),
    0: (("..#..", "..#..", "#####", "..#..", "..#.."),
        ("#####", "#...#", "#...#", "#...#", "#####"),
        ("######", "#....#", "#....#", "#....#", "#....#", "######")),
}


def _draw(shape: Sequence[str], size: int, rng: random.Random) -> Image:
    top = rng.randint(0, size - len(shape))
    left = rng.randint(0, size - len(shape[0]))
    ink = rng.uniform(0.7, 1.0)  # some pictures are fainter than others
    image = [[0.0] * size for _ in range(size)]
    for i, row in enumerate(shape):
        for j, pixel in enumerate(row):
            if pixel == "#":
                image[top + i][left + j] = ink
    return image


def _add_noise(image: Image, noise: float, rng: random.Random) -> Image:
    return [[min(1.0, max(0.0, p + rng.gauss(0.0, noise))) for p in row] for row in image]


def make_shapes(
    n_samples: int = 100, size: int = 8, noise: float = 0.1, seed: Optional[int] = None
) -> Tuple[List[Image], List[int]]:
    """Tiny grey-scale pictures, "cat or not": label 1 a cat's head, label 0 not a cat.

    Each image is ``size`` rows of ``size`` floats in [0, 1], a pixel's brightness
    (0 black, 1 white; ``image[row][column]``). A cat is a head with two pointed ears
    and two dark eyes; "not a cat" is a plus sign or a square outline. Every shape
    (5 or 6 pixels wide, in two sizes) lands at a random place with a random
    brightness in [0.7, 1], then Gaussian ``noise`` is added to every pixel and the
    result clipped to [0, 1] (the same ``seed`` draws the same shapes at every
    ``noise``, so ``noise=0`` shows the clean pictures behind the noisy ones).
    ``n_samples // 2`` pictures are not cats, the rest are cats; the order is shuffled.
    ``flatten(image)`` gives a network's input vector.
    """
    n_samples, noise = _check_n(n_samples, 2), _check_noise(noise)
    size = count(size, "size (pixels per side)", 8)
    rng = seeded_rng(seed)
    n_not = n_samples // 2
    labels = [0] * n_not + [1] * (n_samples - n_not)
    images = [_draw(rng.choice(_SHAPES[label]), size, rng) for label in labels]
    images, labels = _shuffled(images, labels, rng)
    if noise:  # drawn last: the same seed gives the same shapes at any noise
        images = [_add_noise(image, noise, rng) for image in images]
    return images, labels


def flatten(image: Sequence[Sequence[float]]) -> List[float]:
    """The pixels of ``image`` row after row, as one list: ``[p for row in image for p in row]``.

    An 8x8 picture becomes 64 numbers, the input of e.g. ``MLP(64, [16, 1])``; pixel
    ``image[i][j]`` lands at index ``i * width + j``.
    """
    if isinstance(image, (str, bytes)) or not isinstance(image, Sequence) or not image \
            or not all(isinstance(row, Sequence) and not isinstance(row, (str, bytes))
                       for row in image):
        raise TypeError(f"flatten: image must be a non-empty list of rows (lists of numbers), "
                        f"got {describe(image)}")
    widths = sorted({len(row) for row in image})
    if len(widths) != 1:
        raise ValueError(f"flatten: every row of image must have the same length, got rows "
                         f"of lengths {widths}")
    return [p for row in image for p in row]


def train_test_split(
    X: Sequence[T],
    y: Sequence[U],
    test_size: Union[float, int] = 0.25,
    seed: Optional[int] = None,
) -> Tuple[List[T], List[T], List[U], List[U]]:
    """Shuffle, then split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    ``test_size`` is a fraction in (0, 1) (rounded up to whole samples) or a count.
    Both parts must end up non-empty.
    """
    same_length(X, y, "train_test_split")
    n = len(X)
    if isinstance(test_size, bool) or not isinstance(test_size, Real):
        raise TypeError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    if isinstance(test_size, Integral):
        n_test = operator.index(test_size)
    elif 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} of {n} samples for testing; "
                         "both the train and the test part need at least one")
    order = list(range(n))
    seeded_rng(seed).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return ([X[i] for i in train], [X[i] for i in test],
            [y[i] for i in train], [y[i] for i in test])


class Batches:
    """Mini-batches over ``(X, y)``: each ``for`` loop over it is one epoch.

    Keeps its own ``random.Random(seed)`` across epochs, so with ``shuffle=True``
    every epoch visits the samples in a new order, and the whole sequence of epochs
    is the same for the same seed::

        loader = batches(X, y, batch_size=16, seed=0)
        for epoch in range(10):
            for xb, yb in loader:      # a new order each epoch
                ...

    Every sample appears exactly once per epoch; the last batch is smaller when
    ``batch_size`` does not divide the data, unless ``drop_last=True`` drops it.
    """

    def __init__(
        self,
        X: Sequence[T],
        y: Sequence[U],
        batch_size: int,
        shuffle: bool = True,
        seed: Optional[int] = None,
        drop_last: bool = False,
    ) -> None:
        same_length(X, y, "batches")
        batch_size = count(batch_size, "batch_size")
        shuffle = flag(shuffle, "batches: shuffle")
        drop_last = flag(drop_last, "batches: drop_last")
        if drop_last and batch_size > len(X):
            raise ValueError(f"drop_last=True with batch_size {batch_size} > {len(X)} samples "
                             "would leave no batch at all")
        self.X, self.y = list(X), list(y)
        self.batch_size = batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self._rng = seeded_rng(seed)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n, size = len(self.X), self.batch_size
        return n // size if self.drop_last else -(-n // size)

    def __iter__(self) -> Iterator[Tuple[List[Any], List[Any]]]:
        order = list(range(len(self.X)))
        if self.shuffle:
            self._rng.shuffle(order)  # drawn when the epoch starts, not when it ends
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield [self.X[i] for i in idx], [self.y[i] for i in idx]


def batches(
    X: Sequence[T],
    y: Sequence[U],
    batch_size: int,
    shuffle: bool = True,
    seed: Optional[int] = None,
    drop_last: bool = False,
) -> Batches:
    """Mini-batches of ``(X_batch, y_batch)``; iterate once per epoch (see ``Batches``)."""
    return Batches(X, y, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
