"""An STT host transcribing a user's turn as a whole, and ahead of need when the user pauses.

The engine here "hears" bursts of speech: it writes one word per burst it finds in the audio it
is given, named by the burst's media time (``w0.5``), so a transcript says exactly which
stretch of audio the host gave it. Real speech, real Silero VAD, virtual clock.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import soundfile as sf

from voicegraph.graph import (
    Graph,
    In,
    Node,
    SpeechSegment,
    Transcript,
    UserTurn,
)
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import STTEngine, STTNode
from voicegraph.nodes.turn import TurnDetector
from voicegraph.nodes.vad import SileroVAD, VADNode
from voicegraph.runner import Runner, VirtualClock

RATE = 16000


def speech(seconds: float) -> np.ndarray[Any, np.dtype[np.int16]]:
    pcm, rate = sf.read(sample_path("question"), dtype="int16")
    assert rate == RATE
    clip = pcm[int(0.512 * RATE) : int(2.0 * RATE)]
    return np.tile(clip, 3)[: int(seconds * RATE)]


def user_audio(said: list[tuple[float, float]], seconds: float) -> np.ndarray[Any, Any]:
    out = np.zeros(int(seconds * RATE), np.int16)
    for start, duration in said:
        piece = speech(duration)
        out[int(start * RATE) : int(start * RATE) + len(piece)] = piece
    return out


class Bursts(STTEngine):
    """One word per burst of sound (gaps of 0.3 s or more separate bursts)."""

    whole_turns: ClassVar[bool] = True

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.calls: list[tuple[float, float, str]] = []  # (audio pts, speech_end, text)

    async def transcribe(self, segment: SpeechSegment) -> str:
        pcm = segment.pcm[:, 0].astype(np.float64)
        win = RATE // 50
        loud = [
            np.sqrt(np.mean(pcm[i : i + win] ** 2)) > 300 for i in range(0, len(pcm) - win, win)
        ]
        words, quiet = [], 99
        for i, is_loud in enumerate(loud):
            if is_loud and quiet >= 15:
                words.append(f"w{segment.pts + i * 0.02:.1f}")
            quiet = 0 if is_loud else quiet + 1
        text = " ".join(words)
        self.calls.append((segment.pts, segment.speech_end, text))
        return text


class Sink(Node):
    transcripts: In[Transcript]
    turns: In[UserTurn]

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.transcripts_got: list[Transcript] = []  # final ones
        self.interims: list[Transcript] = []
        self.order: list[str] = []
        self.turns_got: list[UserTurn] = []

    async def on_transcripts(self, frame: Transcript) -> None:
        (self.transcripts_got if frame.final else self.interims).append(frame)
        self.order.append(f"{'final' if frame.final else 'interim'}:{frame.text}")

    async def on_turns(self, frame: UserTurn) -> None:
        self.turns_got.append(frame)


async def run(
    said: list[tuple[float, float]], seconds: float, *, boundaries: bool = True, **stt: Any
) -> tuple[Bursts, Sink]:
    engine = Bursts()
    g = Graph()
    src = g.add(MemorySource(pcm=user_audio(said, seconds), sample_rate=RATE, realtime=True))
    vad = g.add(VADNode(engine=SileroVAD()))
    stt_node = g.add(STTNode(engine=engine, **stt))
    turn = g.add(TurnDetector())
    sink = g.add(Sink())
    g.connect(src.audio, vad.audio)
    g.connect(vad.segments, stt_node.speech)
    g.connect(vad.audio_out, stt_node.audio)
    g.connect(vad.audio_out, turn.audio)
    g.connect(stt_node.transcripts, turn.transcripts)
    g.connect(stt_node.transcripts, sink.transcripts)
    g.connect(turn.turns, sink.turns)
    if boundaries:
        g.connect(turn.boundaries, stt_node.boundaries, feedback=True)
    await Runner(g, clock=VirtualClock()).run()
    return engine, sink


async def test_a_pause_inside_the_turn_gives_one_transcript_of_the_whole_turn() -> None:
    # 0.5 s apart: the VAD ends the first segment (0.25 s of silence), the user goes on
    # before the endpointing delay has passed
    _, sink = await run([(0.5, 1.0), (2.0, 1.0)], 6.0)
    texts = [(round(t.start, 1), t.text) for t in sink.transcripts_got]
    assert texts == [(0.5, "w0.5"), (0.5, "w0.5 w2.0")]
    assert [t.text for t in sink.turns_got] == ["w0.5 w2.0"]  # replaced, not "w0.5 w0.5 w2.0"


async def test_the_next_turn_is_transcribed_without_the_last_one() -> None:
    engine, sink = await run([(0.5, 1.0), (4.0, 1.0)], 8.0)
    assert [t.text for t in sink.turns_got] == ["w0.5", "w4.0"]
    # the second turn's audio starts after the first turn was committed
    first_commit = sink.turns_got[0].end
    assert all(pts >= first_commit for pts, end, _ in engine.calls if end > 3.0)


async def test_without_boundaries_each_segment_is_transcribed_alone() -> None:
    _, sink = await run([(0.5, 1.0), (2.0, 1.0)], 6.0, boundaries=False)
    assert [t.text for t in sink.transcripts_got] == ["w0.5", "w2.0"]
    assert [t.text for t in sink.turns_got] == ["w0.5 w2.0"]


async def test_a_pause_is_transcribed_ahead_and_the_segment_uses_it() -> None:
    engine, sink = await run([(0.5, 1.5)], 5.0)
    (transcript,) = sink.transcripts_got
    # one call, made when the VAD reported the pause: the segment's end is that pause
    assert len(engine.calls) == 1
    assert engine.calls[0][1] == pytest.approx(transcript.end)
    assert transcript.text == "w0.5"
    # found while the user was quiet: sent at once as interim words, before the final ones
    assert sink.order == ["interim:w0.5", "final:w0.5"]
    assert sink.interims[0].end == pytest.approx(transcript.end)


async def test_speech_that_resumes_drops_the_transcription_ahead() -> None:
    # 0.15 s apart: a pause the VAD reports but that does not end the segment (one burst
    # for the engine: it splits at 0.3 s)
    engine, sink = await run([(0.5, 1.0), (1.65, 1.0)], 5.0)
    (last,) = sink.transcripts_got
    assert last.text == "w0.5" and last.end > 2.6  # one transcript, of both
    assert engine.calls[-1][1] == pytest.approx(last.end)
    assert all(end < 1.65 for _, end, _ in engine.calls[:-1])  # earlier ones: dropped


async def test_turn_context_can_be_switched_off() -> None:
    engine, sink = await run([(0.5, 1.0), (2.0, 1.0)], 6.0, turn_context=False)
    assert [t.text for t in sink.transcripts_got] == ["w0.5", "w2.0"]
    engine, sink = await run([(0.5, 1.5)], 5.0, transcribe_ahead=False)
    assert len(engine.calls) == 1 and engine.calls[0][1] == pytest.approx(
        sink.transcripts_got[0].end
    )
    assert engine.calls[0][0] < 0.5  # the VAD's segment (prefix padding), not a clip


def test_turn_audio_lays_frames_end_to_end_and_fills_gaps() -> None:
    from voicegraph.nodes.stt._turn_audio import TurnAudio

    audio = TurnAudio(seconds=10.0)
    one = np.ones(320, np.int16)
    audio.add(0.0, one)
    audio.add(0.0201, one * 2)  # a resampler's frame, a few samples off: no gap
    assert audio.end == pytest.approx(0.04) and audio.covers(0.0, 0.04)
    audio.add(0.1, one * 3)  # 60 ms dropped: filled with silence
    clip = audio.clip(0.0, 0.12)
    assert len(clip) == 1920 and clip[640:1600].tolist() == [0] * 960 and clip[-1] == 3
    audio.add(0.05, one)  # from the past: a new stream
    assert audio.start == 0.05 and audio.end == pytest.approx(0.07)
    audio.add(5.0, one)  # a long gap: starts afresh too
    assert audio.start == 5.0
    long = TurnAudio(seconds=0.1)
    for i in range(20):
        long.add(i * 0.02, one)
    assert long.end == pytest.approx(0.4) and 0.28 <= long.start <= 0.3 + 1e-9  # bounded


async def test_speech_right_after_the_stream_starts_is_transcribed_ahead_too() -> None:
    # less than the 0.5 s prefix before the speech: the audio starts at the stream's start
    engine, sink = await run([(0.2, 1.5)], 5.0)
    (transcript,) = sink.transcripts_got
    assert sink.order[0].startswith("interim:") and transcript.text == "w0.2"
    assert all(pts == 0.0 for pts, _, _ in engine.calls)  # every call: from the stream's start
    assert engine.calls[-1][1] == pytest.approx(transcript.end)  # the final one, done ahead
