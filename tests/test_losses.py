"""Losses (chainrule.nn.losses): values, gradients, and PyTorch's functions of the same name."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule import Value, gradcheck, no_grad
from chainrule.nn import (
    MLP,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    mse,
)


def close(a, b, rel=1e-12):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def vals(*xs):
    return [Value(x) for x in xs]


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_mse_value_and_gradient():
    preds = vals(1.0, 2.0)
    loss = mse(preds, [0.0, 4.0])
    assert loss.data == 2.5  # (1 + 4) / 2
    loss.backward()
    assert [p.grad for p in preds] == [1.0, -2.0]  # 2 * (p - t) / n
    assert mse(Value(3.0), 1.0).data == 4.0  # one prediction, one target
    assert gradcheck(lambda a, b: mse([a, b], [0.5, -1.0]), *vals(0.3, 2.0), verbose=False)


# ------------------------------------------------------------------ binary cross-entropy


def test_binary_cross_entropy_with_logits_value_and_gradient():
    z = vals(0.0, 2.0, -1.5)
    loss = binary_cross_entropy_with_logits(z, [1, 0, 0.25])
    expected = (math.log(2) + math.log(1 + math.exp(2))
                + (0.25 * math.log(1 + math.exp(1.5)) + 0.75 * math.log(1 + math.exp(-1.5)))) / 3
    assert close(loss.data, expected)
    loss.backward()
    sig = [0.5, sigmoid(2), sigmoid(-1.5)]
    assert all(close(v.grad, (s - y) / 3) for v, s, y in zip(z, sig, [1, 0, 0.25]))
    assert z[0].grad == -0.5 / 3  # exactly sigmoid(0) - 1 at z = 0, not a subgradient
    assert gradcheck(lambda a, b: binary_cross_entropy_with_logits([a, b], [1, 0]),
                     *vals(0.7, -0.2), verbose=False)
    # a logit of 0 is probability 0.5: log 2 whatever the target, not log(1/0)
    assert close(binary_cross_entropy_with_logits(Value(0.0), 1).data, math.log(2))


def test_binary_cross_entropy_takes_probabilities():
    p = vals(0.5, 0.9, 0.2)
    loss = binary_cross_entropy(p, [1, 0, 0.25])
    expected = -(math.log(0.5) + math.log(0.1) + (0.25 * math.log(0.2) + 0.75 * math.log(0.8))) / 3
    assert close(loss.data, expected)
    loss.backward()
    assert all(close(v.grad, (v.data - y) / (v.data * (1 - v.data)) / 3)
               for v, y in zip(p, [1, 0, 0.25]))
    assert gradcheck(lambda a, b: binary_cross_entropy([a, b], [1, 0.5]), *vals(0.3, 0.6),
                     verbose=False)
    # on sigmoid(z) it is the loss on the logit z (where sigmoid does not round to 0 or 1)
    for z in (-3.0, 0.0, 0.7, 4.0):
        by_probability = binary_cross_entropy(Value(z).sigmoid(), 0.3).data
        assert close(by_probability, binary_cross_entropy_with_logits(Value(z), 0.3).data,
                     1e-9)


def test_binary_cross_entropy_refuses_a_logit_for_a_probability():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: probabilities must be in "
                                         r"\[0, 1\], got 2.5 \(float\) at index 1 \(it takes "
                                         r"probabilities, like torch; for raw scores \(logits\) "
                                         r"use binary_cross_entropy_with_logits\)"):
        binary_cross_entropy(vals(0.5, 2.5), [1, 0])


def test_binary_cross_entropy_clamps_each_log_at_minus_100_like_torch():
    p = vals(0.0, 1.0, 0.0, 1.0)
    loss = binary_cross_entropy(p, [0, 1, 1, 0])
    assert loss.data == (0 + 0 + 100 + 100) / 4
    loss.backward()
    eps = 9.999999960041972e-13  # torch's EPSILON: a C++ float 1e-12
    assert [v.grad for v in p] == [0.0, 0.0, -1 / eps / 4, 1 / eps / 4]


def test_bce_with_logits_gradient_is_the_engines_sigmoid():
    for x in (-800.0, -3.5, -1e-300, 0.0, 0.25, 40.0, 800.0):
        z, s = Value(x), Value(x)
        binary_cross_entropy_with_logits(z, 0).backward()
        assert z.grad == s.sigmoid().data  # d/dz = sigmoid(z) - 0, bit for bit


def test_binary_cross_entropy_with_logits_is_stable_at_large_logits():
    z = vals(1000.0, -1000.0, 1000.0, -1000.0)
    loss = binary_cross_entropy_with_logits(z, [1, 0, 0, 1])
    assert loss.data == (0 + 0 + 1000 + 1000) / 4
    loss.backward()
    assert [v.grad for v in z] == [0.0, 0.0, 0.25, -0.25]


def torch_loss_and_grads(torch, loss, inputs, *args):
    t = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
    out = loss(t, *args)
    out.backward()
    return out.item(), t.grad.tolist()


def ours_loss_and_grads(loss, inputs, *args):
    vs = [Value(x) for x in inputs]
    out = loss(vs, *args)
    out.backward()
    return out.data, [v.grad for v in vs]


def assert_same(ours, theirs, rel=1e-12):
    (a, ga), (b, gb) = ours, theirs
    assert close(a, b, rel), (a, b)
    assert len(ga) == len(gb)
    assert all(close(x, y, rel) or abs(x - y) < 1e-300 for x, y in zip(ga, gb)), (ga, gb)


def test_binary_cross_entropy_with_logits_matches_torch(torch):
    F = torch.nn.functional
    logits = [0.7, -1.2, 3.0, 1000.0, -1000.0, 1000.0, -1000.0, 0.0, 37.5, -40.0]
    targets = [1.0, 0.0, 0.25, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.9]
    theirs = torch_loss_and_grads(torch, F.binary_cross_entropy_with_logits, logits,
                                  torch.tensor(targets, dtype=torch.float64))
    assert_same(ours_loss_and_grads(binary_cross_entropy_with_logits, logits, targets), theirs)


@pytest.mark.parametrize("probabilities, targets", [
    ([0.3, 0.9, 0.5, 0.01, 0.999], [1.0, 0.0, 0.25, 0.0, 1.0]),
    ([0.0, 1.0, 0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0, 0.5, 0.3]),  # exactly 0 and 1
    ([1e-300, 1 - 1e-16, 5e-45, 0.5], [1.0, 0.0, 1.0, 0.5]),  # where the clamp bites
], ids=["inside", "zero-and-one", "tiny"])
def test_binary_cross_entropy_matches_torch(torch, probabilities, targets):
    F = torch.nn.functional
    theirs = torch_loss_and_grads(torch, F.binary_cross_entropy, probabilities,
                                  torch.tensor(targets, dtype=torch.float64))
    assert_same(ours_loss_and_grads(binary_cross_entropy, probabilities, targets), theirs)


def test_mse_matches_torch(torch):
    preds, targets = [0.5, -1.25, 3.0, 1e3], [1.0, 0.0, 3.5, -2.0]
    theirs = torch_loss_and_grads(torch, torch.nn.functional.mse_loss, preds,
                                  torch.tensor(targets, dtype=torch.float64))
    assert_same(ours_loss_and_grads(mse, preds, targets), theirs)


def test_cross_entropy_matches_torch(torch):
    F = torch.nn.functional
    batch, classes = [[1.0, 2.0, -0.5], [1000.0, 0.0, -1000.0], [0.1, 0.1, 0.1]], [2, 2, 0]
    t = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    theirs = F.cross_entropy(t, torch.tensor(classes))
    theirs.backward()
    zs = [vals(*row) for row in batch]
    ours = cross_entropy(zs, classes)
    ours.backward()
    assert_same((ours.data, [z.grad for row in zs for z in row]),
                (theirs.item(), [g for row in t.grad.tolist() for g in row]))
    one = torch.tensor(batch[0], dtype=torch.float64)  # one sample: 1-D logits, a class index
    assert close(cross_entropy(batch[0], 1).data, F.cross_entropy(one, torch.tensor(1)).item())


def test_hinge_matches_its_torch_expression(torch):
    scores, labels = [0.5, -2.0, 3.0, 2.0, 0.999], [1, 1, -1, 1, 1]
    y = torch.tensor(labels, dtype=torch.float64)
    theirs = torch_loss_and_grads(torch, lambda s: torch.clamp(1 - y * s, min=0).mean(), scores)
    assert_same(ours_loss_and_grads(hinge, scores, labels), theirs)


def test_l2_matches_its_torch_expression(torch):
    params = [1.0, -2.0, 0.5, 3e-3]
    theirs = torch_loss_and_grads(torch, lambda p: 1e-4 * (p * p).sum(), params)
    assert_same(ours_loss_and_grads(lambda ps: l2(ps, 1e-4), params), theirs)


# ----------------------------------------------------------------------- the other losses


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
    (binary_cross_entropy, [0.5, 0.2], [1, 0]),
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
    with pytest.raises(TypeError, match=r"target must be a class index in \[0, 2\] for 3 "
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
    (lambda: binary_cross_entropy(vals(0.5, 0.5), [1, 2]),
     r"binary_cross_entropy: targets\[1\] must be a finite number in \[0, 1\] "
     r"\(a probability\), got 2 \(int\)"),
    (lambda: binary_cross_entropy(vals(0.5), [-1]), r"targets\[0\] .* got -1"),
    (lambda: binary_cross_entropy([], []), r"binary_cross_entropy: got no predictions"),
    (lambda: binary_cross_entropy_with_logits(vals(1.0), [2]),
     r"binary_cross_entropy_with_logits: targets\[0\] must be a finite number in \[0, 1\]"),
    (lambda: binary_cross_entropy(vals(-0.5), [1]), r"probabilities must be in \[0, 1\]"),
    (lambda: cross_entropy(vals(1.0, 2.0), 2),
     r"cross_entropy: target must be a class index in \[0, 1\] for 2 logits, got 2"),
    (lambda: cross_entropy(vals(1.0, 2.0), -1), r"got -1"),
    (lambda: cross_entropy([], 0), r"cross_entropy: got no logits"),
    (lambda: cross_entropy([vals(1.0), vals(2.0)], [0]),
     r"cross_entropy: got 2 samples of logits but 1 targets"),
    (lambda: cross_entropy([vals(1.0, 2.0), vals(2.0)], [0, 1]),
     r"for 1 logits, got 1 \(sample 1\)"),
    (lambda: l2([], 0.1), r"l2: got no parameters"),
    (lambda: l2(vals(1.0), -0.1), r"l2: alpha must be a finite number >= 0, got -0.1"),
    (lambda: l2(vals(1.0), 10**400), r"l2: alpha must be a finite number >= 0, got an "
                                     r"integer of about 401 digits"),
])
def test_losses_reject_bad_input_with_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: cross_entropy(vals(1.0, 2.0), 1.0), r"target must be a class index .* got 1.0 "
                                                 r"\(float\)"),
    (lambda: cross_entropy(vals(1.0, 2.0), True), r"got True \(bool\)"),
    (lambda: binary_cross_entropy(vals(0.5), ["1"]), r"targets\[0\] must be a finite number"),
    (lambda: hinge(vals(0.5), ["1"]), r"hinge: labels must be -1 or \+1, got '1' \(str\)"),
    (lambda: l2(vals(1.0), "0.1"), r"l2: alpha must be a finite number >= 0, got '0.1'"),
])
def test_losses_reject_arguments_of_the_wrong_type(call, message):
    with pytest.raises(TypeError, match=message):
        call()
