"""Model files and state dicts: save, load, from_file, and every way a file can be bad."""

from __future__ import annotations

import json
import os
import random
import re

import pytest

from chainrule import Value
from chainrule.nn import MLP, Layer, ModelFileError, Module, Neuron


def datas(model):
    return [p.data for p in model.parameters()]


def grads(model):
    return [p.grad for p in model.parameters()]



def test_zero_grad_resets_every_gradient():
    model = MLP(2, [4, 1], seed=0)
    model([1.0, -1.0]).backward()
    assert any(grads(model))
    model.zero_grad()
    assert grads(model) == [0.0] * len(model.parameters())


def test_state_dict_round_trip():
    a, b = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=1)
    state = a.state_dict()
    assert list(state) == [name for name, _ in a.named_parameters()]
    assert list(state.values()) == datas(a)
    state["layers.0.neurons.0.b"] = 3  # ints are numbers too
    b.load_state_dict(state)
    assert datas(b) == [float(x) for x in state.values()]
    a.layers[0].neurons[0].w[0].data = 99.0
    assert b.layers[0].neurons[0].w[0].data != 99.0  # a copy, not a view


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("layers.1.neurons.0.b"),
     r"expected 17 parameters, got 16; missing 'layers.1.neurons.0.b'"),
    (lambda s: s.update(extra=1.0), r"expected 17 parameters, got 18; unexpected 'extra'"),
    (lambda s: s.update({"layers.0.neurons.2.w.1": float("nan")}),
     r"parameter 'layers.0.neurons.2.w.1' must be a finite number, got nan"),
    (lambda s: s.update({"layers.0.neurons.2.w.1": True}), r"got True \(bool\)"),
    (lambda s: s.update({"layers.0.neurons.2.w.1": "0.5"}), r"got '0.5' \(str\)"),
])
def test_load_state_dict_checks_everything_first(edit, message):
    model = MLP(2, [4, 1], seed=0)
    before = datas(model)
    state = MLP(2, [4, 1], seed=1).state_dict()
    edit(state)
    with pytest.raises(ModelFileError, match=message):
        model.load_state_dict(state)
    assert datas(model) == before


def test_save_and_load_round_trip(tmp_path):
    model = MLP(2, [16, 16, 1], activation="tanh", seed=0)
    path = tmp_path / "model.json"
    model.save(path)
    assert list(tmp_path.iterdir()) == [path]  # the temporary file was renamed into place
    doc = json.loads(path.read_text())
    assert doc["format"] == "chainrule-model" and doc["version"] == 1
    assert doc["architecture"] == {"type": "MLP", "nin": 2, "nouts": [16, 16, 1],
                                   "activation": "tanh"}
    assert len(doc["parameters"]) == 337
    other = MLP(2, [16, 16, 1], activation="tanh", seed=1)
    other.load(path)
    assert datas(other) == datas(model)  # JSON keeps every bit of a float

    state = random.getstate()
    loaded = MLP.from_file(path)
    assert random.getstate() == state  # building the model drew no global random numbers
    assert datas(loaded) == datas(model)
    assert loaded.layers[0].neurons[0].activation == "tanh"
    for x in ([0.5, -0.25], [1.0, 2.0]):
        assert loaded(x).data == model(x).data


def test_from_file_keeps_the_fused_switch_and_works_for_neurons(tmp_path):
    fine = Neuron(3, nonlin=False, fused=False, seed=0)
    fine.save(tmp_path / "n.json")
    loaded = Neuron.from_file(tmp_path / "n.json")
    assert loaded.fused is False and loaded.nonlin is False
    assert [w.data for w in loaded.w] == [w.data for w in fine.w]
    Layer(2, 3, seed=0).save(tmp_path / "layer.json")
    assert len(Layer.from_file(tmp_path / "layer.json").neurons) == 3
    with pytest.raises(ModelFileError, match="the file holds a Neuron, not a MLP"):
        MLP.from_file(tmp_path / "n.json")


