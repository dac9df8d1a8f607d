"""Per-agent models: ``Agent(llm=, stt=, tts=, vad=)`` replace the session's while active."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RATE, Voice, timeline

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tools import function_tool
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.nodes.vad import SileroVAD
from voicegraph.runner import VirtualClock


class CountingSTT(ScriptedSTT):
    """A scripted STT that counts its setups and closes."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.setups = self.closes = 0

    async def setup(self) -> None:
        self.setups += 1
        await super().setup()

    async def close(self) -> None:
        self.closes += 1
        await super().close()


class Receptionist(Agent):
    def __init__(self, then: Agent, **models: Any) -> None:
        super().__init__(instructions="Transfer callers.", **models)
        self.then = then

    @function_tool
    async def transfer(self) -> Agent:
        """Transfer the caller to the specialist."""
        return self.then


class Specialist(Agent):
    def __init__(self, **models: Any) -> None:
        super().__init__(instructions="Help.", **models)

    async def on_enter(self) -> None:
        self.session.say("Hello from the specialist.")


def transcripts(session: AgentSession[Any]) -> list[str]:
    return [d for _, d in timeline(session, "user_input_transcribed")]


# ---------------------------------------------------------------------------- text sessions


async def test_an_agents_llm_replaces_the_sessions_until_a_handoff() -> None:
    transfer = ScriptedToolCall(name="transfer")
    reply = ScriptedReply(preamble="Let me transfer you.", tool_calls=[transfer])
    own = ScriptedLLM(replies=[reply])
    shared = ScriptedLLM(replies=["The session's model answers."])
    async with AgentSession(llm=shared, clock=VirtualClock()) as session:
        await session.start(Receptionist(Specialist(), llm=own))
        first = await session.run(user_input="Put me through.")
        first.expect.next_event().is_message(role="assistant").contains("transfer you")
        first.expect.next_event().is_function_call(name="transfer")
        first.expect.next_event().is_function_call_output()
        first.expect.next_event().is_agent_handoff(new_agent_type=Specialist)
        second = await session.run(user_input="Now what?")
        second.expect.next_event().is_message(role="assistant").contains("session's model")
        # one node in the graph did all of it: the override only generated
        assert session.llm is shared and session.llm.engine is shared
        assert [m.tool_calls for m in shared.metrics] == [1, 0]  # the transfer, the answer
        assert own.name == "llm[scripted_llm]" and not own.metrics


async def test_an_llm_override_runs_tool_rounds_and_a_task_restores_it() -> None:
    own = ScriptedLLM(
        replies=[
            ScriptedReply(
                tool_calls=[ScriptedToolCall(name="lookup", arguments={"city": "Oslo"})],
                text="It is cold in Oslo.",
                rounds=2,
            )
        ]
    )

    @function_tool
    async def lookup(city: str) -> str:
        """Look the weather up.

        Args:
            city: The city.
        """
        return f"cold in {city}"

    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="Weather.", tools=[lookup], llm=own))
        result = await session.run(user_input="Weather in Oslo?")
        calls = [e for e in result.events if e.type == "function_call"]
        assert len(calls) == 2  # the override saw the host's tool rounds
        result.expect[-1].is_message(role="assistant").contains("cold in Oslo")
        assert session.llm.engine is own


# ---------------------------------------------------------------------------- voice sessions


