"""HibariTTS in a TTSNode: real synthesis into 20 ms frames, trimming, streaming, determinism."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from voicegraph.graph import ConfigError, Graph, In, Node, Out, Sentence, SpeechAudio
from voicegraph.nodes.tts import FloatAudio, HibariTTS, TTSNode, trim_silence
from voicegraph.nodes.tts._hibari import load_model
from voicegraph.runner import Runner, VirtualClock

FIRST = "The capital of France is Paris."
SECOND = "It is a lovely city."


class Say(Node):
    """Sends scripted sentences: ("say", text, final) or ("sleep", s) or ("interrupt",)."""

    sentences: Out[Sentence]

    def __init__(self, steps: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.steps = steps
        self.restart_on_interrupt = False

    async def run(self) -> None:
        for step in self.steps:
            if step[0] == "say":
                await self.emit(self.sentences, Sentence(step[1], final=step[2]))
            elif step[0] == "sleep":
                await self.clock.sleep(step[1])
            else:
                self.interrupt("test")


class Listen(Node):
    """Takes one frame per 20 ms of clock time (a real-time consumer); logs what it got."""

    audio: In[SpeechAudio]

    def __init__(self, log: list[tuple[str, float, str]] | None = None) -> None:
        super().__init__()
        self.frames: list[SpeechAudio] = []
        self.log = log if log is not None else []

    async def on_audio(self, frame: SpeechAudio) -> None:
        self.frames.append(frame)
        self.log.append(("frame", self.clock.now(), frame.text))
        await self.clock.sleep(frame.duration)


class LoggedHibari(HibariTTS):
    """Logs when each synthesis starts, in the same list as the listener."""

    def __init__(self, log: list[tuple[str, float, str]], **settings: Any) -> None:
        super().__init__(**settings)
        self.log = log

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        self.log.append(("synth", self.clock.now(), text))
        return await super().synthesize(text)


async def speak(
    steps: list[tuple[Any, ...]], tts: HibariTTS | None = None, log: list[Any] | None = None
) -> tuple[TTSNode, Listen]:
    g = Graph()
    source = g.add(Say(steps))
    tts = g.add(TTSNode(engine=tts if tts is not None else HibariTTS()))
    sink = g.add(Listen(log))
    g.connect(source.sentences, tts.sentences)
    g.connect(tts.audio, sink.audio)
    await Runner(g, clock=VirtualClock()).run()
    return tts, sink


def rms_db(pcm: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) / 32768
    return 20 * np.log10(rms) if rms > 0 else -200.0


async def test_two_sentences_become_24khz_20ms_frames_with_consistent_tags() -> None:
    tts, sink = await speak([("say", FIRST, False), ("say", SECOND, True)])
    frames = sink.frames
    assert tts.audio.sample_rate == 24000
    assert all(f.sample_rate == 24000 and f.pcm.shape == (480, 1) for f in frames)
    assert [f.final for f in frames] == [False] * (len(frames) - 1) + [True]
    assert [f.pts for f in frames] == pytest.approx([i * 0.02 for i in range(len(frames))])
    for text in (FIRST, SECOND):
        mine = [f for f in frames if f.text == text]
        assert [f.offset for f in mine] == pytest.approx([i * 0.02 for i in range(len(mine))])
        assert [f.text_duration for f in mine] == pytest.approx([len(mine) * 0.02] * len(mine))
    first = [f for f in frames if f.text == FIRST]
    # the leading ~0.3 s of silence hibari makes is gone: the first frame is already speech
    assert rms_db(first[0].pcm) > -40  # (hibari's own first 0.28 s are at about -140 dBFS)
    raw = load_model().synthesize(FIRST, 1.0, 0)[0]
    assert np.abs(raw[: int(0.2 * 24000)]).max() < 0.01  # (hibari itself starts silent)
    # a natural pause (sentence_pause, 0.15 s) remains between the sentences
    tail = np.concatenate([f.pcm for f in first[-7:]])
    assert np.abs(tail[-int(0.14 * 24000) :]).max() == 0
    assert len(first) * 0.02 < len(raw) / 24000  # trailing silence trimmed too
    # the last sentence of the reply gets no pause after it
    last = np.concatenate([f.pcm for f in frames if f.text == SECOND])
    assert np.abs(last[-int(0.1 * 24000) :]).max() > 0
    assert list(tts.ttfb) == [0.0]  # synthesis takes no virtual time


async def test_the_first_frame_of_each_reply_is_audible() -> None:
    # hibari starts some words with 10-40 ms of breath or weak consonant between -50 and
    # -40 dBFS ("Sure.", "Hmm, ...", "Four ..."): the reply starts at the audible word
    texts = ["Sure.", "Hmm, good question.", "Four hundred and twelve.", "What is it?"]
    _, sink = await speak([("say", text, True) for text in texts])
    replies = [[f for f in sink.frames if f.text == text] for text in texts]
    firsts = [rms_db(frames[0].pcm) for frames in replies]
    seconds = [rms_db(frames[1].pcm) for frames in replies]
    assert all(level > -42 for level in firsts), firsts  # (before: about -48 dBFS)
    assert all(level > -40 for level in seconds), seconds
    assert all(frames[0].pts == 0.0 for frames in replies)
    # nothing audible is cut: what the old rule (first window above -50 dBFS) kept before
    # the new start stays below -40 dBFS in every 20 ms window
    for text in texts:
        raw = load_model().synthesize(text, 1.0, 0)[0]
        before = trim_silence(raw, 24000, onset_db=-50.0)
        cut = len(before) - len(trim_silence(raw, 24000))
        assert 0 < cut <= round(0.04 * 24000), text
        dropped = (before[:cut] * 32767).astype(np.int16)
        assert all(rms_db(dropped[i : i + 480]) < -40 for i in range(0, cut, 240)), text


async def test_first_audio_leaves_before_the_second_sentence_is_synthesized() -> None:
    log: list[tuple[str, float, str]] = []
    await speak([("say", FIRST, False), ("say", SECOND, True)], tts=LoggedHibari(log), log=log)
    kinds = [(kind, text) for kind, _, text in log]
    first_frame = kinds.index(("frame", FIRST))
    second_synth = kinds.index(("synth", SECOND))
    assert kinds[0] == ("synth", FIRST)
    assert first_frame < second_synth
    times = {(kind, text): t for kind, t, text in reversed(log)}
    assert times[("frame", FIRST)] == 0.0
    # the second sentence is synthesized while the first one is still being played
    first_end = max(t for kind, t, text in log if kind == "frame" and text == FIRST)
    assert 0.0 < times[("synth", SECOND)] < first_end


async def test_same_seed_gives_identical_audio() -> None:
    _, a = await speak([("say", SECOND, True)], tts=HibariTTS(seed=7))
    _, b = await speak([("say", SECOND, True)], tts=HibariTTS(seed=7))
    _, c = await speak([("say", SECOND, True)], tts=HibariTTS(seed=8))
    pcm = [np.concatenate([f.pcm for f in s.frames]) for s in (a, b, c)]
    assert np.array_equal(pcm[0], pcm[1])
    assert not np.array_equal(pcm[0], pcm[2])


async def test_empty_final_sentence_gives_one_silent_final_frame() -> None:
    tts, sink = await speak([("say", "Hi there.", False), ("say", "", True)])
    *speech, end = sink.frames
    assert speech and not any(f.final for f in speech)
    assert end.final and end.text == "" and end.duration == pytest.approx(0.02)
    assert not end.pcm.any()
    # a reply with no speech at all is just the silent final frame (and no ttfb)
    tts, sink = await speak([("say", "", True)])
    assert len(sink.frames) == 1 and sink.frames[0].final
    assert list(tts.ttfb) == []


async def test_interrupt_starts_a_new_reply() -> None:
    steps = [("say", FIRST, False), ("sleep", 0.1), ("interrupt",), ("say", SECOND, True)]
    tts, sink = await speak(steps)
    new = [f for f in sink.frames if f.epoch == 1]
    assert new and all(f.text == SECOND for f in new)
    assert new[0].pts == 0.0 and new[-1].final
    assert len(tts.ttfb) == 2


async def test_speed_changes_duration() -> None:
    _, normal = await speak([("say", SECOND, True)])
    _, fast = await speak([("say", SECOND, True)], tts=HibariTTS(speed=1.5))
    assert len(fast.frames) < 0.85 * len(normal.frames)


def test_trim_silence_keeps_margins() -> None:
    rate = 24000
    audio = np.zeros(rate, np.float32)
    audio[12000:14400] = 0.5  # 0.5 s .. 0.6 s
    trimmed = trim_silence(audio, rate)
    assert len(trimmed) == 2400 + 240 + 1200  # the sound + 10 ms before + 50 ms after
    assert trim_silence(np.zeros(100, np.float32), rate).size == 0
    assert trim_silence(audio, rate, threshold_db=0.0).size == 0


def test_bad_voice_and_settings_are_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    with pytest.raises(ConfigError, match="unknown voice 'nobody'.*heart"):
        HibariTTS(voice="nobody")
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path))  # an empty voice cache
    with pytest.raises(ConfigError, match="'emma' is not installed"):
        HibariTTS(voice="emma")
    with pytest.raises(ConfigError, match="speed"):
        HibariTTS(speed=3.0)
    with pytest.raises(ConfigError, match="frame_ms"):
        TTSNode(engine=HibariTTS(), frame_ms=0)
