"""LLMNode's reply requests, silent tool results, set_tools and nested contexts (agent layer)."""

from __future__ import annotations

from typing import Any

from voicegraph.graph import Frame, Graph, In, LLMText, Node, Out, ToolResult, UserTurn
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatContext,
    FunctionCall,
    FunctionCallOutput,
    LLMNode,
    ReplyRequest,
    ScriptedLLM,
    ScriptedReply,
    ScriptedToolCall,
)
from voicegraph.nodes.tools import SilentToolResult, StopResponse, ToolExecutor, function_tool
from voicegraph.runner import Runner, VirtualClock


class Feed(Node):
    """Sends user turns and reply requests, each once the previous reply has ended."""

    turns: Out[UserTurn]
    requests: Out[ReplyRequest]

    def __init__(self, items: list[Frame], sink: Text) -> None:
        super().__init__()
        self.items = items
        self.sink = sink

    async def run(self) -> None:
        for item in self.items:
            done = self.sink.finals
            if isinstance(item, ReplyRequest):
                await self.emit(self.requests, item)
            else:
                assert isinstance(item, UserTurn)
                await self.emit(self.turns, item)
            while self.sink.finals == done:
                await self.clock.sleep(0.05)


class Text(Node):
    text: In[LLMText]

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str] = [""]
        self.finals = 0

    async def on_text(self, frame: LLMText) -> None:
        self.replies[-1] += frame.text
        if frame.final:
            self.finals += 1
            self.replies.append("")


def run(llm: LLMNode, items: list[Frame], tools: list[Any] | None = None) -> Text:
    import anyio

    sink = Text()
    g = Graph()
    feed = g.add(Feed(items, sink), name="feed")
    node = g.add(llm, name="llm")
    out = g.add(sink, name="sink")
    g.connect(feed.turns, node.turn)
    g.connect(feed.requests, node.requests)
    g.connect(node.text, out.text)
    executor = g.add(ToolExecutor(tools=tools or []), name="tools")
    g.connect(node.tool_calls, executor.calls)
    g.connect(executor.results, node.tool_results, feedback=True)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    return sink


def test_say_and_generate_requests() -> None:
    seen: list[str | None] = []

    class Recording(ScriptedLLM):
        def generate(self, chat: ChatContext, tools: Any, *, step: int = 0) -> Any:
            seen.append(chat.instructions)
            return super().generate(chat, tools, step=step)

    llm = LLMNode(engine=Recording(replies=["First.", "Second."]), instructions="Base.")
    sink = run(
        llm,
        [
            ReplyRequest(say="Hello there."),
            ReplyRequest(instructions="Be brief.", user_input="Hi?"),
            ReplyRequest(say="Not recorded.", add_to_chat=False),
            UserTurn("Again?"),
        ],
    )
    assert sink.replies[:4] == ["Hello there.", "First.", "Not recorded.", "Second."]
    assert [(m.role, m.text) for m in llm.chat.messages] == [
        ("system", "Base."),
        ("assistant", "Hello there."),
        ("user", "Hi?"),
        ("assistant", "First."),
        ("user", "Again?"),
        ("assistant", "Second."),
    ]
    assert seen == ["Base.\nBe brief.", "Base."]  # extra instructions for one reply only


@function_tool
def lookup(q: str) -> str:
    """Look up.

    Args:
        q: The query.
    """
    return f"found {q}"


@function_tool
def hang_up() -> str:
    """End the call."""
    raise StopResponse()


