""":class:`AgentSession`: runs agents on the standard voice graph (or on text), LiveKit-style."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import warnings
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Generic, Literal, overload

import anyio
import anyio.abc
from pydantic import ValidationError
from typing_extensions import TypeVar

from voicegraph.graph import (
    Clock,
    ConfigError,
    DeadlockError,
    Graph,
    Node,
    RunnerError,
    UsageError,
    UserTurn,
)
from voicegraph.nodes.llm import ChatContext, LLMEngine, LLMNode, ReplyRequest
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.stt import STTEngine, STTNode
from voicegraph.nodes.tts import TTSEngine, TTSNode
from voicegraph.nodes.turn import ClearTurn, CommitTurn, TurnDetector, TurnEngine
from voicegraph.nodes.vad import VADEngine, VADNode
from voicegraph.runner import Runner, VirtualClock

from ._activity import AgentActivity
from ._agent import Agent
from ._bus import ControllerStopped, SessionBusEvent
from ._context import session_scope
from ._events import (
    AgentState,
    AgentStateChangedEvent,
    CloseEvent,
    ErrorEvent,
    EventEmitter,
    MetricsCollectedEvent,
    SessionEvent,
    UserState,
    UserStateChangedEvent,
)
from ._graph import bind_user_graph, build_session_graph, stages_of
from ._history import HistoryScanner
from ._hooks import HookRunner
from ._link import SessionLink
from ._lk_metrics import AgentSessionUsage, ModelUsageCollector
from ._options import SessionOptions
from ._room_io import room_io
from ._speech import SpeechHandle
from ._stages import SessionStages
from ._testing import RunResult
from ._turn_handling import resolve_livekit_options
from ._voice import VoicePipeline

__all__ = ["AgentSession"]

log = logging.getLogger(__name__)

Userdata_T = TypeVar("Userdata_T", default=Any)
_CLOSE_GRACE = 1.0  # clock seconds close() lets the current reply's cut-off settle
SESSION_BUS_CAPACITY = 4096
"""Session events the session's bus subscription buffers. It loses none: its reader task
takes them as they come, and once half of it is full (many published with no await in
between) the publisher's next event has the session deliver them at once."""
_LATE_CALLBACK_SECONDS = 1.0  # real seconds an async callback may run once the session ended


