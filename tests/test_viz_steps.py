"""chainrule.viz.steps: local derivatives through the engine's seam, and the step-through:
from zero, step 0 seeds, one step per op, captions that name the local derivative and the
incoming gradient, names that tell nodes apart, grads left as backward() (or as found)."""

from __future__ import annotations

import math
import struct
from typing import List

import pytest
from hypothesis import HealthCheck, assume, given, settings
from strategies import programs, run_program
from viz_helpers import lecture, neuron, parse, without_renderer

from chainrule import Value
from chainrule.nn import MLP
from chainrule.viz import RendererWarning, Step, backward_steps, draw_dot, local_derivatives
from chainrule.viz.steps import replay


def bits(x: float) -> bytes:
    """A float's bytes: equal bit for bit, NaN included (nan != nan as a float)."""
    return struct.pack("<d", x)


def all_grads(root: Value) -> List[bytes]:
    return [bits(v.grad) for v in root.backward_order()]


def test_lecture_values_grads_and_local_derivatives():
    g = lecture()
    g["o"].backward()
    assert f"{g['o'].data:.4f}" == "0.7071"
    assert g["x1"].grad == pytest.approx(-1.5)
    assert g["w1"].grad == pytest.approx(1.0)
    assert g["x2"].grad == pytest.approx(0.5)
    assert g["w2"].grad == pytest.approx(0.0)
    assert local_derivatives(g["o"]) == {g["n"]: pytest.approx(0.5)}
    assert local_derivatives(g["x1w1"]) == {g["x1"]: -3.0, g["w1"]: 2.0}
    assert local_derivatives(g["n"]) == {g["s"]: 1.0, g["b"]: 1.0}
    assert local_derivatives(g["x1"]) == {}


def test_local_derivatives_restore_every_grad_exactly():
    g = lecture()
    g["o"].backward()
    before = {name: v.grad for name, v in g.items()}
    for v in g.values():
        local_derivatives(v)
    draw_dot(g["o"])
    assert {name: v.grad for name, v in g.items()} == before


def test_local_derivative_of_a_students_own_op_and_of_a_lecture_style_closure():
    x = Value(0.5, label="x")

    def sin(v):
        out = Value(math.sin(v.data), (v,), "sin")

        def _backward(grad):
            v.grad += math.cos(v.data) * grad

        out._backward = _backward
        return out

    assert local_derivatives(sin(x)) == {x: pytest.approx(math.cos(0.5))}

    # micrograd's lecture writes closures without an argument that read out.grad
    out = Value(math.exp(x.data), (x,), "exp")

    def _backward():
        x.grad += out.data * out.grad

    out._backward = _backward
    x.grad = 7.0
    assert local_derivatives(out) == {x: pytest.approx(math.exp(0.5))}
    assert x.grad == 7.0 and out.grad == 0.0


def test_local_derivatives_do_not_mask_a_type_error_raised_inside_a_closure():
    x = Value(0.5, label="x")
    out = Value(1.0, (x,), "bad")

    def _backward(grad):
        x.grad += "oops" * grad  # a genuine bug in a student's closure

    out._backward = _backward
    x.grad = 7.0
    with pytest.raises(TypeError, match="can't multiply sequence"):
        local_derivatives(out)
    assert x.grad == 7.0 and out.grad == 0.0  # put back even so


def test_a_node_without_backward_gets_the_clear_error_and_still_draws():
    x = Value(0.5, label="x")
    out = Value(math.sin(0.5), (x,), "sin")  # inputs, but no _backward attached yet
    root = out * 2.0
    with pytest.raises(TypeError, match=r"made by op 'sin', has inputs but no _backward"):
        local_derivatives(out)
    with pytest.raises(TypeError, match=r"made by op 'sin', has inputs but no _backward"):
        list(backward_steps(root))
    # a drawing is for finding such a node: it draws, with "?" for the unknown slope
    nodes, edges = parse(draw_dot(root, view="backward").source)
    assert [e[2].get("label") for e in edges if e[0] == "op1"] == ["?"]


