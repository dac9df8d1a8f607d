"""GeminiLLM: the LLM engine on Google's Gemini API (``google-genai``, streamed over SSE)."""

from __future__ import annotations

import json
import logging
import ssl
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import Field

from voicegraph.graph import NodeConfig
from voicegraph.nodes._http import SDKClient
from voicegraph.nodes.llm import ChatContext, FunctionCall, LLMChunk, LLMEngine
from voicegraph.nodes.tools import FunctionTool

from ._client import ResponseTracker, make_client, require_sdk, resolve_key
from ._convert import to_contents, to_tools
from ._errors import provider_error, to_provider_error

__all__ = ["GeminiLLM"]

log = logging.getLogger(__name__)

_KEEP_SIGNATURES = 256
_BLOCKED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}


class GeminiLLM(LLMEngine):
    """An LLM engine answering with Google Gemini, streamed (``generate_content_stream``).

    A drop-in for :class:`~voicegraph.nodes.llm.LlamaLLM` in an
    :class:`~voicegraph.nodes.llm.LLMNode` (``LLMNode(engine=GeminiLLM(), tools=[...])``),
    which keeps the conversation and runs the tool rounds. The chat context becomes Gemini
    ``contents`` (``assistant`` → ``model``) with the system messages as the system
    instruction; tools are declared from their JSON schemas and Gemini's function calls come
    back as :class:`~voicegraph.graph.ToolCall` frames (with generated call ids; Gemini's
    thought signatures are kept and sent back with the calls). Token usage from Gemini's
    ``usageMetadata`` goes into the host's :class:`~voicegraph.nodes.llm.LLMMetrics`.

    The API key comes from ``api_key=`` or the ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``
    environment variable; without one the constructor raises
    :class:`~voicegraph.graph.ConfigError` (so a graph fails when it is built, not mid-call).
    The key is never stored in the config (so it is not serialized with the graph).

    On an interrupt the HTTP stream is closed at once (the server sees the client hang up).
    Errors become :class:`~voicegraph.graph.ProviderError` naming ``gemini`` and the HTTP
    status (401, 429 with the server's ``Retry-After`` as ``error.retry_after``, 500...);
    no first byte or no next chunk within ``timeout`` seconds raises
    :class:`~voicegraph.graph.ProviderTimeoutError`; a stream that ends without a finish
    reason (the connection dropped) or carries malformed JSON raises ``ProviderError``. The
    SDK does not retry: wrap the engine in a :class:`~voicegraph.nodes.fallback.FallbackLLM`
    for retries and failover.

    The SDK client is made in :meth:`start` (no request is sent) and its connections are
    closed in :meth:`aclose`. Network time is wall-clock time: run graphs with cloud
    engines on the ``RealClock``.

    Args:
        api_key: the Gemini API key (default: from the environment, see above).
        ssl_context: TLS settings for ``base_url`` (e.g. trusting a private CA).

    Config:
        model: the Gemini model (default ``"gemini-2.5-flash"``).
        temperature: sampling temperature (default ``None``: the model's).
        max_tokens: most output tokens per generation (default 256).
        base_url: the API endpoint (default ``None``: Google's).
        api_version: the API version (default ``None``: the SDK's, ``v1beta``).
        timeout: seconds to wait for the response and each next chunk (default 10).
        thinking_budget: thinking tokens (``0`` turns thinking off on Flash models for lower
            latency; default ``None``: the model's default).
    """

    class Config(NodeConfig):
        model: str = "gemini-2.5-flash"
        temperature: float | None = Field(None, ge=0.0, le=2.0)
        max_tokens: int | None = Field(256, ge=1)
        base_url: str | None = None
        api_version: str | None = None
        timeout: float = Field(10.0, gt=0.0)
        thinking_budget: int | None = Field(None, ge=-1)

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        api_key: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        require_sdk(type(self).__name__)
        self._api_key = resolve_key(api_key, type(self).__name__)
        self._ssl = ssl_context
        self._sdk = SDKClient(self._make_client)
        self._signatures: OrderedDict[str, bytes] = OrderedDict()

    def _make_client(self) -> tuple[Any, Any]:
        cfg = self.config
        return make_client(
            self._api_key,
            base_url=cfg.base_url,
            api_version=cfg.api_version,
            timeout=cfg.timeout,
            ssl_context=self._ssl,
        )

    async def start(self) -> None:
        """Create the SDK client (no request is sent)."""
        self._sdk.open()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._sdk.aclose()

    def request_config(self, chat: ChatContext, tools: Sequence[FunctionTool]) -> tuple[Any, Any]:
        """The ``contents`` and ``GenerateContentConfig`` sent for ``chat`` and ``tools``."""
        from google.genai import types

        cfg = self.config
        contents, system = to_contents(chat, self._signatures)
        options: dict[str, Any] = {
            "system_instruction": system,
            "temperature": cfg.temperature,
            "max_output_tokens": cfg.max_tokens,
        }
        declared = to_tools(tools)
        if declared:
            options["tools"] = declared
            options["automatic_function_calling"] = types.AutomaticFunctionCallingConfig(
                disable=True
            )
        if cfg.thinking_budget is not None:
            options["thinking_config"] = types.ThinkingConfig(thinking_budget=cfg.thinking_budget)
        return contents, types.GenerateContentConfig(**options)

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        """Stream Gemini's answer to ``chat`` as text deltas and tool calls."""
        client = self._sdk.client
        contents, config = self.request_config(chat, tools)
        tracker = ResponseTracker()
        finished = False
        usage: Any = None
        try:
            with tracker.track():
                try:
                    stream = await client.aio.models.generate_content_stream(
                        model=self.config.model, contents=contents, config=config
                    )
                    async for response in stream:
                        if response.usage_metadata is not None:
                            usage = response.usage_metadata
                        for chunk in self._chunks(response):
                            yield chunk
                        finished = finished or _finish_reason(response) is not None
                except Exception as exc:
                    raise to_provider_error(exc, timeout=self.config.timeout) from exc
            if not finished:
                raise provider_error(
                    "the response stream ended without a finish reason (the connection "
                    "dropped mid-stream)"
                )
            if usage is not None:
                yield LLMChunk(
                    prompt_tokens=usage.prompt_token_count or 0,
                    completion_tokens=usage.candidates_token_count or 0,
                )
        finally:
            await tracker.aclose()

    def _chunks(self, response: Any) -> list[LLMChunk]:
        candidates = response.candidates
        if not candidates:
            feedback = response.prompt_feedback
            if feedback is not None and feedback.block_reason is not None:
                reason = getattr(feedback.block_reason, "value", feedback.block_reason)
                raise provider_error(f"the prompt was blocked ({reason})", status=200)
            if response.usage_metadata is None:
                raise provider_error(f"malformed response chunk: {_dump(response)}")
            return []
        candidate = candidates[0]
        reason = _finish_reason(response)
        if reason in _BLOCKED:
            raise provider_error(f"the answer was blocked ({reason})", status=200)
        content = candidate.content
        out: list[LLMChunk] = []
        for part in (content.parts if content is not None else None) or []:
            if part.thought:
                continue
            if part.text:
                out.append(LLMChunk(text=part.text))
            if part.function_call is not None:
                out.append(LLMChunk(tool_call=self._call(part)))
        return out

    def _call(self, part: Any) -> FunctionCall:
        fc = part.function_call
        call_id = fc.id or f"call_{uuid.uuid4().hex[:12]}"
        if part.thought_signature:
            self._signatures[call_id] = part.thought_signature
            while len(self._signatures) > _KEEP_SIGNATURES:
                self._signatures.popitem(last=False)
        return FunctionCall(
            call_id=call_id, name=fc.name or "", arguments=json.dumps(fc.args or {})
        )


def _finish_reason(response: Any) -> str | None:
    candidates = response.candidates
    if not candidates:
        return None
    reason = candidates[0].finish_reason
    if reason is None:
        return None
    return str(getattr(reason, "value", reason))


def _dump(response: Any) -> str:
    try:
        text = json.dumps(response.model_dump(mode="json", exclude_none=True))
    except Exception:
        text = repr(response)
    return text if len(text) <= 200 else text[:197] + "..."
