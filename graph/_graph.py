"""The :class:`Graph` builder: add nodes, connect ports, check, nest as subgraphs.

>>> from voicegraph.graph import Graph
>>> g = Graph()
>>> # g.add(src); g.add(sink); g.connect(src.out, sink.inp, capacity=4, policy="drop_oldest")
>>> # or, when exactly one port pair matches by type:  src >> sink
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._errors import GraphError
from ._frames import Control
from ._node import Node
from ._ports import In, Out, Port, type_label

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["DEFAULT_CAPACITY", "Edge", "FlatGraph", "Graph", "Policy", "Supervision"]

Policy = Literal["block", "drop_oldest", "latest"]
"""What an edge does when it is full: wait (``block``), drop its oldest frame
(``drop_oldest``: realtime inputs never stall), or keep only the newest (``latest``)."""

POLICIES: tuple[str, ...] = ("block", "drop_oldest", "latest")
DEFAULT_CAPACITY = 8
"""Frames an edge holds by default (160 ms of 20 ms audio frames)."""

_current_graph: contextvars.ContextVar[Graph | None] = contextvars.ContextVar(
    "voicegraph_current_graph", default=None
)


class Supervision(BaseModel):
    """What the runner does when a node raises.

    Attributes:
        policy: ``fail`` ends the run with an error naming node and port (default);
            ``restart`` restarts the node with exponential backoff, up to ``max_restarts``;
            ``fallback`` switches to ``fallback`` (a node with the same ports), as
            LiveKit's FallbackAdapter does.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    policy: Literal["fail", "restart", "fallback"] = "fail"
    max_restarts: int = Field(3, ge=0)
    backoff: float = Field(0.05, ge=0.0)
    backoff_max: float = Field(2.0, ge=0.0)
    fallback: Node | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A connection from an output port to an input port, with its queue settings."""

    src: Out[Any]
    dst: In[Any]
    capacity: int = DEFAULT_CAPACITY
    policy: Policy = "block"
    feedback: bool = False

    @property
    def label(self) -> str:
        """``"a.out -> b.in"`` using qualified node paths."""
        return f"{_port_path(self.src)} -> {_port_path(self.dst)}"


def _port_path(port: Port[Any]) -> str:
    node = port.node
    return f"{node.path if node else '?'}.{port.name}"


@dataclass(frozen=True)
class FlatGraph:
    """A graph with every subgraph expanded: what the runner executes."""

    nodes: dict[str, Node]
    edges: list[Edge]


class Graph:
    """A directed graph of nodes joined by bounded, typed edges.

    Use it as a context manager to let ``a >> b`` add nodes to it implicitly::

        with Graph() as g:
            source >> upper >> sink

    A graph with exposed ports (:meth:`expose`) can be added to another graph as a subgraph.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._members: list[Node | Graph] = []
        self._edges: list[Edge] = []
        self._exposed: dict[str, Port[Any]] = {}
        self._parent: Graph | None = None
        self._tokens: list[contextvars.Token[Graph | None]] = []

    # ------------------------------------------------------------------ building

    def add(
        self,
        item: Node | Graph,
        name: str | None = None,
        *,
        on_error: Supervision | str | None = None,
    ) -> Any:
        """Add a node (or a subgraph) under ``name`` and return it.

        Args:
            item: the node or graph to add.
            name: unique name in this graph; defaults to the class name in snake case.
            on_error: supervision policy (``"fail"``, ``"restart"``, or a :class:`Supervision`).
        """
        if item._graph_owner() is not None:
            if item._graph_owner() is self:
                return item
            raise GraphError(f"{item!r} already belongs to another graph; create a new instance")
        if item is self:
            raise GraphError("a graph cannot contain itself")
        if name is None:
            name = item.name or (item.default_name() if isinstance(item, Node) else "subgraph")
            taken = {m.name for m in self._members}
            base, n = name, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
        if not name or "/" in name or "." in name:
            raise GraphError(f"invalid node name {name!r}: use a non-empty name without '/' or '.'")
        item.name = name
        if isinstance(item, Node):
            item._graph = self
            if on_error is not None:
                item._supervision = _supervision(on_error, name)
        else:
            if on_error is not None:
                raise GraphError("supervision applies to nodes; set it on the subgraph's nodes")
            item._parent = self
        self._members.append(item)
        return item

    def connect(
        self,
        src: Out[Any],
        dst: In[Any],
        *,
        capacity: int = DEFAULT_CAPACITY,
        policy: Policy = "block",
        feedback: bool = False,
    ) -> Edge:
        """Connect output ``src`` to input ``dst`` and return the edge.

        Raises:
            GraphError: the frame types do not match, the settings are invalid, or a port's
                node is not in this graph (or one of its subgraphs).
        """
        edge = Edge(src, dst, capacity, policy, feedback)
        problems = self._edge_problems(edge)
        if problems:
            raise GraphError(problems)
        self._edges.append(edge)
        return edge

    def expose(self, name: str, port: Port[Any]) -> None:
        """Make an inner node's ``port`` available as ``self.<name>`` when used as a subgraph."""
        if not self._contains(port.node):
            raise GraphError(f"cannot expose {port!r}: its node is not in graph {self.name!r}")
        self._exposed[name] = port

    def port(self, name: str) -> Port[Any]:
        """An exposed port by name."""
        try:
            return self._exposed[name]
        except KeyError:
            raise GraphError(
                f"graph {self.name or '(unnamed)'!r} exposes no port {name!r}; "
                f"exposed: {sorted(self._exposed) or 'none (use Graph.expose)'}"
            ) from None

    def __getattr__(self, name: str) -> Port[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self.__dict__.get("_exposed", {}):
            return self._exposed[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute or exposed port {name!r}")

    def __enter__(self) -> Graph:
        self._tokens.append(_current_graph.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _current_graph.reset(self._tokens.pop())

    def __rshift__(self, other: Any) -> Any:
        return _connect_operands(self, other)

    # ------------------------------------------------------------------ reading

    @property
    def members(self) -> tuple[Node | Graph, ...]:
        """Direct members (nodes and subgraphs), in insertion order."""
        return tuple(self._members)

    @property
    def edges(self) -> tuple[Edge, ...]:
        """Edges connected in this graph (not those inside subgraphs)."""
        return tuple(self._edges)

    @property
    def exposed(self) -> dict[str, Port[Any]]:
        """Exposed ports by name."""
        return dict(self._exposed)

    @property
    def inputs(self) -> dict[str, In[Any]]:
        """Exposed input ports."""
        return {n: p for n, p in self._exposed.items() if isinstance(p, In)}

    @property
    def outputs(self) -> dict[str, Out[Any]]:
        """Exposed output ports."""
        return {n: p for n, p in self._exposed.items() if isinstance(p, Out)}

    @property
    def path(self) -> str:
        """Qualified name through enclosing graphs."""
        if self._parent is None:
            return ""
        prefix = self._parent.path
        return f"{prefix}/{self.name}" if prefix else self.name

    def default_name(self) -> str:
        """The name given when added without one."""
        return self.name or "subgraph"

    def __getitem__(self, name: str) -> Node | Graph:
        for m in self._members:
            if m.name == name:
                return m
        raise KeyError(name)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Node | Graph) and self._contains(item)

    def __repr__(self) -> str:
        name = self.name or "(root)"
        return f"<Graph {name}: {len(self._members)} members, {len(self._edges)} edges>"

    def _repr_svg_(self) -> str | None:
        """The diagram as SVG, for Jupyter (``None`` without a renderer: see ``viz.render``)."""
        from voicegraph.viz import render  # on use: graph never imports viz at import time

        return render(self, "svg")._repr_svg_()

    def _graph_owner(self) -> Graph | None:
        return self._parent

    def _contains(self, node: object) -> bool:
        return any(m is node or (isinstance(m, Graph) and m._contains(node)) for m in self._members)

    def iter_nodes(self) -> Iterator[Node]:
        """Every node, subgraphs expanded, in insertion order."""
        for m in self._members:
            if isinstance(m, Graph):
                yield from m.iter_nodes()
            else:
                yield m

    def iter_edges(self) -> Iterator[Edge]:
        """Every edge, subgraphs expanded."""
        yield from self._edges
        for m in self._members:
            if isinstance(m, Graph):
                yield from m.iter_edges()

    def flatten(self) -> FlatGraph:
        """Expand subgraphs: nodes by qualified path, and every edge."""
        self.check()
        return FlatGraph({n.path: n for n in self.iter_nodes()}, list(self.iter_edges()))

    def to_networkx(self) -> nx.MultiDiGraph:
        """A ``networkx.MultiDiGraph`` copy: nodes keyed by path, edge data = queue settings."""
        import networkx as nx  # imported on use: it costs ~0.1 s at import time

        g = nx.MultiDiGraph(name=self.name)
        for node in self.iter_nodes():
            g.add_node(
                node.path,
                node=node,
                type=f"{type(node).__module__}:{type(node).__qualname__}",
                kind=node.kind,
                config=node.config.model_dump(mode="json"),
            )
        for e in self.iter_edges():
            assert e.src.node is not None and e.dst.node is not None
            g.add_edge(
                e.src.node.path,
                e.dst.node.path,
                src_port=e.src.name,
                dst_port=e.dst.name,
                frame_type=e.src.type_name,
                capacity=e.capacity,
                policy=e.policy,
                feedback=e.feedback,
            )
        return g

    # ------------------------------------------------------------------ serialization

    def to_dict(self) -> dict[str, Any]:
        """Return the graph as plain data (node types, configs, edges); see ``graph_to_dict``."""
        from ._serialize import graph_to_dict

        return graph_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """Return the graph as JSON text that :meth:`from_json` reads back exactly."""
        from ._serialize import _dump

        return _dump(self, "json", indent)

    def to_yaml(self) -> str:
        """Return the graph as YAML text that :meth:`from_yaml` reads back exactly."""
        from ._serialize import _dump

        return _dump(self, "yaml")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        """Build a graph from :meth:`to_dict` data; raises one GraphError listing every problem."""
        from ._serialize import graph_from_dict

        return graph_from_dict(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Graph:
        """Build a graph from :meth:`to_json` text; raises one GraphError listing every problem."""
        from ._serialize import _load

        return _load(text, "json")

    @classmethod
    def from_yaml(cls, text: str | bytes) -> Graph:
        """Build a graph from :meth:`to_yaml` text; raises one GraphError listing every problem."""
        from ._serialize import _load

        return _load(text, "yaml")

    # ------------------------------------------------------------------ validation

    def check(self) -> None:
        """Validate the whole graph and raise one :class:`GraphError` listing every problem.

        Checks: duplicate names, edges whose types do not match, edges to nodes outside the
        graph, required inputs left unconnected, inputs without a handler, cycles not marked
        ``feedback=True``, and audio sample-rate mismatches.
        """
        problems = self.problems()
        if problems:
            raise GraphError(problems)

    def problems(self) -> list[str]:
        """Every problem :meth:`check` would report (empty when the graph is valid)."""
        problems: list[str] = []
        self._name_problems(problems)
        nodes = list(self.iter_nodes())
        edges = list(self.iter_edges())
        for e in edges:
            problems.extend(self._edge_problems(e))
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

    def _name_problems(self, problems: list[str]) -> None:
        seen: set[str] = set()
        for m in self._members:
            if m.name in seen:
                problems.append(
                    f"duplicate name {m.name!r} in graph {self.path or '(root)'!r}; "
                    "names must be unique"
                )
            seen.add(m.name)
            if isinstance(m, Graph):
                m._name_problems(problems)

    def _edge_problems(self, e: Edge) -> list[str]:
        problems: list[str] = []
        if not isinstance(e.src, Out) or not isinstance(e.dst, In):
            return [
                f"connect(src, dst) needs an Out port then an In port; got {e.src!r}, {e.dst!r}"
            ]
        label = e.label
        if e.policy not in POLICIES:
            problems.append(f"edge {label}: unknown policy {e.policy!r}; use one of {POLICIES}")
        if not isinstance(e.capacity, int) or e.capacity < 1:
            problems.append(f"edge {label}: capacity must be an integer >= 1, got {e.capacity!r}")
        for port in (e.src, e.dst):
            if not self._contains(port.node):
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


def _supervision(on_error: Supervision | str, name: str) -> Supervision:
    if isinstance(on_error, Supervision):
        return on_error
    if on_error not in ("fail", "restart", "fallback"):
        raise GraphError(
            f"node {name!r}: on_error must be 'fail', 'restart', 'fallback' or a Supervision, "
            f"not {on_error!r}"
        )
    return Supervision(policy=on_error)


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


# ---------------------------------------------------------------------- the >> operator


def _operand_graph(item: Node | Graph) -> Graph | None:
    return item._graph if isinstance(item, Node) else item._parent


def _ancestors(g: Graph | None) -> list[Graph]:
    chain = []
    while g is not None:
        chain.append(g)
        g = g._parent
    return chain


def _connect_operands(left: Any, right: Any) -> Any:
    """Implement ``left >> right`` for nodes, subgraphs and ports."""
    lnode: Any = left.node if isinstance(left, Port) else left
    rnode: Any = right.node if isinstance(right, Port) else right
    if not isinstance(lnode, Node | Graph) or not isinstance(rnode, Node | Graph):
        return NotImplemented
    # match ports before adding anything, so a failed `>>` leaves the graph unchanged
    outs = [left] if isinstance(left, Out) else list(lnode.outputs.values())
    ins = [right] if isinstance(right, In) else list(rnode.inputs.values())
    pairs = [(o, i) for o in outs for i in ins if i.accepts(o.types)]
    if len(pairs) > 1:  # prefer required inputs (an optional side input such as `reverse`)
        required = [(o, i) for o, i in pairs if i.required]
        pairs = required or pairs
    if len(pairs) != 1:
        options = ", ".join(f"{o.name}->{i.name}" for o, i in pairs) or "none"
        produced = type_label(tuple(t for o in outs for t in o.types))
        raise GraphError(
            f"{left!r} >> {right!r} needs exactly one matching port pair, found "
            f"{len(pairs)} ({options}); outputs {produced or '-'}, "
            "use g.connect(a.port, b.port) to choose"
        )
    lg, rg = _operand_graph(lnode), _operand_graph(rnode)
    current = _current_graph.get()
    graph: Graph | None
    if lg is None and rg is None:
        graph = current
        if graph is None:
            raise GraphError(
                f"cannot connect {left!r} >> {right!r}: neither is in a graph; use g.add(...) "
                "first or build inside `with Graph() as g:`"
            )
        graph.add(lnode)
        graph.add(rnode)
    elif lg is None or rg is None:
        owned = lg or rg
        assert owned is not None
        # inside `with g:`, a new node joins g even when the other end is inside a subgraph of g
        graph = current if current is not None and current in _ancestors(owned) else owned
        graph.add(rnode if lg is not None else lnode)
    else:
        right_chain = _ancestors(rg)
        graph = next((g for g in _ancestors(lg) if g in right_chain), None)
        if graph is None:
            raise GraphError(f"cannot connect {left!r} >> {right!r}: they are in unrelated graphs")
    graph.connect(*pairs[0])
    return rnode
