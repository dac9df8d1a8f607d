"""A scripted LLM engine for orchestration tests: fixed replies, streamed word by word."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voicegraph.graph import NodeConfig
from voicegraph.nodes.tools import FunctionTool

from ._chat import ChatContext, FunctionCall
from ._chunks import LLMChunk
from ._engine import LLMEngine

__all__ = ["ScriptedLLM", "ScriptedReply", "ScriptedToolCall"]

log = logging.getLogger(__name__)


class ScriptedToolCall(BaseModel):
    """A tool call in a script.

    Attributes:
        name: the tool's name.
        arguments: the arguments (sent as a JSON object string; default ``{}``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: dict[str, Any] = {}


class ScriptedReply(BaseModel):
    """A scripted reply that calls tools before answering.

    Attributes:
        preamble: text said before the first tool round (e.g. "Let me check."; default "").
        tool_calls: the calls of each tool round (all requested at once).
        text: the answer once the tool results are in.
        rounds: how many tool rounds the model asks for before answering (default 1); the
            host's ``max_tool_steps`` may stop it earlier, then it answers without tools.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preamble: str = ""
    tool_calls: list[ScriptedToolCall] = []
    text: str = ""
    rounds: int = Field(1, ge=1)


class ScriptedLLM(LLMEngine):
    """An LLM engine that plays a script: reply ``i`` is the ``i``-th reply it generates.

    Replies are counted as they start (a generation at tool round ``step=0``: a user turn or
    a generating ``ReplyRequest``; a request that says a fixed text does not reach the
    engine). A reply that starts from exactly the same conversation as the previous one (a
    generation discarded and started again, as preemptive generation does) gets the same
    entry again. A later tool round continues the reply whose tool calls it sees in the chat
    (the call ids name the reply), so a nested conversation in between (an ``AgentTask`` run
    from a tool) does not lose its place.

    Each reply is a string, or a :class:`ScriptedReply` (tool calls, then text). Text streams
    word by word: the first word after ``first_token_delay``, the next ones every
    ``token_delay`` (seconds on the host's clock: under ``VirtualClock`` a reply takes no
    real time). Tool calls come ``first_token_delay`` after the generation starts; their ids
    are ``call_<reply>_<round>_<index>``. When the script runs out, replies are empty (and a
    warning is logged).

    >>> from voicegraph.nodes.llm import LLMNode
    >>> LLMNode(engine=ScriptedLLM(replies=["Hello!", {"tool_calls": [{"name": "f"}]}]))
    <LLMNode (unnamed)>

    Config:
        replies: the script, one entry per reply (default none).
        token_delay: seconds between words (default 0.01).
        first_token_delay: seconds before the first word or the tool calls (default 0.1).
    """

    class Config(NodeConfig):
        replies: list[str | ScriptedReply] = []
        token_delay: float = Field(0.01, ge=0.0)
        first_token_delay: float = Field(0.1, ge=0.0)

    config: Config

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._turns = 0
        self._reply = -1  # the script entry of the latest reply started
        self._prompt: list[tuple[str, str]] | None = None

    def _entry(self, chat: ChatContext, step: int) -> int:
        """The script entry of this generation (counting a new reply at step 0)."""
        if step == 0:
            prompt: list[tuple[str, str]] = [(m.role, m.text) for m in chat.messages]
            if prompt != self._prompt:
                self._turns += 1
            self._prompt = prompt
            self._reply = self._turns - 1
            return self._reply
        for item in reversed(chat.items):  # a tool round: the reply whose calls came back
            if isinstance(item, FunctionCall):
                match = _CALL_ID.fullmatch(item.call_id)
                if match is not None:
                    return int(match.group(1)) - 1
                break
        return self._reply

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        """Stream the scripted reply for this generation (see the class docstring)."""
        turn = self._entry(chat, step)
        replies = self.config.replies
        if not 0 <= turn < len(replies):
            log.warning("%s: the script has no reply for turn %d", self.label(), turn + 1)
            return
        reply = replies[turn]
        cfg = self.config
        if isinstance(reply, ScriptedReply):
            done = step
            if tools and reply.tool_calls and done < reply.rounds:
                if done == 0 and reply.preamble:
                    async with contextlib.aclosing(self._words(reply.preamble)) as words:
                        async for chunk in words:
                            yield chunk
                else:
                    await self.clock.sleep(cfg.first_token_delay)
                for index, call in enumerate(reply.tool_calls):
                    yield LLMChunk(
                        tool_call=FunctionCall(
                            call_id=f"call_{turn + 1}_{done + 1}_{index}",
                            name=call.name,
                            arguments=json.dumps(call.arguments),
                        ),
                        completion_tokens=1,
                    )
                return
            text = reply.text
        else:
            text = reply
        async with contextlib.aclosing(self._words(text)) as words:
            async for chunk in words:
                yield chunk

    async def _words(self, text: str) -> AsyncGenerator[LLMChunk, None]:
        cfg = self.config
        for index, word in enumerate(re.findall(r"\s*\S+", text)):
            await self.clock.sleep(cfg.first_token_delay if index == 0 else cfg.token_delay)
            yield LLMChunk(text=word, completion_tokens=1)


_CALL_ID = re.compile(r"call_(\d+)_\d+_\d+")
