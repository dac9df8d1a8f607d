"""Frames (data) and control events that travel along a graph's edges.

Data frames are immutable, slotted dataclasses deriving from :class:`Frame`; they are plain
dataclasses (not pydantic) so a hop costs microseconds. Each carries the ``epoch`` (turn
generation) it belongs to; the runner stamps it when a node emits the frame.

Control events derive from :class:`Event`. They are not queued behind data: the runner
delivers them on a priority lane (except :class:`EndOfStream`, which follows the data it ends).

Define your own frame type like this::

    @dataclass(frozen=True, slots=True)
    class Sentiment(Frame):
        score: float
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ._errors import InputError

__all__ = [
    "UNSTAMPED",
    "AudioFrame",
    "Control",
    "EndOfStream",
    "Event",
    "Flush",
    "Frame",
    "Interrupt",
    "LLMText",
    "NodeFailed",
    "PlayoutMark",
    "Sentence",
    "SpeechAudio",
    "SpeechSegment",
    "SpeechStarted",
    "SpeechStopped",
    "TextFrame",
    "ToolCall",
    "ToolResult",
    "Transcript",
    "UserTurn",
]

UNSTAMPED = -1
"""The epoch of a frame no node has emitted yet."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Base class of every data frame.

    Attributes:
        epoch: the turn generation the frame belongs to, stamped by the runner on emit.
    """

    epoch: int = field(default=UNSTAMPED, kw_only=True, compare=False)


@dataclass(frozen=True, slots=True, eq=False)
class AudioFrame(Frame):
    """A chunk of PCM audio.

    Attributes:
        pcm: int16 samples shaped ``(samples, channels)``.
        sample_rate: samples per second, e.g. 16000.
        pts: media time of the first sample, in seconds since the stream started.

    >>> f = AudioFrame(np.zeros((320, 1), np.int16), 16000, pts=0.0)
    >>> f.duration
    0.02
    """

    pcm: npt.NDArray[np.int16]
    sample_rate: int
    pts: float = 0.0

    def __post_init__(self) -> None:
        pcm = self.pcm
        if not isinstance(pcm, np.ndarray):
            raise InputError(
                "AudioFrame.pcm must be an int16 numpy array shaped (samples, channels); "
                f"got {type(pcm).__name__}"
            )
        if pcm.dtype != np.int16 or pcm.ndim != 2:
            raise InputError(
                "AudioFrame.pcm must be an int16 array shaped (samples, channels); "
                f"got dtype {pcm.dtype} with shape {pcm.shape}"
            )
        if self.sample_rate <= 0:
            raise InputError(
                f"AudioFrame.sample_rate must be positive (samples per second, e.g. 16000), "
                f"got {self.sample_rate}"
            )

    @property
    def samples(self) -> int:
        """Number of samples per channel."""
        return int(self.pcm.shape[0])

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.pcm.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return int(self.pcm.shape[0]) / self.sample_rate

    @property
    def end_pts(self) -> float:
        """Media time just after the last sample."""
        return self.pts + self.duration

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AudioFrame):
            return NotImplemented
        return (
            self.sample_rate == other.sample_rate
            and self.pts == other.pts
            and np.array_equal(self.pcm, other.pcm)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class TextFrame(Frame):
    """A piece of text, e.g. a sentence for TTS."""

    text: str


@dataclass(frozen=True, slots=True)
class Transcript(Frame):
    """Speech-to-text output.

    Attributes:
        text: the recognised words.
        final: ``False`` for interim (may still change), ``True`` once settled.
        start: media time where the speech began, in seconds.
        end: media time where it ended.
        language: BCP-47 language code.
    """

    text: str
    final: bool = True
    start: float = 0.0
    end: float = 0.0
    language: str = "en"


@dataclass(frozen=True, slots=True)
class LLMText(Frame):
    """A streamed chunk (delta) of an LLM reply.

    Attributes:
        text: the new text.
        final: ``True`` on the last chunk of a reply (its text may be empty).
        generated: clock time the text was generated (``LLMNode`` sets it; ``None``:
            unknown). It lets a later stage tell text held back for a while (preemptive
            generation) from text just made: the ``SentenceSplitter`` times the wait
            for a reply's first chunk from it. Not compared by ``==``.
    """

    text: str
    final: bool = False
    generated: float | None = field(default=None, kw_only=True, compare=False)


@dataclass(frozen=True, slots=True)
class ToolCall(Frame):
    """A function call requested by an LLM.

    Attributes:
        call_id: identifier pairing the call with its :class:`ToolResult`.
        name: the tool's name.
        arguments: the arguments as a JSON object string, exactly as the model produced it.
    """

    call_id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class ToolResult(Frame):
    """The output of a tool call, fed back to the LLM."""

    call_id: str
    name: str
    output: str
    is_error: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class SpeechSegment(AudioFrame):
    """One utterance found by VAD: its audio (with padding), for speech-to-text.

    ``pts`` is where the segment's audio begins (padding included); ``speech_start`` and
    ``speech_end`` are the media times VAD detected speech between.
    """

    speech_start: float = 0.0
    speech_end: float = 0.0


@dataclass(frozen=True, slots=True)
class UserTurn(Frame):
    """A completed user turn, decided by the turn detector: what the user said.

    Attributes:
        text: the user's words for the whole turn.
        start: media time the user started speaking.
        end: media time the user stopped speaking.
        decided: clock time the end of turn was decided (for latency metrics).
    """

    text: str
    start: float = 0.0
    end: float = 0.0
    decided: float = 0.0
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Sentence(Frame):
    """A chunk of reply text ready for TTS (usually one sentence).

    Attributes:
        text: the text to speak (may be empty on the final marker).
        final: ``True`` on the last chunk of a reply.
    """

    text: str
    final: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class SpeechAudio(AudioFrame):
    """Synthesized reply audio, tagged with the text it speaks (so playout maps to words).

    Attributes:
        text: the sentence this audio speaks.
        offset: seconds into that sentence's audio where this frame starts.
        text_duration: total seconds of audio for ``text``.
        final: ``True`` on the last frame of a reply.
    """

    text: str = ""
    offset: float = 0.0
    text_duration: float = 0.0
    final: bool = False


@dataclass(frozen=True, slots=True)
class Control(Frame):
    """The type of ports that carry only control events (e.g. playout marks), no data."""


# --------------------------------------------------------------------------- control events


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of control events (never queued behind data, except EndOfStream)."""


