"""Graph files are untrusted input: what loading one may import, and how much it may cost."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegraph.graph import (
    ConfigError,
    Graph,
    GraphError,
    In,
    Node,
    NodeConfig,
    Out,
    TextFrame,
    VoicegraphError,
    graph_from_dict,
)

MODULE = __name__


class Relay(Node):
    inp: In[TextFrame] = In(required=False)
    out: Out[TextFrame]

    async def on_inp(self, frame: TextFrame) -> None:
        pass


# ---------------------------------------------------------------------------- imports


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write importable modules into a fresh folder on sys.path; each import leaves a mark."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(body: str, *, prefix: str = "plugin") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        marker = tmp_path / f"{name}.imported"
        code = f"from pathlib import Path\nPath({str(marker)!r}).touch()\n" + textwrap.dedent(body)
        (tmp_path / f"{name}.py").write_text(code)
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


NODE_MODULE = """
from voicegraph.graph import Node, Out, TextFrame

class Plugged(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        pass
"""


def imported(tmp_path: Path, module: str) -> bool:
    return module in sys.modules or (tmp_path / f"{module}.imported").exists()


def test_a_module_that_is_not_allowed_is_never_imported(plugin: Any, tmp_path: Path) -> None:
    module = plugin(NODE_MODULE)
    text = f"nodes:\n  - {{name: p, type: '{module}:Plugged'}}\n"
    with pytest.raises(GraphError) as info:
        Graph.from_yaml(text)
    assert not imported(tmp_path, module)
    (problem,) = info.value.problems
    assert f"node 'p': unknown node type '{module}:Plugged'" in problem
    assert f"module {module!r} is not allowed" in problem
    assert f"Graph.from_yaml(text, allow=[{module!r}])" in problem  # says how to allow it
    with pytest.raises(GraphError, match="is not allowed"):
        Graph.from_json(json.dumps(yaml.safe_load(text)))
    with pytest.raises(GraphError, match="is not allowed"):
        graph_from_dict(yaml.safe_load(text))
    assert not imported(tmp_path, module)


def test_allowed_modules_load(plugin: Any, tmp_path: Path) -> None:
    module = plugin(NODE_MODULE)
    text = f"nodes:\n  - {{name: p, type: '{module}:Plugged'}}\n"
    g = Graph.from_yaml(text, allow=[module])
    assert type(g["p"]).__name__ == "Plugged"
    assert imported(tmp_path, module)
    # a single name, a parent package, and every loader take allow=
    assert Graph.from_yaml(text, allow=module).to_yaml() == g.to_yaml()
    assert Graph.from_json(g.to_json(), allow=[module]).to_json() == g.to_json()
    assert Graph.from_dict(g.to_dict(), allow=[module]).to_dict() == g.to_dict()


def test_allowing_a_package_allows_its_submodules_only(plugin: Any, tmp_path: Path) -> None:
    package = f"pkg_{uuid.uuid4().hex[:12]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "nodes.py").write_text(NODE_MODULE)
    try:
        data = {"nodes": [{"name": "p", "type": f"{package}.nodes:Plugged"}]}
        assert type(graph_from_dict(data, allow=[package])["p"]).__name__ == "Plugged"
        with pytest.raises(GraphError, match="is not allowed"):
            graph_from_dict(data, allow=[package[:-1]])  # a prefix of the name is not enough
    finally:
        for name in (package, f"{package}.nodes"):
            sys.modules.pop(name, None)


def test_a_class_from_a_module_that_is_not_allowed_is_refused(plugin: Any) -> None:
    inner = plugin(NODE_MODULE)
    outer = plugin(f"from {inner} import Plugged\n")
    data = {"nodes": [{"name": "p", "type": f"{outer}:Plugged"}]}
    with pytest.raises(GraphError, match=f"defined in module '{inner}', which is not allowed"):
        graph_from_dict(data, allow=[outer])


def test_voicegraph_node_types_load_without_allow(tmp_path: Path) -> None:
    from voicegraph.nodes.audio import MemorySink, MemorySource, WavSink

    with Graph() as g:
        MemorySource(frames=[]) >> MemorySink()
    g.add(WavSink(path=tmp_path / "out.wav"), name="wav")
    text = g.to_yaml()
    assert "voicegraph.nodes.audio:MemorySource" in text
    assert Graph.from_yaml(text).to_yaml() == text


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("voicegraph.__main__:app", "is not allowed"),  # would run the command line
        ("os:system", "module 'os' is not allowed"),
        ("builtins:object", "module 'builtins' is not allowed"),
        (".graph:Node", "made of Python names"),
        ("voicegraph..graph:Node", "made of Python names"),
        ("voicegraph.graph:Node.__subclasses__", "cannot start with '__'"),
        ("voicegraph.graph:GraphError", "not a Node subclass"),
        ("voicegraph.no_such_module:X", "cannot import module 'voicegraph.no_such_module'"),
    ],
)
def test_refused_types(ref: str, fragment: str) -> None:
    with pytest.raises(GraphError) as info:
        graph_from_dict({"nodes": [{"name": "x", "type": ref}]})
    (problem,) = info.value.problems
    assert fragment in problem, problem


def test_allow_must_name_modules() -> None:
    with pytest.raises(GraphError, match="allow must list module names"):
        Graph.from_yaml("{}", allow=["../evil"])


def test_tool_paths_in_a_file_must_be_allowed(plugin: Any, tmp_path: Path) -> None:
    from voicegraph.nodes.tools import ToolExecutor

    module = plugin("def lookup(key: str) -> str:\n    '''Look up a key.'''\n    return key\n")
    data: dict[str, Any] = {
        "nodes": [
            {
                "name": "tools",
                "type": "voicegraph.nodes.tools:ToolExecutor",
                "config": {"tools": [f"{module}:lookup"]},
            }
        ]
    }
    with pytest.raises(GraphError) as info:
        graph_from_dict(data)
    (problem,) = info.value.problems
    assert "cannot create voicegraph.nodes.tools:ToolExecutor: ConfigError" in problem
    assert f"{module!r} is not allowed" in problem
    assert not imported(tmp_path, module)
    # even a voicegraph function is not a tool a file may name: the model picks the arguments
    data["nodes"][0]["config"]["tools"] = ["voicegraph.nodes.tools:load_tool"]
    with pytest.raises(GraphError, match="'voicegraph.nodes.tools' is not allowed"):
        graph_from_dict(data)
    data["nodes"][0]["config"]["tools"] = [f"{module}:lookup"]
    executor = graph_from_dict(data, allow=[module])["tools"]
    assert isinstance(executor, ToolExecutor)
    assert list(executor.tools) == ["lookup"]


def test_tools_in_code_are_not_restricted(plugin: Any) -> None:
    from voicegraph.nodes.tools import ToolExecutor

    module = plugin("def lookup(key: str) -> str:\n    '''Look up a key.'''\n    return key\n")
    assert list(ToolExecutor(tools=[f"{module}:lookup"]).tools) == ["lookup"]


def test_the_trust_model_is_documented() -> None:
    for method in (Graph.from_yaml, Graph.from_json, Graph.from_dict, graph_from_dict):
        assert method.__doc__ and "allow" in method.__doc__
    doc = Graph.from_yaml.__doc__ or ""
    assert "untrusted" in doc
    assert "WavSink" in doc and "AudioOutput" in doc and "any file the user can write" in doc
    assert "anchors and aliases" in doc


def test_loading_a_sink_does_not_touch_its_path(tmp_path: Path) -> None:
    """Loading builds nodes but runs nothing: an existing file a WavSink names is untouched."""
    target = tmp_path / "precious.wav"
    target.write_bytes(b"keep me")
    data = {
        "nodes": [
            {
                "name": "sink",
                "type": "voicegraph.nodes.audio:WavSink",
                "config": {"path": str(target)},
            }
        ]
    }
    graph_from_dict(data)
    assert target.read_bytes() == b"keep me"


# ---------------------------------------------------------------------------- size


def alias_bomb(levels: int) -> str:
    """The "billion laughs" YAML: each level is nine aliases of the one before."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"name: *a{levels}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [5, 8])
