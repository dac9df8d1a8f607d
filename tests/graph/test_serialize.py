"""Serialization: the dict format, JSON/YAML round trips, and bad input reported all at once."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from voicegraph.graph import (
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
    graph_from_dict,
    graph_to_dict,
)

MODULE = __name__


class Mic(Node):
    audio: Out[AudioFrame] = Out(sample_rate=16000)

    class Config(NodeConfig):
        device: str = "default"
        sample_rate: int = 16000

    async def run(self) -> None:
        pass


class Vad(Node):
    audio: In[AudioFrame]
    out: Out[AudioFrame]

    class Config(NodeConfig):
        threshold: float = 0.5

    async def on_audio(self, frame: AudioFrame) -> None:
        pass


class Stt(Node):
    audio: In[AudioFrame]
    text: Out[Transcript]

    class Config(NodeConfig):
        model: str = "tiny"
        languages: list[str] = Field(default_factory=lambda: ["en"])

    async def on_audio(self, frame: AudioFrame) -> None:
        pass


class Llm(Node):
    text: In[Transcript]
    marks: In[TextFrame] = In(required=False)
    reply: Out[TextFrame]

    class Config(NodeConfig):
        model: str = "small"
        temperature: float = 0.7
        mode: Literal["chat", "complete"] = "chat"

    async def on_text(self, frame: Transcript) -> None:
        pass

    async def on_marks(self, frame: TextFrame) -> None:
        pass


class Speaker(Node):
    text: In[TextFrame]
    played: Out[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        pass


class Relay(Node):
    """Text in, text out, with a config of assorted field types (for the property test)."""

    inp: In[TextFrame] = In(required=False)
    out: Out[TextFrame]

    class Config(NodeConfig):
        n: int = 0
        label: str = ""
        gain: float = 1.0
        tags: list[str] = Field(default_factory=list)
        mode: Literal["a", "b"] = "a"
        extra: dict[str, int] = Field(default_factory=dict)
        limit: int | None = None

    async def on_inp(self, frame: TextFrame) -> None:
        pass


class Holder:
    class NestedRelay(Relay):
        """A node class nested in another class: its type is ``module:Holder.NestedRelay``."""


class Hidden(Relay):
    """Pretends to be defined inside a function, so it cannot be imported back."""


Hidden.__qualname__ = "make.<locals>.Hidden"


class Impostor(Relay):
    """Its qualified name points at another class."""


Impostor.__qualname__ = "Relay"


class Picky(Node):
    """Cannot be built even with a valid config."""

    out: Out[TextFrame]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no microphone")


NOT_A_NODE = 42


def make_agent() -> Graph:
    """A voice agent with a subgraph, supervision, a fallback and a feedback edge."""
    asr = Graph("asr")
    vad, stt = asr.add(Vad(threshold=0.6)), asr.add(Stt(model="base", languages=["en", "de"]))
    asr.connect(vad.out, stt.audio, capacity=4)
    asr.expose("audio", vad.audio)
    asr.expose("text", stt.text)

    g = Graph("agent")
    mic = g.add(Mic(device="hw:1"))
    g.add(asr)
    llm = g.add(
        Llm(model="big"),
        on_error=Supervision(policy="fallback", max_restarts=1, fallback=Llm(model="local")),
    )
    speaker = g.add(Speaker(), on_error="restart")
    g.connect(mic.audio, asr.audio, capacity=16, policy="drop_oldest")
    asr >> llm
    g.connect(llm.reply, speaker.text, policy="latest", capacity=2)
    g.connect(speaker.played, llm.marks, feedback=True)
    return g


# ---------------------------------------------------------------------------- the format


def test_dict_format() -> None:
    assert make_agent().to_dict() == {
        "name": "agent",
        "nodes": [
            {
                "name": "mic",
                "type": f"{MODULE}:Mic",
                "config": {"device": "hw:1", "sample_rate": 16000},
            },
            {
                "name": "llm",
                "type": f"{MODULE}:Llm",
                "config": {"model": "big", "temperature": 0.7, "mode": "chat"},
                "on_error": {
                    "policy": "fallback",
                    "max_restarts": 1,
                    "restart_window": 60.0,
                    "backoff": 0.05,
                    "backoff_max": 2.0,
                    "fallback": {
                        "type": f"{MODULE}:Llm",
                        "config": {"model": "local", "temperature": 0.7, "mode": "chat"},
                    },
                },
            },
            {
                "name": "speaker",
                "type": f"{MODULE}:Speaker",
                "config": {},
                "on_error": {
                    "policy": "restart",
                    "max_restarts": 3,
                    "restart_window": 60.0,
                    "backoff": 0.05,
                    "backoff_max": 2.0,
                },
            },
        ],
        "subgraphs": [
            {
                "name": "asr",
                "nodes": [
                    {"name": "vad", "type": f"{MODULE}:Vad", "config": {"threshold": 0.6}},
                    {
                        "name": "stt",
                        "type": f"{MODULE}:Stt",
                        "config": {"model": "base", "languages": ["en", "de"]},
                    },
                ],
                "subgraphs": [],
                "edges": [
                    {
                        "src": "vad.out",
                        "dst": "stt.audio",
                        "capacity": 4,
                        "policy": "block",
                        "feedback": False,
                    }
                ],
                "exposed": {"audio": "vad.audio", "text": "stt.text"},
            }
        ],
        "edges": [
            {
                "src": "mic.audio",
                "dst": "asr.audio",
                "capacity": 16,
                "policy": "drop_oldest",
                "feedback": False,
            },
            {
                "src": "asr.text",
                "dst": "llm.text",
                "capacity": 8,
                "policy": "block",
                "feedback": False,
            },
            {
                "src": "llm.reply",
                "dst": "speaker.text",
                "capacity": 2,
                "policy": "latest",
                "feedback": False,
            },
            {
                "src": "speaker.played",
                "dst": "llm.marks",
                "capacity": 8,
                "policy": "block",
                "feedback": True,
            },
        ],
        "exposed": {},
    }


def test_unexposed_inner_port_is_written_as_a_path() -> None:
    inner = Graph("inner")
    relay = inner.add(Relay(), name="r")
    middle = Graph("middle")
    middle.add(inner)
    middle.expose("x", relay.out)
    g = Graph()
    g.add(middle)
    sink = g.add(Relay(), name="sink")
    g.connect(relay.out, sink.inp)  # through middle's exposed name
    g.connect(sink.out, relay.inp)  # nothing exposes relay.inp: a path
    data = g.to_dict()
    assert [(e["src"], e["dst"]) for e in data["edges"]] == [
        ("middle.x", "sink.inp"),
        ("sink.out", "middle/inner/r.inp"),
    ]
    assert data["subgraphs"][0]["exposed"] == {"x": "inner/r.out"}
    loaded = graph_from_dict(data, allow=[MODULE])
    assert graph_to_dict(loaded) == data
    assert [e.label for e in loaded.iter_edges()] == [e.label for e in g.iter_edges()]


def test_nested_class_type() -> None:
    g = Graph()
    g.add(Holder.NestedRelay(n=2), name="nested")
    data = g.to_dict()
    assert data["nodes"][0]["type"] == f"{MODULE}:Holder.NestedRelay"
    assert type(graph_from_dict(data, allow=[MODULE])["nested"]) is Holder.NestedRelay


# ---------------------------------------------------------------------------- round trips


def assert_same_graph(a: Graph, b: Graph) -> None:
    """Same nodes (by path, type, config) and edges; member order may differ."""

    def nodes(g: Graph) -> dict[str, tuple[type, Any]]:
        return {n.path: (type(n), n.config) for n in g.iter_nodes()}

    def edges(g: Graph) -> list[tuple[str, int, str, bool]]:
        return sorted((e.label, e.capacity, e.policy, e.feedback) for e in g.iter_edges())

    assert nodes(a) == nodes(b)
    assert edges(a) == edges(b)


def test_dict_round_trip() -> None:
    g = make_agent()
    data = graph_to_dict(g)
    loaded = graph_from_dict(data, allow=[MODULE])
    assert graph_to_dict(loaded) == data
    assert_same_graph(g, loaded)
    loaded.check()


def test_json_round_trip() -> None:
    g = make_agent()
    text = g.to_json()
    assert json.loads(text) == g.to_dict()
    loaded = Graph.from_json(text, allow=[MODULE])
    assert loaded.to_json() == text
    assert Graph.from_json(text.encode(), allow=[MODULE]).to_json() == text
    assert_same_graph(g, loaded)
    assert "\n" not in g.to_json(indent=None)


def test_yaml_round_trip() -> None:
    g = make_agent()
    text = g.to_yaml()
    assert text.startswith("name: agent\nnodes:\n- name: mic\n")
    loaded = Graph.from_yaml(text, allow=[MODULE])
    assert loaded.to_yaml() == text
    assert loaded.to_dict() == g.to_dict()
    assert_same_graph(g, loaded)
    loaded.check()


def test_loaded_graph_keeps_supervision_subgraph_and_feedback() -> None:
    loaded = Graph.from_yaml(make_agent().to_yaml(), allow=[MODULE])
    llm, speaker, asr = loaded["llm"], loaded["speaker"], loaded["asr"]
    assert isinstance(llm, Llm) and isinstance(speaker, Speaker) and isinstance(asr, Graph)
    sup = llm._supervision
    assert sup is not None and sup.policy == "fallback" and sup.max_restarts == 1
    assert isinstance(sup.fallback, Llm) and sup.fallback.config.model == "local"
    assert speaker._supervision == Supervision(policy="restart")
    assert asr.audio is asr["vad"].audio  # type: ignore[union-attr]
    assert asr.name == "asr"
    assert asr["stt"].path == "asr/stt"
    feedback = [e for e in loaded.iter_edges() if e.feedback]
    assert [e.label for e in feedback] == ["speaker.played -> llm.marks"]


def test_graph_members_order_nodes_before_subgraphs() -> None:
    g = Graph()
    sub = Graph("sub")
    sub.add(Relay(), name="inner")
    g.add(sub)
    g.add(Relay(), name="outer")
    loaded = graph_from_dict(g.to_dict(), allow=[MODULE])
    assert [m.name for m in loaded.members] == ["outer", "sub"]
    assert loaded.to_dict() == g.to_dict()


def test_hand_written_yaml_uses_defaults() -> None:
    text = f"""
