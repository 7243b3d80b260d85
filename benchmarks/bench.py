#!/usr/bin/env python3
"""chainrule side by side with micrograd (and PyTorch, when installed): speed and memory.

    python3 tasks.py bench                       # the full run, a few minutes
    python3 tasks.py bench --quick               # a smoke run, seconds
    .venv/bin/python benchmarks/bench.py --workloads moons-step chain --repeats 5
    .venv/bin/python benchmarks/bench.py --engines chainrule-fused micrograd --quick

Every measurement runs in a fresh Python process (``--worker``), engines interleaved
round by round, so one engine's garbage, caches or imports never tax another. The table
gives the median, min and max over the processes and the ratio to micrograd's median
in the same run ("12.3x" = 12.3 times faster than micrograd). Results also go to
``benchmarks/results/latest.json`` (or ``--out``). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"
SCHEMA = 1

ENGINES = ["chainrule-fused", "chainrule-fine", "chainrule-tape", "chainrule-tape-numpy",
           "float-floor", "micrograd", "torch-scalar", "torch-batched"]
TAPES = {"chainrule-tape": "python", "chainrule-tape-numpy": "numpy"}
ENGINE_NOTES = {
    "chainrule-fused": "chainrule, one Value.dot node per neuron, nn.hinge + nn.l2 losses",
    "chainrule-fine": "chainrule, micrograd's fine-grained graph: one node per * and +",
    "chainrule-tape": "chainrule-fused's graph recorded once in a Tape, replayed in Python",
    "chainrule-tape-numpy": "the same Tape replayed with numpy (one vector op per op and depth)",
    "float-floor": "the step written by hand on Python floats: no graph (float_floor.py)",
    "micrograd": "micrograd 0.1.0 from PyPI (relu in place of tanh in chain)",
    "torch-scalar": "PyTorch, op by op on 0-d float64 tensors (micrograd's graph)",
    "torch-batched": "PyTorch, float64 tensors, the whole batch at once",
}
WORKLOADS = ["moons-step", "class-epoch", "chain", "wide", "memory", "attrs", "lock"]
# Which engines run which workload: a chain has no fused or batched form.
SUPPORTS = {
    "moons-step": set(ENGINES),
    # MLP(2, [64, 64, 1]) on 1,000 points: minutes per epoch for micrograd, skipped
    "class-epoch": {"chainrule-fused", "chainrule-tape", "chainrule-tape-numpy", "float-floor",
                    "torch-batched"},
    "chain": {"chainrule-fine", "micrograd", "torch-scalar"},
    "wide": {"chainrule-fused", "chainrule-fine", "micrograd", "torch-scalar", "torch-batched"},
    "memory": {"chainrule-fused", "chainrule-fine", "micrograd"},  # tracemalloc: Python heap only
    "attrs": {"chainrule-fine"},  # what client attributes (Value.__dict__) cost per node
    "lock": {"chainrule-fine"},  # what backward()'s thread lock costs per call
}
FULL = {
    "chain": [100, 1_000, 10_000, 100_000, 1_000_000],
    "wide": [1_000, 10_000, 100_000],
    "memory_nodes": 100_000,
    "class_points": 1_000,
    "repeats": 3,
}
QUICK = {"chain": [100, 1_000], "wide": [1_000], "memory_nodes": 10_000, "class_points": 50,
         "repeats": 1}
# Graphs too big to be worth the minutes (micrograd: ~1 kB per node, freed only by the
# cyclic collector; PyTorch: ~10 us per scalar op). Run them with --no-size-limits.
SIZE_LIMITS = {("chain", "micrograd"): 100_000, ("chain", "torch-scalar"): 100_000}


# =============================================================================== workers
#
# A worker process measures one (engine, workload, size) cell and prints one JSON line.


def nodes_in(workload: str, n: int) -> int:
    """Values in the fine-grained graph; per-node figures divide by this for every engine."""
    if workload == "chain":  # x, then per step: constant, *, constant, +, tanh
        return 5 * n + 1
    return 4 * n - 1  # wide: 2n leaves, n products, n - 1 additions


def moons_data(n: int) -> Any:
    sys.path.insert(0, str(ROOT))
    from chainrule.data import make_moons

    X, labels = make_moons(n, noise=0.1, seed=1337)
    return X, [2 * label - 1 for label in labels]  # the hinge loss wants -1/+1


def micrograd_style_step(Value: Any, model: Any, X: Any, y: Any) -> Callable[[int], float]:
    """micrograd's demo, line for line: full-batch max-margin loss + L2, SGD."""
    params = model.parameters()

    def step(k: int) -> float:
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in params)
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in params:
            p.data -= learning_rate * p.grad
        return total_loss.data

    return step


