"""Small graphs the tests share: the lecture's neuron and the diamond (values used twice)."""

from __future__ import annotations

from typing import Dict

from chainrule import Value


def lecture() -> Dict[str, Value]:
    """micrograd's lecture neuron: o = tanh(x1*w1 + x2*w2 + b), every value labelled."""
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


def diamond() -> Dict[str, Value]:
    """The lecture's bug example: a and b are each used twice, f = (a*b) * (a+b)."""
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d = a * b
    d.label = "d"
    e = a + b
    e.label = "e"
    f = d * e
    f.label = "f"
    return dict(a=a, b=b, d=d, e=e, f=f)
