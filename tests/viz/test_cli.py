"""`voicegraph render module:graph -o out.svg` (and png, dot, stdout, fallback)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from voicegraph.cli import app
from voicegraph.viz import _render as render_module

MODULE = """
from voicegraph.graph import Graph, In, Node, Out, TextFrame


class Source(Node):
    out: Out[TextFrame]

    async def run(self):
        await self.emit(self.out, TextFrame("x"))


class Sink(Node):
    text: In[TextFrame]

    async def on_text(self, frame):
        pass


def build():
    g = Graph("cli")
    src = g.add(Source(), name="src")
    sink = g.add(Sink(), name="sink")
    g.connect(src.out, sink.text)
    return g


class Pipeline:
    graph = build()


pipeline = Pipeline()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "vg_cli_graph.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_render_svg_png_and_dot(project: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["render", "vg_cli_graph:build", "-o", "out.svg"])
    assert done.exit_code == 0, done.output
    assert "wrote out.svg" in done.output
    root = ET.parse(project / "out.svg").getroot()
    assert root.tag.endswith("svg")
    args = ["render", "vg_cli_graph:pipeline", "-o", "out.png", "--rankdir", "TB"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert (project / "out.png").read_bytes().startswith(b"\x89PNG")
    done = runner.invoke(app, ["render", "vg_cli_graph:build", "-o", "g.gv"])
    assert done.exit_code == 0 and (project / "g.gv").read_text().startswith("digraph cli {")
    done = runner.invoke(app, ["render", "vg_cli_graph:build"])
    assert done.exit_code == 0 and done.output.startswith("digraph cli {")


def test_render_falls_back_to_dot_with_a_message(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "_find_renderers", lambda fmt: [])
    done = CliRunner().invoke(app, ["render", "vg_cli_graph:build", "-o", "out.svg"])
    assert done.exit_code == 0, done.output
    assert "no Graphviz renderer is available" in done.output and "out.dot" in done.output
    assert (project / "out.dot").read_text().startswith("digraph")
    assert not (project / "out.svg").exists()


def test_render_refuses_bad_arguments(project: Path) -> None:
    runner = CliRunner()
    for args in (
        ["render", "vg_cli_graph:build", "-o", "out.pdf"],
        ["render", "vg_cli_graph:build", "-f", "svg"],
        ["render", "vg_cli_graph:build", "--rankdir", "RL"],
        ["render", "vg_cli_graph:nothing"],
    ):
        done = runner.invoke(app, args)
        assert done.exit_code == 2, (args, done.output)


def test_run_writes_the_diagram_and_the_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voicegraph.nodes.agent as agent
    from voicegraph.nodes.llm import ScriptedLLM
    from voicegraph.nodes.stt import ScriptedSTT
    from voicegraph.nodes.tts import ScriptedTTS

    real = agent.voice_pipeline

    def scripted(source: Any, **stages: Any) -> Any:  # the models are tested elsewhere
        stages.update(stt=ScriptedSTT(texts=["Hello?"]), llm=ScriptedLLM(replies=["Hi."]))
        return real(source, tts=ScriptedTTS(), **stages)

    monkeypatch.setattr(agent, "voice_pipeline", scripted)
    out = tmp_path / "reply.wav"
    args = ["run", "--fast", "--quiet", "--diagram", "--timeline", "-o", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    svg = ET.parse(tmp_path / "reply-graph.svg").getroot()
    assert svg.tag.endswith("svg") and "fr/s" in ET.tostring(svg, encoding="unicode")
    assert (tmp_path / "reply-timeline.png").read_bytes().startswith(b"\x89PNG")
