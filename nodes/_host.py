"""The host side of an engine: which engine a host node calls now, entered once, closed once.

A host node (``LLMNode``, ``STTNode``, ``TTSNode``, ``VADNode``, ``TurnDetector``) is built
with an engine and keeps it in an :class:`EngineSlot`. The agent layer swaps engines for an
agent's own models (``slot.select(agent_llm)``; ``select(None)`` goes back to the one the
host was built with). Every engine the host used is entered (``async with``) on first use,
on the host's clock, and exited when the host closes. While the host runs, each engine's
:meth:`~voicegraph.graph.Engine.background` work (e.g. a fallback engine retrying failed
providers) runs beside it from its first use until the run stops (``Node.run_in_background``),
so hosts need no code for it.
"""

from __future__ import annotations

import logging
from typing import Generic, TypeVar

from voicegraph.graph import ConfigError, Engine, Node, runtime_of

__all__ = ["EngineSlot"]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Engine)


class EngineSlot(Generic[E]):
    """The engine a host node calls: the one it was built with, or one selected for a while.

    Args:
        host: the node calling the engine (its clock is bound to the engine before each use).
        kind: the engine interface every engine here must implement (e.g. ``LLMEngine``).
        default: the engine the host was built with.

    Raises:
        ConfigError: ``default`` is not a ``kind``.
    """

    def __init__(self, host: Node, kind: type[E], default: E) -> None:
        self._host = host
        self._kind = kind
        self.default: E = self._checked(default)
        self._current: E = default
        self._entered: list[E] = []

    def _checked(self, engine: object) -> E:
        if not isinstance(engine, self._kind):
            name = self._host.name or type(self._host).__name__
            raise ConfigError(
                f"{name}: expected a {self._kind.__name__} (an engine such as the ones in "
                f"this stage's package), got {type(engine).__name__}"
            )
        return engine

    @property
    def current(self) -> E:
        """The engine the host calls from now on."""
        return self._current

    def select(self, engine: E | None) -> None:
        """Call ``engine`` from the next use on (``None``: the engine the host was built with).

        Raises:
            ConfigError: ``engine`` is not of this slot's kind.
        """
        self._current = self.default if engine is None else self._checked(engine)

    async def ready(self) -> E:
        """The current engine, bound to the host's clock and entered if this is its first use.

        Entering it while the host runs also starts its ``background()`` beside the host, until
        the run stops (an error there fails the host like a handler's error).
        """
        engine = self._current
        engine.bind(self._host.clock)
        if not any(engine is done for done in self._entered):
            await engine.__aenter__()
            self._entered.append(engine)
            has_background = type(engine).background is not Engine.background
            if has_background and runtime_of(self._host) is not None:
                self._host.run_in_background(engine.background)
        return engine

    async def aclose(self) -> None:
        """Exit every engine entered here, newest first (errors are logged, not raised)."""
        entered, self._entered = self._entered, []
        for engine in reversed(entered):
            try:
                await engine.__aexit__(None, None, None)
            except Exception:
                log.exception("%s: closing engine %s failed", self._host.name, engine.label())
