"""predict, accuracy and fit (chainrule.train)."""

from __future__ import annotations

import numpy as np
import pytest
from support import require

from chainrule import Value
from chainrule.data import make_blobs, make_line
from chainrule.nn import MLP, Neuron, cross_entropy, hinge, l2, mse
from chainrule.optim import SGD, Adam
from chainrule.tape import TapeError
from chainrule.train import accuracy, fit, predict

# Four points a line through the origin separates: x0 + x1 > 0 is class 1.
X = [[1.0, 1.0], [2.0, 0.5], [-1.0, -1.0], [-0.5, -2.0]]
Y01 = [1, 1, 0, 0]
YPM = [1, 1, -1, -1]


class Recorder:
    """Wraps a model and keeps every output it returns."""

    def __init__(self, model):
        self.model, self.outputs = model, []

    def __call__(self, x):
        out = self.model(x)
        self.outputs.extend(out if isinstance(out, list) else [out])
        return out


def fixed_scores(*scores):
    """A 'model' that returns the given scores in turn (one Value, or a list of them)."""
    it = iter(scores)
    return lambda x: (lambda s: [Value(v) for v in s] if isinstance(s, list) else Value(s))(
        next(it))


# ------------------------------------------------------------------ predict and accuracy


def test_one_output_threshold_zero():
    model = fixed_scores(0.5, 0.0, -0.1)
    assert predict(model, [[0]] * 3) == [1, 0, 0]  # score > 0 is the positive class
    model = fixed_scores(0.5, 0.0, -0.1)
    assert predict(model, [[0]] * 3, classes=(-1, 1)) == [1, -1, -1]


def test_several_outputs_argmax_first_on_ties():
    model = fixed_scores([0.1, 0.7, 0.2], [3.0, 3.0, -1.0], [-5.0, -4.0, -6.0])
    assert predict(model, [[0]] * 3) == [1, 0, 1]


def test_accuracy_reads_the_label_convention_from_y():
    assert accuracy(fixed_scores(1.0, -1.0, 2.0, 0.5), [[0]] * 4, [1, -1, -1, 1]) == 0.75
    assert accuracy(fixed_scores(1.0, -1.0, 2.0, 0.5), [[0]] * 4, [1, 0, 0, 1]) == 0.75
    assert accuracy(fixed_scores([0.0, 1.0], [2.0, 1.0]), [[0]] * 2, [1, 1]) == 0.5


def test_predict_and_accuracy_build_no_graph():
    model = MLP(2, [4, 1], seed=0)
    recorder = Recorder(model)
    model([1.0, 2.0]).backward()
    grads = [p.grad for p in model.parameters()]
    predict(recorder, X)
    accuracy(recorder, X, Y01)
    assert len(recorder.outputs) == 8
    assert all(out._prev == () for out in recorder.outputs)
    assert [p.grad for p in model.parameters()] == grads


def test_accuracy_errors():
    with pytest.raises(ValueError, match="accuracy: X has 2 samples but y has 1"):
        accuracy(MLP(2, [1], seed=0), X[:2], [1])
    with pytest.raises(ValueError, match="accuracy: got no samples"):
        accuracy(MLP(2, [1], seed=0), [], [])


# -------------------------------------------------------------------------------------- fit


def test_fit_reaches_full_accuracy_on_a_separable_set():
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, YPM, hinge, SGD(model.parameters(), lr=0.1), epochs=25,
                  progress=False)
    assert set(history) == {"loss", "accuracy"}
    assert len(history["loss"]) == len(history["accuracy"]) == 25
    assert accuracy(model, X, YPM) == 1.0
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < history["loss"][0]


def test_fit_is_the_hand_written_loop():
    """Full batch, in order: fit does exactly what the loop in the docs does."""
    def loss(scores, targets):
        return hinge(scores, targets) + l2(model, 1e-4)

    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, YPM, loss, SGD(model.parameters(), lr=0.1), epochs=5,
                  progress=False)
    twin = MLP(2, [4, 1], seed=0)
    opt = SGD(twin.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        total = hinge([twin(x) for x in X], YPM) + l2(twin, 1e-4)
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.data)
    assert history["loss"] == losses
    assert [p.data for p in model.parameters()] == [p.data for p in twin.parameters()]


