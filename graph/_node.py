"""The :class:`Node` base class: typed ports, a pydantic ``Config``, lifecycle hooks.

Two ways to write a node:

* **per-frame handlers** — for each input port ``x`` define ``async def on_x(self, frame)``;
  the runner calls it for every frame that arrives on ``x``::

      class Upper(Node):
          text: In[TextFrame]
          out: Out[TextFrame]

          async def on_text(self, frame: TextFrame) -> None:
              await self.emit(self.out, TextFrame(frame.text.upper()))

* **run() style** — override ``async def run(self)`` for sources and stateful stages; read
  inputs with ``async for port, frame in self.frames()``.

Settings: declare a nested ``class Config(NodeConfig)`` and annotate ``config: Config`` so
type checkers know ``self.config``'s fields; ``Upper(threshold=0.5)`` validates them.

Lifecycle: ``setup()`` once before the graph starts (load models here), ``on_interrupt(event)``
after an :class:`Interrupt` cancelled the node's in-flight work, ``on_end_of_stream()`` when
every input has ended (flush buffers here), ``aclose()`` when the run is over (a node that
still defines the old ``close()`` hook is closed through it, with a ``DeprecationWarning``).
Close methods follow one rule across voicegraph: an async one is ``aclose()`` (nodes, engines,
sessions, the worker; objects users hold also support ``async with``), a sync one that releases
a resource is ``close()``, as for files.

Interrupts cancel the node's current activity: the handler in progress, or the whole ``run()``
coroutine, which the runner then starts again in the new epoch (state kept on ``self``
survives). Set ``restart_on_interrupt = False`` to keep ``run()`` going and handle
``on_interrupt`` yourself. Work that must outlive interrupts (e.g. an engine retrying failed
providers) goes in ``self.run_in_background(func)``: it runs until the run stops.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ._bus_events import BusEvent
from ._clock import Clock
from ._errors import ConfigError, GraphError, UsageError
from ._frames import Event, Frame
from ._ports import In, Out, Port, bound_port, frame_types

if typing.TYPE_CHECKING:
    from ._engine import Engine
    from ._graph import Graph, Supervision

__all__ = ["Node", "NodeConfig", "NodeRuntime", "attach_runtime", "runtime_of"]

F = TypeVar("F", bound=Frame)
B = TypeVar("B", bound=BusEvent)
Handler = Callable[[Any], Coroutine[Any, Any, None]]


class NodeConfig(BaseModel):
    """Base of node settings: validated, immutable, serializable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeRuntime(Protocol):
    """What the runner provides to a running node (implemented in ``voicegraph.runner``)."""

    @property
    def clock(self) -> Clock: ...
    @property
    def epoch(self) -> int: ...
    async def emit(self, port: Out[Any], frame: Frame) -> None: ...
    async def send_event(self, event: Event, port: Out[Any] | None) -> None: ...
    async def receive(self) -> tuple[In[Any], Frame] | None: ...
    def interrupt(self, reason: str, scope: list[str] | None) -> int: ...
    def publish(self, event: B) -> B: ...
    def connected(self, port: Port[Any]) -> bool: ...
    def run_in_background(self, func: Callable[[], Awaitable[object]]) -> None: ...


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _resolve_port_hint(klass: type, hint: Any) -> Any:
    """Evaluate a string annotation if it declares a port; leave every other annotation alone."""
    if not isinstance(hint, str):
        return hint
    if not re.match(r"\s*(\w+\.)*(In|Out)\[", hint):
        return None
    module = sys.modules.get(klass.__module__)  # absent while a module is being executed by hand
    namespace = dict(vars(module)) if module is not None else {}
    namespace.setdefault("In", In)
    namespace.setdefault("Out", Out)
    return eval(hint, namespace, dict(vars(klass)))


