"""Neuron, Layer, MLP: construction, graphs, micrograd compatibility (chainrule.nn.layers)."""

from __future__ import annotations

import contextlib
import gc
import math
import random

import numpy as np
import pytest
from support import require

from chainrule import Value
from chainrule.data import make_moons
from chainrule.nn import MLP, Layer, Neuron


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
    require("micrograd")
    import micrograd.nn as micrograd_nn

    random.seed(0)
    theirs = repr(micrograd_nn.MLP(2, [3, 1]))
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
    require("micrograd")
    import micrograd.nn as micrograd_nn

    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
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
    (lambda: Neuron(0), r"nin \(the number of inputs\) must be an int >= 1, got 0 \(int\)"),
    (lambda: Layer(2, 0), r"nout \(the number of neurons\) must be an int >= 1, got 0"),
    (lambda: MLP(0, [1]), r"MLP: nin .* got 0"),
    (lambda: MLP(2, []), r"nouts must be a non-empty list of layer widths"),
    (lambda: MLP(2, [4, 0, 1]), r"every layer width in nouts must be an int >= 1, got 0"),
    (lambda: MLP(2, [1], activation="gelu"),
     r"unknown activation 'gelu'; choose one of 'relu', 'tanh', 'sigmoid', 'linear'"),
    (lambda: Neuron(2, init="zeros"),
     r"unknown init 'zeros'; choose one of 'uniform', 'normal', 'xavier', 'he'"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, message", [
    (lambda: Neuron(2.5), r"Neuron: nin \(the number of inputs\) must be an int >= 1, "
                          r"got 2.5 \(float\)"),
    (lambda: MLP(2, 3), r"MLP: nouts must be a non-empty list .* got 3 \(int\)"),
    (lambda: MLP(2, [4, 2.0]), r"every layer width in nouts must be an int >= 1, got 2.0"),
    (lambda: Neuron(2, activation=None), r"activation must be one of 'relu', .* got None"),
    (lambda: Neuron(2, nonlin="no"), r"Neuron: nonlin must be True or False, got 'no' \(str\)"),
])
def test_arguments_of_the_wrong_type_raise_type_errors(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_numpy_integers_are_accepted_as_sizes_and_seeds(tmp_path):
    model = MLP(np.int64(2), [np.int64(4), np.int32(1)], seed=np.int64(3))
    assert datas(model) == datas(MLP(2, [4, 1], seed=3))
    assert type(model.nin) is int and type(model.layers[0].neurons[0].nin) is int
    model.save(tmp_path / "m.json")  # plain ints in the architecture: JSON can write them
    assert datas(MLP.from_file(tmp_path / "m.json")) == datas(model)
    assert datas(MLP(2, np.array([4, 1]), seed=3)) == datas(model)
    assert len(Layer(np.int64(2), np.int64(3), seed=0).neurons) == 3
    with pytest.raises(TypeError, match=r"nin \(the number of inputs\) must be an int >= 1, "
                                        r"got True"):
        Neuron(True)
    with pytest.raises(TypeError, match=r"every layer width in nouts must be an int >= 1, "
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
    with pytest.raises(ValueError, match="Layer expects 2 inputs, got 3"):
        Layer(2, 2, seed=0)([1.0, 2.0, 3.0])


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("make", [lambda f: Neuron(3, seed=0, fused=f),
                                  lambda f: Layer(3, 1, seed=0, fused=f),
                                  lambda f: MLP(3, [1], seed=0, fused=f)])
def test_numbers_given_as_inputs_become_input_values_not_constants(make, fused):
    from chainrule.engine import Constant

    model = make(fused)
    out = model([1.0, 2.0, 3.0])
    params = set(model.parameters())
    leaves = [v for v in out.backward_order() if not v._prev and v not in params]
    assert sorted(v.data for v in leaves) == [1.0, 2.0, 3.0]  # each input once
    assert not any(isinstance(v, Constant) for v in leaves)  # drawn as inputs x0, x1, x2


def test_a_fused_neuron_with_a_number_put_in_its_weights_lifts_it_or_says_why():
    n = Neuron(2, seed=0, fused=True)
    x = [Value(2.0), Value(3.0)]
    n.w[1] = 0.5  # by hand: the fast path meets a float, Value.dot lifts it
    assert n(x).data == max(0.0, n.w[0].data * 2.0 + 0.5 * 3.0)
    n.w[1] = "0.5"
    with pytest.raises(TypeError, match="dot.*str"):
        n(x)


def test_a_layer_swapped_into_an_mlp_by_hand_is_called_as_itself():
    model = MLP(2, [3, 1], seed=0, fused=True)
    calls = []

    def doubled(xs):
        calls.append(len(xs))
        return [2 * v for v in xs]

    model.layers.insert(1, doubled)
    out = model([1.0, -1.0])
    assert calls == [3]
    layer0, last = model.layers[0], model.layers[2]
    h = [2 * v.data for v in layer0([1.0, -1.0])]
    expected = last.neurons[0].b.data
    for w, v in zip(last.neurons[0].w, h):
        expected += w.data * v
    assert out.data == expected


# --------------------------------------------------------------- fused vs fine-grained


def test_fused_and_fine_grained_give_the_same_outputs_and_gradients():
    fused = MLP(3, [8, 8, 2], activation="tanh", seed=5, fused=True)
    fine = MLP(3, [8, 8, 2], activation="tanh", seed=5)
    assert datas(fused) == datas(fine)
    xs = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [0.0, 0.0, 1.0]]
    for model in (fused, fine):
        outs = [o for x in xs for o in model(x)]
        Value.sum(o * o for o in outs).backward()
    a, b = [o.data for x in xs for o in fused(x)], [o.data for x in xs for o in fine(x)]
    assert a == b  # one Value.dot node adds in micrograd's order, product by product
    assert grads(fused) == grads(fine)
    assert any(g != 0 for g in grads(fused))


def ops(*roots):
    """The op of every node behind ``roots``, sorted (a leaf's op is '')."""
    seen, stack, found = set(), list(roots), []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            found.append(node._op)
            stack.extend(node._prev)
    return sorted(found)


def test_the_default_graph_is_micrograds_one_node_per_multiply_and_add():
    # micrograd's trace_graph.ipynb draws Neuron(2) on two Values: two *, two +, a ReLU
    x = [Value(1.0), Value(-2.0)]
    out = Neuron(2, seed=0)(x)
    assert ops(out) == ["", "", "", "", "", "*", "*", "+", "+", "ReLU"]  # 5 leaves
    assert out._op == "ReLU" and out._prev[0]._op == "+"  # (b + w0*x0) + w1*x1
    assert [c._op for c in out._prev[0]._prev] == ["+", "*"]
    assert [c._op for c in out._prev[0]._prev[0]._prev] == ["", "*"]  # the bias first
    fused = Neuron(2, seed=0, fused=True)(x)
    assert ops(fused) == ["", "", "", "", "", "ReLU", "dot"]
    assert Layer(2, 3, seed=0).neurons[0].fused is False
    assert MLP(2, [3, 1], seed=0).layers[1].neurons[0].fused is False


def test_the_default_graph_has_exactly_micrograds_nodes():
    require("micrograd")
    import micrograd.engine
    import micrograd.nn

    for make_ours, make_theirs, nin in [
        (lambda: Neuron(2), lambda: micrograd.nn.Neuron(2), 2),
        (lambda: Layer(3, 2), lambda: micrograd.nn.Layer(3, 2), 3),
        (lambda: MLP(3, [4, 4, 1]), lambda: micrograd.nn.MLP(3, [4, 4, 1]), 3),
    ]:
        random.seed(0)
        theirs = make_theirs()(list(map(micrograd.engine.Value, range(1, nin + 1))))
        random.seed(0)
        ours = make_ours()(list(map(Value, range(1, nin + 1))))
        theirs, ours = (t if isinstance(t, list) else [t] for t in (theirs, ours))
        assert [o.data for o in ours] == [t.data for t in theirs]  # bit for bit
        assert ops(*ours) == ops(*theirs)


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
    require("micrograd")
    import micrograd.engine
    import micrograd.nn

    X, labels = make_moons(100, noise=0.1, seed=1337)
    y = [2 * t - 1 for t in labels]
    with gc_paused():
        random.seed(1337)
        theirs = micrograd_demo(micrograd.engine.Value, micrograd.nn.MLP(2, [16, 16, 1]),
                                X, y, steps=10)
        random.seed(1337)
        fine = micrograd_demo(Value, MLP(2, [16, 16, 1]), X, y, steps=10)  # the default
    random.seed(1337)
    fused = micrograd_demo(Value, MLP(2, [16, 16, 1], fused=True), X, y, steps=10)

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



def test_plain_number_inputs_become_one_shared_node_per_input():
    model = MLP(2, [3, 1], seed=0, fused=False)
    out = model([0.5, -1.0])
    inputs = [node for node in out.backward_order() if node.data in (0.5, -1.0) and not node._prev]
    assert sorted(node.data for node in inputs) == [-1.0, 0.5]  # one node each, not one per neuron


def test_micrograds_idioms_work_on_our_modules():
    # micrograd's nn.py: Module.zero_grad, parameters(), MLP(nin, nouts) called on floats
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    losses = []
    for _ in range(30):
        ypred = [model(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data += -0.01 * p.grad
        losses.append(loss.data)
    assert losses[-1] < losses[0] / 2
    assert all(p.grad == 0 for p in (model.zero_grad() or model.parameters()))
    assert len(model.parameters()) == 41 and isinstance(model.parameters()[0], Value)

