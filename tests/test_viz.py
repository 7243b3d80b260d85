"""chainrule.viz: DOT text, views, escaping, rendering, the notebook fallback, step-through.

DOT snapshots live in tests/snapshots/viz/; after an intended change of the drawing,
regenerate them with

    CHAINRULE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_viz.py

and look at the diff (and at a rendering) before committing them.
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import warnings
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule import Value, viz
from chainrule.viz import (
    Drawing,
    GraphTooLarge,
    RendererNotFound,
    RendererWarning,
    animate,
    backward_steps,
    draw_dot,
    find_renderer,
    local_derivatives,
    render,
    save,
    style,
)
from chainrule.viz.animate import _steady_frames

SNAPSHOTS = Path(__file__).parent / "snapshots" / "viz"
ROOT = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- helpers


def lecture():
    """micrograd's lecture neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, s=s, n=n, o=o)


def neuron(fused: bool = True):
    ws = [Value(v, label=f"w{i}") for i, v in enumerate([0.5, -1.0, 2.0])]
    xs = [Value(v, label=f"x{i}") for i, v in enumerate([1.0, -2.0, 0.5])]
    b = Value(0.25, label="b")
    if fused:
        out = Value.dot(ws, xs, b).relu()
    else:
        out = sum((w * x for w, x in zip(ws, xs)), b).relu()
    out.label = "out"
    return out, ws + [b]


ATTR = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|<(.*)>)')
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$")
NODE = re.compile(r"^\t(\w+) \[(.*)\]$")


def attrs(text: str) -> Dict[str, str]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in ATTR.finditer(text or "")}


def parse(source: str) -> Tuple[Dict[str, Dict[str, str]], List[Tuple[str, str, Dict[str, str]]]]:
    """(nodes by id, edges) of the DOT text draw_dot writes (one statement a line)."""
    nodes, edges = {}, []
    for line in source.splitlines():
        edge = EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2), attrs(edge.group(3))))
            continue
        node = NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = attrs(node.group(2))
    return nodes, edges


def ids_by_label(nodes: Dict[str, Dict[str, str]]) -> Dict[str, str]:
    """Value node id by its label (the record's first field)."""
    found = {}
    for node_id, a in nodes.items():
        if node_id.startswith("v"):
            first = a["label"].strip("{}").split("|")[0]
            found[first] = node_id
    return found


def render_with(program: str, source: str, fmt: str = "svg") -> subprocess.CompletedProcess:
    return subprocess.run(
        [program, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, timeout=60
    )


def svg_texts(svg: bytes) -> List[str]:
    """The text of every <text> element, as a reader of the picture sees it."""
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg.decode("utf-8"), flags=re.S)
    return [" ".join(html.unescape(t).replace("\u00a0", " ").split()) for t in texts]


def _missing(what: str, envs: Sequence[str], hint: str) -> None:
    """conftest's rule: a skip for a casual run, a failure where one of ``envs`` is set (CI)."""
    required = [env for env in envs if os.environ.get(env)]
    if required:
        pytest.fail(f"{what} is required here ({required[0]} is set) but not available: {hint}")
    pytest.skip(f"{what} not available ({hint})")


def graphviz_pure() -> str:
    """The graphviz-pure program, or a skip; a failure in CI, which sets
    CHAINRULE_REQUIRE_DOT (rendering) and CHAINRULE_REQUIRE_EXTRAS (the test extra has it)."""
    found = shutil.which("graphviz-pure") or shutil.which(
        "graphviz-pure", path=sysconfig.get_path("scripts")
    )
    if not found:
        _missing(
            "graphviz-pure",
            ("CHAINRULE_REQUIRE_DOT", "CHAINRULE_REQUIRE_EXTRAS"),
            "pip install graphviz-pure",
        )
    return found


