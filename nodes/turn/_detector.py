"""End-of-turn detection and barge-in: VAD silence + endpointing delays + a turn engine."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import (
    AudioFrame,
    Control,
    Event,
    In,
    NodeConfig,
    Out,
    PlayoutMark,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    UserTurn,
)
from voicegraph.graph.timeline import (
    TIMELINE_HISTORY,
    TimelineEvent,
    TurnDecided,
    UserInterrupted,
)
from voicegraph.nodes._host import EngineHost, EngineSlot
from voicegraph.nodes._runs import RunStarts
from voicegraph.nodes.output import PausePlayout, ResumePlayout
from voicegraph.nodes.stt import TurnBoundary
from voicegraph.nodes.vad import SpeechPaused, SpeechResumed

from ._commands import AllowInterruptions, ClearTurn, CommitTurn, TurnCommand, TurnControl
from ._engine import TurnEngine
from ._heuristic import HeuristicTurn

__all__ = ["TurnDecision", "TurnDetector"]


@dataclass(frozen=True, slots=True)
class TurnDecision:
    """One end-of-turn decision, kept for metrics and timelines.

    Attributes:
        text: the committed user text.
        speech_end: media time the user stopped speaking.
        decided_at: media time the turn was committed.
        delay: the endpointing delay that applied (min or max).
        probability: the end-of-turn probability that chose it.
        reported_at: media time the VAD reported the end of speech (after its hangover).
        transcript_at: media time the last final transcript of the turn arrived.
        clock: clock time of the decision.
    """

    text: str
    speech_end: float
    decided_at: float
    delay: float
    probability: float
    reported_at: float | None = None
    transcript_at: float | None = None
    clock: float = 0.0

    @property
    def stt_latency(self) -> float | None:
        """Seconds from the VAD reporting the end of speech to the final transcript."""
        if self.reported_at is None or self.transcript_at is None:
            return None
        return max(0.0, self.transcript_at - self.reported_at)

    @property
    def end_of_utterance_delay(self) -> float:
        """Seconds from the end of the user's speech to the end-of-turn decision."""
        return self.decided_at - self.speech_end


