"""LiveKit's pipeline hooks on the Agent: an override of ``llm_node``, ``tts_node``,
``stt_node``, ``transcription_node`` or ``on_user_turn_completed`` is the behaviour of that
stage while the agent is active; ``Agent.default.<hook>`` is the stage's own behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import pytest
from agent_helpers import Voice, timeline

from voicegraph.graph import UsageError
from voicegraph.nodes.agent import Agent, AgentSession, ModelSettings
from voicegraph.nodes.llm import ChatContext, ChatMessage, LLMChunk, ScriptedLLM
from voicegraph.nodes.tools import FunctionTool, function_tool
from voicegraph.runner import VirtualClock


def text_session(replies: list[Any], **options: Any) -> AgentSession[Any]:
    return AgentSession(llm=ScriptedLLM(replies=replies), clock=VirtualClock(), **options)


def said(session: AgentSession[Any]) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in session.history.messages if m.role != "system"]


def errors(session: AgentSession[Any]) -> list[tuple[str, str]]:
    return [(e.source, str(e.error)) for e in session.events if e.type == "error"]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- llm_node


class Polite(Agent):
    """Filters the model's stream: drops a word, adds a closing."""

    def __init__(self) -> None:
        super().__init__(instructions="Be polite.")
        self.tool_choices: list[str | None] = []

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> AsyncIterator[str | LLMChunk]:
        self.tool_choices.append(model_settings.tool_choice)
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            if chunk.text.strip() != "darn":
                yield chunk
        yield " Have a nice day."


async def test_llm_node_filters_the_models_stream_and_stops_after_a_handoff() -> None:
    plain = Agent(instructions="Plain.")

    @function_tool
    async def transfer() -> Agent:
        """Transfer."""
        return plain

    polite = Polite()
    await polite.update_tools([transfer])
    replies: list[Any] = ["Oh darn it broke.", "Oh darn again."]
    async with text_session(replies) as session:
        await session.start(polite)
        await session.run(user_input="Help")
        session.update_agent(plain)
        await session.run(user_input="Again")
    assert said(session) == [
        ("user", "Help"),
        ("assistant", "Oh it broke. Have a nice day."),
        ("user", "Again"),
        ("assistant", "Oh darn again."),  # the plain agent does not override llm_node
    ]
    assert polite.tool_choices == ["auto"]


class Canned(Agent):
    """Answers without the model: an ``async def`` returning a string."""

    async def llm_node(self, chat_ctx: ChatContext, tools: Any, model_settings: Any) -> str:
        last = chat_ctx.messages[-1].text
        return f"You said {len(last.split())} words."


async def test_llm_node_may_return_a_string_instead_of_streaming() -> None:
    llm = ScriptedLLM(replies=["never used"])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        await session.start(Canned(instructions="x"))
        result = await session.run(user_input="one two three")
    result.expect.next_event().is_message(role="assistant").contains("3 words")
    assert said(session)[-1] == ("assistant", "You said 3 words.")


class Broken(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="x")
        self.calls = 0

    async def llm_node(self, chat_ctx: Any, tools: Any, model_settings: Any) -> AsyncIterator[str]:
        self.calls += 1
        yield "Let me"
        if self.calls == 1:
            raise RuntimeError("the filter broke")
        yield " see."


async def test_an_llm_node_error_is_an_error_event_and_the_session_goes_on() -> None:
    async with text_session([]) as session:
        await session.start(Broken())
        await session.run(user_input="first")
        second = await session.run(user_input="second")
    assert errors(session) == [("broken.llm_node", "the filter broke")]
    second.expect.next_event().is_message(role="assistant").contains("Let me see.")
    assert said(session) == [
        ("user", "first"),
        ("assistant", "Let me"),  # what it said before it failed
        ("user", "second"),
        ("assistant", "Let me see."),
    ]


async def test_an_interrupt_cuts_an_overridden_llm_node_at_once() -> None:
    class Sleepy(Agent):
        closed = False

        async def llm_node(
            self, chat_ctx: Any, tools: Any, model_settings: Any
        ) -> AsyncIterator[str]:
            clock = self.session.clock
            assert clock is not None
            try:
                for word in ["one", " two", " three", " four", " five"]:
                    yield word
                    await clock.sleep(1.0)
            finally:
                self.closed = True

    agent = Sleepy(instructions="x")
    async with text_session([]) as session:
        await session.start(agent)
        handle = session.generate_reply()
        clock = session.clock
        assert clock is not None
        await clock.sleep(1.5)
        cut_at = clock.now()
        session.interrupt()
        await handle
        assert clock.now() == cut_at  # no more of the override ran
    assert handle.interrupted and agent.closed
    assert said(session) == [("assistant", "one two")]


def test_agent_default_needs_a_running_agent() -> None:
    agent = Agent(instructions="x")
    stream = Agent.default.llm_node(agent, ChatContext(), [], ModelSettings())
    with pytest.raises(UsageError, match="active in a session"):
        import anyio

        anyio.run(stream.__anext__)


# ---------------------------------------------------------------------- on_user_turn_completed


class Librarian(Agent):
    """RAG: looks the question up and adds what it found to this turn's context."""

    def __init__(self) -> None:
        super().__init__(instructions="Answer from the notes.")
        self.seen: list[list[tuple[str, str]]] = []

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        turn_ctx.add_message("assistant", f"Notes: the library opens at 9 ({new_message.text}).")

    async def llm_node(
        self, chat_ctx: ChatContext, tools: Any, model_settings: ModelSettings
    ) -> AsyncIterator[LLMChunk]:
        self.seen.append([(m.role, m.text) for m in chat_ctx.messages if m.role != "system"])
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk


