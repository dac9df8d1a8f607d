"""The :class:`Graph` builder: add nodes, connect ports, check, nest as subgraphs.

>>> from voicegraph.graph import Graph
>>> g = Graph()
>>> # g.add(src); g.add(sink); g.connect(src.out, sink.inp, capacity=4, policy="drop_oldest")
>>> # or, when exactly one port pair matches by type:  src >> sink
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._display import svg_of
from ._errors import GraphError
from ._node import Node, join_graph
from ._ports import In, Out, Port

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
            ``restart`` restarts the node with exponential backoff, up to ``max_restarts``
            restarts within ``restart_window`` seconds (OTP's intensity and period: rare
            faults far apart never use the budget up; the backoff resets with it);
            ``fallback`` switches to ``fallback`` (a node with the same ports), as
            LiveKit's FallbackAdapter does.
        restart_window: the window, in seconds of the run's clock, in which ``max_restarts``
            restarts are allowed (``None``: one budget for the whole run).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    policy: Literal["fail", "restart", "fallback"] = "fail"
    max_restarts: int = Field(3, ge=0)
    restart_window: float | None = Field(60.0, gt=0.0)
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
        if item.owner is not None:
            if item.owner is self:
                return item
            raise GraphError(f"{item!r} already belongs to another graph; create a new instance")
        if item is self or (isinstance(item, Graph) and self in item):
            raise GraphError("a graph cannot contain itself or a graph that contains it")
        if name is None:
            name = item.name or (item.default_name() if isinstance(item, Node) else "subgraph")
            taken = {m.name for m in self._members}
            base, n = name, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
        if not name or "/" in name or "." in name:
            raise GraphError(f"invalid node name {name!r}: use a non-empty name without '/' or '.'")
        if isinstance(item, Graph) and on_error is not None:
            raise GraphError("supervision applies to nodes; set it on the subgraph's nodes")
        supervision = _supervision(on_error, name) if on_error is not None else None
        # checked above; from here on nothing raises, so owner and membership agree
        item.name = name
        if isinstance(item, Node):
            join_graph(item, self, supervision)
        else:
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
        if port.node not in self:
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
        from ._connect import connect_operands

        return connect_operands(self, other)

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
        """Whether ``item`` (a node or subgraph) is in this graph or one of its subgraphs: its
        owners, walked up to the root (``add`` sets the owner), so the cost is the nesting
        depth, not the graph's size."""
        if not isinstance(item, Node | Graph):
            return False
        owner = item.owner
        while owner is not None:
            if owner is self:
                return True
            owner = owner._parent
        return False

    def __repr__(self) -> str:
        name = self.name or "(root)"
        return f"<Graph {name}: {len(self._members)} members, {len(self._edges)} edges>"

    def _repr_svg_(self) -> str | None:
        """The diagram as SVG, for Jupyter (``None`` without a renderer: see ``viz.render``).

        Drawn by the renderer the facade installs (see ``graph/_display.py``): graph itself
        never imports viz.
        """
        return svg_of(self)

    @property
    def owner(self) -> Graph | None:
        """The graph this subgraph was added to (``None`` for a root graph)."""
        return self._parent

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
    def from_dict(cls, data: Mapping[str, Any], *, allow: Iterable[str] | str = ()) -> Graph:
        """Build a graph from :meth:`to_dict` data (the trust model of :meth:`from_yaml`).

        Args:
            data: the graph as plain data.
            allow: module names whose node types and tools the data may name besides
                voicegraph's own node types.

        Raises:
            GraphError: one error listing every problem.
        """
        from ._serialize import graph_from_dict

        return graph_from_dict(data, allow=allow)

    @classmethod
    def from_json(cls, text: str | bytes, *, allow: Iterable[str] | str = ()) -> Graph:
        """Build a graph from :meth:`to_json` text (the trust model of :meth:`from_yaml`).

        The file is untrusted input: node types resolve only in voicegraph's modules and in
        ``allow``; nothing else is imported; size and nesting are bounded.

        Args:
            text: the JSON text.
            allow: module names (``"myapp.nodes"``) whose node types and tools the file may
                name besides voicegraph's own node types.

        Raises:
            GraphError: one error listing every problem (invalid or too deeply nested JSON
                included).
        """
        from ._serialize import _load

        return _load(text, "json", allow)

    @classmethod
    def from_yaml(cls, text: str | bytes, *, allow: Iterable[str] | str = ()) -> Graph:
        """Build a graph from :meth:`to_yaml` text.

        Trust model: a graph file is untrusted input. Loading it

        * resolves node types only in voicegraph's own modules and in the modules listed in
          ``allow`` (each with its submodules): ``Graph.from_yaml(text,
          allow=["myapp.nodes"])``. No other module is imported, so a file cannot run
          import-time code; a type outside that set is a :class:`GraphError` that says how
          to allow it. Tool import paths in node configs (``tools: [...]``) must be in
          ``allow`` too (not even voicegraph's own modules: the model chooses a tool's
          arguments);
        * is bounded: YAML anchors and aliases are refused; the text may be at most 10 MB,
          the data may nest at most 100 levels and hold at most a million values; graph
          checks stay linear in the graph's size (loops are reported per group of nodes);
          error messages quote user data only in short excerpts and list at most 50
          problems (all are in ``GraphError.problems``).

        What it does not protect against: the allowed node types do what their settings
        say. Built nodes are real: a file that names voicegraph's ``WavSink`` or
        ``AudioOutput`` with a ``path`` writes that path (any file the user can write) when
        the graph runs; ``WavSource`` (and model paths) read any file the user can read
        (``WavSource`` reads the header while loading); cloud nodes send the API key from
        the environment to the ``base_url`` the file gives. Nothing runs until you run the
        graph: review a file from elsewhere (or check its node types and paths) first,
        and allow only modules whose node types are safe with any settings.

        Args:
            text: the YAML text.
            allow: module names (``"myapp.nodes"``) whose node types and tools the file may
                name besides voicegraph's own node types.

        Raises:
            GraphError: one error listing every problem (invalid YAML, anchors or aliases,
                nesting or size beyond the limits included).
        """
        from ._serialize import _load

        return _load(text, "yaml", allow)

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
        from ._check import graph_problems

        return graph_problems(self)

    def _edge_problems(self, e: Edge) -> list[str]:
        from ._check import edge_problems

        return edge_problems(self, e)


def _supervision(on_error: Supervision | str, name: str) -> Supervision:
    if isinstance(on_error, Supervision):
        return on_error
    if on_error not in ("fail", "restart", "fallback"):
        raise GraphError(
            f"node {name!r}: on_error must be 'fail', 'restart', 'fallback' or a Supervision, "
            f"not {on_error!r}"
        )
    return Supervision(policy=on_error)