def test_fit_with_mini_batches_is_reproducible_per_seed_and_has_validation():
    X_all, y_all = make_blobs(60, centers=[[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]], std=0.5,
                              seed=0)
    X_train, y_train, X_val, y_val = X_all[:45], y_all[:45], X_all[45:], y_all[45:]

    def run(seed):
        model = MLP(2, [8, 3], seed=1)
        history = fit(model, X_train, y_train, cross_entropy,
                      Adam(model.parameters(), lr=0.05), epochs=6, batch_size=8,
                      val=(X_val, y_val), seed=seed, progress=False)
        return model, history

    model, history = run(seed=0)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 6 for v in history.values())
    assert history == run(seed=0)[1]
    assert history["loss"] != run(seed=1)[1]["loss"]  # another batch order
    assert history["val_accuracy"][-1] == accuracy(model, X_val, y_val) == 1.0
    assert history["val_loss"][-1] == cross_entropy([model(x) for x in X_val], y_val).data


def test_fit_regression_has_no_accuracy_and_schedule_sets_lr():
    X_line, y_line = make_line(20, a=2.0, b=-1.0, noise=0.0, seed=0)
    neuron = Neuron(1, nonlin=False, seed=0)
    opt = SGD(neuron.parameters(), lr=0.0)
    seen = []

    def schedule(epoch):
        seen.append(epoch)
        return 0.5 * 0.99**epoch

    history = fit(neuron, X_line, y_line, mse, opt, epochs=40, schedule=schedule,
                  progress=False)
    assert set(history) == {"loss"}
    assert seen == list(range(40)) and opt.lr == 0.5 * 0.99**39
    assert history["loss"][-1] < 1e-3 < history["loss"][0]


def test_fit_with_numpy_labels_keeps_the_accuracy_metric():
    def run(X, y, epochs):
        model = MLP(2, [4, 1], seed=0)
        return fit(model, X, y, hinge, SGD(model.parameters(), lr=0.1), epochs=epochs,
                   val=(X, y), progress=False)

    plain = run(X, YPM, 5)
    assert set(plain) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert run(np.array(X), np.array(YPM), np.int64(5)) == plain
    assert run(X, [np.int64(t) for t in YPM], 5) == plain


def test_fit_with_float_targets_has_no_accuracy_and_epochs_may_not_be_bool():
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, [float(t) for t in YPM], mse, SGD(model.parameters(), lr=0.01),
                  epochs=2, progress=False)
    assert set(history) == {"loss"}
    with pytest.raises(TypeError, match=r"fit: epochs must be an int >= 0, got True \(bool\)"):
        fit(model, X, YPM, hinge, SGD(model.parameters(), lr=0.1), epochs=True)


