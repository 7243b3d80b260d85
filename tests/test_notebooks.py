"""The workshop notebooks run top to bottom, and the exercise checkers judge fairly.

Every notebook in demos/ and demos/solutions/ is executed by nbmake's own runner
(``nbmake.nb_run.NotebookRun``, kernel ``python3``, the notebook's folder as working
directory), so a notebook fails here exactly when ``pytest --nbmake`` would fail it:
on any error output. Notebooks 01 and 02 run a second time in a kernel that has no
Graphviz renderer at all, and must still run clean, their drawings carried to the page
as DOT for the bundled viz.js to draw. The exercise checkers (demos/workshop_checks.py)
must say "not done yet" for the blank exercises, "passed" for the solutions, and fail
typical wrong answers with a hint, never with a traceback.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from support import missing, require

nbformat = require("nbformat")
require("nbmake")
from nbmake import nb_run  # noqa: E402

from chainrule import Value  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"
NOTEBOOKS = sorted(DEMOS.glob("*.ipynb")) + sorted((DEMOS / "solutions").glob("*.ipynb"))
EXERCISES = DEMOS / "05_exercises.ipynb"
SOLUTIONS = DEMOS / "solutions" / "05_exercises.ipynb"
CELL_TIMEOUT = 300  # seconds per cell; every notebook takes well under a minute in all

sys.path.insert(0, str(DEMOS))
import workshop_checks as checks  # noqa: E402

sys.path.remove(str(DEMOS))


def _name(path: Path) -> str:
    return str(path.relative_to(DEMOS))


# Notebooks that use an optional group: without it they skip (in CI, fail), as require() does.
NEEDS = {"06_from_chainrule_to_pytorch.ipynb": "torch"}


# ------------------------------------------------------------------ running notebooks

_executed: Dict[Path, Any] = {}


def _execute(path: Path) -> Any:
    """Run a notebook the way nbmake does (once per session) and return it with outputs."""
    if _name(path) in NEEDS:
        require(NEEDS[_name(path)])
    if path not in _executed:
        start = time.perf_counter()
        result = nb_run.NotebookRun(path, CELL_TIMEOUT, kernel="python3").execute()
        seconds = time.perf_counter() - start
        print(f"{_name(path)}: {seconds:.1f} s")
        if result.error is not None:
            pytest.fail(f"{_name(path)} failed in cell {result.error.failing_cell_index}:\n"
                        f"{result.error.trace}", pytrace=False)
        _executed[path] = result.nb
    return _executed[path]


def _outputs(nb: Any) -> List[Any]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def _text(nb: Any) -> str:
    """Everything the notebook printed or displayed as text, in order."""
    parts = []
    for out in _outputs(nb):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
    return "\n".join(parts)


def _assert_no_errors(nb: Any, name: str) -> None:
    errors = [out for out in _outputs(nb) if out.output_type == "error"]
    assert not errors, f"{name}: error output {errors[0].ename}: {errors[0].evalue}"
    assert "Traceback" not in _text(nb), f"{name}: a traceback was printed"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    nb = _execute(path)
    _assert_no_errors(nb, _name(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_is_committed_clean(path: Path) -> None:
    """Valid nbformat 4, kernel python3, no outputs and no execution counts in git."""
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: strip them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"


def test_expected_notebooks_exist() -> None:
    names = {_name(path) for path in NOTEBOOKS}
    assert names >= {
        "01_derivatives_and_value.ipynb", "02_neuron_layer_mlp.ipynb",
        "03_moons_classifier.ipynb", "04_line_fit.ipynb", "05_exercises.ipynb",
        "06_from_chainrule_to_pytorch.ipynb", os.path.join("solutions", "05_exercises.ipynb"),
    }


# ------------------------------------------------------------ graphs, with a renderer


@pytest.mark.slow
def test_graph_cells_render_pictures_when_a_renderer_exists() -> None:
    require("graphviz")
    from chainrule.viz import find_renderer
    from chainrule.viz.browser import carried_dot
    if find_renderer() is None:
        missing("dot", "no Graphviz renderer found")
    for name in ("01_derivatives_and_value.ipynb", "02_neuron_layer_mlp.ipynb"):
        nb = _execute(DEMOS / name)
        svgs = [out for out in _outputs(nb) if "<svg" in _html_or_svg(out)]
        assert len(svgs) >= 3, f"{name}: expected rendered graphs, got {len(svgs)}"
    page = DEMOS / "out" / "backward_steps.html"
    frames = carried_dot(page.read_text(encoding="utf-8"))
    assert frames and all(dot.startswith("digraph") for dot in frames)


def _html_or_svg(out: Any) -> str:
    data = out.get("data", {})
    return data.get("image/svg+xml", "") + data.get("text/html", "")


# --------------------------------------------------------- graphs, without a renderer


def _renderer_free_kernel(tmp_path: Path) -> Dict[str, Any]:
    """A python3 kernel that can import everything but finds no Graphviz renderer.

    chainrule.viz looks for ``$CHAINRULE_DOT``, then ``dot`` and ``graphviz-pure`` on
    PATH, then ``graphviz-pure`` next to the running Python (a venv's bin/). So the
    kernel runs from a throwaway venv (nothing in its bin/ but python) that borrows
    this environment's packages, with CHAINRULE_DOT unset and PATH stripped of every
    folder holding a renderer: the situation of a student who never installed one.
    """
    if os.name == "nt":
        pytest.skip("the renderer-free kernel is built for POSIX paths")
    venv = tmp_path / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        missing("nbclient", f"a throwaway venv could not be made: {error}")
    python = venv / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
    (Path(site_dir) / "borrow_test_packages.pth").write_text(lines, encoding="utf-8")

    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (no renderer)",
        "language": "python",
    }), encoding="utf-8")

    env = dict(os.environ)
    env.pop("CHAINRULE_DOT", None)
    env["PATH"] = os.pathsep.join(
        folder for folder in env.get("PATH", "").split(os.pathsep)
        if folder and not any(shutil.which(name, path=folder) for name in ("dot", "graphviz-pure"))
    )
    probe = subprocess.run(
        [str(python), "-c", "from chainrule.viz import find_renderer; print(find_renderer())"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "None", f"the kernel still finds {probe.stdout.strip()}"
    return {"kernel_dirs": [str(tmp_path / "kernels")], "env": env}


def _execute_without_renderer(path: Path, kernel: Dict[str, Any]) -> Any:
    """nbmake's semantics (stop at the first error) in the renderer-free kernel."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(path), as_version=4)
    specs = KernelSpecManager(kernel_dirs=kernel["kernel_dirs"])
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", km=manager,
                            allow_errors=False)
    try:
        client.execute(cwd=str(path.parent), env=kernel["env"])
    except CellExecutionError as error:
        pytest.fail(f"{_name(path)} failed without a renderer:\n{error}", pytrace=False)
    return nb