class ChainruleEngine:
    def __init__(self, fused: bool, tape: Optional[str] = None) -> None:
        sys.path.insert(0, str(ROOT))
        import chainrule
        from chainrule import Value

        self.Value, self.fused, self.version = Value, fused, chainrule.__version__
        self.tape, self.record_s = tape, None

    def moons_step(self, points: int, sizes: Sequence[int] = (2, 16, 16, 1)
                   ) -> Callable[[int], float]:
        from chainrule.nn import MLP, hinge, l2

        random.seed(1337)
        # fused= explicit: the fused row is one Value.dot node per neuron, the fine row
        # micrograd's graph; the tapes record the fused graph (the faster one to build).
        model = MLP(sizes[0], list(sizes[1:]), fused=self.fused)
        X, y = moons_data(points)
        if not self.fused:
            return micrograd_style_step(self.Value, model, X, y)
        params = model.parameters()
        if self.tape:
            return self._taped_step(model, X, y, hinge, l2)

        def step(k: int) -> float:  # demos/moons.py's loop
            loss = hinge([model(x) for x in X], y) + l2(params, 1e-4)
            model.zero_grad()
            loss.backward()
            learning_rate = 1.0 - 0.9 * k / 100
            for p in params:
                p.data -= learning_rate * p.grad
            return loss.data

        return step

    def _taped_step(self, model: Any, X: Any, y: Any, hinge: Any, l2: Any
                    ) -> Callable[[int], float]:
        from chainrule import Tape

        params = model.parameters()
        t0 = time.perf_counter()
        inputs = [[self.Value(v) for v in x] for x in X]
        tape = Tape(hinge([model(x) for x in inputs], y) + l2(params, 1e-4), inputs=inputs,
                    backend=self.tape)
        self.record_s = time.perf_counter() - t0  # building the graph once, and recording it

        def step(k: int) -> float:  # one tape, every step: the inputs never change here
            loss = tape.forward()
            model.zero_grad()
            tape.backward()
            learning_rate = 1.0 - 0.9 * k / 100
            for p in params:
                p.data -= learning_rate * p.grad
            return loss

        return step

    def chain(self, n: int) -> Any:
        x = self.Value(0.5)
        y = x
        for _ in range(n):
            y = (y * 1.0001 + 0.001).tanh()
        y.backward()
        return y

    def wide(self, n: int, a: List[float], b: List[float]) -> None:
        Value = self.Value
        xs, ws = [Value(v) for v in a], [Value(v) for v in b]
        if self.fused:
            out = Value.dot(ws, xs)
        else:
            out = pairwise_sum([w * x for w, x in zip(ws, xs)])
        out.backward()


class MicrogradEngine:
    def __init__(self) -> None:
        from importlib.metadata import version

        from micrograd.engine import Value

        self.Value, self.version = Value, version("micrograd")
        # micrograd's backward() is recursive (build_topo): lift the limit, or a chain
        # of a few hundred steps is a RecursionError. Python 3.11's calls between
        # Python functions do not use the C stack, so a high limit is safe.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000_000))

    def moons_step(self, points: int) -> Callable[[int], float]:
        from micrograd.nn import MLP

        random.seed(1337)
        X, y = moons_data(points)
        return micrograd_style_step(self.Value, MLP(2, [16, 16, 1]), X, y)

    def chain(self, n: int) -> Any:
        x = self.Value(0.5)
        y = x
        for _ in range(n):
            y = (y * 1.0001 + 0.001).relu()  # micrograd has no tanh
        y.backward()
        return y

    def wide(self, n: int, a: List[float], b: List[float]) -> None:
        Value = self.Value
        xs, ws = [Value(v) for v in a], [Value(v) for v in b]
        pairwise_sum([w * x for w, x in zip(ws, xs)]).backward()


