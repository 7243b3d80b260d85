"""Saves under concurrency and kill -9, hostile paths and sizes, loading in linear time."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from chainrule import Value
from chainrule.nn import MLP, ModelFileError, Module, Neuron

ROOT = Path(__file__).resolve().parents[1]


def datas(model):
    return [p.data for p in model.parameters()]


def saved_bytes(model, folder: Path, name: str) -> bytes:
    model.save(folder / name)
    return (folder / name).read_bytes()


def child_env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


# ------------------------------------------------------------------------ concurrent saves


def test_saves_from_threads_never_mix_and_readers_see_whole_files(tmp_path):
    models = [MLP(2, [16, 16, 1], seed=s) for s in range(4)]
    expected = {tuple(datas(m)) for m in models}
    path = tmp_path / "m.json"
    models[0].save(path)
    errors, seen, done = [], [], threading.Event()

    def saver(model):
        try:
            for _ in range(30):
                model.save(path)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def reader():
        probe = MLP(2, [16, 16, 1], seed=9)
        while not done.is_set():
            try:
                probe.load(path)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
                return
            seen.append(tuple(datas(probe)))

    threads = [threading.Thread(target=saver, args=(m,)) for m in models]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert errors == []
    assert seen and set(seen) <= expected  # every read: one whole model, never a mix
    assert tuple(datas(MLP.from_file(path))) in expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary left


def test_a_users_own_tmp_file_is_never_touched(tmp_path, monkeypatch):
    mine = tmp_path / "m.json.tmp"
    mine.write_text("my notes, not a model\n")
    model = MLP(2, [3, 1], seed=0)
    model.save(tmp_path / "m.json")
    assert mine.read_text() == "my notes, not a model\n"

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="cannot save the model"):
        model.save(tmp_path / "m.json")
    assert mine.read_text() == "my notes, not a model\n"  # a failed save does not delete it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.json.tmp"]


_SAVER = """
import sys
from chainrule.nn import MLP
path, seed, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = MLP(2, [16, 16, 1], seed=seed)
for _ in range(rounds):
    model.save(path)
print("ok")
"""


@pytest.mark.slow
def test_saves_from_processes_all_succeed_and_leave_one_whole_file(tmp_path):
    path = tmp_path / "m.json"
    children = [subprocess.Popen([sys.executable, "-c", _SAVER, str(path), str(seed), "60"],
                                 env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for seed in range(3)]
    results = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], results
    assert all(out == "ok\n" for out, _ in results)
    loaded = MLP.from_file(path)
    assert datas(loaded) in [datas(MLP(2, [16, 16, 1], seed=s)) for s in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


_LOOP = """
import sys
from chainrule.nn import MLP
path = sys.argv[1]
a, b = MLP(2, [48, 48, 1], seed=1), MLP(2, [48, 48, 1], seed=2)
a.save(path)
print("ready", flush=True)
while True:
    b.save(path)
    a.save(path)
