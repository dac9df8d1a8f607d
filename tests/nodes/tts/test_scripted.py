"""ScriptedTTS in a TTSNode, and the speaking chain: SentenceSplitter >> TTSNode >> AudioOutput."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from voicegraph.graph import (
    Control,
    Event,
    Graph,
    In,
    LLMText,
    Node,
    Out,
    PlayoutMark,
    Sentence,
    SpeechAudio,
)
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.tts import ScriptedTTS, SentenceSplitter, TTSNode
from voicegraph.runner import Runner, VirtualClock


class Say(Node):
    sentences: Out[Sentence]

    def __init__(self, sentences: list[Sentence]) -> None:
        super().__init__()
        self.items = sentences

    async def run(self) -> None:
        for s in self.items:
            await self.emit(self.sentences, s)


class Keep(Node):
    audio: In[SpeechAudio]

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[SpeechAudio] = []

    async def on_audio(self, frame: SpeechAudio) -> None:
        self.frames.append(frame)


async def test_duration_follows_the_text_and_spaces_are_silent() -> None:
    g = Graph()
    say = g.add(Say([Sentence("Hi you."), Sentence("Bye!", final=True)]))
    engine = ScriptedTTS(sample_rate=16000)
    tts = g.add(TTSNode(engine=engine))
    keep = g.add(Keep())
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    await Runner(g, clock=VirtualClock()).run()
    assert tts.audio.sample_rate == 16000 and tts.name == "tts"
    assert list(engine.spoken) == ["Hi you.", "Bye!"]
    first = [f for f in keep.frames if f.text == "Hi you."]
    assert len(first) * 0.02 == pytest.approx(7 * 0.06)  # 7 characters
    pcm = np.concatenate([f.pcm[:, 0] for f in first])
    per_char = int(0.06 * 16000)
    assert not pcm[2 * per_char : 3 * per_char].any()  # the space
    assert np.abs(pcm[:per_char]).max() > 5000
    assert [f.final for f in keep.frames].count(True) == 1 and keep.frames[-1].final


async def test_latency_delays_the_first_frame() -> None:
    g = Graph()
    say = g.add(Say([Sentence("Hello.", final=True)]))
    tts = g.add(TTSNode(engine=ScriptedTTS(latency=0.25)))
    keep = g.add(Keep())
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    await Runner(g, clock=VirtualClock()).run()
    assert list(tts.ttfb) == [pytest.approx(0.25)]


class LLM(Node):
    """Streams replies word by word, 50 ms apart; ("wait", s) pauses between replies."""

    text: Out[LLMText]

    def __init__(self, script: list[Any]) -> None:
        super().__init__()
        self.script = script

    async def run(self) -> None:
        for item in self.script:
            if isinstance(item, tuple):
                await self.clock.sleep(item[1])
                continue
            words = item.split(" ")
            for i, word in enumerate(words):
                delta = word if i == 0 else " " + word
                await self.emit(self.text, LLMText(delta))
                await self.clock.sleep(0.05)
            await self.emit(self.text, LLMText("", final=True))


class Marks(Node):
    marks: In[Control]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[float, PlayoutMark]] = []

    async def on_event(self, event: Event) -> None:
        assert isinstance(event, PlayoutMark)
        self.got.append((self.clock.now(), event))


async def test_splitter_tts_and_output_speak_a_streamed_reply() -> None:
    reply = "Sure, **Paris** is the capital of France. It has 2.1 million people!"
    g = Graph()
    with g:
        llm = LLM([reply, ("wait", 1.0), "Anything else?"])
        # 50 ms a word is slower than first_wait allows for: this test is about whole chunks
        # (the bounded first wait is tested in test_splitter.py)
        splitter = SentenceSplitter(first_wait=None)
        tts = TTSNode(engine=ScriptedTTS(), sentence_pause=0.1)
        speaker = AudioOutput()
        llm >> splitter >> tts >> speaker
    marks = g.add(Marks())
    g.connect(speaker.marks, marks.marks)
    clock = VirtualClock()
    await Runner(g, clock=clock).run()
    first, second = speaker.played_replies
    assert first == (
        "Sure, Paris is the capital of France. It has 2.1 million people!",
        pytest.approx(first[1]),
        False,
    )
    assert second[0] == "Anything else?"
    # clause-first chunking: audio starts as soon as "Sure, Paris is the capital of France."
    # is complete (the comma comes before min_first_chars), i.e. when the word after it arrives
    assert speaker.reply_started_at[0] == pytest.approx(7 * 0.05)
    kinds = [
        ("start" if m.played == 0 else "final" if m.final else "sentence") for _, m in marks.got
    ]
    assert kinds == ["start", "sentence", "final", "start", "final"]
    assert marks.got[1][1].text == "Sure, Paris is the capital of France."
    # two sentences of 37 + 26 characters at 0.06 s each, plus one pause, all heard
    assert first[1] == pytest.approx((37 + 26) * 0.06 + 0.1)
