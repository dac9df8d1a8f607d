"""AudioOutput: the agent's speaker. Plays reply audio on the run's clock and reports playout."""

from __future__ import annotations

import contextlib
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from voicegraph.graph import (
    Control,
    Event,
    In,
    Node,
    NodeConfig,
    Out,
    PlayoutMark,
    SpeechAudio,
)
from voicegraph.graph.timeline import ReplyPlayed, ReplyProgress, ReplyStarted, TimelineEvent
from voicegraph.nodes._files import check_output_path
from voicegraph.nodes._runs import RunStarts

from ._background import BackgroundFrame
from ._control import PausePlayout, ResumePlayout
from ._wav import TimelineWav

__all__ = ["AudioOutput"]

MAX_HISTORY = 1000
"""How many replies :attr:`AudioOutput.played_replies` and ``reply_started_at`` keep."""
LATE_TOLERANCE = 0.005
"""A frame of the current reply arriving at most this late still plays right after the previous
one (timer jitter under ``RealClock`` must not stretch playback); a longer gap is a pause."""
_EPS = 1e-6


@dataclass(slots=True)
class _Queued:
    start: float
    end: float
    frame: SpeechAudio


@dataclass(slots=True)
class _Reply:
    epoch: int
    start: float  # clock time its first frame started playing
    played: float = 0.0
    sentences: list[str] = field(default_factory=list)
    current: tuple[str, float, float] | None = None  # (text, seconds heard, text_duration)

    def heard(self, frame: SpeechAudio, seconds: float) -> None:
        """Account ``seconds`` of ``frame`` as heard; track the sentence in progress."""
        self.played += seconds
        if frame.offset + seconds >= frame.text_duration - _EPS:
            self.current = None
            if frame.text:
                self.sentences.append(frame.text)
        else:
            self.current = (frame.text, frame.offset + seconds, frame.text_duration)

    def text_heard(self) -> str:
        """Whole sentences heard, then the words of the current one in proportion to its audio."""
        words: list[str] = []
        if self.current is not None:
            text, heard, total = self.current
            spoken = text.split()
            if total > 0:
                words = spoken[: math.floor(heard / total * len(spoken) + _EPS)]
        return " ".join([*self.sentences, *words])