def test_yaml_alias_bomb_is_refused_with_a_short_message(levels: int) -> None:
    text = alias_bomb(levels)
    assert len(text) < 500
    with pytest.raises(GraphError) as info:
        Graph.from_yaml(text)
    message = str(info.value)
    assert len(message) < 1000, len(message)
    assert "anchors and aliases" in message


def test_yaml_anchors_are_refused_and_never_written() -> None:
    with pytest.raises(GraphError, match="anchors and aliases"):
        Graph.from_yaml("name: &n agent\n")
    # shared values are written out in full, so what to_yaml writes always loads
    g = Graph()
    tags = ["x"]
    g.add(RelayWithTags(a=tags, b=tags), name="r")
    text = g.to_yaml()
    assert "&" not in text and "*" not in text
    assert Graph.from_yaml(text, allow=[MODULE]).to_yaml() == text


class RelayWithTags(Relay):
    class Config(NodeConfig):
        a: list[str] = []
        b: list[str] = []


def test_shared_python_data_that_expands_exponentially_is_refused() -> None:
    value: Any = ["lol"] * 9
    for _ in range(6):
        value = [value] * 9  # 9**7 values once expanded, from a few hundred objects
    with pytest.raises(GraphError) as info:
        graph_from_dict({"name": value})
    assert len(str(info.value)) < 1000
    assert "more than 1,000,000 values" in str(info.value)