class TorchEngine:
    def __init__(self, batched: bool) -> None:
        import torch

        torch.set_num_threads(1)  # tiny tensors; threads only add noise on a shared box
        self.torch, self.batched, self.version = torch, batched, torch.__version__

    def scalar(self, x: float) -> Any:
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def _sgd_step(self, loss: Any, params: List[Any], k: int) -> float:
        """zero_grad, backward and micrograd's SGD update with its decaying lr."""
        for p in params:
            p.grad = None
        loss.backward()
        with self.torch.no_grad():
            for p in params:
                p -= (1.0 - 0.9 * k / 100) * p.grad
        return loss.item()

    def moons_step(self, points: int, sizes: Sequence[int] = (2, 16, 16, 1)
                   ) -> Callable[[int], float]:
        torch = self.torch
        random.seed(1337)
        X, y = moons_data(points)
        # micrograd's init: U(-1, 1) per weight in micrograd's order, biases 0
        layers = [([[random.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)], nout)
                  for nin, nout in zip(sizes, sizes[1:])]
        if self.batched:
            f64 = torch.float64
            Ws = [torch.tensor(w, dtype=f64).T.contiguous().requires_grad_() for w, _ in layers]
            bs = [torch.zeros(nout, dtype=f64, requires_grad=True) for _, nout in layers]
            params = Ws + bs
            Xt, yt = torch.tensor(X, dtype=f64), torch.tensor(y, dtype=f64)

            def step(k: int) -> float:
                h = Xt
                for i, (W, b) in enumerate(zip(Ws, bs)):
                    h = h @ W + b
                    if i < len(Ws) - 1:
                        h = torch.relu(h)
                data_loss = torch.relu(1 - yt * h[:, 0]).mean()
                loss = data_loss + 1e-4 * sum((p * p).sum() for p in params)
                return self._sgd_step(loss, params, k)

            return step

        neurons = [[([self.scalar(w) for w in ws], self.scalar(0.0)) for ws in weights]
                   for weights, _ in layers]
        params = [p for layer in neurons for ws, b in layer for p in ws + [b]]

        def forward(x: List[Any]) -> Any:
            for i, layer in enumerate(neurons):
                outs = []
                for ws, b in layer:
                    act = sum((wi * xi for wi, xi in zip(ws, x)), b)
                    outs.append(torch.relu(act) if i < len(neurons) - 1 else act)
                x = outs
            return x[0]

        def step(k: int) -> float:
            inputs = [[self.scalar(v) for v in xrow] for xrow in X]
            scores = [forward(x) for x in inputs]
            losses = [torch.relu(1 + -yi * s) for yi, s in zip(y, scores)]
            loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
            return self._sgd_step(loss, params, k)

        return step

    def chain(self, n: int) -> None:
        tanh = self.torch.tanh
        x = self.scalar(0.5)
        y = x
        for _ in range(n):
            y = tanh(y * 1.0001 + 0.001)
        y.backward()

    def wide(self, n: int, a: List[float], b: List[float]) -> None:
        torch = self.torch
        if self.batched:
            xs = torch.tensor(a, dtype=torch.float64, requires_grad=True)
            ws = torch.tensor(b, dtype=torch.float64, requires_grad=True)
            (ws * xs).sum().backward()
            return
        xs, ws = [self.scalar(v) for v in a], [self.scalar(v) for v in b]
        pairwise_sum([w * x for w, x in zip(ws, xs)]).backward()


def pairwise_sum(values: List[Any]) -> Any:
    """((v0 + v1) + (v2 + v3)) + ...: a balanced tree of binary additions."""
    while len(values) > 1:
        paired = [values[i] + values[i + 1] for i in range(0, len(values) - 1, 2)]
        if len(values) % 2:
            paired.append(values[-1])
        values = paired
    return values[0]


class FloatFloor:
    version = "-"

    def moons_step(self, points: int, sizes: Sequence[int] = (2, 16, 16, 1)
                   ) -> Callable[[int], float]:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from float_floor import initial_weights, moons_step

        X, y = moons_data(points)
        return moons_step(initial_weights(sizes), X, y)


