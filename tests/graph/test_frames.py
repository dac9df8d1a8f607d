"""Frames and control events: AudioFrame validation, derived values, equality, immutability."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from voicegraph.graph import (
    UNSTAMPED,
    AudioFrame,
    EndOfStream,
    Event,
    Frame,
    Interrupt,
    LLMText,
    NodeFailed,
    PlayoutMark,
    TextFrame,
    ToolCall,
    Transcript,
)


def audio(samples: int = 320, channels: int = 1, rate: int = 16000, pts: float = 0.0) -> AudioFrame:
    return AudioFrame(np.zeros((samples, channels), np.int16), rate, pts=pts)


# ---------------------------------------------------------------------------- AudioFrame


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.float64])
def test_audio_rejects_non_int16(dtype: type) -> None:
    with pytest.raises(TypeError, match=r"int16.*got dtype"):
        AudioFrame(np.zeros((10, 1), dtype), 16000)


@pytest.mark.parametrize("shape", [(10,), (2, 5, 1), ()])
def test_audio_rejects_wrong_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(TypeError, match=r"\(samples, channels\)"):
        AudioFrame(np.zeros(shape, np.int16), 16000)


def test_audio_rejects_non_array() -> None:
    with pytest.raises(TypeError, match=r"numpy array.*got list"):
        AudioFrame([0, 1, 2], 16000)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [0, -16000])
def test_audio_rejects_non_positive_rate(rate: int) -> None:
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        audio(rate=rate)


def test_audio_duration_and_end_pts() -> None:
    f = audio(samples=480, channels=2, rate=48000, pts=1.5)
    assert f.samples == 480
    assert f.channels == 2
    assert f.duration == pytest.approx(0.01)
    assert f.end_pts == pytest.approx(1.51)


def test_audio_empty_frame_is_allowed() -> None:
    f = audio(samples=0)
    assert f.duration == 0.0
    assert f.end_pts == f.pts


def test_audio_equality_compares_samples_rate_and_pts() -> None:
    pcm = np.arange(20, dtype=np.int16).reshape(10, 2)
    a = AudioFrame(pcm, 16000, pts=0.5)
    assert a == AudioFrame(pcm.copy(), 16000, pts=0.5)
    assert a != AudioFrame(pcm + 1, 16000, pts=0.5)
    assert a != AudioFrame(pcm, 8000, pts=0.5)
    assert a != AudioFrame(pcm, 16000, pts=0.0)
    assert a != "not a frame"


def test_audio_equality_ignores_epoch() -> None:
    assert audio() == dataclasses.replace(audio(), epoch=7)


def test_audio_is_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(audio())


# ---------------------------------------------------------------------------- every frame


def test_frames_are_frozen() -> None:
    f = TextFrame("hi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.text = "bye"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        audio().pts = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "frame",
    [
        audio(),
        TextFrame("x"),
        Transcript("x"),
        LLMText("x"),
        ToolCall("id", "f"),
        Interrupt(1),
        EndOfStream(),
        PlayoutMark(0.5),
    ],
)
def test_frames_are_slotted(frame: Frame | Event) -> None:
    assert not hasattr(frame, "__dict__")
    with pytest.raises((AttributeError, TypeError)):
        frame.unexpected = 1  # type: ignore[union-attr]


def test_epoch_defaults_to_unstamped_and_is_keyword_only() -> None:
    f = TextFrame("x")
    assert f.epoch == UNSTAMPED
    assert TextFrame("x", epoch=3).epoch == 3
    assert TextFrame("x", epoch=3) == TextFrame("x", epoch=4)  # epoch is not compared


def test_replace_keeps_validation() -> None:
    with pytest.raises(TypeError):
        dataclasses.replace(audio(), pcm=np.zeros(4, np.float32))


def test_control_events_are_not_data_frames() -> None:
    for event in (Interrupt(1), EndOfStream(), PlayoutMark(1.0), NodeFailed("n", "boom")):
        assert isinstance(event, Event)
        assert not isinstance(event, Frame)


def test_node_failed_extra_is_not_compared() -> None:
    assert NodeFailed("n", "boom", extra={"a": 1}) == NodeFailed("n", "boom")