def test_long_and_many_problems_make_a_bounded_message() -> None:
    data = {
        "name": "x" * 10_000,
        "nodes": [{"name": f"n{i}", "type": "x" * 5000} for i in range(500)],
    }
    with pytest.raises(GraphError) as info:
        graph_from_dict(data)
    assert len(info.value.problems) == 500  # every problem is kept ...
    message = str(info.value)
    assert len(message) < 60_000  # ... but the message lists the first 50, each cut short
    assert message.endswith("... and 450 more (all are in GraphError.problems)")


def test_an_unknown_member_lists_a_few_members() -> None:
    data = {
        "nodes": [{"name": f"n{i}", "type": f"{MODULE}:Relay"} for i in range(1000)],
        "edges": [{"src": f"ghost{i}.out", "dst": "n0.inp"} for i in range(1000)],
    }
    with pytest.raises(GraphError) as info:
        graph_from_dict(data, allow=[MODULE])
    assert len(info.value.problems) == 1000
    assert max(len(p) for p in info.value.problems) < 400
    assert "... and 980 more" in info.value.problems[0]


@pytest.mark.parametrize("depth", [101, 5000, 100_000])
def test_deeply_nested_json_is_a_graph_error(depth: int) -> None:
    text = '{"name": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(GraphError, match="nested"):
        Graph.from_json(text)


@pytest.mark.parametrize("depth", [101, 5000, 100_000])
def test_deeply_nested_yaml_is_a_graph_error(depth: int) -> None:
    with pytest.raises(GraphError, match="nested"):
        Graph.from_yaml("name: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(GraphError, match="nested"):
        Graph.from_yaml("name: " + "{a: " * depth + "1" + "}" * depth + "\n")


def test_deeply_nested_block_yaml_is_a_graph_error() -> None:
    text = "".join(" " * i + "- \n" for i in range(2000)) + " " * 2000 + "- x\n"
    with pytest.raises(GraphError, match="nested"):
        Graph.from_yaml("name:\n" + textwrap.indent(text, " "))


def test_nested_subgraphs_and_cyclic_data_are_a_graph_error() -> None:
    data: dict[str, Any] = {"name": "loop"}
    data["subgraphs"] = [data]  # refers to itself: would recurse forever
    with pytest.raises(GraphError, match="nested more than 100 levels"):
        graph_from_dict(data)
    deep: dict[str, Any] = {"name": "s"}
    for _ in range(2000):
        deep = {"name": "s", "subgraphs": [deep]}
    with pytest.raises(GraphError, match="nested more than 100 levels"):
        graph_from_dict(deep)


def test_nesting_within_the_limit_loads() -> None:
    deep: dict[str, Any] = {"name": "s", "nodes": [{"name": "r", "type": f"{MODULE}:Relay"}]}
    for _ in range(40):
        deep = {"name": "s", "subgraphs": [deep]}
    g = graph_from_dict(deep, allow=[MODULE])
    assert [n.path for n in g.iter_nodes()] == ["/".join(["s"] * 40 + ["r"])]
    assert Graph.from_yaml(g.to_yaml(), allow=[MODULE]).to_dict() == g.to_dict()
    assert Graph.from_json(g.to_json(), allow=[MODULE]).to_dict() == g.to_dict()


# ---------------------------------------------------------------------------- cycles


def complete(n: int) -> Graph:
    """``n`` relays, each connected to every other one, no edge marked feedback."""
    g = Graph()
    nodes = [g.add(Relay(), name=f"n{i:02d}") for i in range(n)]
    for a, b in itertools.permutations(nodes, 2):
        g.connect(a.out, b.inp)
    return g


@pytest.mark.parametrize("n", [7, 11, 30])
def test_a_fully_connected_graph_is_one_problem(n: int) -> None:
    problems = complete(n).problems()
    assert len(problems) == 1, len(problems)
    (problem,) = problems
    assert problem.startswith(f"{n} nodes are joined by loops with no edge marked feedback=True")
    assert "e.g. cycle n00 -> n01 -> n00" in problem
    assert (f"... and {n - 10} more" in problem) == (n > 10)
    assert len(problem) < 400


def test_separate_loops_are_separate_problems() -> None:
    g = Graph()
    a, b, c, d, e = (g.add(Relay(), name=x) for x in "abcde")
    g.connect(a.out, b.inp)
    g.connect(b.out, a.inp)
    g.connect(b.out, c.inp)  # c is downstream of the loop, not in it
    g.connect(d.out, e.inp)
    g.connect(e.out, d.inp, feedback=True)  # marked: fine
    g.connect(c.out, c.inp)
    assert g.problems() == [
        "cycle a -> b -> a has no edge marked feedback=True; mark one edge of it",
        "cycle c -> c has no edge marked feedback=True; mark one edge of it",
    ]


@st.composite
def digraphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, bool]]]:
    n = draw(st.integers(1, 8))
    edges = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.booleans()), max_size=20
        )
    )
    return n, edges