def _corrupt_files():
    """(name, how to turn a good file's text into a bad one, expected message)."""
    def edit(change):
        def apply(text):
            doc = json.loads(text)
            change(doc)
            return json.dumps(doc)
        return apply

    def set_param(value):
        return edit(lambda d: d["parameters"].update({"layers.0.neurons.1.w.0": value}))

    def options(value):
        return edit(lambda d: d.update(options=value))

    def nested_activation(depth):
        brackets = "[" * depth + "]" * depth
        return lambda t: t.replace('"activation": "relu"', '"activation": ' + brackets)

    return [
        ("not UTF-8", lambda t: t.replace('"relu"', '"r\u00e9lu"').encode("latin-1"),
         r"not a model file: not UTF-8 text \(invalid continuation byte at byte \d+\)"),
        ("binary", lambda t: bytes(range(256)), r"not UTF-8 text"),
        ("deeply nested", lambda t: "[" * 30_000 + "]" * 30_000,
         r"not a model file: its JSON is nested too deeply"),
        ("deeply nested inside", nested_activation(30_000),
         r"not a model file: its JSON is nested too deeply"),
        ("nested deep but parseable", nested_activation(500),
         r"not a model file: its JSON is nested more than 16 levels deep"),
        ("huge integer", lambda t: t.replace('"version": 1', '"version": 1' + "0" * 5000),
         r"not valid JSON: .*integer"),
        ("fused not a bool", options({"fused": "no"}),
         r"option 'fused' must be true or false, got 'no' \(str\)"),
        ("fused a number", options({"fused": 1}), r"option 'fused' must be true or false, got 1"),
        ("options not an object", options([True]),
         r"'options' must be a JSON object, got \[True\] \(list\)"),
        ("junk after it", lambda t: t + " " * 100_000,
         r"the file is \d+ bytes, more than (a model of 17 parameters|MLP\(nin=2, nouts=\[4, 1\], "
         r"activation='relu'\)) can need \(at most \d+ bytes\); not read"),
        ("duplicate parameter", lambda t: t.replace('"layers.0.neurons.0.b": 0.0,',
                                                    '"layers.0.neurons.0.b": 0.0, '
                                                    '"layers.0.neurons.0.b": 5.0,'),
         r"not a model file: the key 'layers.0.neurons.0.b' appears twice in one object"),
        ("duplicate version", lambda t: t.replace('"version": 1,', '"version": 1, "version": 1,'),
         r"the key 'version' appears twice"),
        ("version true", edit(lambda d: d.update(version=True)),
         r"the format version must be an integer, got True \(bool\)"),
        ("version 1.0", edit(lambda d: d.update(version=1.0)),
         r"the format version must be an integer, got 1.0 \(float\)"),
        ("nin 2.0", edit(lambda d: d["architecture"].update(nin=2.0)),
         r"architecture differs: the file has MLP\(nin=2.0, "),
        ("a 401-digit parameter", set_param(10**400),
         r"parameter 'layers.0.neurons.1.w.0' must be a finite number, got an integer of "
         r"about 401 digits \(int\), beyond the range of a float"),
        ("an unknown top-level key", edit(lambda d: d.update(junk="x" * 100)),
         r"not a model file: unknown key\(s\) 'junk'"),
        ("truncated", lambda t: t[: len(t) // 2], r"not valid JSON \(the file looks truncated\)"),
        ("empty", lambda t: "", r"not valid JSON \(the file looks truncated\)"),
        ("not JSON", lambda t: "layers.0.neurons.0.w.0 = 0.5\n", r"not valid JSON"),
        ("a JSON list", lambda t: "[1, 2, 3]", r"not a chainrule model file"),
        ("another format", edit(lambda d: d.update(format="keras")),
         r"not a chainrule model file"),
        ("newer version", edit(lambda d: d.update(version=2)),
         r"unsupported format version 2 \(this chainrule reads version 1\)"),
        ("no parameters", edit(lambda d: d.pop("parameters")),
         r"'parameters' must be a JSON object, got None"),
        ("another architecture", edit(lambda d: d["architecture"].update(nouts=[8, 1])),
         r"architecture differs: the file has MLP\(nin=2, nouts=\[8, 1\], "
         r"activation='relu'\), this model is MLP\(nin=2, nouts=\[4, 1\]"),
        ("another activation", edit(lambda d: d["architecture"].update(activation="tanh")),
         r"architecture differs"),
        ("one parameter missing", edit(lambda d: d["parameters"].popitem()),
         r"expected 17 parameters, got 16; missing 'layers.1.neurons.0.b'"),
        ("one parameter too many", edit(lambda d: d["parameters"].update(x=1.0)),
         r"expected 17 parameters, got 18; unexpected 'x'"),
        ("renamed", edit(lambda d: d.update(parameters={
            k.replace("neurons", "units"): v for k, v in d["parameters"].items()})),
         r"missing 'layers.0.neurons.0.w.0', .* and 14 more; unexpected 'layers.0.units.0.w.0'"),
        ("NaN", set_param(float("nan")), r"'layers.0.neurons.1.w.0' must be a finite number, "
                                         r"got nan \(float\)"),
        ("Infinity", set_param(float("inf")), r"must be a finite number, got inf"),
        ("1e999", lambda t: re.sub(r'("layers.0.neurons.1.w.0": )[^,]+', r"\g<1>1e999", t),
         r"'layers.0.neurons.1.w.0' must be a finite number, got inf"),
        ("a bool", set_param(True), r"got True \(bool\)"),
        ("a string", set_param("0.5"), r"got '0.5' \(str\)"),
        ("null", set_param(None), r"got None \(NoneType\)"),
        ("a list", set_param([0.5]), r"got \[0.5\] \(list\)"),
    ]


@pytest.mark.parametrize("case, corrupt, message", _corrupt_files(),
                         ids=[c[0] for c in _corrupt_files()])
def test_a_bad_file_raises_and_leaves_the_model_as_it_was(tmp_path, case, corrupt, message):
    path = tmp_path / "model.json"
    MLP(2, [4, 1], seed=1).save(path)
    bad = corrupt(path.read_text())
    if isinstance(bad, bytes):
        path.write_bytes(bad)
    else:
        path.write_text(bad, encoding="utf-8")
    model = MLP(2, [4, 1], seed=0)
    model([1.0, 2.0]).backward()
    before, before_grads = datas(model), grads(model)
    with pytest.raises(ModelFileError, match=message) as info:
        model.load(path)
    assert str(path) in str(info.value)  # names the file
    assert datas(model) == before
    assert grads(model) == before_grads
    assert isinstance(info.value, ValueError)
    if case != "another activation":  # from_file builds whatever the file describes
        with pytest.raises(ModelFileError, match=re.escape(str(path))):
            MLP.from_file(path)


def test_load_and_from_file_refuse_an_unknown_option(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [4, 1], seed=1).save(path)
    doc = json.loads(path.read_text())
    doc["options"]["turbo"] = True
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"model.json: unknown option 'turbo' \(a MLP has "
                                             r"the options 'fused'\)"):
        MLP.from_file(path)
    model = MLP(2, [4, 1], seed=0)
    before = datas(model)
    with pytest.raises(ModelFileError, match=r"unknown option 'turbo'"):
        model.load(path)  # load() applies every check from_file applies
    assert datas(model) == before


def test_save_onto_a_directory_raises_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "model.json"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot save the model to '.*model\.json': "
                                                r"it is a directory"):
        MLP(2, [1], seed=0).save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]
    assert target.is_dir() and not any(target.iterdir())


