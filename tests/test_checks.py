"""The backprop-by-hand checkers of notebook 07 (demos/workshop_checks.py): "not done yet"
on blanks, passed on right answers, and the broken rule named on typical mistakes."""

from __future__ import annotations

import sys
from pathlib import Path

import graphs
import pytest
from support import require

from chainrule import Value

DEMOS = Path(__file__).resolve().parents[1] / "demos"
sys.path.insert(0, str(DEMOS))
import workshop_checks as checks  # noqa: E402

sys.path.remove(str(DEMOS))

# The lecture's neuron by hand: o = tanh(n), n = x1*w1 + x2*w2 + b, o = 0.7071.
RIGHT = {"o": 1.0, "n": 0.5, "b": 0.5, "s": 0.5, "x1w1": 0.5, "x2w2": 0.5,
         "x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}
ORDER = ["o", "n", "b", "s", "x2w2", "w2", "x2", "x1w1", "w1", "x1"]


def neuron(blank=...):
    v = {"x1": Value(2.0, label="x1"), "x2": Value(0.0, label="x2"),
         "w1": Value(-3.0, label="w1"), "w2": Value(1.0, label="w2"),
         "b": Value(6.8813735870195432, label="b")}
    v["x1w1"] = v["x1"] * v["w1"]
    v["x2w2"] = v["x2"] * v["w2"]
    v["s"] = v["x1w1"] + v["x2w2"]
    v["n"] = v["s"] + v["b"]
    v["o"] = v["n"].tanh()
    for name in ("x1w1", "x2w2", "s", "n", "o"):
        v[name].label = {"x1w1": "x1*w1", "x2w2": "x2*w2", "s": "x1*w1 + x2*w2"}.get(name, name)
    for node in v.values():
        node.grad = blank
    return v["o"], v


def diamond():
    g = graphs.diamond()
    for node in g.values():
        node.grad = None
    return g["f"], g["a"], g["b"], g["d"], g["e"]


@pytest.mark.parametrize("blank", [..., None])
def test_blanks_are_not_done_yet(blank):
    o, v = neuron(blank)
    verdicts = [checks.check_grad(o, v[name]) for name in ORDER]
    assert [x.status for x in verdicts] == [checks.NOT_DONE] * len(ORDER)
    assert "fill in o.grad" in str(verdicts[0])
    assert not any(verdicts)


def test_right_answers_in_reverse_order_pass_and_say_the_rule():
    o, v = neuron()
    said = {}
    for name in ORDER:
        v[name].grad = RIGHT[name]
        verdict = checks.check_grad(o, v[name])
        assert verdict.status == checks.PASSED, verdict
        said[name] = str(verdict)
    assert "tanh: multiply by 1 - o**2 (o = 0.707107): 0.5 × o.grad (1)" in said["n"]
    assert "a + node passes its gradient unchanged" in said["b"]
    assert "multiply by the OTHER input (w1 = -3): -3 × (x1*w1).grad (0.5)" in said["x1"]
    verdict = checks.reveal(o)
    assert verdict.status == checks.PASSED and "10 of 10 gradients" in verdict.message
    o2, v2 = neuron(0.0)
    o2.backward()
    assert all(v[k].grad == v2[k].grad for k in v)  # reveal leaves backward()'s grads


def test_going_out_of_order_is_not_done_yet():
    o, v = neuron()
    v["o"].grad = 1.0
    v["x1"].grad = -1.5
    verdict = checks.check_grad(o, v["x1"])
    assert verdict.status == checks.NOT_DONE
    assert "go in reverse order: x1 feeds into x1*w1" in verdict.message


def test_a_wrong_gradient_upstream_is_named_first():
    o, v = neuron()
    v["o"].grad, v["n"].grad, v["b"].grad = 1.0, 1.0, 1.0
    verdict = checks.check_grad(o, v["b"])
    assert verdict.status == checks.FAILED
    assert "built from n.grad, which is not right yet" in verdict.message


@pytest.mark.parametrize("name, answer, hint", [
    ("o", 0.0, "how much does o change when o changes"),
    ("n", 1.0, "tanh: multiply by 1 - o**2"),
    ("n", 0.7071, "tanh: multiply by 1 - o**2"),
    ("b", 1.0, "a + node passes its gradient unchanged to both inputs: pass on n.grad (0.5)"),
    ("x1", 1.0, "at a * node multiply by the OTHER input (w1 = -3): you multiplied by x1's"),
    ("x1", -3.0, "then multiply by the incoming gradient (x1*w1).grad = 0.5"),
    ("x1", 1.5, "check the sign"),
    ("w1", "1", "must be a number, got '1'"),
    ("w1", True, "must be a number, got True"),
])
def test_mistakes_name_the_broken_rule(name, answer, hint):
    o, v = neuron()
    for k in ORDER[: ORDER.index(name)]:
        v[k].grad = RIGHT[k]
    v[name].grad = answer
    verdict = checks.check_grad(o, v[name])
    assert verdict.status == checks.FAILED
    assert hint in verdict.message
    assert "Traceback" not in str(verdict)


def test_a_value_used_twice_must_add_both_contributions():
    f, a, b, d, e = diamond()
    f.grad, d.grad, e.grad = 1.0, -6.0 + 7.0, -6.0  # d.grad = e = 1, e.grad = d = -6
    a.grad = 3.0  # only the way through d: b * d.grad
    verdict = checks.check_grad(f, a)
    assert verdict.status == checks.FAILED
    assert "you have the part through d only" in verdict.message
    assert "a value used twice: add the two contributions" in verdict.message
    a.grad = -3.0
    verdict = checks.check_grad(f, a)
    assert verdict.status == checks.PASSED
    assert "-6 through e plus 3 through d" in verdict.message and "SUM" in verdict.message
    b.grad = -8.0
    assert checks.check_grad(f, b)


def test_a_value_not_in_the_graph_or_not_a_value_is_a_readable_failure():
    o, _ = neuron()
    stray = Value(1.0, label="z")
    stray.grad = 0.0
    verdict = checks.check_grad(o, stray)
    assert verdict.status == checks.FAILED and "is not part of the graph" in verdict.message
    verdict = checks.check_grad(o, 0.5)
    assert verdict.status == checks.FAILED and "got Value and float" in verdict.message


def test_a_broken_closure_is_reported_in_one_line():
    x = Value(2.0, label="x")
    y = Value(x.data ** 2, (x,), "sq", label="y")

    def _backward(grad):
        raise RuntimeError("my closure broke")
    y._backward = _backward
    y.grad, x.grad = 1.0, 4.0
    verdict = checks.check_grad(y, x)
    assert verdict.status == checks.FAILED
    assert "RuntimeError: my closure broke" in verdict.message
    assert "Traceback" not in str(verdict)


def test_reveal_counts_blank_and_wrong_answers():
    o, v = neuron()
    v["o"].grad, v["n"].grad, v["b"].grad = 1.0, 0.5, 1.0
    verdict = checks.reveal(o)
    assert verdict.status == checks.NOT_DONE
    assert "2 of 10 gradients" in verdict.message
    lines = verdict.message.splitlines()
    assert any(line.split()[:4] == ["b", "1", "0.5", "WRONG"] for line in lines)
    assert any(line.split()[:3] == ["w1", "1", "(blank)"] for line in lines)
    for name in ORDER:
        v[name].grad = 9.0
    assert checks.reveal(o).status == checks.FAILED


# ------------------------------------------- notebook 07, blank and with every answer in

NOTEBOOK = DEMOS / "07_backprop_by_hand.ipynb"
ANSWERS = {"o": "1", "n": "1 - o.data**2", "b": "0.5", "x1w1x2w2": "0.5", "x2w2": "0.5",
           "x1w1": "0.5", "x2": "w2.data * x2w2.grad", "w2": "0", "x1": "-1.5", "w1": "1",
           "f": "1", "d": "e.data", "e": "d.data", "a": "-3", "c": "-8"}


def _run_07(answers):
    """Notebook 07 run in a kernel, each `name.grad = ...` line given its answer."""
    nbformat = require("nbformat")
    nbclient = require("nbclient")
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    cells = [c for c in nb.cells if "by-hand" in c.metadata.get("tags", [])]
    assert len(cells) == len(ANSWERS)
    for cell in cells:
        name = cell.source.split(".grad = ...")[0]
        assert name in ANSWERS, cell.source
        if name in answers:
            cell.source = cell.source.replace(f"{name}.grad = ...", f"{name}.grad = "
                                              f"{answers[name]}", 1)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(DEMOS)}}).execute()
    return "\n".join(out.get("text", "") + out.get("data", {}).get("text/plain", "")
                     for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


@pytest.mark.slow
def test_notebook_07_blank_is_not_done_yet_everywhere():
    text = _run_07({})
    assert text.count("NOT DONE YET") == len(ANSWERS) + 2  # every cell, then both reveals
    assert "PASSED" not in text and "NOT YET RIGHT" not in text


@pytest.mark.slow
def test_notebook_07_with_every_answer_passes_every_checker():
    text = _run_07(ANSWERS)
    assert text.count("[PASSED]") == len(ANSWERS) + 2
    assert "10 of 10 gradients" in text and "5 of 5 gradients" in text
    assert "NOT DONE YET" not in text and "NOT YET RIGHT" not in text
