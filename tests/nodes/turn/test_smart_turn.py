"""SmartTurn (Smart Turn v3.2, ONNX) on the bundled question: a finished sentence sounds
finished, the same clip cut inside it does not; and the errors when the model is missing.

The model file ships inside the ``pipecat-ai`` wheel (``pip install --no-deps pipecat-ai``);
without it the model tests skip. ``SMART_TURN_MODEL=/path/to/smart-turn-v3.2-cpu.onnx`` points
them at another copy.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voicegraph.graph import ConfigError, MissingDependencyError, ProviderError
from voicegraph.nodes.audio import read_mono_wav
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.turn import SmartTurn, TurnEngine, end_of_turn_probability

RATE = 16000


def model_path() -> str:
    """The Smart Turn model to test with, or skip the test."""
    pytest.importorskip("onnxruntime")
    configured = os.environ.get("SMART_TURN_MODEL")
    if configured:
        return configured
    try:
        return str(SmartTurn().model_path)
    except MissingDependencyError:
        pytest.skip("Smart Turn's model is not installed (pip install --no-deps pipecat-ai)")


def question() -> npt.NDArray[np.int16]:
    """'What is the capital of France?': speech 0.5-1.95 s, silence to 4.4 s."""
    pcm, rate = read_mono_wav(sample_path("question"))
    assert rate == RATE
    return pcm


async def test_a_finished_question_scores_higher_than_the_same_clip_cut_inside_it() -> None:
    pcm = question()
    async with SmartTurn(model_path=model_path()) as engine:
        assert engine.uses_audio and engine.audio_seconds == 8.0
        finished = await engine.end_of_turn_probability("", audio=pcm)
        before_france = await engine.end_of_turn_probability("", audio=pcm[: int(1.45 * RATE)])
        inside_france = await engine.end_of_turn_probability("", audio=pcm[: int(1.6 * RATE)])
        again = await engine.end_of_turn_probability("", audio=pcm)
    assert finished > 0.9
    assert finished > before_france
    assert inside_france < 0.5 < finished
    assert again == pytest.approx(finished, abs=1e-6)  # deterministic


async def test_only_the_last_eight_seconds_count() -> None:
    noise = np.random.default_rng(0).integers(-8000, 8000, 12 * RATE).astype(np.int16)
    long = np.concatenate([noise, question()])
    async with SmartTurn(model_path=model_path()) as engine:
        whole = await engine.end_of_turn_probability("", audio=long)
        last = await engine.end_of_turn_probability("", audio=long[-8 * RATE :])
        shorter = await engine.end_of_turn_probability("", audio=long[-6 * RATE :])
    assert whole == pytest.approx(last, abs=1e-6)
    assert shorter != pytest.approx(last, abs=1e-6)  # the front of the window is heard


async def test_without_audio_it_falls_back_to_the_text_heuristic() -> None:
    engine = SmartTurn(model_path="/nonexistent/smart-turn.onnx")  # never loaded
    assert isinstance(engine, TurnEngine)
    text = "I want to book a table and"
    assert await engine.end_of_turn_probability(text) == end_of_turn_probability(text)
    empty = np.zeros(0, np.int16)
    assert await engine.end_of_turn_probability("Hi?", audio=empty) == 0.95


async def test_a_missing_model_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"SmartTurn: model file .*nope\.onnx.* does not exist"):
        async with SmartTurn(model_path="/nonexistent/nope.onnx"):
            pass


async def test_a_file_that_is_not_a_model_is_a_provider_error(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(ProviderError, match="cannot load"):
        async with SmartTurn(model_path=str(bad)):
            pass


async def test_without_pipecat_the_error_says_how_to_get_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", missing)
    with pytest.raises(MissingDependencyError) as caught:
        async with SmartTurn():
            pass
    message = str(caught.value)
    assert "pip install --no-deps pipecat-ai" in message
    assert "model_path" in message
    assert caught.value.package == "pipecat-ai"
