"""Neuron, Layer, MLP, parameters and files, and the losses (chainrule.nn)."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import random
import re

import numpy as np
import pytest

from chainrule import Value, engine, gradcheck, no_grad
from chainrule import nn as chainrule_nn
from chainrule.data import make_moons
from chainrule.nn import (
    MLP,
    Layer,
    ModelFileError,
    Module,
    Neuron,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    mse,
)

# ----------------------------------------------------------------------------- helpers


def datas(model):
    return [p.data for p in model.parameters()]


def grads(model):
    return [p.grad for p in model.parameters()]


def close(a, b, rel=1e-12):
    """Equal up to float rounding: used where summation order may legitimately differ."""
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


@contextlib.contextmanager
def gc_paused():
    """micrograd builds reference cycles; without this its 10 steps take ~20 s here."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


# ----------------------------------------------------------------------- construction


def test_mlp_shapes_and_parameter_count():
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 337  # (2+1)*16 + (16+1)*16 + (16+1)*1
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert [layer.neurons[0].nin for layer in model.layers] == [2, 16, 16]
    assert isinstance(model([0.5, -0.5]), Value)  # width-1 output: a single Value
    wide = MLP(3, [4, 5], seed=0)
    out = wide([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 5
    assert len(wide.parameters()) == 4 * 4 + 5 * 5


def test_named_parameters_have_stable_dotted_names():
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert names[-2:] == ["layers.1.neurons.0.w.2", "layers.1.neurons.0.b"]
    assert len(names) == len(set(names)) == len(model.parameters())
    assert [p for _, p in model.named_parameters()] == model.parameters()
    big = MLP(2, [16, 16, 1], seed=0)
    named = dict(big.named_parameters())
    assert named["layers.0.neurons.3.w.1"] is big.layers[0].neurons[3].w[1]
    assert named["layers.2.neurons.0.b"] is big.layers[2].neurons[0].b
    assert [n for n, _ in Neuron(2).named_parameters()] == ["w.0", "w.1", "b"]
    assert [n for n, _ in Layer(1, 2).named_parameters()] == [
        "neurons.0.w.0", "neurons.0.b", "neurons.1.w.0", "neurons.1.b"]


def test_parameters_in_micrograds_order():
    model = MLP(2, [2, 1], seed=0)
    n0, n1 = model.layers[0].neurons
    out = model.layers[1].neurons[0]
    assert model.parameters() == [*n0.w, n0.b, *n1.w, n1.b, *out.w, out.b]


def test_repr_matches_micrograd():
    import micrograd.nn

    random.seed(0)
    theirs = repr(micrograd.nn.MLP(2, [3, 1]))
    assert repr(MLP(2, [3, 1], seed=0)) == theirs
    assert theirs == ("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], "
                      "Layer of [LinearNeuron(3)]]")
    assert repr(Neuron(3, activation="tanh")) == "TanhNeuron(3)"
    assert repr(Neuron(3, activation="sigmoid")) == "SigmoidNeuron(3)"
    assert repr(Neuron(3, nonlin=False, activation="tanh")) == "LinearNeuron(3)"


def test_hidden_width_one_works():
    model = MLP(2, [16, 1, 1], seed=3)
    assert len(model.parameters()) == 16 * 3 + 17 + 2
    out = model([0.3, -0.7])
    assert isinstance(out, Value)
    out.backward()
    assert model.layers[2].neurons[0].w[0].grad == model.layers[1].neurons[0](
        model.layers[0]([0.3, -0.7])).data
    # a hand-written loop over layers works too: a width-1 layer hands on one Value
    x = [0.3, -0.7]
    for layer in model.layers:
        x = layer(x)
    assert x.data == out.data


def test_layer_returns_single_value_for_width_one_like_micrograd():
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    assert len(Layer(2, 3, seed=0)([1.0, 2.0])) == 3


def test_biases_start_at_zero_and_weights_uniform():
    model = MLP(3, [20, 20, 1], seed=1)
    for layer in model.layers:
        for n in layer.neurons:
            assert n.b.data == 0.0
            assert all(-1 <= w.data <= 1 for w in n.w)
    assert len({w for w in datas(model)}) > 400  # not all the same number


def test_init_matches_micrograd_draw_order_with_the_global_random():
    import micrograd.nn

    random.seed(1337)
    theirs = micrograd.nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    assert datas(ours) == [p.data for p in theirs.parameters()]
    # a seed gives a private Random: the same numbers, and the global state untouched
    random.seed(5)
    state = random.getstate()
    seeded = MLP(2, [16, 16, 1], seed=1337)
    assert random.getstate() == state
    assert datas(seeded) == datas(ours)


def test_seeded_models_are_reproducible_and_differ_across_seeds():
    assert datas(MLP(2, [4, 1], seed=7)) == datas(MLP(2, [4, 1], seed=7))
    assert datas(MLP(2, [4, 1], seed=7)) != datas(MLP(2, [4, 1], seed=8))
    rng, same = random.Random(11), random.Random(11)
    shared = Neuron(3, seed=rng)  # a random.Random is drawn from as it is
    assert [w.data for w in shared.w] == [same.uniform(-1, 1) for _ in range(3)]
    assert rng.random() == same.random()  # and left where the neuron stopped


@pytest.mark.parametrize("init", ["normal", "xavier", "he"])
def test_other_inits_are_seeded_and_scaled(init):
    a = MLP(4, [50, 50, 1], init=init, seed=2)
    b = MLP(4, [50, 50, 1], init=init, seed=2)
    assert datas(a) == datas(b)
    assert datas(a) != datas(MLP(4, [50, 50, 1], seed=2))
    hidden = [w.data for n in a.layers[1].neurons for w in n.w]  # 50 inputs, 50 outputs
    if init == "xavier":
        bound = math.sqrt(6 / (50 + 50))
        assert max(abs(w) for w in hidden) <= bound
        assert max(abs(w) for w in hidden) > 0.9 * bound
    else:
        std = (sum(w * w for w in hidden) / len(hidden)) ** 0.5
        expected = 1.0 if init == "normal" else math.sqrt(2 / 50)
        assert 0.9 * expected < std < 1.1 * expected  # 2500 draws: within a few %


@pytest.mark.parametrize("activation, f", [
    ("relu", lambda z: max(z, 0.0)),
    ("tanh", math.tanh),
    ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
    ("linear", lambda z: z),
])
def test_activations(activation, f):
    for fused in (True, False):
        n = Neuron(2, activation=activation, seed=4, fused=fused)
        n.b.data = 0.25
        for x in ([0.5, -1.5], [-2.0, 0.1]):
            z = n.b.data + n.w[0].data * x[0] + n.w[1].data * x[1]
            assert close(n(x).data, f(z))
    model = MLP(2, [3, 2], activation="tanh", seed=0)
    assert [n.activation for n in model.layers[0].neurons] == ["tanh"] * 3
    assert repr(model.layers[1]) == "Layer of [LinearNeuron(3), LinearNeuron(3)]"


def test_inputs_may_be_numbers_or_values():
    model = MLP(2, [3, 1], seed=0)
    assert model([1, 2.5]).data == model([Value(1), Value(2.5)]).data
    n = Neuron(1, seed=0)
    assert n(2.0).data == n([2.0]).data == n(Value(2.0)).data


def test_inputs_may_be_any_iterable():
    model = MLP(2, [3, 2], seed=0)
    expected = [o.data for o in model([1.0, 2.5])]
    for x in ((1.0, 2.5), (v for v in [1.0, 2.5]), iter([1.0, 2.5]), np.array([1.0, 2.5]),
              map(Value, [1.0, 2.5])):
        assert [o.data for o in model(x)] == expected
    layer, neuron = model.layers[0], model.layers[0].neurons[0]
    assert [o.data for o in layer(v for v in [1.0, 2.5])] == [o.data for o in layer([1.0, 2.5])]
    assert neuron(v for v in (1.0, 2.5)).data == neuron([1.0, 2.5]).data
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        model(v for v in [1.0, 2.0, 3.0])


@pytest.mark.parametrize("call, message", [
    (lambda: MLP(2, [3, 1], seed=0)(None), r"MLP expects 2 inputs \(a list or other iterable "
                                          r"of numbers or Values\), got None \(NoneType\)"),
    (lambda: MLP(2, [3, 1], seed=0)(object), r"MLP expects 2 inputs .* got <class 'object'>"),
    (lambda: MLP(2, [3, 1], seed=0)("ab"), r"MLP expects 2 inputs .* got 'ab' \(str\)"),
    (lambda: Layer(3, 2, seed=0)(None), r"Layer expects 3 inputs .* got None"),
    (lambda: Neuron(4, seed=0)(None), r"Neuron expects 4 inputs .* got None"),
])
def test_inputs_that_are_not_iterable_are_a_clear_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


# ------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("make, message", [
    (lambda: Neuron(0), r"nin \(the number of inputs\) must be a positive int, got 0"),
    (lambda: Neuron(2.5), r"must be a positive int, got 2.5"),
    (lambda: Layer(2, 0), r"nout \(the number of neurons\) must be a positive int, got 0"),
    (lambda: MLP(0, [1]), r"MLP: nin .* got 0"),
    (lambda: MLP(2, []), r"nouts must be a non-empty list of layer widths"),
    (lambda: MLP(2, 3), r"nouts must be a non-empty list .* got 3"),
    (lambda: MLP(2, [4, 0, 1]), r"every layer width in nouts must be a positive int, got 0"),
    (lambda: MLP(2, [1], activation="gelu"),
     r"unknown activation 'gelu'; choose one of 'relu', 'tanh', 'sigmoid', 'linear'"),
    (lambda: Neuron(2, init="zeros"),
     r"unknown init 'zeros'; choose one of 'uniform', 'normal', 'xavier', 'he'"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_numpy_integers_are_accepted_as_sizes_and_seeds(tmp_path):
    model = MLP(np.int64(2), [np.int64(4), np.int32(1)], seed=np.int64(3))
    assert datas(model) == datas(MLP(2, [4, 1], seed=3))
    assert type(model.nin) is int and type(model.layers[0].neurons[0].nin) is int
    model.save(tmp_path / "m.json")  # plain ints in the architecture: JSON can write them
    assert datas(MLP.from_file(tmp_path / "m.json")) == datas(model)
    assert datas(MLP(2, np.array([4, 1]), seed=3)) == datas(model)
    assert len(Layer(np.int64(2), np.int64(3), seed=0).neurons) == 3
    with pytest.raises(ValueError, match=r"nin \(the number of inputs\) must be a positive "
                                         r"int, got True"):
        Neuron(True)
    with pytest.raises(ValueError, match=r"every layer width in nouts must be a positive int, "
                                         r"got True"):
        MLP(2, [True, 1])


def test_fused_must_be_a_bool():
    for make in (lambda: Neuron(2, fused="no"), lambda: Layer(2, 2, fused=0),
                 lambda: MLP(2, [1], fused=None)):
        with pytest.raises(TypeError, match=r"fused must be True or False, got"):
            make()


def test_bad_seed_is_a_type_error():
    with pytest.raises(TypeError, match="seed must be an int, a random.Random or None"):
        MLP(2, [1], seed="abc")


def test_wrong_input_length_names_expected_and_got():
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        MLP(2, [3, 1], seed=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Neuron expects 3 inputs, got 1"):
        Neuron(3, seed=0)([1.0])
    with pytest.raises(ValueError, match="Neuron expects 2 inputs, got 3"):
        Layer(2, 2, seed=0)([1.0, 2.0, 3.0])


# --------------------------------------------------------------- fused vs fine-grained


def test_fused_and_fine_grained_give_the_same_outputs_and_gradients():
    fused = MLP(3, [8, 8, 2], activation="tanh", seed=5)
    fine = MLP(3, [8, 8, 2], activation="tanh", seed=5, fused=False)
    assert datas(fused) == datas(fine)
    xs = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [0.0, 0.0, 1.0]]
    for model in (fused, fine):
        outs = [o for x in xs for o in model(x)]
        Value.sum(o * o for o in outs).backward()
    a, b = [o.data for x in xs for o in fused(x)], [o.data for x in xs for o in fine(x)]
    # one Value.dot node sums in micrograd's order; CPython 3.12+ sum() compensates
    assert all(close(p, q) for p, q in zip(a, b))
    assert all(close(p, q) for p, q in zip(grads(fused), grads(fine)))
    assert any(g != 0 for g in grads(fused))


def test_fine_grained_graph_has_a_node_per_multiply_and_add():
    x = [Value(1.0), Value(2.0)]
    fused = Neuron(2, seed=0)(x)
    fine = Neuron(2, seed=0, fused=False)(x)
    assert fused._op == fine._op == "ReLU"
    assert fused._prev[0]._op == "dot"
    assert fine._prev[0]._op == "+"  # (b + w0*x0) + w1*x1
    assert [c._op for c in fine._prev[0]._prev] == ["+", "*"]


# -------------------------------------------------------- micrograd's demo, side by side


def micrograd_demo(Value, model, X, y, steps):
    """micrograd's demo.ipynb training loop, verbatim but for the data (lists, not numpy)."""
    out = []
    for k in range(steps):
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        out.append((total_loss.data, sum(accuracy) / len(accuracy)))
    return out


def test_micrograds_demo_reproduces_micrograds_losses():
    import micrograd.engine
    import micrograd.nn

    X, labels = make_moons(100, noise=0.1, seed=1337)
    y = [2 * t - 1 for t in labels]
    with gc_paused():
        random.seed(1337)
        theirs = micrograd_demo(micrograd.engine.Value, micrograd.nn.MLP(2, [16, 16, 1]),
                                X, y, steps=10)
        random.seed(1337)
        fine = micrograd_demo(Value, MLP(2, [16, 16, 1], fused=False), X, y, steps=10)
    random.seed(1337)
    fused = micrograd_demo(Value, MLP(2, [16, 16, 1]), X, y, steps=10)

    # The first forward pass is the same arithmetic in the same order: bit for bit.
    assert fine[0] == theirs[0]
    # After a backward pass only the order in which a gradient's terms are added can
    # differ, and micrograd's own order is not fixed: its _prev is a set of Values, so
    # the topological order follows memory addresses and two micrograd runs in one
    # process differ in the last bit. Hence a relative 1e-12 from the second step on.
    assert [a for _, a in fine] == [a for _, a in theirs]
    assert all(close(a, b) for (a, _), (b, _) in zip(fine, theirs)), (fine, theirs)
    assert [a for _, a in fused] == [a for _, a in theirs]
    assert all(close(a, b) for (a, _), (b, _) in zip(fused, theirs)), (fused, theirs)
    assert theirs[-1][0] < theirs[0][0]  # it does train


# -------------------------------------------------------------------- state and files


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
        ("deeply nested", lambda t: "[" * 100_000 + "]" * 100_000,
         r"not a model file: its JSON is nested too deeply"),
        ("deeply nested inside", nested_activation(100_000),
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


def test_from_file_refuses_an_unknown_option(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [4, 1], seed=1).save(path)
    doc = json.loads(path.read_text())
    doc["options"]["turbo"] = True
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"cannot build MLP\(nin=2, nouts=\[4, 1\], "
                                             r"activation='relu'\): .*'turbo'"):
        MLP.from_file(path)


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


# -------------------------------------------------------------------------------- losses


def vals(*xs):
    return [Value(x) for x in xs]


def test_mse_value_and_gradient():
    preds = vals(1.0, 2.0)
    loss = mse(preds, [0.0, 4.0])
    assert loss.data == 2.5  # (1 + 4) / 2
    loss.backward()
    assert [p.grad for p in preds] == [1.0, -2.0]  # 2 * (p - t) / n
    assert mse(Value(3.0), 1.0).data == 4.0  # one prediction, one target
    assert gradcheck(lambda a, b: mse([a, b], [0.5, -1.0]), *vals(0.3, 2.0), verbose=False)


def test_binary_cross_entropy_value_and_gradient():
    z = vals(0.0, 2.0, -1.5)
    loss = binary_cross_entropy(z, [1, 0, 0.25])
    expected = (math.log(2) + math.log(1 + math.exp(2))
                + (0.25 * math.log(1 + math.exp(1.5)) + 0.75 * math.log(1 + math.exp(-1.5)))) / 3
    assert close(loss.data, expected)
    loss.backward()
    sig = [0.5, 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(1.5))]
    assert all(close(v.grad, (s - y) / 3) for v, s, y in zip(z, sig, [1, 0, 0.25]))
    assert z[0].grad == -0.5 / 3  # exactly sigmoid(0) - 1 at z = 0, not a subgradient
    assert gradcheck(lambda a, b: binary_cross_entropy([a, b], [1, 0]), *vals(0.7, -0.2),
                     verbose=False)


def test_binary_cross_entropy_with_logits_is_the_primary_name_and_takes_logits():
    z = vals(0.7, -1.2, 3.0)
    loss = binary_cross_entropy_with_logits(z, [1, 0, 0.5])
    assert loss.data == binary_cross_entropy(vals(0.7, -1.2, 3.0), [1, 0, 0.5]).data
    # a logit of 0 is probability 0.5: log 2 whatever the target, not log(1/0)
    assert close(binary_cross_entropy_with_logits(Value(0.0), 1).data, math.log(2))
    assert "binary_cross_entropy_with_logits" in binary_cross_entropy.__doc__
    assert "LOGITS" in binary_cross_entropy.__doc__
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: targets must be "
                                         r"numbers in \[0, 1\], got 2 at index 0"):
        binary_cross_entropy_with_logits(vals(1.0), [2])


def test_binary_cross_entropy_with_logits_matches_torch(torch):
    logits, targets = [0.7, -1.2, 3.0, 1000.0, -1000.0], [1.0, 0.0, 0.25, 0.0, 1.0]
    zs = vals(*logits)
    ours = binary_cross_entropy_with_logits(zs, targets)
    ours.backward()
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        t, torch.tensor(targets, dtype=torch.float64))
    theirs.backward()
    assert close(ours.data, theirs.item())
    assert all(close(z.grad, g) or abs(z.grad - g) < 1e-15 for z, g in zip(zs, t.grad.tolist()))