async def test_on_user_turn_completed_adds_context_for_this_reply_only() -> None:
    agent = Librarian()
    async with text_session(["At nine.", "Yes."]) as session:
        await session.start(agent)
        await session.run(user_input="When?")
        await session.run(user_input="Sure?")
    assert agent.seen == [
        [("assistant", "Notes: the library opens at 9 (When?)."), ("user", "When?")],
        [
            ("user", "When?"),
            ("assistant", "At nine."),
            ("assistant", "Notes: the library opens at 9 (Sure?)."),
            ("user", "Sure?"),
        ],
    ]
    assert said(session) == [  # the notes are not kept
        ("user", "When?"),
        ("assistant", "At nine."),
        ("user", "Sure?"),
        ("assistant", "Yes."),
    ]


# ---------------------------------------------------------------------- transcription_node


class Plain(Agent):
    """Records the reply without markdown (what the user reads), speaks it as generated."""

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for delta in text:
            yield delta.replace("**", "")


async def test_transcription_node_rewrites_what_the_history_records(voice: Voice) -> None:
    session = await voice.converse(
        Plain(instructions="x"), said=[(0.5, 1.0, "How is it?")], seconds=6.0,
        replies=["It is **very** good."],
    )  # fmt: skip
    assert said(session)[-1] == ("assistant", "It is very good.")


# ---------------------------------------------------------------------- tts_node


class Pronouncer(Agent):
    """Replaces a word before the TTS speaks it."""

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[Any]:
        async def spoken() -> AsyncIterator[str]:
            async for sentence in text:
                yield sentence.replace("LiveKit", "Live Kit")

        async for frame in Agent.default.tts_node(self, spoken(), model_settings):
            yield frame


async def test_tts_node_changes_what_is_spoken_not_what_is_recorded(voice: Voice) -> None:
    session = await voice.converse(
        Pronouncer(instructions="x"), said=[(0.5, 1.0, "What is it?")], seconds=8.0,
        replies=["It is LiveKit. It runs agents."],
    )  # fmt: skip
    assert session.graph is not None
    (tts,) = [n for n in session.graph.iter_nodes() if n.path == "tts"]
    assert list(tts.engine.spoken) == ["It is Live Kit.", "It runs agents."]
    assert said(session)[-1] == ("assistant", "It is LiveKit. It runs agents.")
    assert "agent:speaking" in [d for _, d in timeline(session, "agent_state_changed")]
    assert errors(session) == []


# ---------------------------------------------------------------------- stt_node


class Corrector(Agent):
    """Fixes a word the STT gets wrong."""

    async def stt_node(self, audio: AsyncIterable[Any], model_settings: ModelSettings) -> Any:
        async for text in Agent.default.stt_node(self, audio, model_settings):
            yield text.replace("live kit", "LiveKit")


async def test_stt_node_post_processes_the_transcript(voice: Voice) -> None:
    session = await voice.converse(
        Corrector(instructions="x"), said=[(0.5, 1.0, "what is live kit")], seconds=6.0,
        replies=["A framework."],
    )  # fmt: skip
    assert said(session)[0] == ("user", "what is LiveKit")
    assert ("transcribed:what is LiveKit") in [d for _, d in timeline(session)]


class Hoarse(Agent):
    """Its voice fails after the first sentence."""

    async def tts_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        async for sentence in text:
            if "second" in sentence:
                raise RuntimeError("voice lost")
            async for frame in Agent.default.tts_node(self, _one(sentence), model_settings):
                yield frame


async def _one(text: str) -> AsyncIterator[str]:
    yield text


async def test_a_tts_node_error_is_an_error_event_and_the_reply_ends(voice: Voice) -> None:
    session = await voice.converse(
        Hoarse(instructions="x"), said=[(0.5, 1.0, "Hi"), (6.0, 1.0, "Again")], seconds=12.0,
        replies=["The first one. The second one.", "Fine."],
    )  # fmt: skip
    assert errors(session) == [("hoarse.tts_node", "voice lost")]
    assert said(session)[-2:] == [("user", "Again"), ("assistant", "Fine.")]  # not stuck
    states = [d for _, d in timeline(session, "agent_state_changed")]
    assert states.count("agent:speaking") == 2 and states[-1] == "agent:listening"


class Droning(Agent):
    """Speaks slowly; records whether its stream was closed."""

    closed = False

    async def tts_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        clock = self.session.clock
        assert clock is not None
        try:
            async for frame in Agent.default.tts_node(self, text, model_settings):
                await clock.sleep(0.5)  # slow synthesis
                yield frame
        finally:
            self.closed = True


async def test_barge_in_cuts_an_overridden_tts_node(voice: Voice) -> None:
    agent = Droning(instructions="x")
    long = " ".join(f"Sentence number {i} is here." for i in range(12))
    session = await voice.converse(
        agent, said=[(0.5, 1.0, "Talk"), (4.0, 1.5, "Stop")], seconds=10.0,
        replies=[long, "Okay."],
    )  # fmt: skip
    assert agent.closed
    cut = next(m for m in session.history.messages if m.role == "assistant")
    assert cut.interrupted and 0 < len(cut.text) < len(long)
    assert said(session)[-2:] == [("user", "Stop"), ("assistant", "Okay.")]
