"""The README's images match the code (regenerate them with scripts/make_readme_images.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from voicegraph.nodes.agent import voice_pipeline
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.samples import sample_path

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
SVG = "{http://www.w3.org/2000/svg}"
HINT = "the README image is stale: run python scripts/make_readme_images.py"


def test_the_voice_graph_image_shows_the_current_standard_voice_graph() -> None:
    graph = voice_pipeline(WavSource(path=sample_path("question"))).graph
    root = ET.parse(IMAGES / "voice_graph.svg").getroot()
    titles = {
        kind: {g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g") if g.get("class") == kind}
        for kind in ("node", "edge")
    }
    assert titles["node"] == {n.path for n in graph.iter_nodes()}, HINT
    edges = {f"{e.src.node.path}->{e.dst.node.path}" for e in graph.iter_edges()}
    assert titles["edge"] == edges, HINT
    for node in graph.iter_nodes():
        assert f"{type(node).__name__} · {node.kind}" in ET.tostring(root, encoding="unicode"), HINT


def test_the_timeline_image_is_a_png() -> None:
    assert (IMAGES / "timeline.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_architecture_image_shows_the_session_graph_with_each_hosts_engine() -> None:
    from voicegraph.nodes.agent import AgentController, AgentToolExecutor

    hint = "docs/images/architecture.svg is stale: run python scripts/make_readme_images.py"
    graph = voice_pipeline(
        WavSource(path=sample_path("question")),
        controller=AgentController(),
        tools=AgentToolExecutor(),
    ).graph
    root = ET.parse(IMAGES / "architecture.svg").getroot()
    nodes = {g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g") if g.get("class") == "node"}
    assert nodes == {n.path for n in graph.iter_nodes()}, hint
    text = ET.tostring(root, encoding="unicode")
    hosts = [n for n in graph.iter_nodes() if n.parts()]
    assert len(hosts) >= 5, hint  # vad, stt, turn, llm, tts
    for node in hosts:
        assert f"engine: {node.parts()['engine'].label()}" in text, hint  # type: ignore[union-attr]