class AgentSession(EventEmitter, Generic[Userdata_T]):
    r"""Run an :class:`Agent` on the standard voice graph, or on text turns for tests.

    ::

        async with AgentSession(llm=ScriptedLLM(replies=["Hi!"]), tts=ScriptedTTS(),
                                stt=ScriptedSTT(texts=["hello"])) as session:
            await session.start(MyAgent(), audio=WavSource(path="hello.wav"))
            await session.wait()            # until the input ended and the reply played

    Without ``audio``, the session has no audio at all (LLM and tools only): drive it with
    :meth:`run` (``result = await session.run(user_input="...")``), ``say``,
    ``generate_reply``. The graph it built is :attr:`graph` (render it with ``voicegraph.viz``).

    The session drives its graph through ports and listens on the run's bus: its commands
    (``say``, ``generate_reply``, ``interrupt``, ``update_agent``, agent switches) are
    frames of its :class:`SessionCommands` node, wired to the controller; states,
    transcripts and its own events come back as :class:`SessionBusEvent`\ s, in one
    order, from ``runner.subscribe``. The graph runs under a plain :class:`Runner`.

    The models are **engines**, as LiveKit's session takes plugins: the session builds the
    host node of each stage around its engine (``LLMNode(engine=llm)``, ``STTNode``,
    ``TTSNode``, ``VADNode``, ``TurnDetector``) in the standard voice graph. They default to
    the embedded offline models (Silero VAD, Whisper tiny.en, SmolLM2, hibari TTS). A host
    node is accepted instead of an engine when you need its own settings (e.g.
    ``tts=TTSNode(engine=HibariTTS(), sentence_pause=0.3)``); the session still sets the
    LLM node's instructions, tools and ``max_tool_steps``. An agent's own models
    (``Agent(llm=...)``) are swapped into these hosts while it is active. Turn-taking
    options: see :class:`SessionOptions` (keyword arguments here, LiveKit's names and
    defaults).

    Args:
        stt: an :class:`STTEngine` (default ``WhisperSTT()``) or an ``STTNode``.
        llm: an :class:`LLMEngine` (default ``LlamaLLM()``) or an ``LLMNode``; the session
            sets the node's instructions, tools and ``max_tool_steps`` from the agent and
            the options.
        tts: a :class:`TTSEngine` (default ``HibariTTS()``) or a ``TTSNode``.
        vad: a :class:`VADEngine` (default ``SileroVAD()``) or a ``VADNode``.
        turn_detection: ``"vad"`` (default: a :class:`TurnDetector` built from the options:
            VAD, endpointing delays and the transcript heuristic), ``"manual"`` (the turn
            ends only when you call :meth:`commit_user_turn`, e.g. push to talk), a
            :class:`TurnEngine` (the end-of-turn model of the detector built from the
            options), or a :class:`TurnDetector` (it keeps its own endpointing and
            interruption settings).
        userdata: any object for your tools and hooks (``session.userdata``,
            ``context.userdata``).
        clock: ``RealClock()`` (default) or ``VirtualClock()`` for deterministic tests.
        options: a :class:`SessionOptions` instead of keyword options.
        **settings: options by name (see :class:`SessionOptions`).

    Raises:
        ConfigError: an unknown or invalid option, or a model of the wrong kind.
    """

    def __init__(
        self,
        *,
        stt: STTEngine | STTNode | None = None,
        llm: LLMEngine | LLMNode | None = None,
        tts: TTSEngine | TTSNode | None = None,
        vad: VADEngine | VADNode | None = None,
        turn_detection: TurnEngine | TurnDetector | Literal["vad", "manual"] | None = None,
        userdata: Userdata_T | None = None,
        clock: Clock | None = None,
        options: SessionOptions | None = None,
        **settings: Any,
    ) -> None:
        EventEmitter.__init__(self)
        if options is not None and settings:
            raise ConfigError("AgentSession: pass either options= or option keywords, not both")
        settings, turn_detection = resolve_livekit_options(settings, turn_detection)
        try:
            self.options = options if options is not None else SessionOptions(**settings)
        except ValidationError as exc:
            raise ConfigError(f"invalid AgentSession options: {exc}") from None
        if not (
            turn_detection in (None, "vad", "manual")
            or isinstance(turn_detection, TurnEngine | TurnDetector)
        ):
            raise ConfigError(
                f"AgentSession: turn_detection must be 'vad', 'manual', a TurnEngine or a "
                f"TurnDetector, got {turn_detection!r}"
            )
        self.turn_mode: Literal["vad", "manual"] = (
            turn_detection if isinstance(turn_detection, str) else "vad"
        )
        """How turns end: ``"vad"`` (endpointing) or ``"manual"`` (:meth:`commit_user_turn`)."""
        turn = None if isinstance(turn_detection, str) else turn_detection
        self._given = SessionStages.of(llm=llm, stt=stt, tts=tts, vad=vad, turn=turn)
        self._userdata = userdata
        self.clock = clock
        self._agent_state: AgentState = "initializing"
        self._user_state: UserState = "listening"
        self._closing = False
        self._idle = anyio.Event()
        self._idle.set()
        self._ready = anyio.Event()
        self._stopped = anyio.Event()
        self._hooks = HookRunner(
            self._emit, self._hooks_changed, lambda: session_scope(self), self._hook_failed
        )
        self._run_errors: dict[int, BaseException] = {}  # id(RunResult) -> its first hook error
        self._shutdown_task: asyncio.Task[None] | None = None
        self._usage = ModelUsageCollector()
        self._link: SessionLink | None = None
        self._activity: AgentActivity | None = None
        self._results: list[RunResult] = []
        self._events_sub: Any = None
        self._relieve_at = SESSION_BUS_CAPACITY
        self._relieving = False
        self.graph: Graph | None = None
        """The graph the session runs (built by :meth:`start`)."""
        self.pipeline: VoicePipeline | None = None
        """The voice graph's stages, for a session with audio."""
        self.runner: Runner | None = None
        self._stack: AsyncExitStack | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._done = anyio.Event()
        self._error: BaseException | None = None
        self._close_reason = "closed"
        self._late_callbacks: set[asyncio.Task[None]] = set()  # run outside the session's tasks

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> AgentSession[Userdata_T]:
        stack = AsyncExitStack()
        self._tg = await stack.enter_async_context(anyio.create_task_group())
        self._stack = stack
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.aclose()
        finally:
            stack, self._stack, self._tg = self._stack, None, None
            if stack is not None:  # the body's own exception propagates as it is
                await stack.__aexit__(None, None, None)

    @overload
    async def start(
        self,
        agent: Agent,
        *,
        audio: Node | None = None,
        output: AudioOutput | None = None,
        graph: Graph | VoicePipeline | None = None,
        room: Any = None,
        room_options: Any = None,
        capture_run: Literal[False] = False,
    ) -> None: ...

    @overload
    async def start(
        self,
        agent: Agent,
        *,
        audio: Node | None = None,
        output: AudioOutput | None = None,
        graph: Graph | VoicePipeline | None = None,
        room: Any = None,
        room_options: Any = None,
        capture_run: Literal[True],
    ) -> RunResult: ...

    async def start(
        self,
        agent: Agent,
        *,
        audio: Node | None = None,
        output: AudioOutput | None = None,
        graph: Graph | VoicePipeline | None = None,
        room: Any = None,
        room_options: Any = None,
        capture_run: bool = False,
    ) -> RunResult | None:
        """Build the graph, start running it and make ``agent`` active (its ``on_enter`` runs).

        The activation is recorded in the history as a handoff from no agent
        (``AgentHandoffItem(old_agent_id=None)``), as LiveKit records it.

        Args:
            agent: the first agent.
            audio: the user's audio: a source node with an ``audio`` output (``WavSource``,
                ``MemorySource``, a microphone...). ``None`` (default): a text-only session.
            output: the agent's speaker (default ``AudioOutput()``; pass
                ``AudioOutput(path="reply.wav")`` to record it).
            graph: a graph you built instead (not with ``audio``/``output``, nor with the
                session's ``stt``/``llm``/``tts``/``vad``/``turn_detection``, which are its
                nodes). It must hold one ``AgentController()`` whose ``user_turns`` feed an
                LLM node, and an ``AgentToolExecutor()`` for tools; the easiest way is
                ``voice_pipeline(source, controller=AgentController(),
                tools=AgentToolExecutor(), ...)``, then add nodes to its graph (a transcript
                sink, a recorder...). The session binds those nodes and sets their config
                from its options; per-agent models and metrics use the graph's ``STTNode``,
                ``TTSNode``, ``VADNode`` and ``TurnDetector`` (a ``VoicePipeline``'s, or the
                one of each kind).
            room: LiveKit's form: a room (``ctx.room``) to talk in, short for
                ``audio=RoomInput(room=room), output=RoomOutput(room=room)``; the job joins it
                first if it has not (``ctx.connect()``), as in LiveKit.
            room_options: LiveKit's ``room_io.RoomOptions``: only ``None``; the room's
                settings are the ``RoomInput``/``RoomOutput`` nodes' configs (pass those).
            capture_run: ``True``: wait until what ``agent.on_enter`` started has finished
                and return it as a :class:`RunResult` (its first event is the handoff to
                ``agent``), as LiveKit's ``start(agent, capture_run=True)`` does. Default
                ``False``: return ``None`` once ``on_enter`` was started.

        Raises:
            UsageError: the session was already started.
            Exception: with ``capture_run``, what ``on_enter`` raised.
            ConfigError: ``graph`` together with stages or ``audio``; ``agent`` has a model
                the session's nodes cannot use.
            GraphError: the stages do not fit together (every problem listed).
        """
        if self.graph is not None:
            raise UsageError("this AgentSession was already started; create a new one")
        if room is not None or room_options is not None:
            audio, output = await room_io(room, room_options, audio, output, graph)
        if graph is not None:
            found = bind_user_graph(self, self._given, graph, audio=audio, output=output)
        else:
            found = build_session_graph(self, self._given, audio=audio, output=output)
        llm = found.llm
        llm.config = llm.config.model_copy(update={"max_tool_steps": self.options.max_tool_steps})
        stages = stages_of(found)
        link = SessionLink(
            self, found.commands, llm, allow_interruptions=self.options.allow_interruptions,
            emit_now=self._emit_now, changed=self._check_idle, published=self._relieve,
            failed=self._hook_failed,
        )  # fmt: skip
        scanner = HistoryScanner(llm, stages, self._emit)
        scanner.results = self._results
        activity = AgentActivity(
            self, llm, stages, scanner, self._hooks, self._emit, link.switch, link.suspend
        )
        activity.check_models(agent)  # before the session counts as started
        link.activity = activity
        turn = stages.get("turn")
        if isinstance(turn, TurnDetector):
            link.turn = True
            if self.turn_mode == "manual":
                turn.config = turn.config.model_copy(update={"mode": "manual"})
        llm.on_tool_round = scanner.tools
        found.controller.attach(link)
        for executor in found.executors:
            executor.attach(self, link)
        found.commands.attach()
        self._llm, self._stages, self._link, self._activity = llm, stages, link, activity
        self.graph, self.pipeline = found.graph, found.pipeline
        captured = RunResult("") if capture_run else None
        if captured is not None:
            self._results.append(captured)
        activity.activate(agent, agent.initial_chat_ctx)
        scanner.record_handoff(None, agent)
        scanner.items()
        if self._tg is not None:
            await self._tg.start(self._main)
        else:
            started = anyio.Event()
            loop = asyncio.get_running_loop()
            self._main_task = loop.create_task(self._main_owned(started))
            await started.wait()
            if self.runner is None and self._error is not None:
                raise self._error
        await self._ready.wait()
        from voicegraph.runner.worker import get_job_context  # lazily: jobs are rare in tests

        if (job := get_job_context(required=False)) is not None:
            job.add_session(self)  # the job lives until this session ends (LiveKit's behaviour)
        self._hooks.spawn((f"{agent.id}.on_enter", agent.on_enter))
        if captured is None:
            return None
        try:
            await self._wait_idle()
            error = self._run_errors.get(id(captured))
        finally:
            self._results.remove(captured)
            self._run_errors.pop(id(captured), None)
        if error is not None:
            raise error
        return captured

    async def _main_owned(self, started: anyio.Event) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                await self._main(started=started)
            finally:
                started.set()

    async def _main(
        self,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
        started: anyio.Event | None = None,
    ) -> None:
        assert self.graph is not None
        running = False
        clock = self.clock
        watch = isinstance(clock, VirtualClock) and clock.on_deadlock is None
        if watch:
            assert isinstance(clock, VirtualClock)
            clock.on_deadlock = self._on_deadlock
        runner = Runner(self.graph, clock=clock)
        events = runner.subscribe(SessionBusEvent, capacity=SESSION_BUS_CAPACITY)
        self._relieve_at = max(1, SESSION_BUS_CAPACITY // 2)
        stops = runner.subscribe(ControllerStopped, capacity=1)
        self._events_sub = events
        try:
            async with runner:
                self.runner = runner
                self.clock = runner.clock
                try:
                    async with anyio.create_task_group() as tasks:
                        self._hooks.group = tasks
                        tasks.start_soon(self._read_events, events)
                        tasks.start_soon(self._read_stops, stops)
                        running = True
                        task_status.started()
                        if started is not None:
                            started.set()
                        await runner.wait()
                        self._close_reason = "input_ended" if not self._closing else "closed"
                        tasks.cancel_scope.cancel()
                finally:
                    self._hooks.group = None  # callbacks from now on run as late tasks
        except Exception as exc:
            if not running and started is None:
                raise
            self._error = exc
            self._close_reason = "error"
            log.error("the agent session failed: %s", exc, exc_info=exc)
            self._drain(events)
            self._emit_now(ErrorEvent(error=exc, source=getattr(exc, "node", "") or "session"))
        finally:
            self._hooks.group = None
            self._drain(events)
            self._emit_now(CloseEvent(reason=self._close_reason, error=self._error))
            await self._join_late_callbacks()
            if watch:
                assert isinstance(clock, VirtualClock)
                clock.on_deadlock = None  # the clock may run other graphs after the session
            self._done.set()
            self._ready.set()
            self._stopped.set()
            self._idle.set()

    async def _read_events(self, events: Any) -> None:
        receive = events.receive
        while True:
            try:
                published = await receive()
            except anyio.EndOfStream:
                return
            self._deliver(published)
            self._drain(events)
            if events.dropped:  # a publisher that does not tell the session (not ours)
                raise RunnerError(
                    f"the agent session lost {events.dropped} of its events: more than "
                    f"{events.capacity} were published on the bus with no await in between"
                )

    def _relieve(self) -> None:
        """A session event was published: deliver the buffered ones now if the buffer is
        half full (the reader task had no chance to run), so none is dropped."""
        events = self._events_sub
        if events is not None and events.pending >= self._relieve_at and not self._relieving:
            self._relieving = True
            try:
                self._drain(events)
            finally:
                self._relieving = False

    def _drain(self, events: Any) -> None:
        while events.pending:
            try:
                published = events.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            self._deliver(published)

    def _deliver(self, published: SessionBusEvent) -> None:
        event = published.event
        if isinstance(event, AgentStateChangedEvent):
            self._agent_state = event.new_state
            self._ready.set()
        elif isinstance(event, UserStateChangedEvent):
            self._user_state = event.new_state
        elif isinstance(event, MetricsCollectedEvent):
            self._usage.collect(event.metrics)
        self.emit(dataclasses.replace(event, created_at=published.time))

    async def _read_stops(self, stops: Any) -> None:
        async for _ in stops:
            self._stopped.set()
            if self._link is not None:
                self._link.commands.end()
            return

    def _caught_up(self) -> None:
        """Deliver the events published so far (in order: the reader task and this share
        one subscription, and each delivery is synchronous)."""
        if self._events_sub is not None:
            self._drain(self._events_sub)

    def _on_deadlock(self) -> None:
        """Virtual time cannot move: a deadlock only if a reply or hook is waiting.

        An idle session waits for input by design (your code may be doing something else,
        such as awaiting real time), so that is not an error.
        """
        link = self._link
        if (link is not None and link.busy) or self._hooks.running:
            speech = link.running if link is not None else None
            raise DeadlockError(
                "the agent session is stuck: every node is blocked and no timer is pending "
                f"while {'reply ' + speech.id if speech else 'a reply or hook'} waits "
                f"(agent state {self.agent_state!r}). Check the LLM, tools and hooks."
            )

    async def wait(self) -> None:
        """Wait until the session has ended (its audio input ended and the last reply played,
        or :meth:`close` was called).

        Raises:
            Exception: the error that ended the session, if one did.
        """
        await self._done.wait()
        if self._error is not None:
            raise self._error

    async def close(self) -> None:
        """Deprecated name of :meth:`aclose` (LiveKit's and voicegraph's name for it)."""
        warnings.warn(
            "AgentSession.close() is deprecated: use await session.aclose()",
            DeprecationWarning,
            stacklevel=2,
        )
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the session: cut the agent off and stop the graph. Safe to call twice."""
        if self.runner is None or self._done.is_set():
            await self._join_main()
            return
        self._closing = True
        link = self._link
        assert link is not None
        link.shutdown()
        clock = self.runner.clock
        with anyio.move_on_after(5.0):  # real-time bound, in case the clock cannot advance
            with anyio.CancelScope() as scope:

                async def grace() -> None:
                    await clock.sleep(_CLOSE_GRACE)
                    scope.cancel()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(grace)
                    await self._stopped.wait()
                    tg.cancel_scope.cancel()
        link.commands.end()
        self.runner.stop()
        await self._done.wait()
        await self._join_main()

    def shutdown(self, *, drain: bool = True) -> None:
        """End the session soon, without waiting (LiveKit's ``shutdown``): with ``drain``
        (default), once the running and queued replies have played; else at once. Await
        :meth:`wait` to know when it has ended. Does nothing once it is ending or ended."""
        if self._shutdown_task is not None or self.runner is None or self._done.is_set():
            return

        async def close() -> None:
            if drain:
                while not self._done.is_set():
                    await self._idle.wait()
                    self._check_idle()
                    if self._idle.is_set():
                        break
            await self.aclose()

        loop = asyncio.get_running_loop()
        self._shutdown_task = loop.create_task(close(), name="session shutdown")

    async def _join_main(self) -> None:
        task, self._main_task = self._main_task, None
        if task is not None:
            await task

    # ------------------------------------------------------------------ properties

    @property
    def userdata(self) -> Userdata_T:
        """The object passed as ``userdata`` (set it with ``session.userdata = ...``).

        Raises:
            ConfigError: no userdata was set (a ValueError).
        """
        if self._userdata is None:
            raise ConfigError("this AgentSession has no userdata; pass AgentSession(userdata=...)")
        return self._userdata

    @userdata.setter
    def userdata(self, value: Userdata_T) -> None:
        self._userdata = value

    @property
    def usage(self) -> AgentSessionUsage:
        """Model usage so far, per model (LiveKit's ``session.usage``): LLM tokens, STT and
        TTS audio, added up from the session's ``metrics_collected`` events."""
        return self._usage.usage

    @property
    def history(self) -> ChatContext:
        """The conversation (the LLM's chat context; live, not a copy)."""
        return self._llm.chat

    @property
    def current_agent(self) -> Agent:
        """The active agent (an ``AgentTask`` while one runs).

        Raises:
            UsageError: the session has not started.
        """
        agent = self._activity.agent if self._activity is not None else None
        if agent is None:
            raise UsageError("the session has not started: await session.start(agent)")
        return agent

    @property
    def agent_state(self) -> AgentState:
        """``"initializing"``, ``"listening"``, ``"thinking"`` or ``"speaking"`` (as the
        controller last published it on the bus)."""
        return self._agent_state

    @property
    def user_state(self) -> UserState:
        """``"listening"``, ``"speaking"`` or ``"away"`` (as last published on the bus)."""
        return self._user_state

    @property
    def llm(self) -> LLMNode:
        """The LLM node in the session's graph (its engine: ``session.llm.engine``).

        Raises:
            UsageError: the session has not been started.
        """
        if self._link is None:
            raise UsageError("the session has not started: await session.start(agent)")
        return self._llm

    # ------------------------------------------------------------------ acting

    def say(
        self,
        text: str,
        *,
        allow_interruptions: bool | None = None,
        add_to_chat_ctx: bool = True,
    ) -> SpeechHandle:
        """Speak ``text`` as it is (after any reply already scheduled).

        Args:
            text: what to say.
            allow_interruptions: ``None`` (default) uses the agent's, else the session's
                setting.
            add_to_chat_ctx: record it in the history as an assistant message (default
                ``True``).

        Raises:
            UsageError: the session is not running, or its graph takes no more commands.
        """
        request = ReplyRequest(say=text, add_to_chat=add_to_chat_ctx)
        return self._schedule(request, "say", allow_interruptions)

    def generate_reply(
        self,
        *,
        user_input: str | None = None,
        instructions: str | None = None,
        allow_interruptions: bool | None = None,
        tool_choice: Literal["auto", "none"] = "auto",
    ) -> SpeechHandle:
        """Have the LLM reply now (after any reply already scheduled).

        Args:
            user_input: a user message to add first (default none).
            instructions: extra instructions for this reply only (default none).
            allow_interruptions: as for :meth:`say`.
            tool_choice: ``"auto"`` (default) or ``"none"`` (no tools for this reply).

        Raises:
            UsageError: as for :meth:`say`.
        """
        request = ReplyRequest(
            user_input=user_input or "",
            instructions=instructions or "",
            allow_tools=tool_choice != "none",
        )
        return self._schedule(request, "generate_reply", allow_interruptions)

    def interrupt(self) -> None:
        """Cut the agent off now and drop the replies waiting after it."""
        self._require_link().interrupt("session.interrupt")

    def commit_user_turn(self, *, transcript_timeout: float = 2.0) -> None:
        """End the user's turn now and reply to it (``turn_detection="manual"``: push to talk).

        The turn is committed once the user is not speaking and the last speech has been
        transcribed, or ``transcript_timeout`` seconds (media time) after the call with the
        words in by then; nothing said, no turn. The agent is cut off if it is still
        speaking. Works in ``"vad"`` mode too (ends the turn without the endpointing delay).

        Raises:
            UsageError: the session is not running, or has no audio (no turn detector).
        """
        self._turn_link("commit_user_turn").send_turn(CommitTurn(transcript_timeout))

    def clear_user_turn(self) -> None:
        """Forget what the user said since the last turn (e.g. a push-to-talk cancelled).

        Raises:
            UsageError: the session is not running, or has no audio (no turn detector).
        """
        self._turn_link("clear_user_turn").send_turn(ClearTurn())

    def _turn_link(self, what: str) -> SessionLink:
        """The link, for a command to the turn detector (sent by the command node)."""
        link = self._require_link()
        if not link.turn:
            raise UsageError(
                f"{what}() needs a session with audio (a turn detector); in a text session "
                "use run(user_input=...) or generate_reply(user_input=...)"
            )
        return link

    def update_agent(self, agent: Agent) -> None:
        """Switch to ``agent`` once the replies already scheduled have played (as LiveKit
        drains the old agent's speech); ``on_exit`` of the active agent, then ``on_enter``
        of the new one run. Replies scheduled later are the new agent's.

        Raises:
            UsageError: as for :meth:`say`.
        """
        link = self._require_link()
        activity = self._activity
        assert activity is not None

        def apply() -> None:
            activity.handoff(agent, keep_history=True)

        link.switch(apply, False)

    async def run(self, *, user_input: str) -> RunResult:
        """Send ``user_input`` as a user turn and wait until the agent has finished with it.

        Returns a :class:`RunResult` with what the agent did meanwhile (messages, function
        calls and outputs, handoffs; not the user's own message), in order. The run ends
        when no reply is running or waiting and no hook is running (a reply set aside while
        an ``AgentTask`` talks to the user does not count).

        Raises:
            UsageError: the session is not running.
            Exception: the error that ended the session during the run, or the first
                exception an agent hook (``on_enter``, ``on_exit``,
                ``on_user_turn_completed``) raised during it (it is also reported as an
                ``error`` event, run or not).
        """
        self._require_started()
        result = RunResult(user_input)
        self._results.append(result)
        try:
            self._schedule(UserTurn(user_input), "generate_reply", None)
            await self._wait_idle()
            error = self._run_errors.get(id(result))
        finally:
            self._results.remove(result)
            self._run_errors.pop(id(result), None)
        if error is not None:
            raise error
        return result

    # ------------------------------------------------------------------ internals

    def _schedule(
        self, frame: UserTurn | ReplyRequest, source: Literal["say", "generate_reply"],
        allow: bool | None,
    ) -> SpeechHandle:  # fmt: skip
        speech = self._require_link().schedule(frame, source, allow)
        self._check_idle()
        return speech

    def _require_link(self) -> SessionLink:
        self._require_started()
        assert self._link is not None
        return self._link

    def _require_started(self) -> None:
        if self.runner is None or self._activity is None:
            raise UsageError("the session is not running: await session.start(agent) first")
        if self._done.is_set():
            raise UsageError(f"the session has ended ({self._close_reason})")

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else 0.0

    def _emit(self, event: SessionEvent) -> None:
        """Report ``event`` in order with the graph's events (through the run's bus)."""
        if self._link is not None:
            self._link.emit(event)
        else:
            self._emit_now(event)

    def _emit_now(self, event: SessionEvent) -> None:
        self.emit(dataclasses.replace(event, created_at=self._now()))

    def _hook_failed(self, error: BaseException) -> None:
        """An agent hook raised ``error``: the runs going on raise it when they end."""
        for result in self._results:
            self._run_errors.setdefault(id(result), error)

    def _hooks_changed(self) -> None:
        if self._link is not None:
            self._link.sync_entering()
        self._check_idle()

    def _check_idle(self) -> None:
        if self._done.is_set():
            self._idle.set()
            return
        link = self._link
        busy = (link is not None and link.busy) or self._hooks.running > 0
        if busy and self._idle.is_set():
            self._idle = anyio.Event()
        elif not busy:
            if self._activity is not None:
                self._activity.scanner.items()
            self._idle.set()

    async def _wait_idle(self) -> None:
        while True:
            await self._idle.wait()
            self._check_idle()
            if self._idle.is_set():
                break
        self._caught_up()
        if self._error is not None:
            raise self._error

    def _spawn_callback(self, awaitable: Awaitable[None], name: str) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                log.exception("an async %r callback raised", name)

        group = self._hooks.group
        if group is not None:
            group.start_soon(run)
            return
        # no session task group (before the run, or while it ends): a task of its own,
        # bounded in (real) time, which the session's end awaits
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not in the event loop: nothing can run it
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()
            log.warning("an async %r callback was dropped: no event loop runs", name)
            return

        async def bounded() -> None:
            with anyio.move_on_after(_LATE_CALLBACK_SECONDS) as scope:
                await run()
            if scope.cancelled_caught:
                log.warning("an async %r callback was cut off after the session ended", name)

        task = loop.create_task(bounded(), name=f"session callback {name}")
        self._late_callbacks.add(task)
        task.add_done_callback(self._late_callbacks.discard)

    async def _join_late_callbacks(self) -> None:
        """Wait for the async callbacks of the last events (each is bounded in time)."""
        if self._late_callbacks:
            with anyio.CancelScope(shield=True):
                await asyncio.wait(set(self._late_callbacks))
