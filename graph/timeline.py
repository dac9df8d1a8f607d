"""The typed timeline of a voice session: bus events the voice stages publish.

Each event is a :class:`~voicegraph.graph.BusEvent` (stamped by the runner with ``seq``, the
clock's ``time``, the publishing node's path and epoch) that one stage publishes when it
knows a fact worth drawing or measuring. Observers read them on the bus
(``runner.subscribe(TimelineEvent)``) or, after a run, from the stages themselves: every
publishing node keeps the events it published in ``timeline_events`` (a
:class:`TimelineSource`). ``voicegraph.viz`` builds its session timeline from these types
only, never from a node's class.

=====================  ====================  =================================================
event                  published by          when
=====================  ====================  =================================================
:class:`MediaStarted`  an audio source       its first frame left (media time -> clock)
:class:`TurnDecided`   the turn detector     a user turn was committed
:class:`UserInterrupted`  the turn detector  the user barged in on the agent
:class:`STTDone`       the STT host          a final transcript left
:class:`LLMGenerated`  the LLM host          a generation (or tool round) ended
:class:`TTSFirstAudio`  the TTS host         a reply's first audio frame left
:class:`ReplyStarted`  the audio output      a reply began to play
:class:`ReplyPlayed`   the audio output      a reply ended (played out or cut off)
=====================  ====================  =================================================

Media times (``pts``) are seconds of the input audio; clock times are the run clock's.

>>> TurnDecided("hi", speech_end=1.0, decided_at=1.5) == TurnDecided("hi", 1.0, 1.5)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._bus_events import BusEvent

__all__ = [
    "TIMELINE_HISTORY",
    "LLMGenerated",
    "MediaStarted",
    "ReplyPlayed",
    "ReplyProgress",
    "ReplyStarted",
    "STTDone",
    "TTSFirstAudio",
    "TimelineEvent",
    "TimelineSource",
    "TurnDecided",
    "UserInterrupted",
]

TIMELINE_HISTORY = 1000
"""How many recent events a :class:`TimelineSource` node keeps in ``timeline_events``."""


@dataclass(frozen=True, slots=True)
class TimelineEvent(BusEvent):
    """Base of the events a session timeline is drawn from (subscribe to it for all)."""


@dataclass(frozen=True, slots=True)
class MediaStarted(TimelineEvent):
    """An audio source emitted its first frame, of media time ``pts``, at this event's time.

    Media time ``p`` of that stream is clock time ``event.time + p - event.pts``.
    """

    pts: float


@dataclass(frozen=True, slots=True)
class TurnDecided(TimelineEvent):
    """The end of a user turn was decided (the event's time: clock time of the decision).

    Attributes:
        text: the committed user text.
        speech_end: media time the user stopped speaking.
        decided_at: media time the turn was committed.
        delay: the endpointing delay that applied.
        probability: the end-of-turn probability that chose it.
        reported_at: media time the VAD reported the end of speech.
        transcript_at: media time the turn's last final transcript arrived.
    """

    text: str
    speech_end: float
    decided_at: float
    delay: float = 0.0
    probability: float = 1.0
    reported_at: float | None = None
    transcript_at: float | None = None

    @property
    def end_of_utterance_delay(self) -> float:
        """Seconds (media time) from the end of the user's speech to the decision."""
        return self.decided_at - self.speech_end

    @property
    def stt_latency(self) -> float | None:
        """Seconds from the VAD reporting the end of speech to the final transcript."""
        if self.reported_at is None or self.transcript_at is None:
            return None
        return max(0.0, self.transcript_at - self.reported_at)


@dataclass(frozen=True, slots=True)
class UserInterrupted(TimelineEvent):
    """The user cut the agent off at media time ``pts`` (``reason``: e.g. ``"barge-in"``)."""

    pts: float
    reason: str = "barge-in"


@dataclass(frozen=True, slots=True)
class STTDone(TimelineEvent):
    """A final transcript left the STT, ``latency`` clock seconds after its audio arrived;
    ``audio_duration``: seconds of audio it transcribed (the segment, with the turn's
    earlier speech when the STT transcribes the turn as a whole)."""

    text: str
    latency: float
    audio_duration: float = 0.0


@dataclass(frozen=True, slots=True)
class LLMGenerated(TimelineEvent):
    """One LLM generation ended (one reply, or one step of a reply with tool calls).

    Attributes:
        step: the tool round (0 answers the user turn directly).
        started: clock time it started.
        ttft: seconds from ``started`` to the first text, ``None`` if there was none.
        duration: seconds from ``started`` to its end (or its cancellation).
        tool_calls: tool calls the model requested.
        cancelled: an interrupt cut it off.
        prompt_tokens: prompt tokens, when the engine reports them.
        completion_tokens: generated tokens.
    """

    step: int
    started: float
    ttft: float | None
    duration: float
    tool_calls: int = 0
    cancelled: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class TTSFirstAudio(TimelineEvent):
    """A reply's first audio frame left the TTS, ``ttfb`` seconds after its first text."""

    ttfb: float


@dataclass(frozen=True, slots=True)
class ReplyStarted(TimelineEvent):
    """A reply's first frame starts playing at clock time ``start`` (now or just after)."""

    start: float


@dataclass(frozen=True, slots=True)
class ReplyProgress(TimelineEvent):
    """A sentence of the reply playing since clock time ``start`` was heard in full; ``text``
    is every word heard so far (live captions; not kept in ``timeline_events``)."""

    start: float
    text: str


@dataclass(frozen=True, slots=True)
class ReplyPlayed(TimelineEvent):
    """A reply ended: ``seconds`` of it were played from clock time ``start``.

    Attributes:
        start: clock time its first frame started playing.
        seconds: how long it played.
        text: the words the listener heard.
        interrupted: it was cut off.
    """

    start: float
    seconds: float
    text: str
    interrupted: bool = False


@runtime_checkable
class TimelineSource(Protocol):
    """A node that keeps the timeline events it published, oldest first.

    Those are the stamped events from the bus (the last :data:`TIMELINE_HISTORY`), so a
    timeline can be drawn after a run from the graph alone.
    """

    @property
    def timeline_events(self) -> Sequence[TimelineEvent]:
        """The events this node published, in publish order."""
        ...
