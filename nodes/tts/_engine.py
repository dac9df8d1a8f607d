"""The :class:`TTSEngine` interface: audio for one sentence, or (optionally) a streamed reply."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Engine, UsageError

__all__ = ["FloatAudio", "SpeechPiece", "TTSEngine", "TTSStream"]

FloatAudio = npt.NDArray[np.float32]
"""Mono float samples in [-1, 1]."""


@dataclass(frozen=True, slots=True)
class SpeechPiece:
    """A piece of streamed speech, tagged with the text it speaks.

    Attributes:
        pcm: mono int16 samples shaped ``(samples, 1)``, at the engine's ``sample_rate``.
        text: what this audio speaks (a word when the engine has alignment).
        offset: seconds into ``text``'s audio where this piece starts.
        duration: ``text``'s total audio in seconds.
        final: the last piece of the reply.
    """

    pcm: npt.NDArray[np.int16]
    text: str
    offset: float = 0.0
    duration: float = 0.0
    final: bool = False


class TTSStream:
    """One reply spoken by a streaming engine: text in as it comes, audio out as it comes.

    The host calls :meth:`send` for each sentence (``final=True`` with the reply's last
    text, which may be empty) while another task iterates the stream
    (``async for pieces in stream``) for batches of :class:`SpeechPiece`; iteration ends
    after the piece marked ``final`` (or with no such piece if the reply's audio ended
    without one: the host then ends the reply with a silent frame). :meth:`aclose` stops
    the reply at once (an interrupt); the host calls it for every stream it opened.
    """

    async def send(self, text: str, *, final: bool = False) -> None:
        """Speak ``text`` next (at once, so audio can start before the reply is complete);
        ``final``: the reply has no more text."""
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[Sequence[SpeechPiece]]:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop the reply (drop what is still coming) and release it; safe to repeat."""


class TTSEngine(Engine):
    """A text-to-speech model as a :class:`~voicegraph.nodes.tts.TTSNode` calls it.

    Implement :meth:`synthesize` and set :attr:`sample_rate`. The host node trims silence,
    adds pauses (:attr:`sentence_pause`, :attr:`clause_pause` unless the host sets its own),
    frames the audio and handles interrupts.

    Streaming is optional: an engine that speaks a reply as its text arrives (e.g. over a
    WebSocket) sets :attr:`streaming` and implements :meth:`stream`; the host then uses it
    instead of :meth:`synthesize` (which :class:`~voicegraph.nodes.fallback.FallbackTTS`
    and other combinators still call) and frames the pieces as they come, without trimming
    or pauses (the engine's prosody has them). Streamed pieces are not resampled: a host
    refuses a streaming engine whose :attr:`sample_rate` is not its own.
    """

    kind: ClassVar[str] = "TTS"

    sample_rate: int = 24000
    """Samples per second of the audio :meth:`synthesize` returns."""
    sentence_pause: ClassVar[float] = 0.15
    """Seconds of silence the host adds after a sentence, unless the host sets its own."""
    clause_pause: ClassVar[float] = 0.05
    """Seconds of silence the host adds after a clause chunk, unless the host sets its own."""
    streaming: ClassVar[bool] = False
    """Whether :meth:`stream` speaks whole replies (the host prefers it when set)."""

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """Audio for ``text``: one or more 1-D float32 arrays at :attr:`sample_rate`.

        Return several parts when the engine splits the text (the host trims each). Run
        blocking work with ``await self.clock.run_sync(...)``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement synthesize()")

    async def stream(self, frame_samples: int) -> TTSStream:
        """Open a streamed reply (only when :attr:`streaming`): see :class:`TTSStream`.

        Args:
            frame_samples: the longest piece the host wants, in samples at
                :attr:`sample_rate` (its frame length).

        Raises:
            UsageError: the engine does not stream (the default).
        """
        raise UsageError(f"{type(self).__name__} does not stream; call synthesize() instead")
