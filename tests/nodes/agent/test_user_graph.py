"""``AgentSession.start(agent, graph=...)``: a session on a graph the user built."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RATE, Voice, timeline

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    Graph,
    GraphError,
    In,
    Node,
    Out,
    Transcript,
    graph_from_dict,
    graph_to_dict,
)
from voicegraph.nodes.agent import (
    Agent,
    AgentController,
    AgentSession,
    AgentToolExecutor,
    SessionBusEvent,
    SessionCommands,
    voice_pipeline,
)
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import LLMNode, ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tools import ToolExecutor, function_tool
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.nodes.turn import TurnDetector
from voicegraph.runner import Runner, VirtualClock
from voicegraph.viz import to_dot


class TranscriptLog(Node):
    """A sink the user adds: every final transcript the STT produced."""

    transcripts: In[Transcript]

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    async def on_transcripts(self, frame: Transcript) -> None:
        self.seen.append(frame.text)


@function_tool
async def opening_hours() -> str:
    """When the restaurant is open."""
    return "noon to 10 pm"


async def test_a_voice_pipeline_with_an_extra_node(voice: Voice) -> None:
    llm = ScriptedLLM(
        replies=[
            ScriptedReply(tool_calls=[ScriptedToolCall(name="opening_hours")], text="Noon."),
            "Bye.",
        ]
    )
    pcm = voice.pcm([(0.5, 1.5), (5.0, 1.5)], 9.0)
    p = voice_pipeline(
        MemorySource(pcm=pcm, sample_rate=RATE, realtime=True),
        stt=ScriptedSTT(texts=["When are you open?", "Thanks."]),
        llm=llm,
        tts=ScriptedTTS(),
        controller=AgentController(),
        tools=AgentToolExecutor(),
    )
    log = p.graph.add(TranscriptLog(), name="transcript_log")
    p.graph.connect(p.stt.transcripts, log.transcripts)

    session: AgentSession[Any] = AgentSession(clock=VirtualClock(), min_endpointing_delay=0.4)
    await session.start(Agent(instructions="Hours.", tools=[opening_hours]), graph=p)
    await session.wait()

    assert session.graph is p.graph and session.pipeline is p and session.llm.engine is llm
    assert log.seen == ["When are you open?", "Thanks."]
    said = [d for _, d in timeline(session, "conversation_item_added")]
    assert said == [
        "handoff:None->agent",
        "user:When are you open?",
        "assistant:Noon.",
        "user:Thanks.",
        "assistant:Bye.",
    ]
    assert [d for _, d in timeline(session, "function_tools_executed")] == ["tools:opening_hours"]
    # the session's options were applied to the nodes it found
    assert p.controller is not None and p.controller.config.user_away_timeout == 15.0
    assert any(e.type == "metrics_collected" for e in session.events)


async def test_a_hand_built_text_graph() -> None:
    g = Graph("chat")
    agent = g.add(AgentController(), name="agent")
    llm = g.add(LLMNode(engine=ScriptedLLM(replies=["Hello there."])), name="brain")
    g.connect(agent.user_turns, llm.turn)
    g.connect(agent.requests, llm.requests)
    g.connect(llm.text, agent.llm_text, feedback=True)
    async with AgentSession(clock=VirtualClock(), user_away_timeout=None) as session:
        await session.start(Agent(instructions="Greet."), graph=g)
        result = await session.run(user_input="Hi")
        result.expect.next_event().is_message(role="assistant").contains("Hello there")
    assert agent.config.user_away_timeout is None


def controller_graph(executor: Node | None = None) -> Graph:
    g = Graph("chat")
    agent = g.add(AgentController(), name="agent")
    llm = g.add(LLMNode(engine=ScriptedLLM(replies=["Hi."])), name="llm")
    g.connect(agent.user_turns, llm.turn)
    g.connect(llm.text, agent.llm_text, feedback=True)
    if executor is not None:
        tools = g.add(executor, name="tools")
        g.connect(llm.tool_calls, tools.calls)  # type: ignore[attr-defined]
        g.connect(tools.results, llm.tool_results, feedback=True)  # type: ignore[attr-defined]
    return g


async def test_a_graph_without_a_controller_is_refused() -> None:
    g = Graph("chat")
    g.add(LLMNode(engine=ScriptedLLM()), name="llm")
    session: AgentSession[Any] = AgentSession(clock=VirtualClock())
    with pytest.raises(GraphError, match="exactly one AgentController, found 0"):
        await session.start(Agent(instructions="x"), graph=g)


async def test_a_plain_tool_executor_is_refused() -> None:
    session: AgentSession[Any] = AgentSession(clock=VirtualClock())
    with pytest.raises(GraphError, match="tools is a plain ToolExecutor; an agent's tools"):
        await session.start(Agent(instructions="x"), graph=controller_graph(ToolExecutor()))


async def test_graph_and_stages_together_are_refused() -> None:
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM(), clock=VirtualClock())
    with pytest.raises(ConfigError, match="do not also pass llm"):
        await session.start(Agent(instructions="x"), graph=controller_graph())


async def test_the_session_graph_runs_serializes_and_renders_like_any_graph() -> None:
    """The session's graph holds no back-pointers: it round-trips through a graph file,
    renders, and runs under a plain Runner (the command node, with no session, sends
    nothing and ends; the controller answers turns with plain replies)."""
    async with AgentSession(
        llm=ScriptedLLM(replies=["Hi."]), clock=VirtualClock(), user_away_timeout=None
    ) as session:
        await session.start(Agent(instructions="x"))
        assert session.graph is not None
        data = graph_to_dict(session.graph)
        await session.run(user_input="Hello")
    names = {node["name"] for node in data["nodes"]}
    assert names == {"commands", "agent", "llm", "tools"}
    loaded = graph_from_dict(data)
    assert graph_to_dict(loaded) == data
    assert "commands" in to_dot(loaded) and "agent" in to_dot(loaded)
    metrics = await Runner(loaded, clock=VirtualClock()).run()
    assert metrics is not None


async def test_the_session_talks_to_its_graph_through_commands_and_the_bus() -> None:
    """say() enters the graph as a frame of the command node; states come back on the bus."""
    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        runner = session.runner
        assert runner is not None
        seen = runner.subscribe(SessionBusEvent)
        await session.say("Hello there.")
        stats = runner.metrics()
    edge = next(e for name, e in stats.edges.items() if name.startswith("commands.commands"))
    assert edge.frames >= 1  # the say() command went through the graph
    published = [e.event.type for e in [seen.receive_nowait() for _ in range(seen.pending)]]
    assert "speech_created" in published and "agent_state_changed" in published
    states = [e for e in session.events if e.type == "agent_state_changed"]
    assert [e.new_state for e in states] == ["listening", "thinking", "speaking", "listening"]  # type: ignore[attr-defined]


class SilentMic(Node):
    """A source the user adds that ends at once (audio and transcripts for the detector)."""

    audio: Out[AudioFrame]
    transcripts: Out[Transcript]

    async def run(self) -> None:
        return


async def test_a_hand_built_graph_gets_its_turn_detector_wired_to_the_commands() -> None:
    g = controller_graph()
    mic = g.add(SilentMic(), name="mic")
    turn = g.add(TurnDetector(), name="turn")
    g.connect(mic.audio, turn.audio)
    g.connect(mic.transcripts, turn.transcripts)
    async with AgentSession(clock=VirtualClock(), user_away_timeout=None) as session:
        await session.start(Agent(instructions="x"), graph=g)
        session.commit_user_turn()  # sent through the command node, not refused
    (edge,) = [e for e in g.iter_edges() if e.dst is turn.commands]
    assert isinstance(edge.src.node, SessionCommands) and edge.feedback
    assert any(e.src is edge.src.node.commands for e in g.iter_edges())  # the same node


async def test_a_graph_without_a_turn_detector_refuses_turn_commands() -> None:
    g = controller_graph()
    async with AgentSession(clock=VirtualClock(), user_away_timeout=None) as session:
        await session.start(Agent(instructions="x"), graph=g)
        with pytest.raises(RuntimeError, match=r"needs a session with audio"):
            session.clear_user_turn()
    assert not any(e.src.name == "turn" for e in g.iter_edges())