def check_snapshot(name: str, text: str) -> None:
    """Compare with the stored snapshot; a missing one fails (only an update writes one)."""
    path = SNAPSHOTS / f"{name}.dot"
    if os.environ.get("CHAINRULE_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    elif not path.exists():
        pytest.fail(f"snapshot {path} is missing: run with CHAINRULE_UPDATE_SNAPSHOTS=1")
    expected = path.read_bytes().decode("utf-8").replace("\r\n", "\n")  # a CRLF checkout
    assert text == expected, (
        f"DOT for {name!r} differs from {path}; if the change is intended, "
        "regenerate with CHAINRULE_UPDATE_SNAPSHOTS=1"
    )


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    """A world without dot and graphviz-pure: empty PATH, no scripts dir, no env var."""
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(render, "_scripts_dir", lambda: None)
    assert find_renderer() is None


@pytest.fixture
def use_dot(monkeypatch, dot_program):
    monkeypatch.setenv("CHAINRULE_DOT", dot_program)
    return dot_program


# ------------------------------------------------------------------ numbers and derivatives


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


def test_a_child_used_twice_gets_one_edge_with_the_summed_derivative():
    a = Value(3.0, label="a")
    y = a * a
    y.label = "y"
    y.backward()
    assert local_derivatives(y) == {a: 6.0}
    nodes, edges = parse(draw_dot(y, view="both").source)
    ids = ids_by_label(nodes)
    into = [e for e in edges if e[0] == ids["a"]]
    assert len(into) == 1
    assert into[0][2]["label"] == "6" and into[0][2]["headlabel"] == "×2"
    nodes, edges = parse(draw_dot(y, view="forward").source)
    assert [e[2].get("label") for e in edges if e[0] == ids["a"]] == ["×2"]


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
    nodes, edges = parse(draw_dot(g["o"], view="forward").source)
    ids = ids_by_label(nodes)
    pairs = {(a, b) for a, b, _ in edges}
    op = f"op{ids['x1*w1'][1:]}"
    assert (ids["x1"], op) in pairs and (ids["w1"], op) in pairs
    assert (op, ids["x1*w1"]) in pairs
    assert (f"op{ids['o'][1:]}", ids["o"]) in pairs
    assert all("label" not in a for _, _, a in edges)  # data edges carry no derivative
    assert 'rankdir="LR"' in draw_dot(g["o"], view="forward").source


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
    # every edge leaves the output's side: no edge points from a leaf
    leaves = {ids[k] for k in ("x1", "x2", "w1", "w2", "b")}
    assert not any(a in leaves for a, _, _ in edges)
    # mirrored rankdir: the drawing keeps inputs left, output right
    assert 'rankdir="RL"' in source
    assert 'rankdir="BT"' in draw_dot(g["o"], view="backward", rankdir="TB").source
    # the records show the grads backward() computed
    assert nodes[ids["x1"]]["label"] == "{x1|data 2|grad -1.5}"
    assert nodes[ids["w1"]]["label"] == "{w1|data -3|grad 1}"
    assert nodes[ids["x2"]]["label"] == "{x2|data 0|grad 0.5}"
    assert nodes[ids["w2"]]["label"] == "{w2|data 1|grad 0}"
    assert nodes[ids["o"]]["label"] == "{o|data 0.7071|grad 1}"


def test_both_view_draws_each_edge_once_with_a_data_and_a_gradient_line():
    g = lecture()
    g["o"].backward()
    nodes, edges = parse(draw_dot(g["o"]).source)  # view="both" is the default
    ids = ids_by_label(nodes)
    by_pair = {(a, b): e for a, b, e in edges}
    edge = by_pair[(ids["x1"], f"op{ids['x1*w1'][1:]}")]
    assert edge["label"] == "-3" and edge["dir"] == "both"
    assert edge["color"] == f"{style.DATA_COLOR}:{style.GRAD_COLOR}"
    assert len(edges) == len(by_pair)


def test_a_label_that_is_not_a_string_is_shown_as_its_str():
    three = Value(1.0, label=3)  # type: ignore[arg-type]
    zero = Value(2.0, label=0)  # type: ignore[arg-type]
    out = three * zero
    out.label = 2.5  # type: ignore[assignment]
    nodes, _ = parse(draw_dot(out).source)
    assert [nodes[f"v{i}"]["label"] for i in range(3)] == [
        "{3|data 1|grad 0}", "{0|data 2|grad 0}", "{2.5|data 2|grad 0}",
    ]
    assert nodes["v0"]["tooltip"].startswith("3: data 1")
    steps = list(backward_steps(out))
    assert steps[0].caption.splitlines() == [
        "step 1 of 3: 2.5 has its final grad 1 and passes it on:",
        "3.grad += 2 × 1, 0.grad += 1 × 1",
    ]
    assert parse(steps[0].draw().source)[0]["v0"]["label"] == "{3|data 1|grad 2}"


def test_records_have_no_empty_label_field_and_tb_records_need_no_braces():
    v = Value(2.0) * Value(3.0, label="k")
    nodes, _ = parse(draw_dot(v, rankdir="TB").source)
    assert nodes["v2"]["label"] == "data 6|grad 0"
    assert nodes["v1"]["label"] == "k|data 3|grad 0"


def test_colours_tell_inputs_parameters_intermediates_and_the_output():
    out, params = neuron()
    out.backward()
    nodes, _ = parse(draw_dot(out, params=params).source)
    ids = ids_by_label(nodes)
    fill = {name: nodes[i]["fillcolor"] for name, i in ids.items()}
    assert fill["w0"] == fill["b"] == style.KINDS["parameter"][0]
    assert fill["x0"] == style.KINDS["input"][0]
    assert fill["out"] == style.KINDS["output"][0]
    assert nodes["v7"]["fillcolor"] == style.KINDS["intermediate"][0]
    # no params: labels starting with w or b are not taken to be parameters
    nodes, _ = parse(draw_dot(out).source)
    assert nodes[ids["w0"]]["fillcolor"] == style.KINDS["input"][0]
    # the legend names the kinds drawn
    source = draw_dot(out, params=params).source
    assert ">parameter<" in source and ">input<" in source
    assert ">parameter<" not in draw_dot(out).source
    assert "label=<" not in draw_dot(out, legend=False).source


def test_shading_by_grad():
    out, params = neuron()
    out.backward()
    nodes, _ = parse(draw_dot(out, shade=True).source)
    ids = ids_by_label(nodes)
    # |grad| of w1 is |x1| = 2, the largest: full shade; b has grad 1: half; x2.grad = 2
    assert nodes[ids["w1"]]["fillcolor"] == style._blend(1.0)
    assert nodes[ids["b"]]["fillcolor"] == style._blend(0.5)
    assert nodes[ids["w1"]]["color"] == style.KINDS["input"][1]  # the kind stays in the border
    assert "larger |grad|" in draw_dot(out, shade=True).source


def test_bad_arguments_say_what_is_allowed():
    o = lecture()["o"]
    with pytest.raises(ValueError, match="view must be one of 'forward', 'backward', 'both'"):
        draw_dot(o, view="sideways")
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(o, rankdir="XY")
    with pytest.raises(TypeError, match="needs a Value"):
        draw_dot(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not part of this graph"):
        draw_dot(o, around=Value(1.0))
    with pytest.raises(TypeError, match="params must hold Values"):
        draw_dot(o, params=[1.0])


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
    step = list(backward_steps(lecture()["o"]))[4]
    return {
        "lecture_both": draw_dot(g["o"], params=params).source,
        "lecture_forward": draw_dot(g["o"], view="forward", params=params).source,
        "lecture_backward": draw_dot(g["o"], view="backward", params=params).source,
        "lecture_tb_shaded": draw_dot(g["o"], rankdir="TB", shade=True, legend=False).source,
        "neuron_dot": draw_dot(out, params=nparams).source,
        "neuron_fine": draw_dot(fine, view="backward", params=fparams).source,
        "used_twice": draw_dot(twice).source,
        "special_labels": draw_dot(special, title="a <title> & more").source,
        "around_n": draw_dot(g["o"], around=g["s"], depth=1).source,
        "step_5": step.draw().source,
    }


SNAPSHOT_NAMES = [
    "lecture_both", "lecture_forward", "lecture_backward", "lecture_tb_shaded", "neuron_dot",
    "neuron_fine", "used_twice", "special_labels", "around_n", "step_5",
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
    monkeypatch.setitem(globals(), "SNAPSHOTS", tmp_path)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CHAINRULE_UPDATE_SNAPSHOTS", raising=False)
    with pytest.raises(pytest.fail.Exception, match="missing.*CHAINRULE_UPDATE_SNAPSHOTS=1"):
        check_snapshot("new", "digraph {}\n")
    assert not (tmp_path / "new.dot").exists()  # and nothing written
    monkeypatch.setenv("CHAINRULE_UPDATE_SNAPSHOTS", "1")
    check_snapshot("new", "digraph {}\n")
    assert (tmp_path / "new.dot").read_text(encoding="utf-8") == "digraph {}\n"
    monkeypatch.delenv("CHAINRULE_UPDATE_SNAPSHOTS")
    check_snapshot("new", "digraph {}\n")
    with pytest.raises(AssertionError, match="differs"):
        check_snapshot("new", "digraph { a }\n")


def test_graphviz_pure_missing_skips_but_fails_where_required(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sysconfig, "get_path", lambda *args, **kwargs: str(tmp_path))

    def outcome() -> BaseException:
        try:
            graphviz_pure()
        except (pytest.skip.Exception, pytest.fail.Exception) as raised:
            return raised
        raise AssertionError("graphviz_pure() found a program on an empty PATH")

    for env in ("CHAINRULE_REQUIRE_DOT", "CHAINRULE_REQUIRE_EXTRAS"):
        monkeypatch.delenv(env, raising=False)
    skipped = outcome()
    assert isinstance(skipped, pytest.skip.Exception) and "graphviz-pure" in str(skipped)
    for env in ("CHAINRULE_REQUIRE_DOT", "CHAINRULE_REQUIRE_EXTRAS"):
        monkeypatch.setenv(env, "1")
        failed = outcome()  # a skip here would let CI pass without the test extra
        assert isinstance(failed, pytest.fail.Exception), f"{env}=1 gave {failed!r}"
        assert f"graphviz-pure is required here ({env} is set)" in str(failed)
        monkeypatch.delenv(env)


def test_same_code_same_dot_in_this_process_and_in_others():
    first = snapshot_graphs()
    assert snapshot_graphs() == first  # fresh Values, other ids: the same text
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_viz
        print(json.dumps(test_viz.snapshot_graphs()))
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
    import json

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


# ----------------------------------------------------------------------------- rendering


def test_find_renderer_order(monkeypatch, tmp_path):
    path_dir, scripts = tmp_path / "path", tmp_path / "scripts"
    path_dir.mkdir()
    scripts.mkdir()

    def program(where: Path, name: str) -> str:
        exe = where / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
        return str(exe)

    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setenv("PATH", str(path_dir))
    monkeypatch.setattr(render, "_scripts_dir", lambda: str(scripts))
    assert find_renderer() is None
    in_scripts = program(scripts, "graphviz-pure")  # a Jupyter kernel's unactivated venv
    assert find_renderer() == in_scripts
    on_path = program(path_dir, "graphviz-pure")
    assert find_renderer() == on_path
    dot = program(path_dir, "dot")
    assert find_renderer() == dot
    chosen = program(tmp_path, "my-dot")
    monkeypatch.setenv("CHAINRULE_DOT", chosen)
    assert find_renderer() == chosen
    monkeypatch.setenv("CHAINRULE_DOT", str(tmp_path / "missing"))
    assert find_renderer() is None
    with pytest.raises(RendererNotFound, match="CHAINRULE_DOT=.*missing.*not an executable"):
        save(Value(1.0), tmp_path / "x.svg")


def test_save_svg_png_dot_with_system_dot(use_dot, tmp_path):
    o = lecture()["o"]
    o.backward()
    g = draw_dot(o)
    svg = save(g, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "grad -1.5" in svg_texts(svg.read_bytes())
    png = save(g, tmp_path / "g.PNG").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert save(g, tmp_path / "g.dot").read_text(encoding="utf-8") == g.source
    assert save(o, tmp_path / "v.gv").read_text(encoding="utf-8") == g.source  # a Value works
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.dot"):
        save(g, tmp_path / "g.pdf")
    assert g.pipe("svg", encoding="utf-8").lstrip().startswith("<?xml")
    assert draw_dot(o, format="png").pipe().startswith(b"\x89PNG")  # micrograd's format=


def test_save_and_display_with_graphviz_pure(monkeypatch, tmp_path):
    program = graphviz_pure()
    monkeypatch.setenv("CHAINRULE_DOT", program)
    o = lecture()["o"]
    o.backward()
    g = draw_dot(o)
    assert "grad -1.5" in svg_texts(save(g, tmp_path / "g.svg").read_bytes())
    assert save(g, tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_graphviz_pure_is_found_without_dot_on_path(monkeypatch, tmp_path):
    program = graphviz_pure()
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot, and no activated venv
    monkeypatch.setattr(render, "_scripts_dir", lambda: str(Path(program).parent))
    assert find_renderer() == program
    bundle = draw_dot(lecture()["o"])._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_render_and_view_use_graphviz_pure_without_dot_on_path(monkeypatch, tmp_path):
    program = graphviz_pure()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: graphviz's own render() fails here
    monkeypatch.setenv("CHAINRULE_DOT", program)
    opened = []
    monkeypatch.setattr(viz.graphviz, "view", lambda path, quiet=False: opened.append(path))
    o = lecture()["o"]
    o.backward()
    g = draw_dot(o)
    out = tmp_path / "out"
    rendered = g.render(directory=out)
    assert Path(rendered) == out / "computation graph.gv.svg"
    assert "grad -1.5" in svg_texts(Path(rendered).read_bytes())
    assert (out / "computation graph.gv").read_text(encoding="utf-8") == g.source
    png = g.render(outfile=out / "g.png", cleanup=True)
    assert Path(png) == out / "g.png" and Path(png).read_bytes().startswith(b"\x89PNG")
    assert not (out / "g.gv").exists()  # cleanup removes the DOT file
    assert g.render(out / "h", format="png").endswith("h.png")
    with pytest.raises(FileExistsError):
        g.render(outfile=out / "g.png", raise_if_result_exists=True)
    assert opened == []
    viewed = g.view(directory=out / "v")
    assert opened == [viewed] and Path(viewed).read_bytes().startswith(b"<?xml")


def test_render_and_view_without_a_renderer_say_what_to_install(no_renderer, monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(viz.graphviz, "view", lambda path, quiet=False: opened.append(path))
    g = draw_dot(lecture()["o"])
    out = tmp_path / "out"
    for call in (lambda: g.render(directory=out), lambda: g.view(directory=out),
                 lambda: g.render(outfile=out / "g.png")):
        with pytest.raises(RendererNotFound, match="pip install graphviz-pure") as error:
            call()
        assert "apt-get install graphviz" in str(error.value)
    assert opened == [] and not out.exists()  # nothing half written, no viewer started


def test_notebook_display_renders_svg(use_dot):
    from IPython.core.interactiveshell import InteractiveShell

    g = draw_dot(lecture()["o"])
    assert isinstance(g, Drawing) and isinstance(g, viz.graphviz.Digraph)
    data, _ = InteractiveShell.instance().display_formatter.format(g)
    assert "<svg" in data["image/svg+xml"]


def test_notebook_without_renderer_shows_dot_text_and_one_warning(no_renderer, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    g = draw_dot(lecture()["o"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bundle = g._repr_mimebundle_()
    assert bundle == {"text/plain": g.source}
    assert len(caught) == 1 and issubclass(caught[0].category, RendererWarning)
    message = str(caught[0].message)
    assert "apt-get install graphviz" in message and "pip install graphviz-pure" in message
    assert "chainrule[render]" in message

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data, _ = InteractiveShell.instance().display_formatter.format(g)
    assert data["text/plain"] == g.source and "image/svg+xml" not in data
    assert len([w for w in caught if issubclass(w.category, RendererWarning)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_without_renderer_svg_and_png_fail_with_hints_and_dot_still_saves(no_renderer, tmp_path):
    g = draw_dot(lecture()["o"])
    for name in ("g.svg", "g.png"):
        with pytest.raises(RendererNotFound) as error:
            save(g, tmp_path / name)
        assert isinstance(error.value, RuntimeError)
        for hint in ("apt-get install graphviz", "pip install graphviz-pure", "CHAINRULE_DOT"):
            assert hint in str(error.value)
    assert save(g, tmp_path / "g.dot").read_text(encoding="utf-8") == g.source
    with pytest.raises(RendererNotFound):
        animate(lecture()["o"], tmp_path / "a.html")


def test_a_failing_renderer_is_a_warning_in_a_notebook(monkeypatch, tmp_path):
    broken = tmp_path / "broken-dot"
    broken.write_text("#!/bin/sh\necho 'Error: out of cheese' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CHAINRULE_DOT", str(broken))
    g = draw_dot(lecture()["o"])
    with pytest.warns(RendererWarning, match="out of cheese"):
        assert g._repr_mimebundle_() == {"text/plain": g.source}
    with pytest.raises(viz.RenderError, match="exit status 3"):
        save(g, tmp_path / "g.svg")


def test_import_without_graphviz_says_how_to_install():
    script = "import sys; sys.modules['graphviz'] = None; import chainrule.viz"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0
    assert "ImportError" in done.stderr and "pip install chainrule[viz]" in done.stderr


# ---------------------------------------------------------------------------- large graphs


def chain(n: int) -> Value:
    v = Value(0.5, label="x")
    for _ in range(n - 1):
        v = v.tanh()
    return v


def test_node_limit_error_names_the_count_and_the_summarising_option():
    root = chain(600)
    with pytest.raises(GraphTooLarge) as error:
        draw_dot(root)
    assert isinstance(error.value, ValueError)
    message = str(error.value)
    assert "600 values" in message and "max_nodes=500" in message
    assert "around=" in message and "depth=" in message
    assert error.value.count == 600 and error.value.limit == 500
    assert draw_dot(root, max_nodes=600).source.count("[label=\"{") == 600
    with pytest.raises(GraphTooLarge, match="10 values, more than max_nodes=5"):
        draw_dot(chain(10), max_nodes=5)


def test_around_draws_only_the_neighbourhood_with_stubs():
    root = chain(600)
    middle = root
    for _ in range(300):
        middle = middle._prev[0]
    nodes, edges = parse(draw_dot(root, around=middle, depth=2).source)
    values = [n for n in nodes if n.startswith("v")]
    assert len(values) == 5  # two steps either way
    assert any(n.startswith("more") for n in nodes)  # its inputs go on: "1 more"
    assert any(n.startswith("next") for n in nodes)  # it is used further: "used by 1 more"
    assert nodes["v2"]["penwidth"] == "3"  # the chosen value stands out
    g = lecture()
    nodes, _ = parse(draw_dot(g["o"], around=g["x1"], depth=0).source)
    assert [n for n in nodes if n.startswith("v")] == ["v0"]


# ---------------------------------------------------------------------------- step-through


def random_graph(data, n_leaves: int, n_ops: int) -> Value:
    nodes = [Value(data.draw(st.floats(-2, 2)), label=f"l{i}") for i in range(n_leaves)]
    for _ in range(n_ops):
        a = data.draw(st.sampled_from(nodes))
        b = data.draw(st.sampled_from(nodes))
        op = data.draw(st.sampled_from(["+", "*", "tanh", "sum", "dot"]))
        if op == "+":
            nodes.append(a + b)
        elif op == "*":
            nodes.append(a * b)
        elif op == "tanh":
            nodes.append(a.tanh())
        elif op == "sum":
            nodes.append(Value.sum([a, b, a]))
        else:
            nodes.append(Value.dot([a, b], [b, a], a))
    return nodes[-1]


def all_grads(root: Value) -> List[float]:
    return [v.grad for v in root.backward_order()]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_leaves=st.integers(1, 4), n_ops=st.integers(1, 8))
def test_steps_leave_exactly_the_grads_of_backward(data, n_leaves, n_ops):
    root = random_graph(data, n_leaves, n_ops)
    root.backward()
    root.backward()  # leaves accumulate; intermediate grads are recomputed
    expected = all_grads(root)
    for v in root.backward_order():
        v.grad = 0.0
    order = root.backward_order()
    steps = list(backward_steps(root))
    assert [s.node for s in steps] == order
    list(backward_steps(root))
    assert all_grads(root) == expected  # bit for bit
    assert len(steps) == len(order)
    for k, s in enumerate(steps):
        assert s.index == k and s.total == len(order)
        assert s.done == tuple(order[:k]) and s.pending == tuple(order[k + 1 :])


def test_step_snapshots_and_captions_for_the_lecture_neuron():
    g = lecture()
    steps = list(backward_steps(g["o"]))
    assert len(steps) == 10
    first = steps[0]
    assert first.node is g["o"] and first.grads[g["o"]] == 1.0
    assert first.grads[g["n"]] == pytest.approx(0.5) and first.grads[g["x1"]] == 0.0
    assert first.caption.splitlines() == [
        "step 1 of 10: o has its final grad 1 and passes it on:",
        "n.grad += 0.5 × 1",
    ]
    by_node = {s.node: s for s in steps}
    assert by_node[g["x1w1"]].caption.splitlines()[1] == "x1.grad += -3 × 0.5, w1.grad += 2 × 0.5"
    assert by_node[g["b"]].caption == (
        f"step {by_node[g['b']].index + 1} of 10: b is a leaf, nothing to pass on; b.grad = 0.5"
    )
    # the snapshot is a copy: later steps do not change it
    assert first.grads[g["x1"]] == 0.0 and g["x1"].grad == pytest.approx(-1.5)
    # a frame marks the current node, greys the pending ones, keeps done ones as they are
    nodes, _ = parse(by_node[g["x1w1"]].draw().source)
    ids = ids_by_label(nodes)
    assert nodes[ids["x1*w1"]]["color"] == style.GRAD_COLOR
    assert nodes[ids["x1"]]["style"] == "filled,dashed" and "fontcolor" not in nodes[ids["x1"]]
    assert nodes[ids["x1"]]["label"] == "{x1|data 2|grad -1.5}"  # just received
    assert "style" not in nodes[ids["o"]]  # done


def test_a_leaf_root_steps_once_and_accumulates():
    v = Value(2.0, label="v")
    v.grad = 1.0
    steps = list(backward_steps(v))
    assert len(steps) == 1 and v.grad == 2.0
    assert steps[0].caption == "step 1 of 1: v is a leaf, nothing to pass on; v.grad = 2"


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
    by_label = {s.node.label: s for s in steps}
    assert by_label["e"].caption.splitlines()[1] == "h.grad += 2.718 × 0.5"


def test_animate_steps_through_a_lecture_style_closure(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINRULE_DOT", graphviz_pure())
    x_ref, t_ref = closures_graph()
    t_ref.backward()
    x, t = closures_graph()
    page = animate(t, tmp_path / "steps.html").read_text(encoding="utf-8")
    assert all_grads(t) == all_grads(t_ref)
    assert page.count('class="caption"') == len(t.backward_order()) == 5
    assert "h.grad += 2.718 × 0.5" in page  # e's caption: the lecture closure's slope


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: List[Tuple[str, Dict[str, str]]] = []
        self.urls: List[str] = []

    def handle_starttag(self, tag, attributes):
        a = {k: v or "" for k, v in attributes}
        self.tags.append((tag, a))
        for key in ("src", "href", "xlink:href", "data"):
            if key in a:
                self.urls.append(a[key])


def test_animate_html_is_one_self_contained_page(use_dot, tmp_path):
    g = lecture()
    expected = None
    reference = lecture()
    reference["o"].backward()
    expected = all_grads(reference["o"])
    path = animate(g["o"], tmp_path / "steps.html", params=[g["w1"], g["w2"], g["b"]])
    assert all_grads(g["o"]) == expected
    page = path.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(page)
    parser.close()
    tags = [t for t, _ in parser.tags]
    assert tags.count("svg") == 10
    buttons = [a for t, a in parser.tags if t == "button"]
    assert {b.get("id") for b in buttons} >= {"prev", "next"}
    assert any(t == "input" and a.get("type") == "range" for t, a in parser.tags)
    assert "ArrowLeft" in page and "ArrowRight" in page
    assert "link" not in tags and all(not a.get("src") for t, a in parser.tags if t == "script")
    assert not [u for u in parser.urls if not u.startswith("#")]
    assert "http://" not in page and "https://" not in page
    assert page.count('class="caption"') == 10
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_animate_gif_has_one_frame_per_step_and_a_steady_layout(use_dot, tmp_path):
    from PIL import Image

    out, params = neuron(fused=False)
    n = len(out.backward_order())
    path = animate(out, tmp_path / "steps.gif", params=params, seconds_per_step=0.5)
    with Image.open(path) as image:
        assert image.format == "GIF" and image.n_frames == n
        assert image.info.get("loop") == 0
    # every frame lays out the same: the same SVG size from the first step to the last
    out, params = neuron(fused=False)
    steps = list(backward_steps(out))
    frames = _steady_frames(steps, "LR", ".4g", params)
    sources = [s.draw(_frame=f, params=params).source for s, f in zip(steps, frames)]
    header = re.compile(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
    sizes = {header.search(render._render(source, "svg")).groups() for source in sources}
    assert len(sizes) == 1


def test_animate_gif_with_graphviz_pure(monkeypatch, tmp_path):
    from PIL import Image

    monkeypatch.setenv("CHAINRULE_DOT", graphviz_pure())
    path = animate(lecture()["o"], tmp_path / "steps.gif")
    with Image.open(path) as image:
        assert image.n_frames == 10


def test_animate_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"\.gif or \.html"):
        animate(lecture()["o"], tmp_path / "steps.mp4")


# ---------------------------------------------------------------------------------- nn


def test_one_neuron_renders_readably_fused_and_fine_grained(use_dot):
    for fused in (True, False):
        out, params = neuron(fused)
        out.backward()
        source = draw_dot(out, params=params).source
        nodes, edges = parse(source)
        assert sum(n.startswith("v") for n in nodes) == len(out.backward_order())
        assert all("label" in e for a, b, e in edges if a.startswith("v"))  # all labelled
        done = render_with(use_dot, source)
        assert done.returncode == 0 and done.stderr == b""


def test_tiny_mlp_loss_on_two_points(use_dot):
    from chainrule.nn import MLP, mse

    model = MLP(2, [3, 1], seed=0)
    xs = [[Value(2.0, label="x00"), Value(3.0, label="x01")],
          [Value(-1.0, label="x10"), Value(0.5, label="x11")]]
    loss = mse([model(x) for x in xs], [1.0, -1.0])
    loss.label = "loss"
    loss.backward()
    g = draw_dot(loss, params=model)
    nodes, edges = parse(g.source)
    labels = [n["label"] for k, n in nodes.items() if k.startswith("v")]
    assert sum(label.startswith("{w.0|") for label in labels) == 4  # named by the model
    assert sum(n["fillcolor"] == style.KINDS["parameter"][0] for n in nodes.values()
               if "fillcolor" in n) == len(model.parameters())
    # 40 values: past EDGE_LABEL_LIMIT the local derivatives are left off, and said so
    assert not any("label" in e for _, _, e in edges if e.get("dir") == "both")
    assert "edge_labels=True" in g.source
    assert any("label" in e for _, _, e in parse(draw_dot(loss, edge_labels=True).source)[1])
    done = render_with(use_dot, g.source)
    assert done.returncode == 0 and done.stderr == b""


# ------------------------------------------------------------------------- a real kernel


def test_in_a_jupyter_kernel_svg_then_dot_text_with_one_warning(dot_program):
    """What a notebook really shows: SVG; without a renderer the DOT text, warned once."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "from chainrule import Value\n"
        "from chainrule.viz import draw_dot\n"
        "x = Value(2.0, label='x')\n"
        "y = (x * x).tanh()\n"
        "y.backward()\n"
        "draw_dot(y)",
        "import os\n"
        "from chainrule import viz\n"
        "os.environ['PATH'] = ''\n"
        "os.environ.pop('CHAINRULE_DOT', None)\n"
        "viz.render._scripts_dir = lambda: None\n"
        "draw_dot(y)",
        "draw_dot(y, view='forward')",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    shown, fallback, again = (cell.outputs for cell in notebook.cells)
    assert [o.output_type for o in shown] == ["execute_result"]
    assert "<svg" in shown[0].data["image/svg+xml"]
    results = [o for o in fallback if o.output_type == "execute_result"]
    assert list(results[0].data) == ["text/plain"]
    assert results[0].data["text/plain"].startswith('digraph "computation graph" {')
    warned = "".join(o.text for o in fallback if o.output_type == "stream")
    assert warned.count("RendererWarning") == 1 and "pip install graphviz-pure" in warned
    assert not any(o.output_type == "error" for o in fallback + again)
    assert [o.output_type for o in again] == ["execute_result"]  # no second warning


def test_a_step_displays_itself_in_a_notebook(no_renderer):
    step = next(backward_steps(lecture()["o"]))
    with pytest.warns(RendererWarning):
        bundle = step._repr_mimebundle_()
    assert bundle["text/plain"] == step.draw().source
    assert "step 1 of 10: o has its final grad 1" in bundle["text/plain"]
