"""A voice agent on a recording: turn taking, barge-in and the session's events.

The bundled ``barge_in.wav`` asks for a long story, lets the agent talk for three seconds,
then cuts in: "Wait, stop. Tell me about Paris instead." The session prints its events as
they happen (LiveKit's names: user/agent state, transcripts, replies, metrics) and, at the
end, the history: the interrupted reply keeps only the words that were played.

    python examples/voice_agent.py             # embedded models: Silero, Whisper, SmolLM2, hibari
    python examples/voice_agent.py --scripted  # scripted STT/LLM/TTS (real VAD), instant
    python examples/voice_agent.py --output reply.wav   # also record what the agent said

Runs on the virtual clock: the timeline is the recording's, however fast the models are.
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from voicegraph.nodes.agent import Agent, AgentSession, SessionEvent
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS


class Storyteller(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You tell short stories. Answer in two sentences.")


def line(event: SessionEvent) -> str | None:
    e: Any = event
    if event.type in ("user_state_changed", "agent_state_changed"):
        return f"{event.type.split('_')[0]:>5} is {e.new_state}"
    if event.type == "user_input_transcribed":
        return f"  heard: {e.transcript!r}"
    if event.type == "conversation_item_added" and e.item.type == "message":
        cut = " [interrupted]" if e.item.interrupted else ""
        return f"  {e.item.role}: {e.item.text}{cut}"
    if event.type == "agent_false_interruption":
        return "  (a false interruption: the agent resumed)"
    return None


async def main(scripted: bool, output: str | None) -> AgentSession[Any]:
    options: dict[str, Any] = {}
    if scripted:
        options = {
            "stt": ScriptedSTT(
                texts=[
                    "Tell me a long story about a dragon who learns to fly.",
                    "Wait, stop.",
                    "Tell me about Paris instead.",
                ]
            ),
            "llm": ScriptedLLM(
                replies=[
                    "Once upon a time a small dragon lived on a hill. Every night it dreamed of "
                    "flying over the sea, and every morning it tried again.",
                    # generated ahead on "Wait, stop." (preemptive generation), then
                    # discarded when the user went on: never heard
                    "Alright, I will stop.",
                    "Paris is the capital of France, famous for the Eiffel Tower.",
                ]
            ),
            "tts": ScriptedTTS(),
        }
    session: AgentSession[Any] = AgentSession(clock=VirtualClock(), **options)

    @session.on("user_state_changed")
    @session.on("agent_state_changed")
    @session.on("user_input_transcribed")
    @session.on("conversation_item_added")
    @session.on("agent_false_interruption")
    def show(event: SessionEvent) -> None:
        text = line(event)
        if text is not None:
            print(f"[{event.created_at:6.2f}s] {text}")

    await session.start(
        Storyteller(),
        audio=WavSource(path=str(sample_path("barge_in"))),
        output=AudioOutput(path=output),
    )
    await session.wait()  # until the recording has ended and the agent has finished
    print("\nhistory:")
    for message in session.history.messages[1:]:
        print(f"  {message.role}: {message.text}{' [cut]' if message.interrupted else ''}")
    return session


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripted", action="store_true", help="scripted STT, LLM and TTS")
    parser.add_argument("--output", help="record the agent's voice to this WAV file")
    args = parser.parse_args()
    anyio.run(main, args.scripted, args.output)
