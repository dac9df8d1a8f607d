"""FallbackLLM: an ordered list of LLM nodes; the first available one answers."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, ClassVar

import anyio

from voicegraph.graph import NodeConfig
from voicegraph.nodes.llm import ChatContext, LLMChunk, LLMNode
from voicegraph.nodes.tools import FunctionTool, ToolLike

from ._pool import FallbackConfig, FallbackMixin, describe, timed

__all__ = ["FallbackLLM"]

log = logging.getLogger(__name__)

CONTINUE = (
    "(Your previous answer to this message was cut off by a technical problem after these "
    'words: "{said}". Continue it seamlessly from exactly that point, without repeating them.)'
)
"""Added to the instructions when a provider takes over a reply another one had started."""


class FallbackLLM(FallbackMixin, LLMNode):
    """An LLM node that tries ``providers`` in order (LiveKit's ``llm.FallbackAdapter``).

    It is an :class:`~voicegraph.nodes.llm.LLMNode` itself (chat context, tools, playout
    truncation), so it replaces any LLM node with one argument::

        llm = FallbackLLM(providers=[GeminiLLM(), LlamaLLM()], tools=[get_weather])

    Each generation goes to the first available provider. If it raises, or sends no chunk
    for ``attempt_timeout`` seconds (clock time), it is marked unavailable, the next provider
    serves the same request, and the failed one is retried in the background (the same
    request again, its answer discarded; see :mod:`._pool` for the backoff and
    ``Retry-After``) until it answers and becomes available again. The providers' own
    instructions, tools and chat are not used: they only stream answers to this node's chat.

    No text of the turn is lost: if a provider fails after part of the reply was already
    sent (and so spoken), that part stays, and the next provider is asked to continue the
    answer from there (:data:`CONTINUE` is appended to its instructions for that request).
    With ``retry_on_chunk_sent=False`` (LiveKit's default) such a failure ends the reply with
    an error instead. If tool calls were already sent, the reply ends there (the calls run;
    the next step goes through the fallback again). When every provider fails, a
    :class:`~voicegraph.graph.ProviderError` from ``"fallback"`` lists each failure.

    Args:
        providers: the LLM nodes, in order of preference (at least one).
        tools, chat: as for :class:`~voicegraph.nodes.llm.LLMNode`.

    Config (besides :class:`~voicegraph.nodes.llm.LLMNode`'s): ``attempt_timeout`` (default
    5 s, per chunk), ``retry_interval`` (0.5 s), ``max_retry_interval`` (30 s) as in
    :class:`FallbackConfig`, and ``retry_on_chunk_sent`` (default ``True``).

    Attributes:
        status, changes: see :class:`FallbackMixin`.
    """

    kind_name: ClassVar[str] = "LLM"

    class Config(LLMNode.Config, FallbackConfig):
        retry_on_chunk_sent: bool = True

    config: Config

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        providers: Sequence[LLMNode],
        tools: Sequence[ToolLike] | None = None,
        chat: ChatContext | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, tools=tools, chat=chat, **settings)
        self._init_pool(providers, LLMNode)

    def default_name(self) -> str:
        """``"llm"``."""
        return "llm"

    async def generate(
        self, chat: ChatContext, tools: list[FunctionTool]
    ) -> AsyncIterator[LLMChunk]:
        """Stream the answer of the first provider that gives one (see the class docs)."""
        said = ""
        called = False
        errors: list[str] = []
        for index in self.order():
            provider: LLMNode = self.providers[index]
            request = chat if not said else _continuation(chat, said)
            stream = provider.generate(request, tools)
            joined = not said  # a continuation may need a space before its first words
            try:
                while (chunk := await self._next(stream, index=index)) is not None:
                    if chunk.text and not joined:
                        joined = True
                        if not said[-1].isspace() and not chunk.text[0].isspace():
                            chunk = dataclasses.replace(chunk, text=" " + chunk.text)
                    yield chunk
                    said += chunk.text
                    called = called or chunk.tool_call is not None
            except Exception as exc:
                errors.append(f"{index} {type(provider).__name__}: {describe(exc)}")
                self._failed(index, exc, _probe(self, provider, chat.copy(), list(tools)))
                if called:
                    log.warning("%s: the reply's tool calls were sent; ending it", self.name)
                    return
                if said and not self.config.retry_on_chunk_sent:
                    raise
                continue
            finally:
                if isinstance(stream, AsyncGenerator):
                    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                        await stream.aclose()
            self._succeeded(index)
            return
        raise self._all_failed(errors)

    async def _next(self, stream: AsyncIterator[LLMChunk], *, index: int) -> LLMChunk | None:
        try:
            return await timed(
                self.clock, self.config.attempt_timeout, stream.__anext__(), f"LLM {index}"
            )
        except StopAsyncIteration:
            return None


def _continuation(chat: ChatContext, said: str) -> ChatContext:
    request = chat.copy()
    instructions = request.instructions or ""
    request.set_instructions((instructions + "\n\n" + CONTINUE.format(said=said.strip())).strip())
    return request


def _probe(
    node: FallbackLLM, provider: LLMNode, chat: ChatContext, tools: list[FunctionTool]
) -> Any:
    """The background retry: the failed request again, until its first text or tool call."""

    async def probe() -> None:
        stream = provider.generate(chat.copy(), tools)
        try:
            while (chunk := await node._next(stream, index=-1)) is not None:
                if chunk.text or chunk.tool_call is not None:
                    return
        finally:
            if isinstance(stream, AsyncGenerator):
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await stream.aclose()

    return probe
