"""chainrule.viz.render: finding a renderer, save (SVG, PNG, PDF, DOT), render()/view(),
the notebook display (fitted to the cell) and what happens without a renderer."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from viz_helpers import ROOT, graphviz_pure, lecture, svg_texts, without_renderer

from chainrule import Value, viz
from chainrule.viz import (
    Drawing,
    RendererNotFound,
    RendererWarning,
    draw_dot,
    find_renderer,
    render,
    save,
)


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    """A world without dot and graphviz-pure: empty PATH, no scripts dir, no env var."""
    without_renderer(monkeypatch, tmp_path)


@pytest.fixture
def use_dot(monkeypatch, dot_program):
    monkeypatch.setenv("CHAINRULE_DOT", dot_program)
    return dot_program


@pytest.fixture
def no_in_page(monkeypatch):
    """As where the in-page renderer (viz.js) is not installed."""
    monkeypatch.setattr(render, "_in_page", lambda source, fit: None)


def test_find_renderer_order(monkeypatch, tmp_path):
    path_dir, scripts = tmp_path / "path", tmp_path / "scripts"
    path_dir.mkdir()
    scripts.mkdir()

    def program(where: Path, name: str) -> str:
        exe = where / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
        return str(exe)

    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setenv("PATH", str(path_dir))
    monkeypatch.setattr(render, "_scripts_dir", lambda: str(scripts))
    assert find_renderer() is None
    in_scripts = program(scripts, "graphviz-pure")  # a Jupyter kernel's unactivated venv
    assert find_renderer() == in_scripts
    on_path = program(path_dir, "graphviz-pure")
    assert find_renderer() == on_path
    dot = program(path_dir, "dot")
    assert find_renderer() == dot
    chosen = program(tmp_path, "my-dot")
    monkeypatch.setenv("CHAINRULE_DOT", chosen)
    assert find_renderer() == chosen
    monkeypatch.setenv("CHAINRULE_DOT", str(tmp_path / "missing"))
    assert find_renderer() is None
    with pytest.raises(RendererNotFound, match="CHAINRULE_DOT=.*missing.*not an executable"):
        save(Value(1.0), tmp_path / "x.svg")


def test_save_svg_png_dot_with_system_dot(use_dot, tmp_path):
    o = lecture()["o"]
    o.backward()
    g = draw_dot(o)
    svg = save(g, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "grad -1.5" in svg_texts(svg.read_bytes())
    png = save(g, tmp_path / "g.PNG").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert save(g, tmp_path / "g.dot").read_text(encoding="utf-8") == g.source
    assert save(o, tmp_path / "v.gv").read_text(encoding="utf-8") == g.source  # a Value works
    assert save(g, tmp_path / "g.pdf").read_bytes().startswith(b"%PDF-")  # for slides
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot or \.gv files, not .g\.bmp."):
        save(g, tmp_path / "g.bmp")
    assert not (tmp_path / "g.bmp").exists()
    handout = save(o, tmp_path / "h.dot", blank_grads=True).read_text(encoding="utf-8")
    assert handout == draw_dot(o, blank_grads=True).source  # a Value takes draw_dot's options
    with pytest.raises(TypeError, match="drawing options only with a Value"):
        save(g, tmp_path / "x.svg", view="forward")
    assert g.pipe("svg", encoding="utf-8").lstrip().startswith("<?xml")
    assert draw_dot(o, format="png").pipe().startswith(b"\x89PNG")  # micrograd's format=


def test_save_and_display_with_graphviz_pure(monkeypatch, tmp_path):
    program = graphviz_pure()
    monkeypatch.setenv("CHAINRULE_DOT", program)
    o = lecture()["o"]
    o.backward()
    g = draw_dot(o)
    assert "grad -1.5" in svg_texts(save(g, tmp_path / "g.svg").read_bytes())
    assert save(g, tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    bundle = g._repr_mimebundle_()
    assert sorted(bundle) == ["image/svg+xml", "text/html"] and "<svg" in bundle["image/svg+xml"]
    with pytest.raises(viz.RenderError, match="cannot write PDF.*apt-get install graphviz"):
        save(g, tmp_path / "g.pdf")  # graphviz-pure has no PDF output: say what does
    assert not (tmp_path / "g.pdf").exists()


def test_graphviz_pure_is_found_without_dot_on_path(monkeypatch, tmp_path):
    program = graphviz_pure()
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot, and no activated venv
    monkeypatch.setattr(render, "_scripts_dir", lambda: str(Path(program).parent))
    assert find_renderer() == program
    bundle = draw_dot(lecture()["o"])._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_render_and_view_use_graphviz_pure_without_dot_on_path(monkeypatch, tmp_path):
    program = graphviz_pure()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: graphviz's own render() fails here
    monkeypatch.setenv("CHAINRULE_DOT", program)
    opened = []
    monkeypatch.setattr(Drawing, "_view", lambda self, path, format, quiet: opened.append(path))
    o = lecture()["o"]
    o.backward()
    g = draw_dot(o)
    out = tmp_path / "out"
    rendered = g.render(directory=out)
    assert Path(rendered) == out / "computation graph.gv.svg"
    assert "grad -1.5" in svg_texts(Path(rendered).read_bytes())
    assert (out / "computation graph.gv").read_text(encoding="utf-8") == g.source
    png = g.render(outfile=out / "g.png", cleanup=True)
    assert Path(png) == out / "g.png" and Path(png).read_bytes().startswith(b"\x89PNG")
    assert not (out / "g.gv").exists()  # cleanup removes the DOT file
    assert g.render(out / "h", format="png").endswith("h.png")
    with pytest.raises(FileExistsError):
        g.render(outfile=out / "g.png", raise_if_result_exists=True)
    assert opened == []
    viewed = g.view(directory=out / "v")
    assert opened == [viewed] and Path(viewed).read_bytes().startswith(b"<?xml")


def test_render_and_view_without_a_renderer_say_what_to_install(no_renderer, monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(Drawing, "_view", lambda self, path, format, quiet: opened.append(path))
    g = draw_dot(lecture()["o"])
    out = tmp_path / "out"
    for call in (lambda: g.render(directory=out), lambda: g.view(directory=out),
                 lambda: g.render(outfile=out / "g.png")):
        with pytest.raises(RendererNotFound, match="pip install graphviz-pure") as error:
            call()
        assert "apt-get install graphviz" in str(error.value)
    assert opened == [] and not out.exists()  # nothing half written, no viewer started


def test_notebook_display_renders_svg(use_dot):
    from IPython.core.interactiveshell import InteractiveShell

    g = draw_dot(lecture()["o"])
    assert isinstance(g, Drawing) and isinstance(g, viz.graphviz.Digraph)
    data, _ = InteractiveShell.instance().display_formatter.format(g)
    assert "<svg" in data["image/svg+xml"]


def test_notebook_without_renderer_or_viz_js_shows_dot_text_and_one_warning(
    no_renderer, no_in_page, capsys
):
    from IPython.core.interactiveshell import InteractiveShell

    g = draw_dot(lecture()["o"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bundle = g._repr_mimebundle_()
    assert bundle == {"text/plain": g.source}
    assert len(caught) == 1 and issubclass(caught[0].category, RendererWarning)
    message = str(caught[0].message)
    assert "apt-get install graphviz" in message and "pip install graphviz-pure" in message
    assert "chainrule[render]" in message

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data, _ = InteractiveShell.instance().display_formatter.format(g)
    assert data["text/plain"] == g.source and "image/svg+xml" not in data
    assert len([w for w in caught if issubclass(w.category, RendererWarning)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_without_renderer_svg_and_png_fail_with_hints_and_dot_still_saves(no_renderer, tmp_path):
    g = draw_dot(lecture()["o"])
    for name in ("g.svg", "g.png"):
        with pytest.raises(RendererNotFound) as error:
            save(g, tmp_path / name)
        assert isinstance(error.value, RuntimeError)
        for hint in ("apt-get install graphviz", "pip install graphviz-pure", "CHAINRULE_DOT"):
            assert hint in str(error.value)
    assert save(g, tmp_path / "g.dot").read_text(encoding="utf-8") == g.source


def test_a_failing_renderer_is_a_warning_in_a_notebook(monkeypatch, tmp_path):
    broken = tmp_path / "broken-dot"
    broken.write_text("#!/bin/sh\necho 'Error: out of cheese' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CHAINRULE_DOT", str(broken))
    g = draw_dot(lecture()["o"])
    with pytest.warns(RendererWarning, match="out of cheese"):
        assert g._repr_mimebundle_() == {"text/plain": g.source}
    with pytest.raises(viz.RenderError, match="exit status 3"):
        save(g, tmp_path / "g.svg")


def test_import_without_graphviz_says_how_to_install():
    script = "import sys; sys.modules['graphviz'] = None; import chainrule.viz"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0
    assert "ImportError" in done.stderr and "pip install chainrule[viz]" in done.stderr


def test_in_a_jupyter_kernel_svg_then_dot_text_with_one_warning(dot_program):
    """What a notebook really shows: SVG; without a renderer the DOT text, warned once."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "from chainrule import Value\n"
        "from chainrule.viz import draw_dot\n"
        "x = Value(2.0, label='x')\n"
        "y = (x * x).tanh()\n"
        "y.backward()\n"
        "draw_dot(y)",
        "import os\n"
        "from chainrule import viz\n"
        "os.environ['PATH'] = ''\n"
        "os.environ.pop('CHAINRULE_DOT', None)\n"
        "viz.render._scripts_dir = lambda: None\n"
        "viz.render._in_page = lambda source, fit: None\n"
        "draw_dot(y)",
        "draw_dot(y, view='forward')",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    shown, fallback, again = (cell.outputs for cell in notebook.cells)
    assert [o.output_type for o in shown] == ["execute_result"]
    assert "<svg" in shown[0].data["image/svg+xml"]
    assert '<svg width="100%"' in shown[0].data["text/html"]  # fitted to the cell
    results = [o for o in fallback if o.output_type == "execute_result"]
    assert list(results[0].data) == ["text/plain"]
    assert results[0].data["text/plain"].startswith('digraph "computation graph" {')
    warned = "".join(o.text for o in fallback if o.output_type == "stream")
    assert warned.count("RendererWarning") == 1 and "pip install graphviz-pure" in warned
    assert not any(o.output_type == "error" for o in fallback + again)
    assert [o.output_type for o in again] == ["execute_result"]  # no second warning


