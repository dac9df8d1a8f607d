"""Voice-to-voice measured from the audio: synthetic tones and silence with known onsets."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicegraph.nodes.agent._latency import (
    audible_windows,
    first_audible,
    heard_latency,
    last_audible_end,
)

RATE = 16000


def tone(seconds: float, rate: int = RATE, amplitude: float = 0.3) -> npt.NDArray[np.int16]:
    t = np.arange(round(seconds * rate)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def silence(seconds: float, rate: int = RATE) -> npt.NDArray[np.int16]:
    return np.zeros(round(seconds * rate), np.int16)


def test_the_threshold_is_minus_40_dbfs_rms() -> None:
    # a sine's RMS is amplitude / sqrt(2): -37 dBFS is audible, -43 dBFS is not
    loud = tone(0.02, amplitude=10 ** (-37 / 20) * np.sqrt(2))
    quiet = tone(0.02, amplitude=10 ** (-43 / 20) * np.sqrt(2))
    assert audible_windows(loud, RATE).tolist() == [True]
    assert audible_windows(quiet, RATE).tolist() == [False]


def test_windows_are_20_ms_from_sample_0() -> None:
    audio = np.concatenate([silence(0.1), tone(0.06), silence(0.05)])
    assert audible_windows(audio, RATE).tolist() == [False] * 5 + [True] * 3 + [False] * 3
    assert last_audible_end(audio, RATE, 0.0, 1.0) == 0.16
    assert first_audible(audio, RATE, 0.0) == 0.1
    assert first_audible(audio, RATE, 0.2) is None


def test_an_onset_inside_a_window_is_found_within_one_window() -> None:
    audio = np.concatenate([silence(0.513), tone(0.2)])
    onset = first_audible(audio, RATE, 0.0)
    assert onset is not None and 0.513 - 0.02 < onset <= 0.513


def test_a_turn_is_timed_from_the_true_end_of_speech_to_the_first_audible_reply() -> None:
    # the user speaks 0.5-1.5 s, then a quiet breath well below -40 dBFS; the turn is decided
    # at 2.4 s; the reply starts playing at 2.6 s with 0.3 s of leading silence
    user = np.concatenate([silence(0.5), tone(1.0), tone(0.5, amplitude=0.001), silence(2.0)])
    agent_rate = 24000
    agent = np.concatenate(
        [silence(2.6, agent_rate), silence(0.3, agent_rate), tone(1.0, agent_rate)]
    )
    heard = heard_latency(user, RATE, agent, agent_rate, decided=2.4, reply_start=2.6)
    assert heard is not None
    assert heard.speech_end == 1.5 and heard.first_audio == 2.9
    assert abs(heard.latency - 1.4) < 1e-9


def test_only_the_turn_s_speech_and_the_reply_s_audio_count() -> None:
    # earlier speech (before turn_start) and the previous reply's tail (before reply_start)
    # are ignored; speech after the decision is the next turn's
    user = np.concatenate([tone(0.4), silence(1.0), tone(0.4), silence(1.0), tone(0.4)])
    agent = np.concatenate([silence(1.0), tone(1.2), silence(0.3), tone(0.5), silence(1.0)])
    heard = heard_latency(
        user, RATE, agent, RATE, decided=2.2, reply_start=2.2, turn_start=1.0, reply_end=3.5
    )
    assert heard is not None and heard.speech_end == 1.8 and heard.first_audio == 2.5


def test_silence_on_either_side_gives_no_figure() -> None:
    quiet, speech = silence(3.0), np.concatenate([tone(1.0), silence(2.0)])
    assert heard_latency(quiet, RATE, speech, RATE, decided=2.0, reply_start=0.0) is None
    assert heard_latency(speech, RATE, quiet, RATE, decided=2.0, reply_start=2.0) is None
