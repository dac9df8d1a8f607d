"""RoomOutput: the agent's voice in a LiveKit room, with playout marks and interruption."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import numpy as np
from pydantic import Field

from voicegraph.graph import ConfigError, NodeConfig, SpeechAudio
from voicegraph.nodes.audio import to_rtc
from voicegraph.nodes.output import AudioOutput, BackgroundFrame

from ._room import SOURCE_MICROPHONE, Room, import_rtc, require_room

__all__ = ["RoomOutput"]

logger = logging.getLogger("voicegraph.livekit")

CHUNK = 0.02
"""Reply audio is handed to the room in chunks of at most this many seconds."""


class RoomOutput(AudioOutput):
    """Publish the agent's speech as an audio track in a room; report what was heard.

    An :class:`~voicegraph.nodes.output.AudioOutput` whose audio also goes to a
    ``livekit.rtc.AudioSource`` published as a ``LocalAudioTrack`` (named ``track_name``,
    source microphone) when the graph starts. Playout accounting, playout marks (reply
    start, each sentence, final, interrupted with the words heard) and the optional WAV
    recording are AudioOutput's; see its docs. Audio is handed to the source at most
    ``buffer`` seconds ahead of the play position, in chunks of at most 20 ms, so what the
    marks report and what the room plays stay within one chunk of each other.

    Interruption: the source's queue is cleared the moment the interrupt arrives, so the
    room stops hearing the agent within one frame (the audio already sent to the network is
    all that plays), and the interrupted mark reports the words heard up to then.

    Frames at another rate than ``sample_rate`` are resampled (``rtc.AudioResampler``);
    channel counts are mixed down or duplicated. The room plays in real time: run the graph
    on ``RealClock``.

    Config (besides AudioOutput's ``path``):
        buffer: seconds of audio handed to the room ahead of the play position (default 0.1).
        sample_rate: the published track's rate in Hz (default 24000).
        num_channels: its channels (default 1).
        queue_ms: the ``AudioSource`` queue, ms (default 200, as LiveKit Agents).
        track_name: the published track's name (default ``"agent-voice"``).
    """

    class Config(AudioOutput.Config):
        buffer: float = Field(0.1, ge=0.02, le=1.0)
        sample_rate: int = Field(24000, ge=8000, le=48000)
        num_channels: int = Field(1, ge=1, le=2)
        queue_ms: int = Field(200, ge=40, le=5000)
        track_name: str = "agent-voice"

    config: Config

    def __init__(
        self, config: NodeConfig | None = None, /, *, room: Room | None = None, **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        if self.config.buffer * 1000 + CHUNK * 1000 > self.config.queue_ms:
            raise ConfigError(
                f"RoomOutput: buffer ({self.config.buffer} s) plus a 20 ms chunk must fit in "
                f"queue_ms ({self.config.queue_ms} ms); raise queue_ms or lower buffer"
            )
        self._room = room
        self._source: Any = None
        self._track: Any = None
        self._resampler: Any = None
        self._resampler_rate = 0
        self._epoch: int | None = None
        self._background_queued = False
        self.track_sid: str | None = None
        """The sid of the published track (after setup)."""

    def attach(self, room: Room) -> None:
        """Use ``room`` (before the graph runs)."""
        self._room = room

    async def setup(self) -> None:
        """Create the audio source and publish the agent's track."""
        await super().setup()
        room = require_room(self._room, "RoomOutput")
        if self._source is not None:
            return
        rtc = import_rtc("RoomOutput")
        cfg = self.config
        self._source = rtc.AudioSource(
            cfg.sample_rate, cfg.num_channels, queue_size_ms=cfg.queue_ms
        )
        self._track = rtc.LocalAudioTrack.create_audio_track(cfg.track_name, self._source)
        options = rtc.TrackPublishOptions(source=SOURCE_MICROPHONE)
        publication = await room.local_participant.publish_track(self._track, options)
        self.track_sid = publication.sid

    @property
    def source(self) -> Any:
        """The ``rtc.AudioSource`` the agent speaks into (after setup)."""
        return self._source

    @property
    def track(self) -> Any:
        """The published ``rtc.LocalAudioTrack`` (after setup)."""
        return self._track

    async def on_audio(self, frame: SpeechAudio) -> None:
        """Schedule the frame (AudioOutput) and hand it to the room, chunk by chunk.

        Background sound under silence (a ``BackgroundFrame``) goes to the room if the output
        takes it; speech that follows clears what of it is still queued, so it starts at once.
        """
        if isinstance(frame, BackgroundFrame):
            if self.takes_background():
                await self._capture(frame)
                self._background_queued = True
            await super().on_audio(frame)
            return
        if self._background_queued:
            self._background_queued = False
            self._clear()
        if self._epoch is not None and frame.epoch != self._epoch:
            self._clear()  # a newer reply: drop what is queued of the old one
        self._epoch = frame.epoch
        for chunk in _chunks(frame):
            await self._capture(chunk)  # the room gets it up to `buffer` before it plays
            await super().on_audio(chunk)  # then wait until `buffer` before its end

    async def on_interrupt(self, event: Any) -> None:
        """Silence the room now (clear the source's queue), then report what was heard."""
        self._clear()
        await super().on_interrupt(event)

    async def aclose(self) -> None:
        """Unpublish the track and release the source."""
        room, source = self._room, self._source
        self._source = None
        if room is not None and self.track_sid is not None:
            with contextlib.suppress(Exception):
                await room.local_participant.unpublish_track(self.track_sid)
        if source is not None:
            with contextlib.suppress(Exception):
                await source.aclose()
        await super().aclose()

    # ------------------------------------------------------------------ internals

    def _clear(self) -> None:
        if self._source is not None:
            self._source.clear_queue()
        self._resampler = None

    async def _capture(self, chunk: SpeechAudio) -> None:
        source = self._source
        if source is None:
            raise ConfigError("RoomOutput was not set up: run it in a graph")
        pcm = _match_channels(chunk.pcm, source.num_channels)
        rtc = import_rtc("RoomOutput")
        if chunk.sample_rate == source.sample_rate:
            frames = [to_rtc(_with_pcm(chunk, pcm))]
        else:
            if self._resampler is None or self._resampler_rate != chunk.sample_rate:
                self._resampler = rtc.AudioResampler(
                    chunk.sample_rate, source.sample_rate, num_channels=source.num_channels
                )
                self._resampler_rate = chunk.sample_rate
            frames = list(self._resampler.push(to_rtc(_with_pcm(chunk, pcm))))
            if chunk.final:
                frames.extend(self._resampler.flush())
                self._resampler = None
        for rtc_frame in frames:
            if rtc_frame.samples_per_channel:
                await source.capture_frame(rtc_frame)


def _chunks(frame: SpeechAudio) -> list[SpeechAudio]:
    """Cut ``frame`` into pieces of at most 20 ms (the last keeps ``final``)."""
    step = max(1, round(frame.sample_rate * CHUNK))
    if frame.samples <= step:
        return [frame]
    out = []
    for i in range(0, frame.samples, step):
        last = i + step >= frame.samples
        out.append(
            SpeechAudio(
                frame.pcm[i : i + step],
                frame.sample_rate,
                frame.pts + i / frame.sample_rate,
                text=frame.text,
                offset=frame.offset + i / frame.sample_rate,
                text_duration=frame.text_duration,
                final=frame.final and last,
                epoch=frame.epoch,
            )
        )
    return out


def _match_channels(pcm: np.ndarray[Any, Any], channels: int) -> np.ndarray[Any, Any]:
    if pcm.shape[1] == channels:
        return pcm
    if channels == 1:
        return np.asarray(pcm.mean(axis=1, keepdims=True), dtype=np.int16)
    return np.repeat(pcm[:, :1], channels, axis=1)


def _with_pcm(chunk: SpeechAudio, pcm: np.ndarray[Any, Any]) -> SpeechAudio:
    if pcm is chunk.pcm:
        return chunk
    return SpeechAudio(pcm, chunk.sample_rate, chunk.pts, epoch=chunk.epoch)