def test_bce_reuses_the_engines_sigmoid():
    assert chainrule_nn._sigmoid is engine._sigmoid  # one implementation, not two
    for x in (-800.0, -3.5, -1e-300, 0.0, 0.25, 40.0, 800.0):
        z, s = Value(x), Value(x)
        binary_cross_entropy_with_logits(z, 0).backward()
        assert z.grad == s.sigmoid().data  # d/dz = sigmoid(z) - 0, bit for bit


def test_binary_cross_entropy_is_stable_at_large_logits():
    z = vals(1000.0, -1000.0, 1000.0, -1000.0)
    loss = binary_cross_entropy(z, [1, 0, 0, 1])
    assert loss.data == (0 + 0 + 1000 + 1000) / 4
    loss.backward()
    assert [v.grad for v in z] == [0.0, 0.0, 0.25, -0.25]


def test_hinge_value_and_gradient():
    s = vals(0.5, -2.0, 3.0, 2.0)
    loss = hinge(s, [1, 1, -1, 1])
    assert loss.data == (0.5 + 3.0 + 4.0 + 0.0) / 4
    loss.backward()
    assert [v.grad for v in s] == [-0.25, -0.25, 0.25, 0.0]  # -y/n inside the margin
    assert gradcheck(lambda a, b: hinge([a, b], [1, -1]), *vals(0.3, 0.1), verbose=False)