class TurnDetector(EngineHost[TurnEngine]):
    """Decide when the user's turn is over, and cut the agent off when the user barges in.

    Decisions use **media time**: the ``pts`` of the audio frames arriving on ``audio`` (connect
    the VAD's pass-through output), so a file gives the same decisions every run. The VAD's
    ``SpeechStarted``/``SpeechStopped`` events arrive on the same edge, final transcripts on
    ``transcripts``, and the audio output's ``PlayoutMark`` events on ``playout`` (a
    ``feedback=True`` edge) tell whether the agent is speaking.

    End of turn (LiveKit's endpointing): after the VAD reports the end of speech (which it does
    after its own ``min_silence_duration``), wait
    ``min_endpointing_delay`` — or ``max_endpointing_delay`` when the engine's end-of-turn
    probability of the transcript is below ``unlikely_threshold`` (default ``None``: the
    engine's own, :attr:`TurnEngine.unlikely_threshold`; with the default
    :class:`HeuristicTurn`: a trailing "and", "um", a comma...), or
    ``quick_endpointing_delay`` when it is at or above ``likely_threshold`` (the engine's
    own by default; with :class:`HeuristicTurn`: a question) — with no new speech, then
    commit the final transcripts gathered since the last turn as one :class:`UserTurn`. If
    the transcript of the last speech is not in yet, the turn commits when it arrives (or,
    if the STT finds no words in it, ``max_endpointing_delay`` after the end of speech, with
    the words it has).

    >>> TurnDetector().default_name(), type(TurnDetector().engine).__name__
    ('turn_detector', 'HeuristicTurn')

    Engines: ``engine`` (a :class:`TurnEngine`, default :class:`HeuristicTurn`) gives the
    end-of-turn probability; it is asked once per transcript (and end of speech), entered in
    :meth:`setup` and closed with the node. An engine with ``uses_audio`` also gets the last
    ``audio_seconds`` of the audio arriving on ``audio``. :meth:`set_engine` swaps it from
    the next decision on.

    Barge-in: while the agent is speaking, user speech lasting ``min_interruption_duration``
    (measured up to the VAD's ``SpeechPaused`` when the user went quiet, so the VAD's silence
    hangover does not stretch a short "uh-huh" over the threshold)
    (and, if set, ``min_interruption_words`` transcribed words) interrupts everything
    downstream of this node (LLM, TTS, audio output) via ``self.interrupt("barge-in")``.
    A user turn that completes while the agent is speaking without having interrupted it
    (a short backchannel such as "uh-huh") is not answered; it is recorded in ``ignored``.
    A turn that completes while a reply is still being prepared interrupts that reply first.
    :meth:`set_interruptions_allowed` turns barge-in off for the reply being played (an
    uninterruptible ``say``); speech that starts meanwhile is discarded, its transcript
    recorded in ``ignored`` (LiveKit's ``discard_audio_if_uninterruptible``).

    False interruptions (LiveKit's ``resume_false_interruption``): with
    ``false_interruption_timeout`` set, speech that reaches the thresholds first *pauses* the
    agent (a :class:`~voicegraph.nodes.output.PausePlayout` event, on ``playout_control``
    and ``turns``). A final transcript with words makes it a real interrupt; if the user
    stops speaking and ``false_interruption_timeout`` seconds (media time) pass without one
    (a cough, a noise), a :class:`~voicegraph.nodes.output.ResumePlayout` lets the reply go
    on where it stopped. Connect ``playout_control`` to the audio output's ``control`` input
    so the pause does not wait behind queued text and audio.

    Transcripts of a turn as a whole: a final transcript replaces the turn's earlier ones
    that start at or after its ``start`` (an :class:`~voicegraph.nodes.stt.STTNode` with
    ``turn_context`` transcribes each segment with the turn's earlier speech). Whenever the
    user's turn so far ends (committed, ignored or cleared) a
    :class:`~voicegraph.nodes.stt.TurnBoundary` goes out on ``boundaries``: connect it to
    the STT node's ``boundaries`` input (``feedback=True``) so the next turn is transcribed
    without the audio of this one.

    Preemptive generation: once the VAD has reported the end of speech and a final
    transcript is in, or while the VAD reports a pause and interim words come in (an STT
    that transcribes ahead sends them then), the text so far goes out on ``preflight``
    (once per text) before the endpointing delay has passed; the :class:`UserTurn` on
    ``turns`` follows if the turn really ends (its text may be longer if the user went on).

    Echo-cancellation warm-up (``aec_warmup_duration``, default ``None``): during the first
    that many seconds (media time) the agent speaks in the run, the user's speech does not
    interrupt it, as LiveKit does while the echo canceller converges.

    Manual turns (``mode="manual"``, LiveKit's ``turn_detection="manual"``, e.g. push to
    talk): the turn never ends by itself; :meth:`commit_user_turn` ends it (once the user is
    not speaking and the last speech is transcribed, or ``transcript_timeout`` seconds of
    media time after the request, with the words in by then) and :meth:`clear_user_turn`
    forgets what was said so far. A committed manual turn interrupts the agent if it is
    still speaking (the user asked for the floor). Barge-in works as in automatic mode. No
    preflight turns are sent. Requests take effect at the next input (audio frames arrive
    every few tens of milliseconds).

    Commands: the same three requests arrive as control events on ``commands`` (an agent
    session's command node sends them there): :class:`CommitTurn`, :class:`ClearTurn` and
    :class:`AllowInterruptions` do what the methods of the same meaning do, ahead of queued
    audio. Connect that edge with ``feedback=True`` so it does not keep the node open.

    Bus events (:mod:`voicegraph.graph.timeline`): each committed turn publishes a
    ``TurnDecided`` and each barge-in a ``UserInterrupted``; both are kept in
    ``timeline_events`` (``decisions`` and ``interruptions`` hold the same facts as lists).
    """

    class Config(NodeConfig):
        mode: Literal["auto", "manual"] = "auto"
        min_endpointing_delay: float = Field(0.45, ge=0.0)
        max_endpointing_delay: float = Field(3.0, ge=0.0)
        quick_endpointing_delay: float | None = Field(0.05, ge=0.0)
        unlikely_threshold: float | None = Field(None, ge=0.0, le=1.0)
        likely_threshold: float | None = Field(None, ge=0.0, le=1.0)
        allow_interruptions: bool = True
        min_interruption_duration: float = Field(0.5, ge=0.0)
        min_interruption_words: int = Field(0, ge=0)
        false_interruption_timeout: float | None = Field(None, gt=0.0)
        aec_warmup_duration: float | None = Field(None, gt=0.0)

    config: Config
    audio: In[AudioFrame]
    transcripts: In[Transcript]
    playout: In[Control] = In(required=False)
    commands: In[TurnControl] = In(required=False)
    turns: Out[UserTurn]
    preflight: Out[UserTurn]
    playout_control: Out[Control]
    boundaries: Out[Control]

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        engine: TurnEngine | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        self._slot: EngineSlot[TurnEngine] = EngineSlot(
            self, TurnEngine, engine if engine is not None else HeuristicTurn(), "HeuristicTurn"
        )
        self._asked: tuple[str, float | None, TurnEngine, float] | None = None  # last answer
        self._audio: deque[npt.NDArray[np.int16]] = deque()
        self._audio_samples = 0
        self.decisions: list[TurnDecision] = []
        self._runs = RunStarts()
        self.timeline_events: deque[TimelineEvent] = deque(maxlen=TIMELINE_HISTORY)
        """The :class:`TurnDecided` and :class:`UserInterrupted` bus events it published."""
        self.ignored: list[str] = []
        self.interruptions: list[float] = []
        self._now = 0.0
        self._speaking = False
        self._speech_start = 0.0
        self._speech_end: float | None = None
        self._reported_at: float | None = None
        self._transcript_at: float | None = None
        self._texts: list[tuple[float, str]] = []  # (start, text) of the turn's transcripts
        self._turn_start: float | None = None
        self._agent_speaking = False
        self._reply_pending = False
        self._interrupted_this_speech = False
        self._allowed = True
        self._discarded: set[float] = set()
        self._paused = False
        self._quiet_since: float | None = None
        self._resume_at: float | None = None
        self._pause_seq = 0
        self._preflight = ""
        self._commit_deadline: float | None = None  # media time a manual commit gives up waiting
        self._commit_timeout: float | None = None  # a commit requested, not seen by a handler yet
        self._clear_requested = False
        self._cleared_at = float("-inf")  # media time of the last clear: older speech is gone
        self._spoken = 0.0  # media seconds the agent has spoken before its current reply
        self._speaking_since: float | None = None
        self.pauses: list[float] = []
        """Media times the agent was paused by the user's speech."""
        self.resumes: list[float] = []
        """Media times a paused agent was resumed (false interruptions)."""

    def set_interruptions_allowed(self, allowed: bool) -> None:
        """Allow or forbid barge-in for what the agent says from now on (default allowed)."""
        self._allowed = allowed

    def commit_user_turn(self, transcript_timeout: float = 2.0) -> None:
        """End the user's turn now (``mode="manual"``; in ``"auto"`` it ends it early).

        The turn is committed once the user is not speaking and the last speech has been
        transcribed, or ``transcript_timeout`` seconds (media time) after the request.
        """
        self._commit_timeout = transcript_timeout

    def clear_user_turn(self) -> None:
        """Forget what the user has said since the last turn (transcripts still on their
        way for that speech included)."""
        self._clear_requested = True

    def on_command(self, command: TurnCommand) -> None:
        """Apply a command from ``commands`` (see :meth:`commit_user_turn`,
        :meth:`clear_user_turn`, :meth:`set_interruptions_allowed`)."""
        if isinstance(command, AllowInterruptions):
            self.set_interruptions_allowed(command.allowed)
        elif isinstance(command, CommitTurn):
            self.commit_user_turn(command.transcript_timeout)
        elif isinstance(command, ClearTurn):
            self.clear_user_turn()

    @property
    def _text(self) -> str:
        return " ".join(text for _, text in self._texts)

    async def _end_context(self, at: float) -> None:
        """Tell the STT that speech before media time ``at`` belongs to no open turn."""
        if self.connected(self.boundaries):
            await self.send_event(TurnBoundary(at), self.boundaries)

    async def _take_requests(self) -> None:
        if self._clear_requested:
            self._clear_requested = False
            self._cleared_at = self._now
            self._texts.clear()
            self._turn_start = self._speech_end = None
            self._preflight = ""
            self._commit_deadline = None
            await self._end_context(self._now)
        if self._commit_timeout is not None:
            self._commit_deadline = self._now + self._commit_timeout
            self._commit_timeout = None

    # ------------------------------------------------------------------ engine

    async def setup(self) -> None:
        """Enter the engine (load its model) before the first turn.

        A new run starts new records (:attr:`timeline_events`, :attr:`decisions`,
        :attr:`interruptions`); a supervised restart keeps them."""
        if self._runs.new_run(self):
            self.timeline_events.clear()
            self.decisions.clear()
            self.interruptions.clear()
        await self._slot.ready()

    async def aclose(self) -> None:
        """Close every engine this node entered."""
        await self._slot.aclose()
        await super().aclose()

    async def _probability(self, text: str) -> float:
        """The engine's end-of-turn probability of ``text`` (asked once per text and speech)."""
        engine = await self._slot.ready()
        asked = self._asked
        if asked is not None and asked[:3] == (text, self._speech_end, engine):
            return asked[3]
        audio = None
        if engine.uses_audio and self._audio:
            audio = np.concatenate(list(self._audio))[-round(engine.audio_seconds * 16000) :]
        probability = await engine.end_of_turn_probability(text, audio=audio)
        self._asked = (text, self._speech_end, engine, probability)
        return probability

    def _keep_audio(self, frame: AudioFrame) -> None:
        """Keep the last ``audio_seconds`` of mono audio for an engine that uses audio."""
        engine = self._slot.current
        if not engine.uses_audio:
            if self._audio:
                self._audio.clear()
                self._audio_samples = 0
            return
        pcm = frame.pcm[:, 0]
        self._audio.append(pcm)
        self._audio_samples += len(pcm)
        limit = round(engine.audio_seconds * frame.sample_rate)
        while self._audio and self._audio_samples - len(self._audio[0]) >= limit:
            self._audio_samples -= len(self._audio.popleft())

    # ------------------------------------------------------------------ inputs

    async def on_audio(self, frame: AudioFrame) -> None:
        self._keep_audio(frame)
        self._now = max(self._now, frame.end_pts)
        await self._take_requests()
        if self._paused and self._resume_at is not None and self._now >= self._resume_at:
            await self._resume()
        await self._maybe_interrupt()
        await self._maybe_commit()

    async def on_transcripts(self, frame: Transcript) -> None:
        if not frame.text.strip():
            return
        if not frame.final:
            await self._preflight_interim(frame)
            return
        if frame.start in self._discarded:  # said while an uninterruptible reply played
            self._discarded.discard(frame.start)
            self.ignored.append(frame.text.strip())
            return
        if frame.start < self._cleared_at:  # speech from before clear_user_turn()
            return
        if self._paused:  # words: the pause was a real interruption
            self._interrupt_now()
        # a transcript of the turn from ``start`` on replaces the ones it covers
        self._texts = [(start, text) for start, text in self._texts if start < frame.start]
        self._texts.append((frame.start, frame.text.strip()))
        self._transcript_at = self._now
        if self._turn_start is None or frame.start < self._turn_start:
            self._turn_start = frame.start
        await self._maybe_interrupt()
        await self._maybe_commit()

    async def on_event(self, event: Event) -> None:
        if isinstance(event, SpeechStarted | SpeechStopped | SpeechPaused | SpeechResumed):
            self._quiet_since = event.pts if isinstance(event, SpeechPaused) else None
            if isinstance(event, SpeechPaused | SpeechResumed):
                return
        if isinstance(event, SpeechStarted):
            if self._agent_speaking and not self._allowed:
                self._discarded = {*list(self._discarded)[-8:], event.pts}
                return
            self._speaking = True
            self._speech_start = event.pts
            self._resume_at = None
            self._preflight = ""
            if not self._paused:
                self._interrupted_this_speech = False
            if self._turn_start is None:
                self._turn_start = event.pts
        elif isinstance(event, SpeechStopped):
            if not self._speaking:
                await self._end_context(event.pts)  # the end of discarded speech
                return
            self._speaking = False
            self._speech_end = event.pts
            # The delay runs from when the VAD *reported* the end (after its own silence
            # hangover), as LiveKit's endpointing does; the event may overtake queued audio.
            self._reported_at = max(self._now, event.pts)
            timeout = self.config.false_interruption_timeout
            if self._paused and timeout is not None:
                self._resume_at = self._reported_at + timeout
            await self._maybe_commit()
        elif isinstance(event, PlayoutMark):
            if event.final or event.interrupted:
                self._agent_speaking = False
                self._reply_pending = False
                self._paused, self._resume_at = False, None
                if self._speaking_since is not None:
                    self._spoken += self._now - self._speaking_since
                    self._speaking_since = None
            else:
                self._agent_speaking = True
                if self._speaking_since is None:
                    self._speaking_since = self._now
        elif isinstance(event, TurnCommand):
            self.on_command(event)

    async def on_end_of_stream(self) -> None:
        """Input ended: resume a paused agent; commit whatever the user said at once."""
        if self._paused:
            await self._resume()
        if self._texts:
            await self._commit(self._now, 0.0, await self._probability(self._text))

    # ------------------------------------------------------------------ decisions

    async def _maybe_interrupt(self) -> None:
        cfg = self.config
        if not (cfg.allow_interruptions and self._allowed and self._agent_speaking):
            return
        if not self._speaking or self._interrupted_this_speech or self._paused:
            return
        if self._warming_up():
            return
        heard_until = self._quiet_since if self._quiet_since is not None else self._now
        if heard_until - self._speech_start < cfg.min_interruption_duration:
            return
        if cfg.min_interruption_words and len(self._text.split()) < cfg.min_interruption_words:
            return
        if cfg.false_interruption_timeout is not None:
            await self._pause()
        else:
            self._interrupt_now()

    def _warming_up(self) -> bool:
        """Whether the agent's speech so far is within ``aec_warmup_duration``."""
        warmup = self.config.aec_warmup_duration
        if warmup is None:
            return False
        since = self._speaking_since
        spoken = self._spoken + (self._now - since if since is not None else 0.0)
        return spoken < warmup

    def _interrupt_now(self) -> None:
        self._interrupted_this_speech = True
        self._agent_speaking = False
        self._reply_pending = False
        self._paused, self._resume_at = False, None
        self.interruptions.append(self._now)
        self.timeline_events.append(self.publish(UserInterrupted(self._now, "barge-in")))
        self.interrupt("barge-in")

    async def _pause(self) -> None:
        self._paused, self._resume_at = True, None
        self._pause_seq += 1
        self.pauses.append(self._now)
        await self.send_event(PausePlayout(self._pause_seq))

    async def _resume(self) -> None:
        self._paused, self._resume_at = False, None
        self._pause_seq += 1
        self.resumes.append(self._now)
        await self.send_event(ResumePlayout(self._pause_seq))

    async def _maybe_commit(self) -> None:
        if self._commit_deadline is not None:
            await self._maybe_commit_requested(self._commit_deadline)
            return
        if self.config.mode == "manual":
            return
        if self._speaking or self._speech_end is None or not self._texts:
            return
        text = self._text
        probability = await self._probability(text)
        cfg = self.config
        delay = self._delay(probability)
        # the last speech must be transcribed too (or the STT had nothing, after max delay)
        covered = self._transcript_at is not None and self._transcript_at >= self._speech_start
        waited = self._now - self._reported_at if self._reported_at is not None else -1.0
        if waited >= delay and (covered or waited >= cfg.max_endpointing_delay):
            await self._commit(self._now, delay, probability)
        elif covered:
            start = self._turn_start if self._turn_start is not None else self._speech_end
            await self._send_preflight(text, start, self._speech_end)

    async def _send_preflight(self, text: str, start: float, end: float) -> None:
        """Send the turn so far on ``preflight``, once per text, unless the agent is
        speaking and the user has not interrupted it."""
        if text == self._preflight or (self._agent_speaking and not self._interrupted_this_speech):
            return
        self._preflight = text
        await self.emit(
            self.preflight, UserTurn(text, start=start, end=end, decided=self.clock.now())
        )

    def _delay(self, probability: float) -> float:
        """The endpointing delay for this end-of-turn probability."""
        cfg, engine = self.config, self._slot.current
        unlikely = cfg.unlikely_threshold
        if unlikely is None:
            unlikely = engine.unlikely_threshold
        likely = cfg.likely_threshold
        if likely is None:
            likely = engine.likely_threshold
        if probability < unlikely:
            return cfg.max_endpointing_delay
        if cfg.quick_endpointing_delay is not None and likely is not None and probability >= likely:
            return min(cfg.quick_endpointing_delay, cfg.min_endpointing_delay)
        return cfg.min_endpointing_delay

    async def _preflight_interim(self, frame: Transcript) -> None:
        """Interim words while the user is quiet (an STT transcribing ahead at a pause):
        send the turn so far on ``preflight`` before the VAD has even ended the speech."""
        quiet = not self._speaking or self._quiet_since is not None
        if self.config.mode == "manual" or not quiet or frame.start < self._cleared_at:
            return
        if frame.start in self._discarded:
            return
        earlier = [text for start, text in self._texts if start < frame.start]
        text = " ".join([*earlier, frame.text.strip()])
        start = self._turn_start if self._turn_start is not None else frame.start
        await self._send_preflight(text, min(start, frame.start), frame.end)

    async def _maybe_commit_requested(self, deadline: float) -> None:
        """A commit was requested: do it once the user is quiet and transcribed."""
        covered = self._transcript_at is not None and self._transcript_at >= self._speech_start
        settled = not self._speaking and (covered or self._speech_end is None)
        if not (settled or self._now >= deadline):
            return
        self._commit_deadline = None
        if not self._texts:
            return  # nothing was said: no turn (LiveKit replies to nothing either)
        if self._agent_speaking and not self._interrupted_this_speech:
            self._interrupt_now()  # the user asked for the floor
        await self._commit(self._now, 0.0, await self._probability(self._text))

    async def _commit(self, now: float, delay: float, probability: float) -> None:
        text = self._text
        end = self._speech_end if self._speech_end is not None else now
        start = self._turn_start if self._turn_start is not None else end
        self._preflight = ""
        self._texts.clear()
        self._turn_start = None
        self._speech_end = None
        await self._end_context(now)
        if self._agent_speaking and not self._interrupted_this_speech:
            self.ignored.append(text)  # a backchannel under the interruption thresholds
            return
        if self._reply_pending:
            self.interrupt("new user turn")
        decided = self.clock.now()
        self.decisions.append(
            TurnDecision(
                text, end, now, delay, probability, self._reported_at, self._transcript_at, decided
            )
        )
        self.timeline_events.append(
            self.publish(
                TurnDecided(
                    text, end, now, delay, probability, self._reported_at, self._transcript_at
                )
            )
        )
        self._reply_pending = True
        await self.emit(self.turns, UserTurn(text, start=start, end=end, decided=decided))