def closures_graph():
    """x -> h = 2x -> e = exp(h) (a lecture-style closure) -> t = e*x (chainrule-style)."""
    x = Value(0.5, label="x")
    h = x * 2.0
    h.label = "h"
    e = Value(math.exp(h.data), (h,), "exp", label="e")

    def lecture_backward():  # micrograd's lecture: no argument, reads out.grad
        h.grad += e.data * e.grad

    e._backward = lecture_backward
    t = Value(e.data * x.data, (e, x), "*", label="t")

    def chainrule_backward(grad):  # handed d(root)/d(out)
        e.grad += x.data * grad
        x.grad += e.data * grad

    t._backward = chainrule_backward
    return x, t


def test_steps_run_both_closure_shapes_as_backward_does():
    x_ref, t_ref = closures_graph()
    t_ref.backward()
    t_ref.backward()
    x, t = closures_graph()
    steps = list(backward_steps(t))
    list(backward_steps(t))
    assert all_grads(t) == all_grads(t_ref)  # bit for bit, leaves accumulated twice
    assert x.grad == pytest.approx(2 * (math.exp(1.0) + 0.5 * 2 * math.exp(1.0)))
    by_name = {s.node.label: s for s in steps}
    assert by_name["e"].caption.splitlines()[1] == (
        "h.grad += 2.718 × 0.5 — local d(exp(h))/d(h) = e = 2.718, incoming 0.5"
    )


def test_step_zero_seeds_the_root_then_one_step_per_op_and_none_per_leaf():
    g = lecture()
    steps = list(backward_steps(g["o"]))
    ops = [v for v in g["o"].backward_order() if v._prev]
    assert [s.node for s in steps] == [g["o"]] + ops  # 1 seed + 5 ops; the 5 leaves: none
    assert [s.index for s in steps] == list(range(6)) and {s.total for s in steps} == {6}
    seed = steps[0]
    assert seed.grads[g["o"]] == 1.0 and seed.updates == {}
    assert all(seed.grads[v] == 0.0 for v in g.values() if v is not g["o"])
    assert seed.caption == "step 0 of 5: seed the output: o.grad = 1 (d(o)/d(o) = 1)"
    assert seed.states[g["o"]] == "current" and seed.node_id == "v9"
    assert {seed.states[v] for v in g.values() if v is not g["o"]} == {"pending"}


def test_captions_name_the_local_derivative_and_the_incoming_gradient():
    g = lecture()
    steps = list(backward_steps(g["o"]))
    assert steps[1].caption.splitlines() == [
        "step 1 of 5: o = tanh(n) has its final grad 1 and passes it to its inputs:",
        "n.grad += 0.5 × 1 — local d(tanh(n))/d(n) = 1 - o² = 0.5, incoming 1",
    ]
    assert steps[5].caption.splitlines() == [
        "step 5 of 5: x1*w1 has its final grad 0.5 and passes it to its inputs:",
        "x1.grad += (-3) × 0.5 — local d(x1·w1)/d(x1) = w1 = -3, incoming 0.5",
        "w1.grad += 2 × 0.5 — local d(x1·w1)/d(w1) = x1 = 2, incoming 0.5",
    ]
    incoming = 1 - g["o"].data ** 2  # 0.4999999999999998: the record rounds it to 0.5
    assert steps[5].updates == {g["x1"]: (-3.0, incoming), g["w1"]: (2.0, incoming)}
    assert steps[5].grads[g["x1"]] == -3.0 * incoming and steps[4].grads[g["x1"]] == 0.0
    # a negative incoming gradient is parenthesised too; ReLU says why its slope is 0 or 1
    x = Value(-2.0, label="x")
    y = (x * -1.0).relu() * -3.0
    caption = "\n".join(s.caption for s in backward_steps(y))
    assert "× (-3)" in caption and "= 1 since mul2 > 0" in caption


