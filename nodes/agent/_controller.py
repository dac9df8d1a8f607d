""":class:`AgentController`: the agent session's node in the graph (ports in, pieces inside).

It adapts the graph to two pieces with one job each: the :class:`SpeechScheduler` (replies
one at a time, the agent's state, preemptive generation) and the :class:`PresenceTracker`
(the user's state, transcripts, turn limits). It talks to the session through the command
port (frames in) and the run's bus (events out), and asks the session for reply handles
and agent hooks through a :class:`SchedulerPort`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
from pydantic import Field

from voicegraph.graph import (
    Control,
    Event,
    In,
    LLMText,
    Node,
    NodeConfig,
    Out,
    PlayoutMark,
    SpeechSegment,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    UserTurn,
)
from voicegraph.nodes.llm import ReplyRequest
from voicegraph.nodes.output import PausePlayout, ResumePlayout

from ._bus import ControllerStopped, SessionBusEvent
from ._commands import (
    Command,
    EnteringCommand,
    InterruptCommand,
    ShutdownCommand,
    SpeakCommand,
    SuspendCommand,
    SwitchCommand,
)
from ._events import AgentState, SessionEvent, UserState
from ._options import UserTurnLimit
from ._ports import DetachedPort, SchedulerPort
from ._presence import PresenceTracker
from ._scheduler import SpeechScheduler
from ._speech import SpeechHandle

__all__ = ["AgentController"]

log = logging.getLogger(__name__)


class AgentController(Node):
    """Schedule the agent's replies, one at a time, and track who is speaking.

    It sits between the turn detector and the LLM (``turns -> user_turns``), sends the
    session's ``say()`` / ``generate_reply()`` requests (``commands``, from the session's
    :class:`SessionCommands` node) to the LLM (``requests``), and relays the LLM's text to
    the sentence splitter (``llm_text -> text``) so it knows when each reply has been
    generated; the audio output's playout marks (``playout``, a feedback edge) tell it when
    a reply starts and stops playing. A reply is done when it has played out (or, in a
    session without audio, when its text is complete) or was interrupted.

    Replies are queued (see :class:`SpeechScheduler`); on an interrupt (the turn
    detector's barge-in, or ``session.interrupt()``) the current reply is cut: if it was
    playing, the output's interrupted mark sets the assistant message to the words actually
    heard; if nothing had played, the message becomes ``""``. Interrupts raised here reach
    everything downstream (LLM, tools, TTS, output) but not the user's side of the graph.
    Preemptive generation: a tentative turn on ``preflight`` starts the LLM ahead of the end
    of the turn (see :class:`Preemption`). False interruptions: a ``PausePlayout`` from the
    turn detector makes the agent ``listening``; the ``ResumePlayout`` that follows a false
    alarm makes it ``speaking`` again and reports ``agent_false_interruption``.

    States and transcripts are published on the run's bus as :class:`SessionBusEvent`\\ s
    (the session delivers them as LiveKit's events). Without a session (a plain
    ``Runner``, a graph loaded from a file) it answers user turns with plain replies.

    Config:
        user_away_timeout: seconds of mutual silence before the user counts as away
            (default 15, LiveKit's; ``None`` disables).
        preemptive_generation: generate on tentative turns (default ``True``, LiveKit's).
        min_consecutive_speech_delay: seconds between the end of a reply and the start of
            the next (default 0).
        user_turn_limit, transcription_timeout: see :class:`UserSpeechWatch` (default
            ``None``).
    """

    class Config(NodeConfig):
        user_away_timeout: float | None = Field(15.0, gt=0)
        preemptive_generation: bool = True
        min_consecutive_speech_delay: float = Field(0.0, ge=0.0)
        user_turn_limit: UserTurnLimit | None = None
        transcription_timeout: float | None = Field(None, gt=0)

    config: Config
    commands: In[Command] = In(required=False)
    turns: In[UserTurn] = In(required=False)
    preflight: In[UserTurn] = In(required=False)
    transcripts: In[Transcript] = In(required=False)
    speech: In[SpeechSegment] = In(required=False)
    llm_text: In[LLMText] = In(required=False)
    playout: In[Control] = In(required=False)
    user_turns: Out[UserTurn]
    requests: Out[ReplyRequest]
    text: Out[LLMText]

    restart_on_interrupt = False
    forward_events = False

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._port: SchedulerPort | None = None
        self.scheduler = self._new_scheduler()
        self.presence = PresenceTracker(self, away_timeout=None)
        self._tg: anyio.abc.TaskGroup | None = None
        self._end: anyio.Event | None = None
        self._follow_input = False
        self._frames_done = False

    def default_name(self) -> str:
        """``"agent"``."""
        return "agent"

    def attach(self, port: SchedulerPort) -> None:
        """Work for the session behind ``port`` (it creates reply handles, runs hooks)."""
        self._port = port

    # ------------------------------------------------------------------ state

    @property
    def agent_state(self) -> AgentState:
        """``"initializing"``, ``"listening"``, ``"thinking"`` or ``"speaking"``."""
        return self.scheduler.agent_state

    @property
    def user_state(self) -> UserState:
        """``"listening"``, ``"speaking"`` or ``"away"``."""
        return self.presence.user_state

    @property
    def current(self) -> SpeechHandle | None:
        """The reply being generated or played."""
        return self.scheduler.current

    @property
    def preemptive(self) -> list[tuple[str, bool]]:
        """Each preemptive generation: ``(text, kept)``."""
        return self.scheduler.preemption.outcomes

    @property
    def busy(self) -> bool:
        """Whether a reply is running or waiting."""
        return self.scheduler.busy

    # ------------------------------------------------------------------ ControllerIO

    async def send_turn(self, frame: UserTurn) -> None:
        """Send a user turn to the LLM."""
        await self.emit(self.user_turns, frame)

    async def send_request(self, frame: ReplyRequest) -> None:
        """Send a reply request to the LLM."""
        await self.emit(self.requests, frame)

    async def send_text(self, frame: LLMText) -> None:
        """Pass the LLM's text on to the splitter."""
        await self.emit(self.text, frame)

    def publish_event(self, event: SessionEvent) -> None:
        """Publish a session event on the run's bus (the session reads it, at once if its
        buffer fills)."""
        self.publish(SessionBusEvent(event))
        if self._port is not None:
            self._port.published()

    def start_soon(self, func: Callable[[], Any]) -> bool:
        """Run ``func`` as a task of this run (``False``: the node is not running)."""
        if self._tg is None:
            return False
        self._tg.start_soon(func)
        return True

    def wake(self) -> None:
        """Check whether the node's work is over."""
        if self._end is None or self._end.is_set():
            return
        if (self._frames_done or self.scheduler.closing) and not self.scheduler.busy:
            self._end.set()

    # ------------------------------------------------------------------ running

    def _new_scheduler(self) -> SpeechScheduler:
        return SpeechScheduler(
            self,
            min_gap=self.config.min_consecutive_speech_delay,
            on_state=lambda state: self.presence.agent_state(state),
        )

    async def setup(self) -> None:
        """Find out whether playout marks come back (an audio session) and input ends."""
        cfg = self.config
        self.scheduler = self._new_scheduler()
        self.scheduler.port = self._port if self._port is not None else DetachedPort()
        self.scheduler.preemption.enabled = cfg.preemptive_generation
        self.scheduler.audio = self.connected(self.playout)
        self.scheduler.port.has_audio(self.scheduler.audio)
        self.presence = PresenceTracker(
            self,
            away_timeout=cfg.user_away_timeout,
            limit=cfg.user_turn_limit,
            transcription_timeout=cfg.transcription_timeout,
        )
        self._follow_input = self.connected(self.turns)
        self._frames_done = False

    async def run(self) -> None:
        """Schedule replies and read the graph until the input ended (or the session closed)."""
        self._end = anyio.Event()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self.scheduler.run)
            tg.start_soon(self._read)
            self.presence.start()
            self.scheduler.set_agent_state("listening")
            self.scheduler.poke()
            await self._end.wait()
            tg.cancel_scope.cancel()
        self._tg = None
        self.publish(ControllerStopped())

    def awaiting_feedback(self) -> bool:
        """Keep reading commands, LLM text and playout marks while a reply runs (and, in a
        session without audio input, until it closes; without a session, nothing comes)."""
        waiting = not self._follow_input and self._port is not None and not self.scheduler.closing
        return self.scheduler.busy or waiting

    async def _read(self) -> None:
        scheduler, presence = self.scheduler, self.presence
        async for port, frame in self.frames():
            if port is self.llm_text:
                assert isinstance(frame, LLMText)
                await scheduler.llm_text(frame)
            elif port is self.commands:
                assert isinstance(frame, Command)
                self._command(frame)
            elif port is self.turns:
                assert isinstance(frame, UserTurn)
                presence.turn_ended()
                if not await scheduler.preemption.settle(frame):
                    scheduler.user_turn(frame)
            elif port is self.preflight:
                assert isinstance(frame, UserTurn)
                await scheduler.preemption.preflight(frame)
            elif port is self.transcripts:
                assert isinstance(frame, Transcript)
                presence.transcript(frame)
        self._frames_done = True
        self.wake()

    def _command(self, command: Command) -> None:
        scheduler = self.scheduler
        if isinstance(command, SpeakCommand):
            scheduler.submit(scheduler.port.claim(command), entering=command.entering)
        elif isinstance(command, InterruptCommand):
            if not command.speech_id:
                scheduler.interrupt_all(command.reason)
            elif (speech := scheduler.find(command.speech_id)) is not None:
                scheduler.interrupt_speech(speech)
        elif isinstance(command, SwitchCommand):
            apply = scheduler.port.switch_for(command.switch_id)
            if apply is not None:
                scheduler.switch(apply, first=command.first)
        elif isinstance(command, SuspendCommand):
            scheduler.suspend(scheduler.port.suspended_speech(command.speech_id))
        elif isinstance(command, EnteringCommand):
            scheduler.entering = command.entering
            scheduler.poke()
        elif isinstance(command, ShutdownCommand):
            self.presence.stop()
            scheduler.shutdown()
            self.wake()

    async def on_event(self, event: Event) -> None:
        """Playout marks, the user's speech events, pause/resume.

        ``Flush`` events from the LLM are not passed on: the LLM also sends an empty
        ``LLMText`` in order with its text, which this node relays.
        """
        if isinstance(event, PlayoutMark):
            self.scheduler.mark(event)
        elif isinstance(event, SpeechStarted | SpeechStopped):
            started = isinstance(event, SpeechStarted)
            self.presence.speech(started)
            if started:  # the user goes on: the tentative turn was not the end
                self.scheduler.preemption.discard()
        elif isinstance(event, PausePlayout | ResumePlayout):
            self.scheduler.pause(event)

    async def on_interrupt(self, event: Any) -> None:
        """An interrupt from upstream (barge-in, a new turn): cut the running reply off."""
        self.scheduler.interrupted(event.epoch)