def make_engine(name: str) -> Any:
    if name == "float-floor":
        return FloatFloor()
    if name.startswith("chainrule"):
        return ChainruleEngine(fused=name != "chainrule-fine", tape=TAPES.get(name))
    if name == "micrograd":
        return MicrogradEngine()
    return TorchEngine(batched=name == "torch-batched")


def timed_runs(run: Callable[[], Any], min_time: float, min_runs: int, max_runs: int,
               warmup: int) -> List[float]:
    for _ in range(warmup):
        run()
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_time
                                    and len(times) < max_runs):
        t0 = time.process_time()  # CPU time: other jobs on the machine inflate it less
        run()
        times.append(time.process_time() - t0)
    return times


def worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Measure one cell in this (fresh) process. Garbage collector on, as a user has it."""
    engine = make_engine(spec["engine"])
    workload, n, quick = spec["workload"], spec.get("size"), spec["quick"]
    result: Dict[str, Any] = {"version": engine.version}
    if workload in ("moons-step", "class-epoch"):
        if workload == "moons-step":
            step = engine.moons_step(spec["moons_points"])
        else:
            step = engine.moons_step(spec["class_points"], (2, 64, 64, 1))
        k = iter(range(10**9))
        losses: List[float] = []
        warmup = 1 if quick or workload == "class-epoch" else 2
        times = timed_runs(lambda: losses.append(step(next(k))), min_time=0.3 if quick else 1.5,
                           min_runs=1 if quick else 3, max_runs=40, warmup=warmup)
        # A cross-check, not a timing: from the same weights, every engine's loss at the
        # same step is the same (to rounding).
        result.update(value=statistics.median(times), unit="s/step", runs=len(times),
                      check_step=warmup, check_loss=losses[warmup])
        if getattr(engine, "record_s", None) is not None:
            result["record_s"] = engine.record_s
    elif workload == "attrs":
        result.update(client_attributes(spec["memory_nodes"]), unit="bytes/node")
    elif workload == "lock":
        result.update(backward_lock(quick), unit="s/call")
    elif workload in ("chain", "wide"):
        nodes = nodes_in(workload, n)
        if workload == "chain":
            def run() -> None:
                engine.chain(n)
        else:
            rng = random.Random(n)
            a = [rng.uniform(-1, 1) for _ in range(n)]
            b = [rng.uniform(-1, 1) for _ in range(n)]

            def run() -> None:
                engine.wide(n, a, b)
        big = nodes >= 200_000  # seconds per run for micrograd and torch-scalar: run once
        times = timed_runs(run, min_time=0.1 if quick else 0.5, min_runs=1 if big else 3,
                           max_runs=1000, warmup=0 if big else 1)
        result.update(value=statistics.median(times) / nodes, unit="s/node", runs=len(times),
                      nodes=nodes)
    elif workload == "memory":
        result.update(memory(engine, spec["memory_nodes"], spec["moons_points"]),
                      unit="bytes/node")
    else:
        raise ValueError(f"unknown workload {workload!r}")
    return result


def memory(engine: Any, nodes: int, points: int) -> Dict[str, Any]:
    """Bytes per node of a chain graph (after forward and backward), and what del leaves.

    With automatic garbage collection disabled, ``del`` frees a graph only if reference
    counting can: whatever is still held then sits in reference cycles, and is what
    ``gc.collect()`` finds (a count of objects) and frees.
    """
    n = (nodes - 1) // 5
    gc.collect()
    gc.disable()
    tracemalloc.start()
    # Fill the interpreter's free lists (of tuples, floats) first: memory parked there
    # is not the graph's, but tracemalloc would count it as held after del.
    engine.chain(1000)
    base = tracemalloc.get_traced_memory()[0]
    y = engine.chain(n)  # forward and backward; y holds the graph
    graph = tracemalloc.get_traced_memory()[0] - base
    del y
    held = tracemalloc.get_traced_memory()[0] - base
    found = gc.collect()
    after_collect = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    # A whole training step: what does it leave for the cyclic collector?
    step = engine.moons_step(points)
    step(0)
    gc.collect()
    step(1)
    step_cycles = gc.collect()
    gc.enable()
    return {"value": graph / (5 * n + 1), "nodes": 5 * n + 1, "graph_bytes": graph,
            "held_after_del_bytes": held, "gc_collect_found": found,
            "after_collect_bytes": after_collect, "moons_step_gc_found": step_cycles}


def client_attributes(n: int) -> Dict[str, Any]:
    """What ``__dict__`` in ``Value.__slots__`` costs: bytes on every node (against a twin
    class with the same slots but no ``__dict__``), and what setting ``p.m = 0.0`` on a
    node costs, the first time and after."""
    from chainrule import Value

    slots = tuple(s for s in Value.__slots__ if s != "__dict__")
    Twin = type("ValueWithoutDict", (), {"__slots__": slots})

    def allocated(make: Callable[[], Any]) -> float:  # bytes per object, list slot included
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        objects = [make() for _ in range(n)]
        per_object = (tracemalloc.get_traced_memory()[0] - before) / n
        tracemalloc.stop()
        del objects
        return per_object

    node_bytes = allocated(lambda: object.__new__(Value))
    twin_bytes = allocated(Twin)
    values = [Value(float(i)) for i in range(n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.process_time()
    for v in values:
        v.m = 0.0  # an optimizer's state on a parameter, say
    first = (time.process_time() - t0) / n
    attr_bytes = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    t0 = time.process_time()
    for v in values:
        v.m = 1.0
    again = (time.process_time() - t0) / n
    t0 = time.process_time()
    for v in values:
        v.grad = 1.0  # a slot, for comparison
    slot = (time.process_time() - t0) / n
    return {"value": node_bytes - twin_bytes, "nodes": n, "node_bytes": node_bytes,
            "twin_bytes": twin_bytes, "dict_bytes": attr_bytes, "first_set_s": first,
            "set_again_s": again, "slot_set_s": slot}


def backward_lock(quick: bool) -> Dict[str, Any]:
    """backward() of a 5-node graph, with the engine's thread lock and with a no-op in its
    place (this process only), so the difference is the lock's cost per call."""
    import contextlib

    from chainrule import Value, engine

    x, w = Value(0.5), Value(-1.5)
    y = (x * w + 1.0).relu()

    def calls(n: int = 2000) -> float:
        t0 = time.process_time()
        for _ in range(n):
            y.backward()
        return (time.process_time() - t0) / n

    rounds = 3 if quick else 25
    locked, free = [], []
    real = engine._backward_lock
    for _ in range(rounds):  # interleaved, so load on the machine hits both alike
        locked.append(calls())
        engine._backward_lock = contextlib.nullcontext()  # type: ignore[assignment]
        free.append(calls())
        engine._backward_lock = real
    return {"value": min(locked), "unlocked_s": min(free), "nodes": 5}  # min: least noise