def test_hinge_matches_micrograds_expression():
    s, y = vals(0.3, -0.8, 1.7), [1, -1, -1]
    by_hand = sum((1 + -yi * si).relu() for yi, si in zip(y, s)) * (1.0 / 3)
    assert close(hinge(s, y).data, by_hand.data)


def test_cross_entropy_value_and_gradient():
    z = vals(1.0, 2.0, 3.0)
    loss = cross_entropy(z, 0)
    total = math.exp(1) + math.exp(2) + math.exp(3)
    assert close(loss.data, math.log(total) - 1.0)
    loss.backward()
    softmax = [math.exp(k) / total for k in (1, 2, 3)]
    assert all(close(v.grad, p - (i == 0)) for i, (v, p) in enumerate(zip(z, softmax)))
    assert gradcheck(lambda a, b, c: cross_entropy([a, b, c], 2), *vals(0.1, -0.4, 0.9),
                     verbose=False)


def test_cross_entropy_batch_is_the_mean():
    batch = [vals(1.0, 2.0), vals(0.5, -0.5), vals(3.0, 3.0)]
    loss = cross_entropy(batch, [0, 1, 1])
    each = [cross_entropy(z, t).data for z, t in zip(batch, [0, 1, 1])]
    assert close(loss.data, sum(each) / 3)
    assert close(cross_entropy(batch[2], 1).data, math.log(2))
    assert gradcheck(lambda a, b: cross_entropy([[a, b], [b, a]], [1, 1]), *vals(0.2, 0.6),
                     verbose=False)


