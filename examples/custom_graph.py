"""Your own graph: the standard voice graph plus a node of yours, run by an AgentSession.

``voice_pipeline(..., controller=AgentController(), tools=AgentToolExecutor())`` builds the
graph a session would build; you add a ``Captions`` node (live captions of what the user
said and of what the listener actually heard) and hand the graph to
``session.start(agent, graph=...)``. The session binds its nodes and runs it.

    python examples/custom_graph.py             # embedded models, offline
    python examples/custom_graph.py --scripted  # scripted STT/LLM/TTS (real VAD), instant
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from voicegraph.graph import Control, Event, In, Node, PlayoutMark, Transcript
from voicegraph.nodes.agent import (
    Agent,
    AgentController,
    AgentSession,
    AgentToolExecutor,
    voice_pipeline,
)
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.llm import DEFAULT_INSTRUCTIONS
from voicegraph.nodes.samples import sample_path
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS


class Captions(Node):
    """Live captions: the user's transcripts and the agent's words as they were heard."""

    user: In[Transcript]
    agent: In[Control] = In(required=False)
    forward_events = False

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    async def on_user(self, frame: Transcript) -> None:
        self._caption("user", frame.text)

    async def on_event(self, event: Event) -> None:
        if isinstance(event, PlayoutMark) and (event.final or event.interrupted):
            self._caption("agent", event.text + (" [cut]" if event.interrupted else ""))

    def _caption(self, who: str, text: str) -> None:
        line = f"[{self.clock.now():5.2f}s] CC {who}: {text}"
        self.lines.append(line)
        print(line)


async def main(scripted: bool) -> Captions:
    models: dict[str, Any] = {}
    if scripted:
        models = {
            "stt": ScriptedSTT(texts=["What is the capital of France?"]),
            "llm": ScriptedLLM(replies=["The capital of France is Paris."]),
            "tts": ScriptedTTS(),
        }
    p = voice_pipeline(
        WavSource(path=str(sample_path("question")), realtime=True),
        controller=AgentController(),
        tools=AgentToolExecutor(),
        **models,
    )
    captions: Captions = p.graph.add(Captions(), name="captions")
    p.graph.connect(p.stt.transcripts, captions.user)
    p.graph.connect(p.output.marks, captions.agent)

    session: AgentSession[Any] = AgentSession(clock=VirtualClock())  # the recording's timeline
    await session.start(Agent(instructions=DEFAULT_INSTRUCTIONS), graph=p)
    await session.wait()
    assert session.graph is not None
    print("nodes:", ", ".join(node.path for node in session.graph.iter_nodes()))
    return captions


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripted", action="store_true", help="scripted STT, LLM and TTS")
    args = parser.parse_args()
    anyio.run(main, args.scripted)