@pytest.mark.slow
def test_graph_cells_draw_in_the_page_without_a_renderer(tmp_path: Path) -> None:
    require("graphviz")
    from chainrule.viz.browser import carried_dot
    kernel = _renderer_free_kernel(tmp_path)
    texts = {}
    for name in ("01_derivatives_and_value.ipynb", "02_neuron_layer_mlp.ipynb"):
        nb = _execute_without_renderer(DEMOS / name, kernel)
        _assert_no_errors(nb, name)
        outputs = _outputs(nb)
        assert not [out for out in outputs if "image/svg+xml" in out.get("data", {})]
        in_page = [dot for out in outputs for dot in carried_dot(_html_or_svg(out))]
        assert len(in_page) >= 3, f"{name}: expected drawings carried to the page as DOT"
        assert all(dot.startswith("digraph") for dot in in_page)
        texts[name] = _text(nb)
    # The captions print, and the step-through page is written: it draws in the browser.
    text = texts["01_derivatives_and_value.ipynb"]
    assert "step 0 of" in text and "seed the output" in text
    assert "backward_steps.html: open it in a browser" in text


# ------------------------------------------------------------ the exercise notebooks


def _exercise_namespace(path: Path) -> Dict[str, Any]:
    """Run only the cells tagged "exercise" (the student's answers) of a notebook."""
    nb = nbformat.read(str(path), as_version=4)
    namespace: Dict[str, Any] = {"math": math, "Value": Value}
    cells = [cell for cell in nb.cells if "exercise" in cell.metadata.get("tags", [])]
    assert len(cells) == 4, f"{_name(path)}: expected 4 exercise cells, found {len(cells)}"
    for cell in cells:
        exec(compile(cell.source, f"{_name(path)} exercise cell", "exec"), namespace)
    return namespace


def _verdicts(namespace: Dict[str, Any]) -> List[Any]:
    return [
        checks.check_sin(namespace["sin"]),
        checks.check_softplus(namespace["softplus"]),
        checks.check_hand_gradients(namespace["df_da"], namespace["df_db"]),
        checks.check_learning_rate(namespace["learning_rate"]),
    ]


def test_checkers_say_not_done_yet_for_the_blank_exercises() -> None:
    verdicts = _verdicts(_exercise_namespace(EXERCISES))
    assert [v.status for v in verdicts] == [checks.NOT_DONE] * 4, verdicts
    assert not any(verdicts)
    # a plain-text mark every font has (emoji show as empty boxes without an emoji font)
    assert all(str(v).startswith("[NOT DONE YET] — ") for v in verdicts), verdicts


def test_checkers_pass_the_solutions() -> None:
    verdicts = _verdicts(_exercise_namespace(SOLUTIONS))
    assert [v.status for v in verdicts] == [checks.PASSED] * 4, verdicts
    assert all(verdicts)


