"""The :class:`LLMNode` host: chat context, streaming, tool rounds, barge-in truncation."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from voicegraph.graph import (
    ConfigError,
    Control,
    Event,
    Flush,
    In,
    LLMText,
    NodeConfig,
    Out,
    PlayoutMark,
    ToolCall,
    ToolResult,
    UsageError,
    UserTurn,
)
from voicegraph.graph.timeline import LLMGenerated, TimelineEvent
from voicegraph.nodes._closing import close_stream
from voicegraph.nodes._host import EngineHost, EngineSlot
from voicegraph.nodes._runs import RunStarts
from voicegraph.nodes.tools import (
    FunctionTool,
    SilentToolResult,
    ToolLike,
    load_tools,
    resolve_tools,
)

from ._chat import AnyChatItem, ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from ._chunks import LLMChunk, LLMMetrics
from ._engine import LLMEngine
from ._request import ReplyRequest

__all__ = ["DEFAULT_INSTRUCTIONS", "GenerateHook", "LLMNode", "TranscriptionHook"]

GenerateHook = Callable[[LLMEngine, ChatContext, list[FunctionTool], int], AsyncIterator[LLMChunk]]
"""Generates instead of the engine: ``hook(engine, chat, tools, step)`` (see
:attr:`LLMNode.generate_hook`)."""

TranscriptionHook = Callable[[list[str]], Awaitable[str | None]]
"""Rewrites a step's text for the history: ``await hook(deltas)`` (see
:attr:`LLMNode.transcription_hook`)."""

log = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = (
    "You are a helpful voice assistant. Your replies are spoken aloud, so answer briefly in "
    "one to three short sentences of plain text, without markdown, lists or emojis."
)
"""The default system prompt: brief spoken answers without markdown."""

_KEEP_REPLIES = 16  # replies whose assistant messages a late playout mark may still correct


class LLMNode(EngineHost[LLMEngine]):
    """The LLM stage's host node: keeps the chat context, streams replies, runs tool rounds.

    Its :class:`~voicegraph.nodes.llm.LLMEngine` (``LlamaLLM``, ``GeminiLLM``,
    ``ScriptedLLM``, a ``FallbackLLM``...) only streams one response at a time; the node owns
    the conversation, ports, epochs, interrupts and metrics::

        llm = LLMNode(engine=LlamaLLM(), tools=[get_weather], instructions="Be brief.")

    The node:

    * on a :class:`UserTurn`, appends the user message and generates a reply, emitting text
      deltas as :class:`LLMText` frames, each stamped with the clock time it was generated
      (``generated``); ``LLMText("", final=True)`` ends each reply;
    * on a :class:`ReplyRequest` (optional ``requests`` input), replies without a user turn:
      generates (with the request's extra instructions, optionally after its user message)
      or speaks the request's ``say`` text verbatim; turns and requests are handled in
      arrival order;
    * when the model requests tools, emits :class:`ToolCall` frames (after a ``Flush`` on
      ``text`` if text came first, and an empty non-final ``LLMText``, which asks the
      splitter to flush in order with the text: an event may overtake queued text), waits
      for every :class:`ToolResult` on ``tool_results``, then generates again (each
      :class:`FunctionCall` is added to :attr:`chat` as it is emitted, when its tool
      starts, as LiveKit records it; the :class:`FunctionCallOutput` items once the
      round is complete; calls dropped by an interrupt are taken out again), for at
      most ``max_tool_steps`` rounds; after that it generates without tools.
      When every result of a round is a :class:`SilentToolResult` (a tool raised
      ``StopResponse``, or handed off), the results are recorded and the reply ends;
    * on a :class:`PlayoutMark` with ``interrupted=True`` (from the audio output, over a
      feedback edge into ``playout``), replaces the reply's assistant text with what was
      actually heard and sets ``interrupted=True`` (an empty played text keeps the message
      with ``""``, as LiveKit does);
    * on an interrupt, its in-flight generation is cancelled (the engine's stream is closed);
      the text generated so far stays in :attr:`chat`, marked ``interrupted``, until the
      playout mark corrects it. Pending tool calls of the cut-off reply are dropped.

    The agent layer swaps what the node works with between replies: :meth:`set_tools`, the
    :attr:`chat` attribute, :meth:`set_engine` (another engine generates, e.g. an agent's
    own ``llm=``; the node keeps the conversation), and :meth:`push_context` /
    :meth:`pop_context` for a nested conversation (an ``AgentTask`` run from inside a tool
    call). Every engine used is entered once (on the node's clock: the one it was built with
    in :meth:`setup`, so models load before the first turn; others on first use) and closed
    when the node closes. A graph file stores the engine (type and config) under the
    node's ``parts``.

    Wire tools with a :class:`~voicegraph.nodes.tools.ToolExecutor`:
    ``g.connect(llm.tool_calls, ex.calls)`` and
    ``g.connect(ex.results, llm.tool_results, feedback=True)``.

    Attributes:
        chat: the conversation (:class:`ChatContext`); its first item is the system message
            with the instructions.
        metrics: one :class:`LLMMetrics` per generation (the last 1000), appended once the
            engine's stream has stopped (after an interrupt: once its worker has ended).

    Args:
        engine: the model that generates (an :class:`~voicegraph.nodes.llm.LLMEngine`).
        tools: FunctionTools, functions or import paths offered to the model (see ``Config``).
        chat: the conversation to continue (default a new one with the instructions).

    Raises:
        ConfigError: ``engine`` is not an ``LLMEngine``, or a tool cannot be loaded.

    Config:
        instructions: the system prompt (default :data:`DEFAULT_INSTRUCTIONS`).
        tools: import paths of the tools offered to the model (default none). The constructor
            also takes FunctionTools and functions (see ``ToolExecutor`` for which are stored
            as paths and which stay outside the config).
        max_tool_steps: most tool rounds per reply (default 3, LiveKit's default).

    Model settings (``temperature``, ``max_tokens``, the model itself) belong to the engine,
    as they do to a LiveKit LLM plugin.
    """

    class Config(NodeConfig):
        instructions: str = DEFAULT_INSTRUCTIONS
        tools: list[str] = []
        max_tool_steps: int = Field(3, ge=0)

    config: Config
    turn: In[UserTurn]
    requests: In[ReplyRequest] = In(required=False)
    tool_results: In[ToolResult] = In(required=False)
    playout: In[Control] = In(required=False)
    text: Out[LLMText]
    tool_calls: Out[ToolCall]

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        engine: LLMEngine,
        tools: Sequence[ToolLike] | None = None,
        chat: ChatContext | None = None,
        **settings: Any,
    ) -> None:
        extra: list[FunctionTool] = []
        if tools is not None:
            paths, extra = resolve_tools(tools)
            settings["tools"] = paths
        super().__init__(config, **settings)
        self._slot: EngineSlot[LLMEngine] = EngineSlot(
            self, LLMEngine, engine, "LlamaLLM, GeminiLLM"
        )
        self._tools = load_tools(self.config.tools, extra)
        self.chat = chat if chat is not None else ChatContext()
        if self.config.instructions and self.chat.instructions is None:
            self.chat.set_instructions(self.config.instructions)
        self.metrics: deque[LLMMetrics] = deque(maxlen=1000)
        self.timeline_events: deque[TimelineEvent] = deque(maxlen=1000)  # LLMGenerated events
        self._runs = RunStarts()
        self._pending: dict[str, FunctionCall] = {}
        self._results: dict[str, ToolResult] = {}
        self._step = 0
        self._tail = ""  # the last text emitted in the current reply
        self._replies: deque[tuple[int, list[str]]] = deque(maxlen=_KEEP_REPLIES)
        self._extra = ""  # extra instructions of the current reply (from a ReplyRequest)
        self._allow_tools = True
        self._context: tuple[AnyChatItem, ...] = ()  # items for the current reply only
        self._stack: list[_Saved] = []
        self.on_tool_round: Callable[[], None] | None = None
        """Called once a tool round's calls and outputs are in :attr:`chat`, before the
        next generation (the agent layer reports ``function_tools_executed`` from it)."""
        self.generate_hook: GenerateHook | None = None
        """When set, each generation streams ``hook(engine, chat, tools, step)`` instead of
        ``engine.generate(chat, tools, step=step)`` (the agent layer sets it to an agent's
        ``llm_node``); the node closes that stream on an interrupt as it closes the
        engine's."""
        self.transcription_hook: TranscriptionHook | None = None
        """When set, a generation step that completes has its assistant message replaced by
        ``await hook(deltas)`` (``None``: kept as generated; the agent layer sets it to an
        agent's ``transcription_node``). The text sent on ``text`` is not changed."""

    @property
    def tools(self) -> dict[str, FunctionTool]:
        """The tools offered to the model, by name (a copy)."""
        return dict(self._tools)

    def set_tools(self, tools: Sequence[ToolLike]) -> None:
        """Replace the tools offered to the model from the next generation on.

        The config's ``tools`` (what serializes) is left as it was built. Connect a
        ``tool_results`` edge before running if tools may be set later.

        Raises:
            ConfigError: a tool path cannot be loaded or two tools share a name.
        """
        paths, extra = resolve_tools(tools)
        self._tools = load_tools(paths, extra)

    def default_name(self) -> str:
        """``"llm"``."""
        return "llm"

    def push_context(self, chat: ChatContext, tools: Sequence[ToolLike] = ()) -> None:
        """Set the current conversation aside and continue with ``chat`` and ``tools``.

        Used for a nested conversation started while a tool call is in flight (an
        ``AgentTask`` awaited inside a tool): the set-aside conversation keeps its pending
        tool calls, and results for them that arrive meanwhile are kept with it.
        :meth:`pop_context` brings it back. Call it while the node is not generating.
        """
        self._stack.append(
            _Saved(self.chat, self._tools, self._pending, self._results, self._step,
                   self._tail, self._extra, self._allow_tools, self.engine, self._context)
        )  # fmt: skip
        self.chat = chat
        self.set_tools(tools)
        self._pending, self._results = {}, {}
        self._step, self._tail, self._extra, self._allow_tools = 0, "", "", True
        self._context = ()

    def pop_context(self) -> ChatContext:
        """Return to the conversation set aside by :meth:`push_context`; returns the nested one.

        Raises:
            UsageError: no conversation was set aside.
        """
        if not self._stack:
            raise UsageError(
                f"{self.name or 'LLM node'}: pop_context() without push_context(); pair every "
                "pop_context() with an earlier push_context()"
            )
        nested = self.chat
        saved = self._stack.pop()
        self.chat, self._tools = saved.chat, saved.tools
        self._pending, self._results = saved.pending, saved.results
        self._step, self._tail = saved.step, saved.tail
        self._extra, self._allow_tools = saved.extra, saved.allow_tools
        self._context = saved.context
        self._slot.select(saved.engine)
        return nested

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        """Check that tool calls can come back (``tool_results`` is connected), then enter
        the engine (its model loads now, not on the first turn) and prewarm it.

        A new run starts a new :attr:`timeline_events` (a supervised restart keeps it)."""
        if self._runs.new_run(self):
            self.timeline_events.clear()
        if self._tools and not self.connected(self.tool_results):
            raise ConfigError(
                f"LLM node {self.name!r} has tools but its tool_results input is not connected; "
                "add a ToolExecutor: g.connect(llm.tool_calls, executor.calls) and "
                "g.connect(executor.results, llm.tool_results, feedback=True)"
            )
        engine = await self._slot.ready()
        await engine.prewarm(self.chat.copy())

    async def aclose(self) -> None:
        """Close every engine this node entered."""
        await self._slot.aclose()
        await super().aclose()

    # ------------------------------------------------------------------ inputs

    async def on_turn(self, frame: UserTurn) -> None:
        """Append the user's message and reply to it."""
        if not frame.text.strip():
            log.debug("%s: ignoring an empty user turn", self.name)
            return
        self._start_reply("a new user turn", "", allow_tools=True)
        self.chat.add_message("user", frame.text)
        await self._generate_step()

    async def on_requests(self, frame: ReplyRequest) -> None:
        """Reply to a :class:`ReplyRequest`: generate, or speak its ``say`` text."""
        self._start_reply("a reply request", frame.instructions, allow_tools=frame.allow_tools)
        self._context = frame.context
        if frame.user_input.strip():
            self.chat.add_message("user", frame.user_input)
        if frame.say is None:
            await self._generate_step()
            return
        if frame.say:
            if frame.add_to_chat:
                self._add_text(None, self.epoch, frame.say)
            await self.emit(self.text, LLMText(frame.say))
        await self.emit(self.text, LLMText("", final=True))

    def _start_reply(self, why: str, instructions: str, *, allow_tools: bool) -> None:
        if self._pending:
            log.info("%s: %s arrived; dropping %d pending tool calls", self.name, why,
                     len(self._pending))  # fmt: skip
            self._drop_pending()
        self._step = 0
        self._tail = ""
        self._extra, self._allow_tools = instructions, allow_tools
        self._context = ()
        self._replies.append((self.epoch, []))

    def awaiting_feedback(self) -> bool:
        """Keep running at end of input while tool results are still due (feedback edge)."""
        return bool(self._pending)

    async def on_tool_results(self, frame: ToolResult) -> None:
        """Collect a tool result; once the batch is complete, generate the next step.

        A result for a call of a conversation set aside by :meth:`push_context` is kept with
        that conversation. When every result of the batch is a :class:`SilentToolResult`, the
        reply ends without another generation.
        """
        if frame.call_id not in self._pending:
            for saved in reversed(self._stack):
                if frame.call_id in saved.pending:
                    saved.results[frame.call_id] = frame
                    return
            log.debug("%s: ignoring a result for unknown call %r", self.name, frame.call_id)
            return
        self._results[frame.call_id] = frame
        if len(self._results) < len(self._pending):
            return
        calls, results = list(self._pending.values()), self._results
        self._pending, self._results = {}, {}
        for call in calls:  # the calls are in the chat since they started
            r = results[call.call_id]
            self.chat.add(
                FunctionCallOutput(
                    call_id=r.call_id, name=r.name, output=r.output, is_error=r.is_error
                )
            )
        self._step += 1
        if self.on_tool_round is not None:
            self.on_tool_round()
        if all(isinstance(r, SilentToolResult) for r in results.values()):
            await self.emit(self.text, LLMText("", final=True))
            return
        await self._generate_step()

    async def on_playout(self, frame: Control) -> None:
        """The playout port carries only events (see :meth:`on_event`)."""

    async def on_event(self, event: Event) -> None:
        """Apply playout marks to the chat; forward other events on ``text``.

        Playout marks are consumed. Other events (``SpeechStarted``, ``Flush``, ...) go on to
        the ``text`` output only (never to ``tool_calls``). An event cannot circle a feedback
        cycle: forwarding keeps the runner's stamp of its send, and every node handles a
        send once, so one that comes back around is not handed to a node again (the node
        that first sent it forwards it once more, and nobody downstream takes it up).
        """
        if isinstance(event, PlayoutMark):
            if event.interrupted:
                self.apply_playout(event)
            return
        await self.send_event(event, self.text)

    async def on_interrupt(self, event: Any) -> None:
        """Drop the cut-off reply's pending tool calls."""
        self._drop_pending()

    def _drop_pending(self) -> None:
        """Forget the pending tool calls, and take them out of the chat (no result will
        follow them)."""
        if self._pending:
            dropped = set(self._pending)
            self.chat.items = [
                item
                for item in self.chat.items
                if not (isinstance(item, FunctionCall) and item.call_id in dropped)
            ]
        self._pending, self._results = {}, {}

    def reply_text(self, epoch: int) -> str:
        """The assistant text generated so far by the latest reply of turn ``epoch``."""
        ids = next((ids for e, ids in reversed(self._replies) if e == epoch), [])
        texts = [m.text for i in ids if isinstance(m := self.chat.get(i), ChatMessage)]
        return " ".join(t.strip() for t in texts if t.strip())

    # ------------------------------------------------------------------ barge-in

    def apply_playout(self, mark: PlayoutMark) -> None:
        """Make the interrupted reply's assistant text what the listener heard (``mark.text``).

        The mark applies to the latest reply generated in ``mark.epoch``. Its assistant
        messages (several when tool rounds split it) heard completely are kept, the one cut
        off gets the rest of the played text, later ones become ``""``; all from the cut on
        get ``interrupted=True``. A reply cut off before it said anything has nothing to
        correct. Without a matching reply, the last assistant message is corrected.
        """
        ids = next((ids for epoch, ids in reversed(self._replies) if epoch == mark.epoch), None)
        if ids is None:
            self.chat.replace_last_assistant_text(mark.text.strip())
            return
        messages = [m for i in ids if isinstance(m := self.chat.get(i), ChatMessage)]
        remaining = " ".join(mark.text.split())
        for index, message in enumerate(messages):
            heard = " ".join(message.text.split())
            last = index == len(messages) - 1
            if not last and heard and remaining.startswith(heard):
                remaining = remaining[len(heard) :].lstrip()
                continue
            self.chat.replace(message.id, text=remaining, interrupted=True)
            remaining = ""

    # ------------------------------------------------------------------ generation

    async def _generate_step(self) -> None:
        offer = self._allow_tools and self._step < self.config.max_tool_steps
        tools = list(self._tools.values()) if offer else []
        epoch, step = self.epoch, self._step
        started = self.clock.now()
        ttft: float | None = None
        prompt_tokens = completion_tokens = 0
        calls: list[FunctionCall] = []
        message: str | None = None  # the id of this step's assistant message, once it has text
        finished = False
        chat = self.chat.copy()
        if self._context:
            users = [i for i, item in enumerate(chat.items) if getattr(item, "role", "") == "user"]
            at = users[-1] if users else len(chat.items)
            chat.items[at:at] = list(self._context)
        if self._extra:
            chat.set_instructions("\n".join(t for t in (chat.instructions, self._extra) if t))
        engine = await self._slot.ready()
        hook = self.generate_hook
        stream = (
            engine.generate(chat, tools, step=step)
            if hook is None
            else hook(engine, chat, tools, step)
        )
        deltas: list[str] = []
        try:
            async for chunk in stream:
                prompt_tokens += chunk.prompt_tokens
                completion_tokens += chunk.completion_tokens
                if chunk.tool_call is not None:
                    if tools:
                        calls.append(chunk.tool_call)
                    else:
                        log.warning(
                            "%s: the model called %r though no tools were offered; ignored",
                            self.name,
                            chunk.tool_call.name,
                        )
                if chunk.text:
                    if ttft is None:
                        ttft = self.clock.now() - started
                    message, delta = self._add_text(message, epoch, chunk.text)
                    deltas.append(delta)
                    await self.emit(self.text, LLMText(delta, generated=self.clock.now()))
            finished = True
        finally:
            ended = self.clock.now()
            if message is not None and not finished and self.chat.get(message) is not None:
                self.chat.replace(message, interrupted=True)
            # stop the engine before anything else (bounded: a stuck close cannot block barge-in)
            await close_stream(stream, engine.label(), clock=self.clock)
            self.metrics.append(
                LLMMetrics(
                    epoch=epoch,
                    step=step,
                    started=started,
                    ttft=ttft,
                    duration=ended - started,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    tool_calls=len(calls),
                    cancelled=not finished,
                )
            )
            m = self.metrics[-1]
            self.timeline_events.append(
                self.publish(
                    LLMGenerated(
                        m.step,
                        m.started,
                        m.ttft,
                        m.duration,
                        m.tool_calls,
                        m.cancelled,
                        m.prompt_tokens,
                        m.completion_tokens,
                    )
                )
            )
        if message is not None and self.transcription_hook is not None:
            text = await self.transcription_hook(deltas)
            if text is not None and self.chat.get(message) is not None:
                self.chat.replace(message, text=text)
        if calls:
            self._pending = {call.call_id: call for call in calls}
            self.chat.extend(calls)  # recorded as their tools start (LiveKit's order)
            if message is not None:  # let TTS speak the text said before the tool calls
                await self.send_event(Flush(), self.text)
                await self.emit(self.text, LLMText(""))  # the same, in order with the text
            for call in calls:
                await self.emit(self.tool_calls, ToolCall(call.call_id, call.name, call.arguments))
            return
        await self.emit(self.text, LLMText("", final=True))

    def _add_text(self, message: str | None, epoch: int, text: str) -> tuple[str, str]:
        """Add streamed text to the reply's assistant message (``None``: start one); return
        its id and the delta to emit.

        The message in :attr:`chat` is replaced by a longer copy for each delta, never edited,
        so copies of the chat taken meanwhile keep the text they saw.
        """
        delta = text
        if message is None:
            if self._tail and not self._tail.isspace() and not text[0].isspace():
                delta = " " + text  # text after a tool round: keep the words apart
            message = self.chat.add_message("assistant", text).id
            if not self._replies:
                self._replies.append((epoch, []))
            self._replies[-1][1].append(message)
        elif self.chat.get(message) is not None:
            self.chat.append_text(message, text)
        # else the message was withdrawn meanwhile (a discarded preemptive reply: its
        # interrupt is on its way, and its frames will be dropped): the chat stays without it
        self._tail = delta[-1]
        return message, delta


@dataclass(slots=True)
class _Saved:
    """A conversation set aside by :meth:`LLMNode.push_context`."""

    chat: ChatContext
    tools: dict[str, FunctionTool]
    pending: dict[str, FunctionCall]
    results: dict[str, ToolResult]
    step: int
    tail: str
    extra: str
    allow_tools: bool
    engine: LLMEngine
    context: tuple[AnyChatItem, ...]
