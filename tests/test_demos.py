"""demos/moons.py (the README's first command) and demos/regression.py, run in-process."""

from __future__ import annotations

import importlib.util
import json
import os
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


GRAPHS = {"neuron_forward", "neuron_backward"}


def check_neuron_graphs(paths):
    """The two neuron drawings: SVG when a renderer is there, else DOT text.

    CI sets CHAINRULE_REQUIRE_DOT, and then only real SVG will do: a broken or missing
    renderer must fail the run, not fall back to .dot unnoticed.
    """
    graphs = {p.name: p for p in paths if p.stem in GRAPHS}
    svg = {f"{stem}.svg" for stem in GRAPHS}
    if os.environ.get("CHAINRULE_REQUIRE_DOT"):
        assert set(graphs) == svg, (
            f"CHAINRULE_REQUIRE_DOT is set, so the demo must render SVG, but it wrote "
            f"{sorted(graphs)}")
    else:
        assert set(graphs) in (svg, {f"{stem}.dot" for stem in GRAPHS}), sorted(graphs)
    for name, path in graphs.items():
        head = path.read_bytes()[:200].lstrip()
        if name.endswith(".svg"):
            assert head.startswith((b"<?xml", b"<svg")), f"{path} is not SVG: {head[:40]!r}"
        else:
            assert head.startswith((b"digraph", b"strict digraph")), f"{path}: {head[:40]!r}"


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
    assert len(names) == 5
    check_neuron_graphs(files)  # SVG with a renderer (required in CI), else DOT
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
    _broken_renderer(monkeypatch)
    assert moons.main(["--steps", "1", "--hidden", "2", "--out", str(tmp_path)]) == 0
    names = {p.name for p in written_files(capsys.readouterr().out)}
    assert {"neuron_forward.dot", "neuron_backward.dot"} <= names
    source = (tmp_path / "neuron_backward.dot").read_text()
    assert source.startswith(("digraph", "strict digraph"))


def _broken_renderer(monkeypatch):
    """viz.save that cannot render: the demo falls back to writing .dot text."""
    from chainrule import viz

    real_save = viz.save

    def no_renderer(graph, path, **kwargs):
        if Path(path).suffix != ".dot":
            raise viz.RendererNotFound("no dot here")
        return real_save(graph, path, **kwargs)

    monkeypatch.setattr(viz, "save", no_renderer)


def test_when_dot_is_required_a_dot_fallback_fails_the_check(moons, tmp_path, capsys,
                                                             monkeypatch):
    """In CI (CHAINRULE_REQUIRE_DOT) a renderer that falls back to .dot must not pass."""
    _broken_renderer(monkeypatch)
    assert moons.main(["--steps", "1", "--hidden", "2", "--out", str(tmp_path)]) == 0
    files = written_files(capsys.readouterr().out)
    monkeypatch.delenv("CHAINRULE_REQUIRE_DOT", raising=False)
    check_neuron_graphs(files)  # a casual run: DOT text is fine
    monkeypatch.setenv("CHAINRULE_REQUIRE_DOT", "1")
    with pytest.raises(AssertionError, match="CHAINRULE_REQUIRE_DOT is set, so the demo must "
                                             "render SVG"):
        check_neuron_graphs(files)


def test_an_svg_file_that_is_not_svg_fails_the_check(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_REQUIRE_DOT", "1")
    files = [tmp_path / "neuron_forward.svg", tmp_path / "neuron_backward.svg"]
    files[0].write_text('<?xml version="1.0"?>\n<svg></svg>\n')
    files[1].write_text("digraph { a -> b }\n")  # DOT text under an .svg name
    with pytest.raises(AssertionError, match=r"neuron_backward.svg is not SVG"):
        check_neuron_graphs(files)
    files[1].write_text("<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    check_neuron_graphs(files)


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


# ------------------------------------------------------------ the demo's command line


def test_lr_zero_trains_with_zero(moons, tmp_path, capsys):
    argv = ["--lr", "0", "--steps", "3", "--hidden", "3", "--out", str(tmp_path)]
    assert moons.main(argv) == 0
    initial = MLP(2, [3, 1], seed=1337, fused=True)  # the demo's seeded start
    trained = MLP.from_file(tmp_path / "model.json")
    assert trained.state_dict() == initial.state_dict()  # lr 0: not one parameter moved


@pytest.mark.parametrize("lr", ["-1", "nan", "inf", "-inf", "fast"])
def test_a_bad_lr_is_a_usage_error(moons, lr, capsys):
    with pytest.raises(SystemExit) as info:
        moons.main([f"--lr={lr}", "--steps", "1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(rf"argument --lr: must be a (finite number >= 0|number), got '{lr}'", err)


def _unwritable_dir(tmp_path):
    """A directory this process cannot write into (root ignores permission bits)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        (locked / "probe").write_text("")
    except OSError:
        return locked
    (locked / "probe").unlink()
    if Path("/sys/kernel").is_dir():  # sysfs: not even root makes files there
        return Path("/sys/kernel")
    pytest.skip("no directory here is unwritable for this user")


@pytest.mark.parametrize("kind", ["file", "under-a-file", "unwritable"])
def test_an_unusable_out_is_found_before_training(moons, tmp_path, kind, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    out = {"file": a_file, "under-a-file": a_file / "sub",
           "unwritable": _unwritable_dir(tmp_path)}[kind]
    with pytest.raises(SystemExit) as info:
        moons.main(["--steps", "1", "--out", str(out)])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert re.search(rf"argument --out|--out: cannot write to '{re.escape(str(out))}'",
                     captured.err), captured.err
    assert "model:" not in captured.out  # no training started
    assert a_file.read_text() == "not a directory"


@pytest.mark.parametrize("extra", [[], ["--batch-size", "25"], ["--optimizer", "adam"]])
def test_compile_trains_to_the_same_numbers(moons, extra, tmp_path):
    argv = ["--steps", "12", "--hidden", "8", "8", "--out", str(tmp_path), *extra]
    model, history, X, _ = moons.train(moons.parse_args(argv))
    taped, taped_history, _, _ = moons.train(moons.parse_args([*argv, "--compile"]))
    assert taped_history == history
    assert taped.state_dict() == model.state_dict()


def test_compile_runs_the_whole_demo(moons, tmp_path, capsys):
    assert moons.main(["--compile", "--out", str(tmp_path)]) == 0
    assert "train accuracy 100% (100/100) after 100 steps" in capsys.readouterr().out
