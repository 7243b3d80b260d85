"""SGD, Adam and AdamW against torch.optim, bit for bit, plus their errors and state.

Two comparisons with PyTorch, because PyTorch's own CPU kernels are not plain IEEE
arithmetic:

* Exact (==), 20 steps. torch runs in a subprocess with ATEN_CPU_CAPABILITY=default,
  its portable kernels: the vectorised AVX2/AVX512 kernels it picks by default are
  compiled with fused multiply-add, so ``p.add_(g, alpha=-lr)`` rounds once where
  the formula (and chainrule, and torch's portable kernel) rounds twice. And float64
  ``Tensor.sqrt`` goes through MKL's vector math, which is within 1 ulp but not
  correctly rounded (about 1.4% of results differ from IEEE sqrt), so there
  ``Tensor.sqrt`` is replaced by ``math.sqrt``. Every other operation, and the order
  of all of them, is torch.optim's ``_single_tensor_sgd``/``_single_tensor_adam``.
* Close, in-process, with the kernels torch really uses: the same trajectories to a
  relative 1e-12 (the ulp-level differences above, compounded over 20 steps).
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys

import pytest

from chainrule import Value
from chainrule.nn import MLP
from chainrule.optim import SGD, Adam, AdamW

STEPS = 20
N_PARAMS = 6
LR_CHANGE = {10: 0.02}  # a schedule: lr changes between step 9 and step 10

# The gradient of sum((p - c)**2 + 0.1 * p**4): the same Python expression runs on
# both sides, so both optimizers see bit-identical gradients for identical parameters.
GRAD_SOURCE = "def grad_fn(x, c):\n    return 2.0 * (x - c) + 0.4 * x ** 3\n"
namespace: dict = {}
exec(GRAD_SOURCE, namespace)
grad_fn = namespace["grad_fn"]

CASES = {
    "sgd": ("SGD", {"lr": 0.05}),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}),
    "sgd_momentum_dampening_decay": ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.1,
                                             "weight_decay": 0.01}),
    "sgd_weight_decay": ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    "sgd_nesterov": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True,
                             "weight_decay": 0.01}),
    "adam": ("Adam", {"lr": 0.1}),
    "adam_betas_eps": ("Adam", {"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-6}),
    "adam_betas_over_half": ("Adam", {"lr": 0.1, "betas": (0.3, 0.2)}),  # lerp's 2nd form
    "adam_weight_decay": ("Adam", {"lr": 0.1, "weight_decay": 0.1}),
    "adam_decoupled": ("Adam", {"lr": 0.1, "weight_decay": 0.1,
                                "decoupled_weight_decay": True}),
    "adamw": ("AdamW", {"lr": 0.1}),
}
OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}


def start(seed: int):
    rng = random.Random(seed)
    return ([rng.uniform(-2, 2) for _ in range(N_PARAMS)],
            [rng.uniform(-2, 2) for _ in range(N_PARAMS)])


def chainrule_trajectory(name, seed):
    cls, kwargs = CASES[name]
    init, centers = start(seed)
    params = [Value(x) for x in init]
    opt = OURS[cls](params, **kwargs)
    out = []
    for k in range(STEPS):
        if k in LR_CHANGE:
            opt.lr = LR_CHANGE[k]
        opt.zero_grad()
        for p, c in zip(params, centers):
            p.grad = grad_fn(p.data, c)
        opt.step()
        out.append([p.data for p in params])
    return out


def torch_trajectory(torch, name, seed):
    cls, kwargs = CASES[name]
    init, centers = start(seed)
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in init]
    opt = getattr(torch.optim, cls)(params, foreach=False, **kwargs)  # torch's own names
    out = []
    for k in range(STEPS):
        if k in LR_CHANGE:
            for group in opt.param_groups:
                group["lr"] = LR_CHANGE[k]
        for p, c in zip(params, centers):
            p.grad = torch.tensor(grad_fn(p.item(), c), dtype=torch.float64)
        opt.step()
        out.append([p.item() for p in params])
    return out


REFERENCE_SCRIPT = GRAD_SOURCE + r'''
import json, math, sys
import torch

torch.Tensor.sqrt = lambda t: torch.tensor(math.sqrt(t.item()), dtype=t.dtype)
spec = json.load(sys.stdin)
out = {"capability": torch.backends.cpu.get_cpu_capability(), "runs": {}}
for key, (cls, kwargs, init, centers) in spec["runs"].items():
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in init]
    opt = getattr(torch.optim, cls)(params, foreach=False, **kwargs)
    traj = []
    for k in range(spec["steps"]):
        if str(k) in spec["lr_change"]:
            for group in opt.param_groups:
                group["lr"] = spec["lr_change"][str(k)]
        for p, c in zip(params, centers):
            p.grad = torch.tensor(grad_fn(p.item(), c), dtype=torch.float64)
        opt.step()
        traj.append([p.item() for p in params])
    out["runs"][key] = traj
json.dump(out, sys.stdout)
'''

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def portable_torch_reference(torch):
    """torch's trajectories from its portable kernels, computed once in a subprocess."""
    runs = {f"{name}/{seed}": (cls, kwargs, *start(seed))
            for name, (cls, kwargs) in CASES.items() for seed in SEEDS}
    spec = {"runs": runs, "steps": STEPS, "lr_change": {str(k): v for k, v in LR_CHANGE.items()}}
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    done = subprocess.run([sys.executable, "-c", REFERENCE_SCRIPT], input=json.dumps(spec),
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["capability"] == "DEFAULT", "torch ignored ATEN_CPU_CAPABILITY=default"
    return result["runs"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", CASES)
def test_bit_for_bit_with_torchs_portable_kernels(portable_torch_reference, name, seed):
    expected = portable_torch_reference[f"{name}/{seed}"]
    got = chainrule_trajectory(name, seed)
    for k, (ours, theirs) in enumerate(zip(got, expected)):
        assert ours == theirs, f"step {k}: {ours} != {theirs}"


@pytest.mark.parametrize("name", CASES)
def test_close_to_torchs_native_kernels(torch, name):
    got, expected = chainrule_trajectory(name, 0), torch_trajectory(torch, name, 0)
    for ours, theirs in zip(got, expected):
        for a, b in zip(ours, theirs):
            assert abs(a - b) <= 1e-12 * max(1.0, abs(b)), (a, b)
    assert got[-1] != got[0]


def test_adam_on_an_mlp_matches_torch_given_the_same_gradients(torch):
    """Gradients from chainrule's backward(), handed to torch's Adam as they are."""
    model = MLP(2, [4, 1], seed=0)
    ours = Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    twins = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True)
             for p in model.parameters()]
    theirs = torch.optim.Adam(twins, lr=0.05, weight_decay=0.01, foreach=False)
    X, y = [[0.5, 1.0], [-1.0, 0.25], [2.0, -0.5]], [1.0, -1.0, 0.5]
    for _ in range(STEPS):
        loss = Value.sum((model(x) - t) ** 2 for x, t in zip(X, y))
        ours.zero_grad()
        loss.backward()
        for p, twin in zip(model.parameters(), twins):
            twin.data.fill_(p.data)  # resync: compare one step at a time
            twin.grad = torch.tensor(p.grad, dtype=torch.float64)
        ours.step()
        theirs.step()
        for p, twin in zip(model.parameters(), twins):
            assert abs(p.data - twin.item()) <= 1e-15 * max(1.0, abs(p.data))


