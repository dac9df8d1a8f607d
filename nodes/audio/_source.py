"""The shared base of the audio sources: fixed-size frames, media-time pts, realtime pacing."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from voicegraph.graph import AudioFrame, Node, NodeConfig, Out
from voicegraph.graph.timeline import MediaStarted, TimelineEvent

__all__ = ["PacedSource", "SourceConfig", "frame_samples"]


def frame_samples(sample_rate: int, frame_ms: float) -> int:
    """Samples per channel in a frame of ``frame_ms`` milliseconds (at least one)."""
    return max(1, round(sample_rate * frame_ms / 1000))


class SourceConfig(NodeConfig):
    """Settings every audio source has.

    Attributes:
        frame_ms: length of each emitted frame in milliseconds (default 20). A frame holds
            ``round(sample_rate * frame_ms / 1000)`` samples per channel.
        realtime: pace the output so clock time tracks media time, as a live microphone
            would (default ``True`` for files); ``False`` emits as fast as downstream accepts.
    """

    frame_ms: float = Field(20.0, gt=0, le=10_000)
    realtime: bool = True


class PacedSource(Node):
    """Base of the sources: subclasses implement :meth:`next_frame`; ``run()`` paces and emits.

    With ``realtime``, the frame with media time ``pts`` is emitted at clock time
    ``t0 + (pts - pts0)``, where ``t0`` is the clock time the source started and ``pts0`` the
    first frame's pts; the stream ends at ``t0`` plus the total media duration. If downstream
    is slower than real time the source falls behind and then catches up without sleeping.

    Sources are not cut by interrupts (``restart_on_interrupt = False``): media keeps flowing
    from where it was, and frames emitted after an interrupt carry the new epoch.
    """

    restart_on_interrupt: ClassVar[bool] = False

    config: SourceConfig
    audio: Out[AudioFrame]

    def __init__(self, config: SourceConfig | None = None, /, **settings: object) -> None:
        super().__init__(config, **settings)
        self._t0: float | None = None
        self._pts0 = 0.0
        self._end: float | None = None
        self._pending: AudioFrame | None = None
        self.timeline_events: list[TimelineEvent] = []
        """The :class:`MediaStarted` bus event of each stream it started."""

    def rewind(self) -> None:
        """Forget pacing state so the next ``run()`` starts a fresh stream (call in setup).

        The stream's :class:`MediaStarted` event goes too (a new one comes with its first
        frame), so a source run again keeps no event of an earlier run."""
        self.timeline_events.clear()
        self._t0 = None
        self._end = None
        self._pending = None

    def media_to_clock(self, pts: float) -> float | None:
        """The clock time media time ``pts`` was (or will be) emitted, once the source started.

        Used to express media-time events (the end of the user's speech) on the clock, e.g.
        for voice-to-voice latency. ``None`` before the first frame.
        """
        return None if self._t0 is None else self._t0 + pts - self._pts0

    def next_frame(self) -> AudioFrame | None:
        """Return the next frame to emit, or ``None`` at the end of the stream."""
        raise NotImplementedError

    async def run(self) -> None:
        """Emit every frame, paced by the clock when ``realtime``; return at end of stream."""
        clock = self.clock
        realtime = self.config.realtime
        while True:
            frame = self._pending if self._pending is not None else self.next_frame()
            if frame is None:
                break
            self._pending = frame  # emitted again if cancelled midway
            if self._t0 is None:
                self._t0, self._pts0 = clock.now(), frame.pts
                self.timeline_events[:] = [self.publish(MediaStarted(frame.pts))]
            if realtime:
                await clock.sleep_until(self._t0 + frame.pts - self._pts0)
            await self.emit(self.audio, frame)
            self._pending = None
            self._end = frame.end_pts
        if realtime and self._t0 is not None and self._end is not None:
            await clock.sleep_until(self._t0 + self._end - self._pts0)
