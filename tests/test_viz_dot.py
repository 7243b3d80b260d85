"""chainrule.viz.dot: the DOT text of a drawing: views, names, kinds, legend, fit,
escaping and long labels, big graphs, snapshots and determinism."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from viz_helpers import (
    ROOT,
    check_snapshot,
    graphviz_pure,
    ids_by_label,
    lecture,
    neuron,
    parse,
    render_with,
    svg_texts,
)

from chainrule import Value
from chainrule.nn import MLP
from chainrule.viz import GraphTooLarge, backward_steps, draw_dot, style
from chainrule.viz.steps import replay


def test_number_format_is_configurable_and_never_shows_minus_zero():
    v = Value(-0.0, label="z") * 1.0
    assert "data 0|" in draw_dot(v).source
    g = lecture()
    text = draw_dot(g["o"], number_format=".2f").source
    assert "data 0.71|grad 0.00" in text
    text = draw_dot(g["o"], number_format=lambda x: f"<{x:.1f}>").source
    assert r"data \<0.7\>" in text


# --------------------------------------------------------------------------------- views


def test_forward_view_points_from_inputs_to_the_output():
    g = lecture()
    g["o"].backward()
    source = draw_dot(g["o"], view="forward").source
    nodes, edges = parse(source)
    ids = ids_by_label(nodes)
    pairs = {(a, b) for a, b, _ in edges}
    op = f"op{ids['x1*w1'][1:]}"
    assert (ids["x1"], op) in pairs and (ids["w1"], op) in pairs
    assert (op, ids["x1*w1"]) in pairs
    assert (f"op{ids['o'][1:]}", ids["o"]) in pairs
    assert all("label" not in a for _, _, a in edges)  # data edges carry no derivative
    assert "rankdir=LR" in source and "grey arrows: data, forward" in source


def test_backward_view_points_from_the_output_to_the_leaves_with_local_derivatives():
    g = lecture()
    g["o"].backward()
    source = draw_dot(g["o"], view="backward").source
    nodes, edges = parse(source)
    ids = ids_by_label(nodes)
    labels = {(a, b): e.get("label") for a, b, e in edges}
    op = lambda name: f"op{ids[name][1:]}"  # noqa: E731
    assert labels[(ids["o"], op("o"))] is None  # the value hands its grad to its op
    assert labels[(op("o"), ids["n"])] == "0.5"  # d o / d n = 1 - tanh(n)**2
    assert labels[(op("x1*w1"), ids["x1"])] == "-3"  # d(x1*w1)/d x1 = w1
    assert labels[(op("x1*w1"), ids["w1"])] == "2"
    assert labels[(op("x2*w2"), ids["w2"])] == "0"
    assert labels[(op("n"), ids["b"])] == "1"
    leaves = {ids[k] for k in ("x1", "x2", "w1", "w2", "b")}
    assert not any(a in leaves for a, _, _ in edges)  # no edge points from a leaf
    # mirrored rankdir: the drawing keeps inputs left, output right
    assert "rankdir=RL" in source
    assert "rankdir=BT" in draw_dot(g["o"], view="backward", rankdir="TB").source
    # records stack name, data and grad (narrow enough for a notebook cell)
    assert nodes[ids["x1"]]["label"] == "x1|data 2|grad -1.5"
    assert nodes[ids["w2"]]["label"] == "w2|data 1|grad 0"
    assert nodes[ids["o"]]["label"] == "o|data 0.7071|grad 1"
    assert "local derivative d(op result)/d(input)" in source  # the legend's words


def test_both_view_tells_data_and_gradient_arrows_apart():
    g = lecture()
    g["o"].backward()
    nodes, edges = parse(draw_dot(g["o"]).source)  # view="both" is the default
    ids = ids_by_label(nodes)
    pair = [e for a, b, e in edges if (a, b) == (ids["x1"], f"op{ids['x1*w1'][1:]}")]
    data, grad = pair  # two arrows on one layout, never drawn on top of each other
    assert "label" not in data and "style" not in data and "dir" not in data  # solid grey
    assert grad["label"] == "-3" and grad["dir"] == "back" and grad["style"] == "dashed"
    assert grad["color"] == style.GRAD_COLOR
    assert len(edges) == 2 * 5 + 2 * 9  # each op's output edge and input edges, twice
    source = draw_dot(g["o"]).source
    assert "solid grey arrows: data, forward" in source
    assert "dashed red arrows, pointing back: gradients, backward" in source


def test_a_child_used_twice_gets_one_edge_with_the_summed_derivative():
    a = Value(3.0, label="a")
    y = a * a
    y.label = "y"
    y.backward()
    nodes, edges = parse(draw_dot(y, view="both").source)
    ids = ids_by_label(nodes)
    into = [e for src, _, e in edges if src == ids["a"]]
    assert [e.get("label") for e in into] == ["×2", "6"]  # used twice; d(a*a)/da = 2a
    nodes, edges = parse(draw_dot(y, view="forward").source)
    assert [e.get("label") for src, _, e in edges if src == ids["a"]] == ["×2"]


def test_a_label_that_is_not_a_string_is_shown_as_its_str():
    three = Value(1.0, label=3)  # type: ignore[arg-type]
    zero = Value(2.0, label=0)  # type: ignore[arg-type]
    out = three * zero
    out.label = 2.5  # type: ignore[assignment]
    nodes, _ = parse(draw_dot(out).source)
    assert [nodes[f"v{i}"]["label"] for i in range(3)] == [
        "3|data 1|grad 0", "0|data 2|grad 0", "2.5|data 2|grad 0",
    ]
    assert nodes["v0"]["tooltip"].startswith("3: data 1")
    steps = list(backward_steps(out))
    assert steps[1].caption.splitlines()[1:] == [
        "3.grad += 2 × 1 — local d(3·0)/d(3) = 0 = 2, incoming 1",
        "0.grad += 1 × 1 — local d(3·0)/d(0) = 3 = 1, incoming 1",
    ]
    assert parse(steps[1].draw().source)[0]["v0"]["label"] == "3|data 1|grad 2"


def test_tb_records_stack_with_braces():
    v = Value(2.0) * Value(3.0, label="k")
    nodes, _ = parse(draw_dot(v, rankdir="TB").source)
    assert nodes["v2"]["label"] == "{mul2|data 6|grad 0}"
    assert nodes["v1"]["label"] == "{k|data 3|grad 0}"


# --------------------------------------------------------------------------------- names


def test_names_tell_parameters_inputs_and_intermediates_apart():
    model = MLP(2, [2, 1], seed=0)
    y = model([0.5, -1.0])
    nodes, _ = parse(draw_dot(y, params=model).source)
    names = {a["label"].split("|")[0]: a for k, a in nodes.items() if k.startswith("v")}
    for name in ("L0.N0.w0", "L0.N0.w1", "L0.N0.b", "L0.N1.w0", "L1.N0.w1", "L1.N0.b"):
        assert name in names, sorted(names)  # short, unique, readable
        assert names[name]["fillcolor"] == style.KINDS["parameter"][0]
    assert names["L0.N1.w0"]["tooltip"].startswith("layers.0.neurons.1.w.0: data ")
    assert "x0" in names and "x1" in names  # unlabelled inputs: by position
    assert names["x0"]["fillcolor"] == style.KINDS["input"][0]
    ops = [n for n in names if re.fullmatch(r"(mul|add|tanh|relu|dot)\d+", n)]
    assert len(ops) == len(set(ops)) == sum(1 for v in y.backward_order() if v._prev)
    # the same names from named_parameters() as a mapping, or a list of pairs
    assert draw_dot(y, params=dict(model.named_parameters())).source == draw_dot(
        y, params=model).source
    assert draw_dot(y, params=model.named_parameters()).source == draw_dot(y, params=model).source
    # a plain list: p0, p1, ... in its order
    listed = parse(draw_dot(y, params=model.parameters()).source)[0]
    first = model.parameters()[0]
    order = [v for v in reversed(y.backward_order())]
    assert listed[f"v{order.index(first)}"]["label"].startswith("p0|")


def test_two_values_with_one_label_are_told_apart():
    a, b = Value(1.0, label="x"), Value(2.0, label="x")
    nodes, _ = parse(draw_dot(a + b).source)
    assert [nodes[f"v{i}"]["label"].split("|")[0] for i in range(3)] == ["x", "x#1", "add2"]


def test_a_fused_dot_node_shows_its_pairs_in_sum_order():
    out, params = neuron(fused=True)
    nodes, _ = parse(draw_dot(out, params=params).source)
    dot = next(a for k, a in nodes.items() if k.startswith("op") and a["label"].startswith("dot"))
    assert dot["label"] == r"dot\nw0*x0\n+ w1*x1\n+ w2*x2\n+ b"  # which weight meets which input


# ------------------------------------------------------------------------- colours, legend


def test_colours_tell_inputs_parameters_intermediates_and_the_output():
    out, params = neuron()
    out.backward()
    nodes, _ = parse(draw_dot(out, params=params).source)
    ids = ids_by_label(nodes)
    fill = {name: nodes[i]["fillcolor"] for name, i in ids.items()}
    assert fill["w0"] == fill["b"] == style.KINDS["parameter"][0]
    assert fill["x0"] == style.KINDS["input"][0]
    assert fill["out"] == style.KINDS["output"][0]
    assert fill["dot7"] == style.KINDS["intermediate"][0]
    # no params: labels starting with w or b are not taken to be parameters
    nodes, _ = parse(draw_dot(out).source)
    assert nodes[ids["w0"]]["fillcolor"] == style.KINDS["input"][0]
    source = draw_dot(out, params=params).source
    assert ">parameter<" in source and ">input<" in source
    assert ">parameter<" not in draw_dot(out).source
    assert "label=<" not in draw_dot(out, legend=False).source


def test_shading_by_grad_comes_with_a_matching_scale():
    out, params = neuron()
    out.backward()
    source = draw_dot(out, shade=True).source
    nodes, _ = parse(source)
    ids = ids_by_label(nodes)
    # |grad| of w1 is |x1| = 2, the largest: full shade; b has grad 1: half
    assert nodes[ids["w1"]]["fillcolor"] == style.blend(1.0)
    assert nodes[ids["b"]]["fillcolor"] == style.blend(0.5)
    assert nodes[ids["w1"]]["color"] == style.KINDS["input"][1]  # the kind stays in the border
    # the key: the kinds as borders on white (their fills now mean |grad|), then the scale
    assert f'<td bgcolor="white" border="1" color="{style.KINDS["input"][1]}"' in source
    assert f'bgcolor="{style.KINDS["input"][0]}"' not in source
    for t, text in ((0.0, "0"), (0.5, "1"), (1.0, "2")):
        assert f'<td bgcolor="{style.blend(t)}" border="1" color="#9ca3af">{text}</td>' in source


def test_blank_grads_print_a_handout_with_empty_grad_fields():
    g = lecture()
    g["o"].backward()
    source = draw_dot(g["o"], blank_grads=True, shade=True).source
    nodes, _ = parse(source)
    records = [a for k, a in nodes.items() if k.startswith("v")]
    assert all(a["label"].endswith("|grad ________") for a in records)
    assert not any("grad" in a["tooltip"] for a in records)  # nothing to peek at
    assert all(a["fillcolor"] in [fill for fill, _, _ in style.KINDS.values()] for a in records)
    assert "data 0.7071" in source  # the forward numbers stay
    backward = parse(draw_dot(g["o"], view="backward", blank_grads=True).source)[1]
    assert not any("label" in e for _, _, e in backward)  # local derivatives: theirs too
    shown = parse(draw_dot(g["o"], view="backward", blank_grads=True, edge_labels=True).source)[1]
    assert sum("label" in e for _, _, e in shown) == 9


def test_bad_arguments_say_what_is_allowed():
    o = lecture()["o"]
    with pytest.raises(ValueError, match="view must be one of 'forward', 'backward', 'both'"):
        draw_dot(o, view="sideways")
    with pytest.raises(ValueError, match="rankdir must be 'LR', 'RL', 'TB' or 'BT', got 'XY'"):
        draw_dot(o, rankdir="XY")
    with pytest.raises(TypeError, match="draw_dot needs a Value to draw, got float"):
        draw_dot(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not part of this graph"):
        draw_dot(o, around=Value(1.0))
    with pytest.raises(TypeError, match="params must hold Values, got float: 1.0"):
        draw_dot(o, params=[1.0])
    with pytest.raises(TypeError, match="params must be a module with named_parameters"):
        draw_dot(o, params=3)
    with pytest.raises(TypeError, match="unknown drawing option 'colour'; the options are: "):
        draw_dot(o, colour="red")
    with pytest.raises(ValueError, match=r"size must be \(width, height\) in inches.*got \(0, 5\)"):
        draw_dot(o, size=(0, 5))
    with pytest.raises(ValueError, match="depth must be 0 or more, got -1"):
        draw_dot(o, depth=-1)
    with pytest.raises(TypeError, match="max_nodes must be an int, got str"):
        draw_dot(o, max_nodes="9")


# ---------------------------------------------------------------------------------- fit


def svg_fit(svg: bytes, cell: int = 900):
    """(width px, height px, smallest text px once scaled to a ``cell`` px wide output)."""
    text = svg.decode("utf-8")
    width, height = (float(x) * 4 / 3 for x in re.search(
        r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', text).groups())
    smallest = min(float(f) for f in re.findall(r'font-size="([\d.]+)"', text)) * 4 / 3
    return width, height, smallest * min(1.0, cell / width)


def test_the_lecture_neuron_fits_a_900px_cell_with_text_of_11px_in_every_view(dot_program):
    g = lecture()
    g["o"].backward()
    out, params = neuron(fused=True)
    out.backward()
    for root, p in ((g["o"], None), (out, params)):
        for view in ("forward", "backward", "both"):
            done = render_with(dot_program, draw_dot(root, view=view, params=p).source)
            width, _, text = svg_fit(done.stdout)
            assert text >= 11, (view, width, text)
    step = replay(g["o"])[5]
    assert svg_fit(render_with(dot_program, step.draw().source).stdout)[2] >= 11


def test_size_bounds_a_file_for_slides(dot_program):
    g = lecture()
    source = draw_dot(g["o"], size=(6, 3)).source
    assert 'size="6,3"' in source
    width, height, _ = svg_fit(render_with(dot_program, source).stdout)
    assert width <= 6 * 96 + 1 and height <= 3 * 96 + 1
    assert 'size="8,5!"' in draw_dot(g["o"], size="8,5!").source  # Graphviz's own form


# ---------------------------------------------------------------------- snapshots, determinism


def snapshot_graphs() -> Dict[str, str]:
    g = lecture()
    g["o"].backward()
    params = [g["w1"], g["w2"], g["b"]]
    out, nparams = neuron(fused=True)
    out.backward()
    fine, fparams = neuron(fused=False)
    fine.backward()
    a = Value(3.0, label="a")
    twice = a + a
    twice.label = "a+a"
    twice.backward()
    odd = Value(1.0, label='odd {x} | <y> "q" \\ é')
    special = (odd * 2).tanh()
    special.label = "f(odd)"
    step = replay(lecture()["o"])[4]
    return {
        "lecture_both": draw_dot(g["o"], params=params).source,
        "lecture_forward": draw_dot(g["o"], view="forward", params=params).source,
        "lecture_backward": draw_dot(g["o"], view="backward", params=params).source,
        "lecture_tb_shaded": draw_dot(g["o"], rankdir="TB", shade=True, legend=False).source,
        "lecture_handout": draw_dot(g["o"], view="forward", blank_grads=True).source,
        "neuron_dot": draw_dot(out, params=nparams).source,
        "neuron_fine": draw_dot(fine, view="backward", params=fparams).source,
        "used_twice": draw_dot(twice).source,
        "special_labels": draw_dot(special, title="a <title> & more").source,
        "around_n": draw_dot(g["o"], around=g["s"], depth=1).source,
        "step_4": step.draw().source,
    }


SNAPSHOT_NAMES = [
    "lecture_both", "lecture_forward", "lecture_backward", "lecture_tb_shaded",
    "lecture_handout", "neuron_dot", "neuron_fine", "used_twice", "special_labels", "around_n",
    "step_4",
]


@pytest.fixture(scope="module")
def snapshots() -> Dict[str, str]:
    graphs = snapshot_graphs()
    assert sorted(graphs) == sorted(SNAPSHOT_NAMES)
    return graphs


@pytest.mark.parametrize("name", SNAPSHOT_NAMES)
def test_dot_snapshot(name, snapshots):
    check_snapshot(name, snapshots[name])


def test_drawing_numbers_values_in_the_engines_backward_order(monkeypatch):
    """One order for backward(), backward_steps and the drawing: the engine's."""
    g = lecture()

    def inputs_last_first(self):  # another valid order: each node before its inputs
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in reversed(v._prev):
                    visit(child)
                order.append(v)

        visit(self)
        return order[::-1]

    monkeypatch.setattr(Value, "backward_order", inputs_last_first)
    expected = [v.label for v in reversed(inputs_last_first(g["o"]))]
    assert expected[:2] == ["b", "w2"]  # unlike the engine's x1, w1, ...
    ids = ids_by_label(parse(draw_dot(g["o"]).source)[0])
    assert [ids[label] for label in expected] == [f"v{i}" for i in range(len(expected))]


