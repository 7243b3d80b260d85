"""Turning DOT text into pictures: the renderer, the Drawing type, notebook display."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import warnings
from pathlib import Path
from typing import (
    Any,
    Dict,
    Iterable,
    Optional,
    Tuple,
    Union,
)

try:
    import graphviz
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chainrule.viz needs the graphviz Python package: pip install chainrule[viz] "
        "(or pip install graphviz)"
    ) from _error

from .style import ENV_RENDERER, PathLike


class RendererNotFound(RuntimeError):
    """No Graphviz program to turn DOT into SVG or PNG; the message says how to get one."""


class RenderError(RuntimeError):
    """The renderer ran and failed; the message has its error output."""


class RendererWarning(UserWarning):
    """A notebook shows the DOT text instead of a picture; the message says why and what to
    install. Python's default filter shows it once per session, not at every display."""


_INSTALL_HINT = (
    "Install one of:\n"
    "  - Graphviz: apt-get install graphviz (brew install graphviz, conda install graphviz, "
    "winget install graphviz)\n"
    "  - graphviz-pure, a self-contained dot: pip install graphviz-pure "
    "(or pip install chainrule[render])\n"
    f"or set {ENV_RENDERER} to the path of a dot program. "
    "Saving DOT text needs none: save(graph, 'graph.dot')."
)


# ---------------------------------------------------------------------- the renderer


def _scripts_dir() -> Optional[str]:
    """The running interpreter's scripts directory (a venv's bin/ even when not activated)."""
    return sysconfig.get_path("scripts")


def _locate_renderer() -> Tuple[Optional[str], str]:
    """(path or None, how it was found or why none was)."""
    configured = os.environ.get(ENV_RENDERER, "").strip()
    if configured:
        found = shutil.which(configured)
        if found:
            return found, f"${ENV_RENDERER}"
        return None, f"{ENV_RENDERER}={configured!r} is not an executable program."
    for name in ("dot", "graphviz-pure"):
        found = shutil.which(name)
        if found:
            return found, "PATH"
    scripts = _scripts_dir()
    if scripts:
        found = shutil.which("graphviz-pure", path=scripts)
        if found:
            return found, "the Python scripts directory"
    return None, "No Graphviz renderer found: neither dot nor graphviz-pure is on PATH."


def find_renderer() -> Optional[str]:
    """The path of the program that renders DOT, or None.

    Looked for in this order: the ``CHAINRULE_DOT`` environment variable (a name or a
    path), ``dot`` on PATH, ``graphviz-pure`` on PATH, ``graphviz-pure`` in the running
    interpreter's scripts directory. Looked up on every call, so a change of PATH counts.
    """
    return _locate_renderer()[0]