name: tiny
nodes:
  - {{name: a, type: "{MODULE}:Relay"}}
  - {{name: b, type: "{MODULE}:Relay", config: {{n: 3}}, on_error: restart}}
edges:
  - {{src: a.out, dst: b.inp}}
"""
    g = Graph.from_yaml(text, allow=[MODULE])
    (edge,) = g.edges
    assert (edge.capacity, edge.policy, edge.feedback) == (8, "block", False)
    b = g["b"]
    assert isinstance(b, Relay) and b.config.n == 3
    assert b._supervision == Supervision(policy="restart")
    data = g.to_dict()
    assert data["nodes"][0]["config"]["n"] == 0
    assert data["subgraphs"] == [] and data["exposed"] == {}


def test_empty_graph_round_trips() -> None:
    data = Graph().to_dict()
    assert data == {"name": "", "nodes": [], "subgraphs": [], "edges": [], "exposed": {}}
    assert graph_to_dict(graph_from_dict(data, allow=[MODULE])) == data
    assert Graph.from_yaml(Graph().to_yaml(), allow=[MODULE]).to_yaml() == Graph().to_yaml()


@pytest.mark.parametrize(
    "label",
    [
        "\x85",
        "a\u2028b",
        "\u2029",
        "größe",
        "yes",
        "null",
        "1.5",
        " lead",
        "trail ",
        "a\nb",
        "#x",
        "'q'",
        '"',
    ],
)
def test_yaml_round_trips_awkward_strings(label: str) -> None:
    g = Graph()
    g.add(Relay(label=label, tags=[label], extra={label: 1}), name="r")
    text = g.to_yaml()
    loaded = Graph.from_yaml(text, allow=[MODULE])
    assert loaded["r"].config == g["r"].config
    assert loaded.to_yaml() == text


# ---------------------------------------------------------------------------- property test

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
TEXT = st.text(max_size=12)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def relay_configs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "n": draw(st.integers(-(2**40), 2**40)),
        "label": draw(TEXT),
        "gain": draw(FLOATS),
        "tags": draw(st.lists(TEXT, max_size=3)),
        "mode": draw(st.sampled_from(["a", "b"])),
        "extra": draw(st.dictionaries(TEXT, st.integers(-100, 100), max_size=3)),
        "limit": draw(st.none() | st.integers(0, 10)),
    }


@st.composite
def supervisions(draw: st.DrawFn) -> Supervision | None:
    policy = draw(st.sampled_from([None, "fail", "restart", "fallback"]))
    if policy is None:
        return None
    fallback = Relay(**draw(relay_configs())) if policy == "fallback" else None
    return Supervision(
        policy=policy,
        max_restarts=draw(st.integers(0, 10)),
        restart_window=draw(st.none() | st.floats(0.001, 3600)),
        backoff=draw(st.floats(0, 10)),
        backoff_max=draw(st.floats(0, 100)),
        fallback=fallback,
    )


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    """A chain or DAG of relays, maybe part of it in a subgraph, with back edges as feedback."""
    n = draw(st.integers(1, 7))
    names = draw(st.lists(NAMES, min_size=n + 1, max_size=n + 1, unique=True))
    g = Graph(draw(st.sampled_from(["", "main", "agent-1"])))
    inside = draw(st.sets(st.integers(0, n - 1))) if n > 1 else set()
    sub = Graph(names[n]) if inside else None
    nodes: list[Relay] = []
    for i in range(n):
        cls = draw(st.sampled_from([Relay, Holder.NestedRelay]))
        owner = sub if sub is not None and i in inside else g
        node = owner.add(cls(**draw(relay_configs())), name=names[i], on_error=draw(supervisions()))
        nodes.append(node)
    if sub is not None:
        g.add(sub)
        for i in sorted(inside):
            if draw(st.booleans()):
                sub.expose(f"in_{names[i]}", nodes[i].inp)
            if draw(st.booleans()):
                sub.expose(f"out_{names[i]}", nodes[i].out)
    if draw(st.booleans()):
        pairs = [(i, i + 1) for i in range(n - 1)]  # a chain
    else:
        pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=12))
    for i, j in pairs:
        both_inside = sub is not None and i in inside and j in inside
        where = sub if both_inside and draw(st.booleans()) else g
        assert where is not None
        where.connect(
            nodes[i].out,
            nodes[j].inp,
            capacity=draw(st.integers(1, 1000)),
            policy=draw(st.sampled_from(["block", "drop_oldest", "latest"])),
            feedback=i >= j or draw(st.booleans()),
        )
    return g


@settings(deadline=None, max_examples=100)
@given(graphs())
def test_random_graphs_round_trip(g: Graph) -> None:
    data = graph_to_dict(g)
    loaded = graph_from_dict(data, allow=[MODULE])
    assert graph_to_dict(loaded) == data
    assert sorted(n.path for n in loaded.iter_nodes()) == sorted(n.path for n in g.iter_nodes())
    assert sorted(e.label for e in loaded.iter_edges()) == sorted(e.label for e in g.iter_edges())
    assert loaded.problems() == g.problems()

    yaml_text = g.to_yaml()
    assert Graph.from_yaml(yaml_text, allow=[MODULE]).to_yaml() == yaml_text
    json_text = g.to_json()
    assert Graph.from_json(json_text, allow=[MODULE]).to_json() == json_text
    assert Graph.from_yaml(yaml_text, allow=[MODULE]).to_dict() == data


# ---------------------------------------------------------------------------- bad input


def problems_loading(data: Any) -> list[str]:
    with pytest.raises(GraphError) as info:
        graph_from_dict(data, allow=[MODULE])
    return info.value.problems


def test_bad_type_config_and_port_are_reported_together() -> None:
    data = make_agent().to_dict()
    data["nodes"][0]["type"] = "no_such_module:Mic"
    data["nodes"][1]["config"]["temperature"] = "hot"
    data["edges"][2]["dst"] = "speaker.txt"
    problems = problems_loading(data)
    assert len(problems) == 3, problems
    assert "node 'mic': unknown node type 'no_such_module:Mic'" in problems[0]
    assert "module 'no_such_module' is not allowed" in problems[0]
    assert f"node 'llm': invalid config for {MODULE}:Llm: temperature:" in problems[1]
    assert "node 'speaker' (Speaker) has no port 'txt' (ports: played, text)" in problems[2]
    # references to the node that failed to load are not reported a second time
    assert not any("'mic'" in p and "edges" in p for p in problems)


def test_problems_inside_subgraphs_name_the_path() -> None:
    data = make_agent().to_dict()
    asr = data["subgraphs"][0]
    asr["nodes"][1]["type"] = f"{MODULE}:Whisper"
    asr["nodes"].append({"name": "bad", "type": f"{MODULE}:Relay", "config": {"colour": "red"}})
    asr["exposed"]["extra"] = "vad.nope"
    problems = problems_loading(data)
    assert len(problems) == 3, problems
    assert f"node 'asr/stt': unknown node type '{MODULE}:Whisper'" in problems[0]
    assert "has no attribute 'Whisper'" in problems[0]
    assert problems[1].startswith("node 'asr/bad': invalid config") and "colour" in problems[1]
    assert "subgraph 'asr': exposed port 'extra'" in problems[2]
    assert "node 'vad' (Vad) has no port 'nope' (ports: audio, out)" in problems[2]
    # 'asr.text' exposes the broken stt: the edge using it is not reported again


def test_unknown_member_wrong_direction_and_type_mismatch() -> None:
    data = make_agent().to_dict()
    data["edges"] = [
        {
            "src": "ghost.out",
            "dst": "llm.text",
            "capacity": 8,
            "policy": "block",
            "feedback": False,
        },
        {
            "src": "llm.text",
            "dst": "speaker.text",
            "capacity": 8,
            "policy": "block",
            "feedback": False,
        },
        {
            "src": "speaker.played",
            "dst": "mic.audio",
            "capacity": 8,
            "policy": "block",
            "feedback": False,
        },
        {
            "src": "mic.audio",
            "dst": "llm.marks",
            "capacity": 8,
            "policy": "block",
            "feedback": False,
        },
        {
            "src": "asr/vad/x.out",
            "dst": "llm.marks",
            "capacity": 8,
            "policy": "block",
            "feedback": False,
        },
        {
            "src": "asr.nope",
            "dst": "llm.marks",
            "capacity": 0,
            "policy": "sometimes",
            "feedback": "yes",
        },
    ]
    problems = problems_loading(data)
    text = "\n".join(problems)
    assert "no node or subgraph 'ghost' (members: asr, llm, mic, speaker)" in text
    assert "'llm.text' is an input port; an edge's src is an output" in text
    assert "'mic.audio' is an output port; an edge's dst is an input" in text
    assert "type mismatch on edge mic.audio -> llm.marks" in text
    assert "'vad' in 'asr/vad/x.out' is a node, not a graph" in text
    assert "subgraph 'asr' has no port 'nope' (ports: audio, text)" in text
    assert "feedback must be true or false, got 'yes'" in text
    assert len(problems) == 7, problems


def test_bad_edge_settings() -> None:
    data = make_agent().to_dict()
    data["edges"][0]["capacity"] = 0
    data["edges"][1]["policy"] = "drop_newest"
    data["edges"][2]["capacity"] = True
    problems = problems_loading(data)
    assert len(problems) == 3, problems
    assert "capacity must be an integer >= 1, got 0" in problems[0]
    assert "unknown policy 'drop_newest'" in problems[1]
    assert "capacity must be an integer, got True" in problems[2]


def test_bad_types_and_structure() -> None:
    data = {
        "name": 3,
        "nodes": [
            "mic",
            {"type": f"{MODULE}:Relay"},
            {"name": "a", "type": f"{MODULE}:NOT_A_NODE"},
            {"name": "b", "type": "builtins"},
            {"name": "c", "type": f"{MODULE}:Relay", "config": [1]},
            {"name": "d", "type": f"{MODULE}:Relay", "colour": "red"},
            {"name": "d", "type": f"{MODULE}:Relay"},
            {"name": "e", "type": f"{MODULE}:Picky"},
            {"name": "f", "type": f"{MODULE}:Relay", "on_error": {"policy": "retry"}},
            {
                "name": "g",
                "type": f"{MODULE}:Relay",
                "on_error": {"policy": "fallback", "fallback": {"type": "x:Y"}},
            },
            {"name": "h/i", "type": f"{MODULE}:Relay"},
        ],
        "subgraphs": {"not": "a list"},
        "edges": ["a.out -> d.inp"],
        "exposed": ["a.out"],
        "version": 2,
    }
    problems = problems_loading(data)
    text = "\n".join(problems)
    expected = [
        "the graph: unknown key(s) 'version'",
        "the graph: name must be a string, got 3",
        "nodes[0] must be a mapping, got str",
        "nodes[1] needs a name",
        f"node 'a': unknown node type '{MODULE}:NOT_A_NODE' (it is 42, not a Node subclass)",
        "node 'b': unknown node type 'builtins' (expected 'module:QualName')",
        "node 'c': config must be a mapping, got [1]",
        "node 'd': unknown key(s) 'colour'; expected name, type, config, parts, on_error",
        "node 'd': duplicate name 'd'",
        "node 'e': cannot create",
        "RuntimeError: no microphone",
        "node 'f': invalid on_error: policy:",
        "node 'g': on_error.fallback: unknown node type 'x:Y'",
        "invalid node name 'h/i'",
        "the graph: subgraphs must be a list, got dict",
        "the graph: exposed must be a mapping",
        "edges[0] must be a mapping, got str",
    ]
    for fragment in expected:
        assert fragment in text, (fragment, problems)
    assert len(problems) == len(expected) - 1  # "cannot create" and its reason are one problem


def test_problems_are_one_graph_error_with_a_readable_message() -> None:
    data = make_agent().to_dict()
    data["nodes"][0]["type"] = "nope:Mic"
    data["nodes"][2]["type"] = "nope:Speaker"
    with pytest.raises(GraphError) as info:
        graph_from_dict(data, allow=[MODULE])
    message = str(info.value)
    assert message.startswith("the graph has 2 problems:\n  - node 'mic'")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("method", "text", "fragment"),
    [
        (Graph.from_json, "{not json", "not valid JSON"),
        (Graph.from_json, "[1, 2]", "a graph in JSON must be a mapping, got list"),
        (Graph.from_yaml, "name: [unclosed", "not valid YAML"),
        (Graph.from_yaml, "", "a graph in YAML must be a mapping, got NoneType"),
        (Graph.from_yaml, "- a\n- b\n", "must be a mapping, got list"),
    ],
)
def test_bad_text(method: Any, text: str, fragment: str) -> None:
    with pytest.raises(GraphError, match=fragment):
        method(text)


def test_from_dict_needs_a_mapping() -> None:
    assert problems_loading([1, 2]) == ["the graph must be a mapping, got list"]


# ---------------------------------------------------------------------------- cannot write


def test_unimportable_node_types_cannot_be_written() -> None:
    g = Graph()
    g.add(Hidden(), name="hidden")
    g.add(Impostor(), name="impostor")
    g.add(Relay(), name="ok", on_error=Supervision(policy="fallback", fallback=Hidden()))
    with pytest.raises(GraphError) as info:
        g.to_dict()
    problems = info.value.problems
    assert len(problems) == 3, problems
    assert (
        f"node 'hidden': its type {MODULE}:make.<locals>.Hidden cannot be imported back"
        in problems[0]
    )
    assert "defined inside a function" in problems[0]
    assert "define node classes at module level" in problems[0]
    assert "node 'impostor'" in problems[1] and "resolves to" in problems[1]
    assert problems[2].startswith("fallback of node 'ok': its type")


def test_duplicate_names_cannot_be_written() -> None:
    g = Graph()
    g.add(Relay(), name="x")
    g.add(Relay(), name="x")
    with pytest.raises(GraphError, match="duplicate name 'x': rename it before serializing"):
        g.to_yaml()


def test_edges_bypassing_connect_are_still_written() -> None:
    g = Graph()
    mic, relay = g.add(Mic()), g.add(Relay())
    g._edges.append(Edge(mic.audio, relay.inp))  # type mismatch, as check() would report
    data = g.to_dict()
    assert data["edges"][0]["src"] == "mic.audio"
    with pytest.raises(GraphError, match=r"type mismatch on edge mic\.audio -> relay\.inp"):
        graph_from_dict(data, allow=[MODULE])
