"""Per-agent models: each agent brings its own voice (TTS) and LLM; the graph stays the same.

A front-desk agent greets the caller in a quicker voice, then hands over to an expert that
answers with its own LLM settings. Models are engines: the session's host nodes stay in the
graph and swap in the active agent's engines (``Agent(llm=, stt=, tts=, vad=)``), and back to
the session's when an agent without its own takes over.

    python examples/agent_models.py             # embedded models (SmolLM2, hibari), offline
    python examples/agent_models.py --scripted  # scripted models (real VAD), instant

The caller (the bundled ``question.wav``, after 3 s of silence) asks "What is the capital
of France?" once the greeting is over.
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio
import numpy as np
import soundfile as sf

from voicegraph.graph import Engine
from voicegraph.nodes.agent import Agent, AgentSession, SessionEvent
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import LLMEngine
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.tts import TTSEngine
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS


class Expert(Agent):
    """Answers questions, with its own (more deterministic) LLM."""

    def __init__(self, llm: LLMEngine) -> None:
        super().__init__(instructions="You answer general knowledge questions briefly.", llm=llm)


class FrontDesk(Agent):
    """Greets in its own voice, then passes the caller on."""

    def __init__(self, voice: TTSEngine, expert: Expert) -> None:
        super().__init__(instructions="You greet callers.", tts=voice)
        self.expert = expert

    async def on_enter(self) -> None:
        self.session.say("Hello, you are through to the front desk. Let me pass you on.")
        self.session.update_agent(self.expert)  # once the greeting has played


def whose(engine: Engine, own: Engine | None) -> str:
    """``"own ScriptedTTS"`` for the agent's own engine, ``"session ScriptedTTS"`` else."""
    return f"{'own' if engine is own else 'session'} {engine.label()}"


def caller_audio() -> tuple[np.ndarray[Any, Any], int]:
    pcm, rate = sf.read(sample_path("question"), dtype="int16")
    return np.concatenate([np.zeros(3 * rate, np.int16), pcm]), rate


async def main(scripted: bool) -> AgentSession[Any]:
    session_models: dict[str, Any]
    if scripted:
        session_models = {
            "stt": ScriptedSTT(texts=["What is the capital of France?"]),
            "llm": ScriptedLLM(replies=[]),  # never used: each agent brings its own
            "tts": ScriptedTTS(),
        }
        quick_voice: TTSEngine = ScriptedTTS(seconds_per_char=0.04)
        expert_llm: LLMEngine = ScriptedLLM(replies=["The capital of France is Paris."])
    else:
        from voicegraph.nodes.llm import LlamaLLM
        from voicegraph.nodes.tts import HibariTTS

        session_models = {}  # Silero, Whisper, SmolLM2 and hibari
        quick_voice = HibariTTS(speed=1.3)
        expert_llm = LlamaLLM(temperature=0.0, max_tokens=48)

    session: AgentSession[Any] = AgentSession(clock=VirtualClock(), **session_models)

    front = FrontDesk(quick_voice, Expert(expert_llm))
    agents: dict[str, Agent] = {front.id: front, front.expert.id: front.expert}
    speaking: list[Agent] = [front]  # whose messages follow (events arrive in order)

    def built_with(host: Any) -> Engine:
        engine: Engine = host.parts()["engine"]
        return engine

    @session.on("conversation_item_added")
    def show(event: SessionEvent) -> None:
        item: Any = getattr(event, "item", None)
        if item.type == "agent_handoff":
            speaking.append(agents[item.new_agent_id])
            print(f"[{event.created_at:5.2f}s] handoff: {item.old_agent_id} -> {item.new_agent_id}")
        elif item.role == "assistant":
            assert session.pipeline is not None
            agent = speaking[-1]
            voice = whose(agent.tts or built_with(session.pipeline.tts), agent.tts)
            llm = whose(agent.llm or built_with(session.llm), agent.llm)
            print(f"[{event.created_at:5.2f}s] {agent.id} (voice {voice}, llm {llm}): {item.text}")
        else:
            print(f"[{event.created_at:5.2f}s] {item.role}: {item.text}")

    pcm, rate = caller_audio()
    await session.start(
        front,
        audio=MemorySource(pcm=pcm, sample_rate=rate, realtime=True),
    )
    await session.wait()
    return session


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripted", action="store_true", help="scripted STT, LLM and TTS")
    args = parser.parse_args()
    anyio.run(main, args.scripted)
