"""Test helpers in the spirit of LiveKit's: :class:`RunResult` and fluent expectations.

::

    async with AgentSession(llm=ScriptedLLM(replies=[...]), clock=VirtualClock()) as session:
        await session.start(Assistant())
        result = await session.run(user_input="What's the weather in Paris?")
        result.expect.next_event().is_function_call(name="get_weather", arguments={"city": "Paris"})
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_message(role="assistant").contains("sunny")
        result.expect.no_more_events()
        await result.expect[-1].judge(judge_llm, intent="says it is sunny in Paris")
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from voicegraph.graph import Clock
from voicegraph.nodes._closing import close_stream
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMEngine,
)

if TYPE_CHECKING:
    from ._agent import Agent

__all__ = [
    "JUDGE_INSTRUCTIONS",
    "AgentHandoffEvent",
    "ChatMessageEvent",
    "EventAssert",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "RunAssert",
    "RunEvent",
    "RunResult",
]


@dataclass(frozen=True)
class ChatMessageEvent:
    """The agent said something (``item.text`` is what was heard)."""

    type: ClassVar[str] = "message"
    item: ChatMessage


@dataclass(frozen=True)
class FunctionCallEvent:
    """The LLM called a tool."""

    type: ClassVar[str] = "function_call"
    item: FunctionCall


@dataclass(frozen=True)
class FunctionCallOutputEvent:
    """A tool call's result (``item.is_error`` for failures)."""

    type: ClassVar[str] = "function_call_output"
    item: FunctionCallOutput


@dataclass(frozen=True)
class AgentHandoffEvent:
    """The session switched agents (also when an ``AgentTask`` starts or returns)."""

    type: ClassVar[str] = "agent_handoff"
    item: AgentHandoffItem
    old_agent: Agent | None
    new_agent: Agent | None


RunEvent: TypeAlias = (
    ChatMessageEvent | FunctionCallEvent | FunctionCallOutputEvent | AgentHandoffEvent
)


def _describe(event: RunEvent) -> str:
    item = event.item
    if isinstance(item, ChatMessage):
        cut = " [interrupted]" if item.interrupted else ""
        return f"message({item.role}: {item.text!r}{cut})"
    if isinstance(item, FunctionCall):
        return f"function_call({item.name} {item.arguments})"
    if isinstance(item, FunctionCallOutput):
        error = " [error]" if item.is_error else ""
        return f"function_call_output({item.name}: {item.output!r}{error})"
    return f"agent_handoff({item.old_agent_id} -> {item.new_agent_id})"


JUDGE_INSTRUCTIONS = (
    "You check whether a message from a voice assistant fulfils an intent. Answer with "
    "PASS or FAIL on the first line, then one sentence saying why."
)
"""What :meth:`EventAssert.judge` tells the judging LLM."""


async def _ask(llm: LLMEngine, chat: ChatContext, clock: Clock | None) -> str:
    """The text ``llm`` generates for ``chat`` (no tools), entering the engine meanwhile."""
    if clock is not None:
        llm.bind(clock)
    parts: list[str] = []
    async with llm:
        stream = llm.generate(chat, [])
        try:
            async for chunk in stream:
                parts.append(chunk.text)
        finally:
            await close_stream(stream, llm.label(), clock=clock)
    return "".join(parts)


class RunResult:
    """What the agent did during one :meth:`AgentSession.run`.

    Attributes:
        user_input: the text the run sent.
        events: the agent's messages, function calls and outputs, and handoffs, in order.
    """

    def __init__(self, user_input: str = "") -> None:
        self.user_input = user_input
        self.events: list[RunEvent] = []
        self._expect: RunAssert | None = None

    def __repr__(self) -> str:
        return f"<RunResult {[_describe(e) for e in self.events]}>"

    @property
    def expect(self) -> RunAssert:
        """Fluent expectations over :attr:`events` (one cursor per result)."""
        if self._expect is None:
            self._expect = RunAssert(self.events)
        return self._expect

    def add(self, item: Any, old: Agent | None = None, new: Agent | None = None) -> None:
        """Record a history item the agent added (the session calls this)."""
        if isinstance(item, ChatMessage):
            self.events.append(ChatMessageEvent(item))
        elif isinstance(item, FunctionCall):
            self.events.append(FunctionCallEvent(item))
        elif isinstance(item, FunctionCallOutput):
            self.events.append(FunctionCallOutputEvent(item))
        elif isinstance(item, AgentHandoffItem):
            self.events.append(AgentHandoffEvent(item, old, new))


