"""Hypothesis strategies shared by the engine, viz and tape tests (one place, one DAG generator)."""

from __future__ import annotations

from hypothesis import strategies as st

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-2, max_value=50, allow_nan=False, allow_infinity=False)
away_from_zero = finite.filter(lambda x: abs(x) > 1e-2)

UNARY_OPS = ["neg", "exp", "log", "tanh", "sigmoid", "relu", "abs", "pow2", "pow3", "powm1"]
BINARY_OPS = ["add", "sub", "mul", "div", "pow"]


def apply_op(op, a, b=None):
    """The same op on chainrule Values or torch tensors (their method names agree)."""
    if op == "neg":
        return -a
    if op in ("exp", "log", "tanh", "sigmoid", "relu"):
        return getattr(a, op)()
    if op == "abs":
        return abs(a)
    if op.startswith("pow") and b is None:
        return a ** {"pow2": 2, "pow3": 3, "powm1": -1}[op]
    return {"add": a + b, "sub": a - b, "mul": a * b}[op] if op in ("add", "sub", "mul") else (
        a / b if op == "div" else a**b
    )


@st.composite
def programs(draw):
    """Leaves, then instructions that read any earlier node (so sub-expressions are shared)."""
    leaves = draw(st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=4))
    steps = []
    for i in range(draw(st.integers(1, 12))):
        available = len(leaves) + i
        if draw(st.booleans()):
            steps.append(("unary", draw(st.sampled_from(UNARY_OPS)),
                          draw(st.integers(0, available - 1)), None))
        else:
            op = draw(st.sampled_from(BINARY_OPS))
            left = draw(st.integers(0, available - 1))
            # An operand is an earlier node or a constant, on either side.
            right = draw(st.one_of(st.integers(0, available - 1),
                                   st.tuples(st.sampled_from(["left", "right"]),
                                             st.floats(-3.0, 3.0))))
            steps.append(("binary", op, left, right))
    return leaves, steps


def run_program(program, leaf_factory):
    leaves, steps = program
    nodes = [leaf_factory(x) for x in leaves]
    for kind, op, left, right in steps:
        a = nodes[left]
        if kind == "unary":
            nodes.append(apply_op(op, a))
        elif isinstance(right, int):
            nodes.append(apply_op(op, a, nodes[right]))
        else:
            side, const = right
            nodes.append(apply_op(op, a, const) if side == "right" else apply_op(op, const, a))
    # The root reads the last node and one shared earlier node, so reuse is common.
    root = nodes[-1] * 0.5 + nodes[len(nodes) // 2]
    return nodes, root