@dataclass(frozen=True, slots=True)
class Interrupt(Event):
    """Cut off the current turn downstream of the node that raised it.

    Attributes:
        epoch: the new turn generation; frames of older epochs inside the scope are dropped.
        reason: why, for traces and metrics (e.g. ``"barge-in"``).
        origin: the name of the node that raised it (set by the runner).
    """

    epoch: int
    reason: str = ""
    origin: str = ""


@dataclass(frozen=True, slots=True)
class Flush(Event):
    """Ask downstream nodes to emit what they have buffered (e.g. a partial sentence)."""


@dataclass(frozen=True, slots=True)
class EndOfStream(Event):
    """No more data will come on this edge. Travels in order, after the data it ends."""


@dataclass(frozen=True, slots=True)
class SpeechStarted(Event):
    """Voice activity began at media time ``pts`` (seconds)."""

    pts: float


@dataclass(frozen=True, slots=True)
class SpeechStopped(Event):
    """Voice activity ended at media time ``pts``; ``duration`` is how long it lasted."""

    pts: float
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class PlayoutMark(Event):
    """What the listener has actually heard of the current reply.

    Sent by audio outputs when a reply starts playing (``played == 0``), after each sentence,
    when it is cut off (``interrupted``) and when it has played completely (``final``).

    Attributes:
        played: seconds of the reply's audio played out so far.
        text: the reply text actually played so far (whole sentences, then the estimated
            words of a sentence cut off midway).
        interrupted: ``True`` if playout stopped because of an interrupt.
        final: ``True`` once the reply has played completely.
        epoch: the turn generation the played audio belonged to.
    """

    played: float
    text: str = ""
    interrupted: bool = False
    final: bool = False
    epoch: int = 0


@dataclass(frozen=True, slots=True)
class NodeFailed(Event):
    """A node raised; reported to supervisors and observers."""

    node: str
    error: str
    policy: str = "fail"
    attempt: int = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