# ============================================================================ the driver


def available(engine: str) -> Optional[str]:
    """None when the engine can run here, else why not."""
    module = {"micrograd": "micrograd", "torch-scalar": "torch", "torch-batched": "torch"}
    name = module.get(engine)
    if name is None:
        return None
    import importlib.util

    if importlib.util.find_spec(name) is None:
        return f"{name} is not installed (pip install -e '.[bench]' / pip install torch)"
    return None


def run_worker_process(spec: Dict[str, Any], timeout: float) -> Dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    # One BLAS thread, as torch gets one: the times are CPU time, which a second thread
    # would count twice (numpy reads this when it is imported, so it is set here).
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def machine() -> Dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform()}


def git_state() -> Dict[str, Any]:
    """The commit measured, and whether the engine had uncommitted changes."""
    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], capture_output=True, text=True, cwd=ROOT,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD") or None,
            "engine_modified": bool(git("status", "--porcelain", "--", "chainrule"))}


def cells(args: argparse.Namespace, sizes: Dict[str, Any]) -> List[Dict[str, Any]]:
    out = []
    for workload in args.workloads:
        for size in (sizes[workload] if workload in ("chain", "wide") else [None]):
            for engine in args.engines:
                if engine not in SUPPORTS[workload]:
                    continue
                limit = SIZE_LIMITS.get((workload, engine))
                if size and limit and size > limit and not args.no_size_limits:
                    continue
                out.append({"workload": workload, "size": size, "engine": engine,
                            "quick": args.quick, "memory_nodes": sizes["memory_nodes"],
                            "moons_points": args.moons_points,
                            "class_points": sizes["class_points"]})
    return out