class RunAssert:
    """A cursor over a run's events: ``next_event()``, ``skip_next()``, ``no_more_events()``,
    indexing (``expect[0]``, ``expect[-1]``) and ``contains_*`` searches.

    Every failed expectation raises ``AssertionError`` listing the run's events.
    """

    def __init__(self, events: list[RunEvent]) -> None:
        self._events = events
        self._index = 0

    def _fail(self, message: str) -> AssertionError:
        listing = "\n".join(
            f"  {'>' if i == self._index else ' '} [{i}] {_describe(e)}"
            for i, e in enumerate(self._events)
        )
        return AssertionError(f"{message}\nrun events:\n{listing or '  (none)'}")

    def next_event(self, *, type: str | None = None) -> EventAssert:
        """The next event (of ``type`` if given, skipping others)."""
        while self._index < len(self._events):
            event = self._events[self._index]
            self._index += 1
            if type is None or event.type == type:
                return EventAssert(event, self._index - 1, self)
        raise self._fail(f"expected another {type or ''} event, but there are no more".strip())

    def skip_next(self, count: int = 1) -> RunAssert:
        """Skip ``count`` events."""
        if self._index + count > len(self._events):
            raise self._fail(f"cannot skip {count} events")
        self._index += count
        return self

    def skip_next_event_if(self, *, type: str, **criteria: Any) -> EventAssert | None:
        """Skip the next event if it is of ``type`` (and matches ``criteria``); return it."""
        if self._index >= len(self._events):
            return None
        event = EventAssert(self._events[self._index], self._index, self)
        try:
            event._check(type, criteria)
        except AssertionError:
            return None
        self._index += 1
        return event

    def no_more_events(self) -> None:
        """Assert every event has been looked at."""
        if self._index < len(self._events):
            raise self._fail(f"expected no more events, found {len(self._events) - self._index}")

    def __getitem__(self, index: int) -> EventAssert:
        try:
            event = self._events[index]
        except IndexError:
            raise self._fail(f"no event at index {index}") from None
        return EventAssert(event, index % len(self._events), self)

    def _contains(self, type: str, criteria: dict[str, Any]) -> EventAssert:
        for index, event in enumerate(self._events):
            candidate = EventAssert(event, index, self)
            try:
                candidate._check(type, criteria)
            except AssertionError:
                continue
            return candidate
        raise self._fail(f"no {type} event matching {criteria}")

    def contains_message(self, *, role: str | None = None) -> EventAssert:
        """Some message (with ``role``)."""
        return self._contains("message", {"role": role})

    def contains_function_call(
        self, *, name: str | None = None, arguments: dict[str, Any] | None = None
    ) -> EventAssert:
        """Some function call (by ``name``, with ``arguments`` among its arguments)."""
        return self._contains("function_call", {"name": name, "arguments": arguments})

    def contains_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> EventAssert:
        """Some function call output."""
        return self._contains("function_call_output", {"output": output, "is_error": is_error})

    def contains_agent_handoff(self, *, new_agent_type: type | None = None) -> EventAssert:
        """Some handoff (to an agent of ``new_agent_type``)."""
        return self._contains("agent_handoff", {"new_agent_type": new_agent_type})


