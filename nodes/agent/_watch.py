""":class:`UserSpeechWatch`: reports user turns that run too long and speech never transcribed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from ._events import UserTranscriptionTimeoutEvent, UserTurnExceededEvent

if TYPE_CHECKING:
    from ._options import UserTurnLimit
    from ._ports import ControllerIO

__all__ = ["UserSpeechWatch"]


class UserSpeechWatch:
    """Watch the user's speech for the session's ``user_turn_limit`` and
    ``transcription_timeout``, on the controller's clock (``io``).

    A turn starts with the first speech after the previous user turn; its words are those of
    the transcripts since then. ``user_turn_exceeded`` is emitted once per turn: when a
    transcript takes it past ``max_words``, or ``max_duration`` seconds after its speech
    started. ``user_transcription_timeout`` is emitted when the user stopped speaking and
    no transcript came within ``transcription_timeout`` seconds.
    """

    def __init__(
        self,
        io: ControllerIO,
        limit: UserTurnLimit | None,
        transcription_timeout: float | None,
    ) -> None:
        self._io = io
        self._limit = limit
        self._transcription_timeout = transcription_timeout
        self._started: float | None = None  # clock time of the turn's first speech
        self._texts: list[str] = []
        self._exceeded = False
        self._turn_timer: anyio.CancelScope | None = None
        self._transcript_timer: anyio.CancelScope | None = None

    def speech_started(self) -> None:
        if self._started is None:
            self._started = self._io.clock.now()
            if self._limit is not None and self._limit.max_duration is not None:
                self._turn_timer = self._after(self._limit.max_duration, self._exceed)

    def speech_stopped(self) -> None:
        if self._transcription_timeout is not None:
            self._cancel_transcript_timer()
            timeout = self._transcription_timeout
            self._transcript_timer = self._after(timeout, lambda: self._timed_out(timeout))

    def transcript(self, text: str) -> None:
        self._cancel_transcript_timer()
        self._texts.append(text.strip())
        words = len(" ".join(self._texts).split())
        limit = self._limit
        if limit is not None and limit.max_words is not None and words > limit.max_words:
            self._exceed()

    def turn_ended(self) -> None:
        """A user turn was taken: the next speech starts a new one."""
        self._started = None
        self._texts = []
        self._exceeded = False
        if self._turn_timer is not None:
            self._turn_timer.cancel()
            self._turn_timer = None

    # ------------------------------------------------------------------ internals

    def _exceed(self) -> None:
        if self._exceeded:
            return
        self._exceeded = True
        now = self._io.clock.now()
        transcript = " ".join(self._texts)
        duration = now - self._started if self._started is not None else 0.0
        self._io.publish_event(
            UserTurnExceededEvent(
                transcript=transcript, words=len(transcript.split()), duration=duration
            )
        )

    def _timed_out(self, timeout: float) -> None:
        self._transcript_timer = None
        self._io.publish_event(UserTranscriptionTimeoutEvent(timeout=timeout))

    def _cancel_transcript_timer(self) -> None:
        if self._transcript_timer is not None:
            self._transcript_timer.cancel()
            self._transcript_timer = None

    def _after(self, seconds: float, then: Callable[[], None]) -> anyio.CancelScope | None:
        scope = anyio.CancelScope()
        clock = self._io.clock

        async def timer() -> None:
            with scope:
                await clock.sleep(seconds)
                then()

        return scope if self._io.start_soon(timer) else None
