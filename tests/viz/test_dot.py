"""to_dot: node kinds, ports and types on edges, queue settings, feedback, clusters, metrics."""

from __future__ import annotations

import re

import pytest
from graphviz.quoting import quote

from voicegraph.graph import Control, Graph, In, Node, NodeConfig, Out, TextFrame
from voicegraph.runner import EdgeStats, NodeStats, RunMetrics
from voicegraph.viz import bottleneck, to_dot


class Words(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        await self.emit(self.out, TextFrame("hi"))


class Upper(Node):
    class Config(NodeConfig):
        prefix: str = ""
        path: str | None = None

    config: Config
    text: In[TextFrame]
    echo: In[Control] = In(required=False)
    out: Out[TextFrame]
    marks: Out[Control]

    async def on_text(self, frame: TextFrame) -> None:
        await self.emit(self.out, frame)


class Show(Node):
    text: In[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        pass


def build() -> tuple[Graph, Words, Upper, Show]:
    g = Graph("demo")
    words = g.add(Words(), name="words")
    inner = Graph("inner")
    upper = inner.add(Upper(prefix='say "{x|y}" <b>', path="/long/way/to/file.wav"), name="upper")
    g.add(inner)
    show = g.add(Show(), name="show")
    g.connect(words.out, upper.text, capacity=4, policy="drop_oldest")
    g.connect(upper.out, show.text)
    g.connect(upper.marks, upper.echo, feedback=True)
    return g, words, upper, show


def ident(path: str) -> str:
    """How a node path appears in the DOT text (quoted by the graphviz package when needed)."""
    return quote(path)


def edge_line(dot: str, src: str, dst: str) -> str:
    lines = [line for line in dot.splitlines() if f"{ident(src)} -> {ident(dst)} [" in line]
    assert len(lines) == 1, dot
    return lines[0]


def node_line(dot: str, path: str) -> str:
    lines = [line for line in dot.splitlines() if line.strip().startswith(f"{ident(path)} [")]
    assert len(lines) == 1, dot
    return lines[0]


def test_nodes_show_name_class_kind_and_settings() -> None:
    g, *_ = build()
    dot = to_dot(g)
    assert dot.startswith("digraph demo {") and dot.rstrip().endswith("}")
    words, upper = node_line(dot, "words"), node_line(dot, "inner/upper")
    show = node_line(dot, "show")
    assert "Words · source" in words and "#e3f4e1" in words and "bold" in words
    assert "Upper · stage" in upper and "#e8eef9" in upper
    assert "Show · sink" in show and "#fdf0dc" in show
    # settings that differ from the defaults, escaped for a record label; paths shortened
    assert r"prefix='say \"\{x\|y\}\" \<b\>'" in upper
    assert "path='file.wav'" in upper and "/long/way" not in upper


def test_edges_show_ports_types_queue_settings_and_feedback() -> None:
    g, *_ = build()
    dot = to_dot(g)
    first = edge_line(dot, "words", "inner/upper")
    assert r"out → text\nTextFrame · 4 drop_oldest" in first
    assert "dashed" not in first
    assert r"out → text\nTextFrame · 8 block" in edge_line(dot, "inner/upper", "show")
    loop = edge_line(dot, "inner/upper", "inner/upper")
    assert "style=dashed" in loop and "constraint=false" in loop
    assert "feedback: marks → echo" in loop and "events · 8 block" in loop


def test_subgraphs_are_clusters() -> None:
    g, *_ = build()
    dot = to_dot(g)
    cluster = dot.index("subgraph cluster_inner {")
    assert cluster < dot.index('"inner/upper" [') < dot.index("\t}", cluster)
    assert "label=inner" in dot


def test_every_node_and_edge_is_in_the_standard_voice_graph() -> None:
    from voicegraph.nodes.agent import voice_pipeline
    from voicegraph.nodes.audio import WavSource
    from voicegraph.nodes.llm import ScriptedLLM
    from voicegraph.nodes.samples import sample_path
    from voicegraph.nodes.stt import ScriptedSTT
    from voicegraph.nodes.tts import ScriptedTTS

    p = voice_pipeline(
        WavSource(path=str(sample_path("question"))),
        stt=ScriptedSTT(),
        llm=ScriptedLLM(),
        tts=ScriptedTTS(),
    )
    dot = to_dot(p.graph)
    for node in p.graph.iter_nodes():
        node_line(dot, node.path)
    edges = re.findall(r"^\s*(\S+) -> (\S+) \[", dot, flags=re.MULTILINE)
    expected = [(ident(e.src.node.path), ident(e.dst.node.path)) for e in p.graph.iter_edges()]
    assert sorted(edges) == sorted(expected)


def metrics_for(**busy: float) -> RunMetrics:
    nodes = {
        name: NodeStats(frames_in=10, frames_out=10, busy=b, max_handle=b / 5)
        for name, b in busy.items()
    }
    nodes["words"] = NodeStats(frames_out=10)
    edges = {
        "words.out -> inner/upper.text": EdgeStats(
            "words.out -> inner/upper.text", 4, "drop_oldest", 10, 3, 0, 1, 4
        ),
        "inner/upper.out -> show.text": EdgeStats(
            "inner/upper.out -> show.text", 8, "block", 10, 0, 2, 0, 2
        ),
    }
    return RunMetrics(nodes=nodes, edges=edges, elapsed=2.0)


def test_metrics_are_overlaid_and_the_bottleneck_marked() -> None:
    g, *_ = build()
    m = metrics_for(**{"inner/upper": 0.5, "show": 0.9})
    dot = to_dot(g, m)
    upper = node_line(dot, "inner/upper")
    assert r"in 10 · out 10\lbusy 500.0 ms · 50.0 ms/frame (max 100.0 ms)\l" in upper
    # the sink was busier, but a terminal node's time is pacing: the stage is the bottleneck
    assert "◆ bottleneck" in upper and "#fbdcdc" in upper and "◆" not in node_line(dot, "show")
    full = edge_line(dot, "words", "inner/upper")
    assert "5.0 fr/s · q 1 hw 4/4 · drops 3" in full and "#c0392b" in full  # filled up, dropped
    calm = edge_line(dot, "inner/upper", "show")
    assert "5.0 fr/s · q 0 hw 2/8 · stale 2" in calm and "#c0392b" not in calm


def test_bottleneck_rules() -> None:
    assert bottleneck(metrics_for(**{"inner/upper": 0.5, "show": 0.9})) == "inner/upper"
    assert bottleneck(metrics_for(show=0.9)) == "show"  # nothing else was busy
    assert bottleneck(metrics_for()) is None
    g, *_ = build()
    m = metrics_for(**{"inner/upper": 0.5})
    assert "◆" not in to_dot(g, m, bottleneck=None)
    assert "◆ bottleneck" in node_line(to_dot(g, m, bottleneck="show"), "show")


def test_a_node_blocked_on_a_full_output_is_not_the_bottleneck() -> None:
    m = metrics_for(**{"inner/upper": 0.5, "show": 0.1})
    edges = dict(m.edges)
    edges["inner/upper.out -> show.text"] = EdgeStats(
        "inner/upper.out -> show.text", 8, "block", 10, 0, 0, 8, 8
    )
    blocked = RunMetrics(nodes=m.nodes, edges=edges, elapsed=2.0)
    assert bottleneck(blocked) == "show"


def test_top_to_bottom_layout_and_options() -> None:
    g, *_ = build()
    dot = to_dot(g, rankdir="TB", title="my graph", config=False)
    assert "rankdir=TB" in dot and 'label="my graph"' in dot
    assert node_line(dot, "show").split('label="', 1)[1].startswith("{")
    assert "prefix=" not in dot
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(g, rankdir="RL")  # type: ignore[arg-type]


def test_an_invalid_graph_can_still_be_drawn() -> None:
    g = Graph()
    g.add(Show(), name="show")  # its required input is not connected
    assert g.problems()
    node_line(to_dot(g), "show")


def test_host_nodes_name_their_engine_and_its_settings() -> None:
    from voicegraph.nodes.llm import LLMNode
    from voicegraph.nodes.tts import TTSNode
    from voicegraph.testing import ScriptedLLM, ScriptedTTS

    g = Graph("g")
    g.add(LLMNode(engine=ScriptedLLM(replies=["Hi."], token_delay=0.5)), name="llm")
    g.add(TTSNode(engine=ScriptedTTS()), name="tts")
    dot = to_dot(g)

    assert "engine: ScriptedLLM" in dot and "engine: ScriptedTTS" in dot
    assert "engine.token_delay=0.5" in dot
    assert "engine.seconds_per_char" not in dot  # defaults stay out, as for node settings