async def test_stt_and_tts_follow_the_active_agent(voice: Voice) -> None:
    session_stt = CountingSTT(texts=["never used"])
    session_tts = ScriptedTTS()
    specialist_stt = CountingSTT(texts=["What now?"])
    specialist_tts = ScriptedTTS(sample_rate=16000, seconds_per_char=0.03)
    specialist = Specialist(stt=specialist_stt, tts=specialist_tts)
    receptionist = Receptionist(specialist, stt=ScriptedSTT(texts=["Transfer me."]))
    llm = ScriptedLLM(replies=[
        ScriptedReply(preamble="One moment.", tool_calls=[ScriptedToolCall(name="transfer")]),
        "Here.",
    ])  # fmt: skip
    pcm = voice.pcm([(0.5, 1.5), (6.0, 1.5)], 10.0)
    session: AgentSession[Any] = AgentSession(
        stt=session_stt, llm=llm, tts=session_tts, clock=VirtualClock()
    )
    await session.start(receptionist, audio=MemorySource(pcm=pcm, sample_rate=RATE, realtime=True))
    await session.wait()

    assert transcripts(session) == ["transcribed:Transfer me.", "transcribed:What now?"]
    assert session_stt.index == 0 and specialist_stt.index == 1
    assert list(session_tts.spoken) == ["One moment."]
    assert list(specialist_tts.spoken) == ["Hello from the specialist.", "Here."]
    # the specialist's 16 kHz voice is brought to the session's 24 kHz, same duration
    states = timeline(session, "agent_state_changed")
    start, end = states[-2][0], states[-1][0]
    assert states[-2][1] == "agent:speaking" and states[-1][1] == "agent:listening"
    assert abs((end - start) - len("Here.") * 0.03) <= 0.025, states
    # each engine was set up once and closed with the session
    assert specialist_stt.setups == 1 and specialist_stt.closes == 1
    assert session_stt.setups == 1 and session_stt.closes == 1


async def test_an_agents_vad_decides_what_is_speech(voice: Voice) -> None:
    # the agent's VAD needs 1.2 s of continuous speech: the 0.5 s remark is not a turn
    pcm = voice.pcm([(0.5, 0.5), (3.0, 1.5)], 8.0)

    async def run(agent: Agent) -> list[str]:
        session: AgentSession[Any] = AgentSession(
            stt=ScriptedSTT(texts=["First.", "Second."]),
            llm=ScriptedLLM(replies=["Okay.", "Okay."]),
            tts=ScriptedTTS(),
            clock=VirtualClock(),
        )
        source = MemorySource(pcm=pcm, sample_rate=RATE, realtime=True)
        await session.start(agent, audio=source, output=AudioOutput())
        await session.wait()
        return transcripts(session)

    assert await run(Agent(instructions="x")) == ["transcribed:First.", "transcribed:Second."]
    picky = SileroVAD(min_speech_duration=1.2)
    assert await run(Agent(instructions="x", vad=picky)) == ["transcribed:First."]


# ---------------------------------------------------------------------------- errors


def test_an_override_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"llm= must be a LLMNode node, got a ScriptedTTS"):
        Agent(instructions="x", llm=ScriptedTTS())  # type: ignore[arg-type]


class StreamingTTS(ScriptedTTS):
    """A TTS that (says it) streams on its own, so it cannot hand its work over."""

    speaks_per_sentence = False


async def test_a_session_tts_that_cannot_switch_is_a_clear_error(voice: Voice) -> None:
    pcm = voice.pcm([], 1.0)
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(), llm=ScriptedLLM(), tts=StreamingTTS(), clock=VirtualClock()
    )
    with pytest.raises(ConfigError, match="streams its own audio"):
        source = MemorySource(pcm=pcm, sample_rate=RATE, realtime=True)
        await session.start(Agent(instructions="x", tts=ScriptedTTS()), audio=source)


async def test_a_handoff_to_an_agent_the_session_cannot_run_is_reported(voice: Voice) -> None:
    llm = ScriptedLLM(replies=[ScriptedReply(tool_calls=[ScriptedToolCall(name="transfer")]),
                               "Still the receptionist."])  # fmt: skip
    pcm = voice.pcm([(0.5, 1.5), (5.0, 1.5)], 9.0)
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=["Transfer me.", "Hello?"]),
        llm=llm,
        tts=StreamingTTS(),
        clock=VirtualClock(),
    )
    receptionist = Receptionist(Specialist(tts=ScriptedTTS()))
    await session.start(receptionist, audio=MemorySource(pcm=pcm, sample_rate=RATE, realtime=True))
    await session.wait()
    errors = [e for e in session.events if e.type == "error"]
    assert len(errors) == 1 and "streams its own audio" in str(errors[0].error)  # type: ignore[attr-defined]
    assert session.current_agent is receptionist
    assert session.history.messages[-1].text == "Still the receptionist."
