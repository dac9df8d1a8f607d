"""AudioProcessor: noise suppression, echo cancellation, high-pass filter and gain control."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import AudioFrame, In, InputError, Node, NodeConfig, Out, UsageError

from ._rtc import import_rtc, to_rtc

if TYPE_CHECKING:
    from livekit import rtc

__all__ = ["APM_RATES", "AudioProcessor"]

APM_RATES = (8000, 16000, 32000, 48000)
"""The sample rates ``AudioProcessor`` accepts (WebRTC's native rates)."""


class _Chunker:
    """Cuts a stream into exact 10 ms chunks, carrying the remainder to the next frame."""

    def __init__(self) -> None:
        self.rest: npt.NDArray[np.int16] | None = None
        self.rest_pts = 0.0
        self.rate = 0

    def take(self, frame: AudioFrame) -> tuple[npt.NDArray[np.int16], float]:
        """Prepend the carried samples to ``frame``'s; return them and their pts."""
        if self.rest is None or not len(self.rest):
            return frame.pcm, frame.pts
        return np.concatenate([self.rest, frame.pcm]), self.rest_pts

    def keep(self, pcm: npt.NDArray[np.int16], pts: float, rate: int) -> None:
        """Carry ``pcm`` (fewer than 10 ms, starting at ``pts``) to the next frame."""
        self.rest, self.rest_pts, self.rate = (pcm if len(pcm) else None), pts, rate

    def pending(self, frame: AudioFrame) -> bool:
        """Whether carried samples exist that cannot be joined with ``frame``."""
        rest = self.rest
        return rest is not None and (
            self.rate != frame.sample_rate or rest.shape[1] != frame.channels
        )


class AudioProcessor(Node):
    """Clean up microphone audio with WebRTC's ``livekit.rtc.AudioProcessingModule``.

    Noise suppression, echo cancellation, a high-pass filter and automatic gain control, run on
    exact 10 ms chunks. Input must be 8, 16, 32 or 48 kHz (put a ``Resampler`` in front
    otherwise). Output has the input's rate, channels and ``pts``: each input frame yields one
    output frame of its whole 10 ms chunks; a remainder shorter than 10 ms (e.g. from 32 ms
    frames) is carried to the next frame, so there is no added delay when frames are multiples
    of 10 ms. At end of stream (or if the rate changes) a carried remainder is zero-padded to
    10 ms, processed, and emitted trimmed to its real length. Frames of AudioFrame subclasses
    (e.g. :class:`~voicegraph.graph.SpeechSegment`) are processed whole, each padded the same
    way, and keep their type and extra fields.

    Echo cancellation needs the far end: connect the audio the agent plays (at any of the
    accepted rates) to ``reverse``; it is ignored unless ``echo_cancellation`` is on.
    Processing runs on the event loop (about 30 µs per 10 ms chunk), taking zero virtual time.

    Both inputs accept audio, so connect the near end by port: ``mic >> apm.audio >> vad``
    (a bare ``mic >> apm`` is ambiguous), and ``g.connect(player.audio, apm.reverse)``.

    Ports:
        audio: ``In[AudioFrame]``, the near end (microphone).
        reverse: ``In[AudioFrame]``, optional, the far end for echo cancellation.
        audio_out: ``Out[AudioFrame]``, the processed near end.

    Config:
        noise_suppression: suppress stationary noise (default ``True``).
        echo_cancellation: cancel the ``reverse`` audio's echo (default ``False``).
        high_pass_filter: remove low-frequency rumble and DC (default ``True``).
        auto_gain_control: normalize the level (default ``False``).
        stream_delay_ms: with echo cancellation, the delay between a far-end frame reaching
            ``reverse`` and its echo reaching ``audio`` (default 0).

    Raises:
        InputError: a frame at a rate other than 8/16/32/48 kHz.
    """

    class Config(NodeConfig):
        """AudioProcessor settings (see the class docstring)."""

        noise_suppression: bool = True
        echo_cancellation: bool = False
        high_pass_filter: bool = True
        auto_gain_control: bool = False
        stream_delay_ms: int = Field(0, ge=0, le=1000)

    config: Config
    audio: In[AudioFrame]
    reverse: In[AudioFrame] = In(required=False)
    audio_out: Out[AudioFrame]

    def __init__(self, config: Config | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._apm: rtc.AudioProcessingModule | None = None
        self._near = _Chunker()
        self._far = _Chunker()

    async def setup(self) -> None:
        """Create the audio processing module."""
        import_rtc("AudioProcessor")
        from livekit import rtc

        cfg = self.config
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=cfg.echo_cancellation,
            noise_suppression=cfg.noise_suppression,
            high_pass_filter=cfg.high_pass_filter,
            auto_gain_control=cfg.auto_gain_control,
        )
        self._near, self._far = _Chunker(), _Chunker()

    def _check(self, frame: AudioFrame, port: str) -> None:
        if frame.sample_rate not in APM_RATES:
            raise InputError(
                f"AudioProcessor {self.name!r} got a {frame.sample_rate} Hz frame on {port!r} "
                f"(pts {frame.pts:.3f} s); it accepts only 8000, 16000, 32000 or 48000 Hz: "
                "insert Resampler(rate=16000) before it"
            )

    def _run(self, pcm: npt.NDArray[np.int16], rate: int, *, reverse: bool) -> None:
        """Process whole 10 ms chunks of ``pcm`` in place (``len(pcm)`` is a multiple)."""
        apm = self._apm
        if apm is None:
            raise UsageError(
                f"AudioProcessor {self.name!r}: audio arrived before setup(); run the node in a "
                "graph (the runner calls setup()) or await setup() first"
            )
        n = rate // 100
        for start in range(0, len(pcm), n):
            chunk = to_rtc(AudioFrame(pcm[start : start + n], rate))
            if reverse:
                apm.process_reverse_stream(chunk)
            else:
                if self.config.echo_cancellation:
                    apm.set_stream_delay_ms(self.config.stream_delay_ms)
                apm.process_stream(chunk)
                pcm[start : start + n] = np.frombuffer(chunk.data, np.int16).reshape(
                    -1, pcm.shape[1]
                )

    def _padded(self, pcm: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
        """Process ``pcm`` of any length: zero-pad to whole 10 ms chunks, then trim."""
        n = rate // 100
        buf = np.zeros((-(-len(pcm) // n) * n, pcm.shape[1]), np.int16)
        buf[: len(pcm)] = pcm
        self._run(buf, rate, reverse=False)
        return buf[: len(pcm)]

    async def on_audio(self, frame: AudioFrame) -> None:
        """Process the near-end ``frame`` and emit its whole 10 ms chunks."""
        self._check(frame, "audio")
        rate = frame.sample_rate
        if type(frame) is not AudioFrame:
            out = self._padded(frame.pcm, rate)
            await self.emit(self.audio_out, dataclasses.replace(frame, pcm=out))
            return
        if self._near.pending(frame):
            await self._flush_near()
        pcm, pts = self._near.take(frame)
        n = rate // 100
        whole = len(pcm) // n * n
        self._near.keep(pcm[whole:].copy(), pts + whole / rate, rate)
        if whole:
            out = pcm[:whole].copy()
            self._run(out, rate, reverse=False)
            await self.emit(self.audio_out, AudioFrame(out, rate, pts=pts))

    async def on_reverse(self, frame: AudioFrame) -> None:
        """Feed the far-end ``frame`` to the echo canceller (ignored without it)."""
        if not self.config.echo_cancellation:
            return
        self._check(frame, "reverse")
        rate = frame.sample_rate
        if self._far.pending(frame):
            self._far.keep(np.zeros((0, frame.channels), np.int16), 0.0, rate)
        pcm, pts = self._far.take(frame)
        n = rate // 100
        whole = len(pcm) // n * n
        self._far.keep(pcm[whole:].copy(), pts + whole / rate, rate)
        if whole:
            self._run(pcm[:whole].copy(), rate, reverse=True)

    async def _flush_near(self) -> None:
        rest, pts, rate = self._near.rest, self._near.rest_pts, self._near.rate
        self._near.keep(np.zeros((0, 1), np.int16), 0.0, rate)
        if rest is not None and len(rest):
            await self.emit(self.audio_out, AudioFrame(self._padded(rest, rate), rate, pts=pts))

    async def on_end_of_stream(self) -> None:
        """Emit the carried remainder, padded for processing and trimmed."""
        await self._flush_near()

    async def on_interrupt(self, event: Any) -> None:
        """Drop the carried remainder (it belonged to the interrupted turn)."""
        self._near, self._far = _Chunker(), _Chunker()
