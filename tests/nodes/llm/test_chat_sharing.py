"""LLMNode never edits a chat item in place: copies of its chat keep what they saw."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import anyio

from voicegraph.graph import Graph, In, LLMText, Node, Out, PlayoutMark, UserTurn
from voicegraph.nodes.llm import ChatContext, LLMChunk, LLMEngine, LLMNode, ReplyRequest
from voicegraph.nodes.tools import FunctionTool
from voicegraph.runner import Runner, VirtualClock

WORDS = ("Once", " upon", " a", " time.")


class Words(LLMEngine):
    """Yields :data:`WORDS` one per chunk (awaiting between them); keeps the chats it got."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[ChatContext] = []

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        self.seen.append(chat)
        for word in WORDS:
            await self.clock.sleep(0.01)
            yield LLMChunk(text=word)


class Source(Node):
    turns: Out[UserTurn]
    requests: Out[ReplyRequest]

    async def run(self) -> None:
        await self.emit(self.turns, UserTurn("Tell me a story"))
        await self.clock.sleep(1.0)
        await self.emit(self.requests, ReplyRequest(instructions="Whisper."))
        await self.clock.sleep(3600)


class Snapshots(Node):
    """Copies the LLM's chat and asks for its reply text at every delta it receives."""

    text: In[LLMText]

    def __init__(self, llm: LLMNode) -> None:
        super().__init__()
        self.llm = llm
        self.copies: list[tuple[ChatContext, str]] = []
        self.finals = 0

    async def on_text(self, frame: LLMText) -> None:
        if frame.final:
            self.finals += 1
        elif frame.text:
            self.copies.append((self.llm.chat.copy(), self.llm.reply_text(frame.epoch)))


async def run(llm: LLMNode, snapshots: Snapshots, source: Source) -> None:
    g = Graph()
    g.add(source, name="source")
    g.add(llm, name="llm")
    g.add(snapshots, name="snapshots")
    g.connect(source.turns, llm.turn)
    g.connect(source.requests, llm.requests)
    g.connect(llm.text, snapshots.text)
    clock = VirtualClock()
    async with Runner(g, clock=clock, detect_deadlock=False) as runner:
        with anyio.fail_after(10):
            while snapshots.finals < 2:
                await clock.sleep(0.1)
        runner.stop()


def assistant_texts(chat: ChatContext) -> list[str]:
    return [m.text for m in chat.messages if m.role == "assistant"]


async def test_copies_taken_mid_reply_keep_the_text_they_saw() -> None:
    engine = Words()
    llm = LLMNode(engine=engine, instructions="Be brief.")
    snapshots = Snapshots(llm)
    await run(llm, snapshots, Source())
    so_far = ["Once", "Once upon", "Once upon a", "Once upon a time."]
    first = snapshots.copies[:4]
    assert [assistant_texts(copy) for copy, _ in first] == [[t] for t in so_far]
    assert [text for _, text in first] == so_far  # reply_text shows the reply so far
    assert assistant_texts(llm.chat) == ["Once upon a time.", "Once upon a time."]
    # the engine got a copy taken before the reply; the request's extra instructions went
    # into the copy the engine saw for that reply only
    assert [assistant_texts(chat) for chat in engine.seen] == [[], ["Once upon a time."]]
    assert [chat.instructions for chat in engine.seen] == ["Be brief.", "Be brief.\nWhisper."]
    assert llm.chat.instructions == "Be brief."


async def test_a_playout_mark_changes_the_live_chat_only() -> None:
    llm = LLMNode(engine=Words(), instructions="Be brief.")
    snapshots = Snapshots(llm)
    await run(llm, snapshots, Source())
    before = llm.chat.copy()
    saved = before.to_dict()
    # both replies are of epoch 0 (nothing interrupted them): the mark cuts the latest
    llm.apply_playout(PlayoutMark(0.3, "Once upon", interrupted=True, epoch=0))
    assert before.to_dict() == saved
    assert assistant_texts(llm.chat) == ["Once upon a time.", "Once upon"]
    assert [m.interrupted for m in llm.chat.messages if m.role == "assistant"] == [False, True]
    assert ChatContext.from_dict(llm.chat.to_dict()) == llm.chat