# ------------------------------------------------------------------------------- basics


def test_sgd_step_by_hand():
    p = Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.5)
    p.grad = 2.0
    opt.step()
    assert p.data == 1.0 - 0.1 * 2.0  # first step: the buffer is the gradient
    opt.step()
    assert p.data == 0.8 + -0.1 * (2.0 * 0.5 + 2.0)


def test_updates_record_no_graph_and_keep_the_same_values():
    model = MLP(2, [3, 1], seed=0)
    params = model.parameters()
    for opt in (SGD(params, lr=0.1, momentum=0.9), Adam(params)):
        model([1.0, -1.0]).backward()
        opt.step()
        assert model.parameters() == params  # same objects, updated in place
        assert all(p._prev == () and type(p.data) is float for p in params)


def test_zero_grad_and_micrograd_style_int_gradients():
    params = [Value(1.0), Value(2.0)]
    opt = SGD(params, lr=0.5)
    params[0].grad, params[1].grad = 0, 3  # micrograd's zero_grad() leaves int 0
    opt.step()
    assert [p.data for p in params] == [1.0, 0.5]
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_lr_is_a_settable_attribute():
    opt = Adam([Value(1.0)], lr=0.1)
    opt.lr = 0.01
    assert opt.lr == 0.01
    with pytest.raises(ValueError, match=r"lr \(the learning rate\) must be a finite number "
                                         r">= 0, got -0.5"):
        opt.lr = -0.5
    assert opt.lr == 0.01


