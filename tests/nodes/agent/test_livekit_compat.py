"""LiveKit Agents 1.8 compatibility of the agent layer: Agent.chat_ctx / update_chat_ctx,
AgentSession's grouped turn_handling= options, and the voicegraph.agents namespace."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession, SessionOptions
from voicegraph.nodes.llm import ChatContext, FunctionCall, FunctionCallOutput, LLMChunk
from voicegraph.nodes.tools import FunctionTool, function_tool
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedReply

# ---------------------------------------------------------------------- chat context


class RecordingLLM(ScriptedLLM):
    """A scripted LLM that keeps the messages of every generation."""

    seen: list[list[tuple[str, str]]]

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        self.seen.append([(m.role, m.text) for m in chat.messages])
        async for chunk in super().generate(chat, tools, step=step):
            yield chunk


def recording(*texts: str) -> RecordingLLM:
    llm = RecordingLLM(replies=[ScriptedReply(text=t) for t in texts])
    llm.seen = []
    return llm


class Briefed(Agent):
    """The healthcare example's pattern: on_enter adds context through update_chat_ctx."""

    def __init__(self) -> None:
        super().__init__(instructions="You take orders.")

    async def on_enter(self) -> None:
        chat_ctx = self.chat_ctx.copy()
        chat_ctx.add_message(role="system", content="The user is called Ann.")
        chat_ctx.add_message(role="user", content="Hello, can I get a burger?")
        chat_ctx.add_message(role="assistant", content="Sure, which sauce?")
        await self.update_chat_ctx(chat_ctx)


async def test_update_chat_ctx_in_on_enter_is_what_the_llm_sees_next() -> None:
    llm = recording("Mayonnaise it is.")
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        agent = Briefed()
        await session.start(agent)
        result = await session.run(user_input="mayonnaise")
        result.expect.next_event().is_message(role="assistant").contains("Mayonnaise")
        result.expect.no_more_events()  # the injected messages are not events of the run
        assert llm.seen[-1] == [
            ("system", "You take orders."),
            ("system", "The user is called Ann."),
            ("user", "Hello, can I get a burger?"),
            ("assistant", "Sure, which sauce?"),
            ("user", "mayonnaise"),
        ]
        added = [
            (e.item.type, getattr(e.item, "text", None))
            for e in session.events
            if e.type == "conversation_item_added"
        ]
        assert added == [  # the activation (from no agent), then the run's messages
            ("agent_handoff", None),
            ("message", "mayonnaise"),
            ("message", "Mayonnaise it is."),
        ]
        assert agent.chat_ctx.readonly and len(agent.chat_ctx) == 7  # with the handoff item
        with pytest.raises(RuntimeError, match="read-only"):
            agent.chat_ctx.add_message(role="user", content="no")


async def test_update_chat_ctx_before_start_is_where_the_agent_starts() -> None:
    llm = recording("Welcome back.")
    agent = Agent(instructions="Be kind.")
    prior = ChatContext()
    prior.add_message(role="user", content="I was here yesterday.")
    prior.add(FunctionCall(call_id="c1", name="unknown_tool"))
    prior.add(FunctionCallOutput(call_id="c1", name="unknown_tool", output="x"))
    await agent.update_chat_ctx(prior)
    assert [i.type for i in agent.chat_ctx.items] == ["message"]  # calls of tools it lacks
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(agent)
        await session.run(user_input="Hi again")
    assert llm.seen[-1][1:] == [("user", "I was here yesterday."), ("user", "Hi again")]
    with pytest.raises(Exception, match="takes a ChatContext"):
        await agent.update_chat_ctx([])  # type: ignore[arg-type]


async def test_update_chat_ctx_keeps_calls_of_the_agents_own_tools() -> None:
    class Weather(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="Weather.")

        @function_tool
        async def lookup(self, city: str) -> str:
            """Look up the weather."""
            return "sunny"

    agent = Weather()
    chat = ChatContext()
    chat.add(FunctionCall(call_id="a", name="lookup"))
    chat.add(FunctionCall(call_id="b", name="other"))
    await agent.update_chat_ctx(chat)
    assert [i.call_id for i in agent.chat_ctx.items] == ["a"]  # type: ignore[union-attr]
    await agent.update_chat_ctx(chat, exclude_invalid_function_calls=False)
    assert len(agent.chat_ctx) == 2


# ---------------------------------------------------------------------- options


