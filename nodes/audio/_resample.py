"""Resampler: any rate and channel count to a fixed one, with ``livekit.rtc.AudioResampler``."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import AudioFrame, In, Node, NodeConfig, Out, SpeechAudio, SpeechSegment

from ._rtc import from_rtc, import_rtc, to_rtc

if TYPE_CHECKING:
    from livekit import rtc

__all__ = ["Resampler", "remix"]

GAP_TOLERANCE = 0.005
"""Seconds an input frame's pts may differ from where the previous frame ended before the
Resampler treats it as a new stream (flushes and restarts its output timeline there)."""


def remix(pcm: npt.NDArray[np.int16], channels: int) -> npt.NDArray[np.int16]:
    """Convert ``(samples, n)`` int16 audio to ``channels`` channels.

    To mono: the average of all channels (rounded). From mono: the channel is copied to each
    output channel. Otherwise: mixed down to mono, then copied. Returns ``pcm`` itself when it
    already has ``channels`` channels.
    """
    have = pcm.shape[1]
    if have == channels:
        return pcm
    mono = pcm if have == 1 else np.rint(pcm.mean(axis=1, keepdims=True)).astype(np.int16)
    return mono if channels == 1 else np.repeat(mono, channels, axis=1)


class Resampler(Node):
    """Convert :class:`AudioFrame` of any rate and channel count to ``rate`` / ``channels``.

    Uses ``livekit.rtc.AudioResampler`` (soxr). Channels are converted first (see
    :func:`remix`). Frames that already match pass through without copying their samples.

    Timing: output ``pts`` are counted in output samples from the first input frame's pts, so
    the output is continuous. If an input frame's pts jumps away (by more than 5 ms) from
    where the previous one ended — a new stream, e.g. the next TTS reply — or the input rate
    changes, the resampler is flushed first (its buffered tail emitted) and, for a jump, the
    timeline restarts at the new pts. soxr buffers a little audio at ``"medium"`` quality and
    above (output comes in bursts of up to ~100 ms); ``"quick"`` adds almost no delay. The
    buffered tail is flushed on end of stream and discarded on interrupt.

    Frame types are kept: a :class:`SpeechSegment` (a whole utterance) is resampled on its
    own — pushed and flushed at once, keeping its pts and speech times; a
    :class:`SpeechAudio` keeps its text fields, and the resampler is flushed on its ``final``
    frame so a reply's audio ends with it.

    Resampling runs on the event loop (about 40 µs per 20 ms frame), taking zero virtual time.

    Ports:
        audio: ``In[AudioFrame]``, any rate and channel count.
        audio_out: ``Out[AudioFrame]`` at ``rate`` (its ``sample_rate`` is set, so
            ``Graph.check`` matches it against consumers).

    Config:
        rate: output sample rate in Hz (default 16000).
        channels: output channel count (default 1).
        quality: soxr quality, ``"quick"``, ``"low"``, ``"medium"`` (default), ``"high"`` or
            ``"very_high"``.
    """

    class Config(NodeConfig):
        """Resampler settings (see the class docstring)."""

        rate: int = Field(16000, ge=1000, le=384_000)
        channels: int = Field(1, ge=1, le=64)
        quality: Literal["quick", "low", "medium", "high", "very_high"] = "medium"

    config: Config
    audio: In[AudioFrame]
    audio_out: Out[AudioFrame]

    def __init__(self, config: Config | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.audio_out.sample_rate = self.config.rate
        self._rs: rtc.AudioResampler | None = None
        self._rs_rate = 0
        self._reset()

    def _reset(self) -> None:
        self._rs = None
        self._origin: float | None = None  # output timeline: pts of output sample 0
        self._emitted = 0  # output samples emitted since the origin
        self._expect: float | None = None  # where the next input frame should start
        self._template: AudioFrame | None = None

    async def setup(self) -> None:
        """Load ``livekit.rtc`` and start a fresh stream."""
        import_rtc("Resampler")
        self._reset()

    def _new(self, rate: int) -> rtc.AudioResampler:
        import_rtc("Resampler")
        from livekit import rtc

        return rtc.AudioResampler(
            rate,
            self.config.rate,
            num_channels=self.config.channels,
            quality=rtc.AudioResamplerQuality(self.config.quality),
        )

    async def on_audio(self, frame: AudioFrame) -> None:
        """Convert ``frame`` and emit whatever output is ready."""
        cfg = self.config
        if self._expect is not None and abs(frame.pts - self._expect) > GAP_TOLERANCE:
            await self._drain()
            self._origin = None
        self._expect = frame.end_pts
        if self._origin is None:
            self._origin, self._emitted = frame.pts, 0
        pcm = remix(frame.pcm, cfg.channels)
        if isinstance(frame, SpeechSegment):
            await self._drain()
            out = self._convert(pcm, frame.sample_rate, flush=True)
            await self.emit(self.audio_out, self._make(frame, out, frame.pts))
            self._origin = None
            return
        if frame.sample_rate == cfg.rate:
            await self._drain()
            await self._send(frame, pcm)
            return
        if self._rs is not None and self._rs_rate != frame.sample_rate:
            await self._drain()
        final = isinstance(frame, SpeechAudio) and frame.final
        out = self._convert(pcm, frame.sample_rate, flush=final)
        self._template = frame
        if len(out) or final:
            await self._send(frame, out)

    def _convert(
        self, pcm: npt.NDArray[np.int16], rate: int, *, flush: bool
    ) -> npt.NDArray[np.int16]:
        """Push ``pcm`` (at ``rate``) through the resampler; also flush it if ``flush``."""
        if rate == self.config.rate:
            return pcm
        if self._rs is None or self._rs_rate != rate:
            self._rs, self._rs_rate = self._new(rate), rate
        chunks = [from_rtc(f).pcm for f in self._rs.push(to_rtc(AudioFrame(pcm, rate)))]
        if flush:
            chunks.extend(from_rtc(f).pcm for f in self._rs.flush())
        chunks = [c for c in chunks if len(c)]
        if len(chunks) == 1:
            return chunks[0]
        if not chunks:
            return np.zeros((0, self.config.channels), np.int16)
        return np.concatenate(chunks)

    def _make(self, like: AudioFrame, pcm: npt.NDArray[np.int16], pts: float) -> AudioFrame:
        """An output frame of ``like``'s type (keeping its extra fields)."""
        if type(like) is AudioFrame:
            return AudioFrame(pcm, self.config.rate, pts=pts)
        return dataclasses.replace(like, pcm=pcm, sample_rate=self.config.rate, pts=pts)

    async def _send(self, like: AudioFrame, pcm: npt.NDArray[np.int16]) -> None:
        """Emit ``pcm`` at the next position of the output timeline."""
        assert self._origin is not None
        pts = self._origin + self._emitted / self.config.rate
        self._emitted += len(pcm)
        if pcm is like.pcm and like.sample_rate == self.config.rate and abs(like.pts - pts) < 1e-9:
            await self.emit(self.audio_out, like)  # already right: pass it through untouched
        else:
            await self.emit(self.audio_out, self._make(like, pcm, pts))

    async def _drain(self) -> None:
        """Flush the resampler and emit its buffered tail, if any."""
        if self._rs is None:
            return
        rs, self._rs = self._rs, None
        tail = [from_rtc(f).pcm for f in rs.flush()]
        tail = [t for t in tail if len(t)]
        like = self._template
        if tail and like is not None and self._origin is not None:
            await self._send(like, np.concatenate(tail) if len(tail) > 1 else tail[0])

    async def on_end_of_stream(self) -> None:
        """Emit what the resampler still holds."""
        await self._drain()

    async def on_interrupt(self, event: Any) -> None:
        """Discard buffered audio of the interrupted turn; the next frame starts afresh."""
        self._reset()
