"""The host side of an engine: which engine a host node calls now, entered once, closed once.

A host node (``LLMNode``, ``STTNode``, ``TTSNode``, ``VADNode``, ``TurnDetector``) is built with
an engine and keeps it in an :class:`EngineSlot`. The agent layer swaps engines for an agent's
own models (``host.set_engine(agent_llm)``, which checks the engine and calls ``slot.select``;
``None`` goes back to the one the host was built with). Every engine the host used is entered
(``async with``) on first use, on the host's clock, and exited when the host closes. While the
host runs, each engine's :meth:`~voicegraph.graph.Engine.background` work (e.g. a fallback
engine retrying failed providers) runs beside it from its first use until the run stops
(``Node.run_in_background``), so hosts need no code for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

from voicegraph.graph import ConfigError, Engine, Node, rehome, runtime_of

__all__ = ["EngineHost", "EngineSlot"]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Engine)


class EngineSlot(Generic[E]):
    """The engine a host node calls: the one it was built with, or one selected for a while.

    Args:
        host: the node calling the engine (its clock is bound to the engine before each use).
        kind: the engine interface every engine here must implement (e.g. ``LLMEngine``).
        default: the engine the host was built with.
        examples: engines of that kind, named in errors (e.g. ``"LlamaLLM, GeminiLLM"``).

    Raises:
        ConfigError: ``default`` is not a ``kind``.
    """

    def __init__(self, host: Node, kind: type[E], default: E, examples: str = "") -> None:
        self._host = host
        self._kind = kind
        self._examples = examples
        self.default: E = self.check(default)
        self._current: E = default
        self._entered: list[E] = []

    def check(self, engine: object) -> E:
        """``engine``, if it is of this slot's kind.

        Raises:
            ConfigError: it is not (the message names the host, the kind and examples).
        """
        if not isinstance(engine, self._kind):
            name = self._host.name or type(self._host).__name__
            kind = self._kind.__name__
            spoken = "AEFHILMNORSX" if kind[:2].isupper() else "AEIOU"  # LLM.. letter by letter
            article = "an" if kind[:1] in spoken else "a"
            such = f" ({self._examples}, ...)" if self._examples else ""
            raise ConfigError(
                f"{name}: expected {article} {kind}{such}, got {type(engine).__name__}"
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
        self._current = self.default if engine is None else self.check(engine)

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
                self._host.run_in_background(engine.serve_background)
        return engine

    async def aclose(self) -> None:
        """Exit every engine entered here, newest first (errors are logged, not raised)."""
        entered, self._entered = self._entered, []
        for engine in reversed(entered):
            try:
                await engine.__aexit__(None, None, None)
            except Exception:
                log.exception("%s: closing engine %s failed", self._host.name, engine.label())


class EngineHost(Node, Generic[E]):
    """Base of host nodes: the engine API over the node's :class:`EngineSlot`.

    A host sets ``self._slot = EngineSlot(self, Kind, engine, "Examples")`` in ``__init__``,
    enters it in ``setup`` (``await self._slot.ready()``) and closes it in ``aclose``. When a
    swap takes effect (the next reply, segment, utterance...) is the host's to say in its
    class docs; :meth:`check_fit` adds conditions beyond the engine's kind.
    """

    _slot: EngineSlot[E]

    @property
    def engine(self) -> E:
        """The engine in use from now on (the one built with, unless :meth:`set_engine`
        chose another)."""
        return self._slot.current

    def set_engine(self, engine: E | None) -> None:
        """Work with ``engine`` from the host's next unit of work on (``None``: the engine
        this node was built with). It is entered on first use and closed with this node.

        Raises:
            ConfigError: as :meth:`check_engine`.
        """
        self.check_engine(engine)
        self._slot.select(engine)

    def check_engine(self, engine: E | None) -> None:
        """Raise what :meth:`set_engine` would raise for ``engine``, without switching.

        Raises:
            ConfigError: ``engine`` is not of this stage's kind, or :meth:`check_fit` refuses
                it.
        """
        if engine is not None:
            self.check_fit(self._slot.check(engine))

    def check_fit(self, engine: E) -> None:
        """Raise :class:`~voicegraph.graph.ConfigError` if this node cannot use ``engine``
        (default: any engine of the kind fits)."""

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        """``{"engine": the engine built with}`` (a graph file stores its type and config)."""
        return {"engine": self._slot.default}


# public as voicegraph.nodes.EngineHost / EngineSlot (for writing a host node of your own)
rehome("voicegraph.nodes", globals(), __all__)
