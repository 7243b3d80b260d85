"""Build the workshop as a static JupyterLite site that runs offline: ``python3 tasks.py lite``.

    python lite/build.py [--output DIR]      (default dist/lite; run with the venv's python)

The site serves its own Pyodide: the npm package ``pyodide`` (pinned in lite/package.json at
the version jupyterlite-pyodide-kernel loads) has the interpreter but no wheels, so the pure
wheels the kernel needs are fetched from PyPI at the versions in Pyodide's lock file, and
the lock is cut down to what the site ships, with PyPI's sha256 (its wheels are not
byte-identical to Pyodide's rebuilds; with the old hashes loading fails with "Failed to
fetch"). chainrule, graphviz and tqdm are preloaded, so the notebooks run unchanged.
Downloads are cached in build/lite/; nothing at run time leaves the site's own host.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

LITE = Path(__file__).resolve().parent
ROOT = LITE.parent
CACHE = ROOT / "build" / "lite"
OUTPUT = ROOT / "dist" / "lite"

# What the kernel loads at start (micropip; ipython and jedi through piplite) and what the
# notebooks import beyond the standard library, by their names in pyodide-lock.json.
FROM_LOCK = ["micropip", "ipython", "jedi", "tqdm"]
# Pure wheels Pyodide's lock doesn't list: preloaded from the lock we add them to ...
EXTRA_LOCKED = {"graphviz": "0.21"}
# ... or served to piplite from the site's pypi/ folder (the kernel installs comm at start).
PIPLITE = {"comm": "0.2.3"}
# The pieces of the npm package a browser loads (no wheels in it; the rest is for Node).
PYODIDE_FILES = [
    "pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
    "package.json",
]
# Notebooks the site leaves out, and why.
LEFT_OUT = {"06_from_chainrule_to_pytorch.ipynb": "PyTorch has no build for Pyodide"}
# The notebooks import this in place of matplotlib, which the site can't have (no wasm wheels).
STAND_IN = "plots_skipped.py"


def contents() -> list[str]:
    """The demos/ files the site's file browser shows: notebooks, solutions and checkers."""
    demos = ROOT / "demos"
    notebooks = [*demos.glob("*.ipynb"), *demos.glob("solutions/*.ipynb")]
    return sorted([p.relative_to(demos).as_posix() for p in notebooks
                   if p.name not in LEFT_OUT] + ["workshop_checks.py"])


def run(*cmd: object, cwd: Path = ROOT) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pyodide() -> Path:
    """lite/package-lock.json installed with ``npm ci`` under build/lite/npm, once per lock."""
    npm_dir = CACHE / "npm"
    lock = (LITE / "package-lock.json").read_bytes()
    stamp = npm_dir / ".lock-sha256"
    if not stamp.exists() or stamp.read_text() != hashlib.sha256(lock).hexdigest():
        npm_dir.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(LITE / name, npm_dir / name)
        run("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", cwd=npm_dir)
        stamp.write_text(hashlib.sha256(lock).hexdigest())
    return npm_dir / "node_modules" / "pyodide"


def download(pins: dict[str, str]) -> dict[str, Path]:
    """Pure wheels from PyPI for Pyodide's Python (``name -> version``), cached by name."""
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)

    def cached(name: str, version: str) -> list[Path]:
        stem = re.sub(r"[-_.]+", "_", name).lower()
        return [p for p in wheels.glob("*.whl")
                if p.name.lower().startswith(f"{stem}-{version}-")]

    missing = [f"{name}=={version}" for name, version in pins.items() if not cached(name, version)]
    if missing:
        run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--python-version", "3.14", "--dest", wheels, *missing)
    found = {}
    for name, version in pins.items():
        hits = cached(name, version)
        if len(hits) != 1 or not hits[0].name.endswith("-none-any.whl"):
            sys.exit(f"expected one pure wheel of {name}=={version} in {wheels}, found {hits}")
        found[name] = hits[0]
    return found


def chainrule_wheel(source: Path) -> Path:
    out = CACHE / "chainrule-wheel"
    shutil.rmtree(out, ignore_errors=True)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, source)
    (wheel,) = out.glob("chainrule-*.whl")
    return wheel


def lock_closure(packages: dict, names: list[str]) -> list[str]:
    keys = {normalize(k): k for k in packages}
    seen: list[str] = []
    todo = [normalize(n) for n in names]
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.append(key)
            todo += [normalize(d) for d in packages[keys[key]]["depends"]]
    return [keys[k] for k in seen]


def pyodide_dir(static: Path, source: Path) -> Path:
    """static/pyodide/: the npm files, the wheels, and a lock listing exactly those wheels."""
    npm = npm_pyodide()
    static.mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy(npm / name, static / name)
    lock = json.loads((npm / "pyodide-lock.json").read_text(encoding="utf-8"))
    keep = {k: lock["packages"][k] for k in lock_closure(lock["packages"], FROM_LOCK)}
    wheels = download({entry["name"]: entry["version"] for entry in keep.values()})
    wheels.update(download(EXTRA_LOCKED))
    wheels["chainrule"] = chainrule_wheel(source)
    for name in [*EXTRA_LOCKED, "chainrule"]:
        version = wheels[name].name.split("-")[1]
        keep[name] = {"name": name, "version": version, "depends": [], "imports": [name],
                      "install_dir": "site", "package_type": "package",
                      "unvendored_tests": False}
    for entry in keep.values():
        wheel = wheels[entry["name"]]
        shutil.copy(wheel, static / wheel.name)
        entry.update(file_name=wheel.name, sha256=sha256(wheel))
    lock["packages"] = dict(sorted(keep.items()))
    (static / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")
    return static


def build(output: Path = OUTPUT, source: Path = ROOT) -> Path:
    """The site in ``output``, with chainrule's wheel built from the checkout ``source``."""
    src = CACHE / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copy(LITE / "jupyter-lite.json", src / "jupyter-lite.json")
    pyodide_dir(src / "static" / "pyodide", source)
    for name in contents():
        (src / "files" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "demos" / name, src / "files" / name)
    for folder in {(src / "files" / name).parent for name in contents()}:
        shutil.copy(LITE / STAND_IN, folder / STAND_IN)  # beside every notebook that imports it
    piplite = download(PIPLITE)
    shutil.rmtree(output, ignore_errors=True)
    run(sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", src,
        "--output-dir", output.resolve(), "--contents", src / "files", "--no-sourcemaps",
        *[f"--piplite-wheels={wheel}" for wheel in piplite.values()], cwd=src)
    config = json.loads((output / "jupyter-lite.json").read_text(encoding="utf-8"))
    url = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"].get("pyodideUrl", "")
    if not url.startswith("./static/pyodide/"):
        sys.exit(f"the site would load Pyodide from {url!r}, not its own static/pyodide/")
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    shown = output.resolve().relative_to(ROOT) if output.resolve().is_relative_to(ROOT) else output
    print(f"built {shown} ({size / 1e6:.0f} MB): serve it with `python3 -m http.server -d "
          f"{shown}` and open http://localhost:8000/ (demos/README.md)")
    return output


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: dist/lite")
    parser.add_argument("--chainrule", type=Path, default=ROOT,
                        help="the checkout to build chainrule's wheel from (default: this one)")
    args = parser.parse_args()
    build(args.output, args.chainrule.resolve())
