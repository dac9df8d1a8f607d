"""Graph validation: every problem :meth:`Graph.check` reports, collected at once."""

from __future__ import annotations

from collections import deque
from typing import Any

from ._frames import Control
from ._graph import POLICIES, Edge, Graph, _port_path
from ._node import Node
from ._ports import In, Out, Port
from ._redact import listing

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
        if port.node not in graph:
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


_LISTED_NODES = 10
"""Nodes a cycle problem names before "... and N more"."""


def _cycle_problems(nodes: list[Node], edges: list[Edge]) -> list[str]:
    """One problem per group of nodes joined by loops without a feedback edge.

    A group is a strongly connected component (with a loop), so the report stays linear in
    the graph's size however many simple cycles run through it (11 fully connected nodes
    have millions). Each names one cycle as an example and, when the group is more than
    that one ring, its nodes (the first few of them).
    """
    links: dict[str, dict[str, None]] = {n.path: {} for n in nodes}
    for e in edges:
        if not e.feedback and e.src.node is not None and e.dst.node is not None:
            links.setdefault(e.src.node.path, {})[e.dst.node.path] = None
            links.setdefault(e.dst.node.path, {})
    if _is_acyclic(links):  # the usual case
        return []
    order = {path: i for i, path in enumerate(links)}
    problems = []
    groups = [sorted(c, key=order.__getitem__) for c in _strong_components(links)]
    for group in sorted(groups, key=lambda c: order[c[0]]):
        members = set(group)
        if len(group) == 1 and group[0] not in links[group[0]]:
            continue  # a single node without a self-loop: no cycle
        cycle = _example_cycle(group[0], members, links)
        loop = " -> ".join([*cycle, cycle[0]])
        ring = all(sum(1 for b in links[a] if b in members) == 1 for a in group)
        if ring:  # the group is exactly this cycle
            problems.append(f"cycle {loop} has no edge marked feedback=True; mark one edge of it")
            continue
        shown = listing(group, sort=False, limit=_LISTED_NODES)
        problems.append(
            f"{len(group)} nodes are joined by loops with no edge marked feedback=True "
            f"({shown}), e.g. cycle {loop}; mark edges feedback=True until every loop "
            "has one"
        )
    return problems


def _strong_components(links: dict[str, dict[str, None]]) -> list[list[str]]:
    """Tarjan's strongly connected components, without recursion (any graph size)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in links:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(links.get(root, {})))]
        while work:
            v, targets = work[-1]
            for w in targets:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(links.get(w, {}))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    components.append(component)
    return components


def _example_cycle(start: str, members: set[str], links: dict[str, dict[str, None]]) -> list[str]:
    """A shortest cycle through ``start`` inside ``members`` (breadth-first search)."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in links.get(v, {}):
            if w == start:
                path = [v]
                while (p := parent[path[-1]]) is not None:
                    path.append(p)
                return path[::-1]
            if w in members and w not in parent:
                parent[w] = v
                queue.append(w)
    return [start]  # unreachable for a strongly connected group with a loop


def _is_acyclic(links: dict[str, dict[str, None]]) -> bool:
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