def test_step_states_say_current_updated_final_and_pending():
    g = lecture()
    step = list(backward_steps(g["o"]))[2]  # n = s + b runs
    states = {name: step.states[v] for name, v in g.items()}
    assert states == {"o": "final", "n": "current", "s": "updated", "b": "updated",
                      "x1w1": "pending", "x2w2": "pending", "x1": "pending", "x2": "pending",
                      "w1": "pending", "w2": "pending"}
    nodes, edges = parse(step.draw().source)
    assert nodes["v8"]["class"] == "current" and nodes["v8"]["penwidth"] == "3.5"
    assert nodes["v7"]["class"] == "updated" and nodes["v0"]["class"] == "pending"
    assert nodes["v0"]["style"] == "filled,dashed"
    assert "thick red: this step" in step.draw().source  # the key explains the states


def test_the_steps_show_this_pass_from_zero_whatever_the_grads_were():
    fresh = lecture()
    fresh["o"].backward()
    g, twin = lecture(), lecture()
    for graph in (g, twin):
        for k, v in enumerate(graph.values()):
            v.grad = 10.0 + k  # stale grads: an earlier backward(), a student's edits
    steps = list(backward_steps(g["o"]))
    last = steps[-1].grads
    assert [last[v] for v in g.values()] == [v.grad for v in fresh.values()]  # bit for bit
    assert steps[-1].grads[g["x1"]] == pytest.approx(-1.5)  # the lecture's, not -1.5 + 10
    twin["o"].backward()
    assert all_grads(g["o"]) == all_grads(twin["o"])  # left exactly as backward() leaves them


def test_replay_leaves_every_grad_as_it_found_it():
    g = lecture()
    g["o"].backward()
    before = {name: v.grad for name, v in g.items()}
    steps = replay(g["o"], params=[g["w1"], g["w2"], g["b"]])
    assert {name: v.grad for name, v in g.items()} == before
    assert steps[-1].grads[g["x1"]] == pytest.approx(-1.5) and len(steps) == 6
    # stopping backward_steps early puts every grad back too
    iterator = backward_steps(g["o"])
    next(iterator), next(iterator)
    iterator.close()
    assert {name: v.grad for name, v in g.items()} == before


def build(program):
    try:
        nodes, root = run_program(program, Value)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)
    return nodes, root


@settings(max_examples=60, suppress_health_check=[HealthCheck.filter_too_much])
@given(program=programs())
def test_every_step_on_random_graphs_is_a_fresh_backwards_bit_for_bit(program):
    nodes, root = build(program)
    reference = build(program)[1]
    try:
        for v in reference.backward_order():
            v.grad = 0.0
        reference.backward()
    except (ZeroDivisionError, OverflowError):  # no gradient to step through
        assume(False)
    fresh = all_grads(reference)
    stale = build(program)[1]
    for graph in (root, stale):  # the same stale grads on both copies
        for k, v in enumerate(graph.backward_order()):
            v.grad = 0.25 * (k % 7) - 1.0
    found = all_grads(root)
    steps = replay(root)
    assert all_grads(root) == found  # replay: every grad as found
    order = root.backward_order()
    ops = [v for v in order if v._prev]
    assert [s.node for s in steps] == [root] + ops
    assert [bits(steps[-1].grads[v]) for v in order] == fresh  # bit for bit
    for step in steps[1:]:  # a node's grad is final when its step runs, and is backward()'s
        assert bits(step.grads[step.node]) == fresh[order.index(step.node)]
        for child, (local, incoming) in step.updates.items():
            assert bits(incoming) == fresh[order.index(step.node)]
            assert local == local_derivatives(step.node)[child]
    list(backward_steps(root))
    stale.backward()
    assert all_grads(root) == all_grads(stale)  # backward_steps: as backward() leaves them