def test_turn_handling_groups_map_onto_the_options() -> None:
    session = AgentSession(
        turn_handling={
            "endpointing": {"mode": "fixed", "max_delay": 4.0},
            "interruption": {"enabled": False, "min_duration": 0.8, "min_words": 2,
                             "false_interruption_timeout": None, "backchannel_boundary": 1.0},
            "preemptive_generation": {"enabled": False, "max_retries": 5},
            "user_turn_limit": {"max_words": 50},
        },
        tts_text_transforms=["filter_emoji"],
        use_tts_aligned_transcript=True,
        stt_context_options={"keyterms": ["voicegraph"]},
    )  # fmt: skip
    opts = session.options
    assert (opts.min_endpointing_delay, opts.max_endpointing_delay) == (0.45, 4.0)  # ours
    assert not opts.allow_interruptions and opts.min_interruption_duration == 0.8
    assert opts.min_interruption_words == 2 and opts.false_interruption_timeout is None
    assert not opts.preemptive_generation
    assert opts.user_turn_limit is not None and opts.user_turn_limit.max_words == 50
    assert opts.tts_text_transforms == ("filter_emoji",)
    assert AgentSession(tts_text_transforms=None).options.tts_text_transforms == ()
    assert AgentSession(turn_handling={}).options == SessionOptions()


def test_flat_names_keep_working_and_map_as_livekit_maps_them() -> None:
    opts = AgentSession(
        min_endpointing_delay=0.6,
        false_interruption_timeout=3.0,
        agent_false_interruption_timeout=1.0,  # the older name wins, as in LiveKit
        preemptive_generation={"enabled": False},
        discard_audio_if_uninterruptible=True,
    ).options
    assert opts.min_endpointing_delay == 0.6 and opts.false_interruption_timeout == 1.0
    assert not opts.preemptive_generation


def test_turn_handling_wins_over_flat_names_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="voicegraph.agent"):
        session = AgentSession(
            turn_handling={"turn_detection": "manual", "endpointing": {"min_delay": 0.3}},
            min_endpointing_delay=0.9,
            allow_interruptions=False,  # ignored too, although turn_handling does not set it
            turn_detection="vad",
        )
    assert session.options.min_endpointing_delay == 0.3
    assert session.options.allow_interruptions
    assert session.turn_mode == "manual"
    (record,) = caplog.records
    for name in ("min_endpointing_delay", "allow_interruptions", "turn_detection"):
        assert name in record.getMessage()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"turn_handling": {"endpointing": {"mode": "dynamic"}}}, "dynamic"),
        ({"turn_handling": {"interruption": {"mode": "adaptive"}}}, "adaptive"),
        ({"turn_handling": {"preemptive_generation": {"preemptive_tts": True}}}, "preemptive_tts"),
        ({"turn_handling": {"endpointing": {"min_dealy": 0.3}}}, r"unknown key.*min_dealy"),
        ({"turn_handling": {"interrupt": {}}}, r"unknown key.*interrupt"),
        ({"discard_audio_if_uninterruptible": False}, "always discarded"),
        ({"tools": [print]}, r"Agent\(tools="),
        ({"tts_text_transforms": [str.upper]}, "callable"),
        ({"tts_text_transforms": ["filter_html"]}, "unknown transform"),
        ({"expressive": True}, "expressive"),
        ({"ivr_detection": True}, "IVR"),
        ({"user_turn_limit": {"max_words": 3}, "turn_handling": {"user_turn_limit": {}}}, "once"),
    ],
)
def test_options_voicegraph_cannot_honour_are_refused(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        AgentSession(**settings)


# ---------------------------------------------------------------------- voicegraph.agents


def test_every_name_of_the_namespace_resolves() -> None:
    import voicegraph.agents as agents
    import voicegraph.nodes.agent
    import voicegraph.nodes.llm

    for name in agents.__all__:
        assert getattr(agents, name) is not None, name
    for module in (agents.llm, agents.stt, agents.tts, agents.vad, agents.metrics, agents.cli):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
    assert agents.Agent is voicegraph.nodes.agent.Agent
    assert agents.AgentHandoff is voicegraph.nodes.llm.AgentHandoffItem  # LiveKit's meaning
    assert agents.llm.LLM is voicegraph.nodes.llm.LLMEngine
    from voicegraph.agents.beta.tools import EndCallTool  # LiveKit's beta tools location

    assert EndCallTool is voicegraph.nodes.agent.EndCallTool


def test_a_livekit_import_block_works() -> None:
    from voicegraph.agents import (
        Agent,
        AgentSession,
        JobContext,
        RunContext,
        cli,
        function_tool,
    )
    from voicegraph.agents.llm import ChatContext as LKChatContext

    assert callable(cli.run_app) and JobContext.__name__ == "JobContext"
    assert RunContext is not None and LKChatContext is ChatContext

    class Assistant(Agent):
        @function_tool
        async def ping(self) -> str:
            """Ping."""
            return "pong"

    agent = Assistant(instructions="Hi.")
    assert [t.name for t in agent.tools] == ["ping"]
    assert AgentSession(llm=ScriptedLLM(replies=[])).options == SessionOptions()


def test_import_voicegraph_does_not_load_the_namespace() -> None:
    code = "import sys, voicegraph; print('voicegraph.agents' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