def _render(source: str, fmt: str, *, dpi: Optional[int] = None) -> bytes:
    """Run the renderer on DOT text; ``fmt`` is a -T format (svg, png)."""
    program, reason = _locate_renderer()
    if program is None:
        raise RendererNotFound(f"{reason}\n{_INSTALL_HINT}")
    command = [program, "-Kdot", f"-T{fmt}", "-q"]
    if dpi:
        command.append(f"-Gdpi={dpi}")
    try:
        done = subprocess.run(
            command, input=source.encode("utf-8"), capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RenderError(f"could not run {program}: {error}") from error
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{program} -T{fmt} failed (exit status {done.returncode}): {message}")
    return done.stdout


# ------------------------------------------------------------------- the Digraph type


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with the program chainrule finds.

    ``pipe()``, ``render()``, ``view()`` and the notebook display use
    ``find_renderer()`` (system ``dot`` or ``graphviz-pure``) instead of insisting on
    ``dot``. With no renderer a notebook shows the DOT text and one warning with
    install hints, never a traceback; ``pipe()``, ``render()`` and ``view()`` raise
    ``RendererNotFound`` with the same hints. Everything else is the plain
    ``graphviz.Digraph``: ``.source``, ``.node()``, ``.save()``, ...
    """

    def pipe(  # type: ignore[override]
        self,
        format: Optional[str] = None,
        renderer: Optional[str] = None,
        formatter: Optional[str] = None,
        neato_no_op: Union[bool, int, None] = None,
        quiet: bool = False,
        *,
        engine: Optional[str] = None,
        encoding: Optional[str] = None,
    ) -> Union[bytes, str]:
        """The rendered graph as bytes (or str with ``encoding``), e.g. ``pipe("svg")``."""
        if renderer or formatter or neato_no_op or engine not in (None, "dot"):
            return super().pipe(  # graphviz's own machinery, which runs `dot` by name
                format=format,
                renderer=renderer,
                formatter=formatter,
                neato_no_op=neato_no_op,
                quiet=quiet,
                engine=engine,
                encoding=encoding,
            )
        data = _render(self.source, format or self.format)
        return data.decode(encoding) if encoding is not None else data

    def render(  # type: ignore[override]
        self,
        filename: Optional[PathLike] = None,
        directory: Optional[PathLike] = None,
        view: bool = False,
        cleanup: bool = False,
        format: Optional[str] = None,
        renderer: Optional[str] = None,
        formatter: Optional[str] = None,
        neato_no_op: Union[bool, int, None] = None,
        quiet: bool = False,
        quiet_view: bool = False,
        *,
        outfile: Optional[PathLike] = None,
        engine: Optional[str] = None,
        raise_if_result_exists: bool = False,
        overwrite_source: bool = False,
    ) -> str:
        """Save the DOT source to a file and render it beside it; returns the rendered path.

        The files are graphviz's: ``g.render(directory="out")`` writes
        ``out/computation graph.gv`` and ``out/computation graph.gv.svg``;
        ``g.render(outfile="g.png")`` writes ``g.gv`` and ``g.png``. ``cleanup`` deletes
        the DOT file afterwards, ``view`` opens the result. Without a renderer this
        raises ``RendererNotFound`` (with what to install) before any file is written.
        """
        if renderer or formatter or neato_no_op or engine not in (None, "dot"):
            return super().render(  # graphviz's own machinery, which runs `dot` by name
                filename=filename,
                directory=directory,
                view=view,
                cleanup=cleanup,
                format=format,
                renderer=renderer,
                formatter=formatter,
                neato_no_op=neato_no_op,
                quiet=quiet,
                quiet_view=quiet_view,
                outfile=outfile,
                engine=engine,
                raise_if_result_exists=raise_if_result_exists,
                overwrite_source=overwrite_source,
            )
        if raise_if_result_exists and overwrite_source:
            raise ValueError("overwrite_source cannot be combined with raise_if_result_exists")
        fmt = format or self.format
        if outfile is not None:  # the paths as graphviz.Digraph.render() makes them
            outfile = Path(outfile)
            fmt = format or outfile.suffix[1:].lower()
            if not fmt:
                raise ValueError(f"cannot tell the format of {os.fspath(outfile)!r}: "
                                 "give it a suffix (.svg, .png, ...) or pass format=")
            if directory is None:
                outfile = Path(self.directory, outfile)
            if filename is None:
                filename = outfile.with_suffix(".gv")
        source_path = os.path.join(
            self.directory if directory is None else directory,
            self.filename if filename is None else filename,
        )
        target = Path(outfile if outfile is not None else f"{source_path}.{fmt}")
        if raise_if_result_exists and target.exists():
            raise getattr(graphviz, "FileExistsError", FileExistsError)(
                f"output file exists: {os.fspath(target)!r}"
            )
        if not overwrite_source and target.resolve() == Path(source_path).resolve():
            raise ValueError(f"outfile {target.name!r} must be different from the DOT file "
                             "(pass overwrite_source=True to override)")
        data = _render(self.source, fmt)  # first: no renderer, no files
        saved = self.save(filename, directory=directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if cleanup:
            os.remove(saved)
        rendered = os.fspath(target)
        if view or quiet_view:
            graphviz.view(rendered, quiet=quiet_view)
        return rendered

    def view(  # type: ignore[override]
        self,
        filename: Optional[PathLike] = None,
        directory: Optional[PathLike] = None,
        cleanup: bool = False,
        quiet: bool = False,
        quiet_view: bool = False,
    ) -> str:
        """``render()`` the drawing and open it in the system's viewer; returns its path."""
        return self.render(
            filename=filename,
            directory=directory,
            view=True,
            cleanup=cleanup,
            quiet=quiet,
            quiet_view=quiet_view,
        )

    def _repr_mimebundle_(
        self,
        include: Optional[Iterable[str]] = None,
        exclude: Optional[Iterable[str]] = None,
        **_: Any,
    ) -> Dict[str, Union[bytes, str]]:
        wanted = set(include) if include is not None else {"image/svg+xml"}
        wanted -= set(exclude or ())
        formats = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpeg"}
        bundle: Dict[str, Union[bytes, str]] = {}
        try:
            for mimetype, fmt in formats.items():
                if mimetype in wanted:
                    data = _render(self.source, fmt)
                    bundle[mimetype] = data.decode("utf-8") if fmt == "svg" else data
        except Exception as error:  # a display must never end in a traceback
            warnings.warn(
                f"chainrule.viz shows the DOT text instead of a picture. {error}",
                RendererWarning,
                stacklevel=2,
            )
            return {"text/plain": self.source}
        return bundle
