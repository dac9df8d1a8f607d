"""Push to talk: ``turn_detection="manual"``; the user's turn ends when the button is released.

The app calls ``session.interrupt()`` when the button goes down (the agent stops talking)
and ``session.commit_user_turn()`` when it comes up; ``session.clear_user_turn()`` drops
what was said (a cancelled press). No endpointing delay, however long the user pauses.
The recording is the bundled ``question.wav``; the "button" is pressed at 0.2 s and
released at 4.0 s (1.5 s after the user stopped talking: an automatic turn would have ended
at ~2.6 s).

    python examples/push_to_talk.py             # embedded models, offline
    python examples/push_to_talk.py --scripted  # scripted STT/LLM/TTS (real VAD), instant
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import anyio

from voicegraph.nodes.agent import Agent, AgentSession, SessionEvent
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.llm import DEFAULT_INSTRUCTIONS
from voicegraph.nodes.samples import sample_path
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS

Button = list[tuple[float, str, Callable[[AgentSession[Any]], object]]]

BUTTON: Button = [
    (0.2, "button down", lambda s: s.interrupt()),
    (4.0, "button up", lambda s: s.commit_user_turn()),
]


async def main(scripted: bool) -> AgentSession[Any]:
    models: dict[str, Any] = {}
    if scripted:
        models = {
            "stt": ScriptedSTT(texts=["What is the capital of France?"]),
            "llm": ScriptedLLM(replies=["The capital of France is Paris."]),
            "tts": ScriptedTTS(),
        }
    session: AgentSession[Any] = AgentSession(
        clock=VirtualClock(), turn_detection="manual", **models
    )

    @session.on("user_input_transcribed")
    @session.on("speech_created")
    @session.on("conversation_item_added")
    def show(event: SessionEvent) -> None:
        e: Any = event
        if event.type == "user_input_transcribed":
            text = f"heard (not a turn yet): {e.transcript}"
        elif event.type == "speech_created":
            text = "the agent starts its reply"
        else:
            text = f"{e.item.role}: {e.item.text}"
        print(f"[{event.created_at:5.2f}s] {text}")

    source = WavSource(path=str(sample_path("question")), realtime=True)
    await session.start(Agent(instructions=DEFAULT_INSTRUCTIONS), audio=source)

    clock = session.clock
    assert clock is not None  # the session runs

    async def press_the_button() -> None:
        for at, what, action in BUTTON:
            await clock.sleep(at - clock.now())
            print(f"[{clock.now():5.2f}s] {what}")
            action(session)

    async with anyio.create_task_group() as tg:
        tg.start_soon(press_the_button)
        await session.wait()
    return session


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripted", action="store_true", help="scripted STT, LLM and TTS")
    args = parser.parse_args()
    anyio.run(main, args.scripted)