class AudioOutput(Node):
    """Play reply audio in real time on the run's clock and report what the listener heard.

    A frame counts as played once the clock reaches its scheduled end (``clock.sleep_until``):
    under ``VirtualClock`` a 2 s reply takes 2 s of virtual time, under ``RealClock`` 2 s of
    wall time. Frames play back to back; after a gap (the TTS was late by more than
    ``LATE_TOLERANCE``, 5 ms) the next frame starts when it arrives. ``buffer`` seconds of
    audio may be taken ahead of the play position (a device buffer; default 0: a frame is
    taken when the previous one has played, so the input edge provides the backpressure).
    With ``buffer`` > 0, sentence marks may be sent up to ``buffer`` late while the input is
    idle; interrupted and final marks are always exact.

    Playout marks (``PlayoutMark`` events on ``marks``, e.g. into a ``feedback=True`` edge):

    * reply start: ``played=0, text=""`` when its first frame starts playing;
    * after each sentence has fully played: ``played`` seconds of the reply and the text of
      the sentences played so far (the last sentence's mark is the final mark);
    * reply end: ``final=True`` after the frame marked ``final`` (or at end of input);
    * interrupt: ``interrupted=True`` with the text actually heard: the fully played
      sentences plus the first words of the current one, in proportion to the part of its
      audio played, ``(offset + played part) / text_duration``, rounded down to whole words.

    A new reply starts with the first frame after a reply ended (or after an interrupt, or
    with a frame of a newer epoch, which also ends an unfinished older reply as interrupted).
    An interrupt when no reply is playing sends no mark. Marks carry the reply's ``epoch``.

    On interrupt playback stops at once: the frame being played counts only up to the
    interrupt time, frames taken ahead (``buffer``) are dropped, queued frames are dropped by
    the runner, and the in-flight sleep is cancelled; then the interrupted mark is sent.
    Other control events arriving on ``audio`` are not forwarded.

    Pause and resume: a :class:`PausePlayout` event (on ``control`` or ``audio``) pauses the
    reply being played at the end of the current frame (within ``frame_ms``, plus ``buffer``);
    the node then takes no audio (its input edge fills and holds the TTS back) until a
    :class:`ResumePlayout`, after which the reply goes on where it stopped. A pause sent to
    both inputs (the turn detector's ``playout_control`` and, forwarded by the LLM and TTS,
    ``audio``) is applied once: the runner delivers each send to a node once, so the late
    copy never pauses again after the resume. An interrupt ends a pause. No reply playing: a
    pause is ignored.

    Recording: with ``path`` set, everything played is written to a 16-bit mono WAV at the
    input rate, on a continuous timeline whose time 0 is clock time 0: silence is written
    while nothing plays, interrupted frames are cut where playback stopped, and the file is
    padded to the clock time at which the run ends, so it lines up with the conversation
    (e.g. with the input file played in real time). Nothing played: 24 kHz silence.
    The recording is written to a hidden temporary file beside ``path`` and moved over
    ``path`` when the node closes, once the run has reached the node (it received audio, an
    event, or end of stream; a run stopped or failing later keeps what was played until
    then). A run that fails before that, e.g. because another node's ``setup()`` failed (a
    missing input file), leaves an existing file at ``path`` untouched.

    Metrics: :attr:`played_replies` ``(text, seconds, interrupted)`` per reply,
    :attr:`reply_started_at` (clock time each reply's first frame started playing, for
    voice-to-voice latency), :attr:`played_seconds`. Histories keep the last 1000 replies.
    The same facts go on the run's bus as ``ReplyStarted`` / ``ReplyPlayed`` events
    (:mod:`voicegraph.graph.timeline`), kept in ``timeline_events``; after each sentence a
    ``ReplyProgress`` with the words heard so far (for live captions; not kept).

    Config:
        path: WAV file to record to (default ``None``: no recording).
        buffer: seconds of audio taken ahead of the play position (default 0.0).
    """

    class Config(NodeConfig):
        path: str | None = None
        buffer: float = Field(0.0, ge=0.0, le=5.0)

    config: Config
    audio: In[SpeechAudio]
    control: In[Control] = In(required=False)
    marks: Out[Control]
    forward_events = False

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        if self.config.path is not None:
            check_output_path(Path(self.config.path), "AudioOutput")
        self.played_replies: deque[tuple[str, float, bool]] = deque(maxlen=MAX_HISTORY)
        """Per reply: (text heard, seconds played, interrupted)."""
        self.reply_started_at: deque[float] = deque(maxlen=MAX_HISTORY)
        """Clock time each reply's first frame started playing."""
        self.timeline_events: deque[TimelineEvent] = deque(maxlen=MAX_HISTORY)
        """The :class:`ReplyStarted` and :class:`ReplyPlayed` events it published in its run."""
        self._runs = RunStarts()
        self._played = 0.0
        self._queue: deque[_Queued] = deque()
        self._play_end = 0.0
        self._reply: _Reply | None = None
        self._wav: TimelineWav | None = None
        self._reached = False  # the run reached this node: the recording replaces the file
        self._paused_at: float | None = None
        self.pauses: deque[tuple[float, float]] = deque(maxlen=MAX_HISTORY)
        """Clock (start, end) of each pause that ended."""

    @property
    def played_seconds(self) -> float:
        """Seconds of audio played so far in the run (updated as each frame finishes)."""
        return self._played

    @property
    def playing(self) -> bool:
        """Whether a reply is being played (also while it is paused)."""
        return self._reply is not None

    @property
    def paused(self) -> bool:
        """Whether the reply is paused."""
        return self._paused_at is not None

    def holding(self) -> bool:
        """Take no audio while paused."""
        return self._paused_at is not None

    async def on_control(self, frame: Control) -> None:
        """The control port carries only events (see :meth:`on_event`)."""

    async def on_event(self, event: Event) -> None:
        """Apply :class:`PausePlayout` / :class:`ResumePlayout`; other events are dropped."""
        self._reached = True
        if not isinstance(event, PausePlayout | ResumePlayout):
            return
        now = self.clock.now()
        if isinstance(event, PausePlayout):
            if self._reply is not None and self._paused_at is None:
                self._paused_at = max(now, self._current_frame_end(now))
        elif self._paused_at is not None:
            self._unpause(now)

    def _current_frame_end(self, now: float) -> float:
        """When the frame playing at ``now`` (if any) ends: the pause starts there."""
        return next((q.end for q in self._queue if q.start <= now < q.end), now)

    def _unpause(self, now: float) -> None:
        start, self._paused_at = self._paused_at, None
        assert start is not None
        shift = max(0.0, now - start)
        self.pauses.append((start, now))
        for item in self._queue:
            if item.start >= start - _EPS:
                item.start += shift
                item.end += shift
        if self._play_end >= start - _EPS:
            self._play_end += shift

    async def setup(self) -> None:
        """Create the recording file, if ``path`` is set (fails early if it cannot).

        A new run starts a new :attr:`timeline_events` (a supervised restart keeps it)."""
        if self._runs.new_run(self):
            self.timeline_events.clear()
        if self.config.path is not None and self._wav is None:
            self._wav = TimelineWav(self.config.path)
        self._reached = False

    def takes_background(self) -> bool:
        """Whether a :class:`BackgroundFrame` arriving now is played: nothing else plays
        and the output is not paused."""
        return self._paused_at is None and self.clock.now() + _EPS >= self._play_end

    async def on_audio(self, frame: SpeechAudio) -> None:
        """Schedule ``frame`` after what is playing and wait until it (minus ``buffer``) played.

        A :class:`BackgroundFrame` (background sound under silence) is played at once if
        :meth:`takes_background`, else dropped; it never holds the speaker: speech arriving
        while it plays starts at once and replaces the rest of it."""
        self._reached = True
        now = self.clock.now()
        if isinstance(frame, BackgroundFrame):
            if self.takes_background() and self._wav is not None:
                self._wav.write(now, frame.pcm, frame.sample_rate, soft=True)
            return
        if self._reply is not None and frame.epoch != self._reply.epoch:
            await self._stop(now)
        start = max(now, self._play_end)
        if self._reply is not None and start - self._play_end <= LATE_TOLERANCE:
            start = self._play_end  # a late wake-up, not a gap: keep playing back to back
        if self._reply is None:
            self._reply = _Reply(frame.epoch, start)
            self.reply_started_at.append(start)
            self.timeline_events.append(self.publish(ReplyStarted(start)))
            await self._mark(0.0, "", epoch=frame.epoch)
        end = start + frame.duration
        self._queue.append(_Queued(start, end, frame))
        self._play_end = end
        await self._play_until(end if frame.final else end - self.config.buffer)

    async def on_interrupt(self, event: Any) -> None:
        """Stop now (also while paused) and report what was heard."""
        self._reached = True
        now = self.clock.now()
        if self._paused_at is not None:  # nothing played since the pause began
            self.pauses.append((self._paused_at, now))
            now, self._paused_at = min(now, self._paused_at), None
        await self._stop(now)

    async def on_end_of_stream(self) -> None:
        """Play out what was taken ahead; end an unfinished reply with a final mark."""
        self._reached = True
        await self._play_until(self._play_end)
        if self._reply is not None:
            await self._end_reply()

    async def aclose(self) -> None:
        """Pad the recording to the run's end and move it into place (if the run reached the
        node; else drop it, leaving the file at ``path`` as it was)."""
        try:
            self._save_recording()
        finally:
            await super().aclose()

    def _save_recording(self) -> None:
        wav, self._wav = self._wav, None
        if wav is None:
            return
        try:
            if self._reached:
                with contextlib.suppress(RuntimeError):  # not attached to a runner: no pad
                    wav.pad_to(self.clock.now())
        except BaseException:
            wav.close(commit=False)
            raise
        wav.close(commit=self._reached)

    # ------------------------------------------------------------------ internals

    async def _play_until(self, t: float) -> None:
        while self._queue and self._queue[0].end <= t + _EPS:
            item = self._queue[0]
            await self.clock.sleep_until(item.end)
            self._queue.popleft()
            await self._finished(item)
        await self.clock.sleep_until(t)

    def _account(self, item: _Queued, seconds: float) -> None:
        frame = item.frame
        assert self._reply is not None
        self._reply.heard(frame, seconds)
        self._played += seconds
        if self._wav is not None:
            samples = min(frame.samples, round(seconds * frame.sample_rate))
            self._wav.write(item.start, frame.pcm[:samples], frame.sample_rate)

    async def _finished(self, item: _Queued) -> None:
        frame, reply = item.frame, self._reply
        if reply is None:
            return
        self._account(item, frame.duration)
        if frame.final:
            await self._end_reply()
        elif reply.current is None and frame.text:  # a sentence has fully played
            heard = " ".join(reply.sentences)
            self.publish(ReplyProgress(reply.start, heard))  # live captions only
            await self._mark(reply.played, heard, epoch=reply.epoch)

    async def _end_reply(self) -> None:
        reply, self._reply = self._reply, None
        assert reply is not None
        text = reply.text_heard()
        self.played_replies.append((text, reply.played, False))
        self._published(ReplyPlayed(reply.start, reply.played, text, False))
        await self._mark(reply.played, text, final=True, epoch=reply.epoch)

    async def _stop(self, now: float) -> None:
        queue, self._queue = self._queue, deque()
        self._play_end = min(self._play_end, now)
        reply = self._reply
        if reply is None:
            return
        for item in queue:
            if item.start >= now:
                break  # never heard
            self._account(item, min(item.frame.duration, now - item.start))
        self._reply = None
        text = reply.text_heard()
        self.played_replies.append((text, reply.played, True))
        self._published(ReplyPlayed(reply.start, reply.played, text, True))
        await self._mark(reply.played, text, interrupted=True, epoch=reply.epoch)

    def _published(self, event: TimelineEvent) -> None:
        self.timeline_events.append(self.publish(event))

    async def _mark(
        self,
        played: float,
        text: str,
        *,
        epoch: int,
        interrupted: bool = False,
        final: bool = False,
    ) -> None:
        mark = PlayoutMark(played, text, interrupted=interrupted, final=final, epoch=epoch)
        await self.send_event(mark, self.marks)
