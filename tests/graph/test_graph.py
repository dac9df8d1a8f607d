"""The Graph builder: add, connect, ``>>``, subgraphs, flatten, check() and to_networkx."""

from __future__ import annotations

import networkx as nx
import pytest

from voicegraph.graph import (
    DEFAULT_CAPACITY,
    AudioFrame,
    Edge,
    Graph,
    GraphError,
    In,
    Node,
    NodeConfig,
    Out,
    Supervision,
    TextFrame,
    Transcript,
)


class Source(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        pass


class Upper(Node):
    text: In[TextFrame]
    out: Out[TextFrame]

    class Config(NodeConfig):
        times: int = 1

    async def on_text(self, frame: TextFrame) -> None:
        pass


class Sink(Node):
    text: In[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        pass


class OptionalSink(Node):
    text: In[TextFrame] = In(required=False)

    async def on_text(self, frame: TextFrame) -> None:
        pass


class TwoOut(Node):
    a: Out[TextFrame]
    b: Out[TextFrame]

    async def run(self) -> None:
        pass


class Mic(Node):
    audio: Out[AudioFrame] = Out(sample_rate=48000)

    async def run(self) -> None:
        pass


class Mic16k(Node):
    audio: Out[AudioFrame] = Out(sample_rate=16000)

    async def run(self) -> None:
        pass


class Vad(Node):
    audio: In[AudioFrame] = In(sample_rate=16000)
    out: Out[AudioFrame] = Out(sample_rate=16000)

    async def on_audio(self, frame: AudioFrame) -> None:
        pass


class Stt(Node):
    audio: In[AudioFrame]
    text: Out[Transcript]

    async def on_audio(self, frame: AudioFrame) -> None:
        pass


class TranscriptSink(Node):
    text: In[Transcript]

    async def on_text(self, frame: Transcript) -> None:
        pass


class NoHandler(Node):
    text: In[TextFrame]


def problems_of(graph: Graph) -> list[str]:
    with pytest.raises(GraphError) as info:
        graph.check()
    assert info.value.problems == graph.problems()
    return info.value.problems


def one_problem(graph: Graph, *fragments: str) -> str:
    problems = problems_of(graph)
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], problems[0]
    return problems[0]


# ---------------------------------------------------------------------------- add


def test_add_returns_node_and_names_it_in_snake_case() -> None:
    g = Graph()
    up = Upper()
    assert g.add(up) is up
    assert up.name == "upper"
    assert g["upper"] is up
    assert up in g


def test_auto_names_are_made_unique() -> None:
    g = Graph()
    names = [g.add(Upper()).name for _ in range(3)]
    assert names == ["upper", "upper_2", "upper_3"]


def test_explicit_name() -> None:
    g = Graph()
    assert g.add(Upper(), name="shout").name == "shout"
    with pytest.raises(KeyError):
        g["upper"]


@pytest.mark.parametrize("name", ["", "a/b", "a.b"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(GraphError, match="invalid node name"):
        Graph().add(Upper(), name=name)


def test_a_node_belongs_to_one_graph() -> None:
    up = Upper()
    g = Graph()
    g.add(up)
    assert g.add(up) is up  # adding again to the same graph is a no-op
    assert len(g.members) == 1
    with pytest.raises(GraphError, match="already belongs to another graph"):
        Graph().add(up)


def test_a_graph_cannot_contain_itself() -> None:
    g = Graph()
    with pytest.raises(GraphError, match="cannot contain itself"):
        g.add(g)


def test_on_error_policy() -> None:
    g = Graph()
    up = g.add(Upper(), on_error="restart")
    assert up._supervision == Supervision(policy="restart")
    fallback = Upper()
    sup = Supervision(policy="fallback", fallback=fallback)
    other = g.add(Upper(), on_error=sup)
    assert other._supervision is sup
    with pytest.raises(GraphError, match="supervision applies to nodes"):
        g.add(Graph("sub"), on_error="restart")


# ---------------------------------------------------------------------------- connect


def test_connect_returns_edge_with_settings() -> None:
    g = Graph()
    src, up = g.add(Source()), g.add(Upper())
    edge = g.connect(src.out, up.text, capacity=2, policy="latest")
    assert edge == Edge(src.out, up.text, 2, "latest", False)
    assert g.edges == (edge,)
    assert edge.label == "source.out -> upper.text"
    default = g.connect(up.out, g.add(Sink()).text)
    assert (default.capacity, default.policy, default.feedback) == (
        DEFAULT_CAPACITY,
        "block",
        False,
    )


def test_connect_type_mismatch_names_both_ends_and_types() -> None:
    g = Graph()
    stt, sink = g.add(Stt()), g.add(Sink())
    with pytest.raises(GraphError) as info:
        g.connect(stt.text, sink.text)
    (message,) = info.value.problems
    assert "stt.text produces Transcript" in message
    assert "sink.text accepts TextFrame" in message
    assert "insert a node that converts" in message
    assert g.edges == ()


def test_connect_audio_into_text_hints_at_stt() -> None:
    g = Graph()
    mic, sink = g.add(Mic()), g.add(Sink())
    with pytest.raises(GraphError, match="speech-to-text turns audio into Transcript"):
        g.connect(mic.audio, sink.text)


def test_connect_reports_every_bad_setting() -> None:
    g = Graph()
    src, up = g.add(Source()), g.add(Upper())
    with pytest.raises(GraphError) as info:
        g.connect(src.out, up.text, capacity=0, policy="drop_newest")  # type: ignore[arg-type]
    assert len(info.value.problems) == 2
    assert "unknown policy 'drop_newest'" in info.value.problems[0]
    assert "capacity must be an integer >= 1" in info.value.problems[1]


def test_connect_needs_nodes_in_the_graph() -> None:
    g = Graph()
    src = g.add(Source())
    with pytest.raises(GraphError, match=r"is not in this graph; add it with Graph\.add"):
        g.connect(src.out, Upper().text)


def test_connect_needs_out_then_in() -> None:
    g = Graph()
    up1, up2 = g.add(Upper()), g.add(Upper())
    with pytest.raises(GraphError, match="needs an Out port then an In port"):
        g.connect(up1.text, up2.out)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- >>


def test_rshift_connects_the_one_matching_pair() -> None:
    g = Graph()
    src, up = g.add(Source()), g.add(Upper())
    assert (src >> up) is up
    (edge,) = g.edges
    assert (edge.src, edge.dst) == (src.out, up.text)


def test_rshift_adds_the_unowned_side() -> None:
    g = Graph()
    src = g.add(Source())
    up = Upper()
    src >> up
    assert up in g


def test_rshift_ambiguous_lists_options_and_changes_nothing() -> None:
    two, sink = TwoOut(), Sink()
    with Graph() as g, pytest.raises(GraphError) as info:
        two >> sink
    message = str(info.value)
    assert "found 2 (a->text, b->text)" in message
    assert "g.connect(a.port, b.port)" in message
    assert g.members == ()
    assert g.edges == ()


def test_rshift_with_a_port_disambiguates() -> None:
    with Graph() as g:
        two = TwoOut()
        sink = Sink()
        two.b >> sink
    (edge,) = g.edges
    assert edge.src is two.b


def test_rshift_to_a_port() -> None:
    g = Graph()
    src, up = g.add(Source()), g.add(Upper())
    src >> up.text
    assert g.edges[0].dst is up.text


def test_rshift_without_a_match() -> None:
    g = Graph()
    mic, sink = g.add(Mic()), g.add(Sink())
    with pytest.raises(GraphError, match=r"needs exactly one matching port pair, found 0 \(none\)"):
        mic >> sink


def test_rshift_outside_any_graph() -> None:
    with pytest.raises(GraphError, match="neither is in a graph"):
        Source() >> Upper()


def test_rshift_between_unrelated_graphs() -> None:
    src, up = Graph().add(Source()), Graph().add(Upper())
    with pytest.raises(GraphError, match="unrelated graphs"):
        src >> up


def test_rshift_on_non_node_is_type_error() -> None:
    with pytest.raises(TypeError):
        Source() >> 3  # type: ignore[operator]


def test_with_block_chains() -> None:
    with Graph("pipe") as g:
        src, up1, up2, sink = Source(), Upper(), Upper(), Sink()
        src >> up1 >> up2 >> sink
    assert [m.name for m in g.members] == ["source", "upper", "upper_2", "sink"]
    assert [e.label for e in g.edges] == [
        "source.out -> upper.text",
        "upper.out -> upper_2.text",
        "upper_2.out -> sink.text",
    ]
    g.check()


def test_nested_with_blocks_restore_the_outer_graph() -> None:
    with Graph() as outer:
        with Graph() as inner:
            Source() >> Sink()
        Source() >> Sink()
    assert len(inner.members) == 2
    assert len(outer.members) == 2


# ---------------------------------------------------------------------------- fan-in / fan-out


def test_fan_out_and_fan_in() -> None:
    g = Graph()
    src = g.add(Source())
    a, b = g.add(Upper(), name="a"), g.add(Upper(), name="b")
    sink = g.add(Sink())
    g.connect(src.out, a.text)
    g.connect(src.out, b.text)  # fan-out: one output, two edges
    g.connect(a.out, sink.text)
    g.connect(b.out, sink.text)  # fan-in: two edges into one input
    g.check()
    nxg = g.to_networkx()
    assert sorted(nxg.successors("source")) == ["a", "b"]
    assert sorted(nxg.predecessors("sink")) == ["a", "b"]


# ---------------------------------------------------------------------------- subgraphs


def make_asr() -> Graph:
    asr = Graph("asr")
    vad, stt = asr.add(Vad()), asr.add(Stt())
    asr.connect(vad.out, stt.audio)
    asr.expose("audio", vad.audio)
    asr.expose("text", stt.text)
    return asr


def test_expose_and_read_exposed_ports() -> None:
    asr = make_asr()
    vad, stt = asr["vad"], asr["stt"]
    assert isinstance(vad, Vad) and isinstance(stt, Stt)
    assert asr.audio is vad.audio
    assert asr.port("text") is stt.text
    assert list(asr.inputs) == ["audio"]
    assert list(asr.outputs) == ["text"]
    with pytest.raises(GraphError, match=r"exposes no port 'nope'; exposed: \['audio', 'text'\]"):
        asr.port("nope")
    with pytest.raises(AttributeError, match="no attribute or exposed port 'nope'"):
        _ = asr.nope


def test_expose_needs_a_member_port() -> None:
    with pytest.raises(GraphError, match="its node is not in graph 'asr'"):
        Graph("asr").expose("x", Upper().text)


def test_connect_outer_nodes_to_exposed_ports() -> None:
    g = Graph("agent")
    mic = g.add(Mic16k(), name="mic")
    asr = g.add(make_asr())
    sink = g.add(TranscriptSink(), name="sink")
    g.connect(mic.audio, asr.audio)
    asr >> sink
    g.check()
    assert [e.label for e in g.edges] == ["mic.audio -> asr/vad.audio", "asr/stt.text -> sink.text"]
    assert asr.path == "asr"
    assert asr["vad"].path == "asr/vad"


def test_rshift_into_a_subgraph_inside_with_adds_to_the_outer_graph() -> None:
    with Graph() as g:
        asr = g.add(make_asr())
        sink = TranscriptSink()
        asr.text >> sink
    assert sink._graph is g
    assert sink.path == "transcript_sink"


def test_flatten_uses_paths() -> None:
    g = Graph()
    src = g.add(Mic16k(), name="src")
    asr = g.add(make_asr())
    g.connect(src.audio, asr.audio)
    g.add(TranscriptSink(), name="sink")
    g.connect(asr.text, g["sink"].text)  # type: ignore[union-attr]
    flat = g.flatten()
    assert list(flat.nodes) == ["src", "asr/vad", "asr/stt", "sink"]
    assert [e.label for e in flat.edges] == [
        "src.audio -> asr/vad.audio",
        "asr/stt.text -> sink.text",
        "asr/vad.out -> asr/stt.audio",
    ]
    # a required input left open inside the subgraph is reported with its path
    g2 = Graph()
    g2.add(make_asr())
    with pytest.raises(GraphError, match=r"input asr/vad.audio \[AudioFrame\] is not connected"):
        g2.flatten()


def test_nested_subgraph_paths() -> None:
    outer, middle = Graph("outer"), Graph("middle")
    middle.add(make_asr())
    outer.add(middle)
    assert [n.path for n in outer.iter_nodes()] == ["middle/asr/vad", "middle/asr/stt"]


# ---------------------------------------------------------------------------- check


def test_valid_graph_passes() -> None:
    g = Graph()
    src, up, sink = g.add(Source()), g.add(Upper()), g.add(Sink())
    src >> up >> sink
    g.check()
    assert g.problems() == []


def test_check_unconnected_required_input() -> None:
    g = Graph()
    g.add(Upper())
    g.add(OptionalSink())  # optional: fine
    one_problem(g, "input upper.text [TextFrame] is not connected", "In(required=False)")


def test_check_missing_handler() -> None:
    g = Graph()
    src, bare = g.add(Source()), g.add(NoHandler())
    g.connect(src.out, bare.text)
    one_problem(g, "'no_handler' has no handler for input 'text'", "async def on_text")


def test_check_unmarked_cycle() -> None:
    g = Graph()
    a, b = g.add(Upper(), name="a"), g.add(Upper(), name="b")
    g.connect(a.out, b.text)
    g.connect(b.out, a.text)
    problem = one_problem(g, "has no edge marked feedback=True")
    assert "a -> b -> a" in problem or "b -> a -> b" in problem


def test_check_feedback_marked_cycle_is_accepted() -> None:
    g = Graph()
    a, b = g.add(Upper(), name="a"), g.add(Upper(), name="b")
    g.connect(a.out, b.text)
    g.connect(b.out, a.text, feedback=True)
    g.check()


def test_check_self_loop() -> None:
    g = Graph()
    a = g.add(Upper(), name="a")
    g.connect(a.out, a.text)
    one_problem(g, "cycle a -> a")


def test_check_duplicate_names() -> None:
    g = Graph()
    g.add(Source(), name="x")
    g.add(Source(), name="x")
    one_problem(g, "duplicate name 'x'")


def test_check_sample_rate_mismatch_suggests_a_resampler() -> None:
    g = Graph()
    mic, vad = g.add(Mic()), g.add(Vad())
    with pytest.raises(GraphError, match="48000 Hz into 16000 Hz; insert a Resampler"):
        g.connect(mic.audio, vad.audio)
    stt, sink = g.add(Stt()), g.add(TranscriptSink())
    g.connect(vad.out, stt.audio)
    g.connect(stt.text, sink.text)
    g._edges.append(Edge(mic.audio, vad.audio))  # bypass connect(): check() still finds it
    one_problem(g, "sample-rate mismatch", "48000 Hz into 16000 Hz", "insert a Resampler")


def test_check_reports_every_problem_at_once() -> None:
    g = Graph()
    # type mismatch: an edge that bypassed connect()
    stt, text_sink = g.add(Stt()), g.add(Sink(), name="text_sink")
    g._edges.append(Edge(stt.text, text_sink.text))
    # unconnected required input
    g.add(Upper(), name="lonely")
    # missing handler
    src, bare = g.add(Source()), g.add(NoHandler())
    g.connect(src.out, bare.text)
    # unmarked cycle
    a, b = g.add(Upper(), name="a"), g.add(Upper(), name="b")
    g.connect(a.out, b.text)
    g.connect(b.out, a.text)
    # a feedback-marked cycle: not a problem
    c, d = g.add(Upper(), name="c"), g.add(Upper(), name="d")
    g.connect(c.out, d.text)
    g.connect(d.out, c.text, feedback=True)
    # duplicate names
    g.add(Source(), name="dup")
    g.add(Source(), name="dup")
    # sample-rate mismatch
    mic, vad = g.add(Mic()), g.add(Vad())
    g._edges.append(Edge(mic.audio, vad.audio))
    g.connect(vad.out, stt.audio)

    with pytest.raises(GraphError) as info:
        g.check()
    problems = info.value.problems
    expected = [
        "duplicate name 'dup'",
        "type mismatch on edge stt.text -> text_sink.text",
        "sample-rate mismatch on edge mic.audio -> vad.audio",
        "input lonely.text [TextFrame] is not connected",
        "'no_handler' has no handler for input 'text'",
        "has no edge marked feedback=True",
    ]
    for fragment in expected:
        assert sum(fragment in p for p in problems) == 1, (fragment, problems)
    assert not any("c -> d" in p or "d -> c" in p for p in problems)
    assert len(problems) == len(expected)
    assert str(info.value).startswith(f"the graph has {len(expected)} problems:\n  - ")


def test_check_reports_an_unconnected_input_together_with_other_problems() -> None:
    g = Graph()
    g.add(Upper())
    g.add(Source(), name="x")
    g.add(Source(), name="x")
    problems = problems_of(g)
    assert len(problems) == 2
    assert any("upper.text" in p and "not connected" in p for p in problems)


def test_check_duplicate_names_inside_a_subgraph() -> None:
    sub = Graph("sub")
    sub.add(Source(), name="s")
    sub.add(Source(), name="s")
    g = Graph()
    g.add(sub)
    one_problem(g, "duplicate name 's' in graph 'sub'")


# ---------------------------------------------------------------------------- networkx


def test_to_networkx_attributes() -> None:
    g = Graph("demo")
    src = g.add(Mic16k(), name="src")
    asr = g.add(make_asr())
    g.connect(src.audio, asr.audio, capacity=3, policy="drop_oldest")
    up = g.add(Upper(times=2))
    nxg = g.to_networkx()
    assert isinstance(nxg, nx.MultiDiGraph)
    assert nxg.graph["name"] == "demo"
    assert list(nxg.nodes) == ["src", "asr/vad", "asr/stt", "upper"]
    attrs = nxg.nodes["upper"]
    assert attrs["node"] is up
    assert attrs["type"] == f"{Upper.__module__}:Upper"
    assert attrs["kind"] == "stage"
    assert attrs["config"] == {"times": 2}
    assert nxg.nodes["src"]["config"] == {}
    edges = {(u, v): data for u, v, data in nxg.edges(data=True)}
    assert edges[("src", "asr/vad")] == {
        "src_port": "audio",
        "dst_port": "audio",
        "frame_type": "AudioFrame",
        "capacity": 3,
        "policy": "drop_oldest",
        "feedback": False,
    }
    assert edges[("asr/vad", "asr/stt")]["capacity"] == DEFAULT_CAPACITY


def test_to_networkx_keeps_parallel_edges() -> None:
    g = Graph()
    two, sink = g.add(TwoOut()), g.add(Sink())
    g.connect(two.a, sink.text)
    g.connect(two.b, sink.text, feedback=True)
    nxg = g.to_networkx()
    assert nxg.number_of_edges("two_out", "sink") == 2
    assert sorted(d["feedback"] for _, _, d in nxg.edges(data=True)) == [False, True]


def test_repr() -> None:
    g = Graph("x")
    g.add(Source())
    assert repr(g) == "<Graph x: 1 members, 0 edges>"
