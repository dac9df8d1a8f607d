"""trim_silence: the onset rule (a quiet breath before the word is cut, a 10 ms faded lead
kept), the trailing margin, and quiet audio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicegraph.nodes.tts import trim_silence

RATE = 24000
MS = RATE // 1000


def db(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))))


def breath_then_tone(breath_db: float, tone_db: float) -> np.ndarray:
    """0.3 s of silence, 60 ms of noise at ``breath_db``, 0.3 s of 200 Hz tone at ``tone_db``,
    0.3 s of silence (levels are RMS dBFS)."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(60 * MS)
    noise *= 10 ** (breath_db / 20) / np.sqrt(np.mean(noise**2))
    t = np.arange(300 * MS) / RATE
    tone = np.sqrt(2) * 10 ** (tone_db / 20) * np.sin(2 * np.pi * 200 * t)
    silence = np.zeros(300 * MS)
    return np.concatenate([silence, noise, tone, silence]).astype(np.float32)


def test_a_quiet_breath_before_the_word_is_cut_keeping_a_faded_10ms_lead() -> None:
    audio = breath_then_tone(breath_db=-45.0, tone_db=-12.0)
    tone_start = 360 * MS
    out = trim_silence(audio, RATE)
    # starts 10 ms (LEAD_MARGIN) before the tone: the last 10 ms of the breath are kept
    assert len(out) == 10 * MS + 300 * MS + 50 * MS  # lead + tone + TAIL_MARGIN
    np.testing.assert_array_equal(out[10 * MS : 20 * MS], audio[tone_start : tone_start + 10 * MS])
    # the first 20 ms frame is audible (> -40 dBFS), the lead is faded in (no click)
    assert db(out[: 20 * MS]) > -40
    assert abs(out[0]) < 1e-4 < np.abs(out[5 * MS : 10 * MS]).max()
    ramp = np.abs(out[: 5 * MS]) / np.maximum(
        np.abs(audio[tone_start - 10 * MS :][: 5 * MS]), 1e-12
    )
    assert np.all(np.diff(ramp) >= -1e-6) and ramp[-1] == pytest.approx(1.0, abs=0.01)
    np.testing.assert_array_equal(out[5 * MS :], audio[tone_start - 5 * MS :][: len(out) - 5 * MS])


def test_the_old_rule_keeps_the_breath() -> None:
    audio = breath_then_tone(breath_db=-45.0, tone_db=-12.0)
    out = trim_silence(audio, RATE, onset_db=-50.0)
    assert len(out) == 10 * MS + 60 * MS + 300 * MS + 50 * MS  # lead + breath + tone + tail
    assert db(out[: 20 * MS]) < -40  # the first frame is not audible


def test_sound_within_20db_of_the_peak_is_kept() -> None:
    # a consonant 15 dB below the vowel is part of the word: the onset is before it
    audio = breath_then_tone(breath_db=-27.0, tone_db=-12.0)
    assert len(trim_silence(audio, RATE)) == 10 * MS + 60 * MS + 300 * MS + 50 * MS


def test_quiet_speech_is_trimmed_at_the_silence_threshold() -> None:
    # peak at -35 dBFS: 20 dB below it is under -50 dBFS, so the threshold decides the onset
    audio = breath_then_tone(breath_db=-48.0, tone_db=-35.0)
    assert len(trim_silence(audio, RATE)) == 10 * MS + 60 * MS + 300 * MS + 50 * MS
    assert trim_silence(audio, RATE, threshold_db=-30.0).size == 0


def test_audio_starting_loud_is_not_faded() -> None:
    audio = breath_then_tone(breath_db=-45.0, tone_db=-12.0)[360 * MS :]
    out = trim_silence(audio, RATE)
    np.testing.assert_array_equal(out, audio[: 350 * MS])  # no lead to fade; tail trimmed


def test_quieter_speech_keeps_sound_within_20db_of_its_peak() -> None:
    # peak at -25 dBFS: a -43 dBFS consonant is within 20 dB of it, so it starts the word
    audio = breath_then_tone(breath_db=-43.0, tone_db=-25.0)
    assert len(trim_silence(audio, RATE)) == 10 * MS + 60 * MS + 300 * MS + 50 * MS
    assert len(trim_silence(audio, RATE, onset_below_peak=10.0)) == 10 * MS + 300 * MS + 50 * MS