def test_requests_without_tools_and_silent_results_end_the_reply() -> None:
    call = ScriptedToolCall(name="lookup", arguments={"q": "x"})
    llm = LLMNode(
        engine=ScriptedLLM(
            replies=[
                ScriptedReply(tool_calls=[call], text="Answer without tools."),
                ScriptedReply(preamble="Bye.", tool_calls=[ScriptedToolCall(name="hang_up")]),
            ]
        )
    )
    llm.set_tools([lookup, hang_up])
    sink = run(llm, [ReplyRequest(allow_tools=False), UserTurn("bye")], tools=[lookup, hang_up])
    assert sink.replies[:2] == ["Answer without tools.", "Bye."]
    calls = [i for i in llm.chat.items if isinstance(i, FunctionCall)]
    assert [c.name for c in calls] == ["hang_up"]  # the recorded call; no reply to it
    assert [m.step for m in llm.metrics] == [0, 0]


def test_set_tools_replaces_what_is_offered() -> None:
    llm = LLMNode(engine=ScriptedLLM(), tools=[lookup])
    assert set(llm.tools) == {"lookup"}
    llm.set_tools([hang_up])
    assert set(llm.tools) == {"hang_up"}
    assert llm.config.tools  # the config keeps what was built


def test_nested_context_keeps_pending_calls_and_their_results() -> None:
    import anyio

    async def main() -> None:
        inner_engine = ScriptedLLM()
        llm = LLMNode(engine=ScriptedLLM(replies=["x"]), instructions="Outer.")
        outer, outer_engine = llm.chat, llm.engine
        llm._pending = {"c1": FunctionCall(call_id="c1", name="lookup")}
        llm.push_context(ChatContext(), [hang_up])
        assert llm.chat is not outer and set(llm.tools) == {"hang_up"} and not llm._pending
        llm.set_engine(inner_engine)  # the nested conversation's own model
        await llm.on_tool_results(ToolResult("c1", "lookup", "late result"))  # kept aside
        nested = llm.pop_context()
        assert llm.chat is outer and isinstance(nested, ChatContext)
        assert llm.engine is outer_engine  # the set-aside conversation's engine is back
        assert llm._results["c1"].output == "late result"
        assert set(llm.tools) == set()

    anyio.run(main)


def test_handoff_items_are_kept_but_not_sent_to_models() -> None:
    chat = ChatContext()
    chat.add_message("user", "hi")
    chat.add(AgentHandoffItem(old_agent_id="a", new_agent_id="b"))
    assert chat.to_openai_messages() == [{"role": "user", "content": "hi"}]
    again = ChatContext.from_dict(chat.to_dict())
    assert isinstance(again.items[1], AgentHandoffItem) and again.items[1].new_agent_id == "b"


def test_silent_results_are_tool_results() -> None:
    result = SilentToolResult("c", "f", "")
    assert isinstance(result, ToolResult) and result.output == ""


def test_scripted_replies_resume_after_a_nested_conversation() -> None:
    """A tool round continues the reply whose calls it sees, whatever ran in between."""
    import anyio

    engine = ScriptedLLM(
        replies=[
            ScriptedReply(tool_calls=[ScriptedToolCall(name="lookup")], text="Outer answer."),
            "Nested answer.",
            "Next reply.",
        ],
        first_token_delay=0,
        token_delay=0,
    )

    async def reply(chat: ChatContext, step: int) -> list[Any]:
        out: list[Any] = []
        async for chunk in engine.generate(chat, [lookup], step=step):
            out.append(chunk.tool_call.call_id if chunk.tool_call else chunk.text)
        return out

    async def main() -> None:
        outer = ChatContext()
        outer.add_message("user", "Look it up")
        assert await reply(outer, 0) == ["call_1_1_0"]
        nested = ChatContext()
        nested.add_message("user", "Inner question")
        assert "".join(await reply(nested, 0)) == "Nested answer."
        outer.add(FunctionCall(call_id="call_1_1_0", name="lookup"))
        outer.add(FunctionCallOutput(call_id="call_1_1_0", name="lookup", output="x"))
        assert "".join(await reply(outer, 1)) == "Outer answer."
        assert "".join(await reply(outer.copy(), 1)) == "Outer answer."  # a retried round
        outer.add_message("user", "And then?")
        assert "".join(await reply(outer, 0)) == "Next reply."

    anyio.run(main)
