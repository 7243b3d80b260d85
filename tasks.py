#!/usr/bin/env python3
"""Set-up and entry points for a fresh machine with only Python 3.9+ and pip.

    python3 tasks.py demo [args]   train the moons demo (demos/moons.py)
    python3 tasks.py test [args]   ruff, mypy, then the whole pytest suite (notebooks included)
    python3 tasks.py bench [args]  benchmarks against micrograd (benchmarks/bench.py)
    python3 tasks.py notebook      the workshop notebooks in Jupyter (demos/README.md)
    python3 tasks.py lite [args]   the workshop as a static site in dist/lite/ (demos/README.md)
    python3 tasks.py venv          only create/update .venv

Each command first makes ``.venv`` and installs the package with the extras it needs,
re-installing only when setup.cfg or pyproject.toml changed since the last time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CHAINRULE_VENV", ROOT / ".venv"))
EXTRAS = {"demo": "demos", "test": "test", "bench": "dev", "venv": "test", "notebook": "workshop",
          "lite": "lite"}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(*cmd: object, env: Optional[Dict[str, str]] = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True,
                   env=None if env is None else {**os.environ, **env})


def ensure_venv(extras: str) -> Path:
    python = venv_python()
    if not python.exists():
        try:
            run(sys.executable, "-m", "venv", VENV)
        except subprocess.CalledProcessError:
            # Some distributions ship Python without the venv module; virtualenv
            # from PyPI does the same job.
            run(sys.executable, "-m", "pip", "install", "--user", "virtualenv")
            run(sys.executable, "-m", "virtualenv", VENV)
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".chainrule-{extras}"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        # setuptools reminds every editable install of a flat layout that a folder named
        # like the package may shadow it: true of any checkout, and it reads like breakage.
        quiet = {"PYTHONWARNINGS": "ignore:Editable installation"}
        run(python, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]", env=quiet)
        stamp.write_text(digest.hexdigest())
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    task, args = argv[0], argv[1:]
    python = ensure_venv(EXTRAS[task])
    try:
        if task == "demo":
            run(python, "demos/moons.py", *args)
        elif task == "test":
            run(python, "-m", "ruff", "check", ".")
            run(python, "-m", "mypy")  # the package's type hints (settings in setup.cfg)
            run(python, "-m", "pytest", *args)
        elif task == "bench":
            run(python, "benchmarks/bench.py", *args)
        elif task == "notebook":
            run(python, "-m", "jupyter", "notebook", "demos/", *args)
        elif task == "lite":
            run(python, "lite/build.py", *args)
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
