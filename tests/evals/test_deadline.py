"""A file whose run hangs is stopped at its deadline and reported; the next file still runs."""

from __future__ import annotations

from collections.abc import AsyncIterable
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import soundfile as sf

from voicegraph.evals import EvalSettings, FileSpec, evaluate
from voicegraph.graph import Clock
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.samples import sample_path
from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS


class Hangs(Agent):
    """Never answers: its LLM step waits forever."""

    def __init__(self) -> None:
        super().__init__(instructions="Help.")

    async def llm_node(self, chat_ctx: Any, tools: Any, model_settings: Any) -> AsyncIterable[str]:
        await anyio.sleep_forever()
        yield ""


def scripted(clock: Clock) -> AgentSession[Any]:
    return AgentSession(
        stt=ScriptedSTT(texts=["what is the capital of france"] * 2),
        llm=ScriptedLLM(replies=["Paris."] * 2), tts=ScriptedTTS(), clock=clock,
    )  # fmt: skip


def test_a_hanging_run_is_stopped_at_its_deadline(tmp_path: Path) -> None:
    question, rate = sf.read(sample_path("question"), dtype="int16")
    sf.write(tmp_path / "q.wav", np.concatenate([question, np.zeros(rate // 2, np.int16)]), rate)
    spec = FileSpec("q", str(tmp_path / "q.wav"), transcript="What is the capital of France?")
    settings = EvalSettings(realtime=True, session=scripted, timeout=len(question) / rate + 1.5)
    report = evaluate([spec, spec], Hangs, settings)
    for result in report.files:
        assert result.error is not None and "did not end within" in result.error
        assert "EvalSettings.timeout" in result.error
    assert EvalSettings().deadline(10.0) == 90.0 and EvalSettings(timeout=5).deadline(10.0) == 5
