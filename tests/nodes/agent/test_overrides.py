"""Per-agent models: ``Agent(llm=, stt=, tts=, vad=)`` replace the session's while active."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RATE, Voice, at, timeline

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession, SessionOptions
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import LLMNode, ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.stt import ScriptedSTT, STTNode
from voicegraph.nodes.tools import function_tool
from voicegraph.nodes.tts import ScriptedTTS, TTSNode
from voicegraph.nodes.turn import TurnEngine
from voicegraph.nodes.vad import SileroVAD, VADNode
from voicegraph.runner import VirtualClock


class CountingSTT(ScriptedSTT):
    """A scripted STT engine that counts its starts and closes."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.starts = self.closes = 0

    async def start(self) -> None:
        self.starts += 1
        await super().start()

    async def aclose(self) -> None:
        self.closes += 1
        await super().aclose()


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
        # one node in the graph did all of it: the agent's engine only generated the first
        assert isinstance(session.llm, LLMNode) and session.llm.engine is shared
        assert [m.tool_calls for m in session.llm.metrics] == [1, 0]  # the transfer, the answer
        assert own.started and shared.started  # entered on first use, kept until the end
    assert not own.started and not shared.started  # closed with the session


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
    # each engine was entered at most once and closed with the session
    assert specialist_stt.starts == 1 and specialist_stt.closes == 1
    assert session_stt.starts == session_stt.closes <= 1


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


class NeverDone(TurnEngine):
    """A turn engine that always finds the user likely to go on."""

    async def end_of_turn_probability(
        self, text: str, *, audio: Any = None, chat: Any = None
    ) -> float:
        return 0.0


async def test_a_turn_engine_is_the_model_of_the_sessions_turn_detector(voice: Voice) -> None:
    said = [(0.5, 1.5, "Hello.")]
    quick = await voice.converse(Agent(instructions="x"), said=said, seconds=8, replies=["Hi."])
    slow = await voice.converse(
        Agent(instructions="x"), said=said, seconds=8, replies=["Hi."], turn_detection=NeverDone()
    )
    assert slow.pipeline is not None and isinstance(slow.pipeline.turn.engine, NeverDone)
    # an unlikely end of turn waits the maximum endpointing delay instead of the minimum
    options = SessionOptions()
    waited = at(slow, "speech:generate_reply") - at(quick, "speech:generate_reply")
    assert waited == pytest.approx(
        options.max_endpointing_delay - options.min_endpointing_delay, abs=0.05
    )


# ---------------------------------------------------------------------------- errors


def test_an_override_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"llm= must be a LLMEngine .*got a ScriptedTTS$"):
        Agent(instructions="x", llm=ScriptedTTS())  # type: ignore[arg-type]


def test_a_host_node_as_an_agents_model_is_refused_with_a_hint() -> None:
    host = STTNode(engine=ScriptedSTT())
    with pytest.raises(ConfigError, match=r"stt= must be a STTEngine .*pass its engine"):
        Agent(instructions="x", stt=host)  # type: ignore[arg-type]


async def test_a_session_builds_hosts_around_engines_and_keeps_hosts(voice: Voice) -> None:
    with pytest.raises(ConfigError, match=r"vad= must be a VADEngine .* or a VADNode"):
        AgentSession(vad=ScriptedLLM())  # type: ignore[arg-type]
    tts = TTSNode(engine=ScriptedTTS(), sentence_pause=0.3)
    vad = SileroVAD()
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(), llm=ScriptedLLM(), tts=tts, vad=vad, clock=VirtualClock()
    )
    source = MemorySource(pcm=voice.pcm([], 1.0), sample_rate=RATE, realtime=True)
    await session.start(Agent(instructions="x"), audio=source)
    await session.wait()
    assert session.pipeline is not None and session.pipeline.tts is tts  # a host is kept
    assert isinstance(session.pipeline.vad, VADNode) and session.pipeline.vad.engine is vad


class StreamingTTS(ScriptedTTS):
    """A TTS engine that (says it) streams whole replies at its own rate: a host speaking at
    another rate cannot use it (streamed audio is not resampled)."""

    streaming = True


async def test_an_agents_engine_the_session_cannot_use_is_a_clear_error(voice: Voice) -> None:
    pcm = voice.pcm([], 1.0)
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(), llm=ScriptedLLM(), tts=ScriptedTTS(), clock=VirtualClock()
    )
    own = StreamingTTS(sample_rate=16000)
    with pytest.raises(ConfigError, match="streams its own audio at 16000 Hz"):
        source = MemorySource(pcm=pcm, sample_rate=RATE, realtime=True)
        await session.start(Agent(instructions="x", tts=own), audio=source)
    assert session.graph is None  # not started


async def test_a_handoff_to_an_agent_the_session_cannot_run_is_reported(voice: Voice) -> None:
    llm = ScriptedLLM(replies=[ScriptedReply(tool_calls=[ScriptedToolCall(name="transfer")]),
                               "Still the receptionist."])  # fmt: skip
    pcm = voice.pcm([(0.5, 1.5), (5.0, 1.5)], 9.0)
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=["Transfer me.", "Hello?"]),
        llm=llm,
        tts=ScriptedTTS(),
        clock=VirtualClock(),
    )
    receptionist = Receptionist(Specialist(tts=StreamingTTS(sample_rate=16000)))
    await session.start(receptionist, audio=MemorySource(pcm=pcm, sample_rate=RATE, realtime=True))
    await session.wait()
    errors = [e for e in session.events if e.type == "error"]
    assert len(errors) == 1 and "streams its own audio" in str(errors[0].error)  # type: ignore[attr-defined]
    assert session.current_agent is receptionist
    assert session.history.messages[-1].text == "Still the receptionist."
