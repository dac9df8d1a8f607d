"""The command line's aligned reply and stereo conversation (nodes/audio/_recordings.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicegraph.nodes.audio import (
    align_recording,
    read_mono_wav,
    stereo_conversation,
    write_wav,
)


def test_align_drops_the_time_before_the_input_started() -> None:
    recording = np.arange(100, dtype=np.int16)
    assert align_recording(recording, 10, 2.5).tolist() == list(range(25, 100))
    assert align_recording(recording, 10, -0.3).tolist() == [0, 0, 0, *range(100)]


def test_conversation_is_user_left_agent_right_at_the_higher_rate() -> None:
    user = np.full(8, 1000, np.int16)  # 1 s at 8 Hz
    agent = np.concatenate([np.zeros(8, np.int16), np.full(8, -500, np.int16)])  # 1 s at 16 Hz
    stereo, rate = stereo_conversation(user, 8, agent, 16)
    assert rate == 16 and stereo.shape == (16, 2)
    assert stereo[:, 0].tolist() == [1000] * 16  # resampled to 16 Hz: still 1 s
    assert stereo[:, 1].tolist() == agent.tolist()


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    stereo = np.array([[1, -1], [2, -2], [3, -3]], np.int16)
    write_wav(tmp_path / "c.wav", stereo, 16000)
    mono, rate = read_mono_wav(tmp_path / "c.wav")
    assert rate == 16000 and mono.tolist() == [0, 0, 0]
