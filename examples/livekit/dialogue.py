"""Scripted stand-ins for the cloud LLMs of LiveKit's examples (not part of any port).

LiveKit's examples and tests talk to a hosted model; their ports here run in CI on
:class:`DialogueLLM`, which answers by what the user said, and judge with
:class:`KeywordJudge`. Each example's script is in ``scripts.py``.

A script maps a *trigger* (a piece of text, matched case-insensitively) to the rounds of the
reply: round ``n`` answers tool round ``n`` (``step``). A round is

* a ``str``: the answer (text, no tool calls);
* a list of :class:`~voicegraph.testing.ScriptedToolCall`: the calls of that round;
* a function of the chat so far returning one of those (to use an earlier tool's output).

The longest trigger found wins. It is looked for in the user's message when the reply answers
one (nothing but system messages after it), else in the instructions (where
``generate_reply(instructions=...)`` adds its own). When a reply's
tools are withheld (``tool_choice="none"``, ``max_tool_steps``), its last text round is
said. No delays: the replies are instant on any clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from voicegraph.agents.llm import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from voicegraph.nodes.llm import LLMChunk, LLMEngine
from voicegraph.nodes.tools import FunctionTool
from voicegraph.testing import ScriptedToolCall

__all__ = ["DialogueLLM", "KeywordJudge", "Round", "last_output"]

Round = str | list[ScriptedToolCall] | Callable[[ChatContext], Any]

_CALL_ID = re.compile(r"dlg_(\d+)_\d+_\d+")


def last_output(chat: ChatContext) -> str:
    """The output of the latest tool call in ``chat`` (``""`` if none)."""
    for item in reversed(chat.items):
        if isinstance(item, FunctionCallOutput):
            return item.output
    return ""


class DialogueLLM(LLMEngine):
    """An LLM engine that plays ``script`` (trigger -> rounds); see the module docstring.

    Unknown turns get ``fallback`` (default "Sorry, I did not get that.").
    """

    def __init__(
        self,
        script: Mapping[str, Sequence[Round]],
        *,
        fallback: str = "Sorry, I did not get that.",
    ) -> None:
        super().__init__()
        self.script = [(key.lower(), list(rounds)) for key, rounds in script.items()]
        self.fallback = fallback
        self.heard: list[str] = []  # the trigger texts, reply by reply

    def _entry(self, chat: ChatContext, step: int) -> int:
        items = chat.items
        if step > 0:  # a tool round continues the reply whose calls came back
            for item in reversed(items):
                if isinstance(item, FunctionCall):
                    match = _CALL_ID.fullmatch(item.call_id)
                    if match is not None:
                        return int(match.group(1))
                    break
        text = ""
        latest = [i for i in items if not (isinstance(i, ChatMessage) and i.role == "system")]
        if latest and isinstance(latest[-1], ChatMessage) and latest[-1].role == "user":
            text = latest[-1].text  # a user turn not answered yet
        elif chat.messages and chat.messages[0].role == "system":
            text = chat.messages[0].text
        self.heard.append(text)
        lowered = text.lower()
        found = [(len(key), i) for i, (key, _) in enumerate(self.script) if key in lowered]
        return max(found)[1] if found else -1

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        entry = self._entry(chat, step)
        if entry < 0:
            yield LLMChunk(text=self.fallback, completion_tokens=1)
            return
        rounds = self.script[entry][1]
        answer: Any = rounds[min(step, len(rounds) - 1)]
        if callable(answer):
            answer = answer(chat)
        if isinstance(answer, list) and not tools:
            texts = [r for r in rounds if isinstance(r, str)]
            answer = texts[-1] if texts else ""
        if isinstance(answer, str):
            if answer:
                yield LLMChunk(text=answer, completion_tokens=1)
            return
        for index, call in enumerate(answer):
            yield LLMChunk(
                tool_call=FunctionCall(
                    call_id=f"dlg_{entry}_{step}_{index}",
                    name=call.name,
                    arguments=json.dumps(call.arguments),
                ),
                completion_tokens=1,
            )


class KeywordJudge(LLMEngine):
    """A judge for ``result.expect...judge(llm, intent=...)``: PASS when the judged message
    contains every word listed for the intent (case-insensitive), FAIL otherwise.

    ``rules`` maps an intent to its words; an intent with no rule fails (so a test cannot
    pass by a judge that was not told what to look for).
    """

    def __init__(self, rules: Mapping[str, Sequence[str]]) -> None:
        super().__init__()
        self.rules = dict(rules)

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        question = chat.messages[-1].text
        intent, _, message = question.partition("\n\nMessage: ")
        intent = intent.removeprefix("Intent: ")
        words = self.rules.get(intent)
        if words is None:
            verdict = f"FAIL\nno rule for the intent {intent!r}"
        else:
            missing = [w for w in words if w.lower() not in message.lower()]
            verdict = "PASS\nok" if not missing else f"FAIL\nthe message lacks {missing}"
        yield LLMChunk(text=verdict, completion_tokens=1)
