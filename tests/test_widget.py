"""The in-notebook step-through and its quiz: state, answers, hints and score (no browser)."""

from __future__ import annotations

import graphs
import pytest
from support import require

require("graphviz")

from chainrule import Value  # noqa: E402
from chainrule.engine import Constant  # noqa: E402
from chainrule.viz.widget import StepThrough, parse  # noqa: E402


def neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1w1"
    x2w2 = x2 * w2
    x2w2.label = "x2w2"
    s = x1w1 + x2w2
    s.label = "s"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def diamond():
    g = graphs.diamond()
    return g["f"], g["a"]


def grads(root):
    return [v.grad for v in root.backward_order()]


def test_step_through_moves_within_the_frames_and_leaves_grads_alone():
    o = neuron()
    for k, v in enumerate(o.backward_order()):
        v.grad = 0.25 * k
    before = grads(o)
    st = StepThrough(o)
    assert grads(o) == before
    assert len(st.steps) == 6 and st.position == 0 and st.step.index == 0
    assert st.previous().index == 0  # stays at the start
    assert st.next().index == 1 and st.next().index == 2
    assert st.goto(5).index == 5 and st.next().index == 5  # stays at the end
    assert st.previous().index == 4
    assert st.question is None and not st.blocked
    assert "not a quiz" in str(st.answer(0.5))
    fresh = neuron()
    fresh.backward()
    assert [g for g in st.steps[-1].grads.values()] == grads(fresh)  # a fresh pass's numbers


@pytest.mark.parametrize("index, error, match", [
    (6, ValueError, "index must be 0 to 5, got 6"),
    (-1, ValueError, "index must be 0 to 5, got -1"),
    (1.0, TypeError, "index must be an int, got float"),
    (True, TypeError, "index must be an int, got bool"),
])
def test_goto_refuses_bad_indices(index, error, match):
    with pytest.raises(error, match=match):
        StepThrough(neuron()).goto(index)


def test_not_a_value_is_a_type_error():
    with pytest.raises(TypeError, match="StepThrough needs a Value, got float"):
        StepThrough(1.5)


def test_quiz_asks_each_input_of_the_next_step_and_blocks_until_answered():
    q = StepThrough(neuron(), quiz=True)
    assert q.blocked and q.question.text.startswith(
        "Step 1 of 5: o = tanh(n) has its final grad 1. What is n.grad after this step?")
    assert q.next().index == 0  # blocked: the next frame is not shown yet
    assert q.goto(3).index == 0
    wrong = q.answer(1.0)
    assert not wrong and "tanh: multiply by 1 - o**2" in wrong.message
    assert q.position == 0 and q.score == "Score: 0 of 1 right at the first try."
    right = q.answer("1/2")
    assert right and q.position == 1
    assert q.score == "Score: 0 of 1 right at the first try."  # a retry never scores
    assert [x.child.label for x in q._pending] == ["s", "b"]
    assert q.answer(0.5) and q.answer(0.5)  # s, then b: both right first time
    assert q.position == 2 and q.score.startswith("Score: 2 of 3")
    assert q.previous().index == 1 and not q.blocked  # looking back is free
    assert q.next().index == 2 and q.blocked


def test_quiz_hints_use_the_checkers_rules():
    q = StepThrough(neuron(), quiz=True)
    for answer in (0.5, 0.5, 0.5, 0.5, 0.5):  # o, n, s: up to the x1*w1 and x2*w2 frame
        assert q.answer(answer)
    assert q.question.child.label == "x2"  # x2w2 = x2*w2 runs first (backward's order)
    assert "multiply by the OTHER input (w2 = 1)" in q.answer(0.0).message
    assert q.reveal().message.startswith("x2.grad = 0.5: at a * node multiply by the OTHER")
    assert q.score.startswith("Score: 5 of 6")
    assert q.question.child.label == "w2"
    assert q.answer(0)


