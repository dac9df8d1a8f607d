"""A playground agent for tests: scripted STT, LLM and TTS around the real Silero VAD.

``voicegraph playground tests/playground/scripted_agent.py`` talks with it: the first turn is
transcribed as the bundled question's words and answered with a long reply (tone "speech",
about 9 s), so a second utterance barges in while the agent speaks.
"""

from __future__ import annotations

from typing import Any

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner.worker import JobContext

QUESTION = "What is the capital of France?"
REPLY = (
    "Paris is the capital of France, a city on the Seine, famous for its museums, "
    "its cafes and the Eiffel Tower."
)
SECOND = "Wait, stop. Tell me about Paris instead."


async def entrypoint(ctx: JobContext) -> None:
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=[QUESTION, SECOND, SECOND]),
        llm=ScriptedLLM(replies=[REPLY, "Paris has about two million people.", "Yes."]),
        tts=ScriptedTTS(seconds_per_char=0.08),
        turn_detection="vad",
    )
    await session.start(Agent(instructions="Answer briefly."), room=ctx.room)
