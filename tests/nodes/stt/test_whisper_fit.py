"""Whisper on a window fitted to the speech (nodes/stt/_whisper_fit.py), with the real model."""

from __future__ import annotations

from pathlib import Path

import anyio
import numpy as np
import numpy.typing as npt
import pytest

from voicegraph.graph import ConfigError, SpeechSegment
from voicegraph.nodes.audio import read_mono_wav
from voicegraph.nodes.stt import WhisperSTT
from voicegraph.nodes.stt._whisper import load_model
from voicegraph.nodes.stt._whisper_fit import (
    FULL_WINDOW,
    MIN_WINDOW,
    FittedResult,
    recognise_fitted,
    repeats_phrase,
    window_frames,
)

QUESTION = Path(__file__).parents[3] / "nodes" / "samples" / "question.wav"


def test_window_is_the_audio_plus_margin_within_bounds() -> None:
    assert window_frames(16000 * 1, 3.0) == MIN_WINDOW  # 1 s + 3 s < 5 s
    assert window_frames(16000 * 4 + 5, 3.0) == 800  # 7.0003 s, rounded up to whole seconds
    assert window_frames(16000 * 40, 3.0) == FULL_WINDOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the capital of France? What is the capital of France?", True),
        ("turn it off turn it off turn it off", True),
        ("in 1813, in 1813, in 1813, in 18", True),
        ("2, 2, 2, 2, 2", True),
        ("I had had enough.", False),
        ("Bye bye.", True),  # nothing but one word, twice: redone (only slower)
        ("Bye bye then.", False),
        ("", False),
    ],
)
def test_repeated_phrases_are_found(text: str, expected: bool) -> None:
    assert repeats_phrase(text) is expected


def test_broken_looking_results_are_suspicious() -> None:
    good = FittedResult("What time is it?", 0.01, -0.2, 0.9)
    assert not good.suspicious()
    assert FittedResult("What time is it?", 0.01, -0.2, 0.9, finished=False).suspicious()
    assert FittedResult("a a a a a a a a", 0.01, -0.2, 2.6).suspicious()
    assert FittedResult("blur", 0.01, -1.5, 0.9).suspicious()
    assert not FittedResult("", 0.9, -1.5, 0.0).suspicious()  # no words: the filter decides
    assert FittedResult("5 5", 0.01, -0.2, 0.6).suspicious()  # a spoken digit, twice
    assert not FittedResult("five", 0.01, -0.2, 0.6).suspicious()


@pytest.mark.parametrize("seconds", [2.0, 2.6, 4.4])
def test_fitted_window_gives_the_full_window_transcript(seconds: float) -> None:
    """Cut at 2.0-2.6 s a 3-5 s window made tiny.en repeat the question; with the margin it
    does not on AVX2 CPUs. With AVX-512's int8 kernels it still does at 2.0 s, and such a
    result is suspicious: the engine redoes it on the full window, so what it returns is
    the full window's transcript either way."""
    pcm, rate = read_mono_wav(QUESTION)
    audio = (pcm[: round(seconds * rate)] / 32768.0).astype(np.float32)
    model = load_model(None, "int8", 2)
    fitted = recognise_fitted(model, audio, language="en", margin=3.0)
    if fitted.text != "What is the capital of France?":
        assert fitted.suspicious(), fitted
    else:
        assert not fitted.suspicious() and fitted.no_speech_prob < 0.2
    assert anyio.run(transcribe, pcm[: round(seconds * rate)]) == "What is the capital of France?"


async def transcribe(pcm: npt.NDArray[np.int16]) -> str:
    """What the engine (fitted window, redone on the full one if suspicious) returns."""
    segment = SpeechSegment(
        pcm.reshape(-1, 1), 16000, speech_start=0.0, speech_end=len(pcm) / 16000
    )
    async with WhisperSTT() as engine:
        return await engine.transcribe(segment)


def test_window_setting_is_validated() -> None:
    assert WhisperSTT().config.window == "fitted"
    assert WhisperSTT(window="full").config.window == "full"
    with pytest.raises(ConfigError, match="window"):
        WhisperSTT(window="tiny")


def test_speech_from_the_first_sample_is_heard() -> None:
    """ "six" spoken from the first sample of its recording: Whisper needs a moment of
    silence in front (without it: no speech), so the engine puts 0.1 s there."""
    pcm, rate = read_mono_wav(
        Path(__file__).parents[3] / "benchmarks/speech/audiomnist-6_56_49.wav"
    )
    assert rate == 16000 and abs(int(pcm[0])) > 1000  # sound from the first sample
    assert anyio.run(transcribe, pcm).strip(" .").lower() in {"6", "six"}
    quiet = np.concatenate([np.zeros(1600, np.int16), pcm])
    assert anyio.run(transcribe, quiet).strip(" .").lower() in {"6", "six"}