def test_captions_name_parameters_and_inputs_and_never_say_constant():
    model = MLP(2, [2, 1], seed=1)
    loss = (model([0.5, -1.0]) - Value(1.0, label="y")) ** 2
    steps = replay(loss, params=model)
    text = "\n".join(s.caption for s in steps)
    assert "constant" not in text
    for name in ("L0.N0.w0", "L0.N1.w1", "L1.N0.b", "x0", "x1"):
        assert f"{name}.grad +=" in text, name
    named = dict(model.named_parameters())
    w = named["layers.0.neurons.0.w.0"]
    line = next(x for x in text.splitlines() if x.startswith("L0.N0.w0.grad"))
    assert "— local d(" in line and ")/d(L0.N0.w0) = x0 = 0.5, incoming " in line
    assert w in steps[-1].grads
    # a plain list of parameters: named p0, p1, ... in its order
    plain = "\n".join(s.caption for s in replay(loss, params=model.parameters()))
    assert "p0.grad +=" in plain and "constant" not in plain


def test_a_leaf_root_takes_the_seed_step_only_and_accumulates():
    v = Value(2.0, label="v")
    v.grad = 1.0
    steps = list(backward_steps(v))
    assert len(steps) == 1 and steps[0].grads == {v: 1.0} and v.grad == 2.0
    assert steps[0].caption == "step 0 of 0: seed the output: v.grad = 1 (d(v)/d(v) = 1)"


def test_bad_step_arguments_say_what_is_allowed():
    with pytest.raises(TypeError, match="backward_steps needs a Value, got float"):
        next(backward_steps(1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown drawing option 'colour'; the options are"):
        next(backward_steps(Value(1.0), colour="red"))
    assert isinstance(replay(Value(1.0))[0], Step)


def test_a_step_displays_itself_in_a_notebook(monkeypatch, tmp_path):
    without_renderer(monkeypatch, tmp_path)
    from chainrule.viz import render

    monkeypatch.setattr(render, "_in_page", lambda source, fit: None)
    step = next(backward_steps(lecture()["o"]))
    with pytest.warns(RendererWarning):
        bundle = step._repr_mimebundle_()
    assert bundle["text/plain"] == step.draw().source
    assert "step 0 of 5: seed the output" in bundle["text/plain"]


def test_fused_and_fine_neurons_step_through_with_pairs_in_sum_order():
    out, params = neuron(fused=True)
    steps = replay(out, params=params)
    assert len(steps) == 3  # seed, relu, dot
    lines = steps[2].caption.splitlines()
    assert lines[0] == ("step 2 of 2: dot7 = w0·x0 + w1·x1 + w2·x2 + b has its final grad 1 "
                        "and passes it to its inputs:")
    local = "local d(w0·x0 + w1·x1 + w2·x2 +…)"
    assert lines[1] == f"w0.grad += 1 × 1 — {local}/d(w0) = x0 = 1, incoming 1"
    assert lines[4] == f"x1.grad += (-1) × 1 — {local}/d(x1) = w1 = -1, incoming 1"
    fine, _ = neuron(fused=False)
    assert len(replay(fine)) == 1 + 3 + 3 + 1  # seed, three *, three +, relu


def test_a_steps_node_id_is_the_title_of_its_node_in_the_svg(dot_program):
    import re
    import subprocess

    steps = replay(lecture()["o"])
    for step in (steps[0], steps[3]):
        svg = subprocess.run([dot_program, "-Tsvg"], input=step.draw().source.encode(),
                             capture_output=True, check=True).stdout.decode()
        titles = re.findall(r'<g id="node\d+" class="node[^"]*">\s*<title>([^<]*)</title>', svg)
        assert step.node_id in titles  # what the page follows and zooms to
        assert step.node_id == f"v{[*reversed(step.root.backward_order())].index(step.node)}"


def test_power_and_quotient_captions_read_as_a_teacher_writes_them():
    x, y = Value(2.0, label="x"), Value(4.0, label="y")
    lines = "\n".join(s.caption for s in backward_steps(x**2 + x**-1 + x / y))
    assert "x.grad += 4 × 1 — local d(x**2)/d(x) = 2·x = 4, incoming 1" in lines
    assert "x.grad += (-0.25) × 1 — local d(x**-1)/d(x) = -1·x**(-2) = -0.25, incoming 1" in lines
    assert "y.grad += (-0.125) × 1 — local d(x/y)/d(y) = -x/y² = -0.125, incoming 1" in lines
