"""The :class:`RealtimeEngine` interface: a speech-to-speech model, one session per conversation.

A realtime engine is what LiveKit calls an ``llm.RealtimeModel``: the user's audio streams up,
the model answers with audio and events, and the provider keeps the conversation. The engine
knows nothing of graphs; the :class:`~voicegraph.nodes.realtime.RealtimeNode` host turns its
events into frames, interrupts and tool rounds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Engine
from voicegraph.nodes.tools import FunctionTool

__all__ = [
    "AudioDelta",
    "InputTranscript",
    "RealtimeEngine",
    "RealtimeEvent",
    "RealtimeSession",
    "ResponseInterrupted",
    "TextDelta",
    "ToolCallRequest",
    "TurnComplete",
]


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """A piece of the reply's speech: mono int16 samples shaped ``(samples, 1)`` at the
    engine's :attr:`~RealtimeEngine.output_rate`."""

    pcm: npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More words of the reply (the transcription of its speech), sent before their audio."""

    text: str


@dataclass(frozen=True, slots=True)
class InputTranscript:
    """The user's words so far in this turn (the whole text, not a delta); ``final`` once the
    user's turn is over (the model answers)."""

    text: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """The model calls a tool; answer with :meth:`RealtimeSession.send_tool_result`.

    Attributes:
        call_id: the provider's id of the call (the result goes back with it).
        name: the tool's name.
        arguments: the arguments as a JSON object.
    """

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ResponseInterrupted:
    """The provider cut the reply off (the user spoke over it): stop playing it.

    (Not :class:`voicegraph.graph.timeline.UserInterrupted`, the turn detector's bus event.)
    """


@dataclass(frozen=True, slots=True)
class TurnComplete:
    """The model's reply is complete (all its audio and text were sent)."""


RealtimeEvent = (
    AudioDelta | TextDelta | InputTranscript | ToolCallRequest | ResponseInterrupted | TurnComplete
)
"""What a :class:`RealtimeSession` yields."""


class RealtimeSession:
    """One conversation with a realtime model (what :meth:`RealtimeEngine.connect` opens).

    Push the user's audio as it comes (:meth:`push_audio`) while another task iterates the
    session (``async for event in session``) for :data:`RealtimeEvent` items; answer each
    :class:`ToolCallRequest` with :meth:`send_tool_result`. Iterating also keeps the
    connection: an engine that can resume a dropped connection does it there, transparently
    (a push waits meanwhile), so iterate for as long as you push. A failure the engine cannot
    recover from raises :class:`~voicegraph.graph.ProviderError` from the iteration (and
    from pushes). :meth:`aclose` (or leaving ``async with``) ends the conversation.
    """

    async def push_audio(self, pcm: npt.NDArray[np.int16]) -> None:
        """Send the user's mono samples (1-D or ``(samples, 1)``) at the engine's
        :attr:`~RealtimeEngine.input_rate`; the model's own voice activity detection decides
        the turns."""
        raise NotImplementedError(f"{type(self).__name__} must implement push_audio()")

    async def send_tool_result(
        self, call_id: str, name: str, output: str, *, is_error: bool = False
    ) -> None:
        """Answer the tool call ``call_id`` (``is_error``: ``output`` is an error message)."""
        raise NotImplementedError(f"{type(self).__name__} must implement send_tool_result()")

    async def cancel_response(self) -> None:
        """Ask the model to stop the reply in progress (the host calls it when the graph
        interrupted the reply: a barge-in the model did not see, or the runner's
        interrupt). An engine that can cancel ends the reply with :class:`TurnComplete` or
        :class:`ResponseInterrupted`; the default does nothing (the host then drops the rest
        of the reply's audio and text until the model ends it)."""

    def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        raise NotImplementedError(f"{type(self).__name__} must implement __aiter__()")

    async def aclose(self) -> None:
        """End the conversation and close its connection; safe to repeat."""

    async def __aenter__(self) -> RealtimeSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class RealtimeEngine(Engine):
    """A speech-to-speech model as a :class:`~voicegraph.nodes.realtime.RealtimeNode` calls it.

    Implement :meth:`connect` (returning a :class:`RealtimeSession`) and set the two rates.
    The engine owns what is provider-specific: the wire protocol, when the user's transcript
    is final, and reconnecting (e.g. Gemini's session resumption). The host owns the graph
    side: ports, framing, interrupts downstream, tool calls out and results back, the end of
    the run.
    """

    kind: ClassVar[str] = "realtime"

    input_rate: int = 16000
    """Samples per second of the audio :meth:`RealtimeSession.push_audio` takes."""
    output_rate: int = 24000
    """Samples per second of the :class:`AudioDelta` pieces it answers with."""

    async def connect(self, instructions: str, tools: Sequence[FunctionTool]) -> RealtimeSession:
        """Open a conversation with the system ``instructions`` and the ``tools`` the model
        may call (the engine must have been entered: ``async with engine``).

        Raises:
            ProviderError: the provider refused or did not answer.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement connect()")
