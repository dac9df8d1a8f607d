"""BackgroundAudio: ambient, "thinking" and one-off sounds mixed into the agent's audio.

::

    tts ─(speech)─> background ─(speech + sounds, or sounds alone)─> output
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np
from pydantic import Field

from voicegraph.graph import In, Node, NodeConfig, Out, SpeechAudio, UsageError

from ._sound import Floats, PlayHandle, Sound, Voice

__all__ = ["BackgroundAudio", "BackgroundFrame"]

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class BackgroundFrame(SpeechAudio):
    """Background sound alone, sent while the agent is silent.

    An :class:`~voicegraph.nodes.output.AudioOutput` plays it only while no speech is playing,
    never waits for it (speech that arrives meanwhile starts at once and replaces the rest of
    it) and counts none of it as a reply.
    """


class BackgroundAudio(Node):
    """Mix background sounds into the agent's audio, frame by frame, on the run's clock.

    Sits between the TTS and the output. Each speech frame passes straight through with the
    playing sounds mixed in (same rate, length, timing and tags; nothing waits). While no
    speech plays, the node sends :class:`BackgroundFrame` s of ``frame_ms`` at the rate of
    the last speech seen (``sample_rate`` before any), one per frame period on the clock, so
    the listener hears the sounds under silence too. With no sound playing it sends nothing
    and speech passes unchanged (the node costs one hop).

    Sounds are started with :meth:`play` (usually by
    :class:`~voicegraph.nodes.agent.BackgroundAudioPlayer`): a clip once or looped, or an
    async iterator of frames, each with a volume and fades; :meth:`play` returns a
    :class:`PlayHandle`. An interrupt of the agent's speech does not touch them: only the
    speech is cut; the sounds go on under the silence that follows. At the end of input every
    sound stops. Memory stays bounded: clips are held once, streams are read at most 1 s
    ahead, and at most ``max_sounds`` play at once.

    Config:
        sample_rate: the rate of background frames before any speech was seen (default
            24000, hibari's).
        frame_ms: the length of a background frame (default 20).
        max_sounds: how many sounds may play at once (default 16).
    """

    class Config(NodeConfig):
        sample_rate: int = Field(24000, ge=8000, le=48000)
        frame_ms: int = Field(20, ge=5, le=100)
        max_sounds: int = Field(16, ge=1, le=256)

    config: Config
    audio: In[SpeechAudio]
    audio_out: Out[SpeechAudio]

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._voices: list[Voice] = []
        self._speech_until = 0.0
        self._rate: int | None = None
        self._wake: anyio.Event | None = None
        self._lock: anyio.Lock | None = None
        self._ended = False

    @property
    def playing(self) -> int:
        """How many sounds are playing."""
        self._voices = [v for v in self._voices if not v.handle.done()]
        return len(self._voices)

    def _retire(self) -> None:
        """Mark the sounds whose last sample has now played done."""
        for voice in self._voices:
            if voice.ended:
                voice.handle.mark_done()

    def play(
        self,
        sound: Sound,
        *,
        volume: float = 1.0,
        fade_in: float = 0.0,
        fade_out: float = 0.0,
        loop: bool = False,
    ) -> PlayHandle:
        """Start ``sound`` (from :func:`~voicegraph.nodes.output.prepare_sound`); it plays
        until it ends (or forever with ``loop``) or its handle is stopped.

        Raises:
            UsageError: ``loop`` with a stream, or ``max_sounds`` are playing already.
        """
        if loop and sound.stream is not None:
            raise UsageError(
                "BackgroundAudio.play(): an async iterator cannot be looped; pass a file path "
                "or a BuiltinAudioClip, or make the iterator endless and pass loop=False"
            )
        if self.playing >= self.config.max_sounds:
            raise UsageError(
                f"BackgroundAudio.play(): {self.config.max_sounds} sounds are playing already "
                "(max_sounds); stop one first"
            )
        handle = PlayHandle(fade_out=fade_out)
        if self._ended:
            handle.mark_done()
            return handle
        self._voices.append(Voice(sound, handle, volume=volume, fade_in=fade_in, loop=loop))
        if self._wake is not None:
            self._wake.set()
        return handle

    def stop_all(self) -> None:
        """Stop every sound at once (no fade)."""
        for voice in self._voices:
            voice.handle.mark_done()
        self._voices.clear()

    async def setup(self) -> None:
        """Start the background sender (it outlives interrupts)."""
        self._ended = False
        self._speech_until = 0.0
        self._lock = anyio.Lock()
        self._wake = anyio.Event()
        self.run_in_background(self._send_background)

    async def on_audio(self, frame: SpeechAudio) -> None:
        """Pass ``frame`` on with the sounds mixed in, at once."""
        if isinstance(frame, BackgroundFrame):  # from a mixer upstream: not speech
            await self.emit(self.audio_out, frame)
            return
        now = self.clock.now()
        start = max(now, self._speech_until)
        self._speech_until = start + frame.duration
        self._rate = frame.sample_rate
        if not self.playing:
            await self.emit(self.audio_out, frame)
            return
        bed = await self._mix(frame.samples, frame.sample_rate, wait=False)
        pcm = frame.pcm.astype(np.float32) + bed[:, None]
        mixed = np.clip(np.round(pcm), -32768, 32767).astype(np.int16)
        await self.emit(self.audio_out, _with_pcm(frame, mixed))
        self._retire()  # (within a frame or two of playing: see voice_pipeline)

    async def on_interrupt(self, event: Any) -> None:
        """The speech was cut: the sounds fill the silence from now on."""
        self._speech_until = min(self._speech_until, self.clock.now())

    async def on_end_of_stream(self) -> None:
        """Stop every sound and the background sender."""
        self._ended = True
        if self._lock is not None:
            async with self._lock:  # a background frame being sent goes out first
                self.stop_all()
        self.stop_all()
        if self._wake is not None:
            self._wake.set()

    async def aclose(self) -> None:
        """Mark every sound done."""
        self._ended = True
        self.stop_all()
        if self._wake is not None:
            self._wake.set()
        await super().aclose()

    # ------------------------------------------------------------------ internals

    def _frame_samples(self, rate: int) -> int:
        return max(1, round(rate * self.config.frame_ms / 1000))

    async def _mix(self, n: int, rate: int, *, wait: bool) -> Floats:
        bed = np.zeros(n, np.float32)
        for voice in list(self._voices):
            bed += await voice.render(n, rate, wait=wait)
        return bed

    async def _send_background(self) -> None:
        assert self._lock is not None
        while not self._ended:
            if not self.playing:
                self._wake = anyio.Event()
                await self._wake.wait()
                continue
            now = self.clock.now()
            rate = self._rate or self.config.sample_rate
            period = self._frame_samples(rate) / rate
            if now + _EPS < self._speech_until:  # speech plays: it carries the sounds
                for voice in list(self._voices):
                    await voice.fill(rate)  # read streams ahead, so speech never waits
                await self.clock.sleep_until(min(self._speech_until, now + period))
                continue
            async with self._lock:
                if self._ended:
                    return
                bed = await self._mix(self._frame_samples(rate), rate, wait=True)
                pcm = np.clip(np.round(bed), -32768, 32767).astype(np.int16)[:, None]
                await self._send_within(BackgroundFrame(pcm, rate, now), now + period)
            await self.clock.sleep_until(now + period)
            self._retire()

    async def _send_within(self, frame: BackgroundFrame, deadline: float) -> None:
        """Send ``frame`` unless the output takes none before ``deadline`` (paused, or busy):
        a background frame that late is useless, and the sender never waits on a full edge
        for longer than a frame."""
        async with anyio.create_task_group() as tg:

            async def expire() -> None:
                await self.clock.sleep_until(deadline)
                tg.cancel_scope.cancel()

            tg.start_soon(expire)
            await self.emit(self.audio_out, frame)
            tg.cancel_scope.cancel()


def _with_pcm(frame: SpeechAudio, pcm: Any) -> SpeechAudio:
    return SpeechAudio(
        pcm,
        frame.sample_rate,
        frame.pts,
        text=frame.text,
        offset=frame.offset,
        text_duration=frame.text_duration,
        final=frame.final,
        epoch=frame.epoch,
    )