def cell_name(workload: str, size: Optional[int]) -> str:
    return workload if size is None else f"{workload}-{size:.0e}".replace("e+0", "e")


def summarize(cell: Dict[str, Any], samples: List[Dict[str, Any]]) -> Dict[str, Any]:
    ok = [s for s in samples if "error" not in s]
    row = {k: cell[k] for k in ("workload", "size", "engine")}
    row["name"] = cell_name(cell["workload"], cell["size"])
    row["errors"] = [s["error"] for s in samples if "error" in s]
    if not ok:
        row.update(unit=None, samples=[], median=None, min=None, max=None)
        return row
    values = [s["value"] for s in ok]
    row.update(unit=ok[0]["unit"], samples=values, median=statistics.median(values),
               min=min(values), max=max(values), version=ok[0]["version"])
    for key in ("record_s", "node_bytes", "twin_bytes", "dict_bytes", "first_set_s",
                "set_again_s", "slot_set_s", "unlocked_s"):
        if key in ok[0]:
            row[key] = statistics.median(s[key] for s in ok)
    for key in ("nodes", "check_step", "check_loss", "runs", "graph_bytes", "held_after_del_bytes",
                "gc_collect_found", "after_collect_bytes", "moons_step_gc_found"):
        if key in ok[0]:
            row[key] = ok[0][key] if key != "runs" else [s[key] for s in ok]
    return row


def add_ratios(rows: List[Dict[str, Any]]) -> None:
    """ratio = micrograd's median / this engine's median, same workload, same run."""
    base = {(r["workload"], r["size"]): r["median"] for r in rows if r["engine"] == "micrograd"}
    for r in rows:
        ref = base.get((r["workload"], r["size"]))
        r["vs_micrograd"] = (ref / r["median"]) if ref and r["median"] else None


def fmt_value(value: Optional[float], unit: Optional[str]) -> str:
    if value is None:
        return "failed"
    if unit == "s/step":
        return f"{value * 1e3:.1f} ms" if value < 10 else f"{value:.1f} s"
    if unit == "s/node":
        return f"{value * 1e9:.0f} ns" if value < 1e-6 else f"{value * 1e6:.2f} us"
    if unit == "bytes/node":
        return f"{value:.0f} B"
    if unit == "s/call":
        return f"{value * 1e6:.2f} us"
    return f"{value:.3g}"


def fmt_ratio(ratio: Optional[float], workload: str) -> str:
    if ratio is None:
        return ""
    if workload == "memory":
        return f"{1 / ratio:.2f}x the bytes"
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def tables(rows: List[Dict[str, Any]], engines: Sequence[str]) -> str:
    """Two markdown tables: speed (median, ratio) by workload, then memory."""
    speed = [r for r in rows if r["workload"] not in ("memory", "attrs", "lock")]
    fused = {r["workload"]: r["median"] for r in speed if r["engine"] == "chainrule-fused"}
    lines: List[str] = []
    if speed:
        names = list(dict.fromkeys(r["name"] for r in speed))
        cols = [e for e in engines if any(r["engine"] == e for r in speed)]
        by = {(r["name"], r["engine"]): r for r in speed}
        lines += ["| workload | " + " | ".join(cols) + " |",
                  "|---|" + "---:|" * len(cols)]
        for name in names:
            cells_ = []
            for e in cols:
                r = by.get((name, e))
                if r is None:
                    cells_.append("—")
                    continue
                text = fmt_value(r["median"], r["unit"])
                if r["engine"] != "micrograd" and r.get("vs_micrograd"):
                    text += f" ({fmt_ratio(r['vs_micrograd'], r['workload'])})"
                elif (r["engine"] not in ("chainrule-fused", "micrograd") and fused.get(name)
                      and r["median"] and not r.get("vs_micrograd")):
                    text += f" ({fmt_ratio(fused[name] / r['median'], r['workload'])} fused)"
                cells_.append(text)
            unit = {"moons-step": "per step", "class-epoch": "per epoch"}.get(name, "per node")
            lines.append(f"| {name} ({unit}) | " + " | ".join(cells_) + " |")
        lines.append("")
        lines.append("Median over fresh processes; (Nx) = N times faster than micrograd "
                     "in the same run, (Nx fused) than chainrule-fused where micrograd did "
                     "not run; — = not run.")
    lines += targets(speed)
    mem = [r for r in rows if r["workload"] == "memory" and r["median"] is not None]
    if mem:
        lines += ["", f"| memory, chain graph of {mem[0]['nodes']:,} nodes | bytes/node | "
                  "held after `del` (gc off) | `gc.collect()` finds | "
                  "cycles left by a moons step |", "|---|---:|---:|---:|---:|"]
        for r in mem:
            lines.append(f"| {r['engine']} | {r['median']:.0f} | "
                         f"{r['held_after_del_bytes'] / 1e6:.1f} MB | "
                         f"{r['gc_collect_found']:,} objects | "
                         f"{r['moons_step_gc_found']:,} objects |")
    lines += costs(rows)
    return "\n".join(lines)