def test_cross_entropy_is_stable_at_large_logits():
    z = vals(1000.0, 0.0, -1000.0)
    assert cross_entropy(z, 0).data == 0.0
    loss = cross_entropy(z, 2)
    assert loss.data == 2000.0
    loss.backward()
    assert [v.grad for v in z] == [1.0, 0.0, -1.0]


@pytest.mark.parametrize("loss, preds, targets", [
    (mse, [0.5, -0.2], [1.0, 0.0]),
    (binary_cross_entropy_with_logits, [0.5, -0.2], [1, 0]),
    (binary_cross_entropy, [0.5, -0.2], [1, 0]),
    (hinge, [0.5, -0.2], [1, -1]),
    (cross_entropy, [0.5, -0.2], 1),
    (cross_entropy, [[0.5, -0.2], [1.0, 2.0]], [1, 0]),
], ids=["mse", "bce_with_logits", "bce", "hinge", "cross_entropy", "cross_entropy_batch"])
def test_losses_accept_plain_numbers_like_values(loss, preds, targets):
    def as_values(x):
        return [as_values(v) for v in x] if isinstance(x, list) else Value(x)

    from_numbers = loss(preds, targets)
    assert isinstance(from_numbers, Value)
    assert from_numbers.data == loss(as_values(preds), targets).data
    assert from_numbers.data == loss(np.array(preds), targets).data  # numpy floats too
    mixed = loss([preds[0], as_values(preds[1])], targets)  # gradients still reach Values
    assert mixed.data == from_numbers.data