@pytest.mark.parametrize("make, error, message", [
    (lambda p: SGD(p, lr=-1), ValueError, r"lr \(the learning rate\) must be a finite number "
                                          r">= 0, got -1"),
    (lambda p: SGD(p, lr=float("nan")), ValueError, r"got nan"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.9), ValueError, r"SGD: momentum must be .* got -0.9"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, r"SGD: weight_decay"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError,
     r"nesterov=True needs momentum > 0 and dampening = 0"),
    (lambda p: Adam(p, lr=-0.1), ValueError, r"lr \(the learning rate\)"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError,
     r"Adam: betas\[0\] must be a finite number in \[0, 1\), got 1.0"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, r"Adam: betas\[1\] .* got -0.1"),
    (lambda p: Adam(p, betas=0.9), TypeError,
     r"betas must be a pair \(beta1, beta2\), got 0.9 \(float\)"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, r"betas must be a pair \(beta1, beta2\)"),
    (lambda p: Adam(p, eps=-1e-8), ValueError, r"Adam: eps must be a finite number >= 0"),
    (lambda p: AdamW(p, weight_decay=-0.01), ValueError, r"Adam: weight_decay"),
    (lambda p: SGD([], lr=0.1), ValueError, r"SGD: got an empty parameter list"),
    (lambda p: SGD([1.0, 2.0], lr=0.1), TypeError, r"SGD: parameter 0 must be a Value, got float"),
    (lambda p: Adam(p + p), ValueError, r"Adam: parameter 1 appears twice in the list"),
    (lambda p: SGD(MLP(2, [1], seed=0), lr=0.1), TypeError,
     r"params must be a list of Values, got MLP \(did you mean model.parameters\(\)\?\)"),
    (lambda p: SGD([p[0] * 2], lr=0.1), ValueError,
     r"SGD: parameter 0 is not a leaf: it was computed \(by '\*'\) from other Values"),
    (lambda p: Adam([*p, p[0].tanh()]), ValueError, r"Adam: parameter 1 is not a leaf"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov="false"), TypeError,
     r"SGD: nesterov must be True or False, got 'false' \(str\)"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=1), TypeError,
     r"SGD: nesterov must be True or False, got 1 \(int\)"),
    (lambda p: Adam(p, decoupled_weight_decay="yes"), TypeError,
     r"Adam: decoupled_weight_decay must be True or False, got 'yes'"),
])
def test_bad_arguments_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make([Value(1.0)])


def test_a_value_computed_under_no_grad_is_a_leaf_and_may_be_optimized():
    from chainrule import no_grad

    with no_grad():
        p = Value(1.0) * 2
    SGD([p], lr=0.1)  # no graph was recorded: p is a leaf, like a detached tensor


def test_decoupled_weight_decay_is_torchs_name_and_decoupled_is_deprecated():
    init, _ = start(0)
    new = Adam([Value(x) for x in init], lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)
    assert new.decoupled_weight_decay is True
    with pytest.warns(DeprecationWarning, match=r"Adam\(decoupled=\.\.\.\) is deprecated; "
                                                r"use decoupled_weight_decay"):
        old = Adam([Value(x) for x in init], lr=0.1, weight_decay=0.1, decoupled=True)
    assert old.decoupled_weight_decay is True
    assert old.state_dict() == new.state_dict()
    assert "decoupled_weight_decay" in new.state_dict()["hyperparameters"]
    with pytest.raises(TypeError, match=r"give decoupled_weight_decay, not also its deprecated"):
        Adam([Value(1.0)], decoupled_weight_decay=True, decoupled=True)
    assert AdamW([Value(1.0)]).decoupled_weight_decay is True
    with pytest.raises(TypeError, match="decoupled"):
        AdamW([Value(1.0)], decoupled_weight_decay=False)


# -------------------------------------------------------------------------------- state


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda p: Adam(p, lr=0.05, weight_decay=0.01),
    lambda p: AdamW(p, lr=0.05),
])
def test_state_dict_resumes_training_exactly(make):
    def run(steps, params, opt):
        for _ in range(steps):
            opt.zero_grad()
            for p in params:
                p.grad = grad_fn(p.data, 0.5)
            opt.step()

    init, _ = start(3)
    straight = [Value(x) for x in init]
    run(20, straight, make(straight))

    first = [Value(x) for x in init]
    opt = make(first)
    run(10, first, opt)
    saved = json.loads(json.dumps(opt.state_dict()))  # JSON-safe
    resumed = [Value(p.data) for p in first]
    fresh = make(resumed)
    fresh.lr = 123.0  # restored from the state
    fresh.load_state_dict(saved)
    assert fresh.lr == 0.05
    run(10, resumed, fresh)
    assert [p.data for p in resumed] == [p.data for p in straight]