def test_quiz_on_a_value_used_twice_asks_for_the_sum_and_says_so():
    f, a = diamond()
    q = StepThrough(f, quiz=True)
    q.answer(1.0)   # d.grad = e = 1
    q.answer(-6.0)  # e.grad = d = -6
    assert q.question.child is a and q.question.before == 0.0  # e = a + b runs first
    assert q.answer(-6.0) and q.answer(-6.0)  # a, b through e
    assert q.question.child is a and q.question.before == -6.0
    assert "(It holds -6 so far.)" in q.question.text
    feedback = q.answer(3.0)  # d's share only: overwrote instead of +=
    assert "a value used twice: add the two contributions" in feedback.message
    assert "ADDS 3 to it (+=)" in feedback.message
    assert q.answer(-3.0) and q.answer(-8.0)
    assert q.question is None and q.position == q.last
    assert q.score == "Score: 5 of 6 right at the first try. Done: every step predicted."
    assert "you predicted every step" in q.answer(1.0).message


@pytest.mark.parametrize("typed, number", [
    (0.5, 0.5), (-2, -2.0), ("0.5", 0.5), (" -1.5 ", -1.5), ("1/2", 0.5), ("−3", -3.0),
    ("abc", None), ("1/0", None), (True, None), (None, None), ([1], None),
])
def test_parse_reads_numbers_and_fractions_only(typed, number):
    assert parse(typed) == number


def test_blank_and_non_numbers_are_not_answers():
    q = StepThrough(neuron(), quiz=True)
    assert "Not answered yet" in q.answer(...).message
    assert "Not answered yet" in q.answer("").message
    assert "got 'half'" in q.answer("half").message
    assert q.asked == 0 and q.position == 0


def _ipywidgets():
    return require("ipywidgets")


def test_widget_buttons_drive_the_same_state():
    _ipywidgets()
    q = StepThrough(neuron(), quiz=True)
    ui = q.widget()
    assert ui.state is q
    (back, forward, slider), question, (box, check, reveal, score), feedback = (
        ui.children[0].children, ui.children[1], ui.children[2].children, ui.children[3])
    assert "Score: 0 of 0" in score.value
    assert forward.disabled and back.disabled and slider.max == 0
    assert "What is n.grad" in question.value
    box.value = "1"
    check.click()
    assert "tanh" in feedback.value and q.position == 0 and box.value == "1"
    box.value = "0.5"
    check.click()
    assert q.position == 1 and slider.value == 1 and slider.max == 1 and box.value == ""
    reveal.click()
    reveal.click()
    assert q.position == 2 and "Score: 0 of 3" in feedback.value and "0 of 3" in score.value
    back.click()
    assert q.position == 1 and slider.value == 1 and not forward.disabled
    slider.value = 2
    assert q.position == 2


def test_widget_without_a_quiz_plays():
    widgets = _ipywidgets()
    st = StepThrough(neuron())
    ui = st.widget(interval=500)
    play, back, forward, slider = ui.children[0].children
    assert isinstance(play, widgets.Play) and play.max == slider.max == 5
    forward.click()
    forward.click()
    assert st.position == 2 and slider.value == 2
    slider.value = 5
    assert st.position == 5 and forward.disabled


def test_show_is_the_widget_or_else_the_frame_with_a_line_on_what_to_do(capsys):
    st = StepThrough(neuron(), quiz=True)
    shown = st.show()
    if shown is st:  # no ipywidgets in this environment
        assert "step with .next(), .previous(), .goto(k), answer with .answer(x)" in (
            capsys.readouterr().out)
    else:
        assert shown.state is st
    assert str(st.question) == st.question.text


def test_quiz_never_asks_for_a_constants_grad():
    x = Value(0.5, label="x")
    k = Constant(2.0) * 3.0  # an op on constants only: its step asks nothing
    k.label = "k"
    y = (x * 3.0 + k).tanh()
    y.label = "y"
    q = StepThrough(y, quiz=True)
    asked = []
    while q.question is not None:
        asked.append(q.names[q.question.child])
        assert q.answer(q.question.expected)
    assert asked == ["add6", "mul2", "k", "x"]
    assert q.position == q.reached == q.last == 4  # k = 2·3 asked nothing: passed at once
    assert q.score.startswith("Score: 4 of 4")
