"""Toy datasets, train_test_split and mini-batches (chainrule.data)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.data import (
    Batches,
    batches,
    flatten,
    make_blobs,
    make_circles,
    make_line,
    make_moons,
    make_shapes,
    make_spiral,
    make_xor,
    train_test_split,
)

GENERATORS = {
    "moons": lambda n, seed: make_moons(n, seed=seed),
    "circles": lambda n, seed: make_circles(n, seed=seed),
    "xor": lambda n, seed: make_xor(n, noise=0.1, seed=seed),
    "spiral": lambda n, seed: make_spiral(n, n_classes=3, seed=seed),
    "blobs": lambda n, seed: make_blobs(n, centers=4, seed=seed),
    "line": lambda n, seed: make_line(n, seed=seed),
    "shapes": lambda n, seed: make_shapes(n, seed=seed),
}
LABELS = {"moons": {0, 1}, "circles": {0, 1}, "xor": {0, 1}, "spiral": {0, 1, 2},
          "blobs": {0, 1, 2, 3}}
POINT_GENERATORS = [name for name in GENERATORS if name != "shapes"]  # shapes draw images


@pytest.mark.parametrize("name", POINT_GENERATORS)
def test_deterministic_per_seed_with_the_right_shapes(name):
    make = GENERATORS[name]
    X, y = make(60, 7)
    assert (X, y) == make(60, 7)
    assert (X, y) != make(60, 8)
    assert len(X) == len(y) == 60
    width = 1 if name == "line" else 2
    assert all(isinstance(p, list) and len(p) == width for p in X)
    assert all(type(v) is float for p in X for v in p)
    if name == "line":
        assert all(type(t) is float for t in y)
    else:
        assert set(y) == LABELS[name] and all(type(t) is int for t in y)


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_leave_the_global_random_alone(name):
    random.seed(0)
    state = random.getstate()
    GENERATORS[name](30, None)
    GENERATORS[name](30, 1)
    assert random.getstate() == state


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = make_moons(41, noise=0.0, seed=0)
    assert y.count(0) == 20 and y.count(1) == 21
    for (a, b), label in zip(X, y):
        if label == 0:  # upper moon: the unit circle's upper half
            assert math.isclose(a * a + b * b, 1.0) and b >= -1e-12
        else:  # lower moon: shifted by (1, 0.5), lower half
            assert math.isclose((a - 1) ** 2 + (b - 0.5) ** 2, 1.0) and b <= 0.5 + 1e-12
    assert y != sorted(y)  # shuffled


def test_circles_radii_and_xor_labels():
    X, y = make_circles(50, noise=0.0, factor=0.3, seed=0)
    for (a, b), label in zip(X, y):
        assert math.isclose(math.hypot(a, b), 0.3 if label else 1.0)
    X, y = make_xor(200, seed=0)
    assert all(label == ((a > 0) != (b > 0)) for (a, b), label in zip(X, y))
    assert all(-1 <= v <= 1 for p in X for v in p)


def test_spiral_and_blobs_split_the_samples_evenly():
    _, y = make_spiral(100, n_classes=3, seed=0)
    assert [y.count(k) for k in range(3)] == [34, 33, 33]
    X, y = make_blobs(9, centers=[[0.0, 0.0], [10.0, 10.0]], std=0.0, seed=0)
    assert [y.count(k) for k in range(2)] == [5, 4]
    assert all(p == ([0.0, 0.0] if label == 0 else [10.0, 10.0]) for p, label in zip(X, y))
    X, _ = make_blobs(20, centers=2, n_features=5, seed=0)
    assert all(len(p) == 5 for p in X)


def test_line_without_noise_is_exact():
    X, y = make_line(20, a=3.0, b=0.5, noise=0.0, x_range=(0.0, 2.0), seed=0)
    assert all(t == 3.0 * x + 0.5 for (x,), t in zip(X, y))
    assert all(0.0 <= x <= 2.0 for (x,) in X)


_WRONG_TYPES = {
    r"n_samples must be an int >= 2, got 10.0", r"n_samples must be an int >= 2, got True",
    r"n_classes must be an int >= 1, got True", r"n_features must be an int >= 1, got",
}


@pytest.mark.parametrize("call, message", [
    (lambda: make_moons(1), r"n_samples must be an int >= 2, got 1"),
    (lambda: make_moons(10.0), r"n_samples must be an int >= 2, got 10.0"),
    (lambda: make_moons(10, noise=-0.1), r"noise must be a finite number >= 0"),
    (lambda: make_circles(10, factor=1.5), r"factor .* must be a finite number in \(0, 1\), "
                                           r"got 1.5"),
    (lambda: make_xor(0), r"n_samples must be an int >= 1, got 0"),
    (lambda: make_spiral(10, n_classes=0), r"n_classes must be an int >= 1, got 0"),
    (lambda: make_spiral(2, n_classes=3), r"n_samples \(2\) must be at least n_classes \(3\)"),
    (lambda: make_blobs(10, centers=0), r"centers must be an int >= 1 or a list of points"),
    (lambda: make_blobs(10, centers=[[0, 0], [1]]), r"non-empty list of points of equal"),
    (lambda: make_blobs(1, centers=2), r"n_samples \(1\) must be at least the number of "),
    (lambda: make_blobs(10, box=(1, 1)), r"box must be \(low, high\) with low < high"),
    (lambda: make_line(10, x_range=(1, 0)), r"x_range must be \(low, high\) with low < high"),
    (lambda: make_blobs(10, std=-1), r"std must be a finite number >= 0 \(a standard deviation\), "
                                     r"got -1"),
    (lambda: make_blobs(10, std=float("nan")), r"std must be a finite number >= 0"),
    (lambda: make_moons(True), r"n_samples must be an int >= 2, got True"),
    (lambda: make_spiral(10, n_classes=True), r"n_classes must be an int >= 1, got True"),
    (lambda: make_blobs(10, centers=2, n_features=np.float64(2)),
     r"n_features must be an int >= 1, got"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    # the one rule: a wrong type is a TypeError, a wrong value a ValueError
    error = TypeError if message in _WRONG_TYPES else ValueError
    with pytest.raises(error, match=message):
        call()


def test_numpy_integers_count_like_ints():
    assert make_moons(np.int64(10), seed=0) == make_moons(10, seed=0)
    assert make_moons(10, seed=np.int64(3)) == make_moons(10, seed=3)
    assert make_spiral(np.int32(12), n_classes=np.int64(3), seed=0) == make_spiral(12, 3, seed=0)
    assert make_blobs(np.int64(9), centers=np.int64(2), n_features=np.int64(3), seed=0) == \
        make_blobs(9, centers=2, n_features=3, seed=0)
    X, y = [[float(i)] for i in range(10)], list(range(10))
    split = train_test_split(X, y, test_size=np.int64(3), seed=np.int64(0))
    assert split == train_test_split(X, y, test_size=3, seed=0)
    assert len(split[1]) == 3
    loader = batches(X, y, np.int64(4), seed=np.int64(1))
    assert epoch(loader) == epoch(batches(X, y, 4, seed=1))
    assert type(loader.batch_size) is int


# ------------------------------------------------------------------------ images: shapes

CAT_ROWS = ["#...#", "##.##", "#####", "#.#.#", ".###."]  # the small cat, as drawn


def _lit(image):
    """The lit pixels cut to their bounding box, as rows of "#" and "."."""
    cells = [(i, j) for i, row in enumerate(image) for j, p in enumerate(row) if p > 0]
    top, left = min(i for i, _ in cells), min(j for _, j in cells)
    bottom, right = max(i for i, _ in cells), max(j for _, j in cells)
    return tuple("".join("#" if image[i][j] > 0 else "." for j in range(left, right + 1))
                 for i in range(top, bottom + 1))


def test_shapes_are_square_lists_of_floats_in_0_1_balanced_and_seeded():
    images, labels = make_shapes(41, size=9, seed=3)
    assert len(images) == len(labels) == 41
    assert labels.count(0) == 20 and labels.count(1) == 21 and labels != sorted(labels)
    assert all(type(t) is int for t in labels)
    assert all(type(im) is list and len(im) == 9 and all(type(r) is list and len(r) == 9
                                                          for r in im) for im in images)
    pixels = [p for im in images for r in im for p in r]
    assert all(type(p) is float and 0.0 <= p <= 1.0 for p in pixels)
    assert 0.0 in pixels and max(pixels) > 0.9  # noise is clipped at black, shapes are bright
    assert (images, labels) == make_shapes(41, size=9, seed=3)
    assert make_shapes(41, size=9, seed=4)[0] != images
    assert len(make_shapes(2)[0][0]) == 8  # default size


def test_without_noise_each_picture_is_one_shape_of_its_class():
    images, labels = make_shapes(200, noise=0.0, seed=0)
    cats = {_lit(im) for im, t in zip(images, labels) if t == 1}
    nots = {_lit(im) for im, t in zip(images, labels) if t == 0}
    assert tuple(CAT_ROWS) in cats
    assert len(cats) == 2 and len(nots) == 3 and not cats & nots
    for shape in cats | nots:  # a cat has two ears on its top row: nothing else does
        assert (shape[0].count("#") == 2) == (shape in cats)
    for im in images:  # one brightness per picture, in [0.7, 1]
        ink = {p for r in im for p in r if p}
        assert len(ink) == 1 and 0.7 <= ink.pop() <= 1.0
    corners = {(_first_lit(im)) for im in images}
    assert len(corners) > 10  # the shapes move around


def _first_lit(image):
    return min((i, j) for i, r in enumerate(image) for j, p in enumerate(r) if p > 0)


def test_noise_is_added_to_the_same_shapes_and_clipped():
    clean, labels = make_shapes(100, noise=0.0, seed=5)
    noisy, noisy_labels = make_shapes(100, noise=0.2, seed=5)
    assert noisy_labels == labels  # the same seed: the same shapes at the same places
    background = [b for ca, cb in zip(clean, noisy) for ra, rb in zip(ca, cb)
                  for a, b in zip(ra, rb) if a == 0.0]
    ink = [(a, b) for ca, cb in zip(clean, noisy) for ra, rb in zip(ca, cb)
           for a, b in zip(ra, rb) if a > 0.0]
    # black plus Gaussian noise, clipped at 0: half the pixels stay 0, the rest are
    # half-normal with mean 0.2 * sqrt(2 / pi)
    assert abs(background.count(0.0) / len(background) - 0.5) < 0.05
    lifted = [b for b in background if b > 0.0]
    assert abs(sum(lifted) / len(lifted) - 0.2 * math.sqrt(2 / math.pi)) < 0.01
    pairs = [(a, b) for ca, cb in zip(clean, noisy) for ra, rb in zip(ca, cb)
             for a, b in zip(ra, rb)]
    assert all(b in (0.0, 1.0) or abs(b - a) < 5 * 0.2 for a, b in pairs)  # clipped or near
    assert sum(b < 0.5 for a, b in ink) / len(ink) < 0.1  # shapes stay visible


def test_a_small_network_learns_cat_or_not():
    from chainrule.nn import MLP, binary_cross_entropy
    from chainrule.optim import Adam

    images, labels = make_shapes(400, noise=0.1, seed=0)
    X = [flatten(im) for im in images]
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=100, seed=0)
    model = MLP(64, [8, 1], fused=True, seed=0)
    optimizer = Adam(model.parameters(), lr=0.01)
    loader = batches(X_train, y_train, 20, seed=0)
    for _ in range(15):
        for xb, yb in loader:
            loss = binary_cross_entropy([model(x).sigmoid() for x in xb], yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    correct = sum((model(x).data > 0) == t for x, t in zip(X_test, y_test))
    assert correct >= 90  # of 100 pictures it never saw; chance is 50


def test_flatten_goes_row_after_row():
    image = [[0.0, 0.1, 0.2], [1.0, 1.1, 1.2]]
    assert flatten(image) == [0.0, 0.1, 0.2, 1.0, 1.1, 1.2]
    assert flatten(((1, 2), (3, 4))) == [1, 2, 3, 4]
    picture = make_shapes(2, seed=0)[0][0]
    flat = flatten(picture)
    assert len(flat) == 64 and all(flat[i * 8 + j] == picture[i][j]
                                   for i in range(8) for j in range(8))


@pytest.mark.parametrize("call, error, message", [
    (lambda: make_shapes(1), ValueError, r"n_samples must be an int >= 2, got 1 \(int\)"),
    (lambda: make_shapes(10.0), TypeError, r"n_samples must be an int >= 2, got 10.0"),
    (lambda: make_shapes(10, size=7), ValueError,
     r"size \(pixels per side\) must be an int >= 8, got 7 \(int\)"),
    (lambda: make_shapes(10, size=8.0), TypeError, r"size \(pixels per side\) must be an int >= 8"
                                                    r", got 8.0 \(float\)"),
    (lambda: make_shapes(10, noise=-0.1), ValueError,
     r"noise must be a finite number >= 0 \(a standard deviation\), got -0.1"),
    (lambda: make_shapes(10, noise="low"), TypeError, r"noise must be a finite number >= 0"),
    (lambda: make_shapes(10, seed=1.5), TypeError,
     r"seed must be an int, a random.Random or None, got 1.5"),
    (lambda: flatten([1.0, 2.0]), TypeError,
     r"flatten: image must be a non-empty list of rows \(lists of numbers\), got \[1.0, 2.0\]"),
    (lambda: flatten([]), TypeError, r"flatten: image must be a non-empty list of rows"),
    (lambda: flatten("ab"), TypeError, r"got 'ab' \(str\)"),
    (lambda: flatten([[1.0, 2.0], [3.0]]), ValueError,
     r"every row of image must have the same length, got rows of lengths \[1, 2\]"),
])
def test_shapes_and_flatten_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------- train_test_split


def test_train_test_split_sizes_pairs_and_reproducibility():
    X, y = [[float(i)] for i in range(10)], list(range(10))
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    assert (len(X_train), len(X_test)) == (7, 3)  # 2.5 test samples round up, as sklearn
    assert sorted(y_train + y_test) == y
    assert all(p == [float(t)] for p, t in zip(X_train + X_test, y_train + y_test))
    assert train_test_split(X, y, test_size=0.25, seed=0) == (X_train, X_test, y_train, y_test)
    assert train_test_split(X, y, test_size=0.25, seed=1) != (X_train, X_test, y_train, y_test)
    assert len(train_test_split(X, y, test_size=4, seed=0)[1]) == 4


@pytest.mark.parametrize("args, message", [
    (([[1.0]] * 3, [0, 1]), r"X has 3 samples but y has 2"),
    (([], []), r"got no samples"),
    (([[1.0]] * 4, [0] * 4, 1.5), r"test_size as a fraction must be in \(0, 1\), got 1.5"),
    (([[1.0]] * 4, [0] * 4, 4), r"test_size=4 leaves 4 of 4 samples for testing"),
    (([[1.0]] * 4, [0] * 4, 0), r"test_size=0 leaves 0 of 4"),
    (([[1.0]] * 4, [0] * 4, "half"), r"test_size must be a fraction in \(0, 1\) or a count"),
    (([[1.0]] * 4, [0] * 4, True), r"test_size must be a fraction in \(0, 1\) or a count, "
                                   r"got True"),
])
def test_train_test_split_errors(args, message):
    error = TypeError if args[2:] and type(args[2]) in (str, bool) else ValueError
    with pytest.raises(error, match=message):
        train_test_split(*args)


# --------------------------------------------------------------------------------- batches


def epoch(loader):
    return [(list(xb), list(yb)) for xb, yb in loader]


@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 2**32),
       shuffle=st.booleans())
def test_every_sample_exactly_once_per_epoch(n, batch_size, seed, shuffle):
    X, y = [[i] for i in range(n)], [10 * i for i in range(n)]
    loader = batches(X, y, batch_size, shuffle=shuffle, seed=seed)
    for _ in range(2):
        got = epoch(loader)
        assert len(got) == len(loader) == math.ceil(n / batch_size)
        assert all(len(xb) == batch_size for xb, _ in got[:-1])
        assert 1 <= len(got[-1][0]) <= batch_size
        flat = [p[0] for xb, _ in got for p in xb]
        assert sorted(flat) == list(range(n))
        assert all(t == 10 * p[0] for xb, yb in got for p, t in zip(xb, yb))
        if not shuffle:
            assert flat == list(range(n))


@given(n=st.integers(1, 60), batch_size=st.integers(1, 60), seed=st.integers(0, 2**32))
def test_drop_last_keeps_only_full_batches(n, batch_size, seed):
    if batch_size > n:
        with pytest.raises(ValueError, match="would leave no batch at all"):
            batches([[0]] * n, [0] * n, batch_size, drop_last=True)
        return
    loader = batches([[i] for i in range(n)], list(range(n)), batch_size, seed=seed,
                     drop_last=True)
    got = epoch(loader)
    assert len(got) == len(loader) == n // batch_size
    assert all(len(xb) == len(yb) == batch_size for xb, yb in got)
    flat = [t for _, yb in got for t in yb]
    assert len(set(flat)) == len(flat) == n - n % batch_size


def test_a_new_order_every_epoch_reproducible_per_seed():
    X, y = [[i] for i in range(20)], list(range(20))
    a, b = batches(X, y, 8, seed=3), batches(X, y, 8, seed=3)
    epochs_a = [epoch(a) for _ in range(3)]
    assert epochs_a == [epoch(b) for _ in range(3)]  # same seed: the same sequence of epochs
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]  # each epoch reshuffled
    assert epoch(batches(X, y, 8, seed=4)) != epochs_a[0]
    assert isinstance(a, Batches)


def test_batches_copy_the_data():
    X, y = [[0], [1]], [0, 1]
    loader = batches(X, y, 1, shuffle=False)
    X.append([2])
    y.append(2)
    assert epoch(loader) == [([[0]], [0]), ([[1]], [1])]


@pytest.mark.parametrize("args, kwargs, message", [
    (([[0]] * 3, [0] * 3, 0), {}, r"batch_size must be an int >= 1, got 0"),
    (([[0]] * 3, [0] * 3, 2.0), {}, r"batch_size must be an int >= 1, got 2.0"),
    (([[0]] * 3, [0] * 3, True), {}, r"batch_size must be an int >= 1, got True"),
    (([[0]] * 3, [0] * 2, 1), {}, r"batches: X has 3 samples but y has 2"),
    (([], [], 1), {}, r"batches: got no samples"),
])
def test_batches_errors(args, kwargs, message):
    error = TypeError if type(args[2]) in (float, bool) else ValueError
    with pytest.raises(error, match=message):
        batches(*args, **kwargs)