def test_fit_progress_bar(capsys):
    model = MLP(2, [2, 1], seed=0)
    fit(model, X, Y01, lambda s, t: hinge(s, [2 * y - 1 for y in t]),
        SGD(model.parameters(), lr=0.1), epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err and "loss=" in err and "accuracy=" in err
    fit(model, X, Y01, lambda s, t: hinge(s, [2 * y - 1 for y in t]),
        SGD(model.parameters(), lr=0.1), epochs=3, progress=False)
    assert capsys.readouterr().err == ""
    fit(model, X, Y01, lambda s, t: hinge(s, [2 * y - 1 for y in t]),
        SGD(model.parameters(), lr=0.1), epochs=3)  # None: pytest's stderr is no terminal
    assert capsys.readouterr().err == ""


def test_fit_errors():
    model = MLP(2, [1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"fit: epochs must be an int >= 0, got -1 \(int\)"):
        fit(model, X, YPM, hinge, opt, epochs=-1)
    with pytest.raises(ValueError, match="batches: X has 4 samples but y has 3"):
        fit(model, X, YPM[:3], hinge, opt, epochs=1)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        fit(model, X, YPM, hinge, opt, epochs=1, batch_size=0)


# ------------------------------------------------------- the validation set, before training


def _params(model):
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize("val, error, message", [
    ((X[:2], YPM[:1]), ValueError, r"fit: val: X has 2 samples but y has 1"),
    ((X, [0, 1, 0, 1]), ValueError, r"hinge: labels must be -1 or \+1, got 0 at index 0"),
    ((X, YPM, X), TypeError, r"fit: val must be a pair \(X_val, y_val\)"),
    (([[1.0, 2.0, 3.0]], [1]), ValueError, r"MLP expects 2 inputs, got 3"),
])
def test_a_bad_validation_set_raises_before_any_step_and_leaves_the_model(val, error, message):
    model = MLP(2, [4, 1], seed=0)
    before = _params(model)
    with pytest.raises(error, match=message):
        fit(model, X, YPM, hinge, SGD(model.parameters(), lr=0.1), epochs=2, val=val,
            progress=False)
    assert _params(model) == before


# ------------------------------------------------------------------ fit(compile=...)


def _train(compile, batch_size=None, shuffle=True, fused=False, epochs=6):
    X_m, y_m = make_blobs(24, centers=[[-1.0, 0.0], [1.0, 0.5]], std=0.6, seed=3)
    y_pm = [2 * t - 1 for t in y_m]
    model = MLP(2, [6, 4, 1], seed=2, fused=fused)

    def loss(scores, targets):
        return hinge(scores, targets) + l2(model, 1e-3)

    history = fit(model, X_m, y_pm, loss, SGD(model.parameters(), lr=0.2), epochs=epochs,
                  batch_size=batch_size, shuffle=shuffle, seed=0, val=(X_m[:5], y_pm[:5]),
                  progress=False, compile=compile)
    return history, _params(model)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("batch_size, shuffle", [(None, True), (8, False), (8, True)])
def test_compile_gives_the_same_history_bit_for_bit(fused, batch_size, shuffle):
    eager = _train(False, batch_size, shuffle, fused)
    assert _train(True, batch_size, shuffle, fused) == eager
    assert _train("python", batch_size, shuffle, fused) == eager
    assert len(eager[0]["loss"]) == 6 and eager[0]["loss"][-1] < eager[0]["loss"][0]


def _count(monkeypatch, name):
    from chainrule import train

    calls = []
    real = getattr(train.Tape, name)

    def counting(self, *args, **kwargs):
        calls.append(name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(train.Tape, name, counting)
    return calls


def test_compile_replays_each_batch_after_a_recording_and_a_checked_build(monkeypatch):
    records, replays = _count(monkeypatch, "__init__"), _count(monkeypatch, "forward")
    _train(True, batch_size=8, shuffle=False, epochs=5)
    # 3 batches an epoch. The first is recorded at once (epoch 0), checked (1), then
    # replayed (2-4); the others are noted (0), recorded (1), checked (2), replayed (3-4).
    assert (len(records), len(replays)) == (3, 3 + 2 + 2)


def test_compile_with_shuffled_batches_records_only_what_comes_back(monkeypatch):
    records, replays = _count(monkeypatch, "__init__"), _count(monkeypatch, "forward")
    assert _train(True, batch_size=8, shuffle=True) == _train(False, batch_size=8,
                                                             shuffle=True)
    # 18 batches: the first is recorded (to refuse a loss it cannot replay before any
    # step), and the one batch of 8 labels that came back; none came back a third time.
    assert len(records) == 2 and replays == []


def test_compile_with_numpy_is_close():
    require("numpy")
    eager, tape = _train(False, 8, False), _train("numpy", 8, False)
    for key in eager[0]:
        assert tape[0][key] == pytest.approx(eager[0][key], rel=1e-9, abs=1e-12)
    assert tape[1] == pytest.approx(eager[1], rel=1e-9, abs=1e-12)


def test_compile_refuses_a_loss_it_cannot_replay_before_any_step():
    model = MLP(2, [4, 2], seed=0)
    before = _params(model)
    with pytest.raises(TapeError, match="cannot record op 'cross_entropy'"):
        fit(model, X, Y01, cross_entropy, SGD(model.parameters(), lr=0.1), epochs=2,
            progress=False, compile=True)
    assert _params(model) == before
    with pytest.raises(ValueError, match=r"compile must be False, True, 'python' or 'numpy', "
                                         r"got 'torch'"):
        fit(model, X, Y01, cross_entropy, SGD(model.parameters(), lr=0.1), epochs=2,
            compile="torch")


def test_compile_finds_a_model_that_branches_on_data():
    w = Value(-0.05)

    def branchy(x):  # the branch taken depends on the sign of w: frozen at record time
        out = w * x[0]
        return out * 2.0 if out.data > 0 else out * 3.0

    with pytest.raises(TapeError, match="frozen when a tape records"):
        fit(branchy, [[1.0], [1.0]], [1, 1], hinge, SGD([w], lr=1.0), epochs=3,
            progress=False, compile=True)
    assert w.data > 0  # the first step flipped the branch; the second build saw it
