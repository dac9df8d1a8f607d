""":class:`AgentController`: the node that schedules an agent session's replies."""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import Field

from voicegraph.graph import (
    Control,
    Event,
    Frame,
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
    UsageError,
    UserTurn,
)
from voicegraph.nodes.llm import ChatMessage, ReplyRequest
from voicegraph.nodes.output import PausePlayout, ResumePlayout
from voicegraph.nodes.tools import StopResponse

from ._context import session_scope
from ._events import (
    AgentFalseInterruptionEvent,
    AgentState,
    AgentStateChangedEvent,
    ErrorEvent,
    UserInputTranscribedEvent,
    UserState,
    UserStateChangedEvent,
)
from ._options import UserTurnLimit
from ._preemptive import Preemption
from ._speech import SpeechHandle
from ._watch import UserSpeechWatch

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["AgentController"]

log = logging.getLogger(__name__)

Switch = Callable[[], None]


class AgentController(Node):
    """Schedule the agent's replies, one at a time, and track who is speaking.

    It sits between the turn detector and the LLM (``turns -> user_turns``), sends the
    session's ``say()`` / ``generate_reply()`` requests to the LLM (``requests``), and relays
    the LLM's text to the sentence splitter (``llm_text -> text``) so it knows when each reply
    has been generated; the audio output's playout marks (``playout``, a feedback edge) tell
    it when a reply starts and stops playing. A reply is done when it has played out (or,
    in a session without audio, when its text is complete) or was interrupted.

    Replies are queued (LiveKit's speech scheduling): the next starts when the current one is
    done; while an agent's ``on_enter`` runs, replies to user turns wait (so the agent's
    greeting comes first; not while ``on_enter`` awaits an ``AgentTask``). Agent switches
    (handoffs, tasks) wait in the same queue, so they happen between replies. A user turn
    that arrives while an earlier one still waits is merged into it.

    On an interrupt (the turn detector's barge-in, or :meth:`interrupt_current`) the current
    reply is cut: if it was playing, the output's interrupted mark sets the assistant
    message to the words actually heard; if nothing had played, the message becomes ``""``
    (in a text session the generated text stays, marked ``interrupted``). Interrupts
    raised here reach everything downstream (LLM, tools, TTS, output) but not the user's
    side of the graph.

    Preemptive generation (``preemptive_generation``): a tentative turn on ``preflight``
    starts the LLM ahead of the end of the turn; see :class:`Preemption`.

    False interruptions: a ``PausePlayout`` from the turn detector (the user talks over the
    agent) makes the agent ``listening``; the ``ResumePlayout`` that follows a false alarm
    makes it ``speaking`` again and reports ``agent_false_interruption``.

    States (reported to the session as LiveKit's events): the agent is ``listening``,
    ``thinking`` (a reply started, nothing played yet) or ``speaking``; the user
    ``listening``, ``speaking`` (VAD events on ``speech``) or ``away`` (both sides listening
    for ``user_away_timeout`` seconds).

    The node belongs to an :class:`AgentSession` and calls back into it. The session
    creates one, or finds the one in a graph you built (``AgentController()`` without a
    session, passed in ``AgentSession.start(agent, graph=...)``, which binds it and sets
    its config from the session's options).

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

    def __init__(
        self,
        session: AgentSession[Any] | None = None,
        config: NodeConfig | None = None,
        /,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        self._session = session
        self.current: SpeechHandle | None = None
        """The reply being generated or played."""
        self.agent_state: AgentState = "initializing"
        self.user_state: UserState = "listening"
        self._queue: deque[SpeechHandle | Switch] = deque()
        self._suspended: list[SpeechHandle] = []
        self._closing = False
        self._frames_done = False
        self._audio = False
        self._follow_input = False
        self._wake: anyio.Event | None = None
        self._end: anyio.Event | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._away_at: float | None = None  # when the user counts as away, if both stay idle
        self._away_armed: anyio.Event | None = None  # set when _away_at is set
        self._last_end: float | None = None  # clock time the last reply finished
        self._watch = UserSpeechWatch(self, None, None)
        self._vad_seen: deque[tuple[str, float]] = deque(maxlen=16)
        self._preemption = Preemption(self)
        self._pause_seq = -1
        self._paused = False
        self._scanned: SpeechHandle | None = None  # the reply whose step input was reported

    def default_name(self) -> str:
        """``"agent"``."""
        return "agent"

    @property
    def session(self) -> AgentSession[Any]:
        """The session this node works for.

        Raises:
            UsageError: it is not bound to a session.
        """
        if self._session is None:
            raise UsageError(
                f"AgentController {self.name!r} is not part of a session; run its graph with "
                "AgentSession.start(agent, graph=...), not with a Runner"
            )
        return self._session

    @property
    def has_audio(self) -> bool:
        """Whether the audio output's playout marks come back (a session with audio)."""
        return self._audio

    # ------------------------------------------------------------------ session API

    @property
    def busy(self) -> bool:
        """Whether a reply is running or waiting (replies set aside by tasks do not count)."""
        return self.current is not None or bool(self._queue) or self._spec is not None

    @property
    def _spec(self) -> SpeechHandle | None:
        """The reply generated ahead of the end of the user's turn, if any."""
        return self._preemption.speech

    @property
    def preemptive(self) -> list[tuple[str, bool]]:
        """Each preemptive generation: ``(text, kept)``."""
        return self._preemption.outcomes

    @property
    def suspended(self) -> list[SpeechHandle]:
        """Replies set aside while an ``AgentTask`` they started runs."""
        return list(self._suspended)

    def speech_for_tools(self) -> SpeechHandle | None:
        """The reply whose tool calls are being made (running, or generated ahead)."""
        return self.current or self._spec

    @property
    def ended(self) -> bool:
        """Whether the node has stopped taking replies."""
        return self._end is not None and self._end.is_set()

    def submit(self, speech: SpeechHandle) -> None:
        """Queue a reply."""
        speech._interrupter = self.interrupt_speech
        if self.session._entering and not isinstance(speech.frame, UserTurn):
            for index, item in enumerate(self._queue):  # said on entering: before user turns
                if isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn):
                    self._queue.insert(index, speech)
                    self._poke()
                    return
        self._queue.append(speech)
        self._poke()

    def switch(self, apply: Switch, *, first: bool = True) -> None:
        """Run ``apply`` (an agent switch) as soon as no reply is running: before the queued
        replies (``first``), or after them."""
        if first:
            self._queue.appendleft(apply)
        else:
            self._queue.append(apply)
        self._poke()

    def interrupt_speech(self, speech: SpeechHandle) -> None:
        """Cut ``speech`` off if it is running, or drop it if it waits."""
        if speech is self.current:
            self.interrupt_current("interrupt")
        elif speech in self._queue:
            self._queue.remove(speech)
            speech._mark_done(interrupted=True)
            self._poke()

    def interrupt_current(self, reason: str = "interrupt") -> None:
        """Cut the running reply off (an interrupt downstream of this node)."""
        speech = self.current
        if speech is None or speech.interrupted:
            return
        self.interrupt(reason)
        self._cut(speech)

    def interrupt_all(self, reason: str = "interrupt") -> None:
        """Drop every waiting reply and cut the running one off."""
        for item in list(self._queue):
            if isinstance(item, SpeechHandle):
                self._queue.remove(item)
                item._mark_done(interrupted=True)
        self.interrupt_current(reason)
        self._poke()

    def suspend(self, speech: SpeechHandle | None) -> None:
        """Set the running reply aside while an ``AgentTask`` it started talks to the user."""
        if speech is not None and speech is self.current:
            self._suspended.append(speech)
            self.current = None
            self._set_agent_state("listening")
            self._poke()

    def resume(self, speech: SpeechHandle | None) -> None:
        """Bring back a reply set aside by :meth:`suspend` (call it when none is running)."""
        if speech is None or speech not in self._suspended:
            return
        self._suspended.remove(speech)
        speech.epoch, speech.playing = self.epoch, False
        self.current = speech
        self._set_agent_state("thinking")

    def shutdown(self) -> None:
        """Stop: cut everything off and end once nothing is running."""
        self._closing = True
        self._preemption.discard()
        self.interrupt_all("session closed")
        for speech in self._suspended:
            speech._mark_done(interrupted=True)
        self._suspended.clear()
        self._check_end()

    async def wait_ended(self) -> None:
        """Wait until the node has stopped."""
        if self._end is not None:
            await self._end.wait()

    # ------------------------------------------------------------------ running

    async def setup(self) -> None:
        """Find out whether playout marks come back (an audio session) and input ends."""
        self.session  # noqa: B018 (raises if no session runs this node)
        self._audio = self._connected(self.playout)
        self._follow_input = self._connected(self.turns)

    async def run(self) -> None:
        """Schedule replies and read the graph until the input ended (or the session closed)."""
        self._wake, self._end = anyio.Event(), anyio.Event()
        cfg = self.config
        self._watch = UserSpeechWatch(self, cfg.user_turn_limit, cfg.transcription_timeout)
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._schedule)
            tg.start_soon(self._read)
            if cfg.user_away_timeout is not None:
                tg.start_soon(self._away_watch)
            self._set_agent_state("listening")
            self._check_end()
            await self._end.wait()
            tg.cancel_scope.cancel()
        self._tg = None

    def awaiting_feedback(self) -> bool:
        """Keep reading LLM text and playout marks while a reply runs (and, in a session
        without audio input, until it closes)."""
        return self.busy or (not self._follow_input and not self._closing)

    async def _read(self) -> None:
        async for port, frame in self.frames():
            if port is self.turns:
                assert isinstance(frame, UserTurn)
                await self._on_user_turn(frame)
            elif port is self.preflight:
                assert isinstance(frame, UserTurn)
                await self._preemption.preflight(frame)
            elif port is self.transcripts:
                assert isinstance(frame, Transcript)
                if frame.text.strip() and frame.final:
                    self._watch.transcript(frame.text)
                if frame.text.strip():
                    self.session._emit(
                        UserInputTranscribedEvent(
                            transcript=frame.text, is_final=frame.final, language=frame.language
                        )
                    )
            elif port is self.llm_text:
                assert isinstance(frame, LLMText)
                await self._on_llm_text(frame)
        self._frames_done = True
        self._check_end()

    async def _schedule(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            while self.current is None and self._spec is None:
                if any(isinstance(waiting, SpeechHandle) for waiting in self._queue):
                    await self._leave_a_gap()  # the replies stay queued meanwhile (busy)
                item = self._next()
                if item is None:
                    break
                if isinstance(item, SpeechHandle):
                    if not item.done():
                        await self._start(item)
                    continue
                try:
                    item()
                except Exception as exc:
                    log.exception("an agent switch failed")
                    self.session._emit(ErrorEvent(error=exc, source="agent switch"))
            if not self.busy:
                self._set_agent_state("listening")
            self._check_end()
            self.session._check_idle()

    async def _leave_a_gap(self) -> None:
        """Wait out ``min_consecutive_speech_delay`` since the last reply ended."""
        delay = self.config.min_consecutive_speech_delay
        if delay and self._last_end is not None:
            wait = self._last_end + delay - self.clock.now()
            if wait > 0:
                await self.clock.sleep(wait)

    def _next(self) -> SpeechHandle | Switch | None:
        """The next item to run; replies to user turns wait while an agent's ``on_enter``
        runs, so what the agent says on entering comes first."""
        entering = self.session._entering > 0
        for item in self._queue:
            if entering and isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn):
                continue
            self._queue.remove(item)
            return item
        return None

    async def _start(self, speech: SpeechHandle) -> None:
        session = self.session
        frame: Frame = speech.frame
        agent = session.current_agent
        speech.agent = agent
        if isinstance(frame, UserTurn) and not frame.text.strip():
            speech._mark_done()  # nothing was said: nothing to answer
            session._speech_done(speech)
            return
        if isinstance(frame, UserTurn):
            message = ChatMessage(role="user", text=frame.text)
            try:
                with session_scope(session):
                    await agent.on_user_turn_completed(session.history.copy(), message)
            except StopResponse:
                session.history.add(message)
                speech._mark_done()
                session._speech_done(speech)
                return
            except Exception as exc:
                log.exception("%r: on_user_turn_completed failed", agent)
                session._emit(ErrorEvent(error=exc, source=f"{agent.id}.on_user_turn_completed"))
            if message.text != frame.text:
                frame = dataclasses.replace(frame, text=message.text)
        speech.epoch = self.epoch
        self.current = speech
        self._set_agent_state("thinking")
        session._update_interruptions()
        if isinstance(frame, UserTurn):
            await self.emit(self.user_turns, frame)
        else:
            assert isinstance(frame, ReplyRequest)
            await self.emit(self.requests, frame)

    # ------------------------------------------------------------------ graph input

    async def _on_user_turn(self, frame: UserTurn) -> None:
        self._watch.turn_ended()
        if await self._preemption.settle(frame):
            return
        for item in self._queue:  # a turn still waiting: the user went on, merge them
            waiting = isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn)
            if waiting and not item.user_initiated:  # type: ignore[union-attr]
                assert isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn)
                merged = f"{item.frame.text} {frame.text}".strip()
                item.frame = dataclasses.replace(item.frame, text=merged, end=frame.end)
                return
        self.session._user_turn(frame)

    async def _on_llm_text(self, frame: LLMText) -> None:
        if frame.epoch < self.epoch:
            return  # text of a reply this node cut off
        if not self._preemption.hold(frame):
            await self._relay(frame)

    async def _relay(self, frame: LLMText) -> None:
        await self.emit(self.text, frame)
        speech = self.current
        if speech is None or frame.epoch != speech.epoch:
            return
        if not frame.text:  # a step ended (or the reply): the next text may follow a tool round
            self._scanned = None
            self.session._scan_tools()
        elif self._scanned is not speech:  # a step's first text: the LLM has taken its input up
            self._scanned = speech
            self.session._scan_tools()
        if frame.text and not self._audio:
            self._set_agent_state("speaking")
        if frame.final:
            speech.generated = True
            if not self._audio:
                self._finish(speech)

    async def on_event(self, event: Event) -> None:
        """Playout marks, the user's speech events, pause/resume.

        ``Flush`` events from the LLM are not passed on: the LLM also sends an empty
        ``LLMText`` in order with its text, which this node relays.
        """
        if isinstance(event, PlayoutMark):
            self._on_mark(event)
        elif isinstance(event, SpeechStarted | SpeechStopped):
            key = (type(event).__name__, event.pts)
            if key in self._vad_seen:  # the VAD's events also come through the STT
                return
            self._vad_seen.append(key)
            started = isinstance(event, SpeechStarted)
            if started:
                self._watch.speech_started()
            else:
                self._watch.speech_stopped()
            if started:
                self._preemption.discard()  # the user goes on: the tentative turn was not the end
            self._set_user_state("speaking" if started else "listening")
        elif isinstance(event, PausePlayout | ResumePlayout):
            self._on_pause(event)

    async def on_interrupt(self, event: Any) -> None:
        """An interrupt from upstream (barge-in, a new turn): cut the running reply off."""
        speech = self.current
        if speech is not None and speech.epoch < event.epoch:
            self._cut(speech)

    def _on_pause(self, event: PausePlayout | ResumePlayout) -> None:
        if event.seq <= self._pause_seq:  # also sent on the turn detector's other port
            return
        self._pause_seq = event.seq
        speech = self.current
        playing = speech is not None and speech.playing
        if isinstance(event, PausePlayout):
            if playing:
                self._paused = True
                self._set_agent_state("listening")
        elif self._paused:
            self._paused = False
            if playing:
                self._set_agent_state("speaking")
            self.session._emit(AgentFalseInterruptionEvent(resumed=True))

    def _on_mark(self, mark: PlayoutMark) -> None:
        speech = self.current
        if speech is not None and mark.epoch == speech.epoch:
            if mark.interrupted:
                self.session._apply_playout(mark)
                self._finish(speech, interrupted=True)
            elif mark.final:
                self._finish(speech, interrupted=speech.interrupted)
            else:
                speech._heard(mark.text)
                if not speech.playing:
                    speech.playing = True
                    self._set_agent_state("speaking")
        elif mark.interrupted:  # a late mark of a reply already cut off
            self.session._apply_playout(mark)

    # ------------------------------------------------------------------ replies

    def _cut(self, speech: SpeechHandle) -> None:
        speech.interrupted = True
        self._paused = False
        if self._audio and speech.playing:
            return  # the output's interrupted (or final) mark finishes it
        if self._audio:
            self.session._apply_playout(PlayoutMark(0.0, "", interrupted=True, epoch=speech.epoch))
        self._finish(speech, interrupted=True)

    def _finish(self, speech: SpeechHandle, *, interrupted: bool = False) -> None:
        if self.current is speech:
            self.current = None
            self._paused = False
        speech._mark_done(interrupted=interrupted)
        self._last_end = self.clock.now()
        self.session._speech_done(speech)
        if not self.busy:
            self._set_agent_state("listening")
        self._poke()
        self._check_end()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _check_end(self) -> None:
        if self._end is None or self._end.is_set():
            return
        if (self._frames_done or self._closing) and not self.busy:
            self._end.set()

    # ------------------------------------------------------------------ states

    def _set_agent_state(self, state: AgentState) -> None:
        old = self.agent_state
        if state == old:
            return
        self.agent_state = state
        self.session._emit(AgentStateChangedEvent(old_state=old, new_state=state))
        self._update_away()

    def _set_user_state(self, state: UserState) -> None:
        old = self.user_state
        if state == old:
            return
        self.user_state = state
        self.session._emit(UserStateChangedEvent(old_state=old, new_state=state))
        if state != "away":
            self._update_away()

    def _update_away(self) -> None:
        """Arm the away deadline while both sides listen, disarm it otherwise.

        One watcher task serves the whole run (re-arming is an assignment, not a new task
        and a cancellation per reply): deadlines only move later, so a watcher that wakes
        at an old one sleeps on until the current one.
        """
        timeout = self.config.user_away_timeout
        idle = self.agent_state == "listening" and self.user_state == "listening"
        if timeout is not None and idle and self._tg is not None and not self._closing:
            self._away_at = self.clock.now() + timeout
            if self._away_armed is not None:
                self._away_armed.set()
        else:
            self._away_at = None

    async def _away_watch(self) -> None:
        while True:
            at = self._away_at
            if at is None:
                self._away_armed = anyio.Event()
                await self._away_armed.wait()
                self._away_armed = None
            elif self.clock.now() < at:
                await self.clock.sleep_until(at)
            else:
                self._away_at = None
                self._set_user_state("away")

    def _connected(self, port: In[Any]) -> bool:
        graph = self._graph_owner()
        if graph is None:
            return False
        while (parent := graph._graph_owner()) is not None:
            graph = parent
        return any(edge.dst is port for edge in graph.iter_edges())