def test_sgd_state_before_the_first_step_has_empty_buffers():
    opt = SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    assert state == {"type": "SGD", "momentum_buffer": [None, None], "hyperparameters": {
        "lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}}


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update(type="SGD"), r"expected the state of a Adam, got 'SGD'"),
    (lambda s: s.update(exp_avg=[0.0]), r"'exp_avg' must be a list of 2 numbers .* got 1"),
    (lambda s: s.update(exp_avg_sq=[0.0, float("nan")]), r"exp_avg_sq\[1\] must be a finite"),
    (lambda s: s.update(exp_avg=[0.0, None]), r"exp_avg\[1\] must be a finite number"),
    (lambda s: s["hyperparameters"].update(lr=-1.0), r"lr \(the learning rate\)"),
    (lambda s: s["hyperparameters"].pop("eps"), r"'hyperparameters' must have the keys"),
    (lambda s: s.update(step=-1), r"'step' \(the number of steps taken\) must be an int "
                                     r"in \[0, 2\*\*53\], got -1"),
    (lambda s: s.update(step=1.5), r"'step' .* must be an int in \[0, 2\*\*53\], got 1.5"),
    (lambda s: s.update(step=True), r"'step' .* must be an int in \[0, 2\*\*53\], got True"),
    (lambda s: s.update(steps=s.pop("step")), r"unexpected key\(s\) 'steps'"),
    (lambda s: s.update(extra=1), r"unexpected key\(s\) 'extra'"),
    (lambda s: s["hyperparameters"].update(decoupled_weight_decay="false"),
     r"Adam.load_state_dict: hyperparameters: Adam: decoupled_weight_decay must be True or "
     r"False, got 'false'"),
    (lambda s: s["hyperparameters"].update(decoupled_weight_decay=0),
     r"decoupled_weight_decay must be True or False, got 0"),
    (lambda s: s["hyperparameters"].update(betas="0.9, 0.999"), r"betas must be a pair"),
    (lambda s: s["hyperparameters"].update(betas=[0.9, 0.99, 0.999]), r"betas must be a pair"),
    (lambda s: s["hyperparameters"].update(betas=[0.9, "0.999"]),
     r"betas\[1\] must be a finite number in \[0, 1\), got '0.999'"),
    (lambda s: s["hyperparameters"].update(betas=[True, 0.999]), r"betas\[0\] .* got True"),
    (lambda s: s["hyperparameters"].update(eps="1e-8"), r"eps must be a finite number"),
    (lambda s: s.update(exp_avg=[0.0, True]), r"exp_avg\[1\] must be a finite number"),
    # rejected when loaded, not when step() crashes later
    (lambda s: s.update(exp_avg_sq=[0.0, -1e-3]),
     r"Adam.load_state_dict: exp_avg_sq\[1\] \(a running mean of squared gradients\) must be "
     r">= 0, got -0.001"),
    (lambda s: s.update(step=10**401), r"'step' .* must be an int in \[0, 2\*\*53\], got an "
                                       r"integer of about 402 digits"),
    (lambda s: s.update(step=2**53 + 1), r"'step' .* must be an int in \[0, 2\*\*53\]"),
    (lambda s: s.update(exp_avg=[0.0, 10**400]), r"Adam.load_state_dict: exp_avg\[1\] must be "
                                                 r"a finite number, got an integer of about "
                                                 r"401 digits \(int\), beyond the range"),
    (lambda s: s["hyperparameters"].update(lr=10**400),
     r"hyperparameters: lr \(the learning rate\) must be a finite number >= 0, got an "
     r"integer of about 401 digits"),
    (lambda s: s["hyperparameters"].update(eps=10**400), r"Adam: eps must be a finite number"),
])
def test_load_state_dict_checks_everything_first(edit, message):
    params = [Value(1.0), Value(2.0)]
    opt = Adam(params, lr=0.1, betas=(0.8, 0.99))
    for p in params:
        p.grad = 1.0
    opt.step()
    before = json.dumps(opt.state_dict())
    state = json.loads(before)
    edit(state)
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)
    assert json.dumps(opt.state_dict()) == before
    assert math.isfinite(opt.exp_avg[0])
    assert opt.betas == (0.8, 0.99) and opt.steps == 1


