"""demos/moons.py (the README's first command) and demos/regression.py, run in-process."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from chainrule.data import make_moons
from chainrule.nn import MLP
from chainrule.train import accuracy

DEMOS = Path(__file__).resolve().parent.parent / "demos"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_demo(name):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def moons():
    return load_demo("moons")


def written_files(stdout):
    return [Path(line[len("wrote "):]) for line in stdout.splitlines() if line.startswith("wrote ")]


def test_default_run_reaches_full_training_accuracy_and_writes_everything(
        moons, tmp_path, capsys):
    """Exactly what `python3 tasks.py demo` does, into tmp_path: the README's claim."""
    assert moons.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert "train accuracy 100% (100/100) after 100 steps" in last

    files = written_files(out)
    names = {p.name for p in files}
    assert {"decision_boundary.png", "training_curves.png", "model.json"} <= names
    assert names - {"decision_boundary.png", "training_curves.png", "model.json"} in (
        {"neuron_forward.svg", "neuron_backward.svg"},  # with a Graphviz renderer
        {"neuron_forward.dot", "neuron_backward.dot"},  # without one
    )
    assert all(p.parent == tmp_path and p.stat().st_size > 0 for p in files)
    for png in ("decision_boundary.png", "training_curves.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG_MAGIC

    # the saved file is the trained model: it classifies the demo's data perfectly
    model = MLP.from_file(tmp_path / "model.json")
    X, labels = make_moons(100, noise=0.1, seed=1337)
    assert accuracy(model, X, [2 * t - 1 for t in labels]) == 1.0


def test_saved_model_gives_the_trained_models_outputs(moons, tmp_path, capsys):
    argv = ["--steps", "3", "--hidden", "4", "3", "--seed", "2", "--out", str(tmp_path)]
    assert moons.main(argv) == 0
    out = capsys.readouterr().out
    assert "model: MLP(2, [4, 3, 1]), 31 parameters" in out
    assert re.search(r"train accuracy \d+% \(\d+/100\) after 3 steps", out)

    trained, _, X, _ = moons.train(moons.parse_args(argv))  # seeded: the same run again
    loaded = MLP.from_file(tmp_path / "model.json")
    assert [loaded(x).data for x in X] == [trained(x).data for x in X]
    doc = json.loads((tmp_path / "model.json").read_text())
    assert doc["architecture"]["nouts"] == [4, 3, 1]


def test_mini_batches_epochs_and_adam(moons, tmp_path, capsys):
    argv = ["--batch-size", "25", "--epochs", "2", "--optimizer", "adam", "--hidden", "4",
            "--out", str(tmp_path)]
    assert moons.main(argv) == 0
    assert "after 8 steps" in capsys.readouterr().out  # 2 epochs of 4 batches
    _, history, _, _ = moons.train(moons.parse_args(argv))
    assert len(history["loss"]) == len(history["accuracy"]) == 8


@pytest.mark.parametrize("argv, message", [
    (["--steps", "3", "--epochs", "2"], "give --steps or --epochs, not both"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--hidden", "4", "0"], r"--hidden widths must be at least 1"),
    (["--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
])
def test_bad_flags_exit_with_a_message(moons, argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        moons.main(argv)
    assert info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_without_a_renderer_the_graphs_are_written_as_dot(moons, tmp_path, capsys, monkeypatch):
    from chainrule import viz

    def no_renderer(graph, path, **kwargs):
        if Path(path).suffix != ".dot":
            raise viz.RendererNotFound("no dot here")
        return real_save(graph, path, **kwargs)

    real_save = viz.save
    monkeypatch.setattr(viz, "save", no_renderer)
    assert moons.main(["--steps", "1", "--hidden", "2", "--out", str(tmp_path)]) == 0
    names = {p.name for p in written_files(capsys.readouterr().out)}
    assert {"neuron_forward.dot", "neuron_backward.dot"} <= names
    source = (tmp_path / "neuron_backward.dot").read_text()
    assert source.startswith(("digraph", "strict digraph"))


def test_without_viz_the_demo_still_runs(moons, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "chainrule.viz", None)  # import raises ImportError
    assert moons.main(["--steps", "1", "--hidden", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "skipped the neuron graphs" in out
    assert len(written_files(out)) == 3


def test_regression_demo_recovers_the_line(capsys):
    assert load_demo("regression").main([]) == 0
    out = capsys.readouterr().out
    a, b = map(float, re.search(r"learned a = (\S+), b = (\S+)", out).groups())
    assert abs(a - 2.0) < 0.1 and abs(b + 1.0) < 0.1
    assert "true    a = 2.0000, b = -1.0000" in out