def test_solutions_notebook_is_the_exercises_notebook_with_blanks_filled() -> None:
    blank = nbformat.read(str(EXERCISES), as_version=4)
    solved = nbformat.read(str(SOLUTIONS), as_version=4)
    assert len(blank.cells) == len(solved.cells)
    for i, (a, b) in enumerate(zip(blank.cells, solved.cells)):
        assert a.cell_type == b.cell_type, f"cell {i}"
        if a.cell_type == "code" and "exercise" not in a.metadata.get("tags", []):
            assert a.source == b.source, f"cell {i} differs but is not an exercise cell"


@pytest.mark.slow
def test_exercise_notebook_runs_and_reports_not_done_yet() -> None:
    text = _text(_execute(EXERCISES))
    assert text.count("NOT DONE YET") == 8  # four checker cells, then the score cell
    assert "PASSED" not in text and "NOT YET RIGHT" not in text
    assert "0 of 4 exercises passed" in text


@pytest.mark.slow
def test_solutions_notebook_runs_and_passes_every_checker() -> None:
    text = _text(_execute(SOLUTIONS))
    assert text.count(checks.MARKS[checks.PASSED]) == 8
    assert "NOT DONE YET" not in text and "NOT YET RIGHT" not in text
    assert "4 of 4 exercises passed" in text


# ----------------------------------------------------- wrong answers get a kind hint


def _op(forward, slope, *, accumulate=True, chain=True, children=True, closure=True):
    """A unary op built the way a student might, with one chosen mistake."""
    def op(x):
        out = Value(forward(x.data), (x,) if children else (), "op")
        def _backward(grad):
            g = slope(x.data) * (grad if chain else 1.0)
            if accumulate:
                x.grad += g
            else:
                x.grad = g
        if closure:
            out._backward = _backward
        return out
    return op


def _lecture_style(x):
    out = Value(math.sin(x.data), (x,), "sin")
    def _backward():  # micrograd's lecture reads out.grad; the engine accepts both shapes
        x.grad += math.cos(x.data) * out.grad
    out._backward = _backward
    return out


def test_sin_checker_accepts_a_lecture_style_closure() -> None:
    assert checks.check_sin(_lecture_style).status == checks.PASSED


def _raises(x):
    raise ValueError("oops")


@pytest.mark.parametrize("answer, hint", [
    (_op(math.sin, lambda x: -math.cos(x)), "cos(x)"),
    (_op(math.sin, math.cos, accumulate=False), "ADD to x.grad"),
    (_op(math.sin, math.cos, chain=False), "multiply the local derivative"),
    (_op(math.sin, math.cos, children=False), "does not remember its input"),
    (_op(math.sin, math.cos, closure=False), "has no closure"),
    (_op(math.cos, lambda x: -math.sin(x)), "forward value is off"),
    (_raises, "ValueError: oops"),
    (lambda x: math.sin(x.data), "must return a Value"),
], ids=["wrong-slope", "overwrites-grad", "no-chain-rule", "no-children", "no-closure",
        "wrong-forward", "raises", "returns-float"])
def test_sin_checker_fails_mistakes_with_a_hint(answer, hint) -> None:
    verdict = checks.check_sin(answer)
    assert verdict.status == checks.FAILED
    assert hint in str(verdict)


def test_softplus_checker_accepts_a_composition_but_suggests_a_closure() -> None:
    verdict = checks.check_softplus(lambda x: (1 + x.exp()).log())
    assert verdict.status == checks.PASSED
    assert "closure" in verdict.message


def test_closure_that_still_raises_not_implemented_is_not_done_yet() -> None:
    def half_done(x):
        out = Value(math.sin(x.data), (x,), "sin")
        def _backward(grad):
            raise NotImplementedError
        out._backward = _backward
        return out
    assert checks.check_sin(half_done).status == checks.NOT_DONE


@pytest.mark.parametrize("df_da, df_db, hint", [
    (54, 54, "df_db = 54"),
    (-54, -54, "df_da = -54"),
    ("fifty-four", -54, "must be a number"),
    (54, ..., "fill in both"),
])
def test_hand_gradient_checker(df_da, df_db, hint) -> None:
    verdict = checks.check_hand_gradients(df_da, df_db)
    assert not verdict
    assert hint in str(verdict)


@pytest.mark.parametrize("lr, hint", [
    (0.01, "too timid"),
    (0.97, "overshoot"),
    (1.5, "grows"),
    (1e6, "grows"),
    (-0.1, "positive"),
    ("big", "must be a number"),
])
def test_learning_rate_checker(lr, hint) -> None:
    verdict = checks.check_learning_rate(lr)
    assert verdict.status == checks.FAILED
    assert hint in str(verdict)


@pytest.mark.parametrize("lr", [0.2, 0.5, 0.9])
def test_learning_rate_checker_passes_good_rates(lr) -> None:
    assert checks.check_learning_rate(lr)