@pytest.mark.parametrize("edit, message", [
    (lambda s: s["hyperparameters"].update(nesterov="false"),
     r"SGD.load_state_dict: hyperparameters: SGD: nesterov must be True or False, "
     r"got 'false' \(str\)"),
    (lambda s: s["hyperparameters"].update(nesterov=1), r"nesterov must be True or False, got 1"),
    (lambda s: s["hyperparameters"].update(nesterov=None), r"nesterov must be True or False"),
    (lambda s: s["hyperparameters"].update(momentum=True), r"SGD: momentum .* got True"),
    (lambda s: s["hyperparameters"].update(momentum=0.0),
     r"nesterov=True needs momentum > 0 and dampening = 0"),
    (lambda s: s.update(momentum_buffer=[0.5, "0.5"]), r"momentum_buffer\[1\] must be a finite"),
    (lambda s: s.update(momentum_buffer=[0.5, False]), r"momentum_buffer\[1\] .* got False"),
    (lambda s: s.update(step=3), r"unexpected key\(s\) 'step'"),
])
def test_sgd_load_state_dict_checks_types_strictly(edit, message):
    params = [Value(1.0), Value(2.0)]
    opt = SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    for p in params:
        p.grad = 1.0
    opt.step()
    before = json.dumps(opt.state_dict())
    state = json.loads(before)
    edit(state)
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)
    assert json.dumps(opt.state_dict()) == before
    assert opt.nesterov is True


def test_state_round_trips_through_json_with_the_same_types():
    opt = Adam([Value(1.0)], lr=0.1, betas=(0.5, 0.9))
    opt.params[0].grad = 1.0
    opt.step()
    state = opt.state_dict()
    assert state["step"] == 1 and "steps" not in state  # torch's key
    fresh = Adam([Value(1.0)])
    fresh.load_state_dict(json.loads(json.dumps(state)))  # JSON turns the tuple into a list
    assert type(fresh.betas) is tuple and fresh.betas == (0.5, 0.9)
    assert fresh.steps == 1 and type(fresh.steps) is int
    assert fresh.decoupled_weight_decay is False
    assert fresh.state_dict() == state
    sgd = SGD([Value(1.0)], lr=1)
    sgd.load_state_dict(json.loads(json.dumps(SGD([Value(1.0)], lr=2, momentum=0.5).state_dict())))
    assert type(sgd.lr) is float and sgd.lr == 2.0 and sgd.nesterov is False


@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=10**400), r"lr \(the learning rate\) must be a finite number >= 0, "
                                   r"got an integer of about 401 digits \(int\), beyond the "
                                   r"range of a float"),
    (lambda p: Adam(p, eps=10**400), r"Adam: eps must be a finite number >= 0, got an integer"),
    (lambda p: SGD(p, lr=0.1, momentum=-10**400), r"SGD: momentum must be a finite number"),
    (lambda p: AdamW(p, weight_decay=10**400), r"Adam: weight_decay must be a finite number"),
])
def test_numbers_beyond_float_range_name_the_hyperparameter(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match=r"lr \(the learning rate\) .* beyond the range"):
        opt.lr = 10**400
    assert opt.lr == 0.1


def test_a_loaded_state_that_passes_the_checks_steps_without_error():
    p = Value(1.0)
    opt = Adam([p], lr=0.1)
    state = opt.state_dict()
    state.update(step=2**53, exp_avg=[1e308], exp_avg_sq=[0.0])
    opt.load_state_dict(state)
    p.grad = 0.0
    opt.step()  # beta ** step underflows to 0 and nothing raises
    assert opt.steps == 2**53 + 1


def test_adam_with_eps_zero_and_a_zero_gradient_gives_nan_not_zero_division():
    for make in (lambda p: Adam(p, lr=0.1, eps=0), lambda p: AdamW(p, lr=0.1, eps=0.0)):
        p, q = Value(1.0), Value(2.0)
        opt = make([p, q])
        p.grad, q.grad = 0.0, 0.5
        opt.step()
        assert math.isnan(p.data)  # 0 / 0, as in torch
        assert math.isfinite(q.data)


def test_adam_with_eps_zero_matches_torch(torch):
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    theirs = torch.optim.Adam([t], lr=0.1, eps=0)
    ours_params = [Value(1.0), Value(2.0)]
    ours = Adam(ours_params, lr=0.1, eps=0)
    for grads in ([0.0, 0.5], [0.0, -0.25]):
        t.grad = torch.tensor(grads, dtype=torch.float64)
        theirs.step()
        for p, g in zip(ours_params, grads):
            p.grad = g
        ours.step()
        got, want = [p.data for p in ours_params], t.detach().tolist()
        assert math.isnan(got[0]) and math.isnan(want[0])
        assert got[1] == want[1]

