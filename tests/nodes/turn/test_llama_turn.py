"""LlamaTurn with the real bundled SmolLM2-135M: a finished question scores higher than its
unfinished start, the chat before the turn counts, the KV cache changes no answer; errors."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from voicegraph.graph import ConfigError, MissingDependencyError
from voicegraph.nodes.turn import LlamaTurn, TurnEngine
from voicegraph.nodes.turn._llama_turn import normalize_turn_text
from voicegraph.runner import RealClock, VirtualClock

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def engine() -> LlamaTurn:  # type: ignore[misc]
    try:
        async with LlamaTurn() as turn:
            yield turn
    except MissingDependencyError as exc:
        pytest.skip(str(exc))


async def test_a_finished_question_scores_higher_than_its_start(engine: LlamaTurn) -> None:
    assert not engine.uses_audio
    finished = await engine.end_of_turn_probability("What is the capital of France")
    unfinished = await engine.end_of_turn_probability("What is the capital of")
    assert finished > 0.1 > 0.01 > unfinished
    # Whisper's punctuation and capitals are not evidence: they change nothing
    assert await engine.end_of_turn_probability("what is the capital of, France?") == (
        pytest.approx(finished, abs=1e-4)
    )


async def test_the_cache_changes_no_answer(engine: LlamaTurn) -> None:
    first = await engine.end_of_turn_probability("I want to book a table for two")
    await engine.end_of_turn_probability("I want to book a table")  # a prefix of it
    again = await engine.end_of_turn_probability("I want to book a table for two")
    # the same up to llama.cpp's numerics: the shorter text's last token was re-evaluated
    # alone, not in a batch, which moves the answer by up to ~15 % of itself
    assert again == pytest.approx(first, rel=0.25)
    assert await engine.end_of_turn_probability("I want to book a table for two") == again


async def test_the_chat_before_the_turn_counts(engine: LlamaTurn) -> None:
    chat = [("user", "I'd like to order food."), ("assistant", "Sure! What would you like?")]
    answer = await engine.end_of_turn_probability("Pizza", chat=chat)
    unfinished = await engine.end_of_turn_probability("A pizza with", chat=chat)
    alone = await engine.end_of_turn_probability("Pizza")
    assert answer > 0.05 > unfinished
    assert answer != pytest.approx(alone, abs=1e-4)


async def test_nothing_said_is_not_an_end(engine: LlamaTurn) -> None:
    assert await engine.end_of_turn_probability("") == 0.0
    assert await engine.end_of_turn_probability(" ?! ") == 0.0


async def test_a_turn_longer_than_the_prompt_keeps_its_end(engine: LlamaTurn) -> None:
    long = "and then I went to the market " * 20 + "and what is the capital of France"
    chat = [("user", "hello " * 100), ("assistant", "hi")]
    async with LlamaTurn(max_prompt_tokens=64) as small:  # the history goes, then the start
        assert small.config.n_ctx == engine.config.n_ctx  # the same model: no second load
        assert await small.end_of_turn_probability(long, chat=chat) > 0.1
        assert 0.0 <= await small.end_of_turn_probability("x" * 3000) <= 1.0


async def test_the_model_takes_no_virtual_time(engine: LlamaTurn) -> None:
    clock, order = VirtualClock(), []

    async def wake_soon() -> None:
        await clock.sleep(0.001)
        order.append("woke")

    async with clock.running():
        engine.bind(clock)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(wake_soon)
                await engine.end_of_turn_probability("what time is it in tokyo right now")
                order.append(f"answered at {clock.now()}")
        finally:
            engine.bind(RealClock())
    assert order == ["answered at 0.0", "woke"]  # time stood still while the model ran


def test_normalization_drops_punctuation_and_case() -> None:
    assert (
        normalize_turn_text("  Well,  I'm   not SURE... half-done?")
        == "well i'm not sure half-done"
    )
    assert isinstance(LlamaTurn(), TurnEngine)


async def test_a_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"LlamaTurn: model file .*nope\.gguf.* does not exist"):
        async with LlamaTurn(model_path=str(tmp_path / "nope.gguf")):
            pass
