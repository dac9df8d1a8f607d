"""FallbackLLM: an LLM engine made of ordered LLM engines; the first available one answers."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from voicegraph.graph import Engine, NodeConfig
from voicegraph.nodes._closing import close_stream
from voicegraph.nodes.llm import ChatContext, LLMChunk, LLMEngine
from voicegraph.nodes.tools import FunctionTool

from ._pool import FallbackEngine, Probe
from ._status import FallbackConfig, describe
from ._timed import timed

__all__ = ["CONTINUE", "FallbackLLM"]

log = logging.getLogger(__name__)

CONTINUE = (
    "(Your previous answer to this message was cut off by a technical problem after these "
    'words: "{said}". Continue it seamlessly from exactly that point, without repeating them.)'
)
"""Added to the instructions when a provider takes over a reply another one had started."""


class FallbackLLM(FallbackEngine[LLMEngine], LLMEngine):
    """An LLM engine that tries ``providers`` in order (LiveKit's ``llm.FallbackAdapter``).

    It is an :class:`LLMEngine` itself, so it goes wherever one model would::

        llm = LLMNode(engine=FallbackLLM(providers=[GeminiLLM(), LlamaLLM()]), tools=[...])

    >>> from voicegraph.nodes.llm import LLMNode, ScriptedLLM
    >>> llm = LLMNode(engine=FallbackLLM(providers=[ScriptedLLM(), ScriptedLLM()]))
    >>> llm.engine.label()
    'FallbackLLM(ScriptedLLM, ScriptedLLM)'

    Each generation goes to the first available provider. If it raises, or sends no chunk
    for ``attempt_timeout`` seconds (clock time), it is marked unavailable, the next provider
    serves the same request, and the failed one is retried in the background (the same
    request again, its answer discarded; see :mod:`._pool` for where that runs, the backoff
    and ``Retry-After``) until it answers and becomes available again.

    No text of the turn is lost: if a provider fails after part of the reply was already
    streamed (and so spoken), that part stays, and the next provider is asked to continue the
    answer from there (:data:`CONTINUE` is appended to its instructions for that request).
    With ``retry_on_chunk_sent=False`` (LiveKit's default) such a failure ends the reply with
    the provider's error instead. If tool calls were already streamed, the reply ends there
    (the calls run; the next step goes through the fallback again). When every provider
    fails, a :class:`~voicegraph.graph.ProviderError` from ``"fallback"`` lists each failure.

    Args:
        providers: the LLM engines, in order of preference (at least one).

    Config: ``attempt_timeout`` (default 5 s, per chunk), ``retry_interval`` (0.5 s),
    ``max_retry_interval`` (30 s) as in :class:`FallbackConfig`, and ``retry_on_chunk_sent``
    (default ``True``).

    Attributes:
        providers, status, changes: see :class:`~._pool.FallbackEngine`.
    """

    provider_kind: ClassVar[type[Engine]] = LLMEngine

    class Config(FallbackConfig):
        retry_on_chunk_sent: bool = True

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        providers: Sequence[LLMEngine],
        **settings: Any,
    ) -> None:
        super().__init__(config, providers=providers, **settings)

    async def prewarm(self, chat: ChatContext) -> None:
        """Prewarm every provider, so a backup answers fast too (failures are logged)."""
        for provider in self.providers:
            try:
                await provider.prewarm(chat.copy())
            except Exception:
                log.exception("%s: prewarming %s failed", self.label(), provider.label())

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        """Stream the answer of the first provider that gives one (see the class docs)."""
        said = ""
        called = False
        errors: list[str] = []
        for index in self.order():
            provider = self.providers[index]
            request = chat if not said else _continuation(chat, said)
            stream = provider.generate(request, tools, step=step)
            joined = not said  # a continuation may need a space before its first words
            try:
                while (chunk := await self._next(stream, index)) is not None:
                    if chunk.text and not joined:
                        joined = True
                        if not said[-1].isspace() and not chunk.text[0].isspace():
                            chunk = dataclasses.replace(chunk, text=" " + chunk.text)
                    yield chunk
                    said += chunk.text
                    called = called or chunk.tool_call is not None
            except Exception as exc:
                errors.append(f"{index} {provider.label()}: {describe(exc)}")
                self.failed(index, exc, self._probe(provider, chat.copy(), tools, step))
                if called:
                    log.warning("%s: the reply's tool calls were sent; ending it", self.label())
                    return
                if said and not self.config.retry_on_chunk_sent:
                    raise
                continue
            finally:
                await close_stream(stream, provider.label(), clock=self.clock)
            self.succeeded(index)
            return
        raise self.all_failed(errors)

    async def _next(self, stream: AsyncIterator[LLMChunk], index: int) -> LLMChunk | None:
        try:
            timeout = self.config.attempt_timeout
            return await timed(self.clock, timeout, stream.__anext__(), f"LLM {index}")
        except StopAsyncIteration:
            return None

    def _probe(
        self, provider: LLMEngine, chat: ChatContext, tools: Sequence[FunctionTool], step: int
    ) -> Probe:
        """The background retry: the failed request again, until its first text or tool call."""
        tools = list(tools)

        async def probe() -> None:
            stream = provider.generate(chat.copy(), tools, step=step)
            try:
                async for chunk in stream:
                    if chunk.text or chunk.tool_call is not None:
                        return
            finally:
                await close_stream(stream, provider.label(), clock=self.clock)

        return probe


def _continuation(chat: ChatContext, said: str) -> ChatContext:
    request = chat.copy()
    instructions = request.instructions or ""
    request.set_instructions((instructions + "\n\n" + CONTINUE.format(said=said.strip())).strip())
    return request
