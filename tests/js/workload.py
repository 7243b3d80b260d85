"""What tests/test_pyodide.py runs twice, in CPython and in Pyodide, to compare.

``run(out_dir)`` returns a JSON-able dict: the README example's numbers, the losses of a
few Adam steps on make_moons, and the DOT texts a drawing's notebook output and an
``animate()`` page carry (written under ``out_dir``). No renderer is expected: in
Pyodide there is no subprocess, so every picture is drawn in the page by viz.js.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List


def readme() -> Dict[str, float]:
    from chainrule import Value

    a = Value(2.0)
    b = Value(-3.0)
    c = a * b + 1
    c.backward()
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    bias = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + bias).tanh()
    o.backward()
    return {"c": c.data, "a.grad": a.grad, "b.grad": b.grad,
            "o": o.data, "x1.grad": x1.grad, "w1.grad": w1.grad}


def moons_losses(steps: int = 4) -> List[float]:
    from chainrule import Value
    from chainrule.data import make_moons
    from chainrule.nn import MLP, binary_cross_entropy_with_logits
    from chainrule.optim import Adam

    xs, ys = make_moons(n_samples=24, noise=0.1, seed=3)
    model = MLP(2, [8, 8, 1], seed=7)
    optimizer = Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        logits = [model([Value(x) for x in point]) for point in xs]
        loss = binary_cross_entropy_with_logits(logits, ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    return losses


def pictures(out_dir: Path) -> Dict[str, Any]:
    from chainrule import Value
    from chainrule.viz import animate, browser, draw_dot, find_renderer

    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    bias = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + bias).tanh()
    o.label = "o"
    o.backward()
    bundle = draw_dot(o)._repr_mimebundle_()
    page = animate(o, out_dir / "steps.html").read_text(encoding="utf-8")
    (out_dir / "notebook.html").write_text(bundle.get("text/html", ""), encoding="utf-8")
    return {
        "renderer": find_renderer(),
        "mimetypes": sorted(bundle),
        "notebook_dots": browser.carried_dot(bundle.get("text/html", "")),
        "page_dots": browser.carried_dot(page),
        "grads_after": [x1.grad, w1.grad, x2.grad, w2.grad, bias.grad, o.grad],
    }


def run(out_dir: Path) -> Dict[str, Any]:
    result: Dict[str, Any] = {"platform": sys.platform, "readme": readme(),
                              "losses": moons_losses()}
    result.update(pictures(Path(out_dir)))
    return result