class EventAssert:
    """One event of a run; ``is_*`` assert its kind and fields and return ``self``."""

    def __init__(self, event: RunEvent, index: int, run: RunAssert) -> None:
        self._event = event
        self._index = index
        self._run = run

    def event(self) -> RunEvent:
        """The event itself."""
        return self._event

    @property
    def item(self) -> Any:
        """The event's chat item."""
        return self._event.item

    def _check(self, type: str, criteria: dict[str, Any]) -> None:
        event = self._event
        where = f"event [{self._index}] {_describe(event)}"
        if event.type != type:
            raise self._run._fail(f"expected a {type} at [{self._index}], got {_describe(event)}")
        item: Any = event.item
        for key, want in criteria.items():
            if want is None:
                continue
            if key == "arguments":
                got = json.loads(item.arguments or "{}")
                wrong = {k: got.get(k) for k, v in want.items() if got.get(k) != v}
                if wrong:
                    raise self._run._fail(f"{where}: arguments {wrong} differ from {want}")
            elif key == "new_agent_type":
                agent = event.new_agent if isinstance(event, AgentHandoffEvent) else None
                if not isinstance(agent, want):
                    raise self._run._fail(f"{where}: the new agent is not a {want.__name__}")
            elif getattr(item, key) != want:
                raise self._run._fail(f"{where}: {key} is {getattr(item, key)!r}, not {want!r}")

    def is_message(self, *, role: str | None = None) -> EventAssert:
        """Assert a message (from ``role``)."""
        self._check("message", {"role": role})
        return self

    def is_function_call(
        self, *, name: str | None = None, arguments: dict[str, Any] | None = None
    ) -> EventAssert:
        """Assert a function call (of ``name``; ``arguments`` must be among its arguments)."""
        self._check("function_call", {"name": name, "arguments": arguments})
        return self

    def is_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> EventAssert:
        """Assert a function call output (with exactly ``output``, ``is_error``)."""
        self._check("function_call_output", {"output": output, "is_error": is_error})
        return self

    def is_agent_handoff(self, *, new_agent_type: type | None = None) -> EventAssert:
        """Assert a handoff (to an instance of ``new_agent_type``)."""
        self._check("agent_handoff", {"new_agent_type": new_agent_type})
        return self

    def _body(self) -> str:
        item = self.item
        if isinstance(item, ChatMessage):
            return item.text
        if isinstance(item, FunctionCallOutput):
            return item.output
        if isinstance(item, FunctionCall):
            return item.arguments
        return ""

    def contains(self, text: str) -> EventAssert:
        """Assert the message (or output) text contains ``text`` (case-insensitive)."""
        body = self._body()
        if text.lower() not in body.lower():
            raise self._run._fail(f"event [{self._index}] does not contain {text!r}: {body!r}")
        return self

    async def judge(
        self, llm: LLMEngine, *, intent: str, clock: Clock | None = None
    ) -> EventAssert:
        """Ask ``llm`` whether the message (or output) fulfils ``intent`` (LiveKit's
        LLM-as-judge); fail with the judge's reason if it does not.

        The judge gets :data:`JUDGE_INSTRUCTIONS` and the intent and message, and must
        answer ``PASS`` or ``FAIL`` followed by a reason; any other answer fails too. Use a
        capable model: the embedded 135M-parameter SmolLM2 is not a reliable judge. The engine
        is entered (``async with``) for the question, so it may be one a session uses too;
        ``clock`` binds it to a clock first (default: the one it has, a wall clock for an
        engine no host has used).

        Raises:
            AssertionError: the judge said ``FAIL``, or not ``PASS``.
        """
        body = self._body()
        chat = ChatContext()
        chat.set_instructions(JUDGE_INSTRUCTIONS)
        chat.add_message("user", f"Intent: {intent}\n\nMessage: {body}")
        answer = (await _ask(llm, chat, clock)).strip()
        verdict, _, reason = answer.partition("\n")
        verdict = verdict.strip().upper()
        if verdict.startswith("PASS"):
            return self
        why = reason.strip() or verdict
        if not verdict.startswith("FAIL"):
            why = f"the judge answered neither PASS nor FAIL: {answer!r}"
        raise self._run._fail(
            f"event [{self._index}] does not fulfil the intent {intent!r}: {why} "
            f"(message: {body!r})"
        )

    def matches(self, pattern: str) -> EventAssert:
        """Assert the message (or output) text matches the regular expression ``pattern``."""
        body = self._body()
        if re.search(pattern, body) is None:
            raise self._run._fail(f"event [{self._index}] does not match {pattern!r}: {body!r}")
        return self