class _NotRunning:
    """Stands in for the runtime until the runner attaches one; every use explains itself."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def __getattr__(self, item: str) -> Any:
        raise UsageError(
            f"node {self._node.name or type(self._node).__name__!r} is not running: add it to "
            "a Graph and run the graph (voicegraph.run(graph)) before using "
            f"{item!r}"
        )


def attach_runtime(node: Node, runtime: NodeRuntime | None) -> None:
    """For runners: ``runtime`` now serves ``node``'s runtime API (``emit``, ``clock``, ...).

    ``None`` detaches it: the node is not running and those methods raise
    :class:`~voicegraph.graph.UsageError` again.
    """
    node._rt = runtime if runtime is not None else _NotRunning(node)


def validated_config(
    cls: type[Any], config: NodeConfig | None, settings: dict[str, Any]
) -> NodeConfig:
    """The settings of a node or engine of class ``cls``: ``config`` itself, or
    ``cls.Config(**settings)``.

    Raises:
        ConfigError: both were given, the settings are invalid, or ``config`` is not a
            ``cls.Config``.
    """
    if config is not None and settings:
        raise ConfigError(f"{cls.__name__}: pass either a Config or keyword settings, not both")
    expected: type[NodeConfig] = cls.Config
    try:
        checked = config if config is not None else expected(**settings)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings for {cls.__name__}: {exc}") from None
    if not isinstance(checked, expected):
        raise ConfigError(
            f"{cls.__name__} expects a {expected.__qualname__}, got {type(checked).__name__}"
        )
    return checked


def join_graph(node: Node, graph: Graph, supervision: Supervision | None) -> None:
    """For ``Graph.add``: ``node`` now belongs to ``graph``, supervised by ``supervision``.

    (Set here, beside the class, so no other module writes a node's private state.)
    """
    node._graph = graph
    if supervision is not None:
        node._supervision = supervision


def set_supervision(node: Node, supervision: Supervision | None) -> None:
    """For graph-file loading: the supervision written under the node's ``on_error``."""
    node._supervision = supervision


def runtime_of(node: Node) -> NodeRuntime | None:
    """The runtime serving ``node``, or ``None`` when it is not running."""
    runtime = node._rt
    return None if isinstance(runtime, _NotRunning) else runtime


def _closes_by_close(cls: type) -> bool:
    """Whether ``cls`` (a Node subclass) overrides the old ``close()`` hook below its ``aclose()``.

    True when a class between ``cls`` and Node defines ``close`` and none as derived or more
    defines ``aclose``; a class defining both (``close`` then means something else) is not.
    """
    mro = cls.__mro__
    close_at = next(i for i, k in enumerate(mro) if k is Node or "close" in vars(k))
    aclose_at = next(i for i, k in enumerate(mro) if k is Node or "aclose" in vars(k))
    return close_at < aclose_at


class Node:
    """Base class of every pipeline stage. See the module docstring for the two styles."""

    Config: ClassVar[type[NodeConfig]] = NodeConfig
    restart_on_interrupt: ClassVar[bool] = True
    """Whether ``run()`` is cancelled and restarted on an interrupt (handler nodes always are)."""
    forward_events: ClassVar[bool] = True
    """Whether control events this node does not consume are passed on to its outputs."""

    _port_specs: ClassVar[dict[str, tuple[Port[Any], tuple[type[Frame], ...]]]] = {}
    _spec_error: ClassVar[str | None] = None
    _legacy_close: ClassVar[bool] = False

    config: NodeConfig
    name: str
    _graph: Graph | None
    _supervision: Supervision | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._spec_error = None
        try:
            cls._port_specs = cls._collect_ports()
        except NameError as exc:  # a forward reference we cannot resolve yet
            cls._port_specs = {}
            cls._spec_error = str(exc)
        cls._legacy_close = _closes_by_close(cls)
        if cls._legacy_close and "close" in vars(cls):
            warnings.warn(
                f"{cls.__qualname__} defines close(), the lifecycle hook's old name: rename it "
                "to aclose() (the runner still calls close() for now)",
                DeprecationWarning,
                stacklevel=2,
            )

    @classmethod
    def _collect_ports(cls) -> dict[str, tuple[Port[Any], tuple[type[Frame], ...]]]:
        specs: dict[str, tuple[Port[Any], tuple[type[Frame], ...]]] = {}
        for klass in reversed(cls.__mro__):
            for attr, hint in inspect.get_annotations(klass).items():
                hint = _resolve_port_hint(klass, hint)
                origin = typing.get_origin(hint)
                if not (isinstance(origin, type) and issubclass(origin, Port)):
                    continue
                args = typing.get_args(hint)
                template = getattr(cls, attr, None)
                if not isinstance(template, origin):
                    template = origin()
                specs[attr] = (template, frame_types(args[0]))
        return specs

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        cls = type(self)
        if cls._spec_error is not None:
            try:
                cls._port_specs = cls._collect_ports()
                cls._spec_error = None
            except NameError as exc:
                raise GraphError(
                    f"{cls.__name__}: cannot resolve a port annotation ({exc}); define frame "
                    "types at module level"
                ) from None
        self.config = validated_config(cls, config, settings)
        self.name = ""
        self._graph = None
        self._supervision = None
        self._rt: NodeRuntime = _NotRunning(self)
        for attr, (template, types_) in cls._port_specs.items():
            setattr(self, attr, bound_port(template, self, attr, types_))

    # ------------------------------------------------------------------ introspection

    @property
    def inputs(self) -> dict[str, In[Any]]:
        """The node's input ports by name."""
        return {n: p for n in self._port_specs if isinstance(p := getattr(self, n), In)}

    @property
    def outputs(self) -> dict[str, Out[Any]]:
        """The node's output ports by name."""
        return {n: p for n in self._port_specs if isinstance(p := getattr(self, n), Out)}

    @property
    def supervision(self) -> Supervision | None:
        """What happens when this node fails (``Graph.add(..., on_error=...)``); ``None``: the
        run fails (the default policy)."""
        return self._supervision

    @property
    def path(self) -> str:
        """The node's name qualified by its enclosing subgraphs, e.g. ``"asr/vad"``."""
        parts = [self.name]
        graph = self._graph
        while graph is not None and graph.owner is not None:
            parts.insert(0, graph.name)
            graph = graph.owner
        return "/".join(parts)

    @classmethod
    def has_run(cls) -> bool:
        """Whether this node overrides ``run()`` (run style) instead of using handlers."""
        return cls.run is not Node.run

    def handler_for(self, port: In[Any]) -> Handler | None:
        """The ``on_<port>`` handler for an input port, if the node defines one."""
        handler = getattr(self, f"on_{port.name}", None)
        return handler if callable(handler) else None

    @property
    def kind(self) -> str:
        """``"source"``, ``"sink"`` or ``"stage"``, from the ports the node declares."""
        if not self.inputs:
            return "source"
        if not self.outputs:
            return "sink"
        return "stage"

    def default_name(self) -> str:
        """The name ``Graph.add`` gives this node when none is passed."""
        return _snake(type(self).__name__)

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        """The engines this node is built from, by constructor keyword (default none).

        A host node returns its engine (``{"engine": LlamaLLM()}``); a graph file stores each
        as ``{type, config}`` under the node's ``parts`` and the loader passes them back as
        keywords: ``cls(config, engine=...)``.
        """
        return {}

    @property
    def owner(self) -> Graph | None:
        """The graph this node was added to (``None`` until ``Graph.add``)."""
        return self._graph

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path or '(unnamed)'}>"

    def __rshift__(self, other: Any) -> Any:
        from ._connect import connect_operands

        return connect_operands(self, other)

    # ------------------------------------------------------------------ runtime API

    @property
    def clock(self) -> Clock:
        """The run's clock: use ``self.clock.now()`` / ``await self.clock.sleep(s)``."""
        return self._rt.clock

    @property
    def epoch(self) -> int:
        """The turn generation this node is in; frames it emits are stamped with it."""
        return self._rt.epoch

    async def emit(self, port: Out[F], frame: F) -> None:
        """Send ``frame`` on output ``port`` to every connected edge (waits if one is full)."""
        await self._rt.emit(port, frame)

    async def send_event(self, event: Event, port: Out[Any] | None = None) -> None:
        """Send a control event on ``port`` ahead of queued data.

        Without a port the event goes to every output edge except ``feedback=True`` ones, so
        forwarded events never circle a cycle; name the port to send along a feedback edge.
        """
        await self._rt.send_event(event, port)

    async def receive(self) -> tuple[In[Any], Frame] | None:
        """Run style: the next ``(port, frame)`` in arrival order, or ``None`` at end of input."""
        return await self._rt.receive()

    async def frames(self) -> AsyncIterator[tuple[In[Any], Frame]]:
        """Run style: iterate ``(port, frame)`` pairs until every input has ended."""
        while (item := await self._rt.receive()) is not None:
            yield item

    def interrupt(self, reason: str = "", *, scope: list[str] | None = None) -> int:
        """Cut off the current turn downstream of this node (or in the named ``scope`` nodes).

        Queued frames of older epochs are dropped on every edge in scope and the in-flight
        work of every node in scope is cancelled. Returns the new epoch.
        """
        return self._rt.interrupt(reason, scope)

    def publish(self, event: B) -> B:
        """Publish ``event`` on the run's event bus, for observers (``runner.subscribe``).

        Never waits: a subscriber that falls behind loses its oldest events, not the node's
        time. The event is stamped with the run's next sequence number, the clock's time, this
        node's path and epoch; the stamped event is returned. Bus events are not control
        events: they go to subscribers, not along edges (use :meth:`send_event` for those).
        """
        return self._rt.publish(event)

    def connected(self, port: Port[Any]) -> bool:
        """Whether ``port`` (one of this node's) has an edge in the running graph.

        Answered by the runner for the whole graph it runs (subgraphs included), e.g. an LLM
        that offers tools only when ``tool_results`` is wired back to it::

            if self.connected(self.tool_results): ...

        Raises:
            UsageError: the node is not running, or ``port`` is not one of its ports.
        """
        return self._rt.connected(port)

    def run_in_background(self, func: Callable[[], Awaitable[object]]) -> None:
        """Run ``await func()`` beside this node until the run stops, e.g. a keep-alive::

            async def setup(self) -> None:
                self.run_in_background(self._keep_alive)

        (Host nodes need not do this for their engines' ``background()``: their
        ``EngineSlot`` starts it.)

        The work is not cancelled by interrupts (unlike handlers and ``run()``); the run's end
        cancels it before the nodes close, and work that does not end within the runner's
        ``close_timeout`` is abandoned with an error logged. An exception from it fails the
        node as a handler's would (its supervision applies; the :class:`NodeError` names the
        node); a restarted or replaced node's background work is stopped before it closes.

        Raises:
            UsageError: the node is not running (call it from ``setup()`` or while running).
        """
        self._rt.run_in_background(func)

    # ------------------------------------------------------------------ hooks

    async def setup(self) -> None:
        """Prepare once before the graph starts: load models, open devices."""

    async def run(self) -> None:
        """Run style entry point. The default dispatches frames to ``on_<port>`` handlers."""
        raise NotImplementedError  # the runner supplies the handler loop

    async def on_event(self, event: Event) -> None:
        """Handle a control event. By default it is forwarded to every output."""
        if self.forward_events:
            await self.send_event(event)

    async def on_interrupt(self, event: Any) -> None:
        """Called after an interrupt cancelled this node's in-flight work."""

    def holding(self) -> bool:
        """Whether a handler node takes no data for now (control events still arrive).

        While it returns ``True`` the node's queued data frames stay on their edges (which
        fill and hold their senders back, as backpressure) and only control events are
        handled; override it to pause a node, e.g. an audio output paused by the user's
        speech. Checked before each frame; ``run()``-style nodes decide for themselves.
        """
        return False

    def awaiting_feedback(self) -> bool:
        """Whether the node still expects frames on a ``feedback=True`` input.

        A node finishes when every non-feedback input has ended and this returns ``False``
        (e.g. an LLM waiting for tool results returns ``True`` until they are in). Feedback
        edges never keep a node open by themselves, so cycles can end.
        """
        return False

    async def on_end_of_stream(self) -> None:
        """Called once every input has ended, before end of stream goes downstream."""

    async def aclose(self) -> None:
        """Release resources when the run is over (also after errors).

        The runner calls it once per run, shielded from cancellation for at most the runner's
        ``close_timeout``. Overrides end with ``await super().aclose()``: for a subclass that
        still defines the old ``close()`` hook, this base method is what calls it.
        """
        if type(self)._legacy_close:
            result = self.close()
            if inspect.isawaitable(result):
                await result

    async def close(self) -> None:
        """Deprecated: the lifecycle hook is :meth:`aclose`.

        Calling it runs :meth:`aclose` (with a ``DeprecationWarning``). In a subclass still
        overriding ``close()``, its ``await super().close()`` lands here and does nothing more:
        :meth:`aclose` already runs the rest of the chain.
        """
        if type(self).close is Node.close:
            warnings.warn(
                f"{type(self).__name__}.close() is deprecated: call aclose()",
                DeprecationWarning,
                stacklevel=2,
            )
            await self.aclose()