def test_a_missing_snapshot_fails_unless_updating(monkeypatch, tmp_path):
    monkeypatch.delenv("CHAINRULE_UPDATE_SNAPSHOTS", raising=False)
    with pytest.raises(pytest.fail.Exception, match="missing.*CHAINRULE_UPDATE_SNAPSHOTS=1"):
        check_snapshot("new", "digraph {}\n", tmp_path)
    assert not (tmp_path / "new.dot").exists()  # and nothing written
    monkeypatch.setenv("CHAINRULE_UPDATE_SNAPSHOTS", "1")
    check_snapshot("new", "digraph {}\n", tmp_path)
    assert (tmp_path / "new.dot").read_text(encoding="utf-8") == "digraph {}\n"
    monkeypatch.delenv("CHAINRULE_UPDATE_SNAPSHOTS")
    check_snapshot("new", "digraph {}\n", tmp_path)
    with pytest.raises(AssertionError, match="differs"):
        check_snapshot("new", "digraph { a }\n", tmp_path)


def test_same_code_same_dot_in_this_process_and_in_others():
    first = snapshot_graphs()
    assert snapshot_graphs() == first  # fresh Values, other ids: the same text
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_viz_dot
        print(json.dumps(test_viz_dot.snapshot_graphs()))
        """
    )
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
            check=True,
        )
        outputs.append(done.stdout)
    assert json.loads(outputs[0]) == json.loads(outputs[1]) == first


# ---------------------------------------------------------------------------- escaping

SPECIAL = '{}|<>"\\'
label_text = st.text(
    alphabet=st.sampled_from(list(SPECIAL) + list("ab xyz09_-+*.,;:!?#%&'()[]=/") + list("θ∂éü€")),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip())


def test_every_special_character_renders_with_dot(dot_program):
    names = ["{", "}", "|", "<", ">", '"', "\\", '\\"', "a\\", "\\N", "<<x>>", "{a|b}",
             "é θ ∂ €", "x y  z", "line1\nline2", "tab\there", "bell\x07", ""]
    values = [Value(float(i), label=name) for i, name in enumerate(names)]
    root = Value.sum(values)
    root.label = 'root "}"'
    done = render_with(dot_program, draw_dot(root, view="forward").source)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    texts = svg_texts(done.stdout)
    for name in ["{", "}", "|", "<", ">", '"', "\\", '\\"', "a\\", "\\N", "<<x>>", "{a|b}",
                 "é θ ∂ €", "x y z", "line1", "line2", "tab here", 'root "}"']:
        assert name in texts, (name, texts)


def test_special_characters_render_with_graphviz_pure():
    program = graphviz_pure()
    values = [Value(1.0, label=name) for name in ["{", "}", "|", "<", ">", '"', "\\", "a b"]]
    root = Value.sum(values)
    done = render_with(program, draw_dot(root).source)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    for name in ["{", "}", "|", "<", ">", '"', "\\", "a b"]:
        assert name in svg_texts(done.stdout)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(labels=st.lists(label_text, min_size=1, max_size=3), op=label_text)
def test_any_label_gives_dot_that_renders_it(dot_program, labels, op):
    values = [Value(float(i), label=text) for i, text in enumerate(labels)]
    out = Value(sum(v.data for v in values), tuple(values), op, label=labels[0])
    done = render_with(dot_program, draw_dot(out, view="forward").source)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    texts = svg_texts(done.stdout)
    for text in labels + [op]:
        assert " ".join(text.split()) in texts


def test_a_label_over_16_kib_renders_shortened_with_the_full_text_in_the_tooltip(dot_program):
    long = "".join(f"word{i} " for i in range(4000)) + 'end "quoted" \\ back'  # ~35 KB
    root = Value(1.0, label=long) * 2.0
    source = draw_dot(root).source
    done = render_with(dot_program, source)
    assert done.returncode == 0 and done.stderr == b"", done.stderr[:300]
    texts = svg_texts(done.stdout)
    shown = next(t for t in texts if t.startswith("word0"))
    assert shown.endswith("...") and len(shown) == style.LABEL_LIMIT
    title = re.search(r'xlink:title="([^"]*)"', done.stdout.decode("utf-8")).group(1)
    import html as html_module

    assert html_module.unescape(title) == f"{long}: data 1, grad 0"  # every character kept
    assert max(len(line) for line in source.splitlines()) < 16384


# ---------------------------------------------------------------------------- large graphs


def chain(n: int) -> Value:
    v = Value(0.5, label="x")
    for _ in range(n - 1):
        v = v.tanh()
    return v


def test_node_limit_error_names_the_count_and_what_to_draw():
    root = chain(600)
    with pytest.raises(GraphTooLarge) as error:
        draw_dot(root)
    assert isinstance(error.value, ValueError)
    message = str(error.value)
    assert message.startswith("this drawing has 600 values, more than max_nodes=500")
    assert "draw_dot(root, around=value, depth=1)" in message and "max_nodes=600" in message
    assert error.value.count == 600 and error.value.limit == 500 and error.value.sample is None
    assert draw_dot(root, max_nodes=600).source.count("|data ") == 600


def test_around_draws_only_the_neighbourhood_with_stubs_and_is_bounded_too():
    root = chain(600)
    middle = root
    for _ in range(300):
        middle = middle._prev[0]
    nodes, edges = parse(draw_dot(root, around=middle, depth=2).source)
    values = sorted(n for n in nodes if n.startswith("v"))
    assert values == ["v297", "v298", "v299", "v300", "v301"]  # ids: the whole graph's
    assert any(n.startswith("more") for n in nodes)  # its inputs go on: "1 more"
    assert any(n.startswith("next") for n in nodes)  # it is used further: "used by 1 more"
    assert nodes["v299"]["penwidth"] == "3"  # the chosen value stands out
    with pytest.raises(GraphTooLarge, match=r"5 values, more than max_nodes=4.*Try depth=1 "
                                            r"\(3 values\)"):
        draw_dot(root, around=middle, depth=2, max_nodes=4)


def test_a_batch_losss_advice_draws_one_samples_loss():
    model = MLP(2, [4, 4, 1], seed=0, fused=False)
    xs = [[0.1 * i, -0.2 * i] for i in range(20)]
    loss = sum(((model(x) - 1.0) ** 2 for x in xs), Value(0.0)) * (1 / 20)
    with pytest.raises(GraphTooLarge) as error:
        draw_dot(loss, params=model)
    message = str(error.value)
    assert "draw one sample's loss with draw_dot(error.sample, params=model)" in message
    sample = error.value.sample
    one = (model(xs[0]) - 1.0) ** 2
    assert len(sample.backward_order()) == len(one.backward_order())  # one sample's graph
    assert f"({len(one.backward_order())} values)" in message
    nodes, _ = parse(draw_dot(sample, params=model).source)  # and it draws
    assert "L0.N0.w0|" in "".join(a.get("label", "") for a in nodes.values())
    p = model.parameters()[0]  # a weight every sample uses: around= is bounded too
    with pytest.raises(GraphTooLarge, match=r"142 values, .*Try depth=2 \(61 values\)"):
        draw_dot(loss, params=model, around=p, depth=3, max_nodes=100)


def test_one_neuron_renders_readably_fused_and_fine_grained(dot_program):
    for fused in (True, False):
        out, params = neuron(fused)
        out.backward()
        source = draw_dot(out, params=params).source
        nodes, edges = parse(source)
        assert sum(n.startswith("v") for n in nodes) == len(out.backward_order())
        assert all("label" in e for a, b, e in edges if a.startswith("v") and "dir" in e)
        done = render_with(dot_program, source)
        assert done.returncode == 0 and done.stderr == b""


def test_tiny_mlp_loss_on_two_points(dot_program):
    from chainrule.nn import mse

    model = MLP(2, [3, 1], seed=0)
    xs = [[Value(2.0, label="x00"), Value(3.0, label="x01")],
          [Value(-1.0, label="x10"), Value(0.5, label="x11")]]
    loss = mse([model(x) for x in xs], [1.0, -1.0])
    loss.label = "loss"
    loss.backward()
    g = draw_dot(loss, params=model)
    nodes, edges = parse(g.source)
    labels = [n["label"] for k, n in nodes.items() if k.startswith("v")]
    assert sum(label.startswith("L0.N0.w0|") for label in labels) == 1  # unique names
    assert sum(n.get("fillcolor") == style.KINDS["parameter"][0] for n in nodes.values()
               ) == len(model.parameters())
    # past EDGE_LABEL_LIMIT the local derivatives are left off, and said so
    assert not any("label" in e for _, _, e in edges if e.get("dir") == "back")
    assert "edge_labels=True" in g.source
    assert any("label" in e for _, _, e in parse(draw_dot(loss, edge_labels=True).source)[1])
    done = render_with(dot_program, g.source)
    assert done.returncode == 0 and done.stderr == b""
