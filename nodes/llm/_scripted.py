"""A scripted LLM engine for orchestration tests: fixed replies, streamed word by word."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicegraph.graph import ConfigError, NodeConfig
from voicegraph.nodes.tools import FunctionTool

from ._chat import ChatContext, FunctionCall, FunctionCallOutput
from ._chunks import LLMChunk
from ._engine import LLMEngine

__all__ = ["ScriptedLLM", "ScriptedReply", "ScriptedStep", "ScriptedToolCall"]

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


class ScriptedStep(BaseModel):
    """One generation of a scripted reply: its text, then its tool calls (a tool round), or
    no calls (the answer).

    Attributes:
        text: what the model says in this generation (default "").
        tool_calls: the calls it requests at the end of it (default none: the reply ends).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = ""
    tool_calls: list[ScriptedToolCall] = []


StepLike: TypeAlias = (
    str | ScriptedStep | Callable[[ChatContext], "str | ScriptedStep | list[ScriptedToolCall]"]
)
"""A step of :attr:`ScriptedReply.steps`: text (the answer), a :class:`ScriptedStep`, or a
function of the chat (with the earlier rounds' calls and outputs) returning either, or a
list of tool calls."""


class ScriptedReply(BaseModel):
    """A scripted reply that calls tools before answering.

    Either the simple form (``preamble``, ``tool_calls`` for each of ``rounds`` rounds, then
    ``text``), or ``steps``: one entry per generation of the reply, so each tool round is
    scripted on its own, and a step may be a function of the chat so far (e.g. an answer
    made from the previous round's tool output)::

        ScriptedReply(steps=[
            ScriptedStep(text="Let me check.", tool_calls=[ScriptedToolCall(name="weather")]),
            lambda chat: f"It is {chat.items[-1].output}.",   # the weather tool's output
        ])

    Attributes:
        preamble: text said before the first tool round (e.g. "Let me check."; default "").
        tool_calls: the calls of each tool round (all requested at once).
        text: the answer once the tool results are in (or a function of the chat).
        rounds: how many tool rounds the model asks for before answering (default 1); the
            host's ``max_tool_steps`` may stop it earlier, then it answers without tools.
        steps: the generations of the reply in order (default none: the simple form). Step
            ``i`` plays at tool round ``i``; once they run out the reply says nothing more.
            When the host offers no tools (``max_tool_steps`` reached, ``tool_choice``
            "none"), a step's calls are left out and its text ends the reply.

    A reply with functions in it cannot be saved to a graph file.

    Raises:
        ValidationError: ``steps`` together with ``preamble``, ``tool_calls`` or ``text``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preamble: str = ""
    tool_calls: list[ScriptedToolCall] = []
    text: str | Callable[[ChatContext], str] = ""
    rounds: int = Field(1, ge=1)
    steps: list[StepLike] = []

    @model_validator(mode="after")
    def _one_form(self) -> ScriptedReply:
        if self.steps and (self.preamble or self.tool_calls or self.text):
            raise ConfigError(
                "ScriptedReply: give either steps=[...] or preamble/tool_calls/text, not both"
            )
        return self

    def step(self, chat: ChatContext, index: int, *, tools: bool = True) -> ScriptedStep:
        """Generation ``index`` of this reply for ``chat`` (the simple form as steps);
        ``tools``: whether the host offers tools (without them the simple form answers)."""
        if self.steps:
            if index >= len(self.steps):
                return ScriptedStep()
            entry = self.steps[index]
            made = entry(chat) if callable(entry) else entry
            if isinstance(made, str):
                return ScriptedStep(text=made)
            if isinstance(made, list):
                return ScriptedStep(tool_calls=made)
            return made
        if tools and self.tool_calls and index < self.rounds:
            return ScriptedStep(text=self.preamble if index == 0 else "",
                                tool_calls=self.tool_calls)  # fmt: skip
        text = self.text(chat) if callable(self.text) else self.text
        return ScriptedStep(text=text)


class ScriptedLLM(LLMEngine):
    """An LLM engine that plays a script: reply ``i`` is the ``i``-th reply it generates.

    Replies are counted as they start (a generation at tool round ``step=0``: a user turn or
    a generating ``ReplyRequest``; a request that says a fixed text does not reach the
    engine). A reply that starts from exactly the same conversation as the previous one (a
    generation discarded and started again, as preemptive generation does) gets the same
    entry again. A later tool round continues the reply whose tool calls it sees in the chat
    (the call ids name the reply), so a nested conversation in between (an ``AgentTask`` run
    from a tool) does not lose its place.

    Each reply is a string, or a :class:`ScriptedReply` (tool calls, then text; or ``steps``,
    one per tool round, each possibly a function of the chat so far). Text streams
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
            if isinstance(item, FunctionCallOutput):  # (outputs come last, calls may not)
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
        if isinstance(reply, str):
            reply = ScriptedReply(text=reply)
        planned = reply.step(chat, step, tools=bool(tools))
        calls = planned.tool_calls if tools else []
        if planned.text:
            async with contextlib.aclosing(self._words(planned.text)) as words:
                async for chunk in words:
                    yield chunk
        elif calls:
            await self.clock.sleep(self.config.first_token_delay)
        for index, call in enumerate(calls):
            yield LLMChunk(
                tool_call=FunctionCall(
                    call_id=f"call_{turn + 1}_{step + 1}_{index}",
                    name=call.name,
                    arguments=json.dumps(call.arguments),
                ),
                completion_tokens=1,
            )

    async def _words(self, text: str) -> AsyncGenerator[LLMChunk, None]:
        cfg = self.config
        for index, word in enumerate(re.findall(r"\s*\S+", text)):
            await self.clock.sleep(cfg.first_token_delay if index == 0 else cfg.token_delay)
            yield LLMChunk(text=word, completion_tokens=1)


_CALL_ID = re.compile(r"call_(\d+)_\d+_\d+")