TARGETS = [  # (what, numerator engine, denominator engine, target, at least?)
    ("eager fused vs micrograd", "micrograd", "chainrule-fused", 70, True),
    ("tape (python) vs eager fused", "chainrule-fused", "chainrule-tape", 5, True),
    ("tape (python) vs micrograd", "micrograd", "chainrule-tape", 200, True),
    ("tape (numpy) vs eager fused", "chainrule-fused", "chainrule-tape-numpy", 15, True),
    ("tape (numpy): times torch batched", "chainrule-tape-numpy", "torch-batched", 5, False),
    ("tape (python): times the float floor", "chainrule-tape", "float-floor", 2.5, False),
]


def targets(speed: List[Dict[str, Any]]) -> List[str]:
    """The issue's speed targets for the moons step, as ratios from this run."""
    m = {r["engine"]: r["median"] for r in speed if r["workload"] == "moons-step" and r["median"]}
    out = ["", "| moons step | this run | target |", "|---|---:|---|"]
    for what, top, bottom, goal, at_least in TARGETS:
        if top in m and bottom in m:
            ratio = m[top] / m[bottom]
            met = ratio >= goal if at_least else ratio <= goal
            out.append(f"| {what} | {ratio:.1f}x | {'>=' if at_least else '<='} {goal}x "
                       f"{'(met)' if met else '(NOT met)'} |")
    recorded = [r for r in speed if r.get("record_s") and r["workload"] == "moons-step"]
    for r in recorded:
        out.append(f"| {r['engine']}: recording once (build + Tape) | "
                   f"{r['record_s'] * 1e3:.1f} ms | — |")
    return out if len(out) > 3 else []


def costs(rows: List[Dict[str, Any]]) -> List[str]:
    """Client attributes on a Value, and backward()'s thread lock."""
    out = []
    for r in rows:
        if r["median"] is None:
            continue
        if r["workload"] == "attrs":
            out += [f"| `__dict__` in `Value.__slots__`, every node | +{r['median']:.0f} B "
                    f"({r['node_bytes']:.0f} B a Value, {r['twin_bytes']:.0f} B without) |",
                    f"| first `p.m = 0.0` on a node | "
                    f"{r['first_set_s'] * 1e9:.0f} ns, +{r['dict_bytes']:.0f} B |",
                    f"| setting `p.m` again / a slot (`p.grad`) | "
                    f"{r['set_again_s'] * 1e9:.0f} ns / {r['slot_set_s'] * 1e9:.0f} ns |"]
        elif r["workload"] == "lock":
            extra = r["median"] - r["unlocked_s"]
            out += [f"| `backward()` of a 5-node graph, with / without the thread lock | "
                    f"{r['median'] * 1e6:.2f} us / {r['unlocked_s'] * 1e6:.2f} us "
                    f"({extra * 1e9:+.0f} ns a call) |"]
    return ["", "| cost of | this run |", "|---|---:|", *out] if out else []