def test_notebook_html_fits_the_cell_and_a_click_shows_full_size(use_dot):
    g = draw_dot(lecture()["o"])
    svg = g.pipe("svg", encoding="utf-8")
    width = re.search(r'<svg width="([\d.]+)pt"', svg).group(1)
    shown = g._repr_mimebundle_()["text/html"]
    assert shown.startswith('<div style="overflow:auto"><svg width="100%" ')
    smallest = min(float(f) for f in re.findall(r'font-size="([\d.]+)"', svg))
    floor = round(float(width) * 11 / smallest)  # px: there the smallest text is 11 px
    assert f"max-width:{width}pt;min-width:{floor}px;height:auto" in shown  # then it scrolls
    assert floor < 900  # the lecture neuron fits a 900 px cell without scrolling
    assert f"this.style.width=f?'{width}pt':'100%'" in shown  # the click toggles full size
    assert 'viewBox="' in shown  # the aspect ratio survives the width="100%"
    natural = draw_dot(lecture()["o"], fit=False)._repr_mimebundle_()["text/html"]
    assert f'<svg width="{width}pt"' in natural and 'width="100%"' not in natural


def test_without_a_renderer_the_notebook_draws_in_the_page(no_renderer, monkeypatch):
    seen = []
    monkeypatch.setattr(render, "_in_page", lambda source, fit: seen.append(fit) or "<div>js</div>")
    g = draw_dot(lecture()["o"], fit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a picture, not a fallback: no warning
        bundle = g._repr_mimebundle_()
    assert bundle == {"text/html": "<div>js</div>", "text/plain": g.source} and seen == [False]
