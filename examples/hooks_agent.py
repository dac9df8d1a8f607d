"""Pipeline hooks, as in LiveKit: one agent overrides each stage of its voice pipeline.

* ``stt_node``: fixes a word the STT gets wrong, after ``Agent.default.stt_node``.
* ``on_user_turn_completed``: looks the question up (RAG) and adds the notes to this turn.
* ``llm_node``: filters the model's stream (drops a word) and adds a closing.
* ``tts_node``: speaks a brand name the way it is pronounced.
* ``transcription_node``: records the reply without markdown.

Run::

    python examples/hooks_agent.py   # scripted STT/LLM/TTS on a bundled question, instant
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio

from voicegraph.nodes.agent import Agent, AgentSession, ModelSettings
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.llm import ChatContext, ChatMessage, LLMChunk, ScriptedLLM
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner import VirtualClock

NOTES = {"livekit": "LiveKit is an open source framework for realtime voice and video."}


class Guide(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Answer from the notes, in one sentence.")

    async def stt_node(self, audio: AsyncIterable[Any], model_settings: ModelSettings) -> Any:
        async for text in Agent.default.stt_node(self, audio, model_settings):
            yield text.replace("live kit", "LiveKit")

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        found = [note for key, note in NOTES.items() if key in new_message.text.lower()]
        if found:  # for this reply only: the history does not keep the notes
            turn_ctx.add_message("assistant", "Notes: " + " ".join(found))

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[Any], model_settings: ModelSettings
    ) -> AsyncIterator[LLMChunk | str]:
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            if chunk.text.strip().lower() != "basically":
                yield chunk
        yield " Anything else?"

    async def tts_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        async def pronounced() -> AsyncIterator[str]:
            async for sentence in text:
                yield sentence.replace("LiveKit", "Live Kit")

        async for frame in Agent.default.tts_node(self, pronounced(), model_settings):
            yield frame

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for delta in text:
            yield delta.replace("**", "")


async def main() -> None:
    llm = ScriptedLLM(replies=["**LiveKit** is basically a realtime framework."])
    tts = ScriptedTTS()
    seen: list[str] = []

    class Recorded(Guide):  # shows what the model was given
        async def llm_node(self, chat_ctx: ChatContext, tools: Any, settings: Any) -> Any:
            seen.extend(m.text for m in chat_ctx.messages if m.role != "system")
            async for chunk in super().llm_node(chat_ctx, tools, settings):
                yield chunk

    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=["what is live kit"]), llm=llm, tts=tts, clock=VirtualClock()
    )
    await session.start(
        Recorded(), audio=WavSource(path=str(sample_path("question"))), output=AudioOutput()
    )
    await session.wait()
    print("model saw:", " | ".join(seen))
    for message in session.history.messages:
        if message.role != "system":
            print(f"{message.role}: {message.text}")
    print("spoken:", " | ".join(tts.spoken))


if __name__ == "__main__":
    anyio.run(main)