def test_losses_accept_one_plain_number():
    assert hinge(0.5, 1).data == 0.5
    assert hinge(np.float64(-0.5), np.int64(-1)).data == 0.5
    assert mse(3.0, 1.0).data == 4.0
    assert close(binary_cross_entropy_with_logits(0.0, 1).data, math.log(2))


def test_cross_entropy_accepts_numpy_integer_targets():
    zs = vals(1.0, 2.0, 3.0)
    assert cross_entropy(zs, np.int64(1)).data == cross_entropy(zs, 1).data
    batch = [vals(1.0, 2.0), vals(0.5, -0.5)]
    assert cross_entropy(batch, np.array([1, 0])).data == cross_entropy(batch, [1, 0]).data
    with pytest.raises(ValueError, match=r"target must be a class index in \[0, 2\] for 3 "
                                         r"logits, got True"):
        cross_entropy(zs, True)
    with pytest.raises(ValueError, match=r"for 3 logits, got (np\.int64\()?3"):
        cross_entropy(zs, np.int64(3))


def test_l2_penalty():
    params = vals(1.0, -2.0, 0.5)
    loss = l2(params, 0.1)
    assert close(loss.data, 0.1 * (1 + 4 + 0.25))
    loss.backward()
    assert all(close(p.grad, 0.2 * p.data) for p in params)
    model = MLP(2, [3, 1], seed=0)
    assert l2(model, 1e-4).data == l2(model.parameters(), 1e-4).data