def details(rows: List[Dict[str, Any]]) -> str:
    lines = [f"{'workload':<14} {'engine':<16} {'median':>10} {'min':>10} {'max':>10} "
             f"{'vs micrograd':>13}  runs"]
    for r in rows:
        if r["workload"] in ("memory", "attrs"):
            continue
        runs = len(r["samples"])
        err = f"  ERROR: {r['errors'][0]}" if r["errors"] else ""
        lines.append(f"{r['name']:<14} {r['engine']:<16} {fmt_value(r['median'], r['unit']):>10} "
                     f"{fmt_value(r['min'], r['unit']) if runs else '':>10} "
                     f"{fmt_value(r['max'], r['unit']) if runs else '':>10} "
                     f"{fmt_ratio(r.get('vs_micrograd'), r['workload']):>13}  {runs}{err}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=WORKLOADS,
                        metavar="W", help=f"some of: {' '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=ENGINES, metavar="E",
                        help=f"some of: {' '.join(ENGINES)} (default: all that are installed)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="fresh processes per cell (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, one process per cell, short timings: a smoke run")
    parser.add_argument("--chain-sizes", type=int, nargs="+", default=None, metavar="N")
    parser.add_argument("--wide-sizes", type=int, nargs="+", default=None, metavar="N")
    parser.add_argument("--memory-nodes", type=int, default=None, metavar="N")
    parser.add_argument("--moons-points", type=int, default=100, metavar="N",
                        help="points in moons-step (default 100, micrograd's demo)")
    parser.add_argument("--class-points", type=int, default=None, metavar="N",
                        help="points in class-epoch, MLP(2, [64, 64, 1]) (default 1000)")
    parser.add_argument("--no-size-limits", action="store_true",
                        help="also run micrograd and torch-scalar on chains above 1e5 steps")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds one worker process may take")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    sizes = dict(QUICK if args.quick else FULL)
    for key, given in (("chain", args.chain_sizes), ("wide", args.wide_sizes),
                       ("memory_nodes", args.memory_nodes), ("class_points", args.class_points)):
        if given:
            sizes[key] = given
    repeats = args.repeats or sizes["repeats"]
    skipped = {e: why for e in args.engines if (why := available(e))}
    args.engines = [e for e in args.engines if e not in skipped]
    for engine, why in skipped.items():
        print(f"skipping {engine}: {why}", file=sys.stderr)

    todo = cells(args, sizes)
    started = time.time()
    samples: Dict[int, List[Dict[str, Any]]] = {i: [] for i in range(len(todo))}
    for round_ in range(repeats):
        # Interleave: every cell once per round, engines in a rotating order.
        order = sorted(range(len(todo)), key=lambda i: (
            WORKLOADS.index(todo[i]["workload"]), todo[i]["size"] or 0,
            (args.engines.index(todo[i]["engine"]) - round_) % len(args.engines)))
        for i in order:
            cell = todo[i]
            if cell["workload"] in ("memory", "attrs") and round_ > 0:
                continue  # deterministic: once is enough
            label = f"[{round_ + 1}/{repeats}] {cell_name(cell['workload'], cell['size'])} " \
                    f"{cell['engine']}"
            print(label, end=" ", flush=True, file=sys.stderr)
            result = run_worker_process(cell, args.timeout)
            samples[i].append(result)
            shown = result.get("error") or fmt_value(result["value"], result["unit"])
            print(shown, file=sys.stderr, flush=True)

    rows = [summarize(cell, samples[i]) for i, cell in enumerate(todo)]
    add_ratios(rows)
    table = tables(rows, args.engines)
    given = list(sys.argv[1:] if argv is None else argv)
    command = " ".join(["python3 tasks.py bench", *given])
    report = {
        "schema": SCHEMA,
        "command": command,
        "quick": args.quick,
        "repeats": repeats,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": machine(),
        "git": git_state(),
        "engines": {e: ENGINE_NOTES[e] for e in args.engines},
        "skipped_engines": skipped,
        "sizes": {**sizes, "moons_points": args.moons_points},
        "results": rows,
        "table_markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    m = report["machine"]
    print()
    print(details(rows))
    print()
    print(table)
    print()
    print(f"{m['cpu']}, {m['cores']} cores, {m['implementation']} {m['python']}; "
          f"{report['duration_s']:.0f} s; written to {args.out}")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
