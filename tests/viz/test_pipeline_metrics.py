"""``VoicePipeline.turn_metrics()`` measures voice-to-voice from the audio by itself when the
source is a WAV file and the output records (as the notebooks call it, with no arguments)."""

from __future__ import annotations

from typing import Any


def test_turn_metrics_read_the_input_and_the_recording(session: Any) -> None:
    rows = session.pipeline.turn_metrics()
    heard = [r for r in rows if r.voice_to_voice is not None]
    assert heard, rows  # the barge-in clip's turns were answered and heard
    for row in heard:
        assert row.vad_lag is not None and row.leading_silence is not None
        assert 0.0 < row.voice_to_voice < 5.0