def test_losses_record_no_graph_under_no_grad():
    with no_grad():
        for loss in (mse(vals(1.0), [0.0]), binary_cross_entropy(vals(0.5), [1]),
                     hinge(vals(0.5), [1]), cross_entropy(vals(0.5, 1.0), 1)):
            assert loss._prev == ()


@pytest.mark.parametrize("call, message", [
    (lambda: mse(vals(1.0, 2.0), [1.0]),
     r"mse: got 2 predictions but 1 targets; they must have the same length"),
    (lambda: mse([], []), r"mse: got no predictions \(an empty list\)"),
    (lambda: hinge(vals(1.0, 2.0), [1, 0]),
     r"hinge: labels must be -1 or \+1, got 0 at index 1 \(for 0/1 labels use 2\*y - 1"),
    (lambda: hinge(vals(1.0), [1, 1]), r"hinge: got 1 predictions but 2 labels"),
    (lambda: binary_cross_entropy(vals(1.0, 2.0), [1, 2]),
     r"binary_cross_entropy: targets must be numbers in \[0, 1\], got 2 at index 1"),
    (lambda: binary_cross_entropy(vals(1.0), [-1]), r"got -1 at index 0"),
    (lambda: binary_cross_entropy([], []), r"binary_cross_entropy: got no predictions"),
    (lambda: cross_entropy(vals(1.0, 2.0), 2),
     r"cross_entropy: target must be a class index in \[0, 1\] for 2 logits, got 2"),
    (lambda: cross_entropy(vals(1.0, 2.0), -1), r"got -1"),
    (lambda: cross_entropy(vals(1.0, 2.0), 1.0), r"got 1.0"),
    (lambda: cross_entropy([], 0), r"cross_entropy: got no logits"),
    (lambda: cross_entropy([vals(1.0), vals(2.0)], [0]),
     r"cross_entropy: got 2 samples of logits but 1 targets"),
    (lambda: cross_entropy([vals(1.0, 2.0), vals(2.0)], [0, 1]),
     r"for 1 logits, got 1 \(sample 1\)"),
    (lambda: l2([], 0.1), r"l2: got no parameters"),
    (lambda: l2(vals(1.0), -0.1), r"l2: alpha must be a finite number >= 0, got -0.1"),
])
def test_losses_reject_bad_input_with_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_plain_number_inputs_become_one_shared_node_per_input():
    model = MLP(2, [3, 1], seed=0, fused=False)
    out = model([0.5, -1.0])
    inputs = [node for node in out.backward_order() if node.data in (0.5, -1.0) and not node._prev]
    assert sorted(node.data for node in inputs) == [-1.0, 0.5]  # one node each, not one per neuron