def test_a_failed_save_leaves_no_temporary_file_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [1], seed=0).save(path)
    before = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match=r"cannot save the model to '.*model\.json': "
                                              r"Permission denied"):
        MLP(2, [1], seed=1).save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]
    assert path.read_bytes() == before
    monkeypatch.undo()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", interrupt)
    with pytest.raises(KeyboardInterrupt):
        MLP(2, [1], seed=1).save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_saving_a_non_finite_parameter_is_refused(tmp_path):
    model = MLP(2, [1], seed=0)
    model.layers[0].neurons[0].b.data = float("nan")
    with pytest.raises(ValueError, match=r"cannot save: parameter 'layers.0.neurons.0.b' is nan"):
        model.save(tmp_path / "m.json")


def test_a_micrograd_style_module_gets_numbered_names():
    class Line(Module):
        def __init__(self):
            self.a, self.b = Value(1.0), Value(2.0)

        def parameters(self):
            return [self.a, self.b]

    line = Line()
    assert line.named_parameters() == [("0", line.a), ("1", line.b)]
    line.a.grad = 5.0
    line.zero_grad()
    assert line.a.grad == 0.0
    line.load_state_dict({"0": 3.0, "1": 4.0})
    assert (line.a.data, line.b.data) == (3.0, 4.0)
    assert Module().parameters() == []
