"""The :class:`Engine` base: a model or provider that a host node calls, knowing nothing of graphs.

An engine is what LiveKit calls a plugin's ``llm.LLM`` / ``stt.STT`` / ``tts.TTS``: it turns
a request into a result (a chat context into streamed chunks, a speech segment into words,
a sentence into audio). It has no ports, no epochs and no interrupts; the *host node* of its
stage (``LLMNode``, ``STTNode``, ``TTSNode``, ``VADNode``, ``TurnDetector``) owns those and
calls the engine. Engines are

* **configured** like nodes: a nested ``Config`` (pydantic, frozen) validated from keyword
  settings, so a graph file stores an engine as ``{type, config}`` under its host;
* **async context managers**: ``async with engine:`` runs :meth:`Engine.start` (load a model,
  open a client) and :meth:`Engine.aclose`. Entering is counted, so one engine shared by
  several hosts starts once and closes when the last one leaves;
* **on a clock**: hosts :meth:`~Engine.bind` their run's clock, so a scripted engine sleeps
  in virtual time and blocking work goes through ``clock.run_sync``. An engine used on its
  own (``async with LlamaLLM() as llm: ...``) runs on the wall clock.

A stage's engine interface (``LLMEngine``, ``STTEngine``, ...) lives beside its host node.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self

import anyio

from ._clock import Clock, RealClock
from ._node import NodeConfig, validated_config

__all__ = ["Engine"]

log = logging.getLogger(__name__)


class Engine:
    """Base class of engines (models and providers called by a host node).

    Subclasses declare ``class Config(NodeConfig)`` for their settings, override
    :meth:`start` / :meth:`aclose` when they hold resources, and implement their stage's
    interface (e.g. ``LLMEngine.generate``). Construct with keyword settings or one Config::

        engine = MyEngine(model="small")        # validated into MyEngine.Config
        async with engine:                      # start() ... aclose()
            ...

    Attributes:
        config: the validated settings (what a graph file stores).
    """

    Config: ClassVar[type[NodeConfig]] = NodeConfig
    kind: ClassVar[str] = "engine"
    """What the engine does, for messages ("LLM", "STT", "TTS", "VAD", "turn")."""

    config: NodeConfig

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        self.config = validated_config(type(self), config, settings)
        self._clock: Clock | None = None
        self._users = 0
        self._entering: anyio.Lock | None = None  # made on first use, in the running loop
        self._serving: anyio.Event | None = None  # set when the background() running ends
        self._served = False  # background() returned by itself: nothing left to run

    # ------------------------------------------------------------------ clock

    @property
    def clock(self) -> Clock:
        """The clock of the run using this engine (a wall clock until a host binds one)."""
        if self._clock is None:
            self._clock = RealClock()
        return self._clock

    def bind(self, clock: Clock) -> None:
        """Use ``clock`` for sleeping and blocking work (hosts call this before each use)."""
        self._clock = clock

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Get ready to serve: load the model, open the client (default: nothing to do).

        Called by the first ``async with`` (hosts enter their engines in ``setup``).
        """

    async def aclose(self) -> None:
        """Release what :meth:`start` acquired (default: nothing to do).

        Called when the last ``async with`` exits; safe to call more than once.
        """

    async def __aenter__(self) -> Self:
        if self._entering is None:
            self._entering = anyio.Lock()
        async with self._entering:  # hosts set up concurrently: the first one starts it
            if self._users == 0:
                await self.start()
            self._users += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.aclose()

    async def background(self) -> None:
        """Work the engine does between requests, run by its host (default: none, returns).

        Hosts run it beside their own work (``EngineSlot`` does, through
        ``Node.run_in_background``) from the engine's first use until the run stops; interrupts
        do not cancel it. It may run until cancelled (a fallback combinator retries here).
        """

    async def serve_background(self) -> None:
        """Run :meth:`background` once however many hosts ask (what ``EngineSlot`` calls).

        The first caller runs it; later callers wait and take over if it is cancelled (its
        host stopped) while they still run. Once it returns by itself, every caller returns.
        """
        while not self._served:
            if self._serving is not None:
                await self._serving.wait()
                continue
            self._serving = anyio.Event()
            try:
                await self.background()
                self._served = True
            finally:
                serving, self._serving = self._serving, None
                serving.set()

    @property
    def started(self) -> bool:
        """Whether at least one ``async with`` holds the engine open."""
        return self._users > 0

    # ------------------------------------------------------------------ structure

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        """Engines this one is built from, by constructor keyword (default none).

        A combinator returns its providers (``{"providers": [a, b]}``); a graph file stores
        them under ``parts`` and the loader calls ``cls(config, **parts)``.
        """
        return {}

    def label(self) -> str:
        """A short name for logs and diagrams (default: the class name)."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
