""":class:`PresenceTracker`: whether the user is listening, speaking or away, and what they said."""

from __future__ import annotations

import anyio

from voicegraph.graph import Transcript

from ._events import (
    AgentState,
    UserInputTranscribedEvent,
    UserState,
    UserStateChangedEvent,
)
from ._options import UserTurnLimit
from ._ports import ControllerIO
from ._watch import UserSpeechWatch

__all__ = ["PresenceTracker"]


class PresenceTracker:
    """Track the user from the VAD's speech events and the transcripts.

    The user is ``speaking`` between the VAD's ``SpeechStarted`` and ``SpeechStopped``,
    ``listening`` otherwise, and ``away`` once both sides have listened for ``away_timeout``
    seconds. Transcripts are reported (``user_input_transcribed``) and, with the session's
    ``user_turn_limit`` / ``transcription_timeout``, watched (:class:`UserSpeechWatch`).

    Args:
        io: the controller node (clock, bus, timers).
        away_timeout: seconds of mutual silence before the user counts as away
            (``None``: never).
        limit, transcription_timeout: see :class:`UserSpeechWatch`.
    """

    def __init__(
        self,
        io: ControllerIO,
        *,
        away_timeout: float | None,
        limit: UserTurnLimit | None = None,
        transcription_timeout: float | None = None,
    ) -> None:
        self.io = io
        self.away_timeout = away_timeout
        self.user_state: UserState = "listening"
        self.watch = UserSpeechWatch(io, limit, transcription_timeout)
        self._agent_state: AgentState = "initializing"
        self._running = False
        self._away_at: float | None = None  # when the user counts as away, if both stay idle
        self._away_armed: anyio.Event | None = None  # set when _away_at is set

    def start(self) -> None:
        """The run started: timers may run (one away watcher for the whole run)."""
        self._running = True
        if self.away_timeout is not None:
            self.io.start_soon(self._away_watch)

    def stop(self) -> None:
        """The session closes: the user no longer goes away."""
        self._running = False
        self._away_at = None

    # ------------------------------------------------------------------ input

    def speech(self, started: bool) -> None:
        """The VAD's ``SpeechStarted`` (``True``) or ``SpeechStopped``."""
        if started:
            self.watch.speech_started()
        else:
            self.watch.speech_stopped()
        self._set_user_state("speaking" if started else "listening")

    def transcript(self, frame: Transcript) -> None:
        """A transcript of the user's speech."""
        if not frame.text.strip():
            return
        if frame.final:
            self.watch.transcript(frame.text)
        self.io.publish_event(
            UserInputTranscribedEvent(
                transcript=frame.text, is_final=frame.final, language=frame.language
            )
        )

    def turn_ended(self) -> None:
        """A user turn was taken: the next speech starts a new one."""
        self.watch.turn_ended()

    def agent_state(self, state: AgentState) -> None:
        """The agent's state changed (the away deadline follows both sides)."""
        self._agent_state = state
        self._update_away()

    # ------------------------------------------------------------------ states

    def _set_user_state(self, state: UserState) -> None:
        old = self.user_state
        if state == old:
            return
        self.user_state = state
        self.io.publish_event(UserStateChangedEvent(old_state=old, new_state=state))
        if state != "away":
            self._update_away()

    def _update_away(self) -> None:
        """Arm the away deadline while both sides listen, disarm it otherwise.

        One watcher task serves the whole run (re-arming is an assignment, not a new task
        and a cancellation per reply): deadlines only move later, so a watcher that wakes
        at an old one sleeps on until the current one.
        """
        timeout = self.away_timeout
        idle = self._agent_state == "listening" and self.user_state == "listening"
        if timeout is not None and idle and self._running:
            self._away_at = self.io.clock.now() + timeout
            if self._away_armed is not None:
                self._away_armed.set()
        else:
            self._away_at = None

    async def _away_watch(self) -> None:
        clock = self.io.clock
        while True:
            at = self._away_at
            if at is None:
                self._away_armed = anyio.Event()
                await self._away_armed.wait()
                self._away_armed = None
            elif clock.now() < at:
                await clock.sleep_until(at)
            else:
                self._away_at = None
                self._set_user_state("away")
