"""chainrule.interop against PyTorch: models, losses, optimizers and recorded graphs agree.

Every equality is to 1e-12 (absolute, or relative where values grow): float64 on both
sides, and the only differences are the order torch's kernels sum in (and fused
multiply-adds in its vector kernels), a few ulps.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest
from hypothesis import assume, given
from strategies import programs, run_program
from support import require

from chainrule import Value, interop, nn
from chainrule.nn import (
    ACTIVATIONS,
    INITS,
    MLP,
    Layer,
    Neuron,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    mse,
)
from chainrule.optim import SGD, Adam, AdamW


class _Torch:
    """torch, looked up through ``require`` at its first use inside a test: collecting
    this module needs no torch, and without it each test skips (in CI, fails)."""

    def __getattr__(self, name):
        if name.startswith(("_", "pytest")):  # pytest probing every module-level name
            raise AttributeError(name)
        return getattr(require("torch"), name)


torch = _Torch()
pytestmark = pytest.mark.usefixtures("torch")  # every test skips (in CI, fails) without torch
TOL = 1e-12


def close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def rand_rows(rng: random.Random, n: int, width: int) -> list:
    return [[rng.uniform(-2, 2) for _ in range(width)] for _ in range(n)]


def test_import_needs_no_torch() -> None:
    code = ("import sys; sys.modules['torch'] = None; import chainrule.interop as i; "
            "print(sorted(i.TORCH_LOSSES)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "binary_cross_entropy"


# ------------------------------------------------------------------ models


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_outputs_and_gradients_equal(activation, init, fused) -> None:
    rng = random.Random(f"{activation}{init}{fused}")
    model = MLP(3, [4, 4, 2], activation=activation, init=init, fused=fused, seed=rng)
    net = interop.to_torch(model)
    X = rand_rows(rng, 5, 3)
    coeffs = rand_rows(rng, 5, 2)  # a random linear function of all outputs, to backpropagate
    inputs = [[Value(x) for x in row] for row in X]
    outs = [model(row) for row in inputs]
    Value.sum(c * o for cs, os in zip(coeffs, outs) for c, o in zip(cs, os)).backward()
    xt = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    yt = net(xt)
    (yt * torch.tensor(coeffs, dtype=torch.float64)).sum().backward()
    assert yt.dtype == torch.float64
    for i in range(5):
        for j in range(2):
            assert close(outs[i][j].data, yt[i, j].item())
        for k in range(3):
            assert close(inputs[i][k].grad, xt.grad[i, k].item())
    params = dict(net.named_parameters())
    for name, where in interop.parameter_names(model).items():
        tensor, index = where.split("[")
        index = tuple(int(n) for n in index.rstrip("]").split(","))
        p = dict(model.named_parameters())[name]
        assert params[tensor][index].item() == p.data  # copied exactly
        assert close(p.grad, params[tensor].grad[index].item())


def test_to_torch_layout_names_and_modules() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    net = interop.to_torch(model)
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear"]
    names = interop.parameter_names(model)
    assert names["layers.0.neurons.2.w.1"] == "0.weight[2, 1]"
    assert names["layers.1.neurons.0.b"] == "2.bias[0]"
    assert net[0].weight[2, 1].item() == model.layers[0].neurons[2].w[1].data
    linear = MLP(2, [3, 1], activation="linear", seed=0)
    assert [type(m).__name__ for m in interop.to_torch(linear)] == ["Linear", "Linear"]


@pytest.mark.parametrize("make", [
    lambda: Layer(3, 2, activation="sigmoid", seed=1),
    lambda: Neuron(3, activation="tanh", seed=1),
    lambda: Neuron(3, nonlin=False, seed=1),
], ids=["layer", "neuron", "linear-neuron"])
def test_to_torch_takes_a_layer_or_a_neuron(make) -> None:
    model = make()
    net = interop.to_torch(model)
    x = [0.3, -0.7, 1.1]
    out = model(x)
    out = out if isinstance(out, list) else [out]
    got = net(torch.tensor([x], dtype=torch.float64))[0]
    assert len(got) == len(out)
    assert all(close(o.data, g.item()) for o, g in zip(out, got))


def test_to_torch_rejects_other_things() -> None:
    with pytest.raises(TypeError, match="expected a chainrule MLP, Layer or Neuron, got list"):
        interop.to_torch([Value(1.0)])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_from_torch_round_trip_is_exact(activation) -> None:
    model = MLP(3, [5, 4, 2], activation=activation, seed=3)
    back = interop.from_torch(interop.to_torch(model))
    assert back.state_dict() == model.state_dict()
    assert repr(back) == repr(model)


def test_from_torch_reads_torchs_own_float32_model() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    model = interop.from_torch(net, fused=True)
    assert model.layers[0].neurons[0].fused is True
    assert model.layers[0].neurons[3].w[1].data == net[0].weight[3, 1].item()  # widened exactly
    X = rand_rows(random.Random(1), 6, 2)
    want = net.double()(torch.tensor(X, dtype=torch.float64))[:, 0]
    assert all(close(model(x).data, w.item()) for x, w in zip(X, want))


def _seq(*layers):
    return torch.nn.Sequential(*layers)


def L(*args, **kwargs):
    return torch.nn.Linear(*args, **kwargs)


def R():
    return torch.nn.ReLU()


def T():
    return torch.nn.Tanh()


@pytest.mark.parametrize("build, error, match", [
    (lambda: _seq(L(2, 3), R(), torch.nn.Conv1d(1, 1, 1)), TypeError,
     r"layer 2 \(Conv1d\) is not supported: an MLP is built from Linear, ReLU, Tanh and Sigmoid"),
    (lambda: _seq(L(2, 3), torch.nn.Dropout(), L(3, 1)), TypeError, r"layer 1 \(Dropout\)"),
    (lambda: L(2, 3), TypeError, "expects a torch.nn.Sequential .* got Linear"),
    (lambda: _seq(), ValueError, "the Sequential is empty"),
    (lambda: _seq(R(), L(2, 1)), ValueError, r"layer 0 \(ReLU\) is not supported here \(first\)"),
    (lambda: _seq(L(2, 3), R(), T(), L(3, 1)), ValueError,
     r"layer 2 \(Tanh\) is not supported here \(second activation in a row\)"),
    (lambda: _seq(L(2, 3), R(), L(3, 1), R()), ValueError,
     r"layer 3 \(ReLU\) after the last Linear is not supported"),
    (lambda: _seq(L(2, 3), R(), L(3, 3), T(), L(3, 1)), ValueError,
     r"layer 3 \(Tanh\) does not match the earlier hidden layers' activation 'relu'"),
    (lambda: _seq(L(2, 3), R(), L(3, 3), L(3, 1)), ValueError,
     r"layer 3 \(Linear\) \(no activation before it\) does not match .* 'relu'"),
    (lambda: _seq(L(2, 3, bias=False)), ValueError, r"layer 0 \(Linear\) has no bias"),
    (lambda: _seq(L(2, 3), R(), L(4, 1)), ValueError,
     r"layer 2 \(Linear\) takes 4 inputs, but the layer before it gives 3"),
    (lambda: _seq(L(2, 3, dtype=torch.complex128)), TypeError,
     r"layer 0 \(Linear\) has weights of dtype torch.complex128"),
], ids=["conv", "dropout", "not-sequential", "empty", "act-first", "two-acts", "act-last",
        "mixed", "mixed-linear", "no-bias", "shapes", "complex"])
def test_from_torch_names_the_first_layer_that_does_not_fit(build, error, match) -> None:
    with pytest.raises(error, match=match):
        interop.from_torch(build())


def test_from_torch_rejects_non_finite_weights() -> None:
    net = _seq(L(2, 3, dtype=torch.float64), R(), L(3, 1, dtype=torch.float64))
    with torch.no_grad():
        net[2].weight[0, 1] = math.nan
    with pytest.raises(ValueError, match=r"2\.weight\[0, 1\] is nan"):
        interop.from_torch(net)


# ------------------------------------------------------------------ losses


def _loss_case(name: str, rng: random.Random):
    """Predictions and targets each loss takes (cross_entropy: 3 logits per sample)."""
    n = 6
    if name == "cross_entropy":
        return [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(n)], \
               [rng.randrange(3) for _ in range(n)]
    preds = [rng.uniform(-3, 3) for _ in range(n)]
    if name == "binary_cross_entropy":
        preds = [rng.uniform(0.02, 0.98) for _ in range(n)]
    if name == "hinge":
        return preds, [rng.choice([-1, 1]) for _ in range(n)]
    return preds, [rng.uniform(0, 1) if name != "mse" else rng.uniform(-2, 2) for _ in range(n)]


LOSSES = {"mse": mse, "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
          "binary_cross_entropy": binary_cross_entropy, "hinge": hinge,
          "cross_entropy": cross_entropy}


@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_equals_its_torch_counterpart(name) -> None:
    assert name in interop.TORCH_LOSSES
    preds, targets = _loss_case(name, random.Random(name))
    values = [[Value(x) for x in p] if isinstance(p, list) else Value(p) for p in preds]
    ours = LOSSES[name](values, targets)
    ours.backward()
    pt = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    theirs = interop.torch_loss(LOSSES[name])(pt, targets)
    theirs.backward()
    assert close(ours.data, theirs.item())
    flat = [v for row in values for v in (row if isinstance(row, list) else [row])]
    assert all(close(v.grad, g) for v, g in zip(flat, pt.grad.flatten().tolist()))


def test_every_chainrule_loss_has_a_torch_counterpart() -> None:
    import chainrule.nn.losses as losses_module

    losses = {name for name in nn.__all__
              if getattr(getattr(nn, name), "__module__", "") == losses_module.__name__}
    assert losses == set(interop.TORCH_LOSSES) == set(LOSSES) | {"l2"}


def test_l2_is_torchs_sum_of_squares_and_weight_decay_two_alpha() -> None:
    model, twin = MLP(2, [3, 1], seed=4), MLP(2, [3, 1], seed=4)
    net = interop.to_torch(model)
    penalty = l2(model, 1e-2)
    penalty.backward()
    theirs = 1e-2 * sum((p ** 2).sum() for p in net.parameters())
    theirs.backward()
    assert close(penalty.data, theirs.item())
    tensors = dict(net.named_parameters())
    for name, p in model.named_parameters():
        tensor, index = interop.parameter_names(model)[name].split("[")
        index = tuple(int(i) for i in index.rstrip("]").split(","))
        assert close(p.grad, tensors[tensor].grad[index].item())
    # One SGD step on mse + l2(alpha) is torch's step on mse with weight_decay = 2 * alpha.
    opt = SGD(twin.parameters(), lr=0.1)
    mse_and_l2 = mse([twin(x) for x in X_OPT], Y_OPT) + l2(twin, 0.05)
    mse_and_l2.backward()
    opt.step()
    net.zero_grad()
    topt = torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=2 * 0.05)
    torch_steps(net, topt, 1)
    assert_same_weights(twin, net)
    with pytest.raises(ValueError, match="l2 is a penalty on parameters, not a loss on outputs"):
        interop.torch_loss(l2)


@pytest.mark.parametrize("name", LOSSES)
def test_compare_gradients_matches_for_every_loss(name, capsys) -> None:
    rng = random.Random(name)
    if name == "binary_cross_entropy":  # takes probabilities: a sigmoid neuron gives them
        model = Neuron(2, activation="sigmoid", seed=rng)
    else:
        model = MLP(2, [4, 3 if name == "cross_entropy" else 1], activation="tanh", seed=rng)
    X = rand_rows(rng, 6, 2)
    _, y = _loss_case(name, rng)
    for p in model.parameters():
        p.grad = 7.0  # a sentinel: compare_gradients must leave grads as they were
    result = interop.compare_gradients(model, X, y, LOSSES[name])
    assert result and result.ok
    assert result.max_abs_err <= TOL
    assert all(p.grad == 7.0 for p in model.parameters())
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].split() == ["parameter", "chainrule", "torch", "abs", "err", "rel", "err"]
    assert lines[1].startswith(f"loss ({name})")
    assert lines[2].startswith(model.named_parameters()[0][0] + " ")
    assert len(lines) == 2 + len(model.parameters()) + 1
    assert lines[-1] == (f"compare_gradients passed: all {len(model.parameters()) + 1} numbers "
                         "match (atol=1e-12, rtol=1e-09)")
    assert str(result) == printed.rstrip("\n")


def test_compare_gradients_fails_when_torch_disagrees(monkeypatch) -> None:
    model = MLP(2, [3, 1], seed=5)
    real = interop.compare.to_torch
    def off_by_a_little(m):  # torch's copy gets one weight nudged: its gradients change
        net = real(m)
        with torch.no_grad():
            net[0].weight[1, 0] += 1e-3
        return net
    monkeypatch.setattr(interop.compare, "to_torch", off_by_a_little)
    result = interop.compare_gradients(model, [[0.5, -1.0], [1.5, 0.2]], [1.0, -1.0], mse,
                                       verbose=False)
    assert not result
    text = str(result)
    assert "MISMATCH" in text and "compare_gradients FAILED:" in text
    bad = [r.name for r in result.rows if not r.ok]
    assert "layers.0.neurons.1.w.0" in bad


@pytest.mark.parametrize("loss, match", [
    ("nll", "unknown loss 'nll'; choose one of chainrule.nn's mse"),
    (lambda p, t: p, "unknown loss <function"),
])
def test_compare_gradients_unknown_loss(loss, match) -> None:
    with pytest.raises(ValueError, match=match):
        interop.compare_gradients(MLP(2, [1], seed=0), [[1.0, 2.0]], [0.0], loss)


# ------------------------------------------------------------------ optimizers

OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd-momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3),
    "sgd-nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
    "adam": lambda ps: Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-7, weight_decay=1e-2),
    "adam-decoupled": lambda ps: Adam(ps, lr=0.02, weight_decay=0.1, decoupled_weight_decay=True),
    "adamw": lambda ps: AdamW(ps, lr=0.03),
}
X_OPT = rand_rows(random.Random(9), 8, 2)
Y_OPT = [math.sin(a) * b for a, b in X_OPT]


def chainrule_steps(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        mse([model(x) for x in X_OPT], Y_OPT).backward()
        opt.step()


def torch_steps(net, topt, steps):
    xt, yt = torch.tensor(X_OPT, dtype=torch.float64), torch.tensor(Y_OPT, dtype=torch.float64)
    for _ in range(steps):
        topt.zero_grad()
        torch.nn.functional.mse_loss(net(xt)[:, 0], yt).backward()
        topt.step()


def assert_same_weights(model, net):
    state = interop.from_torch(net).state_dict()
    assert all(close(x, state[name]) for name, x in model.state_dict().items())
    return max(abs(x - state[name]) for name, x in model.state_dict().items())


@pytest.mark.parametrize("k", [0, 3])
@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_training_continues_in_torch_with_the_same_numbers(kind, k) -> None:
    model, twin = (MLP(2, [4, 1], activation="tanh", seed=11) for _ in range(2))
    opt, twin_opt = OPTIMIZERS[kind](model.parameters()), OPTIMIZERS[kind](twin.parameters())
    chainrule_steps(model, opt, k)
    net = interop.to_torch(model)
    topt = interop.optimizer_to_torch(opt, model, net)
    assert type(topt).__name__ == type(opt).__name__
    torch_steps(net, topt, 4)
    chainrule_steps(twin, twin_opt, k + 4)
    assert_same_weights(twin, net)


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_training_continues_in_chainrule_from_torch(kind) -> None:
    twin = MLP(2, [4, 1], activation="tanh", seed=12)
    twin_opt = OPTIMIZERS[kind](twin.parameters())
    net = interop.to_torch(twin)
    topt = interop.optimizer_to_torch(OPTIMIZERS[kind](twin.parameters()), twin, net)
    torch_steps(net, topt, 3)
    model = interop.from_torch(net)
    opt = interop.optimizer_from_torch(topt, net, model)
    assert interop.optimizer_to_torch(opt, model, interop.to_torch(model)).state_dict()[
        "param_groups"][0]["lr"] == topt.param_groups[0]["lr"]
    chainrule_steps(model, opt, 4)
    chainrule_steps(twin, twin_opt, 7)
    assert all(close(x, model.state_dict()[n]) for n, x in twin.state_dict().items())


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_optimizer_state_round_trips_exactly(kind) -> None:
    model = MLP(2, [3, 1], seed=13)
    opt = OPTIMIZERS[kind](list(reversed(model.parameters())))  # any order of the same params
    chainrule_steps(model, opt, 2)
    net = interop.to_torch(model)
    back = interop.optimizer_from_torch(interop.optimizer_to_torch(opt, model, net), net, model)
    want = opt.state_dict()
    got = back.state_dict()
    order = {id(p): i for i, p in enumerate(back.params)}
    for key, buffer in want.items():
        if isinstance(buffer, list) and len(buffer) == len(opt.params):
            assert [got[key][order[id(p)]] for p in opt.params] == buffer, key
        else:
            assert got[key] == buffer, key


def test_optimizer_errors_name_the_problem() -> None:
    model = MLP(2, [3, 1], seed=14)
    net = interop.to_torch(model)
    with pytest.raises(ValueError, match="opt must optimize exactly the model's parameters"):
        interop.optimizer_to_torch(SGD(model.parameters()[:3], lr=0.1), model, net)
    with pytest.raises(ValueError, match=r"its layer 2 should be Linear\(3, 1\) .* got Linear"):
        interop.optimizer_to_torch(SGD(model.parameters(), lr=0.1), model,
                                   _seq(L(2, 3), R(), L(3, 2)))
    with pytest.raises(TypeError, match="expects a chainrule SGD, Adam or AdamW, got list"):
        interop.optimizer_to_torch([], model, net)
    with pytest.raises(TypeError, match="expects torch.optim.SGD, Adam or AdamW, got RMSprop"):
        interop.optimizer_from_torch(torch.optim.RMSprop(net.parameters()), net, model)
    with pytest.raises(ValueError, match="amsgrad=True has no chainrule counterpart"):
        interop.optimizer_from_torch(torch.optim.Adam(net.parameters(), amsgrad=True), net, model)
    with pytest.raises(ValueError, match="one parameter group holding exactly torch_model's"):
        interop.optimizer_from_torch(torch.optim.SGD(net[0].parameters(), lr=0.1), net, model)


# ------------------------------------------------------------------ record()

A, B = 1.3, -0.7
def _same(f):
    return f, f  # operators and methods chainrule shares with torch


OPS = {  # name -> (chainrule's op string at the root, on tensors, on Values)
    "a + b": ("+", *_same(lambda a, b: a + b)),
    "2 + a": ("+", *_same(lambda a, b: 2 + a)),
    "torch.add": ("+", lambda a, b: torch.add(a, b), lambda a, b: a + b),
    "a.add(b)": ("+", lambda a, b: a.add(b), lambda a, b: a + b),
    "a - b": ("-", *_same(lambda a, b: a - b)),
    "1 - a": ("-", *_same(lambda a, b: 1 - a)),
    "torch.sub": ("-", lambda a, b: torch.sub(a, b), lambda a, b: a - b),
    "a * b": ("*", *_same(lambda a, b: a * b)),
    "3 * a": ("*", *_same(lambda a, b: 3 * a)),
    "torch.mul": ("*", lambda a, b: torch.mul(a, b), lambda a, b: a * b),
    "a / b": ("/", *_same(lambda a, b: a / b)),
    "1 / a": ("/", *_same(lambda a, b: 1 / a)),
    "torch.div": ("/", lambda a, b: torch.div(a, b), lambda a, b: a / b),
    "a ** 2": ("**2", *_same(lambda a, b: a ** 2)),
    "a ** -1.5": ("**-1.5", *_same(lambda a, b: a ** -1.5)),
    "a ** b": ("**", *_same(lambda a, b: a ** b)),
    "2 ** b": ("**", *_same(lambda a, b: 2 ** b)),
    "torch.pow": ("**3", lambda a, b: torch.pow(b, 3), lambda a, b: b ** 3),
    "-a": ("neg", *_same(lambda a, b: -a)),
    "torch.neg": ("neg", lambda a, b: torch.neg(b), lambda a, b: -b),
    "abs(b)": ("abs", *_same(lambda a, b: abs(b))),
    "torch.abs": ("abs", lambda a, b: torch.abs(b), lambda a, b: abs(b)),
    "torch.sum": ("sum", lambda a, b: torch.sum(a), lambda a, b: Value.sum([a])),
    "b.sum()": ("sum", lambda a, b: b.sum(), lambda a, b: Value.sum([b])),
    "F.relu": ("ReLU", lambda a, b: torch.nn.functional.relu(a), lambda a, b: a.relu()),
    "F.tanh": ("tanh", lambda a, b: torch.nn.functional.tanh(b), lambda a, b: b.tanh()),
    "F.sigmoid": ("sigmoid", lambda a, b: torch.nn.functional.sigmoid(b), lambda a, b: b.sigmoid()),
}
for _op, _name in [("exp", "exp"), ("log", "log"), ("tanh", "tanh"), ("sigmoid", "sigmoid"),
                   ("ReLU", "relu"), ("abs", "abs")]:
    _x = "a" if _name == "log" else "b"  # log needs a > 0; the rest read the negative b
    _method = (lambda n, x: lambda a, b: getattr({"a": a, "b": b}[x], n)())(_name, _x)
    _function = (lambda n, x: lambda a, b: getattr(torch, n)({"a": a, "b": b}[x]))(_name, _x)
    OPS[f"{_x}.{_name}()"] = (_op, _method, _method)
    OPS[f"torch.{_name}"] = (_op, _function, _method)


def leaf(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("name", OPS)
def test_record_each_op_as_chainrule_does_it(name) -> None:
    op, on_tensors, on_values = OPS[name]
    a, b = leaf(A), leaf(B)
    with interop.record(names={"a": a, "b": b}) as graph:
        out = on_tensors(a, b) * 1.0  # the op feeds a second one, so grads flow through it
    assert graph.output._prev[0]._op == op
    graph.backward()
    assert graph.compare(verbose=False)
    va, vb = Value(A, label="a"), Value(B, label="b")
    want = on_values(va, vb) * 1.0
    want.backward()
    assert close(graph.output.data, want.data) and close(out.item(), want.data)
    assert (graph.value(a).grad, graph.value(b).grad) == (va.grad, vb.grad)
    assert close(a.grad.item() if a.grad is not None else 0.0, va.grad)
    assert close(b.grad.item() if b.grad is not None else 0.0, vb.grad)


@given(programs())
def test_record_any_program_gives_chainrules_graph_and_torchs_grads(program) -> None:
    try:
        nodes, root = run_program(program, Value)
        root.backward()
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)  # out of chainrule's domain (torch would give nan or inf)
    assume(all(math.isfinite(n.data) and math.isfinite(n.grad) and abs(n.grad) < 1e100
               for n in nodes))
    # Values far from 1 make huge local derivatives that cancel (d(b/b)/db = 1/b - b/b**2),
    # and torch computes a/(b*b) where chainrule computes (a/b)/b (0/0 = nan for a tiny b):
    # both right to the last bit of each term, but a cancellation keeps only the rounding.
    assume(all(n.data == 0 or 1e-4 < abs(n.data) < 1e4 for n in nodes))
    with interop.record() as graph:
        tensors, troot = run_program(program, leaf)
    ours = graph.output
    assert sorted(n._op for n in ours.backward_order()) == sorted(
        n._op for n in root.backward_order())
    graph.backward()
    assert close(ours.data, root.data) and close(troot.item(), root.data)
    for t, node in zip(tensors[:len(program[0])], nodes):  # the leaves, in the same order
        assert close(graph.value(t).grad, node.grad)  # chainrule's gradient...
        assert close(graph.value(t).grad, t.grad.item() if t.grad is not None else 0.0)  # torch's


def test_record_draws_the_same_picture_as_chainrule() -> None:
    require("graphviz")
    from chainrule.viz import backward_steps, draw_dot

    x, w = leaf(2.0), leaf(-3.0)
    with interop.record(names={"x": x}) as graph:
        graph.label(w, "w")
        y = torch.tanh(x * w + 1)
        graph.label(y, "y")
    graph.backward()
    assert graph.parameters() == [graph.value(x), graph.value(w)]
    vx, vw = Value(2.0, label="x"), Value(-3.0, label="w")
    vy = (vx * vw + 1).tanh()
    vy.label = "y"
    vy.backward()
    assert close(graph.value(x).grad, x.grad.item())
    for view in ("forward", "backward", "both"):  # data, grads and local derivatives alike
        assert draw_dot(graph.output, view=view).source == draw_dot(vy, view=view).source
    captions = [step.caption for step in backward_steps(graph.output)]
    assert captions == [step.caption for step in backward_steps(vy)]
    assert captions[0].startswith("step 0 of 3: seed the output: y.grad = 1")


def test_record_in_place_ops_and_no_grad() -> None:
    a = leaf(0.5)
    with interop.record() as graph:
        c = a * 2
        c += 1
        with torch.no_grad():
            d = a * 10  # not recorded: under no_grad a result is a leaf, as in torch
        e = c * d
    assert graph.output._op == "*"
    assert [n._op for n in graph.output._prev] == ["+", ""]
    assert graph.value(e) is graph.output and graph.value(d).data == 5.0


@pytest.mark.parametrize("body, error, match", [
    (lambda a: torch.sin(a), interop.UnsupportedOp,
     r"torch.sin is not an op chainrule records; it records add, sub, mul"),
    (lambda a: a.clamp(min=0), interop.UnsupportedOp, "torch.Tensor.clamp is not an op"),
    (lambda a: torch.add(a, a, alpha=2), interop.UnsupportedOp, r"torch.add\(\.\.\., alpha=2\)"),
    (lambda a: a * torch.ones(3, dtype=torch.float64), ValueError,
     r"0-d tensors \(single numbers\); torch.Tensor.mul got a tensor of shape \(3,\)"),
    (lambda a: a.mul(1j), TypeError, r"torch.Tensor.mul got complex 1j; chainrule records"),
], ids=["sin", "clamp", "alpha", "shape", "complex"])
def test_record_rejects_what_chainrule_cannot_draw(body, error, match) -> None:
    a = leaf(0.5)
    with pytest.raises(error, match=match), interop.record():
        body(a)


def test_record_with_nothing_recorded() -> None:
    with interop.record() as graph:
        torch.tensor(1.0)  # a factory reads no tensor: nothing to record
    with pytest.raises(ValueError, match="nothing was recorded"):
        graph.backward()
