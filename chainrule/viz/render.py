"""Turning DOT text into pictures: the renderer, the Drawing type, notebook display."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple, Union

try:
    import graphviz
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chainrule.viz needs the graphviz Python package: pip install chainrule[viz] "
        "(or pip install graphviz)"
    ) from _error

from .style import ENV_RENDERER, PathLike


class RendererNotFound(RuntimeError):
    """No Graphviz program to turn DOT into SVG, PNG or PDF; the message says how to get one."""


class RenderError(RuntimeError):
    """The renderer ran and failed; the message has its error output."""


class RendererWarning(UserWarning):
    """A notebook shows no rendered picture; the message says why and what to install.
    Python's default filter shows it once per session, not at every display."""


INSTALL_HINT = (
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


def render_dot(source: str, fmt: str, *, dpi: Optional[int] = None) -> bytes:
    """Run the renderer on DOT text; ``fmt`` is a -T format (svg, png, pdf, plain)."""
    program, reason = _locate_renderer()
    if program is None:
        raise RendererNotFound(f"{reason}\n{INSTALL_HINT}")
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
        if "not recognized" in message:  # graphviz-pure writes no PDF, for one
            message += (
                f"\n{os.path.basename(program)} cannot write {fmt.upper()}. For PDF install "
                "Graphviz (apt-get install graphviz, brew install graphviz), or save an SVG "
                "and convert it: rsvg-convert -f pdf graph.svg -o graph.pdf"
            )
        raise RenderError(f"{program} -T{fmt} failed (exit status {done.returncode}): {message}")
    return done.stdout


_render = render_dot  # the name animate.py and older code use

_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
_FONT_SIZE = re.compile(r'font-size="([\d.]+)"')
READABLE_PX = 11  # the smallest text a projected notebook cell should show


def fit_svg(svg: str) -> str:
    """An SVG that shrinks to its container's width, never below where its smallest text
    would be under READABLE_PX (then the output scrolls) and never above its own size;
    a click toggles full size."""
    size = _SVG_SIZE.search(svg)
    if size is None:
        return svg
    width = size.group(1)
    fonts = [float(f) for f in _FONT_SIZE.findall(svg)]
    # 1pt of the picture is 4/3 px at full size; text of f pt reads at READABLE_PX px
    # once the picture is float(width) * READABLE_PX / f px wide
    floor = f"min-width:{round(float(width) * READABLE_PX / min(fonts))}px;" if fonts else ""
    toggle = (  # inline handlers are dropped in an untrusted notebook; it still fits
        f"var f=this.style.width!=='{width}pt';this.style.width=f?'{width}pt':'100%';"
        f"this.style.maxWidth=f?'none':'{width}pt';this.style.cursor=f?'zoom-out':'zoom-in'"
    )
    return svg[:size.start()] + (
        f'<svg width="100%" style="max-width:{width}pt;{floor}height:auto;cursor:zoom-in" '
        f'onclick="{toggle}"'
    ) + svg[size.end():]


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with the program chainrule finds.

    ``pipe()``, ``render()``, ``view()`` and the notebook display use
    ``find_renderer()`` (system ``dot`` or ``graphviz-pure``) instead of insisting on
    ``dot``. In a notebook the picture scales down to the cell's width (click it for
    full size; ``fit=False`` shows it full size in a scrolling box). Without a renderer
    the page renders the DOT itself (viz.js) where it can, else shows the DOT text and
    one warning; ``pipe()``, ``render()`` and ``view()`` raise ``RendererNotFound``
    with install hints. Everything else is the plain ``graphviz.Digraph``.
    """

    fit = True

    def pipe(  # type: ignore[override]
        self, format: Optional[str] = None, renderer: Optional[str] = None,
        formatter: Optional[str] = None, neato_no_op: Union[bool, int, None] = None,
        quiet: bool = False, *, engine: Optional[str] = None, encoding: Optional[str] = None,
    ) -> Union[bytes, str]:
        """The rendered graph as bytes (or str with ``encoding``), e.g. ``pipe("svg")``."""
        if renderer or formatter or neato_no_op or engine not in (None, "dot"):
            return super().pipe(format=format, renderer=renderer, formatter=formatter,
                                neato_no_op=neato_no_op, quiet=quiet, engine=engine,
                                encoding=encoding)
        data = render_dot(self.source, format or self.format)
        return data.decode(encoding) if encoding is not None else data

    def render(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        """graphviz's ``render()`` (same paths and options), run by chainrule's renderer.
        Without one it raises ``RendererNotFound`` before any file is written."""
        program, reason = _locate_renderer()
        if program is None:
            raise RendererNotFound(f"{reason}\n{INSTALL_HINT}")
        return super().render(*args, **kwargs)

    def _render(self, engine: str, format: str, filepath: PathLike,  # type: ignore[override]
                renderer: Optional[str] = None, formatter: Optional[str] = None,
                neato_no_op: Union[bool, int, None] = None, quiet: bool = False, *,
                outfile: Optional[PathLike] = None, raise_if_result_exists: bool = False,
                overwrite_filepath: bool = False) -> str:
        # graphviz's render() saves the DOT file, then hands its path here to run `dot`
        if renderer or formatter or neato_no_op or engine != "dot":
            return graphviz.render(engine, format, filepath, renderer, formatter, neato_no_op,
                                   quiet, outfile=outfile, overwrite_filepath=overwrite_filepath,
                                   raise_if_result_exists=raise_if_result_exists)
        target = Path(outfile) if outfile is not None else Path(f"{os.fspath(filepath)}.{format}")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        if not overwrite_filepath and target.resolve() == Path(filepath).resolve():
            raise ValueError(f"outfile {target.name!r} must be different from the DOT file "
                             "(pass overwrite_source=True to override)")
        target.write_bytes(render_dot(Path(filepath).read_text(encoding="utf-8"), format))
        return os.fspath(target)

    def _repr_mimebundle_(
        self, include: Optional[Iterable[str]] = None, exclude: Optional[Iterable[str]] = None,
        **_: Any,
    ) -> Dict[str, Union[bytes, str]]:
        wanted = set(include) if include is not None else {"image/svg+xml", "text/html"}
        wanted -= set(exclude or ())
        if find_renderer() is None:
            in_page = _in_page(self.source, self.fit)
            if in_page is not None:
                return {"text/html": in_page, "text/plain": self.source}
        bundle: Dict[str, Union[bytes, str]] = {}
        try:
            if wanted & {"image/svg+xml", "text/html"}:
                svg = render_dot(self.source, "svg").decode("utf-8")
                if "image/svg+xml" in wanted:
                    bundle["image/svg+xml"] = svg
                if "text/html" in wanted:
                    start = svg.find("<svg")
                    shown = fit_svg(svg[start:]) if self.fit else svg[start:]
                    bundle["text/html"] = f'<div style="overflow:auto">{shown}</div>'
            for mimetype, fmt in (("image/png", "png"), ("image/jpeg", "jpeg")):
                if mimetype in wanted:
                    bundle[mimetype] = render_dot(self.source, fmt)
        except Exception as error:  # a display must never end in a traceback
            warnings.warn(
                f"chainrule.viz shows the DOT text instead of a picture. {error}",
                RendererWarning,
                stacklevel=2,
            )
            return {"text/plain": self.source}
        return bundle


def _in_page(source: str, fit: bool) -> Optional[str]:
    """HTML that renders the DOT in the page (the vendored viz.js), if that part is there."""
    try:
        from . import browser  # the in-page renderer; a plain install may leave it out
    except ImportError:
        return None
    return browser.notebook_html(source, fit=fit)

