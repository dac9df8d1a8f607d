"""Helpers for agent-session tests: user speech built from a bundled clip, event timelines.

Imported by the tests of this folder (its conftest puts the folder on ``sys.path``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from voicegraph.nodes.agent import Agent, AgentSession, SessionEvent
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner import VirtualClock

RATE = 16000


def describe(event: SessionEvent) -> str:
    """A compact description of a session event for timelines."""
    e: Any = event
    kind = event.type
    if kind in ("agent_state_changed", "user_state_changed"):
        return f"{kind.split('_')[0]}:{e.new_state}"
    if kind == "conversation_item_added":
        item = e.item
        if item.type == "agent_handoff":
            return f"handoff:{item.old_agent_id}->{item.new_agent_id}"
        cut = "[cut]" if item.interrupted else ""
        return f"{item.role}:{item.text}{cut}"
    if kind == "function_tools_executed":
        return "tools:" + ",".join(c.name for c in e.function_calls)
    if kind == "user_input_transcribed":
        return f"transcribed:{e.transcript}"
    if kind == "speech_created":
        return f"speech:{e.source}"
    if kind == "agent_false_interruption":
        return f"false_interruption:resumed={e.resumed}"
    return kind


class Voice:
    """Builds user audio (real speech from ``question.wav``) and runs sessions on it."""

    def __init__(self) -> None:
        pcm, rate = sf.read(sample_path("question"), dtype="int16")
        assert rate == RATE
        self._speech = pcm[int(0.512 * RATE) : int(2.0 * RATE)]  # 1.49 s of speech

    def speech(self, seconds: float) -> npt.NDArray[np.int16]:
        """``seconds`` of real speech (the clip's speech repeated as needed)."""
        n = int(seconds * RATE)
        reps = -(-n // len(self._speech))
        return np.tile(self._speech, reps)[:n]

    def pcm(self, said: list[tuple[float, float]], seconds: float) -> npt.NDArray[np.int16]:
        """Silence of ``seconds`` with speech at each ``(start, duration)``."""
        out = np.zeros(int(seconds * RATE), np.int16)
        for start, duration in said:
            piece = self.speech(duration)
            i = int(start * RATE)
            out[i : i + len(piece)] = piece
        return out

    async def converse(
        self,
        agent: Agent,
        *,
        said: list[tuple[float, float, str]],
        seconds: float,
        replies: list[str | ScriptedReply] | None = None,
        llm: ScriptedLLM | None = None,
        stt: ScriptedSTT | None = None,
        userdata: Any = None,
        **options: Any,
    ) -> AgentSession[Any]:
        """Run a session on scripted speech: ``said`` is ``(start, duration, transcript)``."""
        pcm = self.pcm([(s, d) for s, d, _ in said], seconds)
        session: AgentSession[Any] = AgentSession(
            stt=stt or ScriptedSTT(texts=[t for _, _, t in said]),
            llm=llm or ScriptedLLM(replies=replies or []),
            tts=ScriptedTTS(),
            clock=VirtualClock(),
            userdata=userdata,
            **options,
        )
        source = MemorySource(pcm=pcm, sample_rate=RATE, realtime=True)
        await session.start(agent, audio=source, output=AudioOutput())
        await session.wait()
        return session


def timeline(session: AgentSession[Any], *kinds: str) -> list[tuple[float, str]]:
    """``(time, description)`` of the session's events (of ``kinds``, if given)."""
    return [
        (round(e.created_at, 2), describe(e))
        for e in session.events
        if not kinds or e.type in kinds
    ]


def at(session: AgentSession[Any], description: str) -> float:
    """The time of the first event described as ``description``."""
    for t, d in timeline(session):
        if d == description:
            return t
    raise AssertionError(f"no event {description!r} in {timeline(session)}")
