"""Random corruptions of model files and optimizer states (hypothesis).

A load either succeeds, and the model then holds exactly what the file says, or it
raises ``ModelFileError`` naming the file and leaves the model exactly as it was.
Nothing else: no OverflowError, KeyError, RecursionError, hang or half-loaded model.
The same for optimizer states, whose accepted values must also step without error.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule import Value
from chainrule.nn import MLP, ModelFileError
from chainrule.optim import SGD, Adam, AdamW

# The numbers that broke loaders before: beyond float range, negative, absurd counts.
nasty_numbers = st.sampled_from([10**400, -(10**400), 10**401, 2**53 + 1, -1, -1e-3, -0.0,
                                 1e308, float("nan"), float("inf"), True, False, 0, 1.0])
# Any JSON value, including the awkward ones: huge ints, non-finite floats, deep nesting.
json_values = nasty_numbers | st.recursive(
    st.none() | st.booleans() | st.integers(-(10**500), 10**500) | st.floats()
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12,
)

GOOD = MLP(2, [3, 1], seed=1)
with tempfile.TemporaryDirectory() as folder:
    GOOD.save(Path(folder) / "good.json")
    GOOD_TEXT = (Path(folder) / "good.json").read_text()
GOOD_DOC = json.loads(GOOD_TEXT)


def paths_in(doc, prefix=()):
    """Every place in the document tree: a path of keys and indices."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths_in(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from paths_in(value, prefix + (i,))


ALL_PATHS = list(paths_in(GOOD_DOC))


def replaced(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def deleted(doc, path):
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return doc


@st.composite
def corrupted_files(draw):
    """The good file's bytes after one random corruption, text-level or JSON-level."""
    raw = GOOD_TEXT.encode()
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "replace", "delete", "add"]))
    if kind == "flip":
        i = draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1:]
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    if kind == "insert":
        i = draw(st.integers(0, len(raw)))
        return raw[:i] + draw(st.binary(min_size=1, max_size=12)) + raw[i:]
    if kind == "replace":
        doc = replaced(GOOD_DOC, draw(st.sampled_from(ALL_PATHS)), draw(json_values))
    elif kind == "delete":
        doc = deleted(GOOD_DOC, draw(st.sampled_from(ALL_PATHS[1:])))
    else:
        where = draw(st.sampled_from([p for p in ALL_PATHS
                                      if isinstance(_at(GOOD_DOC, p), dict)]))
        doc = replaced(GOOD_DOC, where, {**_at(GOOD_DOC, where),
                                         draw(st.text(max_size=6)): draw(json_values)})
    return json.dumps(doc).encode()


def _at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=corrupted_files())
def test_a_corrupted_model_file_loads_exactly_or_fails_cleanly(tmp_path, raw):
    path = tmp_path / "model.json"
    path.write_bytes(raw)
    model = MLP(2, [3, 1], seed=0)
    model([0.5, -1.0]).backward()
    before = [(p.data, p.grad) for p in model.parameters()]
    try:
        model.load(path)
    except ModelFileError as error:
        assert str(path) in str(error)
        assert [(p.data, p.grad) for p in model.parameters()] == before
        loaded = None
    else:  # a corruption that left a valid file: the model holds exactly the file
        params = json.loads(raw)["parameters"]
        assert model.state_dict() == {k: float(v) for k, v in params.items()}
        loaded = True
    try:
        built = MLP.from_file(path)
    except ModelFileError as error:
        assert str(path) in str(error)
    else:
        assert all(math.isfinite(p.data) for p in built.parameters())
        if loaded:
            assert built.state_dict() == model.state_dict()


def trained(make):
    params = [Value(1.0), Value(-2.0)]
    opt = make(params)
    for g in (0.5, -0.25):
        for p in params:
            p.grad = g
        opt.step()
    return opt


OPTIMIZERS = {
    "SGD": lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": lambda p: Adam(p, lr=0.05, weight_decay=0.01),
    "AdamW": lambda p: AdamW(p, lr=0.05),
}


@st.composite
def corrupted_states(draw):
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    state = json.loads(json.dumps(trained(OPTIMIZERS[name]).state_dict()))
    places = list(paths_in(state))
    if draw(st.booleans()):
        state = replaced(state, draw(st.sampled_from(places)), draw(json_values))
    else:
        state = deleted(state, draw(st.sampled_from(places[1:])))
    return name, state


@settings(max_examples=150)
@given(case=corrupted_states())
def test_a_corrupted_optimizer_state_loads_or_fails_cleanly(case):
    name, state = case
    opt = trained(OPTIMIZERS[name])
    before = json.dumps(opt.state_dict())
    try:
        opt.load_state_dict(state)
    except ValueError as error:
        assert f"{name}.load_state_dict" in str(error)
        assert json.dumps(opt.state_dict()) == before
    else:  # accepted: then stepping must not crash later
        for p in opt.params:
            p.grad = 0.1
        opt.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_state_of_a_trained_optimizer_round_trips(name):
    opt = trained(OPTIMIZERS[name])
    fresh = OPTIMIZERS[name]([Value(0.0), Value(0.0)])
    fresh.load_state_dict(json.loads(json.dumps(opt.state_dict())))
    assert fresh.state_dict() == opt.state_dict()