"""


@pytest.mark.slow
def test_kill_9_during_saves_leaves_a_whole_old_or_whole_new_file(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    whole = {saved_bytes(MLP(2, [48, 48, 1], seed=s), reference, f"{s}.json") for s in (1, 2)}
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "m.json.tmp").write_text("mine")
    path = folder / "m.json"
    for round_ in range(8):
        child = subprocess.Popen([sys.executable, "-c", _LOOP, str(path)], env=child_env(),
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n"
        time.sleep(0.05 + 0.037 * round_)  # a different point in the save loop each round
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        assert path.read_bytes() in whole  # whole old or whole new, never a mix or a stub
        assert (folder / "m.json.tmp").read_text() == "mine"
        MLP.from_file(path)


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "models" / "current.json"
    target.parent.mkdir()
    MLP(2, [3, 1], seed=0).save(target)
    link = tmp_path / "model.json"
    link.symlink_to(target)
    new = MLP(2, [3, 1], seed=1)
    new.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)  # as torch.save does
    assert datas(MLP.from_file(target)) == datas(new)
    assert sorted(p.name for p in target.parent.iterdir()) == ["current.json"]
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "models" / "later.json")
    new.save(dangling)
    assert dangling.is_symlink() and datas(MLP.from_file(tmp_path / "models" / "later.json")) \
        == datas(new)


def test_save_keeps_an_existing_files_permissions(tmp_path):
    path = tmp_path / "m.json"
    MLP(2, [1], seed=0).save(path)
    os.chmod(path, 0o640)
    MLP(2, [1], seed=1).save(path)
    assert path.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh.json"
    MLP(2, [1], seed=0).save(fresh)  # not mkstemp's private 0o600: what open() would give
    mask = os.umask(0)
    os.umask(mask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------------------------------- hostile paths, sizes


def _unblocked_within(call, seconds=10.0):
    """Run ``call`` in a thread; its exception, or a failure if it is still waiting."""
    outcome = []

    def run():
        try:
            call()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive(), outcome


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_at_once_never_waited_on(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    for call in (lambda: MLP.from_file(fifo), lambda: MLP(2, [1], seed=0).load(fifo)):
        hung, outcome = _unblocked_within(call)
        if hung:  # release the stuck reader before failing
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        assert not hung, "reading a FIFO waited for a writer"
        assert isinstance(outcome[0], ModelFileError)
        assert str(outcome[0]) == (f"{fifo}: not a model file: it is a FIFO (named pipe), "
                                   "not a regular file")


def test_a_device_is_refused():
    # /dev/null: a device read() of which ends at once; the same check stops /dev/zero,
    # which the old reader read until memory ran out (so it is not tried here)
    device = "/dev/null"
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ModelFileError, match=rf"{device}: not a model file: it is a character "
                                             r"device, not a regular file"):
        MLP.from_file(device)
    with pytest.raises(ModelFileError, match="character device"):
        MLP(2, [1], seed=0).load(device)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match=r"it is a directory, not a regular file"):
        MLP.from_file(tmp_path)


def tiny_file(path: Path, nouts, parameters=None) -> Path:
    doc = {"format": "chainrule-model", "version": 1,
           "architecture": {"type": "MLP", "nin": 2, "nouts": nouts, "activation": "relu"},
           "options": {}, "parameters": parameters or {"x": 0.0}}
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def count_neurons(monkeypatch):
    built = []
    original = Neuron.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Neuron, "__init__", counting)
    return built


def test_an_absurd_architecture_is_refused_before_anything_is_built(tmp_path, count_neurons):
    path = tiny_file(tmp_path / "m.json", [10**5, 10**5])
    assert path.stat().st_size < 200
    with pytest.raises(ModelFileError, match=r"m.json: MLP\(nin=2, nouts=\[100000, 100000\], "
                                             r"activation='relu'\) would have 10000400000 "
                                             r"parameters, more than the 10000000"):
        MLP.from_file(path)
    with pytest.raises(ModelFileError, match=r"MLP\(nin=2, nouts=\[1000, 1000\], "
                                             r"activation='relu'\) has 1004000 parameters, "
                                             r"but the file lists 1"):
        MLP.from_file(tiny_file(tmp_path / "m.json", [1000, 1000]))
    assert count_neurons == []
    with pytest.raises(ModelFileError, match=r"cannot build MLP\(nin=2, nouts=\[4, -1\], .*"
                                             r"every layer width in nouts must be an int >= 1"):
        MLP.from_file(tiny_file(tmp_path / "m.json", [4, -1]))
    assert count_neurons == []


def test_a_file_far_larger_than_its_architecture_needs_is_refused_unread(tmp_path):
    path = tmp_path / "m.json"
    MLP(2, [16, 16, 1], seed=0).save(path)
    with open(path, "r+b") as f:  # a valid model and then 200 MB (sparse: no disk used)
        f.seek(0, os.SEEK_END)
        f.truncate(f.tell() + 200_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"the file is 2000\d+ bytes, more than "
                                                 r"MLP\(nin=2, nouts=\[16, 16, 1\], "
                                                 r"activation='relu'\) can need"):
            MLP.from_file(path)
        with pytest.raises(ModelFileError, match=r"more than a model of 337 parameters can need"):
            MLP(2, [16, 16, 1], seed=1).load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the first 64 KiB were read, not the 200 MB


# ------------------------------------------------------------------------- linear loading


class Name(str):
    """A parameter name that counts how often it is hashed (dict and set look-ups)."""

    hashes = 0

    def __hash__(self):
        Name.hashes += 1
        return str.__hash__(self)


class Flat(Module):
    def __init__(self, n):
        self.ps = [Value(0.0) for _ in range(n)]

    def named_parameters(self):
        return [(Name(f"p{i}"), p) for i, p in enumerate(self.ps)]


def hashes_to_load(n, tmp_path):
    model = Flat(n)
    state = {f"p{i}": float(i) for i in range(n)}
    Name.hashes = 0
    model.load_state_dict(state)
    by_state = Name.hashes
    model.save(tmp_path / f"flat{n}.json")
    Name.hashes = 0
    model.load(tmp_path / f"flat{n}.json")
    return by_state, Name.hashes


def test_loading_is_linear_in_the_parameter_count(tmp_path):
    small, large = hashes_to_load(1_000, tmp_path), hashes_to_load(10_000, tmp_path)
    for a, b in zip(small, large):
        assert 0 < b <= 12 * a  # 10x the parameters, ~10x the work (was ~100x: quadratic)


# ------------------------------------------------------------------------------ bad flags


@pytest.mark.parametrize("flags, message", [
    (["--lr", "0"], r"argument --lr: must be a finite number > 0, got '0'"),
    (["--lr", "-1"], r"argument --lr: must be a finite number > 0, got '-1'"),
    (["--lr", "nan"], r"argument --lr: must be a finite number > 0, got 'nan'"),
    (["--lr", "inf"], r"argument --lr: must be a finite number > 0, got 'inf'"),
    (["--lr", "fast"], r"argument --lr: must be a number > 0, got 'fast'"),
    (["--steps", "0"], r"argument --steps: must be a whole number >= 1, got '0'"),
])
def test_the_regression_demo_refuses_bad_flags_as_usage_errors(flags, message):
    run = subprocess.run([sys.executable, str(ROOT / "demos" / "regression.py"), *flags],
                         env=child_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2  # argparse's usage error, before any training
    assert re.search(message, run.stderr), run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
