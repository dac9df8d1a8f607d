"""HibariTTS output is intelligible: Whisper (offline) transcribes it back with WER <= 0.2."""

from __future__ import annotations

import numpy as np
import pytest

from voicegraph.graph import Graph, In, InputError, Node, Out, Sentence, SpeechAudio
from voicegraph.nodes.tts import (
    HibariTTS,
    TTSNode,
    normalize_words,
    transcribe_audio,
    word_error_rate,
)
from voicegraph.runner import Runner, VirtualClock

REPLY = ["The capital of France is Paris.", "It has about two million people."]


class Say(Node):
    sentences: Out[Sentence]

    async def run(self) -> None:
        for i, text in enumerate(REPLY):
            await self.emit(self.sentences, Sentence(text, final=i == len(REPLY) - 1))


class Keep(Node):
    audio: In[SpeechAudio]

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[SpeechAudio] = []

    async def on_audio(self, frame: SpeechAudio) -> None:
        self.frames.append(frame)


async def test_hibari_speech_transcribes_back_to_the_text() -> None:
    g = Graph()
    with g:
        keep = Keep()
        Say() >> TTSNode(engine=HibariTTS()) >> keep
    await Runner(g, clock=VirtualClock()).run()
    pcm = np.concatenate([f.pcm for f in keep.frames])
    heard = transcribe_audio(pcm, 24000)
    assert word_error_rate(" ".join(REPLY), heard) <= 0.2, heard


def test_word_error_rate() -> None:
    assert word_error_rate("Mr. Smith has 2 cats.", "mister smith has two cats") == 0.0
    assert word_error_rate("a b c d", "a x c") == pytest.approx(0.5)  # one sub, one del
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "noise") == 1.0
    assert normalize_words("It's 3 o'clock—right?") == ["it's", "three", "o'clock", "right"]


def test_transcribe_rejects_a_bad_rate_and_handles_silence() -> None:
    with pytest.raises(InputError, match="sample_rate"):
        transcribe_audio(np.zeros(10, np.int16), 0)
    assert transcribe_audio(np.zeros(0, np.int16), 16000) == ""


@pytest.mark.parametrize(
    ("reference", "heard"),
    [
        ("IN EIGHTEEN THIRTEEN", "In 1813."),
        ("nineteen oh five", "1905"),
        ("one hundred and five people", "105 people"),
        ("two hundred twenty-five million miles", "225,000,000 miles"),
        ("three point five", "3.5"),
        ("zero zero seven", "007"),
        ("the year two thousand", "the year 2000"),
        ("twenty twenty four", "2024"),
    ],
)
def test_numbers_in_digits_score_as_the_words_said(reference: str, heard: str) -> None:
    assert word_error_rate(reference, heard) == 0.0, normalize_words(heard)


def test_and_is_dropped_only_inside_a_number() -> None:
    assert normalize_words("bread and butter, one hundred and ten") == [
        "bread", "and", "butter", "one", "hundred", "ten",
    ]  # fmt: skip
    assert word_error_rate("one hundred and five", "105 and") == pytest.approx(1 / 3)