@settings(deadline=None, max_examples=200)
@given(digraphs())
def test_cycle_problems_are_the_strongly_connected_components(
    spec: tuple[int, list[tuple[int, int, bool]]],
) -> None:
    n, edges = spec
    g = Graph()
    nodes = [g.add(Relay(), name=f"n{i}") for i in range(n)]
    for i, j, feedback in edges:
        g.connect(nodes[i].out, nodes[j].inp, feedback=feedback)
    reference = nx.DiGraph()
    reference.add_nodes_from(range(n))
    reference.add_edges_from((i, j) for i, j, feedback in edges if not feedback)
    looped = [
        c
        for c in nx.strongly_connected_components(reference)
        if len(c) > 1 or reference.has_edge(next(iter(c)), next(iter(c)))
    ]
    problems = [p for p in g.problems() if "feedback=True" in p]
    assert len(problems) == len(looped)
    for component, problem in zip(sorted(looped, key=min), problems, strict=True):
        example = problem.split("cycle ", 1)[1].split(" has no edge")[0].split(";")[0]
        steps = [int(x[1:]) for x in example.split(" -> ")]
        assert steps[0] == steps[-1] == min(component)
        assert set(steps) <= component
        assert all(reference.has_edge(a, b) for a, b in itertools.pairwise(steps))


# ---------------------------------------------------------------------------- any input


TYPES = [
    f"{MODULE}:Relay",
    "voicegraph.nodes.audio:MemorySink",
    "voicegraph.nodes.tools:ToolExecutor",
    "voicegraph.graph:Node",
    "voicegraph.graph:Graph",
    "os:system",
    ".x:Y",
    "x",
    ":",
]
KEYS = ["name", "nodes", "subgraphs", "edges", "exposed", "type", "config", "on_error"]
KEYS += ["fallback", "policy", "src", "dst", "capacity", "feedback", "tools", "frames"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from([*TYPES, "a.out", "b.inp", "block", "restart", "fallback"])
)
DATA = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)


def loads_or_voicegraph_error(load: Any, text: str | bytes) -> None:
    try:
        graph = load(text, allow=[MODULE])
    except VoicegraphError:
        return
    assert isinstance(graph, Graph)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(DATA)
def test_any_data_loads_or_raises_a_voicegraph_error(data: Any) -> None:
    loads_or_voicegraph_error(Graph.from_json, json.dumps(data))
    loads_or_voicegraph_error(Graph.from_yaml, yaml.safe_dump(data))
    with contextlib.suppress(VoicegraphError):
        graph_from_dict(data, allow=[MODULE])


YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@`,?\n\t 0.\\\x85")), max_size=40
)


@settings(deadline=None, max_examples=300)
@given(st.one_of(st.text(max_size=40), YAMLISH, st.binary(max_size=40)))
def test_any_text_loads_or_raises_a_voicegraph_error(text: str | bytes) -> None:
    loads_or_voicegraph_error(Graph.from_yaml, text)
    loads_or_voicegraph_error(Graph.from_json, text)


def test_tool_refusal_outside_loading_is_a_config_error() -> None:
    from voicegraph.nodes.tools import ToolExecutor

    with pytest.raises(ConfigError, match="cannot import module 'no_such_module_xyz'"):
        ToolExecutor(tools=["no_such_module_xyz:f"])


# ---------------------------------------------------------------------------- membership


def test_a_graph_cannot_contain_a_graph_that_contains_it() -> None:
    root, sub = Graph("root"), Graph("sub")
    root.add(sub)
    with pytest.raises(GraphError, match="cannot contain itself or a graph that contains it"):
        sub.add(root)
    assert root not in sub and sub in root


def test_a_failed_add_leaves_the_node_free() -> None:
    g = Graph()
    node = Relay()
    with pytest.raises(GraphError, match="on_error must be"):
        g.add(node, name="r", on_error="sometimes")
    assert node not in g and g.members == ()
    assert g.add(node, name="r") is node
    assert g.members == (node,) and node in g
