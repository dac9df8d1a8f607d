"""Nodes that do another node's model work: fallback providers and per-agent overrides.

A *host* node sits in the graph and owns the ports; an *engine* is a node of the same kind
(an LLM, STT, TTS or VAD node) whose model the host calls instead of its own — a provider
inside a fallback node, or the ``llm=`` / ``stt=`` / ``tts=`` / ``vad=`` of an ``Agent``.
An engine never touches ports: it gets the host's clock and epoch through
:class:`ChildRuntime`, is set up the first time it is used and is closed with the host.
"""

from __future__ import annotations

import logging
from typing import Any, Generic, TypeVar

from voicegraph.graph import Clock, ConfigError, Node, UsageError

__all__ = ["ChildRuntime", "EngineSwitch", "StandaloneRuntime", "adopt"]

log = logging.getLogger(__name__)

N = TypeVar("N", bound=Node)


class ChildRuntime:
    """The runtime of an engine node: its host's clock and epoch, and no ports."""

    def __init__(self, host: Node) -> None:
        self.host = host

    @property
    def clock(self) -> Clock:
        return self.host.clock

    @property
    def epoch(self) -> int:
        return self.host.epoch

    def _refuse(self, *args: Any) -> Any:
        raise UsageError(
            f"a node working for node {self.host.name!r} cannot use ports; it is only called "
            "(generate / transcribe / synthesize / probability); give it its own place in the "
            "graph if it needs ports"
        )

    emit = send_event = receive = interrupt = connected = _refuse

    def publish(self, event: Any) -> Any:
        """Publish on the host's behalf (stamped with the host's path)."""
        return self.host.publish(event)


class StandaloneRuntime:
    """The runtime of a node called outside any graph (e.g. an LLM judging a test): a
    clock, epoch 0 and no ports."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.epoch = 0

    def _refuse(self, *args: Any) -> Any:
        raise UsageError(
            "a node called outside a graph cannot use ports or the event bus; add it to a "
            "Graph and run the graph to use them"
        )

    emit = send_event = receive = interrupt = publish = connected = _refuse


def adopt(engine: Node, host: Node, name: str) -> None:
    """Make ``engine`` work for ``host``: named ``name``, on the host's clock and epoch."""
    engine.name = name
    engine._rt = ChildRuntime(host)


class EngineSwitch(Generic[N]):
    """Which node does a host's model work: the host itself, or an engine chosen at run time.

    The host asks :meth:`engine` each time it needs its model; :meth:`select` changes the
    answer (``None``: the host itself). Each engine is set up the first time it is used and
    closed by :meth:`close` (call it from the host's ``close``).

    Args:
        host: the node in the graph.
        kind: the class every engine must be an instance of (e.g. ``LLMNode``).
    """

    def __init__(self, host: N, kind: type[Node]) -> None:
        self._host = host
        self._kind = kind
        self.selected: N | None = None
        """The engine chosen by :meth:`select` (``None``: the host does the work itself)."""
        self._ready: list[N] = []

    def select(self, engine: N | None) -> None:
        """Use ``engine`` from the next call of :meth:`engine` on (``None``: the host).

        Raises:
            ConfigError: ``engine`` is not a node of the host's kind.
        """
        if engine is not None and not isinstance(engine, self._kind):
            raise ConfigError(
                f"node {self._host.name!r} can only hand its work to a {self._kind.__name__}, "
                f"got a {type(engine).__name__}"
            )
        self.selected = None if engine is self._host else engine
        if self.selected is not None and not isinstance(self.selected._rt, ChildRuntime):
            name = f"{self._host.name}[{self.selected.default_name()}]"
            adopt(self.selected, self._host, name)

    async def engine(self) -> N:
        """The node to call now: the selected engine (set up on first use), or the host."""
        engine = self.selected
        if engine is None:
            return self._host
        if not any(engine is ready for ready in self._ready):
            await engine.setup()
            self._ready.append(engine)
        return engine

    async def close(self) -> None:
        """Close every engine that was set up (errors are logged, not raised)."""
        ready, self._ready = self._ready, []
        for engine in ready:
            try:
                await engine.close()
            except Exception:
                log.exception("%s: closing %s failed", self._host.name, engine.name)
