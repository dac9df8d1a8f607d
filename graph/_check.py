"""Graph validation: every problem :meth:`Graph.check` reports, collected at once."""

from __future__ import annotations

from typing import Any

from ._frames import Control
from ._graph import POLICIES, Edge, Graph, _port_path
from ._node import Node
from ._ports import In, Out, Port

__all__ = ["edge_problems", "graph_problems"]


def graph_problems(graph: Graph) -> list[str]:
    """Every problem in ``graph``: what :meth:`Graph.check` reports."""
    problems: list[str] = []
    _name_problems(graph, problems)
    nodes = list(graph.iter_nodes())
    edges = list(graph.iter_edges())
    for e in edges:
        problems.extend(edge_problems(graph, e))
    connected = {id(e.dst) for e in edges}
    for node in nodes:
        run_style = node.has_run()
        for port in node.inputs.values():
            if id(port) not in connected:
                if port.required:
                    problems.append(
                        f"input {_port_path(port)} [{port.type_name}] is not connected; "
                        "connect it or declare it In(required=False)"
                    )
            elif not run_style and node.handler_for(port) is None and not _events_only(port):
                problems.append(
                    f"node {node.path!r} has no handler for input {port.name!r}: define "
                    f"async def on_{port.name}(self, frame) or override run()"
                )
    problems.extend(_cycle_problems(nodes, edges))
    return problems


def _name_problems(graph: Graph, problems: list[str]) -> None:
    seen: set[str] = set()
    for m in graph.members:
        if m.name in seen:
            problems.append(
                f"duplicate name {m.name!r} in graph {graph.path or '(root)'!r}; "
                "names must be unique"
            )
        seen.add(m.name)
        if isinstance(m, Graph):
            _name_problems(m, problems)


def edge_problems(graph: Graph, e: Edge) -> list[str]:
    """Problems with one edge of ``graph`` (``connect`` raises them at once)."""
    problems: list[str] = []
    if not isinstance(e.src, Out) or not isinstance(e.dst, In):
        return [f"connect(src, dst) needs an Out port then an In port; got {e.src!r}, {e.dst!r}"]
    label = e.label
    if e.policy not in POLICIES:
        problems.append(f"edge {label}: unknown policy {e.policy!r}; use one of {POLICIES}")
    if not isinstance(e.capacity, int) or e.capacity < 1:
        problems.append(f"edge {label}: capacity must be an integer >= 1, got {e.capacity!r}")
    for port in (e.src, e.dst):
        if not graph._contains(port.node):
            problems.append(
                f"edge {label}: node {port.node!r} is not in this graph; "
                "add it with Graph.add first"
            )
    if not e.dst.accepts(e.src.types):
        problems.append(
            f"type mismatch on edge {label}: {_port_path(e.src)} produces "
            f"{e.src.type_name} but {_port_path(e.dst)} accepts {e.dst.type_name}"
            + _converter_hint(e)
        )
    elif e.src.sample_rate and e.dst.sample_rate and e.src.sample_rate != e.dst.sample_rate:
        problems.append(
            f"sample-rate mismatch on edge {label}: {e.src.sample_rate} Hz into "
            f"{e.dst.sample_rate} Hz; insert a Resampler node between them"
        )
    return problems


def _events_only(port: Port[Any]) -> bool:
    """Ports typed ``Control`` carry only control events, so they need no frame handler."""
    return all(issubclass(t, Control) for t in port.types)


def _converter_hint(e: Edge) -> str:
    names = {t.__name__ for t in e.src.types} | {t.__name__ for t in e.dst.types}
    if {"Transcript", "TextFrame"} <= names or {"LLMText", "TextFrame"} <= names:
        return "; insert a node that converts between them"
    if "AudioFrame" in names:
        return "; audio can only go to an audio input (speech-to-text turns audio into Transcript)"
    return ""


def _cycle_problems(nodes: list[Node], edges: list[Edge]) -> list[str]:
    links: dict[str, set[str]] = {n.path: set() for n in nodes}
    for e in edges:
        if not e.feedback and e.src.node is not None and e.dst.node is not None:
            links.setdefault(e.src.node.path, set()).add(e.dst.node.path)
    if _is_acyclic(links):  # the usual case, checked without importing networkx
        return []
    import networkx as nx

    g = nx.DiGraph([(a, b) for a, targets in links.items() for b in targets])
    problems = []
    for cycle in nx.simple_cycles(g):
        loop = " -> ".join([*cycle, cycle[0]])
        problems.append(f"cycle {loop} has no edge marked feedback=True; mark one edge of it")
    return problems


def _is_acyclic(links: dict[str, set[str]]) -> bool:
    """Kahn's algorithm: whether the graph of ``links`` has a topological order."""
    indegree = dict.fromkeys(links, 0)
    for targets in links.values():
        for b in targets:
            indegree[b] = indegree.get(b, 0) + 1
    ready = [n for n, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for b in links.get(n, ()):
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    return seen == len(indegree)
