""":class:`SpeechScheduler`: the agent's replies, one at a time, in order (LiveKit's speech
scheduling), and the agent's state (listening, thinking, speaking)."""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable

import anyio

from voicegraph.graph import Frame, LLMText, PlayoutMark, UserTurn
from voicegraph.nodes.llm import ChatItem, ChatMessage, ReplyRequest
from voicegraph.nodes.output import PausePlayout, ResumePlayout

from ._events import AgentFalseInterruptionEvent, AgentState, AgentStateChangedEvent, ErrorEvent
from ._ports import ControllerIO, DetachedPort, SchedulerPort, Switch
from ._preemptive import Preemption
from ._speech import SpeechHandle

__all__ = ["SpeechScheduler"]

log = logging.getLogger(__name__)


class SpeechScheduler:
    """Run the replies the session schedules and the answers to user turns, one at a time.

    The next reply starts when the current one is done; while an agent's ``on_enter`` runs,
    replies to user turns wait (the agent's greeting comes first). Agent switches wait in
    the same queue, so they happen between replies. A user turn that arrives while an
    earlier one still waits is merged into it. See :class:`AgentController` for the graph
    side and :class:`Preemption` for replies generated ahead of the end of a turn.

    Args:
        io: the controller node (clock, epoch, output ports, interrupts, the bus).
        min_gap: seconds of quiet between two replies (``min_consecutive_speech_delay``).
        on_state: called with each new agent state (the presence tracker follows it).
    """

    def __init__(
        self, io: ControllerIO, *, min_gap: float, on_state: Callable[[AgentState], None]
    ) -> None:
        self.io = io
        self.port: SchedulerPort = DetachedPort()
        self.min_gap = min_gap
        self.on_state = on_state
        self.current: SpeechHandle | None = None
        """The reply being generated or played."""
        self.starting: SpeechHandle | None = None
        """The reply taken from the queue whose ``on_user_turn_completed`` runs."""
        self.agent_state: AgentState = "initializing"
        self.audio = False
        """Whether playout marks come back (a reply is done when it has played)."""
        self.closing = False
        self.entering = False
        """An agent's ``on_enter`` runs: replies to user turns wait."""
        self.preemption = Preemption(self)
        self._queue: deque[SpeechHandle | Switch] = deque()
        self._suspended: list[SpeechHandle] = []
        self._last_end: float | None = None  # clock time the last reply finished
        self._paused = False
        self._scanned: SpeechHandle | None = None  # the reply whose step input was reported
        self._wake: anyio.Event | None = None

    # ------------------------------------------------------------------ state

    @property
    def busy(self) -> bool:
        """Whether a reply is starting, running or waiting (replies set aside by tasks do
        not count)."""
        return (
            self.current is not None
            or self.starting is not None
            or bool(self._queue)
            or self.preemption.speech is not None
        )

    @property
    def waiting(self) -> bool:
        """Whether replies or switches wait in the queue."""
        return bool(self._queue)

    def is_suspended(self, speech: SpeechHandle) -> bool:
        """Whether ``speech`` was set aside while an ``AgentTask`` it started runs."""
        return speech in self._suspended

    def tool_speech(self) -> SpeechHandle | None:
        """The reply whose tool calls are being made (running, or generated ahead)."""
        return self.current or self.preemption.speech

    # ------------------------------------------------------------------ commands

    def submit(self, speech: SpeechHandle, *, entering: bool = False) -> None:
        """Queue a reply (said while an agent enters: before the replies to user turns)."""
        if entering and not isinstance(speech.frame, UserTurn):
            for index, item in enumerate(self._queue):
                if isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn):
                    self._queue.insert(index, speech)
                    self.poke()
                    return
        self._queue.append(speech)
        self.poke()

    def switch(self, apply: Switch, *, first: bool = True) -> None:
        """Run ``apply`` as soon as no reply runs: before the queued replies, or after."""
        if first:
            self._queue.appendleft(apply)
        else:
            self._queue.append(apply)
        self.poke()

    def find(self, speech_id: str) -> SpeechHandle | None:
        """The running or waiting reply ``speech_id``."""
        for item in (self.current, self.starting, *self._queue):
            if isinstance(item, SpeechHandle) and item.id == speech_id:
                return item
        return None

    def interrupt_speech(self, speech: SpeechHandle) -> None:
        """Cut ``speech`` off if it is running, or drop it if it waits."""
        if speech is self.current:
            self.interrupt_current("interrupt")
        elif speech is self.starting:
            speech.mark_done(interrupted=True)  # its start stops after the hook
        elif speech in self._queue:
            self._queue.remove(speech)
            speech.mark_done(interrupted=True)
            self.poke()

    def interrupt_current(self, reason: str = "interrupt") -> None:
        """Cut the running reply off (an interrupt downstream of the controller)."""
        speech = self.current
        if speech is None or speech.interrupted:
            return
        self.io.interrupt(reason)
        self.cut(speech)

    def interrupt_all(self, reason: str = "interrupt") -> None:
        """Drop every waiting reply and cut the running one off."""
        for item in list(self._queue):
            if isinstance(item, SpeechHandle):
                self._queue.remove(item)
                item.mark_done(interrupted=True)
        if self.starting is not None:
            self.starting.mark_done(interrupted=True)  # its start stops after the hook
        self.interrupt_current(reason)
        self.poke()

    def suspend(self, speech: SpeechHandle | None) -> None:
        """Set the running reply aside while an ``AgentTask`` it started talks to the user."""
        if speech is not None and speech is self.current:
            self._suspended.append(speech)
            self.current = None
            self.port.speech_running(None)
            self.set_agent_state("listening")
            self.poke()

    def _resume(self, speech: SpeechHandle | None) -> None:
        if speech is None or speech not in self._suspended:
            return
        self._suspended.remove(speech)
        speech.epoch, speech.playing = self.io.epoch, False
        self.current = speech
        self.port.speech_running(speech)
        self.set_agent_state("thinking")

    def shutdown(self) -> None:
        """Stop: cut everything off (the controller ends once nothing runs)."""
        self.closing = True
        self.preemption.discard()
        self.interrupt_all("session closed")
        for speech in self._suspended:
            speech.mark_done(interrupted=True)
        self._suspended.clear()

    # ------------------------------------------------------------------ the loop

    def poke(self) -> None:
        """Look at the queue again (the loop wakes only if something waits in it)."""
        if self._queue:
            if self._wake is not None:
                self._wake.set()
        elif not self.busy:
            self.set_agent_state("listening")
        self.io.wake()

    async def run(self) -> None:
        """Start queued replies and switches while none runs (forever; cancel to stop)."""
        self._wake = anyio.Event()
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            while self.current is None and self.preemption.speech is None:
                if any(isinstance(waiting, SpeechHandle) for waiting in self._queue):
                    await self._leave_a_gap()  # the replies stay queued meanwhile (busy)
                item = self._next()
                if item is None:
                    break
                if isinstance(item, SpeechHandle):
                    if not item.done():
                        self.starting = item  # busy while its turn hook runs
                        try:
                            await self._start(item)
                        finally:
                            self.starting = None
                    continue
                try:
                    self._resume(item())
                except Exception as exc:
                    log.exception("an agent switch failed")
                    self.io.publish_event(ErrorEvent(error=exc, source="agent switch"))
            if not self.busy:
                self.set_agent_state("listening")
            self.io.wake()

    async def _leave_a_gap(self) -> None:
        """Wait out ``min_gap`` since the last reply ended."""
        if self.min_gap and self._last_end is not None:
            wait = self._last_end + self.min_gap - self.io.clock.now()
            if wait > 0:
                await self.io.clock.sleep(wait)

    def _next(self) -> SpeechHandle | Switch | None:
        entering = self.entering
        for item in self._queue:
            if entering and isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn):
                continue
            self._queue.remove(item)
            return item
        return None

    async def _start(self, speech: SpeechHandle) -> None:
        frame: Frame = speech.frame
        agent = self.port.agent()
        speech.agent = agent
        if isinstance(frame, UserTurn) and not frame.text.strip():
            self._done(speech)  # nothing was said: nothing to answer
            return
        context: tuple[ChatItem, ...] = ()
        if isinstance(frame, UserTurn) and agent is not None:
            message = ChatMessage(role="user", text=frame.text)
            added = await self.port.user_turn_completed(agent, message)
            if added is None:
                self._done(speech)
                return
            context = added
            if speech.done():  # interrupted (or the session closed) while the hook ran
                return
            if message.text != frame.text:
                frame = dataclasses.replace(frame, text=message.text)
        speech.epoch = self.io.epoch
        self.adopt(speech, "thinking")
        if isinstance(frame, UserTurn) and context:  # with the hook's context, for this reply
            await self.io.send_request(ReplyRequest(user_input=frame.text, context=context))
        elif isinstance(frame, UserTurn):
            await self.io.send_turn(frame)
        else:
            assert isinstance(frame, ReplyRequest)
            await self.io.send_request(frame)

    def adopt(self, speech: SpeechHandle, state: AgentState) -> None:
        """Make ``speech`` the running reply."""
        self.current = speech
        self.set_agent_state(state)
        self.port.speech_running(speech)

    def _done(self, speech: SpeechHandle) -> None:
        switch = self.port.speech_done(speech)
        speech.mark_done()
        if switch is not None:
            self.switch(switch)

    # ------------------------------------------------------------------ graph input

    def user_turn(self, frame: UserTurn) -> None:
        """A turn from the turn detector (not answered ahead): queue the reply to it."""
        for item in self._queue:  # a turn still waiting: the user went on, merge them
            waiting = isinstance(item, SpeechHandle) and isinstance(item.frame, UserTurn)
            if waiting and isinstance(item, SpeechHandle) and not item.user_initiated:
                assert isinstance(item.frame, UserTurn)
                merged = f"{item.frame.text} {frame.text}".strip()
                item.frame = dataclasses.replace(item.frame, text=merged, end=frame.end)
                return
        self.submit(self.port.reply_to_turn(frame))

    async def llm_text(self, frame: LLMText) -> None:
        """Text of the LLM: pass it on (or hold it back for a reply generated ahead)."""
        if frame.epoch < self.io.epoch:
            return  # text of a reply the controller cut off
        if not self.preemption.hold(frame):
            await self.relay(frame)

    async def relay(self, frame: LLMText) -> None:
        """Pass ``frame`` on to the splitter and follow the reply's progress."""
        await self.io.send_text(frame)
        speech = self.current
        if speech is None or frame.epoch != speech.epoch:
            return
        if not frame.text:  # a step ended (or the reply): the next text may follow a tool round
            self._scanned = None
            self.port.step_input_taken()
        elif self._scanned is not speech:  # a step's first text: the LLM has taken its input up
            self._scanned = speech
            self.port.step_input_taken()
        if frame.text and not self.audio and self.agent_state != "speaking":
            self.set_agent_state("speaking")
        if frame.final:
            speech.generated = True
            if not self.audio:
                self.finish(speech)

    def interrupted(self, epoch: int) -> None:
        """An interrupt from upstream (barge-in, a new turn): cut the running reply off."""
        speech = self.current
        if speech is not None and speech.epoch < epoch:
            self.cut(speech)

    def pause(self, event: PausePlayout | ResumePlayout) -> None:
        """The user's speech paused the agent's playout, or it resumes (a false alarm)."""
        speech = self.current
        playing = speech is not None and speech.playing
        if isinstance(event, PausePlayout):
            if playing:
                self._paused = True
                self.set_agent_state("listening")
        elif self._paused:
            self._paused = False
            if playing:
                self.set_agent_state("speaking")
            self.io.publish_event(AgentFalseInterruptionEvent(resumed=True))

    def mark(self, mark: PlayoutMark) -> None:
        """A playout mark: what the listener heard of the running reply."""
        speech = self.current
        if speech is not None and mark.epoch == speech.epoch:
            if mark.interrupted:
                self.port.apply_playout(mark)
                self.finish(speech, interrupted=True)
            elif mark.final:
                self.finish(speech, interrupted=speech.interrupted)
            else:
                speech.heard(mark.text)
                if not speech.playing:
                    speech.playing = True
                    self.set_agent_state("speaking")
        elif mark.interrupted:  # a late mark of a reply already cut off
            self.port.apply_playout(mark)

    # ------------------------------------------------------------------ replies

    def cut(self, speech: SpeechHandle) -> None:
        """``speech`` was interrupted: finish it now, or once the output says what played."""
        speech.interrupted = True
        self._paused = False
        if self.audio and speech.playing:
            return  # the output's interrupted (or final) mark finishes it
        if self.audio:
            self.port.apply_playout(PlayoutMark(0.0, "", interrupted=True, epoch=speech.epoch))
        self.finish(speech, interrupted=True)

    def finish(self, speech: SpeechHandle, *, interrupted: bool = False) -> None:
        """``speech`` is done (played out, or cut off)."""
        if self.current is speech:
            self.current = None
            self._paused = False
            self.port.speech_running(None)
        speech.interrupted = speech.interrupted or interrupted
        self._last_end = self.io.clock.now()
        switch = self.port.speech_done(speech)
        speech.mark_done(interrupted=interrupted)
        if switch is not None:
            self.switch(switch)
        if not self.busy:
            self.set_agent_state("listening")
        self.poke()

    def set_agent_state(self, state: AgentState) -> None:
        """Report a new agent state (once per change)."""
        old = self.agent_state
        if state == old:
            return
        self.agent_state = state
        self.io.publish_event(AgentStateChangedEvent(old_state=old, new_state=state))
        self.on_state(state)
